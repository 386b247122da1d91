/* Voxel grid geometry in LPS: index/world mapping, validation and grid
 * comparison.  World = origin + D * diag(spacing) * index, D's columns being
 * the grid axes (see geometry.h and doc/). */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data-internal.h"
#include "qib/geometry.h"
#include "qib/status.h"
#include "qib/table.h"

/* Direction columns must be unit length and orthogonal within this; headers
 * store cosines in float, so a tighter bound would reject real scans. */
#define DIR_TOL 1e-3

int qib_geom_init(struct qib_geom *g, int ndim, const size_t *dims)
{
    if (!g || !dims || ndim < 1 || ndim > QIB_MAX_DIMS)
        return QIB_EINVAL;
    for (int d = 0; d < ndim; d++)
        if (dims[d] == 0)
            return QIB_EINVAL;
    memset(g, 0, sizeof *g);
    g->ndim = ndim;
    for (int d = 0; d < QIB_MAX_DIMS; d++) {
        g->dims[d] = d < ndim ? dims[d] : 1;
        g->spacing[d] = 1.0;
    }
    g->dir[0] = g->dir[4] = g->dir[8] = 1.0;
    return QIB_OK;
}

int qib_geom_nvox(const struct qib_geom *g, size_t *n)
{
    size_t p = 1;
    for (int d = 0; d < QIB_MAX_DIMS; d++) {
        if (g->dims[d] != 0 && p > SIZE_MAX / g->dims[d])
            return QIB_EOVERFLOW;
        p *= g->dims[d];
    }
    *n = p;
    return QIB_OK;
}

size_t qib_geom_frame_nvox(const struct qib_geom *g)
{
    return g->dims[0] * g->dims[1] * g->dims[2];
}

static double det3(const double a[9])
{
    return a[0] * (a[4] * a[8] - a[5] * a[7])
         - a[1] * (a[3] * a[8] - a[5] * a[6])
         + a[2] * (a[3] * a[7] - a[4] * a[6]);
}

double qib_geom_voxel_mm3(const struct qib_geom *g)
{
    return g->spacing[0] * g->spacing[1] * g->spacing[2] * fabs(det3(g->dir));
}

void qib_geom_index_to_world(const struct qib_geom *g, const double idx[3], double world[3])
{
    double s[3] = {idx[0] * g->spacing[0], idx[1] * g->spacing[1], idx[2] * g->spacing[2]};
    for (int r = 0; r < 3; r++)
        world[r] = g->origin[r] + g->dir[3 * r] * s[0] + g->dir[3 * r + 1] * s[1]
                 + g->dir[3 * r + 2] * s[2];
}

int qib_geom_world_to_index(const struct qib_geom *g, const double world[3], double idx[3])
{
    /* A = D * diag(spacing); idx = A^-1 (world - origin) by the adjugate. */
    double a[9];
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            a[3 * r + c] = g->dir[3 * r + c] * g->spacing[c];
    double det = det3(a);
    /* Relative to the column lengths, so that small spacings are not taken
     * for singularity. */
    double scale = 1.0;
    for (int c = 0; c < 3; c++)
        scale *= sqrt(a[c] * a[c] + a[3 + c] * a[3 + c] + a[6 + c] * a[6 + c]);
    if (!isfinite(det) || !(fabs(det) > 1e-12 * scale))
        return QIB_EGEOMETRY;
    double inv[9] = {
        (a[4] * a[8] - a[5] * a[7]) / det, (a[2] * a[7] - a[1] * a[8]) / det,
        (a[1] * a[5] - a[2] * a[4]) / det, (a[5] * a[6] - a[3] * a[8]) / det,
        (a[0] * a[8] - a[2] * a[6]) / det, (a[2] * a[3] - a[0] * a[5]) / det,
        (a[3] * a[7] - a[4] * a[6]) / det, (a[1] * a[6] - a[0] * a[7]) / det,
        (a[0] * a[4] - a[1] * a[3]) / det,
    };
    double d[3] = {world[0] - g->origin[0], world[1] - g->origin[1], world[2] - g->origin[2]};
    for (int r = 0; r < 3; r++)
        idx[r] = inv[3 * r] * d[0] + inv[3 * r + 1] * d[1] + inv[3 * r + 2] * d[2];
    return QIB_OK;
}

void qib_geom_affine(const struct qib_geom *g, double m[16])
{
    for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 3; c++)
            m[4 * r + c] = g->dir[3 * r + c] * g->spacing[c];
        m[4 * r + 3] = g->origin[r];
    }
    m[12] = m[13] = m[14] = 0.0;
    m[15] = 1.0;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(char *why, size_t whylen, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return QIB_EGEOMETRY;
}

/* Values in messages: enough digits to tell two close numbers apart. */
#define FMT(v, b) qib__format_double_prec((v), 10, (b), sizeof(b))

int qib_geom_check(const struct qib_geom *g, char *why, size_t whylen)
{
    char b1[40], b2[40];
    if (why && whylen)
        why[0] = '\0';
    if (!g)
        return fail(why, whylen, "no geometry");
    if (g->ndim < 1 || g->ndim > QIB_MAX_DIMS)
        return fail(why, whylen, "ndim = %d, expected 1 to %d", g->ndim, QIB_MAX_DIMS);
    for (int d = 0; d < QIB_MAX_DIMS; d++) {
        if (g->dims[d] == 0)
            return fail(why, whylen, "dims[%d] = 0, expected >= 1", d);
        if (d >= g->ndim && g->dims[d] != 1)
            return fail(why, whylen, "dims[%d] = %zu beyond ndim %d, expected 1", d,
                        g->dims[d], g->ndim);
    }
    /* The fourth dimension is time, b-value or echo: its "spacing" may be 0
     * when the frames are not evenly spaced (their values are in metadata). */
    for (int d = 0; d < 3; d++)
        if (!isfinite(g->spacing[d]) || !(g->spacing[d] > 0))
            return fail(why, whylen, "spacing[%d] = %s mm, expected finite and > 0", d,
                        FMT(g->spacing[d], b1));
    if (!isfinite(g->spacing[3]) || g->spacing[3] < 0)
        return fail(why, whylen, "spacing[3] = %s, expected finite and >= 0",
                    FMT(g->spacing[3], b1));
    for (int r = 0; r < 3; r++)
        if (!isfinite(g->origin[r]))
            return fail(why, whylen, "origin[%d] = %s mm, expected finite", r,
                        FMT(g->origin[r], b1));
    for (int i = 0; i < 9; i++)
        if (!isfinite(g->dir[i]))
            return fail(why, whylen, "dir[%d] = %s, expected finite", i, FMT(g->dir[i], b1));
    for (int c = 0; c < 3; c++) {
        const double *d = g->dir;
        double len = sqrt(d[c] * d[c] + d[3 + c] * d[3 + c] + d[6 + c] * d[6 + c]);
        if (fabs(len - 1.0) > DIR_TOL)
            return fail(why, whylen, "direction column %d has length %s, expected 1 (within %s)",
                        c, FMT(len, b1), FMT(DIR_TOL, b2));
    }
    for (int c1 = 0; c1 < 3; c1++)
        for (int c2 = c1 + 1; c2 < 3; c2++) {
            const double *d = g->dir;
            double dot = d[c1] * d[c2] + d[3 + c1] * d[3 + c2] + d[6 + c1] * d[6 + c2];
            if (fabs(dot) > DIR_TOL)
                return fail(why, whylen,
                            "direction columns %d and %d are not orthogonal (dot product %s, "
                            "expected 0 within %s)",
                            c1, c2, FMT(dot, b1), FMT(DIR_TOL, b2));
        }
    return QIB_OK;
}

int qib_geom_same_grid(const struct qib_geom *a, const struct qib_geom *b,
                       double tol, char *why, size_t whylen)
{
    char b1[40], b2[40];
    if (why && whylen)
        why[0] = '\0';
    if (!a || !b)
        return fail(why, whylen, "no geometry");
    if (!(tol >= 0) || !isfinite(tol))
        return fail(why, whylen, "tolerance %s is not a finite value >= 0", FMT(tol, b1));
    static const char axis[] = "xyz";
    for (int d = 0; d < 3; d++)
        if (a->dims[d] != b->dims[d])
            return fail(why, whylen, "dims[%d] (%c) differ: %zu vs %zu", d, axis[d],
                        a->dims[d], b->dims[d]);
    double minsp = INFINITY;
    for (int d = 0; d < 3; d++) {
        double sa = a->spacing[d], sb = b->spacing[d];
        if (!(fabs(sa - sb) <= tol * fmax(fabs(sa), fabs(sb))))
            return fail(why, whylen, "spacing[%d] (%c) differs: %s vs %s mm", d, axis[d],
                        FMT(sa, b1), FMT(sb, b2));
        minsp = fmin(minsp, fmin(sa, sb));
    }
    for (int i = 0; i < 9; i++)
        if (!(fabs(a->dir[i] - b->dir[i]) <= tol))
            return fail(why, whylen, "dir[%d] (row %d, column %d) differs: %s vs %s", i,
                        i / 3, i % 3, FMT(a->dir[i], b1), FMT(b->dir[i], b2));
    for (int r = 0; r < 3; r++)
        if (!(fabs(a->origin[r] - b->origin[r]) <= tol * minsp))
            return fail(why, whylen, "origin[%d] differs: %s vs %s mm", r,
                        FMT(a->origin[r], b1), FMT(b->origin[r], b2));
    return QIB_OK;
}

/* Appends with snprintf semantics: *pos counts what would have been written
 * even once the buffer is full. */
static void put(char *buf, size_t len, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    if (*pos < len) {
        size_t room = len - *pos - 1;
        size_t c = n < room ? n : room;
        memcpy(buf + *pos, s, c);
        buf[*pos + c] = '\0';
    }
    *pos += n;
}

int qib_geom_format(const struct qib_geom *g, char *buf, size_t len)
{
    char b[48];
    size_t pos = 0;
    if (buf && len)
        buf[0] = '\0';
    else
        len = 0;
    int nd = g->ndim < 1 ? 1 : g->ndim > QIB_MAX_DIMS ? QIB_MAX_DIMS : g->ndim;
    for (int d = 0; d < nd; d++) {
        snprintf(b, sizeof b, "%s%zu", d ? "x" : "", g->dims[d]);
        put(buf, len, &pos, b);
    }
    put(buf, len, &pos, " voxels, spacing ");
    int ns = nd < 3 ? nd : 3;
    for (int d = 0; d < ns; d++) {
        if (d)
            put(buf, len, &pos, "x");
        put(buf, len, &pos, qib__format_double_prec(g->spacing[d], 6, b, sizeof b));
    }
    put(buf, len, &pos, " mm");
    if (nd == 4) {
        put(buf, len, &pos, " (dim 4: ");
        put(buf, len, &pos, qib__format_double_prec(g->spacing[3], 6, b, sizeof b));
        put(buf, len, &pos, ")");
    }
    put(buf, len, &pos, ", origin (");
    for (int r = 0; r < 3; r++) {
        if (r)
            put(buf, len, &pos, ", ");
        put(buf, len, &pos, qib__format_double_prec(g->origin[r], 6, b, sizeof b));
    }
    put(buf, len, &pos, ") mm LPS, dir [");
    for (int i = 0; i < 9; i++) {
        if (i)
            put(buf, len, &pos, i % 3 ? " " : "; ");
        put(buf, len, &pos, qib__format_double_prec(g->dir[i], 6, b, sizeof b));
    }
    put(buf, len, &pos, "]");
    return pos > INT32_MAX ? INT32_MAX : (int)pos;
}

int qib_geom_ball(const struct qib_geom *g, double r, size_t max_box,
                  struct qib_voxel_offset **out, size_t *n)
{
    if (!(r >= 0) || !isfinite(r))
        return QIB_EINVAL;
    ptrdiff_t half[3];
    size_t box = 1;
    for (int a = 0; a < 3; a++) {
        /* Columns of dir are unit vectors, so no offset beyond r / spacing
         * along an axis can be inside; one more for rounding. */
        double h = floor(r / g->spacing[a]) + 1;
        if (!(h < (double)max_box))
            return QIB_ERANGE;
        half[a] = (ptrdiff_t)h;
        size_t w = 2 * (size_t)half[a] + 1;
        if (box > max_box / w)
            return QIB_ERANGE;
        box *= w;
    }
    struct qib_voxel_offset *o = malloc(box * sizeof *o);
    if (!o)
        return QIB_ENOMEM;
    double r2 = r * r * (1 + 1e-12);
    size_t k = 0;
    ptrdiff_t d[3];
    for (d[2] = -half[2]; d[2] <= half[2]; d[2]++)
        for (d[1] = -half[1]; d[1] <= half[1]; d[1]++)
            for (d[0] = -half[0]; d[0] <= half[0]; d[0]++) {
                double s[3] = {(double)d[0] * g->spacing[0], (double)d[1] * g->spacing[1],
                               (double)d[2] * g->spacing[2]};
                double d2 = 0;
                for (int row = 0; row < 3; row++) {
                    double w = g->dir[3 * row] * s[0] + g->dir[3 * row + 1] * s[1] +
                               g->dir[3 * row + 2] * s[2];
                    d2 += w * w;
                }
                if (d2 <= r2)
                    o[k++] = (struct qib_voxel_offset){{d[0], d[1], d[2]}};
            }
    *out = o;
    *n = k;
    return QIB_OK;
}
