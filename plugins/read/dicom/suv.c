/* PET SUV factors: stored units (BQML, CNTS with Philips scale factors, GML,
 * CM2ML), decay correction (START, ADMIN, NONE), the reference time rules,
 * injection across midnight, dose and weight unit detection, and the body
 * size normalisations.  The rules and their sources are in doc/suv.md. */
#include <config.h>

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"

#include "suv.h"

#define DAY 86400.0
/* A dose below this many "Bq" is taken to be in MBq: real doses are tens to
 * hundreds of MBq, i.e. 1e7..1e9 Bq or 10..1000 MBq (IBSI SUV manual, Fig. 2). */
#define DOSE_MBQ_BELOW 1e5
/* A weight above this many "kg" is taken to be in grams (IBSI SUV manual). */
#define WEIGHT_G_ABOVE 1000.0
/* A height above this many "m" is taken to be in centimetres. */
#define HEIGHT_CM_ABOVE 3.0
/* Series time may trail the first acquisition time by rounding alone
 * (123515.000000 vs 123514.999995 in a Siemens header). */
#define SERIES_SLACK_S 0.001

void qib__suv_slice_init(struct qib__suv_slice *s)
{
    memset(s, 0, sizeof *s);
    s->weight = s->size = s->dose = s->half_life = NAN;
    s->frame_ref_ms = s->frame_dur_ms = s->philips_suv = s->philips_ac = NAN;
}

static int fail(char *err, size_t errlen, int status, const char *fmt, ...) QIB_PRINTF(4, 5);

static int fail(char *err, size_t errlen, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return status;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long days_from_civil(long y, long m, long d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, long *y, long *m, long *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp + (mp < 10 ? 3 : -9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, int n, long *v)
{
    long x = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        x = 10 * x + (s[i] - '0');
    }
    *v = x;
    return 1;
}

/* DA "YYYYMMDD" to days since 1970.  Returns 0 when malformed. */
static int parse_da(const char *s, double *days)
{
    long y, m, d;
    if (strlen(s) < 8 || !digits(s, 4, &y) || !digits(s + 4, 2, &m) || !digits(s + 6, 2, &d) ||
        m < 1 || m > 12 || d < 1 || d > 31)
        return 0;
    *days = (double)days_from_civil(y, m, d);
    return 1;
}

/* TM "HHMMSS.FFFFFF" (or the old "HH:MM:SS.FFFFFF", or HHMM, HH) to seconds
 * after midnight.  Returns 0 when malformed. */
static int parse_tm(const char *s, double *sec)
{
    char b[32];
    size_t k = 0;
    for (const char *p = s; *p && k < sizeof b - 1; p++)
        if (*p != ':')
            b[k++] = *p;
    b[k] = '\0';
    long h, m = 0, sc = 0;
    size_t n = strspn(b, "0123456789");
    if (n < 2 || !digits(b, 2, &h) || (n >= 4 && !digits(b + 2, 2, &m)) ||
        (n >= 6 && !digits(b + 4, 2, &sc)) || h > 23 || m > 59 || sc > 60)
        return 0;
    double frac = 0.0;
    if (n == 6 && b[6] == '.')
        frac = strtod(b + 6, NULL);
    else if (n != 2 && n != 4 && n != 6)
        return 0;
    *sec = (double)(h * 3600 + m * 60 + sc) + frac;
    return 1;
}

/* DT "YYYYMMDDHHMMSS.FFFFFF&ZZXX" (the time part may be shortened; the
 * offset is ignored, as every time of one scan shares it). */
static int parse_dt(const char *s, double *t)
{
    double days, sec = 0.0;
    if (!parse_da(s, &days))
        return 0;
    if (s[8]) {
        char b[32];
        snprintf(b, sizeof b, "%s", s + 8);
        b[strcspn(b, "+-&")] = '\0';
        if (b[0] && !parse_tm(b, &sec))
            return 0;
    }
    *t = days * DAY + sec;
    return 1;
}

static void fmt_time(double t, char *buf, size_t len)
{
    double days = floor(t / DAY);
    double sec = t - days * DAY;
    long y, m, d;
    civil_from_days((long)days, &y, &m, &d);
    int hh = (int)(sec / 3600), mm = (int)((sec - hh * 3600) / 60);
    double ss = sec - hh * 3600 - mm * 60;
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%09.6f", (int)(y % 100000), (int)(m % 100),
             (int)(d % 100), hh % 100, mm % 100, ss);
}

static void rec_s(qib_meta *rec, const char *k, const char *v, const char *src)
{
    if (rec)
        qib_meta_set(rec, k, v, src);
}

static void rec_d(qib_meta *rec, const char *k, double v, const char *src)
{
    if (rec)
        qib_meta_set_double(rec, k, v, src);
}

static void rec_t(qib_meta *rec, const char *k, double t, const char *src)
{
    char b[48];
    fmt_time(t, b, sizeof b);
    rec_s(rec, k, b, src);
}

/* Patient values, checked and converted to kg and m once. */
struct patient {
    double w, h; /* kg, m */
    int sex;     /* 'M', 'F', 'O' or 0 */
    int have_w, have_h;
};

static int need_weight(const struct qib__suv_slice *s, struct patient *p, qib_meta *rec, char *err,
                       size_t errlen)
{
    if (p->have_w)
        return QIB_OK;
    double w = s->weight;
    if (!(w > 0) || !isfinite(w))
        return fail(err, errlen, QIB_EFORMAT, "PatientWeight (0010,1030) is missing or not positive: "
                    "SUV needs the patient's weight");
    if (w > WEIGHT_G_ABOVE) {
        w /= 1000.0;
        rec_s(rec, "suv.weight_note", "PatientWeight above 1000 taken as grams", "computed");
    }
    p->w = w;
    p->have_w = 1;
    rec_d(rec, "suv.weight_kg", w, "dicom:(0010,1030)");
    return QIB_OK;
}

static int need_height(const struct qib__suv_slice *s, struct patient *p, qib_meta *rec, char *err,
                       size_t errlen)
{
    if (p->have_h)
        return QIB_OK;
    double h = s->size;
    if (!(h > 0) || !isfinite(h))
        return fail(err, errlen, QIB_EFORMAT, "PatientSize (0010,1020) is missing or not positive: "
                    "this SUV normalisation needs the patient's height");
    if (h > HEIGHT_CM_ABOVE) {
        h /= 100.0;
        rec_s(rec, "suv.height_note", "PatientSize above 3 taken as centimetres", "computed");
    }
    p->h = h;
    p->have_h = 1;
    rec_d(rec, "suv.height_m", h, "dicom:(0010,1020)");
    return QIB_OK;
}

static int need_sex(const struct qib__suv_slice *s, struct patient *p, qib_meta *rec, char *err,
                    size_t errlen)
{
    if (p->sex)
        return QIB_OK;
    if (strcmp(s->sex, "M") && strcmp(s->sex, "F") && strcmp(s->sex, "O"))
        return fail(err, errlen, QIB_EFORMAT, "PatientSex (0010,0040) is \"%s\": this SUV "
                    "normalisation needs M, F or O", s->sex);
    p->sex = s->sex[0];
    rec_s(rec, "suv.sex", s->sex, "dicom:(0010,0040)");
    return QIB_OK;
}

enum norm { N_BW, N_BSA, N_LBM_JAMES, N_LBM_MORGAN, N_LBM_JANMA, N_IBW };

/* The normaliser in grams (cm2 for BSA).  Sex O takes the mean of the male
 * and female values (IBSI SUV manual: no consensus; the mean is its
 * suggestion). */
static int normaliser(enum norm nm, const struct qib__suv_slice *s, struct patient *p,
                      qib_meta *rec, double *out, char *err, size_t errlen)
{
    int rc = need_weight(s, p, rec, err, errlen);
    if (rc)
        return rc;
    double w = p->w;
    if (nm == N_BW) {
        *out = 1000.0 * w;
        return QIB_OK;
    }
    if ((rc = need_height(s, p, rec, err, errlen)))
        return rc;
    double hcm = 100.0 * p->h;
    if (nm == N_BSA) {
        /* Du Bois: m2 from kg and cm; SUVbsa is in cm2/ml. */
        *out = 1e4 * 0.007184 * pow(hcm, 0.725) * pow(w, 0.425);
        return QIB_OK;
    }
    if ((rc = need_sex(s, p, rec, err, errlen)))
        return rc;
    double m, f;
    double bmi = w / (p->h * p->h);
    switch (nm) {
    case N_LBM_JAMES:
        m = 1.10 * w - 128.0 * (w / hcm) * (w / hcm);
        f = 1.07 * w - 148.0 * (w / hcm) * (w / hcm);
        break;
    case N_LBM_MORGAN:
        m = 1.10 * w - 120.0 * (w / hcm) * (w / hcm);
        f = 1.07 * w - 148.0 * (w / hcm) * (w / hcm);
        break;
    case N_LBM_JANMA:
        m = 9270.0 * w / (6680.0 + 216.0 * bmi);
        f = 9270.0 * w / (8780.0 + 244.0 * bmi);
        break;
    default: /* N_IBW */
        m = 48.0 + 1.06 * (hcm - 152.0);
        f = 45.5 + 0.91 * (hcm - 152.0);
        break;
    }
    double kg = p->sex == 'M' ? m : p->sex == 'F' ? f : 0.5 * (m + f);
    if (!(kg > 0))
        return fail(err, errlen, QIB_ERANGE, "the normalising mass from weight %g kg and height %g m "
                    "is %g kg, not positive", w, p->h, kg);
    *out = 1000.0 * kg;
    return QIB_OK;
}

/* Absolute acquisition time of a slice, or 0 when it has none. */
static int acq_time(const struct qib__suv_slice *s, double *t)
{
    double days, sec;
    const char *date = s->acq_date[0] ? s->acq_date : s->series_date;
    if (!s->acq_time[0] || !parse_da(date, &days) || !parse_tm(s->acq_time, &sec))
        return 0;
    *t = days * DAY + sec;
    return 1;
}

/* Seconds from the mid-frame count-rate time back to the frame start, for a
 * frame of @p T seconds: (1/lambda) ln(lambda T / (1 - exp(-lambda T))). */
static double t_ave(double lambda, double T)
{
    if (!(T > 0))
        return 0.0;
    double x = lambda * T;
    return log(x / -expm1(-x)) / lambda;
}

/* The reference time of decay correction START (IBSI SUV manual, option A
 * with the back-computation before the earliest acquisition time). */
static int ref_time(const struct qib__suv_slice *s, size_t n, double lambda, qib_meta *rec,
                    double *tref, char *err, size_t errlen)
{
    double first = INFINITY;
    size_t ifirst = 0;
    for (size_t i = 0; i < n; i++) {
        double t;
        if (acq_time(&s[i], &t) && t < first) {
            first = t;
            ifirst = i;
        }
    }
    double days, sec;
    int have_series = parse_da(s[0].series_date, &days) && parse_tm(s[0].series_time, &sec);
    double tser = days * DAY + sec;
    if (have_series && (isinf(first) || tser <= first + SERIES_SLACK_S)) {
        *tref = tser;
        rec_t(rec, "suv.reference_time", tser, "dicom:(0008,0021)+(0008,0031) SeriesDate/Time");
        return QIB_OK;
    }
    if (s[0].ge_scan_dt[0] && parse_dt(s[0].ge_scan_dt, tref)) {
        rec_t(rec, "suv.reference_time", *tref, "dicom:(0009,100D) GE PET scan datetime");
        return QIB_OK;
    }
    if (isinf(first))
        return fail(err, errlen, QIB_EFORMAT, "no usable SeriesDate/SeriesTime (0008,0021)/(0008,0031) "
                    "or AcquisitionTime (0008,0032): the decay reference time is unknown");
    const struct qib__suv_slice *f = &s[ifirst];
    if (!(f->frame_ref_ms > 0) || !isfinite(f->frame_ref_ms) || !(f->frame_dur_ms >= 0) ||
        !isfinite(f->frame_dur_ms)) {
        /* No usable FrameReferenceTime (0 cannot be the mid-frame time of a
         * frame that starts at the acquisition time): QIBA's rule, the
         * earliest acquisition time. */
        *tref = first;
        rec_t(rec, "suv.reference_time", first,
              "dicom:(0008,0022)+(0008,0032) earliest AcquisitionDate/Time (SeriesTime is later, "
              "FrameReferenceTime (0054,1300) absent or 0)");
        return QIB_OK;
    }
    double T = f->frame_dur_ms / 1000.0;
    *tref = first + t_ave(lambda, T) - f->frame_ref_ms / 1000.0;
    rec_t(rec, "suv.reference_time", *tref,
          "computed: AcquisitionTime (0008,0032) + Tave(ActualFrameDuration (0018,1242)) - "
          "FrameReferenceTime (0054,1300)");
    return QIB_OK;
}

/* Injection time; a time without a date takes the reference time's date, and
 * the day before when that puts it after the reference (across midnight). */
static int inj_time(const struct qib__suv_slice *s, double tref, qib_meta *rec, double *tadm,
                    char *err, size_t errlen)
{
    if (s->rp_datetime[0] && parse_dt(s->rp_datetime, tadm)) {
        rec_t(rec, "suv.injection_time", *tadm, "dicom:(0018,1078) RadiopharmaceuticalStartDateTime");
        return QIB_OK;
    }
    double sec;
    if (!s->rp_time[0] || !parse_tm(s->rp_time, &sec))
        return fail(err, errlen, QIB_EFORMAT, "RadiopharmaceuticalStartDateTime (0018,1078) and "
                    "RadiopharmaceuticalStartTime (0018,1072) are both missing or malformed: the "
                    "injection time is unknown");
    double day = floor(tref / DAY) * DAY;
    *tadm = day + sec;
    if (*tadm > tref) {
        *tadm -= DAY;
        rec_t(rec, "suv.injection_time", *tadm,
              "dicom:(0018,1072) RadiopharmaceuticalStartTime, on the day before the reference "
              "time (injection before midnight)");
    } else {
        rec_t(rec, "suv.injection_time", *tadm,
              "dicom:(0018,1072) RadiopharmaceuticalStartTime, on the reference time's date");
    }
    return QIB_OK;
}

/* Factors from activity concentration (Bq/ml) to SUVbw, per slice. */
static int activity_factors(const struct qib__suv_slice *s, size_t n, struct patient *p,
                            qib_meta *rec, double *f, char *err, size_t errlen)
{
    int rc = need_weight(&s[0], p, rec, err, errlen);
    if (rc)
        return rc;
    double wg = 1000.0 * p->w;
    double dose = s[0].dose;
    if (!(dose > 0) || !isfinite(dose))
        return fail(err, errlen, QIB_EFORMAT, "RadionuclideTotalDose (0018,1074) in "
                    "RadiopharmaceuticalInformationSequence (0054,0016) is missing or not positive");
    if (dose < DOSE_MBQ_BELOW) {
        dose *= 1e6;
        rec_s(rec, "suv.dose_note", "RadionuclideTotalDose below 1e5 taken as MBq", "computed");
    }
    rec_d(rec, "suv.dose_bq", dose, "dicom:(0054,0016)/(0018,1074)");
    double hl = s[0].half_life;
    if (!(hl > 0) || !isfinite(hl))
        return fail(err, errlen, QIB_EFORMAT, "RadionuclideHalfLife (0018,1075) in "
                    "RadiopharmaceuticalInformationSequence (0054,0016) is missing or not positive");
    rec_d(rec, "suv.half_life_s", hl, "dicom:(0054,0016)/(0018,1075)");
    double lambda = log(2.0) / hl;
    for (size_t i = 1; i < n; i++)
        if (strcmp(s[i].decay, s[0].decay))
            return fail(err, errlen, QIB_EFORMAT, "DecayCorrection (0054,1102) differs between slices "
                        "(\"%s\" and \"%s\")", s[0].decay, s[i].decay);
    rec_s(rec, "suv.decay_correction", s[0].decay, "dicom:(0054,1102)");
    if (strcmp(s[0].decay, "ADMIN") == 0) {
        for (size_t i = 0; i < n; i++)
            f[i] = wg / dose;
        rec_d(rec, "suv.decay_factor", 1.0, "computed: images decay corrected to the injection");
        return QIB_OK;
    }
    if (strcmp(s[0].decay, "START") == 0) {
        double tref, tadm;
        if ((rc = ref_time(s, n, lambda, rec, &tref, err, errlen)))
            return rc;
        if ((rc = inj_time(&s[0], tref, rec, &tadm, err, errlen)))
            return rc;
        double dt = tref - tadm;
        if (dt < 0)
            return fail(err, errlen, QIB_ERANGE, "the injection time is %.0f s after the decay "
                        "reference time", -dt);
        double decay = exp(-lambda * dt);
        rec_d(rec, "suv.decay_time_s", dt, "computed: reference time - injection time");
        rec_d(rec, "suv.decay_factor", decay, "computed: exp(-ln2 * decay_time / half_life)");
        for (size_t i = 0; i < n; i++)
            f[i] = wg / (dose * decay);
        return QIB_OK;
    }
    if (strcmp(s[0].decay, "NONE") == 0) {
        /* Each slice is corrected from its own frame to the injection:
         * SUV = A W / D * lambda T / (1 - exp(-lambda T)) * exp(lambda (t_acq - t_adm)). */
        double first = INFINITY;
        for (size_t i = 0; i < n; i++) {
            double t;
            if (!acq_time(&s[i], &t))
                return fail(err, errlen, QIB_EFORMAT, "DecayCorrection NONE: slice %zu has no usable "
                            "AcquisitionTime (0008,0032)", i + 1);
            if (t < first)
                first = t;
        }
        double tadm;
        if ((rc = inj_time(&s[0], first, rec, &tadm, err, errlen)))
            return rc;
        for (size_t i = 0; i < n; i++) {
            double t;
            acq_time(&s[i], &t);
            double T = s[i].frame_dur_ms / 1000.0;
            if (!(T > 0) || !isfinite(T))
                return fail(err, errlen, QIB_EFORMAT, "DecayCorrection NONE: ActualFrameDuration "
                            "(0018,1242) is missing or not positive in slice %zu", i + 1);
            double x = lambda * T;
            f[i] = wg / dose * (x / -expm1(-x)) * exp(lambda * (t - tadm));
        }
        rec_t(rec, "suv.first_acquisition_time", first, "dicom:(0008,0022)+(0008,0032)");
        return QIB_OK;
    }
    return fail(err, errlen, QIB_EFORMAT, "DecayCorrection (0054,1102) is \"%s\": expected START, "
                "ADMIN or NONE", s[0].decay);
}

static int norm_of_type(const char *type, enum norm *nm)
{
    static const struct {
        const char *name;
        enum norm nm;
    } types[] = {{"", N_BW}, {"BW", N_BW}, {"BSA", N_BSA}, {"LBM", N_LBM_MORGAN},
                 {"LBMJAMES128", N_LBM_JAMES}, {"LBMJANMA", N_LBM_JANMA}, {"IBW", N_IBW}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(type, types[i].name) == 0) {
            *nm = types[i].nm;
            return 1;
        }
    return 0;
}

int qib__suv_factors(const struct qib__suv_slice *s, size_t n, enum qib__suv_mode mode,
                     double *factor, qib_meta *rec, char *err, size_t errlen)
{
    if (n == 0 || mode == QIB__SUV_NONE)
        return fail(err, errlen, QIB_EINVAL, "no slices or no SUV mode");
    for (size_t i = 1; i < n; i++)
        if (strcmp(s[i].units, s[0].units))
            return fail(err, errlen, QIB_EFORMAT, "Units (0054,1001) differ between slices (\"%s\" "
                        "and \"%s\")", s[0].units, s[i].units);
    const char *units = s[0].units;
    if (!units[0])
        return fail(err, errlen, QIB_EFORMAT, "Units (0054,1001) is missing: the meaning of the "
                    "voxel values is unknown");
    rec_s(rec, "suv.stored_units", units, "dicom:(0054,1001)");
    struct patient p = {0};
    int rc;
    if (strcmp(units, "BQML") == 0) {
        if ((rc = activity_factors(s, n, &p, rec, factor, err, errlen)))
            return rc;
    } else if (strcmp(units, "CNTS") == 0) {
        int need_act = 0;
        for (size_t i = 0; i < n; i++) {
            if (s[i].philips_suv > 0 && isfinite(s[i].philips_suv))
                factor[i] = s[i].philips_suv;
            else if (s[i].philips_ac > 0 && isfinite(s[i].philips_ac))
                need_act = 1;
            else
                return fail(err, errlen, QIB_EUNSUPPORTED, "Units CNTS without a Philips SUV scale "
                            "factor (7053,1000) or activity concentration scale factor (7053,1009) "
                            "in slice %zu: counts cannot be converted to SUV", i + 1);
        }
        if (need_act) {
            double *af = malloc(n * sizeof *af);
            if (!af)
                return fail(err, errlen, QIB_ENOMEM, "out of memory");
            rc = activity_factors(s, n, &p, rec, af, err, errlen);
            for (size_t i = 0; i < n && rc == QIB_OK; i++)
                if (!(s[i].philips_suv > 0 && isfinite(s[i].philips_suv)))
                    factor[i] = s[i].philips_ac * af[i];
            free(af);
            if (rc)
                return rc;
            rec_d(rec, "suv.philips_activity_scale", s[0].philips_ac, "dicom:(7053,1009)");
        } else {
            rec_d(rec, "suv.philips_suv_scale", s[0].philips_suv, "dicom:(7053,1000)");
        }
    } else if (strcmp(units, "GML") == 0 || strcmp(units, "CM2ML") == 0) {
        /* Stored values are SUVs already; back to SUVbw through the
         * normaliser they were computed with. */
        enum norm nm;
        const char *type = s[0].suv_type;
        if (strcmp(units, "CM2ML") == 0)
            nm = N_BSA;
        else if (!norm_of_type(type, &nm))
            return fail(err, errlen, QIB_EUNSUPPORTED, "SUVType (0054,1006) \"%s\" is not one of BW, "
                        "BSA, LBM, LBMJAMES128, LBMJANMA, IBW", type);
        rec_s(rec, "suv.stored_suv_type", type[0] ? type : "BW",
              type[0] ? "dicom:(0054,1006)" : "default: SUVType absent means BW");
        double wg, ng;
        if ((rc = normaliser(N_BW, &s[0], &p, rec, &wg, err, errlen)) ||
            (rc = normaliser(nm, &s[0], &p, rec, &ng, err, errlen)))
            return rc;
        for (size_t i = 0; i < n; i++)
            factor[i] = wg / ng;
    } else {
        return fail(err, errlen, QIB_EUNSUPPORTED, "Units (0054,1001) is \"%s\": SUV needs BQML, CNTS "
                    "(with a Philips scale factor), GML or CM2ML", units);
    }
    /* factor now gives SUVbw; other normalisations scale it by N / W. */
    rec_d(rec, "suv.factor_bw", factor[0], "computed: SUVbw per rescaled voxel value (first slice)");
    if (mode != QIB__SUV_BW) {
        static const enum norm of_mode[] = {N_BW, N_BW, N_BSA, N_LBM_JAMES, N_LBM_JANMA, N_IBW};
        double wg, ng;
        if ((rc = normaliser(N_BW, &s[0], &p, rec, &wg, err, errlen)) ||
            (rc = normaliser(of_mode[mode], &s[0], &p, rec, &ng, err, errlen)))
            return rc;
        rec_d(rec, mode == QIB__SUV_BSA ? "suv.normaliser_cm2" : "suv.normaliser_g", ng,
              "computed");
        for (size_t i = 0; i < n; i++)
            factor[i] *= ng / wg;
    }
    double lo = factor[0], hi = factor[0];
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(factor[i]) || factor[i] <= 0)
            return fail(err, errlen, QIB_ERANGE, "SUV factor of slice %zu is %g", i + 1, factor[i]);
        lo = fmin(lo, factor[i]);
        hi = fmax(hi, factor[i]);
    }
    rec_d(rec, "suv.factor", factor[0], "computed: SUV per rescaled voxel value (first slice)");
    if (hi > lo) {
        rec_d(rec, "suv.factor_min", lo, "computed");
        rec_d(rec, "suv.factor_max", hi, "computed");
    }
    return QIB_OK;
}
