/* bio.intensity on a volume large enough to span many blocks: the table is
 * bit for bit the same for 1, 2, 3, 4 and 8 threads, and every statistic
 * agrees with numpy (float64 moments, np.percentile's default "linear"
 * method, which is Hyndman-Fan type 7) computed from the same voxels. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t0400-util.h"

enum { NX = 70, NY = 60, NZ = 50, NV = NX * NY * NZ };

static uint64_t rng_state = 0x5EED1234ABCDull;

static uint64_t next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double unif(void)
{
    return (double)(next() >> 11) * (1.0 / 9007199254740992.0);
}

/* Labels: 1 a ball of radius 20 voxels (~33500 voxels, several sum blocks),
 * 2 a slab, 7 a sparse scatter, 255 one corner voxel. */
static void make_mask(uint8_t *m)
{
    for (int z = 0; z < NZ; z++)
        for (int y = 0; y < NY; y++)
            for (int x = 0; x < NX; x++) {
                size_t i = (size_t)x + NX * ((size_t)y + NY * (size_t)z);
                double dx = x - 35, dy = y - 30, dz = z - 25;
                m[i] = 0;
                if (dx * dx + dy * dy + dz * dz <= 400)
                    m[i] = 1;
                else if (z < 4)
                    m[i] = 2;
                else if (next() % 17 == 0)
                    m[i] = 7;
            }
    m[NV - 1] = 255;
}

/* Skewed values (a sum of uniforms plus an exponential tail) so that
 * skewness and kurtosis are far from 0; integer-rounded when @p ints. */
static void make_values(double *v, int ints)
{
    for (size_t i = 0; i < NV; i++) {
        double s = unif() + unif() + unif() + unif() - 2.0;
        double x = 40.0 + 120.0 * s - 60.0 * log(1.0 - unif());
        v[i] = ints ? floor(x + 0.5) : x;
    }
}

/* Every cell of two tables identical, bit for bit. */
static int same_bits(const qib_table *a, const qib_table *b)
{
    if (!a || !b || qib_table_nrows(a) != qib_table_nrows(b) ||
        qib_table_ncols(a) != qib_table_ncols(b))
        return 0;
    for (size_t r = 0; r < qib_table_nrows(a); r++)
        for (size_t c = 0; c < qib_table_ncols(a); c++) {
            if (qib_table_col_type(a, c) == QIB_COL_INT) {
                if (qib_table_get_int(a, r, c) != qib_table_get_int(b, r, c))
                    return 0;
            } else {
                double x = qib_table_get_double(a, r, c), y = qib_table_get_double(b, r, c);
                if (memcmp(&x, &y, sizeof x) != 0) {
                    diag("row %zu %s: %.17g vs %.17g", r, qib_table_col_name(a, c), x, y);
                    return 0;
                }
            }
        }
    return 1;
}

static const char *const pyscript =
    "import sys\n"
    "import numpy as np\n"
    "img = np.fromfile(sys.argv[1], dtype='<f8')\n"
    "lo, hi = float(sys.argv[3]), float(sys.argv[4])\n"
    "if sys.argv[2] == '-':\n"
    "    msk = np.zeros(img.shape, dtype=np.uint8)\n"
    "    labs = [0]\n"
    "else:\n"
    "    msk = np.fromfile(sys.argv[2], dtype=np.uint8)\n"
    "    labs = [l for l in np.unique(msk) if l != 0]\n"
    "for l in labs:\n"
    "    x = img[msk == l]\n"
    "    nall = x.size\n"
    "    nnan = int(np.isnan(x).sum())\n"
    "    x = x[~np.isnan(x)]\n"
    "    x = x[(x >= lo) & (x <= hi)]\n"
    "    m = x.mean()\n"
    "    d = x - m\n"
    "    m2, m3, m4 = (d**2).mean(), (d**3).mean(), (d**4).mean()\n"
    "    q = np.percentile(x, [5, 10, 25, 50, 75, 90, 95])\n"
    "    sk, ku = (m3 / m2**1.5, m4 / m2**2 - 3) if m2 > 0 else (0.0, 0.0)\n"
    "    vals = [m, m2, sk, ku, x.min(), x.max()] + list(q)\n"
    "    print(int(l), nall, x.size, nnan, ' '.join(repr(float(v)) for v in vals))\n";

static const char *const dcols[] = {"mean", "variance", "skewness", "excess_kurtosis",
                                    "min", "max", "p05", "p10", "p25", "median",
                                    "p75", "p90", "p95"};
/* relative tolerances: sums differ from numpy's pairwise summation in the
 * last digits; order statistics and interpolations to an ulp or two */
static const double dtol[] = {1e-13, 1e-12, 1e-10, 1e-10, 0, 0, 1e-15, 1e-15,
                              1e-15, 1e-15, 1e-15, 1e-15, 1e-15};

static void compare_numpy(const char *what, const qib_table *t, const double *v,
                          const uint8_t *m, const char *lower, const char *upper)
{
    char *dir = tap_tmpdir(), img[512], msk[512], py[512], cmd[2048];
    snprintf(img, sizeof img, "%s/img.f64", dir);
    snprintf(msk, sizeof msk, "%s/mask.u8", dir);
    snprintf(py, sizeof py, "%s/stats.py", dir);
    FILE *f = fopen(img, "wb");
    if (!f || fwrite(v, sizeof *v, NV, f) != NV || fclose(f))
        bail("write %s", img);
    if (m && (!(f = fopen(msk, "wb")) || fwrite(m, 1, NV, f) != NV || fclose(f)))
        bail("write %s", msk);
    if (!(f = fopen(py, "w")) || fputs(pyscript, f) < 0 || fclose(f))
        bail("write %s", py);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s %s %s", py, img, m ? msk : "-",
             lower, upper);
    int st;
    char *out = run_cmd(cmd, &st);
    if (st != 0) {
        diag("%s", out ? out : "");
        skip(1, "%s: numpy cross-check unavailable (python3 with numpy)", what);
        free(out);
        t04_rmdir(dir);
        return;
    }
    size_t row = 0;
    int good = 1;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        long long lab, nall, nkept, nnan;
        double e[13];
        int pos = 0;
        if (sscanf(line, "%lld %lld %lld %lld%n", &lab, &nall, &nkept, &nnan, &pos) != 4)
            bail("numpy output: %s", line);
        char *p = line + pos;
        for (int k = 0; k < 13; k++)
            e[k] = strtod(p, &p);
        if (row >= qib_table_nrows(t) || t04_i(t, row, "label") != lab ||
            t04_i(t, row, "mask_voxels") != nall || t04_i(t, row, "voxels") != nkept ||
            t04_i(t, row, "nan_voxels") != nnan) {
            diag("%s: row %zu: label/counts differ from numpy: %s", what, row, line);
            good = 0;
        }
        for (int k = 0; k < 13 && row < qib_table_nrows(t); k++) {
            double got = t04_d(t, row, dcols[k]);
            if (!(fabs(got - e[k]) <= dtol[k] * fabs(e[k]))) {
                diag("%s: label %lld %s: %.17g, numpy %.17g", what, lab, dcols[k], got, e[k]);
                good = 0;
            }
        }
        row++;
    }
    ok(good && row == qib_table_nrows(t), "%s: %zu labels agree with numpy", what, row);
    free(out);
    t04_rmdir(dir);
}

static void run_case(const char *what, enum qib_dtype dt, int with_mask, int ints,
                     int with_nan, const char *lower, const char *upper)
{
    double *v = malloc(NV * sizeof *v);
    uint8_t *m = malloc(NV);
    if (!v || !m)
        bail("out of memory");
    make_mask(m);
    make_values(v, ints);
    if (with_nan)
        for (size_t i = 0; i < NV; i += 97)
            v[i] = NAN;
    qib_volume *img = t04_volume(dt, NX, NY, NZ, 1, NULL, v);
    /* numpy gets the voxels as stored (f32 rounding, i16) */
    qib_volume_to_f64(img, v);
    qib_volume *msk = with_mask ? t04_mask(qib_volume_geom(img), m) : NULL;
    const char *const params[] = {"lower", lower, "upper", upper, NULL};
    const int threads[] = {1, 2, 3, 4, 8};
    qib_harness *h[5] = {NULL};
    int rc, good = 1;
    for (int k = 0; k < 5; k++) {
        h[k] = t04_run("bio.intensity", "image", img, "mask", msk, params, threads[k], &rc);
        if (rc != QIB_OK) {
            diag("%s, %d threads: %s", what, threads[k], qib_harness_error(h[k]));
            good = 0;
        }
    }
    ok(good, "%s: runs with 1, 2, 3, 4, 8 threads succeed", what);
    const qib_table *t1 = qib_harness_out_table(h[0], "table");
    for (int k = 1; k < 5; k++)
        ok(same_bits(t1, qib_harness_out_table(h[k], "table")),
           "%s: %d threads give the bits of 1 thread", what, threads[k]);
    if (t1)
        compare_numpy(what, t1, v, with_mask ? m : NULL, lower, upper);
    else
        skip(1, "no table");
    for (int k = 0; k < 5; k++)
        qib_harness_free(&h[k]);
    qib_volume_unref(&img);
    qib_volume_unref(&msk);
    free(v);
    free(m);
}

int main(void)
{
    plan_lazy();
    run_case("f64, 4 labels", QIB_F64, 1, 0, 0, "-inf", "inf");
    run_case("f32 values with NaNs, re-segmented [-100, 250]", QIB_F32, 1, 0, 1, "-100", "250");
    run_case("i16 (many ties)", QIB_I16, 1, 1, 0, "-inf", "inf");
    run_case("i16 no mask", QIB_I16, 0, 1, 0, "-inf", "inf");
    run_case("f64 no mask, re-segmented [0, 100]", QIB_F64, 0, 0, 0, "0", "100");
    return tap_done();
}
