/* The texture matrix builders of bio.radiomics on the IBSI 1 digital
 * phantom against the matrices the IBSI documentation lists
 * (ibsi-doc/docs/06_Digital_phantom_texture_matrices.rst: the merged 2-D
 * matrices of each slice and the merged 3-D matrices of GLCM, GLRLM,
 * GLSZM, GLDZM, NGTDM and NGLDM, Chebyshev distance 1, coarseness 0).
 * The builders are compiled into this program from
 * plugins/bio/radiomics/texture.c. */
#include "config.h"

#include <stdint.h>

#include "rad.h"
#include "t0600-ibsi.h"

/* texture.c reports features through this; the matrices need none. */
void qib__rad_add(struct rad_list *l, const char *tag, double v, const char *unit)
{
    (void)l, (void)tag, (void)v, (void)unit;
}

static const struct {
    const char *heading, *family;
    int slices; /* 1: one table per slice; 0: one 3-D table */
} sections[] = {
    {"Grey level co-occurrence matrix (2D, merged)", "glcm", 1},
    {"Grey level co-occurrence matrix (3D, merged)", "glcm", 0},
    {"Grey level run length matrix (2D, merged)", "glrlm", 1},
    {"Grey level run length matrix (3D, merged)", "glrlm", 0},
    {"Grey level size zone matrix (2D)", "glszm", 1},
    {"Grey level size zone matrix (3D)", "glszm", 0},
    {"Grey level distance zone matrix (2D)", "gldzm", 1},
    {"Grey level distance zone matrix (3D)", "gldzm", 0},
    {"Neighbourhood grey tone difference matrix (2D)", "ngtdm", 1},
    {"Neighbourhood grey tone difference matrix (3D)", "ngtdm", 0},
    {"Neighbouring grey level dependence matrix (2D)", "ngldm", 1},
    {"Neighbouring grey level dependence matrix (3D)", "ngldm", 0},
};

/* Compare the table that starts at *p (after ".. table::") with our matrix;
 * advances *p past it. */
static void compare_table(char **p, const struct rad_roi *r, const char *family, long slice,
                          const char *what)
{
    struct rad_tex tex = {RAD_3D, 1, 0, 1};
    double *m = NULL;
    size_t nr = 0, nc = 0;
    if (qib__rad_matrix(r, &tex, family, slice, &m, &nr, &nc) != QIB_OK)
        bail("%s: matrix not built", what);
    char *s = strstr(*p, "+===");
    if (!s)
        bail("%s: table body not found", what);
    s = strchr(s, '\n');
    int good = 1, rows = 0;
    double refsum = 0, oursum = 0;
    int ngtdm = !strcmp(family, "ngtdm");
    while (s && *++s) {
        while (*s == ' ')
            s++;
        if (*s == '+') {
            s = strchr(s, '\n');
            continue;
        }
        if (*s != '|')
            break;
        double a, b, c;
        if (sscanf(s, "| %lf | %lf | %lf |", &a, &b, &c) != 3)
            bail("%s: unreadable row", what);
        rows++;
        size_t i = (size_t)a - 1;
        if (ngtdm) {
            refsum += c;
            if (i >= nr || fabs(m[2 * i] - b) > 1e-5 || m[2 * i + 1] != c) {
                good = 0;
                diag("%s: level %g: s %g n %g, want s %g n %g", what, a, i < nr ? m[2 * i] : NAN,
                     i < nr ? m[2 * i + 1] : NAN, b, c);
            }
        } else {
            size_t j = (size_t)b - 1;
            refsum += c;
            if (i >= nr || j >= nc || m[i * nc + j] != c) {
                good = 0;
                diag("%s: (%g, %g) = %g, want %g", what, a, b,
                     i < nr && j < nc ? m[i * nc + j] : NAN, c);
            }
        }
        s = strchr(s, '\n');
    }
    for (size_t k = 0; k < nr * nc; k++)
        if (!ngtdm || k % 2 == 1)
            oursum += m[k];
    ok(good && rows > 0 && oursum == refsum, "%s: %d entries, total %g (want %g)", what, rows,
       oursum, refsum);
    free(m);
    *p = s ? s : *p + strlen(*p);
}

int main(void)
{
    char *ip = refdata_path("ibsi_data_sets/orig/ibsi_1_digital_phantom/nifti/image/phantom.nii.gz");
    char *mp = refdata_path("ibsi_data_sets/orig/ibsi_1_digital_phantom/nifti/mask/mask.nii.gz");
    char *dp = refdata_path(
        "ibsi_reference_values/orig/ibsi-doc/docs/06_Digital_phantom_texture_matrices.rst");
    char *doc = dp ? slurp(dp, NULL) : NULL;
    if (!ip || !mp || !doc)
        skip_all("IBSI digital phantom or its texture matrices not found under QIB_REFDATA");
    plan_lazy();
    qib_volume *img = t06_read_nifti(ip, "volume"), *msk = t06_read_nifti(mp, "mask");
    if (!img || !msk)
        bail("cannot read the digital phantom");
    const struct qib_geom *g = qib_volume_geom(img);
    struct rad_roi r;
    memset(&r, 0, sizeof r);
    r.nx = g->dims[0], r.ny = g->dims[1], r.nz = g->dims[2];
    size_t n = r.nx * r.ny * r.nz;
    for (int a = 0; a < 3; a++)
        r.sp[a] = g->spacing[a];
    r.val = malloc(n * sizeof *r.val);
    r.morph = malloc(n);
    r.in = malloc(n);
    r.gl = malloc(n * sizeof *r.gl);
    qib_volume_to_f64(img, r.val);
    const uint8_t *lab = qib_volume_data(msk);
    r.ng = 0;
    for (size_t i = 0; i < n; i++) {
        r.morph[i] = r.in[i] = lab[i] != 0;
        /* the phantom needs no discretisation: its values are the levels */
        r.gl[i] = lab[i] ? (int)r.val[i] : 0;
        r.ng = r.gl[i] > r.ng ? r.gl[i] : r.ng;
    }
    is_int(r.ng, 6, "phantom grey levels 1..6");
    for (size_t k = 0; k < sizeof sections / sizeof sections[0]; k++) {
        char head[160];
        snprintf(head, sizeof head, "\n%s\n---", sections[k].heading);
        char *p = strstr(doc, head);
        if (!ok(p != NULL, "section \"%s\" found", sections[k].heading))
            continue;
        p += strlen(head);
        for (long z = 0; z < (sections[k].slices ? (long)r.nz : 1); z++) {
            char *t = strstr(p, ".. table::");
            if (!t)
                bail("%s: table %ld missing", sections[k].heading, z + 1);
            char what[200];
            snprintf(what, sizeof what, "%s %s", sections[k].heading,
                     sections[k].slices ? (char[]){'s', 'l', 'i', 'c', 'e', ' ', (char)('1' + z), 0}
                                        : "volume");
            p = t + 10;
            compare_table(&p, &r, sections[k].family, sections[k].slices ? z : -1, what);
        }
    }
    free(r.val), free(r.morph), free(r.in), free(r.gl);
    qib_volume_unref(&img);
    qib_volume_unref(&msk);
    free(doc), free(ip), free(mp), free(dp);
    return tap_done();
}
