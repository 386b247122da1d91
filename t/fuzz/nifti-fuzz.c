/* libFuzzer target for read.nifti: the input is written to a file and read
 * through the plugin harness, as a volume and as a mask, and a successful
 * result's first and last voxels are touched, so a sanitizer sees every byte
 * the reader writes.  Build and run (clang, from a build tree configured
 * with CC=clang CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined"):
 *   clang -g -fsanitize=fuzzer,address,undefined -I. -I$SRC/include \
 *     $SRC/t/fuzz/nifti-fuzz.c -Lcore/.libs -lqib -o nifti-fuzz
 *   t/t0306-nifti-fuzz-replay --write-corpus corpus
 *   QIB_PLUGIN_PATH=plugins/.libs LD_LIBRARY_PATH=core/.libs ./nifti-fuzz corpus
 * `make check` replays generated seeds and mutations of them through the
 * same function (t/t0306-nifti-fuzz-replay). */
#include <config.h>

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The file each input is written to, in a directory made once. */
static const char *fuzz_file(void)
{
    static char path[512];
    if (!path[0]) {
        const char *base = getenv("TMPDIR");
        char dir[400];
        snprintf(dir, sizeof dir, "%s/qib-nifti-fuzz-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(dir))
            abort();
        snprintf(path, sizeof path, "%s/input.nii", dir);
    }
    return path;
}

/* libFuzzer keeps counters inside the instrumented plugin; the harness
 * closes the module after each run, so keep it mapped for the process. */
static void pin_plugin(void)
{
    static int done;
    const char *dirs = getenv("QIB_PLUGIN_PATH");
    if (done || !dirs)
        return;
    done = 1;
    char so[1024];
    snprintf(so, sizeof so, "%.*s/read_nifti.so", (int)strcspn(dirs, ":"), dirs);
    (void)dlopen(so, RTLD_NOW | RTLD_NODELETE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pin_plugin();
    const char *path = fuzz_file();
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    if (size)
        fwrite(data, 1, size, f);
    fclose(f);
    static const char *const as[2] = {"volume", "mask"};
    for (int i = 0; i < 2; i++) {
        qib_harness *h = NULL;
        char err[256];
        if (qib_harness_new("read.nifti", &h, err, sizeof err) != QIB_OK)
            abort(); /* the plugin must be on QIB_PLUGIN_PATH */
        qib_harness_set_param(h, "path", path);
        qib_harness_set_param(h, "as", as[i]);
        if (qib_harness_run(h) == QIB_OK) {
            const qib_volume *v = qib_harness_out_volume(h, "image");
            size_t n = v ? qib_volume_nvox(v) : 0;
            if (n)
                (void)(qib_volume_get(v, 0) + qib_volume_get(v, n - 1));
        } else if (!qib_harness_error(h)[0]) {
            abort(); /* every refusal must say why */
        }
        qib_harness_free(&h);
    }
    return 0;
}
