/* bio.dsc absolute CBV against the 14 OSIPI DSC test curves (OSIPI
 * DCE-DSC-MRI CodeCollection, test/DSCmodels/data/dsc_data.csv: tissue and
 * arterial concentration curves simulated with known CBV, 161 frames,
 * TR 1.243 s).  Each concentration curve C becomes a voxel of signal
 * S = S0 exp(-TE k C) (TE 30 ms, k 10 1/s per mM, S0 1000), the arterial
 * curve a voxel of the aif mask; bio.dsc with hct_large = hct_small = 0 and
 * density 1 (the simulation's CBV = int C_tis / int C_aif, no haematocrit)
 * integrates the whole series.  OSIPI tolerance, as numpy assert_allclose:
 * |CBV - ref| <= 1 + 0.1 |ref| mL/100 mL. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "t1300-dsc-util.h"

#define NCASE 14
#define NT 161

/* Parse n space-separated numbers from s into out; returns the count. */
static size_t numbers(char *s, double *out, size_t n)
{
    size_t k = 0;
    char *end;
    while (k < n) {
        double v = strtod(s, &end);
        if (end == s)
            break;
        out[k++] = v;
        s = end;
    }
    return k;
}

int main(void)
{
    char *path = refdata_path("osipi_dce_dsc/orig/test/DSCmodels/data/dsc_data.csv");
    if (!path)
        skip_all("OSIPI DSC curves not found (set QIB_REFDATA to the shared reference data "
                 "holding osipi_dce_dsc/orig/test/DSCmodels/data/dsc_data.csv)");
    size_t len = 0;
    char *text = slurp(path, &len);
    if (!text)
        bail("cannot read %s", path);
    plan(3 + NCASE);

    static double tis[NCASE][NT], art[NT], ref[NCASE];
    char label[NCASE][80];
    double tr = NAN;
    size_t ncase = 0;
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save); /* header */
    ok(line && !strncmp(line, "label,C_tis,C_aif,cbv,cbf,tr", 28), "dsc_data.csv: header");
    int shape_ok = 1;
    while ((line = strtok_r(NULL, "\n", &save)) && ncase < NCASE) {
        char *f[6], *fs = NULL;
        int k = 0;
        for (char *c = strtok_r(line, ",", &fs); c && k < 6; c = strtok_r(NULL, ",", &fs))
            f[k++] = c;
        if (k != 6) {
            shape_ok = 0;
            break;
        }
        snprintf(label[ncase], sizeof label[ncase], "%s", f[0]);
        double a[NT];
        if (numbers(f[1], tis[ncase], NT) != NT || numbers(f[2], a, NT) != NT)
            shape_ok = 0;
        if (ncase == 0)
            memcpy(art, a, sizeof art);
        else
            for (size_t t = 0; t < NT; t++)
                shape_ok &= a[t] == art[t]; /* one arterial curve for all cases */
        ref[ncase] = strtod(f[3], NULL);
        tr = strtod(f[5], NULL);
        ncase++;
    }
    ok(shape_ok && ncase == NCASE && tr == 1.243,
       "dsc_data.csv: %zu cases of %d frames, one arterial curve, TR %g s", ncase, NT, tr);

    /* voxels 0-13: tissue; voxel 14: artery */
    enum { NV = NCASE + 1 };
    double *d = malloc(NV * NT * sizeof *d);
    for (size_t t = 0; t < NT; t++) {
        for (size_t c = 0; c < NCASE; c++)
            d[t * NV + c] = 10 * tis[c][t];
        d[t * NV + NCASE] = 10 * art[t];
    }
    qib_volume *img = t13_series(NV, 1, 1, NT, 1000, 0.030, d);
    uint8_t brain[NV], aif[NV];
    for (size_t i = 0; i < NV; i++)
        brain[i] = i < NCASE, aif[i] = i == NCASE;
    qib_volume *m = t13_mask(img, brain), *am = t13_mask(img, aif);
    void *ports[] = {"mask", m, "aif", am, NULL};
    const char *par[] = {"te_ms", "30", "tr_s", "1.243", "leakage", "none", "integration", "all",
                         "hct_large", "0", "hct_small", "0", "density", "1", NULL};
    int rc;
    qib_harness *h = t13_run(img, ports, par, 2, &rc);
    is_int(rc, QIB_OK, "bio.dsc runs on the OSIPI curves (%s)", qib_harness_error(h));
    const qib_volume *cbv = qib_harness_out_volume(h, "cbv");
    for (size_t c = 0; c < NCASE; c++) {
        double got = cbv ? qib_volume_get(cbv, c) : NAN;
        double tol = 1 + 0.1 * fabs(ref[c]);
        ok(fabs(got - ref[c]) <= tol, "%s: CBV %.4g mL/100 mL, truth %g, |diff| %.3g <= %.3g",
           label[c], got, ref[c], fabs(got - ref[c]), tol);
    }
    qib_harness_free(&h);
    qib_volume_unref(&am);
    qib_volume_unref(&m);
    qib_volume_unref(&img);
    free(d);
    free(text);
    free(path);
    return tap_done();
}
