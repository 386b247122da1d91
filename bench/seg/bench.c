/* bench/seg: Otsu threshold, 26-connected labelling and keep-largest on a
 * 512x512x300 CT-like volume, qib (seg.threshold + seg.components) against
 * scikit-image + scipy.ndimage (bench/seg/ref.py) in the same run, with a
 * check that both give the same mask.
 * Usage: seg-bench [NX NY NZ]   (QIB_PLUGIN_PATH must name the plugins) */
#include <config.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qib/qib.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A CT-like body: air outside (-1000 HU), an elliptic trunk of soft tissue
 * (40 HU) with two lungs (-850 HU), a spine and ribs (700 HU), a table
 * under the body (separate component), noise of +-60 HU. */
static qib_volume *make_ct(size_t nx, size_t ny, size_t nz)
{
    struct qib_geom g;
    size_t dims[3] = {nx, ny, nz};
    qib_volume *v = NULL;
    if (qib_geom_init(&g, 3, dims) != QIB_OK)
        return NULL;
    g.spacing[0] = g.spacing[1] = 0.8;
    g.spacing[2] = 1.5;
    if (qib_volume_new(QIB_I16, &g, &v) != QIB_OK)
        return NULL;
    int16_t *d = qib_volume_data_mut(v);
    uint64_t s = 42;
    double cx = (double)nx / 2, cy = (double)ny / 2;
    for (size_t z = 0; z < nz; z++)
        for (size_t y = 0; y < ny; y++)
            for (size_t x = 0; x < nx; x++) {
                double u = ((double)x - cx) / (0.42 * (double)nx);
                double w = ((double)y - cy) / (0.30 * (double)ny);
                double r = u * u + w * w, hu = -1000;
                if (r < 1) {
                    hu = 40;
                    double lu = (fabs(u) - 0.45) / 0.3, lw = (w + 0.1) / 0.55;
                    if (lu * lu + lw * lw < 1)
                        hu = -850;
                    double su = u / 0.1, sw = (w - 0.7) / 0.12;
                    if (su * su + sw * sw < 1 || (r > 0.85 && r < 0.9 && (z / 20) % 2 == 0))
                        hu = 700;
                } else if (fabs(w - 1.25) < 0.03 && fabs(u) < 0.9) {
                    hu = 200; /* table */
                }
                hu += (double)(rnd(&s) % 121) - 60;
                d[x + nx * (y + ny * z)] = (int16_t)hu;
            }
    return v;
}

static int run_qib(qib_volume *ct, int threads, qib_volume **mask, double *secs, double *thr)
{
    char err[512];
    qib_harness *h1 = NULL, *h2 = NULL;
    double t0 = now();
    int rc = qib_harness_new("seg.threshold", &h1, err, sizeof err);
    if (rc || (rc = qib_harness_set_volume(h1, "image", ct)) ||
        (rc = qib_harness_set_param(h1, "method", "otsu")) ||
        (rc = qib_harness_set_threads(h1, threads)) || (rc = qib_harness_run(h1))) {
        fprintf(stderr, "seg.threshold: %s\n", h1 ? qib_harness_error(h1) : err);
        qib_harness_free(&h1);
        return rc;
    }
    const qib_table *t = qib_harness_out_table(h1, "table");
    size_t c = 0;
    qib_table_find(t, "threshold", &c);
    *thr = qib_table_get_double(t, 0, c);
    qib_volume *m = (qib_volume *)qib_harness_out_volume(h1, "mask");
    if ((rc = qib_harness_new("seg.components", &h2, err, sizeof err)) ||
        (rc = qib_harness_set_volume(h2, "mask", m)) ||
        (rc = qib_harness_set_param(h2, "connectivity", "26")) ||
        (rc = qib_harness_set_param(h2, "keep", "largest")) ||
        (rc = qib_harness_set_threads(h2, threads))) {
        fprintf(stderr, "seg.components: %s\n", h2 ? qib_harness_error(h2) : err);
        qib_harness_free(&h1);
        qib_harness_free(&h2);
        return rc ? rc : QIB_EINVAL;
    }
    qib_harness_free(&h1); /* the components harness holds its own reference */
    if ((rc = qib_harness_run(h2))) {
        fprintf(stderr, "seg.components: %s\n", qib_harness_error(h2));
        qib_harness_free(&h2);
        return rc;
    }
    *secs = now() - t0;
    *mask = qib_volume_ref((qib_volume *)qib_harness_out_volume(h2, "mask"));
    qib_harness_free(&h2);
    return QIB_OK;
}

int main(int argc, char **argv)
{
    size_t nx = 512, ny = 512, nz = 300;
    if (argc == 4) {
        nx = strtoul(argv[1], NULL, 10);
        ny = strtoul(argv[2], NULL, 10);
        nz = strtoul(argv[3], NULL, 10);
    }
    const char *srcdir = getenv("top_srcdir");
    char script[1024];
    snprintf(script, sizeof script, "%s/bench/seg/ref.py", srcdir ? srcdir : ".");
    char dir[] = "/tmp/qib-seg-bench-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    printf("generating a %zux%zux%zu i16 CT-like volume...\n", nx, ny, nz);
    qib_volume *ct = make_ct(nx, ny, nz);
    if (!ct)
        return 1;
    char ctp[1100], refp[1100], cmd[4096];
    snprintf(ctp, sizeof ctp, "%s/ct.raw", dir);
    snprintf(refp, sizeof refp, "%s/ref.raw", dir);
    FILE *f = fopen(ctp, "wb");
    size_t n = qib_volume_nvox(ct);
    if (!f || fwrite(qib_volume_data(ct), 2, n, f) != n || fclose(f)) {
        perror(ctp);
        return 1;
    }

    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int tcounts[3] = {1, 2, (int)(ncpu > 0 ? ncpu : 1)};
    int ntc = tcounts[2] > 2 ? 3 : tcounts[2] == 2 ? 2 : 1;
    qib_volume *mask[3] = {NULL, NULL, NULL};
    double best[3], thr = NAN;
    for (int k = 0; k < ntc; k++) {
        best[k] = INFINITY;
        for (int rep = 0; rep < 3; rep++) {
            double s;
            qib_volume_unref(&mask[k]);
            if (run_qib(ct, tcounts[k], &mask[k], &s, &thr))
                return 1;
            if (s < best[k])
                best[k] = s;
        }
        printf("qib  seg.threshold otsu + seg.components 26 largest, %d thread%s: %.3f s "
               "(best of 3), threshold %g\n",
               tcounts[k], tcounts[k] > 1 ? "s" : "", best[k], thr);
    }
    int same_threads = 1;
    for (int k = 1; k < ntc; k++)
        same_threads &= memcmp(qib_volume_data(mask[0]), qib_volume_data(mask[k]), n) == 0;
    printf("qib  masks identical for every thread count: %s\n", same_threads ? "yes" : "NO");

    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' %zu %zu %zu '%s'", script, ctp, nx, ny,
             nz, refp);
    FILE *pp = popen(cmd, "r");
    double ref_s = NAN, ref_thr = NAN;
    long ncomp = 0;
    if (!pp || fscanf(pp, "%lf %lf %ld", &ref_s, &ref_thr, &ncomp) != 3) {
        fprintf(stderr, "%s failed (needs python3-scipy, python3-skimage)\n", cmd);
        if (pp)
            pclose(pp);
        return 1;
    }
    pclose(pp);
    printf("ref  skimage threshold_otsu + scipy.ndimage.label 26 + bincount: %.3f s, "
           "threshold %g, %ld components\n",
           ref_s, ref_thr, ncomp);
    size_t len = 0, diff = 0;
    FILE *rf = fopen(refp, "rb");
    uint8_t *ref = malloc(n);
    if (rf && ref)
        len = fread(ref, 1, n, rf);
    if (rf)
        fclose(rf);
    const uint8_t *mine = qib_volume_data(mask[0]);
    for (size_t i = 0; i < len; i++)
        diff += (mine[i] != 0) != (ref[i] != 0);
    printf("same threshold: %s; masks identical: %s (%zu voxels differ)\n",
           thr == ref_thr ? "yes" : "NO", len == n && diff == 0 ? "yes" : "NO", diff);
    for (int k = 0; k < ntc; k++)
        printf("speed-up, %d thread%s: %.1fx\n", tcounts[k], tcounts[k] > 1 ? "s" : "",
               ref_s / best[k]);
    free(ref);
    for (int k = 0; k < 3; k++)
        qib_volume_unref(&mask[k]);
    qib_volume_unref(&ct);
    remove(ctp);
    remove(refp);
    rmdir(dir);
    return len == n && diff == 0 && same_threads && thr == ref_thr ? 0 : 1;
}
