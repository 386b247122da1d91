/* read.transform: an affine transform from an ITK transform text file
 * ("#Insight Transform File V1.0": Euler 3-D, versor rigid, affine,
 * translation) or from qib's JSON 4x4 matrix, in LPS, mapping fixed points to
 * moving points. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/qib.h"
#include "registration.h"

/* Transform files are small; anything larger is not one. */
#define MAXFILE (1u << 20)
#define MAXP 16

struct priv {
    char *path;
};

/* Whole file as a NUL-terminated string. */
static int slurp_file(qib_step *step, const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return qib_fail(step, QIB_EIO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc(MAXFILE + 1);
    if (!buf) {
        fclose(f);
        return qib_fail(step, QIB_ENOMEM, "%s: out of memory", path);
    }
    size_t n = fread(buf, 1, MAXFILE + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return qib_fail(step, QIB_EIO, "%s: read error", path);
    }
    if (n > MAXFILE) {
        free(buf);
        return qib_fail(step, QIB_EFORMAT,
                        "%s: a transform file of at most %u bytes expected, found more", path,
                        MAXFILE);
    }
    if (memchr(buf, 0, n)) {
        free(buf);
        return qib_fail(step, QIB_EFORMAT,
                        "%s: a text file expected, found binary data (ITK .mat files are not "
                        "read; convert them to .tfm/.txt)",
                        path);
    }
    buf[n] = 0;
    *out = buf;
    return QIB_OK;
}

/* Numbers of a "Parameters:" line into @p v (at most MAXP); the canonical
 * text (single spaces) into @p canon. */
static int numbers(const char *s, double *v, int *n, char *canon, size_t clen)
{
    *n = 0;
    size_t cp = 0;
    canon[0] = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == '\r')
            s++;
        if (!*s || *s == '\n')
            break;
        char tok[64];
        size_t k = 0;
        while (*s && !isspace((unsigned char)*s)) {
            if (k + 1 >= sizeof tok)
                return QIB_EFORMAT;
            tok[k++] = *s++;
        }
        tok[k] = 0;
        if (*n >= MAXP || qib_parse_double(tok, &v[*n]) != QIB_OK || !isfinite(v[*n]))
            return QIB_EFORMAT;
        int w = snprintf(canon + cp, clen - cp, "%s%s", *n ? " " : "", tok);
        if (w < 0 || (size_t)w >= clen - cp)
            return QIB_EFORMAT;
        cp += (size_t)w;
        (*n)++;
    }
    return QIB_OK;
}

static const char *line_value(const char *line, const char *key)
{
    size_t k = strlen(key);
    if (strncmp(line, key, k) != 0)
        return NULL;
    line += k;
    while (*line == ' ' || *line == '\t')
        line++;
    return line;
}

static void mat3mul(const double a[9], const double b[9], double c[9])
{
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < 3; k++)
            c[3 * r + k] = a[3 * r] * b[k] + a[3 * r + 1] * b[3 + k] + a[3 * r + 2] * b[6 + k];
}

/* y = A (x - c) + c + t as a 4x4 matrix. */
static void centred(const double a[9], const double t[3], const double c[3], double m[16])
{
    memset(m, 0, 16 * sizeof *m);
    m[15] = 1;
    for (int r = 0; r < 3; r++) {
        for (int k = 0; k < 3; k++)
            m[4 * r + k] = a[3 * r + k];
        m[4 * r + 3] = c[r] + t[r] - (a[3 * r] * c[0] + a[3 * r + 1] * c[1] + a[3 * r + 2] * c[2]);
    }
}

static int parse_itk(qib_step *step, const char *path, char *text, double m[16], char *type,
                     size_t tlen, char *pcanon, char *fcanon, size_t clen)
{
    char *save = NULL;
    int first = 1, ntrans = 0, havep = 0, havef = 0, np = 0, nf = 0;
    double p[MAXP], f[MAXP];
    type[0] = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t L = strlen(line);
        while (L && (line[L - 1] == '\r' || line[L - 1] == ' '))
            line[--L] = 0;
        if (!L)
            continue;
        if (first) {
            if (strncmp(line, "#Insight Transform File V1", 26) != 0)
                return qib_fail(step, QIB_EFORMAT,
                                "%s: line 1: \"#Insight Transform File V1.0\" or a JSON object "
                                "expected, found \"%.40s\"",
                                path, line);
            first = 0;
            continue;
        }
        const char *v;
        if (line[0] == '#')
            continue;
        if ((v = line_value(line, "Transform:"))) {
            /* A composite wrapper around one transform is read as that one. */
            if (strncmp(v, "CompositeTransform_", 19) == 0)
                continue;
            if (++ntrans > 1)
                return qib_fail(step, QIB_EUNSUPPORTED,
                                "%s: one transform expected, found several (a composite "
                                "of several transforms is not read)",
                                path);
            snprintf(type, tlen, "%s", v);
        } else if ((v = line_value(line, "Parameters:"))) {
            if (!ntrans)
                continue; /* the composite's empty parameter lines */
            if (numbers(v, p, &np, pcanon, clen) != QIB_OK)
                return qib_fail(step, QIB_EFORMAT,
                                "%s: Parameters: up to %d finite numbers expected, found "
                                "\"%.60s\"",
                                path, MAXP, v);
            havep = 1;
        } else if ((v = line_value(line, "FixedParameters:"))) {
            if (!ntrans)
                continue;
            if (numbers(v, f, &nf, fcanon, clen) != QIB_OK)
                return qib_fail(step, QIB_EFORMAT,
                                "%s: FixedParameters: up to %d finite numbers expected, found "
                                "\"%.60s\"",
                                path, MAXP, v);
            havef = 1;
        } else {
            return qib_fail(step, QIB_EFORMAT,
                            "%s: Transform:, Parameters: or FixedParameters: expected, found "
                            "\"%.40s\"",
                            path, line);
        }
    }
    if (first || !ntrans || !havep)
        return qib_fail(step, QIB_EFORMAT, "%s: a Transform: line and its Parameters: expected",
                        path);
    if (!havef) {
        nf = 0;
        fcanon[0] = 0;
    }
    double c[3] = {0, 0, 0};
    if (nf >= 3)
        memcpy(c, f, sizeof c);
    int dbl = strstr(type, "_double_3_3") != NULL, flt = strstr(type, "_float_3_3") != NULL;
    if (!dbl && !flt)
        return qib_fail(step, QIB_EUNSUPPORTED,
                        "%s: Transform: a 3-D transform (*_double_3_3 or *_float_3_3) expected, "
                        "found %s",
                        path, type);
#define NEED(a, b)                                                                            \
    if (np != (a) || (nf != (b) && !((b) == 3 && nf == 4)))                                   \
        return qib_fail(step, QIB_EFORMAT,                                                    \
                        "%s: %s: %d parameters and %d fixed parameters expected, found %d and " \
                        "%d",                                                                 \
                        path, type, a, b, np, nf);
    if (strncmp(type, "Euler3DTransform_", 17) == 0) {
        NEED(6, 3)
        if (nf == 4 && f[3] != 0) {
            /* ComputeZYX: R = Rz Ry Rx */
            double cx = cos(p[0]), sx = sin(p[0]), cy = cos(p[1]), sy = sin(p[1]);
            double cz = cos(p[2]), sz = sin(p[2]);
            double rx[9] = {1, 0, 0, 0, cx, -sx, 0, sx, cx};
            double ry[9] = {cy, 0, sy, 0, 1, 0, -sy, 0, cy};
            double rz[9] = {cz, -sz, 0, sz, cz, 0, 0, 0, 1};
            double t1[9], r[9];
            mat3mul(ry, rx, t1);
            mat3mul(rz, t1, r);
            centred(r, p + 3, c, m);
        } else {
            qib__reg_euler_matrix(p, c, m);
        }
    } else if (strncmp(type, "VersorRigid3DTransform_", 23) == 0) {
        NEED(6, 3)
        double x = p[0], y = p[1], z = p[2], n2 = x * x + y * y + z * z;
        if (n2 > 1 + 1e-12)
            return qib_fail(step, QIB_EFORMAT,
                            "%s: VersorRigid3DTransform: a versor of norm <= 1 expected, found %g",
                            path, sqrt(n2));
        double w = n2 < 1 ? sqrt(1 - n2) : 0;
        double r[9] = {1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
                       2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
                       2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)};
        centred(r, p + 3, c, m);
    } else if (strncmp(type, "AffineTransform_", 16) == 0 ||
               strncmp(type, "MatrixOffsetTransformBase_", 26) == 0) {
        NEED(12, 3)
        qib__reg_affine_matrix(p, c, m);
    } else if (strncmp(type, "TranslationTransform_", 21) == 0) {
        if (np != 3)
            return qib_fail(step, QIB_EFORMAT, "%s: %s: 3 parameters expected, found %d", path,
                            type, np);
        double id[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
        double z0[3] = {0, 0, 0};
        centred(id, p, z0, m);
    } else {
        return qib_fail(step, QIB_EUNSUPPORTED,
                        "%s: Transform: Euler3DTransform, VersorRigid3DTransform, "
                        "AffineTransform, MatrixOffsetTransformBase or TranslationTransform "
                        "expected, found %s",
                        path, type);
    }
#undef NEED
    return QIB_OK;
}

/* "matrix": [[..4..], x4] from qib's JSON; an optional "space" of "LPS" or
 * "RAS" (converted). */
static int parse_json(qib_step *step, const char *path, const char *text, double m[16])
{
    const char *k = strstr(text, "\"matrix\"");
    if (!k)
        return qib_fail(step, QIB_EFORMAT, "%s: JSON: a \"matrix\" member expected", path);
    const char *s = k + 8;
    while (isspace((unsigned char)*s))
        s++;
    if (*s != ':')
        return qib_fail(step, QIB_EFORMAT, "%s: JSON: ':' after \"matrix\" expected", path);
    s++;
    int depth = 0, n = 0, rows = 0, inrow = 0;
    for (;;) {
        while (isspace((unsigned char)*s))
            s++;
        if (*s == '[') {
            depth++;
            if (depth == 2)
                inrow = 0;
            if (depth > 2)
                break;
            s++;
        } else if (*s == ']') {
            if (depth == 2) {
                if (inrow != 4)
                    break;
                rows++;
            }
            depth--;
            s++;
            if (depth == 0)
                break;
        } else if (*s == ',') {
            s++;
        } else if (depth == 2 &&
                   (*s == '-' || *s == '+' || *s == '.' || isdigit((unsigned char)*s))) {
            char tok[64];
            size_t L = 0;
            while (L + 1 < sizeof tok && (*s == '-' || *s == '+' || *s == '.' || *s == 'e' ||
                                          *s == 'E' || isdigit((unsigned char)*s)))
                tok[L++] = *s++;
            tok[L] = 0;
            if (n >= 16 || inrow >= 4 || qib_parse_double(tok, &m[n]) != QIB_OK)
                return qib_fail(step, QIB_EFORMAT,
                                "%s: JSON: matrix: a 4x4 array of numbers expected, found \"%s\"",
                                path, tok);
            n++;
            inrow++;
        } else {
            break;
        }
    }
    if (depth != 0 || rows != 4 || n != 16)
        return qib_fail(step, QIB_EFORMAT,
                        "%s: JSON: matrix: 4 rows of 4 numbers expected, found %d numbers in %d "
                        "rows",
                        path, n, rows);
    const char *sp = strstr(text, "\"space\"");
    if (sp) {
        const char *q = strchr(sp + 7, '"');
        if (q && strncmp(q, "\"RAS\"", 5) == 0) {
            /* diag(-1,-1,1) M diag(-1,-1,1) */
            static const double f[4] = {-1, -1, 1, 1};
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++)
                    m[4 * r + c] *= f[r] * f[c];
        } else if (!q || strncmp(q, "\"LPS\"", 5) != 0) {
            return qib_fail(step, QIB_EFORMAT, "%s: JSON: space: \"LPS\" or \"RAS\" expected",
                            path);
        }
    }
    return QIB_OK;
}

static int run(qib_step *step, void *priv)
{
    const struct priv *p = priv;
    char *text = NULL;
    int rc = slurp_file(step, p->path, &text);
    if (rc != QIB_OK)
        return rc;
    double m[16];
    char type[128], pc[1024], fc[1024];
    const char *s = text;
    while (isspace((unsigned char)*s))
        s++;
    int json = *s == '{';
    if (json)
        rc = parse_json(step, p->path, text, m);
    else
        rc = parse_itk(step, p->path, text, m, type, sizeof type, pc, fc, sizeof pc);
    free(text);
    if (rc != QIB_OK)
        return rc;
    qib_transform *t = NULL;
    if ((rc = qib_transform_new_affine(m, &t)) != QIB_OK)
        return qib_fail(step, rc, "%s: the matrix is not affine (last row 0 0 0 1, finite)",
                        p->path);
    if (!json) {
        qib_meta *md = qib_transform_meta_mut(t);
        qib_meta_set(md, "itk_type", type, "read.transform");
        qib_meta_set(md, "itk_parameters", pc, "read.transform");
        qib_meta_set(md, "itk_fixed_parameters", fc, "read.transform");
    }
    qib_step_record(step, "format", json ? "json" : "itk");
    if ((rc = qib_step_record_input(step, p->path)) != QIB_OK) {
        qib_transform_unref(&t);
        return qib_fail(step, rc, "%s: cannot record the input", p->path);
    }
    return qib_step_set_transform(step, "transform", t);
}

static const struct qib_param params[] = {
    {.name = "path", .type = QIB_PARAM_PATH, .offset = offsetof(struct priv, path),
     .flags = QIB_PARAM_REQUIRED,
     .help = "ITK transform text file (.tfm, .txt) or qib JSON matrix (.json)"},
    {.name = NULL},
};

static const struct qib_port outputs[] = {
    {.name = "transform", .kind = QIB_OBJ_TRANSFORM,
     .help = "the transform (LPS, fixed-to-moving as ITK stores it)"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_READ,
    .name = "transform",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "read an ITK transform text file or a JSON 4x4 LPS matrix",
    .citation = NULL,
    .params = params,
    .inputs = NULL,
    .outputs = outputs,
    .priv_size = sizeof(struct priv),
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
