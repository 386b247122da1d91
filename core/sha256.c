/* SHA-256 after FIPS 180-4, for provenance digests of inputs, outputs and
 * plugin modules. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef HAVE_LIBCRYPTO
/* The SHA256_* functions rather than EVP: the first EVP digest of a process
 * loads OpenSSL's configuration and providers, 1.5 to 3 ms that a short run
 * pays on every call of qib; SHA256_* use the same CPU code (SHA
 * instructions where present) without that start-up.  They are deprecated
 * since OpenSSL 3.0 but kept in it; a libcrypto built without them falls
 * back to EVP. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/sha.h>
#if defined(OPENSSL_NO_DEPRECATED_3_0)
#define USE_EVP 1
#endif
#endif

#include "qib/sha256.h"
#include "qib/status.h"

/* FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of the
 * cube roots of the first 64 primes. */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void compress(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16
             | (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = k + S1 + ch + K[t] + w[t];
        uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
}

void qib_sha256_init(struct qib_sha256 *s)
{
    /* Section 5.3.3: the initial hash value. */
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->nbytes = 0;
    s->nbuf = 0;
}

void qib_sha256_update(struct qib_sha256 *s, const void *data, size_t len)
{
    const unsigned char *p = data;
    s->nbytes += len;
    if (s->nbuf) {
        size_t take = 64 - s->nbuf < len ? 64 - s->nbuf : len;
        memcpy(s->buf + s->nbuf, p, take);
        s->nbuf += take;
        p += take;
        len -= take;
        if (s->nbuf < 64)
            return;
        compress(s->h, s->buf);
        s->nbuf = 0;
    }
    for (; len >= 64; p += 64, len -= 64)
        compress(s->h, p);
    if (len) {
        memcpy(s->buf, p, len);
        s->nbuf = len;
    }
}

void qib_sha256_final(struct qib_sha256 *s, unsigned char digest[32])
{
    /* Section 5.1.1: a 1 bit, zeros to 56 mod 64 bytes, the length in bits
     * as a 64-bit big-endian number. */
    uint64_t bits = s->nbytes * 8;
    s->buf[s->nbuf++] = 0x80;
    if (s->nbuf > 56) {
        memset(s->buf + s->nbuf, 0, 64 - s->nbuf);
        compress(s->h, s->buf);
        s->nbuf = 0;
    }
    memset(s->buf + s->nbuf, 0, 56 - s->nbuf);
    for (int i = 0; i < 8; i++)
        s->buf[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
    compress(s->h, s->buf);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (unsigned char)(s->h[i] >> 24);
        digest[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
        digest[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
        digest[4 * i + 3] = (unsigned char)s->h[i];
    }
    s->nbuf = 0;
}

static void to_hex(const unsigned char d[32], char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[64] = '\0';
}

void qib_sha256_hex(const void *data, size_t len, char hex[65])
{
    struct qib_sha256 s;
    unsigned char d[32];
    qib_sha256_init(&s);
    qib_sha256_update(&s, data, len);
    qib_sha256_final(&s, d);
    to_hex(d, hex);
}

/* Files are read in chunks of this size, so a digest never needs a whole
 * (possibly multi-gigabyte) image in memory. */
#define CHUNK (1u << 20)

/* Digests of whole files are remembered for the life of the process, keyed
 * by device, inode, size and modification time, so a file that provenance
 * hashes as a run input and a reader records again is read once.  Changing
 * the file changes its size or mtime and so misses the cache.
 *
 * Provenance hashes a run's inputs on a thread of its own while the steps
 * run, and a reader may ask for the digest of the same file meanwhile: the
 * first asker claims the file with a PENDING entry and the others wait on
 * cache_done for its result instead of reading the file a second time.  A
 * failed hash drops the claim, and a waiter then hashes the file itself (and
 * reports the error if it fails again). */
enum { EMPTY, PENDING, READY };

struct cached {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    int state;
    char hex[65];
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cache_done = PTHREAD_COND_INITIALIZER;
static struct cached *cache;
static size_t ncache, capcache;

/* The cache never grows past this; older entries are then overwritten in
 * turn, which only costs a second read of those files. */
#define CACHE_MAX 65536

static int same_file(const struct cached *c, const struct stat *st)
{
    return c->state != EMPTY && c->dev == st->st_dev && c->ino == st->st_ino &&
           c->size == st->st_size && c->mtime.tv_sec == st->st_mtim.tv_sec &&
           c->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* With cache_lock held. */
static struct cached *cache_lookup(const struct stat *st)
{
    for (size_t i = 0; i < ncache; i++)
        if (same_file(&cache[i], st))
            return &cache[i];
    return NULL;
}

/* A free slot, with cache_lock held; NULL when every slot is claimed by a
 * hash in progress (or on out of memory: the file is then just not
 * remembered). */
static struct cached *cache_slot(void)
{
    static size_t next;
    for (size_t i = 0; i < ncache; i++)
        if (cache[i].state == EMPTY)
            return &cache[i];
    if (ncache < capcache)
        return &cache[ncache++];
    if (capcache < CACHE_MAX) {
        size_t nc = capcache ? 2 * capcache : 64;
        struct cached *n = realloc(cache, nc * sizeof *n);
        if (n) {
            cache = n;
            capcache = nc;
            return &cache[ncache++];
        }
        if (!capcache)
            return NULL;
    }
    for (size_t k = 0; k < capcache; k++) {
        struct cached *c = &cache[next++ % capcache];
        if (c->state != PENDING)
            return c;
    }
    return NULL;
}

/* 1 with @p hex filled when the file's digest is known (waiting for a hash
 * in progress by another thread); 0 when the caller is to hash the file,
 * having claimed it if @p *claimed. */
static int cache_find_or_claim(const struct stat *st, char hex[65], int *claimed)
{
    int found = 0;
    *claimed = 0;
    pthread_mutex_lock(&cache_lock);
    for (;;) {
        struct cached *c = cache_lookup(st);
        if (c && c->state == PENDING) {
            pthread_cond_wait(&cache_done, &cache_lock);
            continue;
        }
        if (c) {
            memcpy(hex, c->hex, 65);
            found = 1;
        } else if ((c = cache_slot()) != NULL) {
            c->dev = st->st_dev;
            c->ino = st->st_ino;
            c->size = st->st_size;
            c->mtime = st->st_mtim;
            c->state = PENDING;
            *claimed = 1;
        }
        break;
    }
    pthread_mutex_unlock(&cache_lock);
    return found;
}

/* Settle a claim: the digest, or NULL to drop the claim after a failure. */
static void cache_settle(const struct stat *st, const char *hex)
{
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < ncache; i++) {
        struct cached *c = &cache[i];
        if (c->state == PENDING && same_file(c, st)) {
            if (hex) {
                memcpy(c->hex, hex, 65);
                c->state = READY;
            } else {
                c->state = EMPTY;
            }
            break;
        }
    }
    pthread_cond_broadcast(&cache_done);
    pthread_mutex_unlock(&cache_lock);
}

/* Hash an open stream to @p d; 0 or -1 with errno set. */
static int stream_digest(FILE *f, unsigned char d[32])
{
    unsigned char *buf = malloc(CHUNK);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    size_t n;
    int rc = 0;
#if defined(HAVE_LIBCRYPTO) && !defined(USE_EVP)
    SHA256_CTX c;
    if (SHA256_Init(&c) != 1)
        rc = -1;
    while ((n = fread(buf, 1, CHUNK, f)) > 0)
        if (SHA256_Update(&c, buf, n) != 1)
            rc = -1;
    if (SHA256_Final(d, &c) != 1)
        rc = -1;
    if (rc)
        errno = EIO;
#elif defined(HAVE_LIBCRYPTO)
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        free(buf);
        errno = ENOMEM;
        return -1;
    }
    while ((n = fread(buf, 1, CHUNK, f)) > 0)
        if (EVP_DigestUpdate(ctx, buf, n) != 1)
            rc = -1;
    if (EVP_DigestFinal_ex(ctx, d, NULL) != 1)
        rc = -1;
    EVP_MD_CTX_free(ctx);
    if (rc)
        errno = EIO;
#else
    struct qib_sha256 s;
    qib_sha256_init(&s);
    while ((n = fread(buf, 1, CHUNK, f)) > 0)
        qib_sha256_update(&s, buf, n);
    qib_sha256_final(&s, d);
#endif
    if (ferror(f)) {
        int saved = errno;
        rc = -1;
        errno = saved ? saved : EIO;
    }
    free(buf);
    return rc;
}

int qib_sha256_file(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return QIB_EIO;
    struct stat st;
    int have_st = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    int claimed = 0;
    if (have_st && cache_find_or_claim(&st, hex, &claimed)) {
        fclose(f);
        return QIB_OK;
    }
    unsigned char d[32];
    int rc = stream_digest(f, d);
    int saved = errno;
    fclose(f);
    if (rc) {
        if (claimed)
            cache_settle(&st, NULL);
        errno = saved;
        return QIB_EIO;
    }
    to_hex(d, hex);
    if (claimed)
        cache_settle(&st, hex);
    return QIB_OK;
}
