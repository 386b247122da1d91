/* bio.overlap: agreement of two readers' masks on one grid, as reported in
 * reader-variability studies: volumes and their difference, Dice, Jaccard,
 * Hausdorff distance, its 95th percentile and the average symmetric surface
 * distance.  Definitions: doc/repeatability.md. */
#include <config.h>

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"

struct overlap {
    int64_t label; /* 0: any non-zero voxel; N: label N */
};

/* Lines of the distance transform per block. */
#define LINES 64

enum col {
    C_VOXELS_A, C_VOXELS_B, C_VOLUME_A, C_VOLUME_B, C_VOLUME_DIFF, C_VOLUME_DIFF_PCT,
    C_DICE, C_JACCARD, C_HD, C_HD95, C_ASSD, NCOL
};

static const struct {
    const char *name;
    enum qib_coltype type;
    const char *unit;
} cols[NCOL] = {
    [C_VOXELS_A] = {"voxels_a", QIB_COL_INT, NULL},
    [C_VOXELS_B] = {"voxels_b", QIB_COL_INT, NULL},
    [C_VOLUME_A] = {"volume_a_ml", QIB_COL_DOUBLE, "mL"},
    [C_VOLUME_B] = {"volume_b_ml", QIB_COL_DOUBLE, "mL"},
    [C_VOLUME_DIFF] = {"volume_diff_ml", QIB_COL_DOUBLE, "mL"},
    [C_VOLUME_DIFF_PCT] = {"volume_diff_pct", QIB_COL_DOUBLE, "%"},
    [C_DICE] = {"dice", QIB_COL_DOUBLE, NULL},
    [C_JACCARD] = {"jaccard", QIB_COL_DOUBLE, NULL},
    [C_HD] = {"hausdorff_mm", QIB_COL_DOUBLE, "mm"},
    [C_HD95] = {"hausdorff95_mm", QIB_COL_DOUBLE, "mm"},
    [C_ASSD] = {"assd_mm", QIB_COL_DOUBLE, "mm"},
};

/* ---- counting, slice by slice ---- */

struct scan {
    const uint8_t *a, *b;
    unsigned label;
    size_t nx, ny;
    /* per slice: |A|, |B|, |A and B|, and the bounding box of A or B
     * (lo x, lo y, hi x, hi y; hi < lo when the slice has none) */
    size_t *cnt;  /* 3 per slice */
    size_t *box;  /* 4 per slice */
};

static inline int fg(uint8_t v, unsigned label)
{
    return label ? v == label : v != 0;
}

static void count_slices(void *arg, size_t blk, size_t begin, size_t end)
{
    struct scan *s = arg;
    (void)blk;
    for (size_t k = begin; k < end; k++) {
        size_t na = 0, nb = 0, nab = 0, x0 = SIZE_MAX, y0 = SIZE_MAX, x1 = 0, y1 = 0;
        size_t base = k * s->nx * s->ny;
        for (size_t j = 0; j < s->ny; j++)
            for (size_t i = 0; i < s->nx; i++) {
                size_t p = base + j * s->nx + i;
                int fa = fg(s->a[p], s->label), fb = fg(s->b[p], s->label);
                na += (size_t)fa;
                nb += (size_t)fb;
                nab += (size_t)(fa && fb);
                if (fa || fb) {
                    if (i < x0) x0 = i;
                    if (i > x1) x1 = i;
                    if (j < y0) y0 = j;
                    if (j > y1) y1 = j;
                }
            }
        s->cnt[3 * k] = na;
        s->cnt[3 * k + 1] = nb;
        s->cnt[3 * k + 2] = nab;
        s->box[4 * k] = x0;
        s->box[4 * k + 1] = y0;
        s->box[4 * k + 2] = x1;
        s->box[4 * k + 3] = y1;
    }
}

/* ---- surface voxels inside the bounding box ---- */

struct surf {
    const uint8_t *m;    /* full mask */
    unsigned label;
    size_t n[3];         /* full dims */
    size_t lo[3], m3[3]; /* box origin and size */
    uint8_t *out;        /* box: 1 = surface voxel */
};

/* A foreground voxel with a 6-neighbour that is background or outside the
 * image. */
static void surface_slices(void *arg, size_t blk, size_t begin, size_t end)
{
    struct surf *s = arg;
    size_t nx = s->n[0], ny = s->n[1], nz = s->n[2], sy = nx, sz = nx * ny;
    (void)blk;
    for (size_t kk = begin; kk < end; kk++)
        for (size_t jj = 0; jj < s->m3[1]; jj++)
            for (size_t ii = 0; ii < s->m3[0]; ii++) {
                size_t i = ii + s->lo[0], j = jj + s->lo[1], k = kk + s->lo[2];
                size_t p = k * sz + j * sy + i;
                uint8_t on = 0;
                if (fg(s->m[p], s->label))
                    on = i == 0 || i + 1 == nx || j == 0 || j + 1 == ny || k == 0 ||
                         k + 1 == nz || !fg(s->m[p - 1], s->label) ||
                         !fg(s->m[p + 1], s->label) || !fg(s->m[p - sy], s->label) ||
                         !fg(s->m[p + sy], s->label) || !fg(s->m[p - sz], s->label) ||
                         !fg(s->m[p + sz], s->label);
                s->out[(kk * s->m3[1] + jj) * s->m3[0] + ii] = on;
            }
}

/* ---- exact squared Euclidean distance transform ---- */

/* Lower envelope of the parabolas w (q - p)^2 + f[p] over the sites p with a
 * finite f[p] (Felzenszwalb & Huttenlocher, Theory of Computing 8:415-428,
 * 2012), evaluated at q = 0..n-1 into d.  w is the squared spacing of the
 * axis, so the result is the squared distance in mm^2.  No site: all inf. */
static void envelope(const double *f, size_t n, double w, double *d, size_t *v, double *z)
{
    size_t k = 0, nk = 0;
    for (size_t q = 0; q < n; q++) {
        if (isinf(f[q]))
            continue;
        double fq = f[q], dq = (double)q;
        if (nk == 0) {
            v[0] = q;
            z[0] = -INFINITY;
            z[1] = INFINITY;
            nk = 1;
            k = 0;
            continue;
        }
        /* drop the parabolas hidden by the new one (z[0] = -inf stops it) */
        double sq;
        for (;;) {
            double p = (double)v[k];
            sq = (fq - f[v[k]]) / (2.0 * w * (dq - p)) + (dq + p) / 2.0;
            if (k == 0 || sq > z[k])
                break;
            k--;
        }
        k++;
        v[k] = q;
        z[k] = sq;
        z[k + 1] = INFINITY;
        nk = k + 1;
    }
    if (nk == 0) {
        for (size_t q = 0; q < n; q++)
            d[q] = INFINITY;
        return;
    }
    k = 0;
    for (size_t q = 0; q < n; q++) {
        while (z[k + 1] < (double)q)
            k++;
        double t = (double)q - (double)v[k];
        d[q] = w * t * t + f[v[k]];
    }
}

struct edt {
    double *d;       /* box of squared distances, updated in place */
    size_t m3[3];    /* box size */
    int axis;
    double w;        /* squared spacing along axis */
    size_t n;        /* line length */
    double *scratch; /* per block: f, out (n each), z (n + 1) */
    size_t *vscratch; /* per block: v (n) */
};

static void edt_lines(void *arg, size_t blk, size_t begin, size_t end)
{
    struct edt *e = arg;
    size_t n = e->n, m0 = e->m3[0], m1 = e->m3[1];
    double *f = e->scratch + blk * (3 * n + 1), *out = f + n, *z = out + n;
    size_t *v = e->vscratch + blk * n;
    size_t stride = e->axis == 0 ? 1 : e->axis == 1 ? m0 : m0 * m1;
    for (size_t l = begin; l < end; l++) {
        size_t base;
        if (e->axis == 0)
            base = l * m0;
        else if (e->axis == 1)
            base = (l / m0) * m0 * m1 + l % m0;
        else
            base = l;
        for (size_t q = 0; q < n; q++)
            f[q] = e->d[base + q * stride];
        envelope(f, n, e->w, out, v, z);
        for (size_t q = 0; q < n; q++)
            e->d[base + q * stride] = out[q];
    }
}

/* Squared distance (mm^2) from every box voxel to the nearest voxel with
 * site[] set, into d. */
static int sq_edt(qib_pool *pool, const uint8_t *site, const size_t m3[3], const double sp[3],
                  double *d)
{
    size_t nbox = m3[0] * m3[1] * m3[2];
    for (size_t i = 0; i < nbox; i++)
        d[i] = site[i] ? 0.0 : INFINITY;
    for (int a = 0; a < 3; a++) {
        size_t n = m3[a], nlines = nbox / n, nb = qib_nblocks(nlines, LINES);
        if (n == 1)
            continue; /* a single voxel along the axis: nothing to propagate */
        struct edt e = {.d = d, .axis = a, .w = sp[a] * sp[a], .n = n};
        memcpy(e.m3, m3, sizeof e.m3);
        if (nb > SIZE_MAX / (3 * n + 1) / sizeof(double))
            return QIB_EOVERFLOW;
        e.scratch = malloc(nb * (3 * n + 1) * sizeof *e.scratch);
        e.vscratch = malloc(nb * n * sizeof *e.vscratch);
        int rc = QIB_ENOMEM;
        if (e.scratch && e.vscratch)
            rc = qib_parallel_for(pool, nlines, LINES, edt_lines, &e);
        free(e.scratch);
        free(e.vscratch);
        if (rc)
            return rc;
    }
    return QIB_OK;
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* 95th percentile of x[0, n) (n >= 1), sorted in place: linear
 * interpolation between closest ranks (Hyndman & Fan type 7, numpy's
 * default), h = (n-1) 0.95 computed in integers. */
static double p95(double *x, size_t n)
{
    qsort(x, n, sizeof *x, cmp_double);
    size_t lo = (n - 1) / 100 * 95 + (n - 1) % 100 * 95 / 100;
    size_t rem = (n - 1) % 100 * 95 % 100;
    if (!rem || lo + 1 >= n)
        return x[lo];
    return x[lo] + (double)rem / 100.0 * (x[lo + 1] - x[lo]);
}

struct dist {
    double hd, hd95, assd;
};

/* Surface distances of the two masks; both non-empty. */
static int distances(qib_step *step, const uint8_t *a, const uint8_t *b, unsigned label,
                     const struct qib_geom *g, const size_t lo[3], const size_t m3[3],
                     struct dist *out)
{
    qib_pool *pool = qib_step_pool(step);
    size_t nbox = m3[0] * m3[1] * m3[2];
    uint8_t *sa = malloc(nbox), *sb = malloc(nbox);
    double *d = NULL, *pool_d = NULL;
    int rc = QIB_ENOMEM;
    if (!sa || !sb)
        goto out;
    if (nbox > SIZE_MAX / sizeof *d) {
        rc = QIB_EOVERFLOW;
        goto out;
    }
    d = malloc(nbox * sizeof *d);
    if (!d)
        goto out;
    struct surf s = {.label = label};
    for (int i = 0; i < 3; i++) {
        s.n[i] = g->dims[i];
        s.lo[i] = lo[i];
        s.m3[i] = m3[i];
    }
    s.m = a;
    s.out = sa;
    if ((rc = qib_parallel_for(pool, m3[2], 1, surface_slices, &s)))
        goto out;
    s.m = b;
    s.out = sb;
    if ((rc = qib_parallel_for(pool, m3[2], 1, surface_slices, &s)))
        goto out;
    size_t na = 0, nb = 0;
    for (size_t i = 0; i < nbox; i++) {
        na += sa[i];
        nb += sb[i];
    }
    pool_d = malloc((na + nb) * sizeof *pool_d);
    if (!pool_d) {
        rc = QIB_ENOMEM;
        goto out;
    }
    const double sp[3] = {g->spacing[0], g->spacing[1], g->spacing[2]};
    size_t np = 0;
    double sum = 0, hd = 0;
    /* A to the surface of B, then B to the surface of A */
    for (int pass = 0; pass < 2; pass++) {
        const uint8_t *from = pass ? sb : sa, *to = pass ? sa : sb;
        if ((rc = sq_edt(pool, to, m3, sp, d)))
            goto out;
        for (size_t i = 0; i < nbox; i++)
            if (from[i]) {
                double v = sqrt(d[i]);
                pool_d[np++] = v;
                sum += v;
                if (v > hd)
                    hd = v;
            }
    }
    out->hd = hd;
    out->assd = sum / (double)np;
    out->hd95 = p95(pool_d, np);
    qib_step_log(step, "surface voxels: %zu in a, %zu in b", na, nb);
    rc = QIB_OK;
out:
    free(sa);
    free(sb);
    free(d);
    free(pool_d);
    return rc;
}

/* ---- the step ---- */

static const char *check_mask(const qib_volume *m)
{
    if (qib_volume_dtype(m) != QIB_U8 || !qib_volume_is_mask(m))
        return "expected a u8 label image flagged as a mask";
    const struct qib_geom *g = qib_volume_geom(m);
    if (g->ndim == 4 && g->dims[3] > 1)
        return "a 4-D mask is not supported: give a 3-D label image";
    return NULL;
}

static int make_table(qib_step *step, const double v[NCOL], unsigned label)
{
    qib_table *t = NULL;
    size_t r;
    int rc = qib_table_new(&t);
    for (int c = 0; !rc && c < NCOL; c++)
        rc = qib_table_add_column(t, cols[c].name, cols[c].type, cols[c].unit, NULL, NULL);
    if (!rc)
        rc = qib_table_add_row(t, &r);
    for (int c = 0; !rc && c < NCOL; c++)
        rc = cols[c].type == QIB_COL_INT ? qib_table_set_int(t, r, (size_t)c, (int64_t)v[c])
                                         : qib_table_set_double(t, r, (size_t)c, v[c]);
    qib_meta *m = rc ? NULL : qib_table_meta_mut(t);
    if (!rc && !m)
        rc = QIB_EBUSY;
    if (!rc)
        rc = qib_meta_set(m, "definitions",
                          "surface voxel: foreground with a background or outside "
                          "6-neighbour; distances in mm between surface voxel centres; "
                          "hausdorff95_mm: 95th percentile of the pooled directed "
                          "distances A->B and B->A; see doc/repeatability.md",
                          "computed");
    if (!rc)
        rc = qib_meta_set(m, "percentile_method",
                          "linear interpolation between closest ranks (Hyndman-Fan type 7)",
                          "computed");
    if (!rc)
        rc = qib_meta_set_double(m, "label", (double)label, "parameter");
    if (rc) {
        qib_table_unref(&t);
        return rc;
    }
    return qib_step_set_table(step, "table", t);
}

static int run(qib_step *step, void *priv)
{
    const struct overlap *p = priv;
    const qib_volume *va = qib_step_in_volume(step, "a");
    const qib_volume *vb = qib_step_in_volume(step, "b");
    unsigned label = (unsigned)p->label;
    char ga[512], gb[512], why[256];
    const char *bad;

    if (!va || !vb)
        return qib_fail(step, QIB_EINVAL, "%s: no mask wired to the input", va ? "b" : "a");
    if ((bad = check_mask(va)))
        return qib_fail(step, QIB_EINVAL, "a: %s, found a %s volume%s", bad,
                        qib_dtype_name(qib_volume_dtype(va)),
                        qib_volume_is_mask(va) ? "" : " not flagged as a mask");
    if ((bad = check_mask(vb)))
        return qib_fail(step, QIB_EINVAL, "b: %s, found a %s volume%s", bad,
                        qib_dtype_name(qib_volume_dtype(vb)),
                        qib_volume_is_mask(vb) ? "" : " not flagged as a mask");
    const struct qib_geom *g = qib_volume_geom(va), *gbm = qib_volume_geom(vb);
    if (qib_geom_same_grid(g, gbm, QIB_GRID_TOL, why, sizeof why) != QIB_OK) {
        qib_geom_format(g, ga, sizeof ga);
        qib_geom_format(gbm, gb, sizeof gb);
        return qib_fail(step, QIB_EGEOMETRY,
                        "b is not on a's grid (%s; tolerance %g): a: %s; b: %s", why,
                        QIB_GRID_TOL, ga, gb);
    }

    size_t nz = g->dims[2];
    struct scan s = {.a = qib_volume_data(va), .b = qib_volume_data(vb), .label = label,
                     .nx = g->dims[0], .ny = g->dims[1]};
    s.cnt = malloc(nz * 3 * sizeof *s.cnt);
    s.box = malloc(nz * 4 * sizeof *s.box);
    int rc = QIB_ENOMEM;
    if (!s.cnt || !s.box)
        goto fail;
    if ((rc = qib_parallel_for(qib_step_pool(step), nz, 1, count_slices, &s)))
        goto fail;
    size_t na = 0, nb = 0, nab = 0;
    size_t lo[3] = {SIZE_MAX, SIZE_MAX, SIZE_MAX}, hi[3] = {0, 0, 0};
    for (size_t k = 0; k < nz; k++) {
        na += s.cnt[3 * k];
        nb += s.cnt[3 * k + 1];
        nab += s.cnt[3 * k + 2];
        if (s.box[4 * k] == SIZE_MAX)
            continue;
        for (int c = 0; c < 2; c++) {
            if (s.box[4 * k + c] < lo[c]) lo[c] = s.box[4 * k + c];
            if (s.box[4 * k + 2 + c] > hi[c]) hi[c] = s.box[4 * k + 2 + c];
        }
        if (k < lo[2]) lo[2] = k;
        if (k > hi[2]) hi[2] = k;
    }
    free(s.cnt);
    free(s.box);
    s.cnt = s.box = NULL;

    double vox_ml = qib_geom_voxel_mm3(g) / 1000.0, v[NCOL];
    size_t nu = na + nb - nab;
    v[C_VOXELS_A] = (double)na;
    v[C_VOXELS_B] = (double)nb;
    v[C_VOLUME_A] = (double)na * vox_ml;
    v[C_VOLUME_B] = (double)nb * vox_ml;
    v[C_VOLUME_DIFF] = ((double)nb - (double)na) * vox_ml;
    v[C_VOLUME_DIFF_PCT] = na ? 100.0 * ((double)nb - (double)na) / (double)na : NAN;
    /* two empty masks agree perfectly */
    v[C_DICE] = nu ? 2.0 * (double)nab / ((double)na + (double)nb) : 1.0;
    v[C_JACCARD] = nu ? (double)nab / (double)nu : 1.0;
    v[C_HD] = v[C_HD95] = v[C_ASSD] = NAN;
    if (!na || !nb) {
        char what[32] = "set";
        if (label)
            snprintf(what, sizeof what, "with label %u", label);
        qib_step_log(step, "warning: %s %s; surface distances are missing (NaN)",
                     !na && !nb ? "neither mask a nor mask b has a voxel"
                     : !na      ? "mask a has no voxel"
                                : "mask b has no voxel",
                     what);
    } else {
        size_t m3[3];
        struct dist dd;
        for (int c = 0; c < 3; c++)
            m3[c] = hi[c] - lo[c] + 1;
        if ((rc = distances(step, s.a, s.b, label, g, lo, m3, &dd)))
            goto fail;
        v[C_HD] = dd.hd;
        v[C_HD95] = dd.hd95;
        v[C_ASSD] = dd.assd;
    }
    return make_table(step, v, label);

fail:
    free(s.cnt);
    free(s.box);
    if (rc == QIB_ENOMEM)
        return qib_fail(step, rc, "out of memory");
    if (rc == QIB_EOVERFLOW)
        return qib_fail(step, rc, "a: the masks' bounding box does not fit in memory");
    return rc;
}

static const struct qib_param params[] = {
    {.name = "label", .type = QIB_PARAM_INT, .offset = offsetof(struct overlap, label),
     .def = "0", .min = 0, .max = 255, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "label compared (0..255, no unit): 0 takes every non-zero voxel of each mask "
             "as foreground; N > 0 compares label N of mask a with label N of mask b"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "a", .kind = QIB_OBJ_MASK, .help = "first reader's mask (the reference of volume_diff)"},
    {.name = "b", .kind = QIB_OBJ_MASK, .help = "second reader's mask, on a's grid"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "table", .kind = QIB_OBJ_TABLE,
     .help = "one row: voxels, volumes (mL), volume difference b - a (mL, %), Dice, "
             "Jaccard, Hausdorff distance, its 95th percentile and the average symmetric "
             "surface distance (mm)"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_BIO,
    .name = "overlap",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "agreement of two masks: volume difference, Dice, Jaccard, Hausdorff "
               "distance (max, 95th percentile), average symmetric surface distance",
    .citation = "Taha AA, Hanbury A. Metrics for evaluating 3D medical image "
                "segmentation: analysis, selection, and tool. BMC Med Imaging "
                "2015;15:29. doi:10.1186/s12880-015-0068-x",
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct overlap),
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
