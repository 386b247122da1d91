/* bio.dsc: DSC perfusion MRI.  From a 4-D T2*-weighted series: the
 * relaxation-rate curves dR2*(t) = -ln(S(t)/S0)/TE, the Boxerman-Schmainda-
 * Weisskoff leakage correction (or its bidirectional-exchange variant), CBV
 * maps before and after correction, the leakage map K2, and a table of
 * region statistics with rCBV normalised to normal-appearing white matter;
 * absolute CBV (mL/100 g) when an arterial input function is given. */
/* for madvise and MADV_HUGEPAGE under -std=c11 */
#define _GNU_SOURCE
#include <config.h>

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "qib/qib.h"

enum integration { INT_FIRST_PASS, INT_ALL };
enum leakage { LEAK_NONE, LEAK_BSW, LEAK_BIDIRECTIONAL };

struct dsc {
    double te_ms;                  /* 0: from the metadata */
    double tr_s;                   /* 0: from the metadata */
    struct qib_dlist frame_times;  /* s, one per frame */
    int64_t skip;                  /* frames dropped for the steady state */
    struct qib_dlist baseline;     /* [first, last] frame, 0-based */
    struct qib_dlist window;       /* [first, last] frame of the integral */
    int integration;
    int leakage;
    struct qib_dlist aif_curve;    /* dR2* of arterial blood per frame, 1/s */
    double hct_large, hct_small, density;
};

/* Voxels per block of the parallel passes: fixed, so that the partial sums
 * (and so every result) do not depend on the thread count; small enough for
 * a block's per-voxel accumulators to live on the stack (about 30 kB). */
#define BLOCK 256
/* Fewest frames a DSC series can have: a baseline, a bolus and its tail. */
#define MIN_FRAMES 8
/* Bolus-arrival rule: walking back from the deepest signal drop, the bolus
 * starts at the earliest frame of the run whose drop exceeds this fraction
 * of the peak drop; the baseline ends two frames before it (one frame of
 * margin for the arterial bolus, which arrives first). */
#define ARRIVAL_FRAC 0.05
/* First-pass end rule: the first frame after the peak where the whole-brain
 * mean dR2* is at most this fraction of its peak, or where its 3-frame
 * moving average starts to rise again (recirculation). */
#define END_FRAC 0.10

/* Region bits of an analysed voxel. */
#define R_BRAIN 1u
#define R_REF 2u
#define R_NAWM 4u
#define R_AIF 8u

struct vox {
    size_t idx;      /* linear index in one frame */
    unsigned bits;   /* R_* */
    uint8_t label;   /* roi label, 0 when not in the roi */
};

/* Shared state of the parallel passes (read-only there except the
 * per-block and per-voxel slots each block owns). */
struct work {
    const qib_volume *img;
    size_t nvox3, nt, nv;
    const struct vox *vox;
    uint8_t *bad;      /* per voxel: non-positive or non-finite signal */
    /* dR2*, block by block, frame-major within a block: y(f, voxel
     * k BLOCK + j) at y[(k nt + f) BLOCK + j], so that every pass streams
     * through memory and its inner loop runs over the voxels of a block */
    double *y;
    size_t first;      /* first frame used (skip) */
    /* pass 1: per-block sums of S over brain voxels, and their counts */
    double *psum;      /* nblk x nt */
    size_t *pcnt;      /* nblk x nt */
    /* pass 2 */
    size_t b0, b1;     /* baseline frames */
    double te_s;
    double *pref, *paif, *pbrain; /* nblk x nt partial sums of dR2* */
    size_t *cref, *caif, *cbrain; /* nblk counts */
    /* pass 3 */
    int leakage;
    const double *t;   /* frame times, s */
    const double *ref, *cum;  /* reference curve and its running integral */
    const double *w2;         /* BSW least-squares weights: K2 = w2 . y */
    const double *q;          /* trapezoid weights of the window */
    double qcum;              /* q . cum */
    double gram[3];           /* ref.ref, ref.cum, cum.cum over the fit frames */
    double scale;             /* integral -> CBV unit */
    float *cbv, *cbvc, *k2;   /* 3-D maps */
    double *kep;              /* per voxel (bidirectional) */
    uint8_t *clamped;         /* per voxel: kep <= 0, fell back to BSW */
};

/* Frame f of the voxels [begin, end) of a block as doubles. */
#define LOAD(T)                                                            \
    do {                                                                   \
        const T *s = (const T *)qib_volume_data(w->img) + f * w->nvox3;    \
        for (size_t j = begin; j < end; j++)                               \
            row[j - begin] = (double)s[w->vox[j].idx];                     \
    } while (0)

static void load_row(const struct work *w, size_t f, size_t begin, size_t end, double *row)
{
    switch (qib_volume_dtype(w->img)) {
    case QIB_U8: LOAD(uint8_t); break;
    case QIB_I8: LOAD(int8_t); break;
    case QIB_U16: LOAD(uint16_t); break;
    case QIB_I16: LOAD(int16_t); break;
    case QIB_U32: LOAD(uint32_t); break;
    case QIB_I32: LOAD(int32_t); break;
    case QIB_F32: LOAD(float); break;
    case QIB_F64: LOAD(double); break;
    }
}

#undef LOAD

/* ---- pass 1: copy the block's signal, flag invalid voxels, sum the brain ---- */

static void pass_scan(void *arg, size_t blk, size_t begin, size_t end)
{
    struct work *w = arg;
    size_t nt = w->nt, n = end - begin;
    uint8_t bad[BLOCK] = {0};
    double brain[BLOCK]; /* 1 for a brain voxel: a branch-free sum */
    for (size_t j = 0; j < n; j++)
        brain[j] = (w->vox[begin + j].bits & R_BRAIN) ? 1.0 : 0.0;
    for (size_t f = w->first; f < nt; f++) {
        double *row = w->y + (blk * nt + f) * BLOCK;
        load_row(w, f, begin, end, row);
        /* The brain-mean signal only locates the bolus: it averages the
         * samples that are valid in each frame. */
        double sum = 0, cnt = 0;
        for (size_t j = 0; j < n; j++) {
            /* false for NaN too */
            int ok = row[j] > 0 && row[j] < INFINITY;
            bad[j] |= (uint8_t)!ok;
            double m = ok ? brain[j] : 0.0;
            sum += ok ? m * row[j] : 0.0;
            cnt += m;
        }
        w->psum[blk * nt + f] = sum;
        w->pcnt[blk * nt + f] = (size_t)cnt;
    }
    memcpy(w->bad + begin, bad, n);
}

/* ---- pass 2: dR2*(t) in place, and the region-mean curves ---- */

static void pass_r2(void *arg, size_t blk, size_t begin, size_t end)
{
    struct work *w = arg;
    size_t nt = w->nt, n = end - begin;
    double s0[BLOCK] = {0}, l0[BLOCK];
    /* region weights (1 or 0; 0 for an invalid voxel): branch-free sums */
    double mr[BLOCK], ma[BLOCK], mb[BLOCK];
    double *pr = w->pref + blk * nt, *pa = w->paif + blk * nt, *pb = w->pbrain + blk * nt;
    double *yb = w->y + blk * nt * BLOCK;
    const uint8_t *bad = w->bad + begin;
    size_t cr = 0, ca = 0, cb = 0;
    for (size_t f = w->b0; f <= w->b1; f++)
        for (size_t j = 0; j < n; j++)
            s0[j] += yb[f * BLOCK + j];
    for (size_t j = 0; j < n; j++) {
        unsigned b = bad[j] ? 0 : w->vox[begin + j].bits;
        /* an invalid voxel gets dR2* 0 here and NaN in the maps */
        l0[j] = bad[j] ? 0 : log(s0[j] / (double)(w->b1 - w->b0 + 1));
        mr[j] = (b & R_REF) ? 1.0 : 0.0;
        ma[j] = (b & R_AIF) ? 1.0 : 0.0;
        mb[j] = (b & R_BRAIN) ? 1.0 : 0.0;
        cr += (b & R_REF) != 0;
        ca += (b & R_AIF) != 0;
        cb += (b & R_BRAIN) != 0;
    }
    double k = 1.0 / w->te_s;
    for (size_t f = w->first; f < nt; f++) {
        double *row = yb + f * BLOCK, sr = 0, sa = 0, sb = 0;
        for (size_t j = 0; j < n; j++)
            row[j] = bad[j] ? 0 : (l0[j] - log(row[j])) * k;
        for (size_t j = 0; j < n; j++) {
            sr += mr[j] * row[j];
            sa += ma[j] * row[j];
            sb += mb[j] * row[j];
        }
        pr[f] = sr;
        pa[f] = sa;
        pb[f] = sb;
    }
    w->cref[blk] = cr;
    w->caif[blk] = ca;
    w->cbrain[blk] = cb;
}

/* ---- pass 3: leakage fit and integrals per voxel ---- */

static double det3(const double m[9])
{
    return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
           m[2] * (m[3] * m[7] - m[4] * m[6]);
}

/* Solve the 3x3 system A x = b (A row-major) by Cramer's rule; returns 0
 * when A is singular to working precision. */
static int solve3(const double a[9], const double b[3], double x[3])
{
    double det = det3(a);
    double norm = fabs(a[0] * a[4] * a[8]) + 1e-300;
    if (!(fabs(det) > 1e-12 * norm))
        return 0;
    for (int c = 0; c < 3; c++) {
        double m[9];
        memcpy(m, a, sizeof m);
        for (int r = 0; r < 3; r++)
            m[3 * r + c] = b[r];
        x[c] = det3(m) / det;
    }
    return 1;
}

/* Sums over the fit frames that the bidirectional fit needs of one voxel:
 * with Y(t) the running integral of its dR2* y(t), ref.Y, cum.Y, Y.Y,
 * ref.y, cum.y and Y.y. */
enum { S_RY, S_CY, S_YY, S_RYY, S_CYY, S_YYY, NSUM };

/* Bidirectional model (linearised): y = K1 ref + b cum + c Y over the fit
 * frames, kep = -c, K2 = kep K1 - b; the correction adds K2 L(t) with
 * L(t) = int_0^t ref(u) exp(-kep (t-u)) du.  Returns the integral of the
 * correction over the window, or NAN when the fit fails or gives kep <= 0;
 * *k2, *kep out. */
static double fit_bidir(const struct work *w, const double sum[NSUM], double *k2, double *kep)
{
    size_t nt = w->nt, f0 = w->first;
    double a[9] = {w->gram[0], w->gram[1], sum[S_RY], w->gram[1], w->gram[2], sum[S_CY],
                   sum[S_RY], sum[S_CY], sum[S_YY]};
    double b[3] = {sum[S_RYY], sum[S_CYY], sum[S_YYY]}, x[3];
    if (!solve3(a, b, x))
        return NAN;
    double e = -x[2];
    if (!(e > 0))
        return NAN;
    double kk = e * x[0] - x[1];
    /* L by the trapezoid rule on the exponentially weighted integrand */
    double L = 0, acc = 0;
    for (size_t f = f0 + 1; f < nt; f++) {
        double dt = w->t[f] - w->t[f - 1], d = exp(-e * dt);
        L = L * d + 0.5 * dt * (w->ref[f - 1] * d + w->ref[f]);
        acc += w->q[f] * L;
    }
    *k2 = kk;
    *kep = e;
    return kk * acc;
}

static void pass_fit(void *arg, size_t blk, size_t begin, size_t end)
{
    struct work *w = arg;
    size_t nt = w->nt, n = end - begin;
    int bidir = w->leakage == LEAK_BIDIRECTIONAL;
    double area[BLOCK] = {0}, k2[BLOCK] = {0};
    const double *yb = w->y + blk * nt * BLOCK;
    for (size_t f = w->first; f < nt; f++) {
        const double *y = yb + f * BLOCK;
        double qf = w->q[f], wf = w->w2[f];
        for (size_t j = 0; j < n; j++) {
            area[j] += qf * y[j];
            k2[j] += wf * y[j];
        }
    }
    /* bidirectional only: running integral Y of y, and the sums */
    double cumy[BLOCK] = {0}, sum[NSUM][BLOCK];
    if (bidir) {
        memset(sum, 0, sizeof sum);
        for (size_t f = w->first; f < nt; f++) {
            const double *y = yb + f * BLOCK;
            /* at the first frame Y stays 0: prev is y itself and hdt 0 */
            const double *prev = f > w->first ? y - BLOCK : y;
            double hdt = f > w->first ? 0.5 * (w->t[f] - w->t[f - 1]) : 0;
            double rf = w->ref[f], cf = w->cum[f];
            for (size_t j = 0; j < n; j++) {
                cumy[j] += hdt * (y[j] + prev[j]);
                sum[S_RY][j] += rf * cumy[j];
                sum[S_CY][j] += cf * cumy[j];
                sum[S_YY][j] += cumy[j] * cumy[j];
                sum[S_RYY][j] += rf * y[j];
                sum[S_CYY][j] += cf * y[j];
                sum[S_YYY][j] += cumy[j] * y[j];
            }
        }
    }
    for (size_t j = 0; j < n; j++) {
        size_t v = begin + j, i = w->vox[v].idx;
        w->kep[v] = NAN;
        if (w->bad[v]) {
            w->cbv[i] = w->cbvc[i] = w->k2[i] = NAN;
            continue;
        }
        double kk = w->leakage == LEAK_NONE ? 0 : k2[j], corr = kk * w->qcum;
        if (bidir) {
            double s[NSUM], kb = NAN, eb = NAN;
            for (int c = 0; c < NSUM; c++)
                s[c] = sum[c][j];
            double cb = fit_bidir(w, s, &kb, &eb);
            if (isfinite(cb)) {
                corr = cb;
                kk = kb;
                w->kep[v] = eb;
            } else {
                w->clamped[v] = 1;
            }
        }
        w->cbv[i] = (float)(area[j] * w->scale);
        w->cbvc[i] = (float)((area[j] + corr) * w->scale);
        w->k2[i] = (float)kk;
    }
}

/* ---- helpers ---- */

/* The dR2* buffer (about 100 MB for a 128x128x25 x 60 series): aligned to
 * 2 MiB and, on Linux, marked for transparent huge pages, so that the
 * kernel does not spend more time mapping and clearing 4 kB pages than the
 * computation takes.  Freed with free(). */
static void *alloc_big(size_t bytes)
{
    const size_t align = (size_t)2 << 20;
    if (bytes > SIZE_MAX - align)
        return NULL;
    size_t n = (bytes + align - 1) / align * align;
    void *p = aligned_alloc(align, n ? n : align);
#ifdef MADV_HUGEPAGE
    if (p)
        madvise(p, n ? n : align, MADV_HUGEPAGE); /* advice only: failure is harmless */
#endif
    return p;
}

/* The k-th smallest of v[0, n) (k < n), v reordered so that v[k] holds it,
 * smaller values before and larger after (Hoare's selection: linear time,
 * where a sort for each median of a whole-brain map would dominate). */
static double select_kth(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        /* median of three as the pivot */
        size_t mid = lo + (hi - lo) / 2;
        double a = v[lo], b = v[mid], c = v[hi];
        double piv = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < piv)
                i++;
            while (v[j] > piv)
                j--;
            if (i <= j) {
                double x = v[i];
                v[i] = v[j];
                v[j] = x;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return v[k];
}

/* Mean and median of the finite values v[0, n) (v is reordered). */
static void mean_median(double *v, size_t n, double *mean, double *median)
{
    size_t k = 0;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            v[k++] = v[i], s += v[i];
    if (!k) {
        *mean = *median = NAN;
        return;
    }
    *mean = s / (double)k;
    double hi = select_kth(v, k, k / 2);
    if (k % 2) {
        *median = hi;
        return;
    }
    /* the lower middle value is the largest of the part before k/2 */
    double lo = v[0];
    for (size_t i = 1; i < k / 2; i++)
        if (v[i] > lo)
            lo = v[i];
    *median = 0.5 * (lo + hi);
}

/* Parse "a b c" (spaces or commas) into n doubles; returns 0 on success. */
static int parse_list(const char *s, double *out, size_t n)
{
    size_t k = 0;
    while (*s) {
        while (*s == ' ' || *s == ',' || *s == '\t')
            s++;
        if (!*s)
            break;
        char tok[64];
        size_t l = 0;
        while (*s && *s != ' ' && *s != ',' && *s != '\t' && l + 1 < sizeof tok)
            tok[l++] = *s++;
        tok[l] = '\0';
        if (k == n || qib_parse_double(tok, &out[k]) != QIB_OK)
            return -1;
        k++;
    }
    return k == n ? 0 : -1;
}

/* Frame times (s) from the parameters or the metadata; *src names where. */
static int frame_times(qib_step *step, const struct dsc *p, const qib_volume *img, double *t,
                       size_t nt, const char **src)
{
    const qib_meta *m = qib_volume_meta(img);
    const struct qib_geom *g = qib_volume_geom(img);
    if (p->frame_times.n) {
        if (p->frame_times.n != nt)
            return qib_fail(step, QIB_EINVAL,
                            "frame_times: %zu values given, but the image has %zu frames",
                            p->frame_times.n, nt);
        for (size_t f = 0; f < nt; f++)
            t[f] = p->frame_times.v[f];
        *src = "parameter frame_times";
    } else if (p->tr_s > 0) {
        for (size_t f = 0; f < nt; f++)
            t[f] = (double)f * p->tr_s;
        *src = "parameter tr_s";
    } else if (qib_meta_get(m, "dicom.frame_times_s")) {
        if (parse_list(qib_meta_get(m, "dicom.frame_times_s"), t, nt))
            return qib_fail(step, QIB_EFORMAT,
                            "image: metadata dicom.frame_times_s: expected %zu frame times "
                            "in s, found \"%.60s\"; give tr_s or frame_times",
                            nt, qib_meta_get(m, "dicom.frame_times_s"));
        *src = "metadata dicom.frame_times_s";
    } else {
        const char *tu = qib_meta_get(m, "nifti.time_unit");
        double k = tu && !strcmp(tu, "s") ? 1.0 : tu && !strcmp(tu, "ms") ? 1e-3 : 0;
        if (!(k > 0) || qib_meta_get(m, "nifti.pixdim4_replaced") || !(g->spacing[3] > 0))
            return qib_fail(step, QIB_EINVAL,
                            "tr_s: the frame times are unknown: the image's metadata has "
                            "neither dicom.frame_times_s nor a NIfTI time step in s or ms "
                            "(nifti.time_unit %s); give tr_s (s) or frame_times",
                            tu ? tu : "absent");
        for (size_t f = 0; f < nt; f++)
            t[f] = (double)f * g->spacing[3] * k;
        *src = "metadata nifti pixdim[4]";
    }
    for (size_t f = 1; f < nt; f++)
        if (!(t[f] > t[f - 1]))
            return qib_fail(step, QIB_EINVAL,
                            "frame_times: frame times must increase, found %g s then %g s "
                            "at frame %zu (%s)",
                            t[f - 1], t[f], f, *src);
    return QIB_OK;
}

/* A 3-D u8 mask on the image's grid, or NULL when the port is unwired. */
static int get_mask(qib_step *step, const char *port, const qib_volume *img,
                    const uint8_t **out)
{
    const qib_volume *m = qib_step_in_volume(step, port);
    *out = NULL;
    if (!m)
        return QIB_OK;
    const struct qib_geom *gm = qib_volume_geom(m);
    if (qib_volume_dtype(m) != QIB_U8 || !qib_volume_is_mask(m))
        return qib_fail(step, QIB_EINVAL,
                        "%s: expected a u8 label image flagged as a mask, found a %s volume%s",
                        port, qib_dtype_name(qib_volume_dtype(m)),
                        qib_volume_is_mask(m) ? "" : " not flagged as a mask");
    if (gm->ndim == 4 && gm->dims[3] > 1)
        return qib_fail(step, QIB_EUNSUPPORTED,
                        "%s: a 4-D mask (%zu frames) is not supported: give a 3-D mask", port,
                        gm->dims[3]);
    if (qib_step_check_grid(step, port, m, img) != QIB_OK)
        return QIB_EGEOMETRY;
    *out = qib_volume_data(m);
    return QIB_OK;
}

/* Whole frames [first, last] from a 2-value list parameter. */
static int frame_pair(qib_step *step, const char *name, const struct qib_dlist *l, size_t lo,
                      size_t nt, size_t *a, size_t *b)
{
    if (l->n != 2 || l->v[0] != floor(l->v[0]) || l->v[1] != floor(l->v[1]) ||
        !(l->v[0] >= (double)lo) || !(l->v[1] > l->v[0]) || !(l->v[1] < (double)nt))
        return qib_fail(step, QIB_EINVAL,
                        "%s: expected [first, last], two whole 0-based frame numbers with "
                        "%zu <= first < last < %zu (skip_frames and the image's frames), "
                        "found [%g, %g]",
                        name, lo, nt, l->n ? l->v[0] : NAN, l->n > 1 ? l->v[1] : NAN);
    *a = (size_t)l->v[0];
    *b = (size_t)l->v[1];
    return QIB_OK;
}

/* Baseline from the whole-brain mean signal m[first, nt) (rule above). */
static int find_baseline(qib_step *step, const double *m, size_t first, size_t nt, size_t *b0,
                         size_t *b1)
{
    size_t pk = first;
    for (size_t f = first; f < nt; f++)
        if (m[f] < m[pk])
            pk = f;
    if (pk < first + 3)
        return qib_fail(step, QIB_EINVAL,
                        "image: the deepest whole-brain signal drop is at frame %zu, "
                        "leaving fewer than 3 baseline frames after skip_frames %zu: give "
                        "baseline",
                        pk, first);
    /* The level of the first half of the frames before the peak: before the
     * bolus in any usable series. */
    size_t nh = (pk - first) / 2;
    double *tmp = malloc(nh * sizeof *tmp), lvl, dummy;
    if (!tmp)
        return QIB_ENOMEM;
    memcpy(tmp, m + first, nh * sizeof *tmp);
    mean_median(tmp, nh, &dummy, &lvl);
    free(tmp);
    double depth = lvl - m[pk];
    if (!(depth > 0))
        return qib_fail(step, QIB_EINVAL,
                        "image: the whole-brain mean signal shows no bolus (no drop below "
                        "its baseline level %g): expected a DSC series; give baseline",
                        lvl);
    size_t a = pk;
    while (a > first && lvl - m[a - 1] > ARRIVAL_FRAC * depth)
        a--;
    /* a is the first bolus frame; one frame of margin before it */
    if (a < first + 3)
        return qib_fail(step, QIB_EINVAL,
                        "image: the bolus arrives at frame %zu, leaving fewer than 2 "
                        "baseline frames after skip_frames %zu: give baseline",
                        a, first);
    *b0 = first;
    *b1 = a - 2;
    return QIB_OK;
}

/* End of the first pass from the whole-brain mean dR2* r (rule above). */
static size_t find_end(const double *r, size_t start, size_t nt)
{
    size_t pk = start;
    for (size_t f = start; f < nt; f++)
        if (r[f] > r[pk])
            pk = f;
    for (size_t f = pk + 1; f < nt; f++) {
        if (r[f] <= END_FRAC * r[pk])
            return f;
        if (f + 2 < nt && f >= 1) {
            double s0 = r[f - 1] + r[f] + r[f + 1], s1 = r[f] + r[f + 1] + r[f + 2];
            if (s1 > s0)
                return f;
        }
    }
    return nt - 1;
}

/* ---- the step ---- */

static int check(qib_step *step, const void *priv)
{
    const struct dsc *p = priv;
    if (p->baseline.n && p->baseline.n != 2)
        return qib_fail(step, QIB_EINVAL,
                        "baseline: expected [first, last] (2 frame numbers), found %zu values",
                        p->baseline.n);
    if (p->window.n && p->window.n != 2)
        return qib_fail(step, QIB_EINVAL,
                        "window: expected [first, last] (2 frame numbers), found %zu values",
                        p->window.n);
    if (p->hct_large >= 1 || p->hct_small >= 1)
        return qib_fail(step, QIB_EINVAL,
                        "hct_large, hct_small: expected haematocrits below 1, found %g and %g",
                        p->hct_large, p->hct_small);
    for (size_t i = 0; i < p->aif_curve.n; i++)
        if (!isfinite(p->aif_curve.v[i]))
            return qib_fail(step, QIB_EINVAL, "aif_curve: value %zu is not finite", i);
    return QIB_OK;
}

enum col {
    C_REGION, C_LABEL, C_VOXELS, C_INVALID, C_CBV_MEAN, C_CBV_MEDIAN, C_CBVC_MEAN,
    C_CBVC_MEDIAN, C_RCBV_MEAN, C_RCBVC_MEAN, C_RCBVC_MEDIAN, C_K2_MEAN, C_K2_MEDIAN,
    C_KEP_MEAN, C_KEP_MEDIAN, C_TE, C_B0, C_B1, C_W0, C_W1, C_T0, C_T1, C_LEAK, NCOL
};

static const struct {
    const char *name;
    enum qib_coltype type;
    int cbv_unit; /* 1: the CBV unit of the run */
    const char *unit;
} cols[NCOL] = {
    [C_REGION] = {"region", QIB_COL_STRING, 0, NULL},
    [C_LABEL] = {"label", QIB_COL_INT, 0, NULL},
    [C_VOXELS] = {"voxels", QIB_COL_INT, 0, NULL},
    [C_INVALID] = {"voxels_invalid", QIB_COL_INT, 0, NULL},
    [C_CBV_MEAN] = {"cbv_mean", QIB_COL_DOUBLE, 1, NULL},
    [C_CBV_MEDIAN] = {"cbv_median", QIB_COL_DOUBLE, 1, NULL},
    [C_CBVC_MEAN] = {"cbv_corr_mean", QIB_COL_DOUBLE, 1, NULL},
    [C_CBVC_MEDIAN] = {"cbv_corr_median", QIB_COL_DOUBLE, 1, NULL},
    [C_RCBV_MEAN] = {"rcbv_mean", QIB_COL_DOUBLE, 0, "1"},
    [C_RCBVC_MEAN] = {"rcbv_corr_mean", QIB_COL_DOUBLE, 0, "1"},
    [C_RCBVC_MEDIAN] = {"rcbv_corr_median", QIB_COL_DOUBLE, 0, "1"},
    [C_K2_MEAN] = {"k2_mean", QIB_COL_DOUBLE, 0, "1/s"},
    [C_K2_MEDIAN] = {"k2_median", QIB_COL_DOUBLE, 0, "1/s"},
    [C_KEP_MEAN] = {"kep_mean", QIB_COL_DOUBLE, 0, "1/s"},
    [C_KEP_MEDIAN] = {"kep_median", QIB_COL_DOUBLE, 0, "1/s"},
    [C_TE] = {"te_ms", QIB_COL_DOUBLE, 0, "ms"},
    [C_B0] = {"baseline_first", QIB_COL_INT, 0, "frame"},
    [C_B1] = {"baseline_last", QIB_COL_INT, 0, "frame"},
    [C_W0] = {"window_first", QIB_COL_INT, 0, "frame"},
    [C_W1] = {"window_last", QIB_COL_INT, 0, "frame"},
    [C_T0] = {"window_start_s", QIB_COL_DOUBLE, 0, "s"},
    [C_T1] = {"window_end_s", QIB_COL_DOUBLE, 0, "s"},
    [C_LEAK] = {"leakage", QIB_COL_STRING, 0, NULL},
};

static const char *const integration_names[] = {"first_pass", "all", NULL};
static const char *const leakage_names[] = {"none", "bsw", "bidirectional", NULL};

/* The table rows: statistics over the analysed voxels of a region (bit)
 * or of a roi label (lab), one task per row and map on the pool. */
struct row {
    const char *region;
    int label;     /* table label, -1 for none */
    unsigned bit;  /* R_* of the region, 0 for a roi label */
    int lab;       /* roi label, 0 for a region */
    size_t n, ninv;
    size_t room;   /* voxels of the region (valid or not) */
    double *tmp;   /* room for them, per map: map m at tmp + m room */
    double v[NCOL];
};

struct rowjob {
    const struct work *w;
    struct row *rows;
    int nmaps; /* cbv, cbv_corr, k2, and kep for the bidirectional model */
};

static int in_row(const struct work *w, const struct row *r, size_t j)
{
    return r->lab ? w->vox[j].label == r->lab : (w->vox[j].bits & r->bit) != 0;
}

/* Task r nmaps + m: mean and median of map m over row r's valid voxels. */
static void row_stats(void *arg, size_t blk, size_t begin, size_t end)
{
    const struct rowjob *rj = arg;
    const struct work *w = rj->w;
    (void)blk;
    const float *maps[3] = {w->cbv, w->cbvc, w->k2};
    const int mc[4][2] = {{C_CBV_MEAN, C_CBV_MEDIAN}, {C_CBVC_MEAN, C_CBVC_MEDIAN},
                          {C_K2_MEAN, C_K2_MEDIAN}, {C_KEP_MEAN, C_KEP_MEDIAN}};
    for (size_t task = begin; task < end; task++) {
        struct row *r = &rj->rows[task / (size_t)rj->nmaps];
        int mi = (int)(task % (size_t)rj->nmaps);
        double *tmp = r->tmp + (size_t)mi * r->room;
        size_t n = 0, ninv = 0;
        for (size_t j = 0; j < w->nv; j++) {
            if (!in_row(w, r, j))
                continue;
            if (w->bad[j]) {
                ninv++;
                continue;
            }
            tmp[n++] = mi < 3 ? (double)maps[mi][w->vox[j].idx] : w->kep[j];
        }
        mean_median(tmp, n, &r->v[mc[mi][0]], &r->v[mc[mi][1]]);
        if (mi == 0) { /* the same counts for every map */
            r->n = n;
            r->ninv = ninv;
        }
    }
}

/* What every row shares. */
struct rowctx {
    const struct work *w;
    qib_table *t;
    double nawm_cbv, nawm_cbvc;
    double te_ms;
    size_t b0, b1, w0, w1;
    const char *leak;
};

static int add_row(const struct rowctx *c, struct row *rw)
{
    const struct work *w = c->w;
    double *v = rw->v;
    size_t r;
    v[C_RCBV_MEAN] = v[C_CBV_MEAN] / c->nawm_cbv;
    v[C_RCBVC_MEAN] = v[C_CBVC_MEAN] / c->nawm_cbvc;
    v[C_RCBVC_MEDIAN] = v[C_CBVC_MEDIAN] / c->nawm_cbvc;
    int rc;
    if ((rc = qib_table_add_row(c->t, &r)) ||
        (rc = qib_table_set_string(c->t, r, C_REGION, rw->region)) ||
        (rw->label >= 0 && (rc = qib_table_set_int(c->t, r, C_LABEL, rw->label))) ||
        (rc = qib_table_set_int(c->t, r, C_VOXELS, (int64_t)rw->n)) ||
        (rc = qib_table_set_int(c->t, r, C_INVALID, (int64_t)rw->ninv)) ||
        (rc = qib_table_set_double(c->t, r, C_TE, c->te_ms)) ||
        (rc = qib_table_set_int(c->t, r, C_B0, (int64_t)c->b0)) ||
        (rc = qib_table_set_int(c->t, r, C_B1, (int64_t)c->b1)) ||
        (rc = qib_table_set_int(c->t, r, C_W0, (int64_t)c->w0)) ||
        (rc = qib_table_set_int(c->t, r, C_W1, (int64_t)c->w1)) ||
        (rc = qib_table_set_double(c->t, r, C_T0, w->t[c->w0])) ||
        (rc = qib_table_set_double(c->t, r, C_T1, w->t[c->w1])) ||
        (rc = qib_table_set_string(c->t, r, C_LEAK, c->leak)))
        return rc;
    for (int k = C_CBV_MEAN; k <= C_KEP_MEDIAN; k++)
        if ((rc = qib_table_set_double(c->t, r, (size_t)k, v[k])))
            return rc;
    return QIB_OK;
}

static int new_map(const struct qib_geom *g3, const char *unit, qib_volume **out, float **data)
{
    int rc = qib_volume_new(QIB_F32, g3, out);
    if (rc)
        return rc;
    *data = qib_volume_data_mut(*out);
    return qib_meta_set(qib_volume_meta_mut(*out), "units", unit, "bio.dsc");
}

/* Everything run() allocates, freed in one place. */
struct bufs {
    struct vox *vox;
    double *y, *psum, *pref, *paif, *pbrain, *curves, *kep, *tmp, *rowtmp;
    struct row *rows;
    size_t *pcnt, *cref, *caif, *cbrain;
    uint8_t *bad, *clamped;
    qib_volume *cbv, *cbvc, *k2, *rcbv;
    qib_table *t;
};

static void free_bufs(struct bufs *b)
{
    free(b->vox);
    free(b->y);
    free(b->psum);
    free(b->pref);
    free(b->paif);
    free(b->pbrain);
    free(b->curves);
    free(b->kep);
    free(b->tmp);
    free(b->rowtmp);
    free(b->rows);
    free(b->pcnt);
    free(b->cref);
    free(b->caif);
    free(b->cbrain);
    free(b->bad);
    free(b->clamped);
    qib_volume_unref(&b->cbv);
    qib_volume_unref(&b->cbvc);
    qib_volume_unref(&b->k2);
    qib_volume_unref(&b->rcbv);
    qib_table_unref(&b->t);
}

static int run(qib_step *step, void *priv)
{
    const struct dsc *p = priv;
    const qib_volume *img = qib_step_in_volume(step, "image");
    if (!img)
        return qib_fail(step, QIB_EINVAL, "image: no volume wired to the input");
    const struct qib_geom *g = qib_volume_geom(img);
    if (g->ndim != 4 || g->dims[3] < MIN_FRAMES)
        return qib_fail(step, QIB_EINVAL,
                        "image: expected a 4-D DSC series of at least %d frames, found a "
                        "%d-D image%s%zu frame%s",
                        MIN_FRAMES, g->ndim, g->ndim == 4 ? " of " : " (",
                        g->ndim == 4 ? g->dims[3] : (size_t)1,
                        g->ndim == 4 ? (g->dims[3] == 1 ? "" : "s") : ")");
    const uint8_t *mb = NULL, *mr = NULL, *mn = NULL, *mo = NULL, *ma = NULL;
    if (!qib_step_in_volume(step, "mask"))
        return qib_fail(step, QIB_EINVAL, "mask: no brain mask wired to the input");
    int rc;
    if ((rc = get_mask(step, "mask", img, &mb)) || (rc = get_mask(step, "reference", img, &mr)) ||
        (rc = get_mask(step, "nawm", img, &mn)) || (rc = get_mask(step, "roi", img, &mo)) ||
        (rc = get_mask(step, "aif", img, &ma)))
        return rc;
    size_t nt = g->dims[3], nvox3 = qib_geom_frame_nvox(g), first = (size_t)p->skip;
    if (ma && p->aif_curve.n)
        return qib_fail(step, QIB_EINVAL,
                        "aif_curve: an arterial input is given twice, as the aif mask and "
                        "as aif_curve: give one");
    if (p->aif_curve.n && p->aif_curve.n != nt)
        return qib_fail(step, QIB_EINVAL,
                        "aif_curve: %zu values given, but the image has %zu frames",
                        p->aif_curve.n, nt);
    if (first + MIN_FRAMES > nt)
        return qib_fail(step, QIB_EINVAL,
                        "skip_frames: %zu frames skipped leave fewer than %d of the %zu "
                        "frames",
                        first, MIN_FRAMES, nt);

    /* Echo time: the parameter, else the metadata. */
    double te_ms = p->te_ms;
    const char *te_src = "parameter te_ms";
    if (!(te_ms > 0)) {
        if (qib_meta_get_double(qib_volume_meta(img), "dicom.echo_time_ms", &te_ms) != QIB_OK ||
            !(te_ms > 0))
            return qib_fail(step, QIB_EINVAL,
                            "te_ms: the echo time is unknown: the image's metadata has no "
                            "dicom.echo_time_ms (DICOM (0018,0081)); give te_ms (ms)");
        te_src = "metadata dicom.echo_time_ms";
    }

    struct bufs b;
    memset(&b, 0, sizeof b);
    struct work w;
    memset(&w, 0, sizeof w);
    double *t = NULL;
    const char *tsrc = NULL;

    /* The analysed voxels: the union of every mask. */
    size_t nv = 0, nbrain = 0;
    for (size_t i = 0; i < nvox3; i++)
        if (mb[i] || (mr && mr[i]) || (mn && mn[i]) || (mo && mo[i]) || (ma && ma[i]))
            nv++;
    rc = QIB_ENOMEM;
    size_t nblk = qib_nblocks(nv, BLOCK);
    if (nblk > SIZE_MAX / BLOCK / nt / sizeof(double))
        goto nomem;
    if (!(b.y = alloc_big(nblk * BLOCK * nt * sizeof(double))) ||
        !(b.vox = malloc((nv ? nv : 1) * sizeof *b.vox)) ||
        !(b.bad = calloc(nv ? nv : 1, 1)) || !(b.clamped = calloc(nv ? nv : 1, 1)) ||
        !(b.kep = malloc((nv ? nv : 1) * sizeof *b.kep)) ||
        !(b.tmp = malloc((nv ? nv : 1) * sizeof *b.tmp)) ||
        !(b.psum = calloc((nblk ? nblk : 1) * nt, sizeof *b.psum)) ||
        !(b.pref = calloc((nblk ? nblk : 1) * nt, sizeof *b.pref)) ||
        !(b.paif = calloc((nblk ? nblk : 1) * nt, sizeof *b.paif)) ||
        !(b.pbrain = calloc((nblk ? nblk : 1) * nt, sizeof *b.pbrain)) ||
        !(b.pcnt = calloc((nblk ? nblk : 1) * nt, sizeof *b.pcnt)) ||
        !(b.cref = calloc(nblk ? nblk : 1, sizeof *b.cref)) ||
        !(b.caif = calloc(nblk ? nblk : 1, sizeof *b.caif)) ||
        !(b.cbrain = calloc(nblk ? nblk : 1, sizeof *b.cbrain)) ||
        !(b.curves = calloc(8 * nt, sizeof *b.curves)))
        goto nomem;
    t = b.curves + 7 * nt;
    if ((rc = frame_times(step, p, img, t, nt, &tsrc)))
        goto out;
    {
        size_t k = 0;
        for (size_t i = 0; i < nvox3; i++) {
            unsigned bits = 0;
            if (mb[i])
                bits |= R_BRAIN;
            /* Default reference: brain voxels outside the lesion (the
             * non-enhancing brain of Boxerman 2006). */
            if (mr ? mr[i] != 0 : (mb[i] && !(mo && mo[i])))
                bits |= R_REF;
            if (mn && mn[i])
                bits |= R_NAWM;
            if (ma && ma[i])
                bits |= R_AIF;
            uint8_t lab = mo ? mo[i] : 0;
            if (bits || lab)
                b.vox[k++] = (struct vox){.idx = i, .bits = bits, .label = lab};
            if (mb[i])
                nbrain++;
        }
    }
    if (!nbrain) {
        rc = qib_fail(step, QIB_EINVAL, "mask: the brain mask has no voxel");
        goto out;
    }
    w.img = img;
    w.nvox3 = nvox3;
    w.nt = nt;
    w.nv = nv;
    w.vox = b.vox;
    w.y = b.y;
    w.bad = b.bad;
    w.clamped = b.clamped;
    w.kep = b.kep;
    w.first = first;
    w.psum = b.psum;
    w.pcnt = b.pcnt;
    w.pref = b.pref;
    w.paif = b.paif;
    w.pbrain = b.pbrain;
    w.cref = b.cref;
    w.caif = b.caif;
    w.cbrain = b.cbrain;
    w.t = t;
    w.te_s = te_ms * 1e-3;
    w.leakage = p->leakage;
    qib_pool *pool = qib_step_pool(step);

    if ((rc = qib_parallel_for(pool, nv, BLOCK, pass_scan, &w)))
        goto out;
    if (qib_step_interrupted(step)) {
        rc = qib_fail(step, QIB_EINTR, "interrupted");
        goto out;
    }
    /* Whole-brain mean signal, reduced in block order. */
    double *msig = b.curves, *ref = b.curves + nt, *aif = b.curves + 2 * nt,
           *rbrain = b.curves + 3 * nt, *cum = b.curves + 4 * nt,
           *w2 = b.curves + 5 * nt, *q = b.curves + 6 * nt;
    for (size_t f = first; f < nt; f++) {
        size_t nok = 0;
        for (size_t k = 0; k < nblk; k++) {
            nok += b.pcnt[k * nt + f];
            msig[f] += b.psum[k * nt + f];
        }
        if (!nok) {
            rc = qib_fail(step, QIB_EINVAL,
                          "image: no brain voxel has a positive, finite signal at frame %zu",
                          f);
            goto out;
        }
        msig[f] /= (double)nok;
    }
    size_t b0, b1;
    if (p->baseline.n) {
        if ((rc = frame_pair(step, "baseline", &p->baseline, first, nt, &b0, &b1)))
            goto out;
    } else if ((rc = find_baseline(step, msig, first, nt, &b0, &b1))) {
        goto out;
    }
    w.b0 = b0;
    w.b1 = b1;
    if ((rc = qib_parallel_for(pool, nv, BLOCK, pass_r2, &w)))
        goto out;
    if (qib_step_interrupted(step)) {
        rc = qib_fail(step, QIB_EINTR, "interrupted");
        goto out;
    }
    size_t nref = 0, naif = 0, nbr = 0;
    for (size_t k = 0; k < nblk; k++) {
        nref += b.cref[k];
        naif += b.caif[k];
        nbr += b.cbrain[k];
        for (size_t f = 0; f < nt; f++) {
            ref[f] += b.pref[k * nt + f];
            aif[f] += b.paif[k * nt + f];
            rbrain[f] += b.pbrain[k * nt + f];
        }
    }
    if (!nbr) {
        rc = qib_fail(step, QIB_EINVAL,
                      "image: no brain voxel has a positive, finite signal in every frame "
                      "from frame %zu on",
                      first);
        goto out;
    }
    for (size_t f = 0; f < nt; f++) {
        ref[f] = nref ? ref[f] / (double)nref : 0;
        aif[f] = naif ? aif[f] / (double)naif : 0;
        rbrain[f] = rbrain[f] / (double)nbr;
    }

    /* Integration window. */
    size_t w0, w1i;
    if (p->window.n) {
        if ((rc = frame_pair(step, "window", &p->window, first, nt, &w0, &w1i)))
            goto out;
    } else {
        w0 = b1;
        w1i = p->integration == INT_ALL ? nt - 1 : find_end(rbrain, b1, nt);
        if (w1i <= w0) {
            rc = qib_fail(step, QIB_EINVAL,
                          "window: no first pass found after the baseline (frames %zu-%zu); "
                          "give window",
                          b0, b1);
            goto out;
        }
    }
    /* Trapezoid weights of the window; running integral of the reference
     * from the first frame used. */
    for (size_t f = w0; f < w1i; f++) {
        double h = 0.5 * (t[f + 1] - t[f]);
        q[f] += h;
        q[f + 1] += h;
    }
    cum[first] = 0;
    for (size_t f = first + 1; f < nt; f++)
        cum[f] = cum[f - 1] + 0.5 * (t[f] - t[f - 1]) * (ref[f] + ref[f - 1]);
    double qcum = 0;
    for (size_t f = first; f < nt; f++)
        qcum += q[f] * cum[f];

    if (p->leakage != LEAK_NONE) {
        if (!nref) {
            rc = qib_fail(step, QIB_EINVAL,
                          "reference: no valid voxel for the leakage reference curve "
                          "(brain outside the roi by default): give reference, or leakage: "
                          "none");
            goto out;
        }
        /* BSW: y = K1 ref - K2 cum; with X = [ref, -cum] the least-squares
         * solution is (X'X)^-1 X'y, the same weights for every
         * voxel. */
        double a = 0, bb = 0, c = 0;
        for (size_t f = first; f < nt; f++) {
            a += ref[f] * ref[f];
            bb += ref[f] * cum[f];
            c += cum[f] * cum[f];
        }
        double det = a * c - bb * bb;
        if (!(det > 1e-12 * a * c)) {
            rc = qib_fail(step, QIB_EINVAL,
                          "reference: the reference curve is flat or proportional to its "
                          "own integral (%zu voxels): the leakage fit is undetermined",
                          nref);
            goto out;
        }
        /* K2 is the second row of (X'X)^-1 X' times y, (X'X)^-1 =
         * [[c, bb], [bb, a]] / det; K1 (the first row) is not needed: only
         * K2 corrects the curve. */
        for (size_t f = first; f < nt; f++)
            w2[f] = (bb * ref[f] - a * cum[f]) / det;
        w.gram[0] = a;
        w.gram[1] = bb;
        w.gram[2] = c;
    }

    /* CBV unit: relative (a.u.) or, with an AIF, mL/100 g. */
    double scale = 1.0;
    const char *cbv_unit = "a.u.";
    char aifsrc[64] = "none";
    if (ma || p->aif_curve.n) {
        const double *ac = ma ? aif : p->aif_curve.v;
        if (ma && !naif) {
            rc = qib_fail(step, QIB_EINVAL,
                          "aif: no arterial voxel has a positive, finite signal in every "
                          "frame");
            goto out;
        }
        double ia = 0;
        for (size_t f = first; f < nt; f++)
            ia += q[f] * ac[f];
        if (!(ia > 0)) {
            rc = qib_fail(step, QIB_EINVAL,
                          "%s: the arterial curve's integral over frames %zu-%zu is %g, "
                          "expected > 0",
                          ma ? "aif" : "aif_curve", w0, w1i, ia);
            goto out;
        }
        double kh = (1 - p->hct_large) / (1 - p->hct_small);
        scale = 100.0 * kh / p->density / ia;
        cbv_unit = p->density == 1.0 ? "mL/100mL" : "mL/100g";
        snprintf(aifsrc, sizeof aifsrc, ma ? "aif mask, %zu voxels" : "aif_curve", naif);
    }
    w.ref = ref;
    w.cum = cum;
    w.w2 = w2;
    w.q = q;
    w.qcum = qcum;
    w.scale = scale;

    struct qib_geom g3 = *g;
    g3.ndim = 3;
    g3.dims[3] = 1;
    g3.spacing[3] = 1;
    float *dc, *dcc, *dk;
    if ((rc = new_map(&g3, cbv_unit, &b.cbv, &dc)) ||
        (rc = new_map(&g3, cbv_unit, &b.cbvc, &dcc)) || (rc = new_map(&g3, "1/s", &b.k2, &dk)))
        goto nomem_rc;
    w.cbv = dc;
    w.cbvc = dcc;
    w.k2 = dk;
    if ((rc = qib_parallel_for(pool, nv, BLOCK, pass_fit, &w)))
        goto out;
    if (p->leakage == LEAK_BIDIRECTIONAL && nv) {
        size_t nc = 0;
        for (size_t j = 0; j < nv; j++)
            nc += b.clamped[j];
        if (nc)
            qib_step_log(step, "leakage: bidirectional fit gave kep <= 0 (or failed) in %zu "
                               "voxels: the BSW fit is kept there", nc);
    }

    /* Table. */
    if ((rc = qib_table_new(&b.t)))
        goto nomem_rc;
    for (int k = 0; k < NCOL; k++)
        if ((rc = qib_table_add_column(b.t, cols[k].name, cols[k].type,
                                       cols[k].cbv_unit ? cbv_unit : cols[k].unit, NULL, NULL)))
            goto out;
    struct rowctx rcx = {.w = &w, .t = b.t, .nawm_cbv = NAN, .nawm_cbvc = NAN,
                         .te_ms = te_ms, .b0 = b0, .b1 = b1, .w0 = w0, .w1 = w1i,
                         .leak = leakage_names[p->leakage]};
    if (mn) {
        double med;
        size_t n = 0;
        for (int pass = 0; pass < 2; pass++) {
            n = 0;
            const float *mp = pass ? dcc : dc;
            for (size_t j = 0; j < nv; j++)
                if ((b.vox[j].bits & R_NAWM) && !b.bad[j])
                    b.tmp[n++] = mp[b.vox[j].idx];
            mean_median(b.tmp, n, pass ? &rcx.nawm_cbvc : &rcx.nawm_cbv, &med);
        }
        if (!n || !(rcx.nawm_cbvc > 0)) {
            rc = qib_fail(step, QIB_EINVAL,
                          "nawm: the corrected CBV of the normal-appearing white matter is "
                          "%g over %zu valid voxels: expected > 0 to normalise by",
                          rcx.nawm_cbvc, n);
            goto out;
        }
    }
    {
        /* rows: brain, reference, nawm, aif, then each roi label present */
        rc = QIB_ENOMEM;
        if (!(b.rows = malloc((4 + 255) * sizeof *b.rows)))
            goto nomem;
        struct row *rows = b.rows;
        size_t nrow = 0, cnt[256] = {0};
        rows[nrow++] = (struct row){.region = "brain", .label = -1, .bit = R_BRAIN};
        rows[nrow++] = (struct row){.region = "reference", .label = -1, .bit = R_REF};
        if (mn)
            rows[nrow++] = (struct row){.region = "nawm", .label = -1, .bit = R_NAWM};
        if (ma)
            rows[nrow++] = (struct row){.region = "aif", .label = -1, .bit = R_AIF};
        size_t nregion = nrow;
        for (size_t j = 0; j < nv; j++) {
            cnt[b.vox[j].label]++;
            for (size_t r = 0; r < nregion; r++)
                rows[r].room += (b.vox[j].bits & rows[r].bit) != 0;
        }
        if (mo)
            for (int l = 1; l < 256; l++)
                if (cnt[l])
                    rows[nrow++] = (struct row){.region = "roi", .label = l, .lab = l,
                                                .room = cnt[l]};
        struct rowjob rj = {.w = &w, .rows = rows,
                            .nmaps = p->leakage == LEAK_BIDIRECTIONAL ? 4 : 3};
        /* each voxel is in at most the four regions and one label: at most
         * 5 nv values per map, less than the dR2* buffer holds */
        size_t total = 0;
        for (size_t r = 0; r < nrow; r++)
            total += rows[r].room;
        if (!(b.rowtmp = malloc((total ? total : 1) * (size_t)rj.nmaps * sizeof(double))))
            goto nomem;
        total = 0;
        for (size_t r = 0; r < nrow; r++) {
            rows[r].tmp = b.rowtmp + total * (size_t)rj.nmaps;
            total += rows[r].room;
            for (int k = 0; k < NCOL; k++)
                rows[r].v[k] = NAN;
        }
        size_t ntask = nrow * (size_t)rj.nmaps;
        if ((rc = qib_parallel_for(pool, ntask, 1, row_stats, &rj)))
            goto out;
        for (size_t r = 0; r < nrow; r++)
            if ((rc = add_row(&rcx, &rows[r])))
                goto out;
    }
    qib_meta *tm = qib_table_meta_mut(b.t);
    char buf[64];
    if ((rc = qib_meta_set(tm, "frame_times_source", tsrc, "bio.dsc")) ||
        (rc = qib_meta_set(tm, "te_source", te_src, "bio.dsc")) ||
        (rc = qib_meta_set(tm, "aif", aifsrc, "bio.dsc")) ||
        (rc = qib_meta_set(tm, "definitions",
                           "dR2*(t) = -ln(S(t)/S0)/TE, S0 = mean signal over the baseline "
                           "frames; cbv = trapezoid integral of dR2* over the window "
                           "(x 100 (1-hct_large)/(1-hct_small)/density / integral of the "
                           "AIF with an AIF); BSW: dR2* = K1 ref - K2 int ref, cbv_corr adds "
                           "K2 int(int ref); rcbv = cbv / NAWM mean cbv",
                           "bio.dsc")))
        goto out;
    snprintf(buf, sizeof buf, "%zu", nref);
    qib_step_record(step, "reference_voxels", buf);
    snprintf(buf, sizeof buf, "%g", te_ms);
    qib_step_record(step, "te_ms", buf);
    qib_step_record(step, "frame_times_source", tsrc);
    qib_step_log(step, "TE %g ms (%s); frames %zu, %s; baseline %zu-%zu, window %zu-%zu "
                       "(%g-%g s); reference %zu voxels",
                 te_ms, te_src, nt, tsrc, b0, b1, w0, w1i, t[w0], t[w1i], nref);

    if (mn) {
        float *dr;
        if ((rc = new_map(&g3, "1", &b.rcbv, &dr)))
            goto nomem_rc;
        for (size_t j = 0; j < nv; j++)
            dr[b.vox[j].idx] = (float)(dcc[b.vox[j].idx] / rcx.nawm_cbvc);
    }
    rc = qib_step_set_volume(step, "cbv", b.cbv);
    b.cbv = NULL;
    if (!rc) {
        rc = qib_step_set_volume(step, "cbv_corr", b.cbvc);
        b.cbvc = NULL;
    }
    if (!rc) {
        rc = qib_step_set_volume(step, "k2", b.k2);
        b.k2 = NULL;
    }
    if (!rc && b.rcbv) {
        rc = qib_step_set_volume(step, "rcbv_corr", b.rcbv);
        b.rcbv = NULL;
    }
    if (!rc) {
        rc = qib_step_set_table(step, "table", b.t);
        b.t = NULL;
    }
    goto out;

nomem_rc:
    if (rc != QIB_ENOMEM)
        goto out;
nomem:
    rc = qib_fail(step, QIB_ENOMEM, "out of memory (%zu analysed voxels x %zu frames)", nv, nt);
out:
    free_bufs(&b);
    return rc;
}

static const struct qib_param params[] = {
    {.name = "te_ms", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct dsc, te_ms),
     .def = "0", .min = 0, .max = 1000, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "ms",
     .help = "echo time in ms of the gradient-echo series; 0 takes it from the image's "
             "metadata dicom.echo_time_ms (DICOM (0018,0081)); the consensus protocol "
             "uses 40-50 ms at 1.5 T and 20-35 ms at 3 T"},
    {.name = "tr_s", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct dsc, tr_s),
     .def = "0", .min = 0, .max = 60, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "s",
     .help = "time between frames in s; 0 takes the frame times from the metadata "
             "(dicom.frame_times_s, else the NIfTI time step pixdim[4] in s or ms)"},
    {.name = "frame_times", .type = QIB_PARAM_DLIST,
     .offset = offsetof(struct dsc, frame_times), .min = 0, .flags = QIB_PARAM_MIN,
     .unit = "s",
     .help = "start time in s of every frame, increasing, for unevenly spaced frames; "
             "overrides tr_s and the metadata"},
    {.name = "skip_frames", .type = QIB_PARAM_INT, .offset = offsetof(struct dsc, skip),
     .def = "3", .min = 0, .max = 1000, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .unit = "frames",
     .help = "frames dropped at the start, before the magnetisation reaches its steady "
             "state; they enter neither baseline nor fit"},
    {.name = "baseline", .type = QIB_PARAM_DLIST, .offset = offsetof(struct dsc, baseline),
     .unit = "frame",
     .help = "[first, last] 0-based frames whose mean signal is S0; unset: from "
             "skip_frames to two frames before the bolus arrival, the first frame (walking "
             "back from the deepest whole-brain signal drop) whose drop exceeds 5 % of "
             "the peak drop"},
    {.name = "window", .type = QIB_PARAM_DLIST, .offset = offsetof(struct dsc, window),
     .unit = "frame",
     .help = "[first, last] 0-based frames of the CBV integral; unset: from the last "
             "baseline frame to the end chosen by integration"},
    {.name = "integration", .type = QIB_PARAM_ENUM, .offset = offsetof(struct dsc, integration),
     .def = "first_pass", .choices = integration_names,
     .help = "end of the CBV integral when window is unset: first_pass (the first frame "
             "after the whole-brain dR2* peak at or below 10 % of the peak, or where its "
             "3-frame moving average rises again) or all (the last frame)"},
    {.name = "leakage", .type = QIB_PARAM_ENUM, .offset = offsetof(struct dsc, leakage),
     .def = "bsw", .choices = leakage_names,
     .help = "leakage correction: none, bsw (Boxerman-Schmainda-Weisskoff, unidirectional "
             "extravasation) or bidirectional (Leu et al. 2016, with a backflux rate kep)"},
    {.name = "aif_curve", .type = QIB_PARAM_DLIST, .offset = offsetof(struct dsc, aif_curve),
     .unit = "1/s",
     .help = "arterial dR2* (or concentration in any unit proportional to it) at every "
             "frame; with it, or the aif mask, CBV is absolute in mL/100 g"},
    {.name = "hct_large", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct dsc, hct_large),
     .def = "0.45", .min = 0, .max = 0.99, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "large-vessel haematocrit (absolute CBV only): plasma fraction 1 - hct of "
             "the arterial curve"},
    {.name = "hct_small", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct dsc, hct_small),
     .def = "0.25", .min = 0, .max = 0.99, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "capillary haematocrit (absolute CBV only); (1 - hct_large)/(1 - hct_small) "
             "is the factor kH, 0.733 by default"},
    {.name = "density", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct dsc, density),
     .def = "1.04", .min = 0.1, .max = 10, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .unit = "g/mL",
     .help = "brain tissue density in g/mL (absolute CBV only) turning mL/mL into "
             "mL/100 g; 1 reports mL/100 mL"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "image", .kind = QIB_OBJ_VOLUME,
     .help = "4-D gradient-echo DSC series (x, y, z, time), signal intensities"},
    {.name = "mask", .kind = QIB_OBJ_MASK,
     .help = "brain mask: the whole-brain curves that find the baseline and the first pass"},
    {.name = "roi", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL,
     .help = "lesion labels (enhancing tumour): one table row per label; left out of the "
             "default reference"},
    {.name = "reference", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL,
     .help = "non-enhancing brain whose mean dR2* is the leakage reference curve; "
             "default: the brain mask outside roi"},
    {.name = "nawm", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL,
     .help = "contralateral normal-appearing white matter: rCBV = CBV / its mean CBV"},
    {.name = "aif", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL,
     .help = "arterial voxels: their mean dR2* is the arterial input of absolute CBV"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "cbv_corr", .kind = QIB_OBJ_VOLUME,
     .help = "leakage-corrected CBV map (a.u., or mL/100 g with an AIF); NaN where the "
             "signal is not positive"},
    {.name = "cbv", .kind = QIB_OBJ_VOLUME, .help = "uncorrected CBV map, same unit"},
    {.name = "k2", .kind = QIB_OBJ_VOLUME,
     .help = "leakage map K2 in 1/s: > 0 T1-dominant, < 0 T2*-dominant extravasation"},
    {.name = "rcbv_corr", .kind = QIB_OBJ_VOLUME, .flags = QIB_PORT_OPTIONAL,
     .help = "corrected CBV / NAWM mean corrected CBV (set when nawm is wired)"},
    {.name = "table", .kind = QIB_OBJ_TABLE,
     .help = "rows brain, reference, nawm, aif, roi (per label): voxels, CBV and rCBV "
             "mean/median before and after correction, K2 and kep, TE, baseline and "
             "window frames and times, leakage model"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_BIO,
    .name = "dsc",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "DSC-MRI perfusion: dR2* curves, leakage-corrected CBV and K2 maps "
               "(Boxerman-Schmainda-Weisskoff), rCBV normalised to NAWM, absolute CBV "
               "with an AIF",
    .citation = "Boxerman JL, Schmainda KM, Weisskoff RM. Relative cerebral blood volume "
                "maps corrected for contrast agent extravasation significantly correlate "
                "with glioma tumor grade, whereas uncorrected maps do not. AJNR 2006;27:"
                "859-867. Boxerman JL et al. Consensus recommendations for a dynamic "
                "susceptibility contrast MRI protocol for use in high-grade gliomas. "
                "Neuro-Oncology 2020;22:1262-1275. Leu K et al. AJNR 2016;37:1440-1446 "
                "(bidirectional)",
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct dsc),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
