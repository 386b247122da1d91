/* bio.radiomics internals: the cropped region of interest every feature
 * family works on, the feature list the families append to, and the family
 * entry points.  Everything here is compiled into the one bio.radiomics
 * module and hidden (the module exports only its entry symbol). */
#ifndef QIB_RAD_H
#define QIB_RAD_H

#include <stddef.h>
#include <stdint.h>

#include "qib/qib.h"

/* Aggregation methods of the texture families (IBSI 3.1.x, "texture matrix
 * aggregation"), one bit each.  Tags in the reference tables: _2D_avg,
 * _2D_comb (slice-merged), _2_5D_avg (direction-merged), _2_5D_comb
 * (merged), _3D_avg, _3D_comb.  GLSZM, GLDZM, NGTDM and NGLDM have one
 * method per dimension (_2D, _2_5D, _3D): either bit of a dimension
 * selects it. */
enum rad_dim {
    RAD_2D_AVG = 1, RAD_2D_COMB = 2, RAD_2_5D_AVG = 4, RAD_2_5D_COMB = 8, RAD_3D_AVG = 16,
    RAD_3D_COMB = 32,
    RAD_2D = RAD_2D_AVG | RAD_2D_COMB,
    RAD_2_5D = RAD_2_5D_AVG | RAD_2_5D_COMB,
    RAD_3D = RAD_3D_AVG | RAD_3D_COMB
};

/* The region of interest cropped to the bounding box of the morphological
 * mask.  Voxel (x, y, z) is at index x + nx * (y + ny * z); slices are the
 * planes of constant z. */
struct rad_roi {
    size_t nx, ny, nz;
    double sp[3];         /* voxel spacing, mm */
    double *val;          /* intensities (rounded where asked) */
    uint8_t *morph;       /* morphological mask (before re-segmentation) */
    uint8_t *in;          /* intensity mask (after re-segmentation) */
    int *gl;              /* discretised grey level (1..ng) inside in, 0 outside */
    int ng;               /* number of grey levels of the discretisation */
    int *ivh_gl;          /* grey levels for the IVH (1..ivh_n), 0 outside */
    int ivh_n;            /* number of IVH levels */
    double ivh_lo, ivh_w; /* IVH level g stands for intensity ivh_lo + (g-1) * ivh_w */
    double ivh_min, ivh_max; /* the intensity range the fractions v_x refer to */
    /* The box reaches past the mask by the local-intensity sphere's radius
     * (clipped at the image edge), so val also holds the neighbours the
     * local intensity peak averages over; outside the masks it is still
     * image. */
};

/* One computed feature. */
struct rad_feat {
    char tag[48];
    double v;
    const char *unit; /* static string or NULL */
};

/* A growing list of features; err is set (QIB_ENOMEM) when an append failed. */
struct rad_list {
    struct rad_feat *f;
    size_t n, cap;
    int err;
};

/* Texture settings of one texture family. */
struct rad_tex {
    int dims;        /* enum rad_dim bits: the aggregation methods computed */
    int dist;        /* GLCM, NGTDM, NGLDM: Chebyshev distance */
    int alpha;       /* NGLDM coarseness */
    int link;        /* GLSZM/GLDZM linkage: Chebyshev distance of connection */
};

void qib__rad_add(struct rad_list *l, const char *tag, double v, const char *unit);
void qib__rad_free(struct rad_list *l);

/* Families.  unit is the image's intensity unit ("HU", or "" when none). */
void qib__rad_stat(const struct rad_roi *r, const char *unit, struct rad_list *out);
void qib__rad_hist(const struct rad_roi *r, struct rad_list *out);
void qib__rad_ivh(const struct rad_roi *r, struct rad_list *out);
void qib__rad_local(const struct rad_roi *r, const char *unit, struct rad_list *out);
void qib__rad_morph(const struct rad_roi *r, struct rad_list *out);
/* Moran's I and Geary's C (the last two morphology features; a task of
 * their own because they cost the most). */
void qib__rad_moran(const struct rad_roi *r, struct rad_list *out);
void qib__rad_glcm(const struct rad_roi *r, const struct rad_tex *t, struct rad_list *out);
void qib__rad_glrlm(const struct rad_roi *r, const struct rad_tex *t, struct rad_list *out);
void qib__rad_glszm(const struct rad_roi *r, const struct rad_tex *t, struct rad_list *out);
void qib__rad_gldzm(const struct rad_roi *r, const struct rad_tex *t, struct rad_list *out);
void qib__rad_ngtdm(const struct rad_roi *r, const struct rad_tex *t, struct rad_list *out);
void qib__rad_ngldm(const struct rad_roi *r, const struct rad_tex *t, struct rad_list *out);

/* The merged matrix of a texture family ("glcm", "glrlm", "glszm",
 * "gldzm", "ngtdm", "ngldm") of slice @p slice (2-D, directions merged) or
 * of the volume (slice < 0; 3-D, directions merged), for the unit tests of
 * the matrix builders.  Row i is grey level i+1; column j is count j+1,
 * except for NGTDM whose two columns are s_i and n_i.  *m is malloc'd. */
int qib__rad_matrix(const struct rad_roi *r, const struct rad_tex *t, const char *family,
                    long slice, double **m, size_t *nrow, size_t *ncol);

#endif
