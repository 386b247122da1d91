/* read.rtstruct: regions of interest of a DICOM RT Structure Set, chosen by
 * name or pattern, rasterised onto the grid of a reference image: a voxel is
 * inside when its centre is inside the contour polygon of its slice, with
 * the even-odd rule across the contours of a slice (so nested contours are
 * holes).  See doc/dicom.md. */
#include <config.h>

#include <fnmatch.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"

#include "dicom.h"

#define T(g, e) QIB__DCM_TAG(g, e)
/* A contour point further than this (in voxels) from its slice's plane
 * means the contour does not lie in an image slice. */
#define PLANE_TOL 0.25

struct priv {
    char *path;
    char *roi;
};

static const struct qib_param params[] = {
    {.name = "path",
     .type = QIB_PARAM_PATH,
     .offset = offsetof(struct priv, path),
     .flags = QIB_PARAM_REQUIRED,
     .help = "the RT Structure Set file (Modality RTSTRUCT)"},
    {.name = "roi",
     .type = QIB_PARAM_STRING,
     .offset = offsetof(struct priv, roi),
     .flags = QIB_PARAM_REQUIRED,
     .help = "ROIName (3006,0026) or a shell pattern (case-insensitive); every matching ROI is "
             "added to the mask"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "reference",
     .kind = QIB_OBJ_VOLUME,
     .help = "the image whose grid the mask is drawn on (the series the contours were drawn on)"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "mask",
     .kind = QIB_OBJ_MASK,
     .help = "1 inside the chosen ROIs, 0 outside, on the reference grid"},
    {.name = NULL},
};

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* XOR the even-odd fill of polygon (x[i], y[i]) (index coordinates) into
 * slice @p sl of nx * ny voxels: voxel (i, j) flips when its centre is
 * inside. */
static int fill(const double *x, const double *y, size_t n, uint8_t *sl, size_t nx, size_t ny,
                double *cross)
{
    double ylo = INFINITY, yhi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        ylo = fmin(ylo, y[i]);
        yhi = fmax(yhi, y[i]);
    }
    long j0 = (long)ceil(ylo), j1 = (long)floor(yhi);
    if (j0 < 0)
        j0 = 0;
    if (j1 > (long)ny - 1)
        j1 = (long)ny - 1;
    for (long j = j0; j <= j1; j++) {
        double yc = (double)j;
        size_t nc = 0;
        for (size_t a = 0, b = n - 1; a < n; b = a++) {
            /* Half-open rule: an edge counts when it straddles the line with
             * one end strictly above, so a vertex on the line counts once. */
            if ((y[a] > yc) != (y[b] > yc))
                cross[nc++] = x[a] + (yc - y[a]) * (x[b] - x[a]) / (y[b] - y[a]);
        }
        qsort(cross, nc, sizeof *cross, cmp_d);
        for (size_t c = 0; c + 1 < nc; c += 2) {
            /* Centres with an odd number of crossings to their left. */
            long i0 = (long)ceil(cross[c]), i1 = (long)ceil(cross[c + 1]) - 1;
            if (i0 < 0)
                i0 = 0;
            if (i1 > (long)nx - 1)
                i1 = (long)nx - 1;
            for (long i = i0; i <= i1; i++)
                sl[(size_t)j * nx + (size_t)i] ^= 1;
        }
    }
    return QIB_OK;
}

static int run(qib_step *step, void *pv)
{
    const struct priv *p = pv;
    const qib_volume *ref = qib_step_in_volume(step, "reference");
    if (!ref)
        return qib_fail(step, QIB_EINVAL, "no reference image wired to input \"reference\"");
    const struct qib_geom *g = qib_volume_geom(ref);
    struct qib__dcm *d = NULL;
    char err[512];
    int rc = qib__dcm_open(p->path, &d, err, sizeof err);
    if (rc)
        return qib_fail(step, rc, "%s: %s", p->path, err);
    char s[256];
    qib__dcm_str(d, 0, T(0x0008, 0x0060), s, sizeof s);
    if (strcmp(s, "RTSTRUCT") != 0) {
        qib__dcm_free(&d);
        return qib_fail(step, QIB_EFORMAT, "%s: Modality (0008,0060) is \"%s\", not RTSTRUCT", p->path, s);
    }
    /* The structure set's frame of reference must be the image's. */
    const char *for_img = qib_meta_get(qib_volume_meta(ref), "dicom.frame_of_reference_uid");
    uint32_t rfr = qib__dcm_item(d, qib__dcm_find(d, 0, T(0x3006, 0x0010)), 0);
    if (for_img && rfr && qib__dcm_str(d, rfr, T(0x0020, 0x0052), s, sizeof s) && strcmp(s, for_img)) {
        qib__dcm_free(&d);
        return qib_fail(step, QIB_EGEOMETRY, "%s: FrameOfReferenceUID %s is not the reference "
                        "image's (%s)", p->path, s, for_img);
    }
    /* ROI numbers whose names match. */
    uint32_t ss = qib__dcm_find(d, 0, T(0x3006, 0x0020));
    size_t nroi = qib__dcm_nitems(d, ss);
    long *nums = calloc(nroi ? nroi : 1, sizeof *nums);
    char names[2048] = "", all[2048] = "";
    size_t nmatch = 0;
    if (!nums) {
        qib__dcm_free(&d);
        return qib_fail(step, QIB_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < nroi; i++) {
        uint32_t it = qib__dcm_item(d, ss, i);
        char name[128];
        double num;
        qib__dcm_str(d, it, T(0x3006, 0x0026), name, sizeof name);
        if (qib__dcm_num(d, it, T(0x3006, 0x0022), &num, 1) != 1)
            continue;
        size_t k = strlen(all);
        snprintf(all + k, sizeof all - k, "%s\"%s\"", k ? ", " : "", name);
        if (fnmatch(p->roi, name, FNM_CASEFOLD) == 0) {
            nums[nmatch++] = (long)num;
            k = strlen(names);
            snprintf(names + k, sizeof names - k, "%s%s", k ? ", " : "", name);
        }
    }
    if (nmatch == 0) {
        rc = qib_fail(step, QIB_ENOTFOUND, "%s: no ROI matches \"%s\"; ROIs: %s", p->path, p->roi,
                      all[0] ? all : "none");
        free(nums);
        qib__dcm_free(&d);
        return rc;
    }
    qib_volume *m = NULL;
    rc = qib_mask_new(g, &m);
    if (rc) {
        free(nums);
        qib__dcm_free(&d);
        return qib_fail(step, rc, "cannot make a mask on the reference grid");
    }
    size_t nx = g->dims[0], ny = g->dims[1], nz = g->dims[2];
    uint8_t *out = qib_volume_data_mut(m);
    uint8_t *sl = calloc(nx * ny, 1);
    double *buf = NULL, *cross = NULL;
    size_t bufcap = 0;
    uint32_t rcs = qib__dcm_find(d, 0, T(0x3006, 0x0039));
    size_t ncontours = 0;
    if (!sl)
        rc = QIB_ENOMEM;
    /* One ROI at a time: even-odd within the ROI, union across ROIs. */
    for (size_t r = 0; r < nmatch && rc == QIB_OK; r++) {
        uint8_t *roi = calloc(nx * ny * nz, 1);
        if (!roi) {
            rc = QIB_ENOMEM;
            break;
        }
        for (size_t c = 0; c < qib__dcm_nitems(d, rcs) && rc == QIB_OK; c++) {
            uint32_t it = qib__dcm_item(d, rcs, c);
            double ref_no;
            if (qib__dcm_num(d, it, T(0x3006, 0x0084), &ref_no, 1) != 1 || (long)ref_no != nums[r])
                continue;
            uint32_t cs = qib__dcm_find(d, it, T(0x3006, 0x0040));
            for (size_t k = 0; k < qib__dcm_nitems(d, cs) && rc == QIB_OK; k++) {
                uint32_t ci = qib__dcm_item(d, cs, k);
                char type[32];
                qib__dcm_str(d, ci, T(0x3006, 0x0042), type, sizeof type);
                if (strcmp(type, "CLOSED_PLANAR") != 0)
                    continue; /* points and open curves enclose nothing */
                uint32_t cd = qib__dcm_find(d, ci, T(0x3006, 0x0050));
                size_t len = cd ? d->nodes[cd].len : 0;
                size_t maxn = len / 2 + 1; /* every number takes 2 bytes at least */
                if (maxn > bufcap) {
                    free(buf);
                    free(cross);
                    buf = malloc(maxn * sizeof *buf);
                    cross = malloc(maxn * sizeof *cross);
                    bufcap = maxn;
                    if (!buf || !cross) {
                        rc = QIB_ENOMEM;
                        break;
                    }
                }
                int nv = qib__dcm_nums(d, cd, buf, (int)(maxn > INT32_MAX ? INT32_MAX : maxn));
                if (nv < 9 || nv % 3) {
                    rc = qib_fail(step, QIB_EFORMAT, "%s: ROI %ld contour %zu: ContourData (3006,0050) "
                                  "holds %d numbers, not x\\y\\z of 3 or more points", p->path,
                                  nums[r], k + 1, nv);
                    break;
                }
                size_t np = (size_t)nv / 3;
                /* Points to index space, in place: x into buf[0..np),
                 * y into cross scratch later; keep z for the plane check. */
                double *xs = malloc(np * sizeof *xs), *ys = malloc(np * sizeof *ys);
                if (!xs || !ys) {
                    free(xs);
                    free(ys);
                    rc = QIB_ENOMEM;
                    break;
                }
                double kz = 0;
                for (size_t q = 0; q < np && rc == QIB_OK; q++) {
                    double w[3] = {buf[3 * q], buf[3 * q + 1], buf[3 * q + 2]}, idx[3];
                    if (qib_geom_world_to_index(g, w, idx) != QIB_OK)
                        rc = qib_fail(step, QIB_EGEOMETRY, "reference grid has a singular direction");
                    xs[q] = idx[0];
                    ys[q] = idx[1];
                    if (q == 0)
                        kz = idx[2];
                    else if (fabs(idx[2] - kz) > PLANE_TOL)
                        rc = qib_fail(step, QIB_EGEOMETRY, "%s: ROI %ld contour %zu is not in one "
                                      "slice of the reference grid", p->path, nums[r], k + 1);
                }
                long kk = lround(kz);
                if (rc == QIB_OK && fabs(kz - (double)kk) > PLANE_TOL)
                    rc = qib_fail(step, QIB_EGEOMETRY, "%s: ROI %ld contour %zu lies between slices "
                                  "(slice index %.3f)", p->path, nums[r], k + 1, kz);
                if (rc == QIB_OK && kk >= 0 && kk < (long)nz) {
                    memset(sl, 0, nx * ny);
                    fill(xs, ys, np, sl, nx, ny, cross);
                    uint8_t *dst = roi + (size_t)kk * nx * ny;
                    for (size_t i = 0; i < nx * ny; i++)
                        dst[i] ^= sl[i];
                    ncontours++;
                }
                free(xs);
                free(ys);
            }
        }
        for (size_t i = 0; i < nx * ny * nz && rc == QIB_OK; i++)
            out[i] |= roi[i];
        free(roi);
    }
    free(buf);
    free(cross);
    free(sl);
    free(nums);
    qib__dcm_free(&d);
    if (rc == QIB_ENOMEM)
        rc = qib_fail(step, rc, "out of memory");
    if (rc) {
        qib_volume_unref(&m);
        return rc;
    }
    size_t set = 0;
    for (size_t i = 0; i < nx * ny * nz; i++)
        set += out[i] != 0;
    qib_meta *md = qib_volume_meta_mut(m);
    qib_meta_set(md, "rtstruct.roi", names, "dicom:(3006,0026)");
    qib_meta_set_double(md, "rtstruct.contours", (double)ncontours, "computed");
    qib_meta_set_double(md, "rtstruct.voxels", (double)set, "computed");
    qib_step_record(step, "roi", names);
    rc = qib_step_record_input(step, p->path);
    if (rc) {
        qib_volume_unref(&m);
        return rc;
    }
    return qib_step_set_volume(step, "mask", m);
}

static const struct qib_plugin desc = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_READ,
    .name = "rtstruct",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "ROIs of a DICOM RT Structure Set rasterised onto a reference image's grid",
    .citation = "DICOM PS3.3 C.8.8.6 (ROI Contour Module)",
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct priv),
    .run = run,
};

QIB_PLUGIN_DEFINE(desc)
