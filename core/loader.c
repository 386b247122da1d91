/* The plugin registry: finds plugin modules on the search path, opens them,
 * checks their descriptors and keeps a list of refused modules with the
 * reason, so `qib plugins` can say what to fix.  Also the small name helpers
 * (edit distance, table lookups) the rest of the engine shares. */
#define _GNU_SOURCE
#include "config.h"

#include "engine.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qib/sha256.h"
#include "qib/status.h"

#ifndef QIB_PLUGINDIR
#define QIB_PLUGINDIR ""
#endif

const char *qib_kind_name(enum qib_kind k)
{
    switch (k) {
    case QIB_KIND_READ: return "read";
    case QIB_KIND_WRITE: return "write";
    case QIB_KIND_REG: return "reg";
    case QIB_KIND_SEG: return "seg";
    case QIB_KIND_BIO: return "bio";
    case QIB_KIND_EXPORT: return "export";
    }
    return NULL;
}

const char *qib__param_type_name(enum qib_param_type t)
{
    switch (t) {
    case QIB_PARAM_BOOL: return "bool";
    case QIB_PARAM_INT: return "int";
    case QIB_PARAM_DOUBLE: return "double";
    case QIB_PARAM_STRING: return "string";
    case QIB_PARAM_PATH: return "path";
    case QIB_PARAM_ENUM: return "enum";
    case QIB_PARAM_VEC3: return "vec3";
    case QIB_PARAM_DLIST: return "dlist";
    case QIB_PARAM_PLIST: return "plist";
    }
    return "?";
}

const char *qib__obj_kind_name(enum qib_obj_kind k)
{
    switch (k) {
    case QIB_OBJ_VOLUME: return "volume";
    case QIB_OBJ_MASK: return "mask";
    case QIB_OBJ_TABLE: return "table";
    case QIB_OBJ_TRANSFORM: return "transform";
    }
    return "?";
}

/* ---- name helpers ---- */

size_t qib__edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    /* One row of the dynamic-programming table; names are short, but keep
     * the row on the heap rather than trust a length on the stack. */
    size_t *row = malloc((lb + 1) * sizeof *row);
    if (!row)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

const char *qib__nearest(const char *name, const char *const *cands, size_t n)
{
    size_t limit = strlen(name) / 3;
    if (limit < 2)
        limit = 2;
    const char *best = NULL;
    size_t bestd = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        if (!cands[i])
            continue;
        size_t d = qib__edit_distance(name, cands[i]);
        if (d < bestd) {
            bestd = d;
            best = cands[i];
        }
    }
    return bestd <= limit ? best : NULL;
}

size_t qib__nports(const struct qib_port *ports)
{
    size_t n = 0;
    while (ports && ports[n].name)
        n++;
    return n;
}

size_t qib__nparams(const struct qib_param *params)
{
    size_t n = 0;
    while (params && params[n].name)
        n++;
    return n;
}

const struct qib_port *qib__port_find(const struct qib_port *ports, const char *name,
                                      size_t *index)
{
    for (size_t i = 0; ports && ports[i].name; i++) {
        if (strcmp(ports[i].name, name) == 0) {
            if (index)
                *index = i;
            return &ports[i];
        }
    }
    return NULL;
}

const struct qib_param *qib__param_find(const struct qib_param *params, const char *name,
                                        size_t *index)
{
    for (size_t i = 0; params && params[i].name; i++) {
        if (strcmp(params[i].name, name) == 0) {
            if (index)
                *index = i;
            return &params[i];
        }
    }
    return NULL;
}

/* ---- descriptor checks ---- */

QIB_PRINTF(3, 4)
static int why_set(char *why, size_t len, const char *fmt, ...)
{
    if (why && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, len, fmt, ap);
        va_end(ap);
    }
    return QIB_EINVAL;
}

static int is_plugin_name(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

/* Parameter and port names: snake_case, starting with a letter, because they
 * are written bare in YAML and used as column and file-name parts. */
static int is_snake(const char *s)
{
    if (!s || !(*s >= 'a' && *s <= 'z'))
        return 0;
    return is_plugin_name(s);
}

static int nonempty(const char *s)
{
    return s && *s;
}

/* Bytes and alignment of the C object a parameter type stores. */
static int param_storage(enum qib_param_type t, size_t *size, size_t *align)
{
    switch (t) {
    case QIB_PARAM_BOOL:
    case QIB_PARAM_ENUM: *size = sizeof(int); *align = alignof(int); return 1;
    case QIB_PARAM_INT: *size = sizeof(int64_t); *align = alignof(int64_t); return 1;
    case QIB_PARAM_DOUBLE: *size = sizeof(double); *align = alignof(double); return 1;
    case QIB_PARAM_STRING:
    case QIB_PARAM_PATH: *size = sizeof(char *); *align = alignof(char *); return 1;
    case QIB_PARAM_VEC3: *size = 3 * sizeof(double); *align = alignof(double); return 1;
    case QIB_PARAM_DLIST:
        *size = sizeof(struct qib_dlist);
        *align = alignof(struct qib_dlist);
        return 1;
    case QIB_PARAM_PLIST:
        *size = sizeof(struct qib_plist);
        *align = alignof(struct qib_plist);
        return 1;
    }
    return 0;
}

static int check_ports(const struct qib_port *ports, const char *which, const struct qib_param *params,
                       char *why, size_t len)
{
    for (size_t i = 0; ports && ports[i].name; i++) {
        const struct qib_port *p = &ports[i];
        if (!is_snake(p->name))
            return why_set(why, len, "%s port %zu: name \"%s\" is not snake_case ([a-z][a-z0-9_]*)",
                           which, i, p->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(ports[j].name, p->name) == 0)
                return why_set(why, len, "%s port \"%s\" is declared twice", which, p->name);
        if (p->kind < QIB_OBJ_VOLUME || p->kind > QIB_OBJ_TRANSFORM)
            return why_set(why, len, "%s port \"%s\": unknown object kind %d", which, p->name,
                           (int)p->kind);
        if (!nonempty(p->help))
            return why_set(why, len, "%s port \"%s\" has no help text", which, p->name);
        if (p->flags & ~QIB_PORT_OPTIONAL)
            return why_set(why, len, "%s port \"%s\": unknown flags 0x%x", which, p->name,
                           p->flags);
        if (p->mask_when) {
            if (!params)
                return why_set(why, len, "%s port \"%s\": mask_when given for an input", which,
                               p->name);
            if (p->kind != QIB_OBJ_VOLUME)
                return why_set(why, len,
                               "%s port \"%s\": mask_when applies to volume outputs only", which,
                               p->name);
            const char *eq = strchr(p->mask_when, '=');
            if (!eq || eq == p->mask_when || !eq[1])
                return why_set(why, len,
                               "%s port \"%s\": mask_when \"%s\" is not \"param=value\"", which,
                               p->name, p->mask_when);
            size_t pl = (size_t)(eq - p->mask_when);
            const struct qib_param *q = NULL;
            for (size_t k = 0; params[k].name; k++)
                if (strlen(params[k].name) == pl && strncmp(params[k].name, p->mask_when, pl) == 0)
                    q = &params[k];
            if (!q || q->type != QIB_PARAM_ENUM)
                return why_set(why, len,
                               "%s port \"%s\": mask_when \"%s\" does not name an enum parameter",
                               which, p->name, p->mask_when);
            int found = 0;
            for (size_t k = 0; q->choices && q->choices[k]; k++)
                if (strcmp(q->choices[k], eq + 1) == 0)
                    found = 1;
            if (!found)
                return why_set(why, len,
                               "%s port \"%s\": mask_when \"%s\": \"%s\" is not a choice of \"%s\"",
                               which, p->name, p->mask_when, eq + 1, q->name);
        }
    }
    return QIB_OK;
}

static int check_param(const struct qib_plugin *d, size_t i, char *why, size_t len)
{
    const struct qib_param *p = &d->params[i];
    if (!is_snake(p->name))
        return why_set(why, len, "parameter %zu: name \"%s\" is not snake_case ([a-z][a-z0-9_]*)",
                       i, p->name);
    for (size_t j = 0; j < i; j++)
        if (strcmp(d->params[j].name, p->name) == 0)
            return why_set(why, len, "parameter \"%s\" is declared twice", p->name);
    size_t size, align;
    if (!param_storage(p->type, &size, &align))
        return why_set(why, len, "parameter \"%s\": unknown type %d", p->name, (int)p->type);
    if (p->offset > d->priv_size || size > d->priv_size - p->offset)
        return why_set(why, len,
                       "parameter \"%s\": offset %zu + %zu bytes is past priv_size %zu",
                       p->name, p->offset, size, d->priv_size);
    if (p->offset % align)
        return why_set(why, len, "parameter \"%s\": offset %zu is not aligned for a %s",
                       p->name, p->offset, qib__param_type_name(p->type));
    if (!nonempty(p->help))
        return why_set(why, len, "parameter \"%s\" has no help text", p->name);
    if (p->flags & ~(QIB_PARAM_REQUIRED | QIB_PARAM_MIN | QIB_PARAM_MAX | QIB_PARAM_OUTPUT))
        return why_set(why, len, "parameter \"%s\": unknown flags 0x%x", p->name, p->flags);
    if ((p->flags & QIB_PARAM_OUTPUT) && p->type != QIB_PARAM_PATH)
        return why_set(why, len, "parameter \"%s\": QIB_PARAM_OUTPUT on a %s (paths only)",
                       p->name, qib__param_type_name(p->type));
    if ((p->flags & QIB_PARAM_MIN) && (p->flags & QIB_PARAM_MAX) && !(p->min <= p->max))
        return why_set(why, len, "parameter \"%s\": min %g is greater than max %g", p->name,
                       p->min, p->max);
    if (p->type == QIB_PARAM_ENUM) {
        if (!p->choices || !p->choices[0])
            return why_set(why, len, "parameter \"%s\": an enum without choices", p->name);
        for (size_t k = 0; p->choices[k]; k++) {
            if (!*p->choices[k])
                return why_set(why, len, "parameter \"%s\": choice %zu is empty", p->name, k);
            for (size_t m = 0; m < k; m++)
                if (strcmp(p->choices[m], p->choices[k]) == 0)
                    return why_set(why, len, "parameter \"%s\": choice \"%s\" is listed twice",
                                   p->name, p->choices[k]);
        }
    }
    if ((p->flags & QIB_PARAM_REQUIRED) && p->def)
        return why_set(why, len, "parameter \"%s\" is required and has a default \"%s\"",
                       p->name, p->def);
    if (p->def) {
        /* Parse the default into scratch storage at offset 0, exactly as a
         * value from a pipeline would be, so a default that the host would
         * reject never reaches a run. */
        union {
            int i;
            int64_t l;
            double d[3];
            char *s;
            struct qib_dlist dl;
            struct qib_plist pl;
        } scratch;
        memset(&scratch, 0, sizeof scratch);
        struct qib_param q = *p;
        q.offset = 0;
        char err[256];
        int st = qib__param_store_text(&q, p->def, &scratch, err, sizeof err);
        qib__param_clear(&q, &scratch);
        if (st != QIB_OK)
            return why_set(why, len, "default of %s", err);
    }
    return QIB_OK;
}

int qib__plugin_check(const struct qib_plugin *d, char *why, size_t len)
{
    if (!d)
        return why_set(why, len, "the descriptor is NULL");
    if (d->abi_major != QIB_ABI_MAJOR) {
        why_set(why, len,
                "built for plugin ABI %u.%u; this qib loads ABI %d.x: rebuild the plugin "
                "against this qib's headers",
                (unsigned)d->abi_major, (unsigned)d->abi_minor, QIB_ABI_MAJOR);
        return QIB_EABI;
    }
    if (d->abi_minor > QIB_ABI_MINOR) {
        why_set(why, len,
                "built for plugin ABI %u.%u, newer than this qib's %d.%d: upgrade qib, or "
                "rebuild the plugin against this qib's headers",
                (unsigned)d->abi_major, (unsigned)d->abi_minor, QIB_ABI_MAJOR, QIB_ABI_MINOR);
        return QIB_EABI;
    }
    if (d->struct_size < sizeof(struct qib_plugin)) {
        why_set(why, len,
                "struct_size %u is smaller than the %zu bytes of a plugin descriptor of ABI "
                "%d.%d",
                (unsigned)d->struct_size, sizeof(struct qib_plugin), QIB_ABI_MAJOR,
                QIB_ABI_MINOR);
        return QIB_EABI;
    }
    const char *kind = qib_kind_name(d->kind);
    if (!kind)
        return why_set(why, len, "unknown kind %d", (int)d->kind);
    if (!is_plugin_name(d->name))
        return why_set(why, len, "name \"%s\" is not lower-case [a-z0-9_]+",
                       d->name ? d->name : "(null)");
    if (!nonempty(d->version))
        return why_set(why, len, "%s.%s: no version", kind, d->name);
    if (!nonempty(d->license))
        return why_set(why, len, "%s.%s: no license (an SPDX identifier)", kind, d->name);
    if (!nonempty(d->summary))
        return why_set(why, len, "%s.%s: no summary", kind, d->name);
    if (!d->run)
        return why_set(why, len, "%s.%s: no run function", kind, d->name);
    /* Writers and exporters produce files, not objects: they alone may
     * have no output port. */
    if ((!d->outputs || !d->outputs[0].name) && d->kind != QIB_KIND_WRITE &&
        d->kind != QIB_KIND_EXPORT)
        return why_set(why, len, "%s.%s: no output port (only write and export plugins may have none)",
                       kind, d->name);
    char sub[320];
    for (size_t i = 0; d->params && d->params[i].name; i++)
        if (check_param(d, i, sub, sizeof sub) != QIB_OK)
            return why_set(why, len, "%s.%s: %s", kind, d->name, sub);
    if (check_ports(d->inputs, "input", NULL, sub, sizeof sub) != QIB_OK ||
        check_ports(d->outputs, "output", d->params ? d->params : (const struct qib_param[]){{0}},
                    sub, sizeof sub) != QIB_OK)
        return why_set(why, len, "%s.%s: %s", kind, d->name, sub);
    return QIB_OK;
}

/* ---- registry ---- */

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

QIB_PRINTF(2, 3)
static char *xasprintf(int *ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s) {
        *ok = 0;
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* One module file of the search path, in full-scan order. */
struct cand {
    char *path;
    const char *base;   /* file name part of path */
    int opened;         /* load_file was called on it */
};

struct qib__regscan {
    struct cand *c;
    size_t n, cap;
    size_t capp;        /* capacity of the registry's problems */
    size_t next;        /* every candidate before this one has been opened */
};

/* Directories and files already seen, by identity, so a directory on both
 * QIB_PLUGIN_PATH and the install path is read once. */
struct ident {
    dev_t dev;
    ino_t ino;
};

struct idents {
    struct ident *v;
    size_t n, cap;
};

static int seen(struct idents *s, const struct stat *st)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].dev == st->st_dev && s->v[i].ino == st->st_ino)
            return 1;
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 16;
        struct ident *nv = realloc(s->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n].dev = st->st_dev;
    s->v[s->n].ino = st->st_ino;
    s->n++;
    return 0;
}

/* Record a refused module; takes @p reason (malloc'd). */
static int add_problem(struct qib__registry *r, const char *path, char *reason)
{
    if (!reason)
        return QIB_ENOMEM;
    if (r->nproblems == r->scan->capp) {
        size_t nc = r->scan->capp ? 2 * r->scan->capp : 8;
        struct qib__problem *np = realloc(r->problems, nc * sizeof *np);
        if (!np) {
            free(reason);
            return QIB_ENOMEM;
        }
        r->problems = np;
        r->scan->capp = nc;
    }
    char *p = xstrdup(path);
    if (!p) {
        free(reason);
        return QIB_ENOMEM;
    }
    r->problems[r->nproblems].path = p;
    r->problems[r->nproblems].reason = reason;
    r->nproblems++;
    return QIB_OK;
}

/* The full name "kind.name" a file named "<kind>_<name>.so" is for, written
 * to @p out (NUL-terminated); 0 when @p base is not such a name (the kind
 * must be one of the plugin kinds, the name lower-case [a-z0-9_]+). */
static int name_of_file(const char *base, char *out, size_t outlen)
{
    const char *us = strchr(base, '_');
    size_t n = strlen(base);
    if (!us || n <= 3 || strcmp(base + n - 3, ".so") != 0)
        return 0;
    size_t kl = (size_t)(us - base), nl = n - 3 - kl - 1;
    if (nl == 0 || kl + 1 + nl + 1 > outlen)
        return 0;
    int kind_ok = 0;
    for (int k = QIB_KIND_READ; k <= QIB_KIND_EXPORT; k++) {
        const char *kn = qib_kind_name((enum qib_kind)k);
        if (kn && strlen(kn) == kl && strncmp(kn, base, kl) == 0)
            kind_ok = 1;
    }
    if (!kind_ok)
        return 0;
    memcpy(out, base, kl);
    out[kl] = '.';
    memcpy(out + kl + 1, us + 1, nl);
    out[kl + 1 + nl] = '\0';
    return is_plugin_name(out + kl + 1);
}

static const struct qib__module *find_loaded(const struct qib__registry *r, const char *full_name)
{
    for (size_t i = 0; r && i < r->nmods; i++)
        if (strcmp(r->mods[i].full_name, full_name) == 0)
            return &r->mods[i];
    return NULL;
}

static int load_file(struct qib__registry *r, const char *path, const char *base)
{
    int ok = 1;
    dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        return add_problem(r, path,
                           xasprintf(&ok,
                                     "cannot be loaded: %s (run `ldd -r %s` to list the "
                                     "libraries and symbols it cannot resolve)",
                                     e ? e : "unknown dlopen error", path));
    }
    /* POSIX dlsym returns an object pointer; converting it to a function
     * pointer through a union avoids the ISO C cast warning. */
    union {
        void *obj;
        qib_plugin_entry_fn fn;
    } sym;
    dlerror();
    sym.obj = dlsym(h, QIB_PLUGIN_ENTRY_SYMBOL);
    if (!sym.obj) {
        dlclose(h);
        return add_problem(r, path,
                           xasprintf(&ok,
                                     "has no symbol %s: not a qib plugin (a plugin declares "
                                     "its descriptor with QIB_PLUGIN_DEFINE)",
                                     QIB_PLUGIN_ENTRY_SYMBOL));
    }
    const struct qib_plugin *d = sym.fn();
    if (!d) {
        dlclose(h);
        return add_problem(r, path,
                           xasprintf(&ok, "%s returned NULL instead of a descriptor",
                                     QIB_PLUGIN_ENTRY_SYMBOL));
    }
    char why[512];
    if (qib__plugin_check(d, why, sizeof why) != QIB_OK) {
        dlclose(h);
        return add_problem(r, path, xasprintf(&ok, "%s", why));
    }
    char *full = xasprintf(&ok, "%s.%s", qib_kind_name(d->kind), d->name);
    if (!full) {
        dlclose(h);
        return QIB_ENOMEM;
    }
    /* A file named after a plugin must hold that plugin: lookups open only
     * the file of the name asked for, and rely on no other file of that form
     * providing it. */
    char fname[256];
    if (name_of_file(base, fname, sizeof fname) && strcmp(fname, full) != 0) {
        char *reason = xasprintf(&ok,
                                 "holds plugin \"%s\" but its file name is that of plugin "
                                 "\"%s\": rename it to %s_%s.so (qib finds a plugin by the "
                                 "file name <kind>_<name>.so)",
                                 full, fname, qib_kind_name(d->kind), d->name);
        free(full);
        dlclose(h);
        return add_problem(r, path, reason);
    }
    const struct qib__module *first = find_loaded(r, full);
    if (first) {
        char *reason = xasprintf(&ok,
                                 "plugin \"%s\" is already loaded from %s; this copy is "
                                 "ignored (remove one of them, or reorder QIB_PLUGIN_PATH)",
                                 full, first->path);
        free(full);
        dlclose(h);
        return add_problem(r, path, reason);
    }
    /* Room for every candidate was reserved when the files were listed, so
     * the array never moves and returned module pointers stay valid. */
    if (r->nmods >= r->scan->n) {
        free(full);
        dlclose(h);
        return QIB_ENOMEM;
    }
    struct qib__module *m = &r->mods[r->nmods];
    m->path = xstrdup(path);
    if (!m->path) {
        free(full);
        dlclose(h);
        return QIB_ENOMEM;
    }
    m->sha256[0] = '\0';
    m->handle = h;
    m->desc = d;
    m->desc_copy = NULL;
    if (!d->outputs) {
        /* A writer or exporter without outputs: give the rest of the engine
         * an empty, terminated table to walk instead of NULL. */
        static const struct qib_port no_ports[] = {{.name = NULL}};
        m->desc_copy = malloc(sizeof *m->desc_copy);
        if (!m->desc_copy) {
            free(m->path);
            free(full);
            dlclose(h);
            return QIB_ENOMEM;
        }
        *m->desc_copy = *d;
        m->desc_copy->outputs = no_ports;
        m->desc = m->desc_copy;
    }
    m->full_name = full;
    r->nmods++;
    return QIB_OK;
}

int qib__module_hash(const struct qib__module *m)
{
    if (m->sha256[0])
        return QIB_OK;
    char hex[65];
    if (qib_sha256_file(m->path, hex) != QIB_OK)
        return QIB_EIO;
    /* The module is owned by its registry, which created it writable; the
     * digest is a cache of the file's content, not a change of the module. */
    memcpy(((struct qib__module *)m)->sha256, hex, sizeof hex);
    return QIB_OK;
}

static int open_cand(struct qib__registry *r, size_t i)
{
    struct cand *c = &r->scan->c[i];
    if (c->opened)
        return QIB_OK;
    c->opened = 1;
    return load_file(r, c->path, c->base);
}

int qib__registry_complete(struct qib__registry *r)
{
    struct qib__regscan *sc = r ? r->scan : NULL;
    if (!sc)
        return QIB_OK;
    for (; sc->next < sc->n; sc->next++) {
        int rc = open_cand(r, sc->next);
        if (rc != QIB_OK)
            return rc;
    }
    return QIB_OK;
}

/* The registry is created writable by list_files; lookups only open files
 * it lists, which changes what is cached, not what a name means. */
static struct qib__registry *writable(const struct qib__registry *r)
{
    return (struct qib__registry *)r;
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with_so(const char *s)
{
    size_t n = strlen(s);
    return n > 3 && strcmp(s + n - 3, ".so") == 0;
}

static int add_cand(struct qib__regscan *sc, char *path, size_t dirlen)
{
    if (sc->n == sc->cap) {
        size_t nc = sc->cap ? 2 * sc->cap : 32;
        struct cand *nv = realloc(sc->c, nc * sizeof *nv);
        if (!nv)
            return QIB_ENOMEM;
        sc->c = nv;
        sc->cap = nc;
    }
    sc->c[sc->n].path = path;
    sc->c[sc->n].base = path + dirlen + 1;
    sc->c[sc->n].opened = 0;
    sc->n++;
    return QIB_OK;
}

static int list_dir(struct qib__regscan *sc, struct idents *dirs, struct idents *files,
                    const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return QIB_OK;
    int s = seen(dirs, &st);
    if (s)
        return s < 0 ? QIB_ENOMEM : QIB_OK;
    DIR *dp = opendir(dir);
    if (!dp)
        return QIB_OK;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = QIB_OK;
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (de->d_name[0] == '.' || !ends_with_so(de->d_name))
            continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 32;
            char **nn = realloc(names, nc * sizeof *nn);
            if (!nn) {
                rc = QIB_ENOMEM;
                break;
            }
            names = nn;
            cap = nc;
        }
        if (!(names[n] = xstrdup(de->d_name))) {
            rc = QIB_ENOMEM;
            break;
        }
        n++;
    }
    closedir(dp);
    if (n)
        qsort(names, n, sizeof *names, cmpstr);
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    for (size_t i = 0; i < n && rc == QIB_OK; i++) {
        int ok = 1;
        char *path = xasprintf(&ok, "%.*s/%s", (int)dl, dir, names[i]);
        if (!path) {
            rc = QIB_ENOMEM;
            break;
        }
        int keep = 0;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            int sf = seen(files, &st);
            if (sf < 0)
                rc = QIB_ENOMEM;
            else if (sf == 0 && (rc = add_cand(sc, path, (size_t)dl)) == QIB_OK)
                keep = 1;
        }
        if (!keep)
            free(path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static int list_pathlist(struct qib__regscan *sc, struct idents *dirs, struct idents *files,
                         const char *list)
{
    if (!list)
        return QIB_OK;
    char *copy = xstrdup(list);
    if (!copy)
        return QIB_ENOMEM;
    int rc = QIB_OK;
    char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && rc == QIB_OK; d = strtok_r(NULL, ":", &save))
        if (*d)
            rc = list_dir(sc, dirs, files, d);
    free(copy);
    return rc;
}

/* A registry with the module files of @p a then @p b listed, none opened. */
static int list_files(const char *a, const char *b, struct qib__registry **out)
{
    *out = NULL;
    struct qib__registry *r = calloc(1, sizeof *r);
    if (!r)
        return QIB_ENOMEM;
    r->scan = calloc(1, sizeof *r->scan);
    if (!r->scan) {
        free(r);
        return QIB_ENOMEM;
    }
    struct idents dirs = {0}, files = {0};
    int rc = list_pathlist(r->scan, &dirs, &files, a);
    if (rc == QIB_OK)
        rc = list_pathlist(r->scan, &dirs, &files, b);
    free(dirs.v);
    free(files.v);
    /* One slot per file: a file gives at most one module. */
    if (rc == QIB_OK && !(r->mods = calloc(r->scan->n ? r->scan->n : 1, sizeof *r->mods)))
        rc = QIB_ENOMEM;
    if (rc != QIB_OK) {
        qib__registry_free(&r);
        return rc;
    }
    *out = r;
    return QIB_OK;
}

static int registry_load(const char *a, const char *b, struct qib__registry **out)
{
    int rc = list_files(a, b, out);
    if (rc == QIB_OK && (rc = qib__registry_complete(*out)) != QIB_OK)
        qib__registry_free(out);
    return rc;
}

int qib__registry_load(struct qib__registry **out)
{
    return registry_load(getenv("QIB_PLUGIN_PATH"), QIB_PLUGINDIR, out);
}

int qib__registry_load_path(const char *path, struct qib__registry **out)
{
    return registry_load(path, NULL, out);
}

int qib__registry_open(struct qib__registry **out)
{
    return list_files(getenv("QIB_PLUGIN_PATH"), QIB_PLUGINDIR, out);
}

int qib__registry_open_path(const char *path, struct qib__registry **out)
{
    return list_files(path, NULL, out);
}

void qib__registry_free(struct qib__registry **rp)
{
    if (!rp || !*rp)
        return;
    struct qib__registry *r = *rp;
    /* Close in reverse load order: a later module never depends on an earlier
     * one, but reverse order is the conventional mirror of loading. */
    for (size_t i = r->nmods; i-- > 0;) {
        dlclose(r->mods[i].handle);
        free(r->mods[i].desc_copy);
        free(r->mods[i].path);
        free(r->mods[i].full_name);
    }
    free(r->mods);
    for (size_t i = 0; i < r->nproblems; i++) {
        free(r->problems[i].path);
        free(r->problems[i].reason);
    }
    free(r->problems);
    if (r->scan) {
        for (size_t i = 0; i < r->scan->n; i++)
            free(r->scan->c[i].path);
        free(r->scan->c);
        free(r->scan);
    }
    free(r);
    *rp = NULL;
}

/* The lazy lookup: open only the first file named "<kind>_<name>.so" for
 * @p full_name, when every file before it on the search path is named after
 * a plugin too.  Under the loader's rule such a file can only hold the
 * plugin of its own name, so none of them can provide @p full_name and the
 * full scan would take this file.  Returns the module, or NULL when the
 * full scan must decide. */
static const struct qib__module *find_lazy(struct qib__registry *r, const char *full_name)
{
    struct qib__regscan *sc = r->scan;
    char want[256];
    const char *dot = strchr(full_name, '.');
    if (!dot || strlen(full_name) + 3 >= sizeof want)
        return NULL;
    snprintf(want, sizeof want, "%.*s_%s.so", (int)(dot - full_name), full_name, dot + 1);
    char fname[256];
    for (size_t i = 0; i < sc->n; i++) {
        if (!name_of_file(sc->c[i].base, fname, sizeof fname))
            return NULL;
        if (strcmp(sc->c[i].base, want) != 0)
            continue;
        if (strcmp(fname, full_name) != 0 || open_cand(r, i) != QIB_OK)
            return NULL;
        return find_loaded(r, full_name);
    }
    return NULL;
}

const struct qib__module *qib__registry_find(const struct qib__registry *r,
                                             const char *full_name)
{
    const struct qib__module *m = find_loaded(r, full_name);
    if (m || !r || !r->scan || r->scan->next >= r->scan->n)
        return m;
    struct qib__registry *w = writable(r);
    if ((m = find_lazy(w, full_name)) != NULL)
        return m;
    if (qib__registry_complete(w) != QIB_OK)
        return NULL;
    return find_loaded(r, full_name);
}

const char *qib__registry_suggest(const struct qib__registry *r, const char *name)
{
    if (r)
        qib__registry_complete(writable(r));
    if (!r || !r->nmods)
        return NULL;
    const char **names = malloc(r->nmods * sizeof *names);
    if (!names)
        return NULL;
    for (size_t i = 0; i < r->nmods; i++)
        names[i] = r->mods[i].full_name;
    const char *best = qib__nearest(name, names, r->nmods);
    free(names);
    return best;
}

const struct qib__problem *qib__registry_problem_for(const struct qib__registry *r,
                                                     const char *full_name)
{
    const char *dot = strchr(full_name, '.');
    if (!r || !dot)
        return NULL;
    qib__registry_complete(writable(r));
    size_t kl = (size_t)(dot - full_name), nl = strlen(dot + 1);
    for (size_t i = 0; i < r->nproblems; i++) {
        const char *base = strrchr(r->problems[i].path, '/');
        base = base ? base + 1 : r->problems[i].path;
        if (strlen(base) == kl + 1 + nl + 3 && strncmp(base, full_name, kl) == 0 &&
            base[kl] == '_' && strncmp(base + kl + 1, dot + 1, nl) == 0 &&
            strcmp(base + kl + 1 + nl, ".so") == 0)
            return &r->problems[i];
    }
    return NULL;
}
