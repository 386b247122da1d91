/* write.transform: write a transform as an ITK transform text file (Euler 3-D
 * or affine, loadable by ITK, 3D Slicer and ANTs) or as a JSON 4x4 LPS
 * matrix; numbers in the shortest form that reads back exactly. */
#include <config.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "qib/qib.h"
#include "registration.h"

enum fmt { F_AUTO, F_ITK, F_JSON };
enum kind { K_AUTO, K_EULER, K_AFFINE };

struct priv {
    char *path;
    int format;
    int kind;
};

static int ends_with(const char *s, const char *e)
{
    size_t n = strlen(s), k = strlen(e);
    return n >= k && strcmp(s + n - k, e) == 0;
}

/* Numbers of a space-separated list (the canonical text the reader kept). */
static int parse_list(const char *s, double *v, int max)
{
    int n = 0;
    char tok[64];
    while (s && *s) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        size_t k = 0;
        while (*s && *s != ' ' && k + 1 < sizeof tok)
            tok[k++] = *s++;
        tok[k] = 0;
        if (n >= max || qib_parse_double(tok, &v[n]) != QIB_OK)
            return -1;
        n++;
    }
    return n;
}

static int same(const double a[16], const double b[16])
{
    for (int i = 0; i < 12; i++)
        if (fabs(a[i] - b[i]) > 1e-9 * (1 + fabs(a[i])))
            return 0;
    return 1;
}

static int is_rigid(const double m[16])
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double d = m[i] * m[j] + m[4 + i] * m[4 + j] + m[8 + i] * m[8 + j];
            if (fabs(d - (i == j)) > 1e-9)
                return 0;
        }
    double det = m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8]) +
                 m[2] * (m[4] * m[9] - m[5] * m[8]);
    return det > 0;
}

static void put_list(FILE *f, const double *v, int n)
{
    char b[32];
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? " " : "", qib_format_double(v[i], b));
}

static int run(qib_step *step, void *priv)
{
    const struct priv *p = priv;
    const qib_transform *t = qib_step_in_transform(step, "transform");
    if (!t)
        return qib_fail(step, QIB_EINVAL, "input transform is required");
    double m[16];
    qib_transform_matrix(t, m);
    int fmt = p->format;
    if (fmt == F_AUTO)
        fmt = ends_with(p->path, ".json") ? F_JSON : F_ITK;
    /* The parameters the transform came with, when they still give its
     * matrix: written as they are, so a read/write round trip is exact. */
    const qib_meta *md = qib_transform_meta(t);
    const char *type = qib_meta_get(md, "itk_type");
    const char *ptext = qib_meta_get(md, "itk_parameters");
    const char *ftext = qib_meta_get(md, "itk_fixed_parameters");
    int kept = 0; /* 1 Euler, 2 affine */
    double kp[16], kf[16];
    if (type && ptext && ftext) {
        int np = parse_list(ptext, kp, 16), nf = parse_list(ftext, kf, 16);
        double mm[16];
        if (strcmp(type, "Euler3DTransform_double_3_3") == 0 && np == 6 && nf == 3) {
            qib__reg_euler_matrix(kp, kf, mm);
            kept = same(m, mm) ? 1 : 0;
        } else if (strcmp(type, "AffineTransform_double_3_3") == 0 && np == 12 && nf == 3) {
            qib__reg_affine_matrix(kp, kf, mm);
            kept = same(m, mm) ? 2 : 0;
        }
    }
    int kind = p->kind;
    if (kind == K_AUTO)
        kind = kept == 1 || (!kept && is_rigid(m)) ? K_EULER : K_AFFINE;
    if (fmt == F_ITK && kind == K_EULER && !is_rigid(m))
        return qib_fail(step, QIB_EINVAL,
                        "itk_type: euler needs a rigid transform (orthonormal, det +1 within "
                        "1e-9), found a general affine one");
    qib_ofile *of = NULL;
    int rc = qib_step_create_output(step, p->path, &of);
    if (rc != QIB_OK)
        return rc;
    FILE *f = qib_ofile_stream(of);
    if (fmt == F_JSON) {
        char b[32];
        fputs("{\n  \"type\": \"affine\",\n  \"space\": \"LPS\",\n"
              "  \"direction\": \"fixed_to_moving\",\n  \"matrix\": [\n",
              f);
        for (int r = 0; r < 4; r++) {
            fputs("    [", f);
            for (int c = 0; c < 4; c++)
                fprintf(f, "%s%s", c ? ", " : "", qib_format_double(m[4 * r + c], b));
            fprintf(f, "]%s\n", r < 3 ? "," : "");
        }
        fputs("  ]\n}\n", f);
    } else {
        fputs("#Insight Transform File V1.0\n#Transform 0\n", f);
        if (kind == K_EULER) {
            fputs("Transform: Euler3DTransform_double_3_3\nParameters: ", f);
            if (kept == 1) {
                fprintf(f, "%s\nFixedParameters: %s\n", ptext, ftext);
            } else {
                double c[3] = {0, 0, 0}, e[6];
                qib__reg_euler_params(m, c, e);
                put_list(f, e, 6);
                fputs("\nFixedParameters: 0 0 0\n", f);
            }
        } else {
            fputs("Transform: AffineTransform_double_3_3\nParameters: ", f);
            if (kept == 2) {
                fprintf(f, "%s\nFixedParameters: %s\n", ptext, ftext);
            } else {
                double a[12];
                for (int r = 0; r < 3; r++) {
                    for (int c = 0; c < 3; c++)
                        a[3 * r + c] = m[4 * r + c];
                    a[9 + r] = m[4 * r + 3];
                }
                put_list(f, a, 12);
                fputs("\nFixedParameters: 0 0 0\n", f);
            }
        }
    }
    if (ferror(f)) {
        qib_ofile_abort(&of);
        return qib_fail(step, QIB_EIO, "%s: write error", p->path);
    }
    qib_step_record(step, "format", fmt == F_JSON ? "json" : "itk");
    return qib_ofile_commit(&of);
}

static const char *const format_choices[] = {"auto", "itk", "json", NULL};
static const char *const kind_choices[] = {"auto", "euler", "affine", NULL};

static const struct qib_param params[] = {
    {.name = "path", .type = QIB_PARAM_PATH, .offset = offsetof(struct priv, path),
     .flags = QIB_PARAM_REQUIRED | QIB_PARAM_OUTPUT,
     .help = "output file under --out: .tfm or .txt (ITK text) or .json (4x4 LPS matrix)"},
    {.name = "format", .type = QIB_PARAM_ENUM, .offset = offsetof(struct priv, format),
     .def = "auto", .choices = format_choices,
     .help = "auto (json for a .json path, itk otherwise), itk or json"},
    {.name = "itk_type", .type = QIB_PARAM_ENUM, .offset = offsetof(struct priv, kind),
     .def = "auto", .choices = kind_choices,
     .help = "ITK transform type: auto (the type the transform came with, else Euler3D when "
             "rigid, else affine), euler or affine"},
    {.name = NULL},
};

static const struct qib_port inputs[] = {
    {.name = "transform", .kind = QIB_OBJ_TRANSFORM, .help = "the transform to write"},
    {.name = NULL},
};

/* A writer produces a file: its port is optional and never set. */
static const struct qib_port outputs[] = {
    {.name = "file", .kind = QIB_OBJ_TRANSFORM, .flags = QIB_PORT_OPTIONAL,
     .help = "none: the transform file is the result (this port is never set)"},
    {.name = NULL},
};

static const struct qib_plugin descriptor = {
    .abi_major = QIB_ABI_MAJOR,
    .abi_minor = QIB_ABI_MINOR,
    .struct_size = sizeof(struct qib_plugin),
    .kind = QIB_KIND_WRITE,
    .name = "transform",
    .version = "1.0.0",
    .license = "MIT",
    .summary = "write a transform as an ITK transform text file or a JSON 4x4 LPS matrix",
    .citation = NULL,
    .params = params,
    .inputs = inputs,
    .outputs = outputs,
    .priv_size = sizeof(struct priv),
    .run = run,
};

QIB_PLUGIN_DEFINE(descriptor)
