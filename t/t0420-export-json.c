/* export.json: the document parses as JSON (Python's json module), columns
 * carry type, unit and IBSI code, rows hold the values (null for missing,
 * NaN and infinities), strings are escaped (quotes, control characters,
 * invalid UTF-8), metadata is kept, 2000 doubles read back to the same
 * bits, the bytes do not change under a comma-decimal locale, and a path
 * outside --out is refused. */
#include "config.h"

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
    if (qib_table_new(&t) || qib_table_add_column(t, "label", QIB_COL_INT, NULL, NULL, NULL) ||
        qib_table_add_column(t, "name", QIB_COL_STRING, NULL, NULL, NULL) ||
        qib_table_add_column(t, "mean", QIB_COL_DOUBLE, "HU", "Q4LE", NULL))
        bail("table");
    const struct {
        int has_label;
        int64_t label;
        const char *name;
        double mean;
    } rows[] = {
        {1, 1, "plain", 0.1},
        {1, -2, "say \"hi\" \\ back", -0.0},
        {0, 0, NULL, NAN},
        {1, 4, "tab\there\nnl\x01" "ctl", INFINITY},
        {1, 5, "bad\xff" "byte \xc2\xb5g", 1e21},
        {1, 6, "", -2.5e-7},
        {1, 7, "whole", 5.0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t r;
        qib_table_add_row(t, &r);
        if (rows[i].has_label)
            qib_table_set_int(t, r, 0, rows[i].label);
        qib_table_set_string(t, r, 1, rows[i].name);
        qib_table_set_double(t, r, 2, rows[i].mean);
    }
    qib_meta *m = qib_table_meta_mut(t);
    qib_meta_set(m, "percentile_method", "type 7", "computed");
    qib_meta_set(m, "note", "quote \" here", NULL);
    return t;
}

static int export(qib_table *t, const char *dir, const char *path, char *err, size_t errlen)
{
    qib_harness *h = NULL;
    char e[512];
    if (qib_harness_new("export.json", &h, e, sizeof e) != QIB_OK)
        bail("cannot load export.json: %s", e);
    int rc = qib_harness_set_outdir(h, dir);
    if (!rc && t)
        rc = qib_harness_set_table(h, "table", t);
    if (!rc && path)
        rc = qib_harness_set_param(h, "path", path);
    if (!rc)
        rc = qib_harness_run(h);
    snprintf(err, errlen, "%s", qib_harness_error(h));
    qib_harness_free(&h);
    return rc;
}

/* Python: parse the file, print every part in a canonical form (json.dumps
 * with ASCII escapes; floats by repr, which is the shortest round trip). */
static const char *const dump_py =
    "import json, sys\n"
    "d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
    "print(d['qib_table'])\n"
    "for c in d['columns']:\n"
    "    print(json.dumps(c, sort_keys=True))\n"
    "for r in d['rows']:\n"
    "    print(json.dumps([r[k] for k in ('label', 'name', 'mean')]))\n"
    "print(json.dumps(d['meta'], sort_keys=True))\n";

static const char expected_dump[] =
    "1\n"
    "{\"ibsi\": null, \"name\": \"label\", \"type\": \"int\", \"unit\": null}\n"
    "{\"ibsi\": null, \"name\": \"name\", \"type\": \"string\", \"unit\": null}\n"
    "{\"ibsi\": \"Q4LE\", \"name\": \"mean\", \"type\": \"double\", \"unit\": \"HU\"}\n"
    "[1, \"plain\", 0.1]\n"
    "[-2, \"say \\\"hi\\\" \\\\ back\", -0.0]\n"
    "[null, null, null]\n"
    "[4, \"tab\\there\\nnl\\u0001ctl\", null]\n"
    "[5, \"bad\\ufffdbyte \\u00b5g\", 1e+21]\n"
    "[6, \"\", -2.5e-07]\n"
    "[7, \"whole\", 5.0]\n"
    "{\"note\": {\"source\": null, \"value\": \"quote \\\" here\"}, "
    "\"percentile_method\": {\"source\": \"computed\", \"value\": \"type 7\"}}\n";

/* Run a Python script on a file; the output (malloc'd) or NULL after a
 * skip when Python is not there. */
static char *python(const char *dir, const char *script, const char *file, int *status)
{
    char py[1024], cmd[3072];
    snprintf(py, sizeof py, "%s/check.py", dir);
    FILE *f = fopen(py, "w");
    if (!f || fputs(script, f) < 0 || fclose(f))
        bail("write %s", py);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s/%s", py, dir, file);
    return run_cmd(cmd, status);
}

static void test_document(void)
{
    char *dir = tap_tmpdir(), err[512];
    qib_table *t = sample_table();
    int rc = export(t, dir, "stats.json", err, sizeof err);
    is_int(rc, QIB_OK, "export.json runs");
    if (rc)
        diag("%s", err);
    int st;
    char *out = python(dir, dump_py, "stats.json", &st);
    is_int(st, 0, "Python's json module parses the document");
    is_string(out, expected_dump,
              "columns, rows (null for missing, NaN, inf; escapes), meta as expected");
    free(out);
    char path[1024];
    snprintf(path, sizeof path, "%s/stats.json", dir);
    char *text = slurp(path, NULL);
    contains(text, "\"mean\": 5.0}", "a whole double is written 5.0, so it reads as a float");
    contains(text, "\"mean\": -0.0}", "negative zero is written -0.0 and keeps its sign");
    free(text);

    /* a table with columns and no rows, and one with nothing at all */
    qib_table *e = NULL;
    qib_table_new(&e);
    qib_table_add_column(e, "x", QIB_COL_DOUBLE, NULL, NULL, NULL);
    is_int(export(e, dir, "norows.json", err, sizeof err), QIB_OK, "no rows: runs");
    out = python(dir, "import json,sys\nd=json.load(open(sys.argv[1]))\n"
                      "print(len(d['columns']), len(d['rows']), len(d['meta']))\n",
                 "norows.json", &st);
    is_string(out, "1 0 0\n", "no rows: valid JSON, 1 column, empty rows and meta");
    free(out);
    qib_table_unref(&e);
    qib_table_new(&e);
    is_int(export(e, dir, "nothing.json", err, sizeof err), QIB_OK, "empty table: runs");
    out = python(dir, "import json,sys\nd=json.load(open(sys.argv[1]))\n"
                      "print(len(d['columns']), len(d['rows']))\n",
                 "nothing.json", &st);
    is_string(out, "0 0\n", "empty table: valid JSON");
    free(out);
    qib_table_unref(&e);

    /* the same bytes under a comma-decimal locale */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 2>&1", dir);
    out = run_cmd(cmd, &st);
    free(out);
    setenv("LOCPATH", dir, 1);
    if (st != 0 || !setlocale(LC_ALL, "de_DE.UTF-8") ||
        strcmp(localeconv()->decimal_point, ",") != 0) {
        skip(2, "no comma-decimal locale: localedef -i de_DE failed");
    } else {
        is_int(export(t, dir, "de.json", err, sizeof err), QIB_OK, "runs under de_DE.UTF-8");
        char a[1024], b[1024];
        snprintf(a, sizeof a, "%s/stats.json", dir);
        snprintf(b, sizeof b, "%s/de.json", dir);
        char *x = slurp(a, NULL), *y = slurp(b, NULL);
        ok(x && y && strcmp(x, y) == 0, "under de_DE.UTF-8 the bytes are the same");
        free(x);
        free(y);
    }
    setlocale(LC_ALL, "C");
    unsetenv("LOCPATH");
    qib_table_unref(&t);
    t04_rmdir(dir);
}

static uint64_t rng = 7;

static uint64_t next(void)
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void test_round_trip(void)
{
    /* 2000 doubles, each printed by Python as its 64 bits in hex */
    enum { N = 2000 };
    static double v[N];
    const double special[] = {DBL_MAX, -DBL_MAX, DBL_MIN, 5e-324, -0.0, 0.1 + 0.2, 1e23};
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
    qib_table_new(&t);
    qib_table_add_column(t, "v", QIB_COL_DOUBLE, NULL, NULL, NULL);
    for (size_t r = 0; r < N; r++) {
        qib_table_add_row(t, NULL);
        qib_table_set_double(t, r, 0, v[r]);
    }
    char *dir = tap_tmpdir(), err[512];
    is_int(export(t, dir, "rt.json", err, sizeof err), QIB_OK, "round trip: export runs");
    int st;
    char *out = python(dir,
                       "import json, struct, sys\n"
                       "for r in json.load(open(sys.argv[1]))['rows']:\n"
                       "    print('%016x' % struct.unpack('<Q', struct.pack('<d', r['v']))[0])\n",
                       "rt.json", &st);
    size_t i = 0, bad = 0;
    char *save = NULL;
    for (char *line = out && st == 0 ? strtok_r(out, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save), i++) {
        uint64_t bits;
        char want[32];
        memcpy(&bits, &v[i < N ? i : 0], sizeof bits);
        snprintf(want, sizeof want, "%016llx", (unsigned long long)bits);
        if (i >= N || strcmp(line, want) != 0) {
            if (bad++ < 5)
                diag("row %zu: Python read %s, written %s (%.17g)", i, line, want, v[i]);
        }
    }
    is_int((long long)i, N, "round trip: Python read %d numbers", N);
    is_int((long long)bad, 0, "round trip: each is the double written, bit for bit");
    free(out);
    qib_table_unref(&t);
    t04_rmdir(dir);
}

static void test_refused(void)
{
    char *dir = tap_tmpdir(), err[512];
    qib_table *t = sample_table();
    int rc = export(t, dir, "../x.json", err, sizeof err);
    is_int(rc, QIB_EINVAL, "path ../x.json refused");
    contains(err, "\"path\"", "the message names the parameter");
    rc = export(t, dir, NULL, err, sizeof err);
    ok(rc != QIB_OK, "no path: refused");
    contains(err, "required", "the message says path is required");
    qib_table_unref(&t);
    t04_rmdir(dir);
}

int main(void)
{
    plan_lazy();
    test_document();
    test_round_trip();
    test_refused();
    return tap_done();
}
