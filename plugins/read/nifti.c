/* read.nifti: NIfTI-1 and NIfTI-2 images (.nii, .nii.gz, .hdr/.img pairs,
 * either byte order) into a qib volume in LPS, or into a mask.  The voxel
 * data is read or inflated straight into the volume's buffer; the choices
 * (sform/qform/pixdim, scaling, units, masks) are explained in doc/nifti.md. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef HAVE_ISAL
#include <isa-l/igzip_lib.h>
#else
#include <zlib.h>
#endif

#include "qib/qib.h"

#include "../nifti-format.h"

/* Compressed input is read in chunks of this size: large enough that the
 * inflater runs in long stretches, small enough to stay in L2/L3. */
#define IN_CHUNK (1u << 20)
/* Extension areas up to this size are parsed (for the record); larger ones
 * are skipped unread. */
#define EXT_PARSE_MAX (64u << 20)
/* Deflate cannot expand more than 1032:1, so a header claiming more voxel
 * bytes than that times the compressed size is lying. */
#define DEFLATE_MAX_RATIO 1032u
/* Largest sform column non-orthogonality (|cos| of the angle between two
 * voxel axes) accepted as float round-off rather than shear. */
#define SHEAR_TOL 1e-4

enum { AS_VOLUME = 0, AS_MASK = 1 };

struct priv {
    char *path;
    int as;
};

static const char *const as_choices[] = {"volume", "mask", NULL};

static const struct qib_param params[] = {
    {.name = "path",
     .type = QIB_PARAM_PATH,
     .offset = offsetof(struct priv, path),
     .flags = QIB_PARAM_REQUIRED,
     .help = "NIfTI-1 or NIfTI-2 file: .nii, .nii.gz, .hdr (with its .img) or .hdr.gz"},
    {.name = "as",
     .type = QIB_PARAM_ENUM,
     .offset = offsetof(struct priv, as),
     .def = "volume",
     .choices = as_choices,
     .help = "volume: voxels as stored (scaled by scl_slope/scl_inter); mask: a u8 "
             "label image, every voxel must be an integer 0..255"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "image",
     .kind = QIB_OBJ_VOLUME,
     .help = "the image in LPS millimetres, or a mask when as=mask",
     .mask_when = "as=mask"},
    {.name = NULL},
};

/* ---------------------------------------------------------------------------
 * Byte sources: a plain file or a (possibly multi-member) gzip stream, read
 * sequentially in the uncompressed byte space. */

struct src {
    FILE *f;
    const char *path;       /* for messages (borrowed) */
    uint64_t file_size;     /* bytes on disk */
    uint64_t pos;           /* uncompressed bytes delivered so far */
    int gz;
    int eof;                /* no more compressed bytes on disk */
    int member_done;        /* the current gzip member is complete */
    int ended;              /* no more uncompressed data */
    unsigned members;
    uint64_t trailing;      /* bytes after the last member that are not gzip */
    unsigned char *in;      /* compressed input chunk */
    size_t in_len;
#ifdef HAVE_ISAL
    struct inflate_state *st;
#else
    z_stream z;
    int z_init;
#endif
};

/* Why a source stopped: the message goes to qib_fail by the caller. */
struct err {
    int status;
    char msg[512];
};

static int set_err(struct err *e, int status, const char *fmt, ...) QIB_PRINTF(3, 4);

static int set_err(struct err *e, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->status = status;
    return status;
}

static void src_close(struct src *s)
{
    if (s->f)
        fclose(s->f);
    s->f = NULL;
    free(s->in);
    s->in = NULL;
#ifdef HAVE_ISAL
    free(s->st);
    s->st = NULL;
#else
    if (s->z_init)
        inflateEnd(&s->z);
    s->z_init = 0;
#endif
}

/* Open @p path and decide from its first two bytes whether it is gzip. */
static int src_open(struct src *s, const char *path, struct err *e)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    s->f = fopen(path, "rb");
    if (!s->f) {
        int en = errno;
        return set_err(e, en == ENOENT ? QIB_ENOTFOUND : QIB_EIO, "%s: cannot open: %s",
                       path, strerror(en));
    }
    struct stat sb;
    if (fstat(fileno(s->f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        src_close(s);
        return set_err(e, QIB_EIO, "%s: not a regular file", path);
    }
    s->file_size = (uint64_t)sb.st_size;
    unsigned char m[2];
    size_t n = fread(m, 1, 2, s->f);
    if (n == 2 && m[0] == 0x1f && m[1] == 0x8b) {
        s->gz = 1;
        s->in = malloc(IN_CHUNK);
#ifdef HAVE_ISAL
        s->st = malloc(sizeof *s->st);
        if (!s->in || !s->st) {
            src_close(s);
            return set_err(e, QIB_ENOMEM, "%s: out of memory", path);
        }
        isal_inflate_init(s->st);
        s->st->crc_flag = ISAL_GZIP;
        s->st->next_in = s->in;
        s->st->avail_in = 2;
#else
        if (!s->in || inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK) {
            src_close(s);
            return set_err(e, QIB_ENOMEM, "%s: out of memory", path);
        }
        s->z_init = 1;
        s->z.next_in = s->in;
        s->z.avail_in = 2;
#endif
        memcpy(s->in, m, 2);
        s->in_len = 2;
        s->members = 1;
        return QIB_OK;
    }
    if (fseek(s->f, 0, SEEK_SET) != 0) {
        src_close(s);
        return set_err(e, QIB_EIO, "%s: cannot seek: %s", path, strerror(errno));
    }
    return QIB_OK;
}

/* Refill the compressed input when it is used up.  Returns the number of
 * bytes now available. */
static size_t gz_refill(struct src *s, unsigned char **next, size_t avail, struct err *e)
{
    if (avail > 0 || s->eof)
        return avail;
    size_t n = fread(s->in, 1, IN_CHUNK, s->f);
    if (n < IN_CHUNK) {
        if (ferror(s->f)) {
            set_err(e, QIB_EIO, "%s: read error: %s", s->path, strerror(errno));
            return 0;
        }
        s->eof = 1;
    }
    *next = s->in;
    return n;
}

/* Start the next gzip member if one follows; otherwise mark the end. */
static int gz_next_member(struct src *s, struct err *e)
{
#ifdef HAVE_ISAL
    unsigned char *next = s->st->next_in;
    size_t avail = gz_refill(s, &next, s->st->avail_in, e);
    if (e->status)
        return e->status;
    s->st->next_in = next;
    s->st->avail_in = (uint32_t)avail;
#else
    unsigned char *next = s->z.next_in;
    size_t avail = gz_refill(s, &next, s->z.avail_in, e);
    if (e->status)
        return e->status;
    s->z.next_in = next;
    s->z.avail_in = (uInt)avail;
#endif
    if (avail == 0) {
        s->ended = 1;
        return QIB_OK;
    }
    if (next[0] != 0x1f || (avail > 1 && next[1] != 0x8b)) {
        /* Not a gzip member: padding or junk after the stream, which gzip
         * itself ignores too.  Count it for the record. */
        s->trailing = s->file_size - (uint64_t)ftello(s->f) + avail;
        s->ended = 1;
        return QIB_OK;
    }
#ifdef HAVE_ISAL
    isal_inflate_reset(s->st);
    s->st->crc_flag = ISAL_GZIP;
#else
    if (inflateReset(&s->z) != Z_OK)
        return set_err(e, QIB_EFORMAT, "%s: gzip: cannot restart the inflater", s->path);
#endif
    s->member_done = 0;
    s->members++;
    return QIB_OK;
}

/* Read up to @p n uncompressed bytes into @p dst; *got < n only at the end of
 * the data.  Corrupt or cut gzip streams are errors. */
static int src_read(struct src *s, void *dst, size_t n, size_t *got, struct err *e)
{
    unsigned char *out = dst;
    size_t left = n;
    *got = 0;
    if (!s->gz) {
        size_t r = fread(out, 1, n, s->f);
        if (r < n && ferror(s->f))
            return set_err(e, QIB_EIO, "%s: read error: %s", s->path, strerror(errno));
        *got = r;
        s->pos += r;
        return QIB_OK;
    }
    while (left > 0 && !s->ended) {
        if (s->member_done) {
            if (gz_next_member(s, e) != QIB_OK)
                return e->status;
            continue;
        }
        /* avail_out is 32 bits wide in both libraries. */
        size_t want = left < (1u << 30) ? left : (1u << 30);
#ifdef HAVE_ISAL
        struct inflate_state *st = s->st;
        unsigned char *next = st->next_in;
        size_t avail = gz_refill(s, &next, st->avail_in, e);
        if (e->status)
            return e->status;
        st->next_in = next;
        st->avail_in = (uint32_t)avail;
        st->next_out = out;
        st->avail_out = (uint32_t)want;
        int ret = isal_inflate(st);
        size_t produced = want - st->avail_out;
        if (ret != ISAL_DECOMP_OK) {
            const char *what = ret == ISAL_INCORRECT_CHECKSUM ? "CRC mismatch (corrupt data)"
                               : ret == ISAL_INVALID_WRAPPER  ? "invalid gzip header"
                               : ret == ISAL_UNSUPPORTED_METHOD
                                   ? "compression method is not deflate"
                                   : "invalid deflate data";
            return set_err(e, QIB_EFORMAT,
                           "%s: gzip: %s at or before compressed byte %" PRIu64
                           " (corrupt .gz file)",
                           s->path, what,
                           (uint64_t)ftello(s->f) - st->avail_in);
        }
        if (st->block_state == ISAL_BLOCK_FINISH)
            s->member_done = 1;
        else if (produced == 0 && st->avail_in == avail && avail > 0)
            return set_err(e, QIB_EFORMAT, "%s: gzip: the inflater makes no progress (corrupt .gz file)",
                           s->path);
        else if (produced == 0 && st->avail_in == 0 && s->eof)
            return set_err(e, QIB_EFORMAT,
                           "%s: gzip: the compressed stream ends before its end marker "
                           "after %" PRIu64 " uncompressed bytes (truncated .gz file)",
                           s->path, s->pos);
#else
        z_stream *z = &s->z;
        unsigned char *next = z->next_in;
        size_t avail = gz_refill(s, &next, z->avail_in, e);
        if (e->status)
            return e->status;
        z->next_in = next;
        z->avail_in = (uInt)avail;
        z->next_out = out;
        z->avail_out = (uInt)want;
        int ret = inflate(z, Z_NO_FLUSH);
        size_t produced = want - z->avail_out;
        if (ret == Z_STREAM_END) {
            s->member_done = 1;
        } else if (ret == Z_MEM_ERROR) {
            return set_err(e, QIB_ENOMEM, "%s: gzip: out of memory", s->path);
        } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
            /* the same words as with ISA-L for the trailer checks */
            const char *what = !z->msg                                      ? "invalid data"
                               : strcmp(z->msg, "incorrect data check") == 0 ? "CRC mismatch (corrupt data)"
                               : strcmp(z->msg, "incorrect length check") == 0
                                   ? "length mismatch (corrupt data)"
                                   : z->msg;
            return set_err(e, QIB_EFORMAT,
                           "%s: gzip: %s at or before compressed byte %" PRIu64
                           " (corrupt .gz file)",
                           s->path, what,
                           (uint64_t)ftello(s->f) - z->avail_in);
        } else if (produced == 0 && z->avail_in == avail && avail > 0) {
            return set_err(e, QIB_EFORMAT, "%s: gzip: the inflater makes no progress (corrupt .gz file)",
                           s->path);
        } else if (produced == 0 && z->avail_in == 0 && s->eof) {
            return set_err(e, QIB_EFORMAT,
                           "%s: gzip: the compressed stream ends before its end marker "
                           "after %" PRIu64 " uncompressed bytes (truncated .gz file)",
                           s->path, s->pos);
        }
#endif
        out += produced;
        left -= produced;
        s->pos += produced;
        *got += produced;
    }
    return QIB_OK;
}

/* Skip @p n uncompressed bytes; *skipped < n only at the end of the data. */
static int src_skip(struct src *s, uint64_t n, uint64_t *skipped, struct err *e)
{
    *skipped = 0;
    if (!s->gz) {
        if (s->pos + n > s->file_size) {
            *skipped = s->file_size - s->pos;
            s->pos = s->file_size;
            return QIB_OK;
        }
        if (fseeko(s->f, (off_t)(s->pos + n), SEEK_SET) != 0)
            return set_err(e, QIB_EIO, "%s: cannot seek: %s", s->path, strerror(errno));
        s->pos += n;
        *skipped = n;
        return QIB_OK;
    }
    unsigned char buf[16384];
    while (*skipped < n) {
        size_t want = n - *skipped < sizeof buf ? (size_t)(n - *skipped) : sizeof buf;
        size_t got;
        if (src_read(s, buf, want, &got, e) != QIB_OK)
            return e->status;
        *skipped += got;
        if (got < want)
            break;
    }
    return QIB_OK;
}

/* Inflate whatever follows the image to the end of the file, so the CRC of
 * the last member is checked and a corrupt tail is not silently accepted. */
static int src_drain(struct src *s, uint64_t *extra, struct err *e)
{
    *extra = 0;
    if (!s->gz)
        return QIB_OK;
    unsigned char buf[16384];
    for (;;) {
        size_t got;
        if (src_read(s, buf, sizeof buf, &got, e) != QIB_OK)
            return e->status;
        *extra += got;
        if (got < sizeof buf)
            return QIB_OK;
    }
}

/* ---------------------------------------------------------------------------
 * The header, parsed into native values. */

struct hdr {
    int version;            /* 1 or 2 */
    int big;                /* file is big-endian */
    int pair;               /* magic says the data is in a separate .img */
    int64_t dim[8];
    double pixdim[8];
    int datatype, bitpix;
    double vox_offset;      /* as stored (float in NIfTI-1) */
    double scl_slope, scl_inter;
    int qform_code, sform_code;
    double quatern[3], qoffset[3];
    double srow[12];
    int xyzt_units;
    int intent_code;
    char intent_name[17];
    char descrip[81];
};

static void copy_text(char *dst, const unsigned char *src, size_t n)
{
    size_t i;
    for (i = 0; i < n && src[i]; i++)
        dst[i] = (src[i] >= 32 && src[i] < 127) ? (char)src[i] : '?';
    dst[i] = '\0';
}

/* Check sizeof_hdr and the magic, and fill @p h from @p b (hdrsize bytes). */
static void parse_hdr(const unsigned char *b, int version, int big, struct hdr *h)
{
    memset(h, 0, sizeof *h);
    h->version = version;
    h->big = big;
    if (version == 1) {
        h->pair = memcmp(b + N1_MAGIC, "ni1", 4) == 0;
        for (int i = 0; i < 8; i++) {
            h->dim[i] = nii_i16(b + N1_DIM + 2 * i, big);
            h->pixdim[i] = nii_f32(b + N1_PIXDIM + 4 * i, big);
        }
        h->datatype = nii_i16(b + N1_DATATYPE, big);
        h->bitpix = nii_i16(b + N1_BITPIX, big);
        h->vox_offset = nii_f32(b + N1_VOX_OFFSET, big);
        h->scl_slope = nii_f32(b + N1_SCL_SLOPE, big);
        h->scl_inter = nii_f32(b + N1_SCL_INTER, big);
        h->qform_code = nii_i16(b + N1_QFORM_CODE, big);
        h->sform_code = nii_i16(b + N1_SFORM_CODE, big);
        for (int i = 0; i < 3; i++) {
            h->quatern[i] = nii_f32(b + N1_QUATERN_B + 4 * i, big);
            h->qoffset[i] = nii_f32(b + N1_QUATERN_B + 12 + 4 * i, big);
        }
        for (int i = 0; i < 12; i++)
            h->srow[i] = nii_f32(b + N1_SROW_X + 4 * i, big);
        h->xyzt_units = b[N1_XYZT_UNITS];
        h->intent_code = nii_i16(b + N1_INTENT_CODE, big);
        copy_text(h->intent_name, b + N1_INTENT_NAME, 16);
        copy_text(h->descrip, b + N1_DESCRIP, 80);
    } else {
        h->pair = memcmp(b + N2_MAGIC, "ni2", 4) == 0;
        for (int i = 0; i < 8; i++) {
            h->dim[i] = nii_i64(b + N2_DIM + 8 * i, big);
            h->pixdim[i] = nii_f64(b + N2_PIXDIM + 8 * i, big);
        }
        h->datatype = nii_i16(b + N2_DATATYPE, big);
        h->bitpix = nii_i16(b + N2_BITPIX, big);
        h->vox_offset = (double)nii_i64(b + N2_VOX_OFFSET, big);
        h->scl_slope = nii_f64(b + N2_SCL_SLOPE, big);
        h->scl_inter = nii_f64(b + N2_SCL_INTER, big);
        h->qform_code = nii_i32(b + N2_QFORM_CODE, big);
        h->sform_code = nii_i32(b + N2_SFORM_CODE, big);
        for (int i = 0; i < 3; i++) {
            h->quatern[i] = nii_f64(b + N2_QUATERN_B + 8 * i, big);
            h->qoffset[i] = nii_f64(b + N2_QUATERN_B + 24 + 8 * i, big);
        }
        for (int i = 0; i < 12; i++)
            h->srow[i] = nii_f64(b + N2_SROW_X + 8 * i, big);
        h->xyzt_units = nii_i32(b + N2_XYZT_UNITS, big);
        h->intent_code = nii_i32(b + N2_INTENT_CODE, big);
        copy_text(h->intent_name, b + N2_INTENT_NAME, 16);
        copy_text(h->descrip, b + N2_DESCRIP, 80);
    }
}

/* ---------------------------------------------------------------------------
 * The reader's state for one run. */

struct rd {
    qib_step *step;
    const char *path;       /* header file, as given */
    char *img_path;         /* data file of a pair (malloc'd) or NULL */
    struct src hs;          /* header file */
    struct src ds;          /* data file of a pair */
    struct hdr h;
    const struct nii_dtype *dt;
    size_t nvox;
    size_t nbytes;          /* stored voxel bytes */
    uint64_t vox_offset;
    int ndim;
    struct qib_geom g;
    const char *affine_source;
    const char *spatial_unit;
    double unit_scale;      /* to mm */
    double shear;           /* sform non-orthogonality, for the record */
    int scaled;
    enum qib_dtype out_type;
    unsigned next_count;
    char ext_codes[128];
    uint64_t tail_bytes;
    /* as=mask: voxels that are not integers 0..255 */
    size_t bad_count;
    size_t bad_first;
    double bad_value;
    size_t conv_base;       /* voxel index of the chunk being converted */
};

static const char *path_ext(const char *path, size_t *stem_len)
{
    static const char *const exts[] = {".nii.gz", ".hdr.gz", ".img.gz", ".nii", ".hdr", ".img"};
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        size_t k = strlen(exts[i]);
        if (n >= k) {
            int same = 1;
            for (size_t j = 0; j < k; j++) {
                char c = path[n - k + j];
                if (c >= 'A' && c <= 'Z')
                    c = (char)(c - 'A' + 'a');
                if (c != exts[i][j]) {
                    same = 0;
                    break;
                }
            }
            if (same) {
                *stem_len = n - k;
                return exts[i];
            }
        }
    }
    *stem_len = n;
    return "";
}

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* The other file of a pair: the same stem with @p base (".img" or ".hdr"),
 * compressed like @p gz first, then the other way.  On failure *tried is the
 * first name tried (malloc'd). */
static char *find_sibling(const char *path, size_t stem_len, const char *base, int gz,
                          char **tried)
{
    char *first = NULL;
    *tried = NULL;
    for (int i = 0; i < 2; i++) {
        int with_gz = i == 0 ? gz : !gz;
        size_t n = stem_len + strlen(base) + 4;
        char *p = malloc(n);
        if (!p)
            break;
        memcpy(p, path, stem_len);
        snprintf(p + stem_len, n - stem_len, "%s%s", base, with_gz ? ".gz" : "");
        if (file_exists(p)) {
            free(first);
            return p;
        }
        if (!first)
            first = p;
        else
            free(p);
    }
    *tried = first;
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Validation of the header: each check names the field. */

static int fail(struct rd *r, int status, const char *fmt, ...) QIB_PRINTF(3, 4);

static int fail(struct rd *r, int status, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return qib_fail(r->step, status, "%s: %s", r->path, msg);
}

static int check_dims(struct rd *r)
{
    const struct hdr *h = &r->h;
    if (h->dim[0] < 1 || h->dim[0] > 7)
        return fail(r, QIB_EFORMAT, "dim[0]: the number of dimensions must be 1..7, found %" PRId64,
                    h->dim[0]);
    for (int i = 1; i <= h->dim[0]; i++)
        if (h->dim[i] < 1)
            return fail(r, QIB_EFORMAT,
                        "dim[%d]: must be >= 1 for a %" PRId64 "-D image, found %" PRId64, i,
                        h->dim[0], h->dim[i]);
    for (int i = 5; i <= h->dim[0]; i++)
        if (h->dim[i] != 1)
            return fail(r, QIB_EUNSUPPORTED,
                        "dim[%d]: %" PRId64 " (a %" PRId64
                        "-D image); qib holds up to 4 dimensions, and dims 5-7 must be 1",
                        i, h->dim[i], h->dim[0]);
    r->ndim = h->dim[0] <= 4 ? (int)h->dim[0] : (h->dim[4] > 1 ? 4 : 3);

    size_t n = 1;
    for (int i = 1; i <= 4 && i <= h->dim[0]; i++) {
        uint64_t d = (uint64_t)h->dim[i];
        if (d > SIZE_MAX || n > SIZE_MAX / (size_t)d)
            return fail(r, QIB_EOVERFLOW,
                        "dim: %" PRId64 "x%" PRId64 "x%" PRId64 "x%" PRId64
                        " voxels: the count overflows size_t",
                        h->dim[1], h->dim[0] >= 2 ? h->dim[2] : 1, h->dim[0] >= 3 ? h->dim[3] : 1,
                        h->dim[0] >= 4 ? h->dim[4] : 1);
        n *= (size_t)d;
    }
    r->nvox = n;
    return QIB_OK;
}

static int check_dtype(struct rd *r)
{
    const struct hdr *h = &r->h;
    r->dt = nii_dtype_by_code(h->datatype);
    if (!r->dt)
        return fail(r, QIB_EFORMAT, "datatype: %d is not a NIfTI datatype code", h->datatype);
    if (!r->dt->qib)
        return fail(r, QIB_EUNSUPPORTED,
                    "datatype: %d (%s) is valid NIfTI but not a type qib holds (uint8, int8, "
                    "uint16, int16, uint32, int32, float32, float64)",
                    r->dt->code, r->dt->name);
    if (h->bitpix != r->dt->bitpix)
        return fail(r, QIB_EFORMAT,
                    "bitpix: datatype %d (%s) has %d bits per voxel, the header says %d",
                    r->dt->code, r->dt->name, r->dt->bitpix, h->bitpix);
    size_t sz = (size_t)r->dt->bitpix / 8;
    if (r->nvox > SIZE_MAX / sz)
        return fail(r, QIB_EOVERFLOW, "dim: %zu voxels of %zu bytes overflow size_t", r->nvox, sz);
    r->nbytes = r->nvox * sz;
    return QIB_OK;
}

static int check_offset(struct rd *r)
{
    const struct hdr *h = &r->h;
    unsigned hsz = h->version == 1 ? NII1_HDR_SIZE : NII2_HDR_SIZE;
    double vo = h->vox_offset;
    if (!isfinite(vo) || vo < 0 || vo != floor(vo) || vo > 9.0e18)
        return fail(r, QIB_EFORMAT, "vox_offset: must be a whole number of bytes >= 0, found %g",
                    vo);
    r->vox_offset = (uint64_t)vo;
    if (!r->h.pair && r->vox_offset < hsz)
        return fail(r, QIB_EFORMAT,
                    "vox_offset: %" PRIu64
                    " lies inside the %u-byte header; a single-file NIfTI-%d needs >= %u",
                    r->vox_offset, hsz, h->version, hsz);
    return QIB_OK;
}

static const char *spatial_unit_name(int code, double *scale)
{
    switch (code & 0x07) {
    case 1:
        *scale = 1000.0;
        return "m";
    case 2:
        *scale = 1.0;
        return "mm";
    case 3:
        *scale = 0.001;
        return "um";
    default:
        *scale = 1.0;
        return "unknown (taken as mm)";
    }
}

static const char *time_unit_name(int code)
{
    switch (code & 0x38) {
    case 8:
        return "s";
    case 16:
        return "ms";
    case 24:
        return "us";
    case 32:
        return "Hz";
    case 40:
        return "ppm";
    case 48:
        return "rad/s";
    default:
        return NULL;
    }
}

/* Build the LPS geometry from sform, qform or pixdim (in that order of
 * preference, as nifti1.h recommends). */
static int make_geometry(struct rd *r)
{
    const struct hdr *h = &r->h;
    struct qib_geom *g = &r->g;
    memset(g, 0, sizeof *g);
    g->ndim = r->ndim;
    for (int i = 0; i < 4; i++)
        g->dims[i] = (i + 1 <= h->dim[0] && i < 4) ? (size_t)h->dim[i + 1] : 1;

    r->spatial_unit = spatial_unit_name(h->xyzt_units, &r->unit_scale);
    int nsp = h->dim[0] < 3 ? (int)h->dim[0] : 3;

    /* pixdim of the used dimensions: checked whatever the affine source, a
     * zero or negative voxel size means the header is broken. */
    for (int i = 1; i <= nsp; i++)
        if (!isfinite(h->pixdim[i]) || h->pixdim[i] <= 0)
            return fail(r, QIB_EFORMAT,
                        "pixdim[%d]: the voxel size along dimension %d must be finite and > 0, "
                        "found %g",
                        i, i, h->pixdim[i]);
    double ps[4];
    for (int i = 0; i < 3; i++) {
        double p = h->pixdim[i + 1];
        /* unused dimensions of a 1-D or 2-D image: 1 mm when not given */
        ps[i] = (i < nsp || (isfinite(p) && p > 0)) ? p : 1.0;
    }
    if (r->ndim == 4) {
        double p = h->pixdim[4];
        if (!isfinite(p) || p < 0)
            return fail(r, QIB_EFORMAT,
                        "pixdim[4]: the step of the fourth dimension must be finite and >= 0, "
                        "found %g",
                        p);
        /* Several converters write 0 when the 4th dimension is not time
         * (b-values, echoes); qib needs a positive step, so 1 is used and
         * recorded in the metadata. */
        g->spacing[3] = p > 0 ? p : 1.0;
    } else {
        g->spacing[3] = 1.0;
    }

    double m[12]; /* RAS affine, 3 rows x 4, in the file's unit */
    if (h->sform_code > 0) {
        r->affine_source = "sform";
        memcpy(m, h->srow, sizeof m);
    } else if (h->qform_code > 0) {
        r->affine_source = "qform";
        double rot[9];
        nii_quatern_to_rot(h->quatern[0], h->quatern[1], h->quatern[2], rot);
        double qfac = h->pixdim[0] < 0 ? -1.0 : 1.0;
        for (int row = 0; row < 3; row++) {
            for (int c = 0; c < 3; c++)
                m[4 * row + c] = rot[3 * row + c] * ps[c] * (c == 2 ? qfac : 1.0);
            m[4 * row + 3] = h->qoffset[row];
        }
    } else {
        /* NIfTI-1 "method 1" (Analyze): x = pixdim * i, no rotation, no
         * offset. */
        r->affine_source = "pixdim";
        memset(m, 0, sizeof m);
        for (int i = 0; i < 3; i++)
            m[4 * i + i] = ps[i];
    }
    for (int i = 0; i < 12; i++) {
        if (!isfinite(m[i]))
            return fail(r, QIB_EFORMAT, "%s: affine element (%d,%d) is not finite (%g)",
                        r->affine_source, i / 4, i % 4, m[i]);
        m[i] *= r->unit_scale;
    }
    /* RAS -> LPS: negate the x and y rows. */
    for (int c = 0; c < 4; c++) {
        m[c] = -m[c];
        m[4 + c] = -m[4 + c];
    }
    for (int c = 0; c < 3; c++) {
        double n = sqrt(m[c] * m[c] + m[4 + c] * m[4 + c] + m[8 + c] * m[8 + c]);
        if (!(n > 0))
            return fail(r, QIB_EFORMAT, "%s: column %d of the affine is zero (no voxel size)",
                        r->affine_source, c);
        g->spacing[c] = n;
        for (int row = 0; row < 3; row++)
            g->dir[3 * row + c] = m[4 * row + c] / n;
        g->origin[c] = m[4 * c + 3];
    }
    r->shear = 0.0;
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++) {
            double dot = 0;
            for (int row = 0; row < 3; row++)
                dot += g->dir[3 * row + a] * g->dir[3 * row + b];
            r->shear = fmax(r->shear, fabs(dot));
        }
    if (r->shear > SHEAR_TOL)
        return fail(r, QIB_EUNSUPPORTED,
                    "%s: the voxel axes are not orthogonal (|cos| between columns up to %.3g, "
                    "more than %g): a sheared grid (e.g. gantry tilt) must be resampled first",
                    r->affine_source, r->shear, SHEAR_TOL);
    if (fabs(nii_det3(g->dir)) < 0.5)
        return fail(r, QIB_EFORMAT, "%s: the voxel axes are degenerate", r->affine_source);
    char why[256];
    if (qib_geom_check(g, why, sizeof why) != QIB_OK)
        return fail(r, QIB_EGEOMETRY, "geometry: %s", why);
    return QIB_OK;
}

/* ---------------------------------------------------------------------------
 * Voxel conversion. */

static void swap_bytes(void *data, size_t n, size_t sz)
{
    unsigned char *p = data;
    switch (sz) {
    case 2:
        for (size_t i = 0; i < n; i++, p += 2) {
            uint16_t v;
            memcpy(&v, p, 2);
            v = (uint16_t)(v << 8 | v >> 8);
            memcpy(p, &v, 2);
        }
        break;
    case 4:
        for (size_t i = 0; i < n; i++, p += 4) {
            uint32_t v;
            memcpy(&v, p, 4);
            v = (v << 24) | ((v << 8) & 0x00ff0000u) | ((v >> 8) & 0x0000ff00u) | (v >> 24);
            memcpy(p, &v, 4);
        }
        break;
    case 8:
        for (size_t i = 0; i < n; i++, p += 8) {
            uint64_t v;
            memcpy(&v, p, 8);
            v = ((v & 0x00000000000000ffull) << 56) | ((v & 0x000000000000ff00ull) << 40) |
                ((v & 0x0000000000ff0000ull) << 24) | ((v & 0x00000000ff000000ull) << 8) |
                ((v & 0x000000ff00000000ull) >> 8) | ((v & 0x0000ff0000000000ull) >> 24) |
                ((v & 0x00ff000000000000ull) >> 40) | ((v & 0xff00000000000000ull) >> 56);
            memcpy(p, &v, 8);
        }
        break;
    default:
        break;
    }
}

/* The conversion loops, one per stored type so each vectorises; values are
 * computed in double and rounded once to the output type. */
#define CONVERT_CASES(LOOP)                                                    \
    case 2: LOOP(uint8_t); break;                                               \
    case 256: LOOP(int8_t); break;                                              \
    case 4: LOOP(int16_t); break;                                               \
    case 512: LOOP(uint16_t); break;                                            \
    case 8: LOOP(int32_t); break;                                               \
    case 768: LOOP(uint32_t); break;                                            \
    case 16: LOOP(float); break;                                                \
    case 64: LOOP(double); break;                                               \
    default: break;

/* Convert @p n raw voxels (native order) to the output type, applying the
 * scaling when set; for masks check that every value is an integer 0..255. */
static void convert_chunk(struct rd *r, const void *raw, size_t n, void *dst)
{
    const int code = r->dt->code;
    const double slope = r->scaled ? r->h.scl_slope : 1.0;
    const double inter = r->scaled ? r->h.scl_inter : 0.0;
    switch (r->out_type) {
    case QIB_F32: {
        float *o = dst;
#define LOOP(T)                                                                \
    do {                                                                       \
        const T *s = raw;                                                      \
        for (size_t i = 0; i < n; i++)                                         \
            o[i] = (float)((double)s[i] * slope + inter);                      \
    } while (0)
        switch (code) { CONVERT_CASES(LOOP) }
#undef LOOP
        break;
    }
    case QIB_F64: {
        double *o = dst;
#define LOOP(T)                                                                \
    do {                                                                       \
        const T *s = raw;                                                      \
        for (size_t i = 0; i < n; i++)                                         \
            o[i] = (double)s[i] * slope + inter;                               \
    } while (0)
        switch (code) { CONVERT_CASES(LOOP) }
#undef LOOP
        break;
    }
    case QIB_U8: {
        uint8_t *o = dst;
        size_t bad = 0, first = 0;
        double badv = 0;
#define LOOP(T)                                                                \
    do {                                                                       \
        const T *s = raw;                                                      \
        for (size_t i = 0; i < n; i++) {                                       \
            double v = (double)s[i] * slope + inter;                           \
            if (v >= 0 && v <= 255 && v == floor(v)) {                         \
                o[i] = (uint8_t)v;                                             \
            } else {                                                           \
                if (bad++ == 0) {                                              \
                    first = i;                                                 \
                    badv = v;                                                  \
                }                                                              \
                o[i] = 0;                                                      \
            }                                                                  \
        }                                                                      \
    } while (0)
        switch (code) { CONVERT_CASES(LOOP) }
#undef LOOP
        if (bad) {
            if (r->bad_count == 0) {
                r->bad_first = r->conv_base + first;
                r->bad_value = badv;
            }
            r->bad_count += bad;
        }
        break;
    }
    default:
        break;
    }
}
#undef CONVERT_CASES

/* Read the stored voxels into @p v, then inflate whatever follows them (so
 * the last CRC is checked).  When no conversion is needed the voxels go
 * straight into the volume's buffer; otherwise through a chunk that stays in
 * cache, converted as it arrives.  Runs beside the input hashing (see
 * read_and_hash), so it reports through @p e and never touches the step. */
static int read_voxels(struct rd *r, struct src *s, qib_volume *v, struct err *e)
{
    const size_t sz = (size_t)r->dt->bitpix / 8;
    const int swap = r->h.big != nii_host_is_big() && sz > 1;
    unsigned char *out = qib_volume_data_mut(v);
    size_t got = 0;

    if (r->out_type == r->dt->qib && !r->scaled) {
        if (src_read(s, out, r->nbytes, &got, e) != QIB_OK)
            return e->status;
        if (got == r->nbytes && swap)
            swap_bytes(out, r->nvox, sz);
    } else {
        const size_t chunk_vox = (IN_CHUNK / 8);
        unsigned char *buf = malloc(chunk_vox * sz);
        if (!buf)
            return set_err(e, QIB_ENOMEM, "%s: out of memory", s->path);
        const size_t osz = qib_dtype_size(r->out_type);
        for (size_t i = 0; i < r->nvox; i += chunk_vox) {
            size_t nv = r->nvox - i < chunk_vox ? r->nvox - i : chunk_vox;
            size_t g = 0;
            if (src_read(s, buf, nv * sz, &g, e) != QIB_OK) {
                free(buf);
                return e->status;
            }
            got += g;
            if (g < nv * sz)
                break;
            if (swap)
                swap_bytes(buf, nv, sz);
            r->conv_base = i;
            convert_chunk(r, buf, nv, out + i * osz);
        }
        free(buf);
    }
    if (got < r->nbytes)
        return set_err(e, QIB_EFORMAT,
                       "%s: voxel data: the %s ends after %zu of the %zu bytes of a "
                       "%zux%zux%zux%zu %s image (truncated file)",
                       s->path, s->gz ? "decompressed stream" : "file", got, r->nbytes,
                       r->g.dims[0], r->g.dims[1], r->g.dims[2], r->g.dims[3], r->dt->name);
    return src_drain(s, &r->tail_bytes, e);
}

/* The two jobs of the data phase: block 0 records the input files (their
 * SHA-256 for provenance, which means reading each file once more), block 1
 * reads the voxels.  On a pool of two or more threads they overlap, so the
 * digest costs little extra time; without a pool they run one after the
 * other.  Only block 0 calls into the step; block 1 keeps its error in err
 * until both are done. */
struct par {
    struct rd *r;
    struct src *ds;
    qib_volume *v;
    int rc_hash, rc_read;
    struct err err;
};

static void read_and_hash(void *arg, size_t block, size_t begin, size_t end)
{
    struct par *p = arg;
    (void)begin;
    (void)end;
    if (block == 0) {
        p->rc_hash = qib_step_record_input(p->r->step, p->r->path);
        if (p->rc_hash == QIB_OK && p->r->img_path)
            p->rc_hash = qib_step_record_input(p->r->step, p->r->img_path);
    } else {
        p->rc_read = read_voxels(p->r, p->ds, p->v, &p->err);
    }
}

/* ---------------------------------------------------------------------------
 * The steps of a read. */

static int read_header(struct rd *r, unsigned char *b)
{
    struct err e = {0};
    struct src *s = &r->hs;
    size_t got;
    if (src_open(s, r->path, &e) != QIB_OK)
        return qib_fail(r->step, e.status, "%s", e.msg);
    if (s->file_size == 0)
        return fail(r, QIB_EFORMAT, "the file is empty");
    if (src_read(s, b, NII1_HDR_SIZE, &got, &e) != QIB_OK)
        return qib_fail(r->step, e.status, "%s", e.msg);
    if (got < NII1_HDR_SIZE)
        return fail(r, QIB_EFORMAT,
                    "header: the %s ends after %zu bytes; a NIfTI header needs at least %d "
                    "(truncated file)",
                    s->gz ? "decompressed stream" : "file", got, NII1_HDR_SIZE);
    uint32_t le = nii_get32(b, 0), be = nii_get32(b, 1);
    int version, big;
    if (le == NII1_HDR_SIZE || le == NII2_HDR_SIZE) {
        big = 0;
        version = le == NII1_HDR_SIZE ? 1 : 2;
    } else if (be == NII1_HDR_SIZE || be == NII2_HDR_SIZE) {
        big = 1;
        version = be == NII1_HDR_SIZE ? 1 : 2;
    } else {
        return fail(r, QIB_EFORMAT,
                    "sizeof_hdr: %" PRId32
                    " (byte-swapped %" PRId32
                    "); a NIfTI-1 header has 348 and a NIfTI-2 header 540: not a NIfTI file",
                    (int32_t)le, (int32_t)be);
    }
    if (version == 2) {
        if (src_read(s, b + NII1_HDR_SIZE, NII2_HDR_SIZE - NII1_HDR_SIZE, &got, &e) != QIB_OK)
            return qib_fail(r->step, e.status, "%s", e.msg);
        if (got < NII2_HDR_SIZE - NII1_HDR_SIZE)
            return fail(r, QIB_EFORMAT,
                        "header: the %s ends after %zu bytes; a NIfTI-2 header needs %d "
                        "(truncated file)",
                        s->gz ? "decompressed stream" : "file", NII1_HDR_SIZE + got,
                        NII2_HDR_SIZE);
        static const unsigned char m2[2][8] = {{'n', '+', '2', 0, '\r', '\n', 0x1a, '\n'},
                                               {'n', 'i', '2', 0, '\r', '\n', 0x1a, '\n'}};
        if (memcmp(b + N2_MAGIC, m2[0], 8) != 0 && memcmp(b + N2_MAGIC, m2[1], 8) != 0) {
            char m[9];
            copy_text(m, b + N2_MAGIC, 3);
            return fail(r, QIB_EFORMAT,
                        "magic: a NIfTI-2 header needs \"n+2\" or \"ni2\" followed by "
                        "\\0\\r\\n\\032\\n, found \"%s...\"",
                        m);
        }
    } else {
        if (memcmp(b + N1_MAGIC, "n+1", 4) != 0 && memcmp(b + N1_MAGIC, "ni1", 4) != 0) {
            char m[5];
            copy_text(m, b + N1_MAGIC, 4);
            return fail(r, QIB_EUNSUPPORTED,
                        "magic: \"n+1\" or \"ni1\" expected, found \"%s\": an Analyze 7.5 "
                        "header, which qib does not read (its orientation is undefined)",
                        m);
        }
    }
    parse_hdr(b, version, big, &r->h);
    return QIB_OK;
}

/* Walk the extensions between the header and vox_offset, for the record.
 * Their content is not used: the data is found from vox_offset alone. */
static int skip_extensions(struct rd *r)
{
    struct err e = {0};
    struct src *s = &r->hs;
    unsigned hsz = r->h.version == 1 ? NII1_HDR_SIZE : NII2_HDR_SIZE;
    uint64_t region = r->vox_offset - hsz;
    uint64_t skipped;
    if (region == 0)
        return QIB_OK;
    if (!s->gz && r->vox_offset > s->file_size)
        return fail(r, QIB_EFORMAT, "vox_offset: %" PRIu64 " is beyond the end of the file (%" PRIu64
                    " bytes)", r->vox_offset, s->file_size);
    if (region <= EXT_PARSE_MAX) {
        unsigned char *buf = malloc((size_t)region);
        if (!buf)
            return fail(r, QIB_ENOMEM, "out of memory");
        size_t got;
        if (src_read(s, buf, (size_t)region, &got, &e) != QIB_OK) {
            free(buf);
            return qib_fail(r->step, e.status, "%s", e.msg);
        }
        if (got == region && region >= 4 && buf[0] != 0) {
            size_t at = 4, len = 0;
            while (at + 8 <= region) {
                int32_t esize = nii_i32(buf + at, r->h.big);
                int32_t ecode = nii_i32(buf + at + 4, r->h.big);
                if (esize < 16 || esize % 16 != 0 || (uint64_t)esize > region - at)
                    break; /* malformed: ignore the rest, vox_offset still holds */
                r->next_count++;
                if (len + 16 < sizeof r->ext_codes)
                    len += (size_t)snprintf(r->ext_codes + len, sizeof r->ext_codes - len,
                                            "%s%" PRId32, len ? " " : "", ecode);
                at += (size_t)esize;
            }
        }
        free(buf);
        skipped = got;
    } else if (src_skip(s, region, &skipped, &e) != QIB_OK) {
        return qib_fail(r->step, e.status, "%s", e.msg);
    }
    if (skipped < region)
        return fail(r, QIB_EFORMAT,
                    "vox_offset: %" PRIu64 " is beyond the end of the %s (%" PRIu64 " bytes)",
                    r->vox_offset, s->gz ? "decompressed stream" : "file", hsz + skipped);
    return QIB_OK;
}

/* Where the voxel data comes from: the header's file after the extensions,
 * or the .img of a pair after vox_offset bytes. */
static int open_data(struct rd *r, struct src **out)
{
    struct err e = {0};
    if (!r->img_path) {
        int rc = skip_extensions(r);
        if (rc != QIB_OK)
            return rc;
        *out = &r->hs;
    } else {
        if (src_open(&r->ds, r->img_path, &e) != QIB_OK)
            return qib_fail(r->step, e.status, "%s", e.msg);
        uint64_t skipped;
        if (src_skip(&r->ds, r->vox_offset, &skipped, &e) != QIB_OK)
            return qib_fail(r->step, e.status, "%s", e.msg);
        if (skipped < r->vox_offset)
            return qib_fail(r->step, QIB_EFORMAT,
                            "%s: vox_offset: %" PRIu64 " (from %s) is beyond the end of the "
                            "image file (%" PRIu64 " bytes)",
                            r->img_path, r->vox_offset, r->path, skipped);
        *out = &r->ds;
    }
    struct src *s = *out;
    /* A plain file shorter than the header promises is refused before the
     * allocation; a gzip file cannot hold more than 1032 bytes per byte. */
    if (!s->gz && s->file_size - s->pos < r->nbytes)
        return qib_fail(r->step, QIB_EFORMAT,
                        "%s: voxel data: %" PRIu64 " bytes follow vox_offset %" PRIu64
                        " but the %s image needs %zu (%zu voxels): truncated file",
                        s->path, s->file_size - s->pos, r->vox_offset, r->dt->name, r->nbytes,
                        r->nvox);
    if (s->gz && (r->nbytes / DEFLATE_MAX_RATIO) > s->file_size)
        return qib_fail(r->step, QIB_EFORMAT,
                        "%s: dim: the header promises %zu bytes of voxel data, more than a "
                        "%" PRIu64 "-byte gzip file can hold: truncated file or wrong dim",
                        s->path, r->nbytes, s->file_size);
    return QIB_OK;
}

static int set_meta(struct rd *r, qib_volume *v)
{
    qib_meta *m = qib_volume_meta_mut(v);
    const struct hdr *h = &r->h;
    char buf[160];
    int rc = QIB_OK;
    if (!m)
        return QIB_EBUSY;
#define SET(key, val, src)                                         \
    do {                                                           \
        if (rc == QIB_OK)                                          \
            rc = qib_meta_set(m, key, val, src);                   \
    } while (0)
#define SETD(key, val, src)                                        \
    do {                                                           \
        if (rc == QIB_OK)                                          \
            rc = qib_meta_set_double(m, key, val, src);            \
    } while (0)
    SET("nifti.path", r->path, "read.nifti");
    if (r->img_path)
        SET("nifti.image_path", r->img_path, "read.nifti");
    snprintf(buf, sizeof buf, "%d", h->version);
    SET("nifti.version", buf, "nifti:sizeof_hdr");
    SET("nifti.byte_order", h->big ? "big" : "little", "nifti:sizeof_hdr");
    SET("nifti.descrip", h->descrip, "nifti:descrip");
    snprintf(buf, sizeof buf, "%d", h->datatype);
    SET("nifti.datatype", buf, "nifti:datatype");
    SET("nifti.datatype_name", r->dt->name, "nifti:datatype");
    SET("nifti.affine_source", r->affine_source, "read.nifti");
    snprintf(buf, sizeof buf, "%d", h->qform_code);
    SET("nifti.qform_code", buf, "nifti:qform_code");
    snprintf(buf, sizeof buf, "%d", h->sform_code);
    SET("nifti.sform_code", buf, "nifti:sform_code");
    if (strcmp(r->affine_source, "qform") == 0)
        SETD("nifti.qfac", h->pixdim[0] < 0 ? -1.0 : 1.0, "nifti:pixdim[0]");
    if (strcmp(r->affine_source, "sform") == 0)
        SETD("nifti.sform_nonorthogonality", r->shear, "computed");
    snprintf(buf, sizeof buf, "%d", h->xyzt_units);
    SET("nifti.xyzt_units", buf, "nifti:xyzt_units");
    SET("nifti.spatial_unit", r->spatial_unit, "nifti:xyzt_units");
    if (r->unit_scale != 1.0)
        SETD("nifti.spatial_unit_to_mm", r->unit_scale, "nifti:xyzt_units");
    if (r->ndim == 4) {
        const char *tu = time_unit_name(h->xyzt_units);
        SET("nifti.time_unit", tu ? tu : "unknown", "nifti:xyzt_units");
        SETD("nifti.pixdim4", h->pixdim[4], "nifti:pixdim[4]");
        if (!(h->pixdim[4] > 0))
            SET("nifti.pixdim4_replaced", "pixdim[4] is 0; the 4th-dimension step is taken as 1",
                "read.nifti");
    }
    if (h->intent_code != 0) {
        snprintf(buf, sizeof buf, "%d", h->intent_code);
        SET("nifti.intent_code", buf, "nifti:intent_code");
    }
    if (h->intent_name[0])
        SET("nifti.intent_name", h->intent_name, "nifti:intent_name");
    if (r->scaled) {
        SETD("nifti.scl_slope", h->scl_slope, "nifti:scl_slope");
        SETD("nifti.scl_inter", h->scl_inter, "nifti:scl_inter");
    }
    if (r->next_count) {
        snprintf(buf, sizeof buf, "%u (codes %s)", r->next_count, r->ext_codes);
        SET("nifti.extensions", buf, "nifti:extension");
    }
    if (r->tail_bytes) {
        snprintf(buf, sizeof buf, "%" PRIu64, r->tail_bytes);
        SET("nifti.bytes_after_image", buf, "read.nifti");
    }
#undef SET
#undef SETD
    return rc;
}

static int read_run(qib_step *step, void *vp)
{
    struct priv *p = vp;
    struct rd r;
    memset(&r, 0, sizeof r);
    r.step = step;
    r.path = p->path;
    qib_volume *v = NULL;
    int rc;
    unsigned char b[NII2_HDR_SIZE];

    if (!r.path || !r.path[0])
        return qib_fail(step, QIB_EINVAL, "path: no file given");

    size_t stem_len;
    const char *ext = path_ext(r.path, &stem_len);
    char *hdr_path = NULL;
    if (strncmp(ext, ".img", 4) == 0) {
        /* Given the data file of a pair: read its header. */
        char *tried = NULL;
        hdr_path = find_sibling(r.path, stem_len, ".hdr", strcmp(ext, ".img.gz") == 0, &tried);
        if (!hdr_path) {
            rc = qib_fail(step, QIB_ENOTFOUND, "%s: the header of this .img, %s, does not exist",
                          r.path, tried ? tried : "its .hdr");
            free(tried);
            return rc;
        }
        r.path = hdr_path;
        ext = path_ext(r.path, &stem_len);
    }

    if ((rc = read_header(&r, b)) != QIB_OK)
        goto out;
    if ((rc = check_dims(&r)) != QIB_OK || (rc = check_dtype(&r)) != QIB_OK ||
        (rc = check_offset(&r)) != QIB_OK || (rc = make_geometry(&r)) != QIB_OK)
        goto out;

    if (r.h.pair || strncmp(ext, ".hdr", 4) == 0) {
        char *tried = NULL;
        r.img_path = find_sibling(r.path, stem_len, ".img", r.hs.gz, &tried);
        if (!r.img_path) {
            rc = qib_fail(step, QIB_ENOTFOUND,
                          "%s: %s: the voxel data is in a separate .img file, but %s does not "
                          "exist",
                          r.path, r.h.pair ? (r.h.version == 1 ? "magic \"ni1\"" : "magic \"ni2\"")
                                           : "a .hdr header",
                          tried ? tried : "the .img");
            free(tried);
            goto out;
        }
    }

    /* Scaling: slope 0 or not finite means none (nifti1.h); an identity
     * scaling is not applied so the stored type is kept. */
    double slope = r.h.scl_slope, inter = r.h.scl_inter;
    if (!isfinite(inter))
        inter = r.h.scl_inter = 0.0;
    r.scaled = isfinite(slope) && slope != 0.0 && !(slope == 1.0 && inter == 0.0);
    if (p->as == AS_MASK) {
        if (r.ndim == 4 && r.g.dims[3] > 1) {
            rc = fail(&r, QIB_EUNSUPPORTED,
                      "as=mask: a mask is 3-D but the image has %zu volumes along dim[4]",
                      r.g.dims[3]);
            goto out;
        }
        r.out_type = QIB_U8;
        r.g.ndim = r.ndim > 3 ? 3 : r.ndim;
    } else if (r.scaled) {
        /* f32 holds every scaled 8- and 16-bit value to its precision; 32-bit
         * integers and doubles need f64. */
        r.out_type = (r.dt->qib == QIB_I32 || r.dt->qib == QIB_U32 || r.dt->qib == QIB_F64)
                         ? QIB_F64
                         : QIB_F32;
    } else {
        r.out_type = r.dt->qib;
    }

    struct src *ds = NULL;
    if ((rc = open_data(&r, &ds)) != QIB_OK)
        goto out;

    rc = qib_volume_new_uninit(r.out_type, &r.g, &v);
    if (rc != QIB_OK) {
        rc = fail(&r, rc, "cannot allocate a %s image of %zu voxels: %s",
                  qib_dtype_name(r.out_type), r.nvox, qib_strerror(rc));
        goto out;
    }
    struct par par = {.r = &r, .ds = ds, .v = v};
    rc = qib_parallel_for(qib_step_pool(step), 2, 1, read_and_hash, &par);
    if (rc != QIB_OK) {
        rc = fail(&r, rc, "cannot run the read");
        goto out;
    }
    if (par.rc_read != QIB_OK) {
        rc = qib_fail(step, par.rc_read, "%s", par.err.msg);
        goto out;
    }
    if ((rc = par.rc_hash) != QIB_OK)
        goto out;
    if (r.bad_count) {
        size_t fr = r.g.dims[0] * r.g.dims[1];
        size_t i = r.bad_first;
        rc = fail(&r, QIB_ERANGE,
                  "as=mask: %zu voxel%s not an integer in 0..255 (first at voxel (%zu,%zu,%zu), "
                  "value %g): not a mask",
                  r.bad_count, r.bad_count == 1 ? " is" : "s are", i % r.g.dims[0],
                  (i / r.g.dims[0]) % r.g.dims[1], i / fr, r.bad_value);
        goto out;
    }
    if (p->as == AS_MASK && (rc = qib_volume_set_mask(v, 1)) != QIB_OK) {
        rc = fail(&r, rc, "cannot flag the image as a mask");
        goto out;
    }
    if ((rc = set_meta(&r, v)) != QIB_OK) {
        rc = fail(&r, rc, "cannot store the metadata");
        goto out;
    }
    qib_step_record(step, "affine_source", r.affine_source);
    qib_step_record(step, "nifti_version", r.h.version == 1 ? "1" : "2");
    if (r.scaled) {
        char sb[96];
        snprintf(sb, sizeof sb, "%.9g * stored + %.9g", r.h.scl_slope, r.h.scl_inter);
        qib_step_record(step, "scaling", sb);
    }
    {
        char gb[512];
        qib_geom_format(&r.g, gb, sizeof gb);
        qib_step_log(step, "%s: NIfTI-%d %s, %s, affine from %s", r.path, r.h.version,
                     r.dt->name, gb, r.affine_source);
    }
    rc = qib_step_set_volume(step, "image", v);
    v = NULL;
out:
    qib_volume_unref(&v);
    src_close(&r.hs);
    src_close(&r.ds);
    free(r.img_path);
    free(hdr_path);
    return rc;
}

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_READ,
    .name = "nifti",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "Read a NIfTI-1/NIfTI-2 image (.nii, .nii.gz, .hdr/.img) into LPS, or as a mask",
    .citation = "Cox RW et al. A (sort of) new image data format standard: NIfTI-1. "
                "10th Annual Meeting of the Organization for Human Brain Mapping, 2004",
    .params = params,
    .inputs = NULL,
    .outputs = outputs,
    .priv_size = sizeof(struct priv),
    .run = read_run,
};

QIB_PLUGIN_DEFINE(descriptor)
