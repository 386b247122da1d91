/* `qib plugins` and `qib describe`: what the loader found, and one plugin's
 * descriptor as text or as the Markdown reference page kept in
 * doc/plugins/ (generated, so the page never disagrees with the code). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine.h"
#include "qib/qib.h"

/* `qib plugins` needs every module; `qib describe NAME` opens only the
 * module of that name when it can (see qib__registry_open). */
static int load(struct qib__registry **r, int all)
{
    int rc = all ? qib__registry_load(r) : qib__registry_open(r);
    if (rc != QIB_OK) {
        fprintf(stderr, "qib: loading plugins: %s\n", qib_strerror(rc));
        return QIB_EXIT_FAIL;
    }
    return QIB_EXIT_OK;
}

static void print_problems(const struct qib__registry *r)
{
    for (size_t i = 0; i < r->nproblems; i++)
        fprintf(stderr, "qib: refused %s: %s\n", r->problems[i].path, r->problems[i].reason);
}

static int cmp_mod(const void *a, const void *b)
{
    const struct qib__module *const *x = a, *const *y = b;
    return strcmp((*x)->full_name, (*y)->full_name);
}

int qib__cmd_plugins(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: qib plugins\n\n"
                   "List every plugin found on QIB_PLUGIN_PATH and in %s:\n"
                   "name, kind, version, summary and module file.  Modules that were\n"
                   "refused are listed on stderr with the reason.\n",
                   QIB_PLUGINDIR);
            return QIB_EXIT_OK;
        }
        fprintf(stderr, "qib plugins: unexpected argument \"%s\"\nusage: qib plugins\n", argv[i]);
        return QIB_EXIT_USAGE;
    }
    struct qib__registry *r;
    int ex = load(&r, 1);
    if (ex)
        return ex;
    const struct qib__module **v = malloc((r->nmods ? r->nmods : 1) * sizeof *v);
    if (!v) {
        qib__registry_free(&r);
        fprintf(stderr, "qib: out of memory\n");
        return QIB_EXIT_FAIL;
    }
    size_t wn = strlen("NAME"), wk = strlen("KIND"), wv = strlen("VERSION"), ws = strlen("SUMMARY");
    for (size_t i = 0; i < r->nmods; i++) {
        const struct qib__module *m = &r->mods[i];
        v[i] = m;
        size_t l;
        if ((l = strlen(m->full_name)) > wn)
            wn = l;
        if ((l = strlen(qib_kind_name(m->desc->kind))) > wk)
            wk = l;
        if ((l = strlen(m->desc->version)) > wv)
            wv = l;
        if ((l = strlen(m->desc->summary)) > ws)
            ws = l;
    }
    if (r->nmods)
        qsort(v, r->nmods, sizeof *v, cmp_mod);
    if (r->nmods) {
        printf("%-*s  %-*s  %-*s  %-*s  %s\n", (int)wn, "NAME", (int)wk, "KIND", (int)wv,
               "VERSION", (int)ws, "SUMMARY", "MODULE");
        for (size_t i = 0; i < r->nmods; i++)
            printf("%-*s  %-*s  %-*s  %-*s  %s\n", (int)wn, v[i]->full_name, (int)wk,
                   qib_kind_name(v[i]->desc->kind), (int)wv, v[i]->desc->version, (int)ws,
                   v[i]->desc->summary, v[i]->path);
    } else {
        const char *p = getenv("QIB_PLUGIN_PATH");
        fprintf(stderr, "qib: no plugins found in QIB_PLUGIN_PATH (%s) or %s\n",
                p ? p : "unset", QIB_PLUGINDIR);
    }
    print_problems(r);
    free(v);
    qib__registry_free(&r);
    return QIB_EXIT_OK;
}

/* ---- describe ---- */

static void fmt_d(double x, char b[32])
{
    qib_format_double(x, b);
}

/* The range of a numeric parameter as text ("" when unbounded). */
static void range_text(const struct qib_param *p, char *buf, size_t len)
{
    char a[32], b[32];
    buf[0] = 0;
    if (p->type != QIB_PARAM_INT && p->type != QIB_PARAM_DOUBLE && p->type != QIB_PARAM_VEC3 &&
        p->type != QIB_PARAM_DLIST)
        return;
    int lo = (p->flags & QIB_PARAM_MIN) != 0, hi = (p->flags & QIB_PARAM_MAX) != 0;
    fmt_d(p->min, a);
    fmt_d(p->max, b);
    if (lo && hi)
        snprintf(buf, len, "%s to %s", a, b);
    else if (lo)
        snprintf(buf, len, ">= %s", a);
    else if (hi)
        snprintf(buf, len, "<= %s", b);
}

static void choices_text(const struct qib_param *p, const char *quote, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; p->type == QIB_PARAM_ENUM && p->choices && p->choices[i]; i++) {
        int n = snprintf(buf + used, len - used, "%s%s%s%s", i ? ", " : "", quote, p->choices[i],
                         quote);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
}

static const char *type_text(const struct qib_param *p)
{
    if (p->type == QIB_PARAM_PATH && (p->flags & QIB_PARAM_OUTPUT))
        return "path (output)";
    return qib__param_type_name(p->type);
}

static const char *default_text(const struct qib_param *p)
{
    if (p->flags & QIB_PARAM_REQUIRED)
        return NULL;
    return p->def;
}

static void port_kind_text(const struct qib_port *p, char *buf, size_t len)
{
    if (p->mask_when)
        snprintf(buf, len, "%s (a mask when %s)", qib__obj_kind_name(p->kind), p->mask_when);
    else
        snprintf(buf, len, "%s", qib__obj_kind_name(p->kind));
}

static void describe_text(const struct qib__module *m)
{
    const struct qib_plugin *d = m->desc;
    char buf[512];
    printf("%s %s\n", m->full_name, d->version);
    printf("  %s\n\n", d->summary);
    printf("  license:  %s\n", d->license);
    if (d->citation)
        printf("  citation: %s\n", d->citation);
    printf("  module:   %s\n", m->path);
    if (qib__module_hash(m) == QIB_OK)
        printf("  sha256:   %s\n", m->sha256);
    else
        printf("  sha256:   (cannot be read: %s)\n", strerror(errno));
    printf("\nParameters:\n");
    if (!d->params || !d->params[0].name)
        printf("  (none)\n");
    for (size_t i = 0; d->params && d->params[i].name; i++) {
        const struct qib_param *p = &d->params[i];
        const char *def = default_text(p);
        printf("  %s (%s)", p->name, type_text(p));
        if (p->flags & QIB_PARAM_REQUIRED)
            printf(", required");
        else if (def)
            printf(", default %s", def);
        else
            printf(", no default");
        range_text(p, buf, sizeof buf);
        if (*buf)
            printf(", range %s", buf);
        if (p->unit)
            printf(", unit %s", p->unit);
        printf("\n");
        choices_text(p, "", buf, sizeof buf);
        if (*buf)
            printf("      one of: %s\n", buf);
        printf("      %s\n", p->help);
    }
    printf("\nInputs:\n");
    if (!d->inputs || !d->inputs[0].name)
        printf("  (none)\n");
    for (size_t i = 0; d->inputs && d->inputs[i].name; i++) {
        const struct qib_port *p = &d->inputs[i];
        printf("  %s (%s%s)\n      %s\n", p->name, qib__obj_kind_name(p->kind),
               p->flags & QIB_PORT_OPTIONAL ? ", optional" : "", p->help);
    }
    printf("\nOutputs:\n");
    if (!d->outputs[0].name)
        printf("  (none: the file it writes is the result)\n");
    for (size_t i = 0; d->outputs && d->outputs[i].name; i++) {
        const struct qib_port *p = &d->outputs[i];
        port_kind_text(p, buf, sizeof buf);
        printf("  %s (%s%s)%s\n      %s\n", p->name, buf,
               p->flags & QIB_PORT_OPTIONAL ? ", optional" : "", i == 0 ? " [primary]" : "",
               p->help);
    }
}

/* Markdown table cells: a '|' would end the cell. */
static void md_cell(const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputs("\\|", stdout);
        else if (*s == '\n')
            fputc(' ', stdout);
        else
            fputc(*s, stdout);
    }
}

static void describe_markdown(const struct qib__module *m)
{
    const struct qib_plugin *d = m->desc;
    char buf[512];
    printf("# %s\n\n", m->full_name);
    printf("%s\n\n", d->summary);
    printf("| | |\n|---|---|\n");
    printf("| Kind | %s |\n", qib_kind_name(d->kind));
    printf("| Version | ");
    md_cell(d->version);
    printf(" |\n| License | ");
    md_cell(d->license);
    printf(" |\n");
    if (d->citation) {
        printf("| Reference | ");
        md_cell(d->citation);
        printf(" |\n");
    }
    printf("\n## Parameters\n\n");
    if (!d->params || !d->params[0].name) {
        printf("None.\n");
    } else {
        printf("| Name | Type | Default | Range or choices | Unit | Description |\n");
        printf("|---|---|---|---|---|---|\n");
        for (size_t i = 0; d->params[i].name; i++) {
            const struct qib_param *p = &d->params[i];
            const char *def = default_text(p);
            printf("| `%s` | %s | ", p->name, type_text(p));
            if (p->flags & QIB_PARAM_REQUIRED)
                printf("required");
            else if (def) {
                printf("`");
                md_cell(def);
                printf("`");
            } else
                printf("none");
            printf(" | ");
            range_text(p, buf, sizeof buf);
            if (!*buf)
                choices_text(p, "`", buf, sizeof buf);
            md_cell(buf);
            printf(" | ");
            md_cell(p->unit ? p->unit : "");
            printf(" | ");
            md_cell(p->help);
            printf(" |\n");
        }
    }
    printf("\n## Inputs\n\n");
    if (!d->inputs || !d->inputs[0].name) {
        printf("None.\n");
    } else {
        printf("| Port | Kind | Required | Description |\n|---|---|---|---|\n");
        for (size_t i = 0; d->inputs[i].name; i++) {
            const struct qib_port *p = &d->inputs[i];
            printf("| `%s` | %s | %s | ", p->name, qib__obj_kind_name(p->kind),
                   p->flags & QIB_PORT_OPTIONAL ? "no" : "yes");
            md_cell(p->help);
            printf(" |\n");
        }
    }
    printf("\n## Outputs\n\n");
    if (!d->outputs[0].name)
        printf("None: the file this plugin writes is its result.\n");
    else
        printf("The first output is the one a bare step id refers to.\n\n"
               "| Port | Kind | Always set | Description |\n|---|---|---|---|\n");
    for (size_t i = 0; d->outputs[i].name; i++) {
        const struct qib_port *p = &d->outputs[i];
        port_kind_text(p, buf, sizeof buf);
        printf("| `%s` | ", p->name);
        md_cell(buf);
        printf(" | %s | ", p->flags & QIB_PORT_OPTIONAL ? "no" : "yes");
        md_cell(p->help);
        printf(" |\n");
    }
    printf("\n---\n\nGenerated by `qib describe --markdown %s`; edit the plugin's descriptor, "
           "not this page.\n",
           m->full_name);
}

int qib__cmd_describe(int argc, char **argv)
{
    const char *name = NULL;
    int markdown = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--markdown") == 0) {
            markdown = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: qib describe NAME [--markdown]\n\n"
                   "Show plugin NAME (\"kind.name\"): summary, version, license, citation,\n"
                   "parameters (type, default, range or choices, unit, help) and ports.\n"
                   "--markdown prints the reference page kept in doc/plugins/.\n");
            return QIB_EXIT_OK;
        } else if (argv[i][0] == '-' || name) {
            fprintf(stderr, "qib describe: unexpected argument \"%s\"\n"
                            "usage: qib describe NAME [--markdown]\n", argv[i]);
            return QIB_EXIT_USAGE;
        } else {
            name = argv[i];
        }
    }
    if (!name) {
        fprintf(stderr, "qib describe: which plugin?\nusage: qib describe NAME [--markdown]\n");
        return QIB_EXIT_USAGE;
    }
    struct qib__registry *r;
    int ex = load(&r, 0);
    if (ex)
        return ex;
    const struct qib__module *m = qib__registry_find(r, name);
    if (!m) {
        const struct qib__problem *pr = qib__registry_problem_for(r, name);
        const char *near = qib__registry_suggest(r, name);
        if (pr)
            fprintf(stderr, "qib describe: plugin \"%s\" was refused: %s: %s\n", name, pr->path,
                    pr->reason);
        else if (near)
            fprintf(stderr, "qib describe: no plugin \"%s\" (did you mean \"%s\"?)\n", name, near);
        else
            fprintf(stderr, "qib describe: no plugin \"%s\"; `qib plugins` lists them\n", name);
        qib__registry_free(&r);
        return QIB_EXIT_USAGE;
    }
    if (markdown)
        describe_markdown(m);
    else
        describe_text(m);
    qib__registry_free(&r);
    return QIB_EXIT_OK;
}
