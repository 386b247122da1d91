/* Pieces of the provenance record (OUT/provenance.json, described in
 * doc/pipeline-format.md): how qib was built, the host, digests of inputs
 * (files and directory trees), parameter values, the metadata of objects,
 * and writing a file so that it is either complete or absent. */
#define _GNU_SOURCE
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "core/buildinfo.h"
#include "json.h"
#include "pipeline.h"
#include "qib/qib.h"

QIB_PRINTF(4, 5)
static int fail(int status, char *err, size_t len, const char *fmt, ...)
{
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return status;
}

void qib__iso8601_utc(const struct timespec *t, char out[32])
{
    struct tm tm;
    time_t s = t->tv_sec;
    if (!gmtime_r(&s, &tm)) {
        snprintf(out, 32, "?");
        return;
    }
    char b[24];
    if (strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        b[0] = '\0';
    unsigned ms = (unsigned)((t->tv_nsec / 1000000) % 1000);
    snprintf(out, 32, "%.19s.%03uZ", b, ms);
}

void qib__prov_qib(struct qib__json *j, const char *key)
{
    qib__json_obj_begin(j, key);
    qib__json_str(j, "version", qib_version());
    qib__json_int(j, "abi_major", QIB_ABI_MAJOR);
    qib__json_int(j, "abi_minor", QIB_ABI_MINOR);
    qib__json_obj_begin(j, "build");
    qib__json_str(j, "cc", QIB_BUILD_CC);
#ifdef __VERSION__
    qib__json_str(j, "compiler", __VERSION__);
#endif
    qib__json_str(j, "cflags", QIB_BUILD_CFLAGS);
    qib__json_str(j, "qib_cflags", QIB_BUILD_QIB_CFLAGS);
    qib__json_str(j, "cppflags", QIB_BUILD_CPPFLAGS);
    qib__json_str(j, "ldflags", QIB_BUILD_LDFLAGS);
#ifdef HAVE_ISAL
    qib__json_bool(j, "isal", 1);
#else
    qib__json_bool(j, "isal", 0);
#endif
    qib__json_bool(j, "sanitizers", QIB_BUILD_SANITIZERS);
    qib__json_obj_end(j);
    qib__json_obj_end(j);
}

void qib__prov_host(struct qib__json *j, const char *key)
{
    struct utsname u;
    char host[256];
    qib__json_obj_begin(j, key);
    if (gethostname(host, sizeof host) == 0) {
        host[sizeof host - 1] = '\0';
        qib__json_str(j, "hostname", host);
    } else {
        qib__json_null(j, "hostname");
    }
    if (uname(&u) == 0) {
        qib__json_str(j, "sysname", u.sysname);
        qib__json_str(j, "release", u.release);
        qib__json_str(j, "version", u.version);
        qib__json_str(j, "machine", u.machine);
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    qib__json_int(j, "cpus_online", n > 0 ? n : 0);
    qib__json_obj_end(j);
}

/* ---- directory trees ---- */

struct tree {
    char **rel;
    size_t n, cap;
};

static int tree_add(struct tree *t, const char *rel)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **r = realloc(t->rel, cap * sizeof *r);
        if (!r)
            return QIB_ENOMEM;
        t->rel = r;
        t->cap = cap;
    }
    t->rel[t->n] = strdup(rel);
    if (!t->rel[t->n])
        return QIB_ENOMEM;
    t->n++;
    return QIB_OK;
}

/* Collect the regular files below root/rel.  Directories reached through a
 * symbolic link are not entered, so a link loop cannot recurse forever. */
static int walk(const char *root, const char *rel, struct tree *t, int depth, char *err,
                size_t errlen)
{
    if (depth > 64)
        return fail(QIB_EUNSUPPORTED, err, errlen, "%s/%s: directories nested too deeply", root, rel);
    char *dir = NULL;
    if (asprintf(&dir, "%s%s%s", root, *rel ? "/" : "", rel) < 0)
        return QIB_ENOMEM;
    DIR *d = opendir(dir);
    if (!d) {
        int rc = fail(QIB_EIO, err, errlen, "%s: %s", dir, strerror(errno));
        free(dir);
        return rc;
    }
    int rc = QIB_OK;
    struct dirent *e;
    while (rc == QIB_OK && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *sub = NULL, *full = NULL;
        if (asprintf(&sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name) < 0) {
            rc = QIB_ENOMEM;
            break;
        }
        if (asprintf(&full, "%s/%s", dir, e->d_name) < 0) {
            free(sub);
            rc = QIB_ENOMEM;
            break;
        }
        struct stat ls, st;
        if (lstat(full, &ls) != 0) {
            rc = fail(QIB_EIO, err, errlen, "%s: %s", full, strerror(errno));
        } else if (S_ISDIR(ls.st_mode)) {
            rc = walk(root, sub, t, depth + 1, err, errlen);
        } else if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
            rc = tree_add(t, sub);
        }
        free(sub);
        free(full);
    }
    closedir(d);
    free(dir);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int qib__hash_tree(const char *dir, char hex[65], size_t *nfiles, unsigned long long *nbytes,
                   char *err, size_t errlen)
{
    struct tree t = {0};
    int rc = walk(dir, "", &t, 0, err, errlen);
    unsigned long long bytes = 0;
    struct qib_sha256 s;
    qib_sha256_init(&s);
    if (rc == QIB_OK) {
        qsort(t.rel, t.n, sizeof *t.rel, cmp_str);
        for (size_t i = 0; i < t.n && rc == QIB_OK; i++) {
            char *full = NULL;
            char fh[65];
            struct stat st;
            if (asprintf(&full, "%s/%s", dir, t.rel[i]) < 0) {
                rc = QIB_ENOMEM;
                break;
            }
            if (qib_sha256_file(full, fh) != QIB_OK) {
                rc = fail(QIB_EIO, err, errlen, "%s: %s", full, strerror(errno));
            } else {
                if (stat(full, &st) == 0)
                    bytes += (unsigned long long)st.st_size;
                qib_sha256_update(&s, fh, 64);
                qib_sha256_update(&s, "  ", 2);
                qib_sha256_update(&s, t.rel[i], strlen(t.rel[i]));
                qib_sha256_update(&s, "\n", 1);
            }
            free(full);
        }
    }
    if (rc == QIB_ENOMEM)
        fail(rc, err, errlen, "%s: out of memory", dir);
    if (rc == QIB_OK) {
        unsigned char dg[32];
        qib_sha256_final(&s, dg);
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", dg[i]);
        if (nfiles)
            *nfiles = t.n;
        if (nbytes)
            *nbytes = bytes;
    }
    for (size_t i = 0; i < t.n; i++)
        free(t.rel[i]);
    free(t.rel);
    return rc;
}

int qib__prov_input(struct qib__json *j, const char *name, enum qib__input_type type,
                    const char *value, char *err, size_t errlen)
{
    qib__json_obj_begin(j, NULL);
    qib__json_str(j, "name", name);
    qib__json_str(j, "type", qib__input_type_name(type));
    qib__json_str(j, "value", value);
    int rc = QIB_OK;
    if (type == QIB__INPUT_PATH && value) {
        struct stat st;
        char hex[65];
        char *abs = realpath(value, NULL);
        qib__json_str(j, "realpath", abs);
        free(abs);
        if (stat(value, &st) != 0) {
            rc = fail(QIB_EIO, err, errlen, "input \"%s\": %s: %s", name, value, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            size_t nf = 0;
            unsigned long long nb = 0;
            rc = qib__hash_tree(value, hex, &nf, &nb, err, errlen);
            qib__json_str(j, "kind", "directory");
            if (rc == QIB_OK) {
                qib__json_str(j, "sha256", hex);
                qib__json_str(j, "sha256_of", "manifest: \"SHA256  RELPATH\\n\" per file, sorted by RELPATH");
                qib__json_int(j, "files", (int64_t)nf);
                qib__json_int(j, "bytes", (int64_t)nb);
            }
        } else {
            qib__json_str(j, "kind", "file");
            qib__json_int(j, "bytes", (int64_t)st.st_size);
            if (qib_sha256_file(value, hex) != QIB_OK)
                rc = fail(QIB_EIO, err, errlen, "input \"%s\": %s: %s", name, value, strerror(errno));
            else
                qib__json_str(j, "sha256", hex);
        }
    }
    qib__json_obj_end(j);
    return rc;
}

/* ---- values ---- */

void qib__prov_param(struct qib__json *j, const char *key, const struct qib_param *p,
                     const void *priv)
{
    const char *at = (const char *)priv + p->offset;
    switch (p->type) {
    case QIB_PARAM_BOOL:
    case QIB_PARAM_ENUM: {
        int v;
        memcpy(&v, at, sizeof v);
        if (p->type == QIB_PARAM_BOOL) {
            qib__json_bool(j, key, v);
        } else {
            size_t n = 0;
            while (p->choices && p->choices[n])
                n++;
            qib__json_str(j, key, v >= 0 && (size_t)v < n ? p->choices[v] : NULL);
        }
        return;
    }
    case QIB_PARAM_INT: {
        int64_t v;
        memcpy(&v, at, sizeof v);
        qib__json_int(j, key, v);
        return;
    }
    case QIB_PARAM_DOUBLE: {
        double v;
        memcpy(&v, at, sizeof v);
        qib__json_double(j, key, v);
        return;
    }
    case QIB_PARAM_STRING:
    case QIB_PARAM_PATH: {
        const char *s;
        memcpy(&s, at, sizeof s);
        qib__json_str(j, key, s);
        return;
    }
    case QIB_PARAM_VEC3: {
        double v[3];
        memcpy(v, at, sizeof v);
        qib__json_arr_begin(j, key);
        for (int i = 0; i < 3; i++)
            qib__json_double(j, NULL, v[i]);
        qib__json_arr_end(j);
        return;
    }
    case QIB_PARAM_DLIST: {
        struct qib_dlist dl;
        memcpy(&dl, at, sizeof dl);
        qib__json_arr_begin(j, key);
        for (size_t i = 0; i < dl.n; i++)
            qib__json_double(j, NULL, dl.v[i]);
        qib__json_arr_end(j);
        return;
    }
    case QIB_PARAM_PLIST: {
        /* Every path as given; the files read are in the step's files_read
         * with their digests. */
        struct qib_plist pl;
        memcpy(&pl, at, sizeof pl);
        qib__json_arr_begin(j, key);
        for (size_t i = 0; i < pl.n; i++)
            qib__json_str(j, NULL, pl.v[i]);
        qib__json_arr_end(j);
        return;
    }
    }
    qib__json_null(j, key);
}

static void prov_meta(struct qib__json *j, const qib_meta *m)
{
    qib__json_obj_begin(j, "meta");
    for (size_t i = 0; i < qib_meta_count(m); i++) {
        const char *k, *v, *src;
        if (qib_meta_at(m, i, &k, &v, &src) != QIB_OK)
            break;
        qib__json_obj_begin(j, k);
        qib__json_str(j, "value", v);
        qib__json_str(j, "source", src);
        qib__json_obj_end(j);
    }
    qib__json_obj_end(j);
}

void qib__prov_volume(struct qib__json *j, const char *key, const qib_volume *v)
{
    const struct qib_geom *g = qib_volume_geom(v);
    qib__json_obj_begin(j, key);
    qib__json_str(j, "kind", qib_volume_is_mask(v) ? "mask" : "volume");
    qib__json_str(j, "dtype", qib_dtype_name(qib_volume_dtype(v)));
    qib__json_arr_begin(j, "dims");
    for (int i = 0; i < g->ndim; i++)
        qib__json_int(j, NULL, (int64_t)g->dims[i]);
    qib__json_arr_end(j);
    qib__json_arr_begin(j, "spacing");
    for (int i = 0; i < g->ndim; i++)
        qib__json_double(j, NULL, g->spacing[i]);
    qib__json_arr_end(j);
    qib__json_arr_begin(j, "origin_lps");
    for (int i = 0; i < 3; i++)
        qib__json_double(j, NULL, g->origin[i]);
    qib__json_arr_end(j);
    qib__json_arr_begin(j, "direction_lps");
    for (int i = 0; i < 9; i++)
        qib__json_double(j, NULL, g->dir[i]);
    qib__json_arr_end(j);
    prov_meta(j, qib_volume_meta(v));
    qib__json_obj_end(j);
}

void qib__prov_table(struct qib__json *j, const char *key, const qib_table *t, int rows)
{
    size_t nc = qib_table_ncols(t), nr = qib_table_nrows(t);
    qib__json_obj_begin(j, key);
    qib__json_str(j, "kind", "table");
    qib__json_int(j, "nrows", (int64_t)nr);
    qib__json_arr_begin(j, "columns");
    for (size_t c = 0; c < nc; c++) {
        enum qib_coltype ty = qib_table_col_type(t, c);
        qib__json_obj_begin(j, NULL);
        qib__json_str(j, "name", qib_table_col_name(t, c));
        qib__json_str(j, "type", ty == QIB_COL_INT ? "int" : ty == QIB_COL_DOUBLE ? "double" : "string");
        if (*qib_table_col_unit(t, c))
            qib__json_str(j, "unit", qib_table_col_unit(t, c));
        if (*qib_table_col_ibsi(t, c))
            qib__json_str(j, "ibsi", qib_table_col_ibsi(t, c));
        qib__json_obj_end(j);
    }
    qib__json_arr_end(j);
    if (rows) {
        qib__json_arr_begin(j, "rows");
        for (size_t r = 0; r < nr; r++) {
            qib__json_obj_begin(j, NULL);
            for (size_t c = 0; c < nc; c++) {
                const char *name = qib_table_col_name(t, c);
                if (!qib_table_has_value(t, r, c)) {
                    qib__json_null(j, name);
                    continue;
                }
                switch (qib_table_col_type(t, c)) {
                case QIB_COL_INT: qib__json_int(j, name, qib_table_get_int(t, r, c)); break;
                case QIB_COL_DOUBLE: qib__json_double(j, name, qib_table_get_double(t, r, c)); break;
                case QIB_COL_STRING: qib__json_str(j, name, qib_table_get_string(t, r, c)); break;
                }
            }
            qib__json_obj_end(j);
        }
        qib__json_arr_end(j);
    }
    prov_meta(j, qib_table_meta(t));
    qib__json_obj_end(j);
}

void qib__prov_transform(struct qib__json *j, const char *key, const qib_transform *t)
{
    double m[16];
    qib_transform_matrix(t, m);
    qib__json_obj_begin(j, key);
    qib__json_str(j, "kind", "transform");
    qib__json_arr_begin(j, "matrix_lps");
    for (int i = 0; i < 16; i++)
        qib__json_double(j, NULL, m[i]);
    qib__json_arr_end(j);
    prov_meta(j, qib_transform_meta(t));
    qib__json_obj_end(j);
}

int qib__write_file_atomic(const char *dir, const char *name, const char *text, size_t len,
                           char *err, size_t errlen)
{
    char *tmp = NULL, *full = NULL;
    if (asprintf(&full, "%s/%s", dir, name) < 0)
        return fail(QIB_ENOMEM, err, errlen, "out of memory");
    if (asprintf(&tmp, "%s/.%s.tmp-XXXXXX", dir, name) < 0) {
        free(full);
        return fail(QIB_ENOMEM, err, errlen, "out of memory");
    }
    int rc = QIB_OK;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = fail(QIB_EIO, err, errlen, "%s: cannot create: %s", full, strerror(errno));
        goto out;
    }
    mode_t um = umask(0);
    umask(um);
    (void)fchmod(fd, 0666 & ~um);
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        done += (size_t)w;
    }
    if (done < len || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        rc = fail(QIB_EIO, err, errlen, "%s: write error: %s", full, strerror(e));
        goto out;
    }
    if (close(fd) != 0 || rename(tmp, full) != 0) {
        int e = errno;
        unlink(tmp);
        rc = fail(QIB_EIO, err, errlen, "%s: cannot write: %s", full, strerror(e));
    }
out:
    free(tmp);
    free(full);
    return rc;
}
