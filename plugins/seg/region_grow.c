/* seg.region_grow: the voxels connected to seed points (mm) whose values
 * pass an inclusion test: a fixed interval, or a confidence interval
 * mean +- k SD of the region, re-estimated and grown again a given number
 * of times (the ITK ConfidenceConnected scheme). */
#include <config.h>

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"

enum method { M_INTERVAL, M_CONFIDENCE };
static const char *const methods[] = {"interval", "confidence", NULL};
static const char *const conns[] = {"6", "18", "26", NULL};

struct grow {
    struct qib_dlist seeds;
    int method;
    double lower, upper;
    double multiplier;
    int64_t iterations;
    int64_t init_radius;
    int connectivity;
};

static int check(qib_step *step, const void *priv)
{
    const struct grow *p = priv;
    if (!p->seeds.n || p->seeds.n % 3)
        return qib_fail(step, QIB_EINVAL,
                        "seeds: expected x, y, z (mm LPS) for each seed, a multiple of 3 "
                        "numbers; got %zu",
                        p->seeds.n);
    if (p->lower > p->upper)
        return qib_fail(step, QIB_EINVAL, "lower (%g) is above upper (%g)", p->lower, p->upper);
    return QIB_OK;
}

struct ctx {
    const qib_volume *img;
    const uint8_t *limit;
    size_t dims[3];
    int noff;
    long off[26][3];
    size_t *queue;
    size_t cap;
};

/* Flood from the seeds over voxels with lo <= v <= hi (and inside the
 * limiting mask); returns the region's size or SIZE_MAX when out of memory. */
static size_t flood(struct ctx *c, const size_t *seeds, size_t nseed, double lo, double hi,
                    uint8_t *out)
{
    size_t n = c->dims[0] * c->dims[1] * c->dims[2], head = 0, tail = 0, count = 0;
    memset(out, 0, n);
    for (size_t s = 0; s < nseed; s++) {
        size_t i = seeds[s];
        double v = qib_volume_get(c->img, i);
        if (out[i] || !(v >= lo && v <= hi) || (c->limit && !c->limit[i]))
            continue;
        out[i] = 1;
        c->queue[tail++] = i;
        count++;
    }
    while (head < tail) {
        size_t i = c->queue[head++];
        long x = (long)(i % c->dims[0]), y = (long)(i / c->dims[0] % c->dims[1]),
             z = (long)(i / c->dims[0] / c->dims[1]);
        for (int k = 0; k < c->noff; k++) {
            long nx = x + c->off[k][0], ny = y + c->off[k][1], nz = z + c->off[k][2];
            if (nx < 0 || ny < 0 || nz < 0 || nx >= (long)c->dims[0] || ny >= (long)c->dims[1] ||
                nz >= (long)c->dims[2])
                continue;
            size_t j = (size_t)nx + c->dims[0] * ((size_t)ny + c->dims[1] * (size_t)nz);
            if (out[j] || (c->limit && !c->limit[j]))
                continue;
            double v = qib_volume_get(c->img, j);
            if (!(v >= lo && v <= hi))
                continue;
            out[j] = 1;
            if (tail == c->cap) {
                /* compact the consumed head before growing */
                memmove(c->queue, c->queue + head, (tail - head) * sizeof *c->queue);
                tail -= head;
                head = 0;
                if (tail == c->cap) {
                    size_t nc = c->cap * 2;
                    size_t *q = realloc(c->queue, nc * sizeof *q);
                    if (!q)
                        return SIZE_MAX;
                    c->queue = q;
                    c->cap = nc;
                }
            }
            c->queue[tail++] = j;
            count++;
        }
    }
    return count;
}

/* Mean and sample SD (n - 1) of the region, summed in raster order. */
static void region_stats(const qib_volume *img, const uint8_t *m, size_t n, double *mean,
                         double *sd)
{
    double s = 0, s2 = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (m[i]) {
            s += qib_volume_get(img, i);
            k++;
        }
    *mean = k ? s / (double)k : NAN;
    for (size_t i = 0; i < n; i++)
        if (m[i]) {
            double d = qib_volume_get(img, i) - *mean;
            s2 += d * d;
        }
    *sd = k > 1 ? sqrt(s2 / (double)(k - 1)) : 0;
}

static int run(qib_step *step, void *priv)
{
    struct grow *p = priv;
    const qib_volume *img = qib_step_in_volume(step, "image");
    const qib_volume *lim = qib_step_in_volume(step, "mask");
    const struct qib_geom *g = qib_volume_geom(img);
    if (g->ndim > 3 && g->dims[3] > 1)
        return qib_fail(step, QIB_EUNSUPPORTED,
                        "image: %zu frames; seg.region_grow takes a 3-D image", g->dims[3]);
    if (lim && qib_step_check_grid(step, "mask", lim, img) != QIB_OK)
        return QIB_EGEOMETRY;
    struct ctx c = {.img = img, .limit = lim ? qib_volume_data(lim) : NULL,
                    .dims = {g->dims[0], g->dims[1], g->dims[2]}};
    int conn = p->connectivity == 0 ? 6 : p->connectivity == 1 ? 18 : 26;
    for (long dz = -1; dz <= 1; dz++)
        for (long dy = -1; dy <= 1; dy++)
            for (long dx = -1; dx <= 1; dx++) {
                int nzero = (dx != 0) + (dy != 0) + (dz != 0);
                if (!nzero || (conn == 6 && nzero > 1) || (conn == 18 && nzero > 2))
                    continue;
                c.off[c.noff][0] = dx;
                c.off[c.noff][1] = dy;
                c.off[c.noff][2] = dz;
                c.noff++;
            }
    size_t nseed = p->seeds.n / 3, n = qib_geom_frame_nvox(g);
    size_t *seeds = malloc(nseed * sizeof *seeds);
    c.cap = 4096;
    c.queue = malloc(c.cap * sizeof *c.queue);
    qib_volume *out = NULL;
    qib_table *t = NULL;
    int rc = QIB_OK;
    if (!seeds || !c.queue) {
        rc = QIB_ENOMEM;
        goto fail;
    }
    for (size_t s = 0; s < nseed; s++) {
        double idx[3];
        long v[3];
        const double *w = p->seeds.v + 3 * s;
        if (qib_geom_world_to_index(g, w, idx)) {
            rc = qib_fail(step, QIB_EGEOMETRY, "image: singular direction matrix");
            goto fail;
        }
        for (int a = 0; a < 3; a++) {
            double r = floor(idx[a] + 0.5);
            if (!(r >= 0 && r < (double)g->dims[a])) {
                rc = qib_fail(step, QIB_ERANGE,
                              "seed %zu at (%g, %g, %g) mm LPS is voxel (%.1f, %.1f, %.1f), "
                              "outside the %zux%zux%zu image",
                              s + 1, w[0], w[1], w[2], idx[0], idx[1], idx[2], g->dims[0],
                              g->dims[1], g->dims[2]);
                goto fail;
            }
            v[a] = (long)r;
        }
        seeds[s] = (size_t)v[0] + g->dims[0] * ((size_t)v[1] + g->dims[1] * (size_t)v[2]);
        double val = qib_volume_get(img, seeds[s]);
        if (p->method == M_INTERVAL && !(val >= p->lower && val <= p->upper)) {
            rc = qib_fail(step, QIB_EINVAL,
                          "seed %zu at (%g, %g, %g) mm LPS, voxel (%ld, %ld, %ld), has the value "
                          "%g, outside [lower, upper] = [%g, %g]: nothing would grow from it",
                          s + 1, w[0], w[1], w[2], v[0], v[1], v[2], val, p->lower, p->upper);
            goto fail;
        }
        if (c.limit && !c.limit[seeds[s]]) {
            rc = qib_fail(step, QIB_EINVAL,
                          "seed %zu at (%g, %g, %g) mm LPS, voxel (%ld, %ld, %ld), is outside "
                          "the mask",
                          s + 1, w[0], w[1], w[2], v[0], v[1], v[2]);
            goto fail;
        }
    }
    if ((rc = qib_mask_new(g, &out)))
        goto fail;
    uint8_t *o = qib_volume_data_mut(out);
    double lo = p->lower, hi = p->upper, mean = NAN, sd = NAN;
    int64_t iter = 0;
    if (p->method == M_CONFIDENCE) {
        /* first estimate: the cubes of init_radius voxels around the seeds */
        double s1 = 0, s2 = 0;
        size_t k = 0;
        long r = (long)p->init_radius;
        for (size_t pass = 0; pass < 2; pass++)
            for (size_t s = 0; s < nseed; s++) {
                long x0 = (long)(seeds[s] % c.dims[0]), y0 = (long)(seeds[s] / c.dims[0] % c.dims[1]),
                     z0 = (long)(seeds[s] / c.dims[0] / c.dims[1]);
                for (long z = z0 - r; z <= z0 + r; z++)
                    for (long y = y0 - r; y <= y0 + r; y++)
                        for (long x = x0 - r; x <= x0 + r; x++) {
                            if (x < 0 || y < 0 || z < 0 || x >= (long)c.dims[0] ||
                                y >= (long)c.dims[1] || z >= (long)c.dims[2])
                                continue;
                            double v = qib_volume_get(
                                img, (size_t)x + c.dims[0] * ((size_t)y + c.dims[1] * (size_t)z));
                            if (isnan(v))
                                continue;
                            if (!pass) {
                                s1 += v;
                                k++;
                            } else {
                                s2 += (v - mean) * (v - mean);
                            }
                        }
                if (!pass && s + 1 == nseed)
                    mean = s1 / (double)k;
            }
        sd = k > 1 ? sqrt(s2 / (double)(k - 1)) : 0;
        for (;;) {
            lo = mean - p->multiplier * sd;
            hi = mean + p->multiplier * sd;
            size_t cnt = flood(&c, seeds, nseed, lo, hi, o);
            if (cnt == SIZE_MAX) {
                rc = QIB_ENOMEM;
                goto fail;
            }
            if (cnt == 0) {
                rc = qib_fail(step, QIB_EINVAL,
                              "no seed lies within mean +- %g SD = [%g, %g] of its "
                              "neighbourhood: nothing grew",
                              p->multiplier, lo, hi);
                goto fail;
            }
            if (iter == p->iterations)
                break;
            iter++;
            region_stats(img, o, n, &mean, &sd);
        }
    } else if (flood(&c, seeds, nseed, lo, hi, o) == SIZE_MAX) {
        rc = QIB_ENOMEM;
        goto fail;
    }
    double rmean, rsd;
    region_stats(img, o, n, &rmean, &rsd);
    size_t voxels = 0;
    for (size_t i = 0; i < n; i++)
        voxels += o[i];
    const char *unit = qib_meta_get(qib_volume_meta(img), "units");
    if (unit && !*unit)
        unit = NULL;
    size_t col[8], row;
    static const char *const names[8] = {"voxels", "volume_ml", "lower", "upper",
                                         "mean", "sd", "iterations", "method"};
    if ((rc = qib_table_new(&t)))
        goto fail;
    for (int k = 0; k < 8; k++) {
        enum qib_coltype ty = k == 0 || k == 6 ? QIB_COL_INT : k == 7 ? QIB_COL_STRING
                                                                      : QIB_COL_DOUBLE;
        const char *u = k == 1 ? "mL" : k >= 2 && k <= 5 ? unit : NULL;
        if ((rc = qib_table_add_column(t, names[k], ty, u, NULL, &col[k])))
            goto fail;
    }
    if ((rc = qib_table_add_row(t, &row)) ||
        (rc = qib_table_set_int(t, row, col[0], (int64_t)voxels)) ||
        (rc = qib_table_set_double(t, row, col[1],
                                   (double)voxels * qib_geom_voxel_mm3(g) / 1000.0)) ||
        (rc = qib_table_set_double(t, row, col[2], lo)) ||
        (rc = qib_table_set_double(t, row, col[3], hi)) ||
        (rc = qib_table_set_double(t, row, col[4], rmean)) ||
        (rc = qib_table_set_double(t, row, col[5], rsd)) ||
        (rc = qib_table_set_int(t, row, col[6], iter)) ||
        (rc = qib_table_set_string(t, row, col[7], methods[p->method])))
        goto fail;
    free(seeds);
    free(c.queue);
    rc = qib_step_set_volume(step, "mask", out);
    if (rc) {
        qib_table_unref(&t);
        return rc;
    }
    return qib_step_set_table(step, "table", t);

fail:
    free(seeds);
    free(c.queue);
    qib_volume_unref(&out);
    qib_table_unref(&t);
    if (rc == QIB_ENOMEM)
        return qib_fail(step, rc, "out of memory");
    return rc;
}

static const struct qib_param params[] = {
    {.name = "seeds", .type = QIB_PARAM_DLIST, .offset = offsetof(struct grow, seeds),
     .flags = QIB_PARAM_REQUIRED, .unit = "mm",
     .help = "seed points, LPS mm, three numbers each: [x1, y1, z1, x2, y2, z2, ...]"},
    {.name = "method", .type = QIB_PARAM_ENUM, .offset = offsetof(struct grow, method),
     .def = "interval", .choices = methods,
     .help = "interval: grow over lower <= v <= upper; confidence: over mean +- multiplier SD, "
             "first of the seeds' neighbourhoods, then of the region, iterations times"},
    {.name = "lower", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct grow, lower),
     .def = "-inf",
     .help = "interval: lowest value included (image units, e.g. HU; -inf: no lower bound)"},
    {.name = "upper", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct grow, upper),
     .def = "inf",
     .help = "interval: highest value included (image units; inf: no upper bound)"},
    {.name = "multiplier", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct grow, multiplier),
     .def = "2.5", .min = 0, .max = 100, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "confidence: half-width of the interval in standard deviations (unitless)"},
    {.name = "iterations", .type = QIB_PARAM_INT, .offset = offsetof(struct grow, iterations),
     .def = "4", .min = 0, .max = 100, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "confidence: times the mean and SD are re-estimated on the region and the "
             "region grown again"},
    {.name = "init_radius", .type = QIB_PARAM_INT, .offset = offsetof(struct grow, init_radius),
     .def = "1", .min = 0, .max = 10, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "voxel",
     .help = "confidence: half side in voxels of the cube around each seed giving the first "
             "mean and SD (1: 3x3x3)"},
    {.name = "connectivity", .type = QIB_PARAM_ENUM, .offset = offsetof(struct grow, connectivity),
     .def = "6", .choices = conns, .help = "neighbours the region grows to: 6, 18 or 26"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "image", .kind = QIB_OBJ_VOLUME, .help = "3-D image"},
    {.name = "mask", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL,
     .help = "the region never leaves this mask (on the image's grid)"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "mask", .kind = QIB_OBJ_MASK, .help = "the grown region, 1"},
    {.name = "table", .kind = QIB_OBJ_TABLE,
     .help = "voxels, volume, the final interval, the region's mean and SD, iterations"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_SEG,
    .name = "region_grow",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "grow a region from seed points (mm) over an interval or a confidence interval",
    .citation = "Adams R, Bischof L. Seeded region growing. IEEE Trans Pattern Anal Mach Intell "
                "1994;16:641-647. doi:10.1109/34.295913",
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct grow),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
