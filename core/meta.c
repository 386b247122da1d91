/* The metadata dictionary: a small ordered array of key, value and source
 * strings.  Dictionaries hold tens of entries, so a linear search is both
 * the simplest and the fastest structure here. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "qib/meta.h"
#include "qib/status.h"
#include "qib/table.h"

struct entry {
    char *key;
    char *value;
    char *source; /* NULL when none was given */
};

struct qib_meta {
    struct entry *e;
    size_t n;
    size_t cap;
};

static char *dupstr(const char *s)
{
    if (!s)
        return NULL;
    size_t len = strlen(s) + 1;
    char *d = malloc(len);
    if (d)
        memcpy(d, s, len);
    return d;
}

static void entry_clear(struct entry *e)
{
    free(e->key);
    free(e->value);
    free(e->source);
    e->key = e->value = e->source = NULL;
}

qib_meta *qib_meta_new(void)
{
    return calloc(1, sizeof(qib_meta));
}

void qib_meta_free(qib_meta **m)
{
    if (!m || !*m)
        return;
    for (size_t i = 0; i < (*m)->n; i++)
        entry_clear(&(*m)->e[i]);
    free((*m)->e);
    free(*m);
    *m = NULL;
}

qib_meta *qib_meta_copy(const qib_meta *m)
{
    qib_meta *c = qib_meta_new();
    if (!c || !m || m->n == 0)
        return c;
    c->e = calloc(m->n, sizeof *c->e);
    if (!c->e) {
        free(c);
        return NULL;
    }
    c->cap = m->n;
    for (size_t i = 0; i < m->n; i++) {
        struct entry *d = &c->e[i];
        const struct entry *s = &m->e[i];
        d->key = dupstr(s->key);
        d->value = dupstr(s->value);
        d->source = dupstr(s->source);
        c->n = i + 1;
        if (!d->key || !d->value || (s->source && !d->source)) {
            qib_meta_free(&c);
            return NULL;
        }
    }
    return c;
}

static struct entry *find(const qib_meta *m, const char *key, size_t *pos)
{
    if (!m || !key)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->e[i].key, key) == 0) {
            if (pos)
                *pos = i;
            return &m->e[i];
        }
    return NULL;
}

int qib_meta_set(qib_meta *m, const char *key, const char *value, const char *source)
{
    if (!m || !key || !*key || !value)
        return QIB_EINVAL;
    char *v = dupstr(value);
    char *s = dupstr(source);
    if (!v || (source && !s)) {
        free(v);
        free(s);
        return QIB_ENOMEM;
    }
    struct entry *e = find(m, key, NULL);
    if (e) {
        free(e->value);
        free(e->source);
        e->value = v;
        e->source = s;
        return QIB_OK;
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 8;
        struct entry *ne = realloc(m->e, cap * sizeof *ne);
        if (!ne) {
            free(v);
            free(s);
            return QIB_ENOMEM;
        }
        m->e = ne;
        m->cap = cap;
    }
    char *k = dupstr(key);
    if (!k) {
        free(v);
        free(s);
        return QIB_ENOMEM;
    }
    m->e[m->n++] = (struct entry){.key = k, .value = v, .source = s};
    return QIB_OK;
}

int qib_meta_set_double(qib_meta *m, const char *key, double value, const char *source)
{
    char buf[32];
    return qib_meta_set(m, key, qib_format_double(value, buf), source);
}

const char *qib_meta_get(const qib_meta *m, const char *key)
{
    const struct entry *e = find(m, key, NULL);
    return e ? e->value : NULL;
}

const char *qib_meta_source(const qib_meta *m, const char *key)
{
    const struct entry *e = find(m, key, NULL);
    return e ? e->source : NULL;
}

int qib_meta_get_double(const qib_meta *m, const char *key, double *out)
{
    const struct entry *e = find(m, key, NULL);
    if (!e)
        return QIB_ENOTFOUND;
    return qib_parse_double(e->value, out);
}

int qib_meta_remove(qib_meta *m, const char *key)
{
    size_t pos;
    struct entry *e = find(m, key, &pos);
    if (!e)
        return QIB_ENOTFOUND;
    entry_clear(e);
    memmove(&m->e[pos], &m->e[pos + 1], (m->n - pos - 1) * sizeof *m->e);
    m->n--;
    return QIB_OK;
}

size_t qib_meta_count(const qib_meta *m)
{
    return m ? m->n : 0;
}

int qib_meta_at(const qib_meta *m, size_t i, const char **key,
                const char **value, const char **source)
{
    if (!m || i >= m->n)
        return QIB_ERANGE;
    if (key)
        *key = m->e[i].key;
    if (value)
        *value = m->e[i].value;
    if (source)
        *source = m->e[i].source;
    return QIB_OK;
}
