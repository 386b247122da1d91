/* bio.radiomics parameters and small hand-computed cases: one row per label,
 * a single-voxel ROI (its marching-cubes mesh is an octahedron of volume
 * 1/6 and area sqrt(3) voxel units), moments of 1..8, fixed bin number,
 * fixed bin size from the minimum and the non-IBSI zero-anchored bins,
 * and the errors for bad parameters and a mask on another grid. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"
#include "tap.h"

static qib_volume *image(size_t n, const double *sp)
{
    struct qib_geom g;
    size_t d[3] = {n, n, n};
    qib_volume *v = NULL;
    qib_geom_init(&g, 3, d);
    for (int a = 0; a < 3; a++)
        g.spacing[a] = sp[a];
    if (qib_volume_new(QIB_F32, &g, &v) != QIB_OK)
        bail("volume");
    return v;
}

static double cell(const qib_table *t, size_t row, const char *col)
{
    size_t c;
    if (qib_table_find(t, col, &c) != QIB_OK)
        return NAN;
    return qib_table_get_double(t, row, c);
}

static qib_harness *run(qib_volume *img, qib_volume *msk, const char *const *par, int *rc)
{
    qib_harness *h = NULL;
    char err[256];
    if (qib_harness_new("bio.radiomics", &h, err, sizeof err) != QIB_OK)
        bail("bio.radiomics: %s", err);
    qib_harness_set_volume(h, "image", img);
    qib_harness_set_volume(h, "mask", msk);
    *rc = QIB_OK;
    for (int i = 0; par && par[i] && *rc == QIB_OK; i += 2)
        *rc = qib_harness_set_param(h, par[i], par[i + 1]);
    if (*rc == QIB_OK)
        *rc = qib_harness_run(h);
    return h;
}

int main(void)
{
    plan_lazy();
    const double sp[3] = {1, 2, 0.5};
    qib_volume *img = image(6, sp), *msk = NULL;
    float *v = qib_volume_data_mut(img);
    qib_mask_new(qib_volume_geom(img), &msk);
    uint8_t *m = qib_volume_data_mut(msk);
    /* label 1: a 2x2x2 block holding 1..8; label 2: one voxel of 100 */
    int k = 1;
    for (size_t z = 1; z < 3; z++)
        for (size_t y = 1; y < 3; y++)
            for (size_t x = 1; x < 3; x++) {
                v[x + 6 * (y + 6 * z)] = (float)k++;
                m[x + 6 * (y + 6 * z)] = 1;
            }
    v[4 + 6 * (4 + 6 * 4)] = 100;
    m[4 + 6 * (4 + 6 * 4)] = 2;

    int rc;
    static const char *const fbn[] = {"discretisation", "fbn", "bin_number", "2", NULL};
    qib_harness *h = run(img, msk, fbn, &rc);
    ok(rc == QIB_OK, "runs: %s", qib_harness_error(h));
    const qib_table *t = qib_harness_out_table(h, "table");
    is_int(t ? (long long)qib_table_nrows(t) : -1, 2, "one row per label");
    is_int(t ? qib_table_get_int(t, 0, 0) : -1, 1, "row 0 is label 1");
    is_int(t ? qib_table_get_int(t, 1, 0) : -1, 2, "row 1 is label 2");
    is_double(cell(t, 0, "stat_mean"), 4.5, 1e-12, "mean of 1..8");
    is_double(cell(t, 0, "stat_var"), 5.25, 1e-12, "variance of 1..8 (63/12)");
    is_double(cell(t, 0, "stat_median"), 4.5, 1e-12, "median of 1..8");
    is_double(cell(t, 0, "stat_p10"), 1.7, 1e-12, "p10 of 1..8 (linear between order statistics)");
    is_double(cell(t, 0, "morph_vol_approx"), 8, 1e-12, "8 voxels of 1 mm3");
    is_double(cell(t, 0, "ih_mean"), 1.5, 1e-12, "two fixed bins: 1..4 and 5..8");
    is_double(cell(t, 1, "stat_mean"), 100, 1e-12, "label 2: its one voxel");
    is_double(cell(t, 1, "morph_volume"), 1.0 / 6, 1e-12, "one voxel: octahedron of 1/6 mm3");
    /* the octahedron's faces in mm: vertices at (+-0.5, 0, 0), (0, +-1, 0),
     * (0, 0, +-0.25); each face spans half the cross product of two edges */
    double ax = 0.5, ay = 1, az = 0.25;
    double face = 0.5 * sqrt(ay * ay * az * az + ax * ax * az * az + ax * ax * ay * ay);
    is_double(cell(t, 1, "morph_area_mesh"), 8 * face, 1e-12, "one voxel: octahedron area");
    {
        size_t c;
        ok(qib_table_find(t, "stat_mean", &c) == QIB_OK &&
               !strcmp(qib_table_col_ibsi(t, c), "Q4LE"),
           "stat_mean carries its IBSI identifier");
        ok(qib_table_find(t, "morph_volume", &c) == QIB_OK &&
               !strcmp(qib_table_col_unit(t, c), "mm3"),
           "morph_volume in mm3");
    }
    const qib_meta *meta = t ? qib_table_meta(t) : NULL;
    ok(meta && qib_meta_get(meta, "ibsi_manual") &&
           !strcmp(qib_meta_get(meta, "discretisation"), "fixed bin number"),
       "settings recorded in the table metadata");
    qib_harness_free(&h);

    /* fixed bin size 3 from the minimum 1: bins {1,2,3} {4,5,6} {7,8};
     * anchored at 0 (non-IBSI): {1,2} {3,4,5} {6,7,8} */
    static const char *const fbs[] = {"discretisation", "fbs", "bin_width", "3", NULL};
    h = run(img, msk, fbs, &rc);
    is_double(cell(qib_harness_out_table(h, "table"), 0, "ih_mean"), 15.0 / 8, 1e-12,
              "fbs from the ROI minimum");
    qib_harness_free(&h);
    static const char *const fbz[] = {"discretisation", "fbs_zero", "bin_width", "3", NULL};
    h = run(img, msk, fbz, &rc);
    is_double(cell(qib_harness_out_table(h, "table"), 0, "ih_mean"), 17.0 / 8, 1e-12,
              "fbs_zero: bins anchored at 0");
    qib_harness_free(&h);
    /* re-segmentation [2, 7] leaves 2..7 */
    static const char *const rs[] = {"reseg_lower", "2", "reseg_upper", "7", NULL};
    h = run(img, msk, rs, &rc);
    is_double(cell(qib_harness_out_table(h, "table"), 0, "stat_mean"), 4.5, 1e-12,
              "re-segmented to 2..7");
    is_double(cell(qib_harness_out_table(h, "table"), 0, "stat_min"), 2, 1e-12,
              "re-segmented minimum");
    is_double(cell(qib_harness_out_table(h, "table"), 0, "morph_vol_approx"), 8, 1e-12,
              "morphology keeps the whole mask");
    qib_harness_free(&h);

    /* re-segmentation that keeps nothing: morphology stays, the rest is NaN */
    static const char *const gone[] = {"reseg_lower", "1000", "discretisation", "fbs_zero", NULL};
    h = run(img, msk, gone, &rc);
    ok(rc == QIB_OK, "empty intensity mask runs: %s", qib_harness_error(h));
    is_double(cell(qib_harness_out_table(h, "table"), 0, "morph_vol_approx"), 8, 1e-12,
              "empty intensity mask: morphology of the mask");
    ok(isnan(cell(qib_harness_out_table(h, "table"), 0, "stat_mean")) &&
           isnan(cell(qib_harness_out_table(h, "table"), 0, "cm_joint_max_3d_avg")),
       "empty intensity mask: intensity and texture features are NaN");
    qib_harness_free(&h);

    /* a subset of the families */
    static const char *const fam[] = {"families", "stat, ivh", NULL};
    h = run(img, msk, fam, &rc);
    {
        const qib_table *ft = qib_harness_out_table(h, "table");
        size_t c;
        ok(rc == QIB_OK && qib_table_find(ft, "stat_mean", &c) == QIB_OK &&
               qib_table_find(ft, "ivh_v10", &c) == QIB_OK &&
               qib_table_find(ft, "morph_volume", &c) != QIB_OK &&
               qib_table_find(ft, "cm_joint_max_3d_avg", &c) != QIB_OK,
           "families: stat and ivh only");
    }
    qib_harness_free(&h);

    /* infinite bounds: -inf and inf are the defaults (no bound); a finite
     * reseg_lower anchors the fbs bins: from 0 with width 3 the bins are
     * {1,2} {3,4,5} {6,7,8} */
    static const char *const infb[] = {"reseg_lower", "-inf", "reseg_upper", "inf", NULL};
    h = run(img, msk, infb, &rc);
    is_double(cell(qib_harness_out_table(h, "table"), 0, "stat_mean"), 4.5, 1e-12,
              "reseg -inf to inf keeps 1..8");
    {
        const qib_meta *im = qib_table_meta(qib_harness_out_table(h, "table"));
        const char *lo = im ? qib_meta_get(im, "reseg_lower") : NULL;
        const char *hi = im ? qib_meta_get(im, "reseg_upper") : NULL;
        ok(lo && hi && !strcmp(lo, "-inf") && !strcmp(hi, "inf"),
           "metadata: reseg_lower %s, reseg_upper %s", lo ? lo : "(none)", hi ? hi : "(none)");
    }
    qib_harness_free(&h);
    static const char *const anch[] = {"reseg_lower", "0", "discretisation", "fbs",
                                       "bin_width", "3", NULL};
    h = run(img, msk, anch, &rc);
    is_double(cell(qib_harness_out_table(h, "table"), 0, "ih_mean"), 17.0 / 8, 1e-12,
              "fbs bins from a finite reseg_lower (bin_lower -inf)");
    qib_harness_free(&h);

    /* per-family aggregation without any global dimension */
    static const char *const fam3[] = {"texture_3d", "false", "families", "glcm, ngtdm",
                                       "glcm_aggregation", "3d_comb", "ngtdm_aggregation", "2d",
                                       NULL};
    h = run(img, msk, fam3, &rc);
    {
        const qib_table *ft = qib_harness_out_table(h, "table");
        size_t c;
        ok(rc == QIB_OK && qib_table_find(ft, "cm_joint_max_3d_comb", &c) == QIB_OK &&
               qib_table_find(ft, "cm_joint_max_3d_avg", &c) != QIB_OK &&
               qib_table_find(ft, "ngt_coarseness_2d", &c) == QIB_OK &&
               qib_table_find(ft, "ngt_coarseness_3d", &c) != QIB_OK,
           "glcm_aggregation 3d_comb and ngtdm_aggregation 2d alone: %s",
           qib_harness_error(h));
    }
    qib_harness_free(&h);

    /* Interpolation near a label that touches the image edge gives the
     * features of interpolating the whole mask (a second label, far away,
     * makes the plugin interpolate the whole mask). */
    {
        qib_volume *gi = image(6, sp), *m1 = NULL, *m2 = NULL;
        float *gv = qib_volume_data_mut(gi);
        for (size_t i = 0; i < 216; i++)
            gv[i] = (float)(i % 6 + 7 * ((i / 6) % 6) + 3 * (i / 36));
        qib_mask_new(qib_volume_geom(gi), &m1);
        qib_mask_new(qib_volume_geom(gi), &m2);
        uint8_t *a1 = qib_volume_data_mut(m1), *a2 = qib_volume_data_mut(m2);
        for (size_t z = 0; z < 3; z++)
            for (size_t y = 0; y < 2; y++)
                for (size_t x = 0; x < 3; x++)
                    a1[x + 6 * (y + 6 * z)] = a2[x + 6 * (y + 6 * z)] = 1;
        a2[5 + 6 * (5 + 6 * 5)] = 2;
        static const char *const itp[] = {"spacing", "[0.8, 1.5, 0.7]", "families",
                                          "morph, stat, glcm", NULL};
        qib_harness *h1 = run(gi, m1, itp, &rc), *h2 = NULL;
        int rc2;
        h2 = run(gi, m2, itp, &rc2);
        const qib_table *t1 = qib_harness_out_table(h1, "table"), *t2 = qib_harness_out_table(h2, "table");
        size_t same = 0, ncol = t1 ? qib_table_ncols(t1) : 0;
        for (size_t c = 0; t2 && c < ncol; c++) {
            size_t c2;
            if (qib_table_find(t2, qib_table_col_name(t1, c), &c2) != QIB_OK)
                continue;
            double x = qib_table_get_double(t1, 0, c), y = qib_table_get_double(t2, 0, c2);
            same += !memcmp(&x, &y, sizeof x);
        }
        ok(rc == QIB_OK && rc2 == QIB_OK && ncol > 40 && same == ncol &&
               cell(t1, 0, "morph_vol_approx") > 0,
           "interpolated near the label = interpolated whole: %zu of %zu columns identical",
           same, ncol);
        qib_harness_free(&h1);
        qib_harness_free(&h2);
        qib_volume_unref(&gi), qib_volume_unref(&m1), qib_volume_unref(&m2);
    }

    /* errors */
    static const char *const bada[] = {"glcm_aggregation", "2d, 4d", NULL};
    h = run(img, msk, bada, &rc);
    ok(rc != QIB_OK && strstr(qib_harness_error(h), "glcm_aggregation"),
       "unknown aggregation refused: %s", qib_harness_error(h));
    qib_harness_free(&h);
    static const char *const badz[] = {"glszm_aggregation", "3d_avg", NULL};
    h = run(img, msk, badz, &rc);
    ok(rc != QIB_OK && strstr(qib_harness_error(h), "glszm_aggregation"),
       "averaged/merged refused for GLSZM (one method per dimension): %s", qib_harness_error(h));
    qib_harness_free(&h);
    static const char *const badi[] = {"reseg_lower", "inf", NULL};
    h = run(img, msk, badi, &rc);
    ok(rc != QIB_OK && strstr(qib_harness_error(h), "reseg_lower"),
       "reseg_lower inf refused: %s", qib_harness_error(h));
    qib_harness_free(&h);
    static const char *const badf[] = {"families", "stat,shape", NULL};
    h = run(img, msk, badf, &rc);
    ok(rc != QIB_OK && strstr(qib_harness_error(h), "shape"),
       "unknown family refused: %s", qib_harness_error(h));
    qib_harness_free(&h);
    static const char *const none[] = {"texture_3d", "false", NULL};
    h = run(img, msk, none, &rc);
    ok(rc != QIB_OK && strstr(qib_harness_error(h), "texture_2d"),
       "no texture dimension refused: %s", qib_harness_error(h));
    qib_harness_free(&h);
    static const char *const inv[] = {"reseg_lower", "10", "reseg_upper", "0", NULL};
    h = run(img, msk, inv, &rc);
    ok(rc != QIB_OK && strstr(qib_harness_error(h), "reseg_lower"),
       "reseg_lower above reseg_upper refused: %s", qib_harness_error(h));
    qib_harness_free(&h);
    static const char *const badd[] = {"discretisation", "equal", NULL};
    h = run(img, msk, badd, &rc);
    ok(rc != QIB_OK, "unknown discretisation refused: %s", qib_harness_error(h));
    qib_harness_free(&h);
    static const char *const badn[] = {"bin_number", "0", NULL};
    h = run(img, msk, badn, &rc);
    ok(rc != QIB_OK, "bin_number 0 refused: %s", qib_harness_error(h));
    qib_harness_free(&h);
    {
        struct qib_geom g = *qib_volume_geom(img);
        qib_volume *other = NULL;
        g.spacing[0] = 1.5;
        qib_mask_new(&g, &other);
        h = run(img, other, NULL, &rc);
        ok(rc == QIB_EGEOMETRY && strstr(qib_harness_error(h), "grid"),
           "mask on another grid refused: %s", qib_harness_error(h));
        qib_harness_free(&h);
        qib_volume_unref(&other);
    }
    {
        qib_volume *empty = NULL;
        qib_mask_new(qib_volume_geom(img), &empty);
        h = run(img, empty, NULL, &rc);
        ok(rc != QIB_OK && strstr(qib_harness_error(h), "label"),
           "empty mask refused: %s", qib_harness_error(h));
        qib_harness_free(&h);
        qib_volume_unref(&empty);
    }
    qib_volume_unref(&img);
    qib_volume_unref(&msk);
    return tap_done();
}
