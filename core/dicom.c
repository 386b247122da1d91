/* DICOM parser: Part 10 files and raw datasets in the uncompressed transfer
 * syntaxes (implicit VR LE, explicit VR LE and BE, deflated explicit VR LE),
 * parsed into a flat array of nodes that point into the file's bytes.  Every
 * length is checked against the bytes that remain before it is followed. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "qib/status.h"

#include "dicom.h"

#define UNDEF 0xFFFFFFFFu
#define TAG_ITEM QIB__DCM_TAG(0xFFFE, 0xE000)
#define TAG_ITEM_END QIB__DCM_TAG(0xFFFE, 0xE00D)
#define TAG_SEQ_END QIB__DCM_TAG(0xFFFE, 0xE0DD)
#define TAG_PIXELS QIB__DCM_TAG(0x7FE0, 0x0010)
#define TAG_TS QIB__DCM_TAG(0x0002, 0x0010)
/* Nesting deeper than this is refused: real files nest a handful of levels,
 * and recursion must stay bounded on hostile input. */
#define MAX_DEPTH 48
#define VR(a, b) ((uint16_t)(((unsigned)(a) << 8) | (unsigned)(b)))
/* A deflated dataset may not claim more than this many bytes: deflate
 * cannot expand more than 1032:1, and one file above 4 GiB is not an image
 * series slice. */
#define INFLATE_MAX ((size_t)4 << 30)

struct parser {
    struct qib__dcm *d;
    char *err;
    size_t errlen;
};

static int fail(struct parser *p, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, int status, const char *fmt, ...)
{
    if (p->err && p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err, p->errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}

static uint16_t rd16(const uint8_t *b, int be)
{
    return be ? (uint16_t)((b[0] << 8) | b[1]) : (uint16_t)(b[0] | (b[1] << 8));
}

static uint32_t rd32(const uint8_t *b, int be)
{
    if (be)
        return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

static int is_vr_letter(uint8_t c)
{
    return c >= 'A' && c <= 'Z';
}

/* VRs whose explicit encoding has two reserved bytes and a 32-bit length. */
static int long_vr(uint16_t vr)
{
    switch (vr) {
    case VR('O', 'B'): case VR('O', 'D'): case VR('O', 'F'): case VR('O', 'L'):
    case VR('O', 'V'): case VR('O', 'W'): case VR('S', 'Q'): case VR('S', 'V'):
    case VR('U', 'C'): case VR('U', 'N'): case VR('U', 'R'): case VR('U', 'T'):
    case VR('U', 'V'):
        return 1;
    default:
        return 0;
    }
}

/* The binary VRs of the tags qib reads, for implicit VR datasets (text VRs
 * need no dictionary: their bytes are the same in every syntax). */
static uint16_t dict_vr(uint32_t tag)
{
    switch (tag) {
    case QIB__DCM_TAG(0x0028, 0x0002): case QIB__DCM_TAG(0x0028, 0x0010):
    case QIB__DCM_TAG(0x0028, 0x0011): case QIB__DCM_TAG(0x0028, 0x0100):
    case QIB__DCM_TAG(0x0028, 0x0101): case QIB__DCM_TAG(0x0028, 0x0102):
    case QIB__DCM_TAG(0x0028, 0x0103): case QIB__DCM_TAG(0x0054, 0x0081):
    case QIB__DCM_TAG(0x0054, 0x1330): case QIB__DCM_TAG(0x0019, 0x100A):
    case QIB__DCM_TAG(0x0028, 0x0006):
        return VR('U', 'S');
    case QIB__DCM_TAG(0x0020, 0x9128): case QIB__DCM_TAG(0x0020, 0x9057):
    case QIB__DCM_TAG(0x0020, 0x9157):
        return VR('U', 'L');
    case QIB__DCM_TAG(0x0018, 0x9087): case QIB__DCM_TAG(0x0018, 0x9089):
    case QIB__DCM_TAG(0x0019, 0x100E):
        return VR('F', 'D');
    case TAG_PIXELS:
        return VR('O', 'W');
    default:
        return 0;
    }
}

static int add_node(struct parser *p, uint32_t *idx)
{
    struct qib__dcm *d = p->d;
    if (d->nnodes == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 256;
        if (cap > UINT32_MAX)
            return fail(p, QIB_EOVERFLOW, "too many DICOM elements");
        struct qib__dcm_node *nn = realloc(d->nodes, cap * sizeof *nn);
        if (!nn)
            return fail(p, QIB_ENOMEM, "out of memory");
        d->nodes = nn;
        d->cap = cap;
    }
    memset(&d->nodes[d->nnodes], 0, sizeof d->nodes[0]);
    *idx = (uint32_t)d->nnodes++;
    return QIB_OK;
}

/* Append node @p n to the children of @p parent; *last tracks the last. */
static void link_child(struct qib__dcm *d, uint32_t parent, uint32_t *last, uint32_t n)
{
    if (*last)
        d->nodes[*last].next = n;
    else
        d->nodes[parent].child = n;
    *last = n;
}

#define TAGF "(%04X,%04X)"
#define TAGA(t) (unsigned)((t) >> 16), (unsigned)((t)&0xFFFF)

static int parse_dataset(struct parser *p, size_t pos, size_t end, int until_delim, uint32_t parent,
                         int depth, int be, int ex, size_t *stop);

/* Items of a sequence (or fragments of encapsulated pixel data, when
 * @p fragments).  With @p until_delim the sequence ends at a sequence
 * delimiter, otherwise at @p end. */
static int parse_seq(struct parser *p, uint32_t sq, size_t pos, size_t end, int until_delim,
                     int depth, int be, int ex, int fragments, size_t *stop)
{
    struct qib__dcm *d = p->d;
    uint32_t sqtag = d->nodes[sq].tag, last = 0;
    if (depth > MAX_DEPTH)
        return fail(p, QIB_EFORMAT, "sequence " TAGF " nested more than %d levels deep", TAGA(sqtag),
                    MAX_DEPTH);
    for (;;) {
        if (!until_delim && pos == end)
            break;
        if (end - pos < 8) {
            if (until_delim && pos == end)
                return fail(p, QIB_EFORMAT, "sequence " TAGF " of undefined length has no "
                            "sequence delimiter before the end of the data", TAGA(sqtag));
            return fail(p, QIB_EFORMAT, "sequence " TAGF ": item header truncated at offset %zu "
                        "(%zu bytes left)", TAGA(sqtag), pos, end - pos);
        }
        uint32_t tag = ((uint32_t)rd16(d->buf + pos, be) << 16) | rd16(d->buf + pos + 2, be);
        uint32_t len = rd32(d->buf + pos + 4, be);
        if (tag == TAG_SEQ_END) {
            pos += 8;
            break;
        }
        if (tag != TAG_ITEM)
            return fail(p, QIB_EFORMAT, "sequence " TAGF ": expected an item tag (FFFE,E000) at "
                        "offset %zu, found " TAGF, TAGA(sqtag), pos, TAGA(tag));
        uint32_t it;
        int rc = add_node(p, &it);
        if (rc)
            return rc;
        d->nodes[it].tag = TAG_ITEM;
        d->nodes[it].off = pos + 8;
        link_child(d, sq, &last, it);
        pos += 8;
        if (len == UNDEF) {
            if (fragments)
                return fail(p, QIB_EFORMAT, "encapsulated pixel data: fragment of undefined "
                            "length at offset %zu", pos - 8);
            d->nodes[it].undefined = 1;
            rc = parse_dataset(p, pos, end, 1, it, depth + 1, be, ex, &pos);
            if (rc)
                return rc;
        } else {
            if (len > end - pos)
                return fail(p, QIB_EFORMAT, "sequence " TAGF ": item at offset %zu claims %u "
                            "bytes, only %zu remain", TAGA(sqtag), pos - 8, len, end - pos);
            d->nodes[it].len = len;
            if (!fragments) {
                rc = parse_dataset(p, pos, pos + len, 0, it, depth + 1, be, ex, NULL);
                if (rc)
                    return rc;
            }
            pos += len;
        }
    }
    if (stop)
        *stop = pos;
    return QIB_OK;
}

/* One element at *pos, linked under @p parent. */
static int parse_element(struct parser *p, size_t *posp, size_t end, uint32_t parent,
                         uint32_t *last, int depth, int be, int ex)
{
    struct qib__dcm *d = p->d;
    size_t pos = *posp;
    const uint8_t *b = d->buf + pos;
    uint32_t tag = ((uint32_t)rd16(b, be) << 16) | rd16(b + 2, be);
    uint16_t vr;
    uint32_t len;
    size_t hdr;
    if (ex && is_vr_letter(b[4]) && is_vr_letter(b[5])) {
        vr = VR(b[4], b[5]);
        if (long_vr(vr)) {
            if (end - pos < 12)
                return fail(p, QIB_EFORMAT, "element " TAGF " at offset %zu: header truncated",
                            TAGA(tag), pos);
            len = rd32(b + 8, be);
            hdr = 12;
        } else {
            len = rd16(b + 6, be);
            hdr = 8;
        }
    } else {
        /* Implicit VR, or an explicit VR dataset with an implicit element
         * (a known writer bug): the length is 32 bits either way. */
        vr = dict_vr(tag);
        len = rd32(b + 4, be);
        hdr = 8;
    }
    uint32_t n;
    int rc = add_node(p, &n);
    if (rc)
        return rc;
    struct qib__dcm_node *nd = &d->nodes[n];
    nd->tag = tag;
    nd->vr = vr;
    nd->off = pos + hdr;
    link_child(d, parent, last, n);
    pos += hdr;
    if (len == UNDEF) {
        d->nodes[n].undefined = 1;
        d->nodes[n].is_sq = 1;
        if (tag == TAG_PIXELS) {
            if (parent == 0)
                d->pixel_node = n;
            rc = parse_seq(p, n, pos, end, 1, depth + 1, be, ex, 1, &pos);
        } else if (vr == VR('U', 'N')) {
            /* A sequence of unknown VR is encoded implicit VR little endian
             * (PS3.5 6.2.2). */
            rc = parse_seq(p, n, pos, end, 1, depth + 1, 0, 0, 0, &pos);
        } else {
            rc = parse_seq(p, n, pos, end, 1, depth + 1, be, ex, 0, &pos);
        }
        if (rc)
            return rc;
        *posp = pos;
        return QIB_OK;
    }
    if (len > end - pos)
        return fail(p, QIB_EFORMAT, "element " TAGF " at offset %zu: length %u runs past the end of "
                    "the data (%zu bytes left)", TAGA(tag), pos - hdr, len, end - pos);
    d->nodes[n].len = len;
    if (tag == TAG_PIXELS && parent == 0)
        d->pixel_node = n;
    if (vr == VR('S', 'Q')) {
        d->nodes[n].is_sq = 1;
        rc = parse_seq(p, n, pos, pos + len, 0, depth + 1, be, ex, 0, NULL);
        if (rc)
            return rc;
    } else if ((vr == 0 || vr == VR('U', 'N')) && tag != TAG_PIXELS && len >= 8) {
        /* Implicit VR carries no VR: a value that starts with an item tag is
         * taken for a sequence when it parses as one. */
        int sbe = vr ? 0 : be, sex = vr ? 0 : ex;
        uint32_t first = ((uint32_t)rd16(d->buf + pos, sbe) << 16) | rd16(d->buf + pos + 2, sbe);
        if (first == TAG_ITEM) {
            size_t keep = d->nnodes;
            d->nodes[n].is_sq = 1;
            rc = parse_seq(p, n, pos, pos + len, 0, depth + 1, sbe, sex, 0, NULL);
            if (rc == QIB_ENOMEM)
                return rc;
            if (rc) {
                d->nnodes = keep;
                d->nodes[n].is_sq = 0;
                d->nodes[n].child = 0;
            }
        }
    }
    *posp = pos + len;
    return QIB_OK;
}

static int parse_dataset(struct parser *p, size_t pos, size_t end, int until_delim, uint32_t parent,
                         int depth, int be, int ex, size_t *stop)
{
    struct qib__dcm *d = p->d;
    uint32_t last = 0;
    if (depth > MAX_DEPTH)
        return fail(p, QIB_EFORMAT, "items nested more than %d levels deep", MAX_DEPTH);
    while (pos < end) {
        if (end - pos < 8)
            return fail(p, QIB_EFORMAT, "element header truncated at offset %zu (%zu bytes left)",
                        pos, end - pos);
        uint32_t tag = ((uint32_t)rd16(d->buf + pos, be) << 16) | rd16(d->buf + pos + 2, be);
        if (tag == TAG_ITEM_END) {
            if (until_delim) {
                pos += 8;
                if (stop)
                    *stop = pos;
                return QIB_OK;
            }
            return fail(p, QIB_EFORMAT, "item delimiter at offset %zu outside an item of undefined "
                        "length", pos);
        }
        if ((tag >> 16) == 0xFFFE) {
            /* A stray sequence delimiter ends a top-level dataset (some
             * writers leave one); anywhere else it is an error. */
            if (tag == TAG_SEQ_END && parent == 0 && !until_delim) {
                pos = end;
                break;
            }
            return fail(p, QIB_EFORMAT, "unexpected delimiter " TAGF " at offset %zu", TAGA(tag), pos);
        }
        int rc = parse_element(p, &pos, end, parent, &last, depth, be, ex);
        if (rc)
            return rc;
    }
    if (until_delim)
        return fail(p, QIB_EFORMAT, "item of undefined length has no item delimiter before the end "
                    "of the data");
    if (stop)
        *stop = pos;
    return QIB_OK;
}

static const struct {
    const char *uid, *name;
    enum qib__dcm_ts_kind kind;
} ts_table[] = {
    {"1.2.840.10008.1.2", "Implicit VR Little Endian", QIB__DCM_TS_NATIVE},
    {"1.2.840.10008.1.2.1", "Explicit VR Little Endian", QIB__DCM_TS_NATIVE},
    {"1.2.840.10008.1.2.1.98", "Encapsulated Uncompressed Explicit VR Little Endian", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian", QIB__DCM_TS_DEFLATED},
    {"1.2.840.10008.1.2.2", "Explicit VR Big Endian", QIB__DCM_TS_NATIVE},
    {"1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.53", "JPEG Extended (Process 3 & 5)", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.55", "JPEG Full Progression (Process 10 & 12)", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 "
     "[Selection Value 1])", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.80", "JPEG-LS Lossless Image Compression", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless) Image Compression", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.90", "JPEG 2000 Image Compression (Lossless Only)", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)",
     QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component Image Compression",
     QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.94", "JPIP Referenced", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.95", "JPIP Referenced Deflate", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1",
     QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.104", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video",
     QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.105", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video",
     QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.106", "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2",
     QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile / Level 5.1", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile / Level 5.1", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)",
     QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options Image Compression "
     "(Lossless Only)", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000 Image Compression", QIB__DCM_TS_ENCAPSULATED},
    {"1.2.840.10008.1.2.5", "RLE Lossless", QIB__DCM_TS_ENCAPSULATED},
};

const char *qib__dcm_ts_name(const char *uid)
{
    for (size_t i = 0; i < sizeof ts_table / sizeof ts_table[0]; i++)
        if (strcmp(ts_table[i].uid, uid) == 0)
            return ts_table[i].name;
    return NULL;
}

/* Inflate the deflated dataset that starts at @p pos into a new buffer that
 * holds the unchanged bytes before it followed by the inflated ones. */
static int inflate_rest(struct parser *p, size_t pos)
{
    struct qib__dcm *d = p->d;
    size_t in_len = d->len - pos;
    size_t cap = pos + (in_len < ((size_t)1 << 20) ? ((size_t)1 << 20) : 4 * in_len);
    uint8_t *out = malloc(cap);
    if (!out)
        return fail(p, QIB_ENOMEM, "out of memory");
    memcpy(out, d->buf, pos);
    /* The standard says raw deflate; a few writers add a zlib header. */
    for (int attempt = 0; attempt < 2; attempt++) {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (inflateInit2(&z, attempt == 0 ? -MAX_WBITS : MAX_WBITS) != Z_OK) {
            free(out);
            return fail(p, QIB_ENOMEM, "out of memory");
        }
        size_t have = pos, consumed = 0;
        int zr = Z_OK;
        while (zr != Z_STREAM_END) {
            if (have == cap) {
                if (cap - pos >= INFLATE_MAX) {
                    inflateEnd(&z);
                    free(out);
                    return fail(p, QIB_EOVERFLOW, "deflated dataset inflates to more than %zu bytes",
                                INFLATE_MAX);
                }
                size_t ncap = cap * 2;
                uint8_t *no = realloc(out, ncap);
                if (!no) {
                    inflateEnd(&z);
                    free(out);
                    return fail(p, QIB_ENOMEM, "out of memory");
                }
                out = no;
                cap = ncap;
            }
            size_t in_chunk = in_len - consumed > UINT32_MAX ? UINT32_MAX : in_len - consumed;
            size_t out_chunk = cap - have > UINT32_MAX ? UINT32_MAX : cap - have;
            z.next_in = (Bytef *)(uintptr_t)(d->buf + pos + consumed);
            z.avail_in = (uInt)in_chunk;
            z.next_out = out + have;
            z.avail_out = (uInt)out_chunk;
            zr = inflate(&z, Z_NO_FLUSH);
            consumed += in_chunk - z.avail_in;
            have += out_chunk - z.avail_out;
            if (zr == Z_STREAM_END)
                break;
            if (zr != Z_OK && zr != Z_BUF_ERROR)
                break;
            if (zr == Z_BUF_ERROR && consumed == in_len && z.avail_out > 0)
                break; /* input ended before the stream did */
        }
        inflateEnd(&z);
        if (zr == Z_STREAM_END) {
            free(d->owned);
            d->owned = out;
            d->buf = out;
            d->len = have;
            return QIB_OK;
        }
    }
    free(out);
    return fail(p, QIB_EFORMAT, "deflated dataset (transfer syntax 1.2.840.10008.1.2.1.99) does not "
                "inflate: corrupt or truncated deflate stream");
}

static int parse_all(struct parser *p)
{
    struct qib__dcm *d = p->d;
    size_t pos = 0;
    uint32_t root;
    int rc = add_node(p, &root);
    if (rc)
        return rc;
    if (d->len >= 132 && memcmp(d->buf + 128, "DICM", 4) == 0) {
        pos = 132;
        d->has_meta = 1;
    } else if (d->len >= 4 && memcmp(d->buf, "DICM", 4) == 0) {
        pos = 4; /* the prefix without the preamble, seen in a few files */
        d->has_meta = 1;
    }
    uint32_t last = 0;
    /* File meta information: group 0002, explicit VR little endian. */
    while (d->len - pos >= 8 && rd16(d->buf + pos, 0) == 0x0002) {
        rc = parse_element(p, &pos, d->len, 0, &last, 0, 0, 1);
        if (rc)
            return rc;
    }
    if (d->has_meta && d->nnodes == 1)
        return fail(p, QIB_EFORMAT, "DICM prefix but no file meta information (group 0002)");
    uint32_t ts = qib__dcm_find(d, 0, TAG_TS);
    char uid[68] = "";
    if (ts)
        qib__dcm_text(d, ts, uid, sizeof uid);
    if (d->len - pos < 8 && d->len != pos)
        return fail(p, QIB_EFORMAT, "%zu stray bytes after the file meta information",
                    d->len - pos);
    if (d->nnodes == 1 && d->len < 8)
        return fail(p, QIB_EFORMAT, "%zu bytes: too short for a DICOM dataset", d->len);
    int be = 0, ex = 1;
    d->ts_kind = QIB__DCM_TS_NATIVE;
    if (uid[0]) {
        size_t i, nt = sizeof ts_table / sizeof ts_table[0];
        for (i = 0; i < nt; i++)
            if (strcmp(ts_table[i].uid, uid) == 0)
                break;
        if (i < nt)
            d->ts_kind = ts_table[i].kind;
        if (strcmp(uid, "1.2.840.10008.1.2") == 0)
            ex = 0;
        else if (strcmp(uid, "1.2.840.10008.1.2.2") == 0)
            be = 1;
        else if (i == nt && pos < d->len && !(is_vr_letter(d->buf[pos + 4]) && is_vr_letter(d->buf[pos + 5])))
            ex = 0; /* an unknown syntax: go by what the bytes look like */
        snprintf(d->ts_uid, sizeof d->ts_uid, "%s", uid);
    } else if (pos < d->len) {
        /* No transfer syntax: a raw dataset; guess from its first element. */
        const uint8_t *b = d->buf + pos;
        uint16_t gle = rd16(b, 0), gbe = rd16(b, 1);
        ex = is_vr_letter(b[4]) && is_vr_letter(b[5]);
        be = ex && gle > 0x00FF && gbe <= 0x00FF;
        snprintf(d->ts_uid, sizeof d->ts_uid, "%s",
                 !ex ? "1.2.840.10008.1.2" : be ? "1.2.840.10008.1.2.2" : "1.2.840.10008.1.2.1");
    }
    if (d->ts_kind == QIB__DCM_TS_DEFLATED && pos < d->len) {
        rc = inflate_rest(p, pos);
        if (rc)
            return rc;
    }
    d->big_endian = be;
    d->explicit_vr = ex;
    /* The dataset continues the root's children after the meta group. */
    while (pos < d->len) {
        if (d->len - pos < 8)
            return fail(p, QIB_EFORMAT, "element header truncated at offset %zu (%zu bytes left)", pos,
                        d->len - pos);
        uint32_t tag = ((uint32_t)rd16(d->buf + pos, be) << 16) | rd16(d->buf + pos + 2, be);
        if ((tag >> 16) == 0xFFFE) {
            if (tag == TAG_SEQ_END || tag == TAG_ITEM_END)
                break; /* trailing delimiter left by some writers */
            return fail(p, QIB_EFORMAT, "unexpected item tag " TAGF " at offset %zu of the dataset",
                        TAGA(tag), pos);
        }
        rc = parse_element(p, &pos, d->len, 0, &last, 0, be, ex);
        if (rc)
            return rc;
    }
    if (d->nnodes == 1)
        return fail(p, QIB_EFORMAT, "no DICOM elements found");
    if (d->pixel_node && d->nodes[d->pixel_node].undefined)
        d->ts_kind = QIB__DCM_TS_ENCAPSULATED;
    return QIB_OK;
}

int qib__dcm_parse(const void *buf, size_t len, struct qib__dcm **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    struct qib__dcm *d = calloc(1, sizeof *d);
    struct parser p = {.d = d, .err = err, .errlen = errlen};
    if (!d)
        return fail(&p, QIB_ENOMEM, "out of memory");
    d->buf = buf;
    d->len = len;
    int rc = parse_all(&p);
    if (rc && !d->has_meta && err && errlen) {
        /* Without the DICM prefix the bytes may not be DICOM at all. */
        char inner[512];
        snprintf(inner, sizeof inner, "%s", err);
        snprintf(err, errlen, "no DICM prefix, and not a readable raw DICOM dataset: %s", inner);
    }
    if (rc) {
        qib__dcm_free(&d);
        return rc;
    }
    *out = d;
    return QIB_OK;
}

int qib__dcm_open(const char *path, struct qib__dcm **out, char *err, size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int en = errno;
        snprintf(err, errlen, "cannot open: %s", strerror(en));
        return en == ENOENT ? QIB_ENOTFOUND : QIB_EIO;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        snprintf(err, errlen, "not a regular file");
        return QIB_EIO;
    }
    if (sb.st_size == 0) {
        close(fd);
        snprintf(err, errlen, "empty file");
        return QIB_EFORMAT;
    }
    size_t n = (size_t)sb.st_size;
    void *m = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    int en = errno;
    close(fd);
    if (m == MAP_FAILED) {
        snprintf(err, errlen, "cannot map: %s", strerror(en));
        return QIB_EIO;
    }
    int rc = qib__dcm_parse(m, n, out, err, errlen);
    if (rc) {
        munmap(m, n);
        return rc;
    }
    (*out)->map = m;
    (*out)->maplen = n;
    return QIB_OK;
}

void qib__dcm_free(struct qib__dcm **d)
{
    if (!d || !*d)
        return;
    if ((*d)->map)
        munmap((*d)->map, (*d)->maplen);
    free((*d)->owned);
    free((*d)->nodes);
    free(*d);
    *d = NULL;
}

uint32_t qib__dcm_find(const struct qib__dcm *d, uint32_t parent, uint32_t tag)
{
    if (parent >= d->nnodes)
        return 0;
    for (uint32_t n = d->nodes[parent].child; n; n = d->nodes[n].next)
        if (d->nodes[n].tag == tag)
            return n;
    return 0;
}

uint32_t qib__dcm_item(const struct qib__dcm *d, uint32_t sq, size_t i)
{
    if (!sq || sq >= d->nnodes || !d->nodes[sq].is_sq)
        return 0;
    uint32_t n = d->nodes[sq].child;
    while (n && i--)
        n = d->nodes[n].next;
    return n;
}

size_t qib__dcm_nitems(const struct qib__dcm *d, uint32_t sq)
{
    size_t k = 0;
    if (!sq || sq >= d->nnodes || !d->nodes[sq].is_sq)
        return 0;
    for (uint32_t n = d->nodes[sq].child; n; n = d->nodes[n].next)
        k++;
    return k;
}

uint32_t qib__dcm_find_in_seq(const struct qib__dcm *d, uint32_t parent, uint32_t sq_tag,
                              uint32_t tag)
{
    uint32_t it = qib__dcm_item(d, qib__dcm_find(d, parent, sq_tag), 0);
    return it ? qib__dcm_find(d, it, tag) : 0;
}

size_t qib__dcm_text(const struct qib__dcm *d, uint32_t n, char *out, size_t outlen)
{
    if (outlen)
        out[0] = '\0';
    if (!n || n >= d->nnodes || d->nodes[n].is_sq || !outlen)
        return 0;
    const char *s = (const char *)d->buf + d->nodes[n].off;
    size_t a = 0, b = d->nodes[n].len;
    while (a < b && (s[a] == ' ' || s[a] == '\0'))
        a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\0'))
        b--;
    size_t k = b - a < outlen - 1 ? b - a : outlen - 1;
    memcpy(out, s + a, k);
    out[k] = '\0';
    return k;
}

size_t qib__dcm_str(const struct qib__dcm *d, uint32_t parent, uint32_t tag, char *out,
                    size_t outlen)
{
    return qib__dcm_text(d, qib__dcm_find(d, parent, tag), out, outlen);
}

int qib__dcm_nums(const struct qib__dcm *d, uint32_t n, double *v, int nmax)
{
    if (!n || n >= d->nnodes || d->nodes[n].is_sq || nmax <= 0)
        return 0;
    const struct qib__dcm_node *nd = &d->nodes[n];
    const uint8_t *b = d->buf + nd->off;
    uint16_t vr = nd->vr ? nd->vr : dict_vr(nd->tag);
    int be = d->big_endian && (nd->tag >> 16) != 0x0002;
    size_t w = 0;
    switch (vr) {
    case VR('U', 'S'): case VR('S', 'S'): w = 2; break;
    case VR('U', 'L'): case VR('S', 'L'): case VR('F', 'L'): case VR('O', 'F'): w = 4; break;
    case VR('F', 'D'): case VR('O', 'D'): w = 8; break;
    default: break;
    }
    if (w) {
        int k = 0;
        for (size_t i = 0; i + w <= nd->len && k < nmax; i += w) {
            uint32_t lo = w == 2 ? rd16(b + i, be) : rd32(b + i, be);
            double x;
            if (vr == VR('U', 'S'))
                x = lo;
            else if (vr == VR('S', 'S'))
                x = (int16_t)lo;
            else if (vr == VR('U', 'L'))
                x = lo;
            else if (vr == VR('S', 'L'))
                x = (int32_t)lo;
            else if (w == 4) {
                float f;
                memcpy(&f, &lo, 4);
                x = f;
            } else {
                uint32_t hi = rd32(b + i + 4, be);
                uint64_t u = be ? ((uint64_t)lo << 32) | hi : ((uint64_t)hi << 32) | lo;
                memcpy(&x, &u, 8);
            }
            v[k++] = x;
        }
        return k;
    }
    /* Text numbers (DS, IS and anything unknown): split at backslashes,
     * each token parsed from a small copy (a value may hold thousands). */
    int k = 0;
    size_t i = 0, len = nd->len;
    while (k < nmax && i <= len) {
        size_t j = i;
        while (j < len && b[j] != '\\')
            j++;
        size_t a0 = i, a1 = j;
        while (a0 < a1 && (b[a0] == ' ' || b[a0] == '\0'))
            a0++;
        while (a1 > a0 && (b[a1 - 1] == ' ' || b[a1 - 1] == '\0'))
            a1--;
        char tok[64];
        if (a1 == a0 || a1 - a0 >= sizeof tok)
            break;
        memcpy(tok, b + a0, a1 - a0);
        tok[a1 - a0] = '\0';
        char *end;
        double x = strtod(tok, &end);
        if (*end != '\0')
            break;
        v[k++] = x;
        if (j >= len)
            break;
        i = j + 1;
    }
    return k;
}

int qib__dcm_num(const struct qib__dcm *d, uint32_t parent, uint32_t tag, double *v, int nmax)
{
    return qib__dcm_nums(d, qib__dcm_find(d, parent, tag), v, nmax);
}

int qib__dcm_pixels(const struct qib__dcm *d, const uint8_t **p, size_t *len, char *err,
                    size_t errlen)
{
    if (!d->pixel_node) {
        snprintf(err, errlen, "no pixel data (7FE0,0010)");
        return QIB_ENOTFOUND;
    }
    if (d->ts_kind == QIB__DCM_TS_ENCAPSULATED || d->nodes[d->pixel_node].undefined) {
        const char *name = qib__dcm_ts_name(d->ts_uid);
        snprintf(err, errlen, "transfer syntax %s (%s): compressed pixel data is not supported; "
                 "decompress first (for example gdcmconv --raw or dcmdjpeg)", d->ts_uid,
                 name ? name : "unknown transfer syntax");
        return QIB_EUNSUPPORTED;
    }
    *p = d->buf + d->nodes[d->pixel_node].off;
    *len = d->nodes[d->pixel_node].len;
    return QIB_OK;
}

/* ------------------------------------------------------------------------
 * Image series among files and directories. */

/* Directories nested deeper than this are not searched. */
#define SCAN_MAX_DEPTH 32

static int scan_fail(int status, char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int scan_fail(int status, char *err, size_t len, const char *fmt, ...)
{
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return status;
}

void qib__dcm_scan_free(struct qib__dcm_scan *sc)
{
    for (size_t i = 0; i < sc->ns; i++)
        free(sc->s[i].idx);
    free(sc->s);
    for (size_t i = 0; i < sc->files.n; i++)
        free(sc->files.v[i]);
    free(sc->files.v);
    memset(sc, 0, sizeof *sc);
}

static int files_add(struct qib__dcm_scan *sc, const char *path)
{
    if (sc->files.n == sc->files.cap) {
        size_t cap = sc->files.cap ? 2 * sc->files.cap : 256;
        char **nv = realloc(sc->files.v, cap * sizeof *nv);
        if (!nv)
            return QIB_ENOMEM;
        sc->files.v = nv;
        sc->files.cap = cap;
    }
    size_t l = strlen(path) + 1;
    char *c = malloc(l);
    if (!c)
        return QIB_ENOMEM;
    memcpy(c, path, l);
    sc->files.v[sc->files.n++] = c;
    return QIB_OK;
}

static int walk(const char *dir, int depth, struct qib__dcm_scan *sc, char *err, size_t errlen)
{
    if (depth > SCAN_MAX_DEPTH)
        return QIB_OK;
    DIR *dp = opendir(dir);
    if (!dp)
        return scan_fail(QIB_EIO, err, errlen, "%s: cannot open directory: %s", dir,
                         strerror(errno));
    int rc = QIB_OK;
    struct dirent *e;
    while (rc == QIB_OK && (e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ., .. and hidden files */
        size_t need = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(need);
        if (!p) {
            rc = scan_fail(QIB_ENOMEM, err, errlen, "out of memory listing %s", dir);
            break;
        }
        snprintf(p, need, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(p, &sb) == 0) {
            if (S_ISDIR(sb.st_mode)) {
                /* Directories reached through a symlink are not followed,
                 * so a link loop cannot recurse. */
                struct stat lb;
                if (lstat(p, &lb) == 0 && !S_ISLNK(lb.st_mode))
                    rc = walk(p, depth + 1, sc, err, errlen);
            } else if (S_ISREG(sb.st_mode) && files_add(sc, p) != QIB_OK) {
                rc = scan_fail(QIB_ENOMEM, err, errlen, "out of memory listing %s", dir);
            }
        }
        free(p);
    }
    closedir(dp);
    return rc;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int series_add(struct qib__dcm_scan *sc, const struct qib__dcm *d, size_t file)
{
    char uid[68];
    qib__dcm_str(d, 0, QIB__DCM_TAG(0x0020, 0x000E), uid, sizeof uid);
    size_t i;
    for (i = 0; i < sc->ns; i++)
        if (strcmp(sc->s[i].uid, uid) == 0)
            break;
    if (i == sc->ns) {
        struct qib__dcm_series *ns = realloc(sc->s, (sc->ns + 1) * sizeof *ns);
        if (!ns)
            return QIB_ENOMEM;
        sc->s = ns;
        struct qib__dcm_series *s = &sc->s[sc->ns++];
        memset(s, 0, sizeof *s);
        snprintf(s->uid, sizeof s->uid, "%s", uid);
        qib__dcm_str(d, 0, QIB__DCM_TAG(0x0008, 0x0060), s->modality, sizeof s->modality);
        qib__dcm_str(d, 0, QIB__DCM_TAG(0x0008, 0x103E), s->desc, sizeof s->desc);
        double v;
        s->number = qib__dcm_num(d, 0, QIB__DCM_TAG(0x0020, 0x0011), &v, 1) ? (long)v : -1;
    }
    struct qib__dcm_series *s = &sc->s[i];
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        size_t *nv = realloc(s->idx, cap * sizeof *nv);
        if (!nv)
            return QIB_ENOMEM;
        s->idx = nv;
        s->cap = cap;
    }
    s->idx[s->n++] = file;
    return QIB_OK;
}

static int cmp_series(const void *a, const void *b)
{
    const struct qib__dcm_series *x = a, *y = b;
    if (x->number != y->number)
        return x->number < y->number ? -1 : 1;
    return strcmp(x->uid, y->uid);
}

/* Parse files [from, sc->files.n) found under one path.  A file named
 * directly must be a DICOM image; in a directory, anything else is skipped
 * unless it claims to be DICOM (a damaged file must not vanish silently
 * from a series). */
static int scan_files(struct qib__dcm_scan *sc, size_t from, int named, char *err,
                      size_t errlen)
{
    char why[512];
    for (size_t i = from; i < sc->files.n; i++) {
        struct qib__dcm *d = NULL;
        const char *f = sc->files.v[i];
        int rc = qib__dcm_open(f, &d, why, sizeof why);
        if (rc == QIB_ENOMEM)
            return scan_fail(rc, err, errlen, "%s: out of memory", f);
        if (rc) {
            if (named)
                return scan_fail(rc, err, errlen, "%s: %s", f, why);
            FILE *fp = fopen(f, "rb");
            char pre[132];
            int dicm = fp && fread(pre, 1, 132, fp) == 132 && memcmp(pre + 128, "DICM", 4) == 0;
            if (fp)
                fclose(fp);
            if (dicm)
                return scan_fail(rc, err, errlen, "%s: %s", f, why);
            sc->skipped++;
            continue;
        }
        if (!d->pixel_node || !qib__dcm_find(d, 0, QIB__DCM_TAG(0x0020, 0x000E))) {
            qib__dcm_free(&d);
            if (named)
                return scan_fail(QIB_EFORMAT, err, errlen,
                                 "%s: no pixel data (7FE0,0010) or no SeriesInstanceUID "
                                 "(0020,000E): not an image", f);
            sc->skipped++;
            continue;
        }
        rc = series_add(sc, d, i);
        qib__dcm_free(&d);
        if (rc)
            return scan_fail(rc, err, errlen, "out of memory");
    }
    return QIB_OK;
}

int qib__dcm_scan(const char *const *paths, size_t n, struct qib__dcm_scan *sc, char *err,
                  size_t errlen)
{
    memset(sc, 0, sizeof *sc);
    if (n == 0)
        return scan_fail(QIB_EINVAL, err, errlen, "no path given");
    for (size_t k = 0; k < n; k++) {
        const char *path = paths[k];
        struct stat sb;
        if (stat(path, &sb) != 0)
            return scan_fail(errno == ENOENT ? QIB_ENOTFOUND : QIB_EIO, err, errlen, "%s: %s",
                             path, strerror(errno));
        size_t from = sc->files.n;
        int named = !S_ISDIR(sb.st_mode);
        int rc;
        if (!named) {
            rc = walk(path, 0, sc, err, errlen);
            if (rc)
                return rc;
            /* Name order within a directory, so the scan does not depend
             * on readdir's order. */
            qsort(sc->files.v + from, sc->files.n - from, sizeof *sc->files.v, cmp_path);
        } else if (files_add(sc, path) != QIB_OK) {
            return scan_fail(QIB_ENOMEM, err, errlen, "out of memory");
        }
        rc = scan_files(sc, from, named, err, errlen);
        if (rc)
            return rc;
    }
    if (n > 1 && sc->files.n > 1) {
        /* A file given twice (by name, or by name and in a directory) would
         * come back as a duplicate slice; say what happened instead. */
        char **tmp = malloc(sc->files.n * sizeof *tmp);
        if (!tmp)
            return scan_fail(QIB_ENOMEM, err, errlen, "out of memory");
        memcpy(tmp, sc->files.v, sc->files.n * sizeof *tmp);
        qsort(tmp, sc->files.n, sizeof *tmp, cmp_path);
        for (size_t i = 1; i < sc->files.n; i++)
            if (strcmp(tmp[i - 1], tmp[i]) == 0) {
                int rc = scan_fail(QIB_EINVAL, err, errlen,
                                   "%s is given twice (list each file or directory once)", tmp[i]);
                free(tmp);
                return rc;
            }
        free(tmp);
    }
    if (sc->ns == 0) {
        if (n == 1)
            return scan_fail(QIB_ENOTFOUND, err, errlen,
                             "%s: no DICOM image series found (%zu file%s looked at)", paths[0],
                             sc->files.n, sc->files.n == 1 ? "" : "s");
        return scan_fail(QIB_ENOTFOUND, err, errlen,
                         "no DICOM image series found in the %zu paths given (%zu file%s looked "
                         "at)", n, sc->files.n, sc->files.n == 1 ? "" : "s");
    }
    qsort(sc->s, sc->ns, sizeof *sc->s, cmp_series);
    return QIB_OK;
}
