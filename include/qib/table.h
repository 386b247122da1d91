/* Tables: rows of named, typed columns.  Each column carries a unit and,
 * where the feature has one, its IBSI identifier.  Biomarker plugins produce
 * tables; export plugins write them.  Refcounted like volumes, and writable
 * only while unshared. */
#ifndef QIB_TABLE_H
#define QIB_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "qib/meta.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Column types. */
enum qib_coltype {
    QIB_COL_INT = 1, /**< int64_t */
    QIB_COL_DOUBLE,  /**< double; NaN is a missing value */
    QIB_COL_STRING   /**< text; NULL is a missing value */
};

/** Opaque table. */
typedef struct qib_table qib_table;

/** New empty table (transfer full). Returns QIB_ENOMEM on failure. */
int qib_table_new(qib_table **out);

qib_table *qib_table_ref(qib_table *t);

/** Drop a reference, set *t to NULL.  NULL is accepted. */
void qib_table_unref(qib_table **t);

int qib_table_is_writable(const qib_table *t);

/** Append a column; @p unit and @p ibsi may be NULL (copied).  Existing rows
 * get a missing value.  On success *col (may be NULL) is its index.
 * Returns QIB_EINVAL for a name that is empty, not snake_case
 * ([a-z0-9_], not starting with a digit) or already present; QIB_EBUSY when
 * shared. */
int qib_table_add_column(qib_table *t, const char *name, enum qib_coltype type,
                         const char *unit, const char *ibsi, size_t *col);

/** Append a row of missing values; *row (may be NULL) is its index. */
int qib_table_add_row(qib_table *t, size_t *row);

size_t qib_table_nrows(const qib_table *t);
size_t qib_table_ncols(const qib_table *t);

/** Column index of @p name, or QIB_ENOTFOUND. */
int qib_table_find(const qib_table *t, const char *name, size_t *col);

const char *qib_table_col_name(const qib_table *t, size_t col);
enum qib_coltype qib_table_col_type(const qib_table *t, size_t col);
/** Unit of a column, "" when it has none (borrowed). */
const char *qib_table_col_unit(const qib_table *t, size_t col);
/** IBSI identifier of a column, "" when it has none (borrowed). */
const char *qib_table_col_ibsi(const qib_table *t, size_t col);

/** Setters: QIB_ERANGE for a bad row or column, QIB_EINVAL for a column of
 * another type, QIB_EBUSY when shared.  Strings are copied; NULL = missing. */
int qib_table_set_int(qib_table *t, size_t row, size_t col, int64_t v);
int qib_table_set_double(qib_table *t, size_t row, size_t col, double v);
int qib_table_set_string(qib_table *t, size_t row, size_t col, const char *v);

/** Whether a cell holds a value (0 for missing or bad indices). */
int qib_table_has_value(const qib_table *t, size_t row, size_t col);

/** Getters: a missing or mistyped cell gives 0, NaN or NULL respectively.
 * qib_table_get_double also converts integer cells. */
int64_t qib_table_get_int(const qib_table *t, size_t row, size_t col);
double qib_table_get_double(const qib_table *t, size_t row, size_t col);
const char *qib_table_get_string(const qib_table *t, size_t row, size_t col);

/** Table-level metadata (settings, manual version).  Writable only while
 * unshared: qib_table_meta_mut returns NULL otherwise. */
const qib_meta *qib_table_meta(const qib_table *t);
qib_meta *qib_table_meta_mut(qib_table *t);

/** Format a double with '.' as the decimal mark whatever the locale, in the
 * shortest form that reads back (strtod) to exactly @p v; "nan", "inf",
 * "-inf" for non-finite values.  @p buf needs 32 bytes.  Returns @p buf. */
char *qib_format_double(double v, char buf[32]);

/** Parse a double written with '.' as the decimal mark, whatever the locale.
 * The whole string must be consumed.  Returns QIB_OK or QIB_EFORMAT. */
int qib_parse_double(const char *s, double *out);

#ifdef __cplusplus
}
#endif
#endif
