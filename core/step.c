/* The step context: what a plugin sees while it runs (include/qib/step.h),
 * and the engine's side of it (core/engine.h): wiring inputs, running
 * check/init/run/fini, verifying outputs, and collecting what provenance
 * needs (records, files read, files written with their digests).  Output
 * files are written under a temporary name and renamed on commit, so a failed
 * step never leaves a file that looks complete. */
#define _GNU_SOURCE
#include "config.h"

#include "engine.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "qib/sha256.h"
#include "qib/status.h"

struct slot {
    enum qib_obj_kind kind; /* QIB_OBJ_VOLUME (masks too), TABLE or TRANSFORM */
    void *obj;              /* one reference held by the step, or NULL */
};

struct kv {
    char *key, *value;
};

struct infile {
    char *path;
    char sha[65];
};

struct outfile {
    char *rel, *full;
    char sha[65];
};

struct qib_ofile {
    qib_step *step;
    FILE *fp;
    char *tmp;  /* the temporary file */
    char *full; /* the final path */
    char *rel;  /* the final path relative to the output directory */
    struct qib_ofile *prev, *next;
};

struct qib_step {
    const struct qib__module *mod;
    const struct qib_plugin *desc;
    char *id;
    qib__params *params;
    qib_pool *pool;
    char *outdir;
    struct slot *in, *out;
    size_t nin, nout;
    int status;
    char *error;
    struct kv *rec;
    size_t nrec, caprec;
    struct infile *inf;
    size_t ninf, capinf;
    struct outfile *outf;
    size_t noutf, capoutf;
    qib__log_fn logfn;
    void *logarg;
    volatile sig_atomic_t *intr;
    struct qib_ofile *open; /* output files not yet committed or aborted */
    int ran;
    int no_digests; /* inputs are checked but not hashed: nobody records them */
};

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static char *vxasprintf(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

QIB_PRINTF(1, 2)
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = vxasprintf(fmt, ap);
    va_end(ap);
    return s;
}

static int grow(void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return QIB_OK;
    size_t nc = *cap ? 2 * *cap : 8;
    void *nv = realloc(*v, nc * elem);
    if (!nv)
        return QIB_ENOMEM;
    *v = nv;
    *cap = nc;
    return QIB_OK;
}

static void obj_unref(struct slot *sl)
{
    switch (sl->kind) {
    case QIB_OBJ_VOLUME:
    case QIB_OBJ_MASK: {
        qib_volume *v = sl->obj;
        qib_volume_unref(&v);
        break;
    }
    case QIB_OBJ_TABLE: {
        qib_table *t = sl->obj;
        qib_table_unref(&t);
        break;
    }
    case QIB_OBJ_TRANSFORM: {
        qib_transform *t = sl->obj;
        qib_transform_unref(&t);
        break;
    }
    }
    sl->obj = NULL;
}

static void obj_ref(enum qib_obj_kind k, void *obj)
{
    switch (k) {
    case QIB_OBJ_VOLUME:
    case QIB_OBJ_MASK: qib_volume_ref(obj); break;
    case QIB_OBJ_TABLE: qib_table_ref(obj); break;
    case QIB_OBJ_TRANSFORM: qib_transform_ref(obj); break;
    }
}

/* ---- failure ---- */

static int set_failv(qib_step *s, int status, const char *fmt, va_list ap)
{
    if (status >= 0)
        status = QIB_EPLUGIN;
    char *msg = vxasprintf(fmt, ap);
    free(s->error);
    s->error = msg; /* NULL when out of memory: qib__step_error then says so */
    s->status = status;
    return status;
}

int qib_fail(qib_step *s, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = set_failv(s, status, fmt, ap);
    va_end(ap);
    return rc;
}

int qib__step_fail(qib_step *s, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = set_failv(s, status, fmt, ap);
    va_end(ap);
    return rc;
}

int qib__step_status(const qib_step *s)
{
    return s->status;
}

const char *qib__step_error(const qib_step *s)
{
    if (s->status == QIB_OK)
        return "";
    return s->error ? s->error : "out of memory while formatting the error message";
}

/* ---- life cycle ---- */

int qib__step_new(const struct qib__module *m, const char *id, qib__params *params,
                  qib_pool *pool, const char *outdir, qib_step **out)
{
    *out = NULL;
    qib_step *s = calloc(1, sizeof *s);
    if (!s) {
        qib__params_free(&params);
        return QIB_ENOMEM;
    }
    s->mod = m;
    s->desc = m->desc;
    s->params = params;
    s->pool = pool;
    s->nin = qib__nports(s->desc->inputs);
    s->nout = qib__nports(s->desc->outputs);
    s->id = xstrdup(id ? id : s->desc->name);
    s->outdir = xstrdup(outdir ? outdir : ".");
    s->in = calloc(s->nin ? s->nin : 1, sizeof *s->in);
    s->out = calloc(s->nout ? s->nout : 1, sizeof *s->out);
    if (!s->id || !s->outdir || !s->in || !s->out) {
        qib__step_free(&s);
        return QIB_ENOMEM;
    }
    *out = s;
    return QIB_OK;
}

void qib__step_no_digests(qib_step *s)
{
    s->no_digests = 1;
}

static void ofile_discard(struct qib_ofile *f);

void qib__step_free(qib_step **sp)
{
    if (!sp || !*sp)
        return;
    qib_step *s = *sp;
    while (s->open)
        ofile_discard(s->open);
    for (size_t i = 0; s->in && i < s->nin; i++)
        obj_unref(&s->in[i]);
    for (size_t i = 0; s->out && i < s->nout; i++)
        obj_unref(&s->out[i]);
    free(s->in);
    free(s->out);
    for (size_t i = 0; i < s->nrec; i++) {
        free(s->rec[i].key);
        free(s->rec[i].value);
    }
    free(s->rec);
    for (size_t i = 0; i < s->ninf; i++)
        free(s->inf[i].path);
    free(s->inf);
    for (size_t i = 0; i < s->noutf; i++) {
        free(s->outf[i].rel);
        free(s->outf[i].full);
    }
    free(s->outf);
    qib__params_free(&s->params);
    free(s->id);
    free(s->outdir);
    free(s->error);
    free(s);
    *sp = NULL;
}

const struct qib__module *qib__step_module(const qib_step *s)
{
    return s->mod;
}

const qib__params *qib__step_params(const qib_step *s)
{
    return s->params;
}

const char *qib_step_id(const qib_step *s)
{
    return s->id;
}

qib_pool *qib_step_pool(qib_step *s)
{
    return s->pool;
}

void qib__step_set_log(qib_step *s, qib__log_fn fn, void *arg)
{
    s->logfn = fn;
    s->logarg = arg;
}

void qib_step_log(qib_step *s, const char *fmt, ...)
{
    if (!s->logfn)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *line = vxasprintf(fmt, ap);
    va_end(ap);
    if (line) {
        /* One line per call: a trailing newline from the plugin is dropped. */
        size_t n = strlen(line);
        while (n && line[n - 1] == '\n')
            line[--n] = 0;
        s->logfn(s->logarg, s, line);
    }
    free(line);
}

void qib__step_set_interrupt(qib_step *s, volatile sig_atomic_t *flag)
{
    s->intr = flag;
}

int qib_step_check_grid(qib_step *step, const char *port, const qib_volume *vol,
                        const qib_volume *image)
{
    char why[256], ga[320], gb[320];
    const struct qib_geom *g = qib_volume_geom(image), *gv = qib_volume_geom(vol);
    if (qib_geom_same_grid(g, gv, QIB_GRID_TOL, why, sizeof why) == QIB_OK)
        return QIB_OK;
    qib_geom_format(g, ga, sizeof ga);
    qib_geom_format(gv, gb, sizeof gb);
    return qib_fail(step, QIB_EGEOMETRY,
                    "%s is not on the image's grid (%s; tolerance %g): image: %s; %s: %s", port,
                    why, QIB_GRID_TOL, ga, port, gb);
}

int qib_step_interrupted(qib_step *step)
{
    return qib__step_interrupted(step);
}

int qib__step_interrupted(const qib_step *s)
{
    return s->intr && *s->intr;
}

/* ---- wiring ---- */

static void port_list(const struct qib_port *ports, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; ports && ports[i].name; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", ports[i].name);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
}

QIB_PRINTF(4, 5)
static int errf(int status, char *err, size_t len, const char *fmt, ...)
{
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return status;
}

int qib__step_wire(qib_step *s, const char *port, enum qib_obj_kind kind, void *obj,
                   int transfer, char *err, size_t len)
{
    struct slot given = {.kind = kind == QIB_OBJ_MASK ? QIB_OBJ_VOLUME : kind, .obj = obj};
    size_t i;
    const struct qib_port *p = qib__port_find(s->desc->inputs, port, &i);
    int rc = QIB_OK;
    if (!p) {
        char list[256];
        port_list(s->desc->inputs, list, sizeof list);
        rc = errf(QIB_ENOTFOUND, err, len, "%s has no input port \"%s\" (its inputs: %s)",
                  s->mod->full_name, port, *list ? list : "none");
    } else if (!obj) {
        rc = errf(QIB_EINVAL, err, len, "input \"%s\": no object", port);
    } else if (kind < QIB_OBJ_VOLUME || kind > QIB_OBJ_TRANSFORM) {
        rc = errf(QIB_EINVAL, err, len, "input \"%s\": unknown object kind %d", port, (int)kind);
    } else {
        int fits;
        if (p->kind == QIB_OBJ_VOLUME)
            fits = given.kind == QIB_OBJ_VOLUME;
        else if (p->kind == QIB_OBJ_MASK)
            fits = given.kind == QIB_OBJ_VOLUME && qib_volume_is_mask(obj);
        else
            fits = given.kind == p->kind;
        if (!fits) {
            const char *got = given.kind == QIB_OBJ_VOLUME && qib_volume_is_mask(obj)
                                  ? "a mask"
                              : given.kind == QIB_OBJ_VOLUME ? "a volume that is not a mask"
                              : given.kind == QIB_OBJ_TABLE  ? "a table"
                                                             : "a transform";
            rc = errf(QIB_EINVAL, err, len, "input \"%s\" takes a %s, got %s", port,
                      qib__obj_kind_name(p->kind), got);
        }
    }
    if (rc != QIB_OK) {
        if (transfer && obj && given.kind >= QIB_OBJ_VOLUME && given.kind <= QIB_OBJ_TRANSFORM)
            obj_unref(&given);
        return rc;
    }
    if (!transfer)
        obj_ref(given.kind, obj);
    obj_unref(&s->in[i]);
    s->in[i] = given;
    return QIB_OK;
}

/* ---- plugin side: inputs ---- */

static struct slot *in_slot(qib_step *s, const char *port)
{
    size_t i;
    if (!port || !qib__port_find(s->desc->inputs, port, &i))
        return NULL;
    return &s->in[i];
}

const qib_volume *qib_step_in_volume(qib_step *s, const char *port)
{
    struct slot *sl = in_slot(s, port);
    return sl && sl->kind == QIB_OBJ_VOLUME ? sl->obj : NULL;
}

const qib_table *qib_step_in_table(qib_step *s, const char *port)
{
    struct slot *sl = in_slot(s, port);
    return sl && sl->kind == QIB_OBJ_TABLE ? sl->obj : NULL;
}

const qib_transform *qib_step_in_transform(qib_step *s, const char *port)
{
    struct slot *sl = in_slot(s, port);
    return sl && sl->kind == QIB_OBJ_TRANSFORM ? sl->obj : NULL;
}

/* The step holds exactly one reference per wired input: the runner's own
 * when the step is the last reader, a new one otherwise.  Taking hands that
 * reference to the plugin and empties the port, so the plugin never holds a
 * borrowed pointer that its own make_writable or unref could invalidate. */
qib_volume *qib_step_take_volume(qib_step *s, const char *port)
{
    struct slot *sl = in_slot(s, port);
    if (!sl || sl->kind != QIB_OBJ_VOLUME || !sl->obj)
        return NULL;
    qib_volume *v = sl->obj;
    sl->obj = NULL;
    return v;
}

/* ---- plugin side: outputs ---- */

static int set_output(qib_step *s, const char *port, enum qib_obj_kind kind, void *obj)
{
    struct slot given = {.kind = kind, .obj = obj};
    size_t i;
    const struct qib_port *p = port ? qib__port_find(s->desc->outputs, port, &i) : NULL;
    if (!p) {
        obj_unref(&given);
        return qib_fail(s, QIB_ENOTFOUND, "the plugin set output \"%s\", which it does not declare",
                        port ? port : "(null)");
    }
    if (!obj)
        return qib_fail(s, QIB_EINVAL, "the plugin set output \"%s\" to NULL", port);
    int fits = p->kind == QIB_OBJ_MASK ? kind == QIB_OBJ_VOLUME && qib_volume_is_mask(obj)
                                       : p->kind == kind;
    if (!fits) {
        obj_unref(&given);
        return qib_fail(s, QIB_EINVAL, "output \"%s\" is a %s; the plugin set %s", port,
                        qib__obj_kind_name(p->kind),
                        kind == QIB_OBJ_VOLUME ? "a volume that is not a mask"
                        : kind == QIB_OBJ_TABLE ? "a table"
                                                : "a transform");
    }
    obj_unref(&s->out[i]);
    s->out[i] = given;
    return QIB_OK;
}

int qib_step_set_volume(qib_step *s, const char *port, qib_volume *v)
{
    return set_output(s, port, QIB_OBJ_VOLUME, v);
}

int qib_step_set_table(qib_step *s, const char *port, qib_table *t)
{
    return set_output(s, port, QIB_OBJ_TABLE, t);
}

int qib_step_set_transform(qib_step *s, const char *port, qib_transform *t)
{
    return set_output(s, port, QIB_OBJ_TRANSFORM, t);
}

void *qib__step_output(const qib_step *s, const char *port, enum qib_obj_kind *kind)
{
    size_t i;
    if (!port || !qib__port_find(s->desc->outputs, port, &i) || !s->out[i].obj)
        return NULL;
    if (kind)
        *kind = s->out[i].kind;
    return s->out[i].obj;
}

void *qib__step_take_output(qib_step *s, const char *port, enum qib_obj_kind *kind)
{
    size_t i;
    if (!port || !qib__port_find(s->desc->outputs, port, &i) || !s->out[i].obj)
        return NULL;
    if (kind)
        *kind = s->out[i].kind;
    void *o = s->out[i].obj;
    s->out[i].obj = NULL;
    return o;
}

/* ---- provenance records ---- */

int qib_step_record(qib_step *s, const char *key, const char *value)
{
    if (!key || !*key || !value)
        return qib_fail(s, QIB_EINVAL, "qib_step_record: empty key or NULL value");
    char *v = xstrdup(value);
    if (!v)
        return qib_fail(s, QIB_ENOMEM, "out of memory recording \"%s\"", key);
    for (size_t i = 0; i < s->nrec; i++) {
        if (strcmp(s->rec[i].key, key) == 0) {
            free(s->rec[i].value);
            s->rec[i].value = v;
            return QIB_OK;
        }
    }
    char *k = xstrdup(key);
    if (!k || grow((void **)&s->rec, &s->caprec, s->nrec, sizeof *s->rec) != QIB_OK) {
        free(k);
        free(v);
        return qib_fail(s, QIB_ENOMEM, "out of memory recording \"%s\"", key);
    }
    s->rec[s->nrec].key = k;
    s->rec[s->nrec].value = v;
    s->nrec++;
    return QIB_OK;
}

size_t qib__step_nrecords(const qib_step *s)
{
    return s->nrec;
}

void qib__step_record_at(const qib_step *s, size_t i, const char **key, const char **value)
{
    if (key)
        *key = i < s->nrec ? s->rec[i].key : NULL;
    if (value)
        *value = i < s->nrec ? s->rec[i].value : NULL;
}

int qib_step_record_input(qib_step *s, const char *path)
{
    char hex[65];
    if (!path || !*path)
        return qib_fail(s, QIB_EINVAL, "qib_step_record_input: empty path");
    if (s->no_digests ? access(path, R_OK) != 0 : qib_sha256_file(path, hex) != QIB_OK)
        return qib_fail(s, QIB_EIO, "%s: cannot be read to record its SHA-256: %s", path,
                        strerror(errno));
    if (s->no_digests)
        hex[0] = '\0';
    char *p = xstrdup(path);
    if (!p || grow((void **)&s->inf, &s->capinf, s->ninf, sizeof *s->inf) != QIB_OK) {
        free(p);
        return qib_fail(s, QIB_ENOMEM, "out of memory recording input %s", path);
    }
    s->inf[s->ninf].path = p;
    memcpy(s->inf[s->ninf].sha, hex, sizeof hex);
    s->ninf++;
    return QIB_OK;
}

size_t qib__step_ninputs(const qib_step *s)
{
    return s->ninf;
}

void qib__step_input_at(const qib_step *s, size_t i, const char **path, const char **sha256)
{
    if (path)
        *path = i < s->ninf ? s->inf[i].path : NULL;
    if (sha256)
        *sha256 = i < s->ninf ? s->inf[i].sha : NULL;
}

size_t qib__step_noutfiles(const qib_step *s)
{
    return s->noutf;
}

void qib__step_outfile_at(const qib_step *s, size_t i, const char **rel, const char **full,
                          const char **sha256)
{
    if (rel)
        *rel = i < s->noutf ? s->outf[i].rel : NULL;
    if (full)
        *full = i < s->noutf ? s->outf[i].full : NULL;
    if (sha256)
        *sha256 = i < s->noutf ? s->outf[i].sha : NULL;
}

/* ---- output files ---- */

/* "a/./b/../c" -> "a/c"; the path was checked by qib__relpath_check, so
 * ".." never climbs above the start.  Returns a malloc'd string. */
static char *normalise(const char *rel)
{
    size_t n = strlen(rel);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t used = 0;
    const char *s = rel;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            while (used > 0 && out[used - 1] != '/')
                used--;
            if (used > 0)
                used--; /* the '/' before the dropped component */
        } else if (len > 0 && !(len == 1 && s[0] == '.')) {
            if (used)
                out[used++] = '/';
            memcpy(out + used, s, len);
            used += len;
        }
        s += len;
        while (*s == '/')
            s++;
    }
    out[used] = 0;
    return out;
}

/* mkdir -p for every directory above @p full: the parents under the output
 * directory, and the output directory itself when it does not exist yet. */
static int make_parents(const char *full)
{
    char *p = xstrdup(full);
    if (!p)
        return QIB_ENOMEM;
    for (char *c = p + 1; *c; c++) {
        if (*c != '/')
            continue;
        *c = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            free(p);
            errno = e;
            return QIB_EIO;
        }
        *c = '/';
    }
    free(p);
    return QIB_OK;
}

int qib_step_create_output(qib_step *s, const char *path, qib_ofile **out)
{
    *out = NULL;
    char why[512];
    if (qib__relpath_check(path, why, sizeof why) != QIB_OK)
        return qib_fail(s, QIB_EINVAL, "output file: %s", why);
    struct qib_ofile *f = calloc(1, sizeof *f);
    char *rel = normalise(path);
    if (!f || !rel) {
        free(f);
        free(rel);
        return qib_fail(s, QIB_ENOMEM, "%s: out of memory", path);
    }
    f->step = s;
    f->rel = rel;
    size_t dl = strlen(s->outdir);
    while (dl > 1 && s->outdir[dl - 1] == '/')
        dl--;
    f->full = xasprintf("%.*s/%s", (int)dl, s->outdir, rel);
    const char *slash = f->full ? strrchr(f->full, '/') : NULL;
    if (slash)
        f->tmp = xasprintf("%.*s.%s.tmp-XXXXXX", (int)(slash + 1 - f->full), f->full, slash + 1);
    if (!f->full || !f->tmp) {
        free(f->full);
        free(f->rel);
        free(f);
        return qib_fail(s, QIB_ENOMEM, "%s: out of memory", path);
    }
    int fd = -1;
    if (make_parents(f->full) != QIB_OK || (fd = mkstemp(f->tmp)) < 0) {
        int e = errno;
        int rc = qib_fail(s, QIB_EIO, "%s: cannot create: %s", f->full, strerror(e));
        free(f->tmp);
        free(f->full);
        free(f->rel);
        free(f);
        return rc;
    }
    /* mkstemp creates the file 0600; give the output the permissions any
     * other new file would get under the user's umask. */
    mode_t um = umask(0);
    umask(um);
    if (fchmod(fd, 0666 & ~um) != 0 || !(f->fp = fdopen(fd, "wb"))) {
        int e = errno;
        close(fd);
        unlink(f->tmp);
        int rc = qib_fail(s, QIB_EIO, "%s: cannot open: %s", f->tmp, strerror(e));
        free(f->tmp);
        free(f->full);
        free(f->rel);
        free(f);
        return rc;
    }
    f->next = s->open;
    if (s->open)
        s->open->prev = f;
    s->open = f;
    *out = f;
    return QIB_OK;
}

FILE *qib_ofile_stream(qib_ofile *f)
{
    return f->fp;
}

const char *qib_ofile_path(const qib_ofile *f)
{
    return f->full;
}

static void ofile_unlink_list(struct qib_ofile *f)
{
    qib_step *s = f->step;
    if (f->prev)
        f->prev->next = f->next;
    else
        s->open = f->next;
    if (f->next)
        f->next->prev = f->prev;
    f->prev = f->next = NULL;
}

static void ofile_free(struct qib_ofile *f)
{
    free(f->tmp);
    free(f->full);
    free(f->rel);
    free(f);
}

/* Close and delete an uncommitted file, and forget it. */
static void ofile_discard(struct qib_ofile *f)
{
    ofile_unlink_list(f);
    if (f->fp)
        fclose(f->fp);
    unlink(f->tmp);
    ofile_free(f);
}

int qib_ofile_commit(qib_ofile **fp)
{
    if (!fp || !*fp)
        return QIB_EINVAL;
    struct qib_ofile *f = *fp;
    *fp = NULL;
    qib_step *s = f->step;
    ofile_unlink_list(f);
    int e = 0;
    /* an earlier fwrite/fprintf that failed leaves the stream's error flag */
    if (ferror(f->fp))
        e = EIO;
    if (!e && fflush(f->fp) != 0)
        e = errno;
    if (!e && fsync(fileno(f->fp)) != 0)
        e = errno;
    if (fclose(f->fp) != 0 && !e)
        e = errno;
    f->fp = NULL;
    if (!e && rename(f->tmp, f->full) != 0)
        e = errno;
    if (e) {
        unlink(f->tmp);
        int rc = qib_fail(s, QIB_EIO, "%s: cannot write: %s", f->full, strerror(e));
        ofile_free(f);
        return rc;
    }
    char hex[65];
    if (qib_sha256_file(f->full, hex) != QIB_OK) {
        int rc = qib_fail(s, QIB_EIO, "%s: cannot be read back for its SHA-256: %s", f->full,
                          strerror(errno));
        ofile_free(f);
        return rc;
    }
    /* The same file written twice by one step keeps one entry: the last. */
    for (size_t i = 0; i < s->noutf; i++) {
        if (strcmp(s->outf[i].full, f->full) == 0) {
            memcpy(s->outf[i].sha, hex, sizeof hex);
            ofile_free(f);
            return QIB_OK;
        }
    }
    if (grow((void **)&s->outf, &s->capoutf, s->noutf, sizeof *s->outf) != QIB_OK) {
        int rc = qib_fail(s, QIB_ENOMEM, "%s: out of memory recording the output", f->full);
        ofile_free(f);
        return rc;
    }
    s->outf[s->noutf].rel = f->rel;
    s->outf[s->noutf].full = f->full;
    memcpy(s->outf[s->noutf].sha, hex, sizeof hex);
    s->noutf++;
    f->rel = f->full = NULL;
    ofile_free(f);
    return QIB_OK;
}

void qib_ofile_abort(qib_ofile **fp)
{
    if (!fp || !*fp)
        return;
    ofile_discard(*fp);
    *fp = NULL;
}

/* ---- running ---- */

int qib__step_check(qib_step *s)
{
    if (!s->desc->check)
        return QIB_OK;
    s->status = QIB_OK;
    int rc = s->desc->check(s, qib__params_priv_const(s->params));
    if (rc == QIB_OK) {
        s->status = QIB_OK;
        return QIB_OK;
    }
    if (rc > 0)
        rc = QIB_EPLUGIN;
    if (s->status == QIB_OK)
        qib_fail(s, rc, "%s: check() failed with %s and no message", s->mod->full_name,
                 qib_status_name(rc));
    s->status = rc;
    return rc;
}

static int verify_outputs(qib_step *s)
{
    const void *priv = qib__params_priv_const(s->params);
    for (size_t i = 0; i < s->nout; i++) {
        const struct qib_port *p = &s->desc->outputs[i];
        if (!s->out[i].obj) {
            if (p->flags & QIB_PORT_OPTIONAL)
                continue;
            return qib_fail(s, QIB_EPLUGIN, "%s returned success without setting output \"%s\"",
                            s->mod->full_name, p->name);
        }
        if (p->kind != QIB_OBJ_VOLUME && p->kind != QIB_OBJ_MASK)
            continue;
        int is_mask = qib_volume_is_mask(s->out[i].obj);
        enum qib_obj_kind want = qib__output_kind(s->desc, p, priv);
        if (want == QIB_OBJ_MASK && !is_mask)
            return qib_fail(s, QIB_EPLUGIN, "%s set output \"%s\" to a volume not flagged as a mask%s%s",
                            s->mod->full_name, p->name, p->mask_when ? " although " : "",
                            p->mask_when ? p->mask_when : "");
        if (want == QIB_OBJ_VOLUME && p->mask_when && is_mask)
            return qib_fail(s, QIB_EPLUGIN,
                            "%s set output \"%s\" to a mask, which it promises only when %s",
                            s->mod->full_name, p->name, p->mask_when);
    }
    return QIB_OK;
}

int qib__step_run(qib_step *s)
{
    if (s->ran)
        return qib_fail(s, QIB_EINVAL, "step \"%s\" was already run", s->id);
    s->ran = 1;
    s->status = QIB_OK;
    if (qib__step_interrupted(s))
        return qib_fail(s, QIB_EINTR, "interrupted");
    int rc = qib__step_check(s);
    if (rc != QIB_OK)
        return rc;
    for (size_t i = 0; i < s->nin; i++) {
        const struct qib_port *p = &s->desc->inputs[i];
        if (!s->in[i].obj && !(p->flags & QIB_PORT_OPTIONAL))
            return qib_fail(s, QIB_EINVAL, "input \"%s\" (%s) is not connected", p->name,
                            qib__obj_kind_name(p->kind));
    }
    void *priv = qib__params_priv(s->params);
    if (s->desc->init)
        rc = s->desc->init(s, priv);
    if (rc == QIB_OK)
        rc = s->desc->run(s, priv);
    if (s->desc->fini)
        s->desc->fini(priv);
    while (s->open)
        ofile_discard(s->open);
    if (rc == QIB_OK) {
        s->status = QIB_OK;
        rc = verify_outputs(s);
    } else {
        if (rc > 0)
            rc = QIB_EPLUGIN;
        if (s->status == QIB_OK)
            qib_fail(s, rc, "%s failed with %s and no message", s->mod->full_name,
                     qib_status_name(rc));
        s->status = rc;
    }
    if (rc != QIB_OK) {
        if (qib__step_interrupted(s))
            s->status = rc = QIB_EINTR;
        for (size_t i = 0; i < s->nout; i++)
            obj_unref(&s->out[i]);
    }
    return rc;
}
