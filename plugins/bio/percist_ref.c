/* bio.percist_ref: the PERCIST 1.0 normal-tissue reference of one PET scan
 * (a 3 cm sphere in the right liver lobe, or a 1 cm x 2 cm cylinder in the
 * descending aorta): its SUL mean and SD and the measurability threshold
 * that a target lesion's SULpeak must reach. */
#include <config.h>

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"

enum reference { R_LIVER, R_BLOOD_POOL };
static const char *const references[] = {"liver", "blood_pool", NULL};

enum place { P_POINT, P_MASK };
static const char *const places[] = {"point", "mask", NULL};

struct ref {
    int reference;
    int place;
    double point[3];
    double liver_diameter;
    double aorta_diameter;
    double aorta_length;
    double liver_factor;
    double blood_pool_factor;
    double sd_factor;
    char *units;
    int allow_suv;
};

/* Membership margin: a voxel centre exactly on the region's surface (15 mm
 * from the centre of a 30 mm sphere) belongs to it whatever the rounding. */
#define EDGE_EPS 1e-9
/* A region spanning more voxels than this is a parameter mistake. */
#define MAX_BOX ((size_t)1 << 26)

/* Case-insensitive prefix test (units are ASCII). */
static int has_prefix(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if (!*s || tolower((unsigned char)*s) != tolower((unsigned char)*prefix))
            return 0;
    return 1;
}

static int same_text_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

/* SUV normalised by lean body mass: what PERCIST measures in. */
static int is_sul(const char *unit)
{
    return has_prefix(unit, "SUL") || has_prefix(unit, "SUVlbm");
}

static int check(qib_step *step, const void *priv)
{
    const struct ref *p = priv;
    if (p->reference == R_BLOOD_POOL && p->place == P_MASK)
        return qib_fail(step, QIB_EINVAL,
                        "place: mask places only the liver sphere; the blood-pool cylinder "
                        "is placed by a point in the descending aorta (place: point, point: "
                        "[x, y, z] LPS mm)");
    if (p->units && !*p->units)
        return qib_fail(step, QIB_EINVAL, "units: expected a unit such as SUL, found \"\"");
    return QIB_OK;
}

/* The image's unit: its "units" metadata, else the units parameter.
 * PERCIST is defined on SUL; anything else is refused unless allow_suv. */
static int image_unit(qib_step *step, const struct ref *p, const qib_volume *img,
                      const char **unit)
{
    const char *u = qib_meta_get(qib_volume_meta(img), "units");
    if (u && !*u)
        u = NULL;
    if (u && p->units && !same_text_nocase(u, p->units))
        return qib_fail(step, QIB_EINVAL,
                        "units: the parameter says \"%s\" but the image's metadata says "
                        "\"%s\": remove the parameter or check the input",
                        p->units, u);
    if (!u)
        u = p->units;
    if (!u)
        return qib_fail(step, QIB_EINVAL,
                        "image: no \"units\" metadata (NIfTI files carry none): PERCIST "
                        "needs SUL; set units: SUL when the file is known to hold SUL, or "
                        "read the DICOM series with suv: sul");
    if (!is_sul(u)) {
        if (!p->allow_suv)
            return qib_fail(step, QIB_EINVAL,
                            "image: units \"%s\": PERCIST 1.0 is defined on SUL (SUV "
                            "normalised by lean body mass); read the series with suv: sul, "
                            "or set allow_suv: true to accept %s knowingly",
                            u, u);
        qib_step_log(step, "warning: image: units \"%s\" are not SUL; the reference is "
                           "computed in %s as allow_suv asks (PERCIST 1.0 specifies SUL)",
                     u, u);
    }
    *unit = u;
    return QIB_OK;
}

/* ---- the region ---- */

struct region {
    int cylinder;    /* 0: sphere of radius r; 1: cylinder along LPS z */
    double r;        /* radius, mm */
    double half_len; /* cylinder: half of its length, mm */
};

static int inside(const struct region *rg, const double d[3])
{
    double r2 = rg->r * rg->r * (1 + EDGE_EPS);
    if (!rg->cylinder)
        return d[0] * d[0] + d[1] * d[1] + d[2] * d[2] <= r2;
    return d[0] * d[0] + d[1] * d[1] <= r2 && fabs(d[2]) <= rg->half_len * (1 + EDGE_EPS);
}

/* Visit every voxel (in raster order) whose centre lies in the region
 * centred at the continuous index c.  Voxel centres outside the image that
 * lie in the region are counted in *outside (not visited). */
struct walk {
    const struct qib_geom *g;
    const struct region *rg;
    double c[3];
    ptrdiff_t lo[3], hi[3];
};

static int walk_init(qib_step *step, struct walk *w, const struct qib_geom *g,
                     const struct region *rg, const double c[3])
{
    /* The region lies within this distance of its centre; the direction
     * columns are unit vectors, so per axis no voxel beyond reach / spacing
     * can be inside. */
    double reach = rg->cylinder ? sqrt(rg->r * rg->r + rg->half_len * rg->half_len) : rg->r;
    size_t box = 1;
    w->g = g;
    w->rg = rg;
    for (int a = 0; a < 3; a++) {
        double h = reach / g->spacing[a] * (1 + EDGE_EPS);
        w->c[a] = c[a];
        if (!(h < (double)MAX_BOX))
            goto too_big;
        w->lo[a] = (ptrdiff_t)ceil(c[a] - h);
        w->hi[a] = (ptrdiff_t)floor(c[a] + h);
        /* A region thinner than a voxel may hold no voxel centre at all:
         * an empty range, reported by the caller as an empty region. */
        size_t n = w->hi[a] >= w->lo[a] ? (size_t)(w->hi[a] - w->lo[a] + 1) : 0;
        if (n && box > MAX_BOX / n)
            goto too_big;
        box *= n ? n : 1;
    }
    return QIB_OK;
too_big:
    return qib_fail(step, QIB_ERANGE,
                    "the reference region (reach %g mm) spans more than %zu voxels at "
                    "spacing %gx%gx%g mm: expected a region of a few cm",
                    reach, MAX_BOX, g->spacing[0], g->spacing[1], g->spacing[2]);
}

typedef void (*visit_fn)(void *arg, size_t idx);

static void walk(const struct walk *w, visit_fn fn, void *arg, size_t *visited, size_t *outside)
{
    const struct qib_geom *g = w->g;
    *visited = *outside = 0;
    for (ptrdiff_t k = w->lo[2]; k <= w->hi[2]; k++)
        for (ptrdiff_t j = w->lo[1]; j <= w->hi[1]; j++)
            for (ptrdiff_t i = w->lo[0]; i <= w->hi[0]; i++) {
                double s[3] = {((double)i - w->c[0]) * g->spacing[0],
                               ((double)j - w->c[1]) * g->spacing[1],
                               ((double)k - w->c[2]) * g->spacing[2]};
                double d[3];
                for (int row = 0; row < 3; row++)
                    d[row] = g->dir[3 * row] * s[0] + g->dir[3 * row + 1] * s[1] +
                             g->dir[3 * row + 2] * s[2];
                if (!inside(w->rg, d))
                    continue;
                if (i < 0 || j < 0 || k < 0 || (size_t)i >= g->dims[0] ||
                    (size_t)j >= g->dims[1] || (size_t)k >= g->dims[2]) {
                    (*outside)++;
                    continue;
                }
                (*visited)++;
                if (fn)
                    fn(arg, ((size_t)k * g->dims[1] + (size_t)j) * g->dims[0] + (size_t)i);
            }
}

/* ---- placement in a liver mask ---- */

/* One line of the exact squared Euclidean distance transform (Felzenszwalb
 * and Huttenlocher 2012) of samples f[0..n) spaced sp mm apart; v, z are
 * scratch of n and n + 1 entries; the result goes to d. */
static void edt_line(const double *f, double *d, size_t n, double sp, size_t *v, double *z)
{
    size_t k = 0;
    v[0] = 0;
    z[0] = -INFINITY;
    z[1] = INFINITY;
    for (size_t q = 1; q < n; q++) {
        double xq = (double)q * sp;
        double s;
        for (;;) {
            double xv = (double)v[k] * sp;
            s = ((f[q] + xq * xq) - (f[v[k]] + xv * xv)) / (2 * (xq - xv));
            /* z[0] is -inf, so k never goes below 0 */
            if (s > z[k])
                break;
            k--;
        }
        k++;
        v[k] = q;
        z[k] = s;
        z[k + 1] = INFINITY;
    }
    k = 0;
    for (size_t q = 0; q < n; q++) {
        double xq = (double)q * sp;
        while (z[k + 1] < xq)
            k++;
        double dx = xq - (double)v[k] * sp;
        d[q] = dx * dx + f[v[k]];
    }
}

/* Squared distance (mm^2) from each voxel of the box to the nearest voxel
 * centre outside the mask, in a box holding the mask's bounding box and one
 * voxel more on each side (all outside the mask, or outside the image,
 * which counts as outside): the nearest outside voxel of any mask voxel
 * lies in that box, so the result is exact.  A finite stand-in for
 * infinity keeps the parabola intersections free of inf - inf. */
static int mask_edt(const struct qib_geom *g, const uint8_t *m, const ptrdiff_t lo[3],
                    const size_t n[3], double *d2)
{
    const double big = 1e30;
    size_t nmax = n[0] > n[1] ? n[0] : n[1];
    nmax = nmax > n[2] ? nmax : n[2];
    double *f = malloc(nmax * sizeof *f), *out = malloc(nmax * sizeof *out),
           *z = malloc((nmax + 1) * sizeof *z);
    size_t *v = malloc(nmax * sizeof *v);
    if (!f || !out || !z || !v) {
        free(f);
        free(out);
        free(z);
        free(v);
        return QIB_ENOMEM;
    }
    for (size_t k = 0; k < n[2]; k++)
        for (size_t j = 0; j < n[1]; j++)
            for (size_t i = 0; i < n[0]; i++) {
                ptrdiff_t x = lo[0] + (ptrdiff_t)i, y = lo[1] + (ptrdiff_t)j,
                          zz = lo[2] + (ptrdiff_t)k;
                int in = x >= 0 && y >= 0 && zz >= 0 && (size_t)x < g->dims[0] &&
                         (size_t)y < g->dims[1] && (size_t)zz < g->dims[2] &&
                         m[((size_t)zz * g->dims[1] + (size_t)y) * g->dims[0] + (size_t)x];
                d2[(k * n[1] + j) * n[0] + i] = in ? big : 0;
            }
    size_t stride[3] = {1, n[0], n[0] * n[1]};
    for (int a = 0; a < 3; a++) {
        int b = (a + 1) % 3, c = (a + 2) % 3;
        for (size_t jb = 0; jb < n[b]; jb++)
            for (size_t jc = 0; jc < n[c]; jc++) {
                size_t base = jb * stride[b] + jc * stride[c];
                for (size_t q = 0; q < n[a]; q++)
                    f[q] = d2[base + q * stride[a]];
                edt_line(f, out, n[a], g->spacing[a], v, z);
                for (size_t q = 0; q < n[a]; q++)
                    d2[base + q * stride[a]] = out[q];
            }
    }
    free(f);
    free(out);
    free(z);
    free(v);
    return QIB_OK;
}

/* The liver sphere's centre: of the mask voxels on the patient's right of
 * the mask's centroid (LPS x not above the centroid's), the one farthest
 * from the mask's edge (first in raster order on ties): the centre of the
 * largest sphere that fits in the right half of the liver. */
static int place_in_mask(qib_step *step, const struct qib_geom *g, const uint8_t *m,
                         double idx[3], double *depth_mm)
{
    size_t nx = g->dims[0], ny = g->dims[1], nz = g->dims[2], nvox = nx * ny * nz, count = 0;
    ptrdiff_t lo[3] = {PTRDIFF_MAX, PTRDIFF_MAX, PTRDIFF_MAX}, hi[3] = {-1, -1, -1};
    double sx = 0;
    for (size_t p = 0; p < nvox; p++) {
        if (!m[p])
            continue;
        ptrdiff_t ijk[3] = {(ptrdiff_t)(p % nx), (ptrdiff_t)(p / nx % ny),
                            (ptrdiff_t)(p / nx / ny)};
        double fi[3] = {(double)ijk[0], (double)ijk[1], (double)ijk[2]}, w[3];
        qib_geom_index_to_world(g, fi, w);
        sx += w[0];
        count++;
        for (int a = 0; a < 3; a++) {
            if (ijk[a] < lo[a])
                lo[a] = ijk[a];
            if (ijk[a] > hi[a])
                hi[a] = ijk[a];
        }
    }
    if (!count)
        return qib_fail(step, QIB_EINVAL,
                        "mask: the liver mask is empty: no voxel to place the reference "
                        "sphere in");
    double cx = sx / (double)count;
    size_t n[3];
    for (int a = 0; a < 3; a++) {
        lo[a] -= 1;
        n[a] = (size_t)(hi[a] + 1 - lo[a] + 1);
    }
    /* n[] is at most dims + 2 per axis: check the product all the same. */
    if (n[1] && n[0] > SIZE_MAX / n[1] / sizeof(double))
        return QIB_ENOMEM;
    size_t plane = n[0] * n[1];
    if (n[2] && plane > SIZE_MAX / n[2] / sizeof(double))
        return QIB_ENOMEM;
    double *d2 = malloc(plane * n[2] * sizeof *d2);
    if (!d2)
        return QIB_ENOMEM;
    int rc = mask_edt(g, m, lo, n, d2);
    if (rc) {
        free(d2);
        return rc;
    }
    double best = -1;
    for (size_t k = 0; k < n[2]; k++)
        for (size_t j = 0; j < n[1]; j++)
            for (size_t i = 0; i < n[0]; i++) {
                double v = d2[(k * n[1] + j) * n[0] + i];
                if (!(v > best) || v <= 0)
                    continue;
                double fi[3] = {(double)(lo[0] + (ptrdiff_t)i), (double)(lo[1] + (ptrdiff_t)j),
                                (double)(lo[2] + (ptrdiff_t)k)},
                       w[3];
                qib_geom_index_to_world(g, fi, w);
                /* LPS: +x is the patient's left, so the right lobe lies at
                 * smaller x than the liver's centroid. */
                if (w[0] > cx + 1e-9 * (fabs(cx) + 1))
                    continue;
                best = v;
                memcpy(idx, fi, sizeof fi);
            }
    free(d2);
    if (best < 0)
        return qib_fail(step, QIB_EINVAL,
                        "mask: no liver-mask voxel on the patient's right of its centroid");
    *depth_mm = sqrt(best);
    return QIB_OK;
}

/* ---- statistics ---- */

struct acc {
    const qib_volume *img;
    const uint8_t *mask; /* when set: count region voxels outside it */
    uint8_t *roi;        /* output mask data */
    double s, s2, mean;
    size_t n, nan, off_mask;
    int pass;
};

static void visit(void *arg, size_t idx)
{
    struct acc *a = arg;
    double v = qib_volume_get(a->img, idx);
    if (a->pass == 0) {
        a->roi[idx] = 1;
        if (a->mask && !a->mask[idx])
            a->off_mask++;
        if (isnan(v)) {
            a->nan++;
            return;
        }
        a->s += v;
        a->n++;
    } else if (!isnan(v)) {
        a->s2 += (v - a->mean) * (v - a->mean);
    }
}

enum col {
    C_REFERENCE, C_PLACEMENT, C_X, C_Y, C_Z, C_VOXELS, C_VOLUME, C_DEPTH, C_MEAN, C_SD,
    C_FACTOR, C_SD_FACTOR, C_THRESHOLD, NCOL
};

static int make_table(qib_table **out, const char *unit)
{
    static const struct {
        const char *name;
        enum qib_coltype type;
        int unit; /* 0 none, 1 image, 2 mm, 3 mL */
    } cols[NCOL] = {
        [C_REFERENCE] = {"reference", QIB_COL_STRING, 0},
        [C_PLACEMENT] = {"placement", QIB_COL_STRING, 0},
        [C_X] = {"centre_x", QIB_COL_DOUBLE, 2},
        [C_Y] = {"centre_y", QIB_COL_DOUBLE, 2},
        [C_Z] = {"centre_z", QIB_COL_DOUBLE, 2},
        [C_VOXELS] = {"voxels", QIB_COL_INT, 0},
        [C_VOLUME] = {"volume_ml", QIB_COL_DOUBLE, 3},
        [C_DEPTH] = {"mask_depth_mm", QIB_COL_DOUBLE, 2},
        [C_MEAN] = {"ref_mean", QIB_COL_DOUBLE, 1},
        [C_SD] = {"ref_sd", QIB_COL_DOUBLE, 1},
        [C_FACTOR] = {"factor", QIB_COL_DOUBLE, 0},
        [C_SD_FACTOR] = {"sd_factor", QIB_COL_DOUBLE, 0},
        [C_THRESHOLD] = {"threshold", QIB_COL_DOUBLE, 1},
    };
    qib_table *t = NULL;
    int rc = qib_table_new(&t);
    for (int c = 0; c < NCOL && !rc; c++) {
        const char *u = cols[c].unit == 1 ? unit
                        : cols[c].unit == 2 ? "mm"
                        : cols[c].unit == 3 ? "mL"
                                            : NULL;
        rc = qib_table_add_column(t, cols[c].name, cols[c].type, u, NULL, NULL);
    }
    if (rc) {
        qib_table_unref(&t);
        return rc;
    }
    *out = t;
    return QIB_OK;
}

static int run(qib_step *step, void *priv)
{
    const struct ref *p = priv;
    const qib_volume *img = qib_step_in_volume(step, "image");
    const qib_volume *msk = qib_step_in_volume(step, "mask");
    if (!img)
        return qib_fail(step, QIB_EINVAL, "image: no volume wired to the input");
    const struct qib_geom *g = qib_volume_geom(img);
    if (g->ndim == 4 && g->dims[3] > 1)
        return qib_fail(step, QIB_EUNSUPPORTED,
                        "image: a 4-D image (%zu frames) is not supported: give one 3-D SUL "
                        "volume",
                        g->dims[3]);
    if (msk) {
        if (qib_volume_dtype(msk) != QIB_U8 || !qib_volume_is_mask(msk))
            return qib_fail(step, QIB_EINVAL, "mask: expected a u8 mask, found a %s volume",
                            qib_dtype_name(qib_volume_dtype(msk)));
        if (qib_step_check_grid(step, "mask", msk, img) != QIB_OK)
            return QIB_EGEOMETRY;
    } else if (p->place == P_MASK) {
        return qib_fail(step, QIB_EINVAL,
                        "mask: place: mask needs a liver mask wired to input \"mask\"");
    }
    const char *unit = NULL;
    int rc = image_unit(step, p, img, &unit);
    if (rc)
        return rc;

    struct region rg = {.cylinder = p->reference == R_BLOOD_POOL};
    rg.r = (p->reference == R_LIVER ? p->liver_diameter : p->aorta_diameter) / 2;
    rg.half_len = p->aorta_length / 2;
    const char *what = p->reference == R_LIVER ? "liver sphere" : "blood-pool cylinder";

    double c[3], w[3], depth = NAN;
    char placement[160];
    if (p->place == P_MASK) {
        if ((rc = place_in_mask(step, g, qib_volume_data(msk), c, &depth))) {
            if (rc == QIB_ENOMEM)
                return qib_fail(step, rc, "out of memory");
            return rc;
        }
        qib_geom_index_to_world(g, c, w);
        snprintf(placement, sizeof placement,
                 "mask: right-lobe voxel farthest from the mask's edge");
        if (!(depth > rg.r * (1 + EDGE_EPS)))
            return qib_fail(step, QIB_EINVAL,
                            "mask: no %g mm reference sphere fits inside the liver mask on "
                            "the patient's right of its centroid: its deepest voxel there, at "
                            "(%g, %g, %g) mm LPS, is %g mm from the nearest voxel outside the "
                            "mask; give the sphere's centre with place: point",
                            2 * rg.r, w[0], w[1], w[2], depth);
    } else {
        memcpy(w, p->point, sizeof w);
        if ((rc = qib_geom_world_to_index(g, w, c)))
            return qib_fail(step, rc, "image: singular direction matrix");
        for (int a = 0; a < 3; a++)
            if (!(c[a] >= -0.5 && c[a] <= (double)g->dims[a] - 0.5))
                return qib_fail(step, QIB_ERANGE,
                                "point: (%g, %g, %g) mm LPS lies outside the image (voxel "
                                "index %g along axis %d, expected -0.5 to %g)",
                                w[0], w[1], w[2], c[a], a, (double)g->dims[a] - 0.5);
        snprintf(placement, sizeof placement, "point");
    }

    struct walk wk;
    if ((rc = walk_init(step, &wk, g, &rg, c)))
        return rc;
    qib_volume *roi = NULL;
    qib_table *t = NULL;
    if ((rc = qib_mask_new(g, &roi)))
        goto fail;
    struct acc acc = {
        .img = img, .mask = msk ? qib_volume_data(msk) : NULL, .roi = qib_volume_data_mut(roi),
    };
    size_t nin, nout;
    walk(&wk, visit, &acc, &nin, &nout);
    if (nout) {
        rc = qib_fail(step, QIB_ERANGE,
                      "point: the %s centred at (%g, %g, %g) mm LPS reaches outside the "
                      "image (%zu of its %zu voxels): move it inside",
                      what, w[0], w[1], w[2], nout, nin + nout);
        goto fail;
    }
    if (acc.off_mask) {
        rc = qib_fail(step, QIB_EINVAL,
                      "mask: the %s centred at (%g, %g, %g) mm LPS is not inside the mask: "
                      "%zu of its %zu voxels are outside it",
                      what, w[0], w[1], w[2], acc.off_mask, nin);
        goto fail;
    }
    if (!nin) {
        rc = qib_fail(step, QIB_EINVAL,
                      "the %s centred at (%g, %g, %g) mm LPS contains no voxel centre: it is "
                      "smaller than the voxels (%gx%gx%g mm)",
                      what, w[0], w[1], w[2], g->spacing[0], g->spacing[1], g->spacing[2]);
        goto fail;
    }
    if (!acc.n) {
        rc = qib_fail(step, QIB_EINVAL,
                      "image: the %s centred at (%g, %g, %g) mm LPS holds no voxel with a "
                      "value (%zu voxels, %zu NaN)",
                      what, w[0], w[1], w[2], nin, acc.nan);
        goto fail;
    }
    if (acc.nan)
        qib_step_log(step, "warning: %zu of the %zu voxels of the %s are NaN and left out",
                     acc.nan, nin, what);
    acc.mean = acc.s / (double)acc.n;
    acc.pass = 1;
    walk(&wk, visit, &acc, &nin, &nout);
    double sd = sqrt(acc.s2 / (double)acc.n);
    double factor = p->reference == R_LIVER ? p->liver_factor : p->blood_pool_factor;
    double thr = factor * acc.mean + p->sd_factor * sd;

    size_t r;
    if ((rc = make_table(&t, unit)) || (rc = qib_table_add_row(t, &r)) ||
        (rc = qib_table_set_string(t, r, C_REFERENCE, references[p->reference])) ||
        (rc = qib_table_set_string(t, r, C_PLACEMENT, placement)) ||
        (rc = qib_table_set_double(t, r, C_X, w[0])) ||
        (rc = qib_table_set_double(t, r, C_Y, w[1])) ||
        (rc = qib_table_set_double(t, r, C_Z, w[2])) ||
        (rc = qib_table_set_int(t, r, C_VOXELS, (int64_t)nin)) ||
        (rc = qib_table_set_double(t, r, C_VOLUME,
                                   (double)nin * qib_geom_voxel_mm3(g) / 1000.0)) ||
        (rc = qib_table_set_double(t, r, C_DEPTH, depth)) ||
        (rc = qib_table_set_double(t, r, C_MEAN, acc.mean)) ||
        (rc = qib_table_set_double(t, r, C_SD, sd)) ||
        (rc = qib_table_set_double(t, r, C_FACTOR, factor)) ||
        (rc = qib_table_set_double(t, r, C_SD_FACTOR, p->sd_factor)) ||
        (rc = qib_table_set_double(t, r, C_THRESHOLD, thr)))
        goto fail;
    qib_meta *m = qib_table_meta_mut(t);
    if (!m) {
        rc = QIB_EBUSY;
        goto fail;
    }
    if ((rc = qib_meta_set(m, "units", unit,
                           qib_meta_get(qib_volume_meta(img), "units") ? "image"
                                                                      : "parameter")) ||
        (rc = qib_meta_set(m, "definitions",
                           "PERCIST 1.0 (Wahl et al. 2009): threshold = factor x mean + "
                           "sd_factor x SD over the reference region's voxels (population "
                           "SD, 1/N); a voxel belongs to the region when its centre does",
                           "computed")))
        goto fail;
    if ((rc = qib_step_set_table(step, "table", t))) {
        t = NULL;
        goto fail;
    }
    return qib_step_set_volume(step, "region", roi);

fail:
    qib_volume_unref(&roi);
    qib_table_unref(&t);
    if (rc == QIB_ENOMEM)
        return qib_fail(step, rc, "out of memory");
    return rc;
}

static const struct qib_param params[] = {
    {.name = "reference", .type = QIB_PARAM_ENUM, .offset = offsetof(struct ref, reference),
     .def = "liver", .choices = references,
     .help = "liver: a sphere in the right liver lobe, threshold liver_factor x mean + "
             "sd_factor x SD; blood_pool: a cylinder in the descending thoracic aorta along "
             "the patient's head-foot axis, threshold blood_pool_factor x mean + sd_factor x "
             "SD (PERCIST's alternative when the liver is abnormal)"},
    {.name = "place", .type = QIB_PARAM_ENUM, .offset = offsetof(struct ref, place),
     .def = "point", .choices = places,
     .help = "point: the region is centred at the point parameter (any wired mask must then "
             "contain it); mask (liver only): centred at the liver-mask voxel on the "
             "patient's right of the mask's centroid that lies farthest from the mask's edge"},
    {.name = "point", .type = QIB_PARAM_VEC3, .offset = offsetof(struct ref, point),
     .def = "[0, 0, 0]", .unit = "mm",
     .help = "centre of the region for place: point, LPS mm (right liver lobe, or the "
             "descending aorta)"},
    {.name = "liver_diameter_mm", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct ref, liver_diameter), .def = "30", .min = 1, .max = 200,
     .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "mm",
     .help = "diameter of the liver sphere in mm; PERCIST 1.0: 3 cm"},
    {.name = "aorta_diameter_mm", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct ref, aorta_diameter), .def = "10", .min = 1, .max = 100,
     .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "mm",
     .help = "diameter of the blood-pool cylinder in mm; PERCIST 1.0: 1 cm"},
    {.name = "aorta_length_mm", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct ref, aorta_length), .def = "20", .min = 1, .max = 200,
     .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .unit = "mm",
     .help = "length of the blood-pool cylinder along the head-foot (LPS z) axis in mm; "
             "PERCIST 1.0: 2 cm"},
    {.name = "liver_factor", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct ref, liver_factor), .def = "1.5", .min = 0, .max = 100,
     .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "multiple of the liver mean in the measurability threshold (no unit); PERCIST "
             "1.0: 1.5"},
    {.name = "blood_pool_factor", .type = QIB_PARAM_DOUBLE,
     .offset = offsetof(struct ref, blood_pool_factor), .def = "2", .min = 0, .max = 100,
     .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "multiple of the blood-pool mean in the measurability threshold (no unit); "
             "PERCIST 1.0: 2.0"},
    {.name = "sd_factor", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct ref, sd_factor),
     .def = "2", .min = 0, .max = 100, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "multiple of the region's SD added to the threshold (no unit); PERCIST 1.0: 2"},
    {.name = "units", .type = QIB_PARAM_STRING, .offset = offsetof(struct ref, units),
     .help = "unit of an image that carries no \"units\" metadata (NIfTI): SUL when the "
             "file is known to hold SUL; must agree with the metadata when both are given"},
    {.name = "allow_suv", .type = QIB_PARAM_BOOL, .offset = offsetof(struct ref, allow_suv),
     .def = "false",
     .help = "accept an image whose unit is not SUL (e.g. SUVbw), with a warning in the "
             "log; PERCIST 1.0 specifies SUL"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "image", .kind = QIB_OBJ_VOLUME,
     .help = "3-D SUL volume (\"units\" metadata SUL or SUVlbm, or the units parameter)"},
    {.name = "mask", .kind = QIB_OBJ_MASK, .flags = QIB_PORT_OPTIONAL,
     .help = "liver (or aorta) mask on the image's grid, any non-zero label: place: mask "
             "finds the sphere in it; with place: point the region must lie inside it"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "table", .kind = QIB_OBJ_TABLE,
     .help = "one row: reference, placement, centre_x/y/z (LPS mm), voxels, volume_ml, "
             "mask_depth_mm, ref_mean, ref_sd, factor, sd_factor, threshold"},
    {.name = "region", .kind = QIB_OBJ_MASK,
     .help = "the reference region's voxels (1) on the image's grid, for review"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_BIO,
    .name = "percist_ref",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "PERCIST 1.0 reference region: liver sphere (3 cm) or aortic blood-pool "
               "cylinder (1 x 2 cm), its SUL mean and SD and the measurability threshold",
    .citation = "Wahl RL, Jacene H, Kasamon Y, Lodge MA. From RECIST to PERCIST: evolving "
                "considerations for PET response criteria in solid tumors. J Nucl Med "
                "2009;50 Suppl 1:122S-150S. doi:10.2967/jnumed.108.057307",
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct ref),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
