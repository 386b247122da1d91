/* Helpers of the NIfTI tests (t03xx): building NIfTI-1/NIfTI-2 files field by
 * field (either byte order, plain, gzip or .hdr/.img) independently of the
 * plugins' own header code, and running read.nifti / write.nifti through the
 * harness. */
#ifndef QIB_T0300_NIFTI_UTIL_H
#define QIB_T0300_NIFTI_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "qib/qib.h"
#include "tap.h"

/* Every field a test may want to set; tn_default fills a valid 3-D image. */
struct tn {
    int version;          /* 1 or 2 */
    int big;              /* write big-endian */
    int sizeof_hdr;       /* 0: the right one */
    int datatype, bitpix;
    int64_t dim[8];
    double pixdim[8];
    double vox_offset;    /* < 0: header + 4 (+ ext_bytes) */
    double scl_slope, scl_inter;
    int qform_code, sform_code;
    double quatern[3], qoffset[3];
    double srow[12];
    int xyzt_units, intent_code;
    const char *descrip;
    const char *magic;    /* NULL: "n+1"/"n+2" (or "ni1"/"ni2" for a pair) */
    int pair;             /* write .hdr + .img */
    size_t ext_bytes;     /* extension area after the 4-byte flag */
    int ext_flag;         /* first byte of the extension flag */
};

static inline void tn_default(struct tn *t, int datatype, int bitpix, int64_t nx, int64_t ny,
                              int64_t nz, int64_t nt)
{
    memset(t, 0, sizeof *t);
    t->version = 1;
    t->datatype = datatype;
    t->bitpix = bitpix;
    t->dim[0] = nt > 1 ? 4 : 3;
    t->dim[1] = nx;
    t->dim[2] = ny;
    t->dim[3] = nz;
    t->dim[4] = nt > 1 ? nt : 1;
    for (int i = 5; i < 8; i++)
        t->dim[i] = 1;
    for (int i = 0; i < 8; i++)
        t->pixdim[i] = 1.0;
    t->vox_offset = -1;
    t->scl_slope = 1.0;
    t->scl_inter = 0.0;
    t->xyzt_units = 2;
    t->descrip = "qib test";
}

static inline void tn_put(unsigned char *p, uint64_t v, int n, int big)
{
    for (int i = 0; i < n; i++)
        p[big ? n - 1 - i : i] = (unsigned char)(v >> (8 * i));
}

static inline void tn_f32(unsigned char *p, double v, int big)
{
    float f = (float)v;
    uint32_t u;
    memcpy(&u, &f, 4);
    tn_put(p, u, 4, big);
}

static inline void tn_f64(unsigned char *p, double v, int big)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    tn_put(p, u, 8, big);
}

static inline size_t tn_hdr_size(const struct tn *t)
{
    return t->version == 1 ? 348 : 540;
}

static inline size_t tn_vox_offset(const struct tn *t)
{
    if (t->vox_offset >= 0)
        return (size_t)t->vox_offset;
    return t->pair ? 0 : tn_hdr_size(t) + 4 + t->ext_bytes;
}

/* Serialise the header into @p b (at least 544 bytes); returns its size. */
static inline size_t tn_header(const struct tn *t, unsigned char *b)
{
    int big = t->big;
    size_t hs = tn_hdr_size(t);
    double vo = t->vox_offset >= 0 ? t->vox_offset : (double)tn_vox_offset(t);
    memset(b, 0, 544);
    if (t->version == 1) {
        tn_put(b + 0, (uint64_t)(t->sizeof_hdr ? t->sizeof_hdr : 348), 4, big);
        for (int i = 0; i < 8; i++) {
            tn_put(b + 40 + 2 * i, (uint64_t)t->dim[i], 2, big);
            tn_f32(b + 76 + 4 * i, t->pixdim[i], big);
        }
        tn_put(b + 68, (uint64_t)t->intent_code, 2, big);
        tn_put(b + 70, (uint64_t)t->datatype, 2, big);
        tn_put(b + 72, (uint64_t)t->bitpix, 2, big);
        tn_f32(b + 108, vo, big);
        tn_f32(b + 112, t->scl_slope, big);
        tn_f32(b + 116, t->scl_inter, big);
        b[123] = (unsigned char)t->xyzt_units;
        if (t->descrip)
            strncpy((char *)b + 148, t->descrip, 79);
        tn_put(b + 252, (uint64_t)t->qform_code, 2, big);
        tn_put(b + 254, (uint64_t)t->sform_code, 2, big);
        for (int i = 0; i < 3; i++) {
            tn_f32(b + 256 + 4 * i, t->quatern[i], big);
            tn_f32(b + 268 + 4 * i, t->qoffset[i], big);
        }
        for (int i = 0; i < 12; i++)
            tn_f32(b + 280 + 4 * i, t->srow[i], big);
        memcpy(b + 344, t->magic ? t->magic : t->pair ? "ni1" : "n+1", 4);
    } else {
        tn_put(b + 0, (uint64_t)(t->sizeof_hdr ? t->sizeof_hdr : 540), 4, big);
        const unsigned char tail[4] = {'\r', '\n', 0x1a, '\n'};
        memcpy(b + 4, t->magic ? t->magic : t->pair ? "ni2" : "n+2", 4);
        memcpy(b + 8, tail, 4);
        tn_put(b + 12, (uint64_t)t->datatype, 2, big);
        tn_put(b + 14, (uint64_t)t->bitpix, 2, big);
        for (int i = 0; i < 8; i++) {
            tn_put(b + 16 + 8 * i, (uint64_t)t->dim[i], 8, big);
            tn_f64(b + 104 + 8 * i, t->pixdim[i], big);
        }
        tn_put(b + 168, (uint64_t)(int64_t)vo, 8, big);
        tn_f64(b + 176, t->scl_slope, big);
        tn_f64(b + 184, t->scl_inter, big);
        if (t->descrip)
            strncpy((char *)b + 240, t->descrip, 79);
        tn_put(b + 344, (uint64_t)t->qform_code, 4, big);
        tn_put(b + 348, (uint64_t)t->sform_code, 4, big);
        for (int i = 0; i < 3; i++) {
            tn_f64(b + 352 + 8 * i, t->quatern[i], big);
            tn_f64(b + 376 + 8 * i, t->qoffset[i], big);
        }
        for (int i = 0; i < 12; i++)
            tn_f64(b + 400 + 8 * i, t->srow[i], big);
        tn_put(b + 500, (uint64_t)t->xyzt_units, 4, big);
        tn_put(b + 504, (uint64_t)t->intent_code, 4, big);
    }
    b[hs] = (unsigned char)t->ext_flag;
    return hs;
}

/* The complete single-file image (header, extension area, data) in a malloc'd
 * buffer; *len gets its size.  @p data is in host order (little-endian on
 * every machine the tests run on) and is byte-swapped for big-endian files;
 * @p esize is the voxel size for that swap. */
static inline unsigned char *tn_image(const struct tn *t, const void *data, size_t nbytes,
                                      size_t esize, size_t *len)
{
    size_t vo = tn_vox_offset(t);
    size_t hs = tn_hdr_size(t);
    size_t head = vo > hs + 4 ? vo : hs + 4;
    unsigned char *b = calloc(1, head + nbytes + 544);
    if (!b)
        bail("out of memory");
    unsigned char h[544];
    tn_header(t, h);
    memcpy(b, h, hs + 4);
    memcpy(b + vo, data, nbytes);
    if (t->big && esize > 1)
        for (size_t i = 0; i + esize <= nbytes; i += esize)
            for (size_t k = 0; k < esize / 2; k++) {
                unsigned char c = b[vo + i + k];
                b[vo + i + k] = b[vo + i + esize - 1 - k];
                b[vo + i + esize - 1 - k] = c;
            }
    *len = vo + nbytes;
    return b;
}

static inline char *tn_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p)
        bail("out of memory");
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static inline void tn_write_raw(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
        bail("cannot write %s", path);
}

/* gzip @p len bytes of @p buf into @p path, as @p members gzip members of
 * about equal size. */
static inline void tn_write_gz(const char *path, const void *buf, size_t len, int members)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        bail("cannot write %s", path);
    fclose(f);
    size_t per = members > 1 ? (len + (size_t)members - 1) / (size_t)members : len;
    const unsigned char *p = buf;
    for (size_t off = 0; off < len || off == 0; off += per) {
        gzFile g = gzopen(path, "ab6");
        size_t n = len - off < per ? len - off : per;
        if (!g || (n && gzwrite(g, p + off, (unsigned)n) != (int)n) || gzclose(g) != Z_OK)
            bail("cannot gzip %s", path);
        if (len == 0)
            break;
    }
}

/* Write the image described by @p t to dir/name (gzip when name ends in .gz;
 * for a pair, name is the stem and stem.hdr[.gz] + stem.img[.gz] are
 * written).  Returns the path to give read.nifti (malloc'd). */
static inline char *tn_write(const char *dir, const char *name, const struct tn *t,
                             const void *data, size_t nbytes, size_t esize)
{
    size_t len;
    size_t nl = strlen(name);
    int gz = nl > 3 && strcmp(name + nl - 3, ".gz") == 0;
    if (!t->pair) {
        unsigned char *img = tn_image(t, data, nbytes, esize, &len);
        char *p = tn_join(dir, name);
        if (gz)
            tn_write_gz(p, img, len, 1);
        else
            tn_write_raw(p, img, len);
        free(img);
        return p;
    }
    /* pair: header file, then data at vox_offset in the .img */
    struct tn th = *t;
    unsigned char h[544];
    size_t hs = tn_header(&th, h);
    char stem[512], hp[600], ip[600];
    snprintf(stem, sizeof stem, "%s/%.*s", dir, (int)(gz ? nl - 3 : nl), name);
    snprintf(hp, sizeof hp, "%s.hdr%s", stem, gz ? ".gz" : "");
    snprintf(ip, sizeof ip, "%s.img%s", stem, gz ? ".gz" : "");
    if (gz)
        tn_write_gz(hp, h, hs, 1);
    else
        tn_write_raw(hp, h, hs);
    size_t vo = tn_vox_offset(t);
    unsigned char *b = calloc(1, vo + nbytes + 1);
    if (!b)
        bail("out of memory");
    memcpy(b + vo, data, nbytes);
    if (t->big && esize > 1)
        for (size_t i = 0; i + esize <= nbytes; i += esize)
            for (size_t k = 0; k < esize / 2; k++) {
                unsigned char c = b[vo + i + k];
                b[vo + i + k] = b[vo + i + esize - 1 - k];
                b[vo + i + esize - 1 - k] = c;
            }
    if (gz)
        tn_write_gz(ip, b, vo + nbytes, 1);
    else
        tn_write_raw(ip, b, vo + nbytes);
    free(b);
    size_t n = strlen(hp) + 1;
    char *r = malloc(n);
    if (!r)
        bail("out of memory");
    memcpy(r, hp, n);
    return r;
}

/* Threads read.nifti runs with (its voxel reading and input hashing run
 * side by side when there are two or more). */
static int tn_threads = 1;

/* Run read.nifti on @p path (as = NULL: default).  Returns the harness. */
static inline qib_harness *tn_read(const char *path, const char *as, int *rc)
{
    qib_harness *h = NULL;
    char err[512];
    if (qib_harness_new("read.nifti", &h, err, sizeof err) != QIB_OK)
        bail("read.nifti does not load: %s", err);
    if (tn_threads > 1 && qib_harness_set_threads(h, tn_threads) != QIB_OK)
        bail("threads refused: %s", qib_harness_error(h));
    if (qib_harness_set_param(h, "path", path) != QIB_OK)
        bail("path refused: %s", qib_harness_error(h));
    if (as && qib_harness_set_param(h, "as", as) != QIB_OK)
        bail("as refused: %s", qib_harness_error(h));
    *rc = qib_harness_run(h);
    return h;
}

/* Run write.nifti on @p v into dir/name; level NULL: default.  Returns the
 * status; the error message, if any, is copied to @p err. */
static inline int tn_write_vol(qib_volume *v, const char *dir, const char *name,
                               const char *level, int threads, char *err, size_t errlen)
{
    qib_harness *h = NULL;
    char e[512];
    if (qib_harness_new("write.nifti", &h, e, sizeof e) != QIB_OK)
        bail("write.nifti does not load: %s", e);
    int rc = qib_harness_set_param(h, "path", name);
    if (rc == QIB_OK && level)
        rc = qib_harness_set_param(h, "compression_level", level);
    if (rc == QIB_OK)
        rc = qib_harness_set_outdir(h, dir);
    if (rc == QIB_OK)
        rc = qib_harness_set_threads(h, threads);
    if (rc == QIB_OK)
        rc = qib_harness_set_volume(h, "image", v);
    if (rc == QIB_OK)
        rc = qib_harness_run(h);
    if (err && errlen)
        snprintf(err, errlen, "%s", qib_harness_error(h));
    qib_harness_free(&h);
    return rc;
}

/* Voxel (i, j, k, t) of a volume as a double. */
static inline double tn_at(const qib_volume *v, size_t i, size_t j, size_t k, size_t t)
{
    const struct qib_geom *g = qib_volume_geom(v);
    return qib_volume_get(v, ((t * g->dims[2] + k) * g->dims[1] + j) * g->dims[0] + i);
}

/* Sum of all voxels. */
static inline double tn_sum(const qib_volume *v)
{
    double s = 0;
    size_t n = qib_volume_nvox(v);
    for (size_t i = 0; i < n; i++)
        s += qib_volume_get(v, i);
    return s;
}

/* The LPS affine of @p v, row major 3x4. */
static inline void tn_affine(const qib_volume *v, double m[16])
{
    qib_geom_affine(qib_volume_geom(v), m);
}

/* max |a - b| over the 3x4 part of two 4x4 affines. */
static inline double tn_affine_diff(const double a[16], const double b[16])
{
    double d = 0;
    for (int i = 0; i < 12; i++)
        d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

#endif
