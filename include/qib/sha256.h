/* SHA-256 (FIPS 180-4), for provenance: every input, output and plugin
 * module is recorded by its digest. */
#ifndef QIB_SHA256_H
#define QIB_SHA256_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Incremental hashing state; treat as opaque. */
struct qib_sha256 {
    uint32_t h[8];
    uint64_t nbytes;
    unsigned char buf[64];
    size_t nbuf;
};

void qib_sha256_init(struct qib_sha256 *s);
void qib_sha256_update(struct qib_sha256 *s, const void *data, size_t len);
/** Finish and write the 32-byte digest. */
void qib_sha256_final(struct qib_sha256 *s, unsigned char digest[32]);

/** Digest of a buffer as 64 lower-case hex digits plus NUL. */
void qib_sha256_hex(const void *data, size_t len, char hex[65]);

/** Digest of a file's contents as hex.  Returns QIB_OK or QIB_EIO (errno
 * kept).  A regular file's digest is remembered for the life of the process
 * (keyed by device, inode, size and modification time), so hashing the same
 * unchanged file again does not read it again.  Thread-safe: a caller
 * asking for a file another thread is hashing waits for that result instead
 * of reading the file a second time. */
int qib_sha256_file(const char *path, char hex[65]);

#ifdef __cplusplus
}
#endif
#endif
