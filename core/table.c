/* Tables of named, typed columns, and the locale-independent conversion of
 * doubles to and from text that every exported number goes through (CSV and
 * JSON need '.' whatever LC_NUMERIC says). */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data-internal.h"
#include "qib/status.h"
#include "qib/table.h"

/* ---- doubles as text ---------------------------------------------------- */

/* printf and strtod follow the calling thread's LC_NUMERIC.  Switching the
 * thread (not the process) to the "C" locale with uselocale is thread-safe,
 * unlike setlocale. */
static locale_t c_locale = (locale_t)0;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

static locale_t enter_c_locale(void)
{
    pthread_once(&c_locale_once, c_locale_init);
    return c_locale ? uselocale(c_locale) : (locale_t)0;
}

static void leave_c_locale(locale_t saved)
{
    if (saved)
        uselocale(saved);
}

/* Without a C locale object (newlocale failed for lack of memory) fall back
 * to replacing the current locale's decimal mark in the output. */
static void fix_decimal_mark(char *buf)
{
    const char *dp = localeconv()->decimal_point;
    size_t dl = dp ? strlen(dp) : 0;
    if (dl == 0 || (dl == 1 && dp[0] == '.'))
        return;
    char *p = strstr(buf, dp);
    if (!p)
        return;
    *p = '.';
    memmove(p + 1, p + dl, strlen(p + dl) + 1);
}

static int nonfinite(double v, char *buf, size_t len)
{
    if (isnan(v))
        snprintf(buf, len, "nan");
    else if (isinf(v))
        snprintf(buf, len, "%s", v < 0 ? "-inf" : "inf");
    else
        return 0;
    return 1;
}

char *qib__format_double_prec(double v, int prec, char *buf, size_t len)
{
    if (nonfinite(v, buf, len))
        return buf;
    locale_t saved = enter_c_locale();
    snprintf(buf, len, "%.*g", prec, v);
    leave_c_locale(saved);
    if (!saved)
        fix_decimal_mark(buf);
    return buf;
}

/* strtod in the C locale; *end is set as by strtod. */
static double c_strtod(const char *s, char **end, locale_t *saved_out)
{
    locale_t saved = enter_c_locale();
    double v = strtod(s, end);
    leave_c_locale(saved);
    *saved_out = saved;
    return v;
}

char *qib_format_double(double v, char buf[32])
{
    if (nonfinite(v, buf, 32))
        return buf;
    locale_t saved = enter_c_locale();
    /* The fewest significant digits that read back to the same bits; 17
     * always do for IEEE binary64. */
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, 32, "%.*e", prec - 1, v);
        double back = strtod(buf, NULL);
        if (memcmp(&back, &v, sizeof v) == 0)
            break;
    }
    if (prec == 17)
        snprintf(buf, 32, "%.16e", v);
    /* Plain notation for everyday magnitudes (100, not 1e+02), exponent
     * notation outside them; both are valid CSV and JSON numbers.  The
     * digits are the same: rounding happens at the same decimal place. */
    const char *e = strchr(buf, 'e');
    int exp10 = e ? atoi(e + 1) : 0;
    if (exp10 >= -5 && exp10 < 16) {
        char fixed[32];
        int dec = prec - 1 - exp10;
        snprintf(fixed, sizeof fixed, "%.*f", dec < 0 ? 0 : dec, v);
        double back = strtod(fixed, NULL);
        if (memcmp(&back, &v, sizeof v) == 0)
            memcpy(buf, fixed, sizeof fixed);
    }
    leave_c_locale(saved);
    if (!saved)
        fix_decimal_mark(buf);
    return buf;
}

int qib_parse_double(const char *s, double *out)
{
    if (!s || !*s)
        return QIB_EFORMAT;
    /* strtod would skip leading white space; the whole text must be the
     * number, so refuse it here (trailing space is caught below). */
    if (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r'))
        return QIB_EFORMAT;
    char *end;
    locale_t saved;
    int saved_errno = errno;
    errno = 0;
    double v = c_strtod(s, &end, &saved);
    int overflow = errno == ERANGE && isinf(v);
    errno = saved_errno;
    if (!saved && *end) {
        /* No C locale object: accept '.' by rewriting it to the locale's
         * mark in a copy. */
        const char *dp = localeconv()->decimal_point;
        size_t n = strlen(s), dl = strlen(dp);
        char *copy = malloc(n * (dl ? dl : 1) + 1);
        if (!copy)
            return QIB_EFORMAT;
        char *w = copy;
        for (const char *r = s; *r; r++) {
            if (*r == '.') {
                memcpy(w, dp, dl);
                w += dl;
            } else {
                *w++ = *r;
            }
        }
        *w = '\0';
        errno = 0;
        v = strtod(copy, &end);
        overflow = errno == ERANGE && isinf(v);
        errno = saved_errno;
        int rest = *end != '\0';
        free(copy);
        if (rest || overflow)
            return QIB_EFORMAT;
        *out = v;
        return QIB_OK;
    }
    if (end == s || *end || overflow)
        return QIB_EFORMAT;
    *out = v;
    return QIB_OK;
}

/* ---- tables ------------------------------------------------------------- */

struct column {
    char *name;
    char *unit; /* never NULL: "" when none */
    char *ibsi; /* never NULL: "" when none */
    enum qib_coltype type;
    unsigned char *has; /* per row: 1 when the cell holds a value */
    union {
        int64_t *i;
        double *d;
        char **s;
    } v;
};

struct qib_table {
    atomic_uint refcount;
    struct column *cols;
    size_t ncols, colcap;
    size_t nrows, rowcap;
    qib_meta *meta;
};

static char *dupstr(const char *s)
{
    size_t len = strlen(s) + 1;
    char *d = malloc(len);
    if (d)
        memcpy(d, s, len);
    return d;
}

int qib_table_new(qib_table **out)
{
    qib_table *t = calloc(1, sizeof *t);
    if (!t)
        return QIB_ENOMEM;
    t->meta = qib_meta_new();
    if (!t->meta) {
        free(t);
        return QIB_ENOMEM;
    }
    atomic_init(&t->refcount, 1);
    *out = t;
    return QIB_OK;
}

qib_table *qib_table_ref(qib_table *t)
{
    if (t)
        atomic_fetch_add_explicit(&t->refcount, 1, memory_order_relaxed);
    return t;
}

static void column_free(struct column *c, size_t nrows)
{
    free(c->name);
    free(c->unit);
    free(c->ibsi);
    free(c->has);
    if (c->type == QIB_COL_STRING && c->v.s)
        for (size_t r = 0; r < nrows; r++)
            free(c->v.s[r]);
    free(c->type == QIB_COL_INT ? (void *)c->v.i
         : c->type == QIB_COL_DOUBLE ? (void *)c->v.d : (void *)c->v.s);
}

void qib_table_unref(qib_table **t)
{
    if (!t || !*t)
        return;
    qib_table *p = *t;
    *t = NULL;
    if (atomic_fetch_sub_explicit(&p->refcount, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t c = 0; c < p->ncols; c++)
        column_free(&p->cols[c], p->nrows);
    free(p->cols);
    qib_meta_free(&p->meta);
    free(p);
}

int qib_table_is_writable(const qib_table *t)
{
    return t && atomic_load_explicit(&((qib_table *)t)->refcount, memory_order_acquire) == 1;
}

static size_t elem_size(enum qib_coltype type)
{
    return type == QIB_COL_INT ? sizeof(int64_t)
         : type == QIB_COL_DOUBLE ? sizeof(double) : sizeof(char *);
}

static void *col_values(struct column *c)
{
    return c->type == QIB_COL_INT ? (void *)c->v.i
         : c->type == QIB_COL_DOUBLE ? (void *)c->v.d : (void *)c->v.s;
}

static void col_set_values(struct column *c, void *p)
{
    if (c->type == QIB_COL_INT)
        c->v.i = p;
    else if (c->type == QIB_COL_DOUBLE)
        c->v.d = p;
    else
        c->v.s = p;
}

/* Grow column @p c from @p old to @p cap rows; new cells are missing. */
static int col_grow(struct column *c, size_t old, size_t cap)
{
    size_t es = elem_size(c->type);
    if (cap == 0)
        return QIB_OK;
    if (cap > SIZE_MAX / es)
        return QIB_ENOMEM;
    unsigned char *has = realloc(c->has, cap);
    if (!has)
        return QIB_ENOMEM;
    c->has = has;
    memset(has + old, 0, cap - old);
    void *vals = realloc(col_values(c), cap * es);
    if (!vals)
        return QIB_ENOMEM;
    col_set_values(c, vals);
    /* Missing cells read as 0, NaN or NULL. */
    for (size_t r = old; r < cap; r++) {
        if (c->type == QIB_COL_INT)
            c->v.i[r] = 0;
        else if (c->type == QIB_COL_DOUBLE)
            c->v.d[r] = NAN;
        else
            c->v.s[r] = NULL;
    }
    return QIB_OK;
}

static int snake_case(const char *s)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

int qib_table_find(const qib_table *t, const char *name, size_t *col)
{
    if (!t || !name)
        return QIB_ENOTFOUND;
    for (size_t c = 0; c < t->ncols; c++)
        if (strcmp(t->cols[c].name, name) == 0) {
            if (col)
                *col = c;
            return QIB_OK;
        }
    return QIB_ENOTFOUND;
}

int qib_table_add_column(qib_table *t, const char *name, enum qib_coltype type,
                         const char *unit, const char *ibsi, size_t *col)
{
    if (!t)
        return QIB_EINVAL;
    if (!qib_table_is_writable(t))
        return QIB_EBUSY;
    if (!snake_case(name) || qib_table_find(t, name, NULL) == QIB_OK)
        return QIB_EINVAL;
    if (type != QIB_COL_INT && type != QIB_COL_DOUBLE && type != QIB_COL_STRING)
        return QIB_EINVAL;
    if (t->ncols == t->colcap) {
        size_t cap = t->colcap ? 2 * t->colcap : 8;
        struct column *nc = realloc(t->cols, cap * sizeof *nc);
        if (!nc)
            return QIB_ENOMEM;
        t->cols = nc;
        t->colcap = cap;
    }
    struct column c = {.type = type};
    c.name = dupstr(name);
    c.unit = dupstr(unit ? unit : "");
    c.ibsi = dupstr(ibsi ? ibsi : "");
    if (!c.name || !c.unit || !c.ibsi || col_grow(&c, 0, t->rowcap) != QIB_OK) {
        column_free(&c, 0);
        return QIB_ENOMEM;
    }
    t->cols[t->ncols] = c;
    if (col)
        *col = t->ncols;
    t->ncols++;
    return QIB_OK;
}

int qib_table_add_row(qib_table *t, size_t *row)
{
    if (!t)
        return QIB_EINVAL;
    if (!qib_table_is_writable(t))
        return QIB_EBUSY;
    if (t->nrows == t->rowcap) {
        size_t cap = t->rowcap ? 2 * t->rowcap : 16;
        for (size_t c = 0; c < t->ncols; c++)
            /* On failure the columns already grown keep their larger
             * arrays: harmless, rowcap still bounds the rows in use and a
             * later attempt grows them again to the same size. */
            if (col_grow(&t->cols[c], t->rowcap, cap) != QIB_OK)
                return QIB_ENOMEM;
        t->rowcap = cap;
    }
    for (size_t c = 0; c < t->ncols; c++)
        t->cols[c].has[t->nrows] = 0;
    if (row)
        *row = t->nrows;
    t->nrows++;
    return QIB_OK;
}

size_t qib_table_nrows(const qib_table *t)
{
    return t ? t->nrows : 0;
}

size_t qib_table_ncols(const qib_table *t)
{
    return t ? t->ncols : 0;
}

const char *qib_table_col_name(const qib_table *t, size_t col)
{
    return t && col < t->ncols ? t->cols[col].name : NULL;
}

enum qib_coltype qib_table_col_type(const qib_table *t, size_t col)
{
    return t && col < t->ncols ? t->cols[col].type : (enum qib_coltype)0;
}

const char *qib_table_col_unit(const qib_table *t, size_t col)
{
    return t && col < t->ncols ? t->cols[col].unit : "";
}

const char *qib_table_col_ibsi(const qib_table *t, size_t col)
{
    return t && col < t->ncols ? t->cols[col].ibsi : "";
}

/* Common checks of the setters; returns the column or NULL with *st set. */
static struct column *settable(qib_table *t, size_t row, size_t col,
                               enum qib_coltype type, int *st)
{
    if (!t || row >= t->nrows || col >= t->ncols) {
        *st = QIB_ERANGE;
        return NULL;
    }
    if (!qib_table_is_writable(t)) {
        *st = QIB_EBUSY;
        return NULL;
    }
    if (t->cols[col].type != type) {
        *st = QIB_EINVAL;
        return NULL;
    }
    *st = QIB_OK;
    return &t->cols[col];
}

int qib_table_set_int(qib_table *t, size_t row, size_t col, int64_t v)
{
    int st;
    struct column *c = settable(t, row, col, QIB_COL_INT, &st);
    if (!c)
        return st;
    c->v.i[row] = v;
    c->has[row] = 1;
    return QIB_OK;
}

int qib_table_set_double(qib_table *t, size_t row, size_t col, double v)
{
    int st;
    struct column *c = settable(t, row, col, QIB_COL_DOUBLE, &st);
    if (!c)
        return st;
    c->v.d[row] = v;
    c->has[row] = !isnan(v); /* NaN is the missing value */
    return QIB_OK;
}

int qib_table_set_string(qib_table *t, size_t row, size_t col, const char *v)
{
    int st;
    struct column *c = settable(t, row, col, QIB_COL_STRING, &st);
    if (!c)
        return st;
    char *d = NULL;
    if (v && !(d = dupstr(v)))
        return QIB_ENOMEM;
    free(c->v.s[row]);
    c->v.s[row] = d;
    c->has[row] = d != NULL;
    return QIB_OK;
}

int qib_table_has_value(const qib_table *t, size_t row, size_t col)
{
    return t && row < t->nrows && col < t->ncols && t->cols[col].has[row];
}

int64_t qib_table_get_int(const qib_table *t, size_t row, size_t col)
{
    if (!qib_table_has_value(t, row, col) || t->cols[col].type != QIB_COL_INT)
        return 0;
    return t->cols[col].v.i[row];
}

double qib_table_get_double(const qib_table *t, size_t row, size_t col)
{
    if (!qib_table_has_value(t, row, col))
        return NAN;
    if (t->cols[col].type == QIB_COL_DOUBLE)
        return t->cols[col].v.d[row];
    if (t->cols[col].type == QIB_COL_INT)
        return (double)t->cols[col].v.i[row];
    return NAN;
}

const char *qib_table_get_string(const qib_table *t, size_t row, size_t col)
{
    if (!qib_table_has_value(t, row, col) || t->cols[col].type != QIB_COL_STRING)
        return NULL;
    return t->cols[col].v.s[row];
}

const qib_meta *qib_table_meta(const qib_table *t)
{
    return t ? t->meta : NULL;
}

qib_meta *qib_table_meta_mut(qib_table *t)
{
    return qib_table_is_writable(t) ? t->meta : NULL;
}
