/* bio.radiomics morphology family (IBSI 1, chapter 3.1): a triangle mesh of
 * the morphological mask by marching cubes (iso-level 0.5, so every vertex
 * is the midpoint of a grid edge), its volume, area, convex hull and
 * diameter; voxel-based volume, principal axes, bounding box and ellipsoid
 * densities, centre of mass shift, Moran's I and Geary's C. */
#include <config.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rad.h"

#define PI 3.14159265358979323846

/* ---- marching cubes, with a case table derived at run time ----
 *
 * Corner k of a cube is (k & 1, (k >> 1) & 1, (k >> 2) & 1).  On each face,
 * seen from outside the cube, the corners are walked counter-clockwise; a
 * segment of the surface runs from an edge where the walk enters the mask
 * to the next edge where it leaves it.  Where a face has two diagonal
 * corners inside (the ambiguous case) each inside corner is cut off on its
 * own, so the mask is taken as 6-connected.  Every crossing then has one
 * segment in and one out, and the segments close into loops; a loop is
 * triangulated as a fan from its first vertex. */

struct mc_case {
    uint8_t nloop;
    uint8_t len[4];
    uint8_t edge[4][12]; /* loops of edge numbers */
    uint8_t start[4];    /* fan start of each loop (set for a spacing) */
};

static const uint8_t edge_corner[12][2] = {
    {0, 1}, {2, 3}, {4, 5}, {6, 7}, /* along x */
    {0, 2}, {1, 3}, {4, 6}, {5, 7}, /* along y */
    {0, 4}, {1, 5}, {2, 6}, {3, 7}, /* along z */
};

static int edge_of(int a, int b)
{
    for (int e = 0; e < 12; e++)
        if ((edge_corner[e][0] == a && edge_corner[e][1] == b) ||
            (edge_corner[e][0] == b && edge_corner[e][1] == a))
            return e;
    return -1;
}

/* The six faces as corner cycles, oriented counter-clockwise seen from
 * outside (checked against the outward normal when the table is built). */
static void face_cycles(int f[6][4])
{
    static const int base[6][4] = {
        {0, 2, 6, 4}, {1, 3, 7, 5}, /* x = 0, x = 1 */
        {0, 1, 5, 4}, {2, 3, 7, 6}, /* y = 0, y = 1 */
        {0, 1, 3, 2}, {4, 5, 7, 6}, /* z = 0, z = 1 */
    };
    for (int i = 0; i < 6; i++) {
        int c[4][3];
        for (int k = 0; k < 4; k++)
            c[k][0] = base[i][k] & 1, c[k][1] = (base[i][k] >> 1) & 1, c[k][2] = (base[i][k] >> 2) & 1;
        int u[3], v[3], n[3];
        for (int a = 0; a < 3; a++)
            u[a] = c[1][a] - c[0][a], v[a] = c[2][a] - c[1][a];
        n[0] = u[1] * v[2] - u[2] * v[1];
        n[1] = u[2] * v[0] - u[0] * v[2];
        n[2] = u[0] * v[1] - u[1] * v[0];
        /* outward: from the cube centre towards the face */
        int out = 0;
        for (int a = 0; a < 3; a++)
            out += n[a] * (2 * c[0][a] - 1);
        for (int k = 0; k < 4; k++)
            f[i][k] = out > 0 ? base[i][k] : base[i][3 - k];
    }
}

static void mc_build(struct mc_case *tab)
{
    int faces[6][4];
    face_cycles(faces);
    for (int cs = 0; cs < 256; cs++) {
        int next[12];
        for (int e = 0; e < 12; e++)
            next[e] = -1;
        for (int f = 0; f < 6; f++) {
            int enter[2], leave[2], ne = 0, nl = 0, pos_e[2], pos_l[2];
            for (int k = 0; k < 4; k++) {
                int a = faces[f][k], b = faces[f][(k + 1) % 4];
                int ia = (cs >> a) & 1, ib = (cs >> b) & 1;
                if (ia == ib)
                    continue;
                if (!ia && ib)
                    enter[ne] = edge_of(a, b), pos_e[ne++] = k;
                else
                    leave[nl] = edge_of(a, b), pos_l[nl++] = k;
            }
            /* Each entering crossing joins the next leaving one along the
             * walk: this cuts inside corners off on their own. */
            for (int i = 0; i < ne; i++) {
                int best = -1, bd = 99;
                for (int j = 0; j < nl; j++) {
                    int d = (pos_l[j] - pos_e[i] + 4) % 4;
                    if (d < bd)
                        bd = d, best = j;
                }
                next[enter[i]] = leave[best];
            }
        }
        struct mc_case *c = &tab[cs];
        memset(c, 0, sizeof *c);
        int used[12] = {0};
        for (int e = 0; e < 12; e++) {
            if (next[e] < 0 || used[e])
                continue;
            int l = c->nloop++, cur = e;
            while (!used[cur]) {
                used[cur] = 1;
                c->edge[l][c->len[l]++] = (uint8_t)cur;
                cur = next[cur];
            }
        }
    }
}

/* ---- the mesh ---- */

struct mesh {
    double area, vol;
};

/* Edge midpoint of edge e of the unit cube scaled by the spacing. */
static void edge_point(int e, const double sp[3], double q[3])
{
    int a = edge_corner[e][0], b = edge_corner[e][1];
    for (int ax = 0; ax < 3; ax++)
        q[ax] = 0.5 * (((a >> ax) & 1) + ((b >> ax) & 1)) * sp[ax];
}

/* A loop of more than three vertices is not planar in general; of its fan
 * triangulations the one of largest area is taken.  The choice does not
 * depend on which side is inside, and it reproduces the IBSI reference
 * meshes (see doc/ibsi-conformance.md).  It is made once per case, in voxel
 * index units whatever the spacing, so every cube of a case is
 * triangulated alike. */
static void mc_choose_fans(struct mc_case *tab, const double sp[3])
{
    for (int cs = 0; cs < 256; cs++)
        for (int l = 0; l < tab[cs].nloop; l++) {
            int len = tab[cs].len[l];
            double p[12][3], best = -1;
            for (int k = 0; k < len; k++)
                edge_point(tab[cs].edge[l][k], sp, p[k]);
            tab[cs].start[l] = 0;
            for (int s0 = 0; len > 3 && s0 < len; s0++) {
                double area = 0;
                for (int k = 1; k + 1 < len; k++) {
                    const double *a = p[s0], *b = p[(s0 + k) % len], *d = p[(s0 + k + 1) % len];
                    double u[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
                    double v[3] = {d[0] - a[0], d[1] - a[1], d[2] - a[2]};
                    double n[3] = {u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2],
                                   u[0] * v[1] - u[1] * v[0]};
                    area += 0.5 * sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
                }
                /* ties within rounding keep the earlier start */
                if (area > best * (1 + 1e-12)) {
                    best = area;
                    tab[cs].start[l] = (uint8_t)s0;
                }
            }
        }
}

static void mesh_measure(const struct rad_roi *r, const uint8_t *mask, struct mesh *m)
{
    struct mc_case tab[256];
    mc_build(tab);
    const double unit[3] = {1, 1, 1};
    mc_choose_fans(tab, unit);
    long nx = (long)r->nx, ny = (long)r->ny, nz = (long)r->nz;
    double area = 0, vol = 0;
    /* Cubes span voxels (x, y, z) .. (x+1, y+1, z+1) for x in -1 .. nx-1, so
     * that the surface closes outside the box. */
    for (long z = -1; z < nz; z++)
        for (long y = -1; y < ny; y++)
            for (long x = -1; x < nx; x++) {
                int cs = 0;
                for (int k = 0; k < 8; k++) {
                    long xx = x + (k & 1), yy = y + ((k >> 1) & 1), zz = z + ((k >> 2) & 1);
                    if (xx >= 0 && yy >= 0 && zz >= 0 && xx < nx && yy < ny && zz < nz &&
                        mask[(size_t)xx + r->nx * ((size_t)yy + r->ny * (size_t)zz)])
                        cs |= 1 << k;
                }
                if (cs == 0 || cs == 255)
                    continue;
                const struct mc_case *c = &tab[cs];
                for (int l = 0; l < c->nloop; l++) {
                    double p[12][3];
                    for (int k = 0; k < c->len[l]; k++) {
                        int a = edge_corner[c->edge[l][k]][0], b = edge_corner[c->edge[l][k]][1];
                        double q[3] = {(double)x + 0.5 * ((a & 1) + (b & 1)),
                                       (double)y + 0.5 * (((a >> 1) & 1) + ((b >> 1) & 1)),
                                       (double)z + 0.5 * (((a >> 2) & 1) + ((b >> 2) & 1))};
                        for (int ax = 0; ax < 3; ax++)
                            p[k][ax] = q[ax] * r->sp[ax];
                    }
                    int len = c->len[l], s0 = c->start[l];
                    for (int k = 1; k + 1 < len; k++) {
                        const double *a = p[s0], *b = p[(s0 + k) % len], *d = p[(s0 + k + 1) % len];
                        double u[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
                        double v[3] = {d[0] - a[0], d[1] - a[1], d[2] - a[2]};
                        double n[3] = {u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2],
                                       u[0] * v[1] - u[1] * v[0]};
                        area += 0.5 * sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
                        vol += (a[0] * (b[1] * d[2] - b[2] * d[1]) -
                                a[1] * (b[0] * d[2] - b[2] * d[0]) +
                                a[2] * (b[0] * d[1] - b[1] * d[0])) / 6.0;
                    }
                }
            }
    m->area = area;
    m->vol = fabs(vol);
}

/* ---- mesh vertices and their convex hull ---- */

/* Mesh vertices in half-voxel integer units: the midpoints of grid edges
 * between a mask voxel and a voxel outside it.  Only vertices that are
 * extreme along all three axis lines can be hull vertices, so only those
 * are kept (the others are convex combinations of two kept ones). */
struct pts {
    int64_t (*p)[3];
    size_t n, cap;
};

static int pts_add(struct pts *s, int64_t x, int64_t y, int64_t z)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        int64_t(*np)[3] = realloc(s->p, cap * sizeof *np);
        if (!np)
            return QIB_ENOMEM;
        s->p = np, s->cap = cap;
    }
    s->p[s->n][0] = x, s->p[s->n][1] = y, s->p[s->n][2] = z;
    s->n++;
    return QIB_OK;
}

static int mask_at(const struct rad_roi *r, const uint8_t *m, long x, long y, long z)
{
    if (x < 0 || y < 0 || z < 0 || x >= (long)r->nx || y >= (long)r->ny || z >= (long)r->nz)
        return 0;
    return m[(size_t)x + r->nx * ((size_t)y + r->ny * (size_t)z)] != 0;
}

/* Collect the mesh vertices that are extreme (first or last) on each of the
 * three axis lines through them, among the vertices of the same edge
 * orientation; a vertex between two others on a line is a convex
 * combination of them and cannot be a hull vertex. */
static int hull_candidates(const struct rad_roi *r, const uint8_t *m, struct pts *out)
{
    long n[3] = {(long)r->nx, (long)r->ny, (long)r->nz};
    for (int a = 0; a < 3; a++) {
        /* Vertices of orientation a sit between voxel v and v + e_a; their
         * grid has n[a] + 1 positions along a. */
        long d[3] = {n[0], n[1], n[2]};
        d[a] += 1;
        size_t nv = (size_t)d[0] * (size_t)d[1] * (size_t)d[2];
        uint8_t *b = malloc(nv ? nv : 1);
        if (!b)
            return QIB_ENOMEM;
        for (long z = 0; z < d[2]; z++)
            for (long y = 0; y < d[1]; y++)
                for (long x = 0; x < d[0]; x++) {
                    long v0[3] = {x, y, z}, v1[3] = {x, y, z};
                    v0[a] -= 1;
                    b[(size_t)x + (size_t)d[0] * ((size_t)y + (size_t)d[1] * (size_t)z)] =
                        mask_at(r, m, v0[0], v0[1], v0[2]) != mask_at(r, m, v1[0], v1[1], v1[2]);
                }
        /* A vertex is kept when no vertex lies beyond it on either side of
         * any of its three lines. */
        for (long z = 0; z < d[2]; z++)
            for (long y = 0; y < d[1]; y++)
                for (long x = 0; x < d[0]; x++) {
                    long p[3] = {x, y, z};
                    if (!b[(size_t)x + (size_t)d[0] * ((size_t)y + (size_t)d[1] * (size_t)z)])
                        continue;
                    int keep = 1;
                    for (int ax = 0; ax < 3 && keep; ax++) {
                        int below = 0, above = 0;
                        long q[3] = {p[0], p[1], p[2]};
                        for (q[ax] = 0; q[ax] < d[ax]; q[ax]++) {
                            if (q[ax] == p[ax] ||
                                !b[(size_t)q[0] + (size_t)d[0] * ((size_t)q[1] + (size_t)d[1] * (size_t)q[2])])
                                continue;
                            if (q[ax] < p[ax])
                                below = 1;
                            else
                                above = 1;
                        }
                        keep = !(below && above);
                    }
                    if (!keep)
                        continue;
                    int64_t h[3] = {2 * p[0], 2 * p[1], 2 * p[2]};
                    h[a] -= 1;
                    if (pts_add(out, h[0], h[1], h[2]) != QIB_OK) {
                        free(b);
                        return QIB_ENOMEM;
                    }
                }
        free(b);
    }
    return QIB_OK;
}

static int64_t orient(const int64_t *a, const int64_t *b, const int64_t *c, const int64_t *p)
{
    int64_t u0 = b[0] - a[0], u1 = b[1] - a[1], u2 = b[2] - a[2];
    int64_t v0 = c[0] - a[0], v1 = c[1] - a[1], v2 = c[2] - a[2];
    int64_t w0 = p[0] - a[0], w1 = p[1] - a[1], w2 = p[2] - a[2];
    return u0 * (v1 * w2 - v2 * w1) - u1 * (v0 * w2 - v2 * w0) + u2 * (v0 * w1 - v1 * w0);
}

struct face {
    uint32_t v[3];
};

static int cmp_edge(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Incremental convex hull; faces oriented so that interior points give a
 * negative orient().  Returns QIB_OK with *nf = 0 for a flat point set. */
static int convex_hull(const struct pts *s, struct face **faces_out, size_t *nf_out)
{
    *faces_out = NULL, *nf_out = 0;
    if (s->n < 4)
        return QIB_OK;
    int64_t(*p)[3] = s->p;
    size_t i0 = 0, i1 = 0, i2 = 0, i3 = 0;
    for (i1 = 1; i1 < s->n; i1++)
        if (memcmp(p[i1], p[i0], sizeof p[0]))
            break;
    if (i1 == s->n)
        return QIB_OK;
    for (i2 = 0; i2 < s->n; i2++) {
        int64_t u[3], v[3];
        for (int a = 0; a < 3; a++)
            u[a] = p[i1][a] - p[i0][a], v[a] = p[i2][a] - p[i0][a];
        if (u[1] * v[2] - u[2] * v[1] || u[2] * v[0] - u[0] * v[2] || u[0] * v[1] - u[1] * v[0])
            break;
    }
    if (i2 == s->n)
        return QIB_OK;
    for (i3 = 0; i3 < s->n; i3++)
        if (orient(p[i0], p[i1], p[i2], p[i3]))
            break;
    if (i3 == s->n)
        return QIB_OK;
    size_t cap = 64, nf = 0;
    struct face *f = malloc(cap * sizeof *f);
    uint8_t *vis = NULL;
    uint64_t *edges = NULL;
    size_t ecap = 0;
    if (!f)
        return QIB_ENOMEM;
    uint32_t t[4] = {(uint32_t)i0, (uint32_t)i1, (uint32_t)i2, (uint32_t)i3};
    for (int k = 0; k < 4; k++) {
        uint32_t a = t[k], b = t[(k + 1) % 4], c = t[(k + 2) % 4], d = t[(k + 3) % 4];
        if (orient(p[a], p[b], p[c], p[d]) > 0) {
            uint32_t tmp = b;
            b = c, c = tmp;
        }
        f[nf++] = (struct face){{a, b, c}};
    }
    int rc = QIB_OK;
    for (size_t q = 0; q < s->n && rc == QIB_OK; q++) {
        if (q == i0 || q == i1 || q == i2 || q == i3)
            continue;
        size_t nvis = 0;
        uint8_t *nv = realloc(vis, nf);
        if (!nv) {
            rc = QIB_ENOMEM;
            break;
        }
        vis = nv;
        for (size_t k = 0; k < nf; k++) {
            vis[k] = orient(p[f[k].v[0]], p[f[k].v[1]], p[f[k].v[2]], p[q]) > 0;
            nvis += vis[k];
        }
        if (!nvis)
            continue;
        if (3 * nvis > ecap) {
            ecap = 3 * nvis * 2;
            uint64_t *ne = realloc(edges, ecap * sizeof *ne);
            if (!ne) {
                rc = QIB_ENOMEM;
                break;
            }
            edges = ne;
        }
        size_t ne = 0;
        for (size_t k = 0; k < nf; k++)
            if (vis[k])
                for (int e = 0; e < 3; e++)
                    edges[ne++] = (uint64_t)f[k].v[e] << 32 | f[k].v[(e + 1) % 3];
        qsort(edges, ne, sizeof *edges, cmp_edge);
        /* Keep the faces not visible, then add one face per horizon edge
         * (a visible edge whose reverse is not visible). */
        size_t w = 0;
        for (size_t k = 0; k < nf; k++)
            if (!vis[k])
                f[w++] = f[k];
        nf = w;
        for (size_t k = 0; k < ne; k++) {
            uint64_t rev = (edges[k] & 0xffffffffu) << 32 | edges[k] >> 32;
            if (bsearch(&rev, edges, ne, sizeof *edges, cmp_edge))
                continue;
            if (nf == cap) {
                cap *= 2;
                struct face *nfp = realloc(f, cap * sizeof *nfp);
                if (!nfp) {
                    rc = QIB_ENOMEM;
                    break;
                }
                f = nfp;
            }
            f[nf++] = (struct face){{(uint32_t)(edges[k] >> 32), (uint32_t)(edges[k] & 0xffffffffu),
                                     (uint32_t)q}};
        }
    }
    free(vis), free(edges);
    if (rc != QIB_OK) {
        free(f);
        return rc;
    }
    *faces_out = f, *nf_out = nf;
    return QIB_OK;
}

/* ---- eigenvalues of a symmetric 3x3 matrix (Jacobi rotations) ---- */

static void eig3(double a[3][3], double ev[3])
{
    for (int sweep = 0; sweep < 50; sweep++) {
        double off = fabs(a[0][1]) + fabs(a[0][2]) + fabs(a[1][2]);
        if (off < 1e-15 * (fabs(a[0][0]) + fabs(a[1][1]) + fabs(a[2][2])) || off == 0)
            break;
        for (int p = 0; p < 2; p++)
            for (int q = p + 1; q < 3; q++) {
                if (a[p][q] == 0)
                    continue;
                double th = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                double t = (th >= 0 ? 1 : -1) / (fabs(th) + sqrt(th * th + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < 3; k++) {
                    double akp = a[k][p], akq = a[k][q];
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for (int k = 0; k < 3; k++) {
                    double apk = a[p][k], aqk = a[q][k];
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
            }
    }
    ev[0] = a[0][0], ev[1] = a[1][1], ev[2] = a[2][2];
    /* descending */
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (ev[j] > ev[i]) {
                double t = ev[i];
                ev[i] = ev[j], ev[j] = t;
            }
}

/* Surface area of an ellipsoid with semi-axes a >= b >= c: the series of
 * IBSI 3.1.20 (Legendre polynomials), summed with the factors (alpha
 * beta)^nu folded into the recurrence so that no term overflows. */
static double ellipsoid_area(double a, double b, double c)
{
    double al = sqrt(fmax(0, 1 - b * b / (a * a))), be = sqrt(fmax(0, 1 - c * c / (a * a)));
    double h = (al * al + be * be) / 2, g2 = al * be * al * be;
    double q0 = 1, q1 = h, sum = q0 / 1.0 + q1 / (1.0 - 4.0);
    for (int n = 1; n < 20; n++) {
        double q2 = ((2.0 * n + 1) * h * q1 - n * g2 * q0) / (n + 1.0);
        double nu = n + 1.0;
        sum += q2 / (1 - 4 * nu * nu);
        q0 = q1, q1 = q2;
    }
    return 4 * PI * a * b * sum;
}

/* ---- Moran's I and Geary's C over the intensity mask ----
 *
 * Both are sums over all voxel pairs with weight 1 / distance.  With the
 * mask m, y = m (x - mean) and q = m (x - mean)^2, and W the weight as a
 * function of the offset (0 at offset 0):
 *     sum w m_i m_j = <m, W*m>,  sum w y_i y_j = <y, W*y>,
 *     sum w (x_i - x_j)^2 = 2 <q, W*m> - 2 <y, W*y>,
 * and the convolutions go through a 3-D FFT of sizes 2^a 3^b 5^c that hold
 * the full linear convolution.  Everything runs in one thread, so the
 * result does not depend on the thread count. */

static size_t fft_size(size_t n)
{
    for (size_t m = n;; m++) {
        size_t k = m;
        while (k % 2 == 0)
            k /= 2;
        while (k % 3 == 0)
            k /= 3;
        while (k % 5 == 0)
            k /= 5;
        if (k == 1)
            return m;
    }
}

/* Recursive mixed-radix DFT of x (n values, stride s) into out; tw holds
 * exp(sign 2 pi i j / N) for the top-level N, and step = N / n. */
static void fft_rec(const double *xr, const double *xi, size_t n, size_t s, double *outr,
                    double *outi, const double *twr, const double *twi, size_t step,
                    double *tmpr, double *tmpi)
{
    if (n == 1) {
        outr[0] = xr[0], outi[0] = xi[0];
        return;
    }
    size_t p = n % 2 == 0 ? 2 : n % 3 == 0 ? 3 : 5, m = n / p;
    if (m == 1) {
        /* a DFT of prime size p, straight from the strided input */
        for (size_t q = 0; q < p; q++) {
            double sr = 0, si = 0;
            for (size_t r = 0; r < p; r++) {
                size_t t = (r * q) % p * step;
                sr += xr[r * s] * twr[t] - xi[r * s] * twi[t];
                si += xr[r * s] * twi[t] + xi[r * s] * twr[t];
            }
            outr[q] = sr, outi[q] = si;
        }
        return;
    }
    for (size_t r = 0; r < p; r++)
        fft_rec(xr + r * s, xi + r * s, m, s * p, outr + r * m, outi + r * m, twr, twi, step * p,
                tmpr, tmpi);
    /* X[k + q m] = sum_r (F_r[k] w_n^(r k)) w_p^(r q): twiddle once, then a
     * DFT of size p (w_p^j = w_n^(j m)). */
    for (size_t k = 0; k < m; k++) {
        double ar[5], ai[5];
        for (size_t r = 0; r < p; r++) {
            size_t t = r * k * step;
            double vr = outr[r * m + k], vi = outi[r * m + k];
            ar[r] = vr * twr[t] - vi * twi[t];
            ai[r] = vr * twi[t] + vi * twr[t];
        }
        if (p == 2) {
            tmpr[k] = ar[0] + ar[1], tmpi[k] = ai[0] + ai[1];
            tmpr[k + m] = ar[0] - ar[1], tmpi[k + m] = ai[0] - ai[1];
            continue;
        }
        for (size_t q = 0; q < p; q++) {
            double sr = ar[0], si = ai[0];
            for (size_t r = 1; r < p; r++) {
                size_t t = (r * q) % p * m * step;
                sr += ar[r] * twr[t] - ai[r] * twi[t];
                si += ar[r] * twi[t] + ai[r] * twr[t];
            }
            tmpr[k + q * m] = sr, tmpi[k + q * m] = si;
        }
    }
    memcpy(outr, tmpr, n * sizeof *outr);
    memcpy(outi, tmpi, n * sizeof *outi);
}

/* In-place 3-D DFT of (re, im) with dimensions d; sign -1 forward, +1
 * inverse (unscaled).  Returns QIB_ENOMEM on failure. */
static int fft3(double *re, double *im, const size_t d[3], int sign)
{
    size_t nmax = d[0] > d[1] ? d[0] : d[1];
    nmax = nmax > d[2] ? nmax : d[2];
    double *buf = malloc(8 * nmax * sizeof *buf);
    if (!buf)
        return QIB_ENOMEM;
    double *lr = buf, *li = buf + nmax, *or_ = buf + 2 * nmax, *oi = buf + 3 * nmax,
           *tr = buf + 4 * nmax, *ti = buf + 5 * nmax, *wr = buf + 6 * nmax, *wi = buf + 7 * nmax;
    size_t stride[3] = {1, d[0], d[0] * d[1]};
    size_t total = d[0] * d[1] * d[2];
    for (int a = 0; a < 3; a++) {
        size_t n = d[a];
        if (n == 1)
            continue;
        for (size_t j = 0; j < n; j++) {
            double ang = sign * 2 * PI * (double)j / (double)n;
            wr[j] = cos(ang), wi[j] = sin(ang);
        }
        for (size_t base = 0; base < total; base++) {
            /* lines start where the coordinate along a is 0 */
            if ((base / stride[a]) % n)
                continue;
            for (size_t j = 0; j < n; j++)
                lr[j] = re[base + j * stride[a]], li[j] = im[base + j * stride[a]];
            fft_rec(lr, li, n, 1, or_, oi, wr, wi, 1, tr, ti);
            for (size_t j = 0; j < n; j++)
                re[base + j * stride[a]] = or_[j], im[base + j * stride[a]] = oi[j];
        }
    }
    free(buf);
    return QIB_OK;
}

static void autocorr(const struct rad_roi *r, double *moran, double *geary)
{
    *moran = *geary = NAN;
    size_t nbox = r->nx * r->ny * r->nz, n = 0;
    size_t lo[3] = {r->nx, r->ny, r->nz}, hi[3] = {0, 0, 0};
    double s = 0;
    for (size_t i = 0; i < nbox; i++)
        if (r->in[i]) {
            size_t p[3] = {i % r->nx, (i / r->nx) % r->ny, i / (r->nx * r->ny)};
            for (int a = 0; a < 3; a++) {
                lo[a] = p[a] < lo[a] ? p[a] : lo[a];
                hi[a] = p[a] > hi[a] ? p[a] : hi[a];
            }
            s += r->val[i], n++;
        }
    if (n < 2)
        return;
    double mean = s / (double)n;
    size_t e[3], d[3];
    for (int a = 0; a < 3; a++) {
        e[a] = hi[a] - lo[a] + 1;
        d[a] = fft_size(2 * e[a] - 1);
    }
    size_t nt = d[0] * d[1] * d[2];
    double *buf = malloc(7 * nt * sizeof *buf);
    if (!buf)
        return;
    double *wr = buf, *wi = buf + nt, *m = buf + 2 * nt, *y = buf + 3 * nt, *q = buf + 4 * nt,
           *cr = buf + 5 * nt, *ci = buf + 6 * nt;
    memset(buf, 0, 5 * nt * sizeof *buf);
    double den = 0;
    for (size_t z = 0; z < e[2]; z++)
        for (size_t yy = 0; yy < e[1]; yy++)
            for (size_t x = 0; x < e[0]; x++) {
                size_t i = (x + lo[0]) + r->nx * ((yy + lo[1]) + r->ny * (z + lo[2]));
                if (!r->in[i])
                    continue;
                size_t j = x + d[0] * (yy + d[1] * z);
                double c = r->val[i] - mean;
                m[j] = 1, y[j] = c, q[j] = c * c;
                den += c * c;
            }
    /* The weight kernel, with offsets wrapped around the FFT box. */
    for (size_t z = 0; z < d[2]; z++)
        for (size_t yy = 0; yy < d[1]; yy++)
            for (size_t x = 0; x < d[0]; x++) {
                long ox = x < e[0] ? (long)x : (long)x - (long)d[0];
                long oy = yy < e[1] ? (long)yy : (long)yy - (long)d[1];
                long oz = z < e[2] ? (long)z : (long)z - (long)d[2];
                if ((!ox && !oy && !oz) || labs(ox) >= (long)e[0] || labs(oy) >= (long)e[1] ||
                    labs(oz) >= (long)e[2])
                    continue;
                double dx = (double)ox * r->sp[0], dy = (double)oy * r->sp[1],
                       dz = (double)oz * r->sp[2];
                wr[x + d[0] * (yy + d[1] * z)] = 1 / sqrt(dx * dx + dy * dy + dz * dz);
            }
    /* W is real and even, so its transform is real, and one complex
     * transform carries both m (real part) and y (imaginary part):
     * IFFT(FW F(m + i y)) = W*m + i W*y. */
    double sw = 0, sm = 0, sq = 0;
    int rc = fft3(wr, wi, d, -1);
    if (rc == QIB_OK) {
        memcpy(cr, m, nt * sizeof *cr);
        memcpy(ci, y, nt * sizeof *ci);
        rc = fft3(cr, ci, d, -1);
    }
    if (rc == QIB_OK) {
        for (size_t i = 0; i < nt; i++)
            cr[i] *= wr[i], ci[i] *= wr[i];
        rc = fft3(cr, ci, d, 1);
    }
    if (rc == QIB_OK)
        for (size_t i = 0; i < nt; i++) {
            double cm = cr[i] / (double)nt, cy = ci[i] / (double)nt;
            if (m[i] != 0) {
                sw += cm;
                sq += q[i] * cm;
                sm += y[i] * cy;
            }
        }
    free(buf);
    if (rc != QIB_OK || !(den > 0) || !(sw > 0))
        return;
    *moran = (double)n / sw * sm / den;
    *geary = ((double)n - 1) / (2 * sw) * (2 * sq - 2 * sm) / den;
}

void qib__rad_morph(const struct rad_roi *r, struct rad_list *out)
{
    size_t nbox = r->nx * r->ny * r->nz;
    double vvox = r->sp[0] * r->sp[1] * r->sp[2];
    size_t nm = 0, ni = 0;
    double c[3] = {0}, cw[3] = {0}, sw = 0;
    for (size_t i = 0; i < nbox; i++) {
        double pos[3] = {(double)(i % r->nx) * r->sp[0], (double)((i / r->nx) % r->ny) * r->sp[1],
                         (double)(i / (r->nx * r->ny)) * r->sp[2]};
        if (r->morph[i]) {
            nm++;
            for (int a = 0; a < 3; a++)
                c[a] += pos[a];
        }
        if (r->in[i]) {
            ni++;
            sw += r->val[i];
            for (int a = 0; a < 3; a++)
                cw[a] += r->val[i] * pos[a];
        }
    }
    struct mesh m;
    mesh_measure(r, r->morph, &m);
    double V = m.vol, A = m.area;
    qib__rad_add(out, "morph_volume", V, "mm3");
    qib__rad_add(out, "morph_vol_approx", (double)nm * vvox, "mm3");
    qib__rad_add(out, "morph_area_mesh", A, "mm2");
    qib__rad_add(out, "morph_av", A / V, "mm-1");
    qib__rad_add(out, "morph_comp_1", V / (sqrt(PI) * pow(A, 1.5)), NULL);
    qib__rad_add(out, "morph_comp_2", 36 * PI * V * V / (A * A * A), NULL);
    qib__rad_add(out, "morph_sph_dispr", A / cbrt(36 * PI * V * V), NULL);
    qib__rad_add(out, "morph_sphericity", cbrt(36 * PI * V * V) / A, NULL);
    qib__rad_add(out, "morph_asphericity", cbrt(A * A * A / (36 * PI * V * V)) - 1, NULL);
    double com = NAN;
    if (nm && ni && sw != 0) {
        double d2 = 0;
        for (int a = 0; a < 3; a++) {
            double d = c[a] / (double)nm - cw[a] / sw;
            d2 += d * d;
        }
        com = sqrt(d2);
    }
    qib__rad_add(out, "morph_com", com, "mm");

    /* Convex hull of the mesh vertices: diameter, hull densities. */
    struct pts pts = {NULL, 0, 0};
    struct face *hf = NULL;
    size_t nhf = 0;
    double diam = NAN, hv = NAN, ha = NAN;
    if (hull_candidates(r, r->morph, &pts) == QIB_OK &&
        convex_hull(&pts, &hf, &nhf) == QIB_OK && nhf) {
        double vol = 0, area = 0;
        uint8_t *on = calloc(pts.n, 1);
        for (size_t k = 0; k < nhf; k++) {
            double q[3][3];
            for (int v = 0; v < 3; v++) {
                for (int a = 0; a < 3; a++)
                    q[v][a] = 0.5 * (double)pts.p[hf[k].v[v]][a] * r->sp[a];
                if (on)
                    on[hf[k].v[v]] = 1;
            }
            double u[3], w[3];
            for (int a = 0; a < 3; a++)
                u[a] = q[1][a] - q[0][a], w[a] = q[2][a] - q[0][a];
            double n[3] = {u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2],
                           u[0] * w[1] - u[1] * w[0]};
            area += 0.5 * sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
            vol += (q[0][0] * (q[1][1] * q[2][2] - q[1][2] * q[2][1]) -
                    q[0][1] * (q[1][0] * q[2][2] - q[1][2] * q[2][0]) +
                    q[0][2] * (q[1][0] * q[2][1] - q[1][1] * q[2][0])) / 6.0;
        }
        hv = fabs(vol), ha = area;
        if (on) {
            /* The diameter is attained between hull vertices. */
            double best = 0;
            for (size_t i = 0; i < pts.n; i++) {
                if (!on[i])
                    continue;
                for (size_t j = i + 1; j < pts.n; j++) {
                    if (!on[j])
                        continue;
                    double d2 = 0;
                    for (int a = 0; a < 3; a++) {
                        double d = 0.5 * (double)(pts.p[i][a] - pts.p[j][a]) * r->sp[a];
                        d2 += d * d;
                    }
                    if (d2 > best)
                        best = d2;
                }
            }
            diam = sqrt(best);
            free(on);
        }
    }
    /* Axis-aligned bounding box of the mesh: its vertices lie half a voxel
     * inside the outer faces of the mask's voxel bounding box. */
    double ext[3] = {0};
    {
        long lo[3] = {-1, -1, -1}, hi[3] = {-1, -1, -1};
        for (size_t i = 0; i < nbox; i++)
            if (r->morph[i]) {
                long p[3] = {(long)(i % r->nx), (long)((i / r->nx) % r->ny), (long)(i / (r->nx * r->ny))};
                for (int a = 0; a < 3; a++) {
                    if (lo[a] < 0 || p[a] < lo[a])
                        lo[a] = p[a];
                    if (p[a] > hi[a])
                        hi[a] = p[a];
                }
            }
        for (int a = 0; a < 3; a++)
            ext[a] = ((double)(hi[a] - lo[a]) + 1.0) * r->sp[a];
    }
    free(pts.p);
    free(hf);

    qib__rad_add(out, "morph_diam", diam, "mm");

    /* Principal component analysis of the mask's voxel centres. */
    double ev[3] = {NAN, NAN, NAN};
    if (nm > 1) {
        double mu[3] = {c[0] / (double)nm, c[1] / (double)nm, c[2] / (double)nm};
        double cov[3][3] = {{0}};
        for (size_t i = 0; i < nbox; i++) {
            if (!r->morph[i])
                continue;
            double d[3] = {(double)(i % r->nx) * r->sp[0] - mu[0],
                           (double)((i / r->nx) % r->ny) * r->sp[1] - mu[1],
                           (double)(i / (r->nx * r->ny)) * r->sp[2] - mu[2]};
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++)
                    cov[a][b] += d[a] * d[b];
        }
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++)
                cov[a][b] /= (double)(nm - 1);
        eig3(cov, ev);
    }
    double l1 = ev[0], l2 = ev[1], l3 = ev[2];
    qib__rad_add(out, "morph_pca_maj_axis", 4 * sqrt(l1), "mm");
    qib__rad_add(out, "morph_pca_min_axis", 4 * sqrt(l2), "mm");
    qib__rad_add(out, "morph_pca_least_axis", 4 * sqrt(l3), "mm");
    qib__rad_add(out, "morph_pca_elongation", sqrt(l2 / l1), NULL);
    qib__rad_add(out, "morph_pca_flatness", sqrt(l3 / l1), NULL);
    qib__rad_add(out, "morph_vol_dens_aabb", V / (ext[0] * ext[1] * ext[2]), NULL);
    qib__rad_add(out, "morph_area_dens_aabb",
                 A / (2 * (ext[0] * ext[1] + ext[1] * ext[2] + ext[0] * ext[2])), NULL);
    double ea = 2 * sqrt(l1), eb = 2 * sqrt(l2), ec = 2 * sqrt(l3);
    qib__rad_add(out, "morph_vol_dens_aee", 3 * V / (4 * PI * ea * eb * ec), NULL);
    qib__rad_add(out, "morph_area_dens_aee", A / ellipsoid_area(ea, eb, ec), NULL);
    qib__rad_add(out, "morph_vol_dens_conv_hull", V / hv, NULL);
    qib__rad_add(out, "morph_area_dens_conv_hull", A / ha, NULL);
    qib__rad_add(out, "morph_integ_int", ni ? V * sw / (double)ni : NAN, NULL);
}

void qib__rad_moran(const struct rad_roi *r, struct rad_list *out)
{
    double mi, gc;
    autocorr(r, &mi, &gc);
    qib__rad_add(out, "morph_moran_i", mi, NULL);
    qib__rad_add(out, "morph_geary_c", gc, NULL);
}
