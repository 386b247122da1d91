/* seg.morphology: hand-counted erosions, dilations and hole fills on small
 * masks, bad parameters, and results identical to scipy.ndimage
 * (binary_erosion/dilation/opening/closing with the same ball or cube,
 * binary_fill_holes in 3-D and per slice) on a generated mask with
 * anisotropic spacing. */
#include <config.h>

#include "t0500-util.h"

static size_t morph_count(qib_volume *m, const char *const *params, int *rc, char *err,
                          size_t errlen, uint8_t **copy)
{
    qib_harness *h = t05_run1("seg.morphology", "mask", m, params, 1, rc);
    const qib_volume *o = qib_harness_out_volume(h, "mask");
    size_t n = o ? t05_count(qib_volume_data(o), qib_volume_nvox(o)) : 0;
    if (copy && o) {
        *copy = malloc(qib_volume_nvox(o));
        memcpy(*copy, qib_volume_data(o), qib_volume_nvox(o));
    }
    snprintf(err, errlen, "%s", qib_harness_error(h));
    qib_harness_free(&h);
    return n;
}

static void hand(const char *name, qib_volume *m, const char *const *params, size_t want)
{
    int rc;
    char err[512];
    size_t n = morph_count(m, params, &rc, err, sizeof err, NULL);
    ok(rc == QIB_OK && n == want, "%s: %zu voxels (got %zu%s%s)", name, want, n, rc ? ", " : "",
       rc ? err : "");
}

static void refuse(const char *name, qib_volume *m, const char *const *params, const char *want)
{
    int rc;
    char err[512];
    morph_count(m, params, &rc, err, sizeof err, NULL);
    ok(rc != QIB_OK, "%s: refused", name);
    contains(err, want, "%s: says \"%s\"", name, want);
}

static void hand_tests(void)
{
    struct qib_geom g = t05_geom(7, 7, 7, 1, 1, 1);
    qib_volume *dot = t05_mask(&g);
    uint8_t *d = qib_volume_data_mut(dot);
    d[3 + 7 * (3 + 7 * 3)] = 1;
    /* a ball of 1 mm at 1 mm spacing is the centre and its 6 faces */
    hand("dilate dot, ball 1 mm", dot,
         (const char *const[]){"operation", "dilate", "radius_mm", "1", NULL}, 7);
    /* sqrt(2) < 1.5: the 18-neighbourhood; sqrt(3) > 1.5 */
    hand("dilate dot, ball 1.5 mm", dot,
         (const char *const[]){"operation", "dilate", "radius_mm", "1.5", NULL}, 19);
    hand("dilate dot, cube 1 voxel", dot,
         (const char *const[]){"operation", "dilate", "element", "cube", NULL}, 27);
    hand("dilate dot, cube 2 voxels", dot,
         (const char *const[]){"operation", "dilate", "element", "cube", "radius_vox", "2", NULL},
         125);
    hand("erode dot", dot, (const char *const[]){"operation", "erode", NULL}, 0);
    hand("open dot", dot, (const char *const[]){"operation", "open", NULL}, 0);
    hand("close dot", dot, (const char *const[]){"operation", "close", NULL}, 1);

    /* anisotropic: spacing 1 x 1 x 2 mm, ball 1.5 mm: the 3x3 in-plane
     * square (corners at sqrt 2) and nothing along z (2 mm) */
    struct qib_geom ga = t05_geom(7, 7, 7, 1, 1, 2);
    qib_volume *dota = t05_mask(&ga);
    memcpy(qib_volume_data_mut(dota), d, 343);
    hand("dilate dot, ball 1.5 mm, z spacing 2 mm", dota,
         (const char *const[]){"operation", "dilate", "radius_mm", "1.5", NULL}, 9);
    hand("dilate dot, ball 2 mm, z spacing 2 mm", dota,
         (const char *const[]){"operation", "dilate", "radius_mm", "2", NULL}, 9 + 4 + 2);

    /* a 3x3x3 cube eroded by the 6-neighbourhood leaves its centre */
    qib_volume *cube = t05_mask(&g);
    uint8_t *c = qib_volume_data_mut(cube);
    for (int z = 2; z <= 4; z++)
        for (int y = 2; y <= 4; y++)
            for (int x = 2; x <= 4; x++)
                c[x + 7 * (y + 7 * z)] = 1;
    hand("erode cube", cube, (const char *const[]){"operation", "erode", NULL}, 1);
    hand("erode cube by a cube", cube,
         (const char *const[]){"operation", "erode", "element", "cube", NULL}, 1);

    /* a hollow cube fills in 3-D; an open tube along z fills only per slice */
    qib_volume *shell = t05_mask(&g);
    memcpy(qib_volume_data_mut(shell), c, 343);
    ((uint8_t *)qib_volume_data_mut(shell))[3 + 7 * (3 + 7 * 3)] = 0;
    hand("fill hollow cube 3d", shell, (const char *const[]){"operation", "fill_holes", NULL}, 27);
    qib_volume *tube = t05_mask(&g);
    uint8_t *t = qib_volume_data_mut(tube);
    for (int z = 0; z < 7; z++)
        for (int y = 2; y <= 4; y++)
            for (int x = 2; x <= 4; x++)
                t[x + 7 * (y + 7 * z)] = !(x == 3 && y == 3);
    hand("fill open tube 3d", tube, (const char *const[]){"operation", "fill_holes", NULL}, 56);
    hand("fill open tube by slice", tube,
         (const char *const[]){"operation", "fill_holes", "fill", "slice", NULL}, 63);

    refuse("no operation", dot, NULL, "operation");
    refuse("negative radius", dot, (const char *const[]){"operation", "erode", "radius_mm", "-1", NULL},
           "radius_mm");
    refuse("ball of radius 0", dot, (const char *const[]){"operation", "erode", "radius_mm", "0", NULL},
           "radius_mm must be > 0");
    refuse("unknown element", dot,
           (const char *const[]){"operation", "erode", "element", "disk", NULL}, "disk");
    refuse("cube of 0 voxels", dot,
           (const char *const[]){"operation", "erode", "element", "cube", "radius_vox", "0", NULL},
           "radius_vox");
    qib_volume *img = t05_new(QIB_F32, &g);
    refuse("image that is not a mask", img, (const char *const[]){"operation", "erode", NULL},
           "mask");
    qib_volume_unref(&img);
    qib_volume_unref(&tube);
    qib_volume_unref(&shell);
    qib_volume_unref(&cube);
    qib_volume_unref(&dota);
    qib_volume_unref(&dot);
}

static void vs_scipy(const char *dir)
{
    struct qib_geom g = t05_geom(61, 47, 23, 0.8, 1.1, 2.5);
    qib_volume *img = t05_blobs(QIB_F64, &g, 4242, 20, 1.0, 0.25, 0);
    qib_volume *m = t05_mask(&g);
    size_t n = qib_volume_nvox(m);
    uint8_t *d = qib_volume_data_mut(m);
    for (size_t i = 0; i < n; i++)
        d[i] = qib_volume_get(img, i) > 0.5;
    qib_volume_unref(&img);
    char mp[512], op[512], args[1600];
    snprintf(mp, sizeof mp, "%s/m.raw", dir);
    snprintf(op, sizeof op, "%s/o.raw", dir);
    t05_write_raw(m, mp);
    static const char *const opsv[] = {"erode", "dilate", "open", "close"};
    static const struct {
        const char *element, *radius;
    } se[] = {{"ball", "2.6"}, {"ball", "5"}, {"cube", "1"}};
    for (size_t k = 0; k < 3; k++)
        for (size_t o = 0; o < 4; o++) {
            snprintf(args, sizeof args, "morph %s %s 61 47 23 0.8 1.1 2.5 %s '%s' '%s'", opsv[o],
                     se[k].element, se[k].radius, mp, op);
            free(t05_python(args));
            uint8_t *want = t05_read_raw(op, n);
            int rc;
            char err[512];
            uint8_t *got = NULL;
            const char *const params[] = {"operation", opsv[o], "element", se[k].element,
                                          k < 2 ? "radius_mm" : "radius_vox", se[k].radius, NULL};
            size_t cnt = morph_count(m, params, &rc, err, sizeof err, &got);
            size_t bad = got ? t05_diff(got, want, n) : n;
            ok(rc == QIB_OK && bad == 0,
               "%s, %s %s: identical to scipy.ndimage (%zu voxels, %zu differ)", opsv[o],
               se[k].element, se[k].radius, cnt, bad);
            free(got);
            free(want);
        }
    static const char *const modes[] = {"3d", "slice"};
    for (int k = 0; k < 2; k++) {
        snprintf(args, sizeof args, "fill %s 61 47 23 '%s' '%s'", k ? "2d" : "3d", mp, op);
        free(t05_python(args));
        uint8_t *want = t05_read_raw(op, n);
        int rc;
        char err[512];
        uint8_t *got = NULL;
        size_t cnt = morph_count(m, (const char *const[]){"operation", "fill_holes", "fill",
                                                          modes[k], NULL},
                                 &rc, err, sizeof err, &got);
        size_t bad = got ? t05_diff(got, want, n) : n;
        ok(rc == QIB_OK && bad == 0 && cnt > t05_count(d, n),
           "fill_holes %s: identical to scipy.ndimage.binary_fill_holes (%zu filled, %zu differ)",
           modes[k], cnt - t05_count(d, n), bad);
        free(got);
        free(want);
    }
    qib_volume_unref(&m);
}

/* Rows of the result are computed independently: any thread count gives
 * the same bytes. */
static void threads_test(void)
{
    struct qib_geom g = t05_geom(61, 47, 23, 0.8, 1.1, 2.5);
    qib_volume *img = t05_blobs(QIB_F64, &g, 4242, 20, 1.0, 0.25, 0);
    qib_volume *m = t05_mask(&g);
    uint8_t *d = qib_volume_data_mut(m);
    size_t n = qib_volume_nvox(m);
    for (size_t i = 0; i < n; i++)
        d[i] = qib_volume_get(img, i) > 0.5;
    qib_volume_unref(&img);
    const char *const params[] = {"operation", "close", "radius_mm", "3.3", NULL};
    int rc1, rc3;
    qib_harness *h1 = t05_run1("seg.morphology", "mask", m, params, 1, &rc1);
    qib_harness *h3 = t05_run1("seg.morphology", "mask", m, params, 3, &rc3);
    const qib_volume *o1 = qib_harness_out_volume(h1, "mask");
    const qib_volume *o3 = qib_harness_out_volume(h3, "mask");
    ok(rc1 == QIB_OK && rc3 == QIB_OK && o1 && o3 &&
           memcmp(qib_volume_data(o1), qib_volume_data(o3), n) == 0,
       "close, ball 3.3 mm: 1 and 3 threads give the same mask");
    qib_harness_free(&h1);
    qib_harness_free(&h3);
    qib_volume_unref(&m);
}

int main(void)
{
    plan(41);
    hand_tests();
    threads_test();
    const char *why;
    if (!t05_have_python(&why)) {
        skip(14, "%s", why);
        return tap_done();
    }
    char *dir = tap_tmpdir();
    vs_scipy(dir);
    t05_rmdir(dir);
    return tap_done();
}
