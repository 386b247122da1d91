/* NIfTI interchange with nibabel (the reader most qib users would otherwise
 * use): nibabel reads what write.nifti writes with the same RAS affine, shape,
 * type and voxels, and read.nifti reads what nibabel writes (oblique int16
 * .nii.gz, 4-D float32, scl_slope, big-endian qform-only, NIfTI-2 float64,
 * uint8) with the same affine and voxels.  t0305-nifti-nibabel.py does the
 * nibabel side; skipped when /usr/bin/python3 has no nibabel. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t0300-nifti-util.h"

#define PY "/usr/bin/python3"

struct desc {
    char name[128];
    char dtype[32];
    int ndim;
    long dims[4];
    double aff[12];
    double sum, wsum;
};

static int parse(const char *line, struct desc *d)
{
    int n = sscanf(line,
                   "%127s %31s %d %ld %ld %ld %ld %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf %lf "
                   "%lf %lf",
                   d->name, d->dtype, &d->ndim, &d->dims[0], &d->dims[1], &d->dims[2],
                   &d->dims[3], &d->aff[0], &d->aff[1], &d->aff[2], &d->aff[3], &d->aff[4],
                   &d->aff[5], &d->aff[6], &d->aff[7], &d->aff[8], &d->aff[9], &d->aff[10],
                   &d->aff[11], &d->sum, &d->wsum);
    return n == 21;
}

/* qib's view in the same terms: RAS affine, sum and weighted sum. */
static void qib_view(const qib_volume *v, double aff[12], double *sum, double *wsum)
{
    double m[16];
    qib_geom_affine(qib_volume_geom(v), m);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            aff[4 * r + c] = (r < 2 ? -1 : 1) * m[4 * r + c];
    *sum = *wsum = 0;
    size_t n = qib_volume_nvox(v);
    for (size_t i = 0; i < n; i++) {
        double x = qib_volume_get(v, i);
        if (isnan(x))
            continue;
        *sum += x;
        *wsum += (double)(i + 1) * x;
    }
}

static const char *numpy_name(enum qib_dtype t)
{
    static const char *const names[] = {"?",      "uint8",  "int8",    "uint16",
                                        "int16",  "uint32", "int32",   "float32",
                                        "float64"};
    return (int)t >= 1 && (int)t <= 8 ? names[t] : "?";
}

static double rel(double a, double b)
{
    return fabs(a - b) / fmax(1.0, fmax(fabs(a), fabs(b)));
}

static double affdiff(const double a[12], const double b[12])
{
    double d = 0;
    for (int i = 0; i < 12; i++)
        d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

/* Compare qib's volume with nibabel's description of the same file. */
static void compare(const qib_volume *v, const struct desc *d, const char *dir_word,
                    double tol_val)
{
    const struct qib_geom *g = qib_volume_geom(v);
    double aff[12], sum, wsum;
    qib_view(v, aff, &sum, &wsum);
    int dims_ok = 1;
    for (int i = 0; i < 4; i++)
        dims_ok = dims_ok && (long)g->dims[i] == d->dims[i];
    ok(dims_ok && g->ndim == d->ndim, "%s: %s shape %ldx%ldx%ldx%ld", d->name, dir_word,
       d->dims[0], d->dims[1], d->dims[2], d->dims[3]);
    double ad = affdiff(aff, d->aff);
    ok(ad < 1e-5, "%s: %s the same RAS affine (max diff %.2g)", d->name, dir_word, ad);
    const char *want = strcmp(d->dtype, "scaled") == 0 ? "float32" : d->dtype;
    is_string(numpy_name(qib_volume_dtype(v)), want, "%s: type %s", d->name, want);
    ok(rel(sum, d->sum) <= tol_val && rel(wsum, d->wsum) <= tol_val,
       "%s: %s the same voxels (sum %.17g vs %.17g)", d->name, dir_word, sum, d->sum);
}

static void qib_to_nibabel(const char *tmp, const char *script)
{
    static const struct {
        enum qib_dtype t;
        int ndim, flip;
        const char *name;
    } cases[] = {
        {QIB_I16, 3, 0, "q_i16.nii.gz"}, {QIB_F32, 4, 0, "q_f32_4d.nii"},
        {QIB_U16, 3, 1, "q_u16_left.nii.gz"}, {QIB_F64, 3, 0, "q_f64.nii"},
        {QIB_I8, 3, 1, "q_i8.nii"},     {QIB_U32, 3, 0, "q_u32.nii.gz"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t dims[4] = {7, 5, 4, 3};
        struct qib_geom g;
        qib_geom_init(&g, cases[k].ndim, dims);
        /* 90 deg about x plus a small oblique tilt, as a scanner would give */
        double c = cos(0.2), s = sin(0.2);
        double dir[9] = {1, 0, 0, 0, c, -s, 0, s, c};
        memcpy(g.dir, dir, sizeof dir);
        if (cases[k].flip)
            for (int r = 0; r < 3; r++)
                g.dir[3 * r + 2] = -g.dir[3 * r + 2];
        g.spacing[0] = 0.75;
        g.spacing[1] = 0.8;
        g.spacing[2] = 3;
        g.spacing[3] = 2000;
        g.origin[0] = 101.5;
        g.origin[1] = -77.25;
        g.origin[2] = 12;
        qib_volume *v = NULL;
        if (qib_volume_new(cases[k].t, &g, &v) != QIB_OK)
            bail("qib_volume_new");
        size_t n = qib_volume_nvox(v);
        unsigned char *d = qib_volume_data_mut(v);
        for (size_t i = 0; i < n * qib_dtype_size(cases[k].t); i++)
            d[i] = (unsigned char)(i * 131 + 7);
        if (cases[k].t == QIB_F32)
            for (size_t i = 0; i < n; i++)
                ((float *)(void *)d)[i] = (float)i * 1.25f - 40.0f;
        if (cases[k].t == QIB_F64)
            for (size_t i = 0; i < n; i++)
                ((double *)(void *)d)[i] = (double)i / 7.0;
        char err[512];
        int rc = tn_write_vol(v, tmp, cases[k].name, NULL, 2, err, sizeof err);
        if (rc != QIB_OK)
            bail("write %s: %s", cases[k].name, err);
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "%s '%s' read '%s/%s'", PY, script, tmp, cases[k].name);
        int st;
        char *out = run_cmd(cmd, &st);
        struct desc ds;
        if (st != 0 || !out || !parse(out, &ds)) {
            ok(0, "nibabel reads %s", cases[k].name);
            diag("%s", out ? out : "(no output)");
            skip(4, "nibabel could not read it");
        } else {
            ok(1, "nibabel reads %s", cases[k].name);
            compare(v, &ds, "nibabel sees", 1e-12);
        }
        free(out);
        qib_volume_unref(&v);
    }
}

static void nibabel_to_qib(const char *tmp, const char *script)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s '%s' write '%s'", PY, script, tmp);
    int st;
    char *out = run_cmd(cmd, &st);
    if (st != 0 || !out) {
        ok(0, "nibabel writes its test images");
        diag("%s", out ? out : "(no output)");
        free(out);
        return;
    }
    int files = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        struct desc ds;
        if (!parse(line, &ds))
            continue;
        files++;
        char *p = tn_join(tmp, ds.name);
        int rc;
        qib_harness *h = tn_read(p, NULL, &rc);
        const qib_volume *v = qib_harness_out_volume(h, "image");
        ok(rc == QIB_OK && v, "qib reads nibabel's %s", ds.name);
        if (v) {
            /* scaled int16 -> f32 in qib, float64 in nibabel: f32 rounding */
            compare(v, &ds, "qib sees", strcmp(ds.dtype, "scaled") == 0 ? 1e-7 : 1e-12);
        } else {
            diag("%s", qib_harness_error(h));
            skip(4, "not read");
        }
        qib_harness_free(&h);
        free(p);
    }
    is_int(files, 6, "nibabel wrote 6 images");
    free(out);
}

int main(void)
{
    int st;
    char *out = run_cmd(PY " -c 'import nibabel, numpy'", &st);
    free(out);
    if (st != 0)
        skip_all("%s with nibabel and numpy is not available", PY);
    char *script = srcdir_path("t/t0305-nifti-nibabel.py");
    plan_lazy();
    char *tmp = tap_tmpdir();
    qib_to_nibabel(tmp, script);
    nibabel_to_qib(tmp, script);
    free(tmp);
    free(script);
    return tap_done();
}
