/* read.dicom's SUV rules, one by one, on header values set here: the
 * normalisations (James LBM, Janmahasatian SUL, IBW, Du Bois BSA; formulas
 * as listed in the IBSI SUV manual, values worked out by hand in the
 * comments), unit detection of dose, weight and height, decay correction
 * START / ADMIN / NONE, injection before midnight, the reference time rules,
 * and an error naming the attribute for every missing value. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"
#include "tap.h"

#include "../plugins/read/dicom/suv.h"

static void base(struct qib__suv_slice *s)
{
    qib__suv_slice_init(s);
    strcpy(s->units, "BQML");
    strcpy(s->decay, "START");
    strcpy(s->sex, "F");
    strcpy(s->series_date, "20240301");
    strcpy(s->series_time, "100000");
    strcpy(s->acq_date, "20240301");
    strcpy(s->acq_time, "100000");
    strcpy(s->rp_time, "090000");
    s->weight = 80;
    s->size = 1.8;
    s->dose = 370e6;
    s->half_life = 6586.2;
    s->frame_dur_ms = 300000;
    s->frame_ref_ms = 150000;
}

static double lambda(void)
{
    return log(2.0) / 6586.2;
}

/* SUVbw factor of the base case: 80000 g / (370e6 Bq * 2^(-3600/6586.2)). */
static double bw(void)
{
    return 80000.0 / (370e6 * exp(-lambda() * 3600.0));
}

static double run1(const struct qib__suv_slice *s, enum qib__suv_mode m, qib_meta *rec, char *err)
{
    double f = NAN;
    err[0] = '\0';
    if (qib__suv_factors(s, 1, m, &f, rec, err, 512) != QIB_OK)
        return NAN;
    return f;
}

static void expect_error(const char *what, const struct qib__suv_slice *s, const char *needle)
{
    char err[512];
    double f = run1(s, QIB__SUV_BW, NULL, err);
    ok(isnan(f), "%s: refused", what);
    contains(err, needle, "%s: the message names %s", what, needle);
}

int main(void)
{
    plan(32);
    struct qib__suv_slice s;
    char err[512];
    qib_meta *rec = qib_meta_new();

    base(&s);
    is_double(run1(&s, QIB__SUV_BW, rec, err), bw(), 1e-12 * bw(), "BQML START: W / (D 2^(-dt/T))");
    is_string(qib_meta_get(rec, "suv.decay_time_s"), "3600", "decay time 3600 s recorded");
    is_string(qib_meta_get(rec, "suv.reference_time"), "2024-03-01T10:00:00.000000",
              "reference time = series date/time");
    /* James, female: 1.07 * 80 - 148 * (80 / 180)^2 = 56.3654 kg. */
    double f = run1(&s, QIB__SUV_LBM, rec, err);
    is_double(f, bw() * 56.365432 / 80.0, 1e-6 * f, "LBM (James, F, 80 kg, 180 cm): 56.3654 kg");
    double ng;
    qib_meta_get_double(rec, "suv.normaliser_g", &ng);
    is_double(ng, 56365.432, 0.01, "LBM normaliser recorded in grams");
    /* Janmahasatian, female: BMI 80 / 1.8^2 = 24.691; 9270 * 80 / (8780 +
     * 244 * 24.691) = 50.0922 kg. */
    f = run1(&s, QIB__SUV_SUL, rec, err);
    is_double(f, bw() * 50.0922 / 80.0, 1e-5 * f, "SUL (Janmahasatian, F): 50.0922 kg");
    /* IBW, female: 45.5 + 0.91 (180 - 152) = 70.98 kg. */
    f = run1(&s, QIB__SUV_IBW, rec, err);
    is_double(f, bw() * 70.98 / 80.0, 1e-9 * f, "IBW (F, 180 cm): 70.98 kg");
    /* Du Bois: 0.007184 * 180^0.725 * 80^0.425 = 1.996421 m2 = 19964.21 cm2. */
    f = run1(&s, QIB__SUV_BSA, rec, err);
    is_double(f, bw() * 19964.21 / 80000.0, 1e-6 * f, "BSA (Du Bois): 1.996421 m2, SUVbsa in cm2/ml");
    strcpy(s.sex, "M");
    /* James, male: 1.10 * 80 - 128 * (80 / 180)^2 = 62.716 kg. */
    f = run1(&s, QIB__SUV_LBM, rec, err);
    is_double(f, bw() * 62.716049 / 80.0, 1e-6 * f, "LBM (James, M): 62.716 kg");
    strcpy(s.sex, "O");
    f = run1(&s, QIB__SUV_IBW, rec, err);
    /* Sex O: the mean of 48 + 1.06 * 28 = 77.68 and 70.98. */
    is_double(f, bw() * 74.33 / 80.0, 1e-9 * f, "IBW, sex O: mean of the male and female values");

    base(&s);
    s.weight = 80000;
    s.dose = 370;
    s.size = 180;
    qib_meta *r2 = qib_meta_new();
    f = run1(&s, QIB__SUV_IBW, r2, err);
    is_double(f, bw() * 70.98 / 80.0, 1e-9 * f, "weight in g, dose in MBq, height in cm detected");
    ok(qib_meta_get(r2, "suv.weight_note") && qib_meta_get(r2, "suv.dose_note") &&
           qib_meta_get(r2, "suv.height_note"),
       "each unit guess recorded in the metadata");
    qib_meta_free(&r2);

    base(&s);
    strcpy(s.decay, "ADMIN");
    is_double(run1(&s, QIB__SUV_BW, NULL, err), 80000.0 / 370e6, 1e-18, "ADMIN: W / D, no decay");
    strcpy(s.decay, "NONE");
    {
        /* Frame 10:00 - 10:05: lambda T / (1 - exp(-lambda T)) exp(lambda 3600). */
        double l = lambda(), T = 300.0;
        double want = 80000.0 / 370e6 * (l * T / (1 - exp(-l * T))) * exp(l * 3600.0);
        is_double(run1(&s, QIB__SUV_BW, NULL, err), want, 1e-12 * want,
                  "NONE: each frame decay-corrected to the injection");
    }

    base(&s);
    strcpy(s.series_date, "20240302");
    strcpy(s.acq_date, "20240302");
    strcpy(s.series_time, "003000");
    strcpy(s.acq_time, "003000");
    strcpy(s.rp_time, "233000");
    is_double(run1(&s, QIB__SUV_BW, NULL, err), bw(), 1e-12 * bw(),
              "injection 23:30, scan 00:30 the next day: dt 3600 s");
    strcpy(s.rp_datetime, "20240301233000");
    is_double(run1(&s, QIB__SUV_BW, NULL, err), bw(), 1e-12 * bw(),
              "RadiopharmaceuticalStartDateTime wins over the time");

    /* Series time after the acquisition (series modified): GE's private
     * scan datetime first, then the back-computation. */
    base(&s);
    strcpy(s.series_time, "110000");
    strcpy(s.ge_scan_dt, "20240301100000");
    is_double(run1(&s, QIB__SUV_BW, NULL, err), bw(), 1e-12 * bw(), "GE (0009,100D) used");
    s.ge_scan_dt[0] = '\0';
    strcpy(s.acq_time, "100500");
    s.frame_ref_ms = 300000 + 1000.0 * (log(lambda() * 300 / -expm1(-lambda() * 300)) / lambda());
    /* t_ref = 10:05:00 + Tave(300 s) - FrameReferenceTime = 10:00:00. */
    is_double(run1(&s, QIB__SUV_BW, NULL, err), bw(), 1e-9 * bw(),
              "reference time back-computed from FrameReferenceTime");
    s.frame_ref_ms = 0;
    strcpy(s.acq_time, "100000");
    is_double(run1(&s, QIB__SUV_BW, NULL, err), bw(), 1e-12 * bw(),
              "FrameReferenceTime 0: the earliest acquisition time");

    base(&s);
    strcpy(s.units, "CNTS");
    s.philips_suv = 0.000551;
    is_double(run1(&s, QIB__SUV_BW, NULL, err), 0.000551, 0, "CNTS: Philips SUV scale factor");
    s.philips_suv = NAN;
    s.philips_ac = 2.0;
    is_double(run1(&s, QIB__SUV_BW, NULL, err), 2.0 * bw(), 1e-12 * bw(),
              "CNTS: Philips activity concentration scale factor times the BQML factor");
    strcpy(s.units, "GML");
    strcpy(s.suv_type, "IBW");
    is_double(run1(&s, QIB__SUV_BW, NULL, err), 80.0 / 70.98, 1e-12, "GML of type IBW back to SUVbw");

    base(&s);
    s.weight = NAN;
    expect_error("no weight", &s, "PatientWeight (0010,1030)");
    base(&s);
    s.dose = 0;
    expect_error("no dose", &s, "RadionuclideTotalDose (0018,1074)");
    base(&s);
    s.half_life = NAN;
    expect_error("no half-life", &s, "RadionuclideHalfLife (0018,1075)");
    base(&s);
    s.rp_time[0] = '\0';
    expect_error("no injection time", &s, "RadiopharmaceuticalStartTime (0018,1072)");
    base(&s);
    strcpy(s.units, "PROPCPS");
    expect_error("unknown units", &s, "Units (0054,1001) is \"PROPCPS\"");
    qib_meta_free(&rec);
    return tap_done();
}
