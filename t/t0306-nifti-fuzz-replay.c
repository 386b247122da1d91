/* Replays seeds of the read.nifti fuzz target (t/fuzz/nifti-fuzz.c) through
 * the fuzz function, then 300 deterministic mutations of them (bit flips
 * and extreme values in the header, cut files, corrupt gzip streams), so
 * every build and the sanitizer build run a small fuzzing pass.  A crash,
 * a sanitizer report or a refusal without a message fails the test.
 *   t/t0306-nifti-fuzz-replay --write-corpus DIR   writes the seeds to DIR */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/nifti-fuzz.c"
#include "t0300-nifti-util.h"

struct seed {
    const char *name;
    unsigned char *data;
    size_t len;
};

static uint32_t lcg = 20240601u;

static uint32_t rnd(void)
{
    lcg = lcg * 1664525u + 1013904223u;
    return lcg >> 8;
}

/* Seeds: small valid files of several kinds, made with the test helpers. */
static size_t make_seeds(struct seed *s, const char *tmp)
{
    size_t n = 0;
    struct tn t;
    uint8_t u8[24];
    int16_t i16[24];
    float f32[24];
    for (int i = 0; i < 24; i++) {
        u8[i] = (uint8_t)(i % 4);
        i16[i] = (int16_t)(i * 100 - 1000);
        f32[i] = (float)i * 0.5f;
    }
    tn_default(&t, 2, 8, 4, 3, 2, 1);
    s[n].name = "u8.nii";
    s[n].data = tn_image(&t, u8, 24, 1, &s[n].len);
    n++;

    tn_default(&t, 4, 16, 4, 3, 2, 1);
    t.big = 1;
    t.qform_code = 1;
    t.quatern[1] = 0.5;
    t.pixdim[0] = -1;
    s[n].name = "i16-be-qform.nii";
    s[n].data = tn_image(&t, i16, 48, 2, &s[n].len);
    n++;

    tn_default(&t, 16, 32, 4, 3, 2, 1);
    t.version = 2;
    t.sform_code = 1;
    double sr[12] = {0, 2, 0, 1, 3, 0, 0, 2, 0, 0, 1, 3};
    memcpy(t.srow, sr, sizeof sr);
    s[n].name = "f32-nifti2.nii";
    s[n].data = tn_image(&t, f32, 96, 4, &s[n].len);
    n++;

    tn_default(&t, 4, 16, 2, 3, 2, 2);
    t.scl_slope = 0.5;
    t.scl_inter = 3;
    t.xyzt_units = 2 | 16;
    t.pixdim[4] = 2.5;
    t.ext_flag = 1;
    t.ext_bytes = 32;
    s[n].name = "i16-4d-scaled-ext.nii";
    s[n].data = tn_image(&t, i16, 48, 2, &s[n].len);
    n++;
    tn_put(s[n - 1].data + 352, 32, 4, 0);
    tn_put(s[n - 1].data + 356, 6, 4, 0);

    /* gzip seeds: the first two images compressed (one and two members) */
    for (int k = 0; k < 2; k++) {
        char *p = tn_join(tmp, "seed.gz");
        tn_write_gz(p, s[k].data, s[k].len, k + 1);
        size_t len;
        char *b = slurp(p, &len);
        free(p);
        if (!b)
            bail("cannot read the gzip seed back");
        s[n].name = k == 0 ? "u8.nii.gz" : "i16-be-2members.nii.gz";
        s[n].data = (unsigned char *)b;
        s[n++].len = len;
    }
    return n;
}

/* One mutation of @p in into @p out (same capacity); returns the length. */
static size_t mutate(const struct seed *in, unsigned char *out)
{
    size_t len = in->len;
    memcpy(out, in->data, len);
    switch (rnd() % 6) {
    case 0: /* flip a few bits anywhere */
    case 1:
        for (int k = 1 + (int)(rnd() % 4); k > 0; k--)
            out[rnd() % len] ^= (unsigned char)(1u << (rnd() % 8));
        break;
    case 2: { /* an extreme 16-bit value over a header field */
        static const uint16_t ext[] = {0, 1, 0x7fff, 0x8000, 0xffff, 0x0100, 348, 540};
        size_t at = rnd() % (len < 540 ? len - 1 : 539);
        uint16_t v = ext[rnd() % (sizeof ext / sizeof ext[0])];
        memcpy(out + at, &v, 2);
        break;
    }
    case 3: { /* an extreme float over a 4-byte field */
        static const float ext[] = {0.0f, -1.0f, 1e30f, -1e30f, 1e-30f, 352.5f, 1e9f};
        size_t at = rnd() % (len < 540 ? len - 3 : 537);
        float v = ext[rnd() % (sizeof ext / sizeof ext[0])];
        memcpy(out + at, &v, 4);
        break;
    }
    case 4: /* cut */
        len = rnd() % len;
        break;
    default: /* overwrite a run with one byte */
    {
        size_t at = rnd() % len, k = 1 + rnd() % 16;
        memset(out + at, (int)(rnd() & 0xff), at + k < len ? k : len - at);
        break;
    }
    }
    return len;
}

int main(int argc, char **argv)
{
    char *tmp = tap_tmpdir();
    struct seed seeds[8];
    size_t ns = make_seeds(seeds, tmp);
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0) {
        for (size_t i = 0; i < ns; i++) {
            char *p = tn_join(argv[2], seeds[i].name);
            tn_write_raw(p, seeds[i].data, seeds[i].len);
            free(p);
        }
        return 0;
    }
    plan_lazy();
    for (size_t i = 0; i < ns; i++) {
        ok(LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].len) == 0, "seed %s: fuzz function "
                                                                     "returns",
           seeds[i].name);
        /* the seeds are valid: each must read as a volume */
        int rc;
        qib_harness *h = tn_read(fuzz_file(), NULL, &rc);
        is_int(rc, QIB_OK, "seed %s reads", seeds[i].name);
        if (rc)
            diag("%s", qib_harness_error(h));
        qib_harness_free(&h);
    }
    size_t done = 0, cap = 0;
    for (size_t i = 0; i < ns; i++)
        cap = seeds[i].len > cap ? seeds[i].len : cap;
    unsigned char *buf = malloc(cap);
    if (!buf)
        bail("out of memory");
    const int per_seed = 50;
    for (size_t i = 0; i < ns; i++)
        for (int k = 0; k < per_seed; k++) {
            size_t len = mutate(&seeds[i], buf);
            LLVMFuzzerTestOneInput(buf, len);
            done++;
        }
    is_int((long long)done, (long long)ns * per_seed,
           "%zu mutated inputs read or refused with a message, no crash", done);
    free(buf);
    for (size_t i = 0; i < ns; i++)
        free(seeds[i].data);
    free(tmp);
    return tap_done();
}
