/* Descriptor checks (qib__plugin_check): a good descriptor passes, and each
 * malformation the loader refuses is named in the reason.  The descriptors
 * are built in the test, each one a copy of the good one with one field
 * broken. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine.h"
#include "qib/qib.h"
#include "tap.h"

struct priv {
    double lower;
    int as;
    int64_t n;
    char *path;
};

static const char *const as_choices[] = {"volume", "mask", NULL};

static int run(qib_step *s, void *p)
{
    (void)s;
    (void)p;
    return QIB_OK;
}

#define P_LOWER {.name = "lower", .type = QIB_PARAM_DOUBLE, .offset = offsetof(struct priv, lower), \
                 .def = "0", .min = -10, .max = 10, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,      \
                 .help = "lower bound (HU)"}
#define P_AS {.name = "as", .type = QIB_PARAM_ENUM, .offset = offsetof(struct priv, as),           \
              .def = "volume", .choices = as_choices, .help = "what to produce"}
#define P_END {.name = NULL}

static const struct qib_param good_params[] = {P_LOWER, P_AS, P_END};
static const struct qib_port good_in[] = {
    {.name = "image", .kind = QIB_OBJ_VOLUME, .help = "input"}, {.name = NULL}};
static const struct qib_port good_out[] = {
    {.name = "out", .kind = QIB_OBJ_VOLUME, .mask_when = "as=mask", .help = "result"},
    {.name = NULL}};

static const struct qib_plugin good = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_SEG,
    .name = "good_one",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "a good descriptor",
    .params = good_params,
    .inputs = good_in,
    .outputs = good_out,
    .priv_size = sizeof(struct priv),
    .run = run,
};

static void bad(const struct qib_plugin *d, int status, const char *msg, const char *what)
{
    char why[512] = "";
    is_int(qib__plugin_check(d, why, sizeof why), status, "%s: refused", what);
    contains(why, msg, "%s: reason", what);
}

/* A copy of the good descriptor whose parameter table is @p params. */
static struct qib_plugin with_params(const struct qib_param *params)
{
    struct qib_plugin d = good;
    d.params = params;
    return d;
}

int main(void)
{
    char why[512];
    struct qib_plugin d;
    plan_lazy();

    is_int(qib__plugin_check(&good, why, sizeof why), QIB_OK, "good descriptor accepted");
    bad(NULL, QIB_EINVAL, "NULL", "NULL descriptor");

    d = good; d.abi_major = 0;
    bad(&d, QIB_EABI, "built for plugin ABI 0.0", "major 0");
    d = good; d.abi_minor = QIB_ABI_MINOR + 1;
    bad(&d, QIB_EABI, "newer than this qib", "newer minor");
    d = good; d.struct_size = sizeof(struct qib_plugin) - 1;
    bad(&d, QIB_EABI, "struct_size", "struct_size one byte short");
    d = good; d.kind = (enum qib_kind)0;
    bad(&d, QIB_EINVAL, "unknown kind 0", "kind 0");
    d = good; d.kind = (enum qib_kind)7;
    bad(&d, QIB_EINVAL, "unknown kind 7", "kind 7");
    d = good; d.name = "Good";
    bad(&d, QIB_EINVAL, "name \"Good\" is not lower-case", "upper-case name");
    d = good; d.name = "good.one";
    bad(&d, QIB_EINVAL, "name \"good.one\"", "dot in name");
    d = good; d.name = "";
    bad(&d, QIB_EINVAL, "name \"\"", "empty name");
    d = good; d.name = NULL;
    bad(&d, QIB_EINVAL, "name \"(null)\"", "NULL name");
    d = good; d.version = NULL;
    bad(&d, QIB_EINVAL, "seg.good_one: no version", "no version");
    d = good; d.license = "";
    bad(&d, QIB_EINVAL, "no license", "no license");
    d = good; d.summary = NULL;
    bad(&d, QIB_EINVAL, "no summary", "no summary");
    d = good; d.run = NULL;
    bad(&d, QIB_EINVAL, "no run function", "no run");
    d = good; d.outputs = NULL;
    bad(&d, QIB_EINVAL, "no output port", "NULL outputs");
    d = good; d.outputs = (const struct qib_port[]){{.name = NULL}};
    bad(&d, QIB_EINVAL, "no output port", "empty outputs");
    d = good; d.outputs = NULL; d.kind = QIB_KIND_EXPORT;
    is_int(qib__plugin_check(&d, why, sizeof why), QIB_OK, "an export plugin may have no output");
    d = good; d.outputs = NULL; d.kind = QIB_KIND_WRITE;
    is_int(qib__plugin_check(&d, why, sizeof why), QIB_OK, "a write plugin may have no output");

    /* Parameters. */
    d = with_params((const struct qib_param[]){P_LOWER, P_LOWER, P_AS, P_END});
    bad(&d, QIB_EINVAL, "parameter \"lower\" is declared twice", "duplicate parameter");
    d = with_params((const struct qib_param[]){
        {.name = "Lower", .type = QIB_PARAM_DOUBLE, .help = "x"}, P_AS, P_END});
    bad(&d, QIB_EINVAL, "name \"Lower\" is not snake_case", "parameter name");
    d = with_params((const struct qib_param[]){
        {.name = "1st", .type = QIB_PARAM_DOUBLE, .help = "x"}, P_AS, P_END});
    bad(&d, QIB_EINVAL, "name \"1st\" is not snake_case", "parameter name with a digit first");
    d = with_params((const struct qib_param[]){
        {.name = "x", .type = (enum qib_param_type)42, .help = "x"}, P_AS, P_END});
    bad(&d, QIB_EINVAL, "parameter \"x\": unknown type 42", "unknown type");
    d = with_params((const struct qib_param[]){
        {.name = "x", .type = QIB_PARAM_DOUBLE, .offset = sizeof(struct priv) - 4, .help = "x"},
        P_AS, P_END});
    bad(&d, QIB_EINVAL, "past priv_size", "offset + size past priv_size");
    d = with_params((const struct qib_param[]){
        {.name = "x", .type = QIB_PARAM_VEC3, .offset = offsetof(struct priv, path), .help = "x"},
        P_AS, P_END});
    bad(&d, QIB_EINVAL, "past priv_size", "vec3 past priv_size");
    d = with_params((const struct qib_param[]){
        {.name = "x", .type = QIB_PARAM_DOUBLE, .offset = 2, .help = "x"}, P_AS, P_END});
    bad(&d, QIB_EINVAL, "offset 2 is not aligned for a double", "misaligned offset");
    d = with_params((const struct qib_param[]){
        {.name = "x", .type = QIB_PARAM_ENUM, .offset = offsetof(struct priv, as), .help = "x"},
        P_END});
    bad(&d, QIB_EINVAL, "an enum without choices", "enum without choices");
    d = with_params((const struct qib_param[]){
        {.name = "x", .type = QIB_PARAM_ENUM, .offset = offsetof(struct priv, as),
         .choices = (const char *const[]){"a", "b", "a", NULL}, .help = "x"},
        P_END});
    bad(&d, QIB_EINVAL, "choice \"a\" is listed twice", "enum with a repeated choice");
    d = with_params((const struct qib_param[]){
        {.name = "lower", .type = QIB_PARAM_DOUBLE, .def = "abc", .help = "x"}, P_AS, P_END});
    bad(&d, QIB_EINVAL, "default of parameter \"lower\": expected a number, got \"abc\"",
        "default not a number");
    d = with_params((const struct qib_param[]){
        {.name = "lower", .type = QIB_PARAM_DOUBLE, .def = "11", .max = 10,
         .flags = QIB_PARAM_MAX, .help = "x"},
        P_AS, P_END});
    bad(&d, QIB_EINVAL, "11 is above the maximum 10", "default out of range");
    d = with_params((const struct qib_param[]){
        P_LOWER, {.name = "as", .type = QIB_PARAM_ENUM, .offset = offsetof(struct priv, as),
                  .def = "both", .choices = as_choices, .help = "x"},
        P_END});
    bad(&d, QIB_EINVAL, "\"both\" is not one of volume, mask", "enum default not a choice");
    d = with_params((const struct qib_param[]){
        P_AS, {.name = "n", .type = QIB_PARAM_INT, .offset = offsetof(struct priv, n),
               .def = "2.5", .help = "x"},
        P_END});
    bad(&d, QIB_EINVAL, "expected an integer, got \"2.5\"", "int default not an integer");
    d = with_params((const struct qib_param[]){
        P_AS, {.name = "n", .type = QIB_PARAM_INT, .offset = offsetof(struct priv, n),
               .def = "2", .flags = QIB_PARAM_REQUIRED, .help = "x"},
        P_END});
    bad(&d, QIB_EINVAL, "is required and has a default", "required with a default");
    d = with_params((const struct qib_param[]){
        P_AS, {.name = "n", .type = QIB_PARAM_INT, .offset = offsetof(struct priv, n),
               .min = 5, .max = 1, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX, .help = "x"},
        P_END});
    bad(&d, QIB_EINVAL, "min 5 is greater than max 1", "min > max");
    d = with_params((const struct qib_param[]){
        P_AS, {.name = "n", .type = QIB_PARAM_INT, .offset = offsetof(struct priv, n)}, P_END});
    bad(&d, QIB_EINVAL, "parameter \"n\" has no help text", "parameter without help");
    d = with_params((const struct qib_param[]){
        P_AS, {.name = "n", .type = QIB_PARAM_INT, .offset = offsetof(struct priv, n),
               .flags = QIB_PARAM_OUTPUT, .help = "x"},
        P_END});
    bad(&d, QIB_EINVAL, "QIB_PARAM_OUTPUT on a int", "output flag on an int");
    d = with_params((const struct qib_param[]){
        P_AS, {.name = "path", .type = QIB_PARAM_PATH, .offset = offsetof(struct priv, path),
               .def = "../up.csv", .flags = QIB_PARAM_OUTPUT, .help = "x"},
        P_END});
    bad(&d, QIB_EINVAL, "leaves the output directory", "output default escaping");
    d = with_params((const struct qib_param[]){
        P_AS, {.name = "n", .type = QIB_PARAM_INT, .offset = offsetof(struct priv, n),
               .flags = 0x100, .help = "x"},
        P_END});
    bad(&d, QIB_EINVAL, "unknown flags 0x100", "unknown parameter flag");
    d = with_params((const struct qib_param[]){
        P_AS, {.name = "path", .type = QIB_PARAM_PATH, .offset = offsetof(struct priv, path),
               .def = "a/b.csv", .flags = QIB_PARAM_OUTPUT, .help = "x"},
        P_END});
    is_int(qib__plugin_check(&d, why, sizeof why), QIB_OK, "a good output-path default accepted");

    /* Ports. */
    d = good; d.inputs = (const struct qib_port[]){
        {.name = "Image", .kind = QIB_OBJ_VOLUME, .help = "x"}, {.name = NULL}};
    bad(&d, QIB_EINVAL, "input port 0: name \"Image\" is not snake_case", "port name");
    d = good; d.inputs = (const struct qib_port[]){
        {.name = "a", .kind = QIB_OBJ_VOLUME, .help = "x"},
        {.name = "a", .kind = QIB_OBJ_MASK, .help = "x"}, {.name = NULL}};
    bad(&d, QIB_EINVAL, "input port \"a\" is declared twice", "duplicate input port");
    d = good; d.outputs = (const struct qib_port[]){
        {.name = "o", .kind = QIB_OBJ_TABLE, .help = "x"},
        {.name = "o", .kind = QIB_OBJ_TABLE, .help = "x"}, {.name = NULL}};
    bad(&d, QIB_EINVAL, "output port \"o\" is declared twice", "duplicate output port");
    d = good; d.outputs = (const struct qib_port[]){
        {.name = "o", .kind = (enum qib_obj_kind)9, .help = "x"}, {.name = NULL}};
    bad(&d, QIB_EINVAL, "unknown object kind 9", "port kind");
    d = good; d.outputs = (const struct qib_port[]){{.name = "o", .kind = QIB_OBJ_TABLE},
                                                    {.name = NULL}};
    bad(&d, QIB_EINVAL, "output port \"o\" has no help text", "port without help");
    d = good; d.outputs = (const struct qib_port[]){
        {.name = "o", .kind = QIB_OBJ_VOLUME, .mask_when = "lower=1", .help = "x"},
        {.name = NULL}};
    bad(&d, QIB_EINVAL, "mask_when \"lower=1\" does not name an enum parameter",
        "mask_when on a non-enum");
    d = good; d.outputs = (const struct qib_port[]){
        {.name = "o", .kind = QIB_OBJ_VOLUME, .mask_when = "nope=mask", .help = "x"},
        {.name = NULL}};
    bad(&d, QIB_EINVAL, "does not name an enum parameter", "mask_when on a missing parameter");
    d = good; d.outputs = (const struct qib_port[]){
        {.name = "o", .kind = QIB_OBJ_VOLUME, .mask_when = "as=label", .help = "x"},
        {.name = NULL}};
    bad(&d, QIB_EINVAL, "\"label\" is not a choice of \"as\"", "mask_when on a missing choice");
    d = good; d.outputs = (const struct qib_port[]){
        {.name = "o", .kind = QIB_OBJ_VOLUME, .mask_when = "as", .help = "x"}, {.name = NULL}};
    bad(&d, QIB_EINVAL, "is not \"param=value\"", "mask_when without '='");
    d = good; d.outputs = (const struct qib_port[]){
        {.name = "o", .kind = QIB_OBJ_TABLE, .mask_when = "as=mask", .help = "x"},
        {.name = NULL}};
    bad(&d, QIB_EINVAL, "mask_when applies to volume outputs only", "mask_when on a table");
    d = good; d.inputs = (const struct qib_port[]){
        {.name = "i", .kind = QIB_OBJ_VOLUME, .mask_when = "as=mask", .help = "x"},
        {.name = NULL}};
    bad(&d, QIB_EINVAL, "mask_when given for an input", "mask_when on an input");
    d = good; d.params = NULL; d.outputs = (const struct qib_port[]){
        {.name = "o", .kind = QIB_OBJ_VOLUME, .mask_when = "as=mask", .help = "x"},
        {.name = NULL}};
    bad(&d, QIB_EINVAL, "does not name an enum parameter", "mask_when without parameters");

    /* Helpers the loader and runner share. */
    is_int((long long)qib__edit_distance("kitten", "sitting"), 3, "edit distance kitten/sitting");
    is_int((long long)qib__edit_distance("", "abc"), 3, "edit distance from empty");
    is_int((long long)qib__edit_distance("same", "same"), 0, "edit distance to itself");
    {
        const char *c[] = {"read.nifti", NULL, "write.nifti", "bio.intensity"};
        is_string(qib__nearest("read.nfiti", c, 4), "read.nifti", "nearest: transposition");
        is_string(qib__nearest("bio.intensities", c, 4), "bio.intensity", "nearest: long name, 3 edits");
        is_string(qib__nearest("seg.otsu", c, 4), NULL, "nearest: none close");
    }
    is_int((long long)qib__nports(good_out), 1, "nports");
    is_int((long long)qib__nparams(good_params), 2, "nparams");
    is_int((long long)qib__nparams(NULL), 0, "nparams(NULL)");
    {
        size_t i = 99;
        ok(qib__param_find(good_params, "as", &i) == &good_params[1] && i == 1, "param_find");
        ok(qib__port_find(good_in, "mask", NULL) == NULL, "port_find: absent");
    }
    is_string(qib_kind_name(QIB_KIND_EXPORT), "export", "kind name");
    ok(qib_kind_name((enum qib_kind)0) == NULL, "kind name of 0 is NULL");
    is_string(qib__param_type_name(QIB_PARAM_DLIST), "dlist", "type name");
    is_string(qib__obj_kind_name(QIB_OBJ_TRANSFORM), "transform", "object kind name");
    return tap_done();
}
