/* read.dicom on small synthetic series written here field by field (with the
 * writer in t0700-dicom-util.h, not the parser under test): slice sorting
 * along the normal, spacing, origin and direction; per-slice rescale and the
 * i16/f32 choice; 8/12/16/32-bit, signed and unsigned pixels; 4-D series;
 * series selection; and each geometry error naming its files. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "t0700-dicom-util.h"

struct sl {
    const char *series_uid, *modality, *desc;
    int series_number, instance;
    double ipp[3], iop[6], ps[2];
    int rows, cols, bits, stored, high, is_signed;
    double slope, inter;
    int has_rescale;
    const char *acq_time;
    int implicit;
    long (*value)(int x, int y, int k); /* stored value of pixel (x, y) */
    int k;                              /* passed to value */
    size_t short_by;                    /* bytes cut from the pixel data */
    int no_ipp;
};

static long val_default(int x, int y, int k)
{
    return 100 * k + 10 * y + x;
}

static void sl_default(struct sl *s, int k, double z)
{
    memset(s, 0, sizeof *s);
    s->series_uid = "1.2.3.4.100";
    s->modality = "CT";
    s->desc = "AXIAL 2.5";
    s->series_number = 2;
    s->instance = k + 1;
    s->ipp[0] = -10;
    s->ipp[1] = -20;
    s->ipp[2] = z;
    s->iop[0] = 1;
    s->iop[4] = 1;
    s->ps[0] = 0.8; /* row spacing (y) */
    s->ps[1] = 0.6; /* column spacing (x) */
    s->rows = 2;
    s->cols = 3;
    s->bits = 16;
    s->stored = 16;
    s->high = 15;
    s->is_signed = 1;
    s->slope = 1;
    s->inter = -5;
    s->has_rescale = 1;
    s->acq_time = "101010.000000";
    s->value = val_default;
    s->k = k;
}

static void ds_list(char *b, size_t n, const double *v, int m)
{
    size_t k = 0;
    for (int i = 0; i < m; i++)
        k += (size_t)snprintf(b + k, n - k, "%s%.10g", i ? "\\" : "", v[i]);
}

static void write_sl(const char *path, const struct sl *s)
{
    struct td_buf b;
    td_begin(&b, s->implicit ? "1.2.840.10008.1.2" : "1.2.840.10008.1.2.1");
    char t[256];
    td_str(&b, 0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.2");
    td_str(&b, 0x0008, 0x0032, "TM", s->acq_time);
    td_str(&b, 0x0008, 0x0060, "CS", s->modality);
    td_str(&b, 0x0008, 0x103E, "LO", s->desc);
    td_str(&b, 0x0020, 0x000E, "UI", s->series_uid);
    snprintf(t, sizeof t, "%d", s->series_number);
    td_str(&b, 0x0020, 0x0011, "IS", t);
    snprintf(t, sizeof t, "%d", s->instance);
    td_str(&b, 0x0020, 0x0013, "IS", t);
    if (!s->no_ipp) {
        ds_list(t, sizeof t, s->ipp, 3);
        td_str(&b, 0x0020, 0x0032, "DS", t);
    }
    ds_list(t, sizeof t, s->iop, 6);
    td_str(&b, 0x0020, 0x0037, "DS", t);
    td_us(&b, 0x0028, 0x0002, 1);
    td_us(&b, 0x0028, 0x0010, (unsigned)s->rows);
    td_us(&b, 0x0028, 0x0011, (unsigned)s->cols);
    ds_list(t, sizeof t, s->ps, 2);
    td_str(&b, 0x0028, 0x0030, "DS", t);
    td_us(&b, 0x0028, 0x0100, (unsigned)s->bits);
    td_us(&b, 0x0028, 0x0101, (unsigned)s->stored);
    td_us(&b, 0x0028, 0x0102, (unsigned)s->high);
    td_us(&b, 0x0028, 0x0103, (unsigned)s->is_signed);
    if (s->has_rescale) {
        snprintf(t, sizeof t, "%.10g", s->inter);
        td_str(&b, 0x0028, 0x1052, "DS", t);
        snprintf(t, sizeof t, "%.10g", s->slope);
        td_str(&b, 0x0028, 0x1053, "DS", t);
    }
    size_t bpp = (size_t)s->bits / 8, n = (size_t)s->rows * (size_t)s->cols * bpp;
    unsigned char *px = calloc(1, n + 1);
    for (int y = 0; y < s->rows; y++)
        for (int x = 0; x < s->cols; x++) {
            uint64_t u = (uint64_t)s->value(x, y, s->k);
            for (size_t i = 0; i < bpp; i++)
                px[((size_t)y * (size_t)s->cols + (size_t)x) * bpp + i] = (unsigned char)(u >> (8 * i));
        }
    td_elem(&b, 0x7FE0, 0x0010, s->bits == 8 ? "OB" : "OW", px, n - s->short_by);
    free(px);
    td_write(&b, path);
}

static char *tmp;
static int ncase;

/* A fresh directory for one case. */
static char *newdir(void)
{
    char *d = malloc(strlen(tmp) + 32);
    sprintf(d, "%s/c%d", tmp, ncase++);
    if (mkdir(d, 0700) != 0)
        bail("mkdir %s", d);
    return d;
}

static void put(const char *dir, const char *name, const struct sl *s)
{
    char p[2048];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    write_sl(p, s);
}

static qib_harness *rd(const char *dir, int *rc, const char *p1, const char *p2)
{
    const char *kv[3] = {p1, p2, NULL};
    return td_read(dir, rc, kv);
}

static double at(const qib_volume *v, size_t x, size_t y, size_t z, size_t t)
{
    const struct qib_geom *g = qib_volume_geom(v);
    return qib_volume_get(v, x + g->dims[0] * (y + g->dims[1] * (z + g->dims[2] * t)));
}

/* Four axial slices written out of order. */
static void test_sort(void)
{
    char *d = newdir();
    static const int order[4] = {2, 0, 3, 1};
    for (int i = 0; i < 4; i++) {
        struct sl s;
        int k = order[i];
        sl_default(&s, k, 2.5 * k);
        s.instance = 10 - k; /* instance numbers must not decide the order */
        char name[32];
        snprintf(name, sizeof name, "f%d.dcm", i);
        put(d, name, &s);
    }
    char junk[2048];
    snprintf(junk, sizeof junk, "%s/notes.txt", d);
    FILE *f = fopen(junk, "w");
    fputs("not DICOM\n", f);
    fclose(f);
    int rc;
    qib_harness *h = rd(d, &rc, NULL, NULL);
    const qib_volume *v = rc == QIB_OK ? qib_harness_out_volume(h, "image") : NULL;
    ok(v != NULL, "sort: 4 slices read (a text file beside them is skipped)");
    if (!v) {
        diag("%s", qib_harness_error(h));
        skip(8, "no volume");
    } else {
        const struct qib_geom *g = qib_volume_geom(v);
        ok(g->ndim == 3 && g->dims[0] == 3 && g->dims[1] == 2 && g->dims[2] == 4, "sort: 3x2x4");
        ok(g->spacing[0] == 0.6 && g->spacing[1] == 0.8 && fabs(g->spacing[2] - 2.5) < 1e-12,
           "sort: spacing x = PixelSpacing[1] 0.6, y = PixelSpacing[0] 0.8, z from positions 2.5");
        ok(g->origin[0] == -10 && g->origin[1] == -20 && g->origin[2] == 0,
           "sort: origin = ImagePositionPatient of the lowest slice");
        is_int(qib_volume_dtype(v), QIB_I16, "sort: i16 (slope 1, intercept -5)");
        is_double(at(v, 2, 1, 3, 0), 300 + 10 + 2 - 5, 0, "sort: voxel (2,1,3) = 312 - 5");
        is_double(at(v, 0, 0, 0, 0), -5, 0, "sort: voxel (0,0,0) = 0 - 5");
        is_double(at(v, 1, 0, 2, 0), 201 - 5, 0, "sort: voxel (1,0,2) = 201 - 5");
        is_string(qib_meta_get(qib_volume_meta(v), "units"), "HU", "sort: CT units HU");
    }
    qib_harness_free(&h);
    free(d);
}

/* An oblique stack whose files run against the normal; and a direction
 * matrix built from the orientation cosines. */
static void test_oblique(void)
{
    char *d = newdir();
    double c = cos(0.3), s_ = sin(0.3);
    double r[3] = {c, s_, 0}, col[3] = {-s_ * 0.6, c * 0.6, 0.8};
    double n[3] = {r[1] * col[2] - r[2] * col[1], r[2] * col[0] - r[0] * col[2],
                   r[0] * col[1] - r[1] * col[0]};
    for (int k = 0; k < 3; k++) {
        struct sl s;
        sl_default(&s, k, 0);
        memcpy(s.iop, r, sizeof r);
        memcpy(s.iop + 3, col, sizeof col);
        for (int i = 0; i < 3; i++)
            s.ipp[i] = 5.0 + 4.0 * k * n[i];
        s.instance = k + 1;
        char name[32];
        snprintf(name, sizeof name, "z%d.dcm", 2 - k);
        put(d, name, &s);
    }
    int rc;
    qib_harness *h = rd(d, &rc, NULL, NULL);
    const qib_volume *v = rc == QIB_OK ? qib_harness_out_volume(h, "image") : NULL;
    ok(v != NULL, "oblique: reads");
    if (!v) {
        diag("%s", qib_harness_error(h));
        skip(3, "no volume");
    } else {
        const struct qib_geom *g = qib_volume_geom(v);
        double e = 0;
        for (int i = 0; i < 3; i++)
            e = fmax(e, fmax(fabs(g->dir[3 * i] - r[i]),
                             fmax(fabs(g->dir[3 * i + 1] - col[i]), fabs(g->dir[3 * i + 2] - n[i]))));
        ok(e < 1e-9, "oblique: direction columns = row cosine, column cosine, their cross product");
        is_double(g->spacing[2], 4.0, 1e-9, "oblique: spacing 4 mm along the normal");
        is_double(at(v, 1, 1, 2, 0), 200 + 11 - 5, 0, "oblique: slice order from the positions");
    }
    qib_harness_free(&h);
    free(d);
}

static long val_half(int x, int y, int k)
{
    return 3 + x + 2 * y + k;
}

static void test_rescale(void)
{
    char *d = newdir();
    for (int k = 0; k < 2; k++) {
        struct sl s;
        sl_default(&s, k, 3.0 * k);
        s.value = val_half;
        s.slope = k ? 0.5 : 2.0;
        s.inter = 1.25;
        char name[32];
        snprintf(name, sizeof name, "s%d.dcm", k);
        put(d, name, &s);
    }
    int rc;
    qib_harness *h = rd(d, &rc, NULL, NULL);
    const qib_volume *v = rc == QIB_OK ? qib_harness_out_volume(h, "image") : NULL;
    ok(v && qib_volume_dtype(v) == QIB_F32, "rescale: slope 2 / 0.5, intercept 1.25: f32");
    if (v) {
        is_double(at(v, 2, 1, 0, 0), (3 + 2 + 2) * 2.0 + 1.25, 0, "rescale: slice 0 uses its slope 2");
        is_double(at(v, 2, 1, 1, 0), (3 + 2 + 2 + 1) * 0.5 + 1.25, 0, "rescale: slice 1 uses its slope 0.5");
    } else {
        diag("%s", qib_harness_error(h));
        skip(2, "no volume");
    }
    qib_harness_free(&h);
    free(d);
}

static long val_u8(int x, int y, int k)
{
    return 250 + x + y - k;
}
static long val_s32(int x, int y, int k)
{
    return (long)(uint32_t)(-100000 - x - 10 * y - k);
}
/* 12 bits stored in 16 with garbage above the high bit (an overlay). */
static long val_12(int x, int y, int k)
{
    long v = 4095 - x - y - k; /* as signed 12-bit: -1 - x - y - k */
    return v | 0xA000;
}

static void test_formats(void)
{
    struct {
        const char *what;
        int bits, stored, high, is_signed;
        long (*f)(int, int, int);
        double want_100, want_211; /* voxel (1,0,0), (2,1,1) */
        enum qib_dtype type;
    } c[] = {
        {"8-bit unsigned", 8, 8, 7, 0, val_u8, 251, 252, QIB_I16},
        {"32-bit signed", 32, 32, 31, 1, val_s32, -100001, -100013, QIB_F32},
        {"12-bit signed in 16 with overlay bits", 16, 12, 11, 1, val_12, -2, -5, QIB_I16},
        {"12-bit unsigned in 16 with overlay bits", 16, 12, 11, 0, val_12, 4094, 4091, QIB_I16},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char *d = newdir();
        for (int k = 0; k < 2; k++) {
            struct sl s;
            sl_default(&s, k, 2.0 * k);
            s.bits = c[i].bits;
            s.stored = c[i].stored;
            s.high = c[i].high;
            s.is_signed = c[i].is_signed;
            s.value = c[i].f;
            s.has_rescale = 0;
            s.implicit = (int)(i & 1);
            char name[32];
            snprintf(name, sizeof name, "p%d.dcm", k);
            put(d, name, &s);
        }
        int rc;
        qib_harness *h = rd(d, &rc, NULL, NULL);
        const qib_volume *v = rc == QIB_OK ? qib_harness_out_volume(h, "image") : NULL;
        ok(v && qib_volume_dtype(v) == c[i].type, "%s%s: reads as %s", c[i].what,
           i & 1 ? " (implicit VR)" : "", qib_dtype_name(c[i].type));
        if (v) {
            is_double(at(v, 1, 0, 0, 0), c[i].want_100, 0, "%s: voxel (1,0,0) %g", c[i].what,
                      c[i].want_100);
            is_double(at(v, 2, 1, 1, 0), c[i].want_211, 0, "%s: voxel (2,1,1) %g", c[i].what,
                      c[i].want_211);
        } else {
            diag("%s", qib_harness_error(h));
            skip(2, "no volume");
        }
        qib_harness_free(&h);
        free(d);
    }
}

/* Two positions x three times: a 4-D series ordered by acquisition time. */
static void test_4d(void)
{
    char *d = newdir();
    static const char *const times[3] = {"100000", "100030", "100100"};
    for (int t = 0; t < 3; t++)
        for (int k = 0; k < 2; k++) {
            struct sl s;
            sl_default(&s, 10 * t + k, 2.0 * k);
            s.acq_time = times[2 - t];
            s.k = 10 * (2 - t) + k;
            s.instance = 1 + t * 2 + k;
            char name[32];
            snprintf(name, sizeof name, "t%d_%d.dcm", t, k);
            put(d, name, &s);
        }
    int rc;
    qib_harness *h = rd(d, &rc, NULL, NULL);
    const qib_volume *v = rc == QIB_OK ? qib_harness_out_volume(h, "image") : NULL;
    ok(v && qib_volume_geom(v)->ndim == 4 && qib_volume_geom(v)->dims[3] == 3,
       "4-D: 2 positions x 3 times give 3x2x2x3");
    if (v) {
        is_double(at(v, 1, 1, 1, 2), 100 * 21 + 11 - 5, 0, "4-D: frame 2 is the latest time");
        is_string(qib_meta_get(qib_volume_meta(v), "dicom.frame_times_s"), "0 30 60",
                  "4-D: frame times 0 30 60 s in the metadata");
    } else {
        diag("%s", qib_harness_error(h));
        skip(2, "no volume");
    }
    qib_harness_free(&h);
    free(d);
}

/* A series that must be refused, with the words and files the message must
 * name. */
static void refuse(const char *what, char *d, int want, const char *w1, const char *w2)
{
    int rc;
    qib_harness *h = rd(d, &rc, NULL, NULL);
    is_int(rc, want, "%s: refused with %s", what, qib_status_name(want));
    contains(qib_harness_error(h), w1, "%s: message says \"%s\"", what, w1);
    if (w2)
        contains(qib_harness_error(h), w2, "%s: message names %s", what, w2);
    qib_harness_free(&h);
    free(d);
}

static void test_errors(void)
{
    struct sl s;
    char *d = newdir();
    static const double zs[4] = {0, 2, 6, 8};
    for (int k = 0; k < 4; k++) {
        sl_default(&s, k, zs[k]);
        char name[32];
        snprintf(name, sizeof name, "m%d.dcm", k);
        put(d, name, &s);
    }
    refuse("gap", d, QIB_EGEOMETRY, "missing slice between", "m1.dcm and");

    d = newdir();
    for (int k = 0; k < 3; k++) {
        sl_default(&s, k, k == 2 ? 2.0 : 2.0 * k);
        char name[32];
        snprintf(name, sizeof name, "d%d.dcm", k);
        put(d, name, &s);
    }
    refuse("duplicate", d, QIB_EGEOMETRY, "duplicate slice position", "d2.dcm");

    d = newdir();
    for (int k = 0; k < 3; k++) {
        sl_default(&s, k, 2.0 * k);
        if (k == 1) {
            s.iop[4] = 0;
            s.iop[5] = 1;
        }
        char name[32];
        snprintf(name, sizeof name, "o%d.dcm", k);
        put(d, name, &s);
    }
    refuse("orientation", d, QIB_EGEOMETRY, "mixed orientation", "o1.dcm");

    d = newdir();
    for (int k = 0; k < 3; k++) {
        sl_default(&s, k, 2.0 * k);
        if (k == 2)
            s.cols = 4;
        char name[32];
        snprintf(name, sizeof name, "r%d.dcm", k);
        put(d, name, &s);
    }
    refuse("size", d, QIB_EGEOMETRY, "different size", "r2.dcm");

    d = newdir();
    for (int k = 0; k < 3; k++) {
        sl_default(&s, k, 2.0 * k);
        s.ipp[1] = -20 + 0.5 * k; /* 14 degrees */
        char name[32];
        snprintf(name, sizeof name, "g%d.dcm", k);
        put(d, name, &s);
    }
    refuse("tilt", d, QIB_EUNSUPPORTED, "gantry tilt", "14.04 degrees");

    d = newdir();
    for (int k = 0; k < 2; k++) {
        sl_default(&s, k, 2.0 * k);
        s.short_by = k ? 2 : 0;
        char name[32];
        snprintf(name, sizeof name, "x%d.dcm", k);
        put(d, name, &s);
    }
    refuse("short pixels", d, QIB_EFORMAT, "PixelData (7FE0,0010) has 10 bytes", "x1.dcm");

    d = newdir();
    sl_default(&s, 0, 0);
    s.no_ipp = 1;
    put(d, "n.dcm", &s);
    refuse("no position", d, QIB_EFORMAT, "ImagePositionPatient (0020,0032)", "n.dcm");

    d = newdir();
    sl_default(&s, 0, 0);
    put(d, "ok.dcm", &s);
    char p[2048];
    snprintf(p, sizeof p, "%s/broken.dcm", d);
    struct td_buf b;
    td_begin(&b, "1.2.840.10008.1.2.1");
    td_str(&b, 0x0008, 0x0060, "CS", "CT");
    b.n -= 1; /* cut the last byte */
    td_write(&b, p);
    refuse("broken file", d, QIB_EFORMAT, "runs past the end", "broken.dcm");
}

static void test_select(void)
{
    char *d = newdir();
    struct sl s;
    for (int k = 0; k < 2; k++) {
        sl_default(&s, k, 2.0 * k);
        char name[32];
        snprintf(name, sizeof name, "ct%d.dcm", k);
        put(d, name, &s);
        sl_default(&s, k + 7, 3.0 * k);
        s.series_uid = "1.2.3.4.200";
        s.series_number = 5;
        s.modality = "MR";
        s.desc = "t1_mprage SAG";
        s.has_rescale = 0;
        snprintf(name, sizeof name, "mr%d.dcm", k);
        put(d, name, &s);
    }
    int rc;
    qib_harness *h = rd(d, &rc, NULL, NULL);
    is_int(rc, QIB_EINVAL, "select: two series and no selection: refused");
    contains(qib_harness_error(h), "series 2: CT, \"AXIAL 2.5\", 2 files, uid 1.2.3.4.100",
             "select: the message lists the CT series");
    contains(qib_harness_error(h), "series 5: MR, \"t1_mprage SAG\", 2 files, uid 1.2.3.4.200",
             "select: the message lists the MR series");
    qib_harness_free(&h);
    static const char *const sel[][2] = {{"series_number=5", NULL},
                                         {"modality=mr", NULL},
                                         {"description=*MPRAGE*", NULL},
                                         {"series_uid=1.2.3.4.200", NULL},
                                         {"modality=MR", "series_number=5"}};
    for (size_t i = 0; i < sizeof sel / sizeof sel[0]; i++) {
        h = rd(d, &rc, sel[i][0], sel[i][1]);
        const qib_volume *v = rc == QIB_OK ? qib_harness_out_volume(h, "image") : NULL;
        ok(v && at(v, 0, 0, 1, 0) == 800 && qib_volume_geom(v)->spacing[2] == 3.0,
           "select: %s%s%s picks the MR series", sel[i][0], sel[i][1] ? " " : "",
           sel[i][1] ? sel[i][1] : "");
        if (!v)
            diag("%s", qib_harness_error(h));
        qib_harness_free(&h);
    }
    h = rd(d, &rc, "series_number=2", NULL);
    const qib_table *t = rc == QIB_OK ? qib_harness_out_table(h, "series") : NULL;
    size_t cu = 0, cr = 0;
    ok(t && qib_table_nrows(t) == 2 && qib_table_find(t, "series_uid", &cu) == QIB_OK &&
           qib_table_find(t, "read", &cr) == QIB_OK &&
           !strcmp(qib_table_get_string(t, 0, cu), "1.2.3.4.100") && qib_table_get_int(t, 0, cr) == 1 &&
           !strcmp(qib_table_get_string(t, 1, cu), "1.2.3.4.200") && qib_table_get_int(t, 1, cr) == 0,
       "select: output \"series\" lists both series, the CT one marked read");
    qib_harness_free(&h);
    h = rd(d, &rc, "modality=PT", NULL);
    is_int(rc, QIB_ENOTFOUND, "select: modality=PT matches nothing");
    contains(qib_harness_error(h), "no image series matches", "select: says nothing matches");
    qib_harness_free(&h);
    h = rd(d, &rc, "modality=CT", "suv=bw");
    contains(qib_harness_error(h), "needs a PET series", "select: suv on a CT series refused");
    qib_harness_free(&h);
    free(d);
}

#define item td_item

/* A sequence of one item holding one element. */
static void seq1(struct td_buf *b, unsigned g, unsigned e, unsigned eg, unsigned ee, const char *vr,
                 const char *val)
{
    struct td_buf it = {0}, sq = {0};
    td_str(&it, eg, ee, vr, val);
    item(&sq, &it);
    td_elem(b, g, e, "SQ", sq.p, sq.n);
    free(sq.p);
}

/* One enhanced MR file: 2 positions x 2 b-values = 4 frames, geometry and
 * rescale in the shared functional groups, position and b-value per frame;
 * frames stored b-value-major and the positions descending. */
static void test_enhanced(void)
{
    char *d = newdir();
    struct td_buf b;
    td_begin(&b, "1.2.840.10008.1.2.1");
    td_str(&b, 0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.4.1");
    td_str(&b, 0x0008, 0x0060, "CS", "MR");
    td_str(&b, 0x0020, 0x000E, "UI", "1.2.3.4.300");
    td_str(&b, 0x0020, 0x0011, "IS", "9");
    td_us(&b, 0x0028, 0x0002, 1);
    td_str(&b, 0x0028, 0x0008, "IS", "4");
    td_us(&b, 0x0028, 0x0010, 2);
    td_us(&b, 0x0028, 0x0011, 3);
    td_us(&b, 0x0028, 0x0100, 16);
    td_us(&b, 0x0028, 0x0101, 16);
    td_us(&b, 0x0028, 0x0102, 15);
    td_us(&b, 0x0028, 0x0103, 0);
    struct td_buf sh = {0}, sq = {0};
    seq1(&sh, 0x0020, 0x9116, 0x0020, 0x0037, "DS", "1\\0\\0\\0\\1\\0");
    seq1(&sh, 0x0028, 0x9110, 0x0028, 0x0030, "DS", "0.5\\0.25");
    {
        struct td_buf it = {0}, s2 = {0};
        td_str(&it, 0x0028, 0x1052, "DS", "0");
        td_str(&it, 0x0028, 0x1053, "DS", "2");
        item(&s2, &it);
        td_elem(&sh, 0x0028, 0x9145, "SQ", s2.p, s2.n);
        free(s2.p);
    }
    item(&sq, &sh);
    td_elem(&b, 0x5200, 0x9229, "SQ", sq.p, sq.n);
    free(sq.p);
    memset(&sq, 0, sizeof sq);
    static const char *const pos[4] = {"0\\0\\4", "0\\0\\0", "0\\0\\4", "0\\0\\0"};
    static const char *const bval[4] = {"0", "0", "1000", "1000"};
    for (int f = 0; f < 4; f++) {
        struct td_buf it = {0}, mr = {0}, mrsq = {0}, g = {0}, gsq = {0};
        double dir[3] = {0, f >= 2 ? 0.6 : 0, f >= 2 ? 0.8 : 0};
        td_elem(&g, 0x0018, 0x9089, "FD", dir, sizeof dir);
        td_item(&gsq, &g);
        td_seq(&mr, 0x0018, 0x9076, &gsq);
        td_str(&mr, 0x0018, 0x9087, "DS", bval[f]);
        td_item(&mrsq, &mr);
        td_seq(&it, 0x0018, 0x9117, &mrsq);
        seq1(&it, 0x0020, 0x9113, 0x0020, 0x0032, "DS", pos[f]);
        item(&sq, &it);
    }
    td_elem(&b, 0x5200, 0x9230, "SQ", sq.p, sq.n);
    free(sq.p);
    uint16_t px[4 * 6];
    for (int f = 0; f < 4; f++)
        for (int i = 0; i < 6; i++)
            px[6 * f + i] = (uint16_t)(100 * f + i);
    td_elem(&b, 0x7FE0, 0x0010, "OW", px, sizeof px);
    char p[2048];
    snprintf(p, sizeof p, "%s/enhanced.dcm", d);
    td_write(&b, p);
    int rc;
    qib_harness *h = rd(d, &rc, NULL, NULL);
    const qib_volume *v = rc == QIB_OK ? qib_harness_out_volume(h, "image") : NULL;
    ok(v && qib_volume_geom(v)->ndim == 4 && qib_volume_geom(v)->dims[2] == 2 &&
           qib_volume_geom(v)->dims[3] == 2,
       "enhanced: 4 frames give 3x2x2 positions x 2 b-values");
    if (v) {
        const struct qib_geom *g = qib_volume_geom(v);
        ok(g->spacing[0] == 0.25 && g->spacing[1] == 0.5 && g->spacing[2] == 4.0,
           "enhanced: spacing from the shared PixelMeasuresSequence, 4 mm from positions");
        /* Position z=0, b=1000 is frame 4 (index 3): stored 300 + i, slope 2. */
        is_double(at(v, 2, 1, 0, 1), 2 * (300 + 5), 0, "enhanced: (2,1,z0,b1000) from frame 4, slope 2");
        is_double(at(v, 0, 0, 1, 0), 2 * 0, 0, "enhanced: (0,0,z4,b0) from frame 1");
        is_string(qib_meta_get(qib_volume_meta(v), "dicom.b_values"), "0 1000",
                  "enhanced: b-values from MRDiffusionSequence");
        is_string(qib_meta_get(qib_volume_meta(v), "dicom.b_vectors"), "0 0 0, 0 0.6 0.8",
                  "enhanced: gradient directions from DiffusionGradientDirectionSequence");
    } else {
        diag("%s", qib_harness_error(h));
        skip(5, "no volume");
    }
    qib_harness_free(&h);
    free(d);
}

int main(void)
{
    plan(73);
    tmp = tap_tmpdir();
    test_sort();
    test_oblique();
    test_rescale();
    test_formats();
    test_4d();
    test_errors();
    test_select();
    test_enhanced();
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    int st;
    free(run_cmd(cmd, &st));
    free(tmp);
    return tap_done();
}
