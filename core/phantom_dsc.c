/* `qib phantom dsc`: a DSC-MRI digital reference object.  A gamma-variate
 * arterial bolus, tissue curves of known blood volume, and two lesions whose
 * contrast agent leaks out with a known K2 (the Boxerman-Schmainda-Weisskoff
 * model), written as a 4-D NIfTI series with its masks. */
#include <config.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"
#include "cli.h"
#include "phantom.h"

struct dsc_phantom {
    size_t n, nz, nt;
    double tr_s, te_ms, s0, noise;
    double k2_tumour, k2_lesion;
    uint64_t seed;
};

/* The object's physiology: the region blood volumes (mL/mL), the arterial
 * bolus and the tissue transit. */
#define CBV_BRAIN 0.04
#define CBV_NAWM 0.02
#define CBV_TUMOUR 0.08
#define CBV_LESION 0.06
#define AIF_PEAK 60.0   /* arterial dR2* at the bolus peak, 1/s */
#define AIF_T0 18.0     /* bolus arrival, s */
#define AIF_ALPHA 3.0   /* gamma-variate shape */
#define AIF_BETA 1.5    /* gamma-variate scale, s */
#define MTT 4.0         /* tissue mean transit time (exponential residue), s */

enum region { BG, BRAIN, NAWM, TUMOUR, LESION, VESSEL, NREG };

static const char *const region_name[NREG] = {
    [BG] = "background", [BRAIN] = "brain", [NAWM] = "nawm", [TUMOUR] = "tumour",
    [LESION] = "lesion", [VESSEL] = "artery",
};

/* Gamma-variate arterial dR2* (1/s), peak AIF_PEAK at AIF_T0 + alpha beta. */
static double aif(double t)
{
    if (t <= AIF_T0)
        return 0;
    double x = (t - AIF_T0) / (AIF_ALPHA * AIF_BETA);
    return AIF_PEAK * pow(x, AIF_ALPHA) * exp(AIF_ALPHA * (1 - x));
}

/* Tissue dR2* per unit blood volume: the arterial curve convolved with the
 * exponential residue exp(-t/MTT)/MTT, so its integral over all time equals
 * the arterial one (the indicator-dilution basis of CBV = int C / int Ca). */
static double tissue_unit(double t)
{
    if (t <= AIF_T0)
        return 0;
    const double h = 0.002;
    size_t n = (size_t)ceil((t - AIF_T0) / h);
    double d = (t - AIF_T0) / (double)n, s = 0;
    for (size_t k = 0; k <= n; k++) {
        double tau = (double)k * d;
        double f = aif(t - tau) * exp(-tau / MTT) / MTT;
        s += (k == 0 || k == n) ? 0.5 * f : f;
    }
    return s * d;
}

static enum region region_at(const struct dsc_phantom *p, size_t x, size_t y)
{
    double n = (double)p->n, c = 0.5 * (n - 1);
    double dx = (double)x - c, dy = (double)y - c;
    if (fabs(dx) < 1.0 && (y == 2 || y == 3))
        return VESSEL;
    double e = (dx / (0.42 * n)) * (dx / (0.42 * n)) + (dy / (0.36 * n)) * (dy / (0.36 * n));
    if (e > 1)
        return BG;
    double r = 0.09 * n, r2 = 0.06 * n;
    if ((dx + 0.2 * n) * (dx + 0.2 * n) + dy * dy <= r * r)
        return NAWM;
    if ((dx - 0.2 * n) * (dx - 0.2 * n) + dy * dy <= r * r)
        return TUMOUR;
    if ((dx - 0.12 * n) * (dx - 0.12 * n) + (dy + 0.2 * n) * (dy + 0.2 * n) <= r2 * r2)
        return LESION;
    return BRAIN;
}

static int make(const struct dsc_phantom *p, qib_volume *out[5], size_t count[NREG],
                double *cbar)
{
    struct qib_geom g;
    size_t dims[4] = {p->n, p->n, p->nz, p->nt};
    int rc = qib_geom_init(&g, 4, dims);
    if (rc)
        return rc;
    g.spacing[0] = g.spacing[1] = 240.0 / (double)p->n; /* 24 cm field of view */
    g.spacing[2] = 5.0;
    g.spacing[3] = p->tr_s;
    for (int a = 0; a < 3; a++)
        g.origin[a] = -0.5 * (double)(dims[a] - 1) * g.spacing[a];
    if ((rc = qib_volume_new(QIB_F32, &g, &out[0])))
        return rc;
    for (int k = 1; k < 5; k++)
        if ((rc = qib_mask_new(&g, &out[k])))
            return rc;
    size_t n3 = p->n * p->n * p->nz, nt = p->nt;
    uint8_t *brain = qib_volume_data_mut(out[1]), *nawm = qib_volume_data_mut(out[2]),
            *tum = qib_volume_data_mut(out[3]), *art = qib_volume_data_mut(out[4]);
    enum region *reg = malloc(p->n * p->n * sizeof *reg);
    double *curve = malloc(NREG * nt * sizeof *curve), *cum = malloc(nt * sizeof *cum);
    if (!reg || !curve || !cum) {
        free(reg);
        free(curve);
        free(cum);
        return QIB_ENOMEM;
    }
    memset(count, 0, NREG * sizeof *count);
    for (size_t y = 0; y < p->n; y++)
        for (size_t x = 0; x < p->n; x++) {
            reg[y * p->n + x] = region_at(p, x, y);
            count[reg[y * p->n + x]] += p->nz;
        }
    /* The reference of the leakage model: the brain outside the lesions. */
    *cbar = (CBV_BRAIN * (double)count[BRAIN] + CBV_NAWM * (double)count[NAWM]) /
            (double)(count[BRAIN] + count[NAWM]);
    double uprev = 0;
    for (size_t f = 0; f < nt; f++) {
        double t = (double)f * p->tr_s, u = tissue_unit(t);
        curve[BG * nt + f] = 0;
        curve[BRAIN * nt + f] = CBV_BRAIN * u;
        curve[NAWM * nt + f] = CBV_NAWM * u;
        curve[TUMOUR * nt + f] = CBV_TUMOUR * u;
        curve[LESION * nt + f] = CBV_LESION * u;
        curve[VESSEL * nt + f] = aif(t);
        /* running trapezoid integral of the reference curve at the frame
         * times: the discretisation the leakage model is fitted with */
        cum[f] = f ? cum[f - 1] + 0.5 * p->tr_s * *cbar * (u + uprev) : 0;
        uprev = u;
    }
    for (size_t f = 0; f < nt; f++) {
        curve[TUMOUR * nt + f] -= p->k2_tumour * cum[f];
        curve[LESION * nt + f] -= p->k2_lesion * cum[f];
    }
    float *s = qib_volume_data_mut(out[0]);
    uint64_t seed = p->seed;
    double te = p->te_ms * 1e-3;
    for (size_t f = 0; f < nt; f++)
        for (size_t i = 0; i < n3; i++) {
            enum region r = reg[i % (p->n * p->n)];
            double v = 0;
            if (r != BG) {
                v = p->s0 * exp(-te * curve[r * nt + f]);
                if (p->noise > 0)
                    v += p->noise * qib__phantom_gauss(&seed);
                if (v < 1)
                    v = 1;
            }
            s[f * n3 + i] = (float)v;
        }
    for (size_t i = 0; i < n3; i++) {
        enum region r = reg[i % (p->n * p->n)];
        brain[i] = r == BRAIN || r == NAWM || r == TUMOUR || r == LESION;
        nawm[i] = r == NAWM;
        tum[i] = r == TUMOUR ? 1 : r == LESION ? 2 : 0;
        art[i] = r == VESSEL;
    }
    qib_meta *m = qib_volume_meta_mut(out[0]);
    qib_meta_set(m, "modality", "MR", "qib phantom dsc");
    qib_meta_set(m, "nifti.time_unit", "s", "qib phantom dsc");
    free(reg);
    free(curve);
    free(cum);
    return QIB_OK;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: qib phantom dsc --out DIR [--size N] [--slices N] [--frames N]\n"
            "                   [--tr S] [--te MS] [--s0 S0] [--noise SD]\n"
            "                   [--k2 K] [--k2-lesion K] [--seed N]\n"
            "\n"
            "A DSC-MRI digital reference object: a gamma-variate arterial bolus\n"
            "(dR2* peak %g 1/s, arrival %g s, alpha %g, beta %g s), tissue curves =\n"
            "CBV x the bolus convolved with an exponential residue (MTT %g s), and\n"
            "two lesions that leak with the Boxerman-Schmainda-Weisskoff model\n"
            "dR2*(t) = CBV u(t) - K2 int_0^t ref, ref = mean curve of the brain\n"
            "outside the lesions.  Signal S = S0 exp(-TE dR2*) + Gaussian noise.\n"
            "Regions: brain (CBV %g mL/100 mL), left NAWM disc (%g), right tumour\n"
            "(%g, K2 > 0: T1-dominant leakage), a smaller lesion (%g, K2 < 0:\n"
            "T2*-dominant), an artery outside the brain.  Writes\n"
            "  DIR/dsc.nii.gz      4-D float32 series, TR in pixdim[4] (s)\n"
            "  DIR/brain.nii.gz    brain mask (lesions and NAWM included)\n"
            "  DIR/nawm.nii.gz     NAWM mask\n"
            "  DIR/tumour.nii.gz   lesion labels: 1 tumour, 2 lesion\n"
            "  DIR/aif.nii.gz      arterial voxels\n"
            "and prints the truth: per region CBV (mL/100 mL, blood and tissue sharing\n"
            "one relaxivity: compare with bio.dsc at hct_large = hct_small = 0,\n"
            "density = 1), rCBV (to NAWM) and K2 (1/s).  NIfTI holds no echo time:\n"
            "give bio.dsc te_ms.\n"
            "\n"
            "  --size N        in-plane matrix N x N, 24 cm field of view (default 64)\n"
            "  --slices N      slices of 5 mm (default 4)\n"
            "  --frames N      time points (default 60)\n"
            "  --tr S          time between frames, s (default 1.5)\n"
            "  --te MS         echo time, ms (default 30)\n"
            "  --s0 S0         baseline signal (default 1000)\n"
            "  --noise SD      noise standard deviation (default 5; 0 = none)\n"
            "  --k2 K          tumour K2, 1/s (default 0.06)\n"
            "  --k2-lesion K   lesion K2, 1/s (default -0.03)\n"
            "  --seed N        random seed (default 1)\n",
            AIF_PEAK, AIF_T0, AIF_ALPHA, AIF_BETA, MTT, 100 * CBV_BRAIN, 100 * CBV_NAWM,
            100 * CBV_TUMOUR, 100 * CBV_LESION);
}

int qib__phantom_dsc(int argc, char **argv)
{
    struct dsc_phantom p = {.n = 64, .nz = 4, .nt = 60, .tr_s = 1.5, .te_ms = 30, .s0 = 1000,
                            .noise = 5, .k2_tumour = 0.06, .k2_lesion = -0.03, .seed = 1};
    const struct qib__phantom_opt opts[] = {
        {"--size", 32, 1024, .count = &p.n},
        {"--slices", 1, 512, .count = &p.nz},
        {"--frames", 30, 1000, .count = &p.nt},
        {"--tr", 0.1, 5, .num = &p.tr_s},
        {"--te", 1, 200, .num = &p.te_ms},
        {"--s0", 10, 1e6, .num = &p.s0},
        {"--noise", 0, 1e5, .num = &p.noise},
        {"--k2", -1, 1, .num = &p.k2_tumour},
        {"--k2-lesion", -1, 1, .num = &p.k2_lesion},
        {"--seed", 0, 9007199254740992.0, .seed = &p.seed},
        {.name = NULL},
    };
    const char *out = NULL;
    int done;
    int st = qib__phantom_parse(argc, argv, opts, NULL, NULL, usage, "qib phantom dsc --help", &out,
                                &done);
    if (st || done)
        return st;
    if (!out) {
        fprintf(stderr, "qib phantom: --out DIR is required\n");
        return QIB_EXIT_USAGE;
    }
    /* The bolus must arrive after a baseline and pass before the end. */
    if (AIF_T0 / p.tr_s < 8 || (double)(p.nt - 1) * p.tr_s < AIF_T0 + 40) {
        fprintf(stderr,
                "qib phantom: --frames %zu x --tr %g s: expected the bolus (arrival %g s) "
                "to have at least 8 frames before it and 40 s after it\n",
                p.nt, p.tr_s, AIF_T0);
        return QIB_EXIT_USAGE;
    }
    if (qib__phantom_mkdirs(out) != 0)
        return QIB_EXIT_FAIL;
    qib_volume *v5[5] = {NULL, NULL, NULL, NULL, NULL};
    size_t count[NREG];
    double cbar = 0;
    int rc = make(&p, v5, count, &cbar);
    if (rc) {
        fprintf(stderr, "qib phantom: %s\n", qib_strerror(rc));
        for (int k = 0; k < 5; k++)
            qib_volume_unref(&v5[k]);
        return QIB_EXIT_FAIL;
    }
    static const char *const names[5] = {"dsc.nii.gz", "brain.nii.gz", "nawm.nii.gz",
                                         "tumour.nii.gz", "aif.nii.gz"};
    for (int k = 0; k < 5 && !rc; k++)
        rc = qib__phantom_write_nifti(v5[k], out, names[k]);
    for (int k = 0; k < 5; k++)
        qib_volume_unref(&v5[k]);
    if (rc)
        return QIB_EXIT_FAIL;
    printf("wrote %s/{dsc,brain,nawm,tumour,aif}.nii.gz: %zux%zux%zu voxels x %zu frames, "
           "TR %g s, TE %g ms, S0 %g, noise SD %g, seed %llu\n",
           out, p.n, p.n, p.nz, p.nt, p.tr_s, p.te_ms, p.s0, p.noise,
           (unsigned long long)p.seed);
    printf("reference (brain outside the lesions): mean CBV %.6g mL/100 mL\n", 100 * cbar);
    printf("%-8s %6s %8s %8s %8s %10s\n", "region", "label", "voxels", "cbv", "rcbv", "k2_per_s");
    const struct {
        enum region r;
        int label;
        double cbv, k2;
    } rows[] = {
        {BRAIN, 0, CBV_BRAIN, 0}, {NAWM, 0, CBV_NAWM, 0}, {TUMOUR, 1, CBV_TUMOUR, p.k2_tumour},
        {LESION, 2, CBV_LESION, p.k2_lesion}, {VESSEL, 0, 1.0, 0},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++)
        printf("%-8s %6d %8zu %8.6g %8.6g %10.6g\n", region_name[rows[k].r], rows[k].label,
               count[rows[k].r], 100 * rows[k].cbv, rows[k].cbv / CBV_NAWM, rows[k].k2);
    return QIB_EXIT_OK;
}
