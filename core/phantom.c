/* `qib phantom`: digital phantoms with a known answer, written as NIfTI
 * through the write.nifti plugin, so the demo, the tests and a site's own QA
 * have data that needs no download. */
#include <config.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qib/qib.h"
#include "cli.h"
#include "phantom.h"

/* The ct-lesion phantom: a water-equivalent body ellipse (40 HU) in air
 * (-1000 HU) with a spherical lesion (100 HU) and a fat layer, plus Gaussian
 * noise of a chosen SD from a fixed seed. */
struct ct_lesion {
    size_t nx, ny, nz;
    double spacing[3];
    double lesion_radius_mm;
    double noise_sd;
    uint64_t seed;
};

uint64_t qib__phantom_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* 53 random bits, never exactly 0. */
double qib__phantom_uniform(uint64_t *s)
{
    return ((double)(qib__phantom_next(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double qib__phantom_gauss(uint64_t *s)
{
    /* Box-Muller; one of the pair is dropped to keep the sequence simple. */
    double u = qib__phantom_uniform(s), v = qib__phantom_uniform(s);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static int make_ct_lesion(const struct ct_lesion *p, qib_volume **ct, qib_volume **roi,
                          size_t *lesion_voxels)
{
    struct qib_geom g;
    size_t dims[3] = {p->nx, p->ny, p->nz};
    int rc = qib_geom_init(&g, 3, dims);
    if (rc)
        return rc;
    for (int a = 0; a < 3; a++) {
        g.spacing[a] = p->spacing[a];
        /* centre the grid on the world origin */
        g.origin[a] = -0.5 * (double)(dims[a] - 1) * p->spacing[a];
    }
    if ((rc = qib_volume_new(QIB_I16, &g, ct)) != QIB_OK)
        return rc;
    if ((rc = qib_mask_new(&g, roi)) != QIB_OK) {
        qib_volume_unref(ct);
        return rc;
    }
    int16_t *c = qib_volume_data_mut(*ct);
    uint8_t *m = qib_volume_data_mut(*roi);
    double ax = 0.40 * (double)p->nx * p->spacing[0]; /* body half-axes, mm */
    double ay = 0.30 * (double)p->ny * p->spacing[1];
    /* the lesion sits right of centre, inside the body */
    double lc[3] = {0.15 * (double)p->nx * p->spacing[0], 0.0, 0.0};
    uint64_t seed = p->seed;
    size_t n = 0, i = 0;
    for (size_t z = 0; z < p->nz; z++)
        for (size_t y = 0; y < p->ny; y++)
            for (size_t x = 0; x < p->nx; x++, i++) {
                double w[3], idx[3] = {(double)x, (double)y, (double)z};
                qib_geom_index_to_world(&g, idx, w);
                double e = (w[0] * w[0]) / (ax * ax) + (w[1] * w[1]) / (ay * ay);
                double hu = -1000.0;
                if (e <= 1.0)
                    hu = e > 0.85 ? -100.0 : 40.0; /* fat rim, then soft tissue */
                double d2 = 0;
                for (int a = 0; a < 3; a++)
                    d2 += (w[a] - lc[a]) * (w[a] - lc[a]);
                if (d2 <= p->lesion_radius_mm * p->lesion_radius_mm) {
                    hu = 100.0;
                    m[i] = 1;
                    n++;
                }
                double v = hu + p->noise_sd * qib__phantom_gauss(&seed);
                c[i] = (int16_t)lround(v < -1024 ? -1024 : v > 3071 ? 3071 : v);
            }
    qib_meta *meta = qib_volume_meta_mut(*ct);
    qib_meta_set(meta, "modality", "CT", "qib phantom ct-lesion");
    qib_meta_set(meta, "units", "HU", "qib phantom ct-lesion");
    *lesion_voxels = n;
    return QIB_OK;
}

int qib__phantom_write_nifti(qib_volume *v, const char *dir, const char *name)
{
    qib_harness *h = NULL;
    char err[512];
    int rc = qib_harness_new("write.nifti", &h, err, sizeof err);
    if (rc) {
        fprintf(stderr, "qib phantom: %s\n", err);
        return rc;
    }
    if ((rc = qib_harness_set_outdir(h, dir)) == QIB_OK &&
        (rc = qib_harness_set_param(h, "path", name)) == QIB_OK &&
        (rc = qib_harness_set_volume(h, "image", v)) == QIB_OK)
        rc = qib_harness_run(h);
    if (rc)
        fprintf(stderr, "qib phantom: %s\n", qib_harness_error(h)); /* names the file */
    qib_harness_free(&h);
    return rc;
}

static int mkdirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

int qib__phantom_mkdirs(const char *path)
{
    if (mkdirs(path) != 0) {
        fprintf(stderr, "qib phantom: %s: cannot create directory: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void ct_usage(FILE *f)
{
    fprintf(f,
            "usage: qib phantom ct-lesion --out DIR [--size N] [--slices N]\n"
            "                   [--spacing X,Y,Z] [--radius MM] [--noise SD] [--seed N]\n"
            "\n"
            "Writes DIR/ct.nii.gz (int16, HU: air -1000, fat -100, soft tissue 40,\n"
            "lesion 100, plus Gaussian noise of SD HU from a fixed seed) and\n"
            "DIR/roi.nii.gz (uint8 mask of the spherical lesion), and prints the\n"
            "lesion's voxel count and volume.\n"
            "\n"
            "  --size N        in-plane matrix N x N (default 128)\n"
            "  --slices N      number of slices (default 64)\n"
            "  --spacing X,Y,Z voxel size in mm (default 1,1,2)\n"
            "  --radius MM     lesion radius in mm (default 15)\n"
            "  --noise SD      noise standard deviation in HU (default 10; 0 = none)\n"
            "  --seed N        random seed (default 1)\n");
}

int qib__phantom_num(const char *opt, const char *s, double lo, double hi, double *out)
{
    double v;
    if (!s || qib_parse_double(s, &v) != QIB_OK || !(v >= lo && v <= hi)) {
        fprintf(stderr, "qib phantom: %s: expected a number from %g to %g, got \"%s\"\n",
                opt, lo, hi, s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

int qib__phantom_list(const char *opt, const char *s, double lo, double hi, double *out,
                      size_t max, size_t *n)
{
    char buf[1024];
    char *save = NULL, *tok;
    size_t k = 0;
    if (!s || snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf) {
        fprintf(stderr, "qib phantom: %s: expected a comma-separated list of numbers\n", opt);
        return -1;
    }
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (k == max) {
            fprintf(stderr, "qib phantom: %s: at most %zu values, got more in \"%s\"\n", opt,
                    max, s);
            return -1;
        }
        if (qib__phantom_num(opt, tok, lo, hi, &out[k]))
            return -1;
        k++;
    }
    if (k == 0) {
        fprintf(stderr, "qib phantom: %s: expected a comma-separated list of numbers, got \"%s\"\n",
                opt, s);
        return -1;
    }
    *n = k;
    return 0;
}

int qib__phantom_parse(int argc, char **argv, const struct qib__phantom_opt *opts,
                       qib__phantom_special_fn special, void *ctx, void (*usage)(FILE *),
                       const char *help, const char **out, int *done)
{
    *done = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        const struct qib__phantom_opt *o = opts;
        double v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            *done = 1;
            return QIB_EXIT_OK;
        }
        if (!strcmp(a, "--out")) {
            if (!val) {
                fprintf(stderr, "qib phantom: --out: expected a directory\n");
                return QIB_EXIT_USAGE;
            }
            *out = val, i++;
            continue;
        }
        while (o && o->name && strcmp(a, o->name))
            o++;
        if (o && o->name) {
            if (o->list) {
                if (qib__phantom_list(a, val, o->lo, o->hi, o->list, o->max, o->n))
                    return QIB_EXIT_USAGE;
            } else {
                if (qib__phantom_num(a, val, o->lo, o->hi, &v))
                    return QIB_EXIT_USAGE;
                if (o->num)
                    *o->num = v;
                else if (o->count)
                    *o->count = (size_t)v;
                else if (o->seed)
                    *o->seed = (uint64_t)v;
            }
            i++;
            continue;
        }
        int r = special ? special(ctx, a, val) : QIB__PHANTOM_UNKNOWN;
        if (r == QIB__PHANTOM_BAD)
            return QIB_EXIT_USAGE;
        if (r == QIB__PHANTOM_UNKNOWN) {
            fprintf(stderr, "qib phantom: unknown argument \"%s\" (see %s)\n", a, help);
            return QIB_EXIT_USAGE;
        }
        if (r == QIB__PHANTOM_VALUE)
            i++;
    }
    return QIB_EXIT_OK;
}

/* --spacing X,Y,Z: exactly three numbers, its own message when not. */
static int ct_special(void *ctx, const char *a, const char *val)
{
    struct ct_lesion *p = ctx;
    char buf[128];
    char *save = NULL, *tok;
    int k = 0;
    if (strcmp(a, "--spacing"))
        return QIB__PHANTOM_UNKNOWN;
    snprintf(buf, sizeof buf, "%s", val ? val : "");
    for (tok = strtok_r(buf, ",", &save); tok && k < 3; tok = strtok_r(NULL, ",", &save), k++)
        if (qib__phantom_num(a, tok, 0.01, 100, &p->spacing[k]))
            return QIB__PHANTOM_BAD;
    if (k != 3 || tok) {
        fprintf(stderr, "qib phantom: --spacing: expected X,Y,Z in mm, got \"%s\"\n",
                val ? val : "");
        return QIB__PHANTOM_BAD;
    }
    return QIB__PHANTOM_VALUE;
}

int qib__phantom_ct_lesion(int argc, char **argv)
{
    struct ct_lesion p = {.nx = 128, .ny = 128, .nz = 64, .spacing = {1, 1, 2},
                          .lesion_radius_mm = 15, .noise_sd = 10, .seed = 1};
    const struct qib__phantom_opt opts[] = {
        {"--size", 8, 2048, .count = &p.nx}, /* ny follows nx below */
        {"--slices", 1, 4096, .count = &p.nz},
        {"--radius", 0.5, 1000, .num = &p.lesion_radius_mm},
        {"--noise", 0, 1000, .num = &p.noise_sd},
        {"--seed", 0, 9007199254740992.0, .seed = &p.seed},
        {.name = NULL},
    };
    const char *out = NULL;
    int done;
    int rc = qib__phantom_parse(argc, argv, opts, ct_special, &p, ct_usage, "qib phantom --help",
                                &out, &done);
    if (rc || done)
        return rc;
    p.ny = p.nx; /* --size N is an N x N plane */
    if (!out) {
        fprintf(stderr, "qib phantom: --out DIR is required\n");
        return QIB_EXIT_USAGE;
    }
    if (qib__phantom_mkdirs(out) != 0)
        return QIB_EXIT_FAIL;
    qib_volume *ct = NULL, *roi = NULL;
    size_t n = 0;
    rc = make_ct_lesion(&p, &ct, &roi, &n);
    if (rc) {
        fprintf(stderr, "qib phantom: %s\n", qib_strerror(rc));
        return QIB_EXIT_FAIL;
    }
    rc = qib__phantom_write_nifti(ct, out, "ct.nii.gz");
    if (!rc)
        rc = qib__phantom_write_nifti(roi, out, "roi.nii.gz");
    double ml = (double)n * qib_geom_voxel_mm3(qib_volume_geom(roi)) / 1000.0;
    qib_volume_unref(&ct);
    qib_volume_unref(&roi);
    if (rc)
        return QIB_EXIT_FAIL;
    printf("%s/ct.nii.gz  %zux%zux%zu int16, spacing %gx%gx%g mm\n", out, p.nx, p.ny, p.nz,
           p.spacing[0], p.spacing[1], p.spacing[2]);
    printf("%s/roi.nii.gz lesion of radius %g mm: %zu voxels, %.3f mL (sphere %.3f mL)\n", out,
           p.lesion_radius_mm, n, ml, 4.0 / 3.0 * M_PI * pow(p.lesion_radius_mm, 3) / 1000.0);
    return QIB_EXIT_OK;
}

static const struct qib__phantom phantoms[] = {
    {"ct-lesion", "CT body ellipse with a spherical lesion and its mask (NIfTI)",
     qib__phantom_ct_lesion},
    {"nema-iec", "NEMA NU-2 IEC body phantom PET: six hot spheres (NIfTI and DICOM)",
     qib__phantom_nema_iec},
    {"dwi", "QIBA DWI digital reference object: known ADC per column, SNR per row",
     qib__phantom_dwi},
    {"dsc", "DSC-MRI series from a gamma-variate bolus with known CBV and leakage K2",
     qib__phantom_dsc},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: qib phantom NAME --out DIR [options]\n"
               "       qib phantom NAME --help\n\n"
               "Writes a digital phantom whose answer is known.  The phantoms:\n");
    for (size_t i = 0; i < sizeof phantoms / sizeof phantoms[0]; i++)
        fprintf(f, "  %-10s %s\n", phantoms[i].name, phantoms[i].summary);
}

int qib__cmd_phantom(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return QIB_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(stdout);
        return QIB_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof phantoms / sizeof phantoms[0]; i++)
        if (!strcmp(argv[1], phantoms[i].name))
            return phantoms[i].run(argc - 1, argv + 1);
    fprintf(stderr, "qib phantom: unknown phantom \"%s\"; the phantoms are:", argv[1]);
    for (size_t i = 0; i < sizeof phantoms / sizeof phantoms[0]; i++)
        fprintf(stderr, " %s", phantoms[i].name);
    fprintf(stderr, "\n");
    return QIB_EXIT_USAGE;
}
