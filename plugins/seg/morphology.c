/* seg.morphology: binary erosion, dilation, opening and closing of a mask
 * with a ball of a radius in mm (honouring anisotropic spacing) or a cube of
 * voxels, and filling of holes in 3-D or slice by slice.  Works on runs of
 * voxels along x: a row of the result is a union (dilation) or an
 * intersection (erosion) of shifted, widened or narrowed rows. */
#include <config.h>

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"

enum op { O_ERODE, O_DILATE, O_OPEN, O_CLOSE, O_FILL };
static const char *const ops[] = {"erode", "dilate", "open", "close", "fill_holes", NULL};
static const char *const elements[] = {"ball", "cube", NULL};
static const char *const fills[] = {"3d", "slice", NULL};

struct morphology {
    int operation;
    int element;
    double radius_mm;
    int64_t radius_vox;
    int fill;
};

struct run {
    int64_t x0, x1; /* inclusive */
};

/* One (dy, dz) row offset of the structuring element and the half-width
 * along x of the element in that row. */
struct tap {
    long dy, dz, w;
};

struct rows {
    size_t nx, ny, nz;
    size_t *start; /* rows + 1 */
    struct run *runs;
};

#define ROW_BLOCK ((size_t)16)

static void rows_free(struct rows *r)
{
    free(r->start);
    free(r->runs);
    r->start = NULL;
    r->runs = NULL;
}

/* Runs of the non-zero voxels (or, with inv, of the zero voxels) of m. */
static int rows_of(const uint8_t *m, size_t nx, size_t ny, size_t nz, int inv, struct rows *r)
{
    size_t nrow = ny * nz, n = 0;
    r->nx = nx;
    r->ny = ny;
    r->nz = nz;
    r->runs = NULL;
    r->start = malloc((nrow + 1) * sizeof *r->start);
    if (!r->start)
        return QIB_ENOMEM;
    for (int pass = 0; pass < 2; pass++) {
        n = 0;
        for (size_t row = 0; row < nrow; row++) {
            const uint8_t *p = m + row * nx;
            r->start[row] = n;
            size_t x = 0;
            while (x < nx) {
                while (x < nx && (p[x] != 0) == inv)
                    x++;
                if (x >= nx)
                    break;
                size_t x0 = x;
                while (x < nx && (p[x] != 0) != inv)
                    x++;
                if (pass) {
                    r->runs[n].x0 = (int64_t)x0;
                    r->runs[n].x1 = (int64_t)x - 1;
                }
                n++;
            }
        }
        r->start[nrow] = n;
        if (!pass) {
            r->runs = malloc((n ? n : 1) * sizeof *r->runs);
            if (!r->runs)
                return QIB_ENOMEM;
        }
    }
    return QIB_OK;
}

/* ---- erosion and dilation ---- */

struct apply {
    const struct rows *in;
    const struct tap *taps;
    size_t ntap;
    int erode;
    uint8_t *out;
    int nomem;
};

/* Intersection of two sorted, disjoint run lists. */
static size_t intersect(const struct run *a, size_t na, const struct run *b, size_t nb,
                        struct run *o)
{
    size_t i = 0, j = 0, n = 0;
    while (i < na && j < nb) {
        int64_t lo = a[i].x0 > b[j].x0 ? a[i].x0 : b[j].x0;
        int64_t hi = a[i].x1 < b[j].x1 ? a[i].x1 : b[j].x1;
        if (lo <= hi)
            o[n++] = (struct run){lo, hi};
        if (a[i].x1 < b[j].x1)
            i++;
        else
            j++;
    }
    return n;
}

static void apply_block(void *arg, size_t blk, size_t begin, size_t end)
{
    struct apply *A = arg;
    const struct rows *R = A->in;
    size_t nx = R->nx;
    (void)blk;
    size_t cap = nx / 2 + 2;
    struct run *cur = NULL, *tmp = NULL, *src = NULL;
    if (A->erode) {
        cur = malloc(cap * sizeof *cur);
        tmp = malloc(cap * sizeof *tmp);
        src = malloc(cap * sizeof *src);
        if (!cur || !tmp || !src) {
            A->nomem = 1;
            goto done;
        }
    }
    for (size_t row = begin; row < end; row++) {
        long y = (long)(row % R->ny), z = (long)(row / R->ny);
        uint8_t *o = A->out + row * nx;
        memset(o, 0, nx);
        if (A->erode) {
            size_t ncur = 0;
            int first = 1;
            for (size_t t = 0; t < A->ntap; t++) {
                long sy = y + A->taps[t].dy, sz = z + A->taps[t].dz, w = A->taps[t].w;
                if (sy < 0 || sz < 0 || sy >= (long)R->ny || sz >= (long)R->nz) {
                    ncur = 0;
                    break;
                }
                size_t sr = (size_t)sz * R->ny + (size_t)sy, ns = 0;
                for (size_t i = R->start[sr]; i < R->start[sr + 1]; i++) {
                    int64_t a = R->runs[i].x0 + w, b = R->runs[i].x1 - w;
                    if (a <= b)
                        src[ns++] = (struct run){a, b};
                }
                if (first) {
                    memcpy(cur, src, ns * sizeof *src);
                    ncur = ns;
                    first = 0;
                } else {
                    ncur = intersect(cur, ncur, src, ns, tmp);
                    struct run *sw = cur;
                    cur = tmp;
                    tmp = sw;
                }
                if (!ncur)
                    break;
            }
            for (size_t i = 0; i < ncur; i++)
                memset(o + cur[i].x0, 1, (size_t)(cur[i].x1 - cur[i].x0 + 1));
        } else {
            for (size_t t = 0; t < A->ntap; t++) {
                long sy = y + A->taps[t].dy, sz = z + A->taps[t].dz, w = A->taps[t].w;
                if (sy < 0 || sz < 0 || sy >= (long)R->ny || sz >= (long)R->nz)
                    continue;
                size_t sr = (size_t)sz * R->ny + (size_t)sy;
                for (size_t i = R->start[sr]; i < R->start[sr + 1]; i++) {
                    int64_t a = R->runs[i].x0 - w, b = R->runs[i].x1 + w;
                    if (a < 0)
                        a = 0;
                    if (b > (int64_t)nx - 1)
                        b = (int64_t)nx - 1;
                    memset(o + a, 1, (size_t)(b - a + 1));
                }
            }
        }
    }
done:
    free(cur);
    free(tmp);
    free(src);
}

/* out = erosion or dilation of m (outside the image counts as background). */
static int erode_dilate(qib_pool *pool, const uint8_t *m, uint8_t *out, size_t nx, size_t ny,
                        size_t nz, const struct tap *taps, size_t ntap, int erode)
{
    struct rows R;
    int rc = rows_of(m, nx, ny, nz, 0, &R);
    if (rc) {
        rows_free(&R);
        return rc;
    }
    struct apply A = {.in = &R, .taps = taps, .ntap = ntap, .erode = erode, .out = out};
    rc = qib_parallel_for(pool, ny * nz, ROW_BLOCK, apply_block, &A);
    rows_free(&R);
    if (!rc && A.nomem)
        rc = QIB_ENOMEM;
    return rc;
}

/* ---- hole filling: background components not touching the border ---- */

static uint32_t find(uint32_t *p, uint32_t x)
{
    while (p[x] != x) {
        p[x] = p[p[x]];
        x = p[x];
    }
    return x;
}

static void unite(uint32_t *p, uint32_t a, uint32_t b)
{
    a = find(p, a);
    b = find(p, b);
    if (a < b)
        p[b] = a;
    else if (b < a)
        p[a] = b;
}

static void join6(const struct rows *R, uint32_t *p, size_t ra, size_t rb)
{
    size_t i = R->start[ra], ie = R->start[ra + 1], j = R->start[rb], je = R->start[rb + 1];
    while (i < ie && j < je) {
        if (R->runs[j].x0 <= R->runs[i].x1 && R->runs[j].x1 >= R->runs[i].x0)
            unite(p, (uint32_t)i, (uint32_t)j);
        if (R->runs[i].x1 < R->runs[j].x1)
            i++;
        else
            j++;
    }
}

/* Background 6-connected (4-connected within a slice when by_slice) to the
 * border of the volume (of the slice) stays; the rest becomes foreground. */
static int fill_holes(const uint8_t *m, uint8_t *out, size_t nx, size_t ny, size_t nz,
                      int by_slice)
{
    struct rows R;
    int rc = rows_of(m, nx, ny, nz, 1, &R);
    if (rc) {
        rows_free(&R);
        return rc;
    }
    size_t nrun = R.start[ny * nz];
    uint32_t *p = NULL;
    uint8_t *border = NULL;
    if (nrun >= UINT32_MAX) {
        rc = QIB_EUNSUPPORTED;
        goto done;
    }
    p = malloc((nrun ? nrun : 1) * sizeof *p);
    border = calloc(nrun ? nrun : 1, 1);
    if (!p || !border) {
        rc = QIB_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < nrun; i++)
        p[i] = (uint32_t)i;
    for (size_t z = 0; z < nz; z++)
        for (size_t y = 0; y < ny; y++) {
            size_t r = z * ny + y;
            if (y > 0)
                join6(&R, p, r, r - 1);
            if (!by_slice && z > 0)
                join6(&R, p, r, r - ny);
        }
    for (size_t z = 0; z < nz; z++)
        for (size_t y = 0; y < ny; y++) {
            size_t r = z * ny + y;
            int edge_row = y == 0 || y + 1 == ny || (!by_slice && (z == 0 || z + 1 == nz));
            for (size_t i = R.start[r]; i < R.start[r + 1]; i++)
                if (edge_row || R.runs[i].x0 == 0 || R.runs[i].x1 == (int64_t)nx - 1)
                    border[find(p, (uint32_t)i)] = 1;
        }
    memcpy(out, m, nx * ny * nz);
    for (size_t r = 0; r < ny * nz; r++)
        for (size_t i = R.start[r]; i < R.start[r + 1]; i++)
            if (!border[find(p, (uint32_t)i)])
                memset(out + r * nx + R.runs[i].x0, 1, (size_t)(R.runs[i].x1 - R.runs[i].x0 + 1));
done:
    free(p);
    free(border);
    rows_free(&R);
    return rc;
}

/* ---- structuring element ---- */

/* The (dy, dz) rows of the element and their half-widths.  Ball: offsets
 * whose distance (dx*sx)^2 + (dy*sy)^2 + (dz*sz)^2 is at most r^2, in mm. */
static int make_taps(const struct morphology *p, const double *sp, struct tap **out,
                     size_t *nout, size_t *nvox)
{
    long ext[3];
    for (int a = 0; a < 3; a++)
        ext[a] = p->element == 1 ? (long)p->radius_vox : (long)floor(p->radius_mm / sp[a]) + 1;
    size_t cap = (size_t)(2 * ext[1] + 1) * (size_t)(2 * ext[2] + 1), n = 0;
    struct tap *t = malloc(cap * sizeof *t);
    if (!t)
        return QIB_ENOMEM;
    double r2 = p->radius_mm * p->radius_mm;
    *nvox = 0;
    for (long dz = -ext[2]; dz <= ext[2]; dz++)
        for (long dy = -ext[1]; dy <= ext[1]; dy++) {
            long w = -1;
            if (p->element == 1) {
                w = ext[0];
            } else {
                for (long dx = 0; dx <= ext[0]; dx++) {
                    double ddx = (double)dx * sp[0], ddy = (double)dy * sp[1],
                           ddz = (double)dz * sp[2];
                    if (ddx * ddx + ddy * ddy + ddz * ddz <= r2)
                        w = dx;
                }
            }
            if (w < 0)
                continue;
            t[n++] = (struct tap){dy, dz, w};
            *nvox += (size_t)(2 * w + 1);
        }
    *out = t;
    *nout = n;
    return QIB_OK;
}

static int check(qib_step *step, const void *priv)
{
    const struct morphology *p = priv;
    if (p->operation != O_FILL && p->element == 0 && !(p->radius_mm > 0))
        return qib_fail(step, QIB_EINVAL, "radius_mm must be > 0 mm for a ball, got %g",
                        p->radius_mm);
    return QIB_OK;
}

static int run(qib_step *step, void *priv)
{
    struct morphology *p = priv;
    const qib_volume *in = qib_step_in_volume(step, "mask");
    const struct qib_geom *g = qib_volume_geom(in);
    size_t nx = g->dims[0], ny = g->dims[1], nz = g->dims[2];
    qib_pool *pool = qib_step_pool(step);
    qib_volume *out = NULL;
    uint8_t *tmp = NULL;
    struct tap *taps = NULL;
    size_t ntap = 0, nvox = 0;
    int rc;

    if ((rc = qib_mask_new(g, &out)))
        goto fail;
    uint8_t *o = qib_volume_data_mut(out);
    const uint8_t *m = qib_volume_data(in);
    if (p->operation == O_FILL) {
        rc = fill_holes(m, o, nx, ny, nz, p->fill == 1);
    } else {
        if ((rc = make_taps(p, g->spacing, &taps, &ntap, &nvox)))
            goto fail;
        char buf[32];
        snprintf(buf, sizeof buf, "%zu", nvox);
        qib_step_record(step, "element_voxels", buf);
        switch (p->operation) {
        case O_ERODE:
        case O_DILATE:
            rc = erode_dilate(pool, m, o, nx, ny, nz, taps, ntap, p->operation == O_ERODE);
            break;
        default:
            tmp = malloc(nx * ny * nz);
            if (!tmp) {
                rc = QIB_ENOMEM;
                break;
            }
            rc = erode_dilate(pool, m, tmp, nx, ny, nz, taps, ntap, p->operation == O_OPEN);
            if (!rc)
                rc = erode_dilate(pool, tmp, o, nx, ny, nz, taps, ntap, p->operation == O_CLOSE);
            break;
        }
    }
    if (rc)
        goto fail;
    free(taps);
    free(tmp);
    return qib_step_set_volume(step, "mask", out);

fail:
    free(taps);
    free(tmp);
    qib_volume_unref(&out);
    if (rc == QIB_ENOMEM)
        return qib_fail(step, rc, "out of memory");
    if (rc == QIB_EUNSUPPORTED)
        return qib_fail(step, rc, "mask: too many runs of background voxels");
    return rc;
}

static const struct qib_param params[] = {
    {.name = "operation", .type = QIB_PARAM_ENUM, .offset = offsetof(struct morphology, operation),
     .flags = QIB_PARAM_REQUIRED, .choices = ops,
     .help = "erode, dilate, open (erode then dilate), close (dilate then erode; outside the "
             "image counts as background, as in scipy.ndimage), fill_holes"},
    {.name = "element", .type = QIB_PARAM_ENUM, .offset = offsetof(struct morphology, element),
     .def = "ball", .choices = elements,
     .help = "structuring element: ball of radius_mm (voxels whose centre lies within "
             "radius_mm of the centre, with the image's spacing) or cube of "
             "2*radius_vox+1 voxels a side"},
    {.name = "radius_mm", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct morphology, radius_mm), .def = "1", .min = 0, .max = 1000,
     .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "mm",
     .help = "radius of the ball in mm (0..1000)"},
    {.name = "radius_vox", .type = QIB_PARAM_INT, .offset = offsetof(struct morphology, radius_vox),
     .def = "1", .min = 1, .max = 100, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "voxel",
     .help = "half side of the cube in voxels (1..100): 1 gives a 3x3x3 cube"},
    {.name = "fill", .type = QIB_PARAM_ENUM, .offset = offsetof(struct morphology, fill),
     .def = "3d", .choices = fills,
     .help = "fill_holes: 3d (background not 6-connected to the volume's border) or slice "
             "(each axial slice alone, 4-connected to the slice's border)"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "mask", .kind = QIB_OBJ_MASK, .help = "mask; every non-zero voxel is foreground"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "mask", .kind = QIB_OBJ_MASK, .help = "result, 1 = foreground"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_SEG,
    .name = "morphology",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "erode, dilate, open, close a mask with a ball in mm or a voxel cube; fill holes",
    .citation = "Serra J. Image Analysis and Mathematical Morphology. Academic Press, 1982",
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct morphology),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
