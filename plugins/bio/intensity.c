/* bio.intensity: first-order intensity statistics per mask label (the IBSI
 * "intensity-based statistical features": moments, extremes, percentiles),
 * with optional re-segmentation, bit-identical for any number of threads.
 * Definitions, formulas and references: doc/biomarkers/intensity.md. */
#include <config.h>

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"

struct intensity {
    double lower;  /* re-segmentation range, image units */
    double upper;
    int64_t frame; /* frame of a 4-D image */
};

/* Labels of a u8 mask; without a mask everything goes to slot 0. */
#define NSLOT 256
/* Voxels per block of the two mask scans.  Fixed, so the order in which
 * values are gathered, and hence every sum, is the same for any thread
 * count. */
#define SCAN_BLOCK ((size_t)1 << 16)
/* Values per block of the moment sums (fixed for the same reason). */
#define SUM_BLOCK ((size_t)1 << 14)
/* Voxels converted to double at a time inside a block (stack buffer). */
#define CHUNK ((size_t)1024)

/* Percentiles reported, in percent; p50 is the median. */
static const unsigned pct[] = {5, 10, 25, 50, 75, 90, 95};
#define NPCT (sizeof pct / sizeof pct[0])
enum { P05, P10, P25, P50, P75, P90, P95 };

/* ---- output columns ---- */

enum unit_kind { U_NONE, U_IMAGE, U_IMAGE2, U_ML };

enum col {
    C_LABEL, C_MASK_VOXELS, C_VOXELS, C_NAN_VOXELS, C_VOLUME_ML,
    C_MEAN, C_VARIANCE, C_SD, C_MIN, C_P05, C_P10, C_P25, C_MEDIAN,
    C_P75, C_P90, C_P95, C_MAX, C_IQR, C_RANGE, C_SKEWNESS, C_KURTOSIS,
    NCOL
};

static const struct {
    const char *name;
    enum qib_coltype type;
    enum unit_kind unit;
    const char *ibsi; /* only where the definition matches IBSI's exactly */
} cols[NCOL] = {
    [C_LABEL] = {"label", QIB_COL_INT, U_NONE, NULL},
    [C_MASK_VOXELS] = {"mask_voxels", QIB_COL_INT, U_NONE, NULL},
    [C_VOXELS] = {"voxels", QIB_COL_INT, U_NONE, NULL},
    [C_NAN_VOXELS] = {"nan_voxels", QIB_COL_INT, U_NONE, NULL},
    [C_VOLUME_ML] = {"volume_ml", QIB_COL_DOUBLE, U_ML, NULL},
    [C_MEAN] = {"mean", QIB_COL_DOUBLE, U_IMAGE, "Q4LE"},
    [C_VARIANCE] = {"variance", QIB_COL_DOUBLE, U_IMAGE2, "ECT3"},
    [C_SD] = {"sd", QIB_COL_DOUBLE, U_IMAGE, NULL},
    [C_MIN] = {"min", QIB_COL_DOUBLE, U_IMAGE, "1GSF"},
    [C_P05] = {"p05", QIB_COL_DOUBLE, U_IMAGE, NULL},
    [C_P10] = {"p10", QIB_COL_DOUBLE, U_IMAGE, "QG58"},
    [C_P25] = {"p25", QIB_COL_DOUBLE, U_IMAGE, NULL},
    [C_MEDIAN] = {"median", QIB_COL_DOUBLE, U_IMAGE, "Y12H"},
    [C_P75] = {"p75", QIB_COL_DOUBLE, U_IMAGE, NULL},
    [C_P90] = {"p90", QIB_COL_DOUBLE, U_IMAGE, "8DWT"},
    [C_P95] = {"p95", QIB_COL_DOUBLE, U_IMAGE, NULL},
    [C_MAX] = {"max", QIB_COL_DOUBLE, U_IMAGE, "84IY"},
    [C_IQR] = {"iqr", QIB_COL_DOUBLE, U_IMAGE, "SALO"},
    [C_RANGE] = {"range", QIB_COL_DOUBLE, U_IMAGE, "2OJQ"},
    [C_SKEWNESS] = {"skewness", QIB_COL_DOUBLE, U_NONE, "KE2A"},
    [C_KURTOSIS] = {"excess_kurtosis", QIB_COL_DOUBLE, U_NONE, "IPH6"},
};

/* ---- voxel access ---- */

/* Convert n voxels from index i of a typed buffer to doubles. */
/* Whether n mask bytes are all zero. */
static int all_zero(const uint8_t *m, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (m[k])
            return 0;
    return 1;
}

/* ---- pass 1 (count) and pass 2 (gather) over the voxels ---- */

struct scan {
    const qib_volume *vol; /* the image */
    const void *img;       /* its data */
    enum qib_dtype dt;
    size_t base;           /* index of the frame's first voxel */
    const uint8_t *mask;   /* NULL: the whole frame is slot 0 */
    size_t nslot;          /* NSLOT with a mask, 1 without */
    double lower, upper;
    size_t *kept;          /* nblocks x nslot: values kept; then write offsets */
    size_t *nan;           /* nblocks x nslot: NaN voxels */
    size_t *all;           /* nblocks x nslot: voxels carrying the label */
    double *dst;           /* pass 2: gathered values, label by label */
};

static void count_block(void *arg, size_t b, size_t begin, size_t end)
{
    struct scan *s = arg;
    size_t *kept = s->kept + b * s->nslot;
    size_t *nan = s->nan + b * s->nslot;
    size_t *all = s->all + b * s->nslot;
    double buf[CHUNK];
    for (size_t c = begin; c < end; c += CHUNK) {
        size_t n = end - c < CHUNK ? end - c : CHUNK;
        const uint8_t *m = s->mask ? s->mask + c : NULL;
        if (m && all_zero(m, n))
            continue;
        qib_volume_get_range(s->vol, s->base + c, n, buf);
        for (size_t k = 0; k < n; k++) {
            unsigned l = m ? m[k] : 0;
            if (m && !l)
                continue;
            double v = buf[k];
            all[l]++;
            if (isnan(v))
                nan[l]++;
            else if (!(v < s->lower) && !(v > s->upper))
                kept[l]++;
        }
    }
}

static void gather_block(void *arg, size_t b, size_t begin, size_t end)
{
    struct scan *s = arg;
    size_t *off = s->kept + b * s->nslot;
    double buf[CHUNK];
    for (size_t c = begin; c < end; c += CHUNK) {
        size_t n = end - c < CHUNK ? end - c : CHUNK;
        const uint8_t *m = s->mask ? s->mask + c : NULL;
        if (m && all_zero(m, n))
            continue;
        qib_volume_get_range(s->vol, s->base + c, n, buf);
        for (size_t k = 0; k < n; k++) {
            unsigned l = m ? m[k] : 0;
            if (m && !l)
                continue;
            double v = buf[k];
            if (!isnan(v) && !(v < s->lower) && !(v > s->upper))
                s->dst[off[l]++] = v;
        }
    }
}

/* ---- moments ---- */

struct moments {
    const double *x;
    double mean;
    double *part; /* nblocks x 4 */
};

static void sum_block(void *arg, size_t b, size_t begin, size_t end)
{
    struct moments *m = arg;
    double s = 0, lo = m->x[begin], hi = m->x[begin];
    for (size_t i = begin; i < end; i++) {
        double v = m->x[i];
        s += v;
        if (v < lo)
            lo = v;
        if (v > hi)
            hi = v;
    }
    m->part[4 * b] = s;
    m->part[4 * b + 1] = lo;
    m->part[4 * b + 2] = hi;
}

static void central_block(void *arg, size_t b, size_t begin, size_t end)
{
    struct moments *m = arg;
    double s2 = 0, s3 = 0, s4 = 0;
    for (size_t i = begin; i < end; i++) {
        double d = m->x[i] - m->mean, d2 = d * d;
        s2 += d2;
        s3 += d2 * d;
        s4 += d2 * d2;
    }
    m->part[4 * b] = s2;
    m->part[4 * b + 1] = s3;
    m->part[4 * b + 2] = s4;
}

/* ---- selection of order statistics ---- */

static void swapd(double *a, size_t i, size_t j)
{
    double t = a[i];
    a[i] = a[j];
    a[j] = t;
}

static void insertion_sort(double *a, size_t lo, size_t hi)
{
    for (size_t i = lo + 1; i < hi; i++) {
        double v = a[i];
        size_t j = i;
        while (j > lo && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

static void sift_down(double *a, size_t n, size_t i)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && a[c + 1] > a[c])
            c++;
        if (!(a[c] > a[i]))
            return;
        swapd(a, i, c);
        i = c;
    }
}

/* Fallback that bounds the worst case of the selection to O(n log n). */
static void heap_sort(double *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(a, n, i);
    for (size_t e = n; e-- > 1;) {
        swapd(a, 0, e);
        sift_down(a, e, 0);
    }
}

/* Reorder a[lo, hi) so that a[r] is the r-th smallest value for every r in
 * ranks[0, nr) (sorted, within [lo, hi)): quickselect on several ranks at
 * once, with a three-way partition because images repeat values a lot
 * (integer HU, a background of -1000), and heap sort when the recursion gets
 * deeper than it should (introselect).  O(n log nr) expected. */
static void multiselect(double *a, size_t lo, size_t hi, const size_t *ranks, size_t nr,
                        int depth)
{
    while (nr > 0 && hi - lo > 16) {
        if (depth-- <= 0) {
            heap_sort(a + lo, hi - lo);
            return;
        }
        /* median of three as pivot */
        size_t mid = lo + (hi - lo) / 2;
        double x = a[lo], y = a[mid], z = a[hi - 1], p;
        if (x < y)
            p = y < z ? y : (x < z ? z : x);
        else
            p = x < z ? x : (y < z ? z : y);
        /* [lo, lt) < p, [lt, i) == p, [gt, hi) > p */
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            if (a[i] < p)
                swapd(a, lt++, i++);
            else if (a[i] > p)
                swapd(a, i, --gt);
            else
                i++;
        }
        size_t nl = 0, nm;
        while (nl < nr && ranks[nl] < lt)
            nl++;
        nm = nl;
        while (nm < nr && ranks[nm] < gt)
            nm++;
        /* ranks in [lt, gt) are in place; recurse on the left, loop on the
         * right */
        if (nl > 0)
            multiselect(a, lo, lt, ranks, nl, depth);
        ranks += nm;
        nr -= nm;
        lo = gt;
    }
    if (nr > 0)
        insertion_sort(a, lo, hi);
}

static int cmp_size(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    return (a > b) - (a < b);
}

/* Ranks whose values the percentiles need, sorted and unique (at most
 * 2 NPCT).  Percentiles are by linear interpolation between closest ranks
 * (Hyndman & Fan type 7, numpy's default): h = (n-1) P/100,
 * q = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]).  h is
 * computed in integers so that, e.g., p25 of 5 values is exactly x[1]. */
static size_t needed_ranks(size_t n, size_t ranks[2 * NPCT])
{
    size_t nr = 0;
    for (size_t k = 0; k < NPCT; k++) {
        size_t lo = (n - 1) / 100 * pct[k] + (n - 1) % 100 * pct[k] / 100;
        size_t rem = (n - 1) % 100 * pct[k] % 100;
        ranks[nr++] = lo;
        if (rem && lo + 1 < n)
            ranks[nr++] = lo + 1;
    }
    qsort(ranks, nr, sizeof ranks[0], cmp_size);
    size_t u = 0;
    for (size_t k = 0; k < nr; k++)
        if (u == 0 || ranks[k] != ranks[u - 1])
            ranks[u++] = ranks[k];
    return u;
}

/* The percentiles from the values at the needed ranks (value(r) gives the
 * r-th smallest). */
static void interpolate(size_t n, const size_t *ranks, const double *at, size_t nr,
                        double q[NPCT])
{
    for (size_t k = 0; k < NPCT; k++) {
        size_t lo = (n - 1) / 100 * pct[k] + (n - 1) % 100 * pct[k] / 100;
        size_t rem = (n - 1) % 100 * pct[k] % 100, i = 0;
        while (ranks[i] != lo)
            i++;
        q[k] = at[i];
        if (rem && lo + 1 < n && i + 1 < nr)
            q[k] = at[i] + (double)rem / 100.0 * (at[i + 1] - at[i]);
    }
}

/* Order statistics by selection: O(n log nr).  Reorders x. */
static void percentiles_select(double *x, size_t n, double q[NPCT])
{
    size_t ranks[2 * NPCT];
    double at[2 * NPCT];
    size_t nr = needed_ranks(n, ranks);
    int depth = 2;
    for (size_t m = n; m > 1; m >>= 1)
        depth += 2;
    multiselect(x, 0, n, ranks, nr, depth);
    for (size_t k = 0; k < nr; k++)
        at[k] = x[ranks[k]];
    interpolate(n, ranks, at, nr, q);
}

/* Order statistics of integers within [lo, hi], hi - lo < 65536 (the
 * values of 8- and 16-bit images): a counting pass, several times faster
 * than selection on a whole CT, and the same values. */
static int percentiles_count(const double *x, size_t n, double lo, double hi, double q[NPCT])
{
    size_t nbins = (size_t)(hi - lo) + 1, ranks[2 * NPCT];
    double at[2 * NPCT];
    size_t *cnt = calloc(nbins, sizeof *cnt);
    if (!cnt)
        return QIB_ENOMEM;
    for (size_t i = 0; i < n; i++)
        cnt[(size_t)(x[i] - lo)]++;
    size_t nr = needed_ranks(n, ranks), k = 0, below = 0;
    for (size_t b = 0; b < nbins && k < nr; b++) {
        below += cnt[b];
        while (k < nr && ranks[k] < below)
            at[k++] = lo + (double)b;
    }
    free(cnt);
    interpolate(n, ranks, at, nr, q);
    return QIB_OK;
}

/* ---- the step ---- */

struct stats {
    double mean, var, min, max, skew, kurt, q[NPCT];
};

/* Statistics of x[0, n), n >= 1; @p small_int: the values are integers of
 * an 8- or 16-bit image.  Reorders x. */
static int compute(qib_pool *pool, double *x, size_t n, int small_int, struct stats *st)
{
    size_t nb = qib_nblocks(n, SUM_BLOCK);
    double *part = malloc(nb * 4 * sizeof *part);
    if (!part)
        return QIB_ENOMEM;
    struct moments m = {.x = x, .part = part};
    int rc = qib_parallel_for(pool, n, SUM_BLOCK, sum_block, &m);
    if (rc)
        goto out;
    double s = 0, lo = part[1], hi = part[2];
    for (size_t b = 0; b < nb; b++) {
        s += part[4 * b];
        if (part[4 * b + 1] < lo)
            lo = part[4 * b + 1];
        if (part[4 * b + 2] > hi)
            hi = part[4 * b + 2];
    }
    st->min = lo;
    st->max = hi;
    if (lo == hi) {
        /* constant: exactly so, whatever the rounding of s / n */
        st->mean = lo;
        st->var = st->skew = st->kurt = 0;
    } else {
        st->mean = s / (double)n;
        m.mean = st->mean;
        rc = qib_parallel_for(pool, n, SUM_BLOCK, central_block, &m);
        if (rc)
            goto out;
        double s2 = 0, s3 = 0, s4 = 0;
        for (size_t b = 0; b < nb; b++) {
            s2 += part[4 * b];
            s3 += part[4 * b + 1];
            s4 += part[4 * b + 2];
        }
        double m2 = s2 / (double)n, m3 = s3 / (double)n, m4 = s4 / (double)n;
        st->var = m2;
        if (m2 > 0) {
            st->skew = m3 / (m2 * sqrt(m2));
            st->kurt = m4 / (m2 * m2) - 3.0;
        } else {
            st->skew = st->kurt = 0;
        }
    }
    if (small_int)
        rc = percentiles_count(x, n, st->min, st->max, st->q);
    else
        percentiles_select(x, n, st->q);
out:
    free(part);
    return rc;
}

static int check(qib_step *step, const void *priv)
{
    const struct intensity *p = priv;
    if (p->lower > p->upper)
        return qib_fail(step, QIB_EINVAL,
                        "lower (%g) is above upper (%g): the re-segmentation range "
                        "[lower, upper] would be empty",
                        p->lower, p->upper);
    return QIB_OK;
}

static int add_columns(qib_table *t, const char *unit)
{
    char unit2[96] = "";
    if (unit && *unit)
        snprintf(unit2, sizeof unit2, "%s^2", unit);
    for (int c = 0; c < NCOL; c++) {
        const char *u = NULL;
        switch (cols[c].unit) {
        case U_IMAGE: u = unit; break;
        case U_IMAGE2: u = *unit2 ? unit2 : NULL; break;
        case U_ML: u = "mL"; break;
        case U_NONE: break;
        }
        int rc = qib_table_add_column(t, cols[c].name, cols[c].type, u, cols[c].ibsi, NULL);
        if (rc)
            return rc;
    }
    return QIB_OK;
}

static int set_meta(qib_table *t, const struct intensity *p, const char *unit)
{
    qib_meta *m = qib_table_meta_mut(t);
    int rc;
    if (!m)
        return QIB_EBUSY;
    if ((rc = qib_meta_set(m, "definitions",
                           "IBSI 1 intensity-based statistics: population moments "
                           "(1/N), excess kurtosis; see doc/biomarkers/intensity.md",
                           "computed")) ||
        (rc = qib_meta_set(m, "percentile_method",
                           "linear interpolation between closest ranks "
                           "(Hyndman-Fan type 7)", "computed")) ||
        (rc = qib_meta_set_double(m, "resegment_lower", p->lower, "parameter")) ||
        (rc = qib_meta_set_double(m, "resegment_upper", p->upper, "parameter")) ||
        (rc = qib_meta_set_double(m, "frame", (double)p->frame, "parameter")))
        return rc;
    if (unit && (rc = qib_meta_set(m, "units", unit, "image")))
        return rc;
    return QIB_OK;
}

/* Append one row.  n == 0: the statistics are missing (NaN). */
static int add_row(qib_table *t, unsigned label, size_t all, size_t kept, size_t nan,
                   double vox_ml, const struct stats *st)
{
    size_t r;
    int rc = qib_table_add_row(t, &r);
    if (rc)
        return rc;
    double v[NCOL];
    for (int c = 0; c < NCOL; c++)
        v[c] = NAN;
    v[C_VOLUME_ML] = (double)kept * vox_ml;
    if (kept) {
        v[C_MEAN] = st->mean;
        v[C_VARIANCE] = st->var;
        v[C_SD] = sqrt(st->var);
        v[C_MIN] = st->min;
        v[C_MAX] = st->max;
        v[C_P05] = st->q[P05];
        v[C_P10] = st->q[P10];
        v[C_P25] = st->q[P25];
        v[C_MEDIAN] = st->q[P50];
        v[C_P75] = st->q[P75];
        v[C_P90] = st->q[P90];
        v[C_P95] = st->q[P95];
        v[C_IQR] = st->q[P75] - st->q[P25];
        v[C_RANGE] = st->max - st->min;
        v[C_SKEWNESS] = st->skew;
        v[C_KURTOSIS] = st->kurt;
    }
    if ((rc = qib_table_set_int(t, r, C_LABEL, label)) ||
        (rc = qib_table_set_int(t, r, C_MASK_VOXELS, (int64_t)all)) ||
        (rc = qib_table_set_int(t, r, C_VOXELS, (int64_t)kept)) ||
        (rc = qib_table_set_int(t, r, C_NAN_VOXELS, (int64_t)nan)))
        return rc;
    for (int c = C_VOLUME_ML; c < NCOL; c++)
        if ((rc = qib_table_set_double(t, r, (size_t)c, v[c])))
            return rc;
    return QIB_OK;
}

static int run(qib_step *step, void *priv)
{
    const struct intensity *p = priv;
    const qib_volume *img = qib_step_in_volume(step, "image");
    const qib_volume *msk = qib_step_in_volume(step, "mask");

    if (!img)
        return qib_fail(step, QIB_EINVAL, "image: no volume wired to the input");
    const struct qib_geom *g = qib_volume_geom(img);
    size_t nframes = g->ndim == 4 ? g->dims[3] : 1;
    if ((uint64_t)p->frame >= nframes)
        return qib_fail(step, QIB_ERANGE,
                        "frame: %" PRId64 " requested, but the image has %zu frame%s "
                        "(0..%zu)",
                        p->frame, nframes, nframes == 1 ? "" : "s", nframes - 1);
    size_t nvox = qib_geom_frame_nvox(g);

    if (msk) {
        const struct qib_geom *gm = qib_volume_geom(msk);
        if (qib_volume_dtype(msk) != QIB_U8 || !qib_volume_is_mask(msk))
            return qib_fail(step, QIB_EINVAL,
                            "mask: expected a u8 label image flagged as a mask, found a "
                            "%s volume%s",
                            qib_dtype_name(qib_volume_dtype(msk)),
                            qib_volume_is_mask(msk) ? "" : " not flagged as a mask");
        if (gm->ndim == 4 && gm->dims[3] > 1)
            return qib_fail(step, QIB_EUNSUPPORTED,
                            "mask: a 4-D mask (%zu frames) is not supported: give a "
                            "3-D label image",
                            gm->dims[3]);
        if (qib_step_check_grid(step, "mask", msk, img) != QIB_OK)
            return QIB_EGEOMETRY;
    }

    qib_pool *pool = qib_step_pool(step);
    struct scan s = {
        .vol = img,
        .img = qib_volume_data(img),
        .dt = qib_volume_dtype(img),
        .base = (size_t)p->frame * nvox,
        .mask = msk ? qib_volume_data(msk) : NULL,
        .nslot = msk ? NSLOT : 1,
        .lower = p->lower,
        .upper = p->upper,
    };
    size_t nb = qib_nblocks(nvox, SCAN_BLOCK);
    qib_table *t = NULL;
    double *vals = NULL;
    char *empty = NULL;
    size_t empty_len = 0;
    int rc = QIB_ENOMEM;

    s.kept = calloc(nb * s.nslot, sizeof *s.kept);
    s.nan = calloc(nb * s.nslot, sizeof *s.nan);
    s.all = calloc(nb * s.nslot, sizeof *s.all);
    if (!s.kept || !s.nan || !s.all)
        goto fail;
    if ((rc = qib_parallel_for(pool, nvox, SCAN_BLOCK, count_block, &s)))
        goto fail;

    /* Totals per label; turn the per-block counts into write offsets:
     * label by label in ascending order, block by block within a label. */
    size_t tot_all[NSLOT] = {0}, tot_nan[NSLOT] = {0}, start[NSLOT] = {0}, total = 0;
    for (size_t l = 0; l < s.nslot; l++) {
        start[l] = total;
        for (size_t b = 0; b < nb; b++) {
            size_t k = s.kept[b * s.nslot + l];
            s.kept[b * s.nslot + l] = total;
            total += k;
            tot_all[l] += s.all[b * s.nslot + l];
            tot_nan[l] += s.nan[b * s.nslot + l];
        }
    }
    free(s.nan);
    free(s.all);
    s.nan = s.all = NULL;
    if (total > SIZE_MAX / sizeof *vals) {
        rc = qib_fail(step, QIB_EOVERFLOW, "image: %zu voxels do not fit in memory", total);
        goto fail;
    }
    vals = malloc((total ? total : 1) * sizeof *vals);
    if (!vals) {
        rc = QIB_ENOMEM;
        goto fail;
    }
    s.dst = vals;
    if ((rc = qib_parallel_for(pool, nvox, SCAN_BLOCK, gather_block, &s)))
        goto fail;
    free(s.kept);
    s.kept = NULL;

    const char *unit = qib_meta_get(qib_volume_meta(img), "units");
    if (unit && !*unit)
        unit = NULL;
    if ((rc = qib_table_new(&t)) || (rc = add_columns(t, unit)) || (rc = set_meta(t, p, unit)))
        goto fail;

    double vox_ml = qib_geom_voxel_mm3(g) / 1000.0;
    enum qib_dtype dt = qib_volume_dtype(img);
    int small_int = dt == QIB_U8 || dt == QIB_I8 || dt == QIB_U16 || dt == QIB_I16;
    size_t nlabels = 0;
    for (size_t l = 0; l < s.nslot; l++) {
        if (!tot_all[l])
            continue;
        size_t n = (l + 1 < s.nslot ? start[l + 1] : total) - start[l];
        struct stats st = {0};
        nlabels++;
        if (n) {
            if ((rc = compute(pool, vals + start[l], n, small_int, &st)))
                goto fail;
        } else {
            /* Keep the row so every label of the mask has one; say why its
             * statistics are missing. */
            char buf[8];
            int len = snprintf(buf, sizeof buf, "%s%zu", empty_len ? " " : "", l);
            char *e = realloc(empty, empty_len + (size_t)len + 1);
            if (!e) {
                rc = QIB_ENOMEM;
                goto fail;
            }
            empty = e;
            memcpy(empty + empty_len, buf, (size_t)len + 1);
            empty_len += (size_t)len;
            qib_step_log(step,
                         "warning: label %zu: none of its %zu voxels is a number within "
                         "[%g, %g] (%zu NaN); its statistics are missing (NaN)",
                         l, tot_all[l], p->lower, p->upper, tot_nan[l]);
        }
        if ((rc = add_row(t, (unsigned)l, tot_all[l], n, tot_nan[l], vox_ml, &st)))
            goto fail;
    }
    if (nlabels == 0)
        qib_step_log(step, "warning: mask: no voxel carries a label; the table has no rows");
    if (empty && (rc = qib_step_record(step, "empty_labels", empty)))
        goto fail;
    free(empty);
    free(vals);
    return qib_step_set_table(step, "table", t);

fail:
    free(s.kept);
    free(s.nan);
    free(s.all);
    free(vals);
    free(empty);
    qib_table_unref(&t);
    if (rc == QIB_ENOMEM)
        return qib_fail(step, rc, "out of memory");
    return rc;
}

static const struct qib_param params[] = {
    {.name = "lower", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct intensity, lower),
     .def = "-inf",
     .help = "re-segmentation: voxels below this value (image units, e.g. HU) are left "
             "out of the statistics (IBSI re-segmentation); the default keeps every "
             "voxel"},
    {.name = "upper", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct intensity, upper),
     .def = "inf",
     .help = "re-segmentation: voxels above this value (image units) are left out; the "
             "default keeps every voxel"},
    {.name = "frame", .type = QIB_PARAM_INT, .offset = offsetof(struct intensity, frame),
     .def = "0", .min = 0, .flags = QIB_PARAM_MIN,
     .help = "frame (4th dimension index, from 0) of a 4-D image to measure; 0 for a "
             "3-D image"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "image", .kind = QIB_OBJ_VOLUME, .help = "image to measure (3-D, or 4-D with frame)"},
    {.name = "mask", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL,
     .help = "label image on the image's grid: one row per label; absent: the whole image"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "table", .kind = QIB_OBJ_TABLE,
     .help = "one row per label (ascending; label 0 = whole image when no mask)"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_BIO,
    .name = "intensity",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "intensity statistics per label: voxels, volume, mean, SD, percentiles, "
               "skewness, kurtosis (IBSI)",
    .citation = "Zwanenburg A et al. The Image Biomarker Standardization Initiative. "
                "Radiology 2020;295:328-338. doi:10.1148/radiol.2020191145",
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct intensity),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
