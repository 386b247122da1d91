/* seg.threshold: a mask of the voxels whose value passes a threshold, fixed
 * or computed (percent of the maximum, of a table value, background-adapted,
 * Otsu, multi-level Otsu), within an optional search mask.  The threshold
 * used goes into a table.  Conventions and references: doc/segmentation.md. */
#include <config.h>

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"

enum method { M_ABSOLUTE, M_PERCENT_MAX, M_PERCENT_TABLE, M_BACKGROUND, M_OTSU, M_MULTI_OTSU };

static const char *const methods[] = {"absolute", "percent_max", "percent_table",
                                      "background_adapted", "otsu", "multi_otsu", NULL};

struct threshold {
    int method;
    double lower, upper;   /* image units */
    double percent;        /* % */
    double background;     /* image units; NaN-like sentinel: use the table */
    char *table_column;
    int64_t table_row;
    int64_t classes;
    int64_t nbins;
};

/* Voxels per block of the parallel scans: fixed, so per-block partial
 * results are combined in the same order for any thread count. */
#define BLOCK ((size_t)1 << 16)
#define CHUNK ((size_t)1024)
/* Voxels per block of the histogram pass: larger, since each block holds a
 * whole histogram.  Counts are exact, so the block size cannot change the
 * result. */
#define HBLOCK ((size_t)1 << 22)
/* Widest integer range histogrammed with one bin per value (the
 * scikit-image convention for integer images). */
#define MAX_INT_BINS ((size_t)1 << 24)

/* ---- pass 1: extremes within the search mask ---- */

struct scan {
    const qib_volume *vol;
    const void *img;
    enum qib_dtype dt;
    const uint8_t *search;  /* NULL: every voxel */
    double *lo, *hi;        /* per block */
    size_t *cnt;            /* per block: finite voxels searched */
    /* histogram pass */
    size_t nbins;
    int int_bins;           /* one bin per integer value from lo */
    double first, last;     /* numpy's outer edges */
    double norm;            /* bins per unit */
    const double *edges;    /* nbins + 1 */
    float first32;
    float norm32;
    const float *edges32;
    size_t *hist;           /* nblocks x nbins */
    /* mask pass */
    uint8_t *out;
    const double *thr;      /* ascending thresholds (multi_otsu) */
    size_t nthr;
    double t_lo, t_hi;      /* kept: t_lo <= v <= t_hi (or v > t_lo when strict) */
    int strict;
    size_t *kept;           /* per block */
};

/* Typed loops: the conversion to double is left to the compiler so the
 * integer paths vectorise.  NaN only exists in float images. */
#define EXTREMES(T)                                                          \
    {                                                                        \
        const T *p = (const T *)s->img;                                      \
        for (size_t i = begin; i < end; i++) {                               \
            if (s->search && !s->search[i])                                  \
                continue;                                                    \
            double v = (double)p[i];                                         \
            if (isnan(v))                                                    \
                continue;                                                    \
            cnt++;                                                           \
            lo = v < lo ? v : lo;                                            \
            hi = v > hi ? v : hi;                                            \
        }                                                                    \
    }                                                                        \
    break;

static void extremes_block(void *arg, size_t b, size_t begin, size_t end)
{
    struct scan *s = arg;
    double lo = INFINITY, hi = -INFINITY;
    size_t cnt = 0;
    switch (s->dt) {
    case QIB_U8: EXTREMES(uint8_t)
    case QIB_I8: EXTREMES(int8_t)
    case QIB_U16: EXTREMES(uint16_t)
    case QIB_I16: EXTREMES(int16_t)
    case QIB_U32: EXTREMES(uint32_t)
    case QIB_I32: EXTREMES(int32_t)
    case QIB_F32: EXTREMES(float)
    case QIB_F64: EXTREMES(double)
    }
    s->lo[b] = lo;
    s->hi[b] = hi;
    s->cnt[b] = cnt;
}
#undef EXTREMES

/* Bin of v following numpy.histogram's uniform-bin rule (index from the
 * scaled offset, then corrected against the bin edges), in float32
 * arithmetic for f32 images as numpy does. */
static size_t bin_of(const struct scan *s, double v)
{
    size_t nb = s->nbins;
    if (s->int_bins)
        return (size_t)(v - s->first);
    long idx;
    if (s->dt == QIB_F32) {
        float x = (float)v;
        float f = (x - s->first32) * s->norm32;
        idx = (long)f;
        if (idx >= (long)nb)
            idx = (long)nb - 1;
        if (x < s->edges32[idx])
            idx--;
        else if (idx != (long)nb - 1 && x >= s->edges32[idx + 1])
            idx++;
    } else {
        double f = (v - s->first) * s->norm;
        idx = (long)f;
        if (idx >= (long)nb)
            idx = (long)nb - 1;
        if (v < s->edges[idx])
            idx--;
        else if (idx != (long)nb - 1 && v >= s->edges[idx + 1])
            idx++;
    }
    if (idx < 0)
        idx = 0;
    return (size_t)idx;
}

/* One bin per integer value: the offset from the minimum is the bin. */
#define HIST_INT(T)                                                          \
    {                                                                        \
        const T *p = (const T *)s->img;                                      \
        long off = (long)s->first;                                           \
        for (size_t i = begin; i < end; i++)                                 \
            if (!s->search || s->search[i])                                  \
                h[(long)p[i] - off]++;                                       \
    }                                                                        \
    break;

static void hist_block(void *arg, size_t b, size_t begin, size_t end)
{
    struct scan *s = arg;
    size_t *h = s->hist + b * s->nbins;
    if (s->int_bins) {
        switch (s->dt) {
        case QIB_U8: HIST_INT(uint8_t)
        case QIB_I8: HIST_INT(int8_t)
        case QIB_U16: HIST_INT(uint16_t)
        case QIB_I16: HIST_INT(int16_t)
        case QIB_U32: HIST_INT(uint32_t)
        case QIB_I32: HIST_INT(int32_t)
        default: break;
        }
        return;
    }
    double buf[CHUNK];
    for (size_t c = begin; c < end; c += CHUNK) {
        size_t n = end - c < CHUNK ? end - c : CHUNK;
        qib_volume_get_range(s->vol, c, n, buf);
        for (size_t k = 0; k < n; k++) {
            double v = buf[k];
            if ((s->search && !s->search[c + k]) || isnan(v))
                continue;
            h[bin_of(s, v)]++;
        }
    }
}
#undef HIST_INT

/* Kept when lo <= v <= hi: for integer types the double bounds become
 * integer bounds once, so the loop compares integers. */
#define MASK_INT(T, TMIN, TMAX)                                              \
    {                                                                        \
        const T *p = (const T *)s->img;                                      \
        double a = s->strict ? floor(s->t_lo) + 1 : ceil(s->t_lo);           \
        double z = floor(s->t_hi);                                           \
        if (a < (double)(TMIN))                                              \
            a = (double)(TMIN);                                              \
        if (z > (double)(TMAX))                                              \
            z = (double)(TMAX);                                              \
        if (!(a <= z)) {                                                     \
            memset(o + begin, 0, end - begin);                               \
            break;                                                           \
        }                                                                    \
        T ta = (T)a, tz = (T)z;                                              \
        for (size_t i = begin; i < end; i++)                                 \
            o[i] = (uint8_t)((p[i] >= ta) & (p[i] <= tz));                   \
        if (s->search)                                                       \
            for (size_t i = begin; i < end; i++)                             \
                o[i] &= (uint8_t)(s->search[i] != 0);                        \
    }                                                                        \
    break;

#define MASK_FLOAT(T)                                                        \
    {                                                                        \
        const T *p = (const T *)s->img;                                      \
        for (size_t i = begin; i < end; i++) {                               \
            double v = (double)p[i];                                         \
            o[i] = (uint8_t)((s->strict ? v > s->t_lo : v >= s->t_lo) &&     \
                             v <= s->t_hi && (!s->search || s->search[i]));  \
        }                                                                    \
    }                                                                        \
    break;

static void mask_block(void *arg, size_t b, size_t begin, size_t end)
{
    struct scan *s = arg;
    uint8_t *o = s->out;
    size_t kept = 0;
    if (s->nthr) {
        /* class index as numpy.digitize: the number of thresholds <= v */
        double buf[CHUNK];
        for (size_t c = begin; c < end; c += CHUNK) {
            size_t n = end - c < CHUNK ? end - c : CHUNK;
            qib_volume_get_range(s->vol, c, n, buf);
            for (size_t k = 0; k < n; k++) {
                double v = buf[k];
                size_t cl = 0;
                if ((!s->search || s->search[c + k]) && !isnan(v))
                    while (cl < s->nthr && v >= s->thr[cl])
                        cl++;
                o[c + k] = (uint8_t)cl;
            }
        }
    } else {
        switch (s->dt) {
        case QIB_U8: MASK_INT(uint8_t, 0, UINT8_MAX)
        case QIB_I8: MASK_INT(int8_t, INT8_MIN, INT8_MAX)
        case QIB_U16: MASK_INT(uint16_t, 0, UINT16_MAX)
        case QIB_I16: MASK_INT(int16_t, INT16_MIN, INT16_MAX)
        case QIB_U32: MASK_INT(uint32_t, 0, UINT32_MAX)
        case QIB_I32: MASK_INT(int32_t, INT32_MIN, INT32_MAX)
        case QIB_F32: MASK_FLOAT(float)
        case QIB_F64: MASK_FLOAT(double)
        }
    }
    for (size_t i = begin; i < end; i++)
        kept += o[i] != 0;
    s->kept[b] = kept;
}
#undef MASK_INT
#undef MASK_FLOAT

/* ---- Otsu on a histogram (scikit-image's formula, evaluated the same way
 * so the chosen bin is the same) ---- */

static size_t otsu_index(const size_t *h, const double *centre, size_t nb, double *work)
{
    double *w1 = work, *w2 = work + nb, *m1 = work + 2 * nb, *m2 = work + 3 * nb;
    double acc = 0, accm = 0;
    for (size_t i = 0; i < nb; i++) {
        acc += (double)h[i];
        accm += (double)h[i] * centre[i];
        w1[i] = acc;
        m1[i] = accm / acc;
    }
    acc = 0;
    accm = 0;
    for (size_t i = nb; i-- > 0;) {
        acc += (double)h[i];
        accm += (double)h[i] * centre[i];
        w2[i] = acc;
        m2[i] = accm / acc;
    }
    size_t best = 0;
    double bestv = -INFINITY;
    for (size_t i = 0; i + 1 < nb; i++) {
        double d = m1[i] - m2[i + 1];
        double v = w1[i] * w2[i + 1] * (d * d);
        if (v > bestv) {
            bestv = v;
            best = i;
        }
    }
    return best;
}

/* Multi-level Otsu: the k-1 thresholds maximising the between-class
 * variance sum over classes of S_c^2 / N_c, found exactly by dynamic
 * programming over bins.  Class c covers bins (t_{c-1}, t_c]; the threshold
 * is the centre of the last bin of each class but the last. */
static int multi_otsu(const size_t *h, const double *centre, size_t nb, size_t k, size_t *tidx)
{
    /* nonempty bins only: empty bins never change a class's sums */
    size_t *nz = malloc(nb * sizeof *nz);
    double *cn = malloc((nb + 1) * sizeof *cn), *cs = malloc((nb + 1) * sizeof *cs);
    double *best = malloc(k * nb * sizeof *best);
    size_t *arg = malloc(k * nb * sizeof *arg);
    int rc = QIB_OK;
    if (!nz || !cn || !cs || !best || !arg) {
        rc = QIB_ENOMEM;
        goto done;
    }
    size_t m = 0;
    cn[0] = cs[0] = 0;
    for (size_t i = 0; i < nb; i++) {
        if (!h[i])
            continue;
        nz[m] = i;
        cn[m + 1] = cn[m] + (double)h[i];
        cs[m + 1] = cs[m] + (double)h[i] * centre[i];
        m++;
    }
    if (m < k) {
        rc = QIB_ERANGE;
        goto done;
    }
    /* best[c*m + j]: best score of the first j+1 nonempty bins in c+1 classes */
    for (size_t j = 0; j < m; j++) {
        best[j] = cs[j + 1] * cs[j + 1] / cn[j + 1];
        arg[j] = 0;
    }
    for (size_t c = 1; c < k; c++) {
        for (size_t j = 0; j < m; j++) {
            best[c * m + j] = -INFINITY;
            arg[c * m + j] = 0;
            if (j < c)
                continue;
            for (size_t i = c - 1; i < j; i++) {
                double n = cn[j + 1] - cn[i + 1], s = cs[j + 1] - cs[i + 1];
                double v = best[(c - 1) * m + i] + s * s / n;
                if (v > best[c * m + j]) {
                    best[c * m + j] = v;
                    arg[c * m + j] = i;
                }
            }
        }
    }
    size_t j = m - 1;
    for (size_t c = k - 1; c > 0; c--) {
        size_t i = arg[c * m + j];
        tidx[c - 1] = nz[i];
        j = i;
    }
done:
    free(nz);
    free(cn);
    free(cs);
    free(best);
    free(arg);
    return rc;
}

/* ---- parameters ---- */

static int check(qib_step *step, const void *priv)
{
    const struct threshold *p = priv;
    if (p->lower > p->upper)
        return qib_fail(step, QIB_EINVAL, "lower (%g) is above upper (%g): no value could pass",
                        p->lower, p->upper);
    if (p->method == M_PERCENT_TABLE && !p->table_column)
        return qib_fail(step, QIB_EINVAL,
                        "method percent_table needs table_column: the table column holding "
                        "the reference value");
    return QIB_OK;
}

/* The reference value in row table_row of column table_column. */
static int table_value(qib_step *step, const struct threshold *p, double *out)
{
    const qib_table *t = qib_step_in_table(step, "table");
    size_t col;
    if (!t)
        return qib_fail(step, QIB_EINVAL,
                        "method %s reads column \"%s\" of input \"table\", which is not "
                        "connected", methods[p->method], p->table_column);
    if (qib_table_find(t, p->table_column, &col) != QIB_OK)
        return qib_fail(step, QIB_ENOTFOUND, "table: no column \"%s\"", p->table_column);
    if ((size_t)p->table_row >= qib_table_nrows(t))
        return qib_fail(step, QIB_ERANGE, "table: table_row %" PRId64 " is past its %zu rows",
                        p->table_row, qib_table_nrows(t));
    if (qib_table_col_type(t, col) == QIB_COL_STRING)
        return qib_fail(step, QIB_EINVAL, "table: column \"%s\" holds text, not numbers",
                        p->table_column);
    double v = qib_table_get_double(t, (size_t)p->table_row, col);
    if (!isfinite(v))
        return qib_fail(step, QIB_EINVAL, "table: column \"%s\", row %" PRId64 ": no finite value",
                        p->table_column, p->table_row);
    *out = v;
    return QIB_OK;
}

static int add_col(qib_table *t, const char *name, enum qib_coltype ty, const char *unit)
{
    return qib_table_add_column(t, name, ty, unit, NULL, NULL);
}

static int run(qib_step *step, void *priv)
{
    struct threshold *p = priv;
    const qib_volume *img = qib_step_in_volume(step, "image");
    const qib_volume *search = qib_step_in_volume(step, "mask");
    const struct qib_geom *g = qib_volume_geom(img);
    qib_pool *pool = qib_step_pool(step);
    int rc = QIB_OK;

    if (g->ndim > 3 && g->dims[3] > 1)
        return qib_fail(step, QIB_EUNSUPPORTED,
                        "image: %zu frames; seg.threshold takes a 3-D image", g->dims[3]);
    if (search && qib_step_check_grid(step, "mask", search, img) != QIB_OK)
        return QIB_EGEOMETRY;
    double ref = NAN, bg = NAN;
    if (p->method == M_PERCENT_TABLE && (rc = table_value(step, p, &ref)))
        return rc;
    if (p->method == M_BACKGROUND) {
        if (p->table_column) {
            if ((rc = table_value(step, p, &bg)))
                return rc;
        } else if (isfinite(p->background)) {
            bg = p->background;
        } else {
            return qib_fail(step, QIB_EINVAL,
                            "method background_adapted needs the background: set background or "
                            "table_column");
        }
    }

    size_t nvox = qib_geom_frame_nvox(g);
    size_t nblk = qib_nblocks(nvox, BLOCK), hblk = qib_nblocks(nvox, HBLOCK);
    struct scan s = {.vol = img, .img = qib_volume_data(img), .dt = qib_volume_dtype(img),
                     .search = search ? qib_volume_data(search) : NULL};
    qib_volume *out = NULL;
    qib_table *t = NULL;
    double *centre = NULL, *work = NULL, *edges = NULL;
    float *edges32 = NULL;
    size_t *tot = NULL;
    double thr[8];
    size_t tidx[8], nthr = 0;
    double lo = INFINITY, hi = -INFINITY;
    size_t cnt = 0;

    s.lo = malloc(nblk * sizeof *s.lo);
    s.hi = malloc(nblk * sizeof *s.hi);
    s.cnt = malloc(nblk * sizeof *s.cnt);
    s.kept = malloc(nblk * sizeof *s.kept);
    if (!s.lo || !s.hi || !s.cnt || !s.kept) {
        rc = QIB_ENOMEM;
        goto fail;
    }
    /* Otsu on 8- and 16-bit images: one pass fills a histogram of the whole
     * type range, which also gives the extremes. */
    int have_hist = 0;
    enum qib_dtype dt0 = s.dt;
    if ((p->method == M_OTSU || p->method == M_MULTI_OTSU) &&
        (dt0 == QIB_U8 || dt0 == QIB_I8 || dt0 == QIB_U16 || dt0 == QIB_I16)) {
        int wide = dt0 == QIB_U16 || dt0 == QIB_I16;
        s.int_bins = 1;
        s.nbins = wide ? 65536 : 256;
        s.first = dt0 == QIB_I16 ? INT16_MIN : dt0 == QIB_I8 ? INT8_MIN : 0;
        s.hist = calloc(hblk * s.nbins, sizeof *s.hist);
        tot = calloc(s.nbins, sizeof *tot);
        if (!s.hist || !tot) {
            rc = QIB_ENOMEM;
            goto fail;
        }
        if ((rc = qib_parallel_for(pool, nvox, HBLOCK, hist_block, &s)))
            goto fail;
        size_t first = SIZE_MAX, last = 0;
        for (size_t i = 0; i < s.nbins; i++) {
            for (size_t b = 0; b < hblk; b++)
                tot[i] += s.hist[b * s.nbins + i];
            if (tot[i]) {
                first = first == SIZE_MAX ? i : first;
                last = i;
                cnt += tot[i];
            }
        }
        if (cnt) {
            /* keep the bins from the minimum to the maximum */
            lo = s.first + (double)first;
            hi = s.first + (double)last;
            memmove(tot, tot + first, (last - first + 1) * sizeof *tot);
            s.nbins = last - first + 1;
            s.first = lo;
        }
        have_hist = 1;
    } else if (p->method != M_ABSOLUTE) {
        if ((rc = qib_parallel_for(pool, nvox, BLOCK, extremes_block, &s)))
            goto fail;
        for (size_t b = 0; b < nblk; b++) {
            cnt += s.cnt[b];
            if (s.lo[b] < lo)
                lo = s.lo[b];
            if (s.hi[b] > hi)
                hi = s.hi[b];
        }
    }
    if (p->method != M_ABSOLUTE && !cnt) {
        rc = qib_fail(step, QIB_EINVAL, "%s: no voxel with a value to threshold%s",
                      search ? "mask" : "image", search ? " (the search mask is empty)" : "");
        goto fail;
    }

    /* lower and upper bound the absolute method only; the others keep
     * everything from their threshold up */
    double t_lo = p->lower, t_hi = p->method == M_ABSOLUTE ? p->upper : INFINITY;
    s.strict = 0;
    switch (p->method) {
    case M_ABSOLUTE:
        break;
    case M_PERCENT_MAX:
        ref = hi;
        t_lo = p->percent / 100.0 * hi;
        break;
    case M_PERCENT_TABLE:
        t_lo = p->percent / 100.0 * ref;
        break;
    case M_BACKGROUND:
        ref = hi;
        t_lo = bg + p->percent / 100.0 * (hi - bg);
        break;
    case M_OTSU:
    case M_MULTI_OTSU: {
        enum qib_dtype dt = s.dt;
        int isint = !qib_dtype_is_float(dt);
        if (lo == hi) {
            /* scikit-image returns the single value itself */
            thr[0] = lo;
            nthr = 1;
            if (p->method == M_MULTI_OTSU) {
                rc = qib_fail(step, QIB_ERANGE,
                              "%s: every voxel is %g: multi_otsu needs %" PRId64 " distinct values",
                              search ? "mask" : "image", lo, p->classes);
                goto fail;
            }
            break;
        }
        if (have_hist) {
            /* filled above */
        } else if (isint && hi - lo + 1 <= (double)MAX_INT_BINS) {
            s.int_bins = 1;
            s.nbins = (size_t)(hi - lo) + 1;
            s.first = lo;
        } else {
            s.nbins = (size_t)p->nbins;
            s.first = lo;
            s.last = hi;
            s.norm = (double)s.nbins / (hi - lo);
            edges = malloc((s.nbins + 1) * sizeof *edges);
            edges32 = malloc((s.nbins + 1) * sizeof *edges32);
            if (!edges || !edges32) {
                rc = QIB_ENOMEM;
                goto fail;
            }
            /* numpy.linspace: i * step + start, the last edge exactly stop */
            double step_d = (hi - lo) / (double)s.nbins;
            float lo32 = (float)lo, hi32 = (float)hi;
            float step32 = (hi32 - lo32) / (float)s.nbins;
            for (size_t i = 0; i <= s.nbins; i++) {
                edges[i] = (double)i * step_d + lo;
                edges32[i] = (float)i * step32 + lo32;
            }
            edges[s.nbins] = hi;
            edges32[s.nbins] = hi32;
            s.edges = edges;
            s.edges32 = edges32;
            s.first32 = lo32;
            s.norm32 = (float)((double)s.nbins / (double)(hi32 - lo32));
        }
        if (!have_hist) {
            if (hblk > SIZE_MAX / s.nbins / sizeof *s.hist) {
                rc = QIB_EOVERFLOW;
                goto fail;
            }
            s.hist = calloc(hblk * s.nbins, sizeof *s.hist);
            tot = calloc(s.nbins, sizeof *tot);
            if (!s.hist || !tot) {
                rc = QIB_ENOMEM;
                goto fail;
            }
            if ((rc = qib_parallel_for(pool, nvox, HBLOCK, hist_block, &s)))
                goto fail;
            for (size_t b = 0; b < hblk; b++)
                for (size_t i = 0; i < s.nbins; i++)
                    tot[i] += s.hist[b * s.nbins + i];
        }
        centre = malloc(s.nbins * sizeof *centre);
        work = malloc(4 * s.nbins * sizeof *work);
        if (!centre || !work) {
            rc = QIB_ENOMEM;
            goto fail;
        }
        for (size_t i = 0; i < s.nbins; i++) {
            if (s.int_bins)
                centre[i] = lo + (double)i;
            else if (dt == QIB_F32)
                centre[i] = (double)((edges32[i] + edges32[i + 1]) / 2.0f);
            else
                centre[i] = (edges[i] + edges[i + 1]) / 2.0;
        }
        if (p->method == M_OTSU) {
            thr[0] = centre[otsu_index(tot, centre, s.nbins, work)];
            nthr = 1;
        } else {
            rc = multi_otsu(tot, centre, s.nbins, (size_t)p->classes, tidx);
            if (rc == QIB_ERANGE) {
                rc = qib_fail(step, QIB_ERANGE,
                              "%s: fewer distinct histogram bins than the %" PRId64 " classes",
                              search ? "mask" : "image", p->classes);
                goto fail;
            }
            if (rc)
                goto fail;
            nthr = (size_t)p->classes - 1;
            for (size_t i = 0; i < nthr; i++)
                thr[i] = centre[tidx[i]];
        }
        if (p->method == M_OTSU) {
            /* foreground is strictly above the threshold (scikit-image) */
            t_lo = thr[0];
            s.strict = 1;
        }
        break;
    }
    }

    if ((rc = qib_mask_new(g, &out)))
        goto fail;
    s.out = qib_volume_data_mut(out);
    s.t_lo = t_lo;
    s.t_hi = t_hi;
    if (p->method == M_MULTI_OTSU) {
        /* numpy.digitize(v, thresholds): class = number of thresholds <= v,
         * with v > t for scikit-image's threshold_multiotsu usage */
        s.thr = thr;
        s.nthr = nthr;
    }
    if ((rc = qib_parallel_for(pool, nvox, BLOCK, mask_block, &s)))
        goto fail;
    size_t kept = 0;
    for (size_t b = 0; b < nblk; b++)
        kept += s.kept[b];

    const char *unit = qib_meta_get(qib_volume_meta(img), "units");
    if (unit && !*unit)
        unit = NULL;
    size_t c_thr, c_lo, c_hi, c_ref, c_bg, c_vox, c_ml, c_meth;
    if ((rc = qib_table_new(&t)) ||
        (rc = qib_table_add_column(t, "method", QIB_COL_STRING, NULL, NULL, &c_meth)) ||
        (rc = qib_table_add_column(t, "threshold", QIB_COL_DOUBLE, unit, NULL, &c_thr)) ||
        (rc = qib_table_add_column(t, "lower", QIB_COL_DOUBLE, unit, NULL, &c_lo)) ||
        (rc = qib_table_add_column(t, "upper", QIB_COL_DOUBLE, unit, NULL, &c_hi)) ||
        (rc = qib_table_add_column(t, "reference", QIB_COL_DOUBLE, unit, NULL, &c_ref)) ||
        (rc = qib_table_add_column(t, "background", QIB_COL_DOUBLE, unit, NULL, &c_bg)) ||
        (rc = qib_table_add_column(t, "voxels", QIB_COL_INT, NULL, NULL, &c_vox)) ||
        (rc = add_col(t, "volume_ml", QIB_COL_DOUBLE, "mL")))
        goto fail;
    (void)qib_table_find(t, "volume_ml", &c_ml);
    double ml = qib_geom_voxel_mm3(g) / 1000.0;
    size_t nrows = p->method == M_MULTI_OTSU ? nthr : 1;
    for (size_t r = 0; r < nrows; r++) {
        size_t row;
        double th = p->method == M_ABSOLUTE ? p->lower
                    : nthr                  ? thr[r]
                                            : t_lo;
        size_t vox = kept;
        if (p->method == M_MULTI_OTSU) {
            /* voxels of class r+1 or above */
            vox = 0;
            const uint8_t *m = s.out;
            for (size_t i = 0; i < nvox; i++)
                vox += m[i] > r;
        }
        if ((rc = qib_table_add_row(t, &row)) ||
            (rc = qib_table_set_string(t, row, c_meth, methods[p->method])) ||
            (rc = qib_table_set_double(t, row, c_thr, th)) ||
            (rc = qib_table_set_double(t, row, c_lo, p->method == M_MULTI_OTSU ? th : t_lo)) ||
            (rc = qib_table_set_double(t, row, c_hi, p->method == M_ABSOLUTE ? t_hi : NAN)) ||
            (rc = qib_table_set_double(t, row, c_ref, ref)) ||
            (rc = qib_table_set_double(t, row, c_bg, bg)) ||
            (rc = qib_table_set_int(t, row, c_vox, (int64_t)vox)) ||
            (rc = qib_table_set_double(t, row, c_ml, (double)vox * ml)))
            goto fail;
    }
    char buf[32];
    qib_step_record(step, "threshold", qib_format_double(nthr ? thr[0] : t_lo, buf));
    if (kept == 0)
        qib_step_log(step, "warning: no voxel passed the threshold; the mask is empty");

    free(s.lo);
    free(s.hi);
    free(s.cnt);
    free(s.kept);
    free(s.hist);
    free(tot);
    free(centre);
    free(work);
    free(edges);
    free(edges32);
    rc = qib_step_set_volume(step, "mask", out);
    if (rc)
        qib_table_unref(&t);
    else
        rc = qib_step_set_table(step, "table", t);
    return rc;

fail:
    free(s.lo);
    free(s.hi);
    free(s.cnt);
    free(s.kept);
    free(s.hist);
    free(tot);
    free(centre);
    free(work);
    free(edges);
    free(edges32);
    qib_volume_unref(&out);
    qib_table_unref(&t);
    if (rc == QIB_ENOMEM)
        return qib_fail(step, rc, "out of memory");
    if (rc == QIB_EOVERFLOW)
        return qib_fail(step, rc, "histogram too large");
    return rc;
}

static const struct qib_param params[] = {
    {.name = "method", .type = QIB_PARAM_ENUM, .offset = offsetof(struct threshold, method),
     .def = "absolute", .choices = methods,
     .help = "absolute: keep lower <= v <= upper; percent_max: v >= percent% of the maximum "
             "in the search mask; percent_table: v >= percent% of a table value; "
             "background_adapted: v >= background + percent% of (max - background); otsu: "
             "v > Otsu's threshold; multi_otsu: label each voxel with its class 0..classes-1"},
    {.name = "lower", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct threshold, lower),
     .def = "-inf",
     .help = "image units (e.g. HU, SUV): lowest value kept by method absolute"},
    {.name = "upper", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct threshold, upper),
     .def = "inf",
     .help = "image units: highest value kept by method absolute"},
    {.name = "percent", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct threshold, percent),
     .def = "50", .min = 0, .max = 100, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "%",
     .help = "percent (0..100) of the maximum, of the table value, or of max - background "
             "(e.g. 41 for the EANM 41% SUVmax isocontour)"},
    {.name = "background", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct threshold, background), .def = "inf",
     .help = "image units: background for background_adapted when no table_column is given "
             "(the default, inf, means not given)"},
    {.name = "table_column", .type = QIB_PARAM_STRING,
     .offset = offsetof(struct threshold, table_column),
     .help = "column of input \"table\" holding the reference value (percent_table) or the "
             "background (background_adapted), e.g. \"mean\" of bio.intensity"},
    {.name = "table_row", .type = QIB_PARAM_INT, .offset = offsetof(struct threshold, table_row),
     .def = "0", .min = 0, .flags = QIB_PARAM_MIN,
     .help = "row (from 0) of input \"table\" to read table_column from"},
    {.name = "classes", .type = QIB_PARAM_INT, .offset = offsetof(struct threshold, classes),
     .def = "3", .min = 2, .max = 6, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "multi_otsu: number of classes (2..6); the mask holds the class index"},
    {.name = "nbins", .type = QIB_PARAM_INT, .offset = offsetof(struct threshold, nbins),
     .def = "256", .min = 2, .max = 65536, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "otsu, multi_otsu: histogram bins over [min, max] for float images; integer "
             "images get one bin per value (scikit-image's convention)"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "image", .kind = QIB_OBJ_VOLUME, .help = "3-D image to threshold"},
    {.name = "mask", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL,
     .help = "search mask on the image's grid: voxels outside are never kept and do not "
             "enter max or histograms"},
    {.name = "table", .kind = QIB_OBJ_TABLE, .flags = QIB_PORT_OPTIONAL,
     .help = "table holding the reference or background value (table_column, table_row)"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "mask", .kind = QIB_OBJ_MASK,
     .help = "1 where the voxel passed (multi_otsu: class index, 0 = lowest class)"},
    {.name = "table", .kind = QIB_OBJ_TABLE,
     .help = "method, threshold used (one row per threshold), voxels and volume kept"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_SEG,
    .name = "threshold",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "threshold an image into a mask: fixed, percent of max or of a table value, "
               "background-adapted, Otsu, multi-level Otsu",
    .citation = "Otsu N. A threshold selection method from gray-level histograms. IEEE Trans "
                "Syst Man Cybern 1979;9:62-66. doi:10.1109/TSMC.1979.4310076",
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct threshold),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
