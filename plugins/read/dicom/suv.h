/* PET SUV factors for read.dicom: from the header values of each slice to
 * the factor that turns its rescaled voxel values into SUV.  Kept apart
 * from the plugin so tests can feed it vendor header sets directly. */
#ifndef QIB_READ_DICOM_SUV_H
#define QIB_READ_DICOM_SUV_H

#include <stddef.h>

#include "qib/meta.h"

#if defined(__GNUC__)
#define QIB__HIDDEN __attribute__((visibility("hidden")))
#else
#define QIB__HIDDEN
#endif

/* Normalisations: the numbering is the order of read.dicom's `suv` choices. */
enum qib__suv_mode {
    QIB__SUV_NONE = 0,
    QIB__SUV_BW,  /* body weight */
    QIB__SUV_BSA, /* body surface area, Du Bois (cm2/ml) */
    QIB__SUV_LBM, /* lean body mass, James (DICOM LBMJAMES128) */
    QIB__SUV_SUL, /* lean body mass, Janmahasatian */
    QIB__SUV_IBW  /* ideal body weight */
};

/* The header values of one slice (one instance or frame).  Text fields are
 * "" and numbers NaN when the attribute is absent. */
struct qib__suv_slice {
    char units[17];         /* (0054,1001) */
    char decay[17];         /* (0054,1102) */
    char suv_type[17];      /* (0054,1006) */
    char sex[17];           /* (0010,0040) */
    char series_date[9];    /* (0008,0021) */
    char series_time[17];   /* (0008,0031) */
    char acq_date[9];       /* (0008,0022) */
    char acq_time[17];      /* (0008,0032) */
    char rp_time[17];       /* (0018,1072) */
    char rp_datetime[27];   /* (0018,1078) */
    char ge_scan_dt[27];    /* (0009,100D), private creator GEMS_PETD_01 */
    double weight;          /* (0010,1030) kg */
    double size;            /* (0010,1020) m */
    double dose;            /* (0018,1074) Bq */
    double half_life;       /* (0018,1075) s */
    double frame_ref_ms;    /* (0054,1300) ms */
    double frame_dur_ms;    /* (0018,1242) ms */
    double philips_suv;     /* (7053,1000) */
    double philips_ac;      /* (7053,1009) */
};

/** Set every field of @p s to "absent". */
QIB__HIDDEN void qib__suv_slice_init(struct qib__suv_slice *s);

/** The factor for each of the @p n slices that turns rescaled values into
 * SUV of @p mode (not QIB__SUV_NONE), following the IBSI SUV manual and the
 * QIBA vendor-neutral pseudo-code (doc/suv.md).  Every header value used is
 * recorded in @p rec (may be NULL) as "suv.*" with its DICOM source.  A value
 * that cannot be determined is an error naming the attribute. */
QIB__HIDDEN int qib__suv_factors(const struct qib__suv_slice *s, size_t n, enum qib__suv_mode mode,
                                 double *factor, qib_meta *rec, char *err, size_t errlen);

#endif
