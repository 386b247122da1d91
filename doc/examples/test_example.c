/* Runs bio.centroid alone through the qib harness on a mask whose answer is
 * known by hand: a 4x4x4 grid, spacing 2 mm, origin (10, 20, 30), voxels
 * (1,1,1) and (3,1,1) in label 1.  Mean index (2,1,1), so the centroid is
 * (10 + 2*2, 20 + 1*2, 30 + 1*2) = (14, 22, 32) mm; 2 voxels of 8 mm^3 are
 * 0.016 mL. */
#include <stdio.h>
#include <string.h>

#include <qib/qib.h>

int main(void)
{
    struct qib_geom g;
    size_t dims[3] = {4, 4, 4};
    qib_volume *mask;
    qib_geom_init(&g, 3, dims);
    for (int a = 0; a < 3; a++)
        g.spacing[a] = 2.0;
    g.origin[0] = 10;
    g.origin[1] = 20;
    g.origin[2] = 30;
    if (qib_mask_new(&g, &mask) != QIB_OK)
        return 1;
    unsigned char *m = qib_volume_data_mut(mask);
    m[1 + 4 * 1 + 16 * 1] = 1;
    m[3 + 4 * 1 + 16 * 1] = 1;
    m[0] = 2; /* another label, left out */

    char err[512];
    qib_harness *h;
    if (qib_harness_new("bio.centroid", &h, err, sizeof err) != QIB_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    qib_harness_set_volume(h, "mask", mask);
    qib_harness_set_param(h, "label", "1");
    if (qib_harness_run(h) != QIB_OK) {
        fprintf(stderr, "%s\n", qib_harness_error(h));
        return 1;
    }
    const qib_table *t = qib_harness_out_table(h, "table");
    for (size_t c = 0; c < qib_table_ncols(t); c++) {
        char buf[32];
        if (qib_table_col_type(t, c) == QIB_COL_INT)
            printf("%s=%lld\n", qib_table_col_name(t, c),
                   (long long)qib_table_get_int(t, 0, c));
        else
            printf("%s=%s\n", qib_table_col_name(t, c),
                   qib_format_double(qib_table_get_double(t, 0, c), buf));
    }
    qib_harness_free(&h);

    /* A bad parameter is refused before anything runs. */
    if (qib_harness_new("bio.centroid", &h, err, sizeof err) != QIB_OK)
        return 1;
    if (qib_harness_set_param(h, "label", "300") == QIB_OK)
        return 1;
    printf("error=%s\n", qib_harness_error(h));
    qib_harness_free(&h);
    qib_volume_unref(&mask);
    return 0;
}
