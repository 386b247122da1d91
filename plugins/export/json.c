/* export.json: write a table as one JSON document (RFC 8259): its columns
 * with type, unit and IBSI code, its rows as objects, and its metadata.
 * Doubles in the shortest form that reads back to the same value, always
 * with a '.' or an exponent; NaN and infinities, which JSON cannot hold, as
 * null. */
#include <config.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "qib/qib.h"

struct json {
    char *path; /* output file, relative to the run's output directory */
};

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one
 * (overlong forms, surrogates and code points above U+10FFFF refused). */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* A JSON string: quotes, backslashes and control characters escaped; bytes
 * that are not valid UTF-8 become U+FFFD so the document stays valid. */
static void put_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', f);
    while (*s) {
        unsigned c = *s;
        size_t n;
        switch (c) {
        case '"': fputs("\\\"", f); s++; continue;
        case '\\': fputs("\\\\", f); s++; continue;
        case '\b': fputs("\\b", f); s++; continue;
        case '\f': fputs("\\f", f); s++; continue;
        case '\n': fputs("\\n", f); s++; continue;
        case '\r': fputs("\\r", f); s++; continue;
        case '\t': fputs("\\t", f); s++; continue;
        default: break;
        }
        if (c < 0x20 || c == 0x7F) {
            fprintf(f, "\\u%04x", c);
            s++;
        } else if ((n = utf8_len(s)) == 0) {
            fputs("\\ufffd", f);
            s++;
        } else {
            fwrite(s, 1, n, f);
            s += n;
        }
    }
    fputc('"', f);
}

/* A string, or null when it is empty or NULL. */
static void put_string_or_null(FILE *f, const char *s)
{
    if (s && *s)
        put_string(f, s);
    else
        fputs("null", f);
}

static void put_cell(FILE *f, const qib_table *t, size_t r, size_t c)
{
    char buf[32];
    if (!qib_table_has_value(t, r, c)) {
        fputs("null", f);
        return;
    }
    switch (qib_table_col_type(t, c)) {
    case QIB_COL_INT:
        fprintf(f, "%" PRId64, qib_table_get_int(t, r, c));
        break;
    case QIB_COL_DOUBLE: {
        double v = qib_table_get_double(t, r, c);
        if (!isfinite(v)) {
            fputs("null", f);
            break;
        }
        /* A number without '.' or exponent is an integer to most JSON
         * readers (Python, and -0 would lose its sign): write 5.0, -0.0. */
        qib_format_double(v, buf);
        fputs(buf, f);
        if (!strpbrk(buf, ".e"))
            fputs(".0", f);
        break;
    }
    case QIB_COL_STRING: {
        const char *s = qib_table_get_string(t, r, c);
        if (s)
            put_string(f, s);
        else
            fputs("null", f);
        break;
    }
    default:
        fputs("null", f);
        break;
    }
}

static const char *type_name(enum qib_coltype t)
{
    switch (t) {
    case QIB_COL_INT: return "int";
    case QIB_COL_DOUBLE: return "double";
    case QIB_COL_STRING: return "string";
    }
    return "unknown";
}

static void put_table(FILE *f, const qib_table *t)
{
    size_t nc = qib_table_ncols(t), nr = qib_table_nrows(t);
    fputs("{\n  \"qib_table\": 1,\n  \"columns\": [", f);
    for (size_t c = 0; c < nc; c++) {
        fputs(c ? ",\n    {\"name\": " : "\n    {\"name\": ", f);
        put_string(f, qib_table_col_name(t, c));
        fprintf(f, ", \"type\": \"%s\", \"unit\": ", type_name(qib_table_col_type(t, c)));
        put_string_or_null(f, qib_table_col_unit(t, c));
        fputs(", \"ibsi\": ", f);
        put_string_or_null(f, qib_table_col_ibsi(t, c));
        fputc('}', f);
    }
    fputs(nc ? "\n  ],\n  \"rows\": [" : "],\n  \"rows\": [", f);
    for (size_t r = 0; r < nr; r++) {
        fputs(r ? ",\n    {" : "\n    {", f);
        for (size_t c = 0; c < nc; c++) {
            if (c)
                fputs(", ", f);
            put_string(f, qib_table_col_name(t, c));
            fputs(": ", f);
            put_cell(f, t, r, c);
        }
        fputc('}', f);
    }
    fputs(nr ? "\n  ],\n  \"meta\": {" : "],\n  \"meta\": {", f);
    const qib_meta *m = qib_table_meta(t);
    size_t nm = qib_meta_count(m);
    for (size_t i = 0; i < nm; i++) {
        const char *key = NULL, *value = NULL, *source = NULL;
        qib_meta_at(m, i, &key, &value, &source);
        fputs(i ? ",\n    " : "\n    ", f);
        put_string(f, key ? key : "");
        fputs(": {\"value\": ", f);
        put_string(f, value ? value : "");
        fputs(", \"source\": ", f);
        put_string_or_null(f, source);
        fputc('}', f);
    }
    fputs(nm ? "\n  }\n}\n" : "}\n}\n", f);
}

static int run(qib_step *step, void *priv)
{
    const struct json *p = priv;
    const qib_table *t = qib_step_in_table(step, "table");
    if (!t)
        return qib_fail(step, QIB_EINVAL, "table: no table wired to the input");

    qib_ofile *of = NULL;
    int rc = qib_step_create_output(step, p->path, &of);
    if (rc)
        return rc;
    FILE *f = qib_ofile_stream(of);
    put_table(f, t);
    return qib_ofile_commit(&of); /* reports a failed write too */
}

static const struct qib_param params[] = {
    {.name = "path", .type = QIB_PARAM_PATH, .offset = offsetof(struct json, path),
     .flags = QIB_PARAM_REQUIRED | QIB_PARAM_OUTPUT,
     .help = "JSON file to write, relative to the output directory (--out)"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "table", .kind = QIB_OBJ_TABLE, .help = "table to write"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_EXPORT,
    .name = "json",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "write a table as JSON: columns with unit and IBSI code, rows as objects, "
               "metadata; exact doubles, null for missing",
    .params = params,
    .inputs = inputs,
    .outputs = NULL, /* the file is the result */
    .priv_size = sizeof(struct json),
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
