/* The DICOM parser and read.dicom on pydicom 2.3.1's test files
 * (QIB_REFDATA/pydicom_test_files, values asserted by pydicom's own
 * test_filereader.py and test_numpy_pixel_data.py, and the sums in that
 * README): transfer syntaxes, byte orders, a raw dataset without file meta,
 * deflate, nested sequences, truncated files; every file either parses or
 * fails with a message. */
#include "config.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dicom.h"
#include "t0700-dicom-util.h"

#define DIR_ "pydicom_test_files/orig/pydicom/data/test_files/"

static char *ref(const char *name)
{
    char rel[512];
    snprintf(rel, sizeof rel, DIR_ "%s", name);
    char *p = refdata_path(rel);
    if (!p)
        bail("%s missing", rel);
    return p;
}

static size_t nfiles, nparsed, nmsg, nread, nrefused;

static void walk(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(p, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            walk(p);
            continue;
        }
        nfiles++;
        struct qib__dcm *dc = NULL;
        char err[512] = "";
        int rc = qib__dcm_open(p, &dc, err, sizeof err);
        if (rc == QIB_OK) {
            nparsed++;
            const uint8_t *px;
            size_t len;
            /* Touch the pixel bytes, so the sanitizer build checks bounds. */
            if (qib__dcm_pixels(dc, &px, &len, err, sizeof err) == QIB_OK) {
                unsigned sum = 0;
                for (size_t i = 0; i < len; i++)
                    sum += px[i];
                (void)sum;
            } else if (!err[0]) {
                diag("%s: pixel error without a message", p);
                nmsg = (size_t)-1;
            }
        } else if (err[0]) {
            nmsg++;
        }
        qib__dcm_free(&dc);
        /* The whole reader too: a volume, or a status with a message. */
        int hrc;
        qib_harness *h = td_read(p, &hrc, NULL);
        if (hrc == QIB_OK && qib_harness_out_volume(h, "image"))
            nread++;
        else if (hrc != QIB_OK && qib_harness_error(h)[0])
            nrefused++;
        else
            diag("%s: read.dicom status %d without a message", p, hrc);
        qib_harness_free(&h);
    }
    closedir(d);
}

static double vox(const qib_volume *v, size_t x, size_t y)
{
    return qib_volume_get(v, x + qib_volume_geom(v)->dims[0] * y);
}

static double sum(const qib_volume *v)
{
    double s = 0;
    for (size_t i = 0; i < qib_volume_nvox(v); i++)
        s += qib_volume_get(v, i);
    return s;
}

static void test_mr(const char *name)
{
    char *p = ref(name);
    int rc;
    qib_harness *h = td_read(p, &rc, NULL);
    const qib_volume *v = rc == QIB_OK ? qib_harness_out_volume(h, "image") : NULL;
    ok(v != NULL, "%s reads", name);
    if (!v) {
        diag("%s", qib_harness_error(h));
        skip(5, "no volume");
    } else {
        const struct qib_geom *g = qib_volume_geom(v);
        ok(g->dims[0] == 64 && g->dims[1] == 64 && g->dims[2] == 1, "%s: 64x64x1", name);
        is_double(g->spacing[0], 0.3125, 1e-9, "%s: PixelSpacing 0.3125", name);
        ok(vox(v, 31, 0) == 422 && vox(v, 32, 0) == 319 && vox(v, 33, 0) == 361,
           "%s: arr[0,31:34] = 422 319 361", name);
        ok(vox(v, 0, 31) == 366 && vox(v, 1, 31) == 363 && vox(v, 2, 31) == 322 &&
               vox(v, 61, 63) == 1369 && vox(v, 62, 63) == 1129 && vox(v, 63, 63) == 862,
           "%s: arr[31,:3] = 366 363 322, arr[-1,-3:] = 1369 1129 862", name);
        is_double(sum(v), 2125338, 0, "%s: sum 2125338", name);
    }
    qib_harness_free(&h);
    free(p);
}

static void test_compressed(const char *name, const char *uid)
{
    char *p = ref(name);
    int rc;
    qib_harness *h = td_read(p, &rc, NULL);
    is_int(rc, QIB_EUNSUPPORTED, "%s: compressed pixels refused", name);
    contains(qib_harness_error(h), uid, "%s: the message names the transfer syntax", name);
    qib_harness_free(&h);
    free(p);
}

int main(void)
{
    char *top = refdata_path(DIR_ "CT_small.dcm");
    if (!top)
        skip_all("QIB_REFDATA/pydicom_test_files not found");
    free(top);
    plan(69);

    /* Every file: parsed, or refused with a message; never a crash. */
    char *dir = refdata_path(DIR_);
    walk(dir);
    free(dir);
    is_int((long long)nfiles, 165, "165 files in pydicom's test_files");
    is_int((long long)(nparsed + nmsg), (long long)nfiles, "every file parses or fails with a message");
    /* 165 = 153 DICOM files that parse + 8 non-DICOM (READMEs, JSON, dumps,
     * gzip) + 4 broken DICOM files (two truncated, a DICOMDIR whose item
     * overruns, no_meta.dcm whose dataset starts after a stray byte; pydicom
     * reads that one as a single garbage element too). */
    is_int((long long)nparsed, 153, "153 files parse");
    is_int((long long)(nread + nrefused), (long long)nfiles,
           "read.dicom on each file: a volume or a refusal with a message");
    diag("read.dicom: %zu files give a volume, %zu are refused", nread, nrefused);

    struct qib__dcm *d = NULL;
    char err[512];
    char s[128];
    char *p = ref("CT_small.dcm");
    int rc = qib__dcm_open(p, &d, err, sizeof err);
    ok(rc == QIB_OK, "CT_small.dcm parses");
    qib__dcm_str(d, 0, QIB__DCM_TAG(0x0002, 0x0012), s, sizeof s);
    is_string(s, "1.3.6.1.4.1.5962.2", "CT_small: ImplementationClassUID");
    ok(qib__dcm_find(d, 0, QIB__DCM_TAG(0x0043, 0x104E)) != 0, "CT_small: private (0043,104E) kept");
    qib__dcm_free(&d);
    qib_harness *h = td_read(p, &rc, NULL);
    const qib_volume *v = rc == QIB_OK ? qib_harness_out_volume(h, "image") : NULL;
    ok(v != NULL, "CT_small.dcm reads through read.dicom");
    if (v) {
        const struct qib_geom *g = qib_volume_geom(v);
        ok(g->dims[0] == 128 && g->dims[1] == 128 && g->dims[2] == 1, "CT_small: 128x128x1");
        ok(fabs(g->origin[0] + 158.135803) < 1e-6 && fabs(g->origin[1] + 179.035797) < 1e-6 &&
               fabs(g->origin[2] + 75.699997) < 1e-6,
           "CT_small: origin = ImagePositionPatient");
        is_int(qib_volume_dtype(v), QIB_I16, "CT_small: i16 (integer rescale)");
        is_double(vox(v, 127, 127), 909 - 1024, 0, "CT_small: pixel_array[-1][-1] 909, HU -115");
        is_double(sum(v), 14826310.0 - 1024.0 * 128 * 128, 0, "CT_small: stored sum 14826310 - 1024 n");
        is_string(qib_meta_get(qib_volume_meta(v), "units"), "HU", "CT_small: units HU");
        is_string(qib_meta_get(qib_volume_meta(v), "modality"), "CT", "CT_small: modality CT");
    } else {
        diag("%s", qib_harness_error(h));
        skip(7, "no volume");
    }
    qib_harness_free(&h);
    free(p);

    test_mr("MR_small.dcm");
    test_mr("MR_small_implicit.dcm");
    test_mr("MR_small_bigendian.dcm");
    test_mr("MR_small_expb.dcm");
    test_mr("MR_small_padded.dcm");
    test_compressed("MR_small_RLE.dcm", "1.2.840.10008.1.2.5 (RLE Lossless)");
    test_compressed("MR_small_jp2klossless.dcm", "1.2.840.10008.1.2.4.90 (JPEG 2000");
    test_compressed("MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80 (JPEG-LS");

    /* Deflated explicit VR little endian. */
    p = ref("image_dfl.dcm");
    rc = qib__dcm_open(p, &d, err, sizeof err);
    ok(rc == QIB_OK && d->ts_kind == QIB__DCM_TS_DEFLATED, "image_dfl.dcm: deflated dataset inflates");
    if (rc == QIB_OK) {
        qib__dcm_str(d, 0, QIB__DCM_TAG(0x0008, 0x0064), s, sizeof s);
        is_string(s, "WSD", "image_dfl: ConversionType WSD");
        const uint8_t *px;
        size_t len = 0;
        qib__dcm_pixels(d, &px, &len, err, sizeof err);
        is_int((long long)len, 512 * 512, "image_dfl: 512x512 u8 pixels");
    } else {
        diag("%s", err);
        skip(2, "no dataset");
    }
    qib__dcm_free(&d);
    free(p);

    /* A raw dataset (no preamble, no group 0002) with nested sequences. */
    p = ref("rtstruct.dcm");
    rc = qib__dcm_open(p, &d, err, sizeof err);
    ok(rc == QIB_OK && !d->has_meta, "rtstruct.dcm: raw dataset without file meta parses");
    if (rc == QIB_OK) {
        uint32_t it = qib__dcm_item(d, qib__dcm_find(d, 0, QIB__DCM_TAG(0x3006, 0x0010)), 0);
        it = qib__dcm_item(d, qib__dcm_find(d, it, QIB__DCM_TAG(0x3006, 0x0012)), 0);
        it = qib__dcm_item(d, qib__dcm_find(d, it, QIB__DCM_TAG(0x3006, 0x0014)), 0);
        qib__dcm_str(d, it, QIB__DCM_TAG(0x0020, 0x000E), s, sizeof s);
        is_string(s, "1.2.826.0.1.3680043.8.498.2010020400001.2.1.1",
                  "rtstruct: ReferencedFrameOfReferenceSequence[0]...SeriesInstanceUID");
        it = qib__dcm_item(d, qib__dcm_find(d, 0, QIB__DCM_TAG(0x3006, 0x0039)), 0);
        it = qib__dcm_item(d, qib__dcm_find(d, it, QIB__DCM_TAG(0x3006, 0x0040)), 2);
        double cn = 0;
        qib__dcm_num(d, it, QIB__DCM_TAG(0x3006, 0x0048), &cn, 1);
        is_double(cn, 3, 0, "rtstruct: ROIContourSequence[0].ContourSequence[2].ContourNumber 3");
    } else {
        diag("%s", err);
        skip(2, "no dataset");
    }
    qib__dcm_free(&d);
    free(p);

    /* Explicit VR big endian RGB: parsed, but not a greyscale series. */
    p = ref("ExplVR_BigEnd.dcm");
    rc = qib__dcm_open(p, &d, err, sizeof err);
    ok(rc == QIB_OK && d->big_endian, "ExplVR_BigEnd.dcm parses as big endian");
    if (rc == QIB_OK) {
        double rows = 0;
        qib__dcm_num(d, 0, QIB__DCM_TAG(0x0028, 0x0010), &rows, 1);
        is_double(rows, 60, 0, "ExplVR_BigEnd: Rows 60 (a US read big endian)");
    } else {
        skip(1, "no dataset");
    }
    qib__dcm_free(&d);
    h = td_read(p, &rc, NULL);
    ok(rc != QIB_OK, "ExplVR_BigEnd.dcm: RGB refused by read.dicom");
    contains(qib_harness_error(h), "SamplesPerPixel", "ExplVR_BigEnd: the message names SamplesPerPixel");
    qib_harness_free(&h);
    free(p);

    /* RT Dose: 15 frames along GridFrameOffsetVector, DoseGridScaling 1e-6
     * (stored values per the README: sum 1519910000; pydicom's
     * pixel_array[0,0,0] 1249000 and [14,9,9] 799000). */
    p = ref("rtdose.dcm");
    h = td_read(p, &rc, NULL);
    v = rc == QIB_OK ? qib_harness_out_volume(h, "image") : NULL;
    ok(v && qib_volume_geom(v)->dims[2] == 15 && qib_volume_geom(v)->spacing[2] == 5.0,
       "rtdose.dcm: 10x10x15 grid, frames 5 mm apart (GridFrameOffsetVector)");
    if (v) {
        is_double(sum(v), 1519.91, 1e-3, "rtdose: sum of stored x DoseGridScaling = 1519.91");
        ok(fabs(vox(v, 0, 0) - 1.249) < 1e-6 && fabs(qib_volume_get(v, 14 * 100 + 99) - 0.799) < 1e-6,
           "rtdose: voxel (0,0,0) 1.249, (9,9,14) 0.799");
        is_string(qib_meta_get(qib_volume_meta(v), "units"), "RELATIVE", "rtdose: DoseUnits");
    } else {
        diag("%s", qib_harness_error(h));
        skip(3, "no volume");
    }
    qib_harness_free(&h);
    free(p);

    /* Truncated files: the length check names the element. */
    p = ref("MR_truncated.dcm");
    rc = qib__dcm_open(p, &d, err, sizeof err);
    is_int(rc, QIB_EFORMAT, "MR_truncated.dcm refused");
    contains(err, "(7FE0,0010)", "MR_truncated: the message names the pixel data element");
    free(p);
    p = ref("rtplan_truncated.dcm");
    rc = qib__dcm_open(p, &d, err, sizeof err);
    is_int(rc, QIB_EFORMAT, "rtplan_truncated.dcm refused");
    contains(err, "runs past the end", "rtplan_truncated: the message says the length overruns");
    free(p);
    return tap_done();
}
