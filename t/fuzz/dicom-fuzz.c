/* libFuzzer target for the DICOM parser (core/dicom.c): parse the input as a
 * file, then read every node as text and as numbers and fetch the pixels,
 * so a sanitizer sees every byte the accessors touch.  Build and run:
 *   clang -g -fsanitize=fuzzer,address,undefined -I BUILD -I include -I core \
 *     t/fuzz/dicom-fuzz.c core/dicom.c core/status.c -lz -o dicom-fuzz
 *   ./dicom-fuzz t/fuzz/corpus
 * `make check` replays the corpus through the same function
 * (t/t0740-dicom-fuzz-corpus). */
#include <config.h>

#include <stddef.h>
#include <stdint.h>

#include "dicom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct qib__dcm *d = NULL;
    char err[256];
    if (qib__dcm_parse(data, size, &d, err, sizeof err) != 0)
        return 0;
    char text[128];
    double v[16];
    for (uint32_t n = 1; n < d->nnodes; n++) {
        qib__dcm_text(d, n, text, sizeof text);
        qib__dcm_nums(d, n, v, 16);
        if (d->nodes[n].is_sq)
            qib__dcm_item(d, n, qib__dcm_nitems(d, n) / 2);
    }
    qib__dcm_find_in_seq(d, 0, QIB__DCM_TAG(0x0054, 0x0016), QIB__DCM_TAG(0x0018, 0x1074));
    const uint8_t *px;
    size_t len;
    if (qib__dcm_pixels(d, &px, &len, err, sizeof err) == 0 && len)
        (void)(px[0] + px[len - 1]);
    qib__dcm_free(&d);
    return 0;
}
