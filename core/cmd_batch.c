/* `qib batch`, `qib status`, `qib gather` and `qib reproduce`: a cohort of
 * cases run as child processes of the same qib (a crash in one case never
 * stops the others), each case's status.json, the cohort table, and the
 * rerun of one case from its provenance record (doc/cohorts.md). */
#define _GNU_SOURCE
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "cli.h"
#include "cohort.h"
#include "engine.h"
#include "json.h"
#include "pipeline.h"
#include "qib/qib.h"

/* ---- small helpers ---- */

static double now_mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static char *xasprintf(const char *fmt, ...) QIB_PRINTF(1, 2);
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

static int mkdir_p(const char *dir)
{
    char *d = strdup(dir);
    if (!d)
        return -1;
    for (char *p = d + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(d, 0777) != 0 && errno != EEXIST) {
            free(d);
            return -1;
        }
        *p = '/';
    }
    int rc = mkdir(d, 0777) != 0 && errno != EEXIST ? -1 : 0;
    free(d);
    return rc;
}

/* The qib program to run cases with: this very binary. */
static int self_exe(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0 || (size_t)n >= len - 1)
        return -1;
    buf[n] = '\0';
    return 0;
}

/* Format a duration as H:MM:SS or M:SS. */
static void fmt_dur(double s, char out[32])
{
    if (!(s >= 0) || s > 1e7)
        s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, 32, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, 32, "%ld:%02ld", t / 60, t % 60);
}

/* Build a JSON document in memory and write it atomically as dir/name. */
struct jdoc {
    char *buf;
    size_t len;
    FILE *f;
    struct qib__json j;
};

static int jdoc_open(struct jdoc *d)
{
    memset(d, 0, sizeof *d);
    d->f = open_memstream(&d->buf, &d->len);
    if (!d->f)
        return -1;
    qib__json_init(&d->j, d->f, 0);
    return 0;
}

static int jdoc_commit(struct jdoc *d, const char *dir, const char *name, char *err, size_t errlen)
{
    int bad = qib__json_finish(&d->j);
    if (fclose(d->f) != 0)
        bad = -1;
    int rc = QIB_EIO;
    if (bad)
        snprintf(err, errlen, "%s: cannot format the record", name);
    else
        rc = qib__write_file_atomic(dir, name, d->buf, d->len, err, errlen);
    free(d->buf);
    return rc;
}

/* Digest of an input path: a file's SHA-256, or a directory's manifest
 * digest (as provenance.json records it).  "" when it cannot be read. */
static void input_digest(const char *path, char hex[65])
{
    struct stat st;
    char err[256];
    hex[0] = '\0';
    if (stat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        if (qib__hash_tree(path, hex, NULL, NULL, err, sizeof err) != QIB_OK)
            hex[0] = '\0';
    } else if (qib_sha256_file(path, hex) != QIB_OK) {
        hex[0] = '\0';
    }
}

/* ---- option parsing ---- */

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

static int parse_count(const char *cmd, const char *opt, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < lo || n > hi) {
        fprintf(stderr, "qib %s: %s %s: expected a whole number from %ld to %ld\n", cmd, opt, v,
                lo, hi);
        return -1;
    }
    *out = n;
    return 0;
}

/* ------------------------------------------------------------------------
 * qib batch
 * ------------------------------------------------------------------------ */

enum cstate { C_PENDING, C_SKIPPED, C_RUNNING, C_OK, C_FAILED, C_INTERRUPTED };

struct ccase {
    const char *id;          /* borrowed from the CSV */
    size_t row;              /* record number in the CSV (header = 1) */
    const char **inputs;     /* per pipeline input: value (NULL: not given) */
    char **owned;            /* per input: resolved path, owned */
    char (*digest)[65];      /* per input: SHA-256 ("" when unreadable or not a path) */
    struct qib__kv *params;  /* global -p, then the case's own columns */
    size_t nparams;
    char key[65];            /* digest of pipeline + inputs + parameters */
    enum cstate state;
    pid_t pid;
    int termed;              /* SIGTERM sent */
    double t0, t1;
    struct timespec started, finished;
    char *dir;
};

struct batch {
    const char *pipeline;
    const char *csvpath;
    const char *out;
    long workers, threads;
    int resume, quiet;
    struct qib__kv *gparams;
    size_t ngparams;
    char **names;
    size_t nnames;
    struct qib__pipeline *pl;
    struct qib__csv csv;
    struct ccase *cases;
    size_t ncases;
    char exe[PATH_MAX];
    const char *only_case;   /* run-case: the one case to run */
    int slurm, wait;         /* --engine slurm, --wait */
    long max_array;          /* --max-array, 0: ask Slurm */
    const char **sbatch_args; /* --sbatch-arg, in order */
    size_t nsbatch_args;
};

static void batch_usage(FILE *f)
{
    fprintf(f,
            "usage: qib batch PIPELINE.yaml COHORT.csv --out DIR [-j N] [--threads T]\n"
            "                 [--resume] [-p NAME=VALUE]... [-q]\n"
            "\n"
            "Run a pipeline on every case of a cohort table.  COHORT.csv (RFC 4180) has\n"
            "a header row with a column \"case\" (the case identifier, a safe file name),\n"
            "one column per pipeline input (relative paths are relative to the CSV\n"
            "file's directory) and optional columns \"param:NAME\" giving a pipeline\n"
            "parameter per case.  The pipeline and every case's parameters are checked\n"
            "first, as `qib validate` does; then each case runs as its own `qib run`\n"
            "process into DIR/cases/ID/, which receives the outputs, provenance.json,\n"
            "qib.log (the case's messages) and status.json.\n"
            "\n"
            "  -o, --out DIR            the cohort directory (created when missing)\n"
            "  -j, --jobs N             cases run at the same time (default 1)\n"
            "  -t, --threads T          threads of each case (default 1)\n"
            "  -r, --resume             skip cases whose status.json says ok and whose\n"
            "                           pipeline, input digests and parameters are unchanged\n"
            "  -p, --param NAME=VALUE   a parameter for every case (a param:NAME column wins)\n"
            "  -q, --quiet              no progress line, no per-case lines\n"
            "  --engine local|slurm     run the cases here (default) or as a Slurm job\n"
            "                           array: DIR/slurm/array.sbatch, submitted with\n"
            "                           sbatch, each task running `qib run-case`\n"
            "  --wait                   slurm: wait for the arrays (polling squeue), then\n"
            "                           report as a local batch does\n"
            "  --max-array N            slurm: cases per array (default: MaxArraySize)\n"
            "  --sbatch-arg ARG         slurm: pass ARG to sbatch (--account=..., ...)\n"
            "\n"
            "Exit status: 0 every case succeeded, 1 some case failed, 2 invalid pipeline,\n"
            "cohort table or usage, 130 interrupted.\n");
}

static int add_kv(struct batch *b, const char *text, struct qib__kv **v, size_t *n)
{
    const char *eq = strchr(text, '=');
    if (!eq || eq == text) {
        fprintf(stderr, "qib batch: -p %s: expected NAME=VALUE\n", text);
        return -1;
    }
    struct qib__kv *nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (nv)
        *v = nv;
    char **nn = nv ? realloc(b->names, (b->nnames + 1) * sizeof *nn) : NULL;
    if (nn)
        b->names = nn;
    char *name = nn ? strndup(text, (size_t)(eq - text)) : NULL;
    if (!name) {
        fprintf(stderr, "qib batch: out of memory\n");
        return -1;
    }
    b->names[b->nnames++] = name;
    nv[*n].name = name;
    nv[*n].value = eq + 1;
    (*n)++;
    return 0;
}

static void batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->ncases; i++) {
        struct ccase *c = &b->cases[i];
        if (c->owned)
            for (size_t k = 0; b->pl && k < b->pl->ninputs; k++)
                free(c->owned[k]);
        free(c->owned);
        free(c->inputs);
        free(c->digest);
        free(c->params);
        free(c->dir);
    }
    free(b->cases);
    for (size_t i = 0; i < b->nnames; i++)
        free(b->names[i]);
    free(b->names);
    free(b->gparams);
    free(b->sbatch_args);
    qib__csv_free(&b->csv);
    qib__pipeline_free(&b->pl);
}

/* Check the pipeline with the given overrides, printing every error as
 * `qib validate` does.  Returns the number of errors (-1: out of memory). */
static long check_plan(struct qib__pipeline *pl, const struct qib__registry *reg,
                       const struct qib__kv *ov, size_t nov, const char *label)
{
    struct qib__diags d = {0};
    struct qib__plan *plan = NULL;
    struct qib__runargs ra = {.overrides = ov, .noverrides = nov, .have_inputs = 0};
    int rc = qib__plan_new(pl, reg, &ra, NULL, &plan, &d);
    if (rc == QIB_ENOMEM && !d.n)
        qib__diag_add(&d, (struct qib__pos){0, 0}, "out of memory");
    qib__diags_sort(&d);
    qib__diags_print(&d, label, stderr);
    long n = (long)d.n;
    if (rc != QIB_OK && n == 0)
        n = 1;
    qib__plan_free(&plan);
    qib__diags_clear(&d);
    return n;
}

/* Read the cohort table: columns, case identifiers, values.  Prints every
 * problem; returns the number of problems (-1: out of memory). */
static long read_cohort(struct batch *b)
{
    char err[512];
    int rc = qib__csv_read(b->csvpath, &b->csv, err, sizeof err);
    if (rc != QIB_OK) {
        fprintf(stderr, "%s: %s\n", b->csvpath, err);
        return 1;
    }
    const struct qib__csv *c = &b->csv;
    const struct qib__pipeline *pl = b->pl;
    if (c->nrows < 2) {
        fprintf(stderr, "%s: no cases: the table needs a header row and one row per case\n",
                b->csvpath);
        return 1;
    }
    size_t nc = c->ncols[0];
    char **hdr = c->rows[0];
    long bad = 0;
    long case_col = -1;
    long *col_in = calloc(nc, sizeof *col_in);
    long *col_par = calloc(nc, sizeof *col_par);
    int *seen_in = calloc(pl->ninputs + 1, sizeof *seen_in);
    if (!col_in || !col_par || !seen_in) {
        free(col_in);
        free(col_par);
        free(seen_in);
        return -1;
    }
    for (size_t k = 0; k < nc; k++) {
        col_in[k] = col_par[k] = -1;
        const char *h = hdr[k];
        for (size_t j = 0; j < k; j++)
            if (strcmp(hdr[j], h) == 0) {
                fprintf(stderr, "%s: column \"%s\" appears twice in the header\n", b->csvpath, h);
                bad++;
            }
        if (strcmp(h, "case") == 0) {
            case_col = (long)k;
        } else if (strncmp(h, "param:", 6) == 0) {
            col_par[k] = qib__pipeline_param(pl, h + 6);
            if (col_par[k] < 0) {
                fprintf(stderr, "%s: column \"%s\": the pipeline has no parameter \"%s\"\n",
                        b->csvpath, h, h + 6);
                bad++;
            }
        } else {
            col_in[k] = qib__pipeline_input(pl, h);
            if (col_in[k] < 0) {
                const char **names = calloc(pl->ninputs + 1, sizeof *names);
                for (size_t j = 0; names && j < pl->ninputs; j++)
                    names[j] = pl->inputs[j].name;
                const char *near = names ? qib__nearest(h, names, pl->ninputs) : NULL;
                fprintf(stderr, "%s: column \"%s\" is neither \"case\", an input of the pipeline "
                        "nor param:NAME%s%s%s\n", b->csvpath, h, near ? " (did you mean \"" : "",
                        near ? near : "", near ? "\"?)" : "");
                free(names);
                bad++;
            } else {
                seen_in[col_in[k]] = 1;
            }
        }
    }
    if (case_col < 0) {
        fprintf(stderr, "%s: the header has no \"case\" column (the case identifiers)\n",
                b->csvpath);
        bad++;
    }
    for (size_t i = 0; i < pl->ninputs; i++)
        if (!seen_in[i] && !pl->inputs[i].optional) {
            fprintf(stderr, "%s: no column for the pipeline's input \"%s\" (%s)\n", b->csvpath,
                    pl->inputs[i].name, pl->inputs[i].help ? pl->inputs[i].help : "required");
            bad++;
        }
    free(seen_in);
    if (bad) {
        free(col_in);
        free(col_par);
        return bad;
    }
    /* The CSV's directory, against which relative paths are resolved. */
    char *csvdir = strdup(b->csvpath);
    if (!csvdir) {
        free(col_in);
        free(col_par);
        return -1;
    }
    char *slash = strrchr(csvdir, '/');
    if (slash)
        slash[1] = '\0';
    else
        csvdir[0] = '\0';
    b->ncases = c->nrows - 1;
    b->cases = calloc(b->ncases, sizeof *b->cases);
    if (!b->cases) {
        free(csvdir);
        free(col_in);
        free(col_par);
        return -1;
    }
    long oom = 0;
    for (size_t r = 1; r < c->nrows; r++) {
        struct ccase *cs = &b->cases[r - 1];
        cs->row = r + 1;
        if (c->ncols[r] != nc) {
            fprintf(stderr, "%s: record %zu has %zu fields; the header has %zu\n", b->csvpath,
                    r + 1, c->ncols[r], nc);
            bad++;
            continue;
        }
        cs->id = c->rows[r][case_col];
        const char *why = qib__case_id_problem(cs->id);
        if (why) {
            fprintf(stderr, "%s: record %zu: case \"%s\" is not a safe identifier: %s\n",
                    b->csvpath, r + 1, cs->id, why);
            bad++;
        }
        for (size_t q = 1; q < r; q++)
            if (b->cases[q - 1].id && strcmp(b->cases[q - 1].id, cs->id) == 0) {
                fprintf(stderr, "%s: record %zu: case \"%s\" already appears in record %zu\n",
                        b->csvpath, r + 1, cs->id, q + 1);
                bad++;
                break;
            }
        cs->inputs = calloc(pl->ninputs + 1, sizeof *cs->inputs);
        cs->owned = calloc(pl->ninputs + 1, sizeof *cs->owned);
        cs->digest = calloc(pl->ninputs + 1, sizeof *cs->digest);
        cs->params = calloc(b->ngparams + nc + 1, sizeof *cs->params);
        if (!cs->inputs || !cs->owned || !cs->digest || !cs->params) {
            oom = 1;
            break;
        }
        for (size_t k = 0; k < b->ngparams; k++)
            cs->params[cs->nparams++] = b->gparams[k];
        for (size_t k = 0; k < nc; k++) {
            const char *v = c->rows[r][k];
            if (col_in[k] >= 0) {
                const struct qib__pinput *in = &pl->inputs[col_in[k]];
                if (!*v) {
                    if (!in->optional) {
                        fprintf(stderr, "%s: record %zu: case \"%s\": input \"%s\" is empty "
                                "(it is required)\n", b->csvpath, r + 1, cs->id, in->name);
                        bad++;
                    }
                    continue;
                }
                if (in->type == QIB__INPUT_PATH && v[0] != '/' && csvdir[0]) {
                    cs->owned[col_in[k]] = xasprintf("%s%s", csvdir, v);
                    if (!cs->owned[col_in[k]]) {
                        oom = 1;
                        break;
                    }
                    v = cs->owned[col_in[k]];
                }
                cs->inputs[col_in[k]] = v;
            } else if (col_par[k] >= 0 && *v) {
                /* The case's own value replaces a global -p of that name. */
                const char *name = hdr[k] + 6;
                size_t j;
                for (j = 0; j < cs->nparams; j++)
                    if (strcmp(cs->params[j].name, name) == 0)
                        break;
                cs->params[j].name = name;
                cs->params[j].value = v;
                if (j == cs->nparams)
                    cs->nparams++;
            }
        }
        if (oom)
            break;
    }
    free(csvdir);
    free(col_in);
    free(col_par);
    return oom ? -1 : bad;
}

/* The digest that decides whether a successful case is still up to date. */
static void case_key(const struct batch *b, struct ccase *c)
{
    struct qib_sha256 s;
    qib_sha256_init(&s);
    qib_sha256_update(&s, b->pl->sha256, strlen(b->pl->sha256) + 1);
    for (size_t i = 0; i < b->pl->ninputs; i++) {
        const char *v = c->inputs[i] ? c->inputs[i] : "";
        qib_sha256_update(&s, b->pl->inputs[i].name, strlen(b->pl->inputs[i].name) + 1);
        if (b->pl->inputs[i].type == QIB__INPUT_PATH && c->inputs[i])
            qib_sha256_update(&s, c->digest[i], strlen(c->digest[i]) + 1);
        else
            qib_sha256_update(&s, v, strlen(v) + 1);
    }
    for (size_t k = 0; k < c->nparams; k++) {
        qib_sha256_update(&s, c->params[k].name, strlen(c->params[k].name) + 1);
        qib_sha256_update(&s, c->params[k].value, strlen(c->params[k].value) + 1);
    }
    unsigned char d[32];
    qib_sha256_final(&s, d);
    for (int i = 0; i < 32; i++)
        snprintf(c->key + 2 * i, 3, "%02x", d[i]);
}

/* Whether the case's status.json says it succeeded with this key; *why
 * gets the reason to run it again. */
static int case_up_to_date(const struct ccase *c, const char **why)
{
    char *path = xasprintf("%s/status.json", c->dir);
    struct qib__jv j;
    char err[256];
    int ok = 0;
    *why = "no status.json";
    if (path && qib__json_read(path, &j, err, sizeof err) == QIB_OK) {
        const char *st = qib__jv_str(&j, "status");
        const char *key = qib__jv_str(&j, "key");
        if (!st || strcmp(st, "ok") != 0)
            *why = "its last run did not succeed";
        else if (!key || strcmp(key, c->key) != 0)
            *why = "its inputs, parameters or the pipeline changed";
        else
            ok = 1;
        qib__jv_free(&j);
    }
    free(path);
    return ok;
}

static volatile sig_atomic_t batch_interrupted;

static void batch_on_signal(int sig)
{
    (void)sig;
    batch_interrupted = 1;
}

static pid_t start_case(struct batch *b, struct ccase *c)
{
    const struct qib__pipeline *pl = b->pl;
    size_t cap = 12 + 2 * pl->ninputs + 2 * c->nparams;
    char **argv = calloc(cap, sizeof *argv);
    char **fr = calloc(cap, sizeof *fr);
    char threads[32];
    snprintf(threads, sizeof threads, "%ld", b->threads);
    size_t n = 0, nf = 0;
    pid_t pid = -1;
    if (!argv || !fr)
        goto out;
    argv[n++] = "qib";
    argv[n++] = "run";
    argv[n++] = (char *)b->pipeline;
    argv[n++] = "--out";
    argv[n++] = c->dir;
    argv[n++] = "--threads";
    argv[n++] = threads;
    argv[n++] = "-q";
    for (size_t i = 0; i < pl->ninputs; i++) {
        if (!c->inputs[i])
            continue;
        argv[n++] = "--input";
        if (!(argv[n++] = fr[nf++] = xasprintf("%s=%s", pl->inputs[i].name, c->inputs[i])))
            goto out;
    }
    for (size_t k = 0; k < c->nparams; k++) {
        argv[n++] = "-p";
        if (!(argv[n++] = fr[nf++] = xasprintf("%s=%s", c->params[k].name, c->params[k].value)))
            goto out;
    }
    argv[n] = NULL;
    char *log = xasprintf("%s/qib.log", c->dir);
    if (!log)
        goto out;
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        /* The child: messages into the case's log, no terminal input. */
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || nul < 0)
            _exit(127);
        /* Its own process group: Ctrl-C reaches the batch alone, which
         * passes one SIGTERM on (two signals stop qib run unrecorded). */
        setpgid(0, 0);
        dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execv(b->exe, argv);
        fprintf(stderr, "qib batch: cannot run %s: %s\n", b->exe, strerror(errno));
        _exit(127);
    }
    free(log);
out:
    for (size_t i = 0; fr && i < nf; i++)
        free(fr[i]);
    free(fr);
    free(argv);
    return pid;
}

/* The last lines of the case's log (at most 2000 bytes), as the error. */
static char *log_tail(const char *dir)
{
    char *path = xasprintf("%s/qib.log", dir);
    if (!path)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    int rc = qib__slurp(path, 16u << 20, &buf, &len);
    free(path);
    if (rc != QIB_OK)
        return NULL;
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    size_t from = len > 2000 ? len - 2000 : 0;
    if (from) {
        while (from < len && buf[from - 1] != '\n')
            from++;
    }
    char *t = strdup(buf + from);
    free(buf);
    if (t && !*t) {
        free(t);
        t = NULL;
    }
    return t;
}

static const char *state_name(enum cstate s)
{
    switch (s) {
    case C_OK: return "ok";
    case C_FAILED: return "failed";
    case C_INTERRUPTED: return "interrupted";
    case C_SKIPPED: return "ok";
    case C_RUNNING: return "running";
    case C_PENDING: break;
    }
    return "not run";
}

static int write_status(const struct batch *b, const struct ccase *c, int wstatus, const char *err_tail)
{
    struct jdoc d;
    char err[512];
    if (jdoc_open(&d) < 0)
        return -1;
    struct qib__json *j = &d.j;
    char ts0[32], ts1[32];
    qib__iso8601_utc(&c->started, ts0);
    qib__iso8601_utc(&c->finished, ts1);
    qib__json_obj_begin(j, NULL);
    qib__json_int(j, "qib_case_status", 1);
    qib__json_str(j, "case", c->id);
    qib__json_str(j, "status", state_name(c->state));
    if (WIFEXITED(wstatus))
        qib__json_int(j, "exit_status", WEXITSTATUS(wstatus));
    else
        qib__json_null(j, "exit_status");
    if (WIFSIGNALED(wstatus))
        qib__json_str(j, "signal", sigabbrev_np(WTERMSIG(wstatus)) ? sigabbrev_np(WTERMSIG(wstatus))
                                                                    : "?");
    else
        qib__json_null(j, "signal");
    qib__json_str(j, "error", c->state == C_OK ? NULL : err_tail);
    qib__json_str(j, "started", ts0);
    qib__json_str(j, "finished", ts1);
    qib__json_double(j, "wall_seconds", round((c->t1 - c->t0) * 1e6) / 1e6);
    qib__json_str(j, "qib_version", qib_version());
    qib__json_obj_begin(j, "pipeline");
    qib__json_str(j, "path", b->pipeline);
    qib__json_str(j, "name", b->pl->name);
    qib__json_str(j, "sha256", b->pl->sha256);
    qib__json_obj_end(j);
    qib__json_arr_begin(j, "inputs");
    for (size_t i = 0; i < b->pl->ninputs; i++) {
        if (!c->inputs[i])
            continue;
        qib__json_obj_begin(j, NULL);
        qib__json_str(j, "name", b->pl->inputs[i].name);
        qib__json_str(j, "value", c->inputs[i]);
        if (b->pl->inputs[i].type == QIB__INPUT_PATH)
            qib__json_str(j, "sha256", c->digest[i][0] ? c->digest[i] : NULL);
        qib__json_obj_end(j);
    }
    qib__json_arr_end(j);
    qib__json_arr_begin(j, "params");
    for (size_t k = 0; k < c->nparams; k++) {
        qib__json_obj_begin(j, NULL);
        qib__json_str(j, "name", c->params[k].name);
        qib__json_str(j, "value", c->params[k].value);
        qib__json_obj_end(j);
    }
    qib__json_arr_end(j);
    qib__json_int(j, "threads", b->threads);
    qib__json_str(j, "key", c->key);
    qib__prov_host(j, "host");
    const char *sj = getenv("SLURM_JOB_ID"), *st = getenv("SLURM_ARRAY_TASK_ID");
    if (sj || st) {
        qib__json_obj_begin(j, "slurm");
        qib__json_str(j, "job_id", sj);
        qib__json_str(j, "array_job_id", getenv("SLURM_ARRAY_JOB_ID"));
        qib__json_str(j, "array_task_id", st);
        qib__json_obj_end(j);
    } else {
        qib__json_null(j, "slurm");
    }
    qib__json_obj_end(j);
    int rc = jdoc_commit(&d, c->dir, "status.json", err, sizeof err);
    if (rc != QIB_OK)
        fprintf(stderr, "qib batch: case %s: %s\n", c->id, err);
    return rc == QIB_OK ? 0 : -1;
}

static int write_batch_record(const struct batch *b)
{
    struct jdoc d;
    char err[512];
    if (jdoc_open(&d) < 0)
        return -1;
    struct qib__json *j = &d.j;
    char real[PATH_MAX], creal[PATH_MAX];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char ts[32];
    qib__iso8601_utc(&now, ts);
    qib__json_obj_begin(j, NULL);
    qib__json_int(j, "qib_batch", 1);
    qib__json_str(j, "started", ts);
    qib__json_str(j, "qib_version", qib_version());
    qib__json_obj_begin(j, "pipeline");
    qib__json_str(j, "path", b->pipeline);
    qib__json_str(j, "realpath", realpath(b->pipeline, real) ? real : NULL);
    qib__json_str(j, "name", b->pl->name);
    qib__json_str(j, "sha256", b->pl->sha256);
    qib__json_obj_end(j);
    char csha[65];
    qib__json_obj_begin(j, "cohort");
    qib__json_str(j, "path", b->csvpath);
    qib__json_str(j, "realpath", realpath(b->csvpath, creal) ? creal : NULL);
    qib__json_str(j, "sha256", qib_sha256_file(b->csvpath, csha) == QIB_OK ? csha : NULL);
    qib__json_obj_end(j);
    qib__json_int(j, "jobs", b->workers);
    qib__json_int(j, "threads", b->threads);
    qib__json_arr_begin(j, "cases");
    for (size_t i = 0; i < b->ncases; i++)
        qib__json_str(j, NULL, b->cases[i].id);
    qib__json_arr_end(j);
    qib__json_obj_end(j);
    int rc = jdoc_commit(&d, b->out, "batch.json", err, sizeof err);
    if (rc != QIB_OK)
        fprintf(stderr, "qib batch: %s\n", err);
    return rc == QIB_OK ? 0 : -1;
}

struct counts {
    size_t done, failed, running, left, skipped;
};

static void progress(const struct counts *k, double t0, double work_done_s, size_t nrun_done,
                     size_t workers, int final)
{
    char el[32], eta[32];
    double el_s = now_mono() - t0;
    fmt_dur(el_s, el);
    /* ETA: the mean wall time of the cases run so far, over the workers. */
    if (nrun_done && k->left + k->running) {
        double per = work_done_s / (double)nrun_done;
        double rem = per * (double)(k->left + k->running) / (double)(workers ? workers : 1);
        fmt_dur(rem, eta);
    } else {
        snprintf(eta, sizeof eta, "%s", k->left + k->running ? "?" : "0:00");
    }
    fprintf(stderr, "\rqib batch: %zu done, %zu failed, %zu running, %zu left; %s elapsed, ETA %s\033[K%s",
            k->done, k->failed, k->running, k->left, el, eta, final ? "\n" : "");
    fflush(stderr);
}

static int slurm_submit(struct batch *b, size_t nrun);
static int slurm_wait(struct batch *b);

static int batch_main(int argc, char **argv, int run_case)
{
    const char *cmd = run_case ? "run-case" : "batch";
    struct batch b;
    memset(&b, 0, sizeof b);
    b.workers = 1;
    b.threads = 1;
    const char *files[2];
    size_t nfiles = 0;
    int ex = QIB_EXIT_USAGE;
    long tmp;
    for (int i = 1; i < argc; i++) {
        const char *x = argv[i], *v;
        if (x[0] != '-' || strcmp(x, "-") == 0) {
            if (nfiles == 2) {
                fprintf(stderr, "qib batch: one pipeline and one cohort table (extra: %s)\n", x);
                goto out;
            }
            files[nfiles++] = x;
        } else if (strcmp(x, "-h") == 0 || strcmp(x, "--help") == 0) {
            if (run_case)
                printf("usage: qib run-case PIPELINE.yaml COHORT.csv --out DIR --case ID\n"
                       "                    [--threads T] [-p NAME=VALUE]...\n\n"
                       "Run one case of a cohort table as `qib batch` would (the same checks,\n"
                       "DIR/cases/ID/ with status.json): what each task of a Slurm array\n"
                       "made by `qib batch --engine slurm` runs.\n");
            else
                batch_usage(stdout);
            ex = QIB_EXIT_OK;
            goto out;
        } else if (strcmp(x, "-q") == 0 || strcmp(x, "--quiet") == 0) {
            b.quiet = 1;
        } else if (strcmp(x, "-r") == 0 || strcmp(x, "--resume") == 0) {
            b.resume = 1;
        } else if (is_opt(x, "-o", "--out")) {
            if (!(v = optval("batch", argc, argv, &i, "--out")))
                goto out;
            b.out = v;
        } else if (is_opt(x, "-j", "--jobs")) {
            if (!(v = optval("batch", argc, argv, &i, "--jobs")) ||
                parse_count("batch", "--jobs", v, 1, 1024, &tmp) < 0)
                goto out;
            b.workers = tmp;
        } else if (is_opt(x, "-t", "--threads")) {
            if (!(v = optval("batch", argc, argv, &i, "--threads")) ||
                parse_count("batch", "--threads", v, 0, 4096, &tmp) < 0)
                goto out;
            b.threads = tmp;
        } else if (is_opt(x, "-p", "--param")) {
            if (!(v = optval("batch", argc, argv, &i, "--param")) ||
                add_kv(&b, v, &b.gparams, &b.ngparams) < 0)
                goto out;
        } else if (run_case && is_opt(x, NULL, "--case")) {
            if (!(v = optval(cmd, argc, argv, &i, "--case")))
                goto out;
            b.only_case = v;
        } else if (!run_case && is_opt(x, NULL, "--engine")) {
            if (!(v = optval(cmd, argc, argv, &i, "--engine")))
                goto out;
            if (strcmp(v, "slurm") != 0 && strcmp(v, "local") != 0) {
                fprintf(stderr, "qib batch: --engine %s: expected local or slurm\n", v);
                goto out;
            }
            b.slurm = strcmp(v, "slurm") == 0;
        } else if (!run_case && strcmp(x, "--wait") == 0) {
            b.wait = 1;
        } else if (!run_case && is_opt(x, NULL, "--max-array")) {
            if (!(v = optval(cmd, argc, argv, &i, "--max-array")) ||
                parse_count(cmd, "--max-array", v, 1, 100000000, &tmp) < 0)
                goto out;
            b.max_array = tmp;
        } else if (!run_case && is_opt(x, NULL, "--sbatch-arg")) {
            if (!(v = optval(cmd, argc, argv, &i, "--sbatch-arg")))
                goto out;
            const char **na = realloc(b.sbatch_args, (b.nsbatch_args + 1) * sizeof *na);
            if (!na)
                goto out;
            b.sbatch_args = na;
            b.sbatch_args[b.nsbatch_args++] = v;
        } else {
            fprintf(stderr, "qib %s: unknown option \"%s\"\nTry `qib %s --help`.\n", cmd, x, cmd);
            goto out;
        }
    }
    if (run_case && !b.only_case) {
        fprintf(stderr, "qib run-case: which case? give --case ID\n");
        goto out;
    }
    if (nfiles != 2 || !b.out || !*b.out) {
        fprintf(stderr, nfiles != 2 ? "qib batch: give PIPELINE.yaml and COHORT.csv\n"
                                    : "qib batch: give the cohort directory with --out DIR\n");
        batch_usage(stderr);
        goto out;
    }
    b.pipeline = files[0];
    b.csvpath = files[1];
    if (self_exe(b.exe, sizeof b.exe) < 0) {
        fprintf(stderr, "qib batch: cannot find this program through /proc/self/exe\n");
        ex = QIB_EXIT_FAIL;
        goto out;
    }

    /* Everything that can be checked before a case runs. */
    struct qib__diags d = {0};
    int rc = qib__pipeline_load(b.pipeline, &b.pl, &d);
    if (rc != QIB_OK) {
        qib__diags_sort(&d);
        qib__diags_print(&d, b.pipeline, stderr);
        fprintf(stderr, "qib batch: %s: %zu error%s; nothing was run\n", b.pipeline, d.n,
                d.n == 1 ? "" : "s");
        qib__diags_clear(&d);
        goto out;
    }
    struct qib__registry *reg = NULL;
    if (qib__registry_open(&reg) != QIB_OK) {
        fprintf(stderr, "qib batch: cannot load the plugins\n");
        qib__diags_clear(&d);
        ex = QIB_EXIT_FAIL;
        goto out;
    }
    long nerr = (long)d.n;
    if (d.n) {
        qib__diags_sort(&d);
        qib__diags_print(&d, b.pipeline, stderr);
    }
    qib__diags_clear(&d);
    long e = check_plan(b.pl, reg, b.gparams, b.ngparams, b.pipeline);
    nerr = e < 0 ? -1 : nerr + e;
    if (nerr == 0) {
        e = read_cohort(&b);
        nerr = e < 0 ? -1 : e;
    }
    /* A case with its own parameters is checked with them. */
    for (size_t i = 0; nerr == 0 && i < b.ncases; i++) {
        struct ccase *c = &b.cases[i];
        if (c->nparams == b.ngparams)
            continue;
        char label[PATH_MAX + 64];
        snprintf(label, sizeof label, "%s (case %s)", b.pipeline, c->id);
        e = check_plan(b.pl, reg, c->params, c->nparams, label);
        nerr = e < 0 ? -1 : nerr + e;
    }
    qib__registry_free(&reg);
    if (nerr) {
        if (nerr < 0)
            fprintf(stderr, "qib batch: out of memory\n");
        else
            fprintf(stderr, "qib batch: %ld error%s; nothing was run\n", nerr, nerr == 1 ? "" : "s");
        ex = nerr < 0 ? QIB_EXIT_FAIL : QIB_EXIT_USAGE;
        goto out;
    }

    ex = QIB_EXIT_FAIL;
    char *cases_dir = xasprintf("%s/cases", b.out);
    if (!cases_dir || mkdir_p(cases_dir) < 0) {
        fprintf(stderr, "qib batch: %s: cannot create the directory: %s\n",
                cases_dir ? cases_dir : b.out, strerror(errno));
        free(cases_dir);
        goto out;
    }
    free(cases_dir);
    if (b.only_case) {
        size_t i;
        for (i = 0; i < b.ncases; i++)
            if (strcmp(b.cases[i].id, b.only_case) == 0)
                break;
        if (i == b.ncases) {
            fprintf(stderr, "qib run-case: %s has no case \"%s\"\n", b.csvpath, b.only_case);
            ex = QIB_EXIT_USAGE;
            goto out;
        }
        /* The one case, alone in the list. */
        struct ccase one = b.cases[i];
        b.cases[i] = b.cases[0];
        b.cases[0] = one;
        for (size_t q = 1; q < b.ncases; q++)
            b.cases[q].state = C_SKIPPED;
        b.workers = 1;
        b.quiet = 1;
    } else if (write_batch_record(&b) < 0) {
        goto out;
    }
    struct counts k = {0};
    for (size_t i = 0; i < b.ncases; i++) {
        struct ccase *c = &b.cases[i];
        c->dir = xasprintf("%s/cases/%s", b.out, c->id);
        if (!c->dir) {
            fprintf(stderr, "qib batch: out of memory\n");
            goto out;
        }
        if (c->state == C_SKIPPED)
            continue; /* run-case: another task's case */
        for (size_t q = 0; q < b.pl->ninputs; q++)
            if (c->inputs[q] && b.pl->inputs[q].type == QIB__INPUT_PATH)
                input_digest(c->inputs[q], c->digest[q]);
        case_key(&b, c);
        const char *why = NULL;
        if (b.resume && case_up_to_date(c, &why)) {
            c->state = C_SKIPPED;
            k.skipped++;
            continue;
        }
        if (b.resume && !b.quiet)
            fprintf(stderr, "qib batch: case %s runs again: %s\n", c->id, why);
        k.left++;
    }

    if (b.slurm) {
        ex = slurm_submit(&b, k.left);
        if (ex == QIB_EXIT_OK && b.wait)
            ex = slurm_wait(&b);
        goto out;
    }

    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = batch_on_signal;
    sigemptyset(&sa.sa_mask);
    batch_interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    int tty = !b.quiet && isatty(2);
    double t0 = now_mono(), last_draw = 0, work = 0;
    size_t next = 0, nrun_done = 0;
    if (!b.quiet)
        fprintf(stderr, "qib batch: %zu case%s, %zu to run (%s), %ld at a time, into %s\n",
                b.ncases, b.ncases == 1 ? "" : "s", k.left,
                k.skipped ? "the others are up to date" : "all", b.workers, b.out);
    for (;;) {
        while (!batch_interrupted && (long)k.running < b.workers && next < b.ncases) {
            struct ccase *c = &b.cases[next++];
            if (c->state != C_PENDING)
                continue;
            char *sp = xasprintf("%s/status.json", c->dir);
            if (mkdir_p(c->dir) < 0) {
                fprintf(stderr, "qib batch: %s: %s\n", c->dir, strerror(errno));
                free(sp);
                goto out_sig;
            }
            if (sp)
                unlink(sp); /* a stale "ok" must not survive a rerun */
            free(sp);
            clock_gettime(CLOCK_REALTIME, &c->started);
            c->t0 = now_mono();
            c->pid = start_case(&b, c);
            if (c->pid < 0) {
                fprintf(stderr, "qib batch: case %s: cannot start a process: %s\n", c->id,
                        strerror(errno));
                goto out_sig;
            }
            c->state = C_RUNNING;
            k.running++;
            k.left--;
        }
        if (!k.running)
            break;
        int ws;
        pid_t pid = waitpid(-1, &ws, WNOHANG);
        if (pid == 0 || (pid < 0 && errno == EINTR)) {
            if (batch_interrupted) {
                /* Once: a second signal would make qib run stop at once,
                 * without its record. */
                for (size_t i = 0; i < b.ncases; i++)
                    if (b.cases[i].state == C_RUNNING && !b.cases[i].termed) {
                        kill(b.cases[i].pid, SIGTERM);
                        b.cases[i].termed = 1;
                    }
            }
            if (tty && now_mono() - last_draw >= 1.0) {
                progress(&k, t0, work, nrun_done, (size_t)b.workers, 0);
                last_draw = now_mono();
            }
            struct timespec nap = {0, 50 * 1000 * 1000};
            nanosleep(&nap, NULL);
            continue;
        }
        if (pid < 0)
            break;
        for (size_t i = 0; i < b.ncases; i++) {
            struct ccase *c = &b.cases[i];
            if (c->state != C_RUNNING || c->pid != pid)
                continue;
            c->t1 = now_mono();
            clock_gettime(CLOCK_REALTIME, &c->finished);
            k.running--;
            work += c->t1 - c->t0;
            nrun_done++;
            int exst = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
            if (exst == 0) {
                c->state = C_OK;
                k.done++;
            } else if (exst == QIB_EXIT_INTR || (batch_interrupted && WIFSIGNALED(ws))) {
                c->state = C_INTERRUPTED;
            } else {
                c->state = C_FAILED;
                k.failed++;
            }
            char *tail = c->state == C_OK ? NULL : log_tail(c->dir);
            if (!tail && c->state != C_OK) {
                char sig[96];
                if (WIFSIGNALED(ws))
                    snprintf(sig, sizeof sig, "killed by signal %d (%s)", WTERMSIG(ws),
                             strsignal(WTERMSIG(ws)));
                else
                    snprintf(sig, sizeof sig, "exit status %d and no message", exst);
                tail = strdup(sig);
            }
            write_status(&b, c, ws, tail);
            if (!b.quiet && (c->state != C_OK || !tty)) {
                char dur[32];
                fmt_dur(c->t1 - c->t0, dur);
                /* The first line of the message: the cause, where qib run
                 * ends with a count. */
                int l1 = tail ? (int)strcspn(tail, "\n") : 0;
                fprintf(stderr, "%sqib batch: case %s %s after %s%s%.*s\n", tty ? "\r\033[K" : "",
                        c->id, state_name(c->state), dur, tail ? ": " : "", l1, tail ? tail : "");
            }
            free(tail);
            break;
        }
        if (tty) {
            progress(&k, t0, work, nrun_done, (size_t)b.workers, 0);
            last_draw = now_mono();
        }
    }
    if (tty)
        progress(&k, t0, work, nrun_done, (size_t)b.workers, 1);
    size_t nint = 0;
    for (size_t i = 0; i < b.ncases; i++)
        nint += b.cases[i].state == C_INTERRUPTED || b.cases[i].state == C_PENDING;
    if (!b.quiet) {
        fprintf(stderr, "qib batch: %zu ok, %zu failed, %zu up to date", k.done, k.failed, k.skipped);
        if (batch_interrupted)
            fprintf(stderr, ", %zu interrupted or not run", nint);
        fprintf(stderr, "; `qib status %s` lists them, `qib gather %s` makes the table\n", b.out,
                b.out);
    }
    ex = batch_interrupted ? QIB_EXIT_INTR : k.failed ? QIB_EXIT_FAIL : QIB_EXIT_OK;
out_sig:
    /* Never leave a child behind. */
    for (size_t i = 0; i < b.ncases; i++)
        if (b.cases[i].state == C_RUNNING) {
            kill(b.cases[i].pid, SIGTERM);
            waitpid(b.cases[i].pid, NULL, 0);
        }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
out:
    batch_free(&b);
    return ex;
}

int qib__cmd_batch(int argc, char **argv)
{
    return batch_main(argc, argv, 0);
}

int qib__cmd_run_case(int argc, char **argv)
{
    return batch_main(argc, argv, 1);
}

/* ---- the Slurm engine ---- */

/* @p s quoted for a POSIX shell. */
static void shq(FILE *f, const char *s)
{
    putc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", f);
        else
            putc(*s, f);
    }
    putc('\'', f);
}

/* Run @p argv; its standard output (at most @p max bytes, the rest read
 * and dropped) into *@p out, NUL-terminated (transfer full).  With @p quiet
 * its standard error goes to /dev/null.  Returns the exit status, or -1
 * (*@p out NULL) when no process could be started or memory ran out. */
static int capture_all(char *const argv[], int quiet, size_t max, char **out)
{
    *out = NULL;
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    if (!m)
        return -1;
    int fd[2];
    if (pipe(fd) != 0) {
        fclose(m);
        free(buf);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        fclose(m);
        free(buf);
        return -1;
    }
    if (pid == 0) {
        close(fd[0]);
        dup2(fd[1], 1);
        close(fd[1]);
        if (quiet) {
            int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
            if (nul >= 0)
                dup2(nul, 2);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "qib: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    size_t got = 0;
    for (;;) {
        char tmp[4096];
        ssize_t r = read(fd[0], tmp, sizeof tmp);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t k = got + (size_t)r <= max ? (size_t)r : max - got;
        if (k)
            fwrite(tmp, 1, k, m);
        got += k;
    }
    close(fd[0]);
    int bad = fclose(m) != 0;
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR) {
            free(buf);
            return -1;
        }
    if (bad) {
        free(buf);
        return -1;
    }
    *out = buf;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/* capture_all into a fixed buffer of @p len bytes. */
static int capture(char *const argv[], char *buf, size_t len)
{
    char *o;
    int st = capture_all(argv, 0, len - 1, &o);
    buf[0] = '\0';
    if (o) {
        snprintf(buf, len, "%s", o);
        free(o);
    }
    return st;
}

/* MaxArraySize from `scontrol show config` (Slurm's default 1001 when it
 * cannot be read): the largest array index plus one. */
static long slurm_max_array(void)
{
    char *argv[] = {"scontrol", "show", "config", NULL};
    char *buf = malloc(1 << 20);
    long v = 1001;
    if (buf && capture(argv, buf, 1 << 20) == 0) {
        const char *p = strstr(buf, "MaxArraySize");
        if (p && (p = strchr(p, '=')))
            v = strtol(p + 1, NULL, 10);
        if (v < 1)
            v = 1001;
    }
    free(buf);
    return v;
}

static int slurm_submit(struct batch *b, size_t nrun)
{
    char err[512];
    char *sdir = xasprintf("%s/slurm", b->out);
    char *logs = xasprintf("%s/slurm/logs", b->out);
    char outabs[PATH_MAX], pabs[PATH_MAX], cabs[PATH_MAX];
    int ex = QIB_EXIT_FAIL;
    if (!sdir || !logs || mkdir_p(logs) < 0 || !realpath(b->out, outabs) ||
        !realpath(b->pipeline, pabs) || !realpath(b->csvpath, cabs)) {
        fprintf(stderr, "qib batch: %s: %s\n", sdir ? sdir : b->out, strerror(errno));
        goto out;
    }
    if (!nrun) {
        if (!b->quiet)
            fprintf(stderr, "qib batch: every case is up to date; nothing submitted\n");
        ex = QIB_EXIT_OK;
        goto out;
    }
    /* The case list: task i of the array with offset K runs line K + i + 1. */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        goto out;
    for (size_t i = 0; i < b->ncases; i++) {
        if (b->cases[i].state != C_PENDING)
            continue;
        fprintf(f, "%s\n", b->cases[i].id);
        /* No stale record may stand for a task that has not run yet. */
        char *sp = xasprintf("%s/status.json", b->cases[i].dir);
        if (sp)
            unlink(sp);
        free(sp);
    }
    fclose(f);
    int rc = qib__write_file_atomic(sdir, "cases.txt", buf, len, err, sizeof err);
    free(buf);
    if (rc != QIB_OK) {
        fprintf(stderr, "qib batch: %s\n", err);
        goto out;
    }
    f = open_memstream(&buf, &len);
    if (!f)
        goto out;
    fprintf(f, "#!/bin/sh\n# Written by qib batch --engine slurm: one task per case of cases.txt.\n");
    fprintf(f, "#SBATCH --job-name=qib-%s\n", b->pl->name ? b->pl->name : "batch");
    fprintf(f, "#SBATCH --cpus-per-task=%ld\n", b->threads > 0 ? b->threads : 1);
    fprintf(f, "#SBATCH --output=%s/slurm/logs/%%A_%%a.out\n", outabs);
    fprintf(f, "set -eu\nid=$(sed -n \"$((${QIB_OFFSET:-0} + SLURM_ARRAY_TASK_ID + 1))p\" ");
    shq(f, outabs);
    fprintf(f, "/slurm/cases.txt)\n[ -n \"$id\" ] || { echo \"no case for task $SLURM_ARRAY_TASK_ID\" >&2; exit 2; }\n");
    fprintf(f, "exec ");
    shq(f, b->exe);
    fprintf(f, " run-case ");
    shq(f, pabs);
    putc(' ', f);
    shq(f, cabs);
    fprintf(f, " --out ");
    shq(f, outabs);
    fprintf(f, " --case \"$id\" --threads %ld", b->threads);
    for (size_t k = 0; k < b->ngparams; k++) {
        char *kv = xasprintf("%s=%s", b->gparams[k].name, b->gparams[k].value);
        if (!kv) {
            fclose(f);
            free(buf);
            goto out;
        }
        fprintf(f, " -p ");
        shq(f, kv);
        free(kv);
    }
    fprintf(f, "\n");
    fclose(f);
    rc = qib__write_file_atomic(sdir, "array.sbatch", buf, len, err, sizeof err);
    free(buf);
    if (rc != QIB_OK) {
        fprintf(stderr, "qib batch: %s\n", err);
        goto out;
    }
    long maxa = b->max_array ? b->max_array : slurm_max_array();
    char *script = xasprintf("%s/slurm/array.sbatch", outabs);
    /* jobs.txt: the job ids, comma-separated (what squeue -j takes);
     * arrays.tsv: each array's job id, offset and task count, so that a
     * task id maps back to its line of cases.txt (qib status). */
    char *abuf = NULL;
    size_t alen = 0;
    FILE *jobs = open_memstream(&buf, &len);
    FILE *arrays = jobs ? open_memstream(&abuf, &alen) : NULL;
    if (!script || !jobs || !arrays) {
        if (jobs)
            fclose(jobs);
        free(buf);
        free(script);
        goto out;
    }
    fprintf(arrays, "job\toffset\tcount\n");
    size_t narrays = 0;
    int failed = 0;
    for (size_t off = 0; off < nrun; off += (size_t)maxa) {
        size_t m = nrun - off < (size_t)maxa ? nrun - off : (size_t)maxa;
        char arr[64], exp[64], out[256];
        snprintf(arr, sizeof arr, "--array=0-%zu", m - 1);
        snprintf(exp, sizeof exp, "--export=ALL,QIB_OFFSET=%zu", off);
        const char **av = calloc(8 + b->nsbatch_args, sizeof *av);
        if (!av) {
            failed = 1;
            break;
        }
        size_t n = 0;
        av[n++] = "sbatch";
        av[n++] = "--parsable";
        av[n++] = arr;
        av[n++] = exp;
        for (size_t q = 0; q < b->nsbatch_args; q++)
            av[n++] = b->sbatch_args[q];
        av[n++] = script;
        av[n] = NULL;
        int st = capture((char *const *)av, out, sizeof out);
        free(av);
        out[strcspn(out, ";\n")] = '\0';
        if (st != 0 || !out[0]) {
            fprintf(stderr, "qib batch: sbatch failed (exit status %d) for cases %zu to %zu\n", st,
                    off + 1, off + m);
            failed = 1;
            break;
        }
        fprintf(jobs, "%s%s", narrays ? "," : "", out);
        fprintf(arrays, "%s\t%zu\t%zu\n", out, off, m);
        narrays++;
        if (!b->quiet)
            fprintf(stderr, "qib batch: submitted job array %s: %zu case%s (from %zu)\n", out, m,
                    m == 1 ? "" : "s", off + 1);
    }
    fclose(jobs);
    fclose(arrays);
    free(script);
    /* What was submitted is recorded even when a later sbatch failed: those
     * arrays run. */
    rc = narrays || !failed ? qib__write_file_atomic(sdir, "jobs.txt", buf, len, err, sizeof err)
                            : QIB_OK;
    if (rc == QIB_OK && (narrays || !failed))
        rc = qib__write_file_atomic(sdir, "arrays.tsv", abuf, alen, err, sizeof err);
    if (rc == QIB_OK && !failed) {
        ex = QIB_EXIT_OK;
        if (!b->quiet && !b->wait)
            fprintf(stderr, "qib batch: %zu case%s submitted in %zu array%s (%s); `qib status %s` "
                    "follows them\n", nrun, nrun == 1 ? "" : "s", narrays, narrays == 1 ? "" : "s",
                    buf, b->out);
    } else if (rc != QIB_OK) {
        fprintf(stderr, "qib batch: %s\n", err);
    }
    free(buf);
    free(abuf);
out:
    free(sdir);
    free(logs);
    return ex;
}

/* ---- what Slurm says about cases that wrote no status.json ----
 * A case's status.json is the record of its result; a task that Slurm
 * killed (time or memory limit, scancel, a node failure) or never started
 * writes none.  For those cases only, sacct (when accounting works) or else
 * scontrol (which keeps finished jobs for MinJobAge) says what happened.
 * DIR/slurm/cases.txt lists the submitted cases; DIR/slurm/arrays.tsv gives
 * each array's job id, offset in cases.txt and task count (directories
 * written before it existed have only jobs.txt, the job ids). */

/* Slurm's job states and the word qib status shows for them. */
static const struct {
    const char *state;
    const char *word;
} slurm_words[] = {
    {"PENDING", "pending"},       {"REQUEUED", "pending"},     {"REQUEUE_HOLD", "pending"},
    {"REQUEUE_FED", "pending"},   {"RESV_DEL_HOLD", "pending"}, {"RUNNING", "running"},
    {"CONFIGURING", "running"},   {"COMPLETING", "running"},   {"STAGE_OUT", "running"},
    {"SIGNALING", "running"},     {"RESIZING", "running"},     {"SUSPENDED", "suspended"},
    {"STOPPED", "suspended"},     {"TIMEOUT", "timeout"},      {"OUT_OF_MEMORY", "out of memory"},
    {"CANCELLED", "cancelled"},   {"NODE_FAIL", "node failure"}, {"PREEMPTED", "preempted"},
    {"BOOT_FAIL", "boot failure"}, {"DEADLINE", "deadline"},   {"FAILED", "failed"},
    {"COMPLETED", "failed"},
};

/* The words of the summary line beyond ok, failed and interrupted, in order. */
static const char *const slurm_counted[] = {
    "pending", "running", "suspended", "timeout", "out of memory", "cancelled",
    "node failure", "preempted", "boot failure", "deadline", "unknown",
};
#define NCOUNTED (sizeof slurm_counted / sizeof slurm_counted[0])

/* One submitted array. */
struct sarray {
    char *id;
    size_t off, count;
    int known;         /* off and count known */
};

/* One line of Slurm's answer: a job, or the tasks of an array job. */
struct srec {
    char *job;         /* the array job id */
    char *tasks;       /* task ids: "3", "0-3", "[4-7%2]", "1,3-5:2" */
    char *state;       /* e.g. "TIMEOUT", "CANCELLED by 0" */
    char *exitc;       /* "0:15" */
    char *elapsed;     /* "[D-]HH:MM:SS" */
    char *reason;      /* scontrol only */
    int sacct;         /* from sacct (accounting keeps every task that ran) */
};

/* What is known of one case. */
struct sinfo {
    int need;          /* 1: it wrote no status.json; 2: its status.json says
                        * interrupted, in array task job_task of Slurm */
    char job[32];
    long line;         /* its line of cases.txt, -1: not submitted */
    long arr;          /* its array, -1: unknown */
    unsigned long task;
    const char *word;  /* the state in qib's words; NULL: Slurm said nothing */
    char note[256];
    double wall;       /* seconds; < 0 unknown */
};

struct sview {
    char *cases_buf;
    char **lines;
    size_t nlines;
    struct sarray *arr;
    size_t narr;
    struct srec *rec;
    size_t nrec, caprec;
    long stride;       /* cases per array (directories without arrays.tsv), 0 unknown */
};

/* Whether task @p t is in the task list @p spec; *@p max (when not NULL)
 * gets the largest task id of the list. */
static int task_in(const char *spec, unsigned long t, unsigned long *max)
{
    const char *p = spec + (*spec == '[');
    int in = 0;
    while (*p && *p != ']' && *p != '%') {
        char *e;
        errno = 0;
        unsigned long a = strtoul(p, &e, 10), b, step = 1;
        if (e == p || errno)
            break;
        b = a;
        if (*e == '-') {
            p = e + 1;
            b = strtoul(p, &e, 10);
            if (e == p || errno || b < a)
                break;
        }
        if (*e == ':') {
            p = e + 1;
            step = strtoul(p, &e, 10);
            if (e == p || errno || !step)
                break;
        }
        if (t >= a && t <= b && (t - a) % step == 0)
            in = 1;
        if (max && b > *max)
            *max = b;
        p = e + (*e == ',');
        if (*e != ',' && *e != ']' && *e != '%' && *e)
            break;
    }
    return in;
}

/* Seconds from Slurm's [D-][HH:]MM:SS; -1 when it is not one. */
static double slurm_secs(const char *s)
{
    if (!s || !*s)
        return -1;
    long v[4] = {0, 0, 0, 0};
    int nv = 0;
    long days = 0;
    const char *p = s;
    char *e;
    const char *dash = strchr(s, '-');
    if (dash) {
        days = strtol(s, &e, 10);
        if (e != dash)
            return -1;
        p = dash + 1;
    }
    while (nv < 3) {
        errno = 0;
        v[nv++] = strtol(p, &e, 10);
        if (e == p || errno || v[nv - 1] < 0)
            return -1;
        if (*e != ':')
            break;
        p = e + 1;
    }
    if (*e)
        return -1;
    double sec = 0;
    for (int i = 0; i < nv; i++)
        sec = sec * 60 + (double)v[i];
    return sec + (double)days * 86400;
}

static void sview_free(struct sview *v)
{
    free(v->cases_buf);
    free(v->lines);
    for (size_t i = 0; i < v->narr; i++)
        free(v->arr[i].id);
    free(v->arr);
    for (size_t i = 0; i < v->nrec; i++) {
        free(v->rec[i].job);
        free(v->rec[i].tasks);
        free(v->rec[i].state);
        free(v->rec[i].exitc);
        free(v->rec[i].elapsed);
        free(v->rec[i].reason);
    }
    free(v->rec);
    memset(v, 0, sizeof *v);
}

/* Split @p buf into its lines in place (CR LF or LF; empty lines dropped). */
static int split_lines(char *buf, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    for (char *p = buf; *p;) {
        char *e = p + strcspn(p, "\n");
        int last = !*e;
        *e = '\0';
        if (e > p && e[-1] == '\r')
            e[-1] = '\0';
        if (*p) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 64;
                char **nv = realloc(*out, cap * sizeof *nv);
                if (!nv) {
                    free(*out);
                    *out = NULL;
                    *n = 0;
                    return -1;
                }
                *out = nv;
            }
            (*out)[(*n)++] = p;
        }
        if (last)
            break;
        p = e + 1;
    }
    return 0;
}

/* The submitted arrays: arrays.tsv, else the job ids of jobs.txt with the
 * offsets found later.  Returns -1 when there is no record of a submission. */
static int read_arrays(const char *dir, struct sview *v)
{
    char *p = xasprintf("%s/slurm/arrays.tsv", dir), *buf = NULL;
    size_t len;
    int rc = p ? qib__slurp(p, 16u << 20, &buf, &len) : QIB_ENOMEM;
    free(p);
    if (rc == QIB_OK) {
        char **l;
        size_t nl;
        if (split_lines(buf, &l, &nl) < 0) {
            free(buf);
            return -1;
        }
        v->arr = calloc(nl + 1, sizeof *v->arr);
        for (size_t i = 0; v->arr && i < nl; i++) {
            char id[64];
            unsigned long off, cnt;
            int used = 0;
            if (sscanf(l[i], "%63s %lu %lu%n", id, &off, &cnt, &used) != 3 || l[i][used] ||
                off > v->nlines || cnt > v->nlines - off || !cnt)
                continue; /* the header, or a line not written by qib */
            struct sarray *a = &v->arr[v->narr];
            if (!(a->id = strdup(id)))
                break;
            a->off = off;
            a->count = cnt;
            a->known = 1;
            v->narr++;
        }
        free(l);
        free(buf);
        if (!v->arr)
            return -1;
        if (v->narr)
            return 0;
        free(v->arr); /* nothing usable in it: jobs.txt */
        v->arr = NULL;
    }
    p = xasprintf("%s/slurm/jobs.txt", dir);
    rc = p ? qib__slurp(p, 16u << 20, &buf, &len) : QIB_ENOMEM;
    free(p);
    if (rc != QIB_OK)
        return -1;
    size_t nj = 1;
    for (char *c = buf; *c; c++)
        nj += *c == ',';
    v->arr = calloc(nj, sizeof *v->arr);
    char *save = NULL;
    for (char *t = v->arr ? strtok_r(buf, ",\r\n ", &save) : NULL; t;
         t = strtok_r(NULL, ",\r\n ", &save)) {
        if (!(v->arr[v->narr].id = strdup(t)))
            break;
        v->narr++;
    }
    free(buf);
    /* One array: every case.  Several: each full but the last, whose size
     * (MaxArraySize then) was not recorded. */
    if (v->narr == 1) {
        v->arr[0].count = v->nlines;
        v->arr[0].known = 1;
    }
    return v->arr ? 0 : -1;
}

/* Directories without arrays.tsv and with several arrays: the cases per
 * array, from a status.json that records its array job and task (exact),
 * else from the largest task id Slurm knows of the first array. */
static void find_stride(const char *dir, struct sview *v, int ask_records)
{
    if (v->stride || v->narr < 2 || (v->arr[0].known && v->arr[1].known))
        return;
    long s = 0;
    for (size_t L = 0; !ask_records && !s && L < v->nlines; L++) {
        char *p = xasprintf("%s/cases/%s/status.json", dir, v->lines[L]);
        struct qib__jv j;
        char err[256];
        if (p && !qib__case_id_problem(v->lines[L]) &&
            qib__json_read(p, &j, err, sizeof err) == QIB_OK) {
            const struct qib__jv *sl = qib__jv_get(&j, "slurm");
            const char *aj = qib__jv_str(sl, "array_job_id");
            const char *at = qib__jv_str(sl, "array_task_id");
            for (size_t k = 1; aj && at && k < v->narr; k++) {
                char *e;
                unsigned long t = strtoul(at, &e, 10);
                if (strcmp(v->arr[k].id, aj) == 0 && !*e && t <= L && (L - t) % k == 0)
                    s = (long)((L - t) / k);
            }
            qib__jv_free(&j);
        }
        free(p);
    }
    for (size_t r = 0; ask_records && r < v->nrec; r++) {
        unsigned long mx = 0;
        if (strcmp(v->rec[r].job, v->arr[0].id) == 0) {
            task_in(v->rec[r].tasks, 0, &mx);
            if ((long)mx + 1 > s)
                s = (long)mx + 1;
        }
    }
    /* Consistent with the count of arrays: all but the last full. */
    if (s <= 0 || (size_t)s * (v->narr - 1) >= v->nlines || (size_t)s * v->narr < v->nlines)
        return;
    v->stride = s;
    for (size_t k = 0; k < v->narr; k++) {
        v->arr[k].off = (size_t)s * k;
        v->arr[k].count = k + 1 < v->narr ? (size_t)s : v->nlines - (size_t)s * k;
        v->arr[k].known = 1;
    }
}

/* Each needed case's array and task. */
static void map_cases(struct sview *v, struct sinfo *si, long n)
{
    for (long i = 0; i < n; i++) {
        if (!si[i].need || si[i].line < 0 || si[i].arr >= 0)
            continue;
        size_t L = (size_t)si[i].line;
        for (size_t k = 0; k < v->narr; k++)
            if (v->arr[k].known && L >= v->arr[k].off && L - v->arr[k].off < v->arr[k].count) {
                si[i].arr = (long)k;
                si[i].task = (unsigned long)(L - v->arr[k].off);
            }
    }
}

static struct srec *new_rec(struct sview *v)
{
    if (v->nrec == v->caprec) {
        size_t nc = v->caprec ? v->caprec * 2 : 16;
        struct srec *nr = realloc(v->rec, nc * sizeof *nr);
        if (!nr)
            return NULL;
        v->rec = nr;
        v->caprec = nc;
    }
    struct srec *r = &v->rec[v->nrec++];
    memset(r, 0, sizeof *r);
    return r;
}

/* sacct -n -P -X -o JobID,State,ExitCode,Elapsed: "12_3|TIMEOUT|0:0|00:01:00". */
static void parse_sacct(struct sview *v, char *out)
{
    char **l;
    size_t nl;
    if (split_lines(out, &l, &nl) < 0)
        return;
    for (size_t i = 0; i < nl; i++) {
        char *f[4];
        char *p = l[i];
        size_t k;
        for (k = 0; k < 4 && p; k++) {
            f[k] = p;
            p = strchr(p, '|');
            if (p)
                *p++ = '\0';
        }
        char *us = k == 4 ? strchr(f[0], '_') : NULL;
        if (!us)
            continue; /* not an array task */
        *us = '\0';
        struct srec *r = new_rec(v);
        if (!r)
            break;
        r->job = strdup(f[0]);
        r->tasks = strdup(us + 1);
        r->state = strdup(f[1]);
        r->exitc = strdup(f[2]);
        r->elapsed = strdup(f[3]);
        r->sacct = 1;
        if (!r->job || !r->tasks || !r->state || !r->exitc || !r->elapsed) {
            free(r->job);
            free(r->tasks);
            free(r->state);
            free(r->exitc);
            free(r->elapsed);
            v->nrec--;
            break;
        }
    }
    free(l);
}

/* The value of KEY=VALUE in a line of `scontrol -o show job` (the fields
 * are separated by spaces), strdup'ed; NULL when absent. */
static char *sc_field(const char *line, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = line; (p = strstr(p, key)); p += kl) {
        if ((p == line || p[-1] == ' ') && p[kl] == '=')
            return strndup(p + kl + 1, strcspn(p + kl + 1, " \n"));
    }
    return NULL;
}

static void parse_scontrol(struct sview *v, char *out)
{
    char **l;
    size_t nl;
    if (split_lines(out, &l, &nl) < 0)
        return;
    for (size_t i = 0; i < nl; i++) {
        char *job = sc_field(l[i], "ArrayJobId"), *tasks = sc_field(l[i], "ArrayTaskId");
        struct srec *r = job && tasks ? new_rec(v) : NULL;
        if (!r) {
            free(job);
            free(tasks);
            continue;
        }
        r->job = job;
        r->tasks = tasks;
        r->state = sc_field(l[i], "JobState");
        r->exitc = sc_field(l[i], "ExitCode");
        r->elapsed = sc_field(l[i], "RunTime");
        r->reason = sc_field(l[i], "Reason");
        if (!r->state) {
            free(r->job);
            free(r->tasks);
            free(r->exitc);
            free(r->elapsed);
            free(r->reason);
            v->nrec--;
        }
    }
    free(l);
}

/* The case's state and note from record @p r. */
static void explain(struct sinfo *s, const struct sarray *a, const struct srec *r)
{
    size_t wl = strspn(r->state, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
    s->word = "unknown";
    for (size_t k = 0; k < sizeof slurm_words / sizeof slurm_words[0]; k++)
        if (strlen(slurm_words[k].state) == wl && strncmp(slurm_words[k].state, r->state, wl) == 0)
            s->word = slurm_words[k].word;
    double el = slurm_secs(r->elapsed);
    int pending = strcmp(s->word, "pending") == 0, running = strcmp(s->word, "running") == 0;
    s->wall = pending || el <= 0 ? -1 : el;
    int failed = wl == 6 && strncmp(r->state, "FAILED", 6) == 0;
    int done = wl == 9 && strncmp(r->state, "COMPLETED", 9) == 0;
    char *b = s->note;
    size_t n = sizeof s->note;
    int w = snprintf(b, n, "(slurm job %s_%lu: %s", a->id, s->task, r->state);
    if (w > 0 && (size_t)w < n && el > 0 && !pending)
        w += snprintf(b + w, n - (size_t)w, " %s %s", running ? "for" : "after", r->elapsed);
    if (w > 0 && (size_t)w < n && (failed || done) && r->exitc)
        w += snprintf(b + w, n - (size_t)w, ", exit code %s", r->exitc);
    if (w > 0 && (size_t)w < n && pending && r->reason && strcmp(r->reason, "None") != 0)
        w += snprintf(b + w, n - (size_t)w, ", reason %s", r->reason);
    if (w > 0 && (size_t)w < n && done)
        w += snprintf(b + w, n - (size_t)w, ", but the case wrote no status.json");
    if (w > 0 && (size_t)w < n)
        snprintf(b + w, n - (size_t)w, ")");
}

/* Match the records to the needed cases not explained yet. */
static void match_records(struct sview *v, struct sinfo *si, long n)
{
    for (long i = 0; i < n; i++) {
        if (!si[i].need || si[i].arr < 0 || si[i].word)
            continue;
        const struct sarray *a = &v->arr[si[i].arr];
        for (size_t r = 0; r < v->nrec; r++)
            if (strcmp(v->rec[r].job, a->id) == 0 && task_in(v->rec[r].tasks, si[i].task, NULL)) {
                explain(&si[i], a, &v->rec[r]);
                break;
            }
    }
}

/* Whether array @p k should be asked about: a needed case is in it not yet
 * explained, or (offsets unknown) any needed case is. */
static int array_wanted(const struct sview *v, const struct sinfo *si, long n, size_t k)
{
    for (long i = 0; i < n; i++)
        if (si[i].need && si[i].line >= 0 && !si[i].word &&
            (si[i].arr == (long)k || (si[i].arr < 0 && !v->arr[k].known) ||
             (si[i].arr < 0 && k == 0)))
            return 1;
    return 0;
}

/* Fill si[0..n) for the cases @p ids of cohort directory @p dir; si[i].need
 * is set by the caller.  Cases that were not submitted keep line -1. */
static void slurm_explain(const char *dir, char *const *ids, long n, struct sinfo *si)
{
    struct sview v;
    memset(&v, 0, sizeof v);
    long nneed = 0;
    long ninter = 0;
    for (long i = 0; i < n; i++) {
        si[i].line = si[i].arr = -1;
        si[i].word = NULL;
        si[i].note[0] = '\0';
        si[i].wall = -1;
        nneed += si[i].need == 1 && ids[i];
        ninter += si[i].need == 2;
    }
    if (!nneed && !ninter)
        return;
    char *p = xasprintf("%s/slurm/cases.txt", dir);
    size_t len;
    int rc = p ? qib__slurp(p, 256u << 20, &v.cases_buf, &len) : QIB_ENOMEM;
    free(p);
    if (rc != QIB_OK || split_lines(v.cases_buf, &v.lines, &v.nlines) < 0 ||
        read_arrays(dir, &v) < 0 || (!v.narr && !ninter)) {
        sview_free(&v);
        return;
    }
    for (long i = 0; i < n; i++)
        for (size_t L = 0; si[i].need == 1 && ids[i] && L < v.nlines; L++)
            if (strcmp(v.lines[L], ids[i]) == 0) {
                si[i].line = (long)L;
                break;
            }
    /* An interrupted case names its array job itself. */
    for (long i = 0; i < n; i++) {
        if (si[i].need != 2)
            continue;
        size_t k;
        for (k = 0; k < v.narr && strcmp(v.arr[k].id, si[i].job) != 0; k++)
            ;
        if (k == v.narr) {
            struct sarray *na = realloc(v.arr, (v.narr + 1) * sizeof *na);
            if (!na || !(na[k].id = strdup(si[i].job))) {
                if (na)
                    v.arr = na;
                continue;
            }
            v.arr = na;
            na[k].off = na[k].count = 0;
            na[k].known = 0;
            v.narr++;
        }
        si[i].arr = (long)k;
        si[i].line = 0;
    }
    find_stride(dir, &v, 0);
    map_cases(&v, si, n);
    /* sacct first (it keeps every job), then scontrol for what it did not
     * know (no accounting, or the record not written yet). */
    char *list = NULL;
    size_t ll = 0;
    FILE *f = open_memstream(&list, &ll);
    size_t nq = 0;
    for (size_t k = 0; f && k < v.narr; k++)
        if (array_wanted(&v, si, n, k))
            fprintf(f, "%s%s", nq++ ? "," : "", v.arr[k].id);
    if (f)
        fclose(f);
    if (list && nq) {
        char *argv[] = {"sacct", "-n", "-P", "-X", "-j", list, "-o",
                        "JobID,State,ExitCode,Elapsed", NULL};
        char *out = NULL;
        if (capture_all(argv, 1, 64u << 20, &out) == 0 && out)
            parse_sacct(&v, out);
        free(out);
        find_stride(dir, &v, 1);
        map_cases(&v, si, n);
        match_records(&v, si, n);
    }
    free(list);
    int deaf = 0;
    for (size_t k = 0; nq && !deaf && k < v.narr; k++) {
        if (!array_wanted(&v, si, n, k))
            continue;
        char *argv[] = {"scontrol", "-o", "show", "job", v.arr[k].id, NULL};
        char *out = NULL;
        double t0 = now_mono();
        int st = capture_all(argv, 1, 64u << 20, &out);
        if (st == 0 && out)
            parse_scontrol(&v, out);
        /* An unknown job is refused at once; a controller that does not
         * answer makes scontrol retry for many seconds: ask no more. */
        deaf = st != 0 && now_mono() - t0 > 5;
        free(out);
        find_stride(dir, &v, 1);
        map_cases(&v, si, n);
        match_records(&v, si, n);
    }
    for (long i = 0; i < n; i++) {
        /* An interrupted case keeps its word unless Slurm stopped it. */
        static const char *const kills[] = {"timeout", "out of memory", "cancelled",
                                            "node failure", "preempted", "deadline"};
        size_t q;
        for (q = 0; si[i].need == 2 && si[i].word && q < sizeof kills / sizeof kills[0]; q++)
            if (strcmp(si[i].word, kills[q]) == 0)
                break;
        if (si[i].need == 2 && q == sizeof kills / sizeof kills[0]) {
            si[i].word = NULL;
            si[i].note[0] = '\0';
        }
        if (si[i].need != 1 || si[i].line < 0 || si[i].word)
            continue;
        /* Slurm knows the array but not the task.  A pending task cancelled
         * on its own leaves no record of its own; when every pending task
         * went that way, the array's record says CANCELLED with no task
         * (4294967294).  Otherwise the task may also have ended longer ago
         * than MinJobAge. */
        int known = 0, cancelled = 0, accounted = 0;
        for (size_t r = 0; si[i].arr >= 0 && r < v.nrec; r++) {
            if (strcmp(v.rec[r].job, v.arr[si[i].arr].id) != 0)
                continue;
            known = 1;
            accounted |= v.rec[r].sacct;
            cancelled |= strncmp(v.rec[r].state, "CANCELLED", 9) == 0 &&
                         (strcmp(v.rec[r].tasks, "4294967294") == 0 ||
                          strcmp(v.rec[r].tasks, "N/A") == 0);
        }
        if (cancelled) {
            si[i].word = "cancelled";
            snprintf(si[i].note, sizeof si[i].note,
                     "(slurm job %s_%lu: CANCELLED before it started)", v.arr[si[i].arr].id,
                     si[i].task);
        } else if (accounted) {
            /* Accounting keeps every task that started. */
            si[i].word = "cancelled";
            snprintf(si[i].note, sizeof si[i].note, "(slurm job %s_%lu: cancelled before it "
                     "started: the accounting of job %s has no record of the task)",
                     v.arr[si[i].arr].id, si[i].task, v.arr[si[i].arr].id);
        } else if (known) {
            snprintf(si[i].note, sizeof si[i].note, "(slurm: job %s lists no task %lu: cancelled "
                     "before it started, or ended longer ago than MinJobAge)",
                     v.arr[si[i].arr].id, si[i].task);
        } else if (si[i].arr >= 0) {
            snprintf(si[i].note, sizeof si[i].note, "(slurm: %s job %s_%lu)",
                     deaf ? "no answer from the controller about" : "no record of",
                     v.arr[si[i].arr].id, si[i].task);
        } else {
            snprintf(si[i].note, sizeof si[i].note, "(slurm: no record of its array task; "
                     "slurm/arrays.tsv is missing)");
        }
    }
    sview_free(&v);
}

/* Poll squeue until the submitted arrays left the queue, then read every
 * submitted case's status.json: a task that wrote none failed. */
static int slurm_wait(struct batch *b)
{
    char *path = xasprintf("%s/slurm/jobs.txt", b->out);
    char *ids = NULL;
    size_t len;
    int rc = path ? qib__slurp(path, 1 << 20, &ids, &len) : QIB_ENOMEM;
    free(path);
    if (rc != QIB_OK)
        return QIB_EXIT_FAIL;
    char *out = malloc(1 << 16);
    double t0 = now_mono();
    while (out) {
        char *argv[] = {"squeue", "-h", "-j", ids, "-o", "%i %T", NULL};
        int st = capture(argv, out, 1 << 16);
        /* squeue fails on job ids it has forgotten: nothing left. */
        if (st != 0 || !out[strspn(out, " \n")])
            break;
        if (!b->quiet && isatty(2)) {
            char el[32];
            fmt_dur(now_mono() - t0, el);
            size_t n = 0;
            for (char *p = out; *p; p++)
                n += *p == '\n';
            fprintf(stderr, "\rqib batch: %zu task%s queued or running; %s elapsed\033[K", n,
                    n == 1 ? "" : "s", el);
        }
        struct timespec nap = {1, 0};
        nanosleep(&nap, NULL);
    }
    if (!b->quiet && isatty(2))
        fprintf(stderr, "\n");
    free(out);
    free(ids);
    /* What Slurm says of the cases that wrote no status.json. */
    char **cid = calloc(b->ncases + 1, sizeof *cid);
    struct sinfo *si = cid ? calloc(b->ncases + 1, sizeof *si) : NULL;
    for (size_t i = 0; si && i < b->ncases; i++) {
        char *sp = xasprintf("%s/status.json", b->cases[i].dir);
        cid[i] = (char *)b->cases[i].id;
        si[i].need = b->cases[i].state == C_PENDING && sp && access(sp, F_OK) != 0;
        free(sp);
    }
    if (si)
        slurm_explain(b->out, cid, (long)b->ncases, si);
    size_t nok = 0, nfail = 0;
    for (size_t i = 0; i < b->ncases; i++) {
        struct ccase *c = &b->cases[i];
        if (c->state != C_PENDING)
            continue;
        char *sp = xasprintf("%s/status.json", c->dir);
        struct qib__jv j;
        char err[256];
        const char *st = NULL;
        int have = sp && qib__json_read(sp, &j, err, sizeof err) == QIB_OK;
        free(sp);
        if (have)
            st = qib__jv_str(&j, "status");
        if (st && strcmp(st, "ok") == 0) {
            nok++;
        } else {
            nfail++;
            if (!b->quiet && !have && si && si[i].word) {
                fprintf(stderr, "qib batch: case %s %s %s (see slurm/logs/)\n", c->id, si[i].word,
                        si[i].note);
            } else if (!b->quiet) {
                const char *m = have ? qib__jv_str(&j, "error") : NULL;
                fprintf(stderr, "qib batch: case %s %s%s%.*s\n", c->id,
                        st ? st : "wrote no status.json (see slurm/logs/)", m ? ": " : "",
                        m ? (int)strcspn(m, "\n") : 0, m ? m : "");
            }
        }
        if (have)
            qib__jv_free(&j);
    }
    free(si);
    free(cid);
    if (!b->quiet)
        fprintf(stderr, "qib batch: %zu ok, %zu failed; `qib status %s` lists them\n", nok, nfail,
                b->out);
    return nfail ? QIB_EXIT_FAIL : QIB_EXIT_OK;
}

/* ------------------------------------------------------------------------
 * qib status and qib gather: the cases of a cohort directory
 * ------------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The case identifiers of DIR: batch.json's order, else DIR/cases/ sorted.
 * Returns the count, or -1 with a message. */
static long list_cases(const char *cmd, const char *dir, char ***out)
{
    *out = NULL;
    char *p = xasprintf("%s/batch.json", dir);
    struct qib__jv j;
    char err[256];
    if (p && qib__json_read(p, &j, err, sizeof err) == QIB_OK) {
        free(p);
        const struct qib__jv *c = qib__jv_get(&j, "cases");
        long n = -1;
        if (c && c->type == QIB__JARR) {
            *out = calloc(c->n + 1, sizeof **out);
            n = *out ? 0 : -1;
            for (size_t i = 0; *out && i < c->n; i++)
                if (c->items[i].type == QIB__JSTR && !qib__case_id_problem(c->items[i].s))
                    (*out)[n++] = strdup(c->items[i].s);
        } else {
            fprintf(stderr, "qib %s: %s/batch.json: no \"cases\" list\n", cmd, dir);
        }
        qib__jv_free(&j);
        return n;
    }
    free(p);
    p = xasprintf("%s/cases", dir);
    DIR *dd = p ? opendir(p) : NULL;
    if (!dd) {
        fprintf(stderr, "qib %s: %s: not a cohort directory (no batch.json, no cases/): %s\n", cmd,
                dir, strerror(errno));
        free(p);
        return -1;
    }
    free(p);
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dd))) {
        if (qib__case_id_problem(e->d_name))
            continue;
        if (n + 1 >= cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = realloc(*out, cap * sizeof *nv);
            if (!nv)
                break;
            *out = nv;
        }
        (*out)[n++] = strdup(e->d_name);
    }
    closedir(dd);
    if (n)
        qsort(*out, n, sizeof **out, cmp_str);
    return (long)n;
}

static void free_list(char **v, long n)
{
    for (long i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* For each case of @p ids: whether it wrote no status.json (si[i].need),
 * then what Slurm says about those (all zero when DIR has no slurm/).
 * NULL when out of memory. */
static struct sinfo *cases_slurm(const char *dir, char *const *ids, long n)
{
    struct sinfo *si = calloc((size_t)n + 1, sizeof *si);
    if (!si)
        return NULL;
    for (long i = 0; i < n; i++) {
        char *p = ids[i] ? xasprintf("%s/cases/%s/status.json", dir, ids[i]) : NULL;
        struct qib__jv j;
        char err[256];
        si[i].need = p && access(p, F_OK) != 0;
        /* A case Slurm stopped (time limit, scancel) with SIGTERM has
         * stopped cleanly: its status.json says interrupted, and Slurm
         * says why. */
        if (p && !si[i].need && qib__json_read(p, &j, err, sizeof err) == QIB_OK) {
            const char *st = qib__jv_str(&j, "status");
            const struct qib__jv *sl = qib__jv_get(&j, "slurm");
            const char *aj = qib__jv_str(sl, "array_job_id");
            const char *at = qib__jv_str(sl, "array_task_id");
            char *e = NULL;
            unsigned long t = at ? strtoul(at, &e, 10) : 0;
            if (st && strcmp(st, "interrupted") == 0 && aj && strlen(aj) < sizeof si[i].job &&
                !strchr(aj, ',') && at && *at && e && !*e) {
                si[i].need = 2;
                snprintf(si[i].job, sizeof si[i].job, "%s", aj);
                si[i].task = t;
            }
            qib__jv_free(&j);
        }
        free(p);
    }
    slurm_explain(dir, ids, n, si);
    return si;
}

int qib__cmd_status(int argc, char **argv)
{
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: qib status DIR\n"
                   "\n"
                   "Summarise a cohort directory made by `qib batch`: one line per case with\n"
                   "its status (ok, failed, interrupted, not run), wall time and, for a failed\n"
                   "case, the last line of its error; then the counts.\n"
                   "\n"
                   "A case run with --engine slurm that wrote no status.json is looked up in\n"
                   "Slurm (`sacct` when accounting works, else `scontrol show job`, which\n"
                   "forgets finished jobs after MinJobAge): its status is then Slurm's state\n"
                   "-- pending, running, suspended, timeout, out of memory, cancelled, node\n"
                   "failure, preempted, boot failure, deadline or failed -- with the job,\n"
                   "e.g. \"timeout  (slurm job 12_3: TIMEOUT after 00:01:00)\".  When Slurm has\n"
                   "no record of the task, it stays \"not run\" with \"(slurm: no record of\n"
                   "job 12_3)\".  A case stopped by a time limit or scancel may have stopped\n"
                   "cleanly (its status.json says interrupted): Slurm's state replaces\n"
                   "\"interrupted\" when Slurm stopped it.\n"
                   "\n"
                   "Exit status: 0 every case ok, 1 some case is not ok, 2 usage error.\n");
            return QIB_EXIT_OK;
        }
        if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "qib status: unexpected argument \"%s\"\nusage: qib status DIR\n", argv[i]);
            return QIB_EXIT_USAGE;
        }
        dir = argv[i];
    }
    if (!dir) {
        fprintf(stderr, "usage: qib status DIR\n");
        return QIB_EXIT_USAGE;
    }
    char **ids;
    long n = list_cases("status", dir, &ids);
    if (n < 0)
        return QIB_EXIT_USAGE;
    struct sinfo *si = cases_slurm(dir, ids, n);
    if (!si) {
        fprintf(stderr, "qib status: out of memory\n");
        free_list(ids, n);
        return QIB_EXIT_FAIL;
    }
    size_t nok = 0, nfail = 0, nint = 0, nnot = 0, nsl[NCOUNTED] = {0};
    int w = 4, ws = 11;
    for (long i = 0; i < n; i++) {
        if (ids[i] && (int)strlen(ids[i]) > w)
            w = (int)strlen(ids[i]);
        if (si[i].word && (int)strlen(si[i].word) > ws)
            ws = (int)strlen(si[i].word);
    }
    printf("%-*s  %-*s %9s  %s\n", w, "case", ws, "status", "wall", "error");
    for (long i = 0; i < n; i++) {
        if (!ids[i])
            continue;
        char *p = xasprintf("%s/cases/%s/status.json", dir, ids[i]);
        struct qib__jv j;
        char err[256];
        const char *st = "not run", *msg = si[i].note;
        char wall[32] = "-";
        int have = p && qib__json_read(p, &j, err, sizeof err) == QIB_OK;
        free(p);
        if (have) {
            const char *s = qib__jv_str(&j, "status");
            st = s ? s : "?";
            const char *m = qib__jv_str(&j, "error");
            msg = m ? m : "";
            const struct qib__jv *wsec = qib__jv_get(&j, "wall_seconds");
            if (wsec && wsec->type == QIB__JNUM)
                snprintf(wall, sizeof wall, "%.1f s", wsec->num);
        }
        int slurm_st = si[i].word && (!have || si[i].need == 2);
        if (slurm_st) {
            st = si[i].word;
            msg = si[i].note;
            if (!have && si[i].wall >= 0)
                snprintf(wall, sizeof wall, "%.1f s", si[i].wall);
        }
        size_t k;
        for (k = 0; k < NCOUNTED && strcmp(st, slurm_counted[k]) != 0; k++)
            ;
        if (strcmp(st, "ok") == 0)
            nok++;
        else if (strcmp(st, "failed") == 0)
            nfail++;
        else if (strcmp(st, "interrupted") == 0)
            nint++;
        else if (k < NCOUNTED && slurm_st)
            nsl[k]++;
        else
            nnot++;
        printf("%-*s  %-*s %9s  %.*s\n", w, ids[i], ws, st, wall, (int)strcspn(msg, "\n"), msg);
        if (have)
            qib__jv_free(&j);
    }
    printf("%ld case%s: %zu ok, %zu failed, %zu interrupted", n, n == 1 ? "" : "s", nok, nfail,
           nint);
    /* Slurm's states only when some case is in one, so that a local cohort
     * reads as it always did. */
    for (size_t k = 0; k < NCOUNTED; k++)
        if (nsl[k])
            printf(", %zu %s", nsl[k], slurm_counted[k]);
    printf(", %zu not run\n", nnot);
    free(si);
    free_list(ids, n);
    return nok == (size_t)n ? QIB_EXIT_OK : QIB_EXIT_FAIL;
}

/* One table file gathered across cases. */
struct gtable {
    char *path;      /* relative to the case directory */
    char **header;   /* borrowed from the first case's CSV */
    size_t ncols;
    const char *first_case;
    char *buf;       /* the cohort table being written */
    size_t len;
    FILE *f;
    size_t nrows, ncases;
    struct qib__csv *keep; /* the CSV owning header */
};

/* Whether the step that wrote output @p rel wrote a units row under the
 * header (export.csv's units_row). */
static int file_has_units_row(const struct qib__jv *prov, const struct qib__jv *file)
{
    const char *step = qib__jv_str(file, "step");
    const struct qib__jv *steps = qib__jv_get(prov, "steps");
    for (size_t i = 0; step && steps && steps->type == QIB__JARR && i < steps->n; i++) {
        const char *id = qib__jv_str(&steps->items[i], "id");
        if (!id || strcmp(id, step) != 0)
            continue;
        const struct qib__jv *u = qib__jv_get(qib__jv_get(&steps->items[i], "params"), "units_row");
        return u && u->type == QIB__JBOOL && u->b;
    }
    return 0;
}

int qib__cmd_gather(int argc, char **argv)
{
    const char *dir = NULL;
    int all = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("usage: qib gather DIR [--all]\n"
                   "\n"
                   "Join the result tables of every successful case of a cohort directory:\n"
                   "the CSV files each case's provenance.json lists among its outputs\n"
                   "(what the pipeline's export.csv steps wrote), checked against their\n"
                   "recorded SHA-256, one row per table row with the column \"case\" first.\n"
                   "A pipeline writing one CSV file gives DIR/cohort.csv; one writing several\n"
                   "gives DIR/cohort-NAME.csv for each (NAME: its path, '/' made '_').\n"
                   "Cases that did not succeed are named on stderr and left out, with\n"
                   "Slurm's state for a case that wrote no status.json (as `qib status`).\n"
                   "\n"
                   "      --all   every case must have succeeded: when one did not, or is\n"
                   "              still queued or running, write no table and exit 1\n"
                   "\n"
                   "Exit status: 0 tables written, 1 a table could not be read or differs\n"
                   "in its columns, no case succeeded, or (with --all) a case is not ok;\n"
                   "2 usage error.\n");
            return QIB_EXIT_OK;
        }
        if (strcmp(argv[i], "--all") == 0) {
            all = 1;
            continue;
        }
        if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "qib gather: unexpected argument \"%s\"\nusage: qib gather DIR [--all]\n",
                    argv[i]);
            return QIB_EXIT_USAGE;
        }
        dir = argv[i];
    }
    if (!dir) {
        fprintf(stderr, "usage: qib gather DIR [--all]\n");
        return QIB_EXIT_USAGE;
    }
    char **ids;
    long n = list_cases("gather", dir, &ids);
    if (n < 0)
        return QIB_EXIT_USAGE;
    struct sinfo *si = cases_slurm(dir, ids, n);
    if (!si) {
        fprintf(stderr, "qib gather: out of memory\n");
        free_list(ids, n);
        return QIB_EXIT_FAIL;
    }
    int ex = QIB_EXIT_OK;
    struct gtable *t = NULL;
    size_t nt = 0;
    size_t nleft = 0, nused = 0, nbusy = 0;
    char err[512];
    for (long i = 0; i < n && ex == QIB_EXIT_OK; i++) {
        if (!ids[i])
            continue;
        char *sp = xasprintf("%s/cases/%s/status.json", dir, ids[i]);
        char *pp = xasprintf("%s/cases/%s/provenance.json", dir, ids[i]);
        struct qib__jv sj, pj;
        int hs = sp && qib__json_read(sp, &sj, err, sizeof err) == QIB_OK;
        const char *st = hs ? qib__jv_str(&sj, "status") : NULL;
        if (!st || strcmp(st, "ok") != 0) {
            int slurm_st = si[i].word && (!hs || si[i].need == 2);
            const char *w = slurm_st ? si[i].word : st ? st : "not run";
            const char *note = slurm_st || !hs ? si[i].note : "";
            fprintf(stderr, "qib gather: case %s left out: %s%s%s\n", ids[i], w, *note ? " " : "",
                    note);
            nleft++;
            nbusy += slurm_st &&
                     (strcmp(w, "pending") == 0 || strcmp(w, "running") == 0 ||
                      strcmp(w, "suspended") == 0);
            if (hs)
                qib__jv_free(&sj);
            free(sp);
            free(pp);
            continue;
        }
        qib__jv_free(&sj);
        free(sp);
        if (!pp || qib__json_read(pp, &pj, err, sizeof err) != QIB_OK) {
            fprintf(stderr, "qib gather: %s/cases/%s/provenance.json: %s\n", dir, ids[i], err);
            free(pp);
            ex = QIB_EXIT_FAIL;
            break;
        }
        free(pp);
        nused++;
        const struct qib__jv *files = qib__jv_get(&pj, "files");
        for (size_t f = 0; files && files->type == QIB__JARR && f < files->n; f++) {
            const char *rel = qib__jv_str(&files->items[f], "path");
            const char *sha = qib__jv_str(&files->items[f], "sha256");
            if (!rel || !qib__has_suffix(rel, ".csv"))
                continue;
            char *path = xasprintf("%s/cases/%s/%s", dir, ids[i], rel);
            char hex[65];
            if (!path || qib_sha256_file(path, hex) != QIB_OK) {
                fprintf(stderr, "qib gather: %s: %s\n", path ? path : rel, strerror(errno));
                free(path);
                ex = QIB_EXIT_FAIL;
                break;
            }
            if (!sha || strcmp(sha, hex) != 0) {
                fprintf(stderr, "qib gather: %s: its SHA-256 is not the one provenance.json "
                        "records (changed after the run)\n", path);
                free(path);
                ex = QIB_EXIT_FAIL;
                break;
            }
            struct qib__csv *csv = calloc(1, sizeof *csv);
            if (!csv || qib__csv_read(path, csv, err, sizeof err) != QIB_OK) {
                fprintf(stderr, "qib gather: %s: %s\n", path, csv ? err : "out of memory");
                free(csv);
                free(path);
                ex = QIB_EXIT_FAIL;
                break;
            }
            free(path);
            /* A units row is the table's, not a case's: written once. */
            size_t first = 1 + (size_t)(file_has_units_row(&pj, &files->items[f]) && csv->nrows > 1);
            size_t k;
            for (k = 0; k < nt; k++)
                if (strcmp(t[k].path, rel) == 0)
                    break;
            if (k == nt) {
                struct gtable *ntb = realloc(t, (nt + 1) * sizeof *ntb);
                if (!ntb || csv->nrows == 0) {
                    fprintf(stderr, "qib gather: %s/cases/%s/%s: %s\n", dir, ids[i], rel,
                            ntb ? "empty table" : "out of memory");
                    if (ntb)
                        t = ntb;
                    qib__csv_free(csv);
                    free(csv);
                    ex = QIB_EXIT_FAIL;
                    break;
                }
                t = ntb;
                memset(&t[nt], 0, sizeof t[nt]);
                t[nt].path = strdup(rel);
                t[nt].keep = csv;
                t[nt].header = csv->rows[0];
                t[nt].ncols = csv->ncols[0];
                t[nt].first_case = ids[i];
                t[nt].f = open_memstream(&t[nt].buf, &t[nt].len);
                if (!t[nt].f || !t[nt].path) {
                    nt++;
                    ex = QIB_EXIT_FAIL;
                    break;
                }
                fputs("case", t[nt].f);
                for (size_t c = 0; c < t[nt].ncols; c++) {
                    putc(',', t[nt].f);
                    qib__csv_field(t[nt].f, t[nt].header[c]);
                }
                fputs("\n", t[nt].f);
                if (first == 2) {
                    /* The units row, under "case" an empty cell. */
                    for (size_t c = 0; c < t[nt].ncols && c < csv->ncols[1]; c++) {
                        putc(',', t[nt].f);
                        qib__csv_field(t[nt].f, csv->rows[1][c]);
                    }
                    fputs("\n", t[nt].f);
                }
                nt++;
            }
            struct gtable *g = &t[k];
            int same = csv->nrows > 0 && csv->ncols[0] == g->ncols;
            for (size_t c = 0; same && c < g->ncols; c++)
                same = strcmp(csv->rows[0][c], g->header[c]) == 0;
            if (!same) {
                fprintf(stderr, "qib gather: %s/cases/%s/%s: its columns differ from case %s's\n",
                        dir, ids[i], rel, g->first_case);
                ex = QIB_EXIT_FAIL;
            }
            for (size_t r = first; same && r < csv->nrows; r++) {
                if (csv->ncols[r] != g->ncols) {
                    fprintf(stderr, "qib gather: %s/cases/%s/%s: record %zu has %zu fields, the "
                            "header %zu\n", dir, ids[i], rel, r + 1, csv->ncols[r], g->ncols);
                    ex = QIB_EXIT_FAIL;
                    break;
                }
                qib__csv_field(g->f, ids[i]);
                for (size_t c = 0; c < g->ncols; c++) {
                    putc(',', g->f);
                    qib__csv_field(g->f, csv->rows[r][c]);
                }
                fputs("\n", g->f);
                g->nrows++;
            }
            g->ncases++;
            if (g->keep != csv) {
                qib__csv_free(csv);
                free(csv);
            }
            if (ex != QIB_EXIT_OK)
                break;
        }
        qib__jv_free(&pj);
    }
    if (ex == QIB_EXIT_OK && all && nleft) {
        fprintf(stderr, "qib gather: %s: %zu of %zu case%s not ok (--all); no table written\n", dir,
                nleft, nleft + nused, nleft + nused == 1 ? "" : "s");
        ex = QIB_EXIT_FAIL;
    }
    if (ex == QIB_EXIT_OK && nt == 0) {
        fprintf(stderr, nused ? "qib gather: %s: the cases wrote no CSV table\n"
                              : "qib gather: %s: no case succeeded; nothing to gather\n", dir);
        ex = QIB_EXIT_FAIL;
    }
    for (size_t k = 0; k < nt; k++) {
        if (t[k].f && fclose(t[k].f) != 0)
            ex = QIB_EXIT_FAIL;
        t[k].f = NULL;
        if (ex == QIB_EXIT_OK) {
            char name[PATH_MAX];
            if (nt == 1) {
                snprintf(name, sizeof name, "cohort.csv");
            } else {
                snprintf(name, sizeof name, "cohort-%s", t[k].path);
                for (char *c = name; *c; c++)
                    if (*c == '/')
                        *c = '_';
            }
            if (qib__write_file_atomic(dir, name, t[k].buf, t[k].len, err, sizeof err) != QIB_OK) {
                fprintf(stderr, "qib gather: %s\n", err);
                ex = QIB_EXIT_FAIL;
            } else {
                printf("%s/%s: %zu row%s from %zu case%s (%s)\n", dir, name, t[k].nrows,
                       t[k].nrows == 1 ? "" : "s", t[k].ncases, t[k].ncases == 1 ? "" : "s",
                       t[k].path);
            }
        }
        free(t[k].buf);
        free(t[k].path);
        if (t[k].keep) {
            qib__csv_free(t[k].keep);
            free(t[k].keep);
        }
    }
    free(t);
    if (ex == QIB_EXIT_OK && nleft)
        printf("%zu case%s left out (not ok); `qib status %s` shows why\n", nleft,
               nleft == 1 ? "" : "s", dir);
    if (ex == QIB_EXIT_OK && nbusy)
        printf("%zu of them still queued or running in Slurm: the table is not final\n", nbusy);
    free(si);
    free_list(ids, n);
    return ex;
}

/* ------------------------------------------------------------------------
 * qib reproduce
 * ------------------------------------------------------------------------ */

static void reproduce_usage(FILE *f)
{
    fprintf(f,
            "usage: qib reproduce PROVENANCE.json [--out DIR] [--pipeline PATH] [-q]\n"
            "\n"
            "Run a case again from its provenance record: the same pipeline (checked by\n"
            "its SHA-256), the same inputs (every file's SHA-256 checked first), every\n"
            "parameter as resolved then, the same number of threads.  Then compare each\n"
            "output file's SHA-256 with the recorded one.  When an output differs and\n"
            "the original CSV table sits beside PROVENANCE.json, the values that changed\n"
            "are listed per column with the largest absolute and relative difference;\n"
            "a .gz output whose original sits there is compared decompressed, and the\n"
            "same data compressed to other bytes counts as reproduced; for a NIfTI\n"
            "image the number of changed voxels and the largest difference are given;\n"
            "differing qib or plugin versions are named.\n"
            "\n"
            "  -o, --out DIR        where to run (default: a new directory in $TMPDIR\n"
            "                       or /tmp, kept and named)\n"
            "      --pipeline PATH  the pipeline file, when it has moved (its SHA-256\n"
            "                       must still match)\n"
            "  -q, --quiet          no per-step lines from the run\n"
            "\n"
            "Exit status: 0 every output bit-identical (or, for .gz, the same data),\n"
            "1 an input or the pipeline does not match its record, the run failed, or\n"
            "an output differs; 2 usage error.\n");
}

/* A recorded parameter value in the syntax -p accepts. */
static char *param_text(const struct qib__jv *v)
{
    switch (v->type) {
    case QIB__JNUM:
    case QIB__JSTR:
        return strdup(v->s);
    case QIB__JBOOL:
        return strdup(v->b ? "true" : "false");
    case QIB__JARR: {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
            return NULL;
        putc('[', f);
        for (size_t i = 0; i < v->n; i++)
            fprintf(f, "%s%s", i ? ", " : "", v->items[i].s ? v->items[i].s : "");
        putc(']', f);
        fclose(f);
        return buf;
    }
    default:
        return NULL;
    }
}

static int run_child(const char *exe, char **argv)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execv(exe, argv);
        fprintf(stderr, "qib reproduce: cannot run %s: %s\n", exe, strerror(errno));
        _exit(127);
    }
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
}

/* The recorded sha256 of output @p path in a provenance "files" list. */
static const char *file_sha(const struct qib__jv *prov, const char *path)
{
    const struct qib__jv *files = qib__jv_get(prov, "files");
    for (size_t i = 0; files && files->type == QIB__JARR && i < files->n; i++) {
        const char *p = qib__jv_str(&files->items[i], "path");
        if (p && strcmp(p, path) == 0)
            return qib__jv_str(&files->items[i], "sha256");
    }
    return NULL;
}

/* Compare two CSV tables value by value; prints what changed. */
static void compare_tables(const char *name, const char *oldp, const char *newp)
{
    struct qib__csv a, b;
    char err[256];
    if (qib__csv_read(oldp, &a, err, sizeof err) != QIB_OK) {
        printf("  %s: the original table cannot be read (%s); compared by digest only\n", name, err);
        return;
    }
    if (qib__csv_read(newp, &b, err, sizeof err) != QIB_OK) {
        printf("  %s: the new table cannot be read (%s)\n", name, err);
        qib__csv_free(&a);
        return;
    }
    if (a.nrows != b.nrows || !a.nrows || a.ncols[0] != b.ncols[0]) {
        printf("  %s: the tables differ in shape: %zu rows x %zu columns, now %zu x %zu\n", name,
               a.nrows ? a.nrows - 1 : 0, a.nrows ? a.ncols[0] : 0, b.nrows ? b.nrows - 1 : 0,
               b.nrows ? b.ncols[0] : 0);
        goto done;
    }
    for (size_t c = 0; c < a.ncols[0]; c++) {
        if (strcmp(a.rows[0][c], b.rows[0][c]) != 0) {
            printf("  %s: column %zu was \"%s\", now \"%s\"\n", name, c + 1, a.rows[0][c], b.rows[0][c]);
            continue;
        }
        size_t nchanged = 0, ntext = 0;
        double maxabs = 0, maxrel = 0, was = 0, now = 0;
        for (size_t r = 1; r < a.nrows; r++) {
            if (c >= a.ncols[r] || c >= b.ncols[r])
                continue;
            const char *x = a.rows[r][c], *y = b.rows[r][c];
            if (strcmp(x, y) == 0)
                continue;
            nchanged++;
            char *ex, *ey;
            double vx = strtod(x, &ex), vy = strtod(y, &ey);
            if (!*x || !*y || *ex || *ey) {
                ntext++;
                continue;
            }
            double d = fabs(vy - vx);
            double rel = vx != 0 ? d / fabs(vx) : (d != 0 ? INFINITY : 0);
            if (d > maxabs || (nchanged - ntext) == 1) {
                maxabs = d;
                maxrel = rel;
                was = vx;
                now = vy;
            }
        }
        if (!nchanged)
            continue;
        printf("  %s: column %s: %zu of %zu value%s changed", name, a.rows[0][c], nchanged,
               a.nrows - 1, a.nrows == 2 ? "" : "s");
        if (nchanged > ntext)
            printf("; largest |difference| %.6g (%.6g -> %.6g, %.3g %%)", maxabs, was, now,
                   maxrel * 100);
        if (ntext)
            printf("; %zu non-numeric", ntext);
        printf("\n");
    }
done:
    qib__csv_free(&a);
    qib__csv_free(&b);
}

/* 1 when the gzip files @p a and @p b decompress to the same bytes, 0 when
 * they do not, -1 when either cannot be read as gzip (with @p why set). */
static int same_gunzipped(const char *a, const char *b, const char **why)
{
    enum { N = 1 << 16 };
    gzFile fa = gzopen(a, "rb"), fb = gzopen(b, "rb");
    unsigned char *ba = malloc(N), *bb = malloc(N);
    int res = 1;
    *why = "";
    if (!fa || !fb || !ba || !bb) {
        *why = !ba || !bb ? "out of memory" : strerror(errno);
        res = -1;
        goto done;
    }
    for (;;) {
        int na = gzread(fa, ba, N), nb = gzread(fb, bb, N);
        if (na < 0 || nb < 0) {
            int e;
            *why = gzerror(na < 0 ? fa : fb, &e);
            res = -1;
            break;
        }
        if (na != nb || memcmp(ba, bb, (size_t)na) != 0) {
            res = 0;
            break;
        }
        if (na == 0)
            break;
    }
done:
    if (fa)
        gzclose(fa);
    if (fb)
        gzclose(fb);
    free(ba);
    free(bb);
    return res;
}

/* A NIfTI file read by read.nifti through the harness; NULL with the reason
 * printed. */
static qib_harness *read_image(const char *name, const char *path)
{
    qib_harness *h = NULL;
    char err[512];
    if (qib_harness_new("read.nifti", &h, err, sizeof err) != QIB_OK) {
        printf("  %s: cannot compare the voxels: %s\n", name, err);
        return NULL;
    }
    if (qib_harness_set_param(h, "path", path) != QIB_OK || qib_harness_run(h) != QIB_OK ||
        !qib_harness_out_volume(h, "image")) {
        printf("  %s: cannot compare the voxels: %s\n", name, qib_harness_error(h));
        qib_harness_free(&h);
    }
    return h;
}

/* Compare two NIfTI images voxel by voxel; prints what changed. */
static void compare_images(const char *name, const char *oldp, const char *newp)
{
    qib_harness *ha = read_image(name, oldp), *hb = ha ? read_image(name, newp) : NULL;
    if (!ha || !hb) {
        qib_harness_free(&ha);
        return;
    }
    const qib_volume *a = qib_harness_out_volume(ha, "image"), *b = qib_harness_out_volume(hb, "image");
    const struct qib_geom *ga = qib_volume_geom(a), *gb = qib_volume_geom(b);
    int same_dims = ga->ndim == gb->ndim;
    for (int k = 0; k < 4; k++)
        same_dims = same_dims && ga->dims[k] == gb->dims[k];
    if (!same_dims) {
        printf("  %s: the grid differs: %zux%zux%zux%zu voxels, now %zux%zux%zux%zu\n", name,
               ga->dims[0], ga->dims[1], ga->dims[2], ga->dims[3], gb->dims[0], gb->dims[1],
               gb->dims[2], gb->dims[3]);
        goto done;
    }
    double dg = 0;
    for (int k = 0; k < 3; k++) {
        dg = fmax(dg, fabs(ga->spacing[k] - gb->spacing[k]));
        dg = fmax(dg, fabs(ga->origin[k] - gb->origin[k]));
    }
    for (int k = 0; k < 9; k++)
        dg = fmax(dg, fabs(ga->dir[k] - gb->dir[k]));
    if (dg > 0)
        printf("  %s: the geometry differs (spacing, origin or direction by up to %.6g)\n", name, dg);
    if (qib_volume_dtype(a) != qib_volume_dtype(b))
        printf("  %s: the voxel type was %s, now %s\n", name, qib_dtype_name(qib_volume_dtype(a)),
               qib_dtype_name(qib_volume_dtype(b)));
    size_t n = qib_volume_nvox(a), nchanged = 0, at = 0;
    double maxabs = -1, was = 0, now = 0;
    for (size_t i = 0; i < n; i++) {
        double x = qib_volume_get(a, i), y = qib_volume_get(b, i);
        if (x == y || (isnan(x) && isnan(y)))
            continue;
        nchanged++;
        double d = isnan(x) || isnan(y) ? INFINITY : fabs(y - x);
        if (d > maxabs) {
            maxabs = d;
            was = x;
            now = y;
            at = i;
        }
    }
    if (!nchanged) {
        printf("  %s: every voxel value is the same\n", name);
        goto done;
    }
    size_t nx = ga->dims[0], ny = ga->dims[1], nz = ga->dims[2] ? ga->dims[2] : 1;
    printf("  %s: %zu of %zu voxels changed; largest |difference| %.6g (%.6g -> %.6g at voxel "
           "%zu,%zu,%zu", name, nchanged, n, maxabs, was, now, at % nx, at / nx % ny,
           at / (nx * ny) % nz);
    if (ga->ndim > 3)
        printf(",%zu", at / (nx * ny * nz));
    printf(")\n");
done:
    qib_harness_free(&ha);
    qib_harness_free(&hb);
}

/* Name differing qib and plugin versions between two records. */
static void compare_versions(const struct qib__jv *a, const struct qib__jv *b)
{
    const char *va = qib__jv_str(qib__jv_get(a, "qib"), "version");
    const char *vb = qib__jv_str(qib__jv_get(b, "qib"), "version");
    if (va && vb && strcmp(va, vb) != 0)
        printf("  qib version: %s, now %s\n", va, vb);
    const struct qib__jv *pa = qib__jv_get(a, "plugins"), *pb = qib__jv_get(b, "plugins");
    for (size_t i = 0; pa && pb && pa->type == QIB__JARR && i < pa->n; i++) {
        const char *name = qib__jv_str(&pa->items[i], "name");
        for (size_t k = 0; name && pb->type == QIB__JARR && k < pb->n; k++) {
            const char *nb = qib__jv_str(&pb->items[k], "name");
            if (!nb || strcmp(nb, name) != 0)
                continue;
            const char *v1 = qib__jv_str(&pa->items[i], "version");
            const char *v2 = qib__jv_str(&pb->items[k], "version");
            const char *s1 = qib__jv_str(&pa->items[i], "sha256");
            const char *s2 = qib__jv_str(&pb->items[k], "sha256");
            if (v1 && v2 && strcmp(v1, v2) != 0)
                printf("  plugin %s: version %s, now %s\n", name, v1, v2);
            else if (s1 && s2 && strcmp(s1, s2) != 0)
                printf("  plugin %s: same version %s, another build (module SHA-256 differs)\n",
                       name, v1 ? v1 : "?");
        }
    }
}

int qib__cmd_reproduce(int argc, char **argv)
{
    const char *prov = NULL, *out = NULL, *pipe_over = NULL;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *x = argv[i], *v;
        if (strcmp(x, "-h") == 0 || strcmp(x, "--help") == 0) {
            reproduce_usage(stdout);
            return QIB_EXIT_OK;
        } else if (strcmp(x, "-q") == 0 || strcmp(x, "--quiet") == 0) {
            quiet = 1;
        } else if (is_opt(x, "-o", "--out")) {
            if (!(v = optval("reproduce", argc, argv, &i, "--out")))
                return QIB_EXIT_USAGE;
            out = v;
        } else if (is_opt(x, NULL, "--pipeline")) {
            if (!(v = optval("reproduce", argc, argv, &i, "--pipeline")))
                return QIB_EXIT_USAGE;
            pipe_over = v;
        } else if (x[0] == '-' || prov) {
            fprintf(stderr, "qib reproduce: unexpected argument \"%s\"\n", x);
            reproduce_usage(stderr);
            return QIB_EXIT_USAGE;
        } else {
            prov = x;
        }
    }
    if (!prov) {
        reproduce_usage(stderr);
        return QIB_EXIT_USAGE;
    }
    struct qib__jv j, nj;
    char err[512];
    memset(&nj, 0, sizeof nj);
    if (qib__json_read(prov, &j, err, sizeof err) != QIB_OK) {
        fprintf(stderr, "qib reproduce: %s: %s\n", prov, err);
        return QIB_EXIT_USAGE;
    }
    int ex = QIB_EXIT_FAIL;
    char **cargv = NULL, **owned = NULL;
    size_t nown = 0;
    char *olddir = NULL, *tmpl = NULL;
    const struct qib__jv *pl = qib__jv_get(&j, "pipeline");
    const char *st = qib__jv_str(&j, "status");
    const char *ppath = pipe_over ? pipe_over : qib__jv_str(pl, "realpath");
    const char *psha = qib__jv_str(pl, "sha256");
    if (!qib__jv_get(&j, "qib_provenance") || !ppath || !psha) {
        fprintf(stderr, "qib reproduce: %s: not a qib provenance record (no pipeline path and "
                "SHA-256)\n", prov);
        ex = QIB_EXIT_USAGE;
        goto out;
    }
    if (!st || strcmp(st, "complete") != 0)
        fprintf(stderr, "qib reproduce: note: the recorded run's status is \"%s\"\n", st ? st : "?");
    /* Check what goes in before running anything. */
    int mismatch = 0;
    char hex[65];
    if (qib_sha256_file(ppath, hex) != QIB_OK) {
        fprintf(stderr, "qib reproduce: pipeline %s: %s\n", ppath, strerror(errno));
        mismatch++;
    } else if (strcmp(hex, psha) != 0) {
        fprintf(stderr, "qib reproduce: pipeline %s: SHA-256 %s, the record says %s\n", ppath, hex,
                psha);
        mismatch++;
    }
    const struct qib__jv *ins = qib__jv_get(&j, "inputs");
    const struct qib__jv *pars = qib__jv_get(&j, "params");
    size_t nin = ins && ins->type == QIB__JARR ? ins->n : 0;
    size_t npar = pars && pars->type == QIB__JARR ? pars->n : 0;
    cargv = calloc(12 + 2 * (nin + npar), sizeof *cargv);
    owned = calloc(1 + nin + npar, sizeof *owned);
    if (!cargv || !owned)
        goto oom;
    size_t n = 0;
    cargv[n++] = "qib";
    cargv[n++] = "run";
    cargv[n++] = (char *)ppath;
    for (size_t i = 0; i < nin; i++) {
        const struct qib__jv *in = &ins->items[i];
        const char *name = qib__jv_str(in, "name"), *type = qib__jv_str(in, "type");
        const char *value = qib__jv_str(in, "value"), *real = qib__jv_str(in, "realpath");
        const char *kind = qib__jv_str(in, "kind"), *sha = qib__jv_str(in, "sha256");
        if (!name || !value) {
            fprintf(stderr, "qib reproduce: %s: input %zu has no name or value\n", prov, i + 1);
            mismatch++;
            continue;
        }
        if (type && strcmp(type, "path") == 0) {
            const char *p = real ? real : value;
            if (!sha) {
                fprintf(stderr, "qib reproduce: input %s: %s: no SHA-256 recorded\n", name, p);
                mismatch++;
            } else {
                struct stat sb;
                hex[0] = '\0';
                if (stat(p, &sb) != 0)
                    fprintf(stderr, "qib reproduce: input %s: %s: %s\n", name, p, strerror(errno));
                else if ((kind && strcmp(kind, "directory") == 0) != !!S_ISDIR(sb.st_mode))
                    fprintf(stderr, "qib reproduce: input %s: %s: was a %s, now is not\n", name, p,
                            kind ? kind : "file");
                else
                    input_digest(p, hex);
                if (!hex[0]) {
                    mismatch++;
                } else if (strcmp(hex, sha) != 0) {
                    fprintf(stderr, "qib reproduce: input %s: %s: SHA-256 %s, the record says %s "
                            "(the data changed)\n", name, p, hex, sha);
                    mismatch++;
                }
            }
            value = p;
        }
        cargv[n++] = "--input";
        if (!(cargv[n++] = owned[nown++] = xasprintf("%s=%s", name, value)))
            goto oom;
    }
    for (size_t i = 0; i < npar; i++) {
        const char *name = qib__jv_str(&pars->items[i], "name");
        const struct qib__jv *v = qib__jv_get(&pars->items[i], "value");
        char *t = v ? param_text(v) : NULL;
        if (!name || !t) {
            fprintf(stderr, "qib reproduce: %s: parameter %zu has no usable value\n", prov, i + 1);
            free(t);
            mismatch++;
            continue;
        }
        cargv[n++] = "-p";
        cargv[n++] = owned[nown++] = xasprintf("%s=%s", name, t);
        free(t);
        if (!cargv[n - 1])
            goto oom;
    }
    if (mismatch) {
        fprintf(stderr, "qib reproduce: %d mismatch%s with the record; nothing was run\n", mismatch,
                mismatch == 1 ? "" : "es");
        goto out;
    }
    const struct qib__jv *th = qib__jv_get(&j, "threads");
    char threads[32];
    snprintf(threads, sizeof threads, "%ld", th && th->type == QIB__JNUM ? (long)th->num : 1L);
    if (!out) {
        const char *td = getenv("TMPDIR");
        tmpl = xasprintf("%s/qib-reproduce.XXXXXX", td && *td ? td : "/tmp");
        if (!tmpl || !mkdtemp(tmpl)) {
            fprintf(stderr, "qib reproduce: cannot make a temporary directory: %s\n", strerror(errno));
            goto out;
        }
        out = tmpl;
    }
    cargv[n++] = "--out";
    cargv[n++] = (char *)out;
    cargv[n++] = "--threads";
    cargv[n++] = threads;
    if (quiet)
        cargv[n++] = "-q";
    cargv[n] = NULL;
    char exe[PATH_MAX];
    if (self_exe(exe, sizeof exe) < 0) {
        fprintf(stderr, "qib reproduce: cannot find this program through /proc/self/exe\n");
        goto out;
    }
    int rc = run_child(exe, cargv);
    if (rc != 0) {
        fprintf(stderr, "qib reproduce: the run failed (exit status %d); see %s/provenance.json\n", rc,
                out);
        goto out;
    }
    char *np = xasprintf("%s/provenance.json", out);
    if (!np || qib__json_read(np, &nj, err, sizeof err) != QIB_OK) {
        fprintf(stderr, "qib reproduce: %s: %s\n", np ? np : out, np ? err : "out of memory");
        free(np);
        goto out;
    }
    free(np);
    /* The original outputs sit beside the record. */
    olddir = strdup(prov);
    if (!olddir)
        goto oom;
    char *sl = strrchr(olddir, '/');
    if (sl)
        sl[1] = '\0';
    else
        olddir[0] = '\0';
    size_t nsame = 0, ndiff = 0, nrepacked = 0;
    const struct qib__jv *of = qib__jv_get(&j, "files");
    for (size_t i = 0; of && of->type == QIB__JARR && i < of->n; i++) {
        const char *path = qib__jv_str(&of->items[i], "path");
        const char *sha = qib__jv_str(&of->items[i], "sha256");
        if (!path || !sha)
            continue;
        const char *nsha = file_sha(&nj, path);
        if (nsha && strcmp(nsha, sha) == 0) {
            nsame++;
            continue;
        }
        ndiff++;
        if (!nsha) {
            printf("%s: not written by the new run\n", path);
            continue;
        }
        char *a = xasprintf("%s%s", olddir, path), *b2 = xasprintf("%s/%s", out, path);
        char ah[65];
        const int orig = a && b2 && qib_sha256_file(a, ah) == QIB_OK && strcmp(ah, sha) == 0;
        const int gz = qib__has_suffix(path, ".gz"), csv = qib__has_suffix(path, ".csv");
        const int nii = qib__has_suffix(path, ".nii") || qib__has_suffix(path, ".nii.gz");
        /* Another compressor, or another zlib, may write the same data as
         * other bytes: compare what the files hold. */
        const char *why = "";
        const int same = orig && gz ? same_gunzipped(a, b2, &why) : -2;
        if (same == 1) {
            printf("%s: the same data, compressed to other bytes (SHA-256 %.12s..., was "
                   "%.12s...)\n", path, nsha, sha);
            ndiff--;
            nrepacked++;
        } else {
            printf("%s: differs (SHA-256 %.12s..., was %.12s...)\n", path, nsha, sha);
            if (same == 0)
                printf("  and so does its decompressed data\n");
            else if (same == -1)
                printf("  (cannot compare the decompressed data: %s)\n", why);
            if (orig && csv)
                compare_tables(path, a, b2);
            else if (orig && nii)
                compare_images(path, a, b2);
            else if (csv || nii)
                printf("  (the original %s is not beside the record, or changed: values not "
                       "compared)\n", path);
        }
        free(a);
        free(b2);
    }
    const struct qib__jv *nf = qib__jv_get(&nj, "files");
    for (size_t i = 0; nf && nf->type == QIB__JARR && i < nf->n; i++) {
        const char *path = qib__jv_str(&nf->items[i], "path");
        if (path && !file_sha(&j, path)) {
            printf("%s: new output, not in the record\n", path);
            ndiff++;
        }
    }
    if (ndiff) {
        compare_versions(&j, &nj);
        printf("not reproduced: %zu output%s differ%s, %zu bit-identical; the new run is in %s\n",
               ndiff, ndiff == 1 ? "" : "s", ndiff == 1 ? "s" : "", nsame, out);
        ex = QIB_EXIT_FAIL;
    } else if (nrepacked) {
        printf("reproduced: %zu output%s bit-identical, %zu the same once decompressed; the new "
               "run is in %s\n", nsame, nsame == 1 ? "" : "s", nrepacked, out);
        ex = QIB_EXIT_OK;
    } else {
        printf("reproduced: all %zu output%s bit-identical (SHA-256); the new run is in %s\n", nsame,
               nsame == 1 ? "" : "s", out);
        ex = QIB_EXIT_OK;
    }
    goto out;
oom:
    fprintf(stderr, "qib reproduce: out of memory\n");
out:
    for (size_t i = 0; owned && i < nown; i++)
        free(owned[i]);
    free(owned);
    free(cargv);
    free(olddir);
    free(tmpl);
    qib__jv_free(&nj);
    qib__jv_free(&j);
    return ex;
}
