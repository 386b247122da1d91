/* Parameters: values stored at their offsets with the C type of their
 * parameter type, defaults filled, required ones enforced, stored values
 * formatted back (what provenance records), and the output-path check. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "qib/qib.h"
#include "tap.h"

struct priv {
    int flag;
    int64_t count;
    double level;
    char *name;
    char *file;
    int mode;
    double spacing[3];
    struct qib_dlist bins;
    char *out;
};

static const char *const modes[] = {"volume", "mask", "label", NULL};

static const struct qib_param params[] = {
    {.name = "flag", .type = QIB_PARAM_BOOL, .offset = offsetof(struct priv, flag), .def = "on",
     .help = "x"},
    {.name = "count", .type = QIB_PARAM_INT, .offset = offsetof(struct priv, count),
     .flags = QIB_PARAM_REQUIRED | QIB_PARAM_MIN, .min = -5, .help = "x"},
    {.name = "level", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct priv, level),
     .def = "0.1", .help = "x"},
    {.name = "name", .type = QIB_PARAM_STRING, .offset = offsetof(struct priv, name),
     .help = "x"},
    {.name = "file", .type = QIB_PARAM_PATH, .offset = offsetof(struct priv, file),
     .def = "/etc/input.txt", .help = "x"},
    {.name = "mode", .type = QIB_PARAM_ENUM, .offset = offsetof(struct priv, mode),
     .def = "mask", .choices = modes, .help = "x"},
    {.name = "spacing", .type = QIB_PARAM_VEC3, .offset = offsetof(struct priv, spacing),
     .def = "[1, 1, 2.5]", .min = 0.01, .flags = QIB_PARAM_MIN, .unit = "mm", .help = "x"},
    {.name = "bins", .type = QIB_PARAM_DLIST, .offset = offsetof(struct priv, bins),
     .def = "[0, 0.5, 1e3]", .help = "x"},
    {.name = "out", .type = QIB_PARAM_PATH, .offset = offsetof(struct priv, out),
     .flags = QIB_PARAM_OUTPUT, .help = "x"},
    {.name = NULL}};

static const struct qib_port outs[] = {
    {.name = "o", .kind = QIB_OBJ_VOLUME, .mask_when = "mode=mask", .help = "x"},
    {.name = "t", .kind = QIB_OBJ_TABLE, .help = "x"},
    {.name = "m", .kind = QIB_OBJ_MASK, .help = "x"},
    {.name = NULL}};

static int run(qib_step *s, void *p)
{
    (void)s;
    (void)p;
    return QIB_OK;
}

static const struct qib_plugin desc = {
    .abi_major = QIB_ABI_MAJOR, .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin), .kind = QIB_KIND_BIO, .name = "p",
    .version = "1", .license = "MIT", .summary = "s", .params = params, .outputs = outs,
    .priv_size = sizeof(struct priv), .run = run};

static void fmt_is(const qib__params *p, const char *name, const char *want)
{
    const struct qib_param *q = qib__param_find(params, name, NULL);
    char *got = qib__param_format(q, qib__params_priv_const(p));
    is_string(got, want, "format %s", name);
    free(got);
}

int main(void)
{
    char err[512];
    qib__params *p;
    plan_lazy();

    is_int(qib__plugin_check(&desc, err, sizeof err), QIB_OK, "test descriptor is valid");
    is_int(qib__params_new(&desc, &p), QIB_OK, "params_new");
    const struct priv *v = qib__params_priv(p);
    ok(v->name == NULL && v->count == 0 && v->bins.v == NULL, "priv starts zeroed");
    ok(qib__params_desc(p) == &desc, "params_desc");

    /* Required and missing. */
    is_int(qib__params_finish(p, err, sizeof err), QIB_EINVAL, "required missing: refused");
    is_string(err, "parameter \"count\" is required", "required missing: message");
    qib__params_free(&p);
    ok(p == NULL, "free sets NULL");

    /* Given values, from pipeline-style pvalues. */
    qib__params_new(&desc, &p);
    v = qib__params_priv(p);
    struct qib__pvalue sv = {.scalar = "-5"};
    is_int(qib__params_set(p, "count", &sv, err, sizeof err), QIB_OK, "count = -5 (the minimum)");
    sv.scalar = "-6";
    is_int(qib__params_set(p, "count", &sv, err, sizeof err), QIB_ERANGE, "count = -6 refused");
    is_int((long long)v->count, -5, "a refused value leaves the old one");
    sv.scalar = "first";
    qib__params_set(p, "name", &sv, err, sizeof err);
    sv.scalar = "second";
    is_int(qib__params_set(p, "name", &sv, err, sizeof err), QIB_OK, "string set twice");
    is_string(v->name, "second", "string: the last value (the first freed)");
    const char *items[] = {"3", "4.5", "-1e-3", "7"};
    struct qib__pvalue lv = {.is_list = 1, .n = 4, .items = items};
    is_int(qib__params_set(p, "bins", &lv, err, sizeof err), QIB_OK, "dlist from a list value");
    is_int((long long)v->bins.n, 4, "dlist: 4 items");
    is_double(v->bins.v[2], -1e-3, 0, "dlist: item 3");
    lv.n = 2;
    is_int(qib__params_set(p, "bins", &lv, err, sizeof err), QIB_OK, "dlist set again");
    is_int((long long)v->bins.n, 2, "dlist: replaced");
    lv.n = 3;
    is_int(qib__params_set(p, "spacing", &lv, err, sizeof err), QIB_ERANGE,
           "vec3 with a negative item refused (min 0.01)");
    contains(err, "parameter \"spacing\": item 3: -1e-3 is below the minimum 0.01 mm",
             "vec3: message names the item");
    sv.scalar = "label";
    is_int(qib__params_set(p, "mode", &sv, err, sizeof err), QIB_OK, "enum: label");
    is_int(v->mode, 2, "enum stored as the index");
    sv.scalar = "results/a.csv";
    is_int(qib__params_set(p, "out", &sv, err, sizeof err), QIB_OK, "output path");
    sv.scalar = "x";
    is_int(qib__params_set(p, "nope", &sv, err, sizeof err), QIB_ENOTFOUND, "unknown name");
    is_string(err, "unknown parameter \"nope\" (did you mean \"name\"?)", "unknown: suggestion");
    is_int(qib__params_set_text(p, "level", "2.5e-1", err, sizeof err), QIB_OK, "text: 2.5e-1");

    /* Defaults fill what was not given. */
    is_int(qib__params_finish(p, err, sizeof err), QIB_OK, "finish");
    is_int(qib__params_finish(p, err, sizeof err), QIB_OK, "finish twice is harmless");
    is_int(v->flag, 1, "default bool \"on\"");
    is_double(v->level, 0.25, 0, "given double kept");
    is_string(v->file, "/etc/input.txt", "default path (an input: absolute is fine)");
    is_int(v->mode, 2, "given enum kept");
    ok(v->spacing[0] == 1 && v->spacing[1] == 1 && v->spacing[2] == 2.5, "default vec3");
    is_int((long long)v->bins.n, 2, "given dlist kept");
    ok(qib__params_given(p, 1) && !qib__params_given(p, 0) && !qib__params_given(p, 99),
       "given flags");

    /* Formatted back in pipeline syntax. */
    fmt_is(p, "flag", "true");
    fmt_is(p, "count", "-5");
    fmt_is(p, "level", "0.25");
    fmt_is(p, "name", "second");
    fmt_is(p, "file", "/etc/input.txt");
    fmt_is(p, "mode", "label");
    fmt_is(p, "spacing", "[1, 1, 2.5]");
    fmt_is(p, "bins", "[3, 4.5]");
    fmt_is(p, "out", "results/a.csv");
    qib__params_free(&p);

    /* A default of 0.1 must come back as 0.1 (shortest round-trip form). */
    qib__params_new(&desc, &p);
    qib__params_set_text(p, "count", "0", err, sizeof err);
    qib__params_finish(p, err, sizeof err);
    fmt_is(p, "level", "0.1");
    fmt_is(p, "bins", "[0, 0.5, 1000]");
    fmt_is(p, "flag", "true");
    {
        const struct qib_param *q = qib__param_find(params, "name", NULL);
        ok(qib__param_format(q, qib__params_priv_const(p)) == NULL, "format: unset string is NULL");
    }
    /* mask_when follows the stored enum. */
    is_int(qib__output_kind(&desc, &outs[0], qib__params_priv_const(p)), QIB_OBJ_MASK,
           "output kind: mode=mask gives a mask");
    is_int(qib__output_kind(&desc, &outs[0], NULL), QIB_OBJ_VOLUME,
           "output kind: without parameters, a volume");
    is_int(qib__output_kind(&desc, &outs[1], qib__params_priv_const(p)), QIB_OBJ_TABLE,
           "output kind: table");
    is_int(qib__output_kind(&desc, &outs[2], NULL), QIB_OBJ_MASK, "output kind: mask port");
    qib__params_set_text(p, "mode", "volume", err, sizeof err);
    is_int(qib__output_kind(&desc, &outs[0], qib__params_priv_const(p)), QIB_OBJ_VOLUME,
           "output kind: mode=volume gives a volume");
    qib__params_free(&p);

    /* Single parameters, stored at offset 0 of a scratch buffer. */
    {
        struct qib_param q = params[2];
        double d = 7;
        q.offset = 0;
        is_int(qib__param_store_text(&q, "1.5", &d, err, sizeof err), QIB_OK, "store_text");
        is_double(d, 1.5, 0, "stored");
        qib__param_clear(&q, &d);
        is_double(d, 0, 0, "clear zeroes a double");
        is_int(qib__param_store_text(&q, "[1]", &d, err, sizeof err), QIB_EINVAL,
               "a list for a double");
        struct qib_param s = params[3];
        s.offset = 0;
        char *str = NULL;
        is_int(qib__param_store_text(&s, "[not, a, string]", &str, err, sizeof err), QIB_EINVAL,
               "a bracketed text is a list");
        is_int(qib__param_store_text(&s, "[half", &str, err, sizeof err), QIB_OK,
               "an unbalanced bracket is a scalar");
        is_string(str, "[half", "scalar kept verbatim");
        qib__param_clear(&s, &str);
        ok(str == NULL, "clear frees a string");
        struct qib_param dl = params[7];
        dl.offset = 0;
        struct qib_dlist l = {0};
        is_int(qib__param_store_text(&dl, "[ ]", &l, err, sizeof err), QIB_EINVAL, "empty list");
        is_int(qib__param_store_text(&dl, "[1,,2]", &l, err, sizeof err), QIB_EINVAL,
               "empty item");
        contains(err, "item 2: expected a number, got \"\"", "empty item: message");
        is_int(qib__param_store_text(&dl, "[ 1 ,2 ]", &l, err, sizeof err), QIB_OK,
               "spaces around items");
        is_int((long long)l.n, 2, "two items");
        qib__param_clear(&dl, &l);
        struct qib_param b = params[0];
        b.offset = 0;
        int flag = 5;
        const char *t[] = {"true", "TRUE", "Yes", "on", "false", "no", "OFF"};
        int want[] = {1, 1, 1, 1, 0, 0, 0};
        for (int i = 0; i < 7; i++) {
            qib__param_store_text(&b, t[i], &flag, err, sizeof err);
            is_int(flag, want[i], "bool \"%s\"", t[i]);
        }
    }

    /* Relative path confinement. */
    {
        const char *good[] = {"a.csv", "./a.csv", "a/b/c.csv", "a/../b.csv", "a//b.csv",
                              "a/./b/../c.csv"};
        const char *bad[] = {"", "/a.csv", "..", "../a.csv", "a/../../b.csv", ".", "a/..",
                             "./../x"};
        for (size_t i = 0; i < sizeof good / sizeof *good; i++)
            is_int(qib__relpath_check(good[i], NULL, 0), QIB_OK, "relpath \"%s\" stays inside",
                   good[i]);
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
            is_int(qib__relpath_check(bad[i], err, sizeof err), QIB_EINVAL,
                   "relpath \"%s\" refused (%s)", bad[i], err);
    }
    return tap_done();
}
