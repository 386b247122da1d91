/* read.dicom: one image series from directories of DICOM files (searched
 * recursively) and files: series chosen by UID, number, description
 * or modality; slices sorted along the slice normal and checked for gaps,
 * duplicates and tilt; voxels rescaled per slice; PET optionally converted
 * to SUV.  The rules are explained in doc/dicom.md and doc/suv.md. */
#include <config.h>

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qib/qib.h"

#include "dicom.h"
#include "suv.h"

#define T(g, e) QIB__DCM_TAG(g, e)
/* Relative tolerance on slice steps, pixel spacing and orientation. */
#define GEOM_TOL 0.01
/* Slice positions closer than this (mm) are the same position. */
#define SAME_POS_MM 0.01
/* Tilt (degrees) of the slice stack against the slice normal that is still
 * taken for rounding of the positions. */
#define TILT_TOL_DEG 0.05

struct priv {
    struct qib_plist path;
    char *series_uid;
    int64_t series_number;
    char *description;
    char *modality;
    int suv;
};

static const char *const suv_choices[] = {"none", "bw", "bsa", "lbm", "sul", "ibw", NULL};

static const struct qib_param params[] = {
    {.name = "path",
     .type = QIB_PARAM_PLIST,
     .offset = offsetof(struct priv, path),
     .flags = QIB_PARAM_REQUIRED,
     .help = "a directory (searched recursively; files that are not DICOM are skipped), one "
             "DICOM file, or a list of files and directories [a, b, ...], each of which must "
             "exist"},
    {.name = "series_uid",
     .type = QIB_PARAM_STRING,
     .offset = offsetof(struct priv, series_uid),
     .help = "keep only the series with this SeriesInstanceUID (0020,000E)"},
    {.name = "series_number",
     .type = QIB_PARAM_INT,
     .offset = offsetof(struct priv, series_number),
     .def = "-1",
     .min = -1,
     .flags = QIB_PARAM_MIN,
     .help = "keep only series with this SeriesNumber (0020,0011); -1 keeps any"},
    {.name = "description",
     .type = QIB_PARAM_STRING,
     .offset = offsetof(struct priv, description),
     .help = "keep only series whose SeriesDescription (0008,103E) matches this shell pattern "
             "(case-insensitive, e.g. \"*PET*AC*\")"},
    {.name = "modality",
     .type = QIB_PARAM_STRING,
     .offset = offsetof(struct priv, modality),
     .help = "keep only series of this Modality (0008,0060): CT, MR, PT, ..."},
    {.name = "suv",
     .type = QIB_PARAM_ENUM,
     .offset = offsetof(struct priv, suv),
     .def = "none",
     .choices = suv_choices,
     .help = "PET only: none keeps the stored unit (e.g. BQML); bw, bsa, lbm (James), sul "
             "(Janmahasatian lean body mass) or ibw converts to that SUV (g/ml; bsa in cm2/ml)"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "image",
     .kind = QIB_OBJ_VOLUME,
     .help = "the series in LPS millimetres: i16 when the rescaled values are integers that fit, "
             "f32 otherwise; 4-D for dynamic or multi-b-value series"},
    {.name = "series",
     .kind = QIB_OBJ_TABLE,
     .flags = QIB_PORT_OPTIONAL,
     .help = "every image series found under path (number, modality, description, files, uid) "
             "and which one was read"},
    {.name = NULL},
};

/* ------------------------------------------------------------------------
 * Error text built up before it goes to qib_fail. */

static int failf(qib_step *step, int status, const char *fmt, ...) QIB_PRINTF(3, 4);

static int failf(qib_step *step, int status, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return qib_fail(step, status, "%s", buf);
}

/* ------------------------------------------------------------------------
 * Series found under the paths (core/dicom.c). */

/* The paths as a message names them: the one path, or how many. */
static void paths_label(const struct qib_plist *pl, char *buf, size_t len)
{
    if (pl->n == 1)
        snprintf(buf, len, "%s", pl->v[0]);
    else
        snprintf(buf, len, "%s and %zu more path%s", pl->v[0], pl->n - 1, pl->n == 2 ? "" : "s");
}

static int scan_paths(qib_step *step, const struct qib_plist *pl, struct qib__dcm_scan *sc)
{
    char err[1024];
    int rc = qib__dcm_scan((const char *const *)pl->v, pl->n, sc, err, sizeof err);
    if (rc)
        return failf(step, rc, "%s", err);
    return QIB_OK;
}

static int keep(const struct priv *p, const struct qib__dcm_series *s)
{
    if (p->series_uid && strcmp(p->series_uid, s->uid) != 0)
        return 0;
    if (p->series_number >= 0 && s->number != p->series_number)
        return 0;
    if (p->description && fnmatch(p->description, s->desc, FNM_CASEFOLD) != 0)
        return 0;
    if (p->modality && strcasecmp(p->modality, s->modality) != 0)
        return 0;
    return 1;
}

/* "series 3 (CT, "CHEST 1.0", 300 files, UID 1.2...)" lines for messages. */
static void list_series(const struct qib__dcm_scan *sc, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sc->ns && k < len; i++) {
        const struct qib__dcm_series *s = &sc->s[i];
        char num[24] = "(no number)";
        if (s->number >= 0)
            snprintf(num, sizeof num, "%ld", s->number);
        int w = snprintf(buf + k, len - k, "\n  series %s: %s, \"%s\", %zu file%s, uid %s", num,
                         s->modality[0] ? s->modality : "?", s->desc, s->n, s->n == 1 ? "" : "s",
                         s->uid);
        if (w < 0)
            break;
        k += (size_t)w;
    }
}

/* ------------------------------------------------------------------------
 * One slice (an instance, or a frame of a multi-frame instance). */

struct slice {
    size_t file;        /* index into the file list */
    struct qib__dcm *d; /* owned by the instance table, borrowed here */
    const uint8_t *px;  /* first stored value of this slice */
    size_t stride;      /* bytes from one row of the slice to the next */
    double ipp[3];
    double proj;        /* position along the slice normal */
    double slope, inter;
    double order4;      /* sort key among slices at one position */
    double bvalue;      /* NaN when none */
    double bvec[3];     /* diffusion gradient direction (LPS); bvec[0] NaN when none */
    double acq_s;       /* acquisition time, seconds after midnight; NaN */
    double fref_ms;     /* FrameReferenceTime (0054,1300), ms; NaN when absent */
    double fdur_ms;     /* ActualFrameDuration (0018,1242), ms; NaN when absent */
    long inum;          /* InstanceNumber */
};

struct pixfmt {
    int bits, stored, high, is_signed, be;
};

static int cmp_slice(const void *a, const void *b)
{
    const struct slice *x = a, *y = b;
    if (x->proj < y->proj - SAME_POS_MM)
        return -1;
    if (x->proj > y->proj + SAME_POS_MM)
        return 1;
    if (x->order4 != y->order4)
        return x->order4 < y->order4 ? -1 : 1;
    if (x->inum != y->inum)
        return x->inum < y->inum ? -1 : 1;
    return x->file < y->file ? -1 : x->file > y->file;
}

static double tm_seconds(const char *s)
{
    char b[24];
    size_t k = 0;
    for (; *s && k < sizeof b - 1; s++)
        if (*s != ':')
            b[k++] = *s;
    b[k] = '\0';
    if (strlen(b) < 6)
        return NAN;
    double hh = (b[0] - '0') * 10 + (b[1] - '0'), mm = (b[2] - '0') * 10 + (b[3] - '0');
    return hh * 3600 + mm * 60 + strtod(b + 4, NULL);
}

/* Diffusion b-value: the standard attribute, then the vendors' private ones
 * (Siemens (0019,100C), GE (0043,1039) first value minus 1e9 offsets, Philips
 * (2001,1003)). */
static double bvalue_of(const struct qib__dcm *d)
{
    double v[4];
    if (qib__dcm_num(d, 0, T(0x0018, 0x9087), v, 1) == 1)
        return v[0];
    uint32_t mr = qib__dcm_find(d, 0, T(0x0018, 0x9117));
    if (mr && qib__dcm_nums(d, qib__dcm_find(d, qib__dcm_item(d, mr, 0), T(0x0018, 0x9087)), v, 1) == 1)
        return v[0];
    char creator[68];
    if (qib__dcm_str(d, 0, T(0x0019, 0x0010), creator, sizeof creator) &&
        strcmp(creator, "SIEMENS MR HEADER") == 0 && qib__dcm_num(d, 0, T(0x0019, 0x100C), v, 1) == 1)
        return v[0];
    if (qib__dcm_str(d, 0, T(0x0043, 0x0010), creator, sizeof creator) &&
        strcmp(creator, "GEMS_PARM_01") == 0 && qib__dcm_num(d, 0, T(0x0043, 0x1039), v, 1) == 1)
        return fmod(v[0], 1e9);
    if (qib__dcm_str(d, 0, T(0x2001, 0x0010), creator, sizeof creator) &&
        strcmp(creator, "Philips Imaging DD 001") == 0 && qib__dcm_num(d, 0, T(0x2001, 0x1003), v, 1) == 1)
        return v[0];
    return NAN;
}

static uint32_t private_elem(const struct qib__dcm *d, uint32_t parent, unsigned group, unsigned elem,
                             const char *creator);

/* Diffusion gradient direction in patient axes: the frame's
 * MRDiffusionSequence, the top-level (0018,9089), or Siemens (0019,100E).
 * v[0] is NaN when there is none. */
static void gradient_of(const struct qib__dcm *d, uint32_t pfi, double v[3])
{
    uint32_t mr = pfi ? qib__dcm_item(d, qib__dcm_find(d, pfi, T(0x0018, 0x9117)), 0) : 0;
    if (!mr)
        mr = qib__dcm_item(d, qib__dcm_find(d, 0, T(0x0018, 0x9117)), 0);
    uint32_t g = mr ? qib__dcm_find_in_seq(d, mr, T(0x0018, 0x9076), T(0x0018, 0x9089)) : 0;
    if (!g)
        g = qib__dcm_find(d, 0, T(0x0018, 0x9089));
    if (!g)
        g = private_elem(d, 0, 0x0019, 0x100E, "SIEMENS MR HEADER");
    if (qib__dcm_nums(d, g, v, 3) != 3)
        v[0] = NAN;
}

/* A private element whose block is reserved by @p creator, or absent
 * reservation (anonymised copies often keep the element and drop its
 * creator).  Returns the node or 0. */
static uint32_t private_elem(const struct qib__dcm *d, uint32_t parent, unsigned group, unsigned elem,
                             const char *creator)
{
    char c[68];
    unsigned block = (elem >> 8) & 0xFF;
    uint32_t cn = qib__dcm_find(d, parent, T(group, block));
    if (cn && qib__dcm_text(d, cn, c, sizeof c) && strcasecmp(c, creator) != 0)
        return 0;
    return qib__dcm_find(d, parent, T(group, elem));
}

static void suv_slice_of(const struct qib__dcm *d, struct qib__suv_slice *s)
{
    qib__suv_slice_init(s);
    qib__dcm_str(d, 0, T(0x0054, 0x1001), s->units, sizeof s->units);
    qib__dcm_str(d, 0, T(0x0054, 0x1102), s->decay, sizeof s->decay);
    qib__dcm_str(d, 0, T(0x0054, 0x1006), s->suv_type, sizeof s->suv_type);
    qib__dcm_str(d, 0, T(0x0010, 0x0040), s->sex, sizeof s->sex);
    qib__dcm_str(d, 0, T(0x0008, 0x0021), s->series_date, sizeof s->series_date);
    qib__dcm_str(d, 0, T(0x0008, 0x0031), s->series_time, sizeof s->series_time);
    qib__dcm_str(d, 0, T(0x0008, 0x0022), s->acq_date, sizeof s->acq_date);
    qib__dcm_str(d, 0, T(0x0008, 0x0032), s->acq_time, sizeof s->acq_time);
    uint32_t rp = qib__dcm_item(d, qib__dcm_find(d, 0, T(0x0054, 0x0016)), 0);
    if (rp) {
        qib__dcm_str(d, rp, T(0x0018, 0x1072), s->rp_time, sizeof s->rp_time);
        qib__dcm_str(d, rp, T(0x0018, 0x1078), s->rp_datetime, sizeof s->rp_datetime);
        qib__dcm_num(d, rp, T(0x0018, 0x1074), &s->dose, 1);
        qib__dcm_num(d, rp, T(0x0018, 0x1075), &s->half_life, 1);
    }
    qib__dcm_text(d, private_elem(d, 0, 0x0009, 0x100D, "GEMS_PETD_01"), s->ge_scan_dt,
                  sizeof s->ge_scan_dt);
    qib__dcm_num(d, 0, T(0x0010, 0x1030), &s->weight, 1);
    qib__dcm_num(d, 0, T(0x0010, 0x1020), &s->size, 1);
    qib__dcm_num(d, 0, T(0x0054, 0x1300), &s->frame_ref_ms, 1);
    qib__dcm_num(d, 0, T(0x0018, 0x1242), &s->frame_dur_ms, 1);
    qib__dcm_nums(d, private_elem(d, 0, 0x7053, 0x1000, "Philips PET Private Group"), &s->philips_suv, 1);
    qib__dcm_nums(d, private_elem(d, 0, 0x7053, 0x1009, "Philips PET Private Group"), &s->philips_ac, 1);
}

/* ------------------------------------------------------------------------
 * Voxel conversion, one slice per block. */

struct conv {
    const struct slice *sl;
    size_t nsl;
    size_t nx, ny; /* voxels per row, rows */
    size_t page;   /* memory page size, a power of two */
    struct pixfmt pf;
    enum qib_dtype out;
    void *dst;
    const double *factor; /* per slice SUV factor, or NULL */
    const size_t *dst_slot; /* output slice index of each sorted slice */
};

static inline int64_t raw_at(const uint8_t *p, size_t i, const struct pixfmt *pf)
{
    uint64_t u;
    if (pf->bits == 8) {
        u = p[i];
    } else if (pf->bits == 16) {
        const uint8_t *b = p + 2 * i;
        u = pf->be ? (uint64_t)((b[0] << 8) | b[1]) : (uint64_t)(b[0] | (b[1] << 8));
    } else {
        const uint8_t *b = p + 4 * i;
        u = pf->be ? ((uint64_t)b[0] << 24) | ((uint64_t)b[1] << 16) | ((uint64_t)b[2] << 8) | b[3]
                   : (uint64_t)b[0] | ((uint64_t)b[1] << 8) | ((uint64_t)b[2] << 16) |
                         ((uint64_t)b[3] << 24);
    }
    int shift = pf->high + 1 - pf->stored;
    u = (u >> shift) & ((1ull << pf->stored) - 1);
    if (pf->is_signed && (u >> (pf->stored - 1)) & 1)
        return (int64_t)u - (int64_t)(1ull << pf->stored);
    return (int64_t)u;
}

/* One row of @p n stored values into voxels. */
static void conv_row(const struct conv *c, const struct slice *s, const uint8_t *src, size_t n,
                     void *dstv)
{
    /* 16-bit little-endian values whose high bit is BitsStored - 1 (nearly
     * every CT and MR): masked or sign-extended in a loop the compiler
     * vectorises. */
    int le16 = c->pf.bits == 16 && !c->pf.be && c->pf.high == c->pf.stored - 1;
    int plain16 = le16 && c->pf.stored == 16;
    if (c->out == QIB_I16) {
        int16_t *d = dstv;
        int64_t m = (int64_t)s->slope, b = (int64_t)s->inter;
        if (le16 && m == 1 && !c->pf.is_signed) {
            uint16_t mask = (uint16_t)((1u << c->pf.stored) - 1u);
            for (size_t i = 0; i < n; i++) {
                uint16_t v;
                memcpy(&v, src + 2 * i, 2);
                d[i] = (int16_t)((v & mask) + b);
            }
        } else if (le16 && m == 1) {
            int sh = 16 - c->pf.stored;
            for (size_t i = 0; i < n; i++) {
                uint16_t v;
                memcpy(&v, src + 2 * i, 2);
                d[i] = (int16_t)((int16_t)(uint16_t)(v << sh) / (1 << sh) + b);
            }
        } else {
            for (size_t i = 0; i < n; i++)
                d[i] = (int16_t)(raw_at(src, i, &c->pf) * m + b);
        }
    } else {
        float *d = dstv;
        size_t k = (size_t)(s - c->sl);
        double f = c->factor ? c->factor[k] : 1.0;
        double m = s->slope * f, b = s->inter * f;
        if (plain16 && c->pf.is_signed) {
            for (size_t i = 0; i < n; i++) {
                int16_t v;
                memcpy(&v, src + 2 * i, 2);
                d[i] = (float)(v * m + b);
            }
        } else {
            for (size_t i = 0; i < n; i++)
                d[i] = (float)((double)raw_at(src, i, &c->pf) * m + b);
        }
    }
}

static void conv_block(void *arg, size_t block, size_t begin, size_t end)
{
    (void)block;
    const struct conv *c = arg;
    size_t esz = qib_dtype_size(c->out);
    for (size_t k = begin; k < end; k++) {
        const struct slice *s = &c->sl[k];
        uint8_t *dst = (uint8_t *)c->dst + c->dst_slot[k] * c->nx * c->ny * esz;
        if (s->stride == 0) {
            conv_row(c, s, s->px, c->nx * c->ny, dst);
            /* The stored values are not read again: give their pages back,
             * so the mapped files and the volume do not both stay
             * resident (peak memory near the volume's size). */
            size_t bytes = c->nx * c->ny * (size_t)(c->pf.bits / 8);
            uintptr_t a = ((uintptr_t)s->px + c->page - 1) & ~(uintptr_t)(c->page - 1);
            uintptr_t e = ((uintptr_t)s->px + bytes) & ~(uintptr_t)(c->page - 1);
            if (e > a && s->d->map && !s->d->owned)
                madvise((void *)a, e - a, MADV_DONTNEED);
            continue;
        }
        for (size_t y = 0; y < c->ny; y++)
            conv_row(c, s, s->px + y * s->stride, c->nx, dst + y * c->nx * esz);
    }
}

/* The smallest and largest stored value of slice @p s (nx x ny). */
static void stored_range(const struct slice *s, size_t nx, size_t ny, const struct pixfmt *pf,
                         int64_t *lo, int64_t *hi)
{
    int64_t a = INT64_MAX, b = INT64_MIN;
    size_t rows = s->stride ? ny : 1, n = s->stride ? nx : nx * ny;
    for (size_t y = 0; y < rows; y++)
        for (size_t i = 0; i < n; i++) {
            int64_t v = raw_at(s->px + y * s->stride, i, pf);
            if (v < a)
                a = v;
            if (v > b)
                b = v;
        }
    *lo = a;
    *hi = b;
}

/* ------------------------------------------------------------------------
 * Geometry and assembly of the chosen series. */

struct build {
    qib_step *step;
    const struct priv *p;
    struct qib__dcm_scan *sc;
    struct qib__dcm_series *se;
    struct qib__dcm **dcm; /* per instance of the series */
    struct slice *sl;
    size_t nsl;
    double *gfo; /* GridFrameOffsetVector of the instance being read */
};

static void build_free(struct build *b)
{
    if (b->dcm)
        for (size_t i = 0; i < b->se->n; i++)
            qib__dcm_free(&b->dcm[i]);
    free(b->dcm);
    free(b->sl);
    free(b->gfo);
}

static const char *fname(const struct build *b, const struct slice *s)
{
    return b->sc->files.v[s->file];
}

static void cross(const double a[3], const double b[3], double c[3])
{
    c[0] = a[1] * b[2] - a[2] * b[1];
    c[1] = a[2] * b[0] - a[0] * b[2];
    c[2] = a[0] * b[1] - a[1] * b[0];
}

static double dot(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static int normalize(double v[3])
{
    double n = sqrt(dot(v, v));
    if (!(n > 0))
        return 0;
    for (int i = 0; i < 3; i++)
        v[i] /= n;
    return 1;
}

/* Images in a Siemens mosaic ((0019,100A) with MOSAIC in ImageType), or 0. */
static long mosaic_images(const struct qib__dcm *d)
{
    char it[128];
    double n;
    if (!qib__dcm_str(d, 0, T(0x0008, 0x0008), it, sizeof it) || !strstr(it, "MOSAIC"))
        return 0;
    if (qib__dcm_nums(d, private_elem(d, 0, 0x0019, 0x100A, "SIEMENS MR HEADER"), &n, 1) != 1 ||
        !(n >= 1) || n > 65535)
        return 0;
    return (long)n;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* A 3-vector from the Siemens CSA image header (0029,1010), format SV10:
 * tags of 84 bytes (name[64], vm, vr[4], syngodt, nitems, xx), each item
 * four int32 (the second its length) and the value padded to 4 bytes. */
static int csa_vector(const struct qib__dcm *d, const char *name, double out[3])
{
    uint32_t n = private_elem(d, 0, 0x0029, 0x1010, "SIEMENS CSA HEADER");
    if (!n || d->nodes[n].is_sq)
        return 0;
    const uint8_t *p = d->buf + d->nodes[n].off;
    size_t len = d->nodes[n].len, pos = 16;
    if (len < 16 || memcmp(p, "SV10", 4) != 0)
        return 0;
    uint32_t ntags = le32(p + 8);
    for (uint32_t t = 0; t < ntags && t < 1024; t++) {
        if (len - pos < 84)
            return 0;
        char tname[65];
        memcpy(tname, p + pos, 64);
        tname[64] = '\0';
        uint32_t nitems = le32(p + pos + 76);
        pos += 84;
        int want = strcmp(tname, name) == 0;
        int got = 0;
        for (uint32_t k = 0; k < nitems && k < 4096; k++) {
            if (len - pos < 16)
                return 0;
            uint32_t il = le32(p + pos + 4);
            pos += 16;
            if (il > len - pos)
                return 0;
            if (want && got < 3 && il > 0) {
                char b[64];
                size_t m = il < sizeof b - 1 ? il : sizeof b - 1;
                memcpy(b, p + pos, m);
                b[m] = '\0';
                char *e;
                double x = strtod(b, &e);
                if (e == b)
                    return 0;
                out[got++] = x;
            }
            size_t adv = ((size_t)il + 3) & ~(size_t)3;
            if (adv > len - pos)
                adv = len - pos;
            pos += adv;
        }
        if (want)
            return got == 3;
    }
    return 0;
}

/* NumberOfFrames: 1 when absent, -1 when not a sane count. */
static long frames_of(const struct qib__dcm *d)
{
    double fr;
    if (qib__dcm_num(d, 0, T(0x0028, 0x0008), &fr, 1) != 1)
        return 1;
    if (!(fr >= 1 && fr <= 1048576) || fr != floor(fr))
        return -1;
    return (long)fr;
}

/* An attribute of an enhanced multi-frame image: inside functional group
 * @p seq of the frame's item @p pf, else of the shared item @p sh, else at
 * the top level (classic images). */
static uint32_t fg_find(const struct qib__dcm *d, uint32_t pf, uint32_t sh, uint32_t seq, uint32_t tag)
{
    uint32_t n = 0;
    if (pf)
        n = qib__dcm_find_in_seq(d, pf, seq, tag);
    if (!n && sh)
        n = qib__dcm_find_in_seq(d, sh, seq, tag);
    if (!n)
        n = qib__dcm_find(d, 0, tag);
    return n;
}

static int fg_num(const struct qib__dcm *d, uint32_t pf, uint32_t sh, uint32_t seq, uint32_t tag,
                  double *v, int nmax)
{
    return qib__dcm_nums(d, fg_find(d, pf, sh, seq, tag), v, nmax);
}

static int read_series(struct build *b, qib_volume **outv)
{
    qib_step *step = b->step;
    struct qib__dcm_series *se = b->se;
    char err[512];
    int rc;
    b->dcm = calloc(se->n, sizeof *b->dcm);
    if (!b->dcm)
        return qib_fail(step, QIB_ENOMEM, "out of memory");
    /* Reference values from the first instance; every other must agree. */
    long rows = 0, cols = 0;
    double iop[6] = {0}, ps[2] = {0};
    struct pixfmt pf = {0};
    size_t nsl = 0;
    long mosaic = 0; /* images per Siemens mosaic, 0 when not a mosaic */
    for (size_t i = 0; i < se->n; i++) {
        const char *f = b->sc->files.v[se->idx[i]];
        rc = qib__dcm_open(f, &b->dcm[i], err, sizeof err);
        if (rc)
            return failf(step, rc, "%s: %s", f, err);
        const struct qib__dcm *d = b->dcm[i];
        long nf = frames_of(d);
        if (nf < 0)
            return failf(step, QIB_EFORMAT, "%s: NumberOfFrames (0028,0008) is not a count from 1 "
                         "to 1048576", f);
        uint32_t pfseq = qib__dcm_find(d, 0, T(0x5200, 0x9230));
        double gfov;
        int grid = qib__dcm_num(d, 0, T(0x3004, 0x000C), &gfov, 1) == 1;
        if (nf > 1 && !pfseq && !grid)
            return failf(step, QIB_EUNSUPPORTED, "%s: multi-frame instance (NumberOfFrames %ld) "
                         "without PerFrameFunctionalGroupsSequence (5200,9230) or "
                         "GridFrameOffsetVector (3004,000C): only enhanced multi-frame images and "
                         "RT Dose grids are read", f, nf);
        if (pfseq && qib__dcm_nitems(d, pfseq) != (size_t)nf)
            return failf(step, QIB_EFORMAT, "%s: PerFrameFunctionalGroupsSequence has %zu items for "
                         "%ld frames", f, qib__dcm_nitems(d, pfseq), nf);
        long nm = nf == 1 ? mosaic_images(d) : 0;
        if (i == 0)
            mosaic = nm;
        else if (nm != mosaic)
            return failf(step, QIB_EFORMAT, "%s holds %ld mosaic images, %s %ld", f, nm,
                         b->sc->files.v[se->idx[0]], mosaic);
        nsl += nm ? (size_t)nm : (size_t)nf;
    }
    b->sl = calloc(nsl, sizeof *b->sl);
    if (!b->sl)
        return qib_fail(step, QIB_ENOMEM, "out of memory");
    b->nsl = nsl;
    long tile_r = 0, tile_c = 0;
    const char *f0 = b->sc->files.v[se->idx[0]];
    for (size_t i = 0, si = 0; i < se->n; i++) {
        const struct qib__dcm *d = b->dcm[i];
        const char *f = b->sc->files.v[se->idx[i]];
        double v[6];
        long r = qib__dcm_num(d, 0, T(0x0028, 0x0010), v, 1) ? (long)v[0] : 0;
        long c = qib__dcm_num(d, 0, T(0x0028, 0x0011), v, 1) ? (long)v[0] : 0;
        if (r <= 0 || c <= 0)
            return failf(step, QIB_EFORMAT, "%s: Rows (0028,0010) / Columns (0028,0011) missing or 0", f);
        double spp = 1;
        qib__dcm_num(d, 0, T(0x0028, 0x0002), &spp, 1);
        if (spp != 1)
            return failf(step, QIB_EUNSUPPORTED, "%s: SamplesPerPixel (0028,0002) is %g: only "
                         "greyscale images (1) are read", f, spp);
        struct pixfmt q = {0};
        q.bits = qib__dcm_num(d, 0, T(0x0028, 0x0100), v, 1) ? (int)v[0] : 0;
        q.stored = qib__dcm_num(d, 0, T(0x0028, 0x0101), v, 1) ? (int)v[0] : q.bits;
        q.high = qib__dcm_num(d, 0, T(0x0028, 0x0102), v, 1) ? (int)v[0] : q.stored - 1;
        q.is_signed = qib__dcm_num(d, 0, T(0x0028, 0x0103), v, 1) ? v[0] == 1 : 0;
        q.be = d->big_endian;
        if (q.bits != 8 && q.bits != 16 && q.bits != 32)
            return failf(step, QIB_EUNSUPPORTED, "%s: BitsAllocated (0028,0100) is %d: 8, 16 or 32 "
                         "expected", f, q.bits);
        if (q.stored < 1 || q.stored > q.bits || q.high < q.stored - 1 || q.high >= q.bits)
            return failf(step, QIB_EFORMAT, "%s: BitsStored %d / HighBit %d do not fit BitsAllocated %d",
                         f, q.stored, q.high, q.bits);
        if (i == 0) {
            rows = r;
            cols = c;
            pf = q;
        } else {
            if (r != rows || c != cols)
                return failf(step, QIB_EGEOMETRY, "slices of different size: %s is %ldx%ld, %s is "
                             "%ldx%ld (columns x rows)", f0, cols, rows, f, c, r);
            if (q.bits != pf.bits || q.is_signed != pf.is_signed || q.stored != pf.stored ||
                q.high != pf.high)
                return failf(step, QIB_EFORMAT, "pixel format of %s (%d bits, %s) differs from %s",
                             f, q.bits, q.is_signed ? "signed" : "unsigned", f0);
        }
        long nf = frames_of(d);
        const uint8_t *px;
        size_t plen;
        rc = qib__dcm_pixels(d, &px, &plen, err, sizeof err);
        if (rc)
            return failf(step, rc, "%s: %s", f, err);
        size_t fbytes = (size_t)r * (size_t)c * (size_t)(q.bits / 8);
        if (plen / (size_t)nf < fbytes)
            return failf(step, QIB_EFORMAT, "%s: PixelData (7FE0,0010) has %zu bytes, %ld frame%s of "
                         "%ldx%ld pixels of %d bits need %zu", f, plen, nf, nf == 1 ? "" : "s", c, r,
                         q.bits, fbytes * (size_t)nf);
        uint32_t pfs = qib__dcm_find(d, 0, T(0x5200, 0x9230));
        uint32_t shared = qib__dcm_item(d, qib__dcm_find(d, 0, T(0x5200, 0x9229)), 0);
        /* An RT Dose grid: frames along the normal at GridFrameOffsetVector
         * (relative to ImagePositionPatient when it starts at 0, otherwise
         * taken from its first value), scaled by DoseGridScaling. */
        free(b->gfo);
        b->gfo = NULL;
        double *gfo = NULL;
        if (nf > 1 && !pfs) {
            gfo = b->gfo = malloc((size_t)nf * sizeof *gfo);
            if (!gfo)
                return qib_fail(step, QIB_ENOMEM, "out of memory");
            if (qib__dcm_num(d, 0, T(0x3004, 0x000C), gfo, (int)nf) != (int)nf) {
                return failf(step, QIB_EFORMAT, "%s: GridFrameOffsetVector (3004,000C) does not hold "
                             "%ld numbers, one per frame", f, nf);
            }
        }
        double dgs = NAN;
        qib__dcm_num(d, 0, T(0x3004, 0x000E), &dgs, 1);
        for (long fr = 0; fr < nf; fr++) {
            struct slice *s = &b->sl[si];
            uint32_t pfi = pfs ? qib__dcm_item(d, pfs, (size_t)fr) : 0;
            char where[48] = "";
            if (nf > 1)
                snprintf(where, sizeof where, " frame %ld", fr + 1);
            s->file = se->idx[i];
            s->d = b->dcm[i];
            if (fg_num(d, pfi, shared, T(0x0020, 0x9116), T(0x0020, 0x0037), v, 6) != 6)
                return failf(step, QIB_EFORMAT, "%s%s: ImageOrientationPatient (0020,0037) missing or "
                             "not 6 numbers", f, where);
            if (fg_num(d, pfi, shared, T(0x0020, 0x9113), T(0x0020, 0x0032), s->ipp, 3) != 3)
                return failf(step, QIB_EFORMAT, "%s%s: ImagePositionPatient (0020,0032) missing or not "
                             "3 numbers", f, where);
            if (gfo) {
                double rx[3] = {v[0], v[1], v[2]}, cy[3] = {v[3], v[4], v[5]}, nrm[3];
                normalize(rx);
                normalize(cy);
                cross(rx, cy, nrm);
                for (int k = 0; k < 3; k++)
                    s->ipp[k] += (gfo[fr] - gfo[0]) * nrm[k];
            }
            double sp[2];
            if (fg_num(d, pfi, shared, T(0x0028, 0x9110), T(0x0028, 0x0030), sp, 2) != 2 ||
                !(sp[0] > 0) || !(sp[1] > 0))
                return failf(step, QIB_EFORMAT, "%s%s: PixelSpacing (0028,0030) missing or not 2 "
                             "positive numbers", f, where);
            if (si == 0) {
                memcpy(iop, v, sizeof iop);
                ps[0] = sp[0];
                ps[1] = sp[1];
            } else {
                for (int k = 0; k < 6; k++)
                    if (fabs(v[k] - iop[k]) > 1e-3)
                        return failf(step, QIB_EGEOMETRY, "mixed orientation: ImageOrientationPatient "
                                     "of %s%s differs from %s", f, where, f0);
                if (fabs(sp[0] - ps[0]) > GEOM_TOL * ps[0] || fabs(sp[1] - ps[1]) > GEOM_TOL * ps[1])
                    return failf(step, QIB_EGEOMETRY, "PixelSpacing of %s%s (%g\\%g) differs from %s "
                                 "(%g\\%g)", f, where, sp[0], sp[1], f0, ps[0], ps[1]);
            }
            s->slope = 1.0;
            s->inter = 0.0;
            fg_num(d, pfi, shared, T(0x0028, 0x9145), T(0x0028, 0x1053), &s->slope, 1);
            fg_num(d, pfi, shared, T(0x0028, 0x9145), T(0x0028, 0x1052), &s->inter, 1);
            if (isfinite(dgs))
                s->slope *= dgs;
            if (!isfinite(s->slope) || !isfinite(s->inter) || s->slope == 0)
                return failf(step, QIB_EFORMAT, "%s%s: RescaleSlope %g / RescaleIntercept %g unusable",
                             f, where, s->slope, s->inter);
            s->inum = qib__dcm_num(d, 0, T(0x0020, 0x0013), v, 1) ? (long)v[0] : 0;
            double bv;
            s->bvalue = fg_num(d, pfi, 0, T(0x0018, 0x9117), T(0x0018, 0x9087), &bv, 1) == 1
                            ? bv : bvalue_of(d);
            gradient_of(d, pfi, s->bvec);
            char tm[32];
            uint32_t fdt = fg_find(d, pfi, shared, T(0x0020, 0x9111), T(0x0018, 0x9074));
            if (qib__dcm_text(d, fdt, tm, sizeof tm) >= 14)
                s->acq_s = tm_seconds(tm + 8);
            else
                s->acq_s = qib__dcm_str(d, 0, T(0x0008, 0x0032), tm, sizeof tm) ? tm_seconds(tm) : NAN;
            /* Frame timing of a dynamic PET: the reference time of the
             * frame from the series reference time, and its length. */
            double ft;
            s->fref_ms = s->fdur_ms = NAN;
            if (fg_num(d, pfi, shared, T(0x0020, 0x9111), T(0x0054, 0x1300), &ft, 1) == 1 &&
                isfinite(ft))
                s->fref_ms = ft;
            if ((fg_num(d, pfi, shared, T(0x0020, 0x9111), T(0x0018, 0x1242), &ft, 1) == 1 ||
                 fg_num(d, pfi, shared, T(0x0020, 0x9111), T(0x0018, 0x9220), &ft, 1) == 1) &&
                isfinite(ft) && ft >= 0)
                s->fdur_ms = ft;
            double tpi;
            if (fg_num(d, pfi, shared, T(0x0020, 0x9111), T(0x0020, 0x9128), &tpi, 1) == 1 ||
                qib__dcm_num(d, 0, T(0x0020, 0x0100), &tpi, 1) == 1)
                s->order4 = tpi;
            else if (!isnan(s->fref_ms))
                /* Before AcquisitionTime: scanners write that per slice,
                 * and some the time the slice was reconstructed. */
                s->order4 = s->fref_ms;
            else if (!isnan(s->acq_s))
                s->order4 = s->acq_s;
            else if (!isnan(s->bvalue))
                s->order4 = s->bvalue;
            else
                s->order4 = (double)s->inum;
            s->px = px + (size_t)fr * fbytes;
            si++;
        }
        if (!mosaic)
            continue;
        /* A Siemens mosaic: tiles of a square grid, left to right, top to
         * bottom, each a slice; ImagePositionPatient is that of the whole
         * mosaic seen as one image, so it moves to the first tile's corner. */
        struct slice *s = &b->sl[si - 1];
        long tiles = (long)ceil(sqrt((double)mosaic));
        if (r % tiles || c % tiles)
            return failf(step, QIB_EFORMAT, "%s: a %ldx%ld mosaic does not split into %ldx%ld tiles", f,
                         c, r, tiles, tiles);
        tile_r = r / tiles;
        tile_c = c / tiles;
        double rx[3] = {iop[0], iop[1], iop[2]}, cy[3] = {iop[3], iop[4], iop[5]}, nrm[3], csa[3];
        normalize(rx);
        normalize(cy);
        cross(rx, cy, nrm);
        if (csa_vector(d, "SliceNormalVector", csa) && dot(csa, nrm) < 0)
            for (int k = 0; k < 3; k++)
                nrm[k] = -nrm[k];
        double dzm;
        if (qib__dcm_num(d, 0, T(0x0018, 0x0088), &dzm, 1) != 1 || !(dzm > 0))
            if (qib__dcm_num(d, 0, T(0x0018, 0x0050), &dzm, 1) != 1 || !(dzm > 0))
                return failf(step, QIB_EFORMAT, "%s: mosaic without SpacingBetweenSlices (0018,0088) "
                             "or SliceThickness (0018,0050)", f);
        double p0[3];
        for (int k = 0; k < 3; k++)
            p0[k] = s->ipp[k] + rx[k] * ps[1] * (double)(c - tile_c) / 2 +
                    cy[k] * ps[0] * (double)(r - tile_r) / 2;
        size_t bpp = (size_t)(q.bits / 8);
        si--;
        for (long t = 0; t < mosaic; t++) {
            struct slice *st = &b->sl[si + (size_t)t];
            if (t)
                *st = *s;
            for (int k = 0; k < 3; k++)
                st->ipp[k] = p0[k] + (double)t * dzm * nrm[k];
            st->px = px + ((size_t)(t / tiles) * (size_t)tile_r * (size_t)c +
                           (size_t)(t % tiles) * (size_t)tile_c) * bpp;
            st->stride = (size_t)c * bpp;
        }
        si += (size_t)mosaic;
    }
    if (mosaic) {
        rows = tile_r;
        cols = tile_c;
    }
    /* Axes: rows run along the first cosine (x), columns along the second. */
    double rx[3] = {iop[0], iop[1], iop[2]}, cy[3] = {iop[3], iop[4], iop[5]}, nz[3];
    if (!normalize(rx) || !normalize(cy))
        return failf(step, QIB_EGEOMETRY, "%s: ImageOrientationPatient has a zero vector",
                     b->sc->files.v[se->idx[0]]);
    double rc_dot = dot(rx, cy);
    if (fabs(rc_dot) > 1e-2)
        return failf(step, QIB_EGEOMETRY, "%s: ImageOrientationPatient row and column cosines are not "
                     "orthogonal (cos %g)", b->sc->files.v[se->idx[0]], rc_dot);
    for (int k = 0; k < 3; k++)
        cy[k] -= rc_dot * rx[k];
    normalize(cy);
    cross(rx, cy, nz);
    for (size_t i = 0; i < nsl; i++)
        b->sl[i].proj = dot(b->sl[i].ipp, nz);
    qsort(b->sl, nsl, sizeof *b->sl, cmp_slice);

    /* Positions: how many slices share each one (4-D when all share k). */
    size_t npos = 1;
    for (size_t i = 1; i < nsl; i++)
        if (fabs(b->sl[i].proj - b->sl[i - 1].proj) > SAME_POS_MM)
            npos++;
    size_t nt = nsl / npos;
    if (nt * npos != nsl)
        nt = 0;
    for (size_t i = 0; i < nsl && nt;) {
        size_t j = i;
        while (j < nsl && fabs(b->sl[j].proj - b->sl[i].proj) <= SAME_POS_MM)
            j++;
        if (j - i != nt)
            nt = 0;
        i = j;
    }
    if (nt == 0) {
        for (size_t i = 1; i < nsl; i++)
            if (fabs(b->sl[i].proj - b->sl[i - 1].proj) <= SAME_POS_MM)
                return failf(step, QIB_EGEOMETRY, "duplicate slice position %.3f mm along the normal: "
                             "%s and %s (and the positions do not repeat evenly, so this is not a "
                             "4-D series)", b->sl[i].proj, fname(b, &b->sl[i - 1]), fname(b, &b->sl[i]));
        /* Positions that chain within the tolerance but never pair up. */
        return failf(step, QIB_EGEOMETRY, "%s ... %s: slice positions closer than %g mm that do not "
                     "group into whole positions", fname(b, &b->sl[0]), fname(b, &b->sl[nsl - 1]),
                     SAME_POS_MM);
    }
    if (nt > 1) {
        /* The slices at one position must differ in what orders them
         * (time, b-value), or they are plain duplicates. */
        for (size_t i = 1; i < nsl; i++)
            if (i % nt && b->sl[i].order4 == b->sl[i - 1].order4 && b->sl[i].inum == b->sl[i - 1].inum)
                return failf(step, QIB_EGEOMETRY, "duplicate slice position %.3f mm: %s and %s have "
                             "the same time, b-value and InstanceNumber", b->sl[i].proj,
                             fname(b, &b->sl[i - 1]),
                             fname(b, &b->sl[i]));
    }
    /* Slice spacing from positions, each step within 1 % of the median. */
    double dz = 0;
    if (npos > 1) {
        double *steps = malloc((npos - 1) * sizeof *steps);
        if (!steps)
            return qib_fail(step, QIB_ENOMEM, "out of memory");
        for (size_t i = 0; i + 1 < npos; i++)
            steps[i] = b->sl[(i + 1) * nt].proj - b->sl[i * nt].proj;
        double *tmp = malloc((npos - 1) * sizeof *tmp);
        if (!tmp) {
            free(steps);
            return qib_fail(step, QIB_ENOMEM, "out of memory");
        }
        memcpy(tmp, steps, (npos - 1) * sizeof *tmp);
        for (size_t i = 1; i < npos - 1; i++) /* insertion sort: small n */
            for (size_t j = i; j > 0 && tmp[j - 1] > tmp[j]; j--) {
                double t = tmp[j];
                tmp[j] = tmp[j - 1];
                tmp[j - 1] = t;
            }
        dz = tmp[(npos - 1) / 2];
        free(tmp);
        for (size_t i = 0; i + 1 < npos; i++) {
            if (fabs(steps[i] - dz) > GEOM_TOL * dz) {
                const struct slice *a = &b->sl[i * nt], *c = &b->sl[(i + 1) * nt];
                double ratio = steps[i] / dz;
                int missing = ratio > 1.5 && fabs(ratio - floor(ratio + 0.5)) < GEOM_TOL * ratio;
                rc = failf(step, QIB_EGEOMETRY, "%s between %s and %s: step %.4g mm, the series' "
                           "spacing is %.4g mm", missing ? "missing slice" : "uneven slice spacing",
                           fname(b, a), fname(b, c), steps[i], dz);
                free(steps);
                return rc;
            }
        }
        free(steps);
        /* Tilt: the stack's direction against the slice normal. */
        double v[3];
        for (int k = 0; k < 3; k++)
            v[k] = b->sl[(npos - 1) * nt].ipp[k] - b->sl[0].ipp[k];
        double along = dot(v, nz);
        double off[3] = {v[0] - along * nz[0], v[1] - along * nz[1], v[2] - along * nz[2]};
        double tilt = atan2(sqrt(dot(off, off)), fabs(along)) * 180.0 / M_PI;
        if (tilt > TILT_TOL_DEG) {
            double gt = NAN;
            qib__dcm_num(b->sl[0].d, 0, T(0x0018, 0x1120), &gt, 1);
            return failf(step, QIB_EUNSUPPORTED, "gantry tilt: the slices are stacked %.2f degrees "
                         "off their normal (GantryDetectorTilt (0018,1120) %g); a sheared grid "
                         "cannot be represented without resampling (%s ... %s)", tilt, gt,
                         fname(b, &b->sl[0]), fname(b, &b->sl[(npos - 1) * nt]));
        }
    } else {
        double v;
        if (qib__dcm_num(b->sl[0].d, 0, T(0x0018, 0x0088), &v, 1) == 1 && v > 0)
            dz = v;
        else if (qib__dcm_num(b->sl[0].d, 0, T(0x0018, 0x0050), &v, 1) == 1 && v > 0)
            dz = v;
        else
            dz = 1.0;
    }

    /* SUV factors (PET) per slice, in sorted order. */
    double *factor = NULL;
    qib_meta *rec = qib_meta_new();
    if (!rec)
        return qib_fail(step, QIB_ENOMEM, "out of memory");
    if (b->p->suv != QIB__SUV_NONE) {
        char mod[17];
        qib__dcm_str(b->sl[0].d, 0, T(0x0008, 0x0060), mod, sizeof mod);
        if (strcmp(mod, "PT") != 0) {
            qib_meta_free(&rec);
            return failf(step, QIB_EINVAL, "suv=%s needs a PET series (Modality PT); this one is "
                         "\"%s\"", suv_choices[b->p->suv], mod);
        }
        struct qib__suv_slice *ss = malloc(nsl * sizeof *ss);
        factor = malloc(nsl * sizeof *factor);
        if (!ss || !factor) {
            free(ss);
            free(factor);
            qib_meta_free(&rec);
            return qib_fail(step, QIB_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < nsl; i++)
            suv_slice_of(b->sl[i].d, &ss[i]);
        rc = qib__suv_factors(ss, nsl, (enum qib__suv_mode)b->p->suv, factor, rec, err, sizeof err);
        free(ss);
        if (rc) {
            free(factor);
            qib_meta_free(&rec);
            return failf(step, rc, "%s: %s", b->sc->files.v[se->idx[0]], err);
        }
    }

    /* Output type: i16 when every rescaled value is an integer in range. */
    enum qib_dtype out = QIB_F32;
    if (!factor) {
        int integral = 1;
        for (size_t i = 0; i < nsl && integral; i++)
            integral = b->sl[i].slope == rint(b->sl[i].slope) && b->sl[i].inter == rint(b->sl[i].inter) &&
                       fabs(b->sl[i].slope) < 65536 && fabs(b->sl[i].inter) < 65536;
        if (integral) {
            int fits = 1;
            double tlo = pf.is_signed ? -ldexp(1, pf.stored - 1) : 0;
            double thi = pf.is_signed ? ldexp(1, pf.stored - 1) - 1 : ldexp(1, pf.stored) - 1;
            for (size_t i = 0; i < nsl && fits; i++) {
                double a = tlo * b->sl[i].slope + b->sl[i].inter, c = thi * b->sl[i].slope + b->sl[i].inter;
                fits = fmin(a, c) >= -32768 && fmax(a, c) <= 32767;
            }
            if (!fits) {
                /* The type's range does not fit; the values may. */
                fits = 1;
                for (size_t i = 0; i < nsl && fits; i++) {
                    int64_t lo, hi;
                    stored_range(&b->sl[i], (size_t)cols, (size_t)rows, &pf, &lo, &hi);
                    double a = (double)lo * b->sl[i].slope + b->sl[i].inter;
                    double c = (double)hi * b->sl[i].slope + b->sl[i].inter;
                    fits = fmin(a, c) >= -32768 && fmax(a, c) <= 32767;
                }
            }
            if (fits)
                out = QIB_I16;
        }
    }

    struct qib_geom g;
    size_t dims[4] = {(size_t)cols, (size_t)rows, npos, nt};
    qib_geom_init(&g, nt > 1 ? 4 : 3, dims);
    g.spacing[0] = ps[1];
    g.spacing[1] = ps[0];
    g.spacing[2] = dz;
    g.spacing[3] = 0;
    for (int k = 0; k < 3; k++) {
        g.origin[k] = b->sl[0].ipp[k];
        g.dir[3 * k + 0] = rx[k];
        g.dir[3 * k + 1] = cy[k];
        g.dir[3 * k + 2] = nz[k];
    }
    qib_volume *v = NULL;
    rc = qib_volume_new_uninit(out, &g, &v);
    if (rc) {
        free(factor);
        qib_meta_free(&rec);
        char why[256];
        qib_geom_check(&g, why, sizeof why);
        return failf(step, rc, "%s: cannot make a volume of %ldx%ldx%zux%zu: %s",
                     b->sc->files.v[se->idx[0]], cols, rows, npos, nt, why);
    }
    /* Sorted slice k is at position k / nt and frame k % nt. */
    size_t *slot = malloc(nsl * sizeof *slot);
    if (!slot) {
        free(factor);
        qib_meta_free(&rec);
        qib_volume_unref(&v);
        return qib_fail(step, QIB_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < nsl; k++)
        slot[k] = (k % nt) * npos + k / nt;
    struct conv cv = {.sl = b->sl, .nsl = nsl, .nx = (size_t)cols, .ny = (size_t)rows, .pf = pf,
                      .page = (size_t)sysconf(_SC_PAGESIZE), .out = out,
                      .dst = qib_volume_data_mut(v), .factor = factor, .dst_slot = slot};
    qib_parallel_for(qib_step_pool(step), nsl, 1, conv_block, &cv);
    free(slot);

    /* Metadata: what the series is and every value that fed the voxels. */
    qib_meta *m = qib_volume_meta_mut(v);
    const struct qib__dcm *d0 = b->sl[0].d;
    char s[256];
    if (qib__dcm_str(d0, 0, T(0x0008, 0x0060), s, sizeof s))
        qib_meta_set(m, "modality", s, "dicom:(0008,0060)");
    if (factor) {
        static const char *const unit_of[] = {"", "SUVbw", "SUVbsa", "SUVlbm", "SUL", "SUVibw"};
        qib_meta_set(m, "units", unit_of[b->p->suv], "computed: read.dicom suv");
    } else if (qib__dcm_str(d0, 0, T(0x0054, 0x1001), s, sizeof s)) {
        qib_meta_set(m, "units", s, "dicom:(0054,1001)");
    } else if (qib__dcm_str(d0, 0, T(0x3004, 0x0002), s, sizeof s)) {
        qib_meta_set(m, "units", s, "dicom:(3004,0002) DoseUnits");
    } else if (qib__dcm_str(d0, 0, T(0x0028, 0x1054), s, sizeof s)) {
        qib_meta_set(m, "units", s, "dicom:(0028,1054)");
    } else if (strcmp(se->modality, "CT") == 0) {
        qib_meta_set(m, "units", "HU", "dicom:(0008,0060) CT rescaled values are HU");
    }
    qib_meta_set(m, "dicom.series_uid", se->uid, "dicom:(0020,000E)");
    if (se->number >= 0)
        qib_meta_set_double(m, "dicom.series_number", (double)se->number, "dicom:(0020,0011)");
    if (se->desc[0])
        qib_meta_set(m, "dicom.series_description", se->desc, "dicom:(0008,103E)");
    if (qib__dcm_str(d0, 0, T(0x0020, 0x000D), s, sizeof s))
        qib_meta_set(m, "dicom.study_uid", s, "dicom:(0020,000D)");
    if (qib__dcm_str(d0, 0, T(0x0020, 0x0052), s, sizeof s))
        qib_meta_set(m, "dicom.frame_of_reference_uid", s, "dicom:(0020,0052)");
    if (qib__dcm_str(d0, 0, T(0x0008, 0x0070), s, sizeof s))
        qib_meta_set(m, "dicom.manufacturer", s, "dicom:(0008,0070)");
    if (qib__dcm_str(d0, 0, T(0x0008, 0x1090), s, sizeof s))
        qib_meta_set(m, "dicom.model", s, "dicom:(0008,1090)");
    qib_meta_set(m, "dicom.transfer_syntax", d0->ts_uid, "dicom:(0002,0010)");
    qib_meta_set_double(m, "dicom.files", (double)se->n, "computed");
    /* MR timing that perfusion and diffusion biomarkers read (bio.dsc takes
     * TE from here when the pipeline does not give it). */
    double ms;
    if (qib__dcm_num(d0, 0, T(0x0018, 0x0081), &ms, 1) == 1 && isfinite(ms) && ms > 0)
        qib_meta_set_double(m, "dicom.echo_time_ms", ms, "dicom:(0018,0081) EchoTime");
    if (qib__dcm_num(d0, 0, T(0x0018, 0x0080), &ms, 1) == 1 && isfinite(ms) && ms > 0)
        qib_meta_set_double(m, "dicom.repetition_time_ms", ms, "dicom:(0018,0080) RepetitionTime");
    double lo = b->sl[0].slope, hi = lo;
    for (size_t i = 0; i < nsl; i++) {
        lo = fmin(lo, b->sl[i].slope);
        hi = fmax(hi, b->sl[i].slope);
    }
    qib_meta_set_double(m, "dicom.rescale_slope", lo, "dicom:(0028,1053)");
    if (hi > lo)
        qib_meta_set_double(m, "dicom.rescale_slope_max", hi, "dicom:(0028,1053) varies per slice");
    qib_meta_set_double(m, "dicom.rescale_intercept", b->sl[0].inter, "dicom:(0028,1052)");
    if (nt > 1) {
        /* Frame values: b-values; else frame times from FrameReferenceTime
         * when every frame has one, else from AcquisitionTime. */
        char list[4096];
        size_t k = 0;
        int isb = !isnan(b->sl[0].bvalue);
        int fref = !isb, fdur = !isb;
        for (size_t t = 0; t < nt; t++) {
            fref = fref && !isnan(b->sl[t].fref_ms);
            fdur = fdur && !isnan(b->sl[t].fdur_ms);
        }
        for (size_t t = 0; t < nt && k < sizeof list; t++) {
            double x = isb ? b->sl[t].bvalue
                       : fref ? b->sl[t].fref_ms / 1000.0 : b->sl[t].acq_s - b->sl[0].acq_s;
            int w = snprintf(list + k, sizeof list - k, isb ? "%s%.6g" : "%s%.10g", t ? " " : "", x);
            if (w < 0)
                break;
            k += (size_t)w;
        }
        qib_meta_set(m, isb ? "dicom.b_values" : "dicom.frame_times_s", list,
                     isb ? "dicom:(0018,9087) or vendor private b-value"
                     : fref ? "dicom:(0054,1300) FrameReferenceTime / 1000, from the series "
                              "reference time"
                            : "dicom:(0008,0032) AcquisitionTime, relative to the first frame "
                              "(no FrameReferenceTime (0054,1300))");
        k = 0;
        for (size_t t = 0; fdur && t < nt && k < sizeof list; t++) {
            int w = snprintf(list + k, sizeof list - k, "%s%.10g", t ? " " : "",
                             b->sl[t].fdur_ms / 1000.0);
            if (w < 0)
                break;
            k += (size_t)w;
        }
        if (fdur)
            qib_meta_set(m, "dicom.frame_durations_s", list,
                         "dicom:(0018,1242) ActualFrameDuration (enhanced: (0018,9220)) / 1000");
        int allv = isb;
        for (size_t t = 0; t < nt && allv; t++)
            allv = !isnan(b->sl[t].bvec[0]);
        k = 0;
        for (size_t t = 0; t < nt && allv && k < sizeof list; t++) {
            int w = snprintf(list + k, sizeof list - k, "%s%.6g %.6g %.6g", t ? ", " : "",
                             b->sl[t].bvec[0], b->sl[t].bvec[1], b->sl[t].bvec[2]);
            if (w < 0)
                break;
            k += (size_t)w;
        }
        if (allv)
            qib_meta_set(m, "dicom.b_vectors", list,
                         "dicom:(0018,9089) or Siemens (0019,100E), patient (LPS) axes");
    }
    for (size_t i = 0; i < qib_meta_count(rec); i++) {
        const char *k, *val, *src;
        qib_meta_at(rec, i, &k, &val, &src);
        qib_meta_set(m, k, val, src);
    }
    qib_meta_free(&rec);
    free(factor);
    *outv = v;
    return QIB_OK;
}

/* The table of series found, one row each, the chosen one flagged. */
static int series_table(const struct qib__dcm_scan *sc, size_t pick, qib_table **out)
{
    qib_table *t = NULL;
    size_t c[6];
    int rc = qib_table_new(&t);
    if (rc == QIB_OK)
        rc = qib_table_add_column(t, "series_number", QIB_COL_INT, NULL, NULL, &c[0]);
    if (rc == QIB_OK)
        rc = qib_table_add_column(t, "modality", QIB_COL_STRING, NULL, NULL, &c[1]);
    if (rc == QIB_OK)
        rc = qib_table_add_column(t, "description", QIB_COL_STRING, NULL, NULL, &c[2]);
    if (rc == QIB_OK)
        rc = qib_table_add_column(t, "files", QIB_COL_INT, NULL, NULL, &c[3]);
    if (rc == QIB_OK)
        rc = qib_table_add_column(t, "series_uid", QIB_COL_STRING, NULL, NULL, &c[4]);
    if (rc == QIB_OK)
        rc = qib_table_add_column(t, "read", QIB_COL_INT, NULL, NULL, &c[5]);
    for (size_t i = 0; i < sc->ns && rc == QIB_OK; i++) {
        const struct qib__dcm_series *s = &sc->s[i];
        size_t r;
        rc = qib_table_add_row(t, &r);
        if (rc == QIB_OK && s->number >= 0)
            rc = qib_table_set_int(t, r, c[0], s->number);
        if (rc == QIB_OK)
            rc = qib_table_set_string(t, r, c[1], s->modality);
        if (rc == QIB_OK)
            rc = qib_table_set_string(t, r, c[2], s->desc);
        if (rc == QIB_OK)
            rc = qib_table_set_int(t, r, c[3], (int64_t)s->n);
        if (rc == QIB_OK)
            rc = qib_table_set_string(t, r, c[4], s->uid);
        if (rc == QIB_OK)
            rc = qib_table_set_int(t, r, c[5], i == pick);
    }
    if (rc != QIB_OK) {
        qib_table_unref(&t);
        return rc;
    }
    *out = t;
    return QIB_OK;
}

static int run(qib_step *step, void *pv)
{
    const struct priv *p = pv;
    struct qib__dcm_scan sc = {0};
    int rc = scan_paths(step, &p->path, &sc);
    if (rc) {
        qib__dcm_scan_free(&sc);
        return rc;
    }
    size_t nk = 0, pick = 0;
    for (size_t i = 0; i < sc.ns; i++)
        if (keep(p, &sc.s[i])) {
            nk++;
            pick = i;
        }
    if (nk != 1) {
        char list[3000], where[1100];
        list_series(&sc, list, sizeof list);
        paths_label(&p->path, where, sizeof where);
        rc = failf(step, nk ? QIB_EINVAL : QIB_ENOTFOUND,
                   "%s: %s; choose one with series_uid, series_number, description or modality. "
                   "Image series found:%s", where,
                   nk ? "more than one image series matches" : "no image series matches the selection",
                   list);
        qib__dcm_scan_free(&sc);
        return rc;
    }
    struct build b = {.step = step, .p = p, .sc = &sc, .se = &sc.s[pick]};
    qib_volume *v = NULL;
    rc = read_series(&b, &v);
    build_free(&b);
    if (rc == QIB_OK) {
        qib_step_record(step, "series_uid", sc.s[pick].uid);
        for (size_t i = 0; i < sc.s[pick].n && rc == QIB_OK; i++)
            rc = qib_step_record_input(step, sc.files.v[sc.s[pick].idx[i]]);
        if (rc == QIB_OK)
            rc = qib_step_set_volume(step, "image", v);
        else
            qib_volume_unref(&v);
        qib_table *t = NULL;
        if (rc == QIB_OK && (rc = series_table(&sc, pick, &t)) != QIB_OK)
            rc = qib_fail(step, rc, "out of memory listing the series");
        if (rc == QIB_OK)
            rc = qib_step_set_table(step, "series", t);
    }
    qib__dcm_scan_free(&sc);
    return rc;
}

static const struct qib_plugin desc = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_READ,
    .name = "dicom",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "one DICOM image series (CT, MR, PET, ...) into a volume; PET optionally in SUV",
    .citation = "DICOM PS3.5 and PS3.3; QIBA vendor-neutral SUV pseudo-code; IBSI SUV manual "
                "(Vacha et al., oncoray/suv_computation)",
    .params = params,
    .outputs = outputs,
    .priv_size = sizeof(struct priv),
    .run = run,
};

QIB_PLUGIN_DEFINE(desc)
