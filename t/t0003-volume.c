/* Volumes: allocation checks, refcounts and copy-on-write, conversion
 * rounding and saturation, masks and metadata. */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "qib/qib.h"
#include "tap.h"

static struct qib_geom geom3(size_t nx, size_t ny, size_t nz)
{
    struct qib_geom g;
    const size_t d[3] = {nx, ny, nz};
    qib_geom_init(&g, 3, d);
    return g;
}

static void test_types(void)
{
    static const struct {
        enum qib_dtype t;
        size_t size;
        const char *name;
        int is_float;
    } types[] = {
        {QIB_U8, 1, "u8", 0},   {QIB_I8, 1, "i8", 0},   {QIB_U16, 2, "u16", 0},
        {QIB_I16, 2, "i16", 0}, {QIB_U32, 4, "u32", 0}, {QIB_I32, 4, "i32", 0},
        {QIB_F32, 4, "f32", 1}, {QIB_F64, 8, "f64", 1},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        is_int((long long)qib_dtype_size(types[i].t), (long long)types[i].size, "size of %s",
               types[i].name);
        is_string(qib_dtype_name(types[i].t), types[i].name, "name of %s", types[i].name);
        is_int(qib_dtype_is_float(types[i].t), types[i].is_float, "%s float?", types[i].name);
    }
    is_int((long long)qib_dtype_size((enum qib_dtype)99), 0, "unknown type has size 0");
    is_string(qib_dtype_name((enum qib_dtype)0), "?", "unknown type name");
}

static void test_new(void)
{
    struct qib_geom g = geom3(4, 3, 2);
    qib_volume *v = NULL;
    is_int(qib_volume_new(QIB_I16, &g, &v), QIB_OK, "new i16 4x3x2");
    is_int((long long)qib_volume_nvox(v), 24, "24 voxels");
    is_int(qib_volume_dtype(v), QIB_I16, "dtype");
    is_int(qib_volume_refcount(v), 1, "refcount 1");
    is_int(qib_volume_is_writable(v), 1, "writable");
    is_int(qib_volume_is_mask(v), 0, "not a mask");
    const int16_t *d = qib_volume_data(v);
    int zero = 1;
    for (int i = 0; i < 24; i++)
        zero &= d[i] == 0;
    ok(zero, "zero-filled");
    ok(qib_volume_geom(v)->dims[0] == 4 && qib_volume_geom(v)->dims[2] == 2, "geometry kept");
    is_int((long long)qib_meta_count(qib_volume_meta(v)), 0, "empty metadata");
    qib_volume_unref(&v);
    ok(v == NULL, "unref clears the pointer");
    qib_volume_unref(&v); /* NULL is accepted */
    qib_volume_unref(NULL);

    is_int(qib_volume_new_uninit(QIB_F32, &g, &v), QIB_OK, "new_uninit f32");
    ok(((uintptr_t)qib_volume_data(v) & 63) == 0, "uninit data is 64-byte aligned");
    qib_volume_unref(&v);

    is_int(qib_volume_new((enum qib_dtype)0, &g, &v), QIB_EINVAL, "bad dtype");
    struct qib_geom bad = g;
    bad.spacing[0] = -1;
    is_int(qib_volume_new(QIB_U8, &bad, &v), QIB_EGEOMETRY, "bad geometry");
    ok(v == NULL, "nothing allocated on failure");

    /* 2^62 voxels fit size_t, but not at 8 bytes each. */
    struct qib_geom huge;
    const size_t hd[3] = {(size_t)1 << 31, (size_t)1 << 31, 1};
    qib_geom_init(&huge, 3, hd);
    if (sizeof(size_t) >= 8) {
        is_int(qib_volume_new(QIB_F64, &huge, &v), QIB_EOVERFLOW, "2^62 f64 voxels overflow");
        huge.dims[2] = 8; /* 2^65 voxels */
        is_int(qib_volume_new(QIB_U8, &huge, &v), QIB_EOVERFLOW, "2^65 voxels overflow");
        huge.dims[2] = 1;
        huge.dims[0] = (size_t)1 << 32;
        huge.dims[1] = (size_t)1 << 31; /* 2^63 bytes: beyond PTRDIFF_MAX */
        is_int(qib_volume_new(QIB_U8, &huge, &v), QIB_EOVERFLOW, "2^63 bytes refused");
    } else {
        skip(3, "size_t is narrower than 64 bits");
    }
    const size_t md[4] = {SIZE_MAX / 3, 2, 2, 2};
    qib_geom_init(&huge, 4, md);
    is_int(qib_volume_new(QIB_U8, &huge, &v), QIB_EOVERFLOW, "dims product overflow");
    ok(v == NULL, "still nothing allocated");
}

static void test_cow(void)
{
    struct qib_geom g = geom3(3, 2, 1);
    qib_volume *a;
    qib_volume_new(QIB_F32, &g, &a);
    float *da = qib_volume_data_mut(a);
    for (int i = 0; i < 6; i++)
        da[i] = (float)i + 0.5f;
    qib_meta_set(qib_volume_meta_mut(a), "units", "HU", "test");

    qib_volume *keep = a;
    is_int(qib_volume_make_writable(&a), QIB_OK, "make_writable unshared");
    ok(a == keep && qib_volume_data(a) == da, "unshared: no copy, same data pointer");

    qib_volume *b = qib_volume_ref(a);
    ok(b == a, "ref returns its argument");
    is_int(qib_volume_refcount(a), 2, "refcount 2");
    is_int(qib_volume_is_writable(a), 0, "shared is not writable");
    ok(qib_volume_data_mut(a) == NULL, "data_mut NULL when shared");
    ok(qib_volume_meta_mut(a) == NULL, "meta_mut NULL when shared");
    is_int(qib_volume_set_geom(a, &g), QIB_EBUSY, "set_geom refused when shared");

    is_int(qib_volume_make_writable(&b), QIB_OK, "make_writable shared");
    ok(b != a, "shared: a new volume");
    ok(qib_volume_data(b) != qib_volume_data(a), "shared: new data");
    is_int(qib_volume_refcount(a), 1, "original back to refcount 1");
    is_int(qib_volume_refcount(b), 1, "copy has refcount 1");
    ok(memcmp(qib_volume_data(a), qib_volume_data(b), 6 * sizeof(float)) == 0, "same voxels");
    is_string(qib_meta_get(qib_volume_meta(b), "units"), "HU", "metadata copied");
    is_string(qib_meta_source(qib_volume_meta(b), "units"), "test", "metadata source copied");
    float *db = qib_volume_data_mut(b);
    db[0] = 99;
    is_double(((const float *)qib_volume_data(a))[0], 0.5, 0, "writing the copy leaves the original");
    qib_volume_unref(&a);
    qib_volume_unref(&b);

    /* set_geom: same voxel count only. */
    qib_volume_new(QIB_U8, &g, &a);
    struct qib_geom g2 = geom3(2, 3, 1);
    g2.spacing[0] = 0.5;
    is_int(qib_volume_set_geom(a, &g2), QIB_OK, "set_geom with the same voxel count");
    is_double(qib_volume_geom(a)->spacing[0], 0.5, 0, "geometry replaced");
    struct qib_geom g3 = geom3(4, 2, 1);
    is_int(qib_volume_set_geom(a, &g3), QIB_EGEOMETRY, "set_geom with other voxel count");
    g2.dir[0] = 2;
    is_int(qib_volume_set_geom(a, &g2), QIB_EGEOMETRY, "set_geom with invalid geometry");
    qib_volume_unref(&a);
}

/* Converted value of one f64 voxel @p x to type @p t. */
static double conv1(double x, enum qib_dtype t)
{
    struct qib_geom g = geom3(1, 1, 1);
    qib_volume *v, *c;
    qib_volume_new(QIB_F64, &g, &v);
    *(double *)qib_volume_data_mut(v) = x;
    double r = -12345;
    if (qib_volume_convert(v, t, &c) == QIB_OK) {
        r = qib_volume_get(c, 0);
        qib_volume_unref(&c);
    }
    qib_volume_unref(&v);
    return r;
}

static void test_convert(void)
{
    static const struct {
        double in;
        enum qib_dtype t;
        double want;
        const char *what;
    } cases[] = {
        {0.5, QIB_U8, 1, "0.5 -> 1 (half away from zero)"},
        {1.5, QIB_U8, 2, "1.5 -> 2"},
        {2.5, QIB_U8, 3, "2.5 -> 3 (not to even)"},
        {2.4999, QIB_U8, 2, "2.4999 -> 2"},
        {-0.4, QIB_U8, 0, "-0.4 -> 0"},
        {-0.5, QIB_U8, 0, "-0.5 -> -1, saturated to 0"},
        {254.5, QIB_U8, 255, "254.5 -> 255"},
        {300, QIB_U8, 255, "300 -> 255 (u8)"},
        {NAN, QIB_U8, 0, "NaN -> 0"},
        {INFINITY, QIB_U8, 255, "inf -> 255"},
        {-2.5, QIB_I8, -3, "-2.5 -> -3 (half away from zero)"},
        {-128.6, QIB_I8, -128, "-128.6 -> -128 (saturated)"},
        {127.5, QIB_I8, 127, "127.5 -> 127 (saturated)"},
        {65535.4, QIB_U16, 65535, "65535.4 -> 65535"},
        {-1, QIB_U16, 0, "-1 -> 0 (u16)"},
        {32767.5, QIB_I16, 32767, "32767.5 -> 32767"},
        {-32768.5, QIB_I16, -32768, "-32768.5 -> -32768"},
        {-1000.5, QIB_I16, -1001, "-1000.5 -> -1001"},
        {4294967295.4, QIB_U32, 4294967295.0, "u32 max"},
        {5e9, QIB_U32, 4294967295.0, "5e9 -> u32 max"},
        {1e10, QIB_I32, 2147483647.0, "1e10 -> i32 max"},
        {-1e10, QIB_I32, -2147483648.0, "-1e10 -> i32 min"},
        {-INFINITY, QIB_I32, -2147483648.0, "-inf -> i32 min"},
        {NAN, QIB_I32, 0, "NaN -> 0 (i32)"},
        {0.1, QIB_F32, (double)0.1f, "0.1 -> nearest float"},
        {1e300, QIB_F32, INFINITY, "1e300 -> inf (f32)"},
        {-1e300, QIB_F32, -INFINITY, "-1e300 -> -inf (f32)"},
        {(double)FLT_MAX * (1 + 0x1p-26), QIB_F32, FLT_MAX, "just above FLT_MAX rounds to it"},
        {0.1, QIB_F64, 0.1, "f64 -> f64"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        is_double(conv1(cases[i].in, cases[i].t), cases[i].want, 0, "%s", cases[i].what);

    /* Integer to integer saturates too. */
    struct qib_geom g = geom3(4, 1, 1);
    qib_volume *v, *c;
    qib_volume_new(QIB_I16, &g, &v);
    int16_t *d = qib_volume_data_mut(v);
    d[0] = -5, d[1] = 300, d[2] = 7, d[3] = -32768;
    qib_meta_set(qib_volume_meta_mut(v), "modality", "CT", NULL);
    is_int(qib_volume_convert(v, QIB_U8, &c), QIB_OK, "i16 -> u8");
    const uint8_t *u = qib_volume_data(c);
    ok(u[0] == 0 && u[1] == 255 && u[2] == 7 && u[3] == 0, "i16 -> u8 saturates: 0 255 7 0");
    is_string(qib_meta_get(qib_volume_meta(c), "modality"), "CT", "convert copies metadata");
    is_int(qib_volume_is_mask(c), 0, "not a mask");
    qib_volume_unref(&c);
    double f[4];
    qib_volume_to_f64(v, f);
    ok(f[0] == -5 && f[1] == 300 && f[2] == 7 && f[3] == -32768, "to_f64");
    double r[2] = {0, 0};
    qib_volume_get_range(v, 1, 2, r);
    ok(r[0] == 300 && r[1] == 7, "get_range(1, 2) gives voxels 1 and 2: 300 7");
    is_int(qib_volume_convert(v, (enum qib_dtype)42, &c), QIB_EINVAL, "convert to bad type");
    qib_volume_unref(&v);

    qib_volume_new(QIB_U32, &g, &v);
    uint32_t *w = qib_volume_data_mut(v);
    w[0] = 4000000000u, w[1] = 1, w[2] = 2147483647u, w[3] = 2147483648u;
    qib_volume_convert(v, QIB_I32, &c);
    const int32_t *s = qib_volume_data(c);
    ok(s[0] == INT32_MAX && s[1] == 1 && s[2] == INT32_MAX && s[3] == INT32_MAX,
       "u32 -> i32 saturates at INT32_MAX");
    qib_volume_unref(&c);
    qib_volume_convert(v, QIB_F32, &c);
    is_double(qib_volume_get(c, 0), 4e9, 0, "u32 4e9 -> f32 exactly 4e9");
    qib_volume_unref(&c);
    qib_volume_unref(&v);
}

static void test_mask(void)
{
    struct qib_geom g;
    const size_t d4[4] = {5, 4, 3, 7};
    qib_geom_init(&g, 4, d4);
    g.spacing[3] = 2.5;
    qib_volume *m, *c;
    is_int(qib_mask_new(&g, &m), QIB_OK, "mask on a 4-D grid");
    is_int(qib_volume_is_mask(m), 1, "flagged");
    is_int(qib_volume_dtype(m), QIB_U8, "u8");
    is_int(qib_volume_geom(m)->ndim, 3, "reduced to 3-D");
    is_int((long long)qib_volume_geom(m)->dims[3], 1, "dims[3] = 1");
    is_int((long long)qib_volume_nvox(m), 60, "60 voxels");
    is_int(qib_geom_same_grid(&g, qib_volume_geom(m), QIB_GRID_TOL, NULL, 0), QIB_OK,
           "same grid as the image");

    is_int(qib_volume_copy(m, &c), QIB_OK, "copy a mask");
    is_int(qib_volume_is_mask(c), 1, "copy keeps the flag");
    qib_volume_unref(&c);
    qib_volume_convert(m, QIB_U8, &c);
    is_int(qib_volume_is_mask(c), 1, "convert to u8 keeps the flag");
    qib_volume_unref(&c);
    qib_volume_convert(m, QIB_I16, &c);
    is_int(qib_volume_is_mask(c), 0, "convert to i16 drops the flag");
    is_int(qib_volume_set_mask(c, 1), QIB_EINVAL, "only u8 can be a mask");
    qib_volume_unref(&c);

    is_int(qib_volume_set_mask(m, 0), QIB_OK, "unflag");
    is_int(qib_volume_is_mask(m), 0, "unflagged");
    c = qib_volume_ref(m);
    is_int(qib_volume_set_mask(m, 1), QIB_EBUSY, "set_mask refused when shared");
    qib_volume_unref(&c);
    qib_volume_unref(&m);
}

/* Many threads taking and dropping references to one volume: the count
 * must come back to 1 (and ASan/TSan see no race). */
static void refs_block(void *arg, size_t block, size_t begin, size_t end)
{
    qib_volume *v = arg;
    (void)block;
    for (size_t i = begin; i < end; i++) {
        qib_volume *r = qib_volume_ref(v);
        qib_volume_unref(&r);
    }
}

static void test_threads(void)
{
    struct qib_geom g = geom3(2, 2, 2);
    qib_volume *v;
    qib_pool *p;
    qib_volume_new(QIB_U8, &g, &v);
    is_int(qib_pool_new(4, &p), QIB_OK, "pool of 4");
    qib_parallel_for(p, 200000, 1000, refs_block, v);
    is_int(qib_volume_refcount(v), 1, "refcount back to 1 after 200000 threaded ref/unref");
    qib_pool_free(&p);
    qib_volume_unref(&v);
}

/* qib_volume_offset_mean on a 3x3x3 f32 volume holding 1..27 (voxel
 * value = linear index + 1), with the 7 offsets of a 1 mm ball on 1 mm
 * voxels (t0002 counts them): worked out by hand. */
static void test_offset_mean(void)
{
    struct qib_geom g = geom3(3, 3, 3);
    qib_volume *v;
    qib_volume_new(QIB_F32, &g, &v);
    float *d = qib_volume_data_mut(v);
    for (int i = 0; i < 27; i++)
        d[i] = (float)(i + 1);
    struct qib_voxel_offset *o = NULL;
    size_t n = 0;
    is_int(qib_geom_ball(&g, 1, 1000, &o, &n), QIB_OK, "ball r = 1 mm for the sphere mean");
    /* centre (1,1,1) = 14 and its six neighbours 13, 15, 11, 17, 5, 23 */
    is_double(qib_volume_offset_mean(v, 13, o, n), 98.0 / 7, 1e-12,
              "centre voxel: mean of 7 voxels = 98 / 7");
    /* corner (0,0,0): only itself (1), +x (2), +y (4), +z (10) are inside */
    is_double(qib_volume_offset_mean(v, 0, o, n), 17.0 / 4, 1e-12,
              "corner voxel: the 3 offsets outside the image are left out: 17 / 4");
    d[1] = NAN;
    is_double(qib_volume_offset_mean(v, 0, o, n), 15.0 / 3, 1e-12,
              "a NaN voxel is left out: 15 / 3");
    const struct qib_voxel_offset left = {{-1, 0, 0}};
    ok(isnan(qib_volume_offset_mean(v, 9, &left, 1)),
       "no voxel left (the one offset falls off the image from (0,0,1)): NaN");
    free(o);
    qib_volume_unref(&v);
}

int main(void)
{
    plan_lazy();
    test_offset_mean();
    test_types();
    test_new();
    test_cow();
    test_convert();
    test_mask();
    test_threads();
    return tap_done();
}
