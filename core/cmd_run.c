/* `qib validate`, `qib run` and `qib info`: the command-line side of the
 * pipeline parser, validator and runner, and a header dump of an image file
 * through a reader plugin.  Exit statuses are those of core/cli.h. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "data-internal.h"
#include "dicom.h"
#include "engine.h"
#include "pipeline.h"
#include "qib/qib.h"

/* ---- command-line parsing shared by validate and run ---- */

struct args {
    const char **files;
    char **names; /* the NAME parts of NAME=VALUE options, owned */
    size_t nnames;
    size_t nfiles;
    struct qib__kv *params;
    size_t nparams;
    struct qib__kv *inputs;
    size_t ninputs;
    const char *outdir;
    int threads;
    enum qib__verbosity verbosity;
    int help;
};

static void args_free(struct args *a)
{
    for (size_t i = 0; i < a->nnames; i++)
        free(a->names[i]);
    free(a->names);
    free(a->files);
    free(a->params);
    free(a->inputs);
}

/* The value of option @p argv[*i]: "--opt=value", "-o value" or "--opt
 * value".  NULL (and a message) when missing. */
static const char *optval(const char *cmd, int argc, char **argv, int *i, const char *lng)
{
    const char *a = argv[*i];
    size_t ll = strlen(lng);
    if (strncmp(a, lng, ll) == 0 && a[ll] == '=')
        return a + ll + 1;
    if (*i + 1 >= argc) {
        fprintf(stderr, "qib %s: option %s needs a value\n", cmd, a);
        return NULL;
    }
    return argv[++*i];
}

static int is_opt(const char *a, const char *shrt, const char *lng)
{
    size_t ll = strlen(lng);
    return (shrt && strcmp(a, shrt) == 0) || strcmp(a, lng) == 0 ||
           (strncmp(a, lng, ll) == 0 && a[ll] == '=');
}

static int add_kv(const char *cmd, const char *opt, const char *text, struct args *a,
                  struct qib__kv **v, size_t *n)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text) {
        fprintf(stderr, "qib %s: %s %s: expected NAME=VALUE\n", cmd, opt, text);
        return -1;
    }
    struct qib__kv *nv = realloc(*v, (*n + 1) * sizeof *nv);
    char **nn = nv ? realloc(a->names, (a->nnames + 1) * sizeof *nn) : NULL;
    char *name = nn ? strndup(text, (size_t)(eq - text)) : NULL;
    if (nv)
        *v = nv;
    if (nn)
        a->names = nn;
    if (!name) {
        fprintf(stderr, "qib %s: out of memory\n", cmd);
        return -1;
    }
    a->names[a->nnames++] = name;
    nv[*n].name = name;
    nv[*n].value = eq + 1;
    (*n)++;
    return 0;
}

/* Returns 0, or an exit status. */
static int parse_args(const char *cmd, int argc, char **argv, struct args *a, int run)
{
    memset(a, 0, sizeof *a);
    a->verbosity = QIB__NORMAL;
    a->files = calloc((size_t)argc + 1, sizeof *a->files);
    if (!a->files) {
        fprintf(stderr, "qib %s: out of memory\n", cmd);
        return QIB_EXIT_FAIL;
    }
    int only_files = 0;
    for (int i = 1; i < argc; i++) {
        const char *x = argv[i];
        const char *v;
        if (only_files || x[0] != '-' || strcmp(x, "-") == 0) {
            a->files[a->nfiles++] = x;
        } else if (strcmp(x, "--") == 0) {
            only_files = 1;
        } else if (strcmp(x, "-h") == 0 || strcmp(x, "--help") == 0) {
            a->help = 1;
        } else if (strcmp(x, "-q") == 0 || strcmp(x, "--quiet") == 0) {
            a->verbosity = QIB__QUIET;
        } else if (strcmp(x, "-v") == 0 || strcmp(x, "--verbose") == 0) {
            a->verbosity = QIB__VERBOSE;
        } else if (is_opt(x, "-p", "--param")) {
            if (!(v = optval(cmd, argc, argv, &i, "--param")) ||
                add_kv(cmd, "-p", v, a, &a->params, &a->nparams) < 0)
                return QIB_EXIT_USAGE;
        } else if (is_opt(x, "-i", "--input")) {
            if (!(v = optval(cmd, argc, argv, &i, "--input")) ||
                add_kv(cmd, "--input", v, a, &a->inputs, &a->ninputs) < 0)
                return QIB_EXIT_USAGE;
        } else if (is_opt(x, "-o", "--out")) {
            if (!(v = optval(cmd, argc, argv, &i, "--out")))
                return QIB_EXIT_USAGE;
            if (!*v) {
                fprintf(stderr, "qib %s: --out: the directory name is empty\n", cmd);
                return QIB_EXIT_USAGE;
            }
            a->outdir = v;
        } else if (run && is_opt(x, "-j", "--threads")) {
            if (!(v = optval(cmd, argc, argv, &i, "--threads")))
                return QIB_EXIT_USAGE;
            char *end;
            errno = 0;
            long n = strtol(v, &end, 10);
            if (!*v || *end || errno || n < 0 || n > 4096) {
                fprintf(stderr, "qib %s: --threads %s: expected a number of threads from 1 to 4096 "
                        "(0: one per CPU)\n", cmd, v);
                return QIB_EXIT_USAGE;
            }
            a->threads = (int)n;
        } else {
            fprintf(stderr, "qib %s: unknown option \"%s\"\nTry `qib %s --help`.\n", cmd, x, cmd);
            return QIB_EXIT_USAGE;
        }
    }
    return 0;
}

/* Modules are opened as the pipeline names them (qib__registry_open). */
static int load_registry(const char *cmd, struct qib__registry **reg)
{
    int rc = qib__registry_open(reg);
    if (rc != QIB_OK) {
        fprintf(stderr, "qib %s: loading plugins: %s\n", cmd, qib_strerror(rc));
        return QIB_EXIT_FAIL;
    }
    return 0;
}

/* ---- qib validate ---- */

static void validate_usage(FILE *f)
{
    fprintf(f,
            "usage: qib validate [-p NAME=VALUE]... [--input NAME=VALUE]... [--out DIR] [-q]\n"
            "                    PIPELINE.yaml...\n"
            "\n"
            "Check pipelines without reading any data: YAML syntax, keys, plugin names,\n"
            "parameter names, types and ranges, substitutions, wiring of ports and the\n"
            "kinds of object they carry, output paths.  Every error is reported, each as\n"
            "FILE:LINE:COL: message.  -p overrides a pipeline parameter as `qib run` would;\n"
            "--input values, when given, are checked too (inputs left out are not errors).\n"
            "\n"
            "  -p, --param NAME=VALUE   override a parameter declared under params:\n"
            "  -i, --input NAME=VALUE   check an input's value\n"
            "  -o, --out DIR            the output directory ${out} stands for\n"
            "  -q, --quiet              print nothing for a valid pipeline\n"
            "\n"
            "Exit status: 0 valid, 2 invalid or usage error.\n");
}

int qib__cmd_validate(int argc, char **argv)
{
    struct args a;
    int ex = parse_args("validate", argc, argv, &a, 0);
    if (ex || a.help) {
        if (a.help && !ex)
            validate_usage(stdout);
        args_free(&a);
        return ex;
    }
    if (!a.nfiles) {
        validate_usage(stderr);
        args_free(&a);
        return QIB_EXIT_USAGE;
    }
    struct qib__registry *reg = NULL;
    if ((ex = load_registry("validate", &reg)) != 0) {
        args_free(&a);
        return ex;
    }
    ex = QIB_EXIT_OK;
    for (size_t f = 0; f < a.nfiles; f++) {
        struct qib__diags d = {0};
        struct qib__pipeline *pl = NULL;
        struct qib__plan *plan = NULL;
        int rc = qib__pipeline_load(a.files[f], &pl, &d);
        if (rc == QIB_OK) {
            struct qib__runargs ra = {.overrides = a.params,
                                      .noverrides = a.nparams,
                                      .inputs = a.inputs,
                                      .ninputs = a.ninputs,
                                      .have_inputs = 0,
                                      .outdir = a.outdir};
            rc = qib__plan_new(pl, reg, &ra, NULL, &plan, &d);
            if (rc == QIB_OK && d.n)
                rc = QIB_EPIPELINE; /* parse errors with a buildable plan */
        }
        if (rc == QIB_ENOMEM && !d.n)
            qib__diag_add(&d, (struct qib__pos){0, 0}, "out of memory");
        qib__diags_sort(&d);
        qib__diags_print(&d, a.files[f], stderr);
        if (rc == QIB_OK) {
            if (a.verbosity > QIB__QUIET)
                printf("%s: valid: pipeline \"%s\", %zu step%s\n", a.files[f], pl->name,
                       pl->nsteps, pl->nsteps == 1 ? "" : "s");
        } else {
            ex = QIB_EXIT_USAGE;
            if (a.verbosity > QIB__QUIET)
                fprintf(stderr, "%s: %zu error%s\n", a.files[f], d.n, d.n == 1 ? "" : "s");
        }
        qib__plan_free(&plan);
        qib__pipeline_free(&pl);
        qib__diags_clear(&d);
    }
    qib__registry_free(&reg);
    args_free(&a);
    return ex;
}

/* ---- qib run ---- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    if (interrupted) {
        /* A second signal: stop now, the default way. */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    interrupted = 1;
}

static void run_usage(FILE *f)
{
    fprintf(f,
            "usage: qib run PIPELINE.yaml --out DIR [--input NAME=VALUE]...\n"
            "               [-p NAME=VALUE]... [--threads N] [-q | -v]\n"
            "\n"
            "Validate the pipeline (as `qib validate` does, and that the inputs exist),\n"
            "then run its steps in order.  Output files go under DIR, with\n"
            "DIR/provenance.json recording versions, digests, parameters and timings.\n"
            "A run that fails or is interrupted removes the files it wrote and leaves\n"
            "provenance.json with \"status\": \"failed\" or \"interrupted\".\n"
            "\n"
            "  -i, --input NAME=VALUE   a per-case input declared under inputs:\n"
            "  -o, --out DIR            output directory (created when missing)\n"
            "  -p, --param NAME=VALUE   override a parameter declared under params:\n"
            "  -j, --threads N          worker threads (default 0: one per CPU)\n"
            "  -q, --quiet              no per-step lines on stderr\n"
            "  -v, --verbose            also plugin messages and object releases\n"
            "\n"
            "Exit status: 0 success, 1 a step failed, 2 invalid pipeline or usage,\n"
            "130 interrupted (SIGINT or SIGTERM).\n");
}

int qib__cmd_run(int argc, char **argv)
{
    struct args a;
    int ex = parse_args("run", argc, argv, &a, 1);
    if (ex || a.help) {
        if (a.help && !ex)
            run_usage(stdout);
        args_free(&a);
        return ex;
    }
    if (a.nfiles != 1 || !a.outdir) {
        if (a.nfiles > 1)
            fprintf(stderr, "qib run: one pipeline at a time (got %zu)\n", a.nfiles);
        else if (!a.nfiles)
            fprintf(stderr, "qib run: which pipeline? give PIPELINE.yaml\n");
        else
            fprintf(stderr, "qib run: give the output directory with --out DIR\n");
        run_usage(stderr);
        args_free(&a);
        return QIB_EXIT_USAGE;
    }
    const char *file = a.files[0];
    struct qib__diags d = {0};
    struct qib__pipeline *pl = NULL;
    struct qib__plan *plan = NULL;
    struct qib__registry *reg = NULL;
    qib_pool *pool = NULL;
    /* A tree with parse errors is still checked against the plugins, so
     * that every error is reported at once, as qib validate does. */
    int rc = qib__pipeline_load(file, &pl, &d);
    if (rc == QIB_OK && (ex = load_registry("run", &reg)) != 0)
        goto out;
    if (rc == QIB_OK) {
        rc = qib_pool_new(a.threads, &pool);
        if (rc != QIB_OK) {
            fprintf(stderr, "qib run: cannot start %d threads: %s\n", a.threads, qib_strerror(rc));
            ex = QIB_EXIT_FAIL;
            goto out;
        }
        struct qib__runargs ra = {.overrides = a.params,
                                  .noverrides = a.nparams,
                                  .inputs = a.inputs,
                                  .ninputs = a.ninputs,
                                  .have_inputs = 1,
                                  .outdir = a.outdir};
        rc = qib__plan_new(pl, reg, &ra, pool, &plan, &d);
        if (rc == QIB_OK && d.n) {
            qib__plan_free(&plan);
            rc = QIB_EPIPELINE;
        }
    }
    if (rc != QIB_OK) {
        if (rc == QIB_ENOMEM && !d.n)
            qib__diag_add(&d, (struct qib__pos){0, 0}, "out of memory");
        qib__diags_sort(&d);
        qib__diags_print(&d, file, stderr);
        fprintf(stderr, "qib run: %s: %zu error%s; nothing was run\n", file, d.n, d.n == 1 ? "" : "s");
        ex = rc == QIB_ENOMEM ? QIB_EXIT_FAIL : QIB_EXIT_USAGE;
        goto out;
    }

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    struct qib__runopts o = {.outdir = a.outdir,
                             .verbosity = a.verbosity,
                             .log = stderr,
                             .interrupt = &interrupted,
                             .argc = argc,
                             .argv = argv};
    char err[4096];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (a.verbosity >= QIB__NORMAL)
        fprintf(stderr, "qib: running \"%s\" (%zu steps, %d thread%s) into %s\n", pl->name,
                pl->nsteps, qib_pool_threads(pool), qib_pool_threads(pool) == 1 ? "" : "s",
                a.outdir);
    rc = qib__run(plan, pool, &o, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc == QIB_OK) {
        if (a.verbosity >= QIB__NORMAL)
            fprintf(stderr, "qib: done in %.3f s; results and provenance.json in %s\n",
                    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9,
                    a.outdir);
        ex = QIB_EXIT_OK;
    } else if (rc == QIB_EINTR) {
        fprintf(stderr, "%s\nqib: interrupted; %s/provenance.json says so\n", err, a.outdir);
        ex = QIB_EXIT_INTR;
    } else {
        fprintf(stderr, "%s\n", err);
        ex = QIB_EXIT_FAIL;
    }
out:
    qib__plan_free(&plan);
    qib_pool_free(&pool);
    qib__registry_free(&reg);
    qib__pipeline_free(&pl);
    qib__diags_clear(&d);
    args_free(&a);
    return ex;
}

/* ---- qib info ---- */

static void info_usage(FILE *f)
{
    fprintf(f,
            "usage: qib info FILE...\n"
            "\n"
            "Read an image with its reader plugin and print what qib sees: voxel type,\n"
            "dimensions, spacing, origin and direction in LPS, whether it is a mask,\n"
            "its metadata with their sources, and the minimum, maximum and mean of the\n"
            "voxel values.  Reads .nii, .nii.gz, .hdr and .img (read.nifti) and DICOM\n"
            "directories (read.dicom); a directory of several image series gets a list of\n"
            "them (number, modality, instances, description, UID) instead.\n"
            "\n"
            "Exit status: 0 success, 1 a file could not be read, 2 usage error.\n");
}

int qib__has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n > m && strcasecmp(s + n - m, suf) == 0;
}

static void fmt(double v, char b[40])
{
    if (v == 0.0)
        v = 0.0; /* no "-0" from a flipped axis */
    qib__format_double_prec(v, 6, b, 40);
}

/* A directory holding several DICOM image series: read.dicom needs to be
 * told which one, so list them all, one line each, for the user to choose.
 * Returns 1 when it printed the list. */
static int info_series(const char *dir, const struct qib__module *m)
{
    struct qib__dcm_scan sc;
    char err[1024];
    const char *paths[1] = {dir};
    if (qib__dcm_scan(paths, 1, &sc, err, sizeof err) != QIB_OK || sc.ns < 2) {
        qib__dcm_scan_free(&sc);
        return 0;
    }
    int wn = (int)strlen("number"), wm = (int)strlen("modality"), wi = (int)strlen("instances"),
        wd = (int)strlen("description");
    for (size_t i = 0; i < sc.ns; i++) {
        const struct qib__dcm_series *s = &sc.s[i];
        char b[32];
        int w = snprintf(b, sizeof b, "%ld", s->number);
        if (w > wn)
            wn = w;
        if ((int)strlen(s->modality) > wm)
            wm = (int)strlen(s->modality);
        if ((w = snprintf(b, sizeof b, "%zu", s->n)) > wi)
            wi = w;
        if ((int)strlen(s->desc) + 2 > wd)
            wd = (int)strlen(s->desc) + 2;
    }
    printf("file:        %s\n", dir);
    printf("reader:      %s %s\n", m->full_name, m->desc->version);
    printf("series:      %zu image series; read one with read.dicom's series_uid, series_number,\n"
           "             description or modality\n", sc.ns);
    printf("  %-*s  %-*s  %*s  %-*s  %s\n", wn, "number", wm, "modality", wi, "instances", wd,
           "description", "series UID");
    for (size_t i = 0; i < sc.ns; i++) {
        const struct qib__dcm_series *s = &sc.s[i];
        char num[24] = "-", desc[72];
        if (s->number >= 0)
            snprintf(num, sizeof num, "%ld", s->number);
        snprintf(desc, sizeof desc, "\"%s\"", s->desc);
        printf("  %-*s  %-*s  %*zu  %-*s  %s\n", wn, num, wm, s->modality[0] ? s->modality : "-",
               wi, s->n, wd, desc, s->uid);
    }
    if (sc.skipped)
        printf("skipped:     %zu file%s that %s not a DICOM image\n", sc.skipped,
               sc.skipped == 1 ? "" : "s", sc.skipped == 1 ? "is" : "are");
    qib__dcm_scan_free(&sc);
    return 1;
}

static int info_one(const char *file, const struct qib__registry *reg)
{
    struct stat st;
    if (stat(file, &st) != 0) {
        fprintf(stderr, "qib info: %s: %s\n", file, strerror(errno));
        return QIB_EXIT_FAIL;
    }
    const char *plugin = NULL;
    if (S_ISDIR(st.st_mode)) {
        if (qib__registry_find(reg, "read.dicom"))
            plugin = "read.dicom";
        else {
            fprintf(stderr, "qib info: %s: a directory, and no reader plugin for directories "
                    "(read.dicom) is installed\n", file);
            return QIB_EXIT_FAIL;
        }
    } else if (qib__has_suffix(file, ".nii") || qib__has_suffix(file, ".nii.gz") ||
               qib__has_suffix(file, ".hdr") || qib__has_suffix(file, ".img")) {
        plugin = "read.nifti";
    } else {
        fprintf(stderr, "qib info: %s: unknown file type; qib info reads .nii, .nii.gz, .hdr "
                "and .img files\n", file);
        return QIB_EXIT_FAIL;
    }
    const struct qib__module *m = qib__registry_find(reg, plugin);
    if (!m) {
        fprintf(stderr, "qib info: %s: the reader plugin %s is not installed (searched "
                "QIB_PLUGIN_PATH and %s)\n", file, plugin, QIB_PLUGINDIR);
        return QIB_EXIT_FAIL;
    }
    const char *port = NULL;
    for (size_t i = 0; m->desc->outputs[i].name; i++) {
        enum qib_obj_kind k = m->desc->outputs[i].kind;
        if (k == QIB_OBJ_VOLUME || k == QIB_OBJ_MASK) {
            port = m->desc->outputs[i].name;
            break;
        }
    }
    if (!port || !qib__param_find(m->desc->params, "path", NULL)) {
        fprintf(stderr, "qib info: %s has no volume output or no \"path\" parameter\n", plugin);
        return QIB_EXIT_FAIL;
    }
    qib_harness *h = NULL;
    char err[1024];
    int rc = qib__harness_new_module(m, &h, err, sizeof err);
    if (rc != QIB_OK) {
        fprintf(stderr, "qib info: %s: %s\n", file, err);
        return QIB_EXIT_FAIL;
    }
    rc = qib_harness_set_param(h, "path", file);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (rc == QIB_OK)
        rc = qib_harness_set_threads(h, ncpu > 0 && ncpu < 1024 ? (int)ncpu : 1);
    if (rc == QIB_OK)
        rc = qib_harness_run(h);
    const qib_volume *v = rc == QIB_OK ? qib_harness_out_volume(h, port) : NULL;
    if (!v && S_ISDIR(st.st_mode) && info_series(file, m)) {
        qib_harness_free(&h);
        return QIB_EXIT_OK;
    }
    if (!v) {
        const char *msg = rc != QIB_OK ? qib_harness_error(h) : "the reader produced no volume";
        size_t fl = strlen(file);
        /* readers name the file themselves; do not say it twice */
        if (strncmp(msg, file, fl) == 0 && msg[fl] == ':')
            fprintf(stderr, "qib info: %s\n", msg);
        else
            fprintf(stderr, "qib info: %s: %s\n", file, msg);
        qib_harness_free(&h);
        return QIB_EXIT_FAIL;
    }
    const struct qib_geom *g = qib_volume_geom(v);
    char b[40], c[40], e[40];
    printf("file:        %s\n", file);
    printf("reader:      %s %s\n", m->full_name, m->desc->version);
    printf("voxel type:  %s%s\n", qib_dtype_name(qib_volume_dtype(v)),
           qib_volume_is_mask(v) ? " (mask)" : "");
    printf("dimensions: ");
    for (int i = 0; i < g->ndim; i++)
        printf("%s%zu", i ? " x " : " ", g->dims[i]);
    printf("\nspacing:    ");
    for (int i = 0; i < g->ndim; i++) {
        fmt(g->spacing[i], b);
        printf("%s%s", i ? " x " : " ", b);
    }
    printf(" mm%s\n", g->ndim > 3 ? " (4th dimension in its own unit)" : "");
    fmt(g->origin[0], b);
    fmt(g->origin[1], c);
    fmt(g->origin[2], e);
    printf("origin:      (%s, %s, %s) mm, LPS, centre of voxel 0\n", b, c, e);
    for (int col = 0; col < 3; col++) {
        fmt(g->dir[col], b);
        fmt(g->dir[3 + col], c);
        fmt(g->dir[6 + col], e);
        printf("%s %c axis (%s, %s, %s)\n", col ? "            " : "direction:  ", "ijk"[col], b, c, e);
    }
    fmt(qib_geom_voxel_mm3(g), b);
    printf("voxel size:  %s mm3\n", b);

    /* Statistics in blocks, so a large volume needs no second copy (one
     * block of doubles at a time, converted in one call rather than voxel
     * by voxel); NaN voxels are counted apart. */
    enum { BLOCK = 65536 };
    size_t n = qib_volume_nvox(v), nnan = 0, nonzero = 0;
    double mn = INFINITY, mx = -INFINITY, total = 0.0;
    double *blk = malloc(BLOCK * sizeof *blk);
    if (!blk) {
        fprintf(stderr, "qib info: %s: out of memory\n", file);
        qib_harness_free(&h);
        return QIB_EXIT_FAIL;
    }
    for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
        size_t i1 = n - i0 < BLOCK ? n : i0 + BLOCK;
        double part = 0.0;
        qib_volume_get_range(v, i0, i1 - i0, blk);
        for (size_t i = i0; i < i1; i++) {
            double x = blk[i - i0];
            if (isnan(x)) {
                nnan++;
                continue;
            }
            if (x < mn)
                mn = x;
            if (x > mx)
                mx = x;
            if (x != 0.0)
                nonzero++;
            part += x;
        }
        total += part;
    }
    free(blk);
    size_t nval = n - nnan;
    if (nval) {
        fmt(mn, b);
        fmt(mx, c);
        fmt(total / (double)nval, e);
        printf("values:      min %s, max %s, mean %s over %zu voxels", b, c, e, nval);
        if (nnan)
            printf(" (%zu NaN voxels left out)", nnan);
        printf("\n");
    } else {
        printf("values:      no finite voxel values\n");
    }
    if (qib_volume_is_mask(v)) {
        fmt((double)nonzero * qib_geom_voxel_mm3(g) / 1000.0, b);
        printf("mask:        %zu voxels set, %s ml\n", nonzero, b);
    }
    const qib_meta *meta = qib_volume_meta(v);
    size_t nm = qib_meta_count(meta);
    printf("metadata:   %s\n", nm ? "" : " none");
    for (size_t i = 0; i < nm; i++) {
        const char *k, *val, *src;
        if (qib_meta_at(meta, i, &k, &val, &src) != QIB_OK)
            break;
        printf("  %s = %s%s%s%s\n", k, val, src ? "  (" : "", src ? src : "", src ? ")" : "");
    }
    qib_harness_free(&h);
    return QIB_EXIT_OK;
}

int qib__cmd_info(int argc, char **argv)
{
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            info_usage(stdout);
            return QIB_EXIT_OK;
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "qib info: unknown option \"%s\"\n", argv[i]);
            info_usage(stderr);
            return QIB_EXIT_USAGE;
        }
        nfiles++;
    }
    if (!nfiles) {
        info_usage(stderr);
        return QIB_EXIT_USAGE;
    }
    struct qib__registry *reg = NULL;
    int ex = load_registry("info", &reg);
    if (ex)
        return ex;
    for (int i = 1; i < argc; i++) {
        if (i > 1)
            printf("\n");
        int e = info_one(argv[i], reg);
        if (e)
            ex = e;
    }
    qib__registry_free(&reg);
    return ex;
}
