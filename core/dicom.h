/* DICOM file parser shared by read.dicom, read.rtstruct and the fuzz target:
 * Part 10 files and raw datasets in implicit VR LE, explicit VR LE and BE
 * and deflated explicit VR LE, parsed into a tree of elements whose values
 * point into the file's bytes (nothing is copied).  Private to qib. */
#ifndef QIB_DICOM_H
#define QIB_DICOM_H

#include <stddef.h>
#include <stdint.h>

#define QIB__DCM_TAG(g, e) (((uint32_t)(g) << 16) | (uint32_t)(e))

/* How the dataset after the file meta information is encoded. */
enum qib__dcm_ts_kind {
    QIB__DCM_TS_NATIVE = 0,  /* pixels stored as they are */
    QIB__DCM_TS_DEFLATED,    /* whole dataset deflated, pixels native */
    QIB__DCM_TS_ENCAPSULATED /* pixels in compressed fragments */
};

/* One element, sequence item or encapsulated fragment.  Node 0 is the root
 * dataset; 0 as a child or next index means "none". */
struct qib__dcm_node {
    uint32_t tag;
    uint16_t vr;        /* two ASCII letters, first in the high byte; 0 when
                           implicit VR and not in the small dictionary */
    uint8_t is_sq;      /* a sequence (children are items) */
    uint8_t undefined;  /* the length was undefined (0xFFFFFFFF) */
    uint32_t len;       /* value bytes (0 for a sequence) */
    size_t off;         /* offset of the value in qib__dcm.buf */
    uint32_t child;     /* first item of a sequence, first element of an item */
    uint32_t next;      /* next sibling */
};

struct qib__dcm {
    const uint8_t *buf;  /* all bytes (file, or meta + inflated dataset) */
    size_t len;
    int big_endian;      /* the dataset (not the meta group) is big endian */
    int explicit_vr;
    int has_meta;        /* a Part 10 header (preamble, DICM) was found */
    enum qib__dcm_ts_kind ts_kind;
    char ts_uid[68];     /* (0002,0010), or the guessed syntax of a raw dataset */
    struct qib__dcm_node *nodes;
    size_t nnodes, cap;
    uint32_t pixel_node; /* (7FE0,0010) at the top level, 0 if absent */
    /* ownership */
    void *map;
    size_t maplen;
    uint8_t *owned;
};

/** Parse the file at @p path (mapped read-only).  On failure returns a
 * status and writes "what was expected, what was found" to @p err. */
int qib__dcm_open(const char *path, struct qib__dcm **out, char *err, size_t errlen);

/** Parse @p len bytes at @p buf (borrowed: must outlive the result). */
int qib__dcm_parse(const void *buf, size_t len, struct qib__dcm **out, char *err, size_t errlen);

/** Free a parsed file and set *d to NULL (NULL accepted). */
void qib__dcm_free(struct qib__dcm **d);

/** The name of a transfer syntax UID ("JPEG 2000 Image Compression"), or
 * NULL when qib does not know it. */
const char *qib__dcm_ts_name(const char *uid);

/** Node of @p tag among the children of @p parent (0 = top level, or an item
 * node), or 0 when absent. */
uint32_t qib__dcm_find(const struct qib__dcm *d, uint32_t parent, uint32_t tag);

/** Item @p i (0-based) of sequence node @p sq, or 0. */
uint32_t qib__dcm_item(const struct qib__dcm *d, uint32_t sq, size_t i);

/** Number of items of sequence node @p sq. */
size_t qib__dcm_nitems(const struct qib__dcm *d, uint32_t sq);

/** Node @p tag inside item 0 of sequence @p sq_tag under @p parent. */
uint32_t qib__dcm_find_in_seq(const struct qib__dcm *d, uint32_t parent, uint32_t sq_tag,
                              uint32_t tag);

/** Text value of node @p n with leading and trailing spaces and NULs removed,
 * truncated to @p outlen - 1 bytes.  Returns the length, 0 when @p n is 0 or
 * empty. */
size_t qib__dcm_text(const struct qib__dcm *d, uint32_t n, char *out, size_t outlen);

/** qib__dcm_text of @p tag under @p parent. */
size_t qib__dcm_str(const struct qib__dcm *d, uint32_t parent, uint32_t tag, char *out,
                    size_t outlen);

/** Numeric values of node @p n into @p v (at most @p nmax): DS/IS text split
 * at backslashes, or binary US SS UL SL FL FD in the dataset's byte order.
 * Returns how many were read; 0 when absent, empty or not a number. */
int qib__dcm_nums(const struct qib__dcm *d, uint32_t n, double *v, int nmax);

/** qib__dcm_nums of @p tag under @p parent. */
int qib__dcm_num(const struct qib__dcm *d, uint32_t parent, uint32_t tag, double *v, int nmax);

/** The native pixel data: pointer and byte count.  Returns QIB_OK,
 * QIB_ENOTFOUND when there is none, or QIB_EUNSUPPORTED for compressed
 * pixels with a message naming the transfer syntax. */
int qib__dcm_pixels(const struct qib__dcm *d, const uint8_t **p, size_t *len, char *err,
                    size_t errlen);

/* ------------------------------------------------------------------------
 * Image series among files and directories (read.dicom, qib info). */

/** One image series: the files of one SeriesInstanceUID that hold pixels. */
struct qib__dcm_series {
    char uid[68];
    char modality[17];
    char desc[68];
    long number;  /**< SeriesNumber (0020,0011), -1 when absent */
    size_t *idx;  /**< indices into the scan's file list */
    size_t n, cap;
};

/** What a scan found: every file looked at, and the series, ordered by
 * number then UID. */
struct qib__dcm_scan {
    struct {
        char **v;
        size_t n, cap;
    } files;
    struct qib__dcm_series *s;
    size_t ns;
    size_t skipped; /**< files in directories that are not DICOM images */
};

/** Find the image series in @p n paths, each a directory (searched
 * recursively: files that are not DICOM, or have no pixel data, are skipped
 * and counted; a damaged file that says "DICM" is an error) or a file (which
 * must be a DICOM image).  A path that does not exist, a file given twice or
 * no image series at all is an error.  On failure returns the status and
 * writes a message naming the path or file to @p err; free @p sc with
 * qib__dcm_scan_free either way. */
int qib__dcm_scan(const char *const *paths, size_t n, struct qib__dcm_scan *sc, char *err,
                  size_t errlen);

/** Free what a scan holds (the struct itself is the caller's). */
void qib__dcm_scan_free(struct qib__dcm_scan *sc);

#endif
