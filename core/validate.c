/* The validator: checks a parsed pipeline against the loaded plugins and the
 * command line without reading any data (plugin names, parameter names,
 * types and ranges, substitutions, port wiring and object kinds, output
 * paths), reports every problem with its line and column, and builds the
 * plan the runner executes. */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pipeline.h"
#include "qib/status.h"
#include "qib/table.h"

/* Storage for one pipeline parameter, laid out as a plugin's private struct
 * with the parameter at offset 0. */
union pstore {
    int i;
    int64_t l;
    double d;
    char *s;
    double v3[3];
    struct qib_dlist dl;
    struct qib_plist pl;
};

struct vctx {
    struct qib__pipeline *pl;
    const struct qib__registry *reg;
    const struct qib__runargs *a;
    struct qib__diags *d;
    struct qib__plan *plan;
    int oom;
};

static char *xstrdup(struct vctx *v, const char *s)
{
    size_t n = strlen(s) + 1;
    char *r = malloc(n);
    if (!r)
        v->oom = 1;
    else
        memcpy(r, s, n);
    return r;
}

/* ---- text buffer ---- */

struct buf {
    char *s;
    size_t n, cap;
    int oom;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

/* ---- names ---- */

/* A step's name in messages: step "stats" (bio.intensity 1.0.0) */
static void step_label(const struct qib__pstep *ps, const struct qib__module *m, char *out,
                       size_t len)
{
    if (m)
        snprintf(out, len, "step \"%s\" (%s %s)", ps->id ? ps->id : "?", m->full_name,
                 m->desc->version);
    else
        snprintf(out, len, "step \"%s\"", ps->id ? ps->id : "?");
}

static void port_names(const struct qib_port *ports, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; ports && ports[i].name; i++) {
        int w = snprintf(out + used, len - used, "%s%s (%s)", i ? ", " : "", ports[i].name,
                         qib__obj_kind_name(ports[i].kind));
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
    if (!used)
        snprintf(out, len, "none");
}

static const char *nearest_port(const struct qib_port *ports, const char *name)
{
    const char *c[64];
    size_t n = 0;
    for (size_t i = 0; ports && ports[i].name && n < 64; i++)
        c[n++] = ports[i].name;
    return qib__nearest(name, c, n);
}

/* ---- pipeline parameters ---- */

static void rparam_free(struct qib__rparam *r)
{
    free(r->value);
    for (size_t i = 0; i < r->n; i++)
        free(r->items[i]);
    free(r->items);
}

static int rparam_fill(struct vctx *v, struct qib__rparam *r, const struct qib_param *decl,
                       const union pstore *st)
{
    rparam_free(r);
    memset(r, 0, sizeof *r);
    r->value = qib__param_format(decl, st);
    if (!r->value && decl->type != QIB_PARAM_STRING && decl->type != QIB_PARAM_PATH &&
        decl->type != QIB_PARAM_PLIST) {
        v->oom = 1;
        return -1;
    }
    if (!r->value)
        r->value = xstrdup(v, "");
    if (decl->type == QIB_PARAM_VEC3 || decl->type == QIB_PARAM_DLIST) {
        const double *x = decl->type == QIB_PARAM_VEC3 ? st->v3 : st->dl.v;
        size_t n = decl->type == QIB_PARAM_VEC3 ? 3 : st->dl.n;
        r->is_list = 1;
        r->items = calloc(n ? n : 1, sizeof *r->items);
        if (!r->items) {
            v->oom = 1;
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            char b[32];
            r->items[i] = xstrdup(v, qib_format_double(x[i], b));
            if (!r->items[i])
                return -1;
            r->n++;
        }
    } else if (decl->type == QIB_PARAM_PLIST) {
        r->is_list = 1;
        r->items = calloc(st->pl.n ? st->pl.n : 1, sizeof *r->items);
        if (!r->items) {
            v->oom = 1;
            return -1;
        }
        for (size_t i = 0; i < st->pl.n; i++) {
            r->items[i] = xstrdup(v, st->pl.v[i]);
            if (!r->items[i])
                return -1;
            r->n++;
        }
    }
    return 0;
}

static void check_params(struct vctx *v)
{
    struct qib__pipeline *pl = v->pl;
    char err[512];
    for (size_t i = 0; i < pl->nparams; i++) {
        struct qib__pparam *pp = &pl->params[i];
        if (!pp->ok)
            continue;
        union pstore st;
        memset(&st, 0, sizeof st);
        if (qib__param_store_text(&pp->decl, pp->def_text, &st, err, sizeof err) != QIB_OK) {
            qib__diag_add(v->d, pp->def_pos, "default of %s", err);
            pp->ok = 0;
        } else {
            rparam_fill(v, &v->plan->params[i], &pp->decl, &st);
        }
        qib__param_clear(&pp->decl, &st);
    }
    for (size_t k = 0; k < v->a->noverrides; k++) {
        const struct qib__kv *o = &v->a->overrides[k];
        long i = qib__pipeline_param(pl, o->name);
        if (i < 0) {
            const char **names = calloc(pl->nparams + 1, sizeof *names);
            for (size_t j = 0; names && j < pl->nparams; j++)
                names[j] = pl->params[j].name;
            const char *near = names ? qib__nearest(o->name, names, pl->nparams) : NULL;
            struct buf known = {0};
            for (size_t j = 0; j < pl->nparams; j++) {
                buf_str(&known, j ? ", " : "");
                buf_str(&known, pl->params[j].name);
            }
            if (near)
                qib__diag_add(v->d, (struct qib__pos){0, 0},
                              "-p %s=%s: the pipeline has no parameter \"%s\" (did you mean \"%s\"?)",
                              o->name, o->value, o->name, near);
            else
                qib__diag_add(v->d, (struct qib__pos){0, 0},
                              "-p %s=%s: the pipeline has no parameter \"%s\" (its parameters: %s)",
                              o->name, o->value, o->name, known.s ? known.s : "none");
            free(known.s);
            free(names);
            continue;
        }
        for (size_t j = 0; j < k; j++)
            if (strcmp(v->a->overrides[j].name, o->name) == 0)
                qib__diag_add(v->d, (struct qib__pos){0, 0},
                              "-p %s=%s: parameter \"%s\" is given twice", o->name, o->value, o->name);
        struct qib__pparam *pp = &pl->params[i];
        if (!pp->ok)
            continue;
        union pstore st;
        memset(&st, 0, sizeof st);
        if (qib__param_store_text(&pp->decl, o->value, &st, err, sizeof err) != QIB_OK) {
            qib__diag_add(v->d, (struct qib__pos){0, 0}, "-p %s=%s: %s (declared at line %d)",
                          o->name, o->value, err, pp->pos.line);
        } else if (rparam_fill(v, &v->plan->params[i], &pp->decl, &st) == 0) {
            v->plan->params[i].overridden = 1;
        }
        qib__param_clear(&pp->decl, &st);
    }
}

/* ---- inputs from the command line ---- */

static void check_inputs(struct vctx *v)
{
    struct qib__pipeline *pl = v->pl;
    for (size_t k = 0; k < v->a->ninputs; k++) {
        const struct qib__kv *in = &v->a->inputs[k];
        long i = qib__pipeline_input(pl, in->name);
        if (i < 0) {
            const char **names = calloc(pl->ninputs + 1, sizeof *names);
            for (size_t j = 0; names && j < pl->ninputs; j++)
                names[j] = pl->inputs[j].name;
            const char *near = names ? qib__nearest(in->name, names, pl->ninputs) : NULL;
            struct buf known = {0};
            for (size_t j = 0; j < pl->ninputs; j++) {
                buf_str(&known, j ? ", " : "");
                buf_str(&known, pl->inputs[j].name);
            }
            if (near)
                qib__diag_add(v->d, (struct qib__pos){0, 0},
                              "--input %s=%s: the pipeline has no input \"%s\" (did you mean \"%s\"?)",
                              in->name, in->value, in->name, near);
            else
                qib__diag_add(v->d, (struct qib__pos){0, 0},
                              "--input %s=%s: the pipeline has no input \"%s\" (its inputs: %s)",
                              in->name, in->value, in->name, known.s ? known.s : "none");
            free(known.s);
            free(names);
            continue;
        }
        const struct qib__pinput *pi = &pl->inputs[i];
        if (v->plan->inputs[i].value) {
            qib__diag_add(v->d, (struct qib__pos){0, 0}, "--input %s=%s: input \"%s\" is given twice",
                          in->name, in->value, in->name);
            continue;
        }
        int good = 1;
        switch (pi->type) {
        case QIB__INPUT_PATH: {
            struct stat st;
            if (!*in->value) {
                qib__diag_add(v->d, (struct qib__pos){0, 0}, "--input %s=: the path is empty", in->name);
                good = 0;
            } else if (stat(in->value, &st) != 0) {
                qib__diag_add(v->d, (struct qib__pos){0, 0}, "--input %s=%s: %s", in->name, in->value,
                              strerror(errno));
                good = 0;
            }
            break;
        }
        case QIB__INPUT_STRING:
            break;
        case QIB__INPUT_DOUBLE: {
            double x;
            if (qib_parse_double(in->value, &x) != QIB_OK) {
                qib__diag_add(v->d, (struct qib__pos){0, 0},
                              "--input %s=%s: input \"%s\" (line %d) is a number, got \"%s\"",
                              in->name, in->value, in->name, pi->pos.line, in->value);
                good = 0;
            }
            break;
        }
        case QIB__INPUT_INT: {
            const char *s = in->value;
            char *end;
            errno = 0;
            (void)strtoll(s, &end, 10);
            if (!*s || *end || errno || !(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9'))) {
                qib__diag_add(v->d, (struct qib__pos){0, 0},
                              "--input %s=%s: input \"%s\" (line %d) is an integer, got \"%s\"",
                              in->name, in->value, in->name, pi->pos.line, in->value);
                good = 0;
            }
            break;
        }
        }
        if (good)
            v->plan->inputs[i].value = in->value;
    }
    if (!v->a->have_inputs)
        return;
    for (size_t i = 0; i < pl->ninputs; i++) {
        const struct qib__pinput *pi = &pl->inputs[i];
        if (pi->optional || v->plan->inputs[i].value)
            continue;
        /* Given but rejected above: that message is enough. */
        int given = 0;
        for (size_t k = 0; k < v->a->ninputs; k++)
            given |= strcmp(v->a->inputs[k].name, pi->name) == 0;
        if (!given)
            qib__diag_add(v->d, pi->pos, "input \"%s\" is required: give --input %s=%s", pi->name,
                          pi->name, pi->type == QIB__INPUT_PATH ? "FILE" : "VALUE");
    }
}

/* ---- substitutions ---- */

/* A value after substitution. */
struct rval {
    int is_list;
    char *scalar;
    char **items;
    size_t n;
    int deferred;    /* holds ${...} known only at run time (left verbatim) */
    int omit;        /* the whole value was an optional input not given */
    int substituted;
    int bad;         /* an error was reported */
};

static void rval_free(struct rval *r)
{
    free(r->scalar);
    for (size_t i = 0; i < r->n; i++)
        free(r->items[i]);
    free(r->items);
    memset(r, 0, sizeof *r);
}

static const char *name_list(const char *const *names, size_t n, struct buf *b)
{
    for (size_t i = 0; i < n; i++) {
        buf_str(b, i ? ", " : "");
        buf_str(b, names[i]);
    }
    return b->s ? b->s : "none";
}

/* Substitute in one scalar.  @p whole_list receives a list parameter's
 * items when the scalar is exactly "${params.LIST}".  @p output_path: the
 * scalar is an output path, where ${out} is the output directory itself,
 * ".".  Returns the new text (malloc'd), or NULL on error (reported) or
 * when out of memory (v->oom). */
static char *subst_scalar(struct vctx *v, const struct qib__scalar *sc, int output_path,
                          struct rval *r, int allow_list, const struct qib__rparam **whole_list)
{
    const struct qib__pipeline *pl = v->pl;
    const char *s = sc->s;
    struct buf b = {0};
    size_t k = 0; /* index of the "${" being looked at, for its position */
    int bad = 0;
    buf_add(&b, "", 0);
    while (*s) {
        const char *dollar = strstr(s, "${");
        if (!dollar) {
            buf_str(&b, s);
            break;
        }
        if (dollar > s && dollar[-1] == '$') {
            /* "$${" is a literal "${" */
            buf_add(&b, s, (size_t)(dollar - 1 - s));
            buf_add(&b, "${", 2);
            s = dollar + 2;
            k++;
            continue;
        }
        buf_add(&b, s, (size_t)(dollar - s));
        struct qib__pos pos = qib__scalar_subst_pos(pl, sc, k);
        k++;
        const char *close = strchr(dollar + 2, '}');
        if (!close) {
            qib__diag_add(v->d, pos, "\"${\" is not closed with \"}\"; write \"$${\" for a literal \"${\"");
            bad = 1;
            break;
        }
        size_t nl = (size_t)(close - (dollar + 2));
        char *ref = malloc(nl + 1);
        if (!ref) {
            v->oom = 1;
            free(b.s);
            return NULL;
        }
        memcpy(ref, dollar + 2, nl);
        ref[nl] = '\0';
        int whole = dollar == sc->s && close[1] == '\0';
        r->substituted = 1;
        if (strncmp(ref, "inputs.", 7) == 0) {
            const char *name = ref + 7;
            long i = qib__pipeline_input(pl, name);
            if (i < 0) {
                const char **names = calloc(pl->ninputs + 1, sizeof *names);
                for (size_t j = 0; names && j < pl->ninputs; j++)
                    names[j] = pl->inputs[j].name;
                const char *near = names ? qib__nearest(name, names, pl->ninputs) : NULL;
                struct buf known = {0};
                if (near)
                    qib__diag_add(v->d, pos, "\"${%s}\": the pipeline has no input \"%s\" (did you mean \"%s\"?)",
                                  ref, name, near);
                else
                    qib__diag_add(v->d, pos, "\"${%s}\": the pipeline has no input \"%s\" (declared inputs: %s)",
                                  ref, name, name_list(names, pl->ninputs, &known));
                free(known.s);
                free(names);
                bad = 1;
            } else if (v->plan->inputs[i].value) {
                buf_str(&b, v->plan->inputs[i].value);
            } else if (v->a->have_inputs) {
                if (whole && pl->inputs[i].optional) {
                    r->omit = 1;
                } else if (pl->inputs[i].optional) {
                    qib__diag_add(v->d, pos,
                                  "optional input \"%s\" was not given, and \"${%s}\" is part of a "
                                  "longer value", name, ref);
                    bad = 1;
                } else {
                    bad = 1; /* missing required input: reported once, at the input */
                }
            } else {
                r->deferred = 1;
                buf_add(&b, dollar, (size_t)(close + 1 - dollar));
            }
        } else if (strncmp(ref, "params.", 7) == 0) {
            const char *name = ref + 7;
            long i = qib__pipeline_param(pl, name);
            if (i < 0) {
                const char **names = calloc(pl->nparams + 1, sizeof *names);
                for (size_t j = 0; names && j < pl->nparams; j++)
                    names[j] = pl->params[j].name;
                const char *near = names ? qib__nearest(name, names, pl->nparams) : NULL;
                struct buf known = {0};
                if (near)
                    qib__diag_add(v->d, pos, "\"${%s}\": the pipeline has no parameter \"%s\" (did you mean \"%s\"?)",
                                  ref, name, near);
                else
                    qib__diag_add(v->d, pos, "\"${%s}\": the pipeline has no parameter \"%s\" (declared parameters: %s)",
                                  ref, name, name_list(names, pl->nparams, &known));
                free(known.s);
                free(names);
                bad = 1;
            } else if (!pl->params[i].ok || !v->plan->params[i].value) {
                bad = 1; /* its declaration was reported */
            } else if (v->plan->params[i].is_list) {
                if (whole && allow_list) {
                    *whole_list = &v->plan->params[i];
                } else {
                    qib__diag_add(v->d, pos,
                                  "\"${%s}\" is a list and can only be the whole value, "
                                  "not part of a text or of another list", ref);
                    bad = 1;
                }
            } else {
                buf_str(&b, v->plan->params[i].value);
            }
        } else if (strcmp(ref, "out") == 0) {
            if (output_path)
                buf_str(&b, ".");
            else if (v->a->outdir)
                buf_str(&b, v->a->outdir);
            else {
                r->deferred = 1;
                buf_str(&b, "${out}");
            }
        } else {
            qib__diag_add(v->d, pos,
                          "unknown substitution \"${%s}\": use ${inputs.NAME}, ${params.NAME} or ${out}",
                          ref);
            bad = 1;
        }
        free(ref);
        s = close + 1;
    }
    if (b.oom) {
        v->oom = 1;
        free(b.s);
        return NULL;
    }
    if (bad) {
        r->bad = 1;
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* Substitute every scalar of @p y into @p r. */
static int subst_value(struct vctx *v, const struct qib__yval *y, int output_path, struct rval *r)
{
    memset(r, 0, sizeof *r);
    if (!y->is_list) {
        const struct qib__rparam *list = NULL;
        r->scalar = subst_scalar(v, &y->one, output_path, r, 1, &list);
        if (!r->scalar)
            return -1;
        if (list) {
            free(r->scalar);
            r->scalar = NULL;
            r->is_list = 1;
            r->items = calloc(list->n ? list->n : 1, sizeof *r->items);
            if (!r->items) {
                v->oom = 1;
                return -1;
            }
            for (size_t i = 0; i < list->n; i++) {
                r->items[i] = xstrdup(v, list->items[i]);
                if (!r->items[i])
                    return -1;
                r->n++;
            }
        }
        return 0;
    }
    r->is_list = 1;
    r->items = calloc(y->n ? y->n : 1, sizeof *r->items);
    if (!r->items) {
        v->oom = 1;
        return -1;
    }
    int bad = 0;
    for (size_t i = 0; i < y->n; i++) {
        const struct qib__rparam *list = NULL;
        struct rval one = {0};
        char *t = subst_scalar(v, &y->items[i], output_path, &one, 0, &list);
        r->deferred |= one.deferred;
        r->substituted |= one.substituted;
        if (one.omit) {
            qib__diag_add(v->d, y->items[i].pos,
                          "an optional input that was not given cannot be a list item");
            bad = 1;
        }
        if (!t) {
            bad = 1;
            continue;
        }
        r->items[r->n++] = t;
    }
    if (bad) {
        r->bad = 1;
        return -1;
    }
    return 0;
}

/* ---- steps ---- */

static void rstep_free(struct qib__rstep *rs)
{
    qib__step_free(&rs->step);
    free(rs->wires);
    free(rs->nreaders);
    free(rs->last_reader);
    free(rs->declared);
}

/* Paths equal once "." components, repeated slashes and "x/.." are gone. */
static char *norm_rel(const char *rel)
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
                used--;
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
    out[used] = '\0';
    return out;
}

/* Per-step state while checking. */
struct scheck {
    const struct qib__module *mod;
    qib__params *params;   /* NULL when the plugin is unknown */
    int complete;          /* every parameter known and valid */
    int *deferred;         /* per plugin parameter: value known at run time */
    char **outpaths;       /* normalised output paths (NULL-terminated) */
    struct qib__pos *outpos;
};

static void check_step_params(struct vctx *v, size_t si, struct scheck *sc)
{
    const struct qib__pstep *ps = &v->pl->steps[si];
    const struct qib_plugin *d = sc->mod ? sc->mod->desc : NULL;
    char label[256], err[512];
    step_label(ps, sc->mod, label, sizeof label);
    size_t np = d ? qib__nparams(d->params) : 0;
    int complete = d != NULL;
    if (d) {
        if (qib__params_new(d, &sc->params) != QIB_OK) {
            v->oom = 1;
            return;
        }
        sc->deferred = calloc(np ? np : 1, sizeof *sc->deferred);
        sc->outpaths = calloc(np + 1, sizeof *sc->outpaths);
        sc->outpos = calloc(np + 1, sizeof *sc->outpos);
        if (!sc->deferred || !sc->outpaths || !sc->outpos) {
            v->oom = 1;
            return;
        }
    }
    size_t nout = 0;
    for (size_t w = 0; w < ps->nwith; w++) {
        const struct qib__pwith *pw = &ps->with[w];
        size_t pi = 0;
        const struct qib_param *p = d ? qib__param_find(d->params, pw->name, &pi) : NULL;
        int output_path = p && (p->flags & QIB_PARAM_OUTPUT);
        struct rval r;
        int rc = subst_value(v, &pw->val, output_path, &r);
        if (v->oom) {
            rval_free(&r);
            return;
        }
        if (!d) {
            rval_free(&r);
            continue;
        }
        if (!p) {
            /* Let the parameter code word the message and its suggestion. */
            struct qib__pvalue dummy = {.is_list = 0, .scalar = ""};
            qib__params_set(sc->params, pw->name, &dummy, err, sizeof err);
            qib__diag_add(v->d, pw->name_pos, "%s: %s", label, err);
            rval_free(&r);
            complete = 0;
            continue;
        }
        if (rc < 0 || r.bad) {
            rval_free(&r);
            complete = 0;
            sc->deferred[pi] = 1; /* not "missing": its problem was reported */
            continue;
        }
        if (r.omit) {
            rval_free(&r);
            continue; /* an optional input not given: the default applies */
        }
        int text_type = p->type == QIB_PARAM_STRING || p->type == QIB_PARAM_PATH ||
                        p->type == QIB_PARAM_PLIST;
        if (r.deferred && !text_type) {
            /* A number from an input known only at run time. */
            sc->deferred[pi] = 1;
            complete = 0;
            rval_free(&r);
            continue;
        }
        struct qib__pvalue pv = {.is_list = r.is_list,
                                 .scalar = r.scalar,
                                 .n = r.n,
                                 .items = (const char *const *)r.items};
        if (qib__params_set(sc->params, pw->name, &pv, err, sizeof err) != QIB_OK) {
            struct qib__pos pos = pw->val.pos;
            qib__diag_add(v->d, pos, "%s: %s%s", label, err,
                          r.substituted ? " (after substitution)" : "");
            complete = 0;
            sc->deferred[pi] = 1;
        } else if (output_path && !r.deferred) {
            sc->outpaths[nout] = norm_rel(r.scalar);
            sc->outpos[nout] = pw->val.pos;
            if (!sc->outpaths[nout]) {
                v->oom = 1;
                rval_free(&r);
                return;
            }
            nout++;
        }
        rval_free(&r);
    }
    if (!d)
        return;
    /* Required parameters: every missing one, not just the first. */
    for (size_t i = 0; i < np; i++) {
        const struct qib_param *p = &d->params[i];
        if ((p->flags & QIB_PARAM_REQUIRED) && !qib__params_given(sc->params, i) &&
            !sc->deferred[i]) {
            qib__diag_add(v->d, ps->plugin_pos.line ? ps->plugin_pos : ps->pos,
                          "%s: missing required parameter \"%s\" (%s%s%s)", label, p->name,
                          p->help ? p->help : qib__param_type_name(p->type),
                          p->unit ? ", " : "", p->unit ? p->unit : "");
            complete = 0;
        }
    }
    /* Output paths given by defaults count too. */
    if (complete) {
        if (qib__params_finish(sc->params, err, sizeof err) != QIB_OK) {
            qib__diag_add(v->d, ps->pos, "%s: %s", label, err);
            complete = 0;
        }
    }
    if (complete) {
        const void *priv = qib__params_priv_const(sc->params);
        for (size_t i = 0; i < np; i++) {
            const struct qib_param *p = &d->params[i];
            if (!(p->flags & QIB_PARAM_OUTPUT) || qib__params_given(sc->params, i))
                continue;
            char *val = qib__param_format(p, priv);
            if (val) {
                sc->outpaths[nout] = norm_rel(val);
                sc->outpos[nout] = ps->pos;
                free(val);
                if (!sc->outpaths[nout]) {
                    v->oom = 1;
                    return;
                }
                nout++;
            }
        }
    }
    sc->complete = complete;
}

static const struct qib__module *find_plugin(struct vctx *v, const struct qib__pstep *ps)
{
    const struct qib__module *m = qib__registry_find(v->reg, ps->plugin);
    if (m)
        return m;
    char label[256];
    step_label(ps, NULL, label, sizeof label);
    const char *near = qib__registry_suggest(v->reg, ps->plugin);
    if (!near && !strchr(ps->plugin, '.')) {
        /* "intensity" for "bio.intensity": the kind was left out. */
        for (size_t i = 0; i < v->reg->nmods; i++) {
            const char *dot = strchr(v->reg->mods[i].full_name, '.');
            if (dot && strcmp(dot + 1, ps->plugin) == 0) {
                near = v->reg->mods[i].full_name;
                break;
            }
        }
    }
    const struct qib__problem *pr = qib__registry_problem_for(v->reg, ps->plugin);
    if (pr)
        qib__diag_add(v->d, ps->plugin_pos, "%s: plugin \"%s\" could not be loaded: %s: %s", label,
                      ps->plugin, pr->path, pr->reason);
    else if (near)
        qib__diag_add(v->d, ps->plugin_pos, "%s: unknown plugin \"%s\" (did you mean \"%s\"?)", label,
                      ps->plugin, near);
    else
        qib__diag_add(v->d, ps->plugin_pos,
                      "%s: unknown plugin \"%s\" (none of that name in QIB_PLUGIN_PATH or the "
                      "install directory; `qib plugins` lists them)", label, ps->plugin);
    return NULL;
}

/* Kind of object output @p op of a step carries; 0 when not known before
 * the run (its plugin is unknown, or the parameter that decides whether a
 * volume output is a mask takes its value from an input). */
static enum qib_obj_kind out_kind(const struct scheck *sc, size_t op)
{
    if (!sc->mod)
        return 0;
    const struct qib_plugin *d = sc->mod->desc;
    const struct qib_port *p = &d->outputs[op];
    if (p->kind != QIB_OBJ_VOLUME || !p->mask_when)
        return p->kind;
    const char *eq = strchr(p->mask_when, '=');
    size_t pi = 0;
    const struct qib_param *q = NULL;
    char name[128];
    if (eq && (size_t)(eq - p->mask_when) < sizeof name) {
        memcpy(name, p->mask_when, (size_t)(eq - p->mask_when));
        name[eq - p->mask_when] = '\0';
        q = qib__param_find(d->params, name, &pi);
    }
    if (!q || !sc->params)
        return 0;
    if (sc->deferred && sc->deferred[pi])
        return 0;
    if (!qib__params_given(sc->params, pi) && !sc->complete) {
        /* Defaults are stored only once every parameter checked out; the
         * default's text decides meanwhile. */
        if (!q->def)
            return 0;
        return strcmp(q->def, eq + 1) == 0 ? QIB_OBJ_MASK : QIB_OBJ_VOLUME;
    }
    return qib__output_kind(d, p, qib__params_priv_const(sc->params));
}

static void check_wires(struct vctx *v, size_t si, struct scheck *all)
{
    const struct qib__pipeline *pl = v->pl;
    const struct qib__pstep *ps = &pl->steps[si];
    struct scheck *sc = &all[si];
    struct qib__rstep *rs = &v->plan->steps[si];
    const struct qib_plugin *d = sc->mod ? sc->mod->desc : NULL;
    char label[256], plist[512];
    step_label(ps, sc->mod, label, sizeof label);
    rs->wires = calloc(ps->nin ? ps->nin : 1, sizeof *rs->wires);
    if (!rs->wires) {
        v->oom = 1;
        return;
    }
    for (size_t w = 0; w < ps->nin; w++) {
        const struct qib__pwire *pw = &ps->in[w];
        size_t port = 0;
        const struct qib_port *ip = NULL;
        if (d) {
            ip = qib__port_find(d->inputs, pw->port, &port);
            if (!ip) {
                const char *near = nearest_port(d->inputs, pw->port);
                port_names(d->inputs, plist, sizeof plist);
                if (near)
                    qib__diag_add(v->d, pw->port_pos,
                                  "%s: %s has no input port \"%s\" (did you mean \"%s\"?)", label,
                                  sc->mod->full_name, pw->port, near);
                else
                    qib__diag_add(v->d, pw->port_pos, "%s: %s has no input port \"%s\" (its inputs: %s)",
                                  label, sc->mod->full_name, pw->port, plist);
            }
        }
        long from = qib__pipeline_step(pl, pw->step);
        if (from < 0) {
            const char **ids = calloc(pl->nsteps + 1, sizeof *ids);
            for (size_t j = 0; ids && j < si; j++)
                ids[j] = pl->steps[j].id;
            const char *near = ids ? qib__nearest(pw->step, ids, si) : NULL;
            if (near)
                qib__diag_add(v->d, pw->ref_pos, "%s: input \"%s\": no step \"%s\" (did you mean \"%s\"?)",
                              label, pw->port, pw->step, near);
            else
                qib__diag_add(v->d, pw->ref_pos, "%s: input \"%s\": no step \"%s\"", label, pw->port,
                              pw->step);
            free(ids);
            continue;
        }
        if ((size_t)from == si) {
            qib__diag_add(v->d, pw->ref_pos, "%s: input \"%s\": a step cannot read its own output",
                          label, pw->port);
            continue;
        }
        if ((size_t)from > si) {
            qib__diag_add(v->d, pw->ref_pos,
                          "%s: input \"%s\": step \"%s\" comes later (line %d); steps run in order "
                          "and read only the outputs of steps above them",
                          label, pw->port, pw->step, pl->steps[from].pos.line);
            continue;
        }
        struct scheck *fc = &all[from];
        if (!fc->mod)
            continue; /* its plugin is unknown: reported there */
        const struct qib_plugin *fd = fc->mod->desc;
        size_t op = 0;
        if (pw->outport && !qib__port_find(fd->outputs, pw->outport, &op)) {
            const char *near = nearest_port(fd->outputs, pw->outport);
            port_names(fd->outputs, plist, sizeof plist);
            if (near)
                qib__diag_add(v->d, pw->ref_pos,
                              "%s: input \"%s\": step \"%s\" (%s) has no output \"%s\" (did you mean \"%s\"?)",
                              label, pw->port, pw->step, fc->mod->full_name, pw->outport, near);
            else
                qib__diag_add(v->d, pw->ref_pos,
                              "%s: input \"%s\": step \"%s\" (%s) has no output \"%s\" (its outputs: %s)",
                              label, pw->port, pw->step, fc->mod->full_name, pw->outport, plist);
            continue;
        }
        if (!ip)
            continue;
        enum qib_obj_kind got = out_kind(fc, op);
        const struct qib_port *opp = &fd->outputs[op];
        int fits = 1;
        if (got) {
            if (ip->kind == QIB_OBJ_VOLUME)
                fits = got == QIB_OBJ_VOLUME || got == QIB_OBJ_MASK;
            else
                fits = got == ip->kind;
        }
        if (!fits) {
            const char *gotw = got == QIB_OBJ_MASK ? "a mask"
                               : got == QIB_OBJ_VOLUME ? "a volume that is not a mask"
                               : got == QIB_OBJ_TABLE ? "a table"
                                                      : "a transform";
            char hint[200] = "";
            if (ip->kind == QIB_OBJ_MASK && got == QIB_OBJ_VOLUME && opp->mask_when) {
                const char *eq = strchr(opp->mask_when, '=');
                if (eq)
                    snprintf(hint, sizeof hint, "; it is a mask when %.*s is %s (set %.*s: %s in step \"%s\")",
                             (int)(eq - opp->mask_when), opp->mask_when, eq + 1,
                             (int)(eq - opp->mask_when), opp->mask_when, eq + 1, pw->step);
            }
            qib__diag_add(v->d, pw->ref_pos,
                          "%s: input \"%s\" takes a %s, but \"%s%s%s\" (%s output \"%s\") is %s%s",
                          label, pw->port, qib__obj_kind_name(ip->kind), pw->step,
                          pw->outport ? "." : "", pw->outport ? pw->outport : "",
                          fc->mod->full_name, opp->name, gotw, hint);
            continue;
        }
        struct qib__rwire *rw = &rs->wires[rs->nwires++];
        rw->port = port;
        rw->from_step = (size_t)from;
        rw->from_port = op;
    }
    if (d) {
        for (size_t p = 0; d->inputs && d->inputs[p].name; p++) {
            const struct qib_port *ip = &d->inputs[p];
            if (ip->flags & QIB_PORT_OPTIONAL)
                continue;
            int wired = 0;
            for (size_t w = 0; w < ps->nin; w++)
                wired |= strcmp(ps->in[w].port, ip->name) == 0;
            if (!wired)
                qib__diag_add(v->d, ps->plugin_pos.line ? ps->plugin_pos : ps->pos,
                              "%s: required input \"%s\" (%s) is not wired: add in: {%s: STEP}",
                              label, ip->name, qib__obj_kind_name(ip->kind), ip->name);
        }
    }
}

static void check_outputs(struct vctx *v, struct scheck *all)
{
    const struct qib__pipeline *pl = v->pl;
    for (size_t i = 0; i < pl->noutputs; i++) {
        const struct qib__poutput *o = &pl->outputs[i];
        if (o->file.s) {
            struct qib__yval y = {.pos = o->file.pos, .is_list = 0, .one = o->file};
            struct rval r;
            if (subst_value(v, &y, 1, &r) < 0 || r.bad || r.is_list) {
                if (r.is_list)
                    qib__diag_add(v->d, o->file.pos, "output \"%s\": 'file' must be a path", o->name);
                rval_free(&r);
                continue;
            }
            char why[512];
            if (qib__relpath_check(r.scalar, why, sizeof why) != QIB_OK) {
                qib__diag_add(v->d, o->file.pos, "output \"%s\": %s", o->name, why);
                rval_free(&r);
                continue;
            }
            if (r.deferred) {
                rval_free(&r);
                continue;
            }
            char *n = norm_rel(r.scalar);
            rval_free(&r);
            if (!n) {
                v->oom = 1;
                return;
            }
            int found = 0, unknown = 0;
            struct buf written = {0};
            for (size_t s = 0; s < pl->nsteps; s++) {
                if (!all[s].mod || !all[s].complete)
                    unknown = 1;
                for (size_t k = 0; all[s].outpaths && all[s].outpaths[k]; k++) {
                    found |= strcmp(all[s].outpaths[k], n) == 0;
                    buf_str(&written, written.s && *written.s ? ", " : "");
                    buf_str(&written, all[s].outpaths[k]);
                }
            }
            if (!found && !unknown)
                qib__diag_add(v->d, o->file.pos,
                              "output \"%s\": no step writes \"%s\" (files the steps write: %s)",
                              o->name, n, written.s && *written.s ? written.s : "none");
            free(written.s);
            v->plan->declared_files[i] = n;
            continue;
        }
        long s = qib__pipeline_step(pl, o->step);
        if (s < 0) {
            const char **ids = calloc(pl->nsteps + 1, sizeof *ids);
            for (size_t j = 0; ids && j < pl->nsteps; j++)
                ids[j] = pl->steps[j].id;
            const char *near = ids ? qib__nearest(o->step, ids, pl->nsteps) : NULL;
            if (near)
                qib__diag_add(v->d, o->ref_pos, "output \"%s\": no step \"%s\" (did you mean \"%s\"?)",
                              o->name, o->step, near);
            else
                qib__diag_add(v->d, o->ref_pos, "output \"%s\": no step \"%s\"", o->name, o->step);
            free(ids);
            continue;
        }
        if (!all[s].mod)
            continue;
        size_t op = 0;
        if (o->outport && !qib__port_find(all[s].mod->desc->outputs, o->outport, &op)) {
            char plist[512];
            port_names(all[s].mod->desc->outputs, plist, sizeof plist);
            qib__diag_add(v->d, o->ref_pos, "output \"%s\": step \"%s\" (%s) has no output \"%s\" (its outputs: %s)",
                          o->name, o->step, all[s].mod->full_name, o->outport, plist);
            continue;
        }
        if (v->plan->steps[s].declared)
            v->plan->steps[s].declared[op] = 1;
    }
}

/* Two steps writing one file, or a step writing provenance.json. */
static void check_outfiles(struct vctx *v, struct scheck *all)
{
    const struct qib__pipeline *pl = v->pl;
    for (size_t s = 0; s < pl->nsteps; s++) {
        for (size_t k = 0; all[s].outpaths && all[s].outpaths[k]; k++) {
            const char *p = all[s].outpaths[k];
            if (strcmp(p, "provenance.json") == 0) {
                qib__diag_add(v->d, all[s].outpos[k],
                              "step \"%s\": \"provenance.json\" is the run's record, a step cannot write it",
                              pl->steps[s].id ? pl->steps[s].id : "?");
                continue;
            }
            int dup = 0;
            for (size_t t = 0; t <= s && !dup; t++)
                for (size_t j = 0; all[t].outpaths && all[t].outpaths[j] && !dup; j++) {
                    if (t == s && j >= k)
                        break;
                    if (strcmp(all[t].outpaths[j], p) == 0) {
                        qib__diag_add(v->d, all[s].outpos[k],
                                      "step \"%s\" writes \"%s\", which step \"%s\" writes too",
                                      pl->steps[s].id ? pl->steps[s].id : "?", p,
                                      pl->steps[t].id ? pl->steps[t].id : "?");
                        dup = 1;
                    }
                }
        }
    }
}

int qib__plan_new(struct qib__pipeline *pl, const struct qib__registry *reg,
                  const struct qib__runargs *a, qib_pool *pool, struct qib__plan **out,
                  struct qib__diags *d)
{
    *out = NULL;
    struct qib__plan *plan = calloc(1, sizeof *plan);
    if (!plan)
        return QIB_ENOMEM;
    plan->pl = pl;
    plan->reg = reg;
    plan->nsteps = pl->nsteps;
    plan->params = calloc(pl->nparams ? pl->nparams : 1, sizeof *plan->params);
    plan->inputs = calloc(pl->ninputs ? pl->ninputs : 1, sizeof *plan->inputs);
    plan->steps = calloc(pl->nsteps ? pl->nsteps : 1, sizeof *plan->steps);
    plan->declared_files = calloc(pl->noutputs ? pl->noutputs : 1, sizeof *plan->declared_files);
    struct scheck *all = calloc(pl->nsteps ? pl->nsteps : 1, sizeof *all);
    if (!plan->params || !plan->inputs || !plan->steps || !plan->declared_files || !all) {
        free(all);
        qib__plan_free(&plan);
        return QIB_ENOMEM;
    }
    size_t nerr0 = d->n;
    struct vctx v = {.pl = pl, .reg = reg, .a = a, .d = d, .plan = plan};

    check_params(&v);
    check_inputs(&v);

    for (size_t i = 0; i < pl->nsteps && !v.oom; i++) {
        const struct qib__pstep *ps = &pl->steps[i];
        plan->steps[i].ps = ps;
        if (ps->id) {
            long first = qib__pipeline_step(pl, ps->id);
            if (first >= 0 && (size_t)first < i)
                qib__diag_add(d, ps->id_pos, "duplicate step id \"%s\" (first at line %d)", ps->id,
                              pl->steps[first].id_pos.line);
        }
        all[i].mod = ps->plugin ? find_plugin(&v, ps) : NULL;
        plan->steps[i].mod = all[i].mod;
        check_step_params(&v, i, &all[i]);
        if (all[i].mod) {
            size_t nout = qib__nports(all[i].mod->desc->outputs);
            plan->steps[i].nreaders = calloc(nout ? nout : 1, sizeof(size_t));
            plan->steps[i].last_reader = calloc(nout ? nout : 1, sizeof(size_t));
            plan->steps[i].declared = calloc(nout ? nout : 1, sizeof(int));
            if (!plan->steps[i].nreaders || !plan->steps[i].last_reader || !plan->steps[i].declared)
                v.oom = 1;
            for (size_t p = 0; p < nout && !v.oom; p++)
                plan->steps[i].last_reader[p] = i;
        }
    }
    for (size_t i = 0; i < pl->nsteps && !v.oom; i++)
        check_wires(&v, i, all);
    if (!v.oom) {
        check_outputs(&v, all);
        check_outfiles(&v, all);
    }

    /* Create the steps and let each plugin check its parameters together. */
    for (size_t i = 0; i < pl->nsteps && !v.oom; i++) {
        struct scheck *sc = &all[i];
        if (!sc->complete || !sc->params)
            continue;
        const struct qib__pstep *ps = &pl->steps[i];
        qib__params *params = sc->params;
        sc->params = NULL;
        if (qib__step_new(sc->mod, ps->id ? ps->id : "?", params, pool, a->outdir,
                          &plan->steps[i].step) != QIB_OK) {
            v.oom = 1;
            break;
        }
        if (qib__step_check(plan->steps[i].step) != QIB_OK) {
            char label[256];
            step_label(ps, sc->mod, label, sizeof label);
            qib__diag_add(d, ps->pos, "%s: %s", label, qib__step_error(plan->steps[i].step));
        }
    }

    /* Readers of each object, and the last one. */
    for (size_t j = 0; j < pl->nsteps; j++) {
        struct qib__rstep *rs = &plan->steps[j];
        for (size_t w = 0; w < rs->nwires; w++) {
            struct qib__rstep *from = &plan->steps[rs->wires[w].from_step];
            if (!from->nreaders)
                continue;
            from->nreaders[rs->wires[w].from_port]++;
            from->last_reader[rs->wires[w].from_port] = j;
        }
    }
    for (size_t j = 0; j < pl->nsteps; j++) {
        struct qib__rstep *rs = &plan->steps[j];
        for (size_t w = 0; w < rs->nwires; w++) {
            struct qib__rwire *rw = &rs->wires[w];
            struct qib__rstep *from = &plan->steps[rw->from_step];
            if (!from->last_reader || from->last_reader[rw->from_port] != j)
                continue;
            int later = 0;
            for (size_t x = w + 1; x < rs->nwires; x++)
                later |= rs->wires[x].from_step == rw->from_step &&
                         rs->wires[x].from_port == rw->from_port;
            rw->last = !later;
        }
    }

    for (size_t i = 0; i < pl->nsteps; i++) {
        qib__params_free(&all[i].params);
        free(all[i].deferred);
        if (all[i].outpaths)
            for (size_t k = 0; all[i].outpaths[k]; k++)
                free(all[i].outpaths[k]);
        free(all[i].outpaths);
        free(all[i].outpos);
    }
    free(all);
    if (v.oom) {
        qib__plan_free(&plan);
        return QIB_ENOMEM;
    }
    if (d->n > nerr0 || d->oom) {
        qib__plan_free(&plan);
        return QIB_EPIPELINE;
    }
    *out = plan;
    return QIB_OK;
}

void qib__plan_free(struct qib__plan **pp)
{
    struct qib__plan *p = *pp;
    if (!p)
        return;
    for (size_t i = 0; p->params && i < p->pl->nparams; i++)
        rparam_free(&p->params[i]);
    free(p->params);
    free(p->inputs);
    for (size_t i = 0; p->steps && i < p->nsteps; i++)
        rstep_free(&p->steps[i]);
    free(p->steps);
    for (size_t i = 0; p->declared_files && i < p->pl->noutputs; i++)
        free(p->declared_files[i]);
    free(p->declared_files);
    free(p);
    *pp = NULL;
}
