/* `qib phantom nema-iec`: the NEMA NU 2 / IEC 61675-1 body phantom as a PET
 * image with a known answer: six hot spheres on a ring around a cold lung
 * insert in a warm background, partial-volume sampled, optionally blurred and
 * noisy, written as NIfTI (SUVbw) and as a DICOM PET series (Bq/ml). */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qib/qib.h"
#include "cli.h"
#include "phantom.h"

/* ---- the geometry (doc/pipelines/pet-nema-rc.md, "The phantom"), mm, LPS ----
 * World origin: the centre of the sphere ring in the sphere plane.  The
 * phantom's axis is z; anterior is -y (the phantom lies on its flat side). */
#define NSPH 6
static const double sphere_d[NSPH] = {10, 13, 17, 22, 28, 37}; /* inner diameters */
#define RING_R 57.2        /* sphere centres on a circle of this radius */
#define LUNG_R 25.0        /* lung insert, outer radius, cold */
#define ARC_R 147.0        /* interior radius of the anterior half-cylinder */
#define ARC_CY 35.0        /* its axis: 35 mm posterior of the ring centre */
#define LOW_HALF_W 70.0    /* posterior part: flat centre half-width ... */
#define LOW_R 77.0         /* ... and the radius of its two rounded corners */
#define LEN 180.0          /* interior length */
#define PLANE_FROM_END 70.0 /* sphere plane: 70 mm from the interior end wall */
#define Z_END PLANE_FROM_END          /* the end wall the spheres hang from */
#define Z_START (PLANE_FROM_END - LEN) /* the other end wall */
#define BG_MARGIN 15.0     /* background ROI: this far from every edge */
#define SS 10              /* supersamples per axis in boundary voxels */
#define F18_HALF_LIFE 6586.2 /* s (109.77 min) */
#define MAX_VOX ((size_t)1 << 28)

struct nema {
    double vox[3];
    size_t dims[3];
    double ratio;       /* sphere : background */
    double bg_kbq;      /* background concentration at the series start, kBq/ml */
    double weight;      /* kg */
    double dose_mbq;    /* injected, at injection; <= 0: so that background SUV is 1 */
    double uptake_min;  /* injection to series start */
    double fwhm;        /* mm; 0 = no blur */
    double noise;       /* coefficient of variation; 0 = none */
    uint64_t seed;
    int dicom;          /* write the DICOM series */
};

struct sph {
    double c[3], r;
};

static void sphere_centres(struct sph *s)
{
    for (int k = 0; k < NSPH; k++) {
        /* 10 mm sphere at +x (patient's left), then every 60 degrees
         * towards anterior (-y) */
        double a = M_PI / 3.0 * k;
        s[k].c[0] = RING_R * cos(a);
        s[k].c[1] = -RING_R * sin(a);
        s[k].c[2] = 0;
        s[k].r = sphere_d[k] / 2;
    }
}

/* Inside the body's transverse outline (the "D"). */
static int in_outline(double x, double y)
{
    double dy = y - ARC_CY;
    if (dy <= 0)
        return x * x + dy * dy <= ARC_R * ARC_R;
    if (dy > LOW_R)
        return 0;
    return fabs(x) <= LOW_HALF_W + sqrt(LOW_R * LOW_R - dy * dy);
}

static int in_body(const double p[3])
{
    return p[2] >= Z_START && p[2] <= Z_END && in_outline(p[0], p[1]);
}

static int in_lung(const double p[3])
{
    return p[0] * p[0] + p[1] * p[1] <= LUNG_R * LUNG_R;
}

/* Compartment of point p: -1 outside or in the lung (no activity), 0
 * background, k+1 in sphere k. */
static int region_at(const struct sph *s, const double p[3])
{
    if (!in_body(p) || in_lung(p))
        return -1;
    for (int k = 0; k < NSPH; k++) {
        double d2 = 0;
        for (int a = 0; a < 3; a++)
            d2 += (p[a] - s[k].c[a]) * (p[a] - s[k].c[a]);
        if (d2 <= s[k].r * s[k].r)
            return k + 1;
    }
    return 0;
}

/* Whether the box centre +- h lies in one compartment.  Spheres and the
 * lung cylinder are tested exactly (nearest and farthest box points); the
 * convex outline by its four corners, which is exact for "all inside". */
static int box_uniform(const struct sph *s, const double p[3], const double h[3])
{
    for (int k = 0; k < NSPH; k++) {
        double near2 = 0, far2 = 0;
        for (int a = 0; a < 3; a++) {
            double d = fabs(p[a] - s[k].c[a]);
            double n = d > h[a] ? d - h[a] : 0, f = d + h[a];
            near2 += n * n;
            far2 += f * f;
        }
        double r2 = s[k].r * s[k].r;
        if (near2 <= r2 && far2 > r2)
            return 0;
    }
    {
        double d = sqrt(p[0] * p[0] + p[1] * p[1]);
        double n = d - sqrt(h[0] * h[0] + h[1] * h[1]);
        double f = d + sqrt(h[0] * h[0] + h[1] * h[1]);
        if (n <= LUNG_R && f > LUNG_R)
            return 0;
    }
    if ((p[2] - h[2] < Z_START) != (p[2] + h[2] < Z_START) ||
        (p[2] - h[2] > Z_END) != (p[2] + h[2] > Z_END))
        return 0;
    int c0 = in_outline(p[0] - h[0], p[1] - h[1]);
    if (in_outline(p[0] + h[0], p[1] - h[1]) != c0 || in_outline(p[0] - h[0], p[1] + h[1]) != c0 ||
        in_outline(p[0] + h[0], p[1] + h[1]) != c0)
        return 0;
    return 1;
}

static void make_geom(const struct nema *p, struct qib_geom *g)
{
    qib_geom_init(g, 3, p->dims);
    /* the grid is centred on the middle of the body's bounding box */
    const double centre[3] = {0, (ARC_CY - ARC_R + ARC_CY + LOW_R) / 2, (Z_START + Z_END) / 2};
    for (int a = 0; a < 3; a++) {
        g->spacing[a] = p->vox[a];
        g->origin[a] = centre[a] - 0.5 * (double)(p->dims[a] - 1) * p->vox[a];
    }
}

/* Activity concentration (background = 1, sphere = ratio) and the masks. */
static void fill(const struct nema *p, const struct qib_geom *g, double *act, uint8_t *sph_mask,
                 uint8_t *bg_mask, double pv_ml[NSPH])
{
    struct sph s[NSPH];
    sphere_centres(s);
    const double h[3] = {p->vox[0] / 2, p->vox[1] / 2, p->vox[2] / 2};
    const double vml = p->vox[0] * p->vox[1] * p->vox[2] / 1000.0;
    const double conc[NSPH + 2] = {0, 1, p->ratio, p->ratio, p->ratio, p->ratio, p->ratio,
                                   p->ratio};
    size_t i = 0;
    for (int k = 0; k < NSPH; k++)
        pv_ml[k] = 0;
    for (size_t z = 0; z < g->dims[2]; z++)
        for (size_t y = 0; y < g->dims[1]; y++)
            for (size_t x = 0; x < g->dims[0]; x++, i++) {
                double c[3] = {g->origin[0] + (double)x * g->spacing[0],
                               g->origin[1] + (double)y * g->spacing[1],
                               g->origin[2] + (double)z * g->spacing[2]};
                int r = region_at(s, c);
                sph_mask[i] = (uint8_t)(r > 0 ? r : 0);
                if (box_uniform(s, c, h)) {
                    act[i] = conc[r + 1];
                    if (r > 0)
                        pv_ml[r - 1] += vml;
                } else {
                    /* partial volume: the mean over SS^3 points of the voxel */
                    size_t n[NSPH + 2] = {0};
                    for (int kz = 0; kz < SS; kz++)
                        for (int ky = 0; ky < SS; ky++)
                            for (int kx = 0; kx < SS; kx++) {
                                double q[3] = {c[0] + h[0] * ((2.0 * kx + 1) / SS - 1),
                                               c[1] + h[1] * ((2.0 * ky + 1) / SS - 1),
                                               c[2] + h[2] * ((2.0 * kz + 1) / SS - 1)};
                                n[region_at(s, q) + 1]++;
                            }
                    double v = 0;
                    for (int k = 0; k < NSPH + 2; k++)
                        v += conc[k] * (double)n[k];
                    act[i] = v / (SS * SS * SS);
                    for (int k = 0; k < NSPH; k++)
                        pv_ml[k] += vml * (double)n[k + 2] / (SS * SS * SS);
                }
                /* background ROI: far from every edge of the background */
                int bg = r == 0 && c[2] >= Z_START + BG_MARGIN && c[2] <= Z_END - BG_MARGIN &&
                         sqrt(c[0] * c[0] + c[1] * c[1]) >= LUNG_R + BG_MARGIN;
                for (int k = 0; bg && k < NSPH; k++) {
                    double d2 = 0;
                    for (int a = 0; a < 3; a++)
                        d2 += (c[a] - s[k].c[a]) * (c[a] - s[k].c[a]);
                    bg = sqrt(d2) >= s[k].r + BG_MARGIN;
                }
                if (bg) {
                    /* inside the outline shrunk by the margin: eight probes
                     * on a circle of that radius, the outline being convex
                     * with curvature radii of 77 mm and more */
                    for (int a = 0; bg && a < 8; a++)
                        bg = in_outline(c[0] + BG_MARGIN * cos(M_PI / 4 * a),
                                        c[1] + BG_MARGIN * sin(M_PI / 4 * a));
                }
                bg_mask[i] = (uint8_t)bg;
            }
}

/* Separable Gaussian of FWHM mm along axis a of a dims volume, zero
 * outside (the field of view holds the whole phantom). */
static int blur_axis(double *v, const size_t dims[3], int a, double sigma_vox)
{
    long rad = (long)ceil(4 * sigma_vox);
    size_t n = dims[a];
    double *k = malloc((size_t)(2 * rad + 1) * sizeof *k), *line = malloc(n * sizeof *line);
    if (!k || !line) {
        free(k);
        free(line);
        return -1;
    }
    double sum = 0;
    for (long t = -rad; t <= rad; t++)
        sum += k[t + rad] = exp(-0.5 * (double)(t * t) / (sigma_vox * sigma_vox));
    for (long t = -rad; t <= rad; t++)
        k[t + rad] /= sum;
    size_t stride = a == 0 ? 1 : a == 1 ? dims[0] : dims[0] * dims[1];
    size_t o1 = a == 0 ? dims[1] : dims[0], o2 = a == 2 ? dims[1] : dims[2];
    size_t s1 = a == 0 ? dims[0] : 1, s2 = a == 2 ? dims[0] : dims[0] * dims[1];
    for (size_t j2 = 0; j2 < o2; j2++)
        for (size_t j1 = 0; j1 < o1; j1++) {
            double *base = v + j1 * s1 + j2 * s2;
            for (size_t t = 0; t < n; t++)
                line[t] = base[t * stride];
            for (size_t t = 0; t < n; t++) {
                double acc = 0;
                long lo = (long)t - rad < 0 ? -(long)t : -rad;
                long hi = (long)t + rad >= (long)n ? (long)n - 1 - (long)t : rad;
                for (long u = lo; u <= hi; u++)
                    acc += k[u + rad] * line[(long)t + u];
                base[t * stride] = acc;
            }
        }
    free(k);
    free(line);
    return 0;
}

/* ---- DICOM Part 10 writer: explicit VR little endian ---- */

struct buf {
    uint8_t *p;
    size_t n, cap;
    int oom;
};

static void put(struct buf *b, const void *d, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n > b->cap) {
        size_t c = b->cap ? b->cap : 4096;
        while (c < b->n + n)
            c *= 2;
        uint8_t *q = realloc(b->p, c);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void put16(struct buf *b, unsigned v)
{
    uint8_t d[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    put(b, d, 2);
}

static void put32(struct buf *b, uint32_t v)
{
    uint8_t d[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, d, 4);
}

/* VRs whose explicit length field is 32 bits after two reserved bytes. */
static int long_vr(const char *vr)
{
    return !strcmp(vr, "OB") || !strcmp(vr, "OW") || !strcmp(vr, "SQ") || !strcmp(vr, "UT") ||
           !strcmp(vr, "UN");
}

static void elem(struct buf *b, unsigned g, unsigned e, const char *vr, const void *val, size_t len)
{
    /* values are padded to even length: UI and OB with NUL, text with space */
    int pad = len & 1;
    put16(b, g);
    put16(b, e);
    put(b, vr, 2);
    if (long_vr(vr)) {
        put16(b, 0);
        put32(b, (uint32_t)(len + (size_t)pad));
    } else {
        put16(b, (unsigned)(len + (size_t)pad));
    }
    put(b, val, len);
    if (pad) {
        uint8_t c = (!strcmp(vr, "UI") || !strcmp(vr, "OB")) ? 0 : ' ';
        put(b, &c, 1);
    }
}

static void str(struct buf *b, unsigned g, unsigned e, const char *vr, const char *s)
{
    elem(b, g, e, vr, s, strlen(s));
}

static void us(struct buf *b, unsigned g, unsigned e, unsigned v)
{
    uint8_t d[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    elem(b, g, e, "US", d, 2);
}

/* A DS value: at most 16 characters. */
static void ds(struct buf *b, unsigned g, unsigned e, double v)
{
    char s[32];
    int prec = 10;
    do
        snprintf(s, sizeof s, "%.*g", prec--, v);
    while (strlen(s) > 16 && prec > 1);
    str(b, g, e, "DS", s);
}

static void ds_multi(struct buf *b, unsigned g, unsigned e, const double *v, int n)
{
    char s[160] = "", one[32];
    for (int i = 0; i < n; i++) {
        int prec = 10;
        do
            snprintf(one, sizeof one, "%.*g", prec--, v[i]);
        while (strlen(one) > 16 && prec > 1);
        if (i)
            strcat(s, "\\");
        strcat(s, one);
    }
    str(b, g, e, "DS", s);
}

/* A UID under the 2.25 root (a decimal integer, ISO/IEC 9834-8), from the
 * random stream: the same phantom options give the same UIDs. */
static void make_uid(uint64_t *state, char *out, size_t len)
{
    uint64_t a = qib__phantom_next(state) >> 2, b = qib__phantom_next(state);
    snprintf(out, len, "2.25.%llu%019llu", (unsigned long long)(a | 1ull << 61),
             (unsigned long long)(b % 10000000000000000000ull));
}

struct series {
    const char *dir;
    char study_uid[72], series_uid[72], for_uid[72];
    uint64_t uid_state;
    double weight, dose_bq, half_life;
    const char *date, *series_time;
    char inj_time[32], inj_dt[32];
};

static int write_slice(const struct series *se, const struct qib_geom *g, const double *bqml,
                       size_t z, char *err, size_t errlen)
{
    const size_t nx = g->dims[0], ny = g->dims[1], n = nx * ny;
    struct buf b = {0}, item = {0}, meta = {0};
    char sop_uid[72], path[4200], tmp[4300], num[32];
    uint64_t st = se->uid_state + 0x1000 * (uint64_t)(z + 1);
    make_uid(&st, sop_uid, sizeof sop_uid);

    /* int16 with a per-slice slope: the slice maximum maps to 32767 */
    double mx = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(bqml[i]) > mx)
            mx = fabs(bqml[i]);
    double slope = mx > 0 ? mx / 32767.0 : 1.0;
    /* the slope as written is the slope used, so quantisation is the only
     * difference read.dicom sees */
    {
        char s[32];
        snprintf(s, sizeof s, "%.9g", slope);
        slope = strtod(s, NULL);
        if (mx / slope > 32767.0) {
            snprintf(s, sizeof s, "%.9g", slope * (1 + 1e-8));
            slope = strtod(s, NULL);
        }
    }
    int16_t *pix = malloc(n * sizeof *pix);
    if (!pix) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        long q = lround(bqml[i] / slope);
        pix[i] = (int16_t)(q > 32767 ? 32767 : q < -32768 ? -32768 : q);
    }

    const char *sop_class = "1.2.840.10008.5.1.4.1.1.128"; /* PET Image Storage */
    const char *ts = "1.2.840.10008.1.2.1";                /* explicit VR LE */
    /* file meta information, its group length first */
    {
        struct buf m = {0};
        static const uint8_t ver[2] = {0, 1};
        elem(&m, 0x0002, 0x0001, "OB", ver, 2);
        str(&m, 0x0002, 0x0002, "UI", sop_class);
        str(&m, 0x0002, 0x0003, "UI", sop_uid);
        str(&m, 0x0002, 0x0010, "UI", ts);
        str(&m, 0x0002, 0x0012, "UI", "2.25.98314602511207460119446378216394227139");
        str(&m, 0x0002, 0x0013, "SH", "QIB_" PACKAGE_VERSION);
        uint8_t pre[128] = {0};
        put(&meta, pre, sizeof pre);
        put(&meta, "DICM", 4);
        uint8_t gl[4] = {(uint8_t)m.n, (uint8_t)(m.n >> 8), (uint8_t)(m.n >> 16),
                         (uint8_t)(m.n >> 24)};
        elem(&meta, 0x0002, 0x0000, "UL", gl, 4);
        put(&meta, m.p, m.n);
        meta.oom |= m.oom;
        free(m.p);
    }

    double ipp[3], idx[3] = {0, 0, (double)z};
    qib_geom_index_to_world(g, idx, ipp);
    const double iop[6] = {1, 0, 0, 0, 1, 0};
    const double ps[2] = {g->spacing[1], g->spacing[0]}; /* row spacing \ column spacing */

    str(&b, 0x0008, 0x0008, "CS", "ORIGINAL\\PRIMARY");
    str(&b, 0x0008, 0x0016, "UI", sop_class);
    str(&b, 0x0008, 0x0018, "UI", sop_uid);
    str(&b, 0x0008, 0x0020, "DA", se->date);
    str(&b, 0x0008, 0x0021, "DA", se->date);
    str(&b, 0x0008, 0x0022, "DA", se->date);
    str(&b, 0x0008, 0x0023, "DA", se->date);
    str(&b, 0x0008, 0x0030, "TM", se->series_time);
    str(&b, 0x0008, 0x0031, "TM", se->series_time);
    str(&b, 0x0008, 0x0032, "TM", se->series_time);
    str(&b, 0x0008, 0x0033, "TM", se->series_time);
    str(&b, 0x0008, 0x0060, "CS", "PT");
    str(&b, 0x0008, 0x0070, "LO", "qib phantom");
    str(&b, 0x0008, 0x103E, "LO", "NEMA IEC body phantom");
    str(&b, 0x0010, 0x0010, "PN", "PHANTOM^NEMA IEC");
    str(&b, 0x0010, 0x0020, "LO", "NEMA-IEC");
    str(&b, 0x0010, 0x0040, "CS", "O");
    ds(&b, 0x0010, 0x1020, 1.70);
    ds(&b, 0x0010, 0x1030, se->weight);
    ds(&b, 0x0018, 0x0050, g->spacing[2]);
    ds(&b, 0x0018, 0x1242, 600000);
    str(&b, 0x0020, 0x000D, "UI", se->study_uid);
    str(&b, 0x0020, 0x000E, "UI", se->series_uid);
    str(&b, 0x0020, 0x0011, "IS", "1");
    snprintf(num, sizeof num, "%zu", z + 1);
    str(&b, 0x0020, 0x0013, "IS", num);
    ds_multi(&b, 0x0020, 0x0032, ipp, 3);
    ds_multi(&b, 0x0020, 0x0037, iop, 6);
    str(&b, 0x0020, 0x0052, "UI", se->for_uid);
    us(&b, 0x0028, 0x0002, 1);
    str(&b, 0x0028, 0x0004, "CS", "MONOCHROME2");
    us(&b, 0x0028, 0x0010, (unsigned)ny);
    us(&b, 0x0028, 0x0011, (unsigned)nx);
    ds_multi(&b, 0x0028, 0x0030, ps, 2);
    str(&b, 0x0028, 0x0051, "CS", "DECY\\ATTN\\SCAT\\DTIM\\RAN\\NORM");
    us(&b, 0x0028, 0x0100, 16);
    us(&b, 0x0028, 0x0101, 16);
    us(&b, 0x0028, 0x0102, 15);
    us(&b, 0x0028, 0x0103, 1);
    ds(&b, 0x0028, 0x1052, 0);
    ds(&b, 0x0028, 0x1053, slope);
    str(&b, 0x0028, 0x1054, "LO", "BQML");
    /* RadiopharmaceuticalInformationSequence, one item of defined length */
    str(&item, 0x0018, 0x0031, "LO", "Fluorodeoxyglucose");
    str(&item, 0x0018, 0x1072, "TM", se->inj_time);
    ds(&item, 0x0018, 0x1074, se->dose_bq);
    ds(&item, 0x0018, 0x1075, se->half_life);
    ds(&item, 0x0018, 0x1076, 0.9673);
    str(&item, 0x0018, 0x1078, "DT", se->inj_dt);
    put16(&b, 0x0054);
    put16(&b, 0x0016);
    put(&b, "SQ", 2);
    put16(&b, 0);
    put32(&b, (uint32_t)(item.n + 8));
    put16(&b, 0xFFFE);
    put16(&b, 0xE000);
    put32(&b, (uint32_t)item.n);
    put(&b, item.p, item.n);
    us(&b, 0x0054, 0x0081, (unsigned)g->dims[2]);
    str(&b, 0x0054, 0x1000, "CS", "STATIC\\IMAGE");
    str(&b, 0x0054, 0x1001, "CS", "BQML");
    str(&b, 0x0054, 0x1002, "CS", "EMISSION");
    str(&b, 0x0054, 0x1102, "CS", "START");
    ds(&b, 0x0054, 0x1300, 0);
    us(&b, 0x0054, 0x1330, (unsigned)(z + 1));
    {
        /* pixel data, little endian */
        uint8_t *le = malloc(2 * n);
        if (le) {
            for (size_t i = 0; i < n; i++) {
                uint16_t u = (uint16_t)pix[i];
                le[2 * i] = (uint8_t)u;
                le[2 * i + 1] = (uint8_t)(u >> 8);
            }
            elem(&b, 0x7FE0, 0x0010, "OW", le, 2 * n);
            free(le);
        } else {
            b.oom = 1;
        }
    }
    free(pix);
    int rc = 0;
    if (b.oom || item.oom || meta.oom) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
        goto done;
    }
    snprintf(path, sizeof path, "%s/IM%04zu.dcm", se->dir, z + 1);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f || fwrite(meta.p, 1, meta.n, f) != meta.n || fwrite(b.p, 1, b.n, f) != b.n) {
        snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
        if (f)
            fclose(f);
        remove(tmp);
        rc = -1;
        goto done;
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        remove(tmp);
        rc = -1;
    }
done:
    free(b.p);
    free(item.p);
    free(meta.p);
    return rc;
}

/* Remove the first @p n slices written into @p dir. */
static void remove_slices(const char *dir, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        char path[4300];
        snprintf(path, sizeof path, "%s/IM%04zu.dcm", dir, k + 1);
        remove(path);
    }
}

/* A directory that does not exist or holds nothing: a phantom is never
 * mixed with the slices of an earlier one. */
static int dir_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = 0;
    closedir(d);
    return empty;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: qib phantom nema-iec --out DIR [--voxel X,Y,Z] [--matrix NX,NY,NZ]\n"
            "                  [--ratio R] [--activity KBQML] [--weight KG] [--dose MBQ]\n"
            "                  [--uptake MIN] [--fwhm MM] [--noise CV] [--seed N] [--no-dicom]\n"
            "\n"
            "The NEMA NU 2 / IEC 61675-1 body phantom as a PET image: spheres of 10, 13,\n"
            "17, 22, 28 and 37 mm inner diameter on a ring of radius 57.2 mm in the plane\n"
            "70 mm from the interior end wall, a cold lung insert of 50 mm diameter on the\n"
            "axis, a background of uniform activity in the D-shaped body (interior: half\n"
            "cylinder of radius 147 mm over a 140 x 77 mm base with 77 mm rounded corners,\n"
            "180 mm long).  Voxel values are the mean activity over the voxel (partial\n"
            "volume, %d^3 samples at edges), then blurred, then noised.  Writes\n"
            "  DIR/pet.nii.gz         float32 SUVbw\n"
            "  DIR/spheres.nii.gz     labels 1..6 = the 10..37 mm spheres (voxel centres inside)\n"
            "  DIR/background.nii.gz  1 = background at least %g mm from every edge\n"
            "  DIR/dicom/IM0001.dcm.. PET series, Bq/ml (Units BQML, DecayCorrection START),\n"
            "                         int16 with a slope per slice, explicit VR little endian\n"
            "and prints the true values: sphere volumes, SUV of spheres and background.\n"
            "\n"
            "  --voxel X,Y,Z     voxel size in mm (default 2,2,2)\n"
            "  --matrix NX,NY,NZ voxels (default: 320 x 250 x 200 mm of field of view)\n"
            "  --ratio R         sphere : background activity (default 4; NEMA: 4 or 8)\n"
            "  --activity KBQML  background concentration at the scan start, kBq/ml (default 5.3)\n"
            "  --weight KG       PatientWeight (default: the phantom's interior volume as water)\n"
            "  --dose MBQ        injected activity at injection (default: the background\n"
            "                    concentration times the weight in ml, decayed back to the\n"
            "                    injection: background SUV exactly 1)\n"
            "  --uptake MIN      injection to scan start, minutes (default 60; F-18)\n"
            "  --fwhm MM         Gaussian blur of this FWHM, mm (default 0: none)\n"
            "  --noise CV        Gaussian noise, SD = CV x the noiseless value (default 0)\n"
            "  --seed N          random seed of the noise and the UIDs (default 1)\n"
            "  --no-dicom        do not write DIR/dicom\n",
            SS, BG_MARGIN);
}

static int parse3(const char *opt, const char *val, double lo, double hi, double out[3])
{
    size_t n = 0;
    if (qib__phantom_list(opt, val, lo, hi, out, 3, &n))
        return -1;
    if (n != 3) {
        fprintf(stderr, "qib phantom: %s: expected three comma-separated values, got \"%s\"\n",
                opt, val);
        return -1;
    }
    return 0;
}

/* The options outside the table: the triplets and --no-dicom. */
struct nema_args {
    struct nema *p;
    int have_matrix;
};

static int nema_special(void *ctx, const char *a, const char *val)
{
    struct nema_args *na = ctx;
    struct nema *p = na->p;
    double v3[3];
    if (!strcmp(a, "--no-dicom")) {
        p->dicom = 0;
        return QIB__PHANTOM_FLAG;
    } else if (!strcmp(a, "--voxel")) {
        if (parse3(a, val, 0.25, 20, p->vox))
            return QIB__PHANTOM_BAD;
    } else if (!strcmp(a, "--matrix")) {
        if (parse3(a, val, 1, 4096, v3))
            return QIB__PHANTOM_BAD;
        for (int k = 0; k < 3; k++) {
            if (v3[k] != floor(v3[k])) {
                fprintf(stderr, "qib phantom: --matrix: expected whole numbers, got \"%s\"\n",
                        val);
                return QIB__PHANTOM_BAD;
            }
            p->dims[k] = (size_t)v3[k];
        }
        na->have_matrix = 1;
    } else {
        return QIB__PHANTOM_UNKNOWN;
    }
    return QIB__PHANTOM_VALUE;
}

int qib__phantom_nema_iec(int argc, char **argv)
{
    struct nema p = {.vox = {2, 2, 2}, .ratio = 4, .bg_kbq = 5.3, .weight = -1, .dose_mbq = -1,
                     .uptake_min = 60, .fwhm = 0, .noise = 0, .seed = 1, .dicom = 1};
    const struct qib__phantom_opt opts[] = {
        {"--ratio", 1, 100, .num = &p.ratio},
        {"--activity", 0.001, 1e4, .num = &p.bg_kbq},
        {"--weight", 0.1, 500, .num = &p.weight},
        {"--dose", 0.001, 1e5, .num = &p.dose_mbq},
        {"--uptake", 0, 1440, .num = &p.uptake_min},
        {"--fwhm", 0, 50, .num = &p.fwhm},
        {"--noise", 0, 1, .num = &p.noise},
        {"--seed", 0, 9007199254740992.0, .seed = &p.seed},
        {.name = NULL},
    };
    struct nema_args na = {&p, 0};
    const char *out = NULL;
    int done;
    int st = qib__phantom_parse(argc, argv, opts, nema_special, &na, usage,
                                "qib phantom nema-iec --help", &out, &done);
    if (st || done)
        return st;
    const int have_matrix = na.have_matrix;
    if (!out) {
        fprintf(stderr, "qib phantom: --out DIR is required\n");
        return QIB_EXIT_USAGE;
    }
    if (p.uptake_min * 60.0 != floor(p.uptake_min * 60.0)) {
        fprintf(stderr, "qib phantom: --uptake: expected whole seconds, got %g min\n",
                p.uptake_min);
        return QIB_EXIT_USAGE;
    }
    if (!have_matrix) {
        const double fov[3] = {320, 250, 200};
        for (int k = 0; k < 3; k++)
            p.dims[k] = (size_t)ceil(fov[k] / p.vox[k] - 1e-9);
    }
    size_t nvox = p.dims[0] * p.dims[1] * p.dims[2];
    if (p.dims[0] > 65535 || p.dims[1] > 65535 || nvox > MAX_VOX) {
        fprintf(stderr,
                "qib phantom: --voxel/--matrix: %zux%zux%zu voxels is too many (at most %zu, "
                "and 65535 per row or column)\n",
                p.dims[0], p.dims[1], p.dims[2], MAX_VOX);
        return QIB_EXIT_USAGE;
    }

    /* The interior volume (the outline's area x length), the default weight. */
    const double area = M_PI * ARC_R * ARC_R / 2 + 2 * LOW_HALF_W * LOW_R + M_PI * LOW_R * LOW_R / 2;
    const double interior_ml = area * LEN / 1000.0;
    if (p.weight <= 0)
        p.weight = round(interior_ml) / 1000.0; /* kg as written, 1 g per ml */
    const double lambda = log(2.0) / F18_HALF_LIFE;
    const double decay = exp(-lambda * p.uptake_min * 60.0);
    const double bg_bq = p.bg_kbq * 1000.0;
    double dose_bq = p.dose_mbq > 0 ? p.dose_mbq * 1e6 : bg_bq * p.weight * 1000.0 / decay;
    {
        /* the dose as written is the dose used */
        char s[32];
        snprintf(s, sizeof s, "%.10g", dose_bq);
        dose_bq = strtod(s, NULL);
    }
    const double suv_per_bq = p.weight * 1000.0 / (dose_bq * decay);

    char dicom_dir[4200];
    snprintf(dicom_dir, sizeof dicom_dir, "%s/dicom", out);
    if (p.dicom && !dir_empty(dicom_dir)) {
        fprintf(stderr,
                "qib phantom: %s: exists and is not empty; give a new --out so that two "
                "phantoms' slices are never mixed\n",
                dicom_dir);
        return QIB_EXIT_FAIL;
    }
    if (qib__phantom_mkdirs(out) != 0 || (p.dicom && qib__phantom_mkdirs(dicom_dir) != 0))
        return QIB_EXIT_FAIL;

    struct qib_geom g;
    make_geom(&p, &g);
    double *act = malloc(nvox * sizeof *act);
    qib_volume *pet = NULL, *sm = NULL, *bm = NULL;
    int rc = QIB_EXIT_FAIL;
    if (!act || qib_volume_new(QIB_F32, &g, &pet) || qib_mask_new(&g, &sm) ||
        qib_mask_new(&g, &bm)) {
        fprintf(stderr, "qib phantom: out of memory for %zu voxels\n", nvox);
        goto done;
    }
    double pv_ml[NSPH];
    fill(&p, &g, act, qib_volume_data_mut(sm), qib_volume_data_mut(bm), pv_ml);
    if (p.fwhm > 0) {
        for (int a = 0; a < 3; a++)
            if (blur_axis(act, p.dims, a, p.fwhm / (2 * sqrt(2 * log(2.0))) / p.vox[a])) {
                fprintf(stderr, "qib phantom: out of memory\n");
                goto done;
            }
    }
    /* to Bq/ml, with noise */
    uint64_t rng = p.seed;
    for (size_t i = 0; i < nvox; i++) {
        double c = act[i] * bg_bq;
        if (p.noise > 0)
            c += p.noise * c * qib__phantom_gauss(&rng);
        act[i] = c;
    }
    if (p.dicom) {
        struct series se = {.dir = dicom_dir, .weight = p.weight, .dose_bq = dose_bq,
                            .half_life = F18_HALF_LIFE, .date = "20240101",
                            .series_time = "100000.000000"};
        /* injection uptake minutes before 10:00 on the same day (at most 24 h) */
        long inj = 36000 - lround(p.uptake_min * 60.0);
        char day[16] = "20240101";
        if (inj < 0) {
            inj += 86400;
            snprintf(day, sizeof day, "20231231");
        }
        snprintf(se.inj_time, sizeof se.inj_time, "%02ld%02ld%02ld.000000", inj / 3600,
                 inj / 60 % 60, inj % 60);
        snprintf(se.inj_dt, sizeof se.inj_dt, "%s%02ld%02ld%02ld.000000", day, inj / 3600,
                 inj / 60 % 60, inj % 60);
        uint64_t us_ = p.seed ^ 0x51D0C0DEull;
        make_uid(&us_, se.study_uid, sizeof se.study_uid);
        make_uid(&us_, se.series_uid, sizeof se.series_uid);
        make_uid(&us_, se.for_uid, sizeof se.for_uid);
        se.uid_state = us_;
        char err[4400];
        for (size_t z = 0; z < p.dims[2]; z++)
            if (write_slice(&se, &g, act + z * p.dims[0] * p.dims[1], z, err, sizeof err)) {
                fprintf(stderr, "qib phantom: %s\n", err);
                remove_slices(dicom_dir, z);
                goto done;
            }
    }
    {
        float *f = qib_volume_data_mut(pet);
        for (size_t i = 0; i < nvox; i++)
            f[i] = (float)(act[i] * suv_per_bq);
        qib_meta *m = qib_volume_meta_mut(pet);
        qib_meta_set(m, "modality", "PT", "qib phantom nema-iec");
        qib_meta_set(m, "units", "SUVbw", "qib phantom nema-iec");
    }
    if (qib__phantom_write_nifti(pet, out, "pet.nii.gz") ||
        qib__phantom_write_nifti(sm, out, "spheres.nii.gz") ||
        qib__phantom_write_nifti(bm, out, "background.nii.gz")) {
        /* what was written would pass for a complete phantom */
        if (p.dicom)
            remove_slices(dicom_dir, p.dims[2]);
        static const char *const names[] = {"pet.nii.gz", "spheres.nii.gz", "background.nii.gz"};
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
            char path[4300];
            snprintf(path, sizeof path, "%s/%s", out, names[k]);
            struct stat sb;
            if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
                remove(path);
        }
        goto done;
    }

    {
        const uint8_t *s = qib_volume_data(sm), *b = qib_volume_data(bm);
        size_t cnt[NSPH + 1] = {0}, nbg = 0;
        for (size_t i = 0; i < nvox; i++) {
            cnt[s[i]]++;
            nbg += b[i];
        }
        double vml = qib_geom_voxel_mm3(&g) / 1000.0;
        double suv_bg = bg_bq * suv_per_bq;
        printf("qib phantom nema-iec: %zux%zux%zu voxels of %gx%gx%g mm, FWHM %g mm, noise CV %g\n",
               p.dims[0], p.dims[1], p.dims[2], p.vox[0], p.vox[1], p.vox[2], p.fwhm, p.noise);
        printf("weight_kg %.10g\ndose_bq %.10g\nuptake_min %g\nhalf_life_s %g\n", p.weight,
               dose_bq, p.uptake_min, F18_HALF_LIFE);
        printf("background_bqml %.10g\nbackground_suv %.10g\nsphere_bqml %.10g\n"
               "sphere_suv %.10g\nratio %g\n",
               bg_bq, suv_bg, bg_bq * p.ratio, suv_bg * p.ratio, p.ratio);
        printf("background_roi_voxels %zu\nbackground_roi_ml %.6f\n", nbg, (double)nbg * vml);
        printf("# label diameter_mm volume_ml mask_voxels mask_ml pv_ml centre_x centre_y "
               "centre_z (LPS mm)\n");
        struct sph sp[NSPH];
        sphere_centres(sp);
        for (int k = 0; k < NSPH; k++) {
            double c[3];
            for (int a = 0; a < 3; a++) /* no "-0" or 1e-15 in the report */
                c[a] = round(sp[k].c[a] * 1e6) / 1e6 + 0.0;
            printf("sphere %d %g %.6f %zu %.6f %.6f %.6f %.6f %.6f\n", k + 1, sphere_d[k],
                   4.0 / 3.0 * M_PI * pow(sphere_d[k] / 2, 3) / 1000.0, cnt[k + 1],
                   (double)cnt[k + 1] * vml, pv_ml[k], c[0], c[1], c[2]);
        }
    }
    rc = QIB_EXIT_OK;
done:
    free(act);
    qib_volume_unref(&pet);
    qib_volume_unref(&sm);
    qib_volume_unref(&bm);
    return rc;
}
