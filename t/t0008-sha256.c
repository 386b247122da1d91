/* SHA-256 against the example vectors of FIPS 180-2 (Appendix B: "abc",
 * the 448-bit message, one million 'a'), plus streaming and file hashing. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qib/qib.h"
#include "tap.h"

static void hex_of(const unsigned char d[32], char hex[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* Several threads asking for the digest of one file at once: whoever
 * hashes it, every caller gets the same digest. */
struct racer {
    const char *path;
    char hex[65];
    int rc;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    r->rc = qib_sha256_file(r->path, r->hex);
    return NULL;
}

int main(void)
{
    plan_lazy();
    char hex[65];
    unsigned char d[32];
    struct qib_sha256 s;

    /* FIPS 180-2, Appendix B.1. */
    qib_sha256_hex("abc", 3, hex);
    is_string(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
              "FIPS 180-2 B.1: \"abc\"");
    /* FIPS 180-2, Appendix B.2: 448 bits, so the padding needs a second
     * block. */
    const char *m2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    qib_sha256_hex(m2, strlen(m2), hex);
    is_string(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
              "FIPS 180-2 B.2: 448-bit message");
    /* FIPS 180-2, Appendix B.3: one million 'a', fed in uneven pieces. */
    char *a = malloc(1000000);
    if (!a)
        bail("out of memory");
    memset(a, 'a', 1000000);
    qib_sha256_init(&s);
    size_t done = 0, step = 1;
    while (done < 1000000) {
        size_t n = 1000000 - done < step ? 1000000 - done : step;
        qib_sha256_update(&s, a + done, n);
        done += n;
        step = step * 3 % 1000 + 1;
    }
    qib_sha256_final(&s, d);
    hex_of(d, hex);
    is_string(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
              "FIPS 180-2 B.3: one million 'a', in uneven pieces");
    qib_sha256_hex(a, 1000000, hex);
    is_string(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
              "FIPS 180-2 B.3: one million 'a', at once");

    /* The empty message (FIPS 180-4 examples, NIST CSRC). */
    qib_sha256_hex("", 0, hex);
    is_string(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
              "empty message");

    /* Lengths around the padding boundary agree between one call and byte
     * by byte. */
    int agree = 1;
    for (size_t len = 50; len <= 130; len++) {
        char h1[65], h2[65];
        qib_sha256_hex(a, len, h1);
        qib_sha256_init(&s);
        for (size_t i = 0; i < len; i++)
            qib_sha256_update(&s, a + i, 1);
        qib_sha256_final(&s, d);
        hex_of(d, h2);
        agree &= strcmp(h1, h2) == 0;
    }
    ok(agree, "lengths 50..130: whole and byte-wise digests agree");

    /* A file larger than one read chunk (1 MiB): 3 MiB of 'a' is hashed the
     * same as the buffer. */
    char *dir = tap_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/data", dir);
    FILE *f = fopen(path, "wb");
    if (!f)
        bail("cannot write %s", path);
    char *big = malloc(3 << 20);
    if (!big)
        bail("out of memory");
    for (size_t i = 0; i < (3u << 20); i++)
        big[i] = (char)(i * 31 % 251);
    fwrite(big, 1, 3 << 20, f);
    fclose(f);
    char want[65];
    qib_sha256_hex(big, 3 << 20, want);
    is_int(qib_sha256_file(path, hex), QIB_OK, "hash a 3 MiB file");
    is_string(hex, want, "file digest = buffer digest");

    /* Eight threads on a fresh 24 MiB file (new inode, so not cached). */
    char path2[4096];
    snprintf(path2, sizeof path2, "%s/race", dir);
    f = fopen(path2, "wb");
    if (!f)
        bail("cannot write %s", path2);
    struct qib_sha256 rs;
    qib_sha256_init(&rs);
    for (int k = 0; k < 8; k++) {
        big[k] = (char)k; /* each 3 MiB piece differs */
        fwrite(big, 1, 3 << 20, f);
        qib_sha256_update(&rs, big, 3 << 20);
    }
    fclose(f);
    qib_sha256_final(&rs, d);
    hex_of(d, want);
    struct racer r[8];
    pthread_t th[8];
    int started = 0;
    for (int k = 0; k < 8; k++) {
        r[k] = (struct racer){.path = path2, .rc = -1};
        if (pthread_create(&th[k], NULL, race, &r[k]) == 0)
            started++;
        else
            break;
    }
    for (int k = 0; k < started; k++)
        pthread_join(th[k], NULL);
    int same = started == 8;
    for (int k = 0; k < started; k++)
        same &= r[k].rc == QIB_OK && strcmp(r[k].hex, want) == 0;
    ok(same, "8 threads hashing one 24 MiB file at once all get its digest");
    remove(path2);
    remove(path);
    errno = 0;
    is_int(qib_sha256_file(path, hex), QIB_EIO, "missing file");
    is_int(errno, ENOENT, "errno kept (ENOENT)");
    is_int(qib_sha256_file(dir, hex), QIB_EIO, "a directory is not a file");
    rmdir(dir);
    free(dir);
    free(big);
    free(a);
    return tap_done();
}
