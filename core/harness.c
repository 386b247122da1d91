/* The plugin harness (include/qib/harness.h): one plugin run alone through
 * the same loader, parameter checks and step context a pipeline uses, so a
 * plugin test exercises exactly what `qib run` would. */
#define _GNU_SOURCE
#include "config.h"

#include "engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qib/harness.h"
#include "qib/status.h"

#ifndef QIB_PLUGINDIR
#define QIB_PLUGINDIR ""
#endif

struct input {
    char *port;
    enum qib_obj_kind kind;
    void *obj;
};

struct qib_harness {
    struct qib__registry *reg;
    const struct qib__module *mod;
    qib__params *params;
    struct input *in;
    size_t nin;
    char *outdir;
    int threads;
    qib_pool *pool;
    qib_step *step;
    int ran;
    char err[2048];
};

QIB_PRINTF(3, 4)
static int herr(qib_harness *h, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->err, sizeof h->err, fmt, ap);
    va_end(ap);
    return status;
}

int qib_harness_new(const char *full_name, qib_harness **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = 0;
    qib_harness *h = calloc(1, sizeof *h);
    if (!h) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return QIB_ENOMEM;
    }
    h->threads = 1;
    int rc = qib__registry_open(&h->reg);
    if (rc != QIB_OK) {
        if (err && errlen)
            snprintf(err, errlen, "loading plugins: %s", qib_strerror(rc));
        qib_harness_free(&h);
        return rc;
    }
    h->mod = qib__registry_find(h->reg, full_name ? full_name : "");
    if (!h->mod) {
        if (err && errlen) {
            const struct qib__problem *pr = qib__registry_problem_for(h->reg, full_name);
            const char *near = qib__registry_suggest(h->reg, full_name);
            const char *path = getenv("QIB_PLUGIN_PATH");
            if (pr)
                snprintf(err, errlen, "plugin \"%s\" not loaded: %s %s", full_name, pr->path,
                         pr->reason);
            else if (near)
                snprintf(err, errlen, "no plugin \"%s\" (did you mean \"%s\"?)", full_name, near);
            else
                snprintf(err, errlen,
                         "no plugin \"%s\" in QIB_PLUGIN_PATH (%s) or %s (%zu plugins loaded)",
                         full_name, path ? path : "unset", QIB_PLUGINDIR, h->reg->nmods);
        }
        qib_harness_free(&h);
        return QIB_ENOTFOUND;
    }
    rc = qib__params_new(h->mod->desc, &h->params);
    if (rc != QIB_OK) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        qib_harness_free(&h);
        return rc;
    }
    *out = h;
    return QIB_OK;
}

int qib__harness_new_module(const struct qib__module *m, qib_harness **out, char *err,
                            size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = 0;
    qib_harness *h = calloc(1, sizeof *h);
    if (!h || qib__params_new(m->desc, &h->params) != QIB_OK) {
        free(h);
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return QIB_ENOMEM;
    }
    h->threads = 1;
    h->mod = m;
    *out = h;
    return QIB_OK;
}

static void unref_obj(enum qib_obj_kind k, void *obj)
{
    if (k == QIB_OBJ_TABLE) {
        qib_table *t = obj;
        qib_table_unref(&t);
    } else if (k == QIB_OBJ_TRANSFORM) {
        qib_transform *t = obj;
        qib_transform_unref(&t);
    } else {
        qib_volume *v = obj;
        qib_volume_unref(&v);
    }
}

void qib_harness_free(qib_harness **hp)
{
    if (!hp || !*hp)
        return;
    qib_harness *h = *hp;
    /* The step and its outputs go before the modules are closed: nothing of
     * a plugin may be touched after dlclose. */
    qib__step_free(&h->step);
    qib__params_free(&h->params);
    for (size_t i = 0; i < h->nin; i++) {
        if (h->in[i].obj)
            unref_obj(h->in[i].kind, h->in[i].obj);
        free(h->in[i].port);
    }
    free(h->in);
    qib_pool_free(&h->pool);
    free(h->outdir);
    qib__registry_free(&h->reg);
    free(h);
    *hp = NULL;
}

int qib_harness_set_param(qib_harness *h, const char *name, const char *value)
{
    if (h->ran || !h->params)
        return herr(h, QIB_EINVAL, "parameters must be set before qib_harness_run");
    if (!name || !value)
        return herr(h, QIB_EINVAL, "qib_harness_set_param: NULL name or value");
    int rc = qib__params_set_text(h->params, name, value, h->err, sizeof h->err);
    if (rc == QIB_OK)
        h->err[0] = 0;
    return rc;
}

int qib_harness_set_param_list(qib_harness *h, const char *name, const char *const *items,
                               size_t n)
{
    if (h->ran || !h->params)
        return herr(h, QIB_EINVAL, "parameters must be set before qib_harness_run");
    if (!name || (n && !items))
        return herr(h, QIB_EINVAL, "qib_harness_set_param_list: NULL name or items");
    for (size_t i = 0; i < n; i++)
        if (!items[i])
            return herr(h, QIB_EINVAL, "qib_harness_set_param_list: item %zu is NULL", i + 1);
    struct qib__pvalue v = {.is_list = 1, .n = n, .items = items};
    int rc = qib__params_set(h->params, name, &v, h->err, sizeof h->err);
    if (rc == QIB_OK)
        h->err[0] = 0;
    return rc;
}

static void ref_obj(enum qib_obj_kind k, void *obj)
{
    if (k == QIB_OBJ_TABLE)
        qib_table_ref(obj);
    else if (k == QIB_OBJ_TRANSFORM)
        qib_transform_ref(obj);
    else
        qib_volume_ref(obj);
}

/* Keep a reference of our own to @p obj (borrowed from the caller). */
static int set_input(qib_harness *h, const char *port, enum qib_obj_kind kind, void *obj)
{
    if (h->ran)
        return herr(h, QIB_EINVAL, "inputs must be wired before qib_harness_run");
    if (!port || !obj)
        return herr(h, QIB_EINVAL, "qib_harness_set_*: NULL port or object");
    const struct qib_port *p = qib__port_find(h->mod->desc->inputs, port, NULL);
    if (!p)
        return herr(h, QIB_ENOTFOUND, "%s has no input port \"%s\"", h->mod->full_name, port);
    for (size_t i = 0; i < h->nin; i++) {
        if (strcmp(h->in[i].port, port) == 0) {
            ref_obj(kind, obj);
            unref_obj(h->in[i].kind, h->in[i].obj);
            h->in[i].kind = kind;
            h->in[i].obj = obj;
            return QIB_OK;
        }
    }
    struct input *ni = realloc(h->in, (h->nin + 1) * sizeof *ni);
    char *name = malloc(strlen(port) + 1);
    if (ni)
        h->in = ni;
    if (!ni || !name) {
        free(name);
        return herr(h, QIB_ENOMEM, "out of memory");
    }
    strcpy(name, port);
    ref_obj(kind, obj);
    h->in[h->nin].port = name;
    h->in[h->nin].kind = kind;
    h->in[h->nin].obj = obj;
    h->nin++;
    return QIB_OK;
}

int qib_harness_set_volume(qib_harness *h, const char *port, qib_volume *v)
{
    return set_input(h, port, QIB_OBJ_VOLUME, v);
}

int qib_harness_set_table(qib_harness *h, const char *port, qib_table *t)
{
    return set_input(h, port, QIB_OBJ_TABLE, t);
}

int qib_harness_set_transform(qib_harness *h, const char *port, qib_transform *t)
{
    return set_input(h, port, QIB_OBJ_TRANSFORM, t);
}

int qib_harness_set_outdir(qib_harness *h, const char *dir)
{
    if (!dir || !*dir)
        return herr(h, QIB_EINVAL, "qib_harness_set_outdir: empty directory");
    char *d = malloc(strlen(dir) + 1);
    if (!d)
        return herr(h, QIB_ENOMEM, "out of memory");
    strcpy(d, dir);
    free(h->outdir);
    h->outdir = d;
    return QIB_OK;
}

int qib_harness_set_threads(qib_harness *h, int n)
{
    if (n < 1)
        return herr(h, QIB_EINVAL, "qib_harness_set_threads: %d threads (at least 1)", n);
    h->threads = n;
    return QIB_OK;
}

int qib_harness_run(qib_harness *h)
{
    if (h->ran)
        return herr(h, QIB_EINVAL, "qib_harness_run may be called once");
    h->ran = 1;
    h->err[0] = 0;
    int rc = qib__params_finish(h->params, h->err, sizeof h->err);
    if (rc != QIB_OK)
        return rc;
    rc = qib_pool_new(h->threads, &h->pool);
    if (rc != QIB_OK)
        return herr(h, rc, "cannot start %d threads: %s", h->threads, qib_strerror(rc));
    qib__params *params = h->params;
    h->params = NULL;
    rc = qib__step_new(h->mod, h->mod->desc->name, params, h->pool, h->outdir, &h->step);
    /* The harness writes no provenance record, so reading a file need not
     * hash it (a third of `qib info`'s time on a 250-file DICOM series). */
    if (rc == QIB_OK)
        qib__step_no_digests(h->step);
    if (rc != QIB_OK)
        return herr(h, rc, "out of memory");
    /* The harness is the last reader of everything it was given: hand its
     * references over, so a plugin taking an input the caller has already
     * released can work in place, as it would in a pipeline. */
    for (size_t i = 0; i < h->nin; i++) {
        void *obj = h->in[i].obj;
        h->in[i].obj = NULL;
        rc = qib__step_wire(h->step, h->in[i].port, h->in[i].kind, obj, 1, h->err,
                            sizeof h->err);
        if (rc != QIB_OK)
            return rc;
    }
    rc = qib__step_run(h->step);
    if (rc != QIB_OK)
        return herr(h, rc, "%s", qib__step_error(h->step));
    return QIB_OK;
}

const char *qib_harness_error(const qib_harness *h)
{
    return h->err;
}

static void *out_obj(const qib_harness *h, const char *port, enum qib_obj_kind want)
{
    enum qib_obj_kind k;
    if (!h->step || !port)
        return NULL;
    void *o = qib__step_output(h->step, port, &k);
    return o && k == want ? o : NULL;
}

const qib_volume *qib_harness_out_volume(const qib_harness *h, const char *port)
{
    return out_obj(h, port, QIB_OBJ_VOLUME);
}

const qib_table *qib_harness_out_table(const qib_harness *h, const char *port)
{
    return out_obj(h, port, QIB_OBJ_TABLE);
}

const qib_transform *qib_harness_out_transform(const qib_harness *h, const char *port)
{
    return out_obj(h, port, QIB_OBJ_TRANSFORM);
}

const char *qib_harness_record(const qib_harness *h, const char *key)
{
    if (!h->step || !key)
        return NULL;
    for (size_t i = 0, n = qib__step_nrecords(h->step); i < n; i++) {
        const char *k, *v;
        qib__step_record_at(h->step, i, &k, &v);
        if (strcmp(k, key) == 0)
            return v;
    }
    return NULL;
}
