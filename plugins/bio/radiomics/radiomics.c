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
#include <strings.h>
#include <time.h>

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
    /* Per-family texture aggregation ("texture": as texture_2d,
     * texture_2_5d, texture_3d). */
    char *agg_glcm, *agg_glrlm, *agg_glszm, *agg_gldzm, *agg_ngtdm, *agg_ngldm;
};

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

/* Running sums of the image diagnostics and of the ROI diagnostics (mask 0:
 * intensity mask, 1: morphological mask), so that they can be gathered in
 * one pass or chunk by chunk. */
struct img_acc {
    double s, lo, hi;
    size_t n;
};

struct roi_acc {
    size_t lo[2][3], hi[2][3], cnt[2];
    double s, vmin, vmax;
};

static void img_acc_init(struct img_acc *a)
{
    a->s = 0, a->lo = INFINITY, a->hi = -INFINITY, a->n = 0;
}

static void roi_acc_init(struct roi_acc *a)
{
    for (int k = 0; k < 2; k++) {
        a->cnt[k] = 0;
        for (int ax = 0; ax < 3; ax++)
            a->lo[k][ax] = (size_t)-1, a->hi[k][ax] = 0;
    }
    a->s = 0, a->vmin = INFINITY, a->vmax = -INFINITY;
}

static void img_acc_add(struct img_acc *a, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        a->s += v[i];
        a->lo = v[i] < a->lo ? v[i] : a->lo;
        a->hi = v[i] > a->hi ? v[i] : a->hi;
    }
    a->n += n;
}

/* Voxels [first, first + n) of the grid g: values v, masks in and morph
 * (indexed from 0 like v). */
static void roi_acc_add(struct roi_acc *a, const struct qib_geom *g, size_t first, size_t n,
                        const double *v, const uint8_t *in, const uint8_t *morph)
{
    for (size_t j = 0; j < n; j++) {
        if (!in[j] && !morph[j])
            continue;
        size_t i = first + j;
        size_t p[3] = {i % g->dims[0], (i / g->dims[0]) % g->dims[1], i / (g->dims[0] * g->dims[1])};
        const uint8_t m[2] = {in[j], morph[j]};
        for (int k = 0; k < 2; k++) {
            if (!m[k])
                continue;
            a->cnt[k]++;
            for (int ax = 0; ax < 3; ax++) {
                a->lo[k][ax] = p[ax] < a->lo[k][ax] ? p[ax] : a->lo[k][ax];
                a->hi[k][ax] = p[ax] > a->hi[k][ax] ? p[ax] : a->hi[k][ax];
            }
        }
        if (in[j]) {
            a->s += v[j];
            a->vmin = v[j] < a->vmin ? v[j] : a->vmin;
            a->vmax = v[j] > a->vmax ? v[j] : a->vmax;
        }
    }
}

static void img_emit(struct rad_list *d, const char *stage, const struct qib_geom *g,
                     const struct img_acc *a)
{
    char tag[64];
    static const char ax[3] = {'x', 'y', 'z'};
    for (int k = 0; k < 3; k++) {
        snprintf(tag, sizeof tag, "img_dim_%c_%s_img", ax[k], stage);
        qib__rad_add(d, tag, (double)g->dims[k], NULL);
    }
    for (int k = 0; k < 3; k++) {
        snprintf(tag, sizeof tag, "vox_dim_%c_%s_img", ax[k], stage);
        qib__rad_add(d, tag, g->spacing[k], "mm");
    }
    snprintf(tag, sizeof tag, "mean_int_%s_img", stage);
    qib__rad_add(d, tag, a->s / (double)a->n, NULL);
    snprintf(tag, sizeof tag, "min_int_%s_img", stage);
    qib__rad_add(d, tag, a->lo, NULL);
    snprintf(tag, sizeof tag, "max_int_%s_img", stage);
    qib__rad_add(d, tag, a->hi, NULL);
}

static void roi_emit(struct rad_list *d, const char *stage, const struct qib_geom *g,
                     const struct roi_acc *a)
{
    static const char ax[3] = {'x', 'y', 'z'};
    char tag[64];
    for (int k = 0; k < 3; k++) {
        snprintf(tag, sizeof tag, "int_mask_dim_%c_%s_roi", ax[k], stage);
        qib__rad_add(d, tag, (double)g->dims[k], NULL);
    }
    static const char *const kind[2] = {"int", "morph"};
    for (int k = 0; k < 2; k++)
        for (int x = 0; x < 3; x++) {
            snprintf(tag, sizeof tag, "%s_mask_bb_dim_%c_%s_roi", kind[k], ax[x], stage);
            qib__rad_add(d, tag, a->cnt[k] ? (double)(a->hi[k][x] - a->lo[k][x] + 1) : 0, NULL);
        }
    for (int k = 0; k < 2; k++) {
        snprintf(tag, sizeof tag, "%s_mask_vox_count_%s_roi", kind[k], stage);
        qib__rad_add(d, tag, (double)a->cnt[k], NULL);
    }
    snprintf(tag, sizeof tag, "int_mask_mean_int_%s_roi", stage);
    qib__rad_add(d, tag, a->cnt[0] ? a->s / (double)a->cnt[0] : NAN, NULL);
    snprintf(tag, sizeof tag, "int_mask_min_int_%s_roi", stage);
    qib__rad_add(d, tag, a->cnt[0] ? a->vmin : NAN, NULL);
    snprintf(tag, sizeof tag, "int_mask_max_int_%s_roi", stage);
    qib__rad_add(d, tag, a->cnt[0] ? a->vmax : NAN, NULL);
}

static void diag_image(struct rad_list *d, const char *stage, const struct qib_geom *g,
                       const double *v, size_t n)
{
    struct img_acc a;
    img_acc_init(&a);
    img_acc_add(&a, v, n);
    img_emit(d, stage, g, &a);
}

static void diag_roi(struct rad_list *d, const char *stage, const struct qib_geom *g,
                     const double *v, const uint8_t *morph, const uint8_t *in)
{
    struct roi_acc a;
    roi_acc_init(&a);
    roi_acc_add(&a, g, 0, g->dims[0] * g->dims[1] * g->dims[2], v, in, morph);
    roi_emit(d, stage, g, &a);
}

/* The diagnostics of the input image and its ROI (every label), read in
 * chunks: a whole-image copy as doubles is needed only when there is no
 * interpolation. */
static int diag_init(struct rad_list *d, const qib_volume *img, const qib_volume *msk, int rnd)
{
    enum { CHUNK = 1 << 16 };
    const struct qib_geom *g = qib_volume_geom(img);
    const uint8_t *lab = qib_volume_data(msk);
    size_t n = qib_geom_frame_nvox(g);
    double *v = malloc(CHUNK * sizeof *v);
    uint8_t *m = malloc(CHUNK);
    if (!v || !m) {
        free(v), free(m);
        return QIB_ENOMEM;
    }
    struct img_acc ia;
    struct roi_acc ra;
    img_acc_init(&ia);
    roi_acc_init(&ra);
    for (size_t i = 0; i < n; i += CHUNK) {
        size_t c = n - i < CHUNK ? n - i : CHUNK;
        qib_volume_get_range(img, i, c, v);
        for (size_t j = 0; j < c; j++) {
            if (rnd)
                v[j] = round(v[j]);
            m[j] = lab[i + j] != 0;
        }
        img_acc_add(&ia, v, c);
        roi_acc_add(&ra, g, i, c, v, m, m);
    }
    free(v), free(m);
    img_emit(d, "init", g, &ia);
    roi_emit(d, "init", g, &ra);
    return QIB_OK;
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
        /* bin_lower and reseg_lower are -inf when not given */
        double base = isfinite(p->bin_lower)     ? p->bin_lower
                      : isfinite(p->reseg_lower) ? p->reseg_lower
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
    double ilo = isfinite(p->reseg_lower) ? p->reseg_lower : lo;
    double ihi = isfinite(p->reseg_upper) ? p->reseg_upper : hi;
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

/* Texture aggregation choices: the names of the per-family parameters'
 * values and their bits.  The _avg/_comb forms apply to GLCM and GLRLM
 * only (the other families have one method per dimension). */
static const struct {
    const char *name;
    int bits, directional_only;
} agg_words[] = {
    {"2d", RAD_2D, 0},           {"2.5d", RAD_2_5D, 0},          {"2_5d", RAD_2_5D, 0},
    {"3d", RAD_3D, 0},           {"2d_avg", RAD_2D_AVG, 1},      {"2d_comb", RAD_2D_COMB, 1},
    {"2.5d_avg", RAD_2_5D_AVG, 1}, {"2_5d_avg", RAD_2_5D_AVG, 1}, {"2.5d_comb", RAD_2_5D_COMB, 1},
    {"2_5d_comb", RAD_2_5D_COMB, 1}, {"3d_avg", RAD_3D_AVG, 1},  {"3d_comb", RAD_3D_COMB, 1},
};

/* Parse a per-family aggregation value: "texture" gives -1 (follow the
 * texture_* parameters), else the bits of the words listed (commas or
 * spaces between them, case ignored).  Returns 0, or -1 with the offending
 * word in bad. */
static int parse_agg(const char *s, int directional, int *bits, char *bad, size_t badlen)
{
    *bits = 0;
    if (!s || !strcmp(s, "texture")) {
        *bits = -1;
        return 0;
    }
    for (const char *q = s;;) {
        while (*q == ',' || *q == ' ')
            q++;
        size_t len = strcspn(q, ", ");
        if (!len)
            break;
        int found = 0;
        for (size_t k = 0; k < sizeof agg_words / sizeof agg_words[0] && !found; k++)
            if (strlen(agg_words[k].name) == len && !strncasecmp(agg_words[k].name, q, len) &&
                (directional || !agg_words[k].directional_only)) {
                *bits |= agg_words[k].bits;
                found = 1;
            }
        if (!found) {
            snprintf(bad, badlen, "%.*s", (int)len, q);
            return -1;
        }
        q += len;
    }
    if (!*bits) {
        snprintf(bad, badlen, "%s", s);
        return -1;
    }
    return 0;
}

/* The aggregation bits of each texture task (0 for the other tasks).
 * Returns -1, or the task whose parameter does not parse (the word in
 * bad). */
static int task_dims(const struct radiomics *p, int dims[NTASK], char *bad, size_t badlen)
{
    const char *v[NTASK] = {[T_GLCM] = p->agg_glcm,   [T_GLRLM] = p->agg_glrlm,
                            [T_GLSZM] = p->agg_glszm, [T_GLDZM] = p->agg_gldzm,
                            [T_NGTDM] = p->agg_ngtdm, [T_NGLDM] = p->agg_ngldm};
    int global = (p->tex2d ? RAD_2D : 0) | (p->tex25d ? RAD_2_5D : 0) | (p->tex3d ? RAD_3D : 0);
    for (int k = 0; k < NTASK; k++) {
        dims[k] = 0;
        if (k < T_GLCM)
            continue;
        if (parse_agg(v[k], k <= T_GLRLM, &dims[k], bad, badlen) != 0)
            return k;
        if (dims[k] < 0)
            dims[k] = global;
    }
    return -1;
}

struct tasks {
    const struct rad_roi *roi;
    int want[NTASK];
    struct rad_tex tex[NTASK];
    const char *unit;
    struct rad_list out[NTASK];
    double wall[NTASK], cpu[NTASK]; /* seconds each task took */
};

/* Task names in timing reports (Moran's I and Geary's C apart from the
 * rest of morphology: they cost the most). */
static const char *const time_names[NTASK] = {
    [T_MORPH] = "morph", [T_MORAN] = "morph_moran_geary", [T_LOCAL] = "local",
    [T_STAT] = "stat", [T_HIST] = "ih", [T_IVH] = "ivh", [T_GLCM] = "glcm",
    [T_GLRLM] = "glrlm", [T_GLSZM] = "glszm", [T_GLDZM] = "gldzm", [T_NGTDM] = "ngtdm",
    [T_NGLDM] = "ngldm",
};

/* "name wall/cpu, ..." of the tasks that ran, into buf. */
static void format_times(char *buf, size_t len, const int *want, const double *wall,
                         const double *cpu)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int k = 0; k < NTASK && at < len; k++) {
        if (!want[k])
            continue;
        int n = cpu ? snprintf(buf + at, len - at, "%s%s %.3f/%.3f", at ? ", " : "",
                               time_names[k], wall[k], cpu[k])
                    : snprintf(buf + at, len - at, "%s%s %.3f", at ? ", " : "", time_names[k],
                               wall[k]);
        if (n < 0)
            break;
        at += (size_t)n;
    }
}

static double seconds(clockid_t clock)
{
    struct timespec t;
    if (clock_gettime(clock, &t) != 0)
        return NAN;
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void run_task(void *arg, size_t block, size_t begin, size_t end)
{
    struct tasks *t = arg;
    (void)block;
    for (size_t k = begin; k < end; k++) {
        struct rad_list *o = &t->out[k];
        if (!t->want[k] || (k >= T_GLCM && !t->tex[k].dims))
            continue;
        double w0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_THREAD_CPUTIME_ID);
        switch ((enum task)k) {
        case T_MORPH: qib__rad_morph(t->roi, o); break;
        case T_MORAN: qib__rad_moran(t->roi, o); break;
        case T_LOCAL: qib__rad_local(t->roi, t->unit, o); break;
        case T_STAT: qib__rad_stat(t->roi, t->unit, o); break;
        case T_HIST: qib__rad_hist(t->roi, o); break;
        case T_IVH: qib__rad_ivh(t->roi, o); break;
        case T_GLCM: qib__rad_glcm(t->roi, &t->tex[k], o); break;
        case T_GLRLM: qib__rad_glrlm(t->roi, &t->tex[k], o); break;
        case T_GLSZM: qib__rad_glszm(t->roi, &t->tex[k], o); break;
        case T_GLDZM: qib__rad_gldzm(t->roi, &t->tex[k], o); break;
        case T_NGTDM: qib__rad_ngtdm(t->roi, &t->tex[k], o); break;
        case T_NGLDM: qib__rad_ngldm(t->roi, &t->tex[k], o); break;
        case NTASK: break;
        }
        t->wall[k] = seconds(CLOCK_MONOTONIC) - w0;
        t->cpu[k] = seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
    }
}

/* IBSI identifiers of the features (IBSI 1 reference manual,
 * arXiv:1612.07003, chapter 3: the four-character code beside each feature
 * definition), by tag without its aggregation suffix.  A code names the
 * definition, so every aggregation of a texture feature shares it, and so
 * do V10/V90 (volume at intensity fraction) and I10/I90 (intensity at
 * volume fraction).  Diagnostic features have none. */
static const struct {
    const char *tag, *code;
} ibsi_codes[] = {
    /* morphology (3.1) */
    {"morph_volume", "RNU0"}, {"morph_vol_approx", "YEKZ"}, {"morph_area_mesh", "C0JK"},
    {"morph_av", "2PR5"}, {"morph_comp_1", "SKGS"}, {"morph_comp_2", "BQWJ"},
    {"morph_sph_dispr", "KRCK"}, {"morph_sphericity", "QCFX"}, {"morph_asphericity", "25C7"},
    {"morph_com", "KLMA"}, {"morph_diam", "L0JK"}, {"morph_pca_maj_axis", "TDIC"},
    {"morph_pca_min_axis", "P9VJ"}, {"morph_pca_least_axis", "7J51"},
    {"morph_pca_elongation", "Q3CK"}, {"morph_pca_flatness", "N17B"},
    {"morph_vol_dens_aabb", "PBX1"}, {"morph_area_dens_aabb", "R59B"},
    {"morph_vol_dens_ombb", "ZH1A"}, {"morph_area_dens_ombb", "IQYR"},
    {"morph_vol_dens_aee", "6BDE"}, {"morph_area_dens_aee", "RDD2"},
    {"morph_vol_dens_mvee", "SWZ1"}, {"morph_area_dens_mvee", "BRI8"},
    {"morph_vol_dens_conv_hull", "R3ER"}, {"morph_area_dens_conv_hull", "7T7F"},
    {"morph_integ_int", "99N0"}, {"morph_moran_i", "N365"}, {"morph_geary_c", "NPT7"},
    /* local intensity (3.2) */
    {"loc_peak_loc", "VJGA"}, {"loc_peak_glob", "0F91"},
    /* intensity-based statistics (3.3) */
    {"stat_mean", "Q4LE"}, {"stat_var", "ECT3"}, {"stat_skew", "KE2A"}, {"stat_kurt", "IPH6"},
    {"stat_median", "Y12H"}, {"stat_min", "1GSF"}, {"stat_p10", "QG58"}, {"stat_p90", "8DWT"},
    {"stat_max", "84IY"}, {"stat_iqr", "SALO"}, {"stat_range", "2OJQ"}, {"stat_mad", "4FUA"},
    {"stat_rmad", "1128"}, {"stat_medad", "N72L"}, {"stat_cov", "7TET"}, {"stat_qcod", "9S40"},
    {"stat_energy", "N8CA"}, {"stat_rms", "5ZWQ"},
    /* intensity histogram (3.4) */
    {"ih_mean", "X6K6"}, {"ih_var", "CH89"}, {"ih_skew", "88K1"}, {"ih_kurt", "C3I7"},
    {"ih_median", "WIFQ"}, {"ih_min", "1PR8"}, {"ih_p10", "GPMT"}, {"ih_p90", "OZ0C"},
    {"ih_max", "3NCY"}, {"ih_mode", "AMMC"}, {"ih_iqr", "WR0O"}, {"ih_range", "5Z3W"},
    {"ih_mad", "D2ZX"}, {"ih_rmad", "WRZB"}, {"ih_medad", "4RNL"}, {"ih_cov", "CWYJ"},
    {"ih_qcod", "SLWD"}, {"ih_entropy", "TLU2"}, {"ih_uniformity", "BJ5W"},
    {"ih_max_grad", "12CE"}, {"ih_max_grad_g", "8E6O"}, {"ih_min_grad", "VQB3"},
    {"ih_min_grad_g", "RHQZ"},
    /* intensity-volume histogram (3.5) */
    {"ivh_v10", "BC2M"}, {"ivh_v90", "BC2M"}, {"ivh_i10", "GBPN"}, {"ivh_i90", "GBPN"},
    {"ivh_diff_v10_v90", "DDTU"}, {"ivh_diff_i10_i90", "CNV2"}, {"ivh_auc", "9CMM"},
    /* grey level co-occurrence matrix (3.6) */
    {"cm_joint_max", "GYBY"}, {"cm_joint_avg", "60VM"}, {"cm_joint_var", "UR99"},
    {"cm_joint_entr", "TU9B"}, {"cm_diff_avg", "TF7R"}, {"cm_diff_var", "D3YU"},
    {"cm_diff_entr", "NTRS"}, {"cm_sum_avg", "ZGXS"}, {"cm_sum_var", "OEEB"},
    {"cm_sum_entr", "P6QZ"}, {"cm_energy", "8ZQL"}, {"cm_contrast", "ACUI"},
    {"cm_dissimilarity", "8S9J"}, {"cm_inv_diff", "IB1Z"}, {"cm_inv_diff_norm", "NDRX"},
    {"cm_inv_diff_mom", "WF0Z"}, {"cm_inv_diff_mom_norm", "1QCO"}, {"cm_inv_var", "E8JP"},
    {"cm_corr", "NI2N"}, {"cm_auto_corr", "QWB0"}, {"cm_clust_tend", "DG8W"},
    {"cm_clust_shade", "7NFM"}, {"cm_clust_prom", "AE86"}, {"cm_info_corr1", "R8DG"},
    {"cm_info_corr2", "JN9H"},
    /* grey level run length matrix (3.7) */
    {"rlm_sre", "22OV"}, {"rlm_lre", "W4KF"}, {"rlm_lgre", "V3SW"}, {"rlm_hgre", "G3QZ"},
    {"rlm_srlge", "HTZT"}, {"rlm_srhge", "GD3A"}, {"rlm_lrlge", "IVPO"}, {"rlm_lrhge", "3KUM"},
    {"rlm_glnu", "R5YN"}, {"rlm_glnu_norm", "OVBL"}, {"rlm_rlnu", "W92Y"},
    {"rlm_rlnu_norm", "IC23"}, {"rlm_r_perc", "9ZK5"}, {"rlm_gl_var", "8CE5"},
    {"rlm_rl_var", "SXLW"}, {"rlm_rl_entr", "HJ9O"},
    /* grey level size zone matrix (3.8) */
    {"szm_sze", "5QRC"}, {"szm_lze", "48P8"}, {"szm_lgze", "XMSY"}, {"szm_hgze", "5GN9"},
    {"szm_szlge", "5RAI"}, {"szm_szhge", "HW1V"}, {"szm_lzlge", "YH51"}, {"szm_lzhge", "J17V"},
    {"szm_glnu", "JNSA"}, {"szm_glnu_norm", "Y1RO"}, {"szm_zsnu", "4JP3"},
    {"szm_zsnu_norm", "VB3A"}, {"szm_z_perc", "P30P"}, {"szm_gl_var", "BYLV"},
    {"szm_zs_var", "3NSA"}, {"szm_zs_entr", "GU8N"},
    /* grey level distance zone matrix (3.9) */
    {"dzm_sde", "0GBI"}, {"dzm_lde", "MB4I"}, {"dzm_lgze", "S1RA"}, {"dzm_hgze", "K26C"},
    {"dzm_sdlge", "RUVG"}, {"dzm_sdhge", "DKNJ"}, {"dzm_ldlge", "A7WM"}, {"dzm_ldhge", "KLTH"},
    {"dzm_glnu", "VFT7"}, {"dzm_glnu_norm", "7HP3"}, {"dzm_zdnu", "V294"},
    {"dzm_zdnu_norm", "IATH"}, {"dzm_z_perc", "VIWW"}, {"dzm_gl_var", "QK93"},
    {"dzm_zd_var", "7WT1"}, {"dzm_zd_entr", "GBDU"},
    /* neighbourhood grey tone difference matrix (3.10) */
    {"ngt_coarseness", "QCDE"}, {"ngt_contrast", "65HE"}, {"ngt_busyness", "NQ30"},
    {"ngt_complexity", "HDEZ"}, {"ngt_strength", "1X9X"},
    /* neighbouring grey level dependence matrix (3.11) */
    {"ngl_lde", "SODN"}, {"ngl_hde", "IMOQ"}, {"ngl_lgce", "TL9H"}, {"ngl_hgce", "OAE7"},
    {"ngl_ldlge", "EQ3F"}, {"ngl_ldhge", "JA6D"}, {"ngl_hdlge", "NBZI"}, {"ngl_hdhge", "9QMG"},
    {"ngl_glnu", "FP8K"}, {"ngl_glnu_norm", "5SPA"}, {"ngl_dcnu", "Z87G"},
    {"ngl_dcnu_norm", "OKJI"}, {"ngl_dc_perc", "6XV8"}, {"ngl_gl_var", "1PFV"},
    {"ngl_dc_var", "DNX2"}, {"ngl_dc_entr", "FCBV"}, {"ngl_dc_energy", "CAS9"},
};

/* Aggregation suffixes of the texture columns (lower-cased tags). */
static const char *const agg_suffix[] = {"_2d_avg", "_2d_comb", "_2_5d_avg", "_2_5d_comb",
                                         "_3d_avg", "_3d_comb", "_2d", "_2_5d", "_3d"};

static const char *ibsi_code(const char *tag)
{
    size_t len = strlen(tag);
    for (size_t s = 0; s < sizeof agg_suffix / sizeof agg_suffix[0]; s++) {
        size_t k = strlen(agg_suffix[s]);
        if (len > k && !strcmp(tag + len - k, agg_suffix[s])) {
            len -= k;
            break;
        }
    }
    for (size_t k = 0; k < sizeof ibsi_codes / sizeof ibsi_codes[0]; k++)
        if (strlen(ibsi_codes[k].tag) == len && !strncmp(ibsi_codes[k].tag, tag, len))
            return ibsi_codes[k].code;
    return NULL;
}

/* Log how long each family took for one label (wall/CPU seconds of its
 * task; tasks run side by side on the pool's threads) and add the times to
 * wall and cpu. */
static void log_times(qib_step *step, int label, const struct tasks *tk, double *wall,
                      double *cpu)
{
    char buf[640];
    int ran[NTASK];
    for (int k = 0; k < NTASK; k++) {
        ran[k] = tk->want[k] && (k < T_GLCM || tk->tex[k].dims);
        wall[k] += ran[k] ? tk->wall[k] : 0;
        cpu[k] += ran[k] ? tk->cpu[k] : 0;
    }
    format_times(buf, sizeof buf, ran, tk->wall, tk->cpu);
    qib_step_log(step, "label %d: seconds per family (wall/CPU): %s", label, buf);
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

/* Interpolate a one-label mask onto grid @p ng through the part of it near
 * the label: the input cropped to the label's bounding box and 2 voxels
 * more, onto the part of ng within a voxel of it (nearest or linear
 * interpolation reach no further; where the label touches the image edge,
 * the crop keeps the edge and the output reaches to ng's edge, as edge
 * padding does).  Gives the labels of the whole grid in lab (n bytes),
 * equal to interpolating the whole mask, without its copies as doubles.
 * Returns QIB_EUNSUPPORTED when the shortcut does not apply (cubic mask
 * interpolation, whose prefilter reaches across the image; several labels,
 * whose ties could fall either way; another orientation). */
static int resample_mask_near(qib_step *step, const struct radiomics *p, const qib_volume *msk,
                              const struct qib_geom *ng, uint8_t *lab)
{
    const struct qib_geom *g0 = qib_volume_geom(msk);
    const uint8_t *m = qib_volume_data(msk);
    if (p->mask_interp == QIB_INTERP_CUBIC)
        return QIB_EUNSUPPORTED;
    for (int k = 0; k < 9; k++)
        if (fabs(g0->dir[k] - ng->dir[k]) > 1e-12)
            return QIB_EUNSUPPORTED;
    size_t d[3] = {g0->dims[0], g0->dims[1], g0->dims[2]};
    size_t lo[3] = {d[0], d[1], d[2]}, hi[3] = {0, 0, 0};
    int label = 0;
    for (size_t z = 0, i = 0; z < d[2]; z++)
        for (size_t y = 0; y < d[1]; y++)
            for (size_t x = 0; x < d[0]; x++, i++) {
                if (!m[i])
                    continue;
                if (label && m[i] != label)
                    return QIB_EUNSUPPORTED;
                label = m[i];
                size_t q[3] = {x, y, z};
                for (int a = 0; a < 3; a++) {
                    lo[a] = q[a] < lo[a] ? q[a] : lo[a];
                    hi[a] = q[a] > hi[a] ? q[a] : hi[a];
                }
            }
    memset(lab, 0, qib_geom_frame_nvox(ng));
    if (!label)
        return QIB_OK;
    /* Output index j on axis a lies at input index off[a] + j * r[a]. */
    double off[3], r[3], i0[3] = {0, 0, 0}, w[3], x0[3];
    qib_geom_index_to_world(ng, i0, w);
    if (qib_geom_world_to_index(g0, w, x0) != QIB_OK)
        return QIB_EUNSUPPORTED;
    size_t j0[3], j1[3], c0[3], c1[3];
    for (int a = 0; a < 3; a++) {
        double e[3] = {0, 0, 0}, xa[3];
        e[a] = 1;
        qib_geom_index_to_world(ng, e, w);
        if (qib_geom_world_to_index(g0, w, xa) != QIB_OK)
            return QIB_EUNSUPPORTED;
        off[a] = x0[a];
        r[a] = xa[a] - x0[a];
        if (!(r[a] > 0))
            return QIB_EUNSUPPORTED;
        double n = (double)ng->dims[a];
        double f = lo[a] == 0 ? 0 : ceil(((double)lo[a] - 1 - off[a]) / r[a]);
        double t = hi[a] + 1 == d[a] ? n - 1 : floor(((double)hi[a] + 1 - off[a]) / r[a]);
        f = f < 0 ? 0 : f;
        t = t > n - 1 ? n - 1 : t;
        if (f > t)
            return QIB_OK; /* the label lies between output points: none in the ROI */
        j0[a] = (size_t)f, j1[a] = (size_t)t;
        c0[a] = lo[a] >= 2 ? lo[a] - 2 : 0;
        c1[a] = hi[a] + 2 < d[a] ? hi[a] + 2 : d[a] - 1;
    }
    struct qib_geom gc = *g0, gs = *ng;
    double ic[3] = {(double)c0[0], (double)c0[1], (double)c0[2]};
    double is[3] = {(double)j0[0], (double)j0[1], (double)j0[2]};
    qib_geom_index_to_world(g0, ic, gc.origin);
    qib_geom_index_to_world(ng, is, gs.origin);
    for (int a = 0; a < 3; a++) {
        gc.dims[a] = c1[a] - c0[a] + 1;
        gs.dims[a] = j1[a] - j0[a] + 1;
    }
    gc.ndim = gs.ndim = 3;
    gc.dims[3] = gs.dims[3] = 1;
    qib_volume *crop = NULL, *out = NULL;
    int rc = qib_mask_new(&gc, &crop);
    if (rc != QIB_OK)
        return rc;
    uint8_t *cm = qib_volume_data_mut(crop);
    for (size_t z = 0; z < gc.dims[2]; z++)
        for (size_t y = 0; y < gc.dims[1]; y++)
            memcpy(cm + gc.dims[0] * (y + gc.dims[1] * z),
                   m + c0[0] + d[0] * ((y + c0[1]) + d[1] * (z + c0[2])), gc.dims[0]);
    rc = qib_resample(crop, &gs, (enum qib_interp)p->mask_interp,
                      p->inplane ? QIB_RESAMPLE_INPLANE : 0, p->partial, qib_step_pool(step), &out);
    qib_volume_unref(&crop);
    if (rc != QIB_OK)
        return rc;
    const uint8_t *om = qib_volume_data(out);
    for (size_t z = 0; z < gs.dims[2]; z++)
        for (size_t y = 0; y < gs.dims[1]; y++)
            memcpy(lab + j0[0] + ng->dims[0] * ((y + j0[1]) + ng->dims[1] * (z + j0[2])),
                   om + gs.dims[0] * (y + gs.dims[1] * z), gs.dims[0]);
    qib_volume_unref(&out);
    return QIB_OK;
}

/* The image as doubles and the mask labels, after interpolation when asked. */
static int prepare(qib_step *step, const struct radiomics *p, const qib_volume *img,
                   const qib_volume *msk, struct work *w, struct rad_list *diag)
{
    const struct qib_geom *g0 = qib_volume_geom(img);
    size_t n0 = qib_geom_frame_nvox(g0);
    /* Integer voxels are integers already: rounding them is a no-op. */
    int rnd = p->round && qib_dtype_is_float(qib_volume_dtype(img));
    int rc = diag_init(diag, img, msk, rnd);
    if (rc != QIB_OK)
        return rc;
    int resample = p->spacing[0] > 0 || p->spacing[1] > 0 || p->spacing[2] > 0;
    if (!resample) {
        w->g = *g0;
        w->img = malloc(n0 * sizeof *w->img);
        w->lab = malloc(n0);
        if (!w->img || !w->lab)
            return QIB_ENOMEM;
        qib_volume_to_f64(img, w->img);
        if (rnd)
            for (size_t i = 0; i < n0; i++)
                w->img[i] = round(w->img[i]);
        memcpy(w->lab, qib_volume_data(msk), n0);
        return QIB_OK;
    }
    struct qib_geom ng;
    double sp[3];
    for (int a = 0; a < 3; a++)
        sp[a] = p->spacing[a] > 0 ? p->spacing[a] : g0->spacing[a];
    rc = qib_resample_grid(g0, sp, &ng);
    if (rc != QIB_OK)
        return qib_fail(step, rc, "spacing: cannot build the interpolation grid");
    unsigned flags = p->round ? QIB_RESAMPLE_ROUND : 0;
    if (p->inplane)
        flags |= QIB_RESAMPLE_INPLANE;
    qib_volume *ri = NULL, *rm = NULL;
    size_t n = qib_geom_frame_nvox(&ng);
    w->g = ng;
    w->lab = malloc(n);
    if (!w->lab)
        return QIB_ENOMEM;
    /* The mask first, near its label when it can (no whole-image copies). */
    rc = resample_mask_near(step, p, msk, &ng, w->lab);
    if (rc == QIB_EUNSUPPORTED) {
        rc = qib_resample(msk, &ng, (enum qib_interp)p->mask_interp,
                          p->inplane ? QIB_RESAMPLE_INPLANE : 0, p->partial, qib_step_pool(step),
                          &rm);
        if (rc == QIB_OK)
            memcpy(w->lab, qib_volume_data(rm), n);
        qib_volume_unref(&rm);
    }
    /* The whole image: the IBSI diagnostics describe all of it. */
    if (rc == QIB_OK)
        rc = qib_resample(img, &ng, (enum qib_interp)p->interp, flags, 0.5, qib_step_pool(step),
                          &ri);
    if (rc != QIB_OK) {
        qib_volume_unref(&ri);
        return qib_fail(step, rc, "interpolation failed: %s", qib_strerror(rc));
    }
    w->img = malloc(n * sizeof *w->img);
    if (w->img)
        qib_volume_to_f64(ri, w->img);
    qib_volume_unref(&ri);
    if (!w->img)
        return QIB_ENOMEM;
    return QIB_OK;
}

static int check(qib_step *step, const void *priv)
{
    const struct radiomics *p = priv;
    int want[NTASK], dims[NTASK];
    char bad[64];
    if (select_tasks(p->families, want, bad, sizeof bad) != 0)
        return qib_fail(step, QIB_EINVAL,
                        "families: \"%s\" is not one of all, morph, local, stat, ih, ivh, glcm, "
                        "glrlm, glszm, gldzm, ngtdm, ngldm",
                        bad);
    int k = task_dims(p, dims, bad, sizeof bad);
    if (k >= 0)
        return qib_fail(step, QIB_EINVAL,
                        "%s_aggregation: expected texture or some of 2d, 2.5d, 3d%s separated by "
                        "commas, got \"%s\"",
                        task_names[k], k <= T_GLRLM ? " (each also as _avg or _comb)" : "", bad);
    for (k = T_GLCM; k < NTASK; k++)
        if (want[k] && !dims[k])
            return qib_fail(step, QIB_EINVAL,
                            "texture_2d, texture_2_5d, texture_3d: at least one must be true "
                            "(or %s_aggregation given)",
                            task_names[k]);
    if (p->reseg_lower == INFINITY || p->bin_lower == INFINITY)
        return qib_fail(step, QIB_EINVAL, "%s: expected a finite value or -inf (no bound), got inf",
                        p->reseg_lower == INFINITY ? "reseg_lower" : "bin_lower");
    if (p->reseg_upper == -INFINITY)
        return qib_fail(step, QIB_EINVAL,
                        "reseg_upper: expected a finite value or inf (no bound), got -inf");
    if (p->reseg_lower > p->reseg_upper)
        return qib_fail(step, QIB_EINVAL, "reseg_lower (%g) is above reseg_upper (%g)",
                        p->reseg_lower, p->reseg_upper);
    if (p->inplane && p->spacing[2] > 0)
        return qib_fail(step, QIB_EINVAL,
                        "spacing: the third value must be 0 with inplane (2-D interpolation "
                        "keeps the slices)");
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
    double total_s[NTASK] = {0}, total_cpu[NTASK] = {0};
    int ran_any[NTASK] = {0};
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
        {
            int dims[NTASK];
            char bad[64];
            task_dims(p, dims, bad, sizeof bad);
            for (int k = 0; k < NTASK; k++) {
                tk.tex[k].dims = dims[k];
                tk.tex[k].dist = (int)p->distance;
                tk.tex[k].alpha = (int)p->alpha;
                tk.tex[k].link = (int)p->linkage;
                tk.wall[k] = tk.cpu[k] = 0;
            }
        }
        tk.unit = unit;
        rc = qib_parallel_for(qib_step_pool(step), NTASK, 1, run_task, &tk);
        if (rc == QIB_OK) {
            log_times(step, label, &tk, total_s, total_cpu);
            for (int k = 0; k < NTASK; k++)
                ran_any[k] |= tk.want[k] && (k < T_GLCM || tk.tex[k].dims);
        }
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
        /* Each texture family's aggregation methods, as the tag suffixes. */
        int dims[NTASK];
        char bad[64];
        task_dims(p, dims, bad, sizeof bad);
        for (int k = T_GLCM; k < NTASK; k++) {
            static const struct {
                int bit;
                const char *dir, *one;
            } sfx[] = {{RAD_2D_AVG, "2D_avg", "2D"},         {RAD_2D_COMB, "2D_comb", NULL},
                       {RAD_2_5D_AVG, "2_5D_avg", "2_5D"},   {RAD_2_5D_COMB, "2_5D_comb", NULL},
                       {RAD_3D_AVG, "3D_avg", "3D"},         {RAD_3D_COMB, "3D_comb", NULL}};
            char key[32], val[96] = "";
            size_t at = 0;
            for (size_t j = 0; j < sizeof sfx / sizeof sfx[0]; j++) {
                int on = k <= T_GLRLM ? (dims[k] & sfx[j].bit) != 0
                                      : sfx[j].one && (dims[k] & (sfx[j].bit | sfx[j + 1].bit));
                const char *name = k <= T_GLRLM ? sfx[j].dir : sfx[j].one;
                if (on && at < sizeof val) {
                    int nw = snprintf(val + at, sizeof val - at, "%s%s", at ? ", " : "", name);
                    at += nw > 0 ? (size_t)nw : 0;
                }
            }
            snprintf(key, sizeof key, "%s_aggregation", task_names[k]);
            qib_meta_set(m, key, at ? val : "none", NULL);
        }
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
    {
        /* Where the time went, for benchmarks (never in the tables). */
        char buf[640];
        format_times(buf, sizeof buf, ran_any, total_s, NULL);
        qib_step_record(step, "family_wall_seconds", buf);
        format_times(buf, sizeof buf, ran_any, total_cpu, NULL);
        qib_step_record(step, "family_cpu_seconds", buf);
    }
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
    {.name = "glcm_aggregation", .type = QIB_PARAM_STRING, .offset = OFF(agg_glcm),
     .def = "texture",
     .help = "GLCM dimensions and aggregation: texture (as texture_2d, texture_2_5d, "
             "texture_3d), or some of 2d, 2.5d, 3d, 2d_avg, 2d_comb, 2.5d_avg, 2.5d_comb, "
             "3d_avg, 3d_comb separated by commas (avg: averaged; comb: merged)"},
    {.name = "glrlm_aggregation", .type = QIB_PARAM_STRING, .offset = OFF(agg_glrlm),
     .def = "texture", .help = "GLRLM dimensions and aggregation, as glcm_aggregation"},
    {.name = "glszm_aggregation", .type = QIB_PARAM_STRING, .offset = OFF(agg_glszm),
     .def = "texture",
     .help = "GLSZM dimensions: texture (as texture_2d, texture_2_5d, texture_3d), or some of "
             "2d, 2.5d, 3d separated by commas"},
    {.name = "gldzm_aggregation", .type = QIB_PARAM_STRING, .offset = OFF(agg_gldzm),
     .def = "texture", .help = "GLDZM dimensions, as glszm_aggregation"},
    {.name = "ngtdm_aggregation", .type = QIB_PARAM_STRING, .offset = OFF(agg_ngtdm),
     .def = "texture", .help = "NGTDM dimensions, as glszm_aggregation"},
    {.name = "ngldm_aggregation", .type = QIB_PARAM_STRING, .offset = OFF(agg_ngldm),
     .def = "texture", .help = "NGLDM dimensions, as glszm_aggregation"},
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
     .def = "-inf", .unit = "image unit",
     .help = "re-segmentation: intensities below are left out of the intensity mask (image "
             "units, e.g. HU); -inf: no lower bound"},
    {.name = "reseg_upper", .type = QIB_PARAM_DOUBLE, .offset = OFF(reseg_upper), .def = "inf",
     .unit = "image unit",
     .help = "re-segmentation: intensities above are left out (image units); inf: no upper "
             "bound"},
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
    {.name = "bin_lower", .type = QIB_PARAM_DOUBLE, .offset = OFF(bin_lower), .def = "-inf",
     .unit = "image unit",
     .help = "lower bound of the first fbs bin (image units); -inf: reseg_lower when finite, "
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
    .version = "0.2.0",
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
