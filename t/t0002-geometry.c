/* Geometry: index/world mapping checked against values worked by hand,
 * validation messages, grid comparison and the human description. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "qib/qib.h"
#include "tap.h"

/* A grid rotated about z by the 3-4-5 angle (cos 0.6, sin 0.8): x axis
 * along (0.6, 0.8, 0), y axis along (-0.8, 0.6, 0), z along (0, 0, 1). */
static void rotated(struct qib_geom *g)
{
    const size_t dims[3] = {10, 20, 30};
    qib_geom_init(g, 3, dims);
    g->spacing[0] = 2;
    g->spacing[1] = 3;
    g->spacing[2] = 4;
    g->origin[0] = 10;
    g->origin[1] = 20;
    g->origin[2] = 30;
    const double dir[9] = {0.6, -0.8, 0, 0.8, 0.6, 0, 0, 0, 1};
    memcpy(g->dir, dir, sizeof dir);
}

static void test_init(void)
{
    struct qib_geom g;
    const size_t d4[4] = {128, 96, 24, 2};
    is_int(qib_geom_init(&g, 4, d4), QIB_OK, "init 4-D");
    is_int(g.ndim, 4, "ndim");
    is_int((long long)g.dims[3], 2, "dims[3]");
    ok(g.spacing[0] == 1 && g.spacing[3] == 1, "spacing 1");
    ok(g.dir[0] == 1 && g.dir[4] == 1 && g.dir[8] == 1 && g.dir[1] == 0, "identity direction");
    size_t n = 0;
    is_int(qib_geom_nvox(&g, &n), QIB_OK, "nvox");
    is_int((long long)n, 128 * 96 * 24 * 2, "nvox = 589824");
    is_int((long long)qib_geom_frame_nvox(&g), 128 * 96 * 24, "frame nvox");

    const size_t d2[2] = {5, 7};
    is_int(qib_geom_init(&g, 2, d2), QIB_OK, "init 2-D");
    ok(g.dims[2] == 1 && g.dims[3] == 1, "dims beyond ndim are 1");
    is_int(qib_geom_check(&g, NULL, 0), QIB_OK, "2-D geometry is valid");

    const size_t bad[3] = {4, 0, 4};
    is_int(qib_geom_init(&g, 3, bad), QIB_EINVAL, "init refuses a 0 dimension");
    is_int(qib_geom_init(&g, 0, d4), QIB_EINVAL, "init refuses ndim 0");
    is_int(qib_geom_init(&g, 5, d4), QIB_EINVAL, "init refuses ndim 5");

    const size_t huge[4] = {SIZE_MAX / 2, 3, 1, 1};
    qib_geom_init(&g, 2, huge);
    n = 42;
    is_int(qib_geom_nvox(&g, &n), QIB_EOVERFLOW, "nvox overflow detected");
    is_int((long long)n, 42, "nvox leaves *n untouched on overflow");
}

static void test_mapping(void)
{
    struct qib_geom g;
    rotated(&g);
    is_int(qib_geom_check(&g, NULL, 0), QIB_OK, "rotated geometry is valid");
    /* By hand: diag(spacing) * (1,2,3) = (2,6,12);
     * x = 10 + 0.6*2 - 0.8*6 = 6.4, y = 20 + 0.8*2 + 0.6*6 = 25.2,
     * z = 30 + 12 = 42. */
    double idx[3] = {1, 2, 3}, w[3];
    qib_geom_index_to_world(&g, idx, w);
    is_double(w[0], 6.4, 1e-12, "index (1,2,3) -> x = 6.4");
    is_double(w[1], 25.2, 1e-12, "index (1,2,3) -> y = 25.2");
    is_double(w[2], 42.0, 1e-12, "index (1,2,3) -> z = 42");
    double back[3];
    is_int(qib_geom_world_to_index(&g, w, back), QIB_OK, "world to index");
    is_double(back[0], 1, 1e-12, "round trip i");
    is_double(back[1], 2, 1e-12, "round trip j");
    is_double(back[2], 3, 1e-12, "round trip k");
    /* Continuous index: the world point (10, 20, 30) + 0.5 mm along the x
     * axis direction is i = 0.25 (spacing 2). */
    double p[3] = {10 + 0.5 * 0.6, 20 + 0.5 * 0.8, 30};
    qib_geom_world_to_index(&g, p, back);
    is_double(back[0], 0.25, 1e-12, "half a mm along x is i = 0.25");
    is_double(back[1], 0, 1e-12, "and j = 0");

    is_double(qib_geom_voxel_mm3(&g), 24.0, 1e-12, "voxel volume 2*3*4 = 24 mm^3");
    /* LPS with a flipped axis: det(dir) = -1, the volume is still positive. */
    struct qib_geom f = g;
    f.dir[2] = 0, f.dir[5] = 0, f.dir[8] = -1;
    is_double(qib_geom_voxel_mm3(&f), 24.0, 1e-12, "flipped z: voxel volume 24 mm^3");

    double m[16];
    qib_geom_affine(&g, m);
    const double want[16] = {1.2, -2.4, 0, 10, 1.6, 1.8, 0, 20, 0, 0, 4, 30, 0, 0, 0, 1};
    int same = 1;
    for (int i = 0; i < 16; i++)
        if (fabs(m[i] - want[i]) > 1e-12)
            same = 0;
    ok(same, "affine = D*diag(spacing) | origin, by hand");

    struct qib_geom s = g;
    memset(s.dir, 0, sizeof s.dir);
    s.dir[0] = 1, s.dir[3] = 1, s.dir[8] = 1; /* x and y axes equal */
    is_int(qib_geom_world_to_index(&s, w, back), QIB_EGEOMETRY, "singular direction refused");
    /* Small spacings are not singular. */
    struct qib_geom t = g;
    t.spacing[0] = t.spacing[1] = t.spacing[2] = 1e-4;
    is_int(qib_geom_world_to_index(&t, w, back), QIB_OK, "spacing 1e-4 mm is not singular");
}

static void check_bad(struct qib_geom g, const char *want, const char *what)
{
    char why[256];
    is_int(qib_geom_check(&g, why, sizeof why), QIB_EGEOMETRY, "%s refused", what);
    contains(why, want, "%s: message", what);
}

static void test_check(void)
{
    struct qib_geom g, b;
    rotated(&g);
    char why[256] = "stale";
    is_int(qib_geom_check(&g, why, sizeof why), QIB_OK, "valid");
    is_string(why, "", "no message when valid");

    b = g, b.ndim = 5;
    check_bad(b, "ndim = 5", "ndim 5");
    b = g, b.dims[1] = 0;
    check_bad(b, "dims[1] = 0", "dims 0");
    b = g, b.dims[3] = 2;
    check_bad(b, "dims[3] = 2", "dims beyond ndim");
    b = g, b.spacing[1] = 0;
    check_bad(b, "spacing[1] = 0 mm", "spacing 0");
    b = g, b.spacing[2] = -1.5;
    check_bad(b, "spacing[2] = -1.5 mm", "negative spacing");
    b = g, b.spacing[0] = NAN;
    check_bad(b, "spacing[0] = nan", "NaN spacing");
    b = g, b.origin[1] = INFINITY;
    check_bad(b, "origin[1] = inf", "infinite origin");
    b = g, b.dir[0] = 0.5;
    check_bad(b, "direction column 0 has length", "non-unit direction column");
    b = g, b.dir[0] = 1, b.dir[3] = 0, b.dir[1] = 0.6, b.dir[4] = 0.8;
    check_bad(b, "direction columns 0 and 1 are not orthogonal", "oblique columns");
    b = g, b.dir[4] = NAN;
    check_bad(b, "dir[4] = nan", "NaN direction");

    /* Float-stored cosines are accepted. */
    b = g, b.dir[0] = 0.6 + 4e-4;
    is_int(qib_geom_check(&b, NULL, 0), QIB_OK, "cosines within 1e-3 accepted");

    /* Dimension 4: spacing may be 0 (unevenly spaced frames), not < 0. */
    const size_t d4[4] = {2, 2, 2, 3};
    qib_geom_init(&b, 4, d4);
    b.spacing[3] = 0;
    is_int(qib_geom_check(&b, NULL, 0), QIB_OK, "4-D with spacing[3] = 0 accepted");
    b.spacing[3] = -1;
    check_bad(b, "spacing[3] = -1", "negative spacing[3]");

    is_int(qib_geom_check(&g, why, 8), QIB_OK, "short message buffer, valid");
    b = g, b.spacing[1] = 0;
    is_int(qib_geom_check(&b, why, 8), QIB_EGEOMETRY, "short message buffer, invalid");
    is_int((long long)strlen(why), 7, "message truncated to the buffer");
    is_int(qib_geom_check(&b, NULL, 100), QIB_EGEOMETRY, "NULL message buffer");
}

static void test_same_grid(void)
{
    struct qib_geom a, b;
    char why[256];
    rotated(&a);
    b = a;
    is_int(qib_geom_same_grid(&a, &b, QIB_GRID_TOL, why, sizeof why), QIB_OK, "same grid");

    b = a, b.dims[1] = 21;
    is_int(qib_geom_same_grid(&a, &b, QIB_GRID_TOL, why, sizeof why), QIB_EGEOMETRY,
           "other dims");
    is_string(why, "dims[1] (y) differ: 20 vs 21", "dims message");

    b = a, b.spacing[2] = 4.01;
    is_int(qib_geom_same_grid(&a, &b, QIB_GRID_TOL, why, sizeof why), QIB_EGEOMETRY,
           "other spacing");
    is_string(why, "spacing[2] (z) differs: 4 vs 4.01 mm", "spacing message");
    b = a, b.spacing[2] = 4 * (1 + 5e-5);
    is_int(qib_geom_same_grid(&a, &b, QIB_GRID_TOL, why, sizeof why), QIB_OK,
           "spacing within relative tolerance");

    /* Origin tolerance: 1e-4 times the smallest spacing (2 mm) = 2e-4 mm. */
    b = a, b.origin[2] = 30 + 1.5e-4;
    is_int(qib_geom_same_grid(&a, &b, QIB_GRID_TOL, why, sizeof why), QIB_OK,
           "origin 1.5e-4 mm off is the same grid");
    b = a, b.origin[2] = 30 + 3e-4;
    is_int(qib_geom_same_grid(&a, &b, QIB_GRID_TOL, why, sizeof why), QIB_EGEOMETRY,
           "origin 3e-4 mm off is not");
    is_string(why, "origin[2] differs: 30 vs 30.0003 mm", "origin message");

    b = a, b.dir[1] = -0.7998;
    is_int(qib_geom_same_grid(&a, &b, QIB_GRID_TOL, why, sizeof why), QIB_EGEOMETRY,
           "direction 2e-4 off");
    contains(why, "dir[1] (row 0, column 1) differs: -0.8 vs -0.7998", "direction message");

    /* The fourth dimension does not matter. */
    const size_t d3[3] = {10, 20, 30}, d4[4] = {10, 20, 30, 5};
    qib_geom_init(&a, 3, d3);
    qib_geom_init(&b, 4, d4);
    b.spacing[3] = 7;
    is_int(qib_geom_same_grid(&a, &b, QIB_GRID_TOL, NULL, 0), QIB_OK, "4-D vs its 3-D grid");
    is_int(qib_geom_same_grid(&a, &b, NAN, why, sizeof why), QIB_EGEOMETRY, "NaN tolerance");
}

static void test_format(void)
{
    struct qib_geom g;
    const size_t d4[4] = {128, 96, 24, 2};
    qib_geom_init(&g, 4, d4);
    g.spacing[0] = g.spacing[1] = 2;
    g.spacing[2] = 2.2;
    g.spacing[3] = 1.5;
    g.origin[0] = -250;
    g.origin[1] = 0.5;
    g.origin[2] = 12.25;
    char buf[512];
    const char *want = "128x96x24x2 voxels, spacing 2x2x2.2 mm (dim 4: 1.5), "
                       "origin (-250, 0.5, 12.25) mm LPS, dir [1 0 0; 0 1 0; 0 0 1]";
    int n = qib_geom_format(&g, buf, sizeof buf);
    is_string(buf, want, "format 4-D");
    is_int(n, (long long)strlen(want), "format returns the length");
    char small[10];
    is_int(qib_geom_format(&g, small, sizeof small), (long long)strlen(want),
           "truncated: still the full length");
    is_string(small, "128x96x24", "truncated output");
    is_int(qib_geom_format(&g, NULL, 0), (long long)strlen(want), "NULL buffer: length only");

    struct qib_geom r;
    rotated(&r);
    qib_geom_format(&r, buf, sizeof buf);
    is_string(buf, "10x20x30 voxels, spacing 2x3x4 mm, origin (10, 20, 30) mm LPS, "
                   "dir [0.6 -0.8 0; 0.8 0.6 0; 0 0 1]", "format 3-D rotated");
}

/* qib_geom_ball: voxel counts of small spheres worked out by hand. */
static void test_ball(void)
{
    struct qib_geom g;
    size_t dims[3] = {10, 10, 10}, n = 0;
    struct qib_voxel_offset *o = NULL;
    qib_geom_init(&g, 3, dims);
    /* 1 mm voxels: r = 1 holds the centre and its 6 face neighbours; r =
     * sqrt(2) adds the 12 edge neighbours (19); r = sqrt(3) all 27.  A voxel
     * exactly on the sphere counts (the relative margin). */
    is_int(qib_geom_ball(&g, 1, 1000, &o, &n), QIB_OK, "ball r = 1 mm");
    is_int((long long)n, 7, "r = 1 mm on 1 mm voxels: 7 voxels");
    ok(o[0].d[0] == 0 && o[0].d[1] == 0 && o[0].d[2] == -1 && o[3].d[0] == 0 &&
           o[3].d[1] == 0 && o[3].d[2] == 0,
       "raster order, i fastest: (0,0,-1) first, the centre fourth");
    free(o);
    is_int(qib_geom_ball(&g, sqrt(2), 1000, &o, &n), QIB_OK, "ball r = sqrt 2");
    is_int((long long)n, 19, "r = sqrt(2) mm: 19 voxels");
    free(o);
    is_int(qib_geom_ball(&g, sqrt(3), 1000, &o, &n), QIB_OK, "ball r = sqrt 3");
    is_int((long long)n, 27, "r = sqrt(3) mm: 27 voxels");
    free(o);
    /* Spacing 2x3x4 mm, rotated in-plane (distances unchanged): 4 i^2 + 9 j^2
     * + 16 k^2 <= 16 holds for k = +-1 alone (2), j = 0 with |i| <= 2 (5),
     * j = +-1 with |i| <= 1 (6): 13. */
    struct qib_geom r;
    rotated(&r);
    is_int(qib_geom_ball(&r, 4, 1000, &o, &n), QIB_OK, "ball r = 4 mm, anisotropic, rotated");
    is_int((long long)n, 13, "r = 4 mm on 2x3x4 mm voxels: 13 voxels");
    free(o);
    /* r = 2 mm on 1 mm voxels: a 7x7x7 box (half-width 3 per axis). */
    is_int(qib_geom_ball(&g, 2, 342, &o, &n), QIB_ERANGE, "a box above max_box: QIB_ERANGE");
    is_int(qib_geom_ball(&g, 2, 343, &o, &n), QIB_OK, "a box of exactly max_box voxels");
    free(o);
    is_int(qib_geom_ball(&g, -1, 1000, &o, &n), QIB_EINVAL, "a negative radius: QIB_EINVAL");
    is_int(qib_geom_ball(&g, NAN, 1000, &o, &n), QIB_EINVAL, "a NaN radius: QIB_EINVAL");
}

int main(void)
{
    plan_lazy();
    test_init();
    test_mapping();
    test_check();
    test_same_grid();
    test_format();
    test_ball();
    return tap_done();
}
