/* write.nifti: every voxel type through write.nifti -> read.nifti exactly,
 * geometry kept (oblique, left- and right-handed, 4-D), qform and sform both
 * right, codes kept from the metadata, masks, NIfTI-2 for long dims, gzip
 * output that gzip(1) accepts and that is the same bytes for any thread
 * count, compression levels, and refused parameters. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t0300-nifti-util.h"

static char *tmp;

/* An oblique grid: rotation of 0.3 rad about the axis (1, 2, 2)/3, spacing
 * 0.7 x 1.3 x 2.5 mm, origin under 16 mm so float32 (NIfTI-1) keeps it to
 * 1e-6 mm. */
static void oblique(struct qib_geom *g, int ndim, const size_t *dims, int flip)
{
    if (qib_geom_init(g, ndim, dims) != QIB_OK)
        bail("qib_geom_init");
    /* Rodrigues: R = c I + (1 - c) a a^T + s [a]x */
    const double a[3] = {1.0 / 3, 2.0 / 3, 2.0 / 3}, th = 0.3, c = cos(th), s = sin(th);
    const double cross[9] = {0, -a[2], a[1], a[2], 0, -a[0], -a[1], a[0], 0};
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < 3; k++)
            g->dir[3 * r + k] = (r == k ? c : 0) + (1 - c) * a[r] * a[k] + s * cross[3 * r + k];
    if (flip)
        for (int r = 0; r < 3; r++)
            g->dir[3 * r + 2] = -g->dir[3 * r + 2];
    g->spacing[0] = 0.7;
    g->spacing[1] = 1.3;
    g->spacing[2] = 2.5;
    g->origin[0] = -12.3;
    g->origin[1] = 4.56;
    g->origin[2] = 7.89;
    char why[256];
    if (qib_geom_check(g, why, sizeof why) != QIB_OK)
        bail("oblique geometry: %s", why);
}

static qib_volume *make(enum qib_dtype t, const struct qib_geom *g)
{
    qib_volume *v = NULL;
    if (qib_volume_new(t, g, &v) != QIB_OK)
        bail("qib_volume_new");
    unsigned char *d = qib_volume_data_mut(v);
    size_t n = qib_volume_nvox(v), sz = qib_dtype_size(t);
    /* bytes that make every value distinct and exercise every byte */
    for (size_t i = 0; i < n * sz; i++)
        d[i] = (unsigned char)(i * 37 + i / 7);
    if (t == QIB_F32)
        for (size_t i = 0; i < n; i++)
            ((float *)(void *)d)[i] = (float)i * 0.37f - 3.0f;
    if (t == QIB_F64)
        for (size_t i = 0; i < n; i++)
            ((double *)(void *)d)[i] = (double)i / 3.0 - 1e6;
    return v;
}

static int same_geom(const struct qib_geom *a, const struct qib_geom *b, double *worst_mm,
                     double *worst_dir)
{
    double mm = 0, dd = 0;
    for (int i = 0; i < 3; i++) {
        mm = fmax(mm, fabs(a->origin[i] - b->origin[i]));
        mm = fmax(mm, fabs(a->spacing[i] - b->spacing[i]));
    }
    for (int i = 0; i < 9; i++)
        dd = fmax(dd, fabs(a->dir[i] - b->dir[i]));
    *worst_mm = mm;
    *worst_dir = dd;
    int same = a->ndim == b->ndim;
    for (int i = 0; i < 4; i++)
        same = same && a->dims[i] == b->dims[i];
    if (a->ndim == 4)
        same = same && a->spacing[3] == b->spacing[3];
    return same && mm <= 1e-6 && dd <= 1e-7;
}

static qib_harness *read_back(const char *name, const char *as, int *rc)
{
    char *p = tn_join(tmp, name);
    qib_harness *h = tn_read(p, as, rc);
    free(p);
    return h;
}

static void test_roundtrip(void)
{
    static const enum qib_dtype types[] = {QIB_U8,  QIB_I8,  QIB_U16, QIB_I16,
                                           QIB_U32, QIB_I32, QIB_F32, QIB_F64};
    static const char *const exts[] = {".nii", ".nii.gz"};
    size_t dims[3] = {5, 4, 3};
    for (int flip = 0; flip < 2; flip++) {
        struct qib_geom g;
        oblique(&g, 3, dims, flip);
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
            for (int e = 0; e < 2; e++) {
                qib_volume *v = make(types[t], &g);
                char name[64], err[512];
                snprintf(name, sizeof name, "rt-%s-%d%s", qib_dtype_name(types[t]), flip,
                         exts[e]);
                int rc = tn_write_vol(v, tmp, name, NULL, 2, err, sizeof err);
                if (rc != QIB_OK)
                    diag("write: %s", err);
                qib_harness *h = read_back(name, NULL, &rc);
                const qib_volume *r = qib_harness_out_volume(h, "image");
                int same = rc == QIB_OK && r && qib_volume_dtype(r) == types[t] &&
                           qib_volume_nvox(r) == qib_volume_nvox(v) &&
                           memcmp(qib_volume_data(r), qib_volume_data(v),
                                  qib_volume_nvox(v) * qib_dtype_size(types[t])) == 0;
                ok(same, "%s %s%s: type and every voxel byte kept", qib_dtype_name(types[t]),
                   exts[e], flip ? " (left-handed grid)" : "");
                double mm = INFINITY, dd = INFINITY;
                int sg = r && same_geom(&g, qib_volume_geom(r), &mm, &dd);
                ok(sg,
                   "%s %s%s: geometry kept (origin/spacing %.2g mm, direction %.2g)",
                   qib_dtype_name(types[t]), exts[e], flip ? " (left-handed)" : "", mm, dd);
                if (rc != QIB_OK)
                    diag("read: %s", qib_harness_error(h));
                qib_harness_free(&h);
                qib_volume_unref(&v);
            }
    }
}

/* The qform alone (sform_code patched to 0) must give the same grid: the
 * quaternion written is right, with qfac -1 for a left-handed RAS grid. */
static void test_qform(void)
{
    size_t dims[3] = {5, 4, 3};
    for (int flip = 0; flip < 2; flip++) {
        struct qib_geom g;
        oblique(&g, 3, dims, flip);
        qib_volume *v = make(QIB_I16, &g);
        char name[64], err[512];
        snprintf(name, sizeof name, "q-%d.nii", flip);
        int rc = tn_write_vol(v, tmp, name, NULL, 1, err, sizeof err);
        char *p = tn_join(tmp, name);
        size_t len;
        unsigned char *b = (unsigned char *)slurp(p, &len);
        if (rc != QIB_OK || !b || len < 352)
            bail("write %s: %s", name, err);
        /* Which handedness needs qfac -1: the RAS direction is the LPS one
         * with rows x and y negated, which keeps the determinant's sign. */
        float qfac;
        memcpy(&qfac, b + 76, 4);
        double det = g.dir[0] * (g.dir[4] * g.dir[8] - g.dir[5] * g.dir[7]) -
                     g.dir[1] * (g.dir[3] * g.dir[8] - g.dir[5] * g.dir[6]) +
                     g.dir[2] * (g.dir[3] * g.dir[7] - g.dir[4] * g.dir[6]);
        is_double(qfac, det < 0 ? -1 : 1, 0, "pixdim[0] (qfac) = sign of det(direction) = %+g",
                  det < 0 ? -1.0 : 1.0);
        b[254] = b[255] = 0;
        tn_write_raw(p, b, len);
        free(b);
        qib_harness *h = tn_read(p, NULL, &rc);
        const qib_volume *r = qib_harness_out_volume(h, "image");
        double mm = INFINITY, dd = INFINITY;
        int sg = r && same_geom(&g, qib_volume_geom(r), &mm, &dd);
        ok(rc == QIB_OK && sg && strcmp(qib_harness_record(h, "affine_source"), "qform") == 0,
           "%s grid: the written qform alone gives the grid (%.2g mm, direction %.2g)",
           flip ? "left-handed" : "right-handed", mm, dd);
        qib_harness_free(&h);
        free(p);
        qib_volume_unref(&v);
    }
}

static void test_codes_and_meta(void)
{
    size_t dims[4] = {3, 2, 2, 3};
    struct qib_geom g;
    oblique(&g, 4, dims, 0);
    g.spacing[3] = 1.5;
    qib_volume *v = make(QIB_F32, &g);
    qib_meta *m = qib_volume_meta_mut(v);
    qib_meta_set(m, "nifti.qform_code", "4", "test");
    qib_meta_set(m, "nifti.sform_code", "2", "test");
    qib_meta_set(m, "nifti.time_unit", "ms", "test");
    char err[512];
    int rc = tn_write_vol(v, tmp, "codes.nii.gz", NULL, 1, err, sizeof err);
    is_int(rc, QIB_OK, "4-D f32 with codes in its metadata: written");
    qib_harness *h = read_back("codes.nii.gz", NULL, &rc);
    const qib_volume *r = qib_harness_out_volume(h, "image");
    const qib_meta *rm = r ? qib_volume_meta(r) : NULL;
    is_string(rm ? qib_meta_get(rm, "nifti.qform_code") : NULL, "4", "qform_code 4 kept");
    is_string(rm ? qib_meta_get(rm, "nifti.sform_code") : NULL, "2", "sform_code 2 kept");
    is_string(rm ? qib_meta_get(rm, "nifti.time_unit") : NULL, "ms", "time unit ms written "
                                                                     "(xyzt_units 2|16)");
    is_string(rm ? qib_meta_get(rm, "nifti.xyzt_units") : NULL, "18", "xyzt_units 18");
    ok(r && qib_volume_geom(r)->ndim == 4 && qib_volume_geom(r)->spacing[3] == 1.5,
       "4-D: 4th spacing 1.5 kept");
    const char *d = rm ? qib_meta_get(rm, "nifti.descrip") : NULL;
    ok(d && strncmp(d, "qib ", 4) == 0 && strcmp(d + 4, qib_version()) == 0,
       "descrip \"qib %s\"", qib_version());
    qib_harness_free(&h);
    qib_volume_unref(&v);

    /* no codes in the metadata: 1 (scanner anatomical) for both */
    oblique(&g, 3, dims, 0);
    v = make(QIB_U8, &g);
    rc = tn_write_vol(v, tmp, "nocodes.nii", NULL, 1, err, sizeof err);
    h = read_back("nocodes.nii", NULL, &rc);
    r = qib_harness_out_volume(h, "image");
    rm = r ? qib_volume_meta(r) : NULL;
    ok(rm && strcmp(qib_meta_get(rm, "nifti.qform_code"), "1") == 0 &&
           strcmp(qib_meta_get(rm, "nifti.sform_code"), "1") == 0,
       "no codes recorded: qform_code = sform_code = 1");
    qib_harness_free(&h);
    qib_volume_unref(&v);

    /* a mask: written as uint8 with intent NIFTI_INTENT_LABEL (1002) */
    qib_volume *mk = NULL;
    if (qib_mask_new(&g, &mk) != QIB_OK)
        bail("qib_mask_new");
    uint8_t *md = qib_volume_data_mut(mk);
    md[0] = 1;
    md[5] = 7;
    md[11] = 255;
    rc = tn_write_vol(mk, tmp, "mask.nii.gz", NULL, 1, err, sizeof err);
    is_int(rc, QIB_OK, "a mask is written");
    h = read_back("mask.nii.gz", "mask", &rc);
    r = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && r && qib_volume_is_mask(r) && qib_volume_get(r, 5) == 7 &&
           qib_volume_get(r, 11) == 255 && tn_sum(r) == 263,
       "mask read back with as=mask: labels 1, 7, 255 kept");
    is_string(r ? qib_meta_get(qib_volume_meta(r), "nifti.intent_code") : NULL, "1002",
              "mask written with intent_code 1002 (NIFTI_INTENT_LABEL)");
    qib_harness_free(&h);
    qib_volume_unref(&mk);
    qib_volume_unref(&v);
}

/* A volume read from a NIfTI file written again keeps its header facts. */
static void test_rewrite_refdata(void)
{
    char *p = refdata_path("nibabel_test_data/orig/nibabel/tests/data/anatomical.nii");
    if (!p) {
        skip(3, "QIB_REFDATA not set: anatomical.nii unavailable");
        return;
    }
    int rc;
    qib_harness *h = tn_read(p, NULL, &rc);
    free(p);
    const qib_volume *v = qib_harness_out_volume(h, "image");
    char err[512];
    rc = v ? tn_write_vol((qib_volume *)(uintptr_t)v, tmp, "anat.nii.gz", NULL, 2, err,
                          sizeof err)
           : QIB_EINVAL;
    is_int(rc, QIB_OK, "anatomical.nii (big-endian) re-written as .nii.gz");
    qib_harness *h2 = read_back("anat.nii.gz", NULL, &rc);
    const qib_volume *r = qib_harness_out_volume(h2, "image");
    double mm = INFINITY, dd = INFINITY;
    ok(r && v && same_geom(qib_volume_geom(v), qib_volume_geom(r), &mm, &dd) &&
           memcmp(qib_volume_data(r), qib_volume_data(v), qib_volume_nvox(v) * 2) == 0,
       "anatomical: voxels and geometry kept through write/read");
    ok(r && strcmp(qib_meta_get(qib_volume_meta(r), "nifti.sform_code"), "2") == 0,
       "anatomical: sform_code 2 (aligned) kept");
    qib_harness_free(&h2);
    qib_harness_free(&h);
}

static void test_gzip(void)
{
    /* 256 x 256 x 40 int16 = 5 MiB: two 4 MiB pieces plus the header */
    size_t dims[3] = {256, 256, 40};
    struct qib_geom g;
    oblique(&g, 3, dims, 0);
    qib_volume *v = NULL;
    if (qib_volume_new(QIB_I16, &g, &v) != QIB_OK)
        bail("qib_volume_new");
    int16_t *d = qib_volume_data_mut(v);
    size_t n = qib_volume_nvox(v);
    uint32_t x = 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        /* smooth-ish CT-like values plus noise: compressible, not trivially */
        d[i] = (int16_t)((int)((i % 256) + (i / 65536) * 10) - 1000 + (int)((x >> 16) & 31));
    }
    char err[512];
    int rc1 = tn_write_vol(v, tmp, "t1.nii.gz", NULL, 1, err, sizeof err);
    int rc4 = tn_write_vol(v, tmp, "t4.nii.gz", NULL, 4, err, sizeof err);
    int rcp = tn_write_vol(v, tmp, "plain.nii", NULL, 1, err, sizeof err);
    ok(rc1 == QIB_OK && rc4 == QIB_OK && rcp == QIB_OK, "5 MiB image written with 1 and 4 "
                                                        "threads and uncompressed");
    char *p1 = tn_join(tmp, "t1.nii.gz"), *p4 = tn_join(tmp, "t4.nii.gz");
    char *pp = tn_join(tmp, "plain.nii");
    size_t l1 = 0, l4 = 0, lp = 0;
    char *b1 = slurp(p1, &l1), *b4 = slurp(p4, &l4), *bp = slurp(pp, &lp);
    ok(b1 && b4 && l1 == l4 && memcmp(b1, b4, l1) == 0,
       ".nii.gz identical bytes with 1 and 4 threads (%zu bytes)", l1);
    ok(bp && lp == 352 + n * 2, ".nii is 352 + 2 x %zu bytes", n);
    ok(l1 > 0 && l1 < lp, ".nii.gz smaller than .nii (%zu < %zu)", l1, lp);
    free(b1);
    free(b4);

    char cmd[2048];
    int st;
    snprintf(cmd, sizeof cmd, "gzip -t '%s' && gzip -dc '%s' | cmp - '%s' && echo SAME", p1, p1,
             pp);
    char *out = run_cmd(cmd, &st);
    ok(st == 0 && out && strstr(out, "SAME"),
       "gzip -t accepts the .nii.gz and gzip -dc gives the .nii byte for byte");
    if (st != 0)
        diag("%s", out ? out : "(no output)");
    free(out);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import gzip,sys; sys.stdout.write(str(len(gzip.open('%s')"
             ".read())))\"",
             p1);
    out = run_cmd(cmd, &st);
    if (st == 0 && out) {
        char want[64];
        snprintf(want, sizeof want, "%zu", lp);
        is_string(out, want, "python's gzip module reads all %zu bytes", lp);
    } else {
        skip(1, "python3 not available");
    }
    free(out);

    /* levels: each readable, 9 no larger than 1, 0 the largest */
    size_t sizes[10] = {0};
    int all = 1;
    for (int lv = 0; lv <= 9; lv++) {
        char name[32], lvs[8];
        snprintf(name, sizeof name, "lv%d.nii.gz", lv);
        snprintf(lvs, sizeof lvs, "%d", lv);
        int rc = tn_write_vol(v, tmp, name, lvs, 2, err, sizeof err);
        qib_harness *h = read_back(name, NULL, &rc);
        const qib_volume *r = qib_harness_out_volume(h, "image");
        all = all && rc == QIB_OK && r && memcmp(qib_volume_data(r), d, n * 2) == 0;
        qib_harness_free(&h);
        char *p = tn_join(tmp, name);
        char *b = slurp(p, &sizes[lv]);
        free(b);
        free(p);
    }
    ok(all, "compression_level 0..9: every file reads back exactly");
    ok(sizes[9] <= sizes[1] && sizes[1] < lp, "level 9 (%zu bytes) <= level 1 (%zu) < raw",
       sizes[9], sizes[1]);
    diag("sizes: level 0 %zu, 1 %zu, 6 %zu, 9 %zu; default %zu; raw %zu", sizes[0], sizes[1],
         sizes[6], sizes[9], l1, lp);
    free(p1);
    free(p4);
    free(pp);
    free(bp);
    qib_volume_unref(&v);
}

static void test_nifti2(void)
{
    size_t dims[3] = {40000, 2, 1};
    struct qib_geom g;
    if (qib_geom_init(&g, 3, dims) != QIB_OK)
        bail("geom");
    g.spacing[0] = 0.25;
    g.origin[0] = 123456.78125; /* float32 could not hold this; NIfTI-2 doubles do */
    qib_volume *v = make(QIB_U16, &g);
    char err[512];
    int rc = tn_write_vol(v, tmp, "long.nii", NULL, 1, err, sizeof err);
    is_int(rc, QIB_OK, "40000 x 2 x 1 written (dim > 32767)");
    qib_harness *h = read_back("long.nii", NULL, &rc);
    const qib_volume *r = qib_harness_out_volume(h, "image");
    ok(r && strcmp(qib_meta_get(qib_volume_meta(r), "nifti.version"), "2") == 0 &&
           qib_volume_geom(r)->dims[0] == 40000 &&
           memcmp(qib_volume_data(r), qib_volume_data(v), 80000 * 2) == 0,
       "written as NIfTI-2 and read back exactly");
    ok(r && qib_volume_geom(r)->origin[0] == 123456.78125, "NIfTI-2 keeps the origin in double");
    qib_harness_free(&h);
    qib_volume_unref(&v);
}

static void test_params(void)
{
    qib_harness *h = NULL;
    char err[512];
    is_int(qib_harness_new("write.nifti", &h, err, sizeof err), QIB_OK,
           "write.nifti loads and its descriptor is accepted");
    ok(qib_harness_set_param(h, "compression_level", "10") != QIB_OK,
       "compression_level 10 refused (0..9, -1 = default)");
    contains(qib_harness_error(h), "compression_level", "the message names the parameter");
    qib_harness_free(&h);

    size_t dims[3] = {2, 2, 2};
    struct qib_geom g;
    qib_geom_init(&g, 3, dims);
    qib_volume *v = make(QIB_U8, &g);
    int rc = tn_write_vol(v, tmp, "out.img", NULL, 1, err, sizeof err);
    is_int(rc, QIB_EINVAL, "path out.img refused");
    contains(err, "path", "the message names the parameter path");
    contains(err, ".nii.gz", "the message says what is expected");
    rc = tn_write_vol(v, tmp, "../escape.nii", NULL, 1, err, sizeof err);
    ok(rc != QIB_OK, "a path leaving the output directory is refused (%s)", qib_status_name(rc));
    rc = tn_write_vol(v, tmp, "sub/dir/nested.nii.gz", NULL, 1, err, sizeof err);
    is_int(rc, QIB_OK, "a nested path under the output directory is created");
    qib_volume_unref(&v);
}

int main(void)
{
    plan_lazy();
    tmp = tap_tmpdir();
    test_params();
    test_roundtrip();
    test_qform();
    test_codes_and_meta();
    test_rewrite_refdata();
    test_gzip();
    test_nifti2();
    free(tmp);
    return tap_done();
}
