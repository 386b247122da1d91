/* bio.recovery: recovery coefficients of the NEMA NU 2 / IEC body phantom's
 * spheres as EARL accreditation reports them — SUVmax, the background-
 * adapted 50 % isocontour mean (A50) and SUVpeak (1 mL sphere), each over the
 * true sphere value — with the EARL 1 or EARL 2 limits and a verdict. */
#include <config.h>

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"

struct recovery {
    double sphere;      /* true sphere value, image units */
    double background;  /* true background value, image units */
    struct qib_dlist diameters;
    double margin;      /* mm */
    double peak_radius; /* mm */
    int standard;
};

enum { S_EARL1, S_EARL2, S_NONE };
static const char *const standards[] = {"earl1", "earl2", "none", NULL};

/* Limits per inner diameter (mm): {lo, hi} of RCmax, RCmean (A50), RCpeak;
 * NaN where the standard sets none.  EARL 1: EARL FDG-PET/CT accreditation
 * specifications (Boellaard R, January 2017; as in Boellaard et al. EJNMMI
 * 2015;42:328-354).  EARL 2: Kaalep A et al. EJNMMI 2018;45:1344-1361. */
static const struct limits {
    double d;
    double lim[2][3][2]; /* [standard][max, mean, peak][lo, hi] */
} table[] = {
    {37, {{{0.95, 1.16}, {0.76, 0.89}, {NAN, NAN}}, {{1.05, 1.29}, {0.85, 1.00}, {0.99, 1.07}}}},
    {28, {{{0.91, 1.13}, {0.72, 0.85}, {NAN, NAN}}, {{1.01, 1.26}, {0.82, 0.97}, {0.95, 1.07}}}},
    {22, {{{0.83, 1.09}, {0.63, 0.78}, {NAN, NAN}}, {{1.01, 1.32}, {0.80, 0.99}, {0.90, 1.09}}}},
    {17, {{{0.73, 1.01}, {0.57, 0.73}, {NAN, NAN}}, {{1.00, 1.38}, {0.76, 0.97}, {0.75, 0.99}}}},
    {13, {{{0.59, 0.85}, {0.44, 0.60}, {NAN, NAN}}, {{0.85, 1.22}, {0.63, 0.86}, {0.45, 0.69}}}},
    {10, {{{0.34, 0.57}, {0.27, 0.43}, {NAN, NAN}}, {{0.52, 0.88}, {0.39, 0.61}, {0.27, 0.43}}}},
};

/* At most this many voxels in a search region or peak sphere box. */
#define MAX_BOX ((size_t)1 << 24)

static int check(qib_step *step, const void *priv)
{
    const struct recovery *p = priv;
    if (!(p->sphere > p->background))
        return qib_fail(step, QIB_EINVAL,
                        "sphere (%g) must be above background (%g): the spheres are the hot "
                        "compartment",
                        p->sphere, p->background);
    for (size_t i = 1; i < p->diameters.n; i++)
        if (!(p->diameters.v[i] >= p->diameters.v[i - 1]))
            return qib_fail(step, QIB_EINVAL,
                            "diameters: expected ascending diameters (label 1 the smallest), "
                            "found %g after %g",
                            p->diameters.v[i], p->diameters.v[i - 1]);
    return QIB_OK;
}

static const struct limits *find_limits(double d)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (fabs(table[i].d - d) < 0.5)
            return &table[i];
    return NULL;
}

enum col {
    C_LABEL, C_D, C_ML, C_MAX, C_MEAN, C_PEAK, C_A50ML, C_RCMAX, C_RCMEAN, C_RCPEAK,
    C_MAXLO, C_MAXHI, C_MEANLO, C_MEANHI, C_PEAKLO, C_PEAKHI, C_PASS, NCOL
};

static const struct {
    const char *name;
    enum qib_coltype type;
    int image_unit;
    const char *unit;
} cols[NCOL] = {
    [C_LABEL] = {"label", QIB_COL_INT, 0, NULL},
    [C_D] = {"diameter_mm", QIB_COL_DOUBLE, 0, "mm"},
    [C_ML] = {"sphere_ml", QIB_COL_DOUBLE, 0, "mL"},
    [C_MAX] = {"max", QIB_COL_DOUBLE, 1, NULL},
    [C_MEAN] = {"mean_a50", QIB_COL_DOUBLE, 1, NULL},
    [C_PEAK] = {"peak", QIB_COL_DOUBLE, 1, NULL},
    [C_A50ML] = {"a50_ml", QIB_COL_DOUBLE, 0, "mL"},
    [C_RCMAX] = {"rc_max", QIB_COL_DOUBLE, 0, NULL},
    [C_RCMEAN] = {"rc_mean", QIB_COL_DOUBLE, 0, NULL},
    [C_RCPEAK] = {"rc_peak", QIB_COL_DOUBLE, 0, NULL},
    [C_MAXLO] = {"rc_max_lo", QIB_COL_DOUBLE, 0, NULL},
    [C_MAXHI] = {"rc_max_hi", QIB_COL_DOUBLE, 0, NULL},
    [C_MEANLO] = {"rc_mean_lo", QIB_COL_DOUBLE, 0, NULL},
    [C_MEANHI] = {"rc_mean_hi", QIB_COL_DOUBLE, 0, NULL},
    [C_PEAKLO] = {"rc_peak_lo", QIB_COL_DOUBLE, 0, NULL},
    [C_PEAKHI] = {"rc_peak_hi", QIB_COL_DOUBLE, 0, NULL},
    [C_PASS] = {"within_limits", QIB_COL_STRING, 0, NULL},
};

/* Measures of one sphere: search region = voxels within d/2 + margin of the
 * label's centroid. */
static int measure(qib_step *step, const struct recovery *p, const qib_volume *img,
                   const double centroid[3], double d, const struct qib_voxel_offset *pk, size_t npk,
                   double out[NCOL])
{
    const struct qib_geom *g = qib_volume_geom(img);
    const size_t nx = g->dims[0], ny = g->dims[1], nz = g->dims[2];
    struct qib_voxel_offset *reg = NULL;
    size_t nreg = 0;
    int rc = qib_geom_ball(g, d / 2 + p->margin, MAX_BOX, &reg, &nreg);
    if (rc == QIB_ERANGE)
        return qib_fail(step, rc,
                        "margin_mm: a search region of radius %g mm spans too many voxels at "
                        "spacing %gx%gx%g mm",
                        d / 2 + p->margin, g->spacing[0], g->spacing[1], g->spacing[2]);
    if (rc)
        return rc;
    double idx[3];
    qib_geom_world_to_index(g, centroid, idx);
    ptrdiff_t c[3];
    for (int a = 0; a < 3; a++)
        c[a] = (ptrdiff_t)floor(idx[a] + 0.5);
    /* Voxels of the region inside the image: linear indices. */
    size_t *lin = malloc((nreg ? nreg : 1) * sizeof *lin), m = 0;
    if (!lin) {
        free(reg);
        return QIB_ENOMEM;
    }
    for (size_t k = 0; k < nreg; k++) {
        ptrdiff_t x = c[0] + reg[k].d[0], y = c[1] + reg[k].d[1], z = c[2] + reg[k].d[2];
        if (x < 0 || y < 0 || z < 0 || (size_t)x >= nx || (size_t)y >= ny || (size_t)z >= nz)
            continue;
        lin[m++] = ((size_t)z * ny + (size_t)y) * nx + (size_t)x;
    }
    double mx = -INFINITY, peak = -INFINITY;
    for (size_t k = 0; k < m; k++) {
        double v = qib_volume_get(img, lin[k]);
        if (v > mx)
            mx = v;
    }
    /* A50: mean of the region's voxels at or above background + 50 % of
     * (max - background) */
    double thr = p->background + 0.5 * (mx - p->background), s = 0;
    size_t na = 0;
    for (size_t k = 0; k < m; k++) {
        double v = qib_volume_get(img, lin[k]);
        if (v >= thr) {
            s += v;
            na++;
        }
    }
    /* SUVpeak: the highest mean of a peak sphere centred on a region voxel */
    for (size_t k = 0; k < m; k++) {
        double pm = qib_volume_offset_mean(img, lin[k], pk, npk);
        if (pm > peak)
            peak = pm;
    }
    free(reg);
    free(lin);
    if (!m || isinf(mx))
        return qib_fail(step, QIB_EINVAL,
                        "spheres: the search region of the %g mm sphere (centroid %g, %g, %g mm) "
                        "holds no voxel with a value",
                        d, centroid[0], centroid[1], centroid[2]);
    double t = p->sphere;
    out[C_D] = d;
    out[C_ML] = 4.0 / 3.0 * M_PI * pow(d / 2, 3) / 1000.0;
    out[C_MAX] = mx;
    out[C_MEAN] = na ? s / (double)na : NAN;
    out[C_PEAK] = peak;
    out[C_A50ML] = (double)na * qib_geom_voxel_mm3(g) / 1000.0;
    out[C_RCMAX] = mx / t;
    out[C_RCMEAN] = out[C_MEAN] / t;
    out[C_RCPEAK] = peak / t;
    return QIB_OK;
}

static int run(qib_step *step, void *priv)
{
    const struct recovery *p = priv;
    const qib_volume *img = qib_step_in_volume(step, "image");
    const qib_volume *msk = qib_step_in_volume(step, "spheres");
    const struct qib_geom *g = qib_volume_geom(img);
    if (g->ndim == 4 && g->dims[3] > 1)
        return qib_fail(step, QIB_EUNSUPPORTED,
                        "image: a 4-D image (%zu frames) is not supported: give one 3-D volume",
                        g->dims[3]);
    if (qib_volume_dtype(msk) != QIB_U8)
        return qib_fail(step, QIB_EINVAL, "spheres: expected a u8 label image, found %s",
                        qib_dtype_name(qib_volume_dtype(msk)));
    if (qib_step_check_grid(step, "spheres", msk, img) != QIB_OK)
        return QIB_EGEOMETRY;

    /* centroid of each label, in index space */
    double sum[256][3] = {{0}};
    size_t count[256] = {0};
    const uint8_t *m = qib_volume_data(msk);
    const size_t nx = g->dims[0], ny = g->dims[1], nvox = qib_geom_frame_nvox(g);
    for (size_t i = 0; i < nvox; i++) {
        if (!m[i])
            continue;
        count[m[i]]++;
        sum[m[i]][0] += (double)(i % nx);
        sum[m[i]][1] += (double)(i / nx % ny);
        sum[m[i]][2] += (double)(i / nx / ny);
    }

    const char *unit = qib_meta_get(qib_volume_meta(img), "units");
    if (unit && !*unit)
        unit = NULL;
    struct qib_voxel_offset *pk = NULL;
    size_t npk = 0;
    qib_table *t = NULL;
    int rc = qib_geom_ball(g, p->peak_radius, MAX_BOX, &pk, &npk);
    if (rc == QIB_ERANGE)
        return qib_fail(step, rc, "peak_radius_mm: %g mm spans too many voxels", p->peak_radius);
    if (rc)
        goto fail;
    if ((rc = qib_table_new(&t)))
        goto fail;
    for (int c = 0; c < NCOL; c++)
        if ((rc = qib_table_add_column(t, cols[c].name, cols[c].type,
                                       cols[c].image_unit ? unit : cols[c].unit, NULL, NULL)))
            goto fail;
    size_t nrows = 0;
    for (size_t l = 1; l < 256; l++) {
        if (!count[l])
            continue;
        if (l > p->diameters.n) {
            rc = qib_fail(step, QIB_EINVAL,
                          "spheres: label %zu has no entry in diameters (%zu given): give one "
                          "inner diameter per label",
                          l, p->diameters.n);
            goto fail;
        }
        double d = p->diameters.v[l - 1];
        double idx[3] = {sum[l][0] / (double)count[l], sum[l][1] / (double)count[l],
                         sum[l][2] / (double)count[l]};
        double w[3], v[NCOL];
        qib_geom_index_to_world(g, idx, w);
        for (int c = 0; c < NCOL; c++)
            v[c] = NAN;
        if ((rc = measure(step, p, img, w, d, pk, npk, v)))
            goto fail;
        const struct limits *lim = p->standard == S_NONE ? NULL : find_limits(d);
        const char *verdict = "n/a";
        if (lim) {
            const double rcs[3] = {v[C_RCMAX], v[C_RCMEAN], v[C_RCPEAK]};
            int ok = 1;
            for (int k = 0; k < 3; k++) {
                double lo = lim->lim[p->standard][k][0], hi = lim->lim[p->standard][k][1];
                v[C_MAXLO + 2 * k] = lo;
                v[C_MAXHI + 2 * k] = hi;
                if (!isnan(lo) && !(rcs[k] >= lo && rcs[k] <= hi))
                    ok = 0;
            }
            verdict = ok ? "yes" : "no";
        }
        size_t r;
        if ((rc = qib_table_add_row(t, &r)) ||
            (rc = qib_table_set_int(t, r, C_LABEL, (int64_t)l)) ||
            (rc = qib_table_set_string(t, r, C_PASS, verdict)))
            goto fail;
        for (int c = C_D; c < C_PASS; c++)
            if ((rc = qib_table_set_double(t, r, (size_t)c, v[c])))
                goto fail;
        nrows++;
    }
    if (!nrows) {
        rc = qib_fail(step, QIB_EINVAL, "spheres: the mask holds no labelled voxel");
        goto fail;
    }
    {
        qib_meta *mt = qib_table_meta_mut(t);
        char buf[32];
        qib_meta_set(mt, "standard", standards[p->standard], "parameter");
        qib_meta_set_double(mt, "sphere_true", p->sphere, "parameter");
        qib_meta_set_double(mt, "background_true", p->background, "parameter");
        qib_step_record(step, "standard", standards[p->standard]);
        qib_step_record(step, "sphere_true", qib_format_double(p->sphere, buf));
    }
    free(pk);
    return qib_step_set_table(step, "table", t);
fail:
    free(pk);
    qib_table_unref(&t);
    if (rc == QIB_ENOMEM)
        return qib_fail(step, rc, "out of memory");
    return rc;
}

static const struct qib_param params[] = {
    {.name = "sphere", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct recovery, sphere),
     .flags = QIB_PARAM_REQUIRED,
     .help = "true activity of the spheres in image units (e.g. SUV, or Bq/ml), from the "
             "filling and the decay to the scan: the denominator of every RC"},
    {.name = "background", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct recovery, background), .flags = QIB_PARAM_REQUIRED,
     .help = "true background activity in image units: the A50 isocontour is at background + "
             "50% of (max - background)"},
    {.name = "diameters", .type = QIB_PARAM_DLIST, .offset = offsetof(struct recovery, diameters),
     .def = "[10, 13, 17, 22, 28, 37]", .min = 1, .max = 200,
     .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "mm",
     .help = "inner diameter in mm of the sphere of label 1, 2, ... (ascending; the NEMA NU 2 "
             "spheres by default): sets the search region and the limits looked up"},
    {.name = "margin_mm", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct recovery, margin),
     .def = "10", .min = 0, .max = 50, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "mm",
     .help = "search region: voxels within diameter/2 + margin_mm of the label's centroid, so "
             "that a displaced or blurred sphere is still found (below the 24 mm gap between "
             "neighbouring NEMA spheres)"},
    {.name = "peak_radius_mm", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct recovery, peak_radius), .def = "6.2035", .min = 0.1, .max = 50,
     .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "mm",
     .help = "radius in mm of the SUVpeak sphere (default: 1 mL, as EARL 2), placed on the "
             "search-region voxel that gives the highest mean"},
    {.name = "standard", .type = QIB_PARAM_ENUM, .offset = offsetof(struct recovery, standard),
     .def = "earl2", .choices = standards,
     .help = "limits reported and checked: earl1 (RCmax, RCmean), earl2 (RCmax, RCmean, "
             "RCpeak) or none"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "image", .kind = QIB_OBJ_VOLUME,
     .help = "3-D PET image of the phantom (SUV or activity concentration)"},
    {.name = "spheres", .kind = QIB_OBJ_MASK,
     .help = "label image on the image's grid: label k marks sphere k (its true position), "
             "1 = the smallest"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "table", .kind = QIB_OBJ_TABLE,
     .help = "one row per sphere: label, diameter_mm, sphere_ml, max, mean_a50, peak, a50_ml, "
             "rc_max, rc_mean, rc_peak, the standard's limits rc_*_lo/hi, within_limits"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_BIO,
    .name = "recovery",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "NEMA/IEC sphere recovery coefficients (RCmax, RCmean A50, RCpeak) with the "
               "EARL 1 or EARL 2 limits",
    .citation = "Kaalep A et al. Feasibility of state of the art PET/CT systems performance "
                "harmonisation. EJNMMI 2018;45:1344-1361. doi:10.1007/s00259-018-3977-4; "
                "Boellaard R et al. EJNMMI 2015;42:328-354",
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct recovery),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
