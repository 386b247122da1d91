/* export.csv: write a table as comma-separated text (RFC 4180 quoting), with
 * '.' as the decimal mark whatever the locale and every double in the
 * shortest form that reads back to the same value.  The format is described
 * in doc/biomarkers/intensity.md ("Exporting the table"). */
#include <config.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "qib/qib.h"

struct csv {
    char *path;    /* output file, relative to the run's output directory */
    int units_row; /* a second header row with each column's unit */
};

/* A text field: quoted when it holds a comma, a quote, CR or LF, or is
 * empty (so an empty string differs from a missing value, which is an empty
 * unquoted cell); quotes inside are doubled (RFC 4180, 2.6-2.7). */
static void put_text(FILE *f, const char *s)
{
    if (*s && !strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void put_cell(FILE *f, const qib_table *t, size_t r, size_t c)
{
    char buf[32];
    if (!qib_table_has_value(t, r, c))
        return;
    switch (qib_table_col_type(t, c)) {
    case QIB_COL_INT:
        fprintf(f, "%" PRId64, qib_table_get_int(t, r, c));
        break;
    case QIB_COL_DOUBLE: {
        double v = qib_table_get_double(t, r, c);
        /* NaN is the table's missing value: an empty cell */
        if (!isnan(v))
            fputs(qib_format_double(v, buf), f);
        break;
    }
    case QIB_COL_STRING: {
        const char *s = qib_table_get_string(t, r, c);
        if (s)
            put_text(f, s);
        break;
    }
    }
}

static int run(qib_step *step, void *priv)
{
    const struct csv *p = priv;
    const qib_table *t = qib_step_in_table(step, "table");
    if (!t)
        return qib_fail(step, QIB_EINVAL, "table: no table wired to the input");
    size_t nc = qib_table_ncols(t), nr = qib_table_nrows(t);
    if (nc == 0)
        return qib_fail(step, QIB_EINVAL, "table: the table has no columns, nothing to write");

    qib_ofile *of = NULL;
    int rc = qib_step_create_output(step, p->path, &of);
    if (rc)
        return rc;
    FILE *f = qib_ofile_stream(of);

    for (size_t c = 0; c < nc; c++) {
        if (c)
            fputc(',', f);
        put_text(f, qib_table_col_name(t, c));
    }
    fputc('\n', f);
    if (p->units_row) {
        for (size_t c = 0; c < nc; c++) {
            const char *u = qib_table_col_unit(t, c);
            if (c)
                fputc(',', f);
            /* a column without a unit: an empty cell */
            if (*u)
                put_text(f, u);
        }
        fputc('\n', f);
    }
    for (size_t r = 0; r < nr; r++) {
        for (size_t c = 0; c < nc; c++) {
            if (c)
                fputc(',', f);
            put_cell(f, t, r, c);
        }
        fputc('\n', f);
    }
    return qib_ofile_commit(&of); /* reports a failed write too */
}

static const struct qib_param params[] = {
    {.name = "path", .type = QIB_PARAM_PATH, .offset = offsetof(struct csv, path),
     .flags = QIB_PARAM_REQUIRED | QIB_PARAM_OUTPUT,
     .help = "CSV file to write, relative to the output directory (--out)"},
    {.name = "units_row", .type = QIB_PARAM_BOOL, .offset = offsetof(struct csv, units_row),
     .def = "false",
     .help = "add a second header row with each column's unit (empty when unitless)"},
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
    .name = "csv",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "write a table as CSV: one header row, '.' decimal mark, exact doubles, "
               "empty cell for missing values",
    .params = params,
    .inputs = inputs,
    .outputs = NULL, /* the file is the result */
    .priv_size = sizeof(struct csv),
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
