/* The pipeline parser (core/pipeline.c) on text in memory: the syntax tree
 * and the line and column of each part, substitution positions, and the
 * YAML safety rules (aliases, anchors, tags, depth, size, duplicate keys,
 * UTF-8, one document), each refused with one message at the right place. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline.h"
#include "qib/status.h"
#include "tap.h"

static struct qib__diags d;

/* Parse @p text; returns the status, the tree in *out (may be NULL). */
static int parse(const char *text, struct qib__pipeline **out)
{
    qib__diags_clear(&d);
    return qib__pipeline_parse("p.yaml", text, strlen(text), out, &d);
}

/* Exactly one message, at line:col, containing @p frag. */
static void one_error(const char *what, int line, int col, const char *frag)
{
    if (!is_int((long long)d.n, 1, "%s: one message", what)) {
        for (size_t i = 0; i < d.n; i++)
            diag("%d:%d: %s", d.v[i].pos.line, d.v[i].pos.col, d.v[i].msg);
        skip(2, "no single message");
        return;
    }
    ok(d.v[0].pos.line == line && d.v[0].pos.col == col, "%s: at %d:%d (got %d:%d)", what, line,
       col, d.v[0].pos.line, d.v[0].pos.col);
    contains(d.v[0].msg, frag, "%s: says \"%s\"", what, frag);
}

static const char good[] =
    "qib: 1\n"
    "name: demo\n"
    "description: A demo.\n"
    "references: [\"Ref A\", 'Ref B']\n"
    "inputs:\n"
    "  ct: {type: path, help: \"CT image\"}\n"
    "  weight: {type: double, optional: true}\n"
    "params:\n"
    "  lower: {type: double, default: -1000, min: -2000, max: 0, unit: HU, help: \"lowest\"}\n"
    "  mode: {type: enum, choices: [a, b], default: b}\n"
    "  spacing: {type: vec3, default: [1, 1, 2.5]}\n"
    "steps:\n"
    "  - id: ct\n"
    "    plugin: read.nifti\n"
    "    with: {path: \"${inputs.ct}\"}\n"
    "  - id: stats\n"
    "    plugin: bio.intensity\n"
    "    description: the statistics\n"
    "    in: {image: ct, mask: roi.image}\n"
    "    with:\n"
    "      lower: \"${params.lower}\"\n"
    "      bins:\n"
    "        - 1\n"
    "        - 2.5\n"
    "outputs:\n"
    "  csv: {file: stats.csv, help: \"the table\"}\n"
    "  table: {step: stats.table}\n";

static void test_tree(void)
{
    struct qib__pipeline *p = NULL;
    int rc = parse(good, &p);
    is_int(rc, QIB_OK, "a valid pipeline parses");
    is_int((long long)d.n, 0, "without messages");
    if (!p) {
        skip(36, "no tree");
        return;
    }
    is_int(p->version, 1, "format version");
    is_string(p->name, "demo", "name");
    is_string(p->description, "A demo.", "description");
    is_int((long long)p->nreferences, 2, "two references");
    is_string(p->references[1], "Ref B", "a single-quoted reference");
    is_int((long long)p->ninputs, 2, "two inputs");
    is_string(p->inputs[1].name, "weight", "input name");
    is_int(p->inputs[1].type, QIB__INPUT_DOUBLE, "input type");
    is_int(p->inputs[1].optional, 1, "optional input");
    is_int(p->inputs[0].optional, 0, "inputs are required by default");
    ok(p->inputs[0].pos.line == 6 && p->inputs[0].pos.col == 3, "input position 6:3");
    is_int((long long)p->nparams, 3, "three parameters");
    is_int(p->params[0].decl.type, QIB_PARAM_DOUBLE, "parameter type");
    is_string(p->params[0].decl.def, "-1000", "default text");
    ok((p->params[0].decl.flags & (QIB_PARAM_MIN | QIB_PARAM_MAX)) ==
           (QIB_PARAM_MIN | QIB_PARAM_MAX) && p->params[0].decl.min == -2000 &&
           p->params[0].decl.max == 0, "bounds");
    is_string(p->params[0].decl.unit, "HU", "unit");
    is_string(p->params[1].decl.choices[1], "b", "enum choices");
    is_string(p->params[2].decl.def, "[1, 1, 2.5]", "a list default in pipeline syntax");
    is_int((long long)p->nsteps, 2, "two steps");
    is_string(p->steps[1].id, "stats", "step id");
    is_string(p->steps[1].plugin, "bio.intensity", "step plugin");
    ok(p->steps[1].plugin_pos.line == 17 && p->steps[1].plugin_pos.col == 13,
       "plugin position 17:13 (got %d:%d)", p->steps[1].plugin_pos.line, p->steps[1].plugin_pos.col);
    ok(p->steps[1].pos.line == 16 && p->steps[1].pos.col == 5, "step position 16:5 (got %d:%d)",
       p->steps[1].pos.line, p->steps[1].pos.col);
    is_string(p->steps[1].description, "the statistics", "step description");
    is_int((long long)p->steps[1].nin, 2, "two wires");
    ok(strcmp(p->steps[1].in[0].step, "ct") == 0 && p->steps[1].in[0].outport == NULL,
       "\"ct\": a step's primary output");
    ok(strcmp(p->steps[1].in[1].step, "roi") == 0 && strcmp(p->steps[1].in[1].outport, "image") == 0,
       "\"roi.image\": step and port");
    ok(p->steps[1].in[1].ref_pos.line == 19 && p->steps[1].in[1].ref_pos.col == 27,
       "reference position 19:27 (got %d:%d)", p->steps[1].in[1].ref_pos.line,
       p->steps[1].in[1].ref_pos.col);
    is_int((long long)p->steps[1].nwith, 2, "two parameters");
    const struct qib__pwith *w = &p->steps[1].with[1];
    ok(w->val.is_list && w->val.n == 2 && strcmp(w->val.items[1].s, "2.5") == 0,
       "a block sequence is a list value");
    ok(w->val.items[1].pos.line == 24 && w->val.items[1].pos.col == 11, "list item position 24:11");
    is_int((long long)p->noutputs, 2, "two outputs");
    is_string(p->outputs[0].file.s, "stats.csv", "a file output");
    ok(strcmp(p->outputs[1].step, "stats") == 0 && strcmp(p->outputs[1].outport, "table") == 0,
       "an object output");
    is_int(qib__pipeline_step(p, "stats"), 1, "step lookup");
    is_int(qib__pipeline_param(p, "nope"), -1, "parameter lookup of an unknown name");
    qib__pipeline_free(&p);
    ok(p == NULL, "free sets the pointer to NULL");
}

static void test_subst_pos(void)
{
    /* Columns count characters, not bytes: "é" is two bytes, one column. */
    const char *text = "qib: 1\nname: x\nsteps:\n"
                       "  - id: a\n"
                       "    plugin: k.n\n"
                       "    with:\n"
                       "      label: \"é ${params.x} ${out}\"\n"
                       "      plain: a${b}\n";
    struct qib__pipeline *p = NULL;
    parse(text, &p);
    if (!p || p->nsteps != 1 || p->steps[0].nwith != 2) {
        skip(4, "no tree");
        qib__pipeline_free(&p);
        return;
    }
    const struct qib__scalar *s = &p->steps[0].with[0].val.one;
    struct qib__pos a = qib__scalar_subst_pos(p, s, 0), b = qib__scalar_subst_pos(p, s, 1);
    ok(a.line == 7 && a.col == 17, "first ${ after a two-byte character at 7:17 (got %d:%d)", a.line,
       a.col);
    ok(b.line == 7 && b.col == 29, "second ${ at 7:29 (got %d:%d)", b.line, b.col);
    struct qib__pos c = qib__scalar_subst_pos(p, s, 2);
    ok(c.line == s->pos.line && c.col == s->pos.col, "a ${ that is not there: the scalar's place");
    struct qib__pos e = qib__scalar_subst_pos(p, &p->steps[0].with[1].val.one, 0);
    ok(e.line == 8 && e.col == 15, "in a plain scalar at 8:15 (got %d:%d)", e.line, e.col);
    qib__pipeline_free(&p);

    /* A byte order mark is not a column. */
    parse("\xEF\xBB\xBFqib: 1\nname: x\nsteps: [{id: a, plugin: k.n, with: {x: \"a${b}\"}}]\n", &p);
    if (!p || p->nsteps != 1 || p->steps[0].nwith != 1) {
        skip(1, "no tree");
    } else {
        struct qib__pos f = qib__scalar_subst_pos(p, &p->steps[0].with[0].val.one, 0);
        ok(f.line == 3 && f.col == 42, "after a byte order mark, at 3:42 (got %d:%d)", f.line, f.col);
    }
    qib__pipeline_free(&p);
}

static void test_safety(void)
{
    struct qib__pipeline *p = NULL;
    /* The "billion laughs": nine levels of nine aliases each. */
    char bomb[4096];
    size_t used = (size_t)snprintf(bomb, sizeof bomb, "qib: 1\na0: &a0 [\"lol\",\"lol\",\"lol\"]\n");
    for (int i = 1; i < 10; i++)
        used += (size_t)snprintf(bomb + used, sizeof bomb - used,
                                 "a%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n", i, i,
                                 i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    clock_t t0 = clock();
    int rc = parse(bomb, &p);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    is_int(rc, QIB_EPIPELINE, "alias bomb: refused");
    ok(p == NULL, "alias bomb: no tree");
    one_error("alias bomb", 2, 5, "anchors and aliases");
    ok(secs < 0.5, "alias bomb: refused in %.3f s", secs);

    rc = parse("qib: 1\nname: x\nsteps: *nothing\n", &p);
    is_int(rc, QIB_EPIPELINE, "an alias alone");
    one_error("alias", 3, 8, "aliases (*nothing)");

    rc = parse("qib: 1\nname: !!str x\nsteps: []\n", &p);
    is_int(rc, QIB_OK, "a tag: the rest is still checked");
    ok(d.n >= 1 && d.v[0].pos.line == 2 && d.v[0].pos.col == 7 && strstr(d.v[0].msg, "tags"),
       "a tag is refused at 2:7");
    qib__pipeline_free(&p);

    rc = parse("qib: 1\nname: a\nname: b\nsteps: []\n", &p);
    ok(rc == QIB_OK && d.n >= 1 && d.v[0].pos.line == 3 && d.v[0].pos.col == 1 &&
           strstr(d.v[0].msg, "duplicate key \"name\" (first at line 2, column 1)"),
       "a duplicate key at 3:1, naming the first");
    if (p)
        is_string(p->name, "a", "the first value is kept");
    else
        skip(1, "no tree");
    qib__pipeline_free(&p);

    /* Nesting: 32 levels are allowed, 33 are not. */
    char deep[256];
    snprintf(deep, sizeof deep, "x: %.*s%.*s\n", 31, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 31,
             "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
    rc = parse(deep, &p);
    ok(rc == QIB_OK, "32 levels of nesting are allowed");
    qib__pipeline_free(&p);
    snprintf(deep, sizeof deep, "x: %.*s%.*s\n", 32, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 32,
             "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
    rc = parse(deep, &p);
    is_int(rc, QIB_EPIPELINE, "33 levels are not");
    one_error("too deep", 1, 35, "nesting deeper than 32");

    /* Size: exactly the limit is read, one byte more is refused unread. */
    size_t big = QIB__PIPELINE_MAX_BYTES;
    char *text = malloc(big + 2);
    if (!text)
        bail("out of memory");
    const char *head = "qib: 1\nname: big\nsteps: []\n";
    memset(text, '#', big + 1);
    memcpy(text, head, strlen(head));
    text[big - 1] = '\n';
    qib__diags_clear(&d);
    rc = qib__pipeline_parse("p.yaml", text, big, &p, &d);
    ok(rc == QIB_OK && p && strcmp(p->name, "big") == 0, "a file of exactly 1 MiB is read");
    qib__pipeline_free(&p);
    text[big] = '\n';
    qib__diags_clear(&d);
    rc = qib__pipeline_parse("p.yaml", text, big + 1, &p, &d);
    is_int(rc, QIB_EPIPELINE, "one byte more is refused");
    ok(d.n == 1 && d.v[0].pos.line == 0 && strstr(d.v[0].msg, "larger than 1048576 bytes"),
       "with one message and no line");
    free(text);

    rc = parse("qib: 1\nname: \"a\xC3\"\n", &p);
    is_int(rc, QIB_EPIPELINE, "a truncated UTF-8 sequence");
    one_error("bad UTF-8", 2, 9, "byte 0xC3");
    rc = parse("qib: 1\nname: \xED\xA0\x80\n", &p);
    is_int(rc, QIB_EPIPELINE, "an encoded surrogate");
    one_error("surrogate", 2, 7, "byte 0xED");
    rc = parse("\xFF\xFEq\0i\0b\0", &p);
    is_int(rc, QIB_EPIPELINE, "UTF-16 is refused");

    rc = parse("qib: 1\nname: \"a\\0b\"\nsteps: []\n", &p);
    is_int(rc, QIB_EPIPELINE, "an escaped NUL");
    one_error("NUL", 2, 7, "NUL");

    rc = parse("qib: 1\nname: x\nsteps: []\n---\nqib: 1\n", &p);
    is_int(rc, QIB_EPIPELINE, "two documents");
    one_error("two documents", 4, 1, "second YAML document");

    rc = parse("", &p);
    is_int(rc, QIB_EPIPELINE, "an empty file");
    one_error("empty", 1, 1, "empty");
    rc = parse("# only a comment\n", &p);
    is_int(rc, QIB_EPIPELINE, "a file of comments");
    rc = parse("just text\n", &p);
    is_int(rc, QIB_EPIPELINE, "a scalar");
    one_error("scalar", 1, 1, "found a single value");
    rc = parse("qib: 1\nname: [x\n", &p);
    is_int(rc, QIB_EPIPELINE, "a syntax error");
    ok(d.n == 1 && d.v[0].pos.line == 3 && strstr(d.v[0].msg, "YAML syntax error"),
       "is reported with libyaml's place");
}

static void test_structure(void)
{
    struct qib__pipeline *p = NULL;
    int rc = parse("qib: 1\n"
                   "name: [a]\n"
                   "steps:\n"
                   "  - id: a.b\n"
                   "    plugin: x.y\n"
                   "    with: {p: {q: 1}, r: [[1]], s: }\n"
                   "    in: {image: \"a.\"}\n"
                   "    colour: red\n"
                   "  - just a string\n"
                   "outputs:\n"
                   "  o: {help: nothing}\n",
                   &p);
    is_int(rc, QIB_OK, "structural errors keep the rest of the tree");
    qib__diags_sort(&d);
    static const struct {
        int line, col;
        const char *frag;
    } want[] = {
        {2, 7, "'name' must be a single value, found a list"},
        {4, 9, "step id \"a.b\" is not a valid name"},
        {6, 15, "parameter \"p\" must be a value or a list of values, found a mapping"},
        {6, 27, "list item 1 must be a single value"},
        {6, 33, "parameter \"s\" has no value"},
        {7, 17, "\"a.\" is not a reference"},
        {8, 5, "unknown key \"colour\" in step 1"},
        {9, 5, "step 2 must be a mapping, found a single value"},
        {11, 6, "output \"o\" needs exactly one of 'file' and 'step'"},
    };
    size_t nw = sizeof want / sizeof want[0];
    is_int((long long)d.n, (long long)nw, "every structural error is reported");
    for (size_t i = 0; i < nw && i < d.n; i++) {
        ok(d.v[i].pos.line == want[i].line && d.v[i].pos.col == want[i].col &&
               strstr(d.v[i].msg, want[i].frag),
           "%d:%d: %s", want[i].line, want[i].col, want[i].frag);
        if (!(d.v[i].pos.line == want[i].line && d.v[i].pos.col == want[i].col))
            diag("got %d:%d: %s", d.v[i].pos.line, d.v[i].pos.col, d.v[i].msg);
    }
    if (d.n < nw)
        skip((int)(nw - d.n), "messages missing");
    qib__pipeline_free(&p);

    rc = parse("name: x\nsteps: []\n", &p);
    ok(rc == QIB_OK && d.n == 2 && strstr(d.v[0].msg, "missing 'qib: 1'") &&
           strstr(d.v[1].msg, "'steps' is empty"),
       "missing version, empty steps");
    qib__pipeline_free(&p);
    rc = parse("qib: 1.0\nname: x\nsteps: [{id: a, plugin: b.c}]\n", &p);
    ok(rc == QIB_OK && d.n == 1 && d.v[0].pos.line == 1 && d.v[0].pos.col == 6 &&
           strstr(d.v[0].msg, "format version \"1.0\""),
       "the version is the text 1");
    qib__pipeline_free(&p);
}

static void test_diags(void)
{
    struct qib__diags x = {0};
    qib__diag_add(&x, (struct qib__pos){5, 2}, "e%d", 1);
    qib__diag_add(&x, (struct qib__pos){0, 0}, "e%d", 2);
    qib__diag_add(&x, (struct qib__pos){5, 1}, "e%d", 3);
    qib__diag_add(&x, (struct qib__pos){2, 9}, "e%d", 4);
    qib__diag_add(&x, (struct qib__pos){5, 1}, "e%d", 5);
    qib__diags_sort(&x);
    char order[16] = "";
    for (size_t i = 0; i < x.n; i++)
        strcat(order, x.v[i].msg + 1);
    is_string(order, "24351", "messages sorted by place, stable, unplaced first");
    qib__diags_clear(&x);
    ok(x.n == 0 && x.v == NULL, "cleared");
}

int main(void)
{
    plan_lazy();
    test_tree();
    test_subst_pos();
    test_safety();
    test_structure();
    test_diags();
    qib__diags_clear(&d);
    return tap_done();
}
