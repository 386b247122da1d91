/* read.nifti on small files built field by field: every datatype qib holds
 * in every container (.nii, .nii.gz, multi-member .gz, .hdr/.img, .hdr.gz/
 * .img.gz, NIfTI-2, both byte orders), the scaling rules, the sform > qform >
 * pixdim precedence with hand-computed affines, units, 4-D and 5-D headers,
 * extensions, masks and the metadata kept.  Expected values are worked out in
 * the comments from the NIfTI-1 standard (nifti1.h). */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t0300-nifti-util.h"

static char *tmp;
static int counter;

/* 12 voxels of a 3x2x2 image per type: extremes, byte-asymmetric values
 * (256 vs 1 shows a missing swap) and negatives. */
struct tcase {
    int code, bitpix;
    enum qib_dtype qt;
    const char *name;
    double v[12];
};

static const struct tcase cases[] = {
    {2, 8, QIB_U8, "uint8", {0, 1, 127, 128, 254, 255, 3, 4, 5, 6, 7, 200}},
    {256, 8, QIB_I8, "int8", {-128, -1, 0, 1, 127, 5, -5, 64, -64, 2, 3, 4}},
    {4, 16, QIB_I16, "int16", {-32768, 32767, -1, 0, 256, 1, 255, -256, 1000, -1000, 7, 513}},
    {512, 16, QIB_U16, "uint16", {0, 65535, 256, 1, 255, 32768, 4660, 9, 10, 11, 12, 43981}},
    {8, 32, QIB_I32, "int32",
     {-2147483648.0, 2147483647.0, -1, 0, 16777216, 1, 256, 65536, -65536, 123456789, 7, 8}},
    {768, 32, QIB_U32, "uint32",
     {0, 4294967295.0, 65536, 16777216, 1, 256, 305419896, 9, 10, 11, 12, 2147483648.0}},
    {16, 32, QIB_F32, "float32",
     {-1.5, 3.25e10, 0.0, 1e-30, 0.1f, -0.0, 65504, -7.75, 1, 2, 3, NAN}},
    {64, 64, QIB_F64, "float64",
     {1e300, -2.5, 0.1, 1e-300, -0.0, 3.141592653589793, 1, 2, 3, 4, 5, NAN}},
};

/* The 12 values in the stored type, host order. */
static size_t pack(const struct tcase *c, unsigned char *out)
{
    size_t sz = (size_t)c->bitpix / 8;
    for (int i = 0; i < 12; i++) {
        double x = c->v[i];
        unsigned char *p = out + sz * (size_t)i;
        switch (c->code) {
        case 2: { uint8_t t = (uint8_t)x; memcpy(p, &t, 1); } break;
        case 256: { int8_t t = (int8_t)x; memcpy(p, &t, 1); } break;
        case 4: { int16_t t = (int16_t)x; memcpy(p, &t, 2); } break;
        case 512: { uint16_t t = (uint16_t)x; memcpy(p, &t, 2); } break;
        case 8: { int32_t t = (int32_t)x; memcpy(p, &t, 4); } break;
        case 768: { uint32_t t = (uint32_t)x; memcpy(p, &t, 4); } break;
        case 16: { float t = (float)x; memcpy(p, &t, 4); } break;
        default: memcpy(p, &x, 8); break;
        }
    }
    return 12 * sz;
}

static char *fresh(const char *suffix)
{
    char n[64];
    snprintf(n, sizeof n, "f%03d%s", counter++, suffix);
    return strdup(n);
}

static void test_datatypes(void)
{
    static const struct {
        const char *suffix;
        int big, pair, version, members;
        const char *what;
    } forms[] = {
        {".nii", 0, 0, 1, 1, ".nii little-endian"},
        {".nii", 1, 0, 1, 1, ".nii big-endian"},
        {".nii.gz", 0, 0, 1, 1, ".nii.gz"},
        {".nii.gz", 1, 0, 1, 3, ".nii.gz big-endian, 3 gzip members"},
        {"", 1, 1, 1, 1, ".hdr/.img big-endian"},
        {".gz", 0, 1, 1, 1, ".hdr.gz/.img.gz"},
        {".nii", 1, 0, 2, 1, "NIfTI-2 .nii big-endian"},
        {".nii.gz", 0, 0, 2, 1, "NIfTI-2 .nii.gz"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const struct tcase *tc = &cases[c];
        unsigned char data[96];
        size_t nb = pack(tc, data);
        for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
            struct tn t;
            tn_default(&t, tc->code, tc->bitpix, 3, 2, 2, 1);
            t.big = forms[f].big;
            t.pair = forms[f].pair;
            t.version = forms[f].version;
            char *name = fresh(forms[f].suffix);
            char *path;
            if (forms[f].members > 1) {
                size_t len;
                unsigned char *img = tn_image(&t, data, nb, (size_t)tc->bitpix / 8, &len);
                path = tn_join(tmp, name);
                tn_write_gz(path, img, len, forms[f].members);
                free(img);
            } else {
                path = tn_write(tmp, name, &t, data, nb, (size_t)tc->bitpix / 8);
            }
            int rc;
            qib_harness *h = tn_read(path, NULL, &rc);
            const qib_volume *v = qib_harness_out_volume(h, "image");
            int good = rc == QIB_OK && v && qib_volume_dtype(v) == tc->qt &&
                       qib_volume_nvox(v) == 12;
            int first_bad = -1;
            for (int i = 0; good && i < 12; i++) {
                double got = qib_volume_get(v, (size_t)i), want = tc->v[i];
                if (tc->code == 16)
                    want = (float)want;
                if (!(got == want || (isnan(got) && isnan(want))) ||
                    signbit(got) != signbit(want)) {
                    good = 0;
                    first_bad = i;
                }
            }
            ok(good, "%s, %s: type %s and all 12 voxels exact", tc->name, forms[f].what,
               qib_dtype_name(tc->qt));
            if (!good) {
                diag("rc %d: %s", rc, qib_harness_error(h));
                if (first_bad >= 0)
                    diag("voxel %d: got %.17g want %.17g", first_bad,
                         qib_volume_get(v, (size_t)first_bad), tc->v[first_bad]);
            }
            qib_harness_free(&h);
            free(path);
            free(name);
        }
    }
}

/* Write an int16/uint8/... image with the given scaling and read it. */
static qib_harness *scaled(int code, int bitpix, const void *data, size_t nb, double slope,
                           double inter, const char *as, int *rc)
{
    struct tn t;
    tn_default(&t, code, bitpix, 2, 2, 1, 1);
    t.scl_slope = slope;
    t.scl_inter = inter;
    char *name = fresh(".nii");
    char *path = tn_write(tmp, name, &t, data, nb, (size_t)bitpix / 8);
    qib_harness *h = tn_read(path, as, rc);
    free(name);
    free(path);
    return h;
}

static void test_scaling(void)
{
    int rc;
    const int16_t s16[4] = {-3, 0, 1, 1000};
    /* slope 2, inter -1: -7, -1, 1, 1999 as f32 */
    qib_harness *h = scaled(4, 16, s16, sizeof s16, 2.0, -1.0, NULL, &rc);
    const qib_volume *v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_dtype(v) == QIB_F32, "int16 scaled -> f32");
    ok(v && qib_volume_get(v, 0) == -7 && qib_volume_get(v, 1) == -1 &&
           qib_volume_get(v, 2) == 1 && qib_volume_get(v, 3) == 1999,
       "int16 * 2 - 1 = -7 -1 1 1999");
    ok(v && qib_meta_get(qib_volume_meta(v), "nifti.scl_slope") &&
           strcmp(qib_meta_get(qib_volume_meta(v), "nifti.scl_slope"), "2") == 0,
       "scl_slope 2 recorded when applied");
    qib_harness_free(&h);

    /* slope 0: no scaling (nifti1.h) */
    h = scaled(4, 16, s16, sizeof s16, 0.0, 5.0, NULL, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_dtype(v) == QIB_I16 && qib_volume_get(v, 3) == 1000,
       "scl_slope 0: no scaling, int16 kept, inter ignored");
    ok(v && qib_meta_get(qib_volume_meta(v), "nifti.scl_slope") == NULL,
       "scl_slope not recorded when not applied");
    qib_harness_free(&h);

    h = scaled(4, 16, s16, sizeof s16, NAN, 5.0, NULL, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_dtype(v) == QIB_I16 && qib_volume_get(v, 0) == -3,
       "scl_slope NaN: no scaling");
    qib_harness_free(&h);

    h = scaled(4, 16, s16, sizeof s16, 1.0, 0.0, NULL, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_dtype(v) == QIB_I16, "identity scaling (1, 0): int16 kept");
    qib_harness_free(&h);

    h = scaled(4, 16, s16, sizeof s16, 1.0, 1024.0, NULL, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_dtype(v) == QIB_F32 && qib_volume_get(v, 0) == 1021,
       "slope 1 inter 1024: applied (-3 + 1024 = 1021), f32");
    qib_harness_free(&h);

    h = scaled(4, 16, s16, sizeof s16, 3.0, NAN, NULL, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_get(v, 0) == -9, "inter NaN with slope 3: inter taken "
                                                        "as 0 (-3 * 3 = -9)");
    qib_harness_free(&h);

    /* int32 * 2: 2147483647 * 2 = 4294967294 needs f64 (f32 would round to
     * 4294967296). */
    const int32_t s32[4] = {2147483647, -2147483647 - 1, 1, 3};
    h = scaled(8, 32, s32, sizeof s32, 2.0, 0.0, NULL, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_dtype(v) == QIB_F64, "int32 scaled -> f64");
    ok(v && qib_volume_get(v, 0) == 4294967294.0 && qib_volume_get(v, 1) == -4294967296.0,
       "int32 * 2 exact in f64: 4294967294, -4294967296");
    qib_harness_free(&h);

    const uint32_t u32[4] = {4294967295u, 0, 1, 2};
    h = scaled(768, 32, u32, sizeof u32, 1.0, 0.5, NULL, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_dtype(v) == QIB_F64 &&
           qib_volume_get(v, 0) == 4294967295.5,
       "uint32 + 0.5 -> f64 4294967295.5");
    qib_harness_free(&h);

    const double f64[4] = {1.0 / 3.0, -2, 0, 1e300};
    h = scaled(64, 64, f64, sizeof f64, 3.0, 0.0, NULL, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_dtype(v) == QIB_F64 && qib_volume_get(v, 0) == 1.0 &&
           qib_volume_get(v, 3) == 3e300,
       "float64 * 3 -> f64 (1/3 * 3 = 1)");
    qib_harness_free(&h);

    const uint8_t u8[4] = {0, 1, 255, 100};
    h = scaled(2, 8, u8, sizeof u8, 0.5, 0.0, NULL, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_dtype(v) == QIB_F32 && qib_volume_get(v, 2) == 127.5,
       "uint8 * 0.5 -> f32 (255 -> 127.5)");
    qib_harness_free(&h);

    const float f32[4] = {0.25f, -1, 2, 4};
    h = scaled(16, 32, f32, sizeof f32, 4.0, 1.0, NULL, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_dtype(v) == QIB_F32 && qib_volume_get(v, 0) == 2.0 &&
           qib_volume_get(v, 1) == -3.0,
       "float32 * 4 + 1 -> f32 (0.25 -> 2, -1 -> -3)");
    qib_harness_free(&h);
}

static void test_masks(void)
{
    int rc;
    const int16_t lab[4] = {0, 1, 2, 255};
    qib_harness *h = scaled(4, 16, lab, sizeof lab, 0.0, 0.0, "mask", &rc);
    const qib_volume *v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_is_mask(v) && qib_volume_dtype(v) == QIB_U8,
       "int16 labels 0 1 2 255 as=mask: a flagged u8 mask");
    ok(v && qib_volume_get(v, 1) == 1 && qib_volume_get(v, 2) == 2 &&
           qib_volume_get(v, 3) == 255,
       "as=mask: labels kept");
    qib_harness_free(&h);

    const float fl[4] = {0, 1, 1, 0};
    h = scaled(16, 32, fl, sizeof fl, 0.0, 0.0, "mask", &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_is_mask(v) && qib_volume_get(v, 1) == 1,
       "float32 0/1 as=mask: accepted");
    qib_harness_free(&h);

    const float half[4] = {0, 1, 0.5f, 0};
    h = scaled(16, 32, half, sizeof half, 0.0, 0.0, "mask", &rc);
    is_int(rc, QIB_ERANGE, "float32 with 0.5 as=mask: refused");
    contains(qib_harness_error(h), "1 voxel is not an integer in 0..255", "the message counts "
                                                                          "the voxel");
    contains(qib_harness_error(h), "(0,1,0), value 0.5", "the message names the first voxel "
                                                         "(0,1,0) and its value");
    qib_harness_free(&h);

    const int16_t big[4] = {0, 256, -1, 3};
    h = scaled(4, 16, big, sizeof big, 0.0, 0.0, "mask", &rc);
    is_int(rc, QIB_ERANGE, "int16 with 256 and -1 as=mask: refused");
    contains(qib_harness_error(h), "2 voxels", "both offending voxels counted");
    qib_harness_free(&h);

    /* scaling applies before the check: 1 * 0.5 = 0.5 */
    const uint8_t u[4] = {0, 1, 2, 4};
    h = scaled(2, 8, u, sizeof u, 0.5, 0.0, "mask", &rc);
    is_int(rc, QIB_ERANGE, "uint8 scaled by 0.5 as=mask: 0.5 and 1.5 refused");
    qib_harness_free(&h);
    h = scaled(2, 8, u, sizeof u, 2.0, 0.0, "mask", &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_get(v, 3) == 8, "uint8 scaled by 2 as=mask: 4 -> 8");
    qib_harness_free(&h);

    /* 4-D: one volume is fine, two are not */
    struct tn t;
    uint8_t d8[8] = {0, 1, 0, 1, 1, 1, 0, 0};
    tn_default(&t, 2, 8, 2, 2, 1, 2);
    char *name = fresh(".nii");
    char *path = tn_write(tmp, name, &t, d8, 8, 1);
    h = tn_read(path, "mask", &rc);
    is_int(rc, QIB_EUNSUPPORTED, "4-D with 2 volumes as=mask: refused");
    contains(qib_harness_error(h), "2 volumes", "the message says why");
    qib_harness_free(&h);
    free(path);
    free(name);
    tn_default(&t, 2, 8, 2, 2, 1, 1);
    t.dim[0] = 4;
    name = fresh(".nii");
    path = tn_write(tmp, name, &t, d8, 4, 1);
    h = tn_read(path, "mask", &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_geom(v)->ndim == 3, "4-D with one volume as=mask: a 3-D "
                                                           "mask");
    qib_harness_free(&h);
    free(path);
    free(name);
}

/* Read a 2x2x2 uint8 image with header tweaks applied by @p t. */
static qib_harness *geom_read(const struct tn *t, int *rc)
{
    uint8_t d[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    size_t n = 1;
    for (int i = 1; i <= t->dim[0]; i++)
        n *= (size_t)t->dim[i];
    char *name = fresh(".nii");
    char *path = tn_write(tmp, name, t, d, n, 1);
    qib_harness *h = tn_read(path, NULL, rc);
    free(name);
    free(path);
    return h;
}

/* max |affine(v) - want (LPS, 3x4)| */
static double affdiff(const qib_volume *v, const double want[12])
{
    double m[16];
    if (!v)
        return INFINITY;
    tn_affine(v, m);
    double d = 0;
    for (int i = 0; i < 12; i++)
        d = fmax(d, fabs(m[i] - want[i]));
    return d;
}

static void test_geometry(void)
{
    int rc;
    struct tn t;
    const qib_volume *v;
    qib_harness *h;

    /* No qform, no sform: x = pixdim * i in RAS (method 1) ->
     * LPS diag(-2, -3, 4), origin 0. */
    tn_default(&t, 2, 8, 2, 2, 2, 1);
    t.pixdim[1] = 2;
    t.pixdim[2] = 3;
    t.pixdim[3] = 4;
    h = geom_read(&t, &rc);
    v = qib_harness_out_volume(h, "image");
    static const double m1[12] = {-2, 0, 0, 0, 0, -3, 0, 0, 0, 0, 4, 0};
    ok(rc == QIB_OK && affdiff(v, m1) == 0, "pixdim only: LPS diag(-2,-3,4), origin 0");
    is_string(qib_harness_record(h, "affine_source"), "pixdim", "pixdim only: recorded");
    qib_harness_free(&h);

    /* qform: 90 degrees about z, a = d = cos 45, b = c = 0:
     * R = [[0,-1,0],[1,0,0],[0,0,1]]; pixdim (2,3,4), qoffset (10,20,30):
     * RAS [[0,-3,0,10],[2,0,0,20],[0,0,4,30]] -> LPS [[0,3,0,-10],[-2,0,0,-20],[0,0,4,30]] */
    t.qform_code = 1;
    t.quatern[2] = sqrt(0.5);
    t.qoffset[0] = 10;
    t.qoffset[1] = 20;
    t.qoffset[2] = 30;
    h = geom_read(&t, &rc);
    v = qib_harness_out_volume(h, "image");
    static const double m2[12] = {0, 3, 0, -10, -2, 0, 0, -20, 0, 0, 4, 30};
    ok(rc == QIB_OK && affdiff(v, m2) < 1e-6, "qform 90 deg about z: hand-computed LPS affine "
                                              "(diff %.2g)", affdiff(v, m2));
    qib_harness_free(&h);

    /* qfac -1 (pixdim[0]) flips the third column: z column -4 */
    t.pixdim[0] = -1;
    h = geom_read(&t, &rc);
    v = qib_harness_out_volume(h, "image");
    static const double m3[12] = {0, 3, 0, -10, -2, 0, 0, -20, 0, 0, -4, 30};
    ok(rc == QIB_OK && affdiff(v, m3) < 1e-6, "qform with qfac -1: z column negated");
    qib_harness_free(&h);

    /* 30 degrees about x: a = cos 15, b = sin 15 ->
     * R = [[1,0,0],[0,cos30,-sin30],[0,sin30,cos30]], pixdim 1 1 1, qfac 1 */
    tn_default(&t, 2, 8, 2, 2, 2, 1);
    t.qform_code = 2;
    t.quatern[0] = sin(M_PI / 12);
    h = geom_read(&t, &rc);
    v = qib_harness_out_volume(h, "image");
    double c30 = cos(M_PI / 6), s30 = 0.5;
    const double m4[12] = {-1, 0, 0, 0, 0, -c30, s30, 0, 0, s30, c30, 0};
    ok(rc == QIB_OK && affdiff(v, m4) < 1e-7, "qform 30 deg about x: LPS [[-1,0,0],[0,-cos30,"
                                              "sin30],[0,sin30,cos30]] (diff %.2g)",
       affdiff(v, m4));
    qib_harness_free(&h);

    /* sform wins over qform when both codes are set */
    t.sform_code = 1;
    double sr[12] = {0, 0, 1.5, -5, 2.5, 0, 0, 7, 0, -3, 0, 11};
    memcpy(t.srow, sr, sizeof sr);
    h = geom_read(&t, &rc);
    v = qib_harness_out_volume(h, "image");
    const double m5[12] = {0, 0, -1.5, 5, -2.5, 0, 0, -7, 0, -3, 0, 11};
    ok(rc == QIB_OK && affdiff(v, m5) == 0, "sform (code 1) used over qform: rows x, y negated");
    ok(v && qib_volume_geom(v)->spacing[0] == 2.5 && qib_volume_geom(v)->spacing[1] == 3 &&
           qib_volume_geom(v)->spacing[2] == 1.5,
       "sform: spacing = column norms 2.5 3 1.5");
    is_string(qib_harness_record(h, "affine_source"), "sform", "sform recorded");
    qib_harness_free(&h);

    /* A sform whose columns are off orthogonal by 5e-5 (float round-off of a
     * rotated grid) is accepted and the amount recorded. */
    double e = 5e-5;
    double so[12] = {1, e, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
    memcpy(t.srow, so, sizeof so);
    h = geom_read(&t, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v, "sform off-orthogonal by 5e-5: accepted");
    if (v) {
        double r;
        ok(qib_meta_get_double(qib_volume_meta(v), "nifti.sform_nonorthogonality", &r) == QIB_OK &&
               fabs(r - 5e-5) < 1e-6,
           "the non-orthogonality 5e-5 is recorded");
    } else {
        skip(1, "no volume");
    }
    qib_harness_free(&h);

    /* units: meters (xyzt 1): sform in m -> mm */
    tn_default(&t, 2, 8, 2, 2, 2, 1);
    t.xyzt_units = 1;
    t.sform_code = 1;
    double sm[12] = {0.002, 0, 0, 0.1, 0, 0.002, 0, 0.2, 0, 0, 0.003, -0.05};
    memcpy(t.srow, sm, sizeof sm);
    h = geom_read(&t, &rc);
    v = qib_harness_out_volume(h, "image");
    const double m6[12] = {-2, 0, 0, -100, 0, -2, 0, -200, 0, 0, 3, -50};
    ok(rc == QIB_OK && affdiff(v, m6) < 1e-4, "xyzt_units meters: affine converted to mm "
                                              "(diff %.2g)", affdiff(v, m6));
    ok(v && strcmp(qib_meta_get(qib_volume_meta(v), "nifti.spatial_unit"), "m") == 0,
       "spatial unit m recorded");
    qib_harness_free(&h);

    /* microns (xyzt 3), pixdim method: 500 um = 0.5 mm */
    tn_default(&t, 2, 8, 2, 2, 2, 1);
    t.xyzt_units = 3;
    t.pixdim[1] = t.pixdim[2] = t.pixdim[3] = 500;
    h = geom_read(&t, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && fabs(qib_volume_geom(v)->spacing[0] - 0.5) < 1e-12,
       "xyzt_units microns: 500 um spacing -> 0.5 mm");
    qib_harness_free(&h);

    /* 4-D: pixdim[4] 2.5 in ms (xyzt 2 | 16) */
    tn_default(&t, 2, 8, 2, 2, 1, 4);
    t.xyzt_units = 2 | 16;
    t.pixdim[4] = 2.5;
    h = geom_read(&t, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_geom(v)->ndim == 4 && qib_volume_geom(v)->dims[3] == 4 &&
           qib_volume_geom(v)->spacing[3] == 2.5,
       "4-D: 4 volumes, 4th spacing pixdim[4] = 2.5");
    ok(v && strcmp(qib_meta_get(qib_volume_meta(v), "nifti.time_unit"), "ms") == 0,
       "4-D: time unit ms (code 16) recorded");
    ok(v && tn_at(v, 1, 1, 0, 3) == 16, "4-D: voxel (1,1,0,3) is the 16th stored value");
    qib_harness_free(&h);

    /* pixdim[4] 0 (no time step): 1 is used and the replacement recorded */
    t.pixdim[4] = 0;
    h = geom_read(&t, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_geom(v)->spacing[3] == 1 &&
           qib_meta_get(qib_volume_meta(v), "nifti.pixdim4_replaced"),
       "4-D with pixdim[4] 0: step 1, recorded");
    qib_harness_free(&h);

    /* dim[0] 5 with dim[4] = dim[5] = 1: a 3-D image */
    tn_default(&t, 2, 8, 2, 2, 2, 1);
    t.dim[0] = 5;
    h = geom_read(&t, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_geom(v)->ndim == 3, "dim[0] 5 with trailing 1s: 3-D");
    qib_harness_free(&h);

    /* dim[0] 5 with 2 volumes and dim[5] = 1: 4-D */
    tn_default(&t, 2, 8, 2, 2, 2, 2);
    t.dim[0] = 5;
    h = geom_read(&t, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_geom(v)->ndim == 4 && qib_volume_geom(v)->dims[3] == 2,
       "dim[0] 5, dim[4] 2, dim[5] 1: 4-D with 2 volumes");
    qib_harness_free(&h);

    /* 2-D image */
    tn_default(&t, 2, 8, 4, 3, 1, 1);
    t.dim[0] = 2;
    h = geom_read(&t, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_geom(v)->ndim == 2 && qib_volume_nvox(v) == 12 &&
           qib_volume_get(v, 11) == 12,
       "2-D image of 4x3");
    qib_harness_free(&h);
}

static void test_layout(void)
{
    int rc;
    struct tn t;
    qib_harness *h;
    const qib_volume *v;
    uint8_t d[8] = {10, 20, 30, 40, 50, 60, 70, 80};

    /* two extensions (esize 16 code 4, esize 32 code 6) before vox_offset 400 */
    tn_default(&t, 2, 8, 2, 2, 2, 1);
    t.ext_flag = 1;
    t.ext_bytes = 48;
    size_t len;
    unsigned char *img = tn_image(&t, d, 8, 1, &len);
    tn_put(img + 352, 16, 4, 0);
    tn_put(img + 356, 4, 4, 0);
    memcpy(img + 360, "AFNI-ish", 8);
    tn_put(img + 368, 32, 4, 0);
    tn_put(img + 372, 6, 4, 0);
    memcpy(img + 376, "a comment text", 14);
    char *p = tn_join(tmp, "ext.nii.gz");
    tn_write_gz(p, img, len, 1);
    h = tn_read(p, NULL, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_get(v, 0) == 10 && qib_volume_get(v, 7) == 80,
       "two extensions skipped: data at vox_offset 400");
    ok(v && qib_meta_get(qib_volume_meta(v), "nifti.extensions") &&
           strcmp(qib_meta_get(qib_volume_meta(v), "nifti.extensions"), "2 (codes 4 6)") == 0,
       "extensions recorded: 2 (codes 4 6)");
    qib_harness_free(&h);
    free(p);

    /* a malformed extension (esize 7) is ignored: vox_offset is trusted */
    tn_put(img + 352, 7, 4, 0);
    p = tn_join(tmp, "badext.nii");
    tn_write_raw(p, img, len);
    h = tn_read(p, NULL, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_get(v, 7) == 80, "malformed extension size: ignored, "
                                                        "data read from vox_offset");
    qib_harness_free(&h);
    free(p);
    free(img);

    /* trailing bytes after the gzip stream (zero padding) are ignored */
    tn_default(&t, 2, 8, 2, 2, 2, 1);
    img = tn_image(&t, d, 8, 1, &len);
    p = tn_join(tmp, "pad.nii.gz");
    tn_write_gz(p, img, len, 2);
    free(img);
    FILE *f = fopen(p, "ab");
    static const unsigned char zeros[64];
    if (!f || fwrite(zeros, 1, sizeof zeros, f) != sizeof zeros || fclose(f))
        bail("cannot append to %s", p);
    h = tn_read(p, NULL, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_get(v, 7) == 80, "zero padding after the last gzip "
                                                        "member: ignored");
    qib_harness_free(&h);
    free(p);

    /* giving the .img of a pair finds its .hdr */
    t.pair = 1;
    p = tn_write(tmp, "pairx", &t, d, 8, 1);
    char *ip = strdup(p);
    strcpy(ip + strlen(ip) - 4, ".img");
    h = tn_read(ip, NULL, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_get(v, 2) == 30, "path to the .img of a pair: its .hdr "
                                                        "is read");
    ok(v && qib_meta_get(qib_volume_meta(v), "nifti.image_path") &&
           strcmp(qib_meta_get(qib_volume_meta(v), "nifti.image_path"), ip) == 0,
       "the .img path is recorded");
    qib_harness_free(&h);
    free(ip);
    free(p);

    /* pair with the data at vox_offset 16 in the .img */
    t.vox_offset = 16;
    p = tn_write(tmp, "pairoff", &t, d, 8, 1);
    h = tn_read(p, NULL, &rc);
    v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v && qib_volume_get(v, 0) == 10, ".hdr/.img with vox_offset 16 in the "
                                                        ".img");
    qib_harness_free(&h);
    free(p);
}

static void test_metadata(void)
{
    int rc;
    struct tn t;
    int16_t d[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    tn_default(&t, 4, 16, 2, 2, 2, 1);
    t.descrip = "a test header";
    t.intent_code = 1002;
    t.qform_code = 3;
    t.sform_code = 0;
    t.quatern[0] = 0;
    char *p = tn_write(tmp, "meta.nii", &t, d, sizeof d, 2);
    qib_harness *h = tn_read(p, NULL, &rc);
    const qib_volume *v = qib_harness_out_volume(h, "image");
    ok(rc == QIB_OK && v, "metadata image reads");
    const qib_meta *m = v ? qib_volume_meta(v) : NULL;
    static const struct {
        const char *key, *want;
    } kv[] = {
        {"nifti.descrip", "a test header"}, {"nifti.datatype", "4"},
        {"nifti.datatype_name", "int16"},   {"nifti.qform_code", "3"},
        {"nifti.sform_code", "0"},          {"nifti.affine_source", "qform"},
        {"nifti.intent_code", "1002"},      {"nifti.xyzt_units", "2"},
        {"nifti.spatial_unit", "mm"},       {"nifti.version", "1"},
        {"nifti.byte_order", "little"},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        is_string(m ? qib_meta_get(m, kv[i].key) : NULL, kv[i].want, "metadata %s", kv[i].key);
    is_string(m ? qib_meta_get(m, "nifti.path") : NULL, p, "metadata nifti.path is the file");
    is_string(m ? qib_meta_source(m, "nifti.descrip") : NULL, "nifti:descrip",
              "each value carries its source (nifti:descrip)");
    qib_harness_free(&h);
    free(p);
}

static void test_descriptor(void)
{
    qib_harness *h = NULL;
    char err[256];
    is_int(qib_harness_new("read.nifti", &h, err, sizeof err), QIB_OK,
           "read.nifti loads and its descriptor is accepted");
    is_int(qib_harness_set_param(h, "as", "label"), QIB_EINVAL, "as=label refused");
    contains(qib_harness_error(h), "as", "the message names the parameter");
    qib_harness_free(&h);
    if (qib_harness_new("read.nifti", &h, err, sizeof err) != QIB_OK)
        bail("%s", err);
    ok(qib_harness_run(h) != QIB_OK, "no path: refused (path is required)");
    contains(qib_harness_error(h), "path", "the message names the parameter");
    qib_harness_free(&h);
}

int main(void)
{
    plan_lazy();
    tmp = tap_tmpdir();
    test_descriptor();
    test_datatypes();
    tn_threads = 2;
    test_datatypes(); /* reading and input hashing side by side */
    tn_threads = 1;
    test_scaling();
    test_masks();
    test_geometry();
    test_layout();
    test_metadata();
    free(tmp);
    return tap_done();
}
