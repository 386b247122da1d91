/* bio.radiomics: image biomarkers of a region of interest as the Image
 * Biomarker Standardisation Initiative defines them (IBSI 1): the processing
 * chain (interpolation, re-segmentation, discretisation) and the feature
 * families, one row per mask label, one column per feature. */
#include <config.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"
#include "qib/resample.h"
#include "rad.h"

enum disc { D_FBN, D_FBS, D_FBS_ZERO };
enum ivh_disc { I_NONE, I_FBN, I_FBS };

struct radiomics {
    int tex2d, tex25d, tex3d;
    double spacing[3];
    int interp, mask_interp, inplane;
    double partial;
    int round;
    double reseg_lower, reseg_upper, outlier_sigma;
    int disc;
    int64_t bin_number;
    double bin_width, bin_lower;
    int ivh_disc;
    int64_t ivh_bins;
    double ivh_width;
    int64_t distance, alpha, linkage;
    char *families;
};

#define UNSET_LO (-1e308)
#define UNSET_HI (1e308)

void qib__rad_add(struct rad_list *l, const char *tag, double v, const char *unit)
{
    if (l->err)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        struct rad_feat *f = realloc(l->f, cap * sizeof *f);
        if (!f) {
            l->err = QIB_ENOMEM;
            return;
        }
        l->f = f, l->cap = cap;
    }
    struct rad_feat *f = &l->f[l->n++];
    /* Column names are snake_case: the reference tags lower-cased
     * (cm_joint_max_2D_avg becomes cm_joint_max_2d_avg). */
    size_t k = 0;
    for (; tag[k] && k + 1 < sizeof f->tag; k++)
        f->tag[k] = (char)(tag[k] >= 'A' && tag[k] <= 'Z' ? tag[k] - 'A' + 'a' : tag[k]);
    f->tag[k] = '\0';
    f->v = v;
    f->unit = unit;
}

void qib__rad_free(struct rad_list *l)
{
    free(l->f);
    l->f = NULL;
    l->n = l->cap = 0;
}

/* ---- diagnostics (IBSI 1, "diagnostic features") ---- */

static void diag_image(struct rad_list *d, const char *stage, const struct qib_geom *g,
                       const double *v, size_t n)
{
    char tag[64];
    double s = 0, lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        s += v[i];
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    static const char ax[3] = {'x', 'y', 'z'};
    for (int a = 0; a < 3; a++) {
        snprintf(tag, sizeof tag, "img_dim_%c_%s_img", ax[a], stage);
        qib__rad_add(d, tag, (double)g->dims[a], NULL);
    }
    for (int a = 0; a < 3; a++) {
        snprintf(tag, sizeof tag, "vox_dim_%c_%s_img", ax[a], stage);
        qib__rad_add(d, tag, g->spacing[a], "mm");
    }
    snprintf(tag, sizeof tag, "mean_int_%s_img", stage);
    qib__rad_add(d, tag, s / (double)n, NULL);
    snprintf(tag, sizeof tag, "min_int_%s_img", stage);
    qib__rad_add(d, tag, lo, NULL);
    snprintf(tag, sizeof tag, "max_int_%s_img", stage);
    qib__rad_add(d, tag, hi, NULL);
}

static void diag_roi(struct rad_list *d, const char *stage, const struct qib_geom *g,
                     const double *v, const uint8_t *morph, const uint8_t *in)
{
    static const char ax[3] = {'x', 'y', 'z'};
    char tag[64];
    size_t n = g->dims[0] * g->dims[1] * g->dims[2];
    size_t lo[2][3], hi[2][3], cnt[2] = {0, 0};
    double s = 0, vmin = INFINITY, vmax = -INFINITY;
    for (int k = 0; k < 2; k++)
        for (int a = 0; a < 3; a++)
            lo[k][a] = (size_t)-1, hi[k][a] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t p[3] = {i % g->dims[0], (i / g->dims[0]) % g->dims[1], i / (g->dims[0] * g->dims[1])};
        const uint8_t *m[2] = {in, morph};
        for (int k = 0; k < 2; k++) {
            if (!m[k][i])
                continue;
            cnt[k]++;
            for (int a = 0; a < 3; a++) {
                lo[k][a] = p[a] < lo[k][a] ? p[a] : lo[k][a];
                hi[k][a] = p[a] > hi[k][a] ? p[a] : hi[k][a];
            }
        }
        if (in[i]) {
            s += v[i];
            vmin = v[i] < vmin ? v[i] : vmin;
            vmax = v[i] > vmax ? v[i] : vmax;
        }
    }
    for (int a = 0; a < 3; a++) {
        snprintf(tag, sizeof tag, "int_mask_dim_%c_%s_roi", ax[a], stage);
        qib__rad_add(d, tag, (double)g->dims[a], NULL);
    }
    static const char *const kind[2] = {"int", "morph"};
    for (int k = 0; k < 2; k++)
        for (int a = 0; a < 3; a++) {
            snprintf(tag, sizeof tag, "%s_mask_bb_dim_%c_%s_roi", kind[k], ax[a], stage);
            qib__rad_add(d, tag, cnt[k] ? (double)(hi[k][a] - lo[k][a] + 1) : 0, NULL);
        }
    for (int k = 0; k < 2; k++) {
        snprintf(tag, sizeof tag, "%s_mask_vox_count_%s_roi", kind[k], stage);
        qib__rad_add(d, tag, (double)cnt[k], NULL);
    }
    snprintf(tag, sizeof tag, "int_mask_mean_int_%s_roi", stage);
    qib__rad_add(d, tag, cnt[0] ? s / (double)cnt[0] : NAN, NULL);
    snprintf(tag, sizeof tag, "int_mask_min_int_%s_roi", stage);
    qib__rad_add(d, tag, cnt[0] ? vmin : NAN, NULL);
    snprintf(tag, sizeof tag, "int_mask_max_int_%s_roi", stage);
    qib__rad_add(d, tag, cnt[0] ? vmax : NAN, NULL);
}

/* ---- re-segmentation and discretisation ---- */

/* The intensity mask: the morphological mask within [lower, upper], then
 * (when sigma > 0) within mean +- sigma SD of the voxels kept so far. */
static void resegment(const struct radiomics *p, const double *v, const uint8_t *morph,
                      uint8_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        in[i] = morph[i] && v[i] >= p->reseg_lower && v[i] <= p->reseg_upper;
    if (p->outlier_sigma > 0) {
        double s = 0, s2 = 0, c = 0;
        for (size_t i = 0; i < n; i++)
            if (in[i])
                s += v[i], c += 1;
        double mean = c > 0 ? s / c : 0;
        for (size_t i = 0; i < n; i++)
            if (in[i])
                s2 += (v[i] - mean) * (v[i] - mean);
        double sd = c > 0 ? sqrt(s2 / c) : 0;
        for (size_t i = 0; i < n; i++)
            if (in[i] && (v[i] < mean - p->outlier_sigma * sd || v[i] > mean + p->outlier_sigma * sd))
                in[i] = 0;
    }
}

/* Discretise the intensity-mask voxels of the box into r->gl and r->ng. */
static int discretise(const struct radiomics *p, struct rad_roi *r, size_t n)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (r->in[i]) {
            lo = r->val[i] < lo ? r->val[i] : lo;
            hi = r->val[i] > hi ? r->val[i] : hi;
        }
    int ng = 1;
    if (!(lo <= hi)) {
        /* re-segmentation left nothing: every family reports NaN */
        memset(r->gl, 0, n * sizeof *r->gl);
        memset(r->ivh_gl, 0, n * sizeof *r->ivh_gl);
        r->ng = r->ivh_n = 1;
        r->ivh_lo = r->ivh_min = r->ivh_max = 0;
        r->ivh_w = 1;
        return QIB_OK;
    }
    if (p->disc == D_FBS_ZERO && !(fabs(lo / p->bin_width) < 1e9))
        return QIB_ERANGE;
    if (p->disc == D_FBN) {
        ng = (int)p->bin_number;
        for (size_t i = 0; i < n; i++) {
            if (!r->in[i]) {
                r->gl[i] = 0;
                continue;
            }
            int g = hi > lo ? (int)floor((double)ng * (r->val[i] - lo) / (hi - lo)) + 1 : 1;
            r->gl[i] = g > ng ? ng : g;
        }
    } else {
        double w = p->bin_width;
        double base = p->bin_lower > UNSET_LO ? p->bin_lower
                      : p->reseg_lower > UNSET_LO ? p->reseg_lower
                                                  : lo;
        if (p->disc == D_FBS_ZERO)
            base = 0;
        int off = p->disc == D_FBS_ZERO ? (int)floor(lo / w) : 0;
        for (size_t i = 0; i < n; i++) {
            if (!r->in[i]) {
                r->gl[i] = 0;
                continue;
            }
            double g = floor((r->val[i] - base) / w) - off + 1;
            if (g < 1 || g > 1e7)
                return QIB_ERANGE;
            r->gl[i] = (int)g;
            ng = r->gl[i] > ng ? r->gl[i] : ng;
        }
        /* The number of bins is the highest level present (the IBSI
         * reference values of configuration A follow this, not the width of
         * the re-segmentation range). */
    }
    r->ng = ng;
    /* The IVH levels. */
    double ilo = p->reseg_lower > UNSET_LO ? p->reseg_lower : lo;
    double ihi = p->reseg_upper < UNSET_HI ? p->reseg_upper : hi;
    switch (p->ivh_disc) {
    case I_NONE:
        /* Calibrated, discrete intensities: each integer value is a level. */
        r->ivh_lo = floor(lo), r->ivh_w = 1;
        r->ivh_min = ilo, r->ivh_max = ihi;
        break;
    case I_FBS:
        /* A bin stands for the intensity at its centre. */
        r->ivh_lo = ilo + 0.5 * p->ivh_width, r->ivh_w = p->ivh_width;
        r->ivh_min = ilo, r->ivh_max = ihi;
        break;
    case I_FBN:
        /* Arbitrary units: the levels themselves are the intensities. */
        r->ivh_lo = 1, r->ivh_w = 1;
        r->ivh_min = 1, r->ivh_max = (double)p->ivh_bins;
        break;
    }
    int in_max = 1;
    for (size_t i = 0; i < n; i++) {
        if (!r->in[i]) {
            r->ivh_gl[i] = 0;
            continue;
        }
        double g;
        if (p->ivh_disc == I_FBN) {
            g = hi > lo ? floor((double)p->ivh_bins * (r->val[i] - lo) / (hi - lo)) + 1 : 1;
            if (g > (double)p->ivh_bins)
                g = (double)p->ivh_bins;
        } else if (p->ivh_disc == I_FBS) {
            g = floor((r->val[i] - ilo) / r->ivh_w) + 1;
        } else {
            g = floor(r->val[i] + 0.5) - r->ivh_lo + 1;
        }
        if (g < 1 || g > 1e7)
            return QIB_ERANGE;
        r->ivh_gl[i] = (int)g;
        in_max = r->ivh_gl[i] > in_max ? r->ivh_gl[i] : in_max;
    }
    r->ivh_n = p->ivh_disc == I_FBN ? (int)p->ivh_bins : in_max;
    return QIB_OK;
}

/* ---- the families, run as independent tasks ---- */

enum task { T_MORPH, T_MORAN, T_LOCAL, T_STAT, T_HIST, T_IVH, T_GLCM, T_GLRLM, T_GLSZM, T_GLDZM,
            T_NGTDM, T_NGLDM, NTASK };

/* Names of the tasks in the families parameter (Moran's I and Geary's C
 * belong to morphology). */
static const char *const task_names[NTASK] = {
    [T_MORPH] = "morph", [T_MORAN] = "morph", [T_LOCAL] = "local", [T_STAT] = "stat",
    [T_HIST] = "ih", [T_IVH] = "ivh", [T_GLCM] = "glcm", [T_GLRLM] = "glrlm",
    [T_GLSZM] = "glszm", [T_GLDZM] = "gldzm", [T_NGTDM] = "ngtdm", [T_NGLDM] = "ngldm",
};

/* Which tasks the families parameter selects ("all", or names separated by
 * commas or spaces).  Returns 0, or -1 with the unknown name in bad. */
static int select_tasks(const char *list, int want[NTASK], char *bad, size_t badlen)
{
    for (int k = 0; k < NTASK; k++)
        want[k] = !list || !strcmp(list, "all");
    if (!list || !strcmp(list, "all"))
        return 0;
    const char *p = list;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t len = strcspn(p, ", ");
        if (!len)
            break;
        int found = 0;
        for (int k = 0; k < NTASK; k++)
            if (strlen(task_names[k]) == len && !strncmp(task_names[k], p, len))
                want[k] = found = 1;
        if (!found) {
            snprintf(bad, badlen, "%.*s", (int)len, p);
            return -1;
        }
        p += len;
    }
    return 0;
}

struct tasks {
    const struct rad_roi *roi;
    int want[NTASK];
    struct rad_tex tex;
    const char *unit;
    struct rad_list out[NTASK];
};

static void run_task(void *arg, size_t block, size_t begin, size_t end)
{
    struct tasks *t = arg;
    (void)block;
    for (size_t k = begin; k < end; k++) {
        struct rad_list *o = &t->out[k];
        if (!t->want[k])
            continue;
        switch ((enum task)k) {
        case T_MORPH: qib__rad_morph(t->roi, o); break;
        case T_MORAN: qib__rad_moran(t->roi, o); break;
        case T_LOCAL: qib__rad_local(t->roi, t->unit, o); break;
        case T_STAT: qib__rad_stat(t->roi, t->unit, o); break;
        case T_HIST: qib__rad_hist(t->roi, o); break;
        case T_IVH: qib__rad_ivh(t->roi, o); break;
        case T_GLCM: qib__rad_glcm(t->roi, &t->tex, o); break;
        case T_GLRLM: qib__rad_glrlm(t->roi, &t->tex, o); break;
        case T_GLSZM: qib__rad_glszm(t->roi, &t->tex, o); break;
        case T_GLDZM: qib__rad_gldzm(t->roi, &t->tex, o); break;
        case T_NGTDM: qib__rad_ngtdm(t->roi, &t->tex, o); break;
        case T_NGLDM: qib__rad_ngldm(t->roi, &t->tex, o); break;
        case NTASK: break;
        }
    }
}

/* IBSI identifiers of the columns, where the project already uses them
 * (the intensity statistics shared with bio.intensity). */
static const struct {
    const char *tag, *code;
} ibsi_codes[] = {
    {"stat_mean", "Q4LE"}, {"stat_var", "ECT3"}, {"stat_skew", "KE2A"}, {"stat_kurt", "IPH6"},
    {"stat_median", "Y12H"}, {"stat_min", "1GSF"}, {"stat_p10", "QG58"}, {"stat_p90", "8DWT"},
    {"stat_max", "84IY"}, {"stat_iqr", "SALO"}, {"stat_range", "2OJQ"},
};

static const char *ibsi_code(const char *tag)
{
    for (size_t k = 0; k < sizeof ibsi_codes / sizeof ibsi_codes[0]; k++)
        if (!strcmp(ibsi_codes[k].tag, tag))
            return ibsi_codes[k].code;
    return NULL;
}

/* Append the features of one row; the first row creates the columns. */
static int put_row(qib_table *t, int64_t label, struct rad_list *const *lists, size_t nl)
{
    size_t row, col;
    int rc = qib_table_add_row(t, &row);
    if (rc != QIB_OK)
        return rc;
    if (qib_table_find(t, "label", &col) != QIB_OK &&
        (rc = qib_table_add_column(t, "label", QIB_COL_INT, NULL, NULL, &col)) != QIB_OK)
        return rc;
    if ((rc = qib_table_set_int(t, row, col, label)) != QIB_OK)
        return rc;
    for (size_t l = 0; l < nl; l++)
        for (size_t k = 0; k < lists[l]->n; k++) {
            const struct rad_feat *f = &lists[l]->f[k];
            if (qib_table_find(t, f->tag, &col) != QIB_OK &&
                (rc = qib_table_add_column(t, f->tag, QIB_COL_DOUBLE, f->unit, ibsi_code(f->tag),
                                           &col)) != QIB_OK)
                return rc == QIB_EINVAL ? QIB_EPLUGIN : rc;
            if ((rc = qib_table_set_double(t, row, col, f->v)) != QIB_OK)
                return rc;
        }
    return QIB_OK;
}

/* ---- run ---- */

struct work {
    double *img;
    uint8_t *lab;
    struct qib_geom g;
};

static void work_free(struct work *w)
{
    free(w->img);
    free(w->lab);
}

/* The image as doubles and the mask labels, after interpolation when asked. */
static int prepare(qib_step *step, const struct radiomics *p, const qib_volume *img,
                   const qib_volume *msk, struct work *w, struct rad_list *diag)
{
    const struct qib_geom *g0 = qib_volume_geom(img);
    size_t n0 = qib_geom_frame_nvox(g0);
    double *v0 = malloc(n0 * sizeof *v0);
    if (!v0)
        return QIB_ENOMEM;
    qib_volume_to_f64(img, v0);
    if (p->round)
        for (size_t i = 0; i < n0; i++)
            v0[i] = round(v0[i]);
    diag_image(diag, "init", g0, v0, n0);
    {
        /* The initial ROI: every label, before re-segmentation. */
        const uint8_t *lab = qib_volume_data(msk);
        uint8_t *mm = malloc(n0);
        if (!mm) {
            free(v0);
            return QIB_ENOMEM;
        }
        for (size_t i = 0; i < n0; i++)
            mm[i] = lab[i] != 0;
        diag_roi(diag, "init", g0, v0, mm, mm);
        free(mm);
    }
    int resample = p->spacing[0] > 0 || p->spacing[1] > 0 || p->spacing[2] > 0;
    if (!resample) {
        w->img = v0;
        w->g = *g0;
        w->lab = malloc(n0);
        if (!w->lab)
            return QIB_ENOMEM;
        memcpy(w->lab, qib_volume_data(msk), n0);
        return QIB_OK;
    }
    free(v0);
    struct qib_geom ng;
    double sp[3];
    for (int a = 0; a < 3; a++)
        sp[a] = p->spacing[a] > 0 ? p->spacing[a] : g0->spacing[a];
    int rc = qib_resample_grid(g0, sp, &ng);
    if (rc != QIB_OK)
        return qib_fail(step, rc, "spacing: cannot build the interpolation grid");
    unsigned flags = p->round ? QIB_RESAMPLE_ROUND : 0;
    if (p->inplane)
        flags |= QIB_RESAMPLE_INPLANE;
    qib_volume *ri = NULL, *rm = NULL;
    rc = qib_resample(img, &ng, (enum qib_interp)p->interp, flags, 0.5, qib_step_pool(step), &ri);
    if (rc == QIB_OK)
        rc = qib_resample(msk, &ng, (enum qib_interp)p->mask_interp,
                          p->inplane ? QIB_RESAMPLE_INPLANE : 0, p->partial, qib_step_pool(step),
                          &rm);
    if (rc != QIB_OK) {
        qib_volume_unref(&ri);
        qib_volume_unref(&rm);
        return qib_fail(step, rc, "interpolation failed: %s", qib_strerror(rc));
    }
    size_t n = qib_geom_frame_nvox(&ng);
    w->g = ng;
    w->img = malloc(n * sizeof *w->img);
    w->lab = malloc(n);
    if (w->img && w->lab) {
        qib_volume_to_f64(ri, w->img);
        memcpy(w->lab, qib_volume_data(rm), n);
    }
    qib_volume_unref(&ri);
    qib_volume_unref(&rm);
    if (!w->img || !w->lab)
        return QIB_ENOMEM;
    return QIB_OK;
}

static int check(qib_step *step, const void *priv)
{
    const struct radiomics *p = priv;
    if (!(p->tex2d || p->tex25d || p->tex3d))
        return qib_fail(step, QIB_EINVAL,
                        "texture_2d, texture_2_5d, texture_3d: at least one must be true");
    if (p->reseg_lower > p->reseg_upper)
        return qib_fail(step, QIB_EINVAL, "reseg_lower (%g) is above reseg_upper (%g)",
                        p->reseg_lower, p->reseg_upper);
    if (p->inplane && p->spacing[2] > 0)
        return qib_fail(step, QIB_EINVAL,
                        "spacing: the third value must be 0 with inplane (2-D interpolation "
                        "keeps the slices)");
    int want[NTASK];
    char bad[64];
    if (select_tasks(p->families, want, bad, sizeof bad) != 0)
        return qib_fail(step, QIB_EINVAL,
                        "families: \"%s\" is not one of all, morph, local, stat, ih, ivh, glcm, "
                        "glrlm, glszm, gldzm, ngtdm, ngldm",
                        bad);
    return QIB_OK;
}

static int run(qib_step *step, void *priv)
{
    const struct radiomics *p = priv;
    const qib_volume *img = qib_step_in_volume(step, "image");
    const qib_volume *msk = qib_step_in_volume(step, "mask");
    if (!img || !msk)
        return qib_fail(step, QIB_EINVAL, "inputs image and mask are required");
    if (qib_step_check_grid(step, "mask", msk, img) != QIB_OK)
        return QIB_EGEOMETRY;
    if (qib_volume_geom(img)->ndim > 3 && qib_volume_geom(img)->dims[3] > 1)
        return qib_fail(step, QIB_EUNSUPPORTED, "image: 4-D images are not supported");

    struct rad_list diag = {NULL, 0, 0, 0};
    struct work w = {NULL, NULL, {0}};
    qib_table *t = NULL, *dt = NULL;
    struct rad_roi r;
    memset(&r, 0, sizeof r);
    struct tasks tk;
    memset(&tk, 0, sizeof tk);
    int rc = prepare(step, p, img, msk, &w, &diag);
    if (rc != QIB_OK)
        goto out;
    if ((rc = qib_table_new(&t)) != QIB_OK || (rc = qib_table_new(&dt)) != QIB_OK)
        goto out;
    const char *unit = qib_meta_get(qib_volume_meta(img), "units");

    size_t nx = w.g.dims[0], ny = w.g.dims[1], nz = w.g.dims[2], n = nx * ny * nz;
    int present[256] = {0};
    for (size_t i = 0; i < n; i++)
        present[w.lab[i]] = 1;
    double rad = cbrt(3.0 / (4.0 * 3.14159265358979323846) * 1000.0);
    for (int label = 1; label < 256 && rc == QIB_OK; label++) {
        if (!present[label])
            continue;
        /* Box: the label's bounding box grown by the local-intensity radius. */
        size_t lo[3] = {nx, ny, nz}, hi[3] = {0, 0, 0};
        for (size_t i = 0; i < n; i++)
            if (w.lab[i] == label) {
                size_t q[3] = {i % nx, (i / nx) % ny, i / (nx * ny)};
                for (int a = 0; a < 3; a++) {
                    lo[a] = q[a] < lo[a] ? q[a] : lo[a];
                    hi[a] = q[a] > hi[a] ? q[a] : hi[a];
                }
            }
        for (int a = 0; a < 3; a++) {
            size_t m = (size_t)ceil(rad / w.g.spacing[a]);
            lo[a] = lo[a] > m ? lo[a] - m : 0;
            hi[a] = hi[a] + m < w.g.dims[a] ? hi[a] + m : w.g.dims[a] - 1;
        }
        r.nx = hi[0] - lo[0] + 1, r.ny = hi[1] - lo[1] + 1, r.nz = hi[2] - lo[2] + 1;
        for (int a = 0; a < 3; a++)
            r.sp[a] = w.g.spacing[a];
        size_t nb = r.nx * r.ny * r.nz;
        r.val = malloc(nb * sizeof *r.val);
        r.morph = malloc(nb);
        r.in = malloc(nb);
        r.gl = malloc(nb * sizeof *r.gl);
        r.ivh_gl = malloc(nb * sizeof *r.ivh_gl);
        if (!r.val || !r.morph || !r.in || !r.gl || !r.ivh_gl) {
            rc = QIB_ENOMEM;
            break;
        }
        for (size_t z = 0; z < r.nz; z++)
            for (size_t y = 0; y < r.ny; y++)
                for (size_t x = 0; x < r.nx; x++) {
                    size_t s = (x + lo[0]) + nx * ((y + lo[1]) + ny * (z + lo[2]));
                    size_t d = x + r.nx * (y + r.ny * z);
                    r.val[d] = w.img[s];
                    r.morph[d] = w.lab[s] == label;
                }
        resegment(p, r.val, r.morph, r.in, nb);
        if ((rc = discretise(p, &r, nb)) != QIB_OK) {
            rc = qib_fail(step, rc,
                          "label %d: discretisation gives more than 10^7 bins or a bin below 1 "
                          "(check bin_width, bin_lower and the re-segmentation range)",
                          label);
            break;
        }
        tk.roi = &r;
        {
            char bad[64];
            select_tasks(p->families, tk.want, bad, sizeof bad);
        }
        tk.tex.dims = (p->tex2d ? RAD_2D : 0) | (p->tex25d ? RAD_2_5D : 0) | (p->tex3d ? RAD_3D : 0);
        tk.tex.dist = (int)p->distance;
        tk.tex.alpha = (int)p->alpha;
        tk.tex.link = (int)p->linkage;
        tk.unit = unit;
        rc = qib_parallel_for(qib_step_pool(step), NTASK, 1, run_task, &tk);
        struct rad_list *lists[NTASK];
        for (int k = 0; k < NTASK && rc == QIB_OK; k++) {
            lists[k] = &tk.out[k];
            if (tk.out[k].err)
                rc = tk.out[k].err;
        }
        if (rc == QIB_OK)
            rc = put_row(t, label, lists, NTASK);
        for (int k = 0; k < NTASK; k++)
            qib__rad_free(&tk.out[k]);
        free(r.val), free(r.morph), free(r.in), free(r.gl), free(r.ivh_gl);
        memset(&r, 0, sizeof r);
    }
    if (rc != QIB_OK)
        goto out;
    if (qib_table_nrows(t) == 0) {
        rc = qib_fail(step, QIB_EINVAL, "mask: no voxel carries a label (1..255)");
        goto out;
    }
    qib_meta *m = qib_table_meta_mut(t);
    if (m) {
        qib_meta_set(m, "ibsi_manual", "IBSI 1 reference manual, arXiv:1612.07003", NULL);
        qib_meta_set(m, "interpolation",
                     p->spacing[0] > 0 || p->spacing[1] > 0 || p->spacing[2] > 0 ? "yes" : "no",
                     NULL);
        qib_meta_set_double(m, "reseg_lower", p->reseg_lower, NULL);
        qib_meta_set_double(m, "reseg_upper", p->reseg_upper, NULL);
        qib_meta_set_double(m, "outlier_sigma", p->outlier_sigma, NULL);
        qib_meta_set(m, "discretisation",
                     p->disc == D_FBN ? "fixed bin number"
                     : p->disc == D_FBS ? "fixed bin size"
                                        : "fixed bin size anchored at 0 (non-IBSI)",
                     NULL);
        qib_meta_set_double(m, "bin_number", (double)p->bin_number, NULL);
        qib_meta_set_double(m, "bin_width", p->bin_width, NULL);
        qib_meta_set(m, "texture_dimensions",
                     p->tex2d && p->tex25d && p->tex3d ? "2D, 2.5D, 3D"
                     : p->tex2d && p->tex25d           ? "2D, 2.5D"
                     : p->tex3d && !p->tex2d && !p->tex25d ? "3D"
                                                           : "see texture_* parameters",
                     NULL);
        qib_meta_set_double(m, "glcm_ngtdm_ngldm_distance", (double)p->distance, NULL);
        qib_meta_set_double(m, "ngldm_coarseness", (double)p->alpha, NULL);
        qib_meta_set_double(m, "zone_linkage", (double)p->linkage, NULL);
        qib_meta_set(m, "ivh_discretisation",
                     p->ivh_disc == I_NONE ? "none" : p->ivh_disc == I_FBN ? "fixed bin number"
                                                                           : "fixed bin size",
                     NULL);
    }
    /* Diagnostics of the last label's masks on the (interpolated) grid. */
    {
        uint8_t *morph = malloc(n), *in = malloc(n);
        if (!morph || !in) {
            free(morph), free(in);
            rc = QIB_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            morph[i] = w.lab[i] != 0;
        diag_image(&diag, "interp", &w.g, w.img, n);
        diag_roi(&diag, "interp", &w.g, w.img, morph, morph);
        resegment(p, w.img, morph, in, n);
        diag_roi(&diag, "reseg", &w.g, w.img, morph, in);
        free(morph), free(in);
        struct rad_list *dl = &diag;
        if (diag.err)
            rc = diag.err;
        else
            rc = put_row(dt, 0, &dl, 1);
    }
    if (rc != QIB_OK)
        goto out;
    rc = qib_step_set_table(step, "table", t);
    t = NULL;
    if (rc == QIB_OK)
        rc = qib_step_set_table(step, "diagnostics", dt);
    dt = NULL;
out:
    for (int k = 0; k < NTASK; k++)
        qib__rad_free(&tk.out[k]);
    free(r.val), free(r.morph), free(r.in), free(r.gl), free(r.ivh_gl);
    qib__rad_free(&diag);
    work_free(&w);
    qib_table_unref(&t);
    qib_table_unref(&dt);
    if (rc == QIB_ENOMEM)
        return qib_fail(step, rc, "out of memory");
    return rc;
}

static const char *const interp_choices[] = {"nearest", "linear", "cubic", NULL};
static const char *const disc_choices[] = {"fbn", "fbs", "fbs_zero", NULL};
static const char *const ivh_choices[] = {"none", "fbn", "fbs", NULL};

#define OFF(f) offsetof(struct radiomics, f)
static const struct qib_param params[] = {
    {.name = "texture_2d", .type = QIB_PARAM_BOOL, .offset = OFF(tex2d), .def = "false",
     .help = "texture features per slice (IBSI 2-D: averaged and slice-merged)"},
    {.name = "texture_2_5d", .type = QIB_PARAM_BOOL, .offset = OFF(tex25d), .def = "false",
     .help = "texture features from slices merged (IBSI 2.5-D: direction-merged and merged)"},
    {.name = "texture_3d", .type = QIB_PARAM_BOOL, .offset = OFF(tex3d), .def = "true",
     .help = "texture features of the volume (IBSI 3-D: averaged and merged)"},
    {.name = "families", .type = QIB_PARAM_STRING, .offset = OFF(families), .def = "all",
     .help = "feature families to compute: all, or some of morph, local, stat, ih, ivh, glcm, "
             "glrlm, glszm, gldzm, ngtdm, ngldm separated by commas"},
    {.name = "spacing", .type = QIB_PARAM_VEC3, .offset = OFF(spacing), .def = "[0, 0, 0]",
     .min = 0, .flags = QIB_PARAM_MIN, .unit = "mm",
     .help = "interpolate image and mask to this voxel spacing in mm on the IBSI grid (0 "
             "keeps an axis; all 0: no interpolation)"},
    {.name = "interpolation", .type = QIB_PARAM_ENUM, .offset = OFF(interp), .def = "linear",
     .choices = interp_choices,
     .help = "image interpolation: nearest, linear (trilinear, bilinear with inplane) or cubic "
             "(B-spline)"},
    {.name = "mask_interpolation", .type = QIB_PARAM_ENUM, .offset = OFF(mask_interp),
     .def = "linear", .choices = interp_choices,
     .help = "mask interpolation, followed by the partial-volume threshold"},
    {.name = "partial_volume", .type = QIB_PARAM_DOUBLE, .offset = OFF(partial), .def = "0.5",
     .min = 0, .max = 1, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "interpolated mask values at or above this fraction are in the ROI (IBSI: 0.5)"},
    {.name = "inplane", .type = QIB_PARAM_BOOL, .offset = OFF(inplane), .def = "false",
     .help = "interpolate within slices only (IBSI 2-D configurations)"},
    {.name = "round", .type = QIB_PARAM_BOOL, .offset = OFF(round), .def = "false",
     .help = "round intensities to the nearest integer on input and after interpolation "
             "(calibrated integer units such as HU)"},
    {.name = "reseg_lower", .type = QIB_PARAM_DOUBLE, .offset = OFF(reseg_lower),
     .def = "-1e308", .unit = "image unit",
     .help = "re-segmentation: intensities below are left out of the intensity mask (image "
             "units, e.g. HU); default: no lower bound"},
    {.name = "reseg_upper", .type = QIB_PARAM_DOUBLE, .offset = OFF(reseg_upper), .def = "1e308",
     .unit = "image unit",
     .help = "re-segmentation: intensities above are left out (image units); default: no bound"},
    {.name = "outlier_sigma", .type = QIB_PARAM_DOUBLE, .offset = OFF(outlier_sigma), .def = "0",
     .min = 0, .flags = QIB_PARAM_MIN,
     .help = "outlier re-segmentation: leave out intensities beyond mean +- this many SD "
             "(IBSI: 3); 0 turns it off"},
    {.name = "discretisation", .type = QIB_PARAM_ENUM, .offset = OFF(disc), .def = "fbs",
     .choices = disc_choices,
     .help = "texture and histogram discretisation: fbn (fixed bin number), fbs (fixed bin "
             "size from bin_lower) or fbs_zero (non-IBSI: bins anchored at 0 as PyRadiomics)"},
    {.name = "bin_number", .type = QIB_PARAM_INT, .offset = OFF(bin_number), .def = "32",
     .min = 1, .max = 1e6, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "number of bins of fbn discretisation"},
    {.name = "bin_width", .type = QIB_PARAM_DOUBLE, .offset = OFF(bin_width), .def = "25",
     .min = 1e-12, .flags = QIB_PARAM_MIN, .unit = "image unit",
     .help = "bin width of fbs discretisation in image units (e.g. 25 HU)"},
    {.name = "bin_lower", .type = QIB_PARAM_DOUBLE, .offset = OFF(bin_lower), .def = "-1e308",
     .unit = "image unit",
     .help = "lower bound of the first fbs bin (image units); default: reseg_lower when set, "
             "else the ROI's minimum"},
    {.name = "ivh_discretisation", .type = QIB_PARAM_ENUM, .offset = OFF(ivh_disc),
     .def = "none", .choices = ivh_choices,
     .help = "intensity-volume histogram: none (integer intensities), fbn (ivh_bins, "
             "arbitrary units) or fbs (ivh_width)"},
    {.name = "ivh_bins", .type = QIB_PARAM_INT, .offset = OFF(ivh_bins), .def = "1000",
     .min = 1, .max = 1e6, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "number of IVH bins with ivh_discretisation fbn"},
    {.name = "ivh_width", .type = QIB_PARAM_DOUBLE, .offset = OFF(ivh_width), .def = "2.5",
     .min = 1e-12, .flags = QIB_PARAM_MIN, .unit = "image unit",
     .help = "IVH bin width with ivh_discretisation fbs (image units, e.g. 2.5 HU)"},
    {.name = "distance", .type = QIB_PARAM_INT, .offset = OFF(distance), .def = "1", .min = 1,
     .max = 10, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "voxels",
     .help = "GLCM, NGTDM and NGLDM neighbour distance (Chebyshev, voxels)"},
    {.name = "ngldm_alpha", .type = QIB_PARAM_INT, .offset = OFF(alpha), .def = "0", .min = 0,
     .max = 1000, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "NGLDM coarseness: grey levels within this difference are dependent (IBSI: 0)"},
    {.name = "linkage", .type = QIB_PARAM_INT, .offset = OFF(linkage), .def = "1", .min = 1,
     .max = 10, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "voxels",
     .help = "GLSZM and GLDZM zone linkage distance (Chebyshev, voxels)"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "image", .kind = QIB_OBJ_VOLUME, .help = "image (3-D)"},
    {.name = "mask", .kind = QIB_OBJ_MASK, .help = "ROI labels on the image's grid"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "table", .kind = QIB_OBJ_TABLE,
     .help = "one row per label, one column per feature (IBSI reference tags)"},
    {.name = "diagnostics", .kind = QIB_OBJ_TABLE,
     .help = "IBSI diagnostic features of the image and the ROI (all labels) at each step"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_BIO,
    .name = "radiomics",
    .version = "0.1.0",
    .license = "MIT",
    .summary = "IBSI radiomics: morphology, intensity, histogram and texture features per label",
    .citation = "Zwanenburg A et al. The Image Biomarker Standardization Initiative. "
                "Radiology 2020;295:328-338. doi:10.1148/radiol.2020191145",
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct radiomics),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
