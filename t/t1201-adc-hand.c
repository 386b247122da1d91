/* bio.adc on tiny series whose fits are worked out by hand below: the
 * log-linear, weighted and two-point fits, S0 and R^2, the flags (noise
 * floor, no decay, clipping), the statistics per label, the units, the
 * b-values from metadata or parameter and their selection, and the
 * ice-water QA mode with repeats. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "t0400-util.h"

/* f32 maps: values near 1 carry about 6e-8 relative rounding. */
#define FTOL 1e-6

static void set_meta(qib_volume *v, const char *key, const char *val)
{
    if (qib_meta_set(qib_volume_meta_mut(v), key, val, "test") != QIB_OK)
        bail("cannot set %s", key);
}

static double map_at(const qib_harness *h, const char *port, size_t i)
{
    const qib_volume *v = qib_harness_out_volume(h, port);
    if (!v)
        bail("no output %s", port);
    return qib_volume_get(v, i);
}

static int near_rel(double got, double want, double rel)
{
    return fabs(got - want) <= rel * fabs(want);
}

/* Five voxels (x = 0..4) of a 5x1x1 grid at b = 0, 500, 1000 s/mm^2:
 *   A: ln S = ln 1000 - b 1e-3 + e, e = (0, 0.03, 0);
 *   B: S = (1000, 0, 0): a signal <= 0, flagged 1 (noise floor);
 *   C: S = (500, 600, 700): no decay, flagged 2;
 *   D: S = 1000 exp(-b 5e-3): ADC 5e-3 above clip_max 4e-3, flagged 4;
 *   E: S = 1000 exp(-b 5e-5): ADC 5e-5, fitted.
 * Voxel i of frame f is at index f * 5 + i. */
static qib_volume *five_voxels(void)
{
    const double b[3] = {0, 500, 1000};
    double v[15];
    for (int f = 0; f < 3; f++) {
        v[f * 5 + 0] = 1000 * exp(-b[f] * 1e-3 + (f == 1 ? 0.03 : 0));
        v[f * 5 + 1] = f ? 0 : 1000;
        v[f * 5 + 2] = 500 + 100 * f;
        v[f * 5 + 3] = 1000 * exp(-b[f] * 5e-3);
        v[f * 5 + 4] = 1000 * exp(-b[f] * 5e-5);
    }
    return t04_volume(QIB_F64, 5, 1, 1, 3, NULL, v);
}

/* LLS on A: mean b 500, Sbb = 2 x 500^2 = 500000; slope = (-500 y0 + 500 y2)
 * / 500000 = (y2 - y0) / 1000 = -1e-3: ADC 1e-3 exactly (the middle point,
 * at mean b, does not move the slope).  Intercept = mean y + 1e-3 x 500 =
 * ln 1000 + 0.01: S0 = 1000 e^0.01.  Residuals e - 0.01 = (-0.01, 0.02,
 * -0.01): SSres = 0.0006; deviations from mean y (ln 1000 - 0.49):
 * (0.49, 0.02, -0.51): SStot = 0.5006; R^2 = 1 - 0.0006/0.5006.
 * Statistics without a mask (label 0, 1e-3 mm^2/s): fitted A = 1, D = 4
 * (clipped), E = 0.05: n 3, mean 5.05/3, median 1, min 0.05, max 4,
 * population SD sqrt(((1-m)^2 + (4-m)^2 + (0.05-m)^2) / 3). */
static void lls(void)
{
    qib_volume *img = five_voxels();
    set_meta(img, "dicom.b_values", "0 500 1000");
    int rc;
    qib_harness *h = t04_run("bio.adc", "image", img, NULL, NULL, NULL, 2, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    if (!ok(rc == QIB_OK && t && qib_table_nrows(t) == 1, "lls: runs, one row without a mask"))
        diag("%s", qib_harness_error(h));
    else {
        ok(near_rel(map_at(h, "adc", 0), 1.0, FTOL), "A: ADC 1e-3 mm^2/s exactly (got %.9g)",
           map_at(h, "adc", 0));
        ok(near_rel(map_at(h, "s0", 0), 1000 * exp(0.01), FTOL), "A: S0 = 1000 e^0.01");
        is_double(map_at(h, "r2", 0), 1 - 0.0006 / 0.5006, FTOL, "A: R^2 = 1 - 0.0006/0.5006");
        is_int((long long)map_at(h, "flags", 0), 0, "A: flag 0 (fitted)");
        ok(isnan(map_at(h, "adc", 1)) && isnan(map_at(h, "s0", 1)), "B: ADC and S0 NaN");
        is_int((long long)map_at(h, "flags", 1), 1, "B: flag 1 (signal <= 0)");
        ok(isnan(map_at(h, "adc", 2)), "C: ADC NaN");
        is_int((long long)map_at(h, "flags", 2), 2, "C: flag 2 (no decay)");
        is_double(map_at(h, "adc", 3), 4.0, FTOL, "D: clipped to 4e-3 mm^2/s");
        is_int((long long)map_at(h, "flags", 3), 4, "D: flag 4 (clipped high)");
        ok(near_rel(map_at(h, "adc", 4), 0.05, FTOL), "E: ADC 5e-5 mm^2/s");
        double m = 5.05 / 3, sd = sqrt(((1 - m) * (1 - m) + (4 - m) * (4 - m) +
                                        (0.05 - m) * (0.05 - m)) / 3);
        is_int(t04_i(t, 0, "label"), 0, "label 0: the whole image");
        is_int(t04_i(t, 0, "voxels"), 5, "voxels 5");
        is_int(t04_i(t, 0, "n"), 3, "n 3 (A, D clipped, E)");
        is_int(t04_i(t, 0, "flagged_floor"), 1, "flagged_floor 1");
        is_int(t04_i(t, 0, "flagged_no_decay"), 1, "flagged_no_decay 1");
        is_int(t04_i(t, 0, "clipped_high"), 1, "clipped_high 1");
        is_int(t04_i(t, 0, "clipped_low"), 0, "clipped_low 0");
        is_double(t04_d(t, 0, "adc_mean"), m, FTOL, "mean 5.05/3");
        is_double(t04_d(t, 0, "adc_median"), 1, FTOL, "median 1");
        is_double(t04_d(t, 0, "adc_sd"), sd, FTOL, "population SD");
        is_double(t04_d(t, 0, "adc_min"), 0.05, FTOL, "min 0.05");
        is_double(t04_d(t, 0, "adc_max"), 4, FTOL, "max 4");
        size_t c = t04_col(t, "adc_mean");
        is_string(qib_table_col_unit(t, c), "1e-3 mm2/s", "adc_mean unit 1e-3 mm2/s");
        is_string(qib_table_col_ibsi(t, c), "Q4LE", "adc_mean IBSI code Q4LE");
        is_string(qib_meta_get(qib_volume_meta(qib_harness_out_volume(h, "adc")), "units"),
                  "1e-3 mm2/s", "the map states its unit");
        is_string(qib_harness_record(h, "b_values_source"), "metadata dicom.b_values",
                  "b-values from the metadata");
    }
    qib_harness_free(&h);

    /* Units mm2/s; clip_min 1e-4 clips E (5e-5) up; a mask: A, D label 1,
     * B, C, E label 2.  Label 1: 1e-3 and 4e-3: mean = median 2.5e-3, SD
     * 1.5e-3.  Label 2: only E, at 1e-4. */
    const uint8_t lab[5] = {1, 2, 2, 1, 2};
    qib_volume *msk = t04_mask(qib_volume_geom(img), lab);
    const char *const p[] = {"units", "mm2/s", "clip_min", "1e-4", NULL};
    h = t04_run("bio.adc", "image", img, "mask", msk, p, 1, &rc);
    t = qib_harness_out_table(h, "table");
    if (!ok(rc == QIB_OK && t && qib_table_nrows(t) == 2, "mask: one row per label"))
        diag("%s", qib_harness_error(h));
    else {
        ok(near_rel(map_at(h, "adc", 0), 1e-3, FTOL), "A: 1e-3 in mm2/s");
        is_int((long long)map_at(h, "flags", 4), 3, "E: flag 3 (clipped low)");
        ok(near_rel(map_at(h, "adc", 4), 1e-4, FTOL), "E: set to clip_min 1e-4");
        is_int(t04_i(t, 0, "label"), 1, "row 0: label 1");
        ok(near_rel(t04_d(t, 0, "adc_mean"), 2.5e-3, FTOL), "label 1: mean 2.5e-3");
        ok(near_rel(t04_d(t, 0, "adc_median"), 2.5e-3, FTOL),
           "label 1: median of two = their mean");
        ok(near_rel(t04_d(t, 0, "adc_sd"), 1.5e-3, FTOL), "label 1: SD 1.5e-3");
        is_int(t04_i(t, 1, "voxels"), 3, "label 2: 3 voxels");
        is_int(t04_i(t, 1, "n"), 1, "label 2: n 1");
        is_int(t04_i(t, 1, "clipped_low"), 1, "label 2: clipped_low 1");
        is_int(t04_i(t, 1, "flagged_floor") + t04_i(t, 1, "flagged_no_decay"), 2,
               "label 2: B and C flagged");
        is_string(qib_table_col_unit(t, t04_col(t, "adc_max")), "mm2/s", "unit mm2/s");
    }
    qib_harness_free(&h);

    /* The parameter wins over the metadata: b = 0, 250, 500 halves every
     * b, so A's slope doubles: ADC 2e-3. */
    const char *const pb[] = {"bvalues", "[0, 250, 500]", NULL};
    h = t04_run("bio.adc", "image", img, NULL, NULL, pb, 1, &rc);
    if (ok(rc == QIB_OK, "bvalues parameter accepted"))
        ok(near_rel(map_at(h, "adc", 0), 2.0, FTOL), "parameter wins: A's ADC 2e-3");
    else
        diag("%s", qib_harness_error(h));
    is_string(qib_harness_record(h, "b_values_source"), "parameter bvalues",
              "source recorded: parameter");
    qib_harness_free(&h);

    /* noise_floor 300: D's S(1000) = 1000 e^-5 = 6.7 is below it: flagged. */
    const char *const pf[] = {"noise_floor", "300", NULL};
    h = t04_run("bio.adc", "image", img, NULL, NULL, pf, 1, &rc);
    if (ok(rc == QIB_OK, "noise_floor 300 runs")) {
        is_int((long long)map_at(h, "flags", 3), 1, "D: below the floor, flag 1");
        is_int((long long)map_at(h, "flags", 0), 0, "A (S >= 367): still fitted");
    }
    qib_harness_free(&h);
    qib_volume_unref(&msk);
    qib_volume_unref(&img);
}

/* Two-point on A: the lowest and highest b only: ADC = (y0 - y2) / 1000 =
 * 1e-3, S0 = S(0) = 1000.  R^2 over all three selected frames with that
 * line: residuals (0, 0.03, 0): SSres 0.0009, SStot 0.5006.
 *
 * WLS on A, w = S^2 = 1e6 (1, e^-0.94, e^-2): minimising sum w (y - a +
 * ADC b)^2 gives the normal equations
 *   [sum w, sum w b; sum w b, sum w b^2] [a; -ADC] = [sum w y; sum w b y],
 * solved here with the uncentred b (the plugin centres b): ADC =
 * 0.000979422205109, S0 = e^a = 1003.22598025976 and the weighted R^2 =
 * 0.998752983304 (weighted mean of y). */
static void two_point_wls(void)
{
    qib_volume *img = five_voxels();
    set_meta(img, "dicom.b_values", "0 500 1000");
    const char *const p2[] = {"model", "two_point", NULL};
    int rc;
    qib_harness *h = t04_run("bio.adc", "image", img, NULL, NULL, p2, 1, &rc);
    if (ok(rc == QIB_OK, "two_point runs")) {
        ok(near_rel(map_at(h, "adc", 0), 1.0, FTOL), "two_point A: ADC 1e-3");
        ok(near_rel(map_at(h, "s0", 0), 1000, FTOL), "two_point A: S0 = S(0) = 1000");
        is_double(map_at(h, "r2", 0), 1 - 0.0009 / 0.5006, FTOL,
                  "two_point A: R^2 over all three b");
        ok(near_rel(map_at(h, "adc", 4), 0.05, FTOL), "two_point E: 5e-5");
    } else
        diag("%s", qib_harness_error(h));
    qib_harness_free(&h);

    double b[3] = {0, 500, 1000}, y[3], w[3];
    double sw = 0, swb = 0, swbb = 0, swy = 0, swby = 0;
    for (int i = 0; i < 3; i++) {
        y[i] = log(1000) - b[i] * 1e-3 + (i == 1 ? 0.03 : 0);
        w[i] = exp(2 * y[i]);
        sw += w[i], swb += w[i] * b[i], swbb += w[i] * b[i] * b[i];
        swy += w[i] * y[i], swby += w[i] * b[i] * y[i];
    }
    double det = sw * swbb - swb * swb;
    double slope = (sw * swby - swb * swy) / det, a = (swy - slope * swb) / sw;
    is_double(-slope, 0.000979422205109, 1e-15, "closed form agrees with the value above");
    const char *const pw[] = {"model", "wls", NULL};
    h = t04_run("bio.adc", "image", img, NULL, NULL, pw, 1, &rc);
    if (ok(rc == QIB_OK, "wls runs")) {
        ok(near_rel(map_at(h, "adc", 0), 0.979422205109, FTOL), "wls A: ADC 0.9794e-3 (got %.9g)",
           map_at(h, "adc", 0));
        ok(near_rel(map_at(h, "s0", 0), 1003.22598025976, FTOL), "wls A: S0 1003.226");
        ok(near_rel(exp(a), 1003.22598025976, 1e-12), "closed-form S0 agrees");
        is_double(map_at(h, "r2", 0), 0.998752983304, FTOL, "wls A: weighted R^2");
        ok(near_rel(map_at(h, "adc", 4), 0.05, FTOL), "wls E: exact data, exact fit");
    } else
        diag("%s", qib_harness_error(h));
    qib_harness_free(&h);
    qib_volume_unref(&img);
}

/* One voxel at b = 0, 100, 500, 1000 with S = 1000 exp(-b 1e-3) except
 * S(0) = 1200 (a perfusion-like excess): leaving b = 0 out, by bmin 100 or
 * by use_b [100, 1000], gives 1e-3 exactly; the full fit does not. */
static void selection(void)
{
    const double b[4] = {0, 100, 500, 1000};
    double v[4];
    for (int f = 0; f < 4; f++)
        v[f] = f ? 1000 * exp(-b[f] * 1e-3) : 1200;
    qib_volume *img = t04_volume(QIB_F64, 1, 1, 1, 4, NULL, v);
    set_meta(img, "dicom.b_values", "0 100 500 1000");
    int rc;
    const char *const p1[] = {"bmin", "100", NULL};
    qib_harness *h = t04_run("bio.adc", "image", img, NULL, NULL, p1, 1, &rc);
    ok(rc == QIB_OK && near_rel(map_at(h, "adc", 0), 1.0, FTOL), "bmin 100: ADC 1e-3");
    is_string(qib_harness_record(h, "b_values_fitted"), "100 500 1000", "fitted b recorded");
    qib_harness_free(&h);
    const char *const p2[] = {"use_b", "[100, 1000]", "model", "two_point", NULL};
    h = t04_run("bio.adc", "image", img, NULL, NULL, p2, 1, &rc);
    ok(rc == QIB_OK && near_rel(map_at(h, "adc", 0), 1.0, FTOL), "use_b [100, 1000]: 1e-3");
    qib_harness_free(&h);
    const char *const p3[] = {"bmax", "500", "bmin", "100", NULL};
    h = t04_run("bio.adc", "image", img, NULL, NULL, p3, 1, &rc);
    ok(rc == QIB_OK && near_rel(map_at(h, "adc", 0), 1.0, FTOL), "bmin 100, bmax 500: 1e-3");
    qib_harness_free(&h);
    h = t04_run("bio.adc", "image", img, NULL, NULL, NULL, 1, &rc);
    ok(rc == QIB_OK && map_at(h, "adc", 0) > 1.05, "all b: b = 0 excess raises the ADC (%g)",
       rc == QIB_OK ? map_at(h, "adc", 0) : NAN);
    qib_harness_free(&h);
    qib_volume_unref(&img);
}

/* Ice-water QA, 2x2x1 voxels, all label 1, b = 0, 500, 1000 twice
 * (repeats 2).  Repeat 1: ADC 1.0, 1.2, 1.0, 1.2 (1e-3 mm^2/s): mean 1.1,
 * population SD 0.1, CV 9.0909 %.  Repeat 2: 1.2 everywhere: CV 0.
 * Mean of the repeat means 1.15: bias 100 (1.15 - 1.1) / 1.1 = 4.5454 %;
 * cv_percent (mean over repeats) 4.5454 %; repeat SD (n - 1) of 1.1 and
 * 1.2 = 0.1/sqrt 2 = 0.0707107; wCV 100 x 0.0707107 / 1.15 = 6.1488 %;
 * RC 2.77 x 0.0707107 = 0.195869. */
static void qa(void)
{
    const double b[3] = {0, 500, 1000}, a1[4] = {1.0, 1.2, 1.0, 1.2};
    double v[24];
    for (int r = 0; r < 2; r++)
        for (int f = 0; f < 3; f++)
            for (int i = 0; i < 4; i++)
                v[(r * 3 + f) * 4 + i] = 1000 * exp(-b[f] * 1e-3 * (r ? 1.2 : a1[i]));
    qib_volume *img = t04_volume(QIB_F64, 2, 2, 1, 6, NULL, v);
    const uint8_t lab[4] = {1, 1, 1, 1};
    qib_volume *msk = t04_mask(qib_volume_geom(img), lab);
    const char *const p[] = {"bvalues", "[0, 500, 1000, 0, 500, 1000]", "repeats", "2", "qa",
                             "ice_water", NULL};
    int rc;
    qib_harness *h = t04_run("bio.adc", "image", img, "mask", msk, p, 2, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    if (ok(rc == QIB_OK && t && qib_table_nrows(t) == 1, "qa ice_water with 2 repeats runs")) {
        double sd = 0.1 / sqrt(2);
        is_int(t04_i(t, 0, "repeats"), 2, "repeats 2");
        is_double(t04_d(t, 0, "adc_reference"), 1.1, 1e-12, "reference 1.1e-3 mm^2/s");
        is_double(t04_d(t, 0, "bias_percent"), 100 * 0.05 / 1.1, 1e-4, "bias 4.5454 %%");
        is_double(t04_d(t, 0, "cv_percent"), 100 * 0.1 / 1.1 / 2, 1e-4, "cv 4.5454 %%");
        is_double(t04_d(t, 0, "repeat_sd"), sd, 1e-6, "repeat SD 0.0707107");
        is_double(t04_d(t, 0, "wcv_percent"), 100 * sd / 1.15, 1e-4, "wCV 6.1488 %%");
        is_double(t04_d(t, 0, "rc"), 2.77 * sd, 1e-6, "RC 2.77 x repeat SD");
        /* The maps fit both repeats together: voxel 0 has ln S slopes 1.0
         * and 1.2 at the same b: the least-squares slope is their mean. */
        ok(near_rel(map_at(h, "adc", 0), 1.1, FTOL), "joint map: voxel 0 ADC 1.1e-3");
    } else
        diag("%s", qib_harness_error(h));
    qib_harness_free(&h);
    qib_volume_unref(&msk);
    qib_volume_unref(&img);
}

/* The same noisy series with 1 and 3 threads (blocks of 1024 voxels, so
 * several blocks and a short last one): maps and table identical, bit for
 * bit, for each model. */
static void threads(void)
{
    enum { NX = 37, NY = 23, NZ = 5, NT = 4 };
    static double v[NX * NY * NZ * NT];
    const double b[NT] = {0, 300, 700, 1000};
    uint64_t s = 12345;
    for (size_t i = 0; i < (size_t)NX * NY * NZ; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double adc = 0.2e-3 + 2.5e-3 * (double)(s >> 11) / 9007199254740992.0;
        for (int f = 0; f < NT; f++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            double noise = 20.0 * ((double)(s >> 11) / 9007199254740992.0 - 0.5);
            v[(size_t)f * NX * NY * NZ + i] = 800 * exp(-b[f] * adc) + noise;
        }
    }
    qib_volume *img = t04_volume(QIB_F32, NX, NY, NZ, NT, NULL, v);
    set_meta(img, "dicom.b_values", "0 300 700 1000");
    const char *models[] = {"lls", "wls", "two_point"};
    for (int k = 0; k < 3; k++) {
        const char *const p[] = {"model", models[k], NULL};
        int rc1, rc3;
        qib_harness *h1 = t04_run("bio.adc", "image", img, NULL, NULL, p, 1, &rc1);
        qib_harness *h3 = t04_run("bio.adc", "image", img, NULL, NULL, p, 3, &rc3);
        int same = rc1 == QIB_OK && rc3 == QIB_OK;
        const char *ports[] = {"adc", "s0", "r2", "flags"};
        for (int q = 0; same && q < 4; q++) {
            const qib_volume *a = qib_harness_out_volume(h1, ports[q]);
            const qib_volume *c = qib_harness_out_volume(h3, ports[q]);
            size_t bytes = qib_volume_nvox(a) * qib_dtype_size(qib_volume_dtype(a));
            same = memcmp(qib_volume_data(a), qib_volume_data(c), bytes) == 0;
        }
        const qib_table *t1 = qib_harness_out_table(h1, "table");
        const qib_table *t3 = qib_harness_out_table(h3, "table");
        const char *cols[] = {"adc_mean", "adc_median", "adc_sd", "adc_min", "adc_max"};
        for (int q = 0; same && q < 5; q++)
            same = t04_d(t1, 0, cols[q]) == t04_d(t3, 0, cols[q]);
        ok(same, "%s: 1 and 3 threads give identical maps and table", models[k]);
        if (rc1 == QIB_OK)
            ok(t04_i(t1, 0, "n") > NX * NY * NZ / 2 && t04_d(t1, 0, "adc_mean") > 0.5 &&
                   t04_d(t1, 0, "adc_mean") < 2.0,
               "%s: most voxels fitted, mean ADC in the simulated range (%g)", models[k],
               t04_d(t1, 0, "adc_mean"));
        qib_harness_free(&h1);
        qib_harness_free(&h3);
    }
    qib_volume_unref(&img);
}

int main(void)
{
    plan_lazy();
    lls();
    two_point_wls();
    selection();
    qa();
    threads();
    return tap_done();
}
