/* Minimal TAP producer for the test programs (after c-tap-harness): plan,
 * ok, is_int, is_double, is_string, diag, skip and skip_all.  Output goes to
 * stdout and is read by automake's tap-driver. */
#ifndef QIB_TAP_H
#define QIB_TAP_H

#include <stddef.h>

#if defined(__GNUC__)
#define TAP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define TAP_NORETURN __attribute__((noreturn))
#else
#define TAP_PRINTF(a, b)
#define TAP_NORETURN
#endif

/** Announce @p n tests. */
void plan(int n);
/** Announce the plan at the end instead (call once all tests ran). */
void plan_lazy(void);
/** Skip the whole program with a reason, exit 0. */
void skip_all(const char *fmt, ...) TAP_PRINTF(1, 2) TAP_NORETURN;
/** One test; returns @p pass so callers can add diagnostics. */
int ok(int pass, const char *fmt, ...) TAP_PRINTF(2, 3);
int is_int(long long got, long long want, const char *fmt, ...) TAP_PRINTF(3, 4);
/** |got - want| <= tol (a NaN want matches a NaN got). */
int is_double(double got, double want, double tol, const char *fmt, ...) TAP_PRINTF(4, 5);
/** Strings equal (NULL equals only NULL). */
int is_string(const char *got, const char *want, const char *fmt, ...) TAP_PRINTF(3, 4);
/** @p needle occurs in @p hay. */
int contains(const char *hay, const char *needle, const char *fmt, ...) TAP_PRINTF(3, 4);
/** Report @p n tests as skipped with a reason. */
void skip(int n, const char *fmt, ...) TAP_PRINTF(2, 3);
/** A diagnostic line ("# ...") on stdout. */
void diag(const char *fmt, ...) TAP_PRINTF(1, 2);
/** Stop with "Bail out!" and exit 1. */
void bail(const char *fmt, ...) TAP_PRINTF(1, 2) TAP_NORETURN;
/** Number of failed tests so far. */
int tap_failures(void);
/** Exit status for main: 0 when every test passed and the plan held. */
int tap_done(void);

/** $QIB_REFDATA joined with @p rel (malloc'd), or NULL when QIB_REFDATA is
 * unset or the path does not exist. */
char *refdata_path(const char *rel);
/** $top_srcdir (or ".") joined with @p rel (malloc'd). */
char *srcdir_path(const char *rel);
/** A new empty temporary directory (malloc'd path); bails on failure. */
char *tap_tmpdir(void);
/** Read a whole file (malloc'd, NUL-terminated), or NULL; *len may be NULL. */
char *slurp(const char *path, size_t *len);
/** Run a shell command, capture stdout+stderr (malloc'd) and the exit
 * status (-1 when it did not exit normally). */
char *run_cmd(const char *cmd, int *status);

#endif
