/* seg.components: connected components of a mask (6-, 18- or 26-connected),
 * labelled by size, with a table of each component's volume, centroid and
 * bounding box; keeps the largest, the one holding a seed, those above a
 * volume, all, or the one holding the image's hottest voxel.  Two-pass union-find over runs of voxels along x. */
#include <config.h>

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"

enum keep { K_LARGEST, K_SEED, K_MIN_VOLUME, K_ALL, K_HOTTEST };
static const char *const keeps[] = {"largest", "seed", "min_volume", "all", "hottest", NULL};
static const char *const conns[] = {"6", "18", "26", NULL};
static const char *const units[] = {"mm", "voxel", NULL};
static const char *const outputs_kind[] = {"binary", "labels", NULL};

struct components {
    int connectivity; /* index into conns */
    int keep;
    double seed[3];
    int seed_unit;
    double min_volume; /* mL */
    int output;
    int label_image;
};

/* A run of foreground voxels x0..x1 (inclusive) in one row. */
struct run {
    uint32_t x0, x1;
};

/* Rows per block of the parallel run extraction. */
#define ROW_BLOCK ((size_t)64)

struct lab {
    const uint8_t *m;
    size_t nx, ny, nz;
    size_t *rowstart;   /* rows + 1 */
    struct run *runs;
    uint32_t *parent;
    int conn;           /* 6, 18 or 26 */
    size_t zblock;      /* slices per block of the union pass */
    /* painting */
    const uint32_t *value; /* per component: output value, 0 = dropped */
    uint8_t *out8;
    int32_t *out32;
};

/* Runs in row r; when rs is NULL only count them. */
static size_t row_runs(const uint8_t *row, size_t nx, struct run *rs)
{
    size_t n = 0, x = 0;
    while (x < nx) {
        /* skip background a word at a time where aligned runs of zeros */
        while (x + 8 <= nx) {
            uint64_t w;
            memcpy(&w, row + x, 8);
            if (w)
                break;
            x += 8;
        }
        while (x < nx && !row[x])
            x++;
        if (x >= nx)
            break;
        size_t x0 = x;
        while (x < nx && row[x])
            x++;
        if (rs) {
            rs[n].x0 = (uint32_t)x0;
            rs[n].x1 = (uint32_t)(x - 1);
        }
        n++;
    }
    return n;
}

static void count_block(void *arg, size_t b, size_t begin, size_t end)
{
    struct lab *L = arg;
    (void)b;
    for (size_t r = begin; r < end; r++)
        L->rowstart[r + 1] = row_runs(L->m + r * L->nx, L->nx, NULL);
}

static void fill_block(void *arg, size_t b, size_t begin, size_t end)
{
    struct lab *L = arg;
    (void)b;
    for (size_t r = begin; r < end; r++) {
        row_runs(L->m + r * L->nx, L->nx, L->runs + L->rowstart[r]);
        for (size_t i = L->rowstart[r]; i < L->rowstart[r + 1]; i++)
            L->parent[i] = (uint32_t)i;
    }
}

/* Union-find whose root is always the smallest run index of its set, so the
 * partition and its roots do not depend on the order of the unions. */
static uint32_t find(uint32_t *p, uint32_t x)
{
    while (p[x] != x) {
        p[x] = p[p[x]];
        x = p[x];
    }
    return x;
}

static void unite(uint32_t *p, uint32_t a, uint32_t b)
{
    a = find(p, a);
    b = find(p, b);
    if (a < b)
        p[b] = a;
    else if (b < a)
        p[a] = b;
}

/* Unite the runs of row ra with the runs of row rb that touch them: e = 0
 * when they must overlap in x, 1 when x may differ by one. */
static void join_rows(struct lab *L, size_t ra, size_t rb, uint32_t e)
{
    size_t i = L->rowstart[ra], ie = L->rowstart[ra + 1];
    size_t j = L->rowstart[rb], je = L->rowstart[rb + 1];
    const struct run *R = L->runs;
    while (i < ie && j < je) {
        if (R[j].x0 <= R[i].x1 + e && R[j].x1 + e >= R[i].x0)
            unite(L->parent, (uint32_t)i, (uint32_t)j);
        if (R[i].x1 < R[j].x1)
            i++;
        else
            j++;
    }
}

/* The rows of earlier voxels that a row (y, z) touches, by connectivity. */
static void join_row(struct lab *L, size_t y, size_t z, int with_prev_slice)
{
    size_t ny = L->ny, r = z * ny + y;
    uint32_t e = L->conn == 6 ? 0 : 1;
    if (y > 0)
        join_rows(L, r, r - 1, e);
    if (!with_prev_slice || z == 0)
        return;
    size_t rp = (z - 1) * ny + y;
    join_rows(L, r, rp, e);
    if (L->conn == 6)
        return;
    uint32_t ed = L->conn == 26 ? 1 : 0;
    if (y > 0)
        join_rows(L, r, rp - 1, ed);
    if (y + 1 < ny)
        join_rows(L, r, rp + 1, ed);
}

/* Unions inside slices [begin, end): touches only runs of those slices. */
static void union_block(void *arg, size_t b, size_t begin, size_t end)
{
    struct lab *L = arg;
    (void)b;
    for (size_t z = begin; z < end; z++)
        for (size_t y = 0; y < L->ny; y++)
            join_row(L, y, z, z > begin);
}

static void paint_block(void *arg, size_t b, size_t begin, size_t end)
{
    struct lab *L = arg;
    (void)b;
    for (size_t r = begin; r < end; r++) {
        for (size_t i = L->rowstart[r]; i < L->rowstart[r + 1]; i++) {
            uint32_t v = L->value[L->parent[i]];
            if (!v)
                continue;
            size_t o = r * L->nx + L->runs[i].x0, n = L->runs[i].x1 - L->runs[i].x0 + 1;
            if (L->out8)
                memset(L->out8 + o, (int)v, n);
            if (L->out32)
                for (size_t k = 0; k < n; k++)
                    L->out32[o + k] = (int32_t)v;
        }
    }
}

struct comp {
    uint64_t n, sx, sy, sz;
    uint32_t lo[3], hi[3];
    uint32_t first; /* ordinal in raster order of its first voxel */
};

static int by_size(const void *a, const void *b)
{
    const struct comp *p = a, *q = b;
    if (p->n != q->n)
        return p->n > q->n ? -1 : 1;
    return p->first < q->first ? -1 : p->first > q->first;
}

static int check(qib_step *step, const void *priv)
{
    const struct components *p = priv;
    if (p->keep == K_MIN_VOLUME && !(p->min_volume > 0))
        return qib_fail(step, QIB_EINVAL,
                        "keep min_volume needs min_volume > 0 mL, got %g", p->min_volume);
    return QIB_OK;
}

static int run(qib_step *step, void *priv)
{
    struct components *p = priv;
    const qib_volume *mask = qib_step_in_volume(step, "mask");
    const struct qib_geom *g = qib_volume_geom(mask);
    qib_pool *pool = qib_step_pool(step);
    int conn_values[] = {6, 18, 26};
    struct lab L = {.m = qib_volume_data(mask), .nx = g->dims[0], .ny = g->dims[1],
                    .nz = g->dims[2], .conn = conn_values[p->connectivity]};
    size_t rows = L.ny * L.nz, nruns;
    struct comp *cs = NULL;
    uint32_t *value = NULL;
    qib_volume *out = NULL, *lab = NULL;
    qib_table *t = NULL;
    int rc = QIB_OK;

    if (L.nx > UINT32_MAX - 2)
        return qib_fail(step, QIB_EUNSUPPORTED, "mask: %zu voxels along x is too many", L.nx);
    L.rowstart = malloc((rows + 1) * sizeof *L.rowstart);
    if (!L.rowstart)
        return qib_fail(step, QIB_ENOMEM, "out of memory");
    L.rowstart[0] = 0;
    if ((rc = qib_parallel_for(pool, rows, ROW_BLOCK, count_block, &L)))
        goto fail;
    for (size_t r = 0; r < rows; r++)
        L.rowstart[r + 1] += L.rowstart[r];
    nruns = L.rowstart[rows];
    if (nruns >= UINT32_MAX) {
        rc = qib_fail(step, QIB_EUNSUPPORTED, "mask: %zu runs of voxels is too many", nruns);
        goto fail;
    }
    L.runs = malloc((nruns ? nruns : 1) * sizeof *L.runs);
    L.parent = malloc((nruns ? nruns : 1) * sizeof *L.parent);
    if (!L.runs || !L.parent) {
        rc = QIB_ENOMEM;
        goto fail;
    }
    if ((rc = qib_parallel_for(pool, rows, ROW_BLOCK, fill_block, &L)))
        goto fail;

    /* Slabs of slices are united in parallel, then the slab boundaries in
     * order.  The roots are the smallest run index whatever the order, so
     * the result does not depend on the slab size or the thread count. */
    int nth = qib_pool_threads(pool);
    L.zblock = (L.nz + (size_t)nth * 4 - 1) / ((size_t)nth * 4);
    if (L.zblock < 1)
        L.zblock = 1;
    if ((rc = qib_parallel_for(pool, L.nz, L.zblock, union_block, &L)))
        goto fail;
    for (size_t z = L.zblock; z < L.nz; z += L.zblock)
        for (size_t y = 0; y < L.ny; y++) {
            size_t r = z * L.ny + y, rp = (z - 1) * L.ny + y;
            uint32_t e = L.conn == 6 ? 0 : 1, ed = L.conn == 26 ? 1 : 0;
            join_rows(&L, r, rp, e);
            if (L.conn != 6 && y > 0)
                join_rows(&L, r, rp - 1, ed);
            if (L.conn != 6 && y + 1 < L.ny)
                join_rows(&L, r, rp + 1, ed);
        }

    /* Ordinals in raster order: parent[i] <= i, so one forward pass turns
     * every entry into its component's ordinal. */
    size_t ncomp = 0;
    for (size_t i = 0; i < nruns; i++) {
        uint32_t r = L.parent[i];
        L.parent[i] = r == i ? (uint32_t)ncomp++ : L.parent[r];
    }
    cs = calloc(ncomp ? ncomp : 1, sizeof *cs);
    value = calloc(ncomp ? ncomp : 1, sizeof *value);
    if (!cs || !value) {
        rc = QIB_ENOMEM;
        goto fail;
    }
    for (size_t c = 0; c < ncomp; c++) {
        cs[c].first = (uint32_t)c;
        cs[c].lo[0] = cs[c].lo[1] = cs[c].lo[2] = UINT32_MAX;
    }
    for (size_t r = 0; r < rows; r++) {
        uint32_t y = (uint32_t)(r % L.ny), z = (uint32_t)(r / L.ny);
        for (size_t i = L.rowstart[r]; i < L.rowstart[r + 1]; i++) {
            struct comp *c = &cs[L.parent[i]];
            uint64_t x0 = L.runs[i].x0, x1 = L.runs[i].x1, n = x1 - x0 + 1;
            c->n += n;
            c->sx += (x0 + x1) * n / 2;
            c->sy += y * n;
            c->sz += z * n;
            if (L.runs[i].x0 < c->lo[0])
                c->lo[0] = L.runs[i].x0;
            if (L.runs[i].x1 > c->hi[0])
                c->hi[0] = L.runs[i].x1;
            if (y < c->lo[1])
                c->lo[1] = y;
            if (y > c->hi[1])
                c->hi[1] = y;
            if (z < c->lo[2])
                c->lo[2] = z;
            if (z > c->hi[2])
                c->hi[2] = z;
        }
    }
    /* rank: the sorted order; value[ordinal] = label (1 = largest) */
    qsort(cs, ncomp, sizeof *cs, by_size);
    double ml = qib_geom_voxel_mm3(g) / 1000.0;
    size_t nkept = 0;
    int64_t seed_comp = -1;
    if (p->keep == K_HOTTEST) {
        /* the hottest voxel of the image among the mask's voxels (first in
         * raster order on ties): the EANM isocontour is the part of the
         * thresholded search region connected to the maximum */
        const qib_volume *img = qib_step_in_volume(step, "image");
        if (!img) {
            rc = qib_fail(step, QIB_EINVAL,
                          "keep hottest needs input \"image\": the image whose hottest mask "
                          "voxel chooses the component");
            goto fail;
        }
        if (qib_step_check_grid(step, "image", img, mask) != QIB_OK) {
            rc = QIB_EGEOMETRY;
            goto fail;
        }
        double best = -INFINITY;
        for (size_t r = 0; r < rows; r++)
            for (size_t i = L.rowstart[r]; i < L.rowstart[r + 1]; i++)
                for (size_t x = L.runs[i].x0; x <= L.runs[i].x1; x++) {
                    double v = qib_volume_get(img, r * L.nx + x);
                    if (v > best) {
                        best = v;
                        seed_comp = L.parent[i];
                    }
                }
        if (seed_comp < 0 && nruns) {
            rc = qib_fail(step, QIB_EINVAL,
                          "image: every voxel under the mask is NaN: no hottest voxel");
            goto fail;
        }
        if (seed_comp >= 0) {
            char buf[32];
            qib_step_record(step, "hottest_value", qib_format_double(best, buf));
        }
    }
    if (p->keep == K_SEED) {
        double idx[3];
        if (p->seed_unit == 0) {
            if (qib_geom_world_to_index(g, p->seed, idx) != QIB_OK) {
                rc = qib_fail(step, QIB_EGEOMETRY, "mask: singular direction matrix");
                goto fail;
            }
        } else {
            memcpy(idx, p->seed, sizeof idx);
        }
        long v[3];
        for (int a = 0; a < 3; a++) {
            double rr = floor(idx[a] + 0.5);
            if (!(rr >= 0 && rr < (double)g->dims[a])) {
                rc = qib_fail(step, QIB_ERANGE,
                              "seed (%g, %g, %g) %s is voxel (%.1f, %.1f, %.1f), outside the "
                              "%zux%zux%zu mask",
                              p->seed[0], p->seed[1], p->seed[2], units[p->seed_unit], idx[0],
                              idx[1], idx[2], g->dims[0], g->dims[1], g->dims[2]);
                goto fail;
            }
            v[a] = (long)rr;
        }
        size_t r = (size_t)v[2] * L.ny + (size_t)v[1];
        for (size_t i = L.rowstart[r]; i < L.rowstart[r + 1]; i++)
            if (L.runs[i].x0 <= (uint32_t)v[0] && (uint32_t)v[0] <= L.runs[i].x1)
                seed_comp = L.parent[i];
        if (seed_comp < 0) {
            rc = qib_fail(step, QIB_EINVAL,
                          "seed (%g, %g, %g) %s is voxel (%ld, %ld, %ld), which is not in the "
                          "mask",
                          p->seed[0], p->seed[1], p->seed[2], units[p->seed_unit], v[0], v[1],
                          v[2]);
            goto fail;
        }
    }
    for (size_t k = 0; k < ncomp; k++) {
        int keep = p->keep == K_ALL || (p->keep == K_LARGEST && k == 0) ||
                   ((p->keep == K_SEED || p->keep == K_HOTTEST) &&
                    (int64_t)cs[k].first == seed_comp) ||
                   (p->keep == K_MIN_VOLUME && (double)cs[k].n * ml >= p->min_volume);
        if (!keep)
            continue;
        nkept++;
        /* kept components are numbered in size order; cs[nkept-1] holds it */
        if (nkept - 1 != k)
            cs[nkept - 1] = cs[k];
        value[cs[nkept - 1].first] = (uint32_t)nkept;
    }
    if (p->output == 1 && nkept > 255) {
        rc = qib_fail(step, QIB_ERANGE,
                      "%zu components kept, but a mask holds labels 1..255: keep fewer "
                      "(keep: largest, seed or min_volume), or set output: binary and "
                      "label_image: true",
                      nkept);
        goto fail;
    }

    if ((rc = qib_mask_new(g, &out)))
        goto fail;
    if (p->label_image) {
        struct qib_geom g3 = *g;
        g3.ndim = 3;
        g3.dims[3] = 1;
        if ((rc = qib_volume_new(QIB_I32, &g3, &lab)))
            goto fail;
        L.out32 = qib_volume_data_mut(lab);
    }
    L.out8 = qib_volume_data_mut(out);
    if (p->output == 0) {
        /* binary: every kept component is 1 */
        for (size_t c = 0; c < ncomp; c++)
            value[c] = value[c] ? 1 : 0;
        if (L.out32) {
            /* the label image keeps the size ranks: paint it alone first */
            uint32_t *v2 = calloc(ncomp ? ncomp : 1, sizeof *v2);
            if (!v2) {
                rc = QIB_ENOMEM;
                goto fail;
            }
            for (size_t k = 0; k < nkept; k++)
                v2[cs[k].first] = (uint32_t)(k + 1);
            L.value = v2;
            uint8_t *o8 = L.out8;
            L.out8 = NULL;
            rc = qib_parallel_for(pool, rows, ROW_BLOCK, paint_block, &L);
            L.out8 = o8;
            L.out32 = NULL;
            free(v2);
            if (rc)
                goto fail;
        }
    }
    L.value = value;
    if ((rc = qib_parallel_for(pool, rows, ROW_BLOCK, paint_block, &L)))
        goto fail;

    size_t c_lab, c_vox, c_ml, c_c[3], c_lo[3], c_hi[3];
    static const char *const cn[3] = {"centroid_x", "centroid_y", "centroid_z"};
    static const char *const lon[3] = {"bbox_min_i", "bbox_min_j", "bbox_min_k"};
    static const char *const hin[3] = {"bbox_max_i", "bbox_max_j", "bbox_max_k"};
    if ((rc = qib_table_new(&t)) ||
        (rc = qib_table_add_column(t, "label", QIB_COL_INT, NULL, NULL, &c_lab)) ||
        (rc = qib_table_add_column(t, "voxels", QIB_COL_INT, NULL, NULL, &c_vox)) ||
        (rc = qib_table_add_column(t, "volume_ml", QIB_COL_DOUBLE, "mL", NULL, &c_ml)))
        goto fail;
    for (int a = 0; a < 3; a++)
        if ((rc = qib_table_add_column(t, cn[a], QIB_COL_DOUBLE, "mm", NULL, &c_c[a])))
            goto fail;
    for (int a = 0; a < 3; a++)
        if ((rc = qib_table_add_column(t, lon[a], QIB_COL_INT, "voxel", NULL, &c_lo[a])) ||
            (rc = qib_table_add_column(t, hin[a], QIB_COL_INT, "voxel", NULL, &c_hi[a])))
            goto fail;
    for (size_t k = 0; k < nkept; k++) {
        const struct comp *c = &cs[k];
        double idx[3] = {(double)c->sx / (double)c->n, (double)c->sy / (double)c->n,
                         (double)c->sz / (double)c->n};
        double w[3];
        size_t row;
        qib_geom_index_to_world(g, idx, w);
        if ((rc = qib_table_add_row(t, &row)) ||
            (rc = qib_table_set_int(t, row, c_lab, (int64_t)(k + 1))) ||
            (rc = qib_table_set_int(t, row, c_vox, (int64_t)c->n)) ||
            (rc = qib_table_set_double(t, row, c_ml, (double)c->n * ml)))
            goto fail;
        for (int a = 0; a < 3; a++)
            if ((rc = qib_table_set_double(t, row, c_c[a], w[a])) ||
                (rc = qib_table_set_int(t, row, c_lo[a], c->lo[a])) ||
                (rc = qib_table_set_int(t, row, c_hi[a], c->hi[a])))
                goto fail;
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%zu", ncomp);
    qib_step_record(step, "components", buf);
    snprintf(buf, sizeof buf, "%zu", nkept);
    qib_step_record(step, "kept", buf);
    if (!nkept)
        qib_step_log(step, "warning: no component kept; the mask is empty");

    free(L.rowstart);
    free(L.runs);
    free(L.parent);
    free(cs);
    free(value);
    rc = qib_step_set_volume(step, "mask", out);
    if (rc) {
        qib_volume_unref(&lab);
        qib_table_unref(&t);
        return rc;
    }
    if (lab && (rc = qib_step_set_volume(step, "labels", lab))) {
        qib_table_unref(&t);
        return rc;
    }
    return qib_step_set_table(step, "table", t);

fail:
    free(L.rowstart);
    free(L.runs);
    free(L.parent);
    free(cs);
    free(value);
    qib_volume_unref(&out);
    qib_volume_unref(&lab);
    qib_table_unref(&t);
    if (rc == QIB_ENOMEM)
        return qib_fail(step, rc, "out of memory");
    return rc;
}

static const struct qib_param params[] = {
    {.name = "connectivity", .type = QIB_PARAM_ENUM,
     .offset = offsetof(struct components, connectivity), .def = "26", .choices = conns,
     .help = "neighbours that join voxels: 6 (faces), 18 (faces and edges) or 26 (faces, "
             "edges and corners)"},
    {.name = "keep", .type = QIB_PARAM_ENUM, .offset = offsetof(struct components, keep),
     .def = "largest", .choices = keeps,
     .help = "components kept: largest (most voxels; ties: first in raster order), seed "
             "(the one holding seed), min_volume (at least min_volume mL), all, hottest (the "
             "one holding the hottest voxel of input \"image\" under the mask)"},
    {.name = "seed", .type = QIB_PARAM_VEC3, .offset = offsetof(struct components, seed),
     .def = "[0, 0, 0]",
     .help = "keep seed: a point in LPS mm, or a voxel index (seed_unit voxel); the nearest "
             "voxel centre must be in the mask"},
    {.name = "seed_unit", .type = QIB_PARAM_ENUM, .offset = offsetof(struct components, seed_unit),
     .def = "mm", .choices = units,
     .help = "unit of seed: mm (LPS world point) or voxel (index i, j, k from 0)"},
    {.name = "min_volume", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct components, min_volume), .def = "0", .min = 0,
     .flags = QIB_PARAM_MIN, .unit = "mL",
     .help = "keep min_volume: smallest component volume kept, in mL"},
    {.name = "output", .type = QIB_PARAM_ENUM, .offset = offsetof(struct components, output),
     .def = "binary", .choices = outputs_kind,
     .help = "output mask values: binary (1 for every kept voxel) or labels (1 = largest "
             "kept component, 2 = next, ...; at most 255)"},
    {.name = "label_image", .type = QIB_PARAM_BOOL,
     .offset = offsetof(struct components, label_image), .def = "false",
     .help = "also output \"labels\": an i32 image of the kept components numbered by size, "
             "for more than 255 components"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "mask", .kind = QIB_OBJ_MASK, .help = "mask; every non-zero voxel is foreground"},
    {.name = "image", .kind = QIB_OBJ_VOLUME, .flags = QIB_PORT_OPTIONAL,
     .help = "keep hottest: the image (on the mask's grid) whose highest value under the mask "
             "chooses the component kept"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "mask", .kind = QIB_OBJ_MASK, .help = "kept components (binary or labels)"},
    {.name = "table", .kind = QIB_OBJ_TABLE,
     .help = "one row per kept component: label, voxels, volume_ml, centroid (mm LPS), "
             "bounding box (voxel indices)"},
    {.name = "labels", .kind = QIB_OBJ_VOLUME, .flags = QIB_PORT_OPTIONAL,
     .help = "with label_image: i32 label image, 1 = largest kept component"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_SEG,
    .name = "components",
    .version = "1.1.0",
    .license = "MIT",
    .summary = "connected components of a mask (6/18/26), labelled by size, with volume, "
               "centroid and bounding box",
    .citation = NULL,
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct components),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
