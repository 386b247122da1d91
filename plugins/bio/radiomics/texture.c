/* bio.radiomics texture families (IBSI 1, chapter 3.6-3.11): grey level
 * co-occurrence, run length, size zone, distance zone, neighbourhood grey
 * tone difference and neighbouring grey level dependence matrices, each in
 * 2-D (per slice), 2.5-D (slices merged) and 3-D, averaged or merged as the
 * IBSI aggregation methods define. */
#include <config.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rad.h"

#define IDX(r, x, y, z) ((x) + (r)->nx * ((y) + (r)->ny * (z)))

/* Grey level at (x, y, z) or 0 outside the box or the intensity mask. */
static int gl_at(const struct rad_roi *r, long x, long y, long z)
{
    if (x < 0 || y < 0 || z < 0 || (size_t)x >= r->nx || (size_t)y >= r->ny ||
        (size_t)z >= r->nz)
        return 0;
    return r->gl[IDX(r, (size_t)x, (size_t)y, (size_t)z)];
}

/* The 13 unique directions of 3-D (the first 4 lie in the slice plane). */
static const int dirs[13][3] = {
    {1, 0, 0}, {0, 1, 0}, {1, 1, 0}, {1, -1, 0}, {0, 0, 1}, {1, 0, 1}, {1, 0, -1},
    {0, 1, 1}, {0, 1, -1}, {1, 1, 1}, {1, 1, -1}, {1, -1, 1}, {1, -1, -1},
};

static int slice_has_roi(const struct rad_roi *r, size_t z)
{
    for (size_t i = 0; i < r->nx * r->ny; i++)
        if (r->gl[i + r->nx * r->ny * z])
            return 1;
    return 0;
}

static size_t roi_count(const struct rad_roi *r, size_t z0, size_t z1)
{
    size_t n = 0;
    for (size_t i = r->nx * r->ny * z0; i < r->nx * r->ny * z1; i++)
        n += r->gl[i] > 0;
    return n;
}

static double *zalloc(size_t n)
{
    return calloc(n ? n : 1, sizeof(double));
}

static void add_into(double *dst, const double *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] += src[i];
}

static void emit(struct rad_list *out, const char *const *names, const double *v, size_t n,
                 const char *suffix)
{
    char tag[64];
    for (size_t i = 0; i < n; i++) {
        snprintf(tag, sizeof tag, "%s_%s", names[i], suffix);
        qib__rad_add(out, tag, v[i], NULL);
    }
}

/* Running mean of feature vectors. */
struct avg {
    double s[32];
    size_t n;
};

static void avg_add(struct avg *a, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a->s[i] += v[i];
    a->n++;
}

static void avg_get(const struct avg *a, double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = a->n ? a->s[i] / (double)a->n : NAN;
}

static double plogp(double p)
{
    return p > 0 ? p * log2(p) : 0.0;
}

/* ---- GLCM ---- */

#define NCM 25
static const char *const cm_names[NCM] = {
    "cm_joint_max", "cm_joint_avg", "cm_joint_var", "cm_joint_entr", "cm_diff_avg",
    "cm_diff_var", "cm_diff_entr", "cm_sum_avg", "cm_sum_var", "cm_sum_entr",
    "cm_energy", "cm_contrast", "cm_dissimilarity", "cm_inv_diff", "cm_inv_diff_norm",
    "cm_inv_diff_mom", "cm_inv_diff_mom_norm", "cm_inv_var", "cm_corr", "cm_auto_corr",
    "cm_clust_tend", "cm_clust_shade", "cm_clust_prom", "cm_info_corr1", "cm_info_corr2",
};

/* Count co-occurrences along d (scaled by dist) in slices [z0, z1) into the
 * symmetric matrix m (ng x ng). */
static void cm_count(const struct rad_roi *r, const int d[3], int dist, size_t z0, size_t z1,
                     double *m)
{
    size_t ng = (size_t)r->ng;
    for (size_t z = z0; z < z1; z++)
        for (size_t y = 0; y < r->ny; y++)
            for (size_t x = 0; x < r->nx; x++) {
                int a = r->gl[IDX(r, x, y, z)];
                if (!a)
                    continue;
                int b = gl_at(r, (long)x + d[0] * dist, (long)y + d[1] * dist,
                              (long)z + d[2] * dist);
                if (!b)
                    continue;
                m[(size_t)(a - 1) * ng + (size_t)(b - 1)] += 1;
                m[(size_t)(b - 1) * ng + (size_t)(a - 1)] += 1;
            }
}

/* Features of a co-occurrence count matrix; 0 when it is empty. */
static int cm_feats(const double *cnt, int ngi, double *f)
{
    size_t ng = (size_t)ngi;
    double tot = 0;
    for (size_t i = 0; i < ng * ng; i++)
        tot += cnt[i];
    if (tot <= 0)
        return 0;
    double *pi = zalloc(ng), *pd = zalloc(ng), *ps = zalloc(2 * ng + 1);
    if (!pi || !pd || !ps) {
        free(pi), free(pd), free(ps);
        return 0;
    }
    double jmax = 0, javg = 0, energy = 0, hxy = 0, contrast = 0, dis = 0, id = 0, idn = 0,
           idm = 0, idmn = 0, ivar = 0, acorr = 0;
    double n = (double)ng;
    for (size_t i = 0; i < ng; i++)
        for (size_t j = 0; j < ng; j++) {
            double p = cnt[i * ng + j] / tot;
            if (p <= 0)
                continue;
            double gi = (double)(i + 1), gj = (double)(j + 1), k = fabs(gi - gj);
            if (p > jmax)
                jmax = p;
            javg += gi * p;
            energy += p * p;
            hxy -= plogp(p);
            contrast += k * k * p;
            dis += k * p;
            id += p / (1 + k);
            idn += p / (1 + k / n);
            idm += p / (1 + k * k);
            idmn += p / (1 + k * k / (n * n));
            if (i != j)
                ivar += p / (k * k);
            acorr += gi * gj * p;
            pi[i] += p;
            pd[(size_t)k] += p;
            ps[i + j + 2] += p;
        }
    double jvar = 0, ct = 0, cs = 0, cp = 0, hx = 0, hxy1 = 0, hxy2 = 0;
    for (size_t i = 0; i < ng; i++)
        for (size_t j = 0; j < ng; j++) {
            double p = cnt[i * ng + j] / tot;
            double gi = (double)(i + 1), gj = (double)(j + 1);
            double q = pi[i] * pi[j];
            if (q > 0) {
                hxy1 -= p * log2(q);
                hxy2 -= q * log2(q);
            }
            if (p <= 0)
                continue;
            double c = gi + gj - 2 * javg;
            jvar += (gi - javg) * (gi - javg) * p;
            ct += c * c * p;
            cs += c * c * c * p;
            cp += c * c * c * c * p;
        }
    double corr_num = 0;
    for (size_t i = 0; i < ng; i++) {
        hx -= plogp(pi[i]);
        for (size_t j = 0; j < ng; j++)
            corr_num += ((double)(i + 1) - javg) * ((double)(j + 1) - javg) * cnt[i * ng + j] / tot;
    }
    double davg = 0, dvar = 0, dent = 0, savg = 0, svar = 0, sent = 0;
    for (size_t k = 0; k < ng; k++)
        davg += (double)k * pd[k];
    for (size_t k = 0; k < ng; k++) {
        dvar += ((double)k - davg) * ((double)k - davg) * pd[k];
        dent -= plogp(pd[k]);
    }
    for (size_t k = 2; k <= 2 * ng; k++)
        savg += (double)k * ps[k];
    for (size_t k = 2; k <= 2 * ng; k++) {
        svar += ((double)k - savg) * ((double)k - savg) * ps[k];
        sent -= plogp(ps[k]);
    }
    /* The matrix is symmetric: both marginals have mean javg and variance
     * jvar. */
    double corr = jvar > 0 ? corr_num / jvar : NAN;
    f[0] = jmax, f[1] = javg, f[2] = jvar, f[3] = hxy;
    f[4] = davg, f[5] = dvar, f[6] = dent;
    f[7] = savg, f[8] = svar, f[9] = sent;
    f[10] = energy, f[11] = contrast, f[12] = dis, f[13] = id, f[14] = idn, f[15] = idm;
    f[16] = idmn, f[17] = ivar, f[18] = corr, f[19] = acorr, f[20] = ct, f[21] = cs, f[22] = cp;
    f[23] = hx > 0 ? (hxy - hxy1) / hx : NAN;
    double e = 1 - exp(-2 * (hxy2 - hxy));
    f[24] = sqrt(e > 0 ? e : 0);
    free(pi), free(pd), free(ps);
    return 1;
}

/* ---- matrices of the "size" form: r(i, j), grey level i, count j ---- */

#define NSZ 17
static const char *const rlm_names[NSZ] = {
    "rlm_sre", "rlm_lre", "rlm_lgre", "rlm_hgre", "rlm_srlge", "rlm_srhge",
    "rlm_lrlge", "rlm_lrhge", "rlm_glnu", "rlm_glnu_norm", "rlm_rlnu", "rlm_rlnu_norm",
    "rlm_r_perc", "rlm_gl_var", "rlm_rl_var", "rlm_rl_entr", NULL,
};
static const char *const szm_names[NSZ] = {
    "szm_sze", "szm_lze", "szm_lgze", "szm_hgze", "szm_szlge", "szm_szhge",
    "szm_lzlge", "szm_lzhge", "szm_glnu", "szm_glnu_norm", "szm_zsnu", "szm_zsnu_norm",
    "szm_z_perc", "szm_gl_var", "szm_zs_var", "szm_zs_entr", NULL,
};
static const char *const dzm_names[NSZ] = {
    "dzm_sde", "dzm_lde", "dzm_lgze", "dzm_hgze", "dzm_sdlge", "dzm_sdhge",
    "dzm_ldlge", "dzm_ldhge", "dzm_glnu", "dzm_glnu_norm", "dzm_zdnu", "dzm_zdnu_norm",
    "dzm_z_perc", "dzm_gl_var", "dzm_zd_var", "dzm_zd_entr", NULL,
};
static const char *const ngl_names[NSZ] = {
    "ngl_lde", "ngl_hde", "ngl_lgce", "ngl_hgce", "ngl_ldlge", "ngl_ldhge",
    "ngl_hdlge", "ngl_hdhge", "ngl_glnu", "ngl_glnu_norm", "ngl_dcnu", "ngl_dcnu_norm",
    "ngl_dc_perc", "ngl_gl_var", "ngl_dc_var", "ngl_dc_entr", "ngl_dc_energy",
};

/* Features of a size-form matrix (ng x nj, count j+1 in column j) over nv
 * voxels; 0 when it is empty.  Writes 17 values (the last, energy, is used
 * by NGLDM only). */
static int sz_feats(const double *m, size_t ng, size_t nj, double nv, double *f)
{
    double ns = 0;
    for (size_t k = 0; k < ng * nj; k++)
        ns += m[k];
    if (ns <= 0)
        return 0;
    double a[8] = {0}, glnu = 0, jnu = 0, mi = 0, mj = 0, ent = 0, en = 0;
    for (size_t i = 0; i < ng; i++) {
        double row = 0, gi = (double)(i + 1), i2 = gi * gi;
        for (size_t j = 0; j < nj; j++) {
            double v = m[i * nj + j];
            if (v <= 0)
                continue;
            double gj = (double)(j + 1), j2 = gj * gj;
            row += v;
            a[0] += v / j2, a[1] += v * j2, a[2] += v / i2, a[3] += v * i2;
            a[4] += v / (i2 * j2), a[5] += v * i2 / j2, a[6] += v * j2 / i2;
            a[7] += v * i2 * j2;
            double p = v / ns;
            mi += gi * p, mj += gj * p;
            ent -= plogp(p);
            en += p * p;
        }
        glnu += row * row;
    }
    for (size_t j = 0; j < nj; j++) {
        double col = 0;
        for (size_t i = 0; i < ng; i++)
            col += m[i * nj + j];
        jnu += col * col;
    }
    double vi = 0, vj = 0;
    for (size_t i = 0; i < ng; i++)
        for (size_t j = 0; j < nj; j++) {
            double p = m[i * nj + j] / ns;
            if (p <= 0)
                continue;
            vi += ((double)(i + 1) - mi) * ((double)(i + 1) - mi) * p;
            vj += ((double)(j + 1) - mj) * ((double)(j + 1) - mj) * p;
        }
    for (int k = 0; k < 8; k++)
        f[k] = a[k] / ns;
    f[8] = glnu / ns, f[9] = glnu / (ns * ns), f[10] = jnu / ns, f[11] = jnu / (ns * ns);
    f[12] = ns / nv, f[13] = vi, f[14] = vj, f[15] = ent, f[16] = en;
    return 1;
}

/* ---- GLCM and GLRLM: per slice and direction, with the six aggregations ---- */

/* Run lengths along d in slices [z0, z1) into m (ng x nj). */
static void rl_count(const struct rad_roi *r, const int d[3], size_t z0, size_t z1, double *m,
                     size_t nj)
{
    for (size_t z = z0; z < z1; z++)
        for (size_t y = 0; y < r->ny; y++)
            for (size_t x = 0; x < r->nx; x++) {
                int a = r->gl[IDX(r, x, y, z)];
                if (!a)
                    continue;
                long px = (long)x - d[0], py = (long)y - d[1], pz = (long)z - d[2];
                /* A run starts where the previous voxel differs; in 2-D the
                 * previous voxel is in the same slice since d[2] is 0. */
                if (gl_at(r, px, py, pz) == a && pz >= (long)z0)
                    continue;
                size_t len = 1;
                long cx = (long)x + d[0], cy = (long)y + d[1], cz = (long)z + d[2];
                while (cz < (long)z1 && gl_at(r, cx, cy, cz) == a) {
                    len++;
                    cx += d[0], cy += d[1], cz += d[2];
                }
                m[(size_t)(a - 1) * nj + (len - 1)] += 1;
            }
}

enum fam { F_CM, F_RLM };

/* The matrix of family fam for direction d over slices [z0, z1) (ng x nj,
 * zero-filled then counted), or NULL when out of memory. */
static double *dir_matrix(const struct rad_roi *r, enum fam fam, const struct rad_tex *t,
                          const int d[3], size_t z0, size_t z1, size_t nj)
{
    size_t ng = (size_t)r->ng;
    double *m = zalloc(ng * nj);
    if (!m)
        return NULL;
    if (fam == F_CM)
        cm_count(r, d, t->dist, z0, z1, m);
    else
        rl_count(r, d, z0, z1, m, nj);
    return m;
}

static int fam_feats(enum fam fam, const double *m, size_t ng, size_t nj, double nv, double *f)
{
    if (fam == F_CM)
        return cm_feats(m, (int)ng, f);
    return sz_feats(m, ng, nj, nv, f);
}

static void directional(const struct rad_roi *r, const struct rad_tex *t, enum fam fam,
                        struct rad_list *out)
{
    size_t ng = (size_t)r->ng, nf = fam == F_CM ? NCM : 16;
    const char *const *names = fam == F_CM ? cm_names : rlm_names;
    size_t nj = fam == F_CM ? ng : (r->nx > r->ny ? r->nx : r->ny);
    if (fam == F_RLM && r->nz > nj)
        nj = r->nz;
    size_t cells = ng * nj;
    double f[32], v[32];

    if (t->dims & (RAD_2D | RAD_2_5D)) {
        struct avg a2d = {{0}, 0}, a2dm = {{0}, 0};
        double *dsum[4] = {NULL}, *all = zalloc(cells), *sl = zalloc(cells);
        double nv_total = 0;
        int ok = all && sl;
        for (int k = 0; k < 4 && ok; k++)
            ok = (dsum[k] = zalloc(cells)) != NULL;
        for (size_t z = 0; ok && z < r->nz; z++) {
            if (!slice_has_roi(r, z))
                continue;
            double nv = (double)roi_count(r, z, z + 1);
            nv_total += nv;
            memset(sl, 0, cells * sizeof *sl);
            for (int k = 0; k < 4 && ok; k++) {
                double *m = dir_matrix(r, fam, t, dirs[k], z, z + 1, nj);
                if (!(ok = m != NULL))
                    break;
                if (fam_feats(fam, m, ng, nj, nv, f))
                    avg_add(&a2d, f, nf);
                add_into(sl, m, cells);
                add_into(dsum[k], m, cells);
                free(m);
            }
            /* A merged matrix counts each voxel once per direction. */
            if (ok && fam_feats(fam, sl, ng, nj, 4 * nv, f))
                avg_add(&a2dm, f, nf);
        }
        if (ok && (t->dims & RAD_2D_AVG)) {
            avg_get(&a2d, v, nf);
            emit(out, names, v, nf, "2D_avg");
        }
        if (ok && (t->dims & RAD_2D_COMB)) {
            avg_get(&a2dm, v, nf);
            emit(out, names, v, nf, "2D_comb");
        }
        if (ok && (t->dims & RAD_2_5D)) {
            struct avg ad = {{0}, 0};
            for (int k = 0; k < 4; k++) {
                if (fam_feats(fam, dsum[k], ng, nj, nv_total, f))
                    avg_add(&ad, f, nf);
                add_into(all, dsum[k], cells);
            }
            if (t->dims & RAD_2_5D_AVG) {
                avg_get(&ad, v, nf);
                emit(out, names, v, nf, "2_5D_avg");
            }
            if (t->dims & RAD_2_5D_COMB) {
                if (!fam_feats(fam, all, ng, nj, 4 * nv_total, v))
                    for (size_t i = 0; i < nf; i++)
                        v[i] = NAN;
                emit(out, names, v, nf, "2_5D_comb");
            }
        }
        if (!ok)
            out->err = QIB_ENOMEM;
        for (int k = 0; k < 4; k++)
            free(dsum[k]);
        free(all), free(sl);
    }
    if (t->dims & RAD_3D) {
        struct avg a = {{0}, 0};
        double *all = zalloc(cells);
        double nv = (double)roi_count(r, 0, r->nz);
        int ok = all != NULL;
        for (int k = 0; k < 13 && ok; k++) {
            double *m = dir_matrix(r, fam, t, dirs[k], 0, r->nz, nj);
            if (!(ok = m != NULL))
                break;
            if (fam_feats(fam, m, ng, nj, nv, f))
                avg_add(&a, f, nf);
            add_into(all, m, cells);
            free(m);
        }
        if (ok) {
            if (t->dims & RAD_3D_AVG) {
                avg_get(&a, v, nf);
                emit(out, names, v, nf, "3D_avg");
            }
            if (t->dims & RAD_3D_COMB) {
                if (!fam_feats(fam, all, ng, nj, 13 * nv, v))
                    for (size_t i = 0; i < nf; i++)
                        v[i] = NAN;
                emit(out, names, v, nf, "3D_comb");
            }
        } else {
            out->err = QIB_ENOMEM;
        }
        free(all);
    }
}

void qib__rad_glcm(const struct rad_roi *r, const struct rad_tex *t, struct rad_list *out)
{
    directional(r, t, F_CM, out);
}

void qib__rad_glrlm(const struct rad_roi *r, const struct rad_tex *t, struct rad_list *out)
{
    directional(r, t, F_RLM, out);
}

/* ---- zones: GLSZM and GLDZM ---- */

struct zone {
    int gl;
    size_t size;
    size_t dist;
};

struct zones {
    struct zone *z;
    size_t n, cap;
};

/* Distance of every intensity-mask voxel of slices [z0, z1) to the edge of
 * the mask: 1 on the edge, counting steps between face neighbours (4 in a
 * slice for 2-D, 6 in 3-D); outside the box counts as outside.  dist has one
 * entry per box voxel. */
static void edge_distance(const struct rad_roi *r, const uint8_t *mask, int three_d,
                          size_t *dist)
{
    size_t n = r->nx * r->ny * r->nz;
    size_t inf = (size_t)-1;
    for (size_t i = 0; i < n; i++)
        dist[i] = mask[i] ? inf : 0;
    /* Repeated relaxation: few passes suffice because each pass runs forward
     * and backward. */
    int changed = 1;
    while (changed) {
        changed = 0;
        for (int pass = 0; pass < 2; pass++)
            for (size_t q = 0; q < n; q++) {
                size_t i = pass ? n - 1 - q : q;
                if (!mask[i])
                    continue;
                size_t x = i % r->nx, y = (i / r->nx) % r->ny, z = i / (r->nx * r->ny);
                size_t best = inf;
                long nb[6][3] = {{-1, 0, 0}, {1, 0, 0}, {0, -1, 0}, {0, 1, 0}, {0, 0, -1}, {0, 0, 1}};
                for (int k = 0; k < (three_d ? 6 : 4); k++) {
                    long xx = (long)x + nb[k][0], yy = (long)y + nb[k][1], zz = (long)z + nb[k][2];
                    size_t dn;
                    if (xx < 0 || yy < 0 || zz < 0 || (size_t)xx >= r->nx ||
                        (size_t)yy >= r->ny || (size_t)zz >= r->nz)
                        dn = 0;
                    else
                        dn = dist[IDX(r, (size_t)xx, (size_t)yy, (size_t)zz)];
                    if (dn < best)
                        best = dn;
                }
                if (best != inf && best + 1 < dist[i]) {
                    dist[i] = best + 1;
                    changed = 1;
                }
            }
    }
}

/* Connected zones of equal grey level in slices [z0, z1) (one slice for
 * 2-D), connected within Chebyshev distance link (in-plane for 2-D). */
static int find_zones(const struct rad_roi *r, size_t z0, size_t z1, int three_d, int link,
                      const size_t *dist, uint8_t *seen, size_t *stack, struct zones *zs)
{
    long lz = three_d ? link : 0;
    for (size_t z = z0; z < z1; z++)
        for (size_t y = 0; y < r->ny; y++)
            for (size_t x = 0; x < r->nx; x++) {
                size_t i0 = IDX(r, x, y, z);
                int g = r->gl[i0];
                if (!g || seen[i0])
                    continue;
                size_t top = 0, size = 0, dmin = (size_t)-1;
                stack[top++] = i0;
                seen[i0] = 1;
                while (top) {
                    size_t i = stack[--top];
                    size++;
                    if (dist && dist[i] < dmin)
                        dmin = dist[i];
                    long cx = (long)(i % r->nx), cy = (long)((i / r->nx) % r->ny),
                         cz = (long)(i / (r->nx * r->ny));
                    for (long dz = -lz; dz <= lz; dz++)
                        for (long dy = -link; dy <= link; dy++)
                            for (long dx = -link; dx <= link; dx++) {
                                long xx = cx + dx, yy = cy + dy, zz = cz + dz;
                                if (zz < (long)z0 || zz >= (long)z1 || gl_at(r, xx, yy, zz) != g)
                                    continue;
                                size_t j = IDX(r, (size_t)xx, (size_t)yy, (size_t)zz);
                                if (seen[j])
                                    continue;
                                seen[j] = 1;
                                stack[top++] = j;
                            }
                }
                if (zs->n == zs->cap) {
                    size_t cap = zs->cap ? 2 * zs->cap : 256;
                    struct zone *nz = realloc(zs->z, cap * sizeof *nz);
                    if (!nz)
                        return QIB_ENOMEM;
                    zs->z = nz, zs->cap = cap;
                }
                zs->z[zs->n++] = (struct zone){g, size, dmin};
            }
    return QIB_OK;
}

/* Features of zones [from, to) as a size (or distance) zone matrix. */
static int zone_feats(const struct zones *zs, size_t from, size_t to, int ng, int by_dist,
                      double nv, double *f)
{
    size_t nj = 1;
    for (size_t k = from; k < to; k++) {
        size_t j = by_dist ? zs->z[k].dist : zs->z[k].size;
        if (j > nj)
            nj = j;
    }
    double *m = zalloc((size_t)ng * nj);
    if (!m)
        return -1;
    for (size_t k = from; k < to; k++) {
        size_t j = by_dist ? zs->z[k].dist : zs->z[k].size;
        m[(size_t)(zs->z[k].gl - 1) * nj + (j - 1)] += 1;
    }
    int ok = sz_feats(m, (size_t)ng, nj, nv, f);
    free(m);
    return ok;
}

static void zone_family(const struct rad_roi *r, const struct rad_tex *t, int by_dist,
                        struct rad_list *out)
{
    const char *const *names = by_dist ? dzm_names : szm_names;
    size_t n = r->nx * r->ny * r->nz;
    uint8_t *seen = calloc(n, 1);
    size_t *stack = malloc(n * sizeof *stack);
    size_t *dist = by_dist ? malloc(n * sizeof *dist) : NULL;
    struct zones zs = {NULL, 0, 0};
    double f[32], v[32];
    int rc = seen && stack && (!by_dist || dist) ? QIB_OK : QIB_ENOMEM;
    /* The distance to the edge is measured in the morphological mask: holes
     * that re-segmentation leaves are not edges (this matches the IBSI
     * reference values of configurations B, D and E). */
    uint8_t *inmask = NULL;
    if (rc == QIB_OK && by_dist) {
        inmask = malloc(n);
        if (!inmask)
            rc = QIB_ENOMEM;
        else
            for (size_t i = 0; i < n; i++)
                inmask[i] = r->morph[i] != 0;
    }
    if (rc == QIB_OK && (t->dims & (RAD_2D | RAD_2_5D))) {
        struct avg a = {{0}, 0};
        if (by_dist)
            edge_distance(r, inmask, 0, dist);
        for (size_t z = 0; rc == QIB_OK && z < r->nz; z++) {
            size_t from = zs.n;
            rc = find_zones(r, z, z + 1, 0, t->link, dist, seen, stack, &zs);
            if (rc == QIB_OK && zs.n > from) {
                int ok = zone_feats(&zs, from, zs.n, r->ng, by_dist,
                                    (double)roi_count(r, z, z + 1), f);
                if (ok < 0)
                    rc = QIB_ENOMEM;
                else if (ok)
                    avg_add(&a, f, 16);
            }
        }
        if (rc == QIB_OK && (t->dims & RAD_2D)) {
            avg_get(&a, v, 16);
            emit(out, names, v, 16, "2D");
        }
        if (rc == QIB_OK && (t->dims & RAD_2_5D)) {
            int ok = zone_feats(&zs, 0, zs.n, r->ng, by_dist, (double)roi_count(r, 0, r->nz), v);
            if (ok < 0)
                rc = QIB_ENOMEM;
            else if (!ok)
                for (int i = 0; i < 16; i++)
                    v[i] = NAN;
            emit(out, names, v, 16, "2_5D");
        }
    }
    if (rc == QIB_OK && (t->dims & RAD_3D)) {
        memset(seen, 0, n);
        zs.n = 0;
        if (by_dist)
            edge_distance(r, inmask, 1, dist);
        rc = find_zones(r, 0, r->nz, 1, t->link, dist, seen, stack, &zs);
        if (rc == QIB_OK) {
            int ok = zone_feats(&zs, 0, zs.n, r->ng, by_dist, (double)roi_count(r, 0, r->nz), v);
            if (ok < 0)
                rc = QIB_ENOMEM;
            else if (!ok)
                for (int i = 0; i < 16; i++)
                    v[i] = NAN;
            emit(out, names, v, 16, "3D");
        }
    }
    if (rc != QIB_OK)
        out->err = rc;
    free(inmask);
    free(zs.z);
    free(seen), free(stack), free(dist);
}

void qib__rad_glszm(const struct rad_roi *r, const struct rad_tex *t, struct rad_list *out)
{
    zone_family(r, t, 0, out);
}

void qib__rad_gldzm(const struct rad_roi *r, const struct rad_tex *t, struct rad_list *out)
{
    zone_family(r, t, 1, out);
}

/* ---- NGTDM and NGLDM: neighbourhoods within Chebyshev distance dist ---- */

/* Visit the neighbourhood of every intensity-mask voxel of slice range
 * [z0, z1): for NGTDM accumulate s (ng) and n (ng); for NGLDM the
 * dependence matrix m (ng x nj). */
static void neigh_count(const struct rad_roi *r, const struct rad_tex *t, int three_d, size_t z0,
                        size_t z1, double *s, double *cnt, double *m, size_t nj)
{
    long d = t->dist, dzr = three_d ? d : 0;
    for (size_t z = z0; z < z1; z++)
        for (size_t y = 0; y < r->ny; y++)
            for (size_t x = 0; x < r->nx; x++) {
                int g = r->gl[IDX(r, x, y, z)];
                if (!g)
                    continue;
                double sum = 0;
                size_t nn = 0, dep = 1;
                for (long dz = -dzr; dz <= dzr; dz++)
                    for (long dy = -d; dy <= d; dy++)
                        for (long dx = -d; dx <= d; dx++) {
                            if (!dx && !dy && !dz)
                                continue;
                            int h = gl_at(r, (long)x + dx, (long)y + dy, (long)z + dz);
                            if (!h)
                                continue;
                            sum += h;
                            nn++;
                            if (abs(h - g) <= t->alpha)
                                dep++;
                        }
                if (s && nn) {
                    s[g - 1] += fabs((double)g - sum / (double)nn);
                    cnt[g - 1] += 1;
                }
                if (m)
                    m[(size_t)(g - 1) * nj + (dep - 1)] += 1;
            }
}

#define NNGT 5
static const char *const ngt_names[NNGT] = {
    "ngt_coarseness", "ngt_contrast", "ngt_busyness", "ngt_complexity", "ngt_strength",
};

static int ngt_feats(const double *s, const double *cnt, int ngi, double *f)
{
    size_t ng = (size_t)ngi;
    double nvc = 0, ssum = 0, ps = 0, ngp = 0;
    for (size_t i = 0; i < ng; i++) {
        nvc += cnt[i];
        ssum += s[i];
        ngp += cnt[i] > 0;
    }
    if (nvc <= 0)
        return 0;
    for (size_t i = 0; i < ng; i++)
        ps += cnt[i] / nvc * s[i];
    double con = 0, bden = 0, cplx = 0, str = 0;
    for (size_t i = 0; i < ng; i++) {
        double pi = cnt[i] / nvc, gi = (double)(i + 1);
        if (pi <= 0)
            continue;
        for (size_t j = 0; j < ng; j++) {
            double pj = cnt[j] / nvc, gj = (double)(j + 1);
            if (pj <= 0)
                continue;
            con += pi * pj * (gi - gj) * (gi - gj);
            bden += fabs(gi * pi - gj * pj);
            cplx += fabs(gi - gj) * (pi * s[i] + pj * s[j]) / (pi + pj);
            str += (pi + pj) * (gi - gj) * (gi - gj);
        }
    }
    f[0] = ps > 0 ? 1 / ps : 1e6;
    f[1] = ngp > 1 ? con / (ngp * (ngp - 1)) * ssum / nvc : 0;
    f[2] = bden > 0 ? ps / bden : 0;
    f[3] = cplx / nvc;
    f[4] = ssum > 0 ? str / ssum : 0;
    return 1;
}

static void neigh_family(const struct rad_roi *r, const struct rad_tex *t, int ngldm,
                         struct rad_list *out)
{
    size_t ng = (size_t)r->ng;
    size_t w = (size_t)(2 * t->dist + 1), nj = w * w * w;
    size_t nf = ngldm ? NSZ : NNGT;
    const char *const *names = ngldm ? ngl_names : ngt_names;
    double *s = zalloc(ng), *cnt = zalloc(ng), *m = zalloc(ng * nj);
    double *s1 = zalloc(ng), *c1 = zalloc(ng), *m1 = zalloc(ng * nj);
    double f[32], v[32];
    if (!s || !cnt || !m || !s1 || !c1 || !m1) {
        out->err = QIB_ENOMEM;
        goto done;
    }
    if (t->dims & (RAD_2D | RAD_2_5D)) {
        struct avg a = {{0}, 0};
        for (size_t z = 0; z < r->nz; z++) {
            if (!slice_has_roi(r, z))
                continue;
            memset(s1, 0, ng * sizeof *s1);
            memset(c1, 0, ng * sizeof *c1);
            memset(m1, 0, ng * nj * sizeof *m1);
            neigh_count(r, t, 0, z, z + 1, ngldm ? NULL : s1, c1, ngldm ? m1 : NULL, nj);
            int ok = ngldm ? sz_feats(m1, ng, nj, (double)roi_count(r, z, z + 1), f)
                           : ngt_feats(s1, c1, r->ng, f);
            if (ok)
                avg_add(&a, f, nf);
            add_into(s, s1, ng), add_into(cnt, c1, ng), add_into(m, m1, ng * nj);
        }
        if (t->dims & RAD_2D) {
            avg_get(&a, v, nf);
            emit(out, names, v, nf, "2D");
        }
        if (t->dims & RAD_2_5D) {
            int ok = ngldm ? sz_feats(m, ng, nj, (double)roi_count(r, 0, r->nz), v)
                           : ngt_feats(s, cnt, r->ng, v);
            if (!ok)
                for (size_t i = 0; i < nf; i++)
                    v[i] = NAN;
            emit(out, names, v, nf, "2_5D");
        }
    }
    if (t->dims & RAD_3D) {
        memset(s1, 0, ng * sizeof *s1);
        memset(c1, 0, ng * sizeof *c1);
        memset(m1, 0, ng * nj * sizeof *m1);
        neigh_count(r, t, 1, 0, r->nz, ngldm ? NULL : s1, c1, ngldm ? m1 : NULL, nj);
        int ok = ngldm ? sz_feats(m1, ng, nj, (double)roi_count(r, 0, r->nz), v)
                       : ngt_feats(s1, c1, r->ng, v);
        if (!ok)
            for (size_t i = 0; i < nf; i++)
                v[i] = NAN;
        emit(out, names, v, nf, "3D");
    }
done:
    free(s), free(cnt), free(m), free(s1), free(c1), free(m1);
}

void qib__rad_ngtdm(const struct rad_roi *r, const struct rad_tex *t, struct rad_list *out)
{
    neigh_family(r, t, 0, out);
}

void qib__rad_ngldm(const struct rad_roi *r, const struct rad_tex *t, struct rad_list *out)
{
    neigh_family(r, t, 1, out);
}

/* ---- the matrices themselves, for the unit tests of the builders ---- */

int qib__rad_matrix(const struct rad_roi *r, const struct rad_tex *t, const char *family,
                    long slice, double **out, size_t *nrow, size_t *ncol)
{
    size_t ng = (size_t)r->ng;
    size_t z0 = slice < 0 ? 0 : (size_t)slice, z1 = slice < 0 ? r->nz : (size_t)slice + 1;
    int three_d = slice < 0, ndir = three_d ? 13 : 4;
    *out = NULL;
    if (!strcmp(family, "glcm") || !strcmp(family, "glrlm")) {
        enum fam fam = family[2] == 'c' ? F_CM : F_RLM;
        size_t nj = fam == F_CM ? ng : (r->nx > r->ny ? r->nx : r->ny);
        if (fam == F_RLM && r->nz > nj)
            nj = r->nz;
        double *all = zalloc(ng * nj);
        if (!all)
            return QIB_ENOMEM;
        for (int k = 0; k < ndir; k++) {
            double *m = dir_matrix(r, fam, t, dirs[k], z0, z1, nj);
            if (!m) {
                free(all);
                return QIB_ENOMEM;
            }
            add_into(all, m, ng * nj);
            free(m);
        }
        *out = all, *nrow = ng, *ncol = nj;
        return QIB_OK;
    }
    if (!strcmp(family, "glszm") || !strcmp(family, "gldzm")) {
        int by_dist = family[2] == 'd';
        size_t n = r->nx * r->ny * r->nz;
        uint8_t *seen = calloc(n, 1), *mk = malloc(n);
        size_t *stack = malloc(n * sizeof *stack), *dist = malloc(n * sizeof *dist);
        struct zones zs = {NULL, 0, 0};
        int rc = seen && mk && stack && dist ? QIB_OK : QIB_ENOMEM;
        if (rc == QIB_OK) {
            for (size_t i = 0; i < n; i++)
                mk[i] = r->morph[i] != 0;
            edge_distance(r, mk, three_d, dist);
            rc = find_zones(r, z0, z1, three_d, t->link, dist, seen, stack, &zs);
        }
        size_t nj = 1;
        for (size_t k = 0; rc == QIB_OK && k < zs.n; k++) {
            size_t j = by_dist ? zs.z[k].dist : zs.z[k].size;
            nj = j > nj ? j : nj;
        }
        double *m = rc == QIB_OK ? zalloc(ng * nj) : NULL;
        if (rc == QIB_OK && !m)
            rc = QIB_ENOMEM;
        for (size_t k = 0; rc == QIB_OK && k < zs.n; k++)
            m[(size_t)(zs.z[k].gl - 1) * nj + ((by_dist ? zs.z[k].dist : zs.z[k].size) - 1)] += 1;
        free(seen), free(mk), free(stack), free(dist), free(zs.z);
        if (rc != QIB_OK) {
            free(m);
            return rc;
        }
        *out = m, *nrow = ng, *ncol = nj;
        return QIB_OK;
    }
    if (!strcmp(family, "ngtdm") || !strcmp(family, "ngldm")) {
        size_t w = (size_t)(2 * t->dist + 1), nj = w * w * w;
        int ngldm = family[2] == 'l';
        double *s = zalloc(ng), *c = zalloc(ng), *m = zalloc(ngldm ? ng * nj : 2 * ng);
        if (!s || !c || !m) {
            free(s), free(c), free(m);
            return QIB_ENOMEM;
        }
        if (ngldm) {
            neigh_count(r, t, three_d, z0, z1, NULL, c, m, nj);
            *ncol = nj;
        } else {
            neigh_count(r, t, three_d, z0, z1, s, c, NULL, nj);
            for (size_t i = 0; i < ng; i++)
                m[2 * i] = s[i], m[2 * i + 1] = c[i];
            *ncol = 2;
        }
        free(s), free(c);
        *out = m, *nrow = ng;
        return QIB_OK;
    }
    return QIB_EINVAL;
}
