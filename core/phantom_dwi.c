/* `qib phantom dwi`: the design of the QIBA DWI digital reference object, a
 * grid of square patches with a known ADC per column and a known SNR per
 * row, signals S0 exp(-b ADC) with Rician noise from a fixed seed. */
#include <config.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"
#include "cli.h"
#include "phantom.h"

#define MAX_COLS 64
#define MAX_ROWS 16
#define MAX_B 64

struct dwi {
    double adc[MAX_COLS]; /* 1e-3 mm^2/s */
    size_t ncol;
    double snr[MAX_ROWS]; /* S0 / sigma; inf = noise-free */
    size_t nrow;
    double b[MAX_B]; /* s/mm^2 */
    size_t nb;
    double s0;
    size_t block, slices;
    uint64_t seed;
};

static void dwi_usage(FILE *f)
{
    fprintf(f,
            "usage: qib phantom dwi --out DIR [--adc LIST] [--b LIST] [--snr LIST]\n"
            "                   [--s0 S] [--block N] [--slices N] [--seed N]\n"
            "\n"
            "The design of the QIBA DWI digital reference object: a grid of square\n"
            "patches, one column per ADC and one row per SNR, each patch N x N voxels\n"
            "(1 mm) on every slice, signal S(b) = S0 exp(-b ADC) with Rician noise of\n"
            "SD S0/SNR in each of the two channels, from a fixed seed.  Writes\n"
            "  DIR/dwi.nii.gz        4-D float32 series, one frame per b-value\n"
            "  DIR/bvals             the b-values, s/mm^2, one line (FSL style)\n"
            "  DIR/adc_truth.nii.gz  3-D float32 true ADC, 1e-3 mm^2/s\n"
            "  DIR/patches.nii.gz    uint8 mask, label 1 + row x columns + column\n"
            "  DIR/patches.csv       label, row, column, adc_true (1e-3 mm^2/s), snr\n"
            "and prints a summary.\n"
            "\n"
            "  --adc LIST    ADC per column, 1e-3 mm^2/s (default 0.1,0.3,...,3.5: 18 columns)\n"
            "  --b LIST      b-values, s/mm^2 (default 0,100,500,800,2000,4000)\n"
            "  --snr LIST    SNR per row at b = 0, inf = noise-free\n"
            "                (default inf,100,50,25,10: 5 rows)\n"
            "  --s0 S        signal at b = 0 (default 1000)\n"
            "  --block N     patch width and height in voxels (default 10)\n"
            "  --slices N    number of slices (default 1)\n"
            "  --seed N      random seed (default 1)\n");
}

static int make_dwi(const struct dwi *p, qib_volume **dwi, qib_volume **truth,
                    qib_volume **lab)
{
    struct qib_geom g;
    size_t dims[4] = {p->ncol * p->block, p->nrow * p->block, p->slices, p->nb};
    int rc = qib_geom_init(&g, 4, dims);
    if (rc)
        return rc;
    if ((rc = qib_volume_new(QIB_F32, &g, dwi)) != QIB_OK)
        return rc;
    if ((rc = qib_mask_new(&g, lab)) != QIB_OK)
        goto fail;
    struct qib_geom g3 = *qib_volume_geom(*lab);
    if ((rc = qib_volume_new(QIB_F32, &g3, truth)) != QIB_OK)
        goto fail;
    float *s = qib_volume_data_mut(*dwi), *t = qib_volume_data_mut(*truth);
    uint8_t *m = qib_volume_data_mut(*lab);
    size_t nx = dims[0], ny = dims[1], n3 = nx * ny * p->slices;
    uint64_t seed = p->seed;
    /* Frame by frame, voxel by voxel: the noise sequence is fixed by the
     * seed and the grid alone. */
    for (size_t f = 0; f < p->nb; f++)
        for (size_t i = 0; i < n3; i++) {
            size_t x = i % nx, y = i / nx % ny;
            size_t col = x / p->block, row = y / p->block;
            double adc = p->adc[col] * 1e-3, snr = p->snr[row];
            double v = p->s0 * exp(-p->b[f] * adc);
            if (isfinite(snr)) {
                double sd = p->s0 / snr;
                double re = v + sd * qib__phantom_gauss(&seed);
                double im = sd * qib__phantom_gauss(&seed);
                v = sqrt(re * re + im * im);
            }
            s[f * n3 + i] = (float)v;
            if (f == 0) {
                t[i] = (float)p->adc[col];
                m[i] = (uint8_t)(1 + row * p->ncol + col);
            }
        }
    qib_meta *meta = qib_volume_meta_mut(*dwi);
    char list[1024];
    size_t k = 0;
    for (size_t f = 0; f < p->nb && k < sizeof list; f++) {
        int w = snprintf(list + k, sizeof list - k, "%s%.6g", f ? " " : "", p->b[f]);
        if (w < 0)
            break;
        k += (size_t)w;
    }
    qib_meta_set(meta, "modality", "MR", "qib phantom dwi");
    qib_meta_set(meta, "dicom.b_values", list, "qib phantom dwi");
    qib_meta_set(qib_volume_meta_mut(*truth), "units", "1e-3 mm2/s", "qib phantom dwi");
    return QIB_OK;
fail:
    qib_volume_unref(dwi);
    qib_volume_unref(lab);
    return rc;
}

static int write_text(const char *dir, const char *name, const struct dwi *p, int csv)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        fprintf(stderr, "qib phantom: %s/%s: path too long\n", dir, name);
        return -1;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "qib phantom: %s: cannot create: %s\n", path, strerror(errno));
        return -1;
    }
    char a[32], b[32];
    if (!csv) {
        for (size_t i = 0; i < p->nb; i++)
            fprintf(f, "%s%s", i ? " " : "", qib_format_double(p->b[i], a));
        fprintf(f, "\n");
    } else {
        fprintf(f, "label,row,column,adc_true,snr\n");
        for (size_t r = 0; r < p->nrow; r++)
            for (size_t c = 0; c < p->ncol; c++)
                fprintf(f, "%zu,%zu,%zu,%s,%s\n", 1 + r * p->ncol + c, r, c,
                        qib_format_double(p->adc[c], a), qib_format_double(p->snr[r], b));
    }
    if (ferror(f) | (fclose(f) != 0)) {
        fprintf(stderr, "qib phantom: %s: write failed\n", path);
        return -1;
    }
    return 0;
}

int qib__phantom_dwi(int argc, char **argv)
{
    struct dwi p = {.ncol = 18, .nrow = 5, .nb = 6, .s0 = 1000, .block = 10, .slices = 1,
                    .seed = 1,
                    .snr = {INFINITY, 100, 50, 25, 10},
                    .b = {0, 100, 500, 800, 2000, 4000}};
    for (size_t c = 0; c < p.ncol; c++)
        p.adc[c] = (double)(1 + 2 * c) / 10.0; /* 0.1, 0.3, ..., 3.5 */
    const struct qib__phantom_opt opts[] = {
        {"--adc", 0, 10, .list = p.adc, .max = MAX_COLS, .n = &p.ncol},
        {"--b", 0, 100000, .list = p.b, .max = MAX_B, .n = &p.nb},
        {"--snr", 0.1, INFINITY, .list = p.snr, .max = MAX_ROWS, .n = &p.nrow},
        {"--s0", 1e-6, 1e12, .num = &p.s0},
        {"--block", 1, 256, .count = &p.block},
        {"--slices", 1, 1024, .count = &p.slices},
        {"--seed", 0, 9007199254740992.0, .seed = &p.seed},
        {.name = NULL},
    };
    const char *out = NULL;
    int done;
    int st = qib__phantom_parse(argc, argv, opts, NULL, NULL, dwi_usage,
                                "qib phantom dwi --help", &out, &done);
    if (st || done)
        return st;
    if (!out) {
        fprintf(stderr, "qib phantom: --out DIR is required\n");
        return QIB_EXIT_USAGE;
    }
    if (p.ncol * p.nrow > 255) {
        fprintf(stderr, "qib phantom: %zu columns x %zu rows = %zu patches: the label mask "
                        "holds at most 255\n", p.ncol, p.nrow, p.ncol * p.nrow);
        return QIB_EXIT_USAGE;
    }
    if (p.nb < 2) {
        fprintf(stderr, "qib phantom: --b: expected at least two b-values\n");
        return QIB_EXIT_USAGE;
    }
    if (qib__phantom_mkdirs(out) != 0)
        return QIB_EXIT_FAIL;
    qib_volume *dwi = NULL, *truth = NULL, *lab = NULL;
    int rc = make_dwi(&p, &dwi, &truth, &lab);
    if (rc) {
        fprintf(stderr, "qib phantom: %s\n", qib_strerror(rc));
        return QIB_EXIT_FAIL;
    }
    rc = qib__phantom_write_nifti(dwi, out, "dwi.nii.gz");
    if (!rc)
        rc = qib__phantom_write_nifti(truth, out, "adc_truth.nii.gz");
    if (!rc)
        rc = qib__phantom_write_nifti(lab, out, "patches.nii.gz");
    qib_volume_unref(&dwi);
    qib_volume_unref(&truth);
    qib_volume_unref(&lab);
    if (rc || write_text(out, "bvals", &p, 0) || write_text(out, "patches.csv", &p, 1))
        return QIB_EXIT_FAIL;
    char a[32];
    printf("%s/dwi.nii.gz  %zux%zux%zux%zu float32 (patches of %zux%zu voxels, 1 mm), S0 %s\n",
           out, p.ncol * p.block, p.nrow * p.block, p.slices, p.nb, p.block, p.block,
           qib_format_double(p.s0, a));
    printf("b-values (s/mm^2):");
    for (size_t i = 0; i < p.nb; i++)
        printf(" %s", qib_format_double(p.b[i], a));
    printf("\ncolumns, ADC (1e-3 mm^2/s):");
    for (size_t i = 0; i < p.ncol; i++)
        printf(" %s", qib_format_double(p.adc[i], a));
    printf("\nrows, SNR at b = 0 (Rician noise SD S0/SNR, seed %llu):", (unsigned long long)p.seed);
    for (size_t i = 0; i < p.nrow; i++)
        printf(" %s", qib_format_double(p.snr[i], a));
    printf("\n%s/adc_truth.nii.gz, %s/patches.nii.gz (%zu labels), %s/patches.csv, %s/bvals\n",
           out, out, p.ncol * p.nrow, out, out);
    return QIB_EXIT_OK;
}
