/* Cohorts: RFC 4180 CSV reading and writing, a small JSON reader for the
 * records qib writes itself (status.json, provenance.json), and the rule
 * for case identifiers.  Used by the batch, status, gather and reproduce
 * commands (core/cmd_batch.c). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cohort.h"
#include "qib/status.h"

int qib__slurp(const char *path, size_t max, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return QIB_EIO;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    if (!b) {
        fclose(f);
        return QIB_ENOMEM;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= max) {
                free(b);
                fclose(f);
                return QIB_ERANGE;
            }
            size_t nc = cap > max / 2 ? max : cap * 2;
            char *nb = realloc(b, nc + 1);
            if (!nb) {
                free(b);
                fclose(f);
                return QIB_ENOMEM;
            }
            b = nb;
            cap = nc;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    int e = errno;
    fclose(f);
    if (bad) {
        free(b);
        errno = e;
        return QIB_EIO;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return QIB_OK;
}

/* ---- CSV ---- */

struct sbuf {
    char *s;
    size_t n, cap;
};

static int sb_add(struct sbuf *b, char c)
{
    if (b->n + 1 >= b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 32;
        char *ns = realloc(b->s, nc);
        if (!ns)
            return -1;
        b->s = ns;
        b->cap = nc;
    }
    b->s[b->n++] = c;
    b->s[b->n] = '\0';
    return 0;
}

static char *sb_take(struct sbuf *b)
{
    char *s = b->s ? b->s : calloc(1, 1);
    memset(b, 0, sizeof *b);
    return s;
}

/* Append a field to the row being built. */
static int row_add(char ***row, size_t *n, char *field)
{
    if (!field)
        return -1;
    char **nr = realloc(*row, (*n + 1) * sizeof *nr);
    if (!nr) {
        free(field);
        return -1;
    }
    nr[(*n)++] = field;
    *row = nr;
    return 0;
}

static int csv_add_row(struct qib__csv *c, char **row, size_t n)
{
    char ***nr = realloc(c->rows, (c->nrows + 1) * sizeof *nr);
    if (!nr)
        return -1;
    c->rows = nr;
    size_t *nn = realloc(c->ncols, (c->nrows + 1) * sizeof *nn);
    if (!nn)
        return -1;
    c->ncols = nn;
    c->rows[c->nrows] = row;
    c->ncols[c->nrows] = n;
    c->nrows++;
    return 0;
}

static void free_row(char **row, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(row[i]);
    free(row);
}

int qib__csv_parse(const char *t, size_t len, struct qib__csv *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t i = 0;
    if (len >= 3 && (unsigned char)t[0] == 0xEF && (unsigned char)t[1] == 0xBB &&
        (unsigned char)t[2] == 0xBF)
        i = 3;
    long line = 1;
    char **row = NULL;
    size_t nrow = 0;
    struct sbuf f = {0};
    while (i < len) {
        /* Start of a record: skip an empty line. */
        if (nrow == 0 && (t[i] == '\n' || (t[i] == '\r' && i + 1 < len && t[i + 1] == '\n'))) {
            i += t[i] == '\r' ? 2 : 1;
            line++;
            continue;
        }
        /* One field. */
        int quoted = 0;
        if (t[i] == '"') {
            quoted = 1;
            long qline = line;
            i++;
            for (;;) {
                if (i >= len) {
                    snprintf(err, errlen, "line %ld: a quoted field is not closed", qline);
                    goto bad_format;
                }
                if (t[i] == '"') {
                    if (i + 1 < len && t[i + 1] == '"') {
                        if (sb_add(&f, '"') < 0)
                            goto oom;
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (t[i] == '\0') {
                    snprintf(err, errlen, "line %ld: a NUL byte", line);
                    goto bad_format;
                }
                if (t[i] == '\n')
                    line++;
                if (sb_add(&f, t[i]) < 0)
                    goto oom;
                i++;
            }
        } else {
            while (i < len && t[i] != ',' && t[i] != '\n' && t[i] != '\r') {
                if (t[i] == '"') {
                    snprintf(err, errlen, "line %ld: a quote inside an unquoted field "
                             "(quote the whole field and double the quote: \"a\"\"b\")", line);
                    goto bad_format;
                }
                if (t[i] == '\0') {
                    snprintf(err, errlen, "line %ld: a NUL byte", line);
                    goto bad_format;
                }
                if (sb_add(&f, t[i]) < 0)
                    goto oom;
                i++;
            }
        }
        if (row_add(&row, &nrow, sb_take(&f)) < 0)
            goto oom;
        if (i >= len) {
            break;
        } else if (t[i] == ',') {
            i++;
            if (i >= len || t[i] == '\n' || t[i] == '\r') {
                /* A trailing comma: one more, empty, field. */
                if (row_add(&row, &nrow, sb_take(&f)) < 0)
                    goto oom;
            } else {
                continue;
            }
        }
        if (i < len && t[i] == '\r') {
            if (i + 1 < len && t[i + 1] == '\n') {
                i++;
            } else {
                snprintf(err, errlen, "line %ld: a carriage return not followed by a line feed%s",
                         line, quoted ? " after a quoted field" : "");
                goto bad_format;
            }
        }
        if (i < len && t[i] != '\n') {
            snprintf(err, errlen, "line %ld: text after a quoted field (expected a comma or "
                     "the end of the line)", line);
            goto bad_format;
        }
        if (i < len)
            i++;
        if (csv_add_row(out, row, nrow) < 0)
            goto oom;
        row = NULL;
        nrow = 0;
        line++;
    }
    if (nrow) {
        if (csv_add_row(out, row, nrow) < 0)
            goto oom;
    }
    return QIB_OK;
oom:
    free_row(row, nrow);
    free(f.s);
    qib__csv_free(out);
    snprintf(err, errlen, "out of memory");
    return QIB_ENOMEM;
bad_format:
    free_row(row, nrow);
    free(f.s);
    qib__csv_free(out);
    return QIB_EFORMAT;
}

int qib__csv_read(const char *path, struct qib__csv *out, char *err, size_t errlen)
{
    char *buf;
    size_t len;
    memset(out, 0, sizeof *out);
    int rc = qib__slurp(path, QIB__CSV_MAX_BYTES, &buf, &len);
    if (rc == QIB_EIO) {
        snprintf(err, errlen, "%s", strerror(errno));
        return rc;
    }
    if (rc == QIB_ERANGE) {
        snprintf(err, errlen, "larger than %u MiB", QIB__CSV_MAX_BYTES >> 20);
        return QIB_EFORMAT;
    }
    if (rc != QIB_OK) {
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    rc = qib__csv_parse(buf, len, out, err, errlen);
    free(buf);
    return rc;
}

void qib__csv_free(struct qib__csv *c)
{
    for (size_t r = 0; r < c->nrows; r++)
        free_row(c->rows[r], c->ncols[r]);
    free(c->rows);
    free(c->ncols);
    memset(c, 0, sizeof *c);
}

void qib__csv_field(FILE *f, const char *s)
{
    if (!s[strcspn(s, ",\"\r\n")] && s[0] != ' ' && (!*s || s[strlen(s) - 1] != ' ')) {
        fputs(s, f);
        return;
    }
    putc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            putc('"', f);
        putc(*s, f);
    }
    putc('"', f);
}

/* ---- JSON ---- */

struct jp {
    const char *t;
    size_t len, i;
    long line;
    char *err;
    size_t errlen;
    int oom;
};

#define JMAXDEPTH 64

static void jskip(struct jp *p)
{
    while (p->i < p->len) {
        char c = p->t[p->i];
        if (c == '\n')
            p->line++;
        else if (c != ' ' && c != '\t' && c != '\r')
            break;
        p->i++;
    }
}

static int jfail(struct jp *p, const char *what)
{
    if (!p->oom)
        snprintf(p->err, p->errlen, "line %ld: %s", p->line, what);
    return -1;
}

static void put_utf8(struct sbuf *b, unsigned long cp, int *bad)
{
    if (cp < 0x80) {
        *bad |= sb_add(b, (char)cp);
    } else if (cp < 0x800) {
        *bad |= sb_add(b, (char)(0xC0 | (cp >> 6)));
        *bad |= sb_add(b, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        *bad |= sb_add(b, (char)(0xE0 | (cp >> 12)));
        *bad |= sb_add(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        *bad |= sb_add(b, (char)(0x80 | (cp & 0x3F)));
    } else {
        *bad |= sb_add(b, (char)(0xF0 | (cp >> 18)));
        *bad |= sb_add(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
        *bad |= sb_add(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        *bad |= sb_add(b, (char)(0x80 | (cp & 0x3F)));
    }
}

static int hex4(struct jp *p, unsigned long *v)
{
    if (p->len - p->i < 4)
        return -1;
    *v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p->t[p->i++];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        *v = *v * 16 + (unsigned long)d;
    }
    return 0;
}

static char *jstring(struct jp *p)
{
    struct sbuf b = {0};
    int bad = 0;
    p->i++; /* the opening quote */
    for (;;) {
        if (p->i >= p->len) {
            free(b.s);
            jfail(p, "a string is not closed");
            return NULL;
        }
        unsigned char c = (unsigned char)p->t[p->i++];
        if (c == '"')
            break;
        if (c < 0x20) {
            free(b.s);
            jfail(p, "a control character inside a string");
            return NULL;
        }
        if (c != '\\') {
            bad |= sb_add(&b, (char)c);
            continue;
        }
        if (p->i >= p->len)
            continue;
        char e = p->t[p->i++];
        switch (e) {
        case '"': case '\\': case '/':
            bad |= sb_add(&b, e);
            break;
        case 'b': bad |= sb_add(&b, '\b'); break;
        case 'f': bad |= sb_add(&b, '\f'); break;
        case 'n': bad |= sb_add(&b, '\n'); break;
        case 'r': bad |= sb_add(&b, '\r'); break;
        case 't': bad |= sb_add(&b, '\t'); break;
        case 'u': {
            unsigned long cp, lo;
            if (hex4(p, &cp) < 0) {
                free(b.s);
                jfail(p, "a bad \\u escape");
                return NULL;
            }
            if (cp >= 0xD800 && cp < 0xDC00 && p->len - p->i >= 6 && p->t[p->i] == '\\' &&
                p->t[p->i + 1] == 'u') {
                size_t save = p->i;
                p->i += 2;
                if (hex4(p, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000)
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                else
                    p->i = save;
            }
            if (cp == 0 || (cp >= 0xD800 && cp < 0xE000))
                cp = 0xFFFD; /* strings stay NUL-free, valid UTF-8 */
            put_utf8(&b, cp, &bad);
            break;
        }
        default:
            free(b.s);
            jfail(p, "an unknown escape in a string");
            return NULL;
        }
    }
    if (bad) {
        free(b.s);
        p->oom = 1;
        snprintf(p->err, p->errlen, "out of memory");
        return NULL;
    }
    return sb_take(&b);
}

static int jvalue(struct jp *p, struct qib__jv *v, int depth);

static int jcontainer(struct jp *p, struct qib__jv *v, int depth, int obj)
{
    v->type = obj ? QIB__JOBJ : QIB__JARR;
    char close = obj ? '}' : ']';
    p->i++;
    jskip(p);
    if (p->i < p->len && p->t[p->i] == close) {
        p->i++;
        return 0;
    }
    size_t cap = 0;
    for (;;) {
        jskip(p);
        if (v->n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            struct qib__jv *ni = realloc(v->items, nc * sizeof *ni);
            if (ni)
                v->items = ni;
            char **nk = ni && obj ? realloc(v->keys, nc * sizeof *nk) : NULL;
            if (nk)
                v->keys = nk;
            if (!ni || (obj && !nk)) {
                p->oom = 1;
                snprintf(p->err, p->errlen, "out of memory");
                return -1;
            }
            cap = nc;
        }
        if (obj) {
            if (p->i >= p->len || p->t[p->i] != '"')
                return jfail(p, "expected a member name in quotes");
            char *k = jstring(p);
            if (!k)
                return -1;
            v->keys[v->n] = k;
            jskip(p);
            if (p->i >= p->len || p->t[p->i] != ':') {
                memset(&v->items[v->n], 0, sizeof v->items[v->n]);
                v->n++;
                return jfail(p, "expected ':' after a member name");
            }
            p->i++;
        }
        memset(&v->items[v->n], 0, sizeof v->items[v->n]);
        v->n++;
        if (jvalue(p, &v->items[v->n - 1], depth + 1) < 0)
            return -1;
        jskip(p);
        if (p->i < p->len && p->t[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->len && p->t[p->i] == close) {
            p->i++;
            return 0;
        }
        return jfail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int jvalue(struct jp *p, struct qib__jv *v, int depth)
{
    memset(v, 0, sizeof *v);
    if (depth > JMAXDEPTH)
        return jfail(p, "nested too deeply");
    jskip(p);
    if (p->i >= p->len)
        return jfail(p, "unexpected end of the text");
    char c = p->t[p->i];
    if (c == '{' || c == '[')
        return jcontainer(p, v, depth, c == '{');
    if (c == '"') {
        v->type = QIB__JSTR;
        v->s = jstring(p);
        return v->s ? 0 : -1;
    }
    static const struct { const char *w; enum qib__jtype t; int b; } words[] = {
        {"null", QIB__JNULL, 0}, {"true", QIB__JBOOL, 1}, {"false", QIB__JBOOL, 0}};
    for (size_t k = 0; k < 3; k++) {
        size_t wl = strlen(words[k].w);
        if (p->len - p->i >= wl && memcmp(p->t + p->i, words[k].w, wl) == 0) {
            v->type = words[k].t;
            v->b = words[k].b;
            p->i += wl;
            return 0;
        }
    }
    size_t s = p->i;
    while (p->i < p->len && strchr("+-0123456789.eE", p->t[p->i]) && p->t[p->i])
        p->i++;
    if (p->i == s)
        return jfail(p, "expected a value");
    v->type = QIB__JNUM;
    v->s = malloc(p->i - s + 1);
    if (!v->s) {
        p->oom = 1;
        snprintf(p->err, p->errlen, "out of memory");
        return -1;
    }
    memcpy(v->s, p->t + s, p->i - s);
    v->s[p->i - s] = '\0';
    char *end;
    v->num = strtod(v->s, &end);
    if (*end)
        return jfail(p, "a malformed number");
    return 0;
}

int qib__json_parse(const char *text, size_t len, struct qib__jv *out, char *err, size_t errlen)
{
    struct jp p = {.t = text, .len = len, .line = 1, .err = err, .errlen = errlen};
    int rc = jvalue(&p, out, 0);
    if (rc == 0) {
        jskip(&p);
        if (p.i < p.len)
            rc = jfail(&p, "text after the value");
    }
    if (rc < 0) {
        qib__jv_free(out);
        return p.oom ? QIB_ENOMEM : QIB_EFORMAT;
    }
    return QIB_OK;
}

int qib__json_read(const char *path, struct qib__jv *out, char *err, size_t errlen)
{
    char *buf;
    size_t len;
    memset(out, 0, sizeof *out);
    int rc = qib__slurp(path, 64u << 20, &buf, &len);
    if (rc == QIB_EIO) {
        snprintf(err, errlen, "%s", strerror(errno));
        return rc;
    }
    if (rc != QIB_OK) {
        snprintf(err, errlen, rc == QIB_ERANGE ? "larger than 64 MiB" : "out of memory");
        return rc == QIB_ERANGE ? QIB_EFORMAT : rc;
    }
    rc = qib__json_parse(buf, len, out, err, errlen);
    free(buf);
    return rc;
}

void qib__jv_free(struct qib__jv *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        qib__jv_free(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->s);
    memset(v, 0, sizeof *v);
}

const struct qib__jv *qib__jv_get(const struct qib__jv *v, const char *key)
{
    if (!v || v->type != QIB__JOBJ)
        return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->keys[i], key) == 0)
            return &v->items[i];
    return NULL;
}

const char *qib__jv_str(const struct qib__jv *v, const char *key)
{
    const struct qib__jv *m = qib__jv_get(v, key);
    return m && m->type == QIB__JSTR ? m->s : NULL;
}

/* ---- case identifiers ---- */

const char *qib__case_id_problem(const char *id)
{
    size_t n = strlen(id);
    if (n == 0)
        return "it is empty";
    if (n > QIB__CASE_ID_MAX)
        return "it is longer than 128 characters";
    if (id[0] == '.' || id[0] == '-')
        return "it starts with '.' or '-'";
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return "only letters A-Z a-z, digits, '.', '_' and '-' make a safe directory name";
    }
    return NULL;
}
