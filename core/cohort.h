/* Cohorts: the pieces `qib batch`, `qib status`, `qib gather` and
 * `qib reproduce` share -- an RFC 4180 CSV reader and writer, a small JSON
 * reader for the records qib itself writes (status.json, provenance.json),
 * and the rule for case identifiers (doc/cohorts.md). */
#ifndef QIB_COHORT_H
#define QIB_COHORT_H

#include <stddef.h>
#include <stdio.h>

/* ---- CSV (RFC 4180) ---- */

/** Largest CSV file read whole (a cohort table or a result table). */
#define QIB__CSV_MAX_BYTES (256u * 1024u * 1024u)

/** A CSV file: rows of fields, the first row being the header. */
struct qib__csv {
    char ***rows;   /**< rows[r][c], NUL-terminated UTF-8 */
    size_t *ncols;  /**< fields in each row */
    size_t nrows;
};

/** Parse @p len bytes of CSV text: fields separated by commas, records by
 * CRLF or LF, fields in double quotes may hold commas, line breaks and ""
 * for a quote.  A UTF-8 byte order mark is skipped; a final line break is
 * optional; empty lines are ignored.  Returns QIB_OK, QIB_EFORMAT with
 * "line N: what" in @p err, or QIB_ENOMEM. */
int qib__csv_parse(const char *text, size_t len, struct qib__csv *out, char *err, size_t errlen);

/** Read and parse the file @p path.  QIB_EIO when it cannot be read. */
int qib__csv_read(const char *path, struct qib__csv *out, char *err, size_t errlen);

void qib__csv_free(struct qib__csv *c);

/** Write one field to @p f, quoted only when it needs to be. */
void qib__csv_field(FILE *f, const char *s);

/* ---- JSON (reading) ---- */

enum qib__jtype { QIB__JNULL, QIB__JBOOL, QIB__JNUM, QIB__JSTR, QIB__JARR, QIB__JOBJ };

/** A parsed JSON value.  Numbers keep their text (so a value can be passed
 * on exactly as written) and their double. */
struct qib__jv {
    enum qib__jtype type;
    int b;
    double num;
    char *s;                 /**< string value, or a number's text */
    struct qib__jv *items;   /**< array items or object member values */
    char **keys;             /**< object member names */
    size_t n;
};

/** Parse JSON text (at most 64 levels deep).  Returns QIB_OK, QIB_EFORMAT
 * with "line N: what" in @p err, or QIB_ENOMEM. */
int qib__json_parse(const char *text, size_t len, struct qib__jv *out, char *err, size_t errlen);

/** Read and parse the file @p path (at most 64 MiB). */
int qib__json_read(const char *path, struct qib__jv *out, char *err, size_t errlen);

void qib__jv_free(struct qib__jv *v);

/** Member @p key of object @p v, or NULL (also when @p v is not an object). */
const struct qib__jv *qib__jv_get(const struct qib__jv *v, const char *key);

/** The string member @p key of @p v, or NULL. */
const char *qib__jv_str(const struct qib__jv *v, const char *key);

/* ---- case identifiers and files ---- */

/** Longest case identifier, in bytes. */
#define QIB__CASE_ID_MAX 128

/** NULL when @p id is a safe case identifier (1-128 characters from
 * A-Z a-z 0-9 . _ -, not starting with '.' or '-'), else what is wrong. */
const char *qib__case_id_problem(const char *id);

/** Read the whole file @p path (at most @p max bytes) into a NUL-terminated
 * buffer (transfer full).  QIB_EIO (errno kept), QIB_ERANGE (too large), QIB_ENOMEM. */
int qib__slurp(const char *path, size_t max, char **buf, size_t *len);

#endif

/* ---- repeatability statistics (core/stats.c, doc/repeatability.md) ---- */

/** Results for n subjects measured k times each (balanced design). */
struct qib__rep {
    size_t n, k;
    double mean;                   /**< grand mean */
    double msr, msc, mse, msw;     /**< mean squares: subjects, sessions, residual, within */
    double wsd;                    /**< within-subject SD, sqrt(MSW) */
    double wcv;                    /**< root mean square of the subjects' CV (s_i / mean_i) */
    double rc;                     /**< repeatability coefficient 2.77 wSD */
    double icc21, icc21_lo, icc21_hi; /**< ICC(2,1) with its CI (Shrout & Fleiss 1979) */
    double icc31, icc31_lo, icc31_hi; /**< ICC(3,1) with its CI */
    double f, df1, df2;            /**< F = MSR/MSE and its degrees of freedom */
    /* Bland-Altman (k == 2 only; NaN otherwise): d = second - first. */
    double bias, sd_diff, loa_lo, loa_hi;
};

/** Compute every statistic from @p y (n rows of k values, row-major) at
 * confidence 1 - @p alpha.  QIB_EINVAL when n < 2 or k < 2 or a value is
 * not finite. */
int qib__repeatability(const double *y, size_t n, size_t k, double alpha, struct qib__rep *r);

/** Regularised incomplete beta function I_x(a, b). */
double qib__betainc(double x, double a, double b);

/** The @p p quantile of the F distribution with @p d1 and @p d2 degrees of
 * freedom (d1, d2 > 0, may be fractional). */
double qib__f_quantile(double p, double d1, double d2);
