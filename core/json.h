/* A small streaming JSON writer for provenance records: nested objects and
 * arrays, two-space indentation, strings escaped (control characters, and
 * invalid UTF-8 replaced by U+FFFD so the output is always valid JSON),
 * numbers in the shortest form that reads back exactly (qib_format_double). */
#ifndef QIB_JSON_H
#define QIB_JSON_H

#include <stdint.h>
#include <stdio.h>

#define QIB__JSON_MAXDEPTH 32

struct qib__json {
    FILE *f;
    int base;   /* depth of the top-level value (fragments start deeper) */
    int depth;  /* current depth */
    unsigned char first[QIB__JSON_MAXDEPTH + 1]; /* next item is the first */
    int err;    /* misuse (too deep, unbalanced) or a write error */
};

/** Start writing one JSON value to @p f.  @p indent is the depth the value
 * sits at, for a fragment that will be spliced into a larger document with
 * qib__json_raw (0 for a whole document). */
void qib__json_init(struct qib__json *j, FILE *f, int indent);

/* In each call @p key names the member when inside an object and must be
 * NULL inside an array or for the top-level value. */
void qib__json_obj_begin(struct qib__json *j, const char *key);
void qib__json_obj_end(struct qib__json *j);
void qib__json_arr_begin(struct qib__json *j, const char *key);
void qib__json_arr_end(struct qib__json *j);
/** A string; NULL writes null. */
void qib__json_str(struct qib__json *j, const char *key, const char *s);
/** A number; NaN and infinities (which JSON lacks) write null. */
void qib__json_double(struct qib__json *j, const char *key, double v);
void qib__json_int(struct qib__json *j, const char *key, int64_t v);
void qib__json_bool(struct qib__json *j, const char *key, int v);
void qib__json_null(struct qib__json *j, const char *key);
/** Text that is already a JSON value (a fragment written at this depth). */
void qib__json_raw(struct qib__json *j, const char *key, const char *text);

/** Finish: a newline after a whole document; returns 0, or -1 when the
 * structure was unbalanced or a write failed. */
int qib__json_finish(struct qib__json *j);

/** Write @p s as a quoted, escaped JSON string to @p f. */
void qib__json_write_string(FILE *f, const char *s);

#endif
