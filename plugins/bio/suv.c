/* bio.suv: PET uptake biomarkers per mask label of an SUV (or SUL) volume:
 * SUVmax, SUVmean, SUVmin, SD, the IBSI local and global intensity peaks
 * (mean in a 1 cm^3 sphere), metabolic tumour volume and total lesion
 * glycolysis (MTV x SUVmean). */
#include <config.h>

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"

struct suv {
    double radius; /* peak sphere radius, mm */
};

/* Labels of a u8 mask. */
#define NSLOT 256
/* ROI voxels per block of the peak computation: fixed, so the result does
 * not depend on the thread count (each voxel's sphere mean is computed
 * alone anyway). */
#define PEAK_BLOCK ((size_t)256)
/* At most this many voxels in the sphere's bounding box: a larger radius
 * is a mistake, and would make the peak search quadratic in practice. */
#define MAX_BOX ((size_t)1 << 24)

enum col {
    C_LABEL, C_MAX, C_MEAN, C_MIN, C_SD, C_PEAK_LOCAL, C_PEAK_GLOBAL, C_MTV, C_TLG, NCOL
};

enum unit_kind { U_NONE, U_IMAGE, U_ML, U_ML_IMAGE };

static const struct {
    const char *suffix; /* after "suv_" or "sul_"; NULL: name used as is */
    const char *name;
    enum qib_coltype type;
    enum unit_kind unit;
    const char *ibsi;
} cols[NCOL] = {
    [C_LABEL] = {NULL, "label", QIB_COL_INT, U_NONE, NULL},
    [C_MAX] = {"max", NULL, QIB_COL_DOUBLE, U_IMAGE, "84IY"},
    [C_MEAN] = {"mean", NULL, QIB_COL_DOUBLE, U_IMAGE, "Q4LE"},
    [C_MIN] = {"min", NULL, QIB_COL_DOUBLE, U_IMAGE, "1GSF"},
    [C_SD] = {"sd", NULL, QIB_COL_DOUBLE, U_IMAGE, NULL},
    [C_PEAK_LOCAL] = {"peak_local", NULL, QIB_COL_DOUBLE, U_IMAGE, "VJGA"},
    [C_PEAK_GLOBAL] = {"peak_global", NULL, QIB_COL_DOUBLE, U_IMAGE, "0F91"},
    [C_MTV] = {NULL, "mtv_ml", QIB_COL_DOUBLE, U_ML, NULL},
    [C_TLG] = {NULL, "tlg", QIB_COL_DOUBLE, U_ML_IMAGE, NULL},
};

/* Case-insensitive prefix test (locale-independent: units are ASCII). */
static int has_prefix(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if (!*s || tolower((unsigned char)*s) != tolower((unsigned char)*prefix))
            return 0;
    return 1;
}

/* SUV normalised by lean body mass is called SUL: columns are named so. */
static int is_sul(const char *unit)
{
    return unit && (has_prefix(unit, "SUL") || has_prefix(unit, "SUVlbm"));
}

/* ---- sphere offsets ---- */

/* qib_geom_ball, with the message a user can act on. */
static int sphere_offsets(qib_step *step, const struct qib_geom *g, double r,
                          struct qib_voxel_offset **out, size_t *n)
{
    int rc = qib_geom_ball(g, r, MAX_BOX, out, n);
    if (rc == QIB_ERANGE)
        return qib_fail(step, QIB_ERANGE,
                        "peak_radius_mm: %g mm spans more than %zu voxels around each "
                        "voxel at spacing %gx%gx%g mm: expected a radius of a few voxels",
                        r, MAX_BOX, g->spacing[0], g->spacing[1], g->spacing[2]);
    return rc;
}

/* ---- sphere means at ROI voxels ---- */

struct peaks {
    const qib_volume *img;
    const struct qib_voxel_offset *off;
    size_t noff;
    const size_t *roi; /* linear indices of the ROI voxels */
    double *mean;      /* out: sphere mean at each ROI voxel */
};

static void peak_block(void *arg, size_t b, size_t begin, size_t end)
{
    struct peaks *p = arg;
    (void)b;
    /* voxels outside the image are not part of the sphere (IBSI) */
    for (size_t r = begin; r < end; r++)
        p->mean[r] = qib_volume_offset_mean(p->img, p->roi[r], p->off, p->noff);
}

/* ---- the step ---- */

static int check(qib_step *step, const void *priv)
{
    const struct suv *p = priv;
    if (!(p->radius > 0))
        return qib_fail(step, QIB_EINVAL,
                        "peak_radius_mm: expected a radius above 0 mm, found %g", p->radius);
    return QIB_OK;
}

static int add_columns(qib_table *t, const char *unit)
{
    const char *prefix = is_sul(unit) ? "sul" : "suv";
    char name[32], mlu[96] = "";
    if (unit)
        snprintf(mlu, sizeof mlu, "mL*%s", unit);
    for (int c = 0; c < NCOL; c++) {
        const char *u = NULL;
        switch (cols[c].unit) {
        case U_IMAGE: u = unit; break;
        case U_ML: u = "mL"; break;
        case U_ML_IMAGE: u = unit ? mlu : NULL; break;
        case U_NONE: break;
        }
        if (cols[c].suffix)
            snprintf(name, sizeof name, "%s_%s", prefix, cols[c].suffix);
        else
            snprintf(name, sizeof name, "%s", cols[c].name);
        int rc = qib_table_add_column(t, name, cols[c].type, u, cols[c].ibsi, NULL);
        if (rc)
            return rc;
    }
    return QIB_OK;
}

static int set_meta(qib_table *t, const struct suv *p, const char *unit, size_t noff)
{
    qib_meta *m = qib_table_meta_mut(t);
    int rc;
    if (!m)
        return QIB_EBUSY;
    if ((rc = qib_meta_set(m, "definitions",
                           "IBSI 1: population SD (1/N); local intensity peak (VJGA): mean "
                           "of the image within the sphere centred on the ROI's hottest "
                           "voxel (the highest such mean on ties); global intensity peak "
                           "(0F91): highest sphere mean centred on any ROI voxel; the "
                           "sphere holds image voxels whose centres are within "
                           "peak_radius_mm, inside or outside the ROI, not outside the "
                           "image; MTV = ROI voxels x voxel volume; TLG = MTV x mean",
                           "computed")) ||
        (rc = qib_meta_set_double(m, "peak_radius_mm", p->radius, "parameter")) ||
        (rc = qib_meta_set_double(m, "peak_sphere_voxels", (double)noff, "computed")))
        return rc;
    if (unit && (rc = qib_meta_set(m, "units", unit, "image")))
        return rc;
    return QIB_OK;
}

struct stats {
    double max, mean, min, sd, peak_local, peak_global, mtv, tlg;
};

/* Statistics of the ROI voxels roi[0, n) whose sphere means are pk[0, n). */
static void label_stats(const qib_volume *img, const size_t *roi, const double *pk, size_t n,
                        double vox_ml, struct stats *st)
{
    double s = 0, lo = INFINITY, hi = -INFINITY;
    size_t cnt = 0;
    for (size_t r = 0; r < n; r++) {
        double v = qib_volume_get(img, roi[r]);
        if (isnan(v))
            continue;
        s += v;
        cnt++;
        if (v < lo)
            lo = v;
        if (v > hi)
            hi = v;
    }
    st->mtv = (double)n * vox_ml;
    if (!cnt) {
        st->max = st->mean = st->min = st->sd = st->peak_local = st->peak_global = st->tlg = NAN;
        return;
    }
    double mean = lo == hi ? lo : s / (double)cnt, s2 = 0;
    double pl = -INFINITY, pg = -INFINITY;
    for (size_t r = 0; r < n; r++) {
        double v = qib_volume_get(img, roi[r]);
        if (isnan(v))
            continue;
        s2 += (v - mean) * (v - mean);
        if (pk[r] > pg)
            pg = pk[r];
        if (v == hi && pk[r] > pl)
            pl = pk[r];
    }
    st->max = hi;
    st->min = lo;
    st->mean = mean;
    st->sd = sqrt(s2 / (double)cnt);
    st->peak_local = pl;
    st->peak_global = pg;
    st->tlg = st->mtv * mean;
}

static int run(qib_step *step, void *priv)
{
    const struct suv *p = priv;
    const qib_volume *img = qib_step_in_volume(step, "image");
    const qib_volume *msk = qib_step_in_volume(step, "mask");

    if (!img)
        return qib_fail(step, QIB_EINVAL, "image: no volume wired to the input");
    if (!msk)
        return qib_fail(step, QIB_EINVAL, "mask: no mask wired to the input");
    const struct qib_geom *g = qib_volume_geom(img);
    const struct qib_geom *gm = qib_volume_geom(msk);
    if (g->ndim == 4 && g->dims[3] > 1)
        return qib_fail(step, QIB_EUNSUPPORTED,
                        "image: a 4-D image (%zu frames) is not supported: give one 3-D "
                        "SUV volume",
                        g->dims[3]);
    if (qib_volume_dtype(msk) != QIB_U8 || !qib_volume_is_mask(msk))
        return qib_fail(step, QIB_EINVAL,
                        "mask: expected a u8 label image flagged as a mask, found a %s "
                        "volume%s",
                        qib_dtype_name(qib_volume_dtype(msk)),
                        qib_volume_is_mask(msk) ? "" : " not flagged as a mask");
    if (gm->ndim == 4 && gm->dims[3] > 1)
        return qib_fail(step, QIB_EUNSUPPORTED,
                        "mask: a 4-D mask (%zu frames) is not supported: give a 3-D "
                        "label image",
                        gm->dims[3]);
    if (qib_step_check_grid(step, "mask", msk, img) != QIB_OK)
        return QIB_EGEOMETRY;

    const char *unit = qib_meta_get(qib_volume_meta(img), "units");
    if (unit && !*unit)
        unit = NULL;
    if (!unit)
        qib_step_log(step, "warning: image: no \"units\" metadata; assuming SUV (suv_ "
                           "columns without a unit)");

    struct qib_voxel_offset *off = NULL;
    size_t noff = 0, *roi = NULL;
    double *pk = NULL;
    qib_table *t = NULL;
    int rc = sphere_offsets(step, g, p->radius, &off, &noff);
    if (rc)
        goto fail;

    /* Count the ROI voxels of each label, then list them label by label
     * (ascending index within a label). */
    size_t nvox = qib_geom_frame_nvox(g), count[NSLOT] = {0}, start[NSLOT], total = 0;
    const uint8_t *m = qib_volume_data(msk);
    for (size_t i = 0; i < nvox; i++)
        count[m[i]]++;
    for (size_t l = 1; l < NSLOT; l++) {
        start[l] = total;
        total += count[l];
    }
    rc = QIB_ENOMEM;
    roi = malloc((total ? total : 1) * sizeof *roi);
    pk = malloc((total ? total : 1) * sizeof *pk);
    if (!roi || !pk)
        goto fail;
    {
        size_t fill[NSLOT];
        memcpy(fill, start, sizeof fill);
        for (size_t i = 0; i < nvox; i++)
            if (m[i])
                roi[fill[m[i]]++] = i;
    }
    struct peaks pc = {
        .img = img, .off = off, .noff = noff, .roi = roi, .mean = pk,
    };
    if ((rc = qib_parallel_for(qib_step_pool(step), total, PEAK_BLOCK, peak_block, &pc)))
        goto fail;

    if ((rc = qib_table_new(&t)) || (rc = add_columns(t, unit)) ||
        (rc = set_meta(t, p, unit, noff)))
        goto fail;
    double vox_ml = qib_geom_voxel_mm3(g) / 1000.0;
    size_t nlabels = 0;
    for (size_t l = 1; l < NSLOT; l++) {
        if (!count[l])
            continue;
        struct stats st;
        size_t r;
        nlabels++;
        label_stats(img, roi + start[l], pk + start[l], count[l], vox_ml, &st);
        if (isnan(st.mean))
            qib_step_log(step, "warning: label %zu: all of its %zu voxels are NaN; its "
                               "statistics are missing (NaN)", l, count[l]);
        const double v[NCOL] = {
            [C_MAX] = st.max, [C_MEAN] = st.mean, [C_MIN] = st.min, [C_SD] = st.sd,
            [C_PEAK_LOCAL] = st.peak_local, [C_PEAK_GLOBAL] = st.peak_global,
            [C_MTV] = st.mtv, [C_TLG] = st.tlg,
        };
        if ((rc = qib_table_add_row(t, &r)) ||
            (rc = qib_table_set_int(t, r, C_LABEL, (int64_t)l)))
            goto fail;
        for (size_t c = C_MAX; c < NCOL; c++)
            if ((rc = qib_table_set_double(t, r, c, v[c])))
                goto fail;
    }
    if (nlabels == 0)
        qib_step_log(step, "warning: mask: no voxel carries a label; the table has no rows");
    free(off);
    free(roi);
    free(pk);
    return qib_step_set_table(step, "table", t);

fail:
    free(off);
    free(roi);
    free(pk);
    qib_table_unref(&t);
    if (rc == QIB_ENOMEM)
        return qib_fail(step, rc, "out of memory");
    return rc;
}

static const struct qib_param params[] = {
    {.name = "peak_radius_mm", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct suv, radius), .def = "6.2035", .max = 50,
     .flags = QIB_PARAM_MAX, .unit = "mm",
     .help = "radius in mm (above 0, at most 50) of the sphere whose mean is the SUV "
             "peak; the default, (3/(4 pi))^(1/3) x 10 mm, is that of a 1 cm^3 sphere "
             "(IBSI local and global intensity peaks)"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "image", .kind = QIB_OBJ_VOLUME,
     .help = "3-D SUV volume; its \"units\" metadata (e.g. SUVbw, SUVlbm, SUL) gives the "
             "columns' unit, and SUL/SUVlbm names them sul_*"},
    {.name = "mask", .kind = QIB_OBJ_MASK,
     .help = "label image on the image's grid: one row per label (0 is background)"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "table", .kind = QIB_OBJ_TABLE,
     .help = "one row per label (ascending): label, suv_max, suv_mean, suv_min, suv_sd, "
             "suv_peak_local, suv_peak_global, mtv_ml, tlg (sul_* for SUL images)"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_BIO,
    .name = "suv",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "PET uptake per label: SUVmax, SUVmean, SUVmin, SD, SUVpeak (IBSI local "
               "and global intensity peaks), MTV, TLG",
    .citation = "Zwanenburg A et al. The Image Biomarker Standardization Initiative. "
                "Radiology 2020;295:328-338. doi:10.1148/radiol.2020191145",
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct suv),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
