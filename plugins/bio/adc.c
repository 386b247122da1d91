/* bio.adc: apparent diffusion coefficient maps from a 4-D diffusion series,
 * mono-exponential S(b) = S0 exp(-b ADC) fitted voxel by voxel (two-point,
 * log-linear or weighted least squares), with flags, clipping, ADC
 * statistics per mask label and a QIBA ice-water phantom QA mode. */
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

/* GCC's -O2 vectoriser (the "very cheap" cost model) leaves the per-voxel
 * loops below scalar; the dynamic model runs them two doubles at a time.
 * Element-wise arithmetic only, no reassociation, SSE2 (the x86-64
 * baseline): the same bits as the scalar code on any CPU. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=dynamic")
#endif

enum model { M_LLS, M_WLS, M_TWO_POINT };
enum units { U_MILLI, U_SI };
enum qa { QA_NONE, QA_ICE_WATER };

struct adc {
    int model;                /* enum model */
    struct qib_dlist bvalues; /* s/mm^2, one per frame; empty: from metadata */
    double bmin, bmax;        /* s/mm^2 */
    struct qib_dlist use_b;   /* s/mm^2; empty: bmin..bmax */
    int64_t repeats;
    double floor;             /* image units */
    double clip_min, clip_max; /* mm^2/s */
    int units;                /* enum units */
    int qa;                   /* enum qa */
    double qa_reference;      /* mm^2/s */
};

/* Flag codes of the flags map. */
enum flag {
    F_FITTED = 0,
    F_FLOOR = 1,    /* a signal entering the fit is below the noise floor or <= 0 */
    F_NO_DECAY = 2, /* signal at the highest b >= signal at the lowest b */
    F_CLIP_LOW = 3, /* fitted, ADC below clip_min: set to clip_min */
    F_CLIP_HIGH = 4 /* fitted, ADC above clip_max: set to clip_max */
};

/* b-values closer than this (s/mm^2) are the same b-value: scanners write
 * 799.998 for 800. */
#define B_TOL 0.5
/* Voxels per block of the fit: a block's signals (frames x BLK doubles)
 * stay in the L2 cache, and the inner loops run over voxels so that they
 * vectorise. */
#define BLK ((size_t)1024)
#define NSLOT 256
/* Frames in a series: enough for any clinical protocol, small enough that
 * a block's scratch stays in cache. */
#define MAX_FRAMES 1024

static const char *const model_names[] = {"lls", "wls", "two_point", NULL};
static const char *const unit_names[] = {"1e-3mm2/s", "mm2/s", NULL};
static const char *const qa_names[] = {"none", "ice_water", NULL};

/* ---- the fit ---- */

/* What the voxel loop needs: the frames that enter the quality measure
 * (q), those among them that enter the fit (fit[q]), the precomputed
 * design, and where the results go (any output may be NULL). */
struct job {
    const qib_volume *img;
    size_t nvox3;
    int model;
    size_t nq;
    const size_t *frame; /* [nq] frame index in the 4th dimension */
    const double *b;     /* [nq] b-value, s/mm^2 */
    const double *c;     /* [nq] LLS slope weights (b - mean b) / Sbb; 0 if not fitted */
    const int *fit;      /* [nq] 1 when the frame enters the fit */
    const int *lo, *hi;  /* [nq] 1 at the lowest / highest b-value */
    size_t nfit, nlo, nhi;
    double bmean;        /* mean b of the fitted frames */
    double sbb;          /* sum of (b - bmean)^2 over the fitted frames */
    double floor, clip_min, clip_max, scale;
    float *adc, *s0, *r2;
    uint8_t *flags;
    uint8_t *failed; /* [nblocks]: 1 when a block's scratch could not be had */
};

/* Per-voxel accumulators of one block: separate arrays, each loop over
 * voxels touching a few of them, so that the loops vectorise. */
struct acc {
    double *restrict slope, *restrict icpt, *restrict a1, *restrict a2, *restrict a3,
        *restrict a4, *restrict fl;
};

/* ln S for every sample: the one logarithm per sample.  Flagged voxels'
 * non-positive signals get a harmless 0. */
static void log_signal(const double *restrict s, double *restrict y, size_t n)
{
    for (size_t v = 0; v < n; v++)
        y[v] = s[v] > 0 ? log(s[v]) : 0.0;
}

/* Ordinary least squares on the log-signal: the design is the same for
 * every voxel, so the slope is a fixed weighted sum of the ln S.  The
 * two-point estimate is this fit on the lowest and highest b-values.  The
 * sums run on d = y - y_first (the first fitted frame), which leaves the
 * slope unchanged (the weights sum to 0) and keeps sum d^2 free of
 * cancellation; when every selected frame is fitted, the R^2 sums follow
 * without a second pass: SStot = sum d^2 - (sum d)^2 / n and SSres = SStot
 * - slope^2 Sbb (a2 and a4, as quality() leaves them). */
static void fit_lls(const struct job *j, const double *y, size_t n, struct acc *A)
{
    double *restrict slope = A->slope, *restrict icpt = A->icpt, *restrict sd = A->a1,
                     *restrict sd2 = A->a3;
    const double *restrict y0 = NULL;
    for (size_t v = 0; v < n; v++)
        slope[v] = sd[v] = sd2[v] = 0;
    for (size_t q = 0; q < j->nq; q++) {
        if (!j->fit[q])
            continue;
        const double *restrict yq = y + q * n;
        if (!y0) {
            y0 = yq;
            continue; /* d = 0 adds nothing */
        }
        double c = j->c[q];
        for (size_t v = 0; v < n; v++) {
            double d = yq[v] - y0[v];
            slope[v] += c * d;
            sd[v] += d;
            sd2[v] += d * d;
        }
    }
    double inv = 1.0 / (double)j->nfit, bm = j->bmean, sbb = j->sbb;
    for (size_t v = 0; v < n; v++)
        icpt[v] = y0[v] + sd[v] * inv - slope[v] * bm;
    if (j->nfit == j->nq) {
        double *restrict sst = A->a2, *restrict ssr = A->a4;
        for (size_t v = 0; v < n; v++) {
            sst[v] = sd2[v] - sd[v] * sd[v] * inv;
            double r = sst[v] - slope[v] * slope[v] * sbb;
            ssr[v] = r > 0 ? r : 0.0; /* exact data: rounding may go below 0 */
        }
    }
}

/* Weighted least squares with w = S^2 (the variance of ln S is about
 * sigma^2 / S^2): the weighted normal equations in the centred b, which are
 * better conditioned than b itself. */
static void fit_wls(const struct job *j, const double *sig, const double *y, size_t n,
                    struct acc *A)
{
    double *restrict w0 = A->a1, *restrict w1 = A->a2, *restrict w2 = A->a3,
                     *restrict wy = A->a4, *restrict wby = A->slope, *restrict icpt = A->icpt;
    for (size_t v = 0; v < n; v++)
        w0[v] = w1[v] = w2[v] = wy[v] = wby[v] = 0;
    for (size_t q = 0; q < j->nq; q++) {
        if (!j->fit[q])
            continue;
        const double *restrict s = sig + q * n, *restrict yq = y + q * n;
        double b = j->b[q] - j->bmean;
        for (size_t v = 0; v < n; v++) {
            double w = s[v] * s[v];
            w0[v] += w;
            w1[v] += w * b;
            w2[v] += w * b * b;
            wy[v] += w * yq[v];
            wby[v] += w * b * yq[v];
        }
    }
    double bm = j->bmean;
    for (size_t v = 0; v < n; v++) {
        double det = w0[v] * w2[v] - w1[v] * w1[v];
        double sl = det > 0 ? (w0[v] * wby[v] - w1[v] * wy[v]) / det : NAN;
        wby[v] = sl; /* the slope array */
        icpt[v] = (wy[v] - sl * w1[v]) / w0[v] - sl * bm;
    }
}

/* R^2 of ln S over every selected frame (weighted by S^2 for WLS): a1 gets
 * the residual sum of squares, a2 the total sum of squares. */
static void quality(const struct job *j, const double *sig, const double *y, size_t n,
                    struct acc *A)
{
    double *restrict sw = A->a1, *restrict swy = A->a2, *restrict mean = A->a3,
                     *restrict ssr = A->a4;
    const double *restrict slope = A->slope, *restrict icpt = A->icpt;
    int wls = j->model == M_WLS;
    for (size_t v = 0; v < n; v++)
        sw[v] = swy[v] = 0;
    for (size_t q = 0; q < j->nq; q++) {
        const double *restrict s = sig + q * n, *restrict yq = y + q * n;
        if (wls)
            for (size_t v = 0; v < n; v++) {
                sw[v] += s[v] * s[v];
                swy[v] += s[v] * s[v] * yq[v];
            }
        else
            for (size_t v = 0; v < n; v++)
                swy[v] += yq[v];
    }
    for (size_t v = 0; v < n; v++) {
        mean[v] = swy[v] / (wls ? sw[v] : (double)j->nq);
        ssr[v] = swy[v] = 0;
    }
    double *restrict sst = swy;
    for (size_t q = 0; q < j->nq; q++) {
        const double *restrict s = sig + q * n, *restrict yq = y + q * n;
        double b = j->b[q];
        if (wls)
            for (size_t v = 0; v < n; v++) {
                double r = yq[v] - (icpt[v] + slope[v] * b), d = yq[v] - mean[v];
                ssr[v] += s[v] * s[v] * r * r;
                sst[v] += s[v] * s[v] * d * d;
            }
        else
            for (size_t v = 0; v < n; v++) {
                double r = yq[v] - (icpt[v] + slope[v] * b), d = yq[v] - mean[v];
                ssr[v] += r * r;
                sst[v] += d * d;
            }
    }
}

static void fit_block(void *arg, size_t blk, size_t begin, size_t end)
{
    const struct job *j = arg;
    /* Every loop runs over a whole block, a compile-time count, so that
     * the compiler vectorises it even at -O2; the tail of a short last
     * block holds a harmless signal of 1. */
    size_t nr = end - begin, n = BLK, nq = j->nq;
    /* sig, y: nq x n; then the seven per-voxel arrays of struct acc */
    double *mem = malloc((2 * nq + 7) * n * sizeof *mem);
    if (!mem) {
        j->failed[blk] = 1;
        return;
    }
    double *sig = mem, *y = mem + nq * n;
    double *base = y + nq * n;
    struct acc A = {.slope = base, .icpt = base + n, .a1 = base + 2 * n, .a2 = base + 3 * n,
                    .a3 = base + 4 * n, .a4 = base + 5 * n, .fl = base + 6 * n};
    int f32 = qib_volume_dtype(j->img) == QIB_F32;
    for (size_t q = 0; q < nq; q++) {
        double *restrict sq = sig + q * n;
        size_t at = j->frame[q] * j->nvox3 + begin;
        if (f32) { /* the common case, converted here without a call */
            const float *restrict src = (const float *)qib_volume_data(j->img) + at;
            for (size_t v = 0; v < nr; v++)
                sq[v] = (double)src[v];
        } else {
            qib_volume_get_range(j->img, at, nr, sq);
        }
        for (size_t v = nr; v < n; v++)
            sq[v] = 1.0;
    }

    /* Flags before any logarithm: below the floor (or not positive, where
     * ln S does not exist), then no net decay from the lowest b-value to
     * the highest. */
    {
        double *restrict fl = A.fl, *restrict slo = A.a1, *restrict shi = A.a2;
        for (size_t v = 0; v < n; v++)
            fl[v] = 0, slo[v] = 0, shi[v] = 0;
        for (size_t q = 0; q < nq; q++) {
            const double *restrict s = sig + q * n;
            double fv = j->floor;
            for (size_t v = 0; v < n; v++)
                fl[v] = s[v] >= fv && s[v] > 0 ? fl[v] : F_FLOOR;
            if (j->lo[q])
                for (size_t v = 0; v < n; v++)
                    slo[v] += s[v];
            if (j->hi[q])
                for (size_t v = 0; v < n; v++)
                    shi[v] += s[v];
        }
        double ilo = 1.0 / (double)j->nlo, ihi = 1.0 / (double)j->nhi;
        for (size_t v = 0; v < n; v++)
            fl[v] = fl[v] == 0 && shi[v] * ihi >= slo[v] * ilo ? F_NO_DECAY : fl[v];
    }
    for (size_t q = 0; q < nq; q++)
        log_signal(sig + q * n, y + q * n, n);
    if (j->model == M_WLS)
        fit_wls(j, sig, y, n, &A);
    else
        fit_lls(j, y, n, &A);
    /* R^2: fit_lls has the sums when every selected frame was fitted */
    if (j->r2 && (j->model == M_WLS || j->nfit != j->nq))
        quality(j, sig, y, n, &A);

    for (size_t v = 0; v < nr; v++) {
        size_t i = begin + v;
        uint8_t f = (uint8_t)A.fl[v];
        double adc = -A.slope[v];
        if (f == F_FITTED && !isfinite(adc))
            f = F_FLOOR; /* a degenerate weighted design: nothing to fit */
        if (f == F_FITTED && adc < j->clip_min)
            adc = j->clip_min, f = F_CLIP_LOW;
        else if (f == F_FITTED && adc > j->clip_max)
            adc = j->clip_max, f = F_CLIP_HIGH;
        int ok = f == F_FITTED || f == F_CLIP_LOW || f == F_CLIP_HIGH;
        if (j->adc)
            j->adc[i] = ok ? (float)(adc * j->scale) : NAN;
        if (j->s0)
            j->s0[i] = ok ? (float)exp(A.icpt[v]) : NAN;
        if (j->r2)
            j->r2[i] = ok && A.a2[v] > 0 ? (float)(1.0 - A.a4[v] / A.a2[v]) : NAN;
        j->flags[i] = f;
    }
    free(mem);
}

/* ---- b-values and frame selection ---- */

/* b-values from the "dicom.b_values" metadata ("0 500 1000", as read.dicom
 * writes it; commas are accepted too).  Returns the count, or -1 when a
 * value is not a number. */
static int parse_blist(const char *s, double *out, size_t max, size_t *n)
{
    char tok[64];
    size_t k = 0;
    while (*s) {
        while (*s == ' ' || *s == ',' || *s == '\t')
            s++;
        if (!*s)
            break;
        size_t l = 0;
        while (s[l] && s[l] != ' ' && s[l] != ',' && s[l] != '\t')
            l++;
        if (l >= sizeof tok || k == max)
            return -1;
        memcpy(tok, s, l);
        tok[l] = '\0';
        if (qib_parse_double(tok, &out[k]) != QIB_OK)
            return -1;
        k++;
        s += l;
    }
    *n = k;
    return 0;
}

static int same_b(double a, double b)
{
    return fabs(a - b) <= B_TOL;
}

/* The design of one fit: frames of repeat @p rep (or all when rep < 0)
 * whose b-values are selected. */
struct design {
    size_t nq, nfit, nlo, nhi;
    size_t frame[MAX_FRAMES];
    double b[MAX_FRAMES], c[MAX_FRAMES];
    int fit[MAX_FRAMES], lo[MAX_FRAMES], hi[MAX_FRAMES];
    double bmean, sbb, blo, bhi;
};

static int selected(const struct adc *p, double b)
{
    if (p->use_b.n) {
        for (size_t k = 0; k < p->use_b.n; k++)
            if (same_b(b, p->use_b.v[k]))
                return 1;
        return 0;
    }
    return b >= p->bmin - B_TOL && b <= p->bmax + B_TOL;
}

static void make_design(const struct adc *p, const double *bv, size_t nt, size_t per, long rep,
                        struct design *d)
{
    d->nq = 0;
    for (size_t t = 0; t < nt; t++) {
        if (rep >= 0 && t / per != (size_t)rep)
            continue;
        if (!selected(p, bv[t]))
            continue;
        d->frame[d->nq] = t;
        d->b[d->nq] = bv[t];
        d->nq++;
    }
    d->blo = INFINITY;
    d->bhi = -INFINITY;
    for (size_t q = 0; q < d->nq; q++) {
        d->blo = fmin(d->blo, d->b[q]);
        d->bhi = fmax(d->bhi, d->b[q]);
    }
    d->nfit = d->nlo = d->nhi = 0;
    double sb = 0;
    for (size_t q = 0; q < d->nq; q++) {
        d->lo[q] = same_b(d->b[q], d->blo);
        d->hi[q] = same_b(d->b[q], d->bhi);
        d->fit[q] = p->model != M_TWO_POINT || d->lo[q] || d->hi[q];
        d->nlo += (size_t)d->lo[q];
        d->nhi += (size_t)d->hi[q];
        if (d->fit[q]) {
            d->nfit++;
            sb += d->b[q];
        }
    }
    d->bmean = d->nfit ? sb / (double)d->nfit : 0;
    double sbb = 0;
    for (size_t q = 0; q < d->nq; q++)
        if (d->fit[q])
            sbb += (d->b[q] - d->bmean) * (d->b[q] - d->bmean);
    d->sbb = sbb;
    for (size_t q = 0; q < d->nq; q++)
        d->c[q] = d->fit[q] && sbb > 0 ? (d->b[q] - d->bmean) / sbb : 0;
}

static int run_fit(qib_step *step, const struct adc *p, const qib_volume *img,
                   const struct design *d, float *adc, float *s0, float *r2, uint8_t *flags)
{
    size_t nvox3 = qib_geom_frame_nvox(qib_volume_geom(img));
    size_t nb = qib_nblocks(nvox3, BLK);
    uint8_t *failed = calloc(nb ? nb : 1, 1);
    if (!failed)
        return qib_fail(step, QIB_ENOMEM, "out of memory");
    struct job j = {
        .img = img, .nvox3 = nvox3, .model = p->model, .nq = d->nq, .frame = d->frame,
        .b = d->b, .c = d->c, .fit = d->fit, .lo = d->lo, .hi = d->hi, .nfit = d->nfit,
        .nlo = d->nlo, .nhi = d->nhi, .bmean = d->bmean, .sbb = d->sbb, .floor = p->floor,
        .clip_min = p->clip_min, .clip_max = p->clip_max,
        .scale = p->units == U_MILLI ? 1e3 : 1.0, .adc = adc, .s0 = s0, .r2 = r2,
        .flags = flags, .failed = failed,
    };
    int rc = qib_parallel_for(qib_step_pool(step), nvox3, BLK, fit_block, &j);
    for (size_t k = 0; rc == QIB_OK && k < nb; k++)
        if (failed[k])
            rc = QIB_ENOMEM;
    free(failed);
    if (rc == QIB_ENOMEM)
        return qib_fail(step, rc, "out of memory");
    if (rc)
        return qib_fail(step, rc, "the voxel loop failed: %s", qib_strerror(rc));
    return QIB_OK;
}

/* ---- statistics ---- */

/* Transparent huge pages for the @p bytes at @p p: a 256x256x40 float map
 * is 2600 small pages, each a fault when first written.  Advice only:
 * failure is harmless. */
static void advise_huge(void *p, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const size_t huge = (size_t)2 << 20;
    uintptr_t a = (uintptr_t)p, e = a + bytes;
    a = (a + huge - 1) / huge * huge;
    if (e >= a + huge)
        madvise((void *)a, (e - a) / huge * huge, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

/* A buffer for the statistics (freed with free()), aligned for huge
 * pages. */
static void *alloc_big(size_t bytes)
{
    const size_t huge = (size_t)2 << 20;
    if (bytes < huge)
        return malloc(bytes ? bytes : 1);
    if (bytes > SIZE_MAX - huge)
        return NULL;
    size_t n = (bytes + huge - 1) / huge * huge;
    void *p = aligned_alloc(huge, n);
    if (p)
        advise_huge(p, n);
    return p;
}

struct lstat {
    size_t voxels, n, floor, no_decay, clip_low, clip_high;
    double mean, median, sd, min, max;
};

/* The k-th smallest of a[0, n) (Hoare's selection, median-of-three pivot),
 * reordering a: linear on average where a sort of a whole-image ROI would
 * dominate the run.  Equal values stop both scans, so a constant region is
 * split evenly. */
static float select_k(float *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        float x = a[lo], y = a[mid], z = a[hi];
        float piv = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        size_t i = lo, j = hi;
        for (;;) {
            while (a[i] < piv)
                i++;
            while (a[j] > piv)
                j--;
            if (i >= j)
                break;
            float t = a[i];
            a[i] = a[j];
            a[j] = t;
            i++;
            j--;
        }
        /* a[lo..j] <= piv <= a[j+1..hi] */
        if (k <= j)
            hi = j;
        else
            lo = j + 1;
    }
    return a[k];
}

/* Mean and SD of v[0, n), n >= 1, summed in the order of v. */
static void moments(const float *v, size_t n, struct lstat *st)
{
    double s = 0;
    for (size_t k = 0; k < n; k++)
        s += v[k];
    st->mean = s / (double)n;
    double s2 = 0;
    for (size_t k = 0; k < n; k++)
        s2 += ((double)v[k] - st->mean) * ((double)v[k] - st->mean);
    st->sd = sqrt(s2 / (double)n);
}

/* Median of a[0, n) (reordered), n >= 1: the middle value, or the mean of
 * the two middle ones. */
static double median_of(float *a, size_t n)
{
    size_t h = n / 2;
    double upper = select_k(a, n, h);
    if (n % 2)
        return upper;
    /* the lower middle is the largest of what selection left below */
    float below = a[0];
    for (size_t k = 1; k < h; k++)
        below = a[k] > below ? a[k] : below;
    return 0.5 * ((double)below + upper);
}

/* Bins of the histogram that narrows a large label's median down. */
#define MBINS 4096
/* Labels with fewer values are copied and selected whole. */
#define MSMALL ((size_t)1 << 14)

/* Integer key of a finite float in the same order: x < y gives key(x) <
 * key(y) (and -0 comes just before +0). */
static uint32_t fkey(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u & 0x80000000u ? ~u : u | 0x80000000u;
}

/* Median of the finite values v[0, n) (left as they are), n >= 1, whose
 * smallest and largest are lo and hi, exact: a histogram of their keys
 * finds the bins that hold the middle ranks, whose values alone go to
 * @p tmp (room for n) for the selection.  Integer work only, which is what
 * keeps this pass short next to the sums of moments(). */
static double median(const float *v, size_t n, float lo, float hi, float *tmp)
{
    uint32_t klo = fkey(lo), khi = fkey(hi);
    if (n <= MSMALL || n > UINT32_MAX) {
        memcpy(tmp, v, n * sizeof *v);
        return median_of(tmp, n);
    }
    if (klo == khi)
        return lo;
    unsigned shift = 0;
    while (((khi - klo) >> shift) >= MBINS)
        shift++;
    /* two histograms, alternate values: runs of equal values (a noise-free
     * region) do not wait on one counter */
    uint32_t(*h2)[MBINS] = calloc(2, sizeof *h2);
    if (!h2) { /* no room for the histogram: select the whole copy */
        memcpy(tmp, v, n * sizeof *v);
        return median_of(tmp, n);
    }
    size_t k = 0;
    for (; k + 1 < n; k += 2) {
        h2[0][(fkey(v[k]) - klo) >> shift]++;
        h2[1][(fkey(v[k + 1]) - klo) >> shift]++;
    }
    if (k < n)
        h2[0][(fkey(v[k]) - klo) >> shift]++;
    uint32_t *cnt = h2[0];
    for (int b = 0; b < MBINS; b++)
        cnt[b] += h2[1][b];
    /* ranks wanted: (n - 1) / 2 and n / 2 (the same for odd n) */
    size_t r0 = (n - 1) / 2, r1 = n / 2, below = 0, b0 = 0;
    while (below + cnt[b0] <= r0)
        below += cnt[b0++];
    size_t b1 = b0, upto = below + cnt[b0];
    while (upto <= r1)
        upto += cnt[++b1];
    free(h2);
    /* the keys of bins b0..b1: [ka, ka + span] */
    uint32_t ka = klo + (uint32_t)(b0 << shift);
    uint64_t end = ((uint64_t)(b1 + 1) << shift) - 1;
    uint32_t span = end < (uint64_t)(khi - klo) ? (uint32_t)end - (uint32_t)(b0 << shift)
                                                : khi - ka;
    size_t m = 0;
    for (k = 0; k < n; k++)
        if (fkey(v[k]) - ka <= span)
            tmp[m++] = v[k];
    double x1 = select_k(tmp, m, r1 - below);
    if (r0 == r1)
        return x1;
    /* rank r0 = r1 - 1 >= below: the largest of the gathered values that
     * selection left below rank r1 */
    float x0 = tmp[0];
    for (k = 1; k < r1 - below; k++)
        x0 = tmp[k] > x0 ? tmp[k] : x0;
    return 0.5 * ((double)x0 + x1);
}

/* Voxels per block of the statistics passes: each block keeps its own
 * label counts (NSLOT x 5, a few kB), and the blocks are fixed whatever the
 * thread count. */
#define SBLK ((size_t)1 << 16)

/* The statistics passes: per-block counts of each label by flag, then each
 * block's values gathered at offsets that keep every label's values in
 * voxel order, then one summary per label. */
struct sjob {
    const float *adc;
    const uint8_t *flags, *m;
    float *buf, *tmp;          /* tmp: room for every value, for the medians */
    uint32_t (*cnt)[NSLOT][5]; /* [block][label][flag] */
    size_t (*off)[NSLOT];      /* [block][label]: where its values go in buf */
    float (*lo)[NSLOT], (*hi)[NSLOT]; /* [block][label]: smallest, largest value */
    size_t *seg;               /* [NSLOT]: start of each label's values in buf */
    struct lstat *st;
};

static void count_block(void *arg, size_t blk, size_t begin, size_t end)
{
    const struct sjob *s = arg;
    uint32_t(*c)[5] = s->cnt[blk];
    memset(c, 0, sizeof s->cnt[blk]);
    /* flags are 0..4 (enum flag), so they index the counts directly */
    if (s->m)
        for (size_t i = begin; i < end; i++)
            c[s->m[i]][s->flags[i]]++;
    else
        for (size_t i = begin; i < end; i++)
            c[0][s->flags[i]]++;
}

static void gather_block(void *arg, size_t blk, size_t begin, size_t end)
{
    const struct sjob *s = arg;
    size_t *off = s->off[blk];
    float *lo = s->lo[blk], *hi = s->hi[blk];
    for (size_t l = 0; l < NSLOT; l++)
        lo[l] = INFINITY, hi[l] = -INFINITY;
    /* the current label's offset and extremes stay in registers: labels
     * come in long runs, and a store and reload per voxel would chain */
    unsigned cur = s->m ? s->m[begin] : 0;
    size_t o = off[cur];
    float l0 = INFINITY, h0 = -INFINITY;
    for (size_t i = begin; i < end; i++) {
        if (s->flags[i] == F_FLOOR || s->flags[i] == F_NO_DECAY)
            continue;
        unsigned l = s->m ? s->m[i] : 0;
        if (l != cur) {
            off[cur] = o, lo[cur] = l0, hi[cur] = h0;
            cur = l, o = off[l], l0 = lo[l], h0 = hi[l];
        }
        float x = s->adc[i];
        s->buf[o++] = x;
        l0 = x < l0 ? x : l0;
        h0 = x > h0 ? x : h0;
    }
    off[cur] = o, lo[cur] = l0, hi[cur] = h0;
}

/* Task 2 l: label l's mean and SD; task 2 l + 1: its median.  Neither
 * reorders the label's values, so both run at once. */
static void summary_block(void *arg, size_t blk, size_t begin, size_t end)
{
    const struct sjob *s = arg;
    (void)blk;
    for (size_t t = begin; t < end; t++) {
        struct lstat *st = &s->st[t / 2];
        const float *v = s->buf + s->seg[t / 2];
        if (!st->n) {
            if (t % 2)
                st->median = NAN;
            else
                st->mean = st->sd = NAN;
        } else if (t % 2) {
            st->median = median(v, st->n, (float)st->min, (float)st->max,
                                s->tmp + s->seg[t / 2]);
        } else {
            moments(v, st->n, st);
        }
    }
}

/* Statistics of every label (st[0] the whole image when @p m is NULL) over
 * the fitted voxels, clipped ones at their clipped value, each label's
 * values gathered into its segment of @p buf (room for every voxel).  The
 * values of a label stay in voxel order and each label is summed by one
 * thread: the result does not depend on the thread count. */
static int all_stats(qib_pool *pool, const float *adc, const uint8_t *flags, const uint8_t *m,
                     size_t nvox3, float *buf, struct lstat *st)
{
    size_t nb = qib_nblocks(nvox3, SBLK);
    struct sjob s = {.adc = adc, .flags = flags, .m = m, .buf = buf, .st = st};
    size_t seg[NSLOT];
    s.seg = seg;
    s.cnt = malloc((nb ? nb : 1) * sizeof *s.cnt);
    s.off = malloc((nb ? nb : 1) * sizeof *s.off);
    s.lo = malloc((nb ? nb : 1) * sizeof *s.lo);
    s.hi = malloc((nb ? nb : 1) * sizeof *s.hi);
    s.tmp = alloc_big(nvox3 * sizeof *s.tmp);
    int rc = QIB_ENOMEM;
    if (!s.cnt || !s.off || !s.lo || !s.hi || !s.tmp)
        goto out;
    if ((rc = qib_parallel_for(pool, nvox3, SBLK, count_block, &s)))
        goto out;
    memset(st, 0, NSLOT * sizeof *st);
    for (size_t b = 0; b < nb; b++)
        for (size_t l = 0; l < NSLOT; l++) {
            const uint32_t *c = s.cnt[b][l];
            st[l].floor += c[F_FLOOR];
            st[l].no_decay += c[F_NO_DECAY];
            st[l].clip_low += c[F_CLIP_LOW];
            st[l].clip_high += c[F_CLIP_HIGH];
            st[l].n += (size_t)c[F_FITTED] + c[F_CLIP_LOW] + c[F_CLIP_HIGH];
            st[l].voxels += (size_t)c[F_FITTED] + c[F_FLOOR] + c[F_NO_DECAY] + c[F_CLIP_LOW] +
                            c[F_CLIP_HIGH];
        }
    size_t total = 0;
    for (size_t l = 0; l < NSLOT; l++) {
        seg[l] = total;
        for (size_t b = 0; b < nb; b++) {
            s.off[b][l] = total;
            total += (size_t)s.cnt[b][l][F_FITTED] + s.cnt[b][l][F_CLIP_LOW] +
                     s.cnt[b][l][F_CLIP_HIGH];
        }
    }
    if ((rc = qib_parallel_for(pool, nvox3, SBLK, gather_block, &s)))
        goto out;
    /* smallest and largest in block order, the first of equal ones kept:
     * as a scan in voxel order would find them */
    for (size_t l = 0; l < NSLOT; l++) {
        float lo = INFINITY, hi = -INFINITY;
        for (size_t b = 0; b < nb; b++) {
            lo = s.lo[b][l] < lo ? s.lo[b][l] : lo;
            hi = s.hi[b][l] > hi ? s.hi[b][l] : hi;
        }
        st[l].min = st[l].n ? lo : NAN;
        st[l].max = st[l].n ? hi : NAN;
    }
    rc = qib_parallel_for(pool, 2 * NSLOT, 1, summary_block, &s);
out:
    free(s.tmp);
    free(s.lo);
    free(s.hi);
    free(s.cnt);
    free(s.off);
    return rc;
}

/* ---- the step ---- */

static int check(qib_step *step, const void *priv)
{
    const struct adc *p = priv;
    if (!(p->bmin <= p->bmax))
        return qib_fail(step, QIB_EINVAL, "bmin (%g s/mm^2) is above bmax (%g s/mm^2)", p->bmin,
                        p->bmax);
    if (p->use_b.n && (p->bmin != 0 || !isinf(p->bmax)))
        return qib_fail(step, QIB_EINVAL,
                        "use_b and bmin/bmax both choose the b-values of the fit: give one "
                        "or the other");
    if (!(p->clip_min < p->clip_max))
        return qib_fail(step, QIB_EINVAL, "clip_min (%g mm^2/s) must be below clip_max (%g mm^2/s)",
                        p->clip_min, p->clip_max);
    if (p->qa == QA_ICE_WATER && !(p->qa_reference > 0))
        return qib_fail(step, QIB_EINVAL, "qa_reference: expected a true ADC above 0 mm^2/s, "
                        "found %g", p->qa_reference);
    for (size_t k = 0; k < p->bvalues.n; k++)
        if (!isfinite(p->bvalues.v[k]))
            return qib_fail(step, QIB_ERANGE, "bvalues: item %zu is %g: expected a finite "
                            "b-value in s/mm^2", k + 1, p->bvalues.v[k]);
    for (size_t k = 0; k < p->use_b.n; k++)
        if (!isfinite(p->use_b.v[k]))
            return qib_fail(step, QIB_ERANGE, "use_b: item %zu is %g: expected a finite "
                            "b-value in s/mm^2", k + 1, p->use_b.v[k]);
    if (p->bvalues.n > MAX_FRAMES)
        return qib_fail(step, QIB_ERANGE, "bvalues: at most %d b-values, found %zu", MAX_FRAMES,
                        p->bvalues.n);
    return QIB_OK;
}

struct cols {
    size_t label, voxels, n, floor, no_decay, clip_low, clip_high, mean, median, sd, min, max;
    size_t repeats, ref, bias, cv, rep_sd, wcv, rc;
};

static int add_columns(qib_table *t, const char *u, int qa, struct cols *c)
{
    int rc;
    if ((rc = qib_table_add_column(t, "label", QIB_COL_INT, NULL, NULL, &c->label)) ||
        (rc = qib_table_add_column(t, "voxels", QIB_COL_INT, NULL, NULL, &c->voxels)) ||
        (rc = qib_table_add_column(t, "n", QIB_COL_INT, NULL, NULL, &c->n)) ||
        (rc = qib_table_add_column(t, "flagged_floor", QIB_COL_INT, NULL, NULL, &c->floor)) ||
        (rc = qib_table_add_column(t, "flagged_no_decay", QIB_COL_INT, NULL, NULL, &c->no_decay)) ||
        (rc = qib_table_add_column(t, "clipped_low", QIB_COL_INT, NULL, NULL, &c->clip_low)) ||
        (rc = qib_table_add_column(t, "clipped_high", QIB_COL_INT, NULL, NULL, &c->clip_high)) ||
        (rc = qib_table_add_column(t, "adc_mean", QIB_COL_DOUBLE, u, "Q4LE", &c->mean)) ||
        (rc = qib_table_add_column(t, "adc_median", QIB_COL_DOUBLE, u, "Y12H", &c->median)) ||
        (rc = qib_table_add_column(t, "adc_sd", QIB_COL_DOUBLE, u, NULL, &c->sd)) ||
        (rc = qib_table_add_column(t, "adc_min", QIB_COL_DOUBLE, u, "1GSF", &c->min)) ||
        (rc = qib_table_add_column(t, "adc_max", QIB_COL_DOUBLE, u, "84IY", &c->max)))
        return rc;
    if (!qa)
        return QIB_OK;
    if ((rc = qib_table_add_column(t, "repeats", QIB_COL_INT, NULL, NULL, &c->repeats)) ||
        (rc = qib_table_add_column(t, "adc_reference", QIB_COL_DOUBLE, u, NULL, &c->ref)) ||
        (rc = qib_table_add_column(t, "bias_percent", QIB_COL_DOUBLE, "%", NULL, &c->bias)) ||
        (rc = qib_table_add_column(t, "cv_percent", QIB_COL_DOUBLE, "%", NULL, &c->cv)) ||
        (rc = qib_table_add_column(t, "repeat_sd", QIB_COL_DOUBLE, u, NULL, &c->rep_sd)) ||
        (rc = qib_table_add_column(t, "wcv_percent", QIB_COL_DOUBLE, "%", NULL, &c->wcv)) ||
        (rc = qib_table_add_column(t, "rc", QIB_COL_DOUBLE, u, NULL, &c->rc)))
        return rc;
    return QIB_OK;
}

/* Text of a list of b-values ("0 500 1000"). */
static void blist_text(const double *b, size_t n, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && k < len; i++) {
        int w = snprintf(buf + k, len - k, "%s%.6g", i ? " " : "", b[i]);
        if (w < 0)
            break;
        k += (size_t)w;
    }
}

/* A map the fit writes in full, so left uninitialised. */
static int new_map(const struct qib_geom *g4, enum qib_dtype t, qib_volume **out)
{
    struct qib_geom g = *g4;
    g.ndim = 3;
    g.dims[3] = 1;
    g.spacing[3] = 1.0;
    int rc = qib_volume_new_uninit(t, &g, out);
    if (rc == QIB_OK)
        advise_huge(qib_volume_data_mut(*out), qib_volume_nvox(*out) * qib_dtype_size(t));
    return rc;
}

static int set_map_meta(qib_volume *v, const qib_volume *img, const char *units,
                        const char *what, const char *method)
{
    qib_meta *m = qib_volume_meta_mut(v);
    const char *mod = qib_meta_get(qib_volume_meta(img), "modality");
    int rc = QIB_OK;
    if (mod)
        rc = qib_meta_set(m, "modality", mod, qib_meta_source(qib_volume_meta(img), "modality"));
    if (!rc && units)
        rc = qib_meta_set(m, "units", units, "bio.adc");
    if (!rc)
        rc = qib_meta_set(m, "quantity", what, "bio.adc");
    if (!rc)
        rc = qib_meta_set(m, "adc.method", method, "bio.adc");
    return rc;
}

struct work {
    float *adc, *s0, *r2, *buf, *radc;
    struct lstat *st; /* [NSLOT] */
    double *rmean; /* QA: [R][NSLOT] ROI means, then [R][NSLOT] within-ROI CVs */
    uint8_t *flags, *rflags;
    qib_volume *vadc, *vs0, *vr2, *vfl;
    qib_table *t;
};

static void work_free(struct work *w)
{
    free(w->buf);
    free(w->rmean);
    free(w->st);
    free(w->radc);
    free(w->rflags);
    qib_volume_unref(&w->vadc);
    qib_volume_unref(&w->vs0);
    qib_volume_unref(&w->vr2);
    qib_volume_unref(&w->vfl);
    qib_table_unref(&w->t);
}

static int run(qib_step *step, void *priv)
{
    const struct adc *p = priv;
    const qib_volume *img = qib_step_in_volume(step, "image");
    const qib_volume *msk = qib_step_in_volume(step, "mask");
    if (!img)
        return qib_fail(step, QIB_EINVAL, "image: no volume wired to the input");
    const struct qib_geom *g = qib_volume_geom(img);
    if (g->ndim < 4 || g->dims[3] < 2)
        return qib_fail(step, QIB_EINVAL,
                        "image: expected a 4-D diffusion series (x, y, z, b-value) with at "
                        "least two frames, found a %d-D volume of %zux%zux%zux%zu voxels",
                        g->ndim, g->dims[0], g->dims[1], g->dims[2], g->dims[3]);
    size_t nt = g->dims[3];
    if (nt > MAX_FRAMES)
        return qib_fail(step, QIB_EUNSUPPORTED, "image: %zu frames; at most %d are supported", nt,
                        MAX_FRAMES);
    if (msk) {
        const struct qib_geom *gm = qib_volume_geom(msk);
        if (qib_volume_dtype(msk) != QIB_U8 || !qib_volume_is_mask(msk))
            return qib_fail(step, QIB_EINVAL,
                            "mask: expected a u8 label image flagged as a mask, found a %s volume",
                            qib_dtype_name(qib_volume_dtype(msk)));
        if (gm->ndim == 4 && gm->dims[3] > 1)
            return qib_fail(step, QIB_EUNSUPPORTED,
                            "mask: a 4-D mask (%zu frames) is not supported: give a 3-D label "
                            "image", gm->dims[3]);
        if (qib_step_check_grid(step, "mask", msk, img) != QIB_OK)
            return QIB_EGEOMETRY;
    }

    /* b-values: the parameter wins over the metadata. */
    double bv[MAX_FRAMES];
    size_t nbv = 0;
    const char *bsrc;
    if (p->bvalues.n) {
        memcpy(bv, p->bvalues.v, p->bvalues.n * sizeof *bv);
        nbv = p->bvalues.n;
        bsrc = "parameter bvalues";
    } else {
        const char *s = qib_meta_get(qib_volume_meta(img), "dicom.b_values");
        if (!s)
            return qib_fail(step, QIB_EINVAL,
                            "image: no b-values: the image has no \"dicom.b_values\" metadata "
                            "(read.dicom writes it from (0018,9087)); give them with the "
                            "parameter bvalues, one per frame in s/mm^2");
        if (parse_blist(s, bv, MAX_FRAMES, &nbv) != 0 || nbv == 0)
            return qib_fail(step, QIB_EFORMAT,
                            "image: metadata dicom.b_values: expected numbers separated by "
                            "spaces, found \"%s\"", s);
        for (size_t k = 0; k < nbv; k++)
            if (!(bv[k] >= 0 && isfinite(bv[k])))
                return qib_fail(step, QIB_EFORMAT,
                                "image: metadata dicom.b_values: b-value %zu is %g: expected a "
                                "value >= 0 s/mm^2", k + 1, bv[k]);
        bsrc = "metadata dicom.b_values";
    }
    if (nbv != nt)
        return qib_fail(step, QIB_EINVAL,
                        "%s: %zu b-values for an image of %zu frames (its 4th dimension): "
                        "expected one b-value per frame", bsrc, nbv, nt);
    size_t R = (size_t)p->repeats;
    if (nt % R != 0)
        return qib_fail(step, QIB_EINVAL,
                        "repeats: %zu repeats do not divide the %zu frames of the image", R, nt);
    size_t per = nt / R;
    for (size_t t = per; t < nt; t++)
        if (!same_b(bv[t], bv[t % per]))
            return qib_fail(step, QIB_EINVAL,
                            "repeats: frame %zu has b = %g s/mm^2 but frame %zu of the first "
                            "repeat has b = %g: with repeats %zu the b-values must repeat "
                            "block by block", t + 1, bv[t], t % per + 1, bv[t % per], R);

    struct design *d = malloc(sizeof *d);
    if (!d)
        return qib_fail(step, QIB_ENOMEM, "out of memory");
    make_design(p, bv, nt, per, -1, d);
    char used[2048], all[2048];
    blist_text(bv, nt, all, sizeof all);
    if (!(d->bhi - d->blo > B_TOL)) {
        int rc = qib_fail(step, QIB_EINVAL,
                          "%s: fewer than two different b-values enter the fit (the image's: "
                          "%s; selection: %s): expected at least two",
                          p->use_b.n ? "use_b" : "bmin/bmax", all,
                          p->use_b.n ? "use_b" : "bmin..bmax");
        free(d);
        return rc;
    }
    {
        double ub[MAX_FRAMES];
        size_t k = 0;
        for (size_t q = 0; q < d->nq; q++)
            if (d->fit[q])
                ub[k++] = d->b[q];
        blist_text(ub, k, used, sizeof used);
    }

    struct work w = {0};
    size_t nvox3 = qib_geom_frame_nvox(g);
    const char *units = p->units == U_MILLI ? "1e-3 mm2/s" : "mm2/s";
    double scale = p->units == U_MILLI ? 1e3 : 1.0;
    char method[2400];
    snprintf(method, sizeof method, "%s fit of S0 exp(-b ADC), b = %s s/mm^2",
             model_names[p->model], used);
    int rc;
    if ((rc = new_map(g, QIB_F32, &w.vadc)) || (rc = new_map(g, QIB_F32, &w.vs0)) ||
        (rc = new_map(g, QIB_F32, &w.vr2)) || (rc = new_map(g, QIB_U8, &w.vfl)))
        goto fail;
    w.adc = qib_volume_data_mut(w.vadc);
    w.s0 = qib_volume_data_mut(w.vs0);
    w.r2 = qib_volume_data_mut(w.vr2);
    w.flags = qib_volume_data_mut(w.vfl);
    if ((rc = run_fit(step, p, img, d, w.adc, w.s0, w.r2, w.flags)))
        goto out;
    const char *img_units = qib_meta_get(qib_volume_meta(img), "units");
    if ((rc = set_map_meta(w.vadc, img, units, "ADC", method)) ||
        (rc = set_map_meta(w.vs0, img, img_units, "S0 (signal at b = 0)", method)) ||
        (rc = set_map_meta(w.vr2, img, "1", "R^2 of the log-signal fit", method)) ||
        (rc = set_map_meta(w.vfl, img, NULL,
                           "fit flags: 0 fitted, 1 below noise floor, 2 no decay, "
                           "3 clipped low, 4 clipped high", method)))
        goto fail;

    /* Table: one row per label (one row, label 0, without a mask). */
    rc = QIB_ENOMEM;
    w.buf = alloc_big(nvox3 * sizeof *w.buf);
    if (!w.buf)
        goto fail;
    const uint8_t *m = msk ? qib_volume_data(msk) : NULL;
    struct cols c;
    if ((rc = qib_table_new(&w.t)) || (rc = add_columns(w.t, units, p->qa == QA_ICE_WATER, &c)))
        goto fail;
    rc = QIB_ENOMEM;
    if (!(w.st = malloc(NSLOT * sizeof *w.st)))
        goto fail;

    /* QA: each repeat fitted alone, then its ROI means and within-ROI CVs. */
    if (p->qa == QA_ICE_WATER) {
        if (!(w.rmean = malloc(2 * R * NSLOT * sizeof *w.rmean)))
            goto fail;
        if (R > 1 && (!(w.radc = malloc(nvox3 * sizeof *w.radc)) || !(w.rflags = malloc(nvox3))))
            goto fail;
        for (size_t r = 0; r < R; r++) {
            const float *ra = w.adc;
            const uint8_t *rf = w.flags;
            if (R > 1) {
                struct design *dr = malloc(sizeof *dr);
                if (!dr) {
                    rc = QIB_ENOMEM;
                    goto fail;
                }
                make_design(p, bv, nt, per, (long)r, dr);
                rc = run_fit(step, p, img, dr, w.radc, NULL, NULL, w.rflags);
                free(dr);
                if (rc)
                    goto out;
                ra = w.radc;
                rf = w.rflags;
            }
            if ((rc = all_stats(qib_step_pool(step), ra, rf, m, nvox3, w.buf, w.st)))
                goto fail;
            for (size_t l = 0; l < NSLOT; l++) {
                w.rmean[r * NSLOT + l] = w.st[l].mean;
                w.rmean[(R + r) * NSLOT + l] = 100.0 * w.st[l].sd / w.st[l].mean;
            }
        }
    }

    if ((rc = all_stats(qib_step_pool(step), w.adc, w.flags, m, nvox3, w.buf, w.st)))
        goto fail;
    size_t nrows = 0;
    for (unsigned l = m ? 1 : 0; l < (m ? NSLOT : 1); l++) {
        if (!w.st[l].voxels)
            continue;
        const struct lstat st = w.st[l];
        size_t row;
        if ((rc = qib_table_add_row(w.t, &row)) ||
            (rc = qib_table_set_int(w.t, row, c.label, (int64_t)l)) ||
            (rc = qib_table_set_int(w.t, row, c.voxels, (int64_t)st.voxels)) ||
            (rc = qib_table_set_int(w.t, row, c.n, (int64_t)st.n)) ||
            (rc = qib_table_set_int(w.t, row, c.floor, (int64_t)st.floor)) ||
            (rc = qib_table_set_int(w.t, row, c.no_decay, (int64_t)st.no_decay)) ||
            (rc = qib_table_set_int(w.t, row, c.clip_low, (int64_t)st.clip_low)) ||
            (rc = qib_table_set_int(w.t, row, c.clip_high, (int64_t)st.clip_high)) ||
            (rc = qib_table_set_double(w.t, row, c.mean, st.mean)) ||
            (rc = qib_table_set_double(w.t, row, c.median, st.median)) ||
            (rc = qib_table_set_double(w.t, row, c.sd, st.sd)) ||
            (rc = qib_table_set_double(w.t, row, c.min, st.min)) ||
            (rc = qib_table_set_double(w.t, row, c.max, st.max)))
            goto fail;
        nrows++;
        if (st.n == 0)
            qib_step_log(step, "warning: label %u: none of its %zu voxels could be fitted; "
                               "its statistics are missing (NaN)", l, st.voxels);
        if (p->qa != QA_ICE_WATER)
            continue;
        /* Mean over repeats of the ROI means; within-ROI CV averaged over
         * repeats; between-repeat SD (n - 1) of the ROI means. */
        double mu = 0, cv = 0, sd = NAN;
        for (size_t r = 0; r < R; r++)
            mu += w.rmean[r * NSLOT + l], cv += w.rmean[(R + r) * NSLOT + l];
        mu /= (double)R;
        cv /= (double)R;
        if (R > 1) {
            double s2 = 0;
            for (size_t r = 0; r < R; r++)
                s2 += (w.rmean[r * NSLOT + l] - mu) * (w.rmean[r * NSLOT + l] - mu);
            sd = sqrt(s2 / (double)(R - 1));
        }
        double ref = p->qa_reference * scale;
        if ((rc = qib_table_set_int(w.t, row, c.repeats, (int64_t)R)) ||
            (rc = qib_table_set_double(w.t, row, c.ref, ref)) ||
            (rc = qib_table_set_double(w.t, row, c.bias, 100.0 * (mu - ref) / ref)) ||
            (rc = qib_table_set_double(w.t, row, c.cv, cv)) ||
            (rc = qib_table_set_double(w.t, row, c.rep_sd, sd)) ||
            (rc = qib_table_set_double(w.t, row, c.wcv, 100.0 * sd / mu)) ||
            (rc = qib_table_set_double(w.t, row, c.rc, 2.77 * sd)))
            goto fail;
    }
    if (m && nrows == 0)
        qib_step_log(step, "warning: mask: no voxel carries a label; the table has no rows");

    qib_meta *tm = qib_table_meta_mut(w.t);
    if ((rc = qib_meta_set(tm, "model", model_names[p->model], "parameter")) ||
        (rc = qib_meta_set(tm, "b_values", all, bsrc)) ||
        (rc = qib_meta_set(tm, "b_values_fitted", used, "computed")) ||
        (rc = qib_meta_set(tm, "units", units, "parameter")) ||
        (rc = qib_meta_set_double(tm, "clip_min_mm2_s", p->clip_min, "parameter")) ||
        (rc = qib_meta_set_double(tm, "clip_max_mm2_s", p->clip_max, "parameter")) ||
        (rc = qib_meta_set_double(tm, "noise_floor", p->floor, "parameter")) ||
        (rc = qib_meta_set(tm, "definitions",
                           "n: voxels fitted (clipped ones included at their clipped value); "
                           "flagged_floor: a signal entering the fit below noise_floor or <= 0; "
                           "flagged_no_decay: mean signal at the highest b >= at the lowest; "
                           "adc_sd: population SD (1/n); QA: bias_percent = 100 (mean of "
                           "repeat ROI means - adc_reference) / adc_reference, cv_percent = "
                           "mean over repeats of 100 SD/mean within the ROI, repeat_sd = SD "
                           "(n - 1) of the repeat ROI means, wcv_percent = 100 repeat_sd / "
                           "mean, rc = 2.77 repeat_sd", "bio.adc")))
        goto fail;
    if (p->qa == QA_ICE_WATER &&
        (rc = qib_meta_set_double(tm, "qa_reference_mm2_s", p->qa_reference, "parameter")))
        goto fail;
    qib_step_record(step, "b_values", all);
    qib_step_record(step, "b_values_source", bsrc);
    qib_step_record(step, "b_values_fitted", used);
    free(d);
    d = NULL;

    rc = qib_step_set_volume(step, "adc", w.vadc);
    w.vadc = NULL;
    if (!rc)
        rc = qib_step_set_volume(step, "s0", w.vs0);
    w.vs0 = NULL;
    if (!rc)
        rc = qib_step_set_volume(step, "r2", w.vr2);
    w.vr2 = NULL;
    if (!rc)
        rc = qib_step_set_volume(step, "flags", w.vfl);
    w.vfl = NULL;
    if (!rc)
        rc = qib_step_set_table(step, "table", w.t);
    w.t = NULL;
    work_free(&w);
    if (rc)
        return qib_fail(step, rc, "cannot hand over the outputs: %s", qib_strerror(rc));
    return QIB_OK;

fail:
    if (rc == QIB_ENOMEM)
        rc = qib_fail(step, rc, "out of memory");
    else
        rc = qib_fail(step, rc, "cannot build the outputs: %s", qib_strerror(rc));
out:
    free(d);
    work_free(&w);
    return rc;
}

static const struct qib_param params[] = {
    {.name = "model", .type = QIB_PARAM_ENUM, .offset = offsetof(struct adc, model),
     .def = "lls", .choices = model_names,
     .help = "fit of ln S = ln S0 - b ADC: lls (ordinary least squares on the log-signal), "
             "wls (weighted by S^2, the inverse variance of ln S), two_point (the lowest and "
             "highest selected b-value only)"},
    {.name = "bvalues", .type = QIB_PARAM_DLIST, .offset = offsetof(struct adc, bvalues),
     .min = 0, .flags = QIB_PARAM_MIN, .unit = "s/mm^2",
     .help = "b-value of each frame in s/mm^2 (one per frame of the 4th dimension); when "
             "given it wins over the image's dicom.b_values metadata"},
    {.name = "bmin", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct adc, bmin),
     .def = "0", .min = 0, .flags = QIB_PARAM_MIN, .unit = "s/mm^2",
     .help = "lowest b-value entering the fit, s/mm^2 (body protocols leave out b below "
             "100-200 s/mm^2 to suppress perfusion)"},
    {.name = "bmax", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct adc, bmax),
     .def = "inf", .min = 0, .flags = QIB_PARAM_MIN, .unit = "s/mm^2",
     .help = "highest b-value entering the fit, s/mm^2 (keeps high-b frames near the noise "
             "floor out)"},
    {.name = "use_b", .type = QIB_PARAM_DLIST, .offset = offsetof(struct adc, use_b),
     .min = 0, .flags = QIB_PARAM_MIN, .unit = "s/mm^2",
     .help = "explicit list of the b-values entering the fit, s/mm^2 (matched within "
             "0.5 s/mm^2); replaces bmin/bmax"},
    {.name = "repeats", .type = QIB_PARAM_INT, .offset = offsetof(struct adc, repeats),
     .def = "1", .min = 1, .max = 64, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "the 4th dimension holds this many repeated acquisitions of the same b-value "
             "list, one after the other; the maps fit them all together, the QA mode also "
             "fits each alone for its repeatability"},
    {.name = "noise_floor", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct adc, floor),
     .def = "0", .min = 0, .flags = QIB_PARAM_MIN, .unit = "image units",
     .help = "a voxel with any signal entering the fit below this value (image units) is "
             "flagged (1) and not fitted; signals <= 0 are always flagged"},
    {.name = "clip_min", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct adc, clip_min),
     .def = "0", .unit = "mm^2/s",
     .help = "lowest physical ADC in mm^2/s; a fit below it is set to it and counted as "
             "clipped_low"},
    {.name = "clip_max", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct adc, clip_max),
     .def = "0.004", .unit = "mm^2/s",
     .help = "highest physical ADC in mm^2/s (free water at 37 C is about 3e-3); a fit above "
             "it is set to it and counted as clipped_high"},
    {.name = "units", .type = QIB_PARAM_ENUM, .offset = offsetof(struct adc, units),
     .def = "1e-3mm2/s", .choices = unit_names,
     .help = "unit of the ADC map and table: 1e-3mm2/s (um^2/ms, ADC of water about 2-3) or "
             "mm2/s; written to the map's \"units\" metadata"},
    {.name = "qa", .type = QIB_PARAM_ENUM, .offset = offsetof(struct adc, qa), .def = "none",
     .choices = qa_names,
     .help = "ice_water: QIBA ice-water phantom QA, adds bias against qa_reference, "
             "within-ROI CV and, with repeats, the between-repeat wCV and repeatability "
             "coefficient"},
    {.name = "qa_reference", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct adc, qa_reference), .def = "0.0011", .min = 0,
     .flags = QIB_PARAM_MIN, .unit = "mm^2/s",
     .help = "true ADC of the QA phantom in mm^2/s: 1.1e-3 for water at 0 C (QIBA DWI "
             "profile)"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "image", .kind = QIB_OBJ_VOLUME,
     .help = "4-D diffusion series (x, y, z, b-value); b-values from its dicom.b_values "
             "metadata (read.dicom) or the bvalues parameter"},
    {.name = "mask", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL,
     .help = "label image on the image's grid: one table row per label; without it one row "
             "(label 0) for the whole image"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "adc", .kind = QIB_OBJ_VOLUME,
     .help = "ADC map, f32, in the unit of the units parameter; NaN where not fitted"},
    {.name = "s0", .kind = QIB_OBJ_VOLUME,
     .help = "fitted signal at b = 0, f32, image units; NaN where not fitted"},
    {.name = "r2", .kind = QIB_OBJ_VOLUME,
     .help = "fit quality: R^2 of ln S over the selected b-values (weighted for wls), f32"},
    {.name = "flags", .kind = QIB_OBJ_VOLUME,
     .help = "u8 per voxel: 0 fitted, 1 below noise floor, 2 no decay, 3 clipped low, "
             "4 clipped high"},
    {.name = "table", .kind = QIB_OBJ_TABLE,
     .help = "ADC statistics per label: label, voxels, n, flagged_floor, flagged_no_decay, "
             "clipped_low, clipped_high, adc_mean, adc_median, adc_sd, adc_min, adc_max "
             "(with qa: repeats, adc_reference, bias_percent, cv_percent, repeat_sd, "
             "wcv_percent, rc)"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_BIO,
    .name = "adc",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "ADC map from a diffusion series (two-point, log-linear or weighted least "
               "squares), S0 and R^2 maps, flags, ADC statistics per label, ice-water QA",
    .citation = "QIBA Profile: Diffusion-Weighted Magnetic Resonance Imaging (DWI), "
                "Quantitative Imaging Biomarkers Alliance (RSNA), 2019; Chenevert TL et "
                "al. Diffusion coefficient "
                "measurement using a temperature-controlled fluid for quality control in "
                "multicenter studies. J Magn Reson Imaging 2011;34:983-987",
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct adc),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
