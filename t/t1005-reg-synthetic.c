/* reg.rigid and reg.affine on a generated head-like pair with T1-like and
 * T2-like (inverted) contrast under a known transform: Mattes mutual
 * information recovers it within 1 mm at the corners; the transform is
 * bit-identical for 1, 2 and 4 threads and across runs; masks, the moments
 * initialisation, the initial transform and the output table. */
#include <config.h>

#include "t1000-reg-util.h"

/* Tissue fractions of an analytic head at point p (mm, centred on 0):
 * soft-edged ellipsoids (edge width about 1.5 mm). */
static double soft(double r)
{
    return 1 / (1 + exp((r - 1) * 12));
}

static double ell(const double p[3], double cx, double cy, double cz, double ax, double ay,
                  double az)
{
    double dx = (p[0] - cx) / ax, dy = (p[1] - cy) / ay, dz = (p[2] - cz) / az;
    return soft(sqrt(dx * dx + dy * dy + dz * dz));
}

static double head(const double p[3], int t2)
{
    double outer = ell(p, 0, 0, 0, 40, 48, 34);
    double brain = ell(p, 0, 2, 1, 35, 43, 29);
    double wm = ell(p, 3, 0, 3, 22, 30, 18);
    double v1 = ell(p, -6, -8, 2, 4, 12, 6), v2 = ell(p, 7, -6, 0, 3, 9, 5);
    double les = ell(p, 14, 20, -10, 6, 5, 5);
    double nose = ell(p, 0, -50, -14, 7, 8, 9);
    double skull = outer - brain;
    double gm = brain - wm;
    double csf = fmin(1, v1 + v2);
    double wmc = wm * (1 - csf) * (1 - les);
    double t1 = 100 * skull + 600 * gm + 850 * wmc + 200 * csf * wm + 400 * les * wm +
                300 * nose;
    double t2v = 60 * skull + 700 * gm + 350 * wmc + 1000 * csf * wm + 900 * les * wm +
                 500 * nose;
    return t2 ? t2v : t1;
}

/* Sample the head on grid g: at each voxel x, the head at inv(x) (so that
 * the volume equals the head moved by the transform whose inverse is inv). */
static qib_volume *make(const struct qib_geom *g, const double inv[16], int t2)
{
    qib_volume *v = NULL;
    if (qib_volume_new(QIB_F32, g, &v) != QIB_OK)
        bail("volume");
    float *d = qib_volume_data_mut(v);
    size_t i = 0;
    for (size_t z = 0; z < g->dims[2]; z++)
        for (size_t y = 0; y < g->dims[1]; y++)
            for (size_t x = 0; x < g->dims[0]; x++, i++) {
                double idx[3] = {(double)x, (double)y, (double)z}, w[3], q[3];
                qib_geom_index_to_world(g, idx, w);
                for (int r = 0; r < 3; r++)
                    q[r] = inv[4 * r] * w[0] + inv[4 * r + 1] * w[1] + inv[4 * r + 2] * w[2] +
                           inv[4 * r + 3];
                d[i] = (float)head(q, t2);
            }
    return v;
}

int main(void)
{
    plan(21);
    /* Fixed: 60 x 72 x 40 at 1.6 x 1.6 x 2.2 mm centred on 0. */
    struct qib_geom gf, gm;
    size_t df[3] = {60, 72, 40}, dm[3] = {56, 64, 44};
    qib_geom_init(&gf, 3, df);
    qib_geom_init(&gm, 3, dm);
    double sf[3] = {1.6, 1.6, 2.2}, sm[3] = {1.8, 1.7, 2.0};
    for (int a = 0; a < 3; a++) {
        gf.spacing[a] = sf[a];
        gm.spacing[a] = sm[a];
        gf.origin[a] = -sf[a] * ((double)df[a] - 1) / 2;
        gm.origin[a] = -sm[a] * ((double)dm[a] - 1) / 2 + 2;
    }
    /* The true fixed-to-moving transform T: rotations (0.08, -0.05, 0.12)
     * rad about the fixed centre (0, 0, 0) plus (6, -4, 3) mm. */
    double cx = cos(0.08), sx = sin(0.08), cy = cos(-0.05), sy = sin(-0.05), cz = cos(0.12),
           sz = sin(0.12);
    double T[16] = {cz * cy - sz * sx * sy, -sz * cx, cz * sy + sz * sx * cy, 6,
                    sz * cy + cz * sx * sy, cz * cx, sz * sy - cz * sx * cy, -4,
                    -cx * sy, sx, cx * cy, 3, 0, 0, 0, 1};
    /* The moving image shows the head moved by T: moving(T x) = head(x),
     * so moving(y) = head(T^-1 y). */
    qib_transform *tt = NULL, *ti = NULL;
    qib_transform_new_affine(T, &tt);
    qib_transform_invert(tt, &ti);
    double Ti[16], I[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    qib_transform_matrix(ti, Ti);
    qib_volume *fix = make(&gf, I, 0);
    qib_volume *mov = make(&gm, Ti, 1);

    const char *kv[] = {"metric", "mattes_mi", NULL};
    double m1[16], m2[16], m4[16], m1b[16];
    qib_harness *h = t10_register("reg.rigid", fix, mov, 1, m1, kv);
    ok(h != NULL, "T1 <- T2 rigid with Mattes MI runs");
    double err = t10_corner_error(&gf, m1, T);
    diag("corner error %.4f mm", err);
    ok(err < 1, "known rigid transform within 1 mm at the corners (%.3f mm)", err);
    const qib_table *tab = h ? qib_harness_out_table(h, "table") : NULL;
    is_int(tab ? (long long)qib_table_nrows(tab) : -1, 3, "table: one row per level");
    size_t col;
    ok(tab && qib_table_find(tab, "iterations", &col) == QIB_OK &&
           qib_table_get_int(tab, 2, col) > 0,
       "table: iterations of the last level");
    ok(tab && qib_table_find(tab, "metric", &col) == QIB_OK &&
           qib_table_get_double(tab, 2, col) < -0.3,
       "table: final metric is minus a mutual information above 0.3 nats");
    const qib_volume *img = h ? qib_harness_out_volume(h, "image") : NULL;
    char why[200];
    ok(img && qib_geom_same_grid(qib_volume_geom(img), &gf, 1e-6, why, sizeof why) == QIB_OK,
       "image output on the fixed grid");
    const qib_transform *ot = h ? qib_harness_out_transform(h, "transform") : NULL;
    is_string(ot ? qib_meta_get(qib_transform_meta(ot), "itk_type") : NULL,
              "Euler3DTransform_double_3_3", "transform carries its ITK type");
    qib_harness_free(&h);

    /* Determinism: 2 and 4 threads, and a second run, to the last bit. */
    h = t10_register("reg.rigid", fix, mov, 2, m2, kv);
    qib_harness_free(&h);
    h = t10_register("reg.rigid", fix, mov, 4, m4, kv);
    qib_harness_free(&h);
    h = t10_register("reg.rigid", fix, mov, 1, m1b, kv);
    qib_harness_free(&h);
    ok(memcmp(m1, m2, sizeof m1) == 0, "1 and 2 threads: bit-identical transform");
    ok(memcmp(m1, m4, sizeof m1) == 0, "1 and 4 threads: bit-identical transform");
    ok(memcmp(m1, m1b, sizeof m1) == 0, "two runs: bit-identical transform");
    const char *kva[] = {"sampling", "all", "shrink_factors", "[2, 1]", "smoothing_sigmas",
                         "[1, 0]", "iterations", "40", NULL};
    h = t10_register("reg.rigid", fix, mov, 1, m1, kva);
    qib_harness_free(&h);
    h = t10_register("reg.rigid", fix, mov, 3, m2, kva);
    qib_harness_free(&h);
    ok(memcmp(m1, m2, sizeof m1) == 0, "all voxels, 1 and 3 threads: bit-identical");

    /* A different seed draws other samples: still within 1 mm, but another
     * transform to the last bit. */
    const char *kvs[] = {"seed", "7", NULL};
    h = t10_register("reg.rigid", fix, mov, 2, m2, kvs);
    err = h ? t10_corner_error(&gf, m2, T) : 1e9;
    ok(err < 1, "seed 7: within 1 mm (%.3f mm)", err);
    ok(memcmp(m2, m4, sizeof m2) != 0, "seed 7: other samples, another result");
    qib_harness_free(&h);

    /* Fixed mask: the head's box only; moments initialisation. */
    qib_volume *fm = NULL;
    qib_mask_new(&gf, &fm);
    uint8_t *md = qib_volume_data_mut(fm);
    size_t i = 0;
    for (size_t z = 0; z < df[2]; z++)
        for (size_t y = 0; y < df[1]; y++)
            for (size_t x = 0; x < df[0]; x++, i++)
                md[i] = x > 4 && x < 55 && y > 4 && y < 67 && z > 3 && z < 36;
    qib_harness *hm = NULL;
    char e2[256];
    qib_harness_new("reg.rigid", &hm, e2, sizeof e2);
    qib_harness_set_volume(hm, "fixed", fix);
    qib_harness_set_volume(hm, "moving", mov);
    qib_harness_set_volume(hm, "fixed_mask", fm);
    qib_harness_set_volume(hm, "moving_mask", NULL);
    qib_harness_set_param(hm, "init", "moments");
    qib_harness_set_param(hm, "sampling", "all");
    is_int(qib_harness_run(hm), QIB_OK, "fixed mask and moments initialisation run");
    const qib_transform *mt = qib_harness_out_transform(hm, "transform");
    double mm[16];
    if (mt)
        qib_transform_matrix(mt, mm);
    err = mt ? t10_corner_error(&gf, mm, T) : 1e9;
    ok(err < 1, "with a fixed mask: within 1 mm (%.3f mm)", err);
    tab = qib_harness_out_table(hm, "table");
    long long nsamp = tab && qib_table_find(tab, "samples", &col) == QIB_OK
                          ? (long long)qib_table_get_int(tab, 2, col)
                          : -1;
    is_int(nsamp, 50 * 62 * 32, "samples: every voxel of the mask");
    qib_harness_free(&hm);

    /* Given initial transform, one level: starts at T, stays within 0.5 mm. */
    qib_harness_new("reg.rigid", &hm, e2, sizeof e2);
    qib_harness_set_volume(hm, "fixed", fix);
    qib_harness_set_volume(hm, "moving", mov);
    qib_harness_set_transform(hm, "initial", tt);
    qib_harness_set_param(hm, "shrink_factors", "[1]");
    qib_harness_set_param(hm, "smoothing_sigmas", "[0]");
    is_int(qib_harness_run(hm), QIB_OK, "initial transform run");
    mt = qib_harness_out_transform(hm, "transform");
    if (mt)
        qib_transform_matrix(mt, mm);
    err = mt ? t10_corner_error(&gf, mm, T) : 1e9;
    ok(err < 0.5, "from the true transform: within 0.5 mm (%.3f mm)", err);
    qib_harness_free(&hm);

    /* Affine: T1 to T1 under T with an anisotropic scaling (1.06, 0.95,
     * 1.03) first; mean squares. */
    double S[16] = {1.06, 0, 0, 0, 0, 0.95, 0, 0, 0, 0, 1.03, 0, 0, 0, 0, 1}, A[16];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) {
            A[4 * r + c] = 0;
            for (int k = 0; k < 4; k++)
                A[4 * r + c] += T[4 * r + k] * S[4 * k + c];
        }
    qib_transform *ta = NULL, *tai = NULL;
    qib_transform_new_affine(A, &ta);
    qib_transform_invert(ta, &tai);
    double Ai[16];
    qib_transform_matrix(tai, Ai);
    qib_volume *mova = make(&gm, Ai, 0);
    /* A gentler relaxation and a finer final step: twelve parameters take
     * more steps than six. */
    const char *kvn[] = {"metric",     "mean_squares", "iterations", "500", "relaxation",
                         "0.8",        "min_step",     "0.001",      NULL};
    double ma[16];
    h = t10_register("reg.affine", fix, mova, 2, ma, kvn);
    ok(h != NULL, "affine registration runs");
    err = h ? t10_corner_error(&gf, ma, A) : 1e9;
    diag("affine corner error %.4f mm", err);
    ok(err < 1, "affine: known transform within 1 mm (%.3f mm)", err);
    qib_harness_free(&h);
    const char *kvb[] = {"shrink_factors", "[2, 1]", "smoothing_sigmas", "[1]", NULL};
    qib_harness *hb = NULL;
    qib_harness_new("reg.rigid", &hb, e2, sizeof e2);
    qib_harness_set_volume(hb, "fixed", fix);
    qib_harness_set_volume(hb, "moving", mov);
    qib_harness_set_param(hb, kvb[0], kvb[1]);
    qib_harness_set_param(hb, kvb[2], kvb[3]);
    is_int(qib_harness_run(hb), QIB_EINVAL, "one sigma per level required");
    qib_harness_free(&hb);
    qib_transform_unref(&ta);
    qib_transform_unref(&tai);
    qib_transform_unref(&tt);
    qib_transform_unref(&ti);
    qib_volume_unref(&mova);
    qib_volume_unref(&fm);
    qib_volume_unref(&fix);
    qib_volume_unref(&mov);
    return tap_done();
}
