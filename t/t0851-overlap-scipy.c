/* bio.overlap against scipy.ndimage on random blob masks on an anisotropic
 * grid: surface voxels by binary_erosion (6-connectivity, outside =
 * background), distances by distance_transform_edt(sampling=spacing) of the
 * complement of each surface, pooled, numpy.percentile(.., 95).  Skipped
 * when /usr/bin/python3 has no scipy. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "t0400-util.h"

#define NX 41
#define NY 35
#define NZ 23

/* xorshift64*: reproducible masks without depending on libc rand */
static double uniform(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* A union of nblob random ellipsoids (in voxel units) set to value lab;
 * some reach the border of the image.  The shapes come from *shape; each
 * centre and radius then moves by up to +-jitter voxels drawn from *jit, so
 * two masks from the same *shape seed differ as two readers' would. */
static void blobs(uint8_t *m, int nblob, uint8_t lab, uint64_t *shape, uint64_t *jit,
                  double jitter)
{
    for (int n = 0; n < nblob; n++) {
        double c[3] = {uniform(shape) * NX, uniform(shape) * NY, uniform(shape) * NZ};
        double r[3] = {2 + uniform(shape) * 8, 2 + uniform(shape) * 8, 1 + uniform(shape) * 4};
        for (int d = 0; d < 3; d++) {
            c[d] += jitter * (2 * uniform(jit) - 1);
            r[d] += jitter * (2 * uniform(jit) - 1);
        }
        for (size_t k = 0; k < NZ; k++)
            for (size_t j = 0; j < NY; j++)
                for (size_t i = 0; i < NX; i++) {
                    double x = ((double)i - c[0]) / r[0], y = ((double)j - c[1]) / r[1],
                           z = ((double)k - c[2]) / r[2];
                    if (x * x + y * y + z * z <= 1)
                        m[(k * NY + j) * NX + i] = lab;
                }
    }
}

static void write_raw(const char *path, const uint8_t *m)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(m, 1, NX * NY * NZ, f) != NX * NY * NZ || fclose(f) != 0)
        bail("cannot write %s", path);
}

/* The value after "name " in the script's output. */
static double ref(const char *out, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "%s ", name);
    for (const char *p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, key, strlen(key)) == 0)
            return strtod(p + strlen(key), NULL);
    bail("scipy output has no %s:\n%s", name, out);
}

static const char *const names[] = {"voxels_a", "voxels_b", "dice", "jaccard",
                                    "hausdorff_mm", "hausdorff95_mm", "assd_mm"};
#define NNAME (sizeof names / sizeof names[0])

static void one_case(const char *dir, const char *script, uint64_t seed, const double sp[3],
                     int label, int threads)
{
    uint8_t *a = calloc(NX * NY * NZ, 1), *b = calloc(NX * NY * NZ, 1);
    char pa[1024], pb[1024], cmd[4096], lab[16];
    if (!a || !b)
        bail("out of memory");
    /* b: a's blobs redrawn with small changes, as a second reader would */
    uint64_t shape = seed, jit = seed ^ 0x9e3779b97f4a7c15ull;
    blobs(a, 4, 2, &shape, &jit, 0);
    blobs(a, 2, 1, &shape, &jit, 0);
    shape = seed;
    blobs(b, 4, 2, &shape, &jit, 1.5);
    blobs(b, 2, 1, &shape, &jit, 1.5);
    snprintf(pa, sizeof pa, "%s/a.raw", dir);
    snprintf(pb, sizeof pb, "%s/b.raw", dir);
    write_raw(pa, a);
    write_raw(pb, b);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' '%s' %d %d %d %.17g %.17g %.17g %d",
             script, pa, pb, NX, NY, NZ, sp[0], sp[1], sp[2], label);
    int st;
    char *out = run_cmd(cmd, &st);
    if (st != 0)
        bail("scipy reference failed (%d):\n%s", st, out ? out : "");

    const double sp1[3] = {sp[0], sp[1], sp[2]};
    qib_volume *img = t04_volume(QIB_U8, NX, NY, NZ, 1, sp1, NULL);
    qib_volume *ma = t04_mask(qib_volume_geom(img), a), *mb = t04_mask(qib_volume_geom(img), b);
    snprintf(lab, sizeof lab, "%d", label);
    const char *const p[] = {"label", lab, NULL};
    int rc;
    qib_harness *h = t04_run("bio.overlap", "a", ma, "b", mb, p, threads, &rc);
    const qib_table *t = qib_harness_out_table(h, "table");
    if (!ok(rc == QIB_OK && t, "seed %llu, label %d, %d thread(s): runs",
            (unsigned long long)seed, label, threads)) {
        diag("%s", qib_harness_error(h));
        skip((int)NNAME, "no table");
    } else {
        for (size_t n = 0; n < NNAME; n++) {
            double want = ref(out, names[n]);
            if (!is_double(t04_d(t, 0, names[n]), want,
                           1e-9 * (fabs(want) > 1 ? fabs(want) : 1),
                           "seed %llu, label %d: %s matches scipy (%.10g)",
                           (unsigned long long)seed, label, names[n], want))
                diag("scipy:\n%s", out);
        }
    }
    qib_harness_free(&h);
    qib_volume_unref(&img);
    qib_volume_unref(&ma);
    qib_volume_unref(&mb);
    free(out);
    free(a);
    free(b);
}

int main(void)
{
    int st;
    char *probe = run_cmd("/usr/bin/python3 -c 'import numpy, scipy.ndimage' 2>&1", &st);
    if (st != 0)
        skip_all("/usr/bin/python3 cannot import numpy and scipy.ndimage: %s",
                 probe ? probe : "");
    free(probe);
    char *script = srcdir_path("t/t0851-overlap-scipy.py");
    char *dir = tap_tmpdir();
    const double sp[3] = {0.7, 0.93, 2.5}, sp2[3] = {1.2, 0.5, 0.8};

    plan(5 * (1 + (int)NNAME));
    one_case(dir, script, 12345, sp, 0, 1);
    one_case(dir, script, 12345, sp, 2, 3);
    one_case(dir, script, 987654321, sp, 0, 2);
    one_case(dir, script, 987654321, sp2, 1, 1);
    one_case(dir, script, 42, sp2, 0, 4);

    t04_rmdir(dir);
    free(script);
    return tap_done();
}
