/* export.csv: the exact text for a table with every kind of cell (quoting
 * per RFC 4180, missing values, shortest round-trip doubles), the optional
 * units row, 2000 doubles read back to the same bits, the same bytes under
 * a comma-decimal locale, and output paths outside --out refused. */
#include "config.h"

#include <dirent.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t0400-util.h"

static qib_table *sample_table(void)
{
    qib_table *t = NULL;
    size_t r;
    if (qib_table_new(&t) || qib_table_add_column(t, "label", QIB_COL_INT, NULL, NULL, NULL) ||
        qib_table_add_column(t, "name", QIB_COL_STRING, NULL, NULL, NULL) ||
        qib_table_add_column(t, "mean", QIB_COL_DOUBLE, "HU", "Q4LE", NULL) ||
        qib_table_add_column(t, "volume_ml", QIB_COL_DOUBLE, "mL", NULL, NULL))
        bail("table");
    const struct {
        int has_label;
        int64_t label;
        const char *name;
        double mean, vol;
    } rows[] = {
        {1, 1, "plain", 0.1, 2.5},
        {1, 2, "a,b", 1e-300, -0.0},
        {1, 3, "say \"hi\"", NAN, 1e21},
        {0, 0, NULL, 1.0 / 3.0, 123456789.125},
        {1, -5, "", -2.5e-7, 0},
        {1, 6, "line\nbreak", NAN, 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (qib_table_add_row(t, &r))
            bail("row");
        if (rows[i].has_label)
            qib_table_set_int(t, r, 0, rows[i].label);
        qib_table_set_string(t, r, 1, rows[i].name);
        qib_table_set_double(t, r, 2, rows[i].mean);
        qib_table_set_double(t, r, 3, rows[i].vol);
    }
    return t;
}

/* Column names, then one line per row; missing values (a NULL string, a
 * missing int, NaN) are empty cells; an empty string is "" so it differs
 * from a missing one; fields with a comma, quote or line break are quoted,
 * quotes doubled. */
static const char expected[] =
    "label,name,mean,volume_ml\n"
    "1,plain,0.1,2.5\n"
    "2,\"a,b\",1e-300,-0\n"
    "3,\"say \"\"hi\"\"\",,1e+21\n"
    ",,0.3333333333333333,123456789.125\n"
    "-5,\"\",-2.5e-07,0\n"
    "6,\"line\nbreak\",,1\n";

/* Run export.csv on @p t into @p dir with the given parameters. */
static int export(qib_table *t, const char *dir, const char *const *params, char *err,
                  size_t errlen)
{
    qib_harness *h = NULL;
    char e[512];
    if (qib_harness_new("export.csv", &h, e, sizeof e) != QIB_OK)
        bail("cannot load export.csv: %s", e);
    int rc = qib_harness_set_outdir(h, dir);
    if (!rc && t)
        rc = qib_harness_set_table(h, "table", t);
    for (size_t i = 0; !rc && params && params[i]; i += 2)
        rc = qib_harness_set_param(h, params[i], params[i + 1]);
    if (!rc)
        rc = qib_harness_run(h);
    snprintf(err, errlen, "%s", qib_harness_error(h));
    qib_harness_free(&h);
    return rc;
}

static char *read_out(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return slurp(path, NULL);
}

/* Names in @p dir other than those listed (temporary files left behind). */
static int stray_files(const char *dir, const char *const *keep)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d))) {
        int known = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
        for (size_t i = 0; keep[i]; i++)
            known |= !strcmp(e->d_name, keep[i]);
        if (!known) {
            diag("stray file: %s", e->d_name);
            n++;
        }
    }
    closedir(d);
    return n;
}

static void test_text(void)
{
    char *dir = tap_tmpdir(), err[512];
    qib_table *t = sample_table();
    const char *const p[] = {"path", "stats.csv", NULL};
    int rc = export(t, dir, p, err, sizeof err);
    is_int(rc, QIB_OK, "export.csv runs");
    if (rc)
        diag("%s", err);
    char *got = read_out(dir, "stats.csv");
    is_string(got, expected, "the CSV text is exactly as expected");
    const char *const keep[] = {"stats.csv", NULL};
    is_int(stray_files(dir, keep), 0, "no temporary file left beside it");
    free(got);

    const char *const u[] = {"path", "sub/dir/units.csv", "units_row", "true", NULL};
    rc = export(t, dir, u, err, sizeof err);
    is_int(rc, QIB_OK, "units_row: runs, into a new sub-directory");
    got = read_out(dir, "sub/dir/units.csv");
    ok(got && strncmp(got, "label,name,mean,volume_ml\n,,HU,mL\n1,plain,", 42) == 0,
       "units_row: a second row of units, empty for unitless columns");
    free(got);
    qib_table_unref(&t);
    t04_rmdir(dir);
}

static uint64_t rng = 42;

static uint64_t next(void)
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void test_round_trip(void)
{
    /* 2000 doubles from random bit patterns (non-finite ones skipped) plus
     * the awkward ones, 4 per row */
    enum { N = 2000 };
    static double v[N];
    const double special[] = {DBL_MAX, -DBL_MAX, DBL_MIN, 4.9406564584124654e-324,
                              -0.0, 0.1 + 0.2, 1.0 / 3.0, 2.0 / 3.0,
                              9007199254740993.0, 1e23, 5e-324, 0.30000000000000004};
    size_t ns = sizeof special / sizeof special[0];
    for (size_t i = 0; i < N; i++) {
        if (i < ns) {
            v[i] = special[i];
            continue;
        }
        do {
            uint64_t b = next();
            memcpy(&v[i], &b, sizeof b);
        } while (!isfinite(v[i]));
    }
    qib_table *t = NULL;
    const char *names[4] = {"a", "b", "c", "d"};
    qib_table_new(&t);
    for (int c = 0; c < 4; c++)
        qib_table_add_column(t, names[c], QIB_COL_DOUBLE, NULL, NULL, NULL);
    for (size_t r = 0; r < N / 4; r++) {
        qib_table_add_row(t, NULL);
        for (size_t c = 0; c < 4; c++)
            qib_table_set_double(t, r, c, v[4 * r + c]);
    }
    char *dir = tap_tmpdir(), err[512];
    const char *const p[] = {"path", "rt.csv", NULL};
    is_int(export(t, dir, p, err, sizeof err), QIB_OK, "round trip: export runs");
    char *text = read_out(dir, "rt.csv");
    size_t i = 0, bad = 0;
    char *save = NULL, *line = text ? strtok_r(text, "\n", &save) : NULL;
    ok(line && strcmp(line, "a,b,c,d") == 0, "round trip: header");
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *s2 = NULL;
        for (char *cell = strtok_r(line, ",", &s2); cell; cell = strtok_r(NULL, ",", &s2)) {
            double back;
            if (i >= N || qib_parse_double(cell, &back) != QIB_OK ||
                memcmp(&back, &v[i], sizeof back) != 0) {
                if (bad++ < 5)
                    diag("cell %zu: \"%s\" for %.17g", i, cell, i < N ? v[i] : 0.0);
            }
            i++;
        }
    }
    is_int((long long)i, N, "round trip: %d cells read back", N);
    is_int((long long)bad, 0, "round trip: every double reads back to the same bits");
    free(text);
    qib_table_unref(&t);
    t04_rmdir(dir);
}

static void test_locale(void)
{
    /* A locale whose decimal mark is a comma, compiled into a temporary
     * directory (LOCPATH) so the test needs no system locale installed. */
    char *dir = tap_tmpdir(), cmd[1024], err[512];
    snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 2>&1", dir);
    int st;
    char *out = run_cmd(cmd, &st);
    free(out);
    setenv("LOCPATH", dir, 1);
    if (st != 0 || !setlocale(LC_ALL, "de_DE.UTF-8") ||
        strcmp(localeconv()->decimal_point, ",") != 0) {
        skip(3, "no comma-decimal locale: localedef -i de_DE failed (needs the "
                "locales' source in /usr/share/i18n)");
        setlocale(LC_ALL, "C");
        unsetenv("LOCPATH");
        t04_rmdir(dir);
        return;
    }
    char probe[32];
    snprintf(probe, sizeof probe, "%g", 0.5);
    is_string(probe, "0,5", "de_DE.UTF-8 is active: printf writes 0,5");
    qib_table *t = sample_table();
    const char *const p[] = {"path", "de.csv", NULL};
    is_int(export(t, dir, p, err, sizeof err), QIB_OK, "export.csv runs under de_DE.UTF-8");
    char *got = read_out(dir, "de.csv");
    is_string(got, expected, "under de_DE.UTF-8 the bytes are the same ('.' decimal mark)");
    free(got);
    qib_table_unref(&t);
    setlocale(LC_ALL, "C");
    unsetenv("LOCPATH");
    t04_rmdir(dir);
}

static void test_refused(void)
{
    char *dir = tap_tmpdir(), err[512];
    qib_table *t = sample_table();
    const char *escapes[] = {"../stats.csv", "a/../../stats.csv", "/tmp/stats.csv"};
    for (size_t i = 0; i < 3; i++) {
        const char *const p[] = {"path", escapes[i], NULL};
        int rc = export(t, dir, p, err, sizeof err);
        is_int(rc, QIB_EINVAL, "path \"%s\" (outside --out) refused", escapes[i]);
        contains(err, "\"path\"", "the message names the parameter");
    }
    int rc = export(t, dir, NULL, err, sizeof err);
    ok(rc != QIB_OK, "no path: refused");
    contains(err, "required", "the message says path is required");

    const char *const u[] = {"path", "x.csv", "units_row", "maybe", NULL};
    rc = export(t, dir, u, err, sizeof err);
    is_int(rc, QIB_EINVAL, "units_row \"maybe\" refused");

    /* the target exists as a directory: the rename fails, nothing left */
    char sub[1024];
    snprintf(sub, sizeof sub, "%s/taken", dir);
    char *o = NULL;
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "mkdir '%s'", sub);
    int st;
    o = run_cmd(cmd, &st);
    free(o);
    const char *const d[] = {"path", "taken", NULL};
    rc = export(t, dir, d, err, sizeof err);
    ok(rc != QIB_OK, "a directory in the way: the step fails");
    const char *const keep[] = {"taken", NULL};
    is_int(stray_files(dir, keep), 0, "and leaves no temporary file");

    /* a table without columns has nothing to write */
    qib_table *empty = NULL;
    qib_table_new(&empty);
    const char *const p[] = {"path", "e.csv", NULL};
    rc = export(empty, dir, p, err, sizeof err);
    is_int(rc, QIB_EINVAL, "a table without columns: refused");
    contains(err, "no columns", "the message says why");
    qib_table_unref(&empty);
    qib_table_unref(&t);
    t04_rmdir(dir);
}

int main(void)
{
    plan_lazy();
    test_text();
    test_round_trip();
    test_locale();
    test_refused();
    return tap_done();
}
