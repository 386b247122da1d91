/* bio.dsc on tiny series whose answers are worked out by hand: the dR2*
 * integral over a given and an automatic window, the Boxerman-Schmainda-
 * Weisskoff fit recovering K1 and K2 exactly on noise-free curves, the
 * bidirectional variant, absolute CBV from an AIF, TE and frame times from
 * the metadata, thread-count independence, and bad input refused. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "t1300-dsc-util.h"

static double map_at(const qib_harness *h, const char *port, size_t i)
{
    const qib_volume *v = qib_harness_out_volume(h, port);
    return v ? qib_volume_get(v, i) : NAN;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Two voxels, TR 2 s, TE 50 ms; dR2* of voxel 0 is 0,0,0,2,6,4,2,0,0,0 and
 * voxel 1 twice that.  Window frames 2-6: trapezoid 2 x (0/2 + 2 + 6 + 4 +
 * 2/2) = 26; voxel 1: 52. */
static void given_window(void)
{
    const double y[10] = {0, 0, 0, 2, 6, 4, 2, 0, 0, 0};
    double d[20];
    for (size_t f = 0; f < 10; f++)
        d[2 * f] = y[f], d[2 * f + 1] = 2 * y[f];
    qib_volume *img = t13_series(2, 1, 1, 10, 800, 0.05, d);
    qib_volume *m = t13_mask(img, NULL);
    void *ports[] = {"mask", m, NULL};
    const char *par[] = {"te_ms", "50", "tr_s", "2", "skip_frames", "0", "baseline", "[0, 2]",
                         "window", "[2, 6]", "leakage", "none", NULL};
    int rc;
    qib_harness *h = t13_run(img, ports, par, 1, &rc);
    is_int(rc, QIB_OK, "given window: runs (%s)", qib_harness_error(h));
    is_double(map_at(h, "cbv", 0), 26, 1e-9, "given window: voxel 0 CBV = 26");
    is_double(map_at(h, "cbv", 1), 52, 1e-9, "given window: voxel 1 CBV = 52");
    is_double(map_at(h, "cbv_corr", 1), 52, 1e-9, "leakage none: corrected = uncorrected");
    const qib_table *t = qib_harness_out_table(h, "table");
    is_double(t13_cell(t, "brain", -1, "cbv_mean"), 39, 1e-9, "table: brain mean CBV 39");
    is_double(t13_cell(t, "brain", -1, "cbv_median"), 39, 1e-9, "table: brain median CBV 39");
    is_double(t13_cell(t, "brain", -1, "te_ms"), 50, 0, "table: TE recorded");
    is_double(t13_cell(t, "brain", -1, "window_end_s"), 12, 0, "table: window end 12 s");
    qib_harness_free(&h);
    qib_volume_unref(&m);
    qib_volume_unref(&img);
}

/* One voxel, TR 1 s, skip 2: dR2* 0 for frames 0-7, then 1, 5, 10, 6, 3,
 * 0.5, 0.2, 0.2.  The deepest drop is frame 10 (dR2* 10, signal drop
 * 1 - e^-0.5 = 39.3 %); frame 8 drops 4.9 %, above 5 % of 39.3 % = 2.0 %,
 * frame 7 none: the bolus starts at 8, the baseline is 2-6.  The window
 * starts at 6 and ends at frame 13, the first after the peak at or below
 * 10 % of it (0.5 <= 1): 0/2 + 0 + 1 + 5 + 10 + 6 + 3 + 0.5/2 = 25.25.
 * integration: all ends at 15: 0/2 + 0 + ... + 0.5 + 0.2 + 0.2/2 = 25.8. */
static void auto_window(void)
{
    const double y[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 5, 10, 6, 3, 0.5, 0.2, 0.2};
    qib_volume *img = t13_series(1, 1, 1, 16, 1000, 0.05, y);
    qib_volume *m = t13_mask(img, NULL);
    void *ports[] = {"mask", m, NULL};
    for (int all = 0; all < 2; all++) {
        const char *par[] = {"te_ms", "50", "tr_s", "1", "skip_frames", "2", "leakage", "none",
                             "integration", all ? "all" : "first_pass", NULL};
        int rc;
        qib_harness *h = t13_run(img, ports, par, 1, &rc);
        is_int(rc, QIB_OK, "auto window (%s): runs (%s)", all ? "all" : "first pass",
               qib_harness_error(h));
        const qib_table *t = qib_harness_out_table(h, "table");
        is_double(t13_cell(t, "brain", -1, "baseline_first"), 2, 0, "baseline starts at skip 2");
        is_double(t13_cell(t, "brain", -1, "baseline_last"), 6, 0,
                  "baseline ends 2 frames before the bolus (frame 8)");
        is_double(t13_cell(t, "brain", -1, "window_first"), 6, 0, "window starts at 6");
        is_double(t13_cell(t, "brain", -1, "window_last"), all ? 15 : 13, 0,
                  "window ends at %d", all ? 15 : 13);
        is_double(map_at(h, "cbv", 0), all ? 25.8 : 25.25, 1e-6, "CBV = %s (float32 map)",
                  all ? "25.8" : "25.25");
        qib_harness_free(&h);
    }
    qib_volume_unref(&m);
    qib_volume_unref(&img);
}

/* Three int16 voxels following given_window's curve, S = round(S0
 * exp(-0.05 y)), S0 = 1000 and 2000; the third has a zero sample at frame
 * 5: it is invalid (NaN in every map, counted in voxels_invalid).  The CBV
 * of the others is the trapezoid sum over frames 2-6 of -ln(S/S0)/0.05 of
 * the rounded samples, TR 2 s. */
static void invalid_voxel(void)
{
    const double y[10] = {0, 0, 0, 2, 6, 4, 2, 0, 0, 0};
    struct qib_geom g;
    size_t dims[4] = {3, 1, 1, 10};
    qib_volume *img = NULL;
    qib_geom_init(&g, 4, dims);
    qib_volume_new(QIB_I16, &g, &img);
    int16_t *d = qib_volume_data_mut(img);
    double want[2] = {0, 0};
    for (size_t f = 0; f < 10; f++)
        for (size_t i = 0; i < 3; i++) {
            double s0 = i == 1 ? 2000 : 1000;
            long v = lround(s0 * exp(-0.05 * y[f]));
            d[f * 3 + i] = (int16_t)(i == 2 && f == 5 ? 0 : v);
            if (i < 2 && f >= 2 && f <= 6)
                want[i] += (f == 2 || f == 6 ? 1.0 : 2.0) * -log((double)v / s0) / 0.05;
        }
    qib_volume *m = t13_mask(img, NULL);
    void *ports[] = {"mask", m, NULL};
    const char *par[] = {"te_ms", "50", "tr_s", "2", "skip_frames", "0", "baseline", "[0, 2]",
                         "window", "[2, 6]", "leakage", "none", NULL};
    int rc;
    qib_harness *h = t13_run(img, ports, par, 1, &rc);
    is_int(rc, QIB_OK, "invalid voxel: runs (%s)", qib_harness_error(h));
    ok(isnan(map_at(h, "cbv", 2)) && isnan(map_at(h, "cbv_corr", 2)) && isnan(map_at(h, "k2", 2)),
       "invalid voxel: NaN in cbv, cbv_corr and k2");
    for (int i = 0; i < 2; i++)
        is_double(map_at(h, "cbv", (size_t)i), want[i], 1e-6 * want[i],
                  "int16 voxel %d: CBV %.6g from the rounded samples", i, want[i]);
    const qib_table *t = qib_harness_out_table(h, "table");
    is_double(t13_cell(t, "brain", -1, "voxels_invalid"), 1, 0, "table: 1 invalid voxel");
    is_double(t13_cell(t, "brain", -1, "voxels"), 2, 0, "table: 2 valid voxels");
    qib_harness_free(&h);
    qib_volume_unref(&m);
    qib_volume_unref(&img);
}

/* A gamma-like unit curve from frame 8. */
static double unit_curve(size_t f)
{
    if (f < 8)
        return 0;
    double x = (double)(f - 8) / 3.0;
    return 10 * x * x * exp(-x);
}

/* BSW, exact: voxels 0 and 1 (reference) hold 1 and 3 times the unit curve
 * g, so ref = 2 g.  Voxel 2 (roi label 1) is 1.5 ref - 0.04 R, voxel 3
 * (label 2) 0.5 ref + 0.02 R, R the running trapezoid integral of ref from
 * the first frame used (3), as the model is fitted.  The fit returns
 * K2 = 0.04 and -0.02 and the corrected CBV is K1 x the integral of ref. */
static void bsw_exact(int bidir)
{
    enum { NT = 30, NV = 4 };
    const double tr = 1.5, k1[2] = {1.5, 0.5}, k2[2] = {0.04, -0.02};
    double ref[NT], cum[NT], d[NT * NV];
    for (size_t f = 0; f < NT; f++)
        ref[f] = 2 * unit_curve(f);
    cum[3] = 0;
    for (size_t f = 0; f < 3; f++)
        cum[f] = 0;
    for (size_t f = 4; f < NT; f++)
        cum[f] = cum[f - 1] + 0.5 * tr * (ref[f] + ref[f - 1]);
    for (size_t f = 0; f < NT; f++) {
        d[f * NV + 0] = unit_curve(f);
        d[f * NV + 1] = 3 * unit_curve(f);
        d[f * NV + 2] = k1[0] * ref[f] - k2[0] * cum[f];
        d[f * NV + 3] = k1[1] * ref[f] - k2[1] * cum[f];
    }
    /* integral of ref over the window 7-29 */
    double qref = 0;
    for (size_t f = 7; f < NT - 1; f++)
        qref += 0.5 * tr * (ref[f] + ref[f + 1]);
    qib_volume *img = t13_series(NV, 1, 1, NT, 600, 0.03, d);
    const uint8_t lab[NV] = {0, 0, 1, 2};
    qib_volume *m = t13_mask(img, NULL), *roi = t13_mask(img, lab);
    void *ports[] = {"mask", m, "roi", roi, NULL};
    const char *par[] = {"te_ms", "30", "tr_s", "1.5", "baseline", "[3, 7]", "integration",
                         "all", "leakage", bidir ? "bidirectional" : "bsw", NULL};
    int rc;
    qib_harness *h = t13_run(img, ports, par, 1, &rc);
    const char *name = bidir ? "bidirectional, no backflux" : "BSW";
    is_int(rc, QIB_OK, "%s: runs (%s)", name, qib_harness_error(h));
    for (int k = 0; k < 2; k++) {
        /* These curves have no backflux (kep = 0): the bidirectional fit
         * finds kep = 0 to rounding, or kep <= 0 where the BSW fit stands,
         * so both modes must give K2 and K1 exactly. */
        is_double(map_at(h, "k2", 2 + (size_t)k), k2[k], 1e-6 * fabs(k2[k]),
                  "%s: K2 of voxel %d = %g", name, 2 + k, k2[k]);
        is_double(map_at(h, "cbv_corr", 2 + (size_t)k), k1[k] * qref, 1e-6 * k1[k] * qref,
                  "%s: corrected CBV of voxel %d = K1 x int ref = %g", name, 2 + k,
                  k1[k] * qref);
    }
    is_double(map_at(h, "k2", 0), 0, 1e-9, "%s: reference voxel K2 = 0", name);
    const qib_table *t = qib_harness_out_table(h, "table");
    is_double(t13_cell(t, "roi", 1, "k2_mean"), k2[0], 1e-6 * k2[0], "%s: roi 1 K2 mean", name);
    is_double(t13_cell(t, "reference", -1, "voxels"), 2, 0,
              "%s: default reference = brain outside the roi (2 voxels)", name);
    double cbv = map_at(h, "cbv", 2);
    ok(cbv < k1[0] * qref, "%s: T1 leakage (K2 > 0) lowers the uncorrected CBV (%g < %g)",
       name, cbv, k1[0] * qref);
    qib_harness_free(&h);
    qib_volume_unref(&roi);
    qib_volume_unref(&m);
    qib_volume_unref(&img);
}

/* Bidirectional exchange: voxel 1 = K1 ref - K2 L(t), L(t) =
 * int_0^t ref(u) exp(-kep (t - u)) du, finely sampled (TR 0.25 s) so that
 * the linearised fit recovers K2 and kep to within a few per cent. */
static void bidir(void)
{
    enum { NT = 400, NV = 2 };
    const double tr = 0.25, K1 = 1.2, K2 = 0.05, kep = 0.02;
    double ref[NT], d[NT * NV], L = 0;
    for (size_t f = 0; f < NT; f++) {
        double t = (double)f * tr, x = (t - 10) / 2.0;
        ref[f] = t > 10 ? 5 * x * x * exp(-x) + 0.3 * (1 - exp(-x / 5)) : 0;
    }
    double qref = 0;
    for (size_t f = 0; f < NT; f++) {
        if (f > 3) {
            double e = exp(-kep * tr);
            L = L * e + 0.5 * tr * (ref[f - 1] * e + ref[f]);
        }
        d[f * NV + 0] = ref[f];
        d[f * NV + 1] = K1 * ref[f] - K2 * L;
        if (f >= 30 && f + 1 < NT)
            qref += 0.5 * tr * (ref[f] + ref[f + 1]);
    }
    qib_volume *img = t13_series(NV, 1, 1, NT, 600, 0.03, d);
    const uint8_t lab[NV] = {0, 1};
    qib_volume *m = t13_mask(img, NULL), *roi = t13_mask(img, lab);
    void *ports[] = {"mask", m, "roi", roi, NULL};
    const char *par[] = {"te_ms", "30", "tr_s", "0.25", "baseline", "[3, 30]", "window",
                         "[30, 399]", "leakage", "bidirectional", NULL};
    int rc;
    qib_harness *h = t13_run(img, ports, par, 1, &rc);
    is_int(rc, QIB_OK, "bidirectional: runs (%s)", qib_harness_error(h));
    is_double(map_at(h, "k2", 1), K2, 0.03 * K2, "bidirectional: K2 = %g within 3 %%", K2);
    const qib_table *t = qib_harness_out_table(h, "table");
    is_double(t13_cell(t, "roi", 1, "kep_mean"), kep, 0.1 * kep,
              "bidirectional: kep = %g within 10 %%", kep);
    is_double(map_at(h, "cbv_corr", 1), K1 * qref, 0.01 * K1 * qref,
              "bidirectional: corrected CBV = K1 x int ref within 1 %%");
    qib_harness_free(&h);
    qib_volume_unref(&roi);
    qib_volume_unref(&m);
    qib_volume_unref(&img);
}

/* Absolute CBV: tissue = 0.03 x the arterial curve, so
 * CBV = 100 (1 - 0.45)/(1 - 0.25)/1.04 x 0.03 = 2.11538... mL/100 g with
 * the default factors, 3 mL/100 mL with hct 0 and density 1; the AIF as a
 * mask of arterial voxels or as the parameter aif_curve. */
static void absolute(void)
{
    enum { NT = 24, NV = 3 };
    double d[NT * NV], a[NT];
    char list[1024] = "[";
    for (size_t f = 0; f < NT; f++) {
        double x = f < 8 ? 0 : (double)(f - 8) / 2.0;
        a[f] = 40 * x * x * exp(-x);
        d[f * NV + 0] = 0.03 * a[f];
        d[f * NV + 1] = 0.03 * a[f];
        d[f * NV + 2] = a[f];
        char num[40];
        snprintf(num, sizeof num, "%s%.17g", f ? ", " : "", a[f]);
        strcat(list, num);
    }
    strcat(list, "]");
    qib_volume *img = t13_series(NV, 1, 1, NT, 700, 0.025, d);
    const uint8_t brain[NV] = {1, 1, 0}, art[NV] = {0, 0, 1};
    qib_volume *m = t13_mask(img, brain), *am = t13_mask(img, art);
    const double want = 100 * (0.55 / 0.75) / 1.04 * 0.03;
    for (int mode = 0; mode < 3; mode++) {
        void *pm[] = {"mask", m, "aif", am, NULL};
        void *pc[] = {"mask", m, NULL};
        const char *par[] = {"te_ms", "25", "tr_s", "1.2", "leakage", "none", "integration",
                             "all", "aif_curve", list, NULL};
        const char *par1[] = {"te_ms", "25", "tr_s", "1.2", "leakage", "none", "integration",
                              "all", "hct_large", "0", "hct_small", "0", "density", "1", NULL};
        int rc;
        qib_harness *h = mode == 0   ? t13_run(img, pm, par1 + 0, 1, &rc)
                         : mode == 1 ? t13_run(img, pc, par, 1, &rc)
                                     : t13_run(img, pm, par1, 1, &rc);
        if (mode == 0) {
            /* default factors: drop the hct/density overrides */
            qib_harness_free(&h);
            const char *par0[] = {"te_ms", "25", "tr_s", "1.2", "leakage", "none",
                                  "integration", "all", NULL};
            h = t13_run(img, pm, par0, 1, &rc);
        }
        const char *name = mode == 0 ? "aif mask, default kH/rho"
                           : mode == 1 ? "aif_curve, default kH/rho"
                                       : "aif mask, hct 0, density 1";
        is_int(rc, QIB_OK, "absolute (%s): runs (%s)", name, qib_harness_error(h));
        double w = mode == 2 ? 3.0 : want;
            is_double(map_at(h, "cbv", 0), w, 1e-6 * w, "absolute (%s): CBV = %.6g (float32 map)",
                  name, w);
        const qib_volume *cv = qib_harness_out_volume(h, "cbv");
        is_string(cv ? qib_meta_get(qib_volume_meta(cv), "units") : NULL,
                  mode == 2 ? "mL/100mL" : "mL/100g", "absolute (%s): unit", name);
        qib_harness_free(&h);
    }
    qib_volume_unref(&am);
    qib_volume_unref(&m);
    qib_volume_unref(&img);
}

/* TE and frame times from the metadata give the numbers of given_window. */
static void from_metadata(void)
{
    const double y[10] = {0, 0, 0, 2, 6, 4, 2, 0, 0, 0};
    qib_volume *img = t13_series(1, 1, 1, 10, 800, 0.05, y);
    qib_meta *mm = qib_volume_meta_mut(img);
    qib_meta_set(mm, "dicom.echo_time_ms", "50", "test");
    qib_meta_set(mm, "dicom.frame_times_s", "0 2 4 6 8 10 12 14 16 18", "test");
    qib_volume *m = t13_mask(img, NULL);
    void *ports[] = {"mask", m, NULL};
    const char *par[] = {"skip_frames", "0", "baseline", "[0, 2]", "window", "[2, 6]",
                         "leakage", "none", NULL};
    int rc;
    qib_harness *h = t13_run(img, ports, par, 1, &rc);
    is_int(rc, QIB_OK, "metadata TE and DICOM frame times: runs (%s)", qib_harness_error(h));
    is_double(map_at(h, "cbv", 0), 26, 1e-9, "metadata: CBV = 26");
    qib_harness_free(&h);
    qib_volume_unref(&m);

    /* NIfTI: pixdim[4] = 2 with time unit s */
    struct qib_geom g = *qib_volume_geom(img);
    g.spacing[3] = 2;
    qib_meta_remove(mm, "dicom.frame_times_s");
    qib_meta_set(mm, "nifti.time_unit", "s", "test");
    qib_volume_set_geom(img, &g);
    m = t13_mask(img, NULL);
    void *ports2[] = {"mask", m, NULL};
    h = t13_run(img, ports2, par, 1, &rc);
    is_int(rc, QIB_OK, "metadata NIfTI time step: runs (%s)", qib_harness_error(h));
    is_double(map_at(h, "cbv", 0), 26, 1e-9, "NIfTI time step: CBV = 26");
    qib_harness_free(&h);
    qib_volume_unref(&m);
    qib_volume_unref(&img);
}

/* A noisy 37x23x3 series: the maps and table are bit-identical for 1 and 3
 * threads (fixed blocks, fixed reduction order). */
static void threads(void)
{
    enum { NX = 37, NY = 23, NZ = 3, NT = 40 };
    size_t n3 = NX * NY * NZ;
    double *d = malloc(n3 * NT * sizeof *d);
    uint8_t *lab = malloc(n3), *br = malloc(n3);
    uint64_t s = 7;
    for (size_t i = 0; i < n3; i++) {
        br[i] = 1;
        lab[i] = (i % NX) > 25 ? 1 : 0;
    }
    for (size_t f = 0; f < NT; f++)
        for (size_t i = 0; i < n3; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            double noise = ((double)(s >> 11) / 9007199254740992.0 - 0.5) * 0.4;
            double c = 1 + (double)(i % 7) / 7.0;
            d[f * n3 + i] = c * 2 * unit_curve(f) - (lab[i] ? 0.01 * (double)f : 0) + noise;
        }
    qib_volume *img = t13_series(NX, NY, NZ, NT, 500, 0.03, d);
    qib_volume *m = t13_mask(img, br), *roi = t13_mask(img, lab);
    void *ports[] = {"mask", m, "roi", roi, "nawm", m, NULL};
    const char *par[] = {"te_ms", "30", "tr_s", "1.5", "leakage", "bidirectional", NULL};
    int rc1, rc3;
    qib_harness *h1 = t13_run(img, ports, par, 1, &rc1);
    qib_harness *h3 = t13_run(img, ports, par, 3, &rc3);
    ok(rc1 == QIB_OK && rc3 == QIB_OK, "threads: both runs succeed (%s)",
       qib_harness_error(rc1 ? h1 : h3));
    const char *maps[] = {"cbv", "cbv_corr", "k2", "rcbv_corr"};
    for (int k = 0; k < 4; k++) {
        const qib_volume *a = qib_harness_out_volume(h1, maps[k]),
                         *b = qib_harness_out_volume(h3, maps[k]);
        ok(a && b && !memcmp(qib_volume_data(a), qib_volume_data(b), n3 * sizeof(float)),
           "threads: %s identical for 1 and 3 threads", maps[k]);
    }
    double x1 = t13_cell(qib_harness_out_table(h1, "table"), "roi", 1, "k2_median"),
           x3 = t13_cell(qib_harness_out_table(h3, "table"), "roi", 1, "k2_median");
    ok(x1 == x3 && isfinite(x1), "threads: table identical (roi K2 median %g)", x1);
    /* the table's median and mean against a sort of the map's roi values */
    const qib_volume *k2 = qib_harness_out_volume(h1, "k2");
    double *v = malloc(n3 * sizeof *v), sum = 0;
    size_t nv = 0;
    for (size_t i = 0; k2 && i < n3; i++)
        if (lab[i])
            v[nv++] = qib_volume_get(k2, i), sum += v[nv - 1];
    qsort(v, nv, sizeof *v, cmp_double);
    double med = nv % 2 ? v[nv / 2] : 0.5 * (v[nv / 2 - 1] + v[nv / 2]);
    is_double(x1, med, 0, "table: roi K2 median = middle of the sorted map values (%zu, %s)",
              nv, nv % 2 ? "odd" : "even");
    is_double(t13_cell(qib_harness_out_table(h1, "table"), "roi", 1, "k2_mean"),
              sum / (double)nv, 1e-12 * fabs(sum / (double)nv) + 1e-15, "table: roi K2 mean");
    free(v);
    qib_harness_free(&h1);
    qib_harness_free(&h3);
    qib_volume_unref(&roi);
    qib_volume_unref(&m);
    qib_volume_unref(&img);
    free(d);
    free(lab);
    free(br);
}

static void refused(qib_volume *img, void *const *ports, const char *const *par, int want,
                    const char *needle, const char *what)
{
    int rc;
    qib_harness *h = t13_run(img, ports, par, 1, &rc);
    is_int(rc, want, "refused: %s", what);
    contains(qib_harness_error(h), needle, "refused: %s: message", what);
    ok(qib_harness_out_volume(h, "cbv") == NULL && qib_harness_out_table(h, "table") == NULL,
       "refused: %s: no output", what);
    qib_harness_free(&h);
}

static void errors(void)
{
    const double y[10] = {0, 0, 0, 2, 6, 4, 2, 0, 0, 0};
    double d20[20];
    for (size_t f = 0; f < 10; f++)
        d20[2 * f] = d20[2 * f + 1] = y[f];
    qib_volume *img = t13_series(2, 1, 1, 10, 800, 0.05, d20);
    qib_volume *m = t13_mask(img, NULL);
    void *ports[] = {"mask", m, NULL};
    const char *base[] = {"te_ms", "50", "tr_s", "2", "skip_frames", "0", NULL};

    /* a 3-D image */
    struct qib_geom g3;
    size_t dims3[3] = {2, 1, 1};
    qib_volume *img3 = NULL;
    qib_geom_init(&g3, 3, dims3);
    qib_volume_new(QIB_F32, &g3, &img3);
    refused(img3, ports, base, QIB_EINVAL, "image: expected a 4-D DSC series", "3-D image");
    qib_volume_unref(&img3);

    /* a mask on another grid */
    struct qib_geom go = *qib_volume_geom(img);
    go.ndim = 3;
    go.dims[3] = 1;
    go.spacing[0] = 2;
    qib_volume *mo = NULL;
    qib_mask_new(&go, &mo);
    memset(qib_volume_data_mut(mo), 1, 2);
    void *pother[] = {"mask", mo, NULL};
    refused(img, pother, base, QIB_EGEOMETRY, "mask", "brain mask on another grid");
    void *pother2[] = {"mask", m, "nawm", mo, NULL};
    refused(img, pother2, base, QIB_EGEOMETRY, "nawm", "nawm mask on another grid");
    qib_volume_unref(&mo);

    /* no TE, no frame times */
    const char *note[] = {"tr_s", "2", "skip_frames", "0", NULL};
    refused(img, ports, note, QIB_EINVAL, "te_ms: the echo time is unknown", "no TE");
    const char *notr[] = {"te_ms", "50", "skip_frames", "0", NULL};
    refused(img, ports, notr, QIB_EINVAL, "tr_s: the frame times are unknown",
            "no frame times");
    const char *badft[] = {"te_ms", "50", "frame_times", "[0, 1, 2]", "skip_frames", "0", NULL};
    refused(img, ports, badft, QIB_EINVAL, "frame_times: 3 values given, but the image has 10",
            "frame_times of the wrong length");
    const char *badb[] = {"te_ms", "50", "tr_s", "2", "skip_frames", "0", "baseline", "[0, 12]",
                          NULL};
    refused(img, ports, badb, QIB_EINVAL, "baseline: expected [first, last]",
            "baseline past the last frame");
    const char *badw[] = {"te_ms", "50", "tr_s", "2", "skip_frames", "0", "window", "[5, 5]",
                          NULL};
    refused(img, ports, badw, QIB_EINVAL, "window: expected [first, last]", "empty window");
    const char *twoaif[] = {"te_ms", "50", "tr_s", "2", "skip_frames", "0", "aif_curve",
                            "[0, 0, 0, 1, 2, 1, 0, 0, 0, 0]", NULL};
    void *paif[] = {"mask", m, "aif", m, NULL};
    refused(img, paif, twoaif, QIB_EINVAL, "aif_curve: an arterial input is given twice",
            "two AIFs");

    /* a flat series: no bolus */
    double flat[20];
    for (size_t i = 0; i < 20; i++)
        flat[i] = 0;
    qib_volume *fl = t13_series(2, 1, 1, 10, 800, 0.05, flat);
    refused(fl, ports, base, QIB_EINVAL, "image: the", "no bolus in a flat series");
    const char *given[] = {"te_ms", "50", "tr_s", "2", "skip_frames", "0", "baseline", "[0, 2]",
                           "window", "[2, 6]", NULL};
    refused(fl, ports, given, QIB_EINVAL, "reference: the reference curve is flat",
            "flat reference curve: the leakage fit is undetermined");
    qib_volume_unref(&fl);

    /* an empty brain mask; a volume that is not a mask */
    const uint8_t none[2] = {0, 0};
    qib_volume *me = t13_mask(img, none);
    void *pe[] = {"mask", me, NULL};
    refused(img, pe, base, QIB_EINVAL, "mask: the brain mask has no voxel", "empty brain mask");
    qib_volume_unref(&me);
    qib_volume *nm = NULL;
    qib_volume_new(QIB_U8, &g3, &nm);
    void *pn[] = {"mask", nm, NULL};
    int rc;
    qib_harness *h = t13_run(img, pn, base, 1, &rc);
    ok(rc != QIB_OK, "refused: a u8 volume not flagged as a mask (%s)", qib_harness_error(h));
    qib_harness_free(&h);
    qib_volume_unref(&nm);

    /* parameters out of range */
    const char *badte[] = {"te_ms", "-5", NULL};
    h = t13_run(img, ports, badte, 1, &rc);
    ok(rc != QIB_OK, "refused: te_ms -5 (%s)", qib_harness_error(h));
    qib_harness_free(&h);
    const char *badleak[] = {"leakage", "weisskoff", NULL};
    h = t13_run(img, ports, badleak, 1, &rc);
    ok(rc != QIB_OK, "refused: leakage weisskoff (%s)", qib_harness_error(h));
    qib_harness_free(&h);

    qib_volume_unref(&m);
    qib_volume_unref(&img);
}

int main(void)
{
    plan_lazy();
    given_window();
    invalid_voxel();
    auto_window();
    bsw_exact(0);
    bsw_exact(1);
    bidir();
    absolute();
    from_metadata();
    threads();
    errors();
    return tap_done();
}
