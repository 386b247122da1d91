/* Replays the seed corpus of the DICOM fuzz target (t/fuzz/corpus, written by
 * t/fuzz/make-corpus.py) through the fuzz function itself, so every build
 * (and the sanitizer build) runs it; and checks which seeds must parse and
 * which must be refused. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/dicom-fuzz.c"
#include "tap.h"

static const struct {
    const char *name;
    int parses;
} seeds[] = {
    {"bad-length.dcm", 0},        {"deflated.dcm", 1},         {"encapsulated-rle.dcm", 1},
    {"explicit-be.dcm", 1},       {"explicit-le-undef.dcm", 1}, {"explicit-le.dcm", 1},
    {"implicit-le-undef.dcm", 1}, {"implicit-le.dcm", 1},      {"nested.dcm", 1},
    {"no-delimiter.dcm", 0},      {"raw-dataset.dcm", 1},      {"raw-implicit.dcm", 1},
    {"truncated.dcm", 0},         {"un-sequence.dcm", 1},
};
#define NSEED (sizeof seeds / sizeof seeds[0])

int main(void)
{
    plan((int)NSEED * 2);
    for (size_t i = 0; i < NSEED; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "t/fuzz/corpus/%s", seeds[i].name);
        char *p = srcdir_path(rel);
        size_t len = 0;
        char *data = p ? slurp(p, &len) : NULL;
        if (!data)
            bail("cannot read %s", rel);
        ok(LLVMFuzzerTestOneInput((const uint8_t *)data, len) == 0, "%s: fuzz function returns",
           seeds[i].name);
        struct qib__dcm *d = NULL;
        char err[256];
        int rc = qib__dcm_parse(data, len, &d, err, sizeof err);
        ok((rc == 0) == seeds[i].parses, "%s: %s%s%s", seeds[i].name,
           seeds[i].parses ? "parses" : "refused", rc ? ": " : "", rc ? err : "");
        qib__dcm_free(&d);
        free(data);
        free(p);
    }
    return tap_done();
}
