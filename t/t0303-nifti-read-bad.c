/* read.nifti on broken files, generated here: each must end in one clear
 * message that names the file and the header field (or the part of the file)
 * at fault, a non-zero status and no output.  Run under ASan/UBSan in CI. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "t0300-nifti-util.h"

static char *tmp;
static int counter;

/* 32x32x8 int16 of pseudo-random values, so its .gz is about as large as
 * the data and a cut lands where it is meant to. */
#define NX 32
#define NY 32
#define NZ 8
static int16_t noise[NX * NY * NZ];

static void fill_noise(void)
{
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof noise / sizeof noise[0]; i++) {
        x = x * 1664525u + 1013904223u;
        noise[i] = (int16_t)(x >> 16);
    }
}

/* Check one failing read: status @p want, message naming @p path and
 * containing @p field (and @p also when not NULL). */
static void expect_fail_in(const char *path, const char *named, const char *as, int want,
                           const char *field, const char *also, const char *what)
{
    int rc;
    qib_harness *h = tn_read(path, as, &rc);
    const char *msg = qib_harness_error(h);
    int good = rc == want && strstr(msg, named) && strstr(msg, field) &&
               (!also || strstr(msg, also)) && !qib_harness_out_volume(h, "image");
    ok(good, "%s: %s refused, message names the file and \"%s\"", what, qib_status_name(want),
       field);
    /* the message a user sees, kept in the test log */
    diag("%s: %s", qib_status_name(rc), msg);
    qib_harness_free(&h);
}

static void expect_fail(const char *path, const char *as, int want, const char *field,
                        const char *also, const char *what)
{
    expect_fail_in(path, path, as, want, field, also, what);
}

static char *name(const char *suffix)
{
    char n[64];
    snprintf(n, sizeof n, "b%03d%s", counter++, suffix);
    return tn_join(tmp, n);
}

/* A header variant of the 32x32x8 int16 image, written to a new file. */
static char *variant(const struct tn *t, const char *suffix)
{
    char *p = name(suffix);
    char *base = strrchr(p, '/') + 1;
    char *r = tn_write(tmp, base, t, noise, sizeof noise, 2);
    free(p);
    return r;
}

static void good_header(struct tn *t)
{
    tn_default(t, 4, 16, NX, NY, NZ, 1);
}

static unsigned char *good_image(size_t *len)
{
    struct tn t;
    good_header(&t);
    return tn_image(&t, noise, sizeof noise, 2, len);
}

static void test_truncated(void)
{
    size_t len;
    unsigned char *img = good_image(&len);
    char *p;

    p = name(".nii");
    tn_write_raw(p, img, 100);
    expect_fail(p, NULL, QIB_EFORMAT, "header", "truncated", ".nii cut in the header (100 bytes)");
    free(p);

    p = name(".nii");
    tn_write_raw(p, img, len - 10);
    expect_fail(p, NULL, QIB_EFORMAT, "voxel data", "truncated", ".nii cut in the voxel data");
    free(p);

    p = name(".nii.gz");
    tn_write_gz(p, img, 100, 1);
    expect_fail(p, NULL, QIB_EFORMAT, "header", "truncated",
                ".nii.gz whose stream holds only 100 bytes of header");
    free(p);

    p = name(".nii.gz");
    tn_write_gz(p, img, len - 1000, 1);
    expect_fail(p, NULL, QIB_EFORMAT, "voxel data", "truncated",
                ".nii.gz whose stream ends in the voxel data");
    free(p);

    /* the compressed file itself cut: in the header part, then in the data */
    p = name(".nii.gz");
    tn_write_gz(p, img, len, 1);
    size_t glen;
    char *gz = slurp(p, &glen);
    if (!gz)
        bail("cannot read back %s", p);
    free(p);
    p = name(".nii.gz");
    tn_write_raw(p, gz, 40);
    expect_fail(p, NULL, QIB_EFORMAT, "gzip", "truncated", ".nii.gz file cut after 40 bytes");
    free(p);
    p = name(".nii.gz");
    tn_write_raw(p, gz, glen / 2);
    expect_fail(p, NULL, QIB_EFORMAT, "gzip", "truncated", ".nii.gz file cut in half (data)");
    free(p);
    p = name(".nii.gz");
    tn_write_raw(p, gz, glen - 4);
    expect_fail(p, NULL, QIB_EFORMAT, "gzip", "truncated",
                ".nii.gz file missing the last 4 bytes of its trailer");
    free(p);

    /* corrupt streams: a flipped byte in the deflate data, a wrong CRC */
    unsigned char *g = (unsigned char *)gz;
    g[glen / 2] ^= 0x55;
    p = name(".nii.gz");
    tn_write_raw(p, g, glen);
    expect_fail(p, NULL, QIB_EFORMAT, "gzip", "corrupt", ".nii.gz with a flipped byte mid-stream");
    free(p);
    g[glen / 2] ^= 0x55;
    g[glen - 8] ^= 0x01;
    p = name(".nii.gz");
    tn_write_raw(p, g, glen);
    expect_fail(p, NULL, QIB_EFORMAT, "gzip", "CRC", ".nii.gz with a wrong CRC-32 in its trailer");
    free(p);
    g[glen - 8] ^= 0x01;
    g[2] = 7; /* compression method: not deflate */
    p = name(".nii.gz");
    tn_write_raw(p, g, glen);
    expect_fail(p, NULL, QIB_EFORMAT, "gzip", NULL, ".nii.gz whose header names method 7");
    free(p);
    free(gz);
    free(img);

    p = name(".nii");
    tn_write_raw(p, "", 0);
    expect_fail(p, NULL, QIB_EFORMAT, "empty", NULL, "empty file");
    free(p);
}

static void test_fields(void)
{
    struct tn t;
    char *p;

    good_header(&t);
    t.sizeof_hdr = 349;
    p = variant(&t, ".nii");
    expect_fail(p, NULL, QIB_EFORMAT, "sizeof_hdr", "349", "sizeof_hdr 349");
    free(p);
    t.sizeof_hdr = 0x01000000; /* 1 as big-endian: neither 348 nor 540 either way */
    p = variant(&t, ".nii");
    expect_fail(p, NULL, QIB_EFORMAT, "sizeof_hdr", NULL, "sizeof_hdr 16777216 (1 swapped)");
    free(p);

    good_header(&t);
    t.magic = "XYZ";
    p = variant(&t, ".nii");
    expect_fail(p, NULL, QIB_EUNSUPPORTED, "magic", "XYZ", "magic \"XYZ\" (Analyze-like)");
    free(p);
    good_header(&t);
    t.version = 2;
    t.magic = "n+3";
    p = variant(&t, ".nii");
    expect_fail(p, NULL, QIB_EFORMAT, "magic", NULL, "NIfTI-2 with magic n+3");
    free(p);

    static const int64_t dim0[3] = {0, 8, -1};
    for (int i = 0; i < 3; i++) {
        good_header(&t);
        t.dim[0] = dim0[i];
        p = variant(&t, ".nii");
        char what[64];
        snprintf(what, sizeof what, "dim[0] = %lld", (long long)dim0[i]);
        expect_fail(p, NULL, QIB_EFORMAT, "dim[0]", "1..7", what);
        free(p);
    }
    good_header(&t);
    t.dim[2] = 0;
    p = variant(&t, ".nii");
    expect_fail(p, NULL, QIB_EFORMAT, "dim[2]", ">= 1", "dim[2] = 0");
    free(p);
    good_header(&t);
    t.dim[3] = -5;
    p = variant(&t, ".nii.gz");
    expect_fail(p, NULL, QIB_EFORMAT, "dim[3]", "-5", "dim[3] = -5 (.nii.gz)");
    free(p);
    good_header(&t);
    t.dim[0] = 5;
    t.dim[5] = 3;
    p = variant(&t, ".nii");
    expect_fail(p, NULL, QIB_EUNSUPPORTED, "dim[5]", NULL, "a 5-D image with dim[5] = 3");
    free(p);

    /* overflow: NIfTI-2 dims 2^31 x 2^31 x 2^31 voxels */
    good_header(&t);
    t.version = 2;
    t.dim[1] = t.dim[2] = t.dim[3] = (int64_t)1 << 31;
    p = variant(&t, ".nii");
    expect_fail(p, NULL, QIB_EOVERFLOW, "dim", "overflow", "NIfTI-2 dims 2^31 cubed (overflow)");
    free(p);
    /* 2^21 x 2^21 x 2^20 voxels fit size_t, but 8-byte voxels do not */
    good_header(&t);
    t.version = 2;
    t.datatype = 64;
    t.bitpix = 64;
    t.dim[1] = t.dim[2] = (int64_t)1 << 21;
    t.dim[3] = (int64_t)1 << 20;
    p = variant(&t, ".nii");
    expect_fail(p, NULL, QIB_EOVERFLOW, "dim", "overflow", "2^62 voxels of 8 bytes (overflow)");
    free(p);
    /* large but representable: refused before allocating, from the file size */
    good_header(&t);
    t.dim[1] = t.dim[2] = t.dim[3] = 32767;
    p = variant(&t, ".nii");
    expect_fail(p, NULL, QIB_EFORMAT, "voxel data", "truncated", "dims 32767^3 in a small .nii");
    free(p);
    p = variant(&t, ".nii.gz");
    expect_fail(p, NULL, QIB_EFORMAT, "dim", "gzip file can hold",
                "dims 32767^3 in a small .nii.gz (beyond deflate's 1032:1)");
    free(p);

    static const struct {
        int i;
        double v;
        const char *s;
    } pix[] = {{1, 0.0, "0"}, {2, -1.0, "-1"}, {3, NAN, "nan"}, {1, INFINITY, "inf"}};
    for (size_t k = 0; k < sizeof pix / sizeof pix[0]; k++) {
        good_header(&t);
        t.pixdim[pix[k].i] = pix[k].v;
        p = variant(&t, ".nii");
        char field[16], what[64];
        snprintf(field, sizeof field, "pixdim[%d]", pix[k].i);
        snprintf(what, sizeof what, "pixdim[%d] = %s", pix[k].i, pix[k].s);
        expect_fail(p, NULL, QIB_EFORMAT, field, NULL, what);
        free(p);
    }
    good_header(&t);
    t.dim[0] = 4;
    t.dim[3] = 4;
    t.dim[4] = 2;
    t.pixdim[4] = NAN;
    p = variant(&t, ".nii");
    expect_fail(p, NULL, QIB_EFORMAT, "pixdim[4]", NULL, "4-D with pixdim[4] NaN");
    free(p);

    static const struct {
        double vo;
        int gz;
        const char *also, *what;
    } vos[] = {{100000, 0, "beyond", "vox_offset 100000 beyond a .nii"},
               {100000, 1, "beyond", "vox_offset 100000 beyond a .nii.gz"},
               {100, 0, "inside", "vox_offset 100 (inside the header)"},
               {352.5, 0, "whole number", "vox_offset 352.5"},
               {-352, 0, "whole number", "vox_offset -352"},
               {NAN, 0, "whole number", "vox_offset NaN"}};
    for (size_t k = 0; k < sizeof vos / sizeof vos[0]; k++) {
        good_header(&t);
        t.vox_offset = vos[k].vo;
        /* tn_image needs a place for the data: write it at 352 and let the
         * header lie */
        size_t len;
        struct tn t2 = t;
        t2.vox_offset = -1;
        unsigned char *img = tn_image(&t2, noise, sizeof noise, 2, &len);
        tn_f32(img + 108, vos[k].vo, 0);
        p = name(vos[k].gz ? ".nii.gz" : ".nii");
        if (vos[k].gz)
            tn_write_gz(p, img, len, 1);
        else
            tn_write_raw(p, img, len);
        free(img);
        expect_fail(p, NULL, QIB_EFORMAT, "vox_offset", vos[k].also, vos[k].what);
        free(p);
    }

    good_header(&t);
    t.datatype = 3;
    p = variant(&t, ".nii");
    expect_fail(p, NULL, QIB_EFORMAT, "datatype", "3 is not", "datatype 3 (unknown)");
    free(p);
    static const struct {
        int code, bitpix;
        const char *name;
    } uns[] = {{32, 64, "complex64"}, {128, 24, "rgb24"}, {1024, 64, "int64"}, {1, 1, "binary"}};
    for (size_t k = 0; k < sizeof uns / sizeof uns[0]; k++) {
        good_header(&t);
        t.datatype = uns[k].code;
        t.bitpix = uns[k].bitpix;
        p = variant(&t, ".nii");
        char what[64];
        snprintf(what, sizeof what, "datatype %d (%s)", uns[k].code, uns[k].name);
        expect_fail(p, NULL, QIB_EUNSUPPORTED, "datatype", uns[k].name, what);
        free(p);
    }
    good_header(&t);
    t.bitpix = 8;
    p = variant(&t, ".nii");
    expect_fail(p, NULL, QIB_EFORMAT, "bitpix", "16", "bitpix 8 for int16");
    free(p);

    /* affines */
    good_header(&t);
    t.sform_code = 1;
    double shear[12] = {1, 0.3, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
    memcpy(t.srow, shear, sizeof shear);
    p = variant(&t, ".nii");
    expect_fail(p, NULL, QIB_EUNSUPPORTED, "sform", "not orthogonal", "sform with shear 0.3");
    free(p);
    double zero[12] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
    memcpy(t.srow, zero, sizeof zero);
    p = variant(&t, ".nii");
    expect_fail(p, NULL, QIB_EFORMAT, "sform", "column 1", "sform with a zero column");
    free(p);
    double nan[12] = {1, 0, 0, NAN, 0, 1, 0, 0, 0, 0, 1, 0};
    memcpy(t.srow, nan, sizeof nan);
    p = variant(&t, ".nii");
    expect_fail(p, NULL, QIB_EFORMAT, "sform", "not finite", "sform with a NaN offset");
    free(p);
}

static void test_files(void)
{
    struct tn t;
    char *p;

    p = name(".nii");
    expect_fail(p, NULL, QIB_ENOTFOUND, "cannot open", NULL, "a file that does not exist");
    free(p);

    p = name(".nii");
    if (mkdir(p, 0700) != 0)
        bail("mkdir %s", p);
    expect_fail(p, NULL, QIB_EIO, "not a regular file", NULL, "a directory");
    free(p);

    /* a .hdr whose .img is missing */
    good_header(&t);
    t.pair = 1;
    char *h = variant(&t, "");
    char *img = strdup(h);
    strcpy(img + strlen(img) - 4, ".img");
    remove(img);
    expect_fail(h, NULL, QIB_ENOTFOUND, img, "does not exist", ".hdr without its .img");
    free(img);
    free(h);

    /* a .img cut short of its data */
    h = variant(&t, ".gz");
    img = strdup(h);
    strcpy(img + strlen(img) - 7, ".img.gz");
    size_t len;
    char *gz = slurp(img, &len);
    tn_write_raw(img, gz, len / 2);
    free(gz);
    expect_fail_in(h, img, NULL, QIB_EFORMAT, "gzip", "truncated",
                   ".hdr.gz with an .img.gz cut in half (the message names the .img.gz)");
    free(img);
    free(h);

    /* a .hdr without a .img given as the .img */
    p = name(".img");
    expect_fail(p, NULL, QIB_ENOTFOUND, ".hdr", "does not exist", ".img without its .hdr");
    free(p);
}

int main(void)
{
    plan_lazy();
    tmp = tap_tmpdir();
    fill_noise();
    test_truncated();
    test_fields();
    test_files();
    /* again with the voxel reading and the input hashing on two threads */
    tn_threads = 2;
    test_truncated();
    test_files();
    free(tmp);
    return tap_done();
}
