/* The JSON writer (json.h).  Output is pretty-printed so a provenance record
 * can be read and diffed by people as well as parsed. */
#include "config.h"

#include <math.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "qib/table.h"

void qib__json_init(struct qib__json *j, FILE *f, int indent)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    if (indent < 0 || indent >= QIB__JSON_MAXDEPTH) {
        j->err = 1;
        indent = 0;
    }
    j->base = j->depth = indent;
    j->first[indent] = 1;
}

static void indent(struct qib__json *j, int depth)
{
    fputc('\n', j->f);
    for (int i = 0; i < depth; i++)
        fputs("  ", j->f);
}

/* Separator, indentation and key before a value. */
static void pre(struct qib__json *j, const char *key)
{
    if (j->depth == j->base && !j->first[j->depth]) {
        j->err = 1; /* a second top-level value */
    }
    if (j->depth > j->base) {
        if (!j->first[j->depth])
            fputc(',', j->f);
        indent(j, j->depth);
    }
    j->first[j->depth] = 0;
    if (key) {
        qib__json_write_string(j->f, key);
        fputs(": ", j->f);
    }
}

static void jopen(struct qib__json *j, const char *key, char c)
{
    pre(j, key);
    fputc(c, j->f);
    if (j->depth + 1 > QIB__JSON_MAXDEPTH) {
        j->err = 1;
        return;
    }
    j->depth++;
    j->first[j->depth] = 1;
}

static void jclose(struct qib__json *j, char c)
{
    if (j->depth <= j->base) {
        j->err = 1;
        return;
    }
    int empty = j->first[j->depth];
    j->depth--;
    if (!empty)
        indent(j, j->depth);
    fputc(c, j->f);
}

void qib__json_obj_begin(struct qib__json *j, const char *key)
{
    jopen(j, key, '{');
}

void qib__json_obj_end(struct qib__json *j)
{
    jclose(j, '}');
}

void qib__json_arr_begin(struct qib__json *j, const char *key)
{
    jopen(j, key, '[');
}

void qib__json_arr_end(struct qib__json *j)
{
    jclose(j, ']');
}

/* Length of the valid UTF-8 sequence at @p s, or 0 when it is not one
 * (overlong forms, surrogates and values above U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min, cp;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        min = 0x80;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        min = 0x800;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        min = 0x10000;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void qib__json_write_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', f);
    while (*s) {
        unsigned c = *s;
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc((int)c, f);
            s++;
        } else if (c < 0x20 || c == 0x7F) {
            switch (c) {
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            case '\b': fputs("\\b", f); break;
            case '\f': fputs("\\f", f); break;
            default: fprintf(f, "\\u%04x", c); break;
            }
            s++;
        } else if (c < 0x80) {
            fputc((int)c, f);
            s++;
        } else {
            size_t n = utf8_len(s);
            if (n == 0) {
                fputs("\\ufffd", f);
                s++;
            } else {
                fwrite(s, 1, n, f);
                s += n;
            }
        }
    }
    fputc('"', f);
}

void qib__json_str(struct qib__json *j, const char *key, const char *s)
{
    pre(j, key);
    if (s)
        qib__json_write_string(j->f, s);
    else
        fputs("null", j->f);
}

void qib__json_double(struct qib__json *j, const char *key, double v)
{
    char b[32];
    pre(j, key);
    if (v == 0.0)
        v = 0.0; /* -0 is an artefact of arithmetic, not information */
    fputs(isfinite(v) ? qib_format_double(v, b) : "null", j->f);
}

void qib__json_int(struct qib__json *j, const char *key, int64_t v)
{
    pre(j, key);
    fprintf(j->f, "%" PRId64, v);
}

void qib__json_bool(struct qib__json *j, const char *key, int v)
{
    pre(j, key);
    fputs(v ? "true" : "false", j->f);
}

void qib__json_null(struct qib__json *j, const char *key)
{
    pre(j, key);
    fputs("null", j->f);
}

void qib__json_raw(struct qib__json *j, const char *key, const char *text)
{
    pre(j, key);
    fputs(text, j->f);
}

int qib__json_finish(struct qib__json *j)
{
    if (j->depth != j->base)
        j->err = 1;
    if (j->base == 0)
        fputc('\n', j->f);
    if (ferror(j->f))
        j->err = 1;
    return j->err ? -1 : 0;
}
