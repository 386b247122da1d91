/* The SUVbw factor of read.dicom's SUV code on eight real vendor header sets
 * (QIB_REFDATA/calculate_suv_metadata: cornerstonejs/calculate-suv
 * test/metadata/NAME-instances.json), against the factors that project's
 * test/calculateSUV_SampleData.test.ts asserts, to 1e-6 relative.  The JSON
 * is flattened by python3 (skipped without it); the factor comes from
 * qib__suv_factors, compiled into this test. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"
#include "tap.h"

#include "../plugins/read/dicom/suv.h"

static const struct {
    const char *name;
    double factor;
} cases[] = {
    {"SIEMENS", 0.00042748316187197236},
    {"GE_MEDICAL_AND_BQML", 0.0005367387681819742},
    {"PHILIPS_BQML", 0.0007463747013889488},
    {"PHILIPS_CNTS_AND_BQML_SUV", 0.000551},
    {"PHILIPS_CNTS_AND_SUV", 0.000728},
    {"BQML_AC_DT_lessThan_S_DT_SIEMENS", 0.0004069156854009332},
    {"CPS_AND_BQML_AC_DT_-_S_DT", 0.00026503312764157046},
    {"RADIOPHARM_DATETIME_UNDEFINED", 0.0003721089202818729},
};
#define NCASE (sizeof cases / sizeof cases[0])

/* One "index key=value" line per attribute of each instance. */
static const char flatten[] =
    "import json,sys\n"
    "for i,x in enumerate(json.load(open(sys.argv[1]))):\n"
    "  p=x.pop('PhilipsPETPrivateGroup',{}) or {}\n"
    "  for k,v in list(x.items())+[('Philips'+k,v) for k,v in p.items()]:\n"
    "    if isinstance(v,list): v='\\\\'.join(map(str,v))\n"
    "    print(i, '%s=%s' % (k, str(v).strip()))\n";

static void set(struct qib__suv_slice *s, const char *k, const char *v)
{
#define S(name, field)                                          \
    if (!strcmp(k, name)) {                                     \
        snprintf(s->field, sizeof s->field, "%s", v);          \
        return;                                                 \
    }
#define D(name, field)                                          \
    if (!strcmp(k, name)) {                                     \
        s->field = strtod(v, NULL);                             \
        return;                                                 \
    }
    S("Units", units) S("DecayCorrection", decay) S("PatientSex", sex) S("SeriesDate", series_date)
    S("SeriesTime", series_time) S("AcquisitionDate", acq_date) S("AcquisitionTime", acq_time)
    S("RadiopharmaceuticalStartTime", rp_time) S("RadiopharmaceuticalStartDateTime", rp_datetime)
    S("SUVType", suv_type)
    D("PatientWeight", weight) D("PatientSize", size) D("RadionuclideTotalDose", dose)
    D("RadionuclideHalfLife", half_life) D("FrameReferenceTime", frame_ref_ms)
    D("ActualFrameDuration", frame_dur_ms) D("PhilipsSUVScaleFactor", philips_suv)
    D("PhilipsActivityConcentrationScaleFactor", philips_ac)
#undef S
#undef D
}

int main(void)
{
    char *dir = refdata_path("calculate_suv_metadata/orig/test/metadata");
    if (!dir)
        skip_all("QIB_REFDATA/calculate_suv_metadata not found");
    int st;
    free(run_cmd("python3 -c 'import json'", &st));
    if (st != 0)
        skip_all("python3 is needed to flatten the JSON header sets");
    plan((int)NCASE + 2);
    char *tmp = tap_tmpdir();
    char script[2048];
    snprintf(script, sizeof script, "%s/flatten.py", tmp);
    FILE *f = fopen(script, "w");
    if (!f || fputs(flatten, f) < 0 || fclose(f) != 0)
        bail("cannot write %s", script);
    for (size_t c = 0; c < NCASE; c++) {
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "python3 '%s' '%s/%s-instances.json'", script, dir, cases[c].name);
        char *out = run_cmd(cmd, &st);
        if (st != 0)
            bail("%s: %s", cmd, out);
        struct qib__suv_slice s[16];
        size_t n = 0;
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
            char *sp = strchr(line, ' '), *eq = sp ? strchr(sp, '=') : NULL;
            if (!eq)
                continue;
            size_t i = (size_t)strtoul(line, NULL, 10);
            if (i >= 16)
                bail("too many instances");
            while (n <= i)
                qib__suv_slice_init(&s[n++]);
            *eq = '\0';
            set(&s[i], sp + 1, eq + 1);
        }
        free(out);
        double fac[16];
        char err[512] = "";
        qib_meta *rec = qib_meta_new();
        int rc = qib__suv_factors(s, n, QIB__SUV_BW, fac, rec, err, sizeof err);
        if (rc)
            diag("%s: %s", cases[c].name, err);
        double want = cases[c].factor;
        ok(rc == QIB_OK && fabs(fac[0] - want) <= 1e-6 * want,
           "%s: SUVbw factor %.12g, calculate-suv %.12g (rel. diff %.2g; reference time %s)",
           cases[c].name, rc ? NAN : fac[0], want, rc ? NAN : fabs(fac[0] - want) / want,
           qib_meta_source(rec, "suv.reference_time") ? qib_meta_source(rec, "suv.reference_time")
                                                      : "-");
        if (c == 0) {
            /* Hand check in the README: 67 kg, 374 MBq, 08:30:45 to
             * 10:48:29 (8264 s), T1/2 6586.2 s. */
            double hand = 67000.0 / (374e6 * pow(2.0, -8264.0 / 6586.2));
            is_double(fac[0], hand, 1e-9 * hand, "SIEMENS: factor = 67000 / (374e6 * 2^(-8264/6586.2))");
            is_string(qib_meta_get(rec, "suv.weight_kg"), "67", "SIEMENS: weight recorded");
        }
        qib_meta_free(&rec);
    }
    snprintf(script, sizeof script, "rm -rf '%s'", tmp);
    free(run_cmd(script, &st));
    free(tmp);
    free(dir);
    return tap_done();
}
