/* Helpers of the DICOM tests (t07xx): running read.dicom and read.nifti
 * through the harness, voxel comparison in world coordinates, and a small
 * writer of synthetic DICOM files (explicit or implicit VR little endian)
 * that is independent of the parser under test. */
#ifndef QIB_T0700_DICOM_UTIL_H
#define QIB_T0700_DICOM_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"
#include "tap.h"

/* Run read.dicom on @p path with extra parameters "name=value" (NULL
 * terminated).  Returns the harness (free it); *rc gets the status. */
static inline qib_harness *td_read(const char *path, int *rc, const char *const *kv)
{
    qib_harness *h = NULL;
    char err[512];
    *rc = qib_harness_new("read.dicom", &h, err, sizeof err);
    if (*rc != QIB_OK)
        bail("cannot load read.dicom: %s", err);
    *rc = qib_harness_set_param(h, "path", path);
    for (size_t i = 0; kv && kv[i] && *rc == QIB_OK; i++) {
        char name[64];
        const char *eq = strchr(kv[i], '=');
        size_t n = eq ? (size_t)(eq - kv[i]) : 0;
        if (!eq || n >= sizeof name)
            bail("bad parameter %s", kv[i]);
        memcpy(name, kv[i], n);
        name[n] = '\0';
        *rc = qib_harness_set_param(h, name, eq + 1);
    }
    if (*rc == QIB_OK)
        *rc = qib_harness_run(h);
    return h;
}

static inline qib_harness *td_read_nifti(const char *path, const char *as, int *rc)
{
    qib_harness *h = NULL;
    char err[512];
    *rc = qib_harness_new("read.nifti", &h, err, sizeof err);
    if (*rc != QIB_OK)
        bail("cannot load read.nifti: %s", err);
    *rc = qib_harness_set_param(h, "path", path);
    if (*rc == QIB_OK && as)
        *rc = qib_harness_set_param(h, "as", as);
    if (*rc == QIB_OK)
        *rc = qib_harness_run(h);
    return h;
}

/* Compare @p a and @p b voxel by voxel in world coordinates: every voxel
 * centre of @p a is mapped to @p b's grid (which must hold it at an integer
 * index within 1e-3).  Returns the number of voxels that differ by more than
 * @p tol, or -1 when the grids do not cover each other. */
static inline long td_compare_world(const qib_volume *a, const qib_volume *b, double tol,
                                    double *maxdiff)
{
    const struct qib_geom *ga = qib_volume_geom(a), *gb = qib_volume_geom(b);
    size_t na = qib_geom_frame_nvox(ga), nb = qib_geom_frame_nvox(gb);
    if (na != nb)
        return -1;
    long bad = 0;
    *maxdiff = 0;
    for (size_t k = 0; k < ga->dims[2]; k++)
        for (size_t j = 0; j < ga->dims[1]; j++)
            for (size_t i = 0; i < ga->dims[0]; i++) {
                double idx[3] = {(double)i, (double)j, (double)k}, w[3], ib[3];
                qib_geom_index_to_world(ga, idx, w);
                if (qib_geom_world_to_index(gb, w, ib) != QIB_OK)
                    return -1;
                size_t q[3];
                for (int c = 0; c < 3; c++) {
                    double r = floor(ib[c] + 0.5);
                    if (fabs(ib[c] - r) > 1e-3 || r < 0 || r >= (double)gb->dims[c])
                        return -1;
                    q[c] = (size_t)r;
                }
                double va = qib_volume_get(a, i + ga->dims[0] * (j + ga->dims[1] * k));
                double vb = qib_volume_get(b, q[0] + gb->dims[0] * (q[1] + gb->dims[1] * q[2]));
                double d = fabs(va - vb);
                if (d > *maxdiff)
                    *maxdiff = d;
                if (d > tol)
                    bad++;
            }
    return bad;
}

/* ---- a minimal DICOM writer ---- */

struct td_buf {
    unsigned char *p;
    size_t n, cap;
    int implicit;
};

static inline void td_bytes(struct td_buf *b, const void *src, size_t n)
{
    if (n == 0)
        return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            bail("out of memory");
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static inline void td_u16(struct td_buf *b, unsigned v)
{
    unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    td_bytes(b, x, 2);
}

static inline void td_u32(struct td_buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    td_bytes(b, x, 4);
}

/* One element with value bytes @p v of length @p n (padded to even). */
static inline void td_elem(struct td_buf *b, unsigned g, unsigned e, const char *vr, const void *v,
                           size_t n)
{
    size_t pad = n & 1;
    td_u16(b, g);
    td_u16(b, e);
    int longvr = !strcmp(vr, "OB") || !strcmp(vr, "OW") || !strcmp(vr, "SQ") || !strcmp(vr, "UN") ||
                 !strcmp(vr, "UT");
    if (b->implicit && g != 2) {
        td_u32(b, (uint32_t)(n + pad));
    } else if (longvr) {
        td_bytes(b, vr, 2);
        td_u16(b, 0);
        td_u32(b, (uint32_t)(n + pad));
    } else {
        td_bytes(b, vr, 2);
        td_u16(b, (unsigned)(n + pad));
    }
    td_bytes(b, v, n);
    if (pad) {
        unsigned char z = (!strcmp(vr, "UI") || !strcmp(vr, "OB")) ? 0 : ' ';
        td_bytes(b, &z, 1);
    }
}

static inline void td_str(struct td_buf *b, unsigned g, unsigned e, const char *vr, const char *s)
{
    td_elem(b, g, e, vr, s, strlen(s));
}

static inline void td_us(struct td_buf *b, unsigned g, unsigned e, unsigned v)
{
    unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    td_elem(b, g, e, "US", x, 2);
}

/* Part 10 header for transfer syntax @p ts (explicit VR LE meta group). */
static inline void td_begin(struct td_buf *b, const char *ts)
{
    memset(b, 0, sizeof *b);
    unsigned char pre[128] = {0};
    td_bytes(b, pre, 128);
    td_bytes(b, "DICM", 4);
    struct td_buf m = {0};
    unsigned char ver[2] = {0, 1};
    td_elem(&m, 2, 1, "OB", ver, 2);
    td_str(&m, 2, 2, "UI", "1.2.840.10008.5.1.4.1.1.2");
    td_str(&m, 2, 3, "UI", "1.2.3.4");
    td_str(&m, 2, 0x10, "UI", ts);
    uint32_t len = (uint32_t)m.n;
    td_elem(b, 2, 0, "UL", (unsigned char[4]){(unsigned char)len, (unsigned char)(len >> 8),
                                               (unsigned char)(len >> 16), (unsigned char)(len >> 24)},
            4);
    td_bytes(b, m.p, m.n);
    free(m.p);
    b->implicit = strcmp(ts, "1.2.840.10008.1.2") == 0;
}

/* Append @p content as one item (defined length) of a sequence being built
 * in @p sq; @p content is emptied. */
static inline void td_item(struct td_buf *sq, struct td_buf *content)
{
    td_u16(sq, 0xFFFE);
    td_u16(sq, 0xE000);
    td_u32(sq, (uint32_t)content->n);
    td_bytes(sq, content->p, content->n);
    free(content->p);
    memset(content, 0, sizeof *content);
}

/* Write the items collected in @p sq as sequence (g,e) of @p b; @p sq is
 * emptied. */
static inline void td_seq(struct td_buf *b, unsigned g, unsigned e, struct td_buf *sq)
{
    td_elem(b, g, e, "SQ", sq->p, sq->n);
    free(sq->p);
    memset(sq, 0, sizeof *sq);
}

static inline void td_write(struct td_buf *b, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b->p, 1, b->n, f) != b->n || fclose(f) != 0)
        bail("cannot write %s", path);
    free(b->p);
    memset(b, 0, sizeof *b);
}

#endif
