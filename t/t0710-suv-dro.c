/* read.dicom suv=bw on the 17 IBSI-SUV digital reference objects
 * (QIB_REFDATA/ibsi_suv_dro, oncoray/suv_computation DRO/DRO_list.csv):
 * inside DRO_mask.nii.gz every DRO must give SUVbw min 0.20, median 1.00 and
 * max 4.00 to two decimals, whatever its units, decay correction, times,
 * dose unit or radionuclide.
 *
 * DRO_2_3 (Units CM2ML) cannot meet that truth: its stored values are 5, 26
 * and 105 with RescaleSlope 0.01 (SUVbsa truncated to two decimals), and
 * SUVbw = SUVbsa x W/BSA keeps their ratios, 0.192 and 4.04, not 0.2 and 4.
 * With the Du Bois BSA read.dicom uses (70 kg, 175 cm: 1.84814 m2) they are
 * SUVbw 0.18938, 0.98477 and 3.97696: asserted to 1e-4.  (The integers do
 * not identify the DRO's own formula: Mosteller, Haycock, Gehan-George and
 * Boyd also truncate 0.2, 1 and 4 to 5, 26 and 105.) */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t0700-dicom-util.h"

static const char *const dros[] = {"DRO_0_0", "DRO_1_0", "DRO_2_0", "DRO_2_1", "DRO_2_2", "DRO_2_3",
                                   "DRO_2_4", "DRO_2_5", "DRO_3_0", "DRO_3_1", "DRO_3_2", "DRO_3_3",
                                   "DRO_3_4", "DRO_4_0", "DRO_4_1", "DRO_4_2", "DRO_5_0"};
#define NDRO (sizeof dros / sizeof dros[0])

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double round2(double x)
{
    return floor(x * 100.0 + 0.5) / 100.0;
}

int main(void)
{
    char *tar = refdata_path("ibsi_suv_dro/DRO_all_17_objects.tar.gz");
    if (!tar)
        skip_all("QIB_REFDATA/ibsi_suv_dro/DRO_all_17_objects.tar.gz not found");
    plan((int)NDRO * 5 + 1);
    char *tmp = tap_tmpdir();
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "tar xzf '%s' -C '%s'", tar, tmp);
    int st;
    free(run_cmd(cmd, &st));
    if (st != 0)
        bail("cannot unpack %s", tar);
    for (size_t i = 0; i < NDRO; i++) {
        char dir[2048], mask[2048];
        snprintf(dir, sizeof dir, "%s/DRO/%s", tmp, dros[i]);
        snprintf(mask, sizeof mask, "%s/DRO/%s/mask/DRO_mask.nii.gz", tmp, dros[i]);
        int rc;
        static const char *const kv[] = {"suv=bw", NULL};
        qib_harness *h = td_read(dir, &rc, kv);
        const qib_volume *v = rc == QIB_OK ? qib_harness_out_volume(h, "image") : NULL;
        ok(v != NULL, "%s: read.dicom suv=bw reads the series", dros[i]);
        if (!v) {
            diag("%s", qib_harness_error(h));
            skip(4, "no volume");
            qib_harness_free(&h);
            continue;
        }
        int mrc;
        qib_harness *hm = td_read_nifti(mask, "mask", &mrc);
        const qib_volume *m = mrc == QIB_OK ? qib_harness_out_volume(hm, "image") : NULL;
        char why[256] = "";
        int same = m && qib_geom_same_grid(qib_volume_geom(v), qib_volume_geom(m), 1e-3, why,
                                            sizeof why) == QIB_OK;
        ok(same, "%s: SUV volume on the mask's grid %s", dros[i], why);
        if (!same) {
            skip(3, "no mask on the grid");
            qib_harness_free(&hm);
            qib_harness_free(&h);
            continue;
        }
        size_t n = qib_volume_nvox(v), k = 0;
        double *in = malloc(n * sizeof *in);
        if (!in)
            bail("out of memory");
        for (size_t j = 0; j < n; j++)
            if (qib_volume_get(m, j) != 0)
                in[k++] = qib_volume_get(v, j);
        qsort(in, k, sizeof *in, cmp_d);
        double med = k % 2 ? in[k / 2] : 0.5 * (in[k / 2 - 1] + in[k / 2]);
        if (!strcmp(dros[i], "DRO_2_3")) {
            double f = 0.01 * 70000.0 / (1e4 * 0.007184 * pow(175.0, 0.725) * pow(70.0, 0.425));
            is_double(in[0], 5 * f, 1e-4, "DRO_2_3: SUVbw min = 5 x 0.01 x W/BSA (%.5f)", 5 * f);
            is_double(med, 26 * f, 1e-4, "DRO_2_3: SUVbw median = 26 x 0.01 x W/BSA (%.5f)", 26 * f);
            is_double(in[k - 1], 105 * f, 1e-4, "DRO_2_3: SUVbw max = 105 x 0.01 x W/BSA (%.5f)",
                      105 * f);
            free(in);
            qib_harness_free(&hm);
            qib_harness_free(&h);
            continue;
        }
        is_double(round2(in[0]), 0.20, 1e-9, "%s: SUVbw min in mask 0.20 (got %.5f)", dros[i], in[0]);
        is_double(round2(med), 1.00, 1e-9, "%s: SUVbw median in mask 1.00 (got %.5f)", dros[i], med);
        is_double(round2(in[k - 1]), 4.00, 1e-9, "%s: SUVbw max in mask 4.00 (got %.5f)", dros[i],
                  in[k - 1]);
        free(in);
        if (i == 0) {
            const qib_meta *md = qib_volume_meta(v);
            const char *w = qib_meta_get(md, "suv.weight_kg");
            const char *d = qib_meta_get(md, "suv.dose_bq");
            ok(w && d && !strcmp(w, "70") && !strcmp(d, "368080000") &&
                   !strcmp(qib_meta_get(md, "units"), "SUVbw"),
               "DRO_0_0: weight 70 kg and dose 368080000 Bq recorded, units SUVbw (got %s, %s)",
               w ? w : "-", d ? d : "-");
        }
        qib_harness_free(&hm);
        qib_harness_free(&h);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    free(run_cmd(cmd, &st));
    free(tmp);
    free(tar);
    return tap_done();
}
