/* Tables: columns, rows, missing values, sharing; and the text form of
 * doubles: shortest round trip, '.' whatever the locale. */
#include "config.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"
#include "tap.h"

static void test_columns(void)
{
    qib_table *t;
    size_t c;
    is_int(qib_table_new(&t), QIB_OK, "new table");
    is_int((long long)qib_table_ncols(t), 0, "no columns");
    is_int(qib_table_add_column(t, "voxels", QIB_COL_INT, NULL, NULL, &c), QIB_OK, "int column");
    is_int((long long)c, 0, "index 0");
    is_int(qib_table_add_column(t, "volume_ml", QIB_COL_DOUBLE, "mL", "RNU0", &c), QIB_OK,
           "double column");
    is_int((long long)c, 1, "index 1");
    is_int(qib_table_add_column(t, "label", QIB_COL_STRING, NULL, NULL, NULL), QIB_OK,
           "string column");
    static const char *bad[] = {"", "Mean", "1st", "a-b", "suv max", "é"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        is_int(qib_table_add_column(t, bad[i], QIB_COL_INT, NULL, NULL, NULL), QIB_EINVAL,
               "name '%s' refused", bad[i]);
    is_int(qib_table_add_column(t, NULL, QIB_COL_INT, NULL, NULL, NULL), QIB_EINVAL, "NULL name");
    is_int(qib_table_add_column(t, "voxels", QIB_COL_DOUBLE, NULL, NULL, NULL), QIB_EINVAL,
           "duplicate name refused");
    is_int(qib_table_add_column(t, "x", (enum qib_coltype)9, NULL, NULL, NULL), QIB_EINVAL,
           "bad type refused");
    is_int(qib_table_add_column(t, "_x9", QIB_COL_INT, NULL, NULL, NULL), QIB_OK,
           "'_x9' accepted");
    is_int((long long)qib_table_ncols(t), 4, "4 columns");
    is_string(qib_table_col_name(t, 1), "volume_ml", "name");
    is_int(qib_table_col_type(t, 1), QIB_COL_DOUBLE, "type");
    is_string(qib_table_col_unit(t, 1), "mL", "unit");
    is_string(qib_table_col_ibsi(t, 1), "RNU0", "IBSI code");
    is_string(qib_table_col_unit(t, 0), "", "no unit is \"\"");
    is_string(qib_table_col_ibsi(t, 0), "", "no IBSI code is \"\"");
    is_int(qib_table_find(t, "label", &c), QIB_OK, "find");
    is_int((long long)c, 2, "found at 2");
    is_int(qib_table_find(t, "nope", &c), QIB_ENOTFOUND, "find absent");
    qib_table_unref(&t);
    ok(t == NULL, "unref clears the pointer");
    qib_table_unref(&t);
}

static void test_cells(void)
{
    qib_table *t;
    size_t r;
    qib_table_new(&t);
    qib_table_add_column(t, "n", QIB_COL_INT, NULL, NULL, NULL);
    is_int(qib_table_add_row(t, &r), QIB_OK, "add row");
    is_int((long long)r, 0, "row 0");
    /* A column added after rows: they get missing values. */
    qib_table_add_column(t, "mean", QIB_COL_DOUBLE, "HU", NULL, NULL);
    qib_table_add_column(t, "name", QIB_COL_STRING, NULL, NULL, NULL);
    is_int(qib_table_has_value(t, 0, 1), 0, "late column: missing");
    ok(isnan(qib_table_get_double(t, 0, 1)), "missing double is NaN");
    ok(qib_table_get_string(t, 0, 2) == NULL, "missing string is NULL");
    is_int(qib_table_get_int(t, 0, 0), 0, "missing int is 0");

    is_int(qib_table_set_int(t, 0, 0, INT64_MIN), QIB_OK, "set int");
    is_int(qib_table_get_int(t, 0, 0), INT64_MIN, "get int");
    is_double(qib_table_get_double(t, 0, 0), -9223372036854775808.0, 0, "int read as double");
    is_int(qib_table_set_double(t, 0, 1, -0.25), QIB_OK, "set double");
    is_double(qib_table_get_double(t, 0, 1), -0.25, 0, "get double");
    is_int(qib_table_set_string(t, 0, 2, "liver"), QIB_OK, "set string");
    is_string(qib_table_get_string(t, 0, 2), "liver", "get string");
    is_int(qib_table_has_value(t, 0, 2), 1, "has value");

    is_int(qib_table_set_int(t, 0, 1, 5), QIB_EINVAL, "int into a double column");
    is_int(qib_table_set_double(t, 0, 2, 5), QIB_EINVAL, "double into a string column");
    is_int(qib_table_set_string(t, 0, 0, "x"), QIB_EINVAL, "string into an int column");
    is_int(qib_table_set_int(t, 1, 0, 5), QIB_ERANGE, "bad row");
    is_int(qib_table_set_int(t, 0, 3, 5), QIB_ERANGE, "bad column");
    is_int(qib_table_get_int(t, 0, 1), 0, "int getter on a double column gives 0");
    ok(qib_table_get_string(t, 0, 0) == NULL, "string getter on an int column gives NULL");
    ok(isnan(qib_table_get_double(t, 0, 2)), "double getter on a string column gives NaN");
    is_int(qib_table_has_value(t, 9, 0), 0, "has_value on a bad row");

    is_int(qib_table_set_double(t, 0, 1, NAN), QIB_OK, "set NaN");
    is_int(qib_table_has_value(t, 0, 1), 0, "NaN is missing");
    is_int(qib_table_set_string(t, 0, 2, NULL), QIB_OK, "set NULL string");
    is_int(qib_table_has_value(t, 0, 2), 0, "NULL is missing");

    /* Many rows: growth keeps the values. */
    for (int i = 1; i < 1000; i++) {
        qib_table_add_row(t, &r);
        qib_table_set_int(t, r, 0, i);
        qib_table_set_double(t, r, 1, i * 0.5);
        if (i % 3 == 0) {
            char b[16];
            snprintf(b, sizeof b, "r%d", i);
            qib_table_set_string(t, r, 2, b);
        }
    }
    is_int((long long)qib_table_nrows(t), 1000, "1000 rows");
    is_int(qib_table_get_int(t, 777, 0), 777, "row 777, n");
    is_double(qib_table_get_double(t, 777, 1), 388.5, 0, "row 777, mean");
    is_string(qib_table_get_string(t, 999, 2), "r999", "row 999, name");
    ok(qib_table_get_string(t, 998, 2) == NULL, "row 998, no name");

    /* Sharing. */
    qib_meta_set(qib_table_meta_mut(t), "ibsi_manual", "1.0", NULL);
    qib_table *u = qib_table_ref(t);
    is_int(qib_table_is_writable(t), 0, "shared is not writable");
    is_int(qib_table_add_row(t, NULL), QIB_EBUSY, "add_row refused when shared");
    is_int(qib_table_add_column(t, "z", QIB_COL_INT, NULL, NULL, NULL), QIB_EBUSY,
           "add_column refused when shared");
    is_int(qib_table_set_int(t, 0, 0, 1), QIB_EBUSY, "set refused when shared");
    ok(qib_table_meta_mut(t) == NULL, "meta_mut NULL when shared");
    is_string(qib_meta_get(qib_table_meta(t), "ibsi_manual"), "1.0", "meta readable");
    qib_table_unref(&u);
    is_int(qib_table_is_writable(t), 1, "writable again");
    qib_table_unref(&t);
}

static uint64_t bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* Format then parse must give back the same bits. */
static int round_trips(double v)
{
    char buf[32];
    double back;
    qib_format_double(v, buf);
    return qib_parse_double(buf, &back) == QIB_OK && bits(back) == bits(v);
}

static void test_doubles(const char *where)
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0.1, "0.1"},
        {1.0 / 3.0, "0.3333333333333333"},
        {2.0 / 3.0, "0.6666666666666666"},
        {1e-300, "1e-300"},
        {5e-324, "5e-324"},
        {DBL_MAX, "1.7976931348623157e+308"},
        {DBL_MIN, "2.2250738585072014e-308"},
        {-0.0, "-0"},
        {0.0, "0"},
        {100, "100"},
        {-2.5, "-2.5"},
        {123456789, "123456789"},
        {1e21, "1e+21"},
        {1e16, "1e+16"},
        {9007199254740992.0, "9007199254740992"},
        {1e-5, "0.00001"},
        {1.5e-7, "1.5e-07"},
        {-123.456, "-123.456"},
        {0.1 + 0.2, "0.30000000000000004"},
        {INFINITY, "inf"},
        {-INFINITY, "-inf"},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        is_string(qib_format_double(cases[i].v, buf), cases[i].text, "%s: format %s", where,
                  cases[i].text);
        ok(round_trips(cases[i].v), "%s: %s round-trips bit for bit", where, cases[i].text);
    }
    is_string(qib_format_double(NAN, buf), "nan", "%s: NaN formats as nan", where);
    double back = 0;
    is_int(qib_parse_double("nan", &back), QIB_OK, "%s: parse nan", where);
    ok(isnan(back), "%s: nan is NaN", where);
    is_int(qib_parse_double("1.5e3", &back), QIB_OK, "%s: parse 1.5e3", where);
    is_double(back, 1500, 0, "%s: 1.5e3 = 1500", where);

    static const char *bad[] = {"", "1,5", " 1", "1 ", "abc", "1.5x", "1e999", "-1e999", "\t2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        back = 7;
        is_int(qib_parse_double(bad[i], &back), QIB_EFORMAT, "%s: '%s' refused", where, bad[i]);
    }
    is_double(back, 7, 0, "%s: *out untouched on failure", where);
    is_int(qib_parse_double(NULL, &back), QIB_EFORMAT, "%s: NULL refused", where);

    /* Every bit pattern class: 20000 pseudo-random finite doubles. */
    uint64_t x = 88172645463325252u;
    int all = 1;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        double d;
        memcpy(&d, &x, sizeof d);
        if (!isfinite(d))
            continue;
        if (!round_trips(d)) {
            diag("%s: %a does not round-trip", where, d);
            all = 0;
            break;
        }
    }
    ok(all, "%s: 20000 random doubles round-trip", where);
}

/* Formatting from many threads at once: the C locale object is set up once
 * and switched per thread. */
static void format_block(void *arg, size_t block, size_t begin, size_t end)
{
    atomic_int *bad = arg;
    (void)block;
    for (size_t i = begin; i < end; i++) {
        double v = (double)i / 7.0 - 1e3;
        if (!round_trips(v))
            atomic_fetch_add(bad, 1);
    }
}

static void test_threads(void)
{
    qib_pool *p;
    atomic_int bad;
    atomic_init(&bad, 0);
    if (qib_pool_new(8, &p) != QIB_OK)
        bail("no pool");
    qib_parallel_for(p, 20000, 100, format_block, &bad);
    qib_pool_free(&p);
    is_int(atomic_load(&bad), 0, "8 threads formatting and parsing: all round-trip");
}

/* A comma-decimal locale: an installed one, or one built with localedef in
 * a temporary directory (LOCPATH), since test machines often have only C and
 * POSIX.  The locale object is taken from setlocale with duplocale because
 * glibc's newlocale leaks its search path when LOCPATH is set. */
static const char *comma_name;
static char *locale_dir;

static locale_t comma_locale(const char **why)
{
    static const char *names[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "nl_NL.UTF-8"};
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !comma_name; i++)
        if (setlocale(LC_NUMERIC, names[i]))
            comma_name = names[i];
    if (!comma_name) {
        locale_dir = tap_tmpdir();
        size_t n = strlen(locale_dir) + 128;
        char *cmd = malloc(n);
        if (!cmd)
            bail("out of memory");
        snprintf(cmd, n, "localedef -i de_DE -f UTF-8 '%s/de_DE.UTF-8'", locale_dir);
        int st;
        free(run_cmd(cmd, &st));
        free(cmd);
        if (st != 0) {
            *why = "no comma-decimal locale installed and localedef could not build one";
            return (locale_t)0;
        }
        setenv("LOCPATH", locale_dir, 1);
        if (!setlocale(LC_NUMERIC, "de_DE.UTF-8")) {
            *why = "setlocale failed on the locale built by localedef";
            return (locale_t)0;
        }
        comma_name = "de_DE.UTF-8";
    }
    locale_t l = duplocale(LC_GLOBAL_LOCALE);
    setlocale(LC_NUMERIC, "C");
    if (!l)
        *why = "duplocale failed";
    return l;
}

static void test_locale(void)
{
    const char *why = NULL;
    locale_t l = comma_locale(&why);
    if (!l) {
        skip(1, "%s", why);
        return;
    }
    diag("comma-decimal locale: %s%s%s", comma_name, locale_dir ? " built in " : "",
         locale_dir ? locale_dir : "");
    locale_t old = uselocale(l);
    char b[32];
    snprintf(b, sizeof b, "%.1f", 1.5);
    if (!is_string(b, "1,5", "the test locale really uses a decimal comma")) {
        uselocale(old);
        freelocale(l);
        return;
    }
    test_doubles("thread locale");
    double v = 0;
    is_int(qib_parse_double("2.75", &v), QIB_OK, "thread locale: parse 2.75");
    is_double(v, 2.75, 0, "thread locale: 2.75 read with '.'");
    char g[256];
    struct qib_geom geo;
    const size_t d[3] = {2, 2, 2};
    qib_geom_init(&geo, 3, d);
    geo.spacing[2] = 2.5;
    qib_geom_format(&geo, g, sizeof g);
    contains(g, "spacing 1x1x2.5 mm", "thread locale: geometry text uses '.'");
    uselocale(old);
    freelocale(l);

    /* The process-wide locale, as in a program that called setlocale. */
    if (setlocale(LC_NUMERIC, comma_name)) {
        test_doubles("global locale");
        setlocale(LC_NUMERIC, "C");
    } else {
        skip(1, "setlocale(LC_NUMERIC, %s) failed the second time", comma_name);
    }
}

int main(void)
{
    plan_lazy();
    test_columns();
    test_cells();
    test_doubles("C locale");
    test_threads();
    test_locale();
    if (locale_dir) {
        size_t n = strlen(locale_dir) + 16;
        char *cmd = malloc(n);
        if (cmd) {
            snprintf(cmd, n, "rm -rf '%s'", locale_dir);
            free(run_cmd(cmd, NULL));
            free(cmd);
        }
        free(locale_dir);
    }
    return tap_done();
}
