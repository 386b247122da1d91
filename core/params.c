/* Plugin parameters: parse a value as written in a pipeline (or given to the
 * harness as text), check it against the descriptor's table (type, range,
 * choices, output-path confinement) and store it in the plugin's private
 * struct; fill defaults; format stored values back for provenance. */
#define _GNU_SOURCE
#include "config.h"

#include "engine.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qib/status.h"
#include "qib/table.h"

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

int qib__relpath_check(const char *rel, char *why, size_t len)
{
    if (!rel || !*rel)
        return fail(QIB_EINVAL, why, len, "the path is empty");
    if (rel[0] == '/')
        return fail(QIB_EINVAL, why, len,
                    "\"%s\" is absolute; output paths are relative to the output directory",
                    rel);
    long depth = 0;
    const char *s = rel;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            if (--depth < 0)
                return fail(QIB_EINVAL, why, len, "\"%s\" leaves the output directory", rel);
        } else if (n > 0 && !(n == 1 && s[0] == '.')) {
            depth++;
        }
        s += n;
        while (*s == '/')
            s++;
    }
    if (depth == 0)
        return fail(QIB_EINVAL, why, len, "\"%s\" names the output directory itself", rel);
    return QIB_OK;
}

/* ---- scalar parsers ---- */

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 1;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 1;
        }
    }
    return 0;
}

static int parse_int(const char *s, int64_t *out)
{
    /* strtoll accepts leading blanks, which a YAML scalar never has: refuse
     * them so "  5" and "5" are not silently the same value. */
    if (!*s || !(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s)
        return 0;
    *out = (int64_t)v;
    return 1;
}

static void fmt_num(double v, char buf[32])
{
    qib_format_double(v, buf);
}

static int check_range(const struct qib_param *p, double v, const char *text, const char *what,
                       char *err, size_t len)
{
    char b[32];
    if ((p->flags & QIB_PARAM_MIN) && v < p->min) {
        fmt_num(p->min, b);
        return fail(QIB_ERANGE, err, len, "parameter \"%s\": %s%s is below the minimum %s%s%s",
                    p->name, what, text, b, p->unit ? " " : "", p->unit ? p->unit : "");
    }
    if ((p->flags & QIB_PARAM_MAX) && v > p->max) {
        fmt_num(p->max, b);
        return fail(QIB_ERANGE, err, len, "parameter \"%s\": %s%s is above the maximum %s%s%s",
                    p->name, what, text, b, p->unit ? " " : "", p->unit ? p->unit : "");
    }
    return QIB_OK;
}

static int parse_number(const struct qib_param *p, const char *s, const char *what, double *out,
                        char *err, size_t len)
{
    double v;
    if (!*s || qib_parse_double(s, &v) != QIB_OK)
        return fail(QIB_EINVAL, err, len, "parameter \"%s\": %sexpected a number, got \"%s\"",
                    p->name, what, s);
    /* Infinities are useful bounds ("upper: inf"); NaN never is. */
    if (isnan(v))
        return fail(QIB_EINVAL, err, len,
                    "parameter \"%s\": %sexpected a number, got \"%s\" (not a number)", p->name,
                    what, s);
    int rc = check_range(p, v, s, what, err, len);
    if (rc != QIB_OK)
        return rc;
    *out = v;
    return QIB_OK;
}

static void *at(void *priv, const struct qib_param *p)
{
    return (char *)priv + p->offset;
}

static const void *cat(const void *priv, const struct qib_param *p)
{
    return (const char *)priv + p->offset;
}

void qib__param_clear(const struct qib_param *p, void *priv)
{
    switch (p->type) {
    case QIB_PARAM_STRING:
    case QIB_PARAM_PATH: {
        char *s;
        memcpy(&s, at(priv, p), sizeof s);
        free(s);
        s = NULL;
        memcpy(at(priv, p), &s, sizeof s);
        break;
    }
    case QIB_PARAM_DLIST: {
        struct qib_dlist dl;
        memcpy(&dl, at(priv, p), sizeof dl);
        free(dl.v);
        dl.v = NULL;
        dl.n = 0;
        memcpy(at(priv, p), &dl, sizeof dl);
        break;
    }
    case QIB_PARAM_PLIST: {
        struct qib_plist pl;
        memcpy(&pl, at(priv, p), sizeof pl);
        for (size_t i = 0; i < pl.n; i++)
            free(pl.v[i]);
        free(pl.v);
        pl.v = NULL;
        pl.n = 0;
        memcpy(at(priv, p), &pl, sizeof pl);
        break;
    }
    case QIB_PARAM_BOOL:
    case QIB_PARAM_ENUM: memset(at(priv, p), 0, sizeof(int)); break;
    case QIB_PARAM_INT: memset(at(priv, p), 0, sizeof(int64_t)); break;
    case QIB_PARAM_DOUBLE: {
        double z = 0.0;
        memcpy(at(priv, p), &z, sizeof z);
        break;
    }
    case QIB_PARAM_VEC3: {
        double z[3] = {0.0, 0.0, 0.0};
        memcpy(at(priv, p), z, sizeof z);
        break;
    }
    }
}

static void join_choices(const struct qib_param *p, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; p->choices && p->choices[i]; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", p->choices[i]);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
}

/* A list of paths: each non-empty, copied; the old value is replaced only
 * when every item is good. */
static int store_plist(const struct qib_param *p, const char *const *items, size_t n, void *priv,
                       char *err, size_t len)
{
    if (n == 0)
        return fail(QIB_EINVAL, err, len,
                    "parameter \"%s\": expected a path or a list of at least one path, got []",
                    p->name);
    if (n > SIZE_MAX / sizeof(char *))
        return fail(QIB_EOVERFLOW, err, len, "parameter \"%s\": list too long", p->name);
    for (size_t i = 0; i < n; i++)
        if (!items[i] || !*items[i]) {
            if (n == 1)
                return fail(QIB_EINVAL, err, len, "parameter \"%s\": expected a path, got \"\"",
                            p->name);
            return fail(QIB_EINVAL, err, len,
                        "parameter \"%s\": item %zu: expected a path, got \"\"", p->name, i + 1);
        }
    struct qib_plist pl = {.n = n, .v = calloc(n, sizeof(char *))};
    if (!pl.v)
        return fail(QIB_ENOMEM, err, len, "parameter \"%s\": out of memory", p->name);
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(items[i]) + 1;
        pl.v[i] = malloc(l);
        if (!pl.v[i]) {
            for (size_t k = 0; k < i; k++)
                free(pl.v[k]);
            free(pl.v);
            return fail(QIB_ENOMEM, err, len, "parameter \"%s\": out of memory", p->name);
        }
        memcpy(pl.v[i], items[i], l);
    }
    qib__param_clear(p, priv);
    memcpy(at(priv, p), &pl, sizeof pl);
    return QIB_OK;
}

static int store_scalar(const struct qib_param *p, const char *s, void *priv, char *err,
                        size_t len)
{
    switch (p->type) {
    case QIB_PARAM_BOOL: {
        int b;
        if (!parse_bool(s, &b))
            return fail(QIB_EINVAL, err, len,
                        "parameter \"%s\": expected true or false, got \"%s\"", p->name, s);
        memcpy(at(priv, p), &b, sizeof b);
        return QIB_OK;
    }
    case QIB_PARAM_INT: {
        int64_t v;
        if (!parse_int(s, &v))
            return fail(QIB_EINVAL, err, len, "parameter \"%s\": expected an integer, got \"%s\"",
                        p->name, s);
        int rc = check_range(p, (double)v, s, "", err, len);
        if (rc != QIB_OK)
            return rc;
        memcpy(at(priv, p), &v, sizeof v);
        return QIB_OK;
    }
    case QIB_PARAM_DOUBLE: {
        double v;
        int rc = parse_number(p, s, "", &v, err, len);
        if (rc != QIB_OK)
            return rc;
        memcpy(at(priv, p), &v, sizeof v);
        return QIB_OK;
    }
    case QIB_PARAM_STRING:
    case QIB_PARAM_PATH: {
        if (p->type == QIB_PARAM_PATH && !*s)
            return fail(QIB_EINVAL, err, len, "parameter \"%s\": expected a path, got \"\"",
                        p->name);
        if (p->flags & QIB_PARAM_OUTPUT) {
            char why[256];
            if (qib__relpath_check(s, why, sizeof why) != QIB_OK)
                return fail(QIB_EINVAL, err, len, "parameter \"%s\": %s", p->name, why);
        }
        size_t n = strlen(s) + 1;
        char *copy = malloc(n);
        if (!copy)
            return fail(QIB_ENOMEM, err, len, "parameter \"%s\": out of memory", p->name);
        memcpy(copy, s, n);
        qib__param_clear(p, priv);
        memcpy(at(priv, p), &copy, sizeof copy);
        return QIB_OK;
    }
    case QIB_PARAM_ENUM: {
        for (int i = 0; p->choices && p->choices[i]; i++) {
            if (strcmp(p->choices[i], s) == 0) {
                memcpy(at(priv, p), &i, sizeof i);
                return QIB_OK;
            }
        }
        char list[512];
        join_choices(p, list, sizeof list);
        return fail(QIB_EINVAL, err, len, "parameter \"%s\": \"%s\" is not one of %s", p->name,
                    s, list);
    }
    case QIB_PARAM_VEC3:
        return fail(QIB_EINVAL, err, len,
                    "parameter \"%s\": expected a list of 3 numbers [x, y, z], got \"%s\"",
                    p->name, s);
    case QIB_PARAM_DLIST:
        return fail(QIB_EINVAL, err, len,
                    "parameter \"%s\": expected a list of numbers [a, b, ...], got \"%s\"",
                    p->name, s);
    case QIB_PARAM_PLIST: {
        /* One path is the common case ("path: DIR"): a list of one. */
        const char *one[1] = {s};
        return store_plist(p, one, 1, priv, err, len);
    }
    }
    return fail(QIB_EINVAL, err, len, "parameter \"%s\": unknown type %d", p->name, (int)p->type);
}

int qib__param_store(const struct qib_param *p, const struct qib__pvalue *v, void *priv,
                     char *err, size_t len)
{
    if (!v->is_list)
        return store_scalar(p, v->scalar ? v->scalar : "", priv, err, len);
    if (p->type == QIB_PARAM_VEC3) {
        if (v->n != 3)
            return fail(QIB_EINVAL, err, len,
                        "parameter \"%s\": expected a list of 3 numbers [x, y, z], got %zu "
                        "item%s",
                        p->name, v->n, v->n == 1 ? "" : "s");
        double x[3];
        for (size_t i = 0; i < 3; i++) {
            char what[32];
            snprintf(what, sizeof what, "item %zu: ", i + 1);
            int rc = parse_number(p, v->items[i], what, &x[i], err, len);
            if (rc != QIB_OK)
                return rc;
        }
        memcpy(at(priv, p), x, sizeof x);
        return QIB_OK;
    }
    if (p->type == QIB_PARAM_DLIST) {
        if (v->n == 0)
            return fail(QIB_EINVAL, err, len,
                        "parameter \"%s\": expected a list of at least one number, got []",
                        p->name);
        if (v->n > SIZE_MAX / sizeof(double))
            return fail(QIB_EOVERFLOW, err, len, "parameter \"%s\": list too long", p->name);
        double *x = malloc(v->n * sizeof *x);
        if (!x)
            return fail(QIB_ENOMEM, err, len, "parameter \"%s\": out of memory", p->name);
        for (size_t i = 0; i < v->n; i++) {
            char what[40];
            snprintf(what, sizeof what, "item %zu: ", i + 1);
            int rc = parse_number(p, v->items[i], what, &x[i], err, len);
            if (rc != QIB_OK) {
                free(x);
                return rc;
            }
        }
        qib__param_clear(p, priv);
        struct qib_dlist dl = {.n = v->n, .v = x};
        memcpy(at(priv, p), &dl, sizeof dl);
        return QIB_OK;
    }
    if (p->type == QIB_PARAM_PLIST)
        return store_plist(p, v->items, v->n, priv, err, len);
    return fail(QIB_EINVAL, err, len, "parameter \"%s\": expected a single %s value, got a list",
                p->name, qib__param_type_name(p->type));
}

/* Split "[a, 'b', c]" into trimmed, unquoted items (copied into one
 * buffer).  Returns 1 when @p text is a list. */
static int split_list(const char *text, char **buf, const char ***items, size_t *n, int *nomem)
{
    size_t tl = strlen(text);
    *nomem = 0;
    if (tl < 2 || text[0] != '[' || text[tl - 1] != ']')
        return 0;
    *buf = malloc(tl);
    size_t cap = 1;
    for (size_t i = 1; i + 1 < tl; i++)
        cap += text[i] == ',';
    *items = malloc(cap * sizeof **items);
    if (!*buf || !*items) {
        *nomem = 1;
        return 1;
    }
    memcpy(*buf, text + 1, tl - 2);
    (*buf)[tl - 2] = 0;
    *n = 0;
    char *s = *buf;
    /* An empty body "[]" or "[ ]" is the empty list. */
    char *probe = s;
    while (*probe == ' ' || *probe == '\t')
        probe++;
    if (!*probe)
        return 1;
    for (;;) {
        char *e = strchr(s, ',');
        if (e)
            *e = 0;
        while (*s == ' ' || *s == '\t')
            s++;
        size_t l = strlen(s);
        while (l && (s[l - 1] == ' ' || s[l - 1] == '\t'))
            s[--l] = 0;
        if (l >= 2 && (s[0] == '"' || s[0] == '\'') && s[l - 1] == s[0]) {
            s[l - 1] = 0;
            s++;
        }
        (*items)[(*n)++] = s;
        if (!e)
            break;
        s = e + 1;
    }
    return 1;
}

int qib__param_store_text(const struct qib_param *p, const char *text, void *priv, char *err,
                          size_t len)
{
    char *buf = NULL;
    const char **items = NULL;
    size_t n = 0;
    int nomem;
    struct qib__pvalue v = {0};
    int rc;
    if (split_list(text, &buf, &items, &n, &nomem)) {
        if (nomem) {
            free(buf);
            free(items);
            return fail(QIB_ENOMEM, err, len, "parameter \"%s\": out of memory", p->name);
        }
        v.is_list = 1;
        v.n = n;
        v.items = items;
    } else {
        v.scalar = text;
    }
    rc = qib__param_store(p, &v, priv, err, len);
    free(buf);
    free(items);
    return rc;
}

static char *dupstr(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

static char *format_list(const double *v, size_t n)
{
    size_t cap = 2 + n * 34;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    size_t used = 0;
    s[used++] = '[';
    for (size_t i = 0; i < n; i++) {
        char b[32];
        qib_format_double(v[i], b);
        used += (size_t)snprintf(s + used, cap - used, "%s%s", i ? ", " : "", b);
    }
    s[used++] = ']';
    s[used] = 0;
    return s;
}

/* "[a, b]" (NULL when unset): the pipeline-syntax text of a path list. */
static char *format_plist(const struct qib_plist *pl)
{
    if (!pl->v)
        return NULL;
    size_t cap = 3;
    for (size_t i = 0; i < pl->n; i++)
        cap += strlen(pl->v[i]) + 2;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    size_t used = 0;
    s[used++] = '[';
    for (size_t i = 0; i < pl->n; i++) {
        size_t l = strlen(pl->v[i]);
        if (i) {
            s[used++] = ',';
            s[used++] = ' ';
        }
        memcpy(s + used, pl->v[i], l);
        used += l;
    }
    s[used++] = ']';
    s[used] = 0;
    return s;
}

char *qib__param_format(const struct qib_param *p, const void *priv)
{
    char b[32];
    switch (p->type) {
    case QIB_PARAM_BOOL: {
        int v;
        memcpy(&v, cat(priv, p), sizeof v);
        return dupstr(v ? "true" : "false");
    }
    case QIB_PARAM_INT: {
        int64_t v;
        memcpy(&v, cat(priv, p), sizeof v);
        snprintf(b, sizeof b, "%" PRId64, v);
        return dupstr(b);
    }
    case QIB_PARAM_DOUBLE: {
        double v;
        memcpy(&v, cat(priv, p), sizeof v);
        return dupstr(qib_format_double(v, b));
    }
    case QIB_PARAM_STRING:
    case QIB_PARAM_PATH: {
        const char *s;
        memcpy(&s, cat(priv, p), sizeof s);
        return dupstr(s);
    }
    case QIB_PARAM_ENUM: {
        int v;
        memcpy(&v, cat(priv, p), sizeof v);
        size_t n = 0;
        while (p->choices && p->choices[n])
            n++;
        return dupstr(v >= 0 && (size_t)v < n ? p->choices[v] : "?");
    }
    case QIB_PARAM_VEC3: {
        double v[3];
        memcpy(v, cat(priv, p), sizeof v);
        return format_list(v, 3);
    }
    case QIB_PARAM_DLIST: {
        struct qib_dlist dl;
        memcpy(&dl, cat(priv, p), sizeof dl);
        return format_list(dl.v, dl.n);
    }
    case QIB_PARAM_PLIST: {
        struct qib_plist pl;
        memcpy(&pl, cat(priv, p), sizeof pl);
        return format_plist(&pl);
    }
    }
    return NULL;
}

/* ---- a private struct being filled ---- */

struct qib__params {
    const struct qib_plugin *desc;
    void *priv;
    unsigned char *given;
    size_t n;
    int finished;
};

int qib__params_new(const struct qib_plugin *d, qib__params **out)
{
    *out = NULL;
    qib__params *p = calloc(1, sizeof *p);
    if (!p)
        return QIB_ENOMEM;
    p->desc = d;
    p->n = qib__nparams(d->params);
    p->priv = calloc(1, d->priv_size ? d->priv_size : 1);
    p->given = calloc(p->n ? p->n : 1, 1);
    if (!p->priv || !p->given) {
        qib__params_free(&p);
        return QIB_ENOMEM;
    }
    *out = p;
    return QIB_OK;
}

void qib__params_free(qib__params **pp)
{
    if (!pp || !*pp)
        return;
    qib__params *p = *pp;
    if (p->priv)
        for (size_t i = 0; i < p->n; i++)
            qib__param_clear(&p->desc->params[i], p->priv);
    free(p->priv);
    free(p->given);
    free(p);
    *pp = NULL;
}

static const struct qib_param *lookup(qib__params *p, const char *name, size_t *idx, char *err,
                                      size_t len)
{
    const struct qib_param *q = qib__param_find(p->desc->params, name, idx);
    if (q)
        return q;
    if (p->n == 0) {
        fail(QIB_ENOTFOUND, err, len, "unknown parameter \"%s\" (this plugin has no parameters)",
             name);
        return NULL;
    }
    const char **names = malloc(p->n * sizeof *names);
    if (!names) {
        fail(QIB_ENOTFOUND, err, len, "unknown parameter \"%s\"", name);
        return NULL;
    }
    for (size_t i = 0; i < p->n; i++)
        names[i] = p->desc->params[i].name;
    const char *near = qib__nearest(name, names, p->n);
    if (near) {
        fail(QIB_ENOTFOUND, err, len, "unknown parameter \"%s\" (did you mean \"%s\"?)", name,
             near);
    } else {
        char list[512];
        size_t used = 0;
        list[0] = 0;
        for (size_t i = 0; i < p->n; i++) {
            int k = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
            if (k < 0 || (size_t)k >= sizeof list - used)
                break;
            used += (size_t)k;
        }
        fail(QIB_ENOTFOUND, err, len, "unknown parameter \"%s\" (known: %s)", name, list);
    }
    free(names);
    return NULL;
}

int qib__params_set(qib__params *p, const char *name, const struct qib__pvalue *v, char *err,
                    size_t len)
{
    size_t i;
    const struct qib_param *q = lookup(p, name, &i, err, len);
    if (!q)
        return QIB_ENOTFOUND;
    int rc = qib__param_store(q, v, p->priv, err, len);
    if (rc == QIB_OK)
        p->given[i] = 1;
    return rc;
}

int qib__params_set_text(qib__params *p, const char *name, const char *text, char *err,
                         size_t len)
{
    size_t i;
    const struct qib_param *q = lookup(p, name, &i, err, len);
    if (!q)
        return QIB_ENOTFOUND;
    int rc = qib__param_store_text(q, text, p->priv, err, len);
    if (rc == QIB_OK)
        p->given[i] = 1;
    return rc;
}

int qib__params_finish(qib__params *p, char *err, size_t len)
{
    if (p->finished)
        return QIB_OK;
    for (size_t i = 0; i < p->n; i++) {
        const struct qib_param *q = &p->desc->params[i];
        if (p->given[i])
            continue;
        if (q->flags & QIB_PARAM_REQUIRED)
            return fail(QIB_EINVAL, err, len, "parameter \"%s\" is required", q->name);
        if (q->def) {
            int rc = qib__param_store_text(q, q->def, p->priv, err, len);
            if (rc != QIB_OK)
                return rc;
        }
    }
    p->finished = 1;
    return QIB_OK;
}

int qib__params_given(const qib__params *p, size_t i)
{
    return i < p->n && p->given[i];
}

const struct qib_plugin *qib__params_desc(const qib__params *p)
{
    return p->desc;
}

void *qib__params_priv(qib__params *p)
{
    return p->priv;
}

const void *qib__params_priv_const(const qib__params *p)
{
    return p->priv;
}

enum qib_obj_kind qib__output_kind(const struct qib_plugin *d, const struct qib_port *port,
                                   const void *priv)
{
    if (port->kind != QIB_OBJ_VOLUME || !port->mask_when || !priv)
        return port->kind;
    const char *eq = strchr(port->mask_when, '=');
    if (!eq)
        return port->kind;
    size_t pl = (size_t)(eq - port->mask_when);
    for (size_t i = 0; d->params && d->params[i].name; i++) {
        const struct qib_param *q = &d->params[i];
        if (strlen(q->name) != pl || strncmp(q->name, port->mask_when, pl) != 0 ||
            q->type != QIB_PARAM_ENUM)
            continue;
        int v;
        memcpy(&v, cat(priv, q), sizeof v);
        size_t n = 0;
        while (q->choices && q->choices[n])
            n++;
        if (v >= 0 && (size_t)v < n && strcmp(q->choices[v], eq + 1) == 0)
            return QIB_OBJ_MASK;
        return QIB_OBJ_VOLUME;
    }
    return port->kind;
}
