/* write.nifti: a volume or mask to a single-file NIfTI-1 image (.nii or
 * .nii.gz; NIfTI-2 only when a dimension exceeds NIfTI-1's 32767), LPS
 * converted back to RAS, with both qform and sform.  A .nii.gz is one gzip
 * member whose deflate blocks are compressed in parallel on the step's pool,
 * by zlib unless ISA-L is asked for (see doc/nifti.md, "Writing"). */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#ifdef HAVE_ISAL
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#endif

#include "qib/qib.h"

#include "../nifti-format.h"

/* Uncompressed bytes per independently compressed piece: large enough that
 * restarting the 32 KiB history costs nothing measurable, small enough to
 * spread over the threads.  Fixed, so the file is identical for any number of
 * threads. */
#define PIECE (4u << 20)

enum { DEFLATE_ZLIB, DEFLATE_ISAL };

static const char *const deflaters[] = {"zlib", "isal", NULL};

struct priv {
    char *path;
    int64_t compression_level;
    int deflater;
};

static const struct qib_param params[] = {
    {.name = "path",
     .type = QIB_PARAM_PATH,
     .offset = offsetof(struct priv, path),
     .flags = QIB_PARAM_REQUIRED | QIB_PARAM_OUTPUT,
     .help = "output file under --out; .nii writes it uncompressed, .nii.gz gzip-compressed"},
    {.name = "compression_level",
     .type = QIB_PARAM_INT,
     .offset = offsetof(struct priv, compression_level),
     .def = "-1",
     .min = -1,
     .max = 9,
     .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "gzip effort for .nii.gz, 0 (stored, zlib) to 9 (smallest); -1 is level 1 "
             "(zlib), or ISA-L's level 1 with deflater isal"},
    {.name = "deflater",
     .type = QIB_PARAM_ENUM,
     .offset = offsetof(struct priv, deflater),
     .choices = deflaters,
     .def = "zlib",
     .help = "compressor for .nii.gz: zlib (the same image always gives the same bytes) or "
             "isal (ISA-L igzip, several times faster; its bytes can differ between runs and "
             "between CPUs, so output digests may not repeat)"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "image", .kind = QIB_OBJ_VOLUME, .help = "the volume or mask to write"},
    {.name = NULL},
};

/* Whether @p path ends in @p ext, ignoring case. */
static int ends_with(const char *path, const char *ext)
{
    size_t n = strlen(path), k = strlen(ext);
    if (n < k)
        return 0;
    for (size_t i = 0; i < k; i++) {
        char c = path[n - k + i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != ext[i])
            return 0;
    }
    return 1;
}

static int write_check(qib_step *step, const void *vp)
{
    const struct priv *p = vp;
    if (!p->path || !(ends_with(p->path, ".nii") || ends_with(p->path, ".nii.gz")))
        return qib_fail(step, QIB_EINVAL, "path: must end in .nii or .nii.gz, found \"%s\"",
                        p->path ? p->path : "");
#ifndef HAVE_ISAL
    if (p->deflater == DEFLATE_ISAL)
        return qib_fail(step, QIB_EUNSUPPORTED,
                        "deflater: isal asked for, but this qib was built without ISA-L "
                        "(apt-get install libisal-dev, then configure again); use zlib");
#endif
    return QIB_OK;
}

/* ---------------------------------------------------------------------------
 * The header. */

static int meta_int(const qib_meta *m, const char *key, int dflt)
{
    double d;
    if (qib_meta_get_double(m, key, &d) != QIB_OK || !(d >= -32768 && d <= 32767) ||
        d != floor(d))
        return dflt;
    return (int)d;
}

static int time_unit_code(const char *u)
{
    static const struct {
        const char *name;
        int code;
    } t[] = {{"s", 8}, {"ms", 16}, {"us", 24}, {"Hz", 32}, {"ppm", 40}, {"rad/s", 48}};
    if (!u)
        return 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(u, t[i].name) == 0)
            return t[i].code;
    return 0;
}

/* Fill @p b (hdr_size + 4 bytes) for volume @p v.  Returns the header size
 * with its extension flag (the data offset), or 0 when the geometry has no
 * quaternion (singular direction matrix). */
static size_t build_header(const qib_volume *v, int version, unsigned char *b, int *qcode,
                           int *scode)
{
    const struct qib_geom *g = qib_volume_geom(v);
    const qib_meta *meta = qib_volume_meta(v);
    const struct nii_dtype *dt = nii_dtype_by_qib(qib_volume_dtype(v));
    const int big = nii_host_is_big();
    double m[16], dir[9], q[3], qfac;

    qib_geom_affine(g, m);
    /* LPS -> RAS: negate the x and y rows. */
    for (int c = 0; c < 4; c++) {
        m[c] = -m[c];
        m[4 + c] = -m[4 + c];
    }
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            dir[3 * r + c] = (r < 2 ? -1.0 : 1.0) * g->dir[3 * r + c];
    if (nii_rot_to_quatern(dir, q, &qfac) != 0)
        return 0;

    /* Keep the codes of a volume that came from a NIfTI file (an MNI-space
     * image stays MNI); otherwise 1, scanner-anatomical.  A code of 0 would
     * hide a transform that is written, so the other code stands in. */
    int qc = meta_int(meta, "nifti.qform_code", 0);
    int sc = meta_int(meta, "nifti.sform_code", 0);
    *qcode = qc > 0 ? qc : sc > 0 ? sc : 1;
    *scode = sc > 0 ? sc : qc > 0 ? qc : 1;

    int xyzt = 2; /* mm */
    if (g->ndim == 4)
        xyzt |= time_unit_code(qib_meta_get(meta, "nifti.time_unit"));

    char descrip[80];
    memset(descrip, 0, sizeof descrip);
    snprintf(descrip, sizeof descrip, "qib %s", qib_version());

    double pixdim[8] = {qfac, 1, 1, 1, 1, 1, 1, 1};
    for (int i = 0; i < 4; i++)
        pixdim[i + 1] = g->spacing[i];
    if (g->ndim < 4)
        pixdim[4] = 1.0;

    size_t hsz = version == 1 ? NII1_HDR_SIZE : NII2_HDR_SIZE;
    memset(b, 0, hsz + 4);
    if (version == 1) {
        nii_put32(b + N1_SIZEOF_HDR, NII1_HDR_SIZE, big);
        nii_put16(b + N1_DIM, g->ndim, big);
        for (int i = 1; i < 8; i++)
            nii_put16(b + N1_DIM + 2 * i, i <= 4 ? (int)g->dims[i - 1] : 1, big);
        nii_put16(b + N1_DATATYPE, dt->code, big);
        nii_put16(b + N1_BITPIX, dt->bitpix, big);
        for (int i = 0; i < 8; i++)
            nii_putf32(b + N1_PIXDIM + 4 * i, pixdim[i], big);
        nii_putf32(b + N1_VOX_OFFSET, NII1_VOX_OFFSET, big);
        nii_putf32(b + N1_SCL_SLOPE, 1.0, big);
        nii_putf32(b + N1_SCL_INTER, 0.0, big);
        b[N1_XYZT_UNITS] = (unsigned char)xyzt;
        memcpy(b + N1_DESCRIP, descrip, 80);
        nii_put16(b + N1_QFORM_CODE, *qcode, big);
        nii_put16(b + N1_SFORM_CODE, *scode, big);
        for (int i = 0; i < 3; i++) {
            nii_putf32(b + N1_QUATERN_B + 4 * i, q[i], big);
            nii_putf32(b + N1_QUATERN_B + 12 + 4 * i, m[4 * i + 3], big);
        }
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++)
                nii_putf32(b + N1_SROW_X + 16 * r + 4 * c, m[4 * r + c], big);
        if (qib_volume_is_mask(v))
            nii_put16(b + N1_INTENT_CODE, NII_INTENT_LABEL, big);
        memcpy(b + N1_MAGIC, "n+1", 4);
    } else {
        static const unsigned char magic[8] = {'n', '+', '2', 0, '\r', '\n', 0x1a, '\n'};
        nii_put32(b + N2_SIZEOF_HDR, NII2_HDR_SIZE, big);
        memcpy(b + N2_MAGIC, magic, 8);
        nii_put16(b + N2_DATATYPE, dt->code, big);
        nii_put16(b + N2_BITPIX, dt->bitpix, big);
        nii_put64(b + N2_DIM, (uint64_t)g->ndim, big);
        for (int i = 1; i < 8; i++)
            nii_put64(b + N2_DIM + 8 * i, i <= 4 ? (uint64_t)g->dims[i - 1] : 1, big);
        for (int i = 0; i < 8; i++)
            nii_putf64(b + N2_PIXDIM + 8 * i, pixdim[i], big);
        nii_put64(b + N2_VOX_OFFSET, NII2_VOX_OFFSET, big);
        nii_putf64(b + N2_SCL_SLOPE, 1.0, big);
        nii_putf64(b + N2_SCL_INTER, 0.0, big);
        memcpy(b + N2_DESCRIP, descrip, 80);
        nii_put32(b + N2_QFORM_CODE, (uint32_t)*qcode, big);
        nii_put32(b + N2_SFORM_CODE, (uint32_t)*scode, big);
        for (int i = 0; i < 3; i++) {
            nii_putf64(b + N2_QUATERN_B + 8 * i, q[i], big);
            nii_putf64(b + N2_QUATERN_B + 24 + 8 * i, m[4 * i + 3], big);
        }
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++)
                nii_putf64(b + N2_SROW_X + 32 * r + 8 * c, m[4 * r + c], big);
        nii_put32(b + N2_XYZT_UNITS, (uint32_t)xyzt, big);
        if (qib_volume_is_mask(v))
            nii_put32(b + N2_INTENT_CODE, NII_INTENT_LABEL, big);
    }
    /* The 4 bytes after the header are the extension flag: none. */
    return hsz + 4;
}

/* ---------------------------------------------------------------------------
 * gzip: one member; the header and each PIECE of voxels are deflated
 * independently (full flush, so each piece ends byte-aligned and needs no
 * history from the one before), in parallel, then written in order with the
 * CRCs combined. */

struct piece {
    const unsigned char *in;
    size_t in_len;
    int last;
    unsigned char *out;
    size_t out_cap;
    size_t out_len;
    uint32_t crc;
    int err;
};

struct zctx {
    struct piece *pieces;
    int level; /* the library's level */
    int isal;  /* ISA-L rather than zlib */
};

static size_t out_bound(size_t n)
{
    /* stored-block worst case plus slack for block headers and flush markers */
    return n + n / 64 + 4096;
}

static void deflate_piece(void *arg, size_t block, size_t begin, size_t end)
{
    struct zctx *z = arg;
    (void)block;
    for (size_t k = begin; k < end; k++) {
        struct piece *p = &z->pieces[k];
        p->err = 0;
        p->out_len = 0;
#ifdef HAVE_ISAL
        if (z->isal) {
            p->crc = crc32_gzip_refl(0, p->in, p->in_len);
            static const uint32_t lbuf_size[4] = {ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT,
                                                  ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT};
            struct isal_zstream *zs = calloc(1, sizeof *zs);
            uint8_t *lbuf = lbuf_size[z->level] ? calloc(1, lbuf_size[z->level]) : NULL;
            if (!zs || (lbuf_size[z->level] && !lbuf)) {
                free(zs);
                free(lbuf);
                p->err = QIB_ENOMEM;
                continue;
            }
            isal_deflate_stateless_init(zs);
            zs->next_in = (uint8_t *)(uintptr_t)p->in;
            zs->avail_in = (uint32_t)p->in_len;
            zs->next_out = p->out;
            zs->avail_out = (uint32_t)p->out_cap;
            zs->level = (uint32_t)z->level;
            zs->level_buf = lbuf;
            zs->level_buf_size = lbuf_size[z->level];
            zs->flush = FULL_FLUSH;
            zs->end_of_stream = (uint16_t)(p->last ? 1 : 0);
            zs->gzip_flag = 0;
            int ret = isal_deflate_stateless(zs);
            if (ret == COMP_OK && zs->avail_in == 0)
                p->out_len = p->out_cap - zs->avail_out;
            else
                p->err = QIB_EIO;
            free(lbuf);
            free(zs);
            continue;
        }
#endif
        p->crc = (uint32_t)crc32(0, p->in, (uInt)p->in_len);
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        if (deflateInit2(&zs, z->level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            p->err = QIB_ENOMEM;
            continue;
        }
        zs.next_in = (Bytef *)(uintptr_t)p->in;
        zs.avail_in = (uInt)p->in_len;
        zs.next_out = p->out;
        zs.avail_out = (uInt)p->out_cap;
        int ret = deflate(&zs, p->last ? Z_FINISH : Z_FULL_FLUSH);
        if ((p->last ? ret == Z_STREAM_END : ret == Z_OK) && zs.avail_in == 0)
            p->out_len = p->out_cap - zs.avail_out;
        else
            p->err = QIB_EIO;
        deflateEnd(&zs);
    }
}

/* The library's level for the user's zlib-scale @p user (-1: the default). */
static int library_level(int64_t user, int isal)
{
    if (isal) /* ISA-L has levels 0..3: map the zlib scale onto them */
        return user < 0 ? 1 : user <= 1 ? (int)user : user <= 5 ? 2 : 3;
    return user < 0 ? 1 : (int)user;
}

static int write_gz(qib_step *step, FILE *f, const char *path, const unsigned char *hdr,
                    size_t hlen, const unsigned char *data, size_t nbytes, int level, int isal)
{
    qib_pool *pool = qib_step_pool(step);
    const size_t npieces = 1 + (nbytes + PIECE - 1) / PIECE;
    size_t batch = 2 * (size_t)qib_pool_threads(pool);
    if (batch < 2)
        batch = 2;
    if (batch > npieces)
        batch = npieces;
    struct piece *pc = calloc(batch, sizeof *pc);
    int rc = QIB_OK;
    if (!pc)
        return qib_fail(step, QIB_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < batch; i++) {
        pc[i].out_cap = out_bound(PIECE > hlen ? PIECE : hlen);
        pc[i].out = malloc(pc[i].out_cap);
        if (!pc[i].out) {
            rc = qib_fail(step, QIB_ENOMEM, "%s: out of memory", path);
            goto out;
        }
    }
    /* gzip header: no name, no time stamp (so equal images give equal files),
     * OS unknown. */
    static const unsigned char gzhdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    if (fwrite(gzhdr, 1, sizeof gzhdr, f) != sizeof gzhdr)
        goto ioerr;
    uint32_t crc = 0;
    uint64_t total = 0;
    struct zctx z = {.pieces = pc, .level = level, .isal = isal};
    for (size_t first = 0; first < npieces; first += batch) {
        size_t nb = npieces - first < batch ? npieces - first : batch;
        for (size_t i = 0; i < nb; i++) {
            size_t k = first + i;
            if (k == 0) {
                pc[i].in = hdr;
                pc[i].in_len = hlen;
            } else {
                size_t off = (k - 1) * (size_t)PIECE;
                pc[i].in = data + off;
                pc[i].in_len = nbytes - off < PIECE ? nbytes - off : PIECE;
            }
            pc[i].last = k == npieces - 1;
        }
        if (qib_parallel_for(pool, nb, 1, deflate_piece, &z) != QIB_OK) {
            rc = qib_fail(step, QIB_EIO, "%s: cannot run the compression", path);
            goto out;
        }
        for (size_t i = 0; i < nb; i++) {
            if (pc[i].err) {
                rc = qib_fail(step, pc[i].err == QIB_ENOMEM ? QIB_ENOMEM : QIB_EIO,
                              "%s: deflate failed on piece %zu", path, first + i);
                goto out;
            }
            if (fwrite(pc[i].out, 1, pc[i].out_len, f) != pc[i].out_len)
                goto ioerr;
            crc = total == 0 && first + i == 0
                      ? pc[i].crc
                      : (uint32_t)crc32_combine(crc, pc[i].crc, (z_off_t)pc[i].in_len);
            total += pc[i].in_len;
        }
    }
    unsigned char trailer[8];
    nii_put32(trailer, crc, 0);
    nii_put32(trailer + 4, (uint32_t)(total & 0xffffffffu), 0);
    if (fwrite(trailer, 1, 8, f) != 8)
        goto ioerr;
    goto out;
ioerr:
    rc = qib_fail(step, QIB_EIO, "%s: write error: %s", path, strerror(errno));
out:
    for (size_t i = 0; i < batch; i++)
        free(pc[i].out);
    free(pc);
    return rc;
}

static int write_run(qib_step *step, void *vp)
{
    struct priv *p = vp;
    const qib_volume *v = qib_step_in_volume(step, "image");
    if (!v)
        return qib_fail(step, QIB_EINVAL, "image: no volume given");
    const struct qib_geom *g = qib_volume_geom(v);
    const struct nii_dtype *dt = nii_dtype_by_qib(qib_volume_dtype(v));
    if (!dt)
        return qib_fail(step, QIB_EUNSUPPORTED, "image: voxel type %s has no NIfTI datatype",
                        qib_dtype_name(qib_volume_dtype(v)));

    /* NIfTI-1 stores dims as int16; a larger image needs NIfTI-2. */
    int version = 1;
    for (int i = 0; i < 4; i++)
        if (g->dims[i] > 32767)
            version = 2;

    unsigned char hdr[NII2_HDR_SIZE + 4] = {0};
    int qcode, scode;
    size_t hlen = build_header(v, version, hdr, &qcode, &scode);
    if (hlen == 0)
        return qib_fail(step, QIB_EGEOMETRY,
                        "image: the direction matrix is singular, no NIfTI orientation exists");

    const int gz = ends_with(p->path, ".gz");
    const size_t nbytes = qib_volume_nvox(v) * qib_dtype_size(qib_volume_dtype(v));
    const unsigned char *data = qib_volume_data(v);

    qib_ofile *of = NULL;
    int rc = qib_step_create_output(step, p->path, &of);
    if (rc != QIB_OK)
        return rc;
    FILE *f = qib_ofile_stream(of);
    const char *fpath = qib_ofile_path(of);
    const int isal = p->deflater == DEFLATE_ISAL;
    const int level = library_level(p->compression_level, isal);
    if (gz) {
        rc = write_gz(step, f, fpath, hdr, hlen, data, nbytes, level, isal);
    } else if (fwrite(hdr, 1, hlen, f) != hlen || fwrite(data, 1, nbytes, f) != nbytes) {
        rc = qib_fail(step, QIB_EIO, "%s: write error: %s", fpath, strerror(errno));
    }
    if (rc != QIB_OK) {
        qib_ofile_abort(&of);
        return rc;
    }
    if ((rc = qib_ofile_commit(&of)) != QIB_OK)
        return rc;

    char buf[128];
    snprintf(buf, sizeof buf, "%d/%d", qcode, scode);
    qib_step_record(step, "qform_sform_code", buf);
    if (gz && isal)
        snprintf(buf, sizeof buf, "gzip, ISA-L igzip level %d", level);
    else if (gz)
        snprintf(buf, sizeof buf, "gzip, zlib %s level %d", zlibVersion(), level);
    else
        snprintf(buf, sizeof buf, "none");
    qib_step_record(step, "compression", buf);
    qib_step_record(step, "nifti_version", version == 1 ? "1" : "2");
    return QIB_OK;
}

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_WRITE,
    .name = "nifti",
    .version = "1.1.0",
    .license = "MIT",
    .summary = "Write a volume or mask as a NIfTI-1 .nii or .nii.gz (RAS, qform and sform)",
    .citation = "Cox RW et al. A (sort of) new image data format standard: NIfTI-1. "
                "10th Annual Meeting of the Organization for Human Brain Mapping, 2004",
    .params = params,
    .inputs = inputs,
    .outputs = NULL, /* the file is the result */
    .priv_size = sizeof(struct priv),
    .check = write_check,
    .run = write_run,
};

QIB_PLUGIN_DEFINE(descriptor)
