/* The DICOM PET series of `qib phantom nema-iec` read back through
 * read.dicom with suv: bw gives the SUVbw of its pet.nii.gz voxel by voxel,
 * within the int16 quantisation of each slice (half a rescale slope), on
 * the same grid, with the SUV header values the phantom printed. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "t0400-util.h"

/* The value after "key " on its own line of the phantom's report. */
static double report_value(const char *rep, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = rep; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, key, n) && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    bail("phantom report has no \"%s\"", key);
}

static qib_harness *read_with(const char *plugin, const char *path, const char *k2,
                              const char *v2)
{
    qib_harness *h = NULL;
    char err[512];
    if (qib_harness_new(plugin, &h, err, sizeof err) != QIB_OK)
        bail("cannot load %s: %s", plugin, err);
    if (qib_harness_set_param(h, "path", path) != QIB_OK ||
        (k2 && qib_harness_set_param(h, k2, v2) != QIB_OK))
        bail("%s: parameters refused: %s", plugin, qib_harness_error(h));
    if (qib_harness_run(h) != QIB_OK)
        bail("%s %s: %s", plugin, path, qib_harness_error(h));
    return h;
}

static void compare(const char *opts, const char *what)
{
    const char *qib = getenv("QIB");
    if (!qib)
        bail("QIB is not set");
    char *dir = tap_tmpdir(), cmd[2048], path[1200];
    int st;
    snprintf(cmd, sizeof cmd, "%s phantom nema-iec --out '%s/p' %s", qib, dir, opts);
    char *rep = run_cmd(cmd, &st);
    if (!ok(st == 0, "%s: qib phantom nema-iec %s", what, opts)) {
        diag("%s", rep);
        free(rep);
        t04_rmdir(dir);
        return;
    }
    snprintf(path, sizeof path, "%s/p/dicom", dir);
    qib_harness *hd = read_with("read.dicom", path, "suv", "bw");
    snprintf(path, sizeof path, "%s/p/pet.nii.gz", dir);
    qib_harness *hn = read_with("read.nifti", path, NULL, NULL);
    const qib_volume *d = qib_harness_out_volume(hd, "image");
    const qib_volume *n = qib_harness_out_volume(hn, "image");
    char why[512] = "";
    ok(qib_geom_same_grid(qib_volume_geom(d), qib_volume_geom(n), QIB_GRID_TOL, why,
                          sizeof why) == QIB_OK,
       "%s: DICOM and NIfTI are on the same grid %s", what, why);
    is_string(qib_meta_get(qib_volume_meta(d), "units"), "SUVbw", "%s: read.dicom gives SUVbw",
              what);
    /* the SUV factor from the header: weight / decayed dose */
    double w = report_value(rep, "weight_kg"), dose = report_value(rep, "dose_bq");
    double up = report_value(rep, "uptake_min"), hl = report_value(rep, "half_life_s");
    double want = w * 1000.0 / (dose * exp(-log(2.0) / hl * up * 60.0)), got = NAN;
    qib_meta_get_double(qib_volume_meta(d), "suv.factor", &got);
    is_double(got, want, 1e-9 * want, "%s: suv.factor is weight / decayed dose", what);

    /* Each slice is stored as int16 with slope = slice max / 32767 (Bq/ml):
     * the SUV read back differs by at most half a slope times the factor,
     * i.e. slice max (SUV) / 65534, plus float32 rounding of both. */
    const struct qib_geom *g = qib_volume_geom(n);
    size_t nxy = g->dims[0] * g->dims[1], worst = 0, nz = g->dims[2];
    double worst_ratio = 0;
    for (size_t z = 0; z < nz; z++) {
        double mx = 0;
        for (size_t i = z * nxy; i < (z + 1) * nxy; i++)
            mx = fmax(mx, fabs(qib_volume_get(n, i)));
        double tol = mx / 65534.0 * (1 + 1e-6) + 2e-7 * mx + 1e-12;
        for (size_t i = z * nxy; i < (z + 1) * nxy; i++) {
            double e = fabs(qib_volume_get(d, i) - qib_volume_get(n, i)) / tol;
            if (e > worst_ratio) {
                worst_ratio = e;
                worst = i;
            }
        }
    }
    ok(worst_ratio <= 1, "%s: every voxel within half a slope (worst %.3f of it, voxel %zu: "
                         "DICOM %.9g, NIfTI %.9g)",
       what, worst_ratio, worst, qib_volume_get(d, worst), qib_volume_get(n, worst));
    is_double(report_value(rep, "sphere_suv") / report_value(rep, "background_suv"),
              report_value(rep, "ratio"), 1e-8, "%s: sphere / background SUV is the ratio",
              what);
    qib_harness_free(&hd);
    qib_harness_free(&hn);
    free(rep);
    t04_rmdir(dir);
}

int main(void)
{
    plan(12);
    /* defaults: background SUV 1; then a blurred, noisy phantom with its
     * own weight, dose and uptake, on an anisotropic grid */
    compare("--voxel 4,4,4", "4 mm voxels");
    compare("--voxel 3,3.5,2.5 --fwhm 6 --noise 0.1 --seed 7 --weight 70 --dose 370 "
            "--uptake 75 --ratio 8",
            "blurred, noisy, 370 MBq");
    return tap_done();
}
