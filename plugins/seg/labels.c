/* seg.labels: select labels of a label mask by number or by name.  Names
 * come from a label-name file: one label a line, "NUMBER NAME" (space, tab
 * or comma between), or ITK-SNAP's label description format (number, RGBA,
 * flags, then the name in double quotes); '#' starts a comment. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"

struct labels {
    struct qib_dlist labels;
    char *names;
    char *name_file;
    int keep_values;
};

static int check(qib_step *step, const void *priv)
{
    const struct labels *p = priv;
    if (!p->labels.n && !p->names)
        return qib_fail(step, QIB_EINVAL, "give labels (numbers) or names to select");
    if (p->names && !p->name_file)
        return qib_fail(step, QIB_EINVAL, "names need name_file, the file naming each label");
    for (size_t i = 0; i < p->labels.n; i++) {
        double v = p->labels.v[i];
        if (!(v >= 1 && v <= 255) || v != floor(v))
            return qib_fail(step, QIB_EINVAL,
                            "labels: entry %zu is %g; a mask label is an integer 1..255", i + 1, v);
    }
    return QIB_OK;
}

/* Trim spaces, tabs and line ends at both ends in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* The number of label @p name in the file, or 0 when absent; a list of the
 * names seen goes to @p seen for the error message. */
static int lookup(qib_step *step, const char *path, const char *name, int *out, char *seen,
                  size_t seenlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return qib_fail(step, QIB_EIO, "%s: cannot open: %s", path, strerror(errno));
    char line[1024];
    unsigned lineno = 0;
    size_t used = 0;
    int rc = QIB_OK;
    *out = 0;
    seen[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *end;
        errno = 0;
        long num = strtol(s, &end, 10);
        if (end == s || errno || num < 0 || num > 255) {
            rc = qib_fail(step, QIB_EFORMAT,
                          "%s:%u: expected a label number 0..255 at the start of the line, "
                          "found \"%.40s\"",
                          path, lineno, s);
            break;
        }
        char *nm;
        char *q = strchr(end, '"');
        if (q) {
            char *q2 = strchr(q + 1, '"');
            if (!q2) {
                rc = qib_fail(step, QIB_EFORMAT, "%s:%u: unterminated quoted name", path, lineno);
                break;
            }
            *q2 = '\0';
            nm = q + 1;
        } else {
            while (*end == ' ' || *end == '\t' || *end == ',')
                end++;
            nm = trim(end);
        }
        if (!*nm)
            continue;
        if (used + strlen(nm) + 3 < seenlen) {
            used += (size_t)snprintf(seen + used, seenlen - used, "%s\"%s\"", used ? ", " : "", nm);
        }
        if (!*out && strcmp(nm, name) == 0)
            *out = (int)num;
    }
    fclose(f);
    return rc;
}

static int run(qib_step *step, void *priv)
{
    struct labels *p = priv;
    const qib_volume *in = qib_step_in_volume(step, "mask");
    uint8_t want[256] = {0};
    char chosen[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < p->labels.n; i++)
        want[(int)p->labels.v[i]] = 1;
    if (p->names) {
        int rc;
        char *names = strdup(p->names);
        if (!names)
            return qib_fail(step, QIB_ENOMEM, "out of memory");
        char *save = NULL;
        for (char *tok = strtok_r(names, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            char *nm = trim(tok);
            char seen[512];
            int num = 0;
            if (!*nm)
                continue;
            if ((rc = lookup(step, p->name_file, nm, &num, seen, sizeof seen))) {
                free(names);
                return rc;
            }
            if (!num) {
                rc = qib_fail(step, QIB_ENOTFOUND, "%s: no label named \"%s\" (names: %s)",
                              p->name_file, nm, *seen ? seen : "none");
                free(names);
                return rc;
            }
            want[num] = 1;
            if (used + strlen(nm) + 8 < sizeof chosen)
                used += (size_t)snprintf(chosen + used, sizeof chosen - used, "%s%s=%d",
                                         used ? ", " : "", nm, num);
        }
        free(names);
        qib_step_record(step, "names", chosen);
        if ((rc = qib_step_record_input(step, p->name_file)))
            return qib_fail(step, rc, "%s: cannot record the file", p->name_file);
    }
    qib_volume *out = NULL;
    int rc = qib_mask_new(qib_volume_geom(in), &out);
    if (rc)
        return qib_fail(step, rc, "out of memory");
    const uint8_t *m = qib_volume_data(in);
    uint8_t *o = qib_volume_data_mut(out);
    size_t n = qib_volume_nvox(out), kept = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t v = want[m[i]] ? m[i] : 0;
        o[i] = p->keep_values ? v : v != 0;
        kept += v != 0;
    }
    if (!kept)
        qib_step_log(step, "warning: none of the selected labels occurs in the mask");
    return qib_step_set_volume(step, "mask", out);
}

static const struct qib_param params[] = {
    {.name = "labels", .type = QIB_PARAM_DLIST, .offset = offsetof(struct labels, labels),
     .min = 1, .max = 255, .flags = QIB_PARAM_MIN | QIB_PARAM_MAX,
     .help = "label numbers to select (integers 1..255), e.g. [1, 3]"},
    {.name = "names", .type = QIB_PARAM_STRING, .offset = offsetof(struct labels, names),
     .help = "label names to select, comma-separated (\"liver, spleen\"), looked up in "
             "name_file"},
    {.name = "name_file", .type = QIB_PARAM_PATH, .offset = offsetof(struct labels, name_file),
     .help = "text file naming the labels: \"NUMBER NAME\" a line, or an ITK-SNAP label "
             "description file"},
    {.name = "keep_values", .type = QIB_PARAM_BOOL, .offset = offsetof(struct labels, keep_values),
     .def = "false", .help = "keep the selected labels' numbers instead of setting them to 1"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "mask", .kind = QIB_OBJ_MASK, .help = "label mask"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "mask", .kind = QIB_OBJ_MASK, .help = "the selected labels (1, or their numbers)"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_SEG,
    .name = "labels",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "select labels of a label mask by number or by name",
    .citation = NULL,
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct labels),
    .check = check,
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
