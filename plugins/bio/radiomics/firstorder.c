/* bio.radiomics first-order families (IBSI 1, chapters 3.2-3.5): local
 * intensity peaks, intensity-based statistics, intensity histogram and
 * intensity-volume histogram. */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rad.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Percentile p (0..100) of sorted x by linear interpolation between order
 * statistics (position p/100 * (n-1)). */
static double pctl(const double *x, size_t n, double p)
{
    double pos = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo + 1 >= n)
        return x[n - 1];
    double f = pos - (double)lo;
    return x[lo] + f * (x[lo + 1] - x[lo]);
}

/* Statistics shared by the intensity-statistics and intensity-histogram
 * families, in the order of the "stat_" tags; x is sorted in place. */
static void moments(double *x, size_t n, double *f)
{
    double s = 0, m2 = 0, m3 = 0, m4 = 0, e = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    double mean = s / (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - mean;
        m2 += d * d, m3 += d * d * d, m4 += d * d * d * d;
        e += x[i] * x[i];
    }
    m2 /= (double)n, m3 /= (double)n, m4 /= (double)n;
    qsort(x, n, sizeof *x, cmp_double);
    double med = pctl(x, n, 50), p10 = pctl(x, n, 10), p90 = pctl(x, n, 90);
    double p25 = pctl(x, n, 25), p75 = pctl(x, n, 75);
    double mad = 0, medad = 0, rs = 0, rmad = 0;
    size_t rn = 0;
    for (size_t i = 0; i < n; i++) {
        mad += fabs(x[i] - mean);
        medad += fabs(x[i] - med);
        if (x[i] >= p10 && x[i] <= p90)
            rs += x[i], rn++;
    }
    double rmean = rn ? rs / (double)rn : NAN;
    for (size_t i = 0; i < n; i++)
        if (x[i] >= p10 && x[i] <= p90)
            rmad += fabs(x[i] - rmean);
    f[0] = mean;
    f[1] = m2;
    f[2] = m2 > 0 ? m3 / pow(m2, 1.5) : 0;
    f[3] = m2 > 0 ? m4 / (m2 * m2) - 3 : 0;
    f[4] = med;
    f[5] = x[0];
    f[6] = p10;
    f[7] = p90;
    f[8] = x[n - 1];
    f[9] = p75 - p25;
    f[10] = x[n - 1] - x[0];
    f[11] = mad / (double)n;
    f[12] = rn ? rmad / (double)rn : NAN;
    f[13] = medad / (double)n;
    f[14] = sqrt(m2) / mean;
    f[15] = (p75 - p25) / (p75 + p25);
    f[16] = e;
    f[17] = sqrt(e / (double)n);
}

void qib__rad_stat(const struct rad_roi *r, const char *unit, struct rad_list *out)
{
    static const char *const names[18] = {
        "stat_mean", "stat_var", "stat_skew", "stat_kurt", "stat_median", "stat_min",
        "stat_p10", "stat_p90", "stat_max", "stat_iqr", "stat_range", "stat_mad",
        "stat_rmad", "stat_medad", "stat_cov", "stat_qcod", "stat_energy", "stat_rms",
    };
    size_t nbox = r->nx * r->ny * r->nz, n = 0;
    double *x = malloc((nbox ? nbox : 1) * sizeof *x), f[18];
    if (!x) {
        out->err = QIB_ENOMEM;
        return;
    }
    for (size_t i = 0; i < nbox; i++)
        if (r->in[i])
            x[n++] = r->val[i];
    if (n)
        moments(x, n, f);
    else
        for (int i = 0; i < 18; i++)
            f[i] = NAN;
    free(x);
    /* Units: the image's for location and spread, squared for variance and
     * energy, none for the ratios. */
    for (int i = 0; i < 18; i++) {
        const char *u = unit;
        if (i == 1)
            u = "image unit^2";
        else if (i == 2 || i == 3 || i == 14 || i == 15)
            u = NULL;
        else if (i == 16)
            u = "image unit^2";
        qib__rad_add(out, names[i], f[i], u);
    }
}

void qib__rad_hist(const struct rad_roi *r, struct rad_list *out)
{
    static const char *const names[18] = {
        "ih_mean", "ih_var", "ih_skew", "ih_kurt", "ih_median", "ih_min",
        "ih_p10", "ih_p90", "ih_max", "ih_iqr", "ih_range", "ih_mad",
        "ih_rmad", "ih_medad", "ih_cov", "ih_qcod", NULL, NULL,
    };
    size_t nbox = r->nx * r->ny * r->nz, n = 0, ng = (size_t)r->ng;
    double *x = malloc((nbox ? nbox : 1) * sizeof *x), f[18];
    double *h = calloc(ng + 1, sizeof *h);
    if (!x || !h) {
        free(x), free(h);
        out->err = QIB_ENOMEM;
        return;
    }
    for (size_t i = 0; i < nbox; i++)
        if (r->gl[i]) {
            x[n++] = r->gl[i];
            h[r->gl[i] - 1] += 1;
        }
    if (n)
        moments(x, n, f);
    else
        for (int i = 0; i < 18; i++)
            f[i] = NAN;
    size_t mode = 0;
    double ent = 0, uni = 0;
    for (size_t i = 0; i < ng; i++) {
        if (h[i] > h[mode])
            mode = i;
        double p = n ? h[i] / (double)n : 0;
        if (p > 0)
            ent -= p * log2(p);
        uni += p * p;
    }
    /* Histogram gradient: central differences, one-sided at both ends. */
    double gmax = -INFINITY, gmin = INFINITY;
    size_t imax = 0, imin = 0;
    for (size_t i = 0; i < ng; i++) {
        double g;
        if (ng == 1)
            g = 0;
        else if (i == 0)
            g = h[1] - h[0];
        else if (i == ng - 1)
            g = h[i] - h[i - 1];
        else
            g = (h[i + 1] - h[i - 1]) / 2;
        if (g > gmax)
            gmax = g, imax = i;
        if (g < gmin)
            gmin = g, imin = i;
    }
    for (int i = 0; i < 11; i++)
        qib__rad_add(out, names[i], f[i], NULL);
    qib__rad_add(out, "ih_mode", n ? (double)(mode + 1) : NAN, NULL);
    for (int i = 9; i < 16; i++)
        qib__rad_add(out, names[i], f[i], NULL);
    qib__rad_add(out, "ih_entropy", n ? ent : NAN, NULL);
    qib__rad_add(out, "ih_uniformity", n ? uni : NAN, NULL);
    qib__rad_add(out, "ih_max_grad", n ? gmax : NAN, NULL);
    qib__rad_add(out, "ih_max_grad_g", n ? (double)(imax + 1) : NAN, NULL);
    qib__rad_add(out, "ih_min_grad", n ? gmin : NAN, NULL);
    qib__rad_add(out, "ih_min_grad_g", n ? (double)(imin + 1) : NAN, NULL);
    free(x), free(h);
}

void qib__rad_ivh(const struct rad_roi *r, struct rad_list *out)
{
    size_t nbox = r->nx * r->ny * r->nz, nl = (size_t)r->ivh_n;
    double *h = calloc(nl + 1, sizeof *h);
    if (!h) {
        out->err = QIB_ENOMEM;
        return;
    }
    double n = 0;
    for (size_t i = 0; i < nbox; i++)
        if (r->ivh_gl[i]) {
            h[r->ivh_gl[i] - 1] += 1;
            n += 1;
        }
    /* above[g] = fraction of voxels at level g+1 or higher. */
    double *above = calloc(nl + 1, sizeof *above);
    if (!above) {
        free(h);
        out->err = QIB_ENOMEM;
        return;
    }
    for (size_t g = nl; g-- > 0;)
        above[g] = above[g + 1] + h[g];
    for (size_t g = 0; g <= nl; g++)
        above[g] = n > 0 ? above[g] / n : NAN;
    double v[2], ix[2];
    const double fr[2] = {0.10, 0.90};
    for (int k = 0; k < 2; k++) {
        /* v_x: fraction of the volume at or above the intensity at fraction
         * x of the range. */
        double thr = r->ivh_min + fr[k] * (r->ivh_max - r->ivh_min);
        double cnt = 0;
        for (size_t g = 0; g < nl; g++)
            if (r->ivh_lo + (double)g * r->ivh_w >= thr - 1e-9 * fabs(thr))
                cnt += h[g];
        v[k] = n > 0 ? cnt / n : NAN;
        /* i_x: the lowest intensity at which at most the fraction x of the
         * volume is at or above it. */
        ix[k] = NAN;
        for (size_t g = 0; g <= nl; g++)
            if (above[g] <= fr[k]) {
                ix[k] = r->ivh_lo + (double)g * r->ivh_w;
                break;
            }
    }
    qib__rad_add(out, "ivh_v10", v[0], NULL);
    qib__rad_add(out, "ivh_v90", v[1], NULL);
    qib__rad_add(out, "ivh_i10", ix[0], NULL);
    qib__rad_add(out, "ivh_i90", ix[1], NULL);
    qib__rad_add(out, "ivh_diff_v10_v90", v[0] - v[1], NULL);
    qib__rad_add(out, "ivh_diff_i10_i90", ix[0] - ix[1], NULL);
    free(h), free(above);
}

void qib__rad_local(const struct rad_roi *r, const char *unit, struct rad_list *out)
{
    /* The sphere of 1 cm^3: radius (3 / (4 pi) * 1000 mm^3)^(1/3). */
    double rad = cbrt(3.0 / (4.0 * M_PI) * 1000.0);
    long ext[3];
    for (int a = 0; a < 3; a++)
        ext[a] = (long)floor(rad / r->sp[a]);
    double maxv = -INFINITY, peak_loc = -INFINITY, peak_glob = -INFINITY;
    size_t nbox = r->nx * r->ny * r->nz;
    for (size_t i = 0; i < nbox; i++)
        if (r->in[i] && r->val[i] > maxv)
            maxv = r->val[i];
    for (size_t i = 0; i < nbox; i++) {
        if (!r->in[i])
            continue;
        long x = (long)(i % r->nx), y = (long)((i / r->nx) % r->ny), z = (long)(i / (r->nx * r->ny));
        double s = 0, c = 0;
        for (long dz = -ext[2]; dz <= ext[2]; dz++) {
            long zz = z + dz;
            if (zz < 0 || zz >= (long)r->nz)
                continue;
            for (long dy = -ext[1]; dy <= ext[1]; dy++) {
                long yy = y + dy;
                if (yy < 0 || yy >= (long)r->ny)
                    continue;
                for (long dx = -ext[0]; dx <= ext[0]; dx++) {
                    long xx = x + dx;
                    if (xx < 0 || xx >= (long)r->nx)
                        continue;
                    double ex = (double)dx * r->sp[0], ey = (double)dy * r->sp[1],
                           ez = (double)dz * r->sp[2];
                    if (ex * ex + ey * ey + ez * ez > rad * rad)
                        continue;
                    s += r->val[(size_t)xx + r->nx * ((size_t)yy + r->ny * (size_t)zz)];
                    c += 1;
                }
            }
        }
        double m = s / c;
        if (m > peak_glob)
            peak_glob = m;
        if (r->val[i] == maxv && m > peak_loc)
            peak_loc = m;
    }
    qib__rad_add(out, "loc_peak_loc", isfinite(peak_loc) ? peak_loc : NAN, unit);
    qib__rad_add(out, "loc_peak_glob", isfinite(peak_glob) ? peak_glob : NAN, unit);
}
