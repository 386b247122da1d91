/* seg.region_grow: regions counted by hand for each connectivity, the
 * confidence interval on a noisy sphere, a limiting mask, and bad seeds and
 * parameters. */
#include <config.h>

#include "t0500-util.h"

#define N 12
#define AT(x, y, z) ((size_t)(x) + N * ((size_t)(y) + N * (size_t)(z)))

static qib_volume *img;

static size_t grow(const char *name, qib_volume *limit, const char *const *params, int *rc,
                   char *err, double *mean)
{
    const char *ports[] = {"image", "mask", NULL};
    qib_volume *vols[] = {img, limit};
    qib_harness *h = t05_run("seg.region_grow", ports, vols, NULL, params, 1, rc);
    const qib_volume *o = qib_harness_out_volume(h, "mask");
    const qib_table *t = qib_harness_out_table(h, "table");
    size_t n = o ? t05_count(qib_volume_data(o), qib_volume_nvox(o)) : 0, col;
    if (mean)
        *mean = t && qib_table_find(t, "mean", &col) == QIB_OK ? qib_table_get_double(t, 0, col) : NAN;
    if (t && qib_table_find(t, "voxels", &col) == QIB_OK && (size_t)qib_table_get_int(t, 0, col) != n)
        diag("%s: table says %lld voxels, mask has %zu", name,
             (long long)qib_table_get_int(t, 0, col), n);
    snprintf(err, 512, "%s", qib_harness_error(h));
    qib_harness_free(&h);
    return n;
}

static void expect(const char *name, qib_volume *limit, const char *const *params, size_t want)
{
    int rc;
    char err[512];
    size_t n = grow(name, limit, params, &rc, err, NULL);
    ok(rc == QIB_OK && n == want, "%s: %zu voxels (got %zu %s)", name, want, n, err);
}

static void refuse(const char *name, qib_volume *limit, const char *const *params, const char *want)
{
    int rc;
    char err[512];
    grow(name, limit, params, &rc, err, NULL);
    ok(rc != QIB_OK, "%s: refused", name);
    contains(err, want, "%s: says \"%s\"", name, want);
}

int main(void)
{
    plan(22);
    /* spacing 1 x 1 x 2, origin (-12.5, 30.25, 7): voxel (3,3,1) is at
     * (-9.5, 33.25, 9) mm.  Block A: x 2..5, y 0..9, z 0..2 = 120 voxels of
     * 100; block B: x 8..9 (60 voxels); a bridge (6,4,z) touching A by a
     * face and (7,5,z) touching (6,4,z) by an edge and B by a face. */
    struct qib_geom g = t05_geom(N, N, 3, 1, 1, 2);
    img = t05_new(QIB_F32, &g);
    float *d = qib_volume_data_mut(img);
    for (int z = 0; z < 3; z++) {
        for (int y = 0; y < 10; y++) {
            for (int x = 2; x <= 5; x++)
                d[AT(x, y, z)] = 100;
            for (int x = 8; x <= 9; x++)
                d[AT(x, y, z)] = 100;
        }
        d[AT(6, 4, z)] = d[AT(7, 5, z)] = 100;
    }
    const char *seed = "[-9.5, 33.25, 9]";
    expect("interval, 6-connected", NULL,
           (const char *const[]){"seeds", seed, "lower", "50", "upper", "150", NULL}, 123);
    expect("interval, 18-connected", NULL,
           (const char *const[]){"seeds", seed, "lower", "50", "upper", "150", "connectivity",
                                 "18", NULL},
           186);
    expect("interval, 26-connected", NULL,
           (const char *const[]){"seeds", seed, "lower", "50", "upper", "150", "connectivity",
                                 "26", NULL},
           186);
    /* two seeds, one in each block: A with (6,4,z), B with (7,5,z) */
    expect("two seeds", NULL,
           (const char *const[]){"seeds", "[-9.5, 33.25, 9, -3.5, 31.25, 7]", "lower", "50",
                                 NULL},
           186);
    /* the seed's 3x3x3 neighbourhood is all 100: mean 100, SD 0 */
    expect("confidence on a plateau", NULL,
           (const char *const[]){"seeds", seed, "method", "confidence", NULL}, 123);
    /* a limiting mask: only y <= 4 */
    qib_volume *lim = t05_mask(&g);
    uint8_t *l = qib_volume_data_mut(lim);
    for (size_t i = 0; i < qib_volume_nvox(lim); i++)
        l[i] = (i / N) % N <= 4;
    expect("inside a mask", lim,
           (const char *const[]){"seeds", seed, "lower", "50", "upper", "150", NULL}, 63);

    refuse("no seeds", NULL, NULL, "seeds");
    refuse("two numbers", NULL, (const char *const[]){"seeds", "[1, 2]", NULL}, "multiple of 3");
    refuse("seed outside", NULL, (const char *const[]){"seeds", "[100, 0, 0]", NULL},
           "outside the 12x12x3 image");
    refuse("seed value outside the interval", NULL,
           (const char *const[]){"seeds", "[-12.5, 30.25, 7]", "lower", "50", NULL},
           "has the value 0, outside [lower, upper]");
    refuse("lower above upper", NULL,
           (const char *const[]){"seeds", seed, "lower", "5", "upper", "1", NULL}, "above upper");
    struct qib_geom g2 = t05_geom(N, N, 3, 1, 1, 2.5);
    qib_volume *other = t05_mask(&g2);
    refuse("mask on another grid", other, (const char *const[]){"seeds", seed, NULL},
           "spacing 1x1x2.5");
    refuse("seed outside the mask", lim, (const char *const[]){"seeds", "[-9.5, 39.25, 9]", NULL},
           "outside the mask");
    qib_volume_unref(&other);
    qib_volume_unref(&lim);
    qib_volume_unref(&img);

    /* confidence: a ball of radius 4 voxels of 100 +- 5 in noise of 0 +- 5
     * (uniform): mean +- 2.5 SD of the ball takes all of it and nothing else */
    struct qib_geom gs = t05_geom(20, 20, 20, 1, 1, 1);
    img = t05_new(QIB_F64, &gs);
    uint64_t s = 7;
    size_t ball = 0;
    for (size_t z = 0; z < 20; z++)
        for (size_t y = 0; y < 20; y++)
            for (size_t x = 0; x < 20; x++) {
                double dx = (double)x - 10, dy = (double)y - 10, dz = (double)z - 10;
                int in = dx * dx + dy * dy + dz * dz <= 16;
                ball += (size_t)in;
                t05_set(img, x + 20 * (y + 20 * z), (in ? 100 : 0) + 10 * t05_unif(&s) - 5);
            }
    int rc;
    char err[512];
    double mean;
    size_t n = grow("confidence", NULL,
                    (const char *const[]){"seeds", "[-2.5, 40.25, 17]", "method", "confidence",
                                          "multiplier", "2.5", "iterations", "3", NULL},
                    &rc, err, &mean);
    ok(rc == QIB_OK && n == ball, "confidence: the ball's %zu voxels (got %zu %s)", ball, n, err);
    ok(mean > 99 && mean < 101, "confidence: region mean %g near 100", mean);
    qib_volume_unref(&img);
    return tap_done();
}
