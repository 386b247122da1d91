/* The runner: executes a validated plan step by step, keeps the objects the
 * steps hand over in a store, drops each one after its last reader (handing
 * the runner's own reference to that reader so it can modify the object in
 * place), logs one line per step, and writes OUT/provenance.json: first with
 * status "running", at the end "complete", "failed" or "interrupted".  A
 * run that does not complete removes the output files it wrote. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "pipeline.h"
#include "qib/status.h"

/* Storage for one pipeline parameter (see validate.c). */
union pstore {
    int i;
    int64_t l;
    double d;
    char *s;
    double v3[3];
    struct qib_dlist dl;
    struct qib_plist pl;
};

struct obj {
    enum qib_obj_kind kind;
    void *p;
};

struct ofile {
    char *rel, *full, *step;
    char sha[65];
};

struct run {
    struct qib__plan *plan;
    const struct qib__runopts *o;
    qib_pool *pool;
    struct obj **store;   /* per step, per output port */
    size_t *nout;         /* output ports per step */
    char **stepjson;      /* per step: JSON fragment */
    char **outjson;       /* per pipeline output: JSON fragment of an object output */
    char *inputsjson;
    struct ofile *files;
    size_t nfiles, capfiles;
    struct timespec t0_real, t0_mono;
    int status;
    char *error;
    int oom;
};

/* Times are kept to the microsecond: finer digits are noise and make the
 * record harder to read. */
static double usec(double s)
{
    return round(s * 1e6) / 1e6;
}

static double since(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return usec((double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) * 1e-9);
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return ru.ru_maxrss; /* KiB on Linux */
}

static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0.0;
    return usec((double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
                (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6);
}

QIB_PRINTF(3, 4)
static void set_error(struct run *r, int status, const char *fmt, ...)
{
    if (r->error)
        return; /* the first failure is the one to report */
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&r->error, fmt, ap) < 0)
        r->error = NULL;
    va_end(ap);
    r->status = status;
}

QIB_PRINTF(2, 3)
static void logline(const struct qib__runopts *o, const char *fmt, ...)
{
    if (!o->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(o->log, fmt, ap);
    va_end(ap);
    fputc('\n', o->log);
    fflush(o->log);
}

static void plugin_log(void *arg, const qib_step *s, const char *line)
{
    const struct qib__runopts *o = arg;
    if (o->verbosity >= QIB__VERBOSE)
        logline(o, "  %s: %s", qib_step_id(s), line);
}

static void obj_drop(struct obj *ob)
{
    switch (ob->kind) {
    case QIB_OBJ_VOLUME:
    case QIB_OBJ_MASK: {
        qib_volume *v = ob->p;
        qib_volume_unref(&v);
        break;
    }
    case QIB_OBJ_TABLE: {
        qib_table *t = ob->p;
        qib_table_unref(&t);
        break;
    }
    case QIB_OBJ_TRANSFORM: {
        qib_transform *t = ob->p;
        qib_transform_unref(&t);
        break;
    }
    }
    ob->p = NULL;
}

static void obj_json(struct qib__json *j, const char *key, enum qib_obj_kind kind, const void *p,
                     int rows)
{
    if (kind == QIB_OBJ_TABLE)
        qib__prov_table(j, key, p, rows);
    else if (kind == QIB_OBJ_TRANSFORM)
        qib__prov_transform(j, key, p);
    else
        qib__prov_volume(j, key, p);
}

/* A JSON fragment written by @p fn into memory. */
typedef void (*frag_fn)(struct qib__json *j, void *arg);

/* NULL on out of memory; touches nothing but its arguments, so the input
 * record can be made on a thread of its own. */
static char *fragment_text(int indent, frag_fn fn, void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    struct qib__json j;
    qib__json_init(&j, f, indent);
    fn(&j, arg);
    qib__json_finish(&j);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static char *fragment(struct run *r, int indent, frag_fn fn, void *arg)
{
    char *buf = fragment_text(indent, fn, arg);
    if (!buf)
        r->oom = 1;
    return buf;
}

/* ---- per-step record ---- */

struct stepinfo {
    struct run *r;
    size_t si;
    qib_step *step;      /* NULL when the step did not run */
    const char *status;
    const char *error;
    char started[32];
    double wall, cpu;
    long rss;
};

static void step_fragment(struct qib__json *j, void *arg)
{
    struct stepinfo *x = arg;
    struct run *r = x->r;
    const struct qib__rstep *rs = &r->plan->steps[x->si];
    const struct qib__pstep *ps = rs->ps;
    qib__json_obj_begin(j, NULL);
    qib__json_str(j, "id", ps->id);
    qib__json_str(j, "plugin", rs->mod->full_name);
    qib__json_str(j, "version", rs->mod->desc->version);
    qib__json_int(j, "line", ps->pos.line);
    qib__json_str(j, "status", x->status);
    if (x->error)
        qib__json_str(j, "error", x->error);
    qib_step *s = x->step ? x->step : rs->step;
    if (s) {
        const qib__params *pp = qib__step_params(s);
        const struct qib_plugin *d = rs->mod->desc;
        const void *priv = qib__params_priv_const(pp);
        qib__json_obj_begin(j, "params");
        for (size_t i = 0; d->params && d->params[i].name; i++)
            qib__prov_param(j, d->params[i].name, &d->params[i], priv);
        qib__json_obj_end(j);
        qib__json_arr_begin(j, "params_given");
        for (size_t i = 0; d->params && d->params[i].name; i++)
            if (qib__params_given(pp, i))
                qib__json_str(j, NULL, d->params[i].name);
        qib__json_arr_end(j);
    }
    qib__json_obj_begin(j, "inputs");
    for (size_t w = 0; w < rs->nwires; w++) {
        const struct qib__rwire *rw = &rs->wires[w];
        const struct qib__rstep *from = &r->plan->steps[rw->from_step];
        char ref[512];
        snprintf(ref, sizeof ref, "%s.%s", from->ps->id, from->mod->desc->outputs[rw->from_port].name);
        qib__json_str(j, rs->mod->desc->inputs[rw->port].name, ref);
    }
    qib__json_obj_end(j);
    if (!x->step) {
        qib__json_obj_end(j);
        return;
    }
    qib__json_str(j, "started", x->started);
    qib__json_double(j, "wall_seconds", x->wall);
    qib__json_double(j, "cpu_seconds", x->cpu);
    qib__json_int(j, "peak_rss_kib", x->rss);
    qib__json_obj_begin(j, "records");
    for (size_t i = 0; i < qib__step_nrecords(s); i++) {
        const char *k, *v;
        qib__step_record_at(s, i, &k, &v);
        qib__json_str(j, k, v);
    }
    qib__json_obj_end(j);
    qib__json_arr_begin(j, "files_read");
    for (size_t i = 0; i < qib__step_ninputs(s); i++) {
        const char *path, *sha;
        qib__step_input_at(s, i, &path, &sha);
        qib__json_obj_begin(j, NULL);
        qib__json_str(j, "path", path);
        qib__json_str(j, "sha256", sha && *sha ? sha : NULL);
        qib__json_obj_end(j);
    }
    qib__json_arr_end(j);
    qib__json_obj_begin(j, "outputs");
    const struct qib_plugin *d = rs->mod->desc;
    for (size_t p = 0; d->outputs[p].name; p++) {
        enum qib_obj_kind kind;
        const void *ob = qib__step_output(s, d->outputs[p].name, &kind);
        if (ob)
            obj_json(j, d->outputs[p].name, kind, ob, 0);
    }
    qib__json_obj_end(j);
    qib__json_arr_begin(j, "files_written");
    for (size_t i = 0; i < qib__step_noutfiles(s); i++) {
        const char *rel, *full, *sha;
        qib__step_outfile_at(s, i, &rel, &full, &sha);
        qib__json_obj_begin(j, NULL);
        qib__json_str(j, "path", rel);
        qib__json_str(j, "sha256", sha);
        qib__json_obj_end(j);
    }
    qib__json_arr_end(j);
    qib__json_obj_end(j);
}

struct outinfo {
    const struct qib__poutput *po;
    const char *port;
    enum qib_obj_kind kind;
    const void *obj;
};

static void output_fragment(struct qib__json *j, void *arg)
{
    struct outinfo *x = arg;
    qib__json_obj_begin(j, NULL);
    qib__json_str(j, "step", x->po->step);
    qib__json_str(j, "port", x->port);
    if (x->po->help)
        qib__json_str(j, "help", x->po->help);
    obj_json(j, "object", x->kind, x->obj, 1);
    qib__json_obj_end(j);
}

struct inputsinfo {
    struct run *r;
    int rc;
    char err[512];
};

/* The input record, digests included, is made on a thread started with the
 * run, so that hashing a large input overlaps the steps (which read the
 * same file: a reader asking for its digest meanwhile waits for this
 * thread's result, see qib_sha256_file) instead of preceding them.  The
 * thread reads only the plan, which no step changes, and writes only this
 * struct until it is joined. */
struct inputsjob {
    struct inputsinfo ii;
    pthread_t thread;
    int started, joined;
    char *json;
};

static void inputs_fragment(struct qib__json *j, void *arg)
{
    struct inputsinfo *x = arg;
    const struct qib__pipeline *pl = x->r->plan->pl;
    qib__json_arr_begin(j, NULL);
    for (size_t i = 0; i < pl->ninputs; i++) {
        const char *val = x->r->plan->inputs[i].value;
        if (!val)
            continue;
        char err[512];
        int rc = qib__prov_input(j, pl->inputs[i].name, pl->inputs[i].type, val, err, sizeof err);
        if (rc != QIB_OK && x->rc == QIB_OK) {
            x->rc = rc;
            snprintf(x->err, sizeof x->err, "%s", err);
        }
    }
    qib__json_arr_end(j);
}

static void *inputs_thread(void *arg)
{
    struct inputsjob *x = arg;
    x->json = fragment_text(1, inputs_fragment, &x->ii);
    return NULL;
}

/* Start the input record.  A run on one thread (--threads 1, as each case
 * of a batch by default) gets no second one: the record is made here and
 * now, before the steps, as it is when no thread can be made. */
static void inputs_start(struct run *r, struct inputsjob *x)
{
    memset(x, 0, sizeof *x);
    x->ii.r = r;
    x->ii.rc = QIB_OK;
    if (qib_pool_threads(r->pool) >= 2) {
        /* Signals (SIGINT and SIGTERM interrupt the run) stay with the
         * threads that had them: the new one starts with all blocked. */
        sigset_t all, old;
        sigfillset(&all);
        int masked = pthread_sigmask(SIG_SETMASK, &all, &old) == 0;
        x->started = pthread_create(&x->thread, NULL, inputs_thread, x) == 0;
        if (masked)
            pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (!x->started)
        inputs_thread(x);
}

/* Wait for the input record and put it in the run.  An input that cannot
 * be hashed is the run's error whatever a step reported meanwhile: it is
 * the cause, and the message is the one a run reports when the input is
 * hashed before the steps. */
static void inputs_join(struct run *r, struct inputsjob *x)
{
    if (x->joined)
        return;
    if (x->started)
        pthread_join(x->thread, NULL);
    x->started = 0;
    x->joined = 1;
    r->inputsjson = x->json;
    x->json = NULL;
    if (!r->inputsjson)
        r->oom = 1;
    if (x->ii.rc != QIB_OK) {
        free(r->error);
        r->error = NULL;
        set_error(r, x->ii.rc, "%s", x->ii.err);
    }
}

/* ---- the whole record ---- */

struct docinfo {
    struct run *r;
    const char *status;
    int final;
    int removed; /* files were removed */
};

static void param_value(struct qib__json *j, const struct qib__pparam *pp, const char *text)
{
    union pstore st;
    memset(&st, 0, sizeof st);
    char err[256];
    if (qib__param_store_text(&pp->decl, text, &st, err, sizeof err) == QIB_OK)
        qib__prov_param(j, "value", &pp->decl, &st);
    else
        qib__json_str(j, "value", text);
    qib__param_clear(&pp->decl, &st);
}

static void doc(struct qib__json *j, void *arg)
{
    struct docinfo *x = arg;
    struct run *r = x->r;
    const struct qib__plan *plan = r->plan;
    const struct qib__pipeline *pl = plan->pl;
    char t[32];
    struct timespec now;

    qib__json_obj_begin(j, NULL);
    qib__json_int(j, "qib_provenance", 1);
    qib__json_str(j, "status", x->status);
    if (r->error)
        qib__json_str(j, "error", r->error);
    qib__iso8601_utc(&r->t0_real, t);
    qib__json_str(j, "started", t);
    if (x->final) {
        clock_gettime(CLOCK_REALTIME, &now);
        qib__iso8601_utc(&now, t);
        qib__json_str(j, "finished", t);
        qib__json_double(j, "wall_seconds", since(&r->t0_mono));
        qib__json_double(j, "cpu_seconds", cpu_seconds());
        qib__json_int(j, "peak_rss_kib", peak_rss_kib());
    }
    qib__json_arr_begin(j, "command");
    qib__json_str(j, NULL, "qib");
    for (int i = 0; i < r->o->argc; i++)
        qib__json_str(j, NULL, r->o->argv[i]);
    qib__json_arr_end(j);
    char *cwd = getcwd(NULL, 0);
    qib__json_str(j, "cwd", cwd);
    free(cwd);
    qib__prov_qib(j, "qib");
    qib__prov_host(j, "host");
    qib__json_int(j, "threads", qib_pool_threads(r->pool));

    qib__json_obj_begin(j, "pipeline");
    qib__json_str(j, "path", pl->path);
    char *rp = realpath(pl->path, NULL);
    qib__json_str(j, "realpath", rp);
    free(rp);
    qib__json_str(j, "sha256", pl->sha256);
    qib__json_int(j, "format", pl->version);
    qib__json_str(j, "name", pl->name);
    if (pl->description)
        qib__json_str(j, "description", pl->description);
    qib__json_arr_begin(j, "references");
    for (size_t i = 0; i < pl->nreferences; i++)
        qib__json_str(j, NULL, pl->references[i]);
    qib__json_arr_end(j);
    qib__json_obj_end(j);

    qib__json_arr_begin(j, "params");
    for (size_t i = 0; i < pl->nparams; i++) {
        const struct qib__pparam *pp = &pl->params[i];
        qib__json_obj_begin(j, NULL);
        qib__json_str(j, "name", pp->name);
        qib__json_str(j, "type", qib__param_type_name(pp->decl.type));
        param_value(j, pp, plan->params[i].value);
        qib__json_str(j, "source", plan->params[i].overridden ? "command line" : "default");
        qib__json_obj_end(j);
    }
    qib__json_arr_end(j);

    if (r->inputsjson)
        qib__json_raw(j, "inputs", r->inputsjson);
    else
        qib__json_null(j, "inputs");

    qib__json_arr_begin(j, "plugins");
    for (size_t i = 0; i < plan->nsteps; i++) {
        const struct qib__module *m = plan->steps[i].mod;
        int seen = 0;
        for (size_t k = 0; k < i; k++)
            seen |= plan->steps[k].mod == m;
        if (seen)
            continue;
        qib__json_obj_begin(j, NULL);
        qib__json_str(j, "name", m->full_name);
        qib__json_str(j, "version", m->desc->version);
        qib__json_str(j, "license", m->desc->license);
        qib__json_str(j, "module", m->path);
        qib__json_str(j, "sha256", m->sha256);
        qib__json_int(j, "abi_major", m->desc->abi_major);
        qib__json_int(j, "abi_minor", m->desc->abi_minor);
        qib__json_obj_end(j);
    }
    qib__json_arr_end(j);

    qib__json_arr_begin(j, "steps");
    for (size_t i = 0; i < plan->nsteps; i++) {
        if (r->stepjson[i]) {
            qib__json_raw(j, NULL, r->stepjson[i]);
        } else {
            qib__json_obj_begin(j, NULL);
            qib__json_str(j, "id", plan->steps[i].ps->id);
            qib__json_str(j, "plugin", plan->steps[i].mod->full_name);
            qib__json_str(j, "status", x->final ? "not run" : "pending");
            qib__json_obj_end(j);
        }
    }
    qib__json_arr_end(j);

    qib__json_obj_begin(j, "outputs");
    for (size_t i = 0; i < pl->noutputs; i++) {
        const struct qib__poutput *po = &pl->outputs[i];
        if (po->file.s) {
            const char *want = plan->declared_files[i];
            const struct ofile *f = NULL;
            for (size_t k = 0; want && k < r->nfiles; k++)
                if (strcmp(r->files[k].rel, want) == 0)
                    f = &r->files[k];
            qib__json_obj_begin(j, po->name);
            qib__json_str(j, "file", want);
            if (po->help)
                qib__json_str(j, "help", po->help);
            qib__json_str(j, "sha256", f && !x->removed ? f->sha : NULL);
            qib__json_obj_end(j);
        } else if (r->outjson[i]) {
            qib__json_raw(j, po->name, r->outjson[i]);
        } else {
            qib__json_null(j, po->name);
        }
    }
    qib__json_obj_end(j);

    qib__json_arr_begin(j, x->removed ? "files_removed" : "files");
    for (size_t k = 0; k < r->nfiles; k++) {
        qib__json_obj_begin(j, NULL);
        qib__json_str(j, "path", r->files[k].rel);
        qib__json_str(j, "sha256", r->files[k].sha);
        qib__json_str(j, "step", r->files[k].step);
        qib__json_obj_end(j);
    }
    qib__json_arr_end(j);
    if (x->removed) {
        qib__json_arr_begin(j, "files");
        qib__json_arr_end(j);
    }
    qib__json_obj_end(j);
}

static int write_record(struct run *r, const char *status, int final, int removed, char *err,
                        size_t errlen)
{
    struct docinfo x = {r, status, final, removed};
    char *text = fragment(r, 0, doc, &x);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return QIB_ENOMEM;
    }
    int rc = qib__write_file_atomic(r->o->outdir, "provenance.json", text, strlen(text), err, errlen);
    free(text);
    return rc;
}

/* mkdir -p */
static int make_dirs(const char *path, char *err, size_t errlen)
{
    char *p = strdup(path);
    if (!p)
        return QIB_ENOMEM;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    for (char *c = p + 1;; c++) {
        if (*c == '/' || *c == '\0') {
            char keep = *c;
            *c = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                snprintf(err, errlen, "%s: cannot create the output directory: %s", p, strerror(errno));
                free(p);
                return QIB_EIO;
            }
            *c = keep;
            if (!keep)
                break;
        }
    }
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: not a directory", p);
        free(p);
        return QIB_EIO;
    }
    free(p);
    return QIB_OK;
}

static int add_file(struct run *r, const char *rel, const char *full, const char *sha,
                    const char *step)
{
    if (r->nfiles == r->capfiles) {
        size_t cap = r->capfiles ? 2 * r->capfiles : 8;
        struct ofile *f = realloc(r->files, cap * sizeof *f);
        if (!f)
            return QIB_ENOMEM;
        r->files = f;
        r->capfiles = cap;
    }
    struct ofile *f = &r->files[r->nfiles];
    f->rel = strdup(rel);
    f->full = strdup(full);
    f->step = strdup(step);
    snprintf(f->sha, sizeof f->sha, "%s", sha ? sha : "");
    if (!f->rel || !f->full || !f->step) {
        free(f->rel);
        free(f->full);
        free(f->step);
        return QIB_ENOMEM;
    }
    r->nfiles++;
    return QIB_OK;
}

static const char *where(const struct run *r, const struct qib__pstep *ps, char *buf, size_t len)
{
    snprintf(buf, len, "%s:%d:%d", r->plan->pl->path, ps->pos.line, ps->pos.col);
    return buf;
}

/* Run step @p si.  Returns QIB_OK or the failure status (message set). */
static int run_step(struct run *r, size_t si)
{
    struct qib__plan *plan = r->plan;
    struct qib__rstep *rs = &plan->steps[si];
    const struct qib__pstep *ps = rs->ps;
    const struct qib__runopts *o = r->o;
    qib_step *s = rs->step;
    const struct qib_plugin *d = rs->mod->desc;
    char at[600], err[1024];
    where(r, ps, at, sizeof at);
    if (!s) {
        /* The validator creates every step of a plan it accepts with all
         * inputs known; a missing one is a bug, reported as such. */
        set_error(r, QIB_EPLUGIN, "%s: step \"%s\": not prepared by the validator", at, ps->id);
        return QIB_EPLUGIN;
    }

    struct stepinfo x = {.r = r, .si = si, .step = s, .status = "ok"};
    struct timespec t0r, t0;
    clock_gettime(CLOCK_REALTIME, &t0r);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    qib__iso8601_utc(&t0r, x.started);
    double cpu0 = cpu_seconds();

    /* Wire the inputs; the last reader gets the runner's own reference. */
    int rc = QIB_OK;
    for (size_t w = 0; w < rs->nwires && rc == QIB_OK; w++) {
        const struct qib__rwire *rw = &rs->wires[w];
        struct obj *ob = &r->store[rw->from_step][rw->from_port];
        const char *port = d->inputs[rw->port].name;
        const struct qib__rstep *from = &plan->steps[rw->from_step];
        if (!ob->p) {
            if (d->inputs[rw->port].flags & QIB_PORT_OPTIONAL)
                continue;
            rc = qib__step_fail(s, QIB_EINVAL, "input \"%s\": step \"%s\" did not produce output \"%s\"",
                                port, from->ps->id, from->mod->desc->outputs[rw->from_port].name);
            break;
        }
        void *p = ob->p;
        if (rw->last)
            ob->p = NULL; /* handed over */
        rc = qib__step_wire(s, port, ob->kind, p, rw->last, err, sizeof err);
        if (rc != QIB_OK)
            qib__step_fail(s, rc, "%s", err);
    }
    if (rc == QIB_OK) {
        qib__step_set_log(s, plugin_log, (void *)o);
        qib__step_set_interrupt(s, o->interrupt);
        rc = qib__step_run(s);
    }
    x.wall = since(&t0);
    x.cpu = usec(cpu_seconds() - cpu0);
    x.rss = peak_rss_kib();

    /* Files written, also by a failed step (committed files stay committed
     * until the run decides). */
    for (size_t i = 0; i < qib__step_noutfiles(s); i++) {
        const char *rel, *full, *sha;
        qib__step_outfile_at(s, i, &rel, &full, &sha);
        if (add_file(r, rel, full, sha, ps->id) != QIB_OK)
            r->oom = 1;
    }
    if (rc != QIB_OK) {
        x.status = rc == QIB_EINTR ? "interrupted" : "failed";
        x.error = qib__step_error(s);
        set_error(r, rc, "%s: step \"%s\" (%s %s): %s", at, ps->id, rs->mod->full_name,
                  d->version, qib__step_error(s));
    }
    r->stepjson[si] = fragment(r, 2, step_fragment, &x);

    if (rc == QIB_OK) {
        /* Objects a declared output names go into the record with content. */
        for (size_t i = 0; i < plan->pl->noutputs; i++) {
            const struct qib__poutput *po = &plan->pl->outputs[i];
            if (!po->step || strcmp(po->step, ps->id) != 0)
                continue;
            const char *port = po->outport ? po->outport : d->outputs[0].name;
            struct outinfo oi = {.po = po, .port = port};
            oi.obj = qib__step_output(s, port, &oi.kind);
            if (oi.obj)
                r->outjson[i] = fragment(r, 2, output_fragment, &oi);
        }
        /* Keep what later steps read; the rest goes with the step. */
        for (size_t p = 0; p < r->nout[si]; p++) {
            if (!rs->nreaders[p])
                continue;
            enum qib_obj_kind kind;
            void *ob = qib__step_take_output(s, d->outputs[p].name, &kind);
            r->store[si][p].kind = kind;
            r->store[si][p].p = ob;
        }
    }
    if (o->verbosity >= QIB__NORMAL) {
        if (rc == QIB_OK)
            logline(o, "qib: [%zu/%zu] %s (%s %s): %.3f s, peak memory %.1f MiB", si + 1,
                    plan->nsteps, ps->id, rs->mod->full_name, d->version, x.wall,
                    (double)x.rss / 1024.0);
        else
            logline(o, "qib: [%zu/%zu] %s (%s %s): %s after %.3f s", si + 1, plan->nsteps, ps->id,
                    rs->mod->full_name, d->version, x.status, x.wall);
    }
    qib__step_free(&rs->step);

    /* Objects whose last reader was this step: their references went with
     * the step.  Anything left in the store for them is dropped now. */
    for (size_t i = 0; i <= si; i++) {
        for (size_t p = 0; p < r->nout[i]; p++) {
            if (!plan->steps[i].nreaders[p] || plan->steps[i].last_reader[p] != si)
                continue;
            if (r->store[i][p].p)
                obj_drop(&r->store[i][p]);
            if (o->verbosity >= QIB__VERBOSE)
                logline(o, "qib: released %s.%s after its last reader, step \"%s\"",
                        plan->steps[i].ps->id, plan->steps[i].mod->desc->outputs[p].name, ps->id);
        }
    }
    return rc;
}

int qib__run(struct qib__plan *plan, qib_pool *pool, const struct qib__runopts *o, char *err,
             size_t errlen)
{
    struct run r;
    memset(&r, 0, sizeof r);
    r.plan = plan;
    r.o = o;
    r.pool = pool;
    r.status = QIB_OK;
    struct inputsjob ij;
    memset(&ij, 0, sizeof ij);
    const struct qib__pipeline *pl = plan->pl;
    clock_gettime(CLOCK_REALTIME, &r.t0_real);
    clock_gettime(CLOCK_MONOTONIC, &r.t0_mono);
    err[0] = '\0';

    r.store = calloc(plan->nsteps, sizeof *r.store);
    r.nout = calloc(plan->nsteps, sizeof *r.nout);
    r.stepjson = calloc(plan->nsteps, sizeof *r.stepjson);
    r.outjson = calloc(pl->noutputs ? pl->noutputs : 1, sizeof *r.outjson);
    int rc = QIB_OK;
    if (!r.store || !r.nout || !r.stepjson || !r.outjson) {
        rc = QIB_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < plan->nsteps; i++) {
        r.nout[i] = qib__nports(plan->steps[i].mod->desc->outputs);
        r.store[i] = calloc(r.nout[i] ? r.nout[i] : 1, sizeof **r.store);
        if (!r.store[i]) {
            rc = QIB_ENOMEM;
            snprintf(err, errlen, "out of memory");
            goto done;
        }
    }

    /* Provenance names each module by its digest; only the modules this
     * run uses are hashed. */
    for (size_t i = 0; i < plan->nsteps; i++) {
        const struct qib__module *m = plan->steps[i].mod;
        if (qib__module_hash(m) != QIB_OK) {
            rc = QIB_EIO;
            snprintf(err, errlen, "plugin %s: %s: cannot be read to hash it: %s", m->full_name,
                     m->path, strerror(errno));
            goto done;
        }
    }

    rc = make_dirs(o->outdir, err, errlen);
    if (rc != QIB_OK)
        goto done;
    /* A record saying "running" first: a run killed outright leaves a
     * record that says it did not finish, never an older complete one. */
    rc = write_record(&r, "running", 0, 0, err, errlen);
    if (rc != QIB_OK)
        goto done;

    if (o->verbosity >= QIB__VERBOSE)
        logline(o, "qib: hashing inputs");
    inputs_start(&r, &ij);
    if (!ij.started)
        inputs_join(&r, &ij);

    for (size_t si = 0; si < plan->nsteps && r.status == QIB_OK && !r.oom; si++) {
        if (o->interrupt && *o->interrupt) {
            set_error(&r, QIB_EINTR, "interrupted before step \"%s\"", plan->steps[si].ps->id);
            break;
        }
        run_step(&r, si);
    }
    inputs_join(&r, &ij);
    if (r.oom)
        set_error(&r, QIB_ENOMEM, "out of memory");
    if (r.status == QIB_OK && o->interrupt && *o->interrupt)
        set_error(&r, QIB_EINTR, "interrupted");

    /* Every declared output file must exist. */
    for (size_t i = 0; r.status == QIB_OK && i < pl->noutputs; i++) {
        const char *want = plan->declared_files[i];
        if (!pl->outputs[i].file.s || !want)
            continue;
        int found = 0;
        for (size_t k = 0; k < r.nfiles; k++)
            found |= strcmp(r.files[k].rel, want) == 0;
        if (!found)
            set_error(&r, QIB_ENOTFOUND, "%s:%d:%d: output \"%s\": no step wrote \"%s\"", pl->path,
                      pl->outputs[i].pos.line, pl->outputs[i].pos.col, pl->outputs[i].name, want);
    }

    int removed = 0;
    if (r.status != QIB_OK) {
        for (size_t k = 0; k < r.nfiles; k++)
            if (unlink(r.files[k].full) != 0 && errno != ENOENT && o->log)
                logline(o, "qib: %s: cannot remove: %s", r.files[k].full, strerror(errno));
        removed = 1;
        if (r.nfiles && o->verbosity >= QIB__NORMAL)
            logline(o, "qib: removed the %zu output file%s of the unfinished run", r.nfiles,
                    r.nfiles == 1 ? "" : "s");
    }
    const char *status = r.status == QIB_OK ? "complete"
                         : r.status == QIB_EINTR ? "interrupted"
                                                 : "failed";
    char werr[512];
    int wrc = write_record(&r, status, 1, removed, werr, sizeof werr);
    rc = r.status;
    if (rc != QIB_OK)
        snprintf(err, errlen, "%s", r.error ? r.error : qib_strerror(rc));
    else if (wrc != QIB_OK) {
        rc = wrc;
        snprintf(err, errlen, "%s", werr);
    }

done:
    if (ij.started)
        pthread_join(ij.thread, NULL);
    free(ij.json);
    for (size_t i = 0; r.store && i < plan->nsteps; i++) {
        for (size_t p = 0; r.store[i] && p < r.nout[i]; p++)
            if (r.store[i][p].p)
                obj_drop(&r.store[i][p]);
        free(r.store[i]);
    }
    free(r.store);
    free(r.nout);
    for (size_t i = 0; r.stepjson && i < plan->nsteps; i++)
        free(r.stepjson[i]);
    free(r.stepjson);
    for (size_t i = 0; r.outjson && i < pl->noutputs; i++)
        free(r.outjson[i]);
    free(r.outjson);
    free(r.inputsjson);
    for (size_t k = 0; k < r.nfiles; k++) {
        free(r.files[k].rel);
        free(r.files[k].full);
        free(r.files[k].step);
    }
    free(r.files);
    free(r.error);
    return rc;
}
