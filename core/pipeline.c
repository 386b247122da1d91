/* The pipeline parser: YAML text -> a small tree with positions -> the
 * pipeline's syntax tree (pipeline.h).  libyaml's event parser is used, never
 * its document loader, so an alias is refused when it is met and never
 * expanded: an "alias bomb" costs nothing.  Anchors, tags, duplicate keys,
 * more than one document, nesting deeper than QIB__PIPELINE_MAX_DEPTH and
 * files over QIB__PIPELINE_MAX_BYTES are refused too. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "pipeline.h"
#include "qib/sha256.h"
#include "qib/status.h"
#include "qib/table.h"

/* ------------------------------------------------------------------------
 * Diagnostics
 * ------------------------------------------------------------------------ */

void qib__diag_add(struct qib__diags *d, struct qib__pos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0) {
        d->oom = 1;
        return;
    }
    char *msg = malloc((size_t)len + 1);
    if (!msg) {
        d->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)len + 1, fmt, ap);
    va_end(ap);
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 8;
        struct qib__diag *v = realloc(d->v, cap * sizeof *v);
        if (!v) {
            free(msg);
            d->oom = 1;
            return;
        }
        d->v = v;
        d->cap = cap;
    }
    d->v[d->n].pos = pos;
    d->v[d->n].msg = msg;
    d->n++;
}

void qib__diags_sort(struct qib__diags *d)
{
    /* Insertion sort: stable, and the lists are short. */
    for (size_t i = 1; i < d->n; i++) {
        struct qib__diag x = d->v[i];
        size_t j = i;
        while (j > 0 && (d->v[j - 1].pos.line > x.pos.line ||
                         (d->v[j - 1].pos.line == x.pos.line && d->v[j - 1].pos.col > x.pos.col))) {
            d->v[j] = d->v[j - 1];
            j--;
        }
        d->v[j] = x;
    }
}

void qib__diags_print(const struct qib__diags *d, const char *file, FILE *f)
{
    for (size_t i = 0; i < d->n; i++) {
        if (d->v[i].pos.line > 0)
            fprintf(f, "%s:%d:%d: %s\n", file, d->v[i].pos.line, d->v[i].pos.col, d->v[i].msg);
        else
            fprintf(f, "%s: %s\n", file, d->v[i].msg);
    }
    if (d->oom)
        fprintf(f, "%s: out of memory: some messages were lost\n", file);
}

void qib__diags_clear(struct qib__diags *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].msg);
    free(d->v);
    d->v = NULL;
    d->n = d->cap = 0;
    d->oom = 0;
}

/* ------------------------------------------------------------------------
 * YAML events -> a tree of nodes with positions
 * ------------------------------------------------------------------------ */

enum nkind { N_SCALAR, N_SEQ, N_MAP };

struct node {
    enum nkind kind;
    struct qib__pos pos;
    size_t raw_begin, raw_end; /* byte offsets in the source */
    char *s;                   /* N_SCALAR */
    int plain;
    struct node **kids;        /* N_SEQ: items; N_MAP: key, value, key, ... */
    size_t n, cap;
};

struct yctx {
    yaml_parser_t parser;
    const char *buf;
    size_t len;
    struct qib__diags *d;
    int fatal;   /* stop: the tree cannot be trusted */
    int oom;
    /* libyaml's mark.index counts characters; a cursor turns it into a byte
     * offset, moving forward as the events do. */
    size_t cur_char, cur_byte;
};

static struct qib__pos mkpos(yaml_mark_t m)
{
    struct qib__pos p;
    p.line = m.line < INT_MAX ? (int)m.line + 1 : INT_MAX;
    p.col = m.column < INT_MAX ? (int)m.column + 1 : INT_MAX;
    return p;
}

/* A UTF-8 byte order mark is consumed by libyaml's reader and not counted
 * in its marks. */
static size_t bom_len(const char *buf, size_t len)
{
    return len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

static size_t char_to_byte(struct yctx *c, size_t ci)
{
    if (ci < c->cur_char) {
        c->cur_char = 0;
        c->cur_byte = bom_len(c->buf, c->len);
    }
    while (c->cur_char < ci && c->cur_byte < c->len) {
        c->cur_byte++;
        /* skip UTF-8 continuation bytes: one character per lead byte */
        while (c->cur_byte < c->len && ((unsigned char)c->buf[c->cur_byte] & 0xC0) == 0x80)
            c->cur_byte++;
        c->cur_char++;
    }
    return c->cur_byte;
}

static void node_free(struct node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->s);
    free(n);
}

static int node_push(struct node *n, struct node *kid)
{
    if (n->n == n->cap) {
        size_t cap = n->cap ? 2 * n->cap : 8;
        struct node **k = realloc(n->kids, cap * sizeof *k);
        if (!k)
            return QIB_ENOMEM;
        n->kids = k;
        n->cap = cap;
    }
    n->kids[n->n++] = kid;
    return QIB_OK;
}

static void syntax_error(struct yctx *c)
{
    yaml_parser_t *p = &c->parser;
    struct qib__pos pos = {1, 1};
    c->fatal = 1;
    if (p->error == YAML_MEMORY_ERROR) {
        c->oom = 1;
        return;
    }
    if (p->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset, not a mark. */
        size_t off = p->problem_offset < c->len ? p->problem_offset : c->len;
        for (size_t i = bom_len(c->buf, c->len); i < off; i++) {
            if (c->buf[i] == '\n') {
                pos.line++;
                pos.col = 1;
            } else if (((unsigned char)c->buf[i] & 0xC0) != 0x80) {
                pos.col++;
            }
        }
        if (p->problem_value != -1)
            qib__diag_add(c->d, pos, "not valid UTF-8 text: %s (byte 0x%02X at offset %zu)",
                          p->problem ? p->problem : "invalid byte",
                          (unsigned)p->problem_value & 0xFFu, p->problem_offset);
        else
            qib__diag_add(c->d, pos, "not valid UTF-8 text: %s (at offset %zu)",
                          p->problem ? p->problem : "invalid byte", p->problem_offset);
        return;
    }
    pos = mkpos(p->problem_mark);
    if (p->context)
        qib__diag_add(c->d, pos, "YAML syntax error: %s (%s at line %d, column %d)",
                      p->problem ? p->problem : "invalid YAML", p->context,
                      mkpos(p->context_mark).line, mkpos(p->context_mark).col);
    else
        qib__diag_add(c->d, pos, "YAML syntax error: %s",
                      p->problem ? p->problem : "invalid YAML");
}

static int next_event(struct yctx *c, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&c->parser, ev)) {
        syntax_error(c);
        return -1;
    }
    return 0;
}

/* Refuse anchors and tags on a node: the format has no use for them and
 * aliases are how a small file expands into a huge one. */
static int check_props(struct yctx *c, const yaml_event_t *ev, const yaml_char_t *anchor,
                       const yaml_char_t *tag)
{
    if (anchor) {
        qib__diag_add(c->d, mkpos(ev->start_mark),
                      "YAML anchors and aliases (&%s, *%s) are not allowed in a pipeline: "
                      "write each value out", (const char *)anchor, (const char *)anchor);
        c->fatal = 1;
        return -1;
    }
    if (tag) {
        qib__diag_add(c->d, mkpos(ev->start_mark),
                      "YAML tags (%s) are not allowed in a pipeline: write plain values",
                      (const char *)tag);
        return 0;
    }
    return 0;
}

static struct node *node_new(struct yctx *c, enum nkind k, const yaml_event_t *ev)
{
    struct node *n = calloc(1, sizeof *n);
    if (!n) {
        c->oom = 1;
        c->fatal = 1;
        return NULL;
    }
    n->kind = k;
    n->pos = mkpos(ev->start_mark);
    n->raw_begin = char_to_byte(c, ev->start_mark.index);
    n->raw_end = char_to_byte(c, ev->end_mark.index);
    return n;
}

static struct node *parse_node(struct yctx *c, yaml_event_t *ev, int depth);

/* Parse the children of a collection whose start event was @p start, up to
 * the matching end event. */
static struct node *parse_collection(struct yctx *c, yaml_event_t *start, int depth)
{
    int is_map = start->type == YAML_MAPPING_START_EVENT;
    yaml_event_type_t end = is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
    if (depth >= QIB__PIPELINE_MAX_DEPTH) {
        qib__diag_add(c->d, mkpos(start->start_mark),
                      "nesting deeper than %d levels: a pipeline is shallow, this is not one",
                      QIB__PIPELINE_MAX_DEPTH);
        c->fatal = 1;
        yaml_event_delete(start);
        return NULL;
    }
    struct node *n = node_new(c, is_map ? N_MAP : N_SEQ, start);
    yaml_event_delete(start);
    if (!n)
        return NULL;
    for (;;) {
        yaml_event_t ev;
        if (next_event(c, &ev) < 0)
            break;
        if (ev.type == end) {
            n->raw_end = char_to_byte(c, ev.end_mark.index);
            yaml_event_delete(&ev);
            return n;
        }
        struct qib__pos kpos = mkpos(ev.start_mark);
        int key_ok = 1;
        if (is_map && ev.type != YAML_SCALAR_EVENT && ev.type != YAML_ALIAS_EVENT) {
            qib__diag_add(c->d, kpos, "a mapping key must be a plain name, not a %s",
                          ev.type == YAML_MAPPING_START_EVENT ? "mapping" : "sequence");
            key_ok = 0;
        }
        struct node *kid = parse_node(c, &ev, depth + 1);
        if (!kid)
            break;
        if (is_map) {
            yaml_event_t vev;
            if (next_event(c, &vev) < 0) {
                node_free(kid);
                break;
            }
            struct node *val = parse_node(c, &vev, depth + 1);
            if (!val) {
                node_free(kid);
                break;
            }
            int dup = 0;
            if (key_ok) {
                for (size_t i = 0; i < n->n; i += 2) {
                    if (n->kids[i]->kind == N_SCALAR && strcmp(n->kids[i]->s, kid->s) == 0) {
                        qib__diag_add(c->d, kid->pos, "duplicate key \"%s\" (first at line %d, column %d)",
                                      kid->s, n->kids[i]->pos.line, n->kids[i]->pos.col);
                        dup = 1;
                        break;
                    }
                }
            }
            if (dup || !key_ok) {
                node_free(kid);
                node_free(val);
                continue;
            }
            if (node_push(n, kid) < 0 || node_push(n, val) < 0) {
                /* kid may have been pushed alone: keep pairs whole */
                if (n->n % 2)
                    n->n--;
                node_free(kid);
                node_free(val);
                c->oom = 1;
                c->fatal = 1;
                break;
            }
        } else if (node_push(n, kid) < 0) {
            node_free(kid);
            c->oom = 1;
            c->fatal = 1;
            break;
        }
    }
    node_free(n);
    return NULL;
}

/* Build the node of event @p ev (consumed) and of everything under it. */
static struct node *parse_node(struct yctx *c, yaml_event_t *ev, int depth)
{
    struct node *n = NULL;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        qib__diag_add(c->d, mkpos(ev->start_mark),
                      "YAML aliases (*%s) are not allowed in a pipeline: write each value out",
                      (const char *)ev->data.alias.anchor);
        c->fatal = 1;
        break;
    case YAML_SCALAR_EVENT:
        if (check_props(c, ev, ev->data.scalar.anchor, ev->data.scalar.tag) < 0)
            break;
        if (strlen((const char *)ev->data.scalar.value) != ev->data.scalar.length) {
            qib__diag_add(c->d, mkpos(ev->start_mark), "a NUL character (\\0) is not allowed in text");
            c->fatal = 1;
            break;
        }
        n = node_new(c, N_SCALAR, ev);
        if (!n)
            break;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        n->s = malloc(ev->data.scalar.length + 1);
        if (!n->s) {
            free(n);
            n = NULL;
            c->oom = 1;
            c->fatal = 1;
            break;
        }
        memcpy(n->s, ev->data.scalar.value, ev->data.scalar.length + 1);
        break;
    case YAML_SEQUENCE_START_EVENT:
        if (check_props(c, ev, ev->data.sequence_start.anchor, ev->data.sequence_start.tag) < 0)
            break;
        return parse_collection(c, ev, depth);
    case YAML_MAPPING_START_EVENT:
        if (check_props(c, ev, ev->data.mapping_start.anchor, ev->data.mapping_start.tag) < 0)
            break;
        return parse_collection(c, ev, depth);
    default:
        qib__diag_add(c->d, mkpos(ev->start_mark), "unexpected YAML event");
        c->fatal = 1;
        break;
    }
    yaml_event_delete(ev);
    return n;
}

/* The whole stream: exactly one document whose root is returned. */
static struct node *parse_stream(struct yctx *c)
{
    yaml_event_t ev;
    struct node *root = NULL;
    if (next_event(c, &ev) < 0)
        return NULL;
    yaml_event_delete(&ev); /* STREAM-START */
    if (next_event(c, &ev) < 0)
        return NULL;
    if (ev.type == YAML_STREAM_END_EVENT) {
        qib__diag_add(c->d, (struct qib__pos){1, 1},
                      "the file is empty: a pipeline is a mapping starting with 'qib: 1'");
        yaml_event_delete(&ev);
        c->fatal = 1;
        return NULL;
    }
    yaml_event_delete(&ev); /* DOCUMENT-START */
    if (next_event(c, &ev) < 0)
        return NULL;
    root = parse_node(c, &ev, 0);
    if (!root)
        return NULL;
    if (next_event(c, &ev) < 0)
        goto fail;
    yaml_event_delete(&ev); /* DOCUMENT-END */
    if (next_event(c, &ev) < 0)
        goto fail;
    if (ev.type != YAML_STREAM_END_EVENT) {
        qib__diag_add(c->d, mkpos(ev.start_mark),
                      "a second YAML document: a pipeline file holds exactly one");
        yaml_event_delete(&ev);
        c->fatal = 1;
        goto fail;
    }
    yaml_event_delete(&ev);
    return root;
fail:
    node_free(root);
    return NULL;
}

/* ------------------------------------------------------------------------
 * Tree -> pipeline
 * ------------------------------------------------------------------------ */

struct bctx {
    struct qib__diags *d;
    int oom;
};

static char *xstrdup(struct bctx *b, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *r = malloc(n);
    if (!r) {
        b->oom = 1;
        return NULL;
    }
    memcpy(r, s, n);
    return r;
}

static const char *kind_word(const struct node *n)
{
    switch (n->kind) {
    case N_SCALAR:
        return "a single value";
    case N_SEQ:
        return "a list";
    default:
        return "a mapping";
    }
}

/* A plain empty, "~" or "null" scalar: YAML's null. */
static int is_null(const struct node *n)
{
    return n->kind == N_SCALAR && n->plain &&
           (n->s[0] == '\0' || strcmp(n->s, "~") == 0 || strcmp(n->s, "null") == 0 ||
            strcmp(n->s, "Null") == 0 || strcmp(n->s, "NULL") == 0);
}

static int want(struct bctx *b, const struct node *n, enum nkind k, const char *what)
{
    if (n->kind == k)
        return 1;
    static const char *const words[] = {"a single value", "a list", "a mapping"};
    qib__diag_add(b->d, n->pos, "%s must be %s, found %s", what, words[k],
                  is_null(n) ? "nothing" : kind_word(n));
    return 0;
}

/* A non-empty text value. */
static char *want_text(struct bctx *b, const struct node *n, const char *what)
{
    if (!want(b, n, N_SCALAR, what))
        return NULL;
    if (is_null(n)) {
        qib__diag_add(b->d, n->pos, "%s is empty", what);
        return NULL;
    }
    return xstrdup(b, n->s);
}

static int want_bool(struct bctx *b, const struct node *n, const char *what, int *out)
{
    if (!want(b, n, N_SCALAR, what))
        return 0;
    if (strcmp(n->s, "true") == 0) {
        *out = 1;
        return 1;
    }
    if (strcmp(n->s, "false") == 0) {
        *out = 0;
        return 1;
    }
    qib__diag_add(b->d, n->pos, "%s must be true or false, found \"%s\"", what, n->s);
    return 0;
}

/* Identifiers: step ids, input, parameter and output names.  No dots, so
 * "step.port" and "${inputs.NAME}" stay unambiguous. */
static int check_ident(struct bctx *b, const struct node *n, const char *what)
{
    const char *s = n->s;
    int good = (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_';
    for (const char *p = s; good && *p; p++)
        good = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
               (*p >= '0' && *p <= '9') || *p == '_' || *p == '-';
    if (!good)
        qib__diag_add(b->d, n->pos,
                      "%s \"%s\" is not a valid name: use letters, digits, '_' and '-', "
                      "starting with a letter or '_'", what, s);
    return good;
}

/* Report a key not in @p known, with the nearest known key. */
static void unknown_key(struct bctx *b, const struct node *k, const char *where,
                        const char *const *known, size_t nknown)
{
    const char *near = qib__nearest(k->s, known, nknown);
    char list[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < nknown; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", known[i]);
        if (w < 0 || (size_t)w >= sizeof list - used)
            break;
        used += (size_t)w;
    }
    if (near)
        qib__diag_add(b->d, k->pos, "unknown key \"%s\" %s (did you mean \"%s\"?)", k->s, where, near);
    else
        qib__diag_add(b->d, k->pos, "unknown key \"%s\" %s; known keys: %s", k->s, where, list);
}

static size_t key_index(const char *key, const char *const *known, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(key, known[i]) == 0)
            return i;
    return n;
}

static void scalar_from(struct qib__scalar *s, const struct node *n, struct bctx *b)
{
    s->s = xstrdup(b, n->s);
    s->pos = n->pos;
    s->raw_begin = n->raw_begin;
    s->raw_end = n->raw_end;
    s->plain = n->plain;
}

static void scalar_free(struct qib__scalar *s)
{
    free(s->s);
    s->s = NULL;
}

static void yval_free(struct qib__yval *v)
{
    scalar_free(&v->one);
    for (size_t i = 0; i < v->n; i++)
        scalar_free(&v->items[i]);
    free(v->items);
    v->items = NULL;
    v->n = 0;
}

/* A value: a scalar, or a list of scalars.  Returns 1 when usable. */
static int build_yval(struct bctx *b, const struct node *n, const char *what, struct qib__yval *v)
{
    memset(v, 0, sizeof *v);
    v->pos = n->pos;
    if (n->kind == N_MAP) {
        qib__diag_add(b->d, n->pos, "%s must be a value or a list of values, found a mapping",
                      what);
        return 0;
    }
    if (n->kind == N_SCALAR) {
        if (is_null(n)) {
            qib__diag_add(b->d, n->pos, "%s has no value", what);
            return 0;
        }
        scalar_from(&v->one, n, b);
        return v->one.s != NULL;
    }
    v->is_list = 1;
    if (n->n) {
        v->items = calloc(n->n, sizeof *v->items);
        if (!v->items) {
            b->oom = 1;
            return 0;
        }
    }
    int good = 1;
    for (size_t i = 0; i < n->n; i++) {
        const struct node *it = n->kids[i];
        if (it->kind != N_SCALAR || is_null(it)) {
            qib__diag_add(b->d, it->pos, "%s: list item %zu must be a single value, found %s",
                          what, i + 1, is_null(it) ? "nothing" : kind_word(it));
            good = 0;
            continue;
        }
        scalar_from(&v->items[v->n++], it, b);
    }
    if (!good)
        yval_free(v);
    return good;
}

/* The pipeline-syntax text of a value: "x" or "[a, b, c]". */
static char *yval_text(struct bctx *b, const struct qib__yval *v)
{
    if (!v->is_list)
        return xstrdup(b, v->one.s);
    size_t len = 3;
    for (size_t i = 0; i < v->n; i++)
        len += strlen(v->items[i].s) + 2;
    char *t = malloc(len);
    if (!t) {
        b->oom = 1;
        return NULL;
    }
    char *p = t;
    *p++ = '[';
    for (size_t i = 0; i < v->n; i++) {
        size_t l = strlen(v->items[i].s);
        if (i) {
            *p++ = ',';
            *p++ = ' ';
        }
        memcpy(p, v->items[i].s, l);
        p += l;
    }
    *p++ = ']';
    *p = '\0';
    return t;
}

static void build_inputs(struct bctx *b, const struct node *m, struct qib__pipeline *pl)
{
    static const char *const keys[] = {"type", "optional", "help"};
    if (!want(b, m, N_MAP, "'inputs'"))
        return;
    if (m->n == 0)
        return;
    pl->inputs = calloc(m->n / 2, sizeof *pl->inputs);
    if (!pl->inputs) {
        b->oom = 1;
        return;
    }
    for (size_t i = 0; i < m->n; i += 2) {
        const struct node *k = m->kids[i], *v = m->kids[i + 1];
        if (!check_ident(b, k, "input"))
            continue;
        struct qib__pinput *in = &pl->inputs[pl->ninputs];
        memset(in, 0, sizeof *in);
        in->pos = k->pos;
        in->type = QIB__INPUT_PATH;
        int good = 1;
        char what[128];
        snprintf(what, sizeof what, "input \"%s\"", k->s);
        if (v->kind == N_SCALAR && !is_null(v)) {
            qib__diag_add(b->d, v->pos,
                          "input \"%s\" must be a mapping such as {type: path, help: \"...\"}, "
                          "found a single value", k->s);
            good = 0;
        } else if (v->kind == N_MAP) {
            for (size_t j = 0; j < v->n; j += 2) {
                const struct node *ik = v->kids[j], *iv = v->kids[j + 1];
                switch (key_index(ik->s, keys, 3)) {
                case 0: {
                    if (!want(b, iv, N_SCALAR, "'type'")) {
                        good = 0;
                        break;
                    }
                    int t = 0;
                    for (int ty = QIB__INPUT_PATH; ty <= QIB__INPUT_INT; ty++)
                        if (strcmp(iv->s, qib__input_type_name((enum qib__input_type)ty)) == 0)
                            t = ty;
                    if (!t) {
                        qib__diag_add(b->d, iv->pos,
                                      "input \"%s\": unknown type \"%s\": use path, string, double or int",
                                      k->s, iv->s);
                        good = 0;
                    } else {
                        in->type = (enum qib__input_type)t;
                    }
                    break;
                }
                case 1:
                    snprintf(what, sizeof what, "input \"%s\": 'optional'", k->s);
                    if (!want_bool(b, iv, what, &in->optional))
                        good = 0;
                    break;
                case 2:
                    free(in->help);
                    in->help = want_text(b, iv, "'help'");
                    break;
                default:
                    snprintf(what, sizeof what, "in input \"%s\"", k->s);
                    unknown_key(b, ik, what, keys, 3);
                    good = 0;
                    break;
                }
            }
        } else if (!is_null(v)) {
            want(b, v, N_MAP, what);
            good = 0;
        }
        if (good) {
            in->name = xstrdup(b, k->s);
            if (in->name) {
                pl->ninputs++;
                continue;
            }
        }
        free(in->help);
        in->help = NULL;
    }
}

static void pparam_free(struct qib__pparam *p)
{
    free(p->name);
    if (p->choices)
        for (char **c = p->choices; *c; c++)
            free(*c);
    free(p->choices);
    free(p->def_text);
    free((char *)p->decl.unit);
    free((char *)p->decl.help);
}

static void build_params(struct bctx *b, const struct node *m, struct qib__pipeline *pl)
{
    static const char *const keys[] = {"type", "default", "help", "choices", "min", "max", "unit"};
    const size_t nkeys = sizeof keys / sizeof *keys;
    if (!want(b, m, N_MAP, "'params'"))
        return;
    if (m->n == 0)
        return;
    pl->params = calloc(m->n / 2, sizeof *pl->params);
    if (!pl->params) {
        b->oom = 1;
        return;
    }
    for (size_t i = 0; i < m->n; i += 2) {
        const struct node *k = m->kids[i], *v = m->kids[i + 1];
        if (!check_ident(b, k, "parameter"))
            continue;
        struct qib__pparam *pp = &pl->params[pl->nparams];
        memset(pp, 0, sizeof *pp);
        pp->pos = k->pos;
        pp->ok = 1;
        char what[160];
        if (v->kind != N_MAP) {
            qib__diag_add(b->d, v->pos,
                          "parameter \"%s\" must be a mapping such as {type: double, default: 1, "
                          "help: \"...\"}, found %s", k->s, is_null(v) ? "nothing" : kind_word(v));
            continue;
        }
        const struct node *type = NULL, *def = NULL, *choices = NULL, *mn = NULL, *mx = NULL;
        for (size_t j = 0; j < v->n; j += 2) {
            const struct node *pk = v->kids[j], *pv = v->kids[j + 1];
            switch (key_index(pk->s, keys, nkeys)) {
            case 0: type = pv; break;
            case 1: def = pv; break;
            case 2: pp->decl.help = want_text(b, pv, "'help'"); break;
            case 3: choices = pv; break;
            case 4: mn = pv; break;
            case 5: mx = pv; break;
            case 6: pp->decl.unit = want_text(b, pv, "'unit'"); break;
            default:
                snprintf(what, sizeof what, "in parameter \"%s\"", k->s);
                unknown_key(b, pk, what, keys, nkeys);
                pp->ok = 0;
                break;
            }
        }
        if (!type) {
            qib__diag_add(b->d, v->pos,
                          "parameter \"%s\" has no type: use bool, int, double, string, path, "
                          "enum, vec3, dlist or plist", k->s);
            pp->ok = 0;
        } else if (want(b, type, N_SCALAR, "'type'")) {
            for (int t = QIB_PARAM_BOOL; t <= QIB_PARAM_PLIST; t++)
                if (strcmp(type->s, qib__param_type_name((enum qib_param_type)t)) == 0)
                    pp->decl.type = (enum qib_param_type)t;
            if (!pp->decl.type) {
                qib__diag_add(b->d, type->pos,
                              "parameter \"%s\": unknown type \"%s\": use bool, int, double, string, "
                              "path, enum, vec3, dlist or plist", k->s, type->s);
                pp->ok = 0;
            }
        } else {
            pp->ok = 0;
        }
        if (choices) {
            if (pp->decl.type && pp->decl.type != QIB_PARAM_ENUM) {
                qib__diag_add(b->d, choices->pos, "parameter \"%s\": 'choices' is only for type enum", k->s);
                pp->ok = 0;
            } else if (want(b, choices, N_SEQ, "'choices'")) {
                pp->choices = calloc(choices->n + 1, sizeof *pp->choices);
                if (!pp->choices) {
                    b->oom = 1;
                    pp->ok = 0;
                } else {
                    size_t nc = 0;
                    for (size_t j = 0; j < choices->n; j++) {
                        char *c = want_text(b, choices->kids[j], "a choice");
                        if (c)
                            pp->choices[nc++] = c;
                        else
                            pp->ok = 0;
                    }
                    if (nc == 0) {
                        qib__diag_add(b->d, choices->pos, "parameter \"%s\": 'choices' is empty", k->s);
                        pp->ok = 0;
                    }
                }
            } else {
                pp->ok = 0;
            }
        } else if (pp->decl.type == QIB_PARAM_ENUM) {
            qib__diag_add(b->d, v->pos, "parameter \"%s\" of type enum needs 'choices: [a, b, ...]'", k->s);
            pp->ok = 0;
        }
        const struct node *bounds[2] = {mn, mx};
        for (int j = 0; j < 2; j++) {
            const struct node *bn = bounds[j];
            if (!bn)
                continue;
            double x;
            if (pp->decl.type && pp->decl.type != QIB_PARAM_INT && pp->decl.type != QIB_PARAM_DOUBLE &&
                pp->decl.type != QIB_PARAM_VEC3 && pp->decl.type != QIB_PARAM_DLIST) {
                qib__diag_add(b->d, bn->pos, "parameter \"%s\": \"%s\" is only for numbers", k->s,
                              j ? "max" : "min");
                pp->ok = 0;
            } else if (!want(b, bn, N_SCALAR, j ? "'max'" : "'min'")) {
                pp->ok = 0;
            } else if (qib_parse_double(bn->s, &x) != QIB_OK) {
                qib__diag_add(b->d, bn->pos, "parameter \"%s\": \"%s\" must be a number, found \"%s\"",
                              k->s, j ? "max" : "min", bn->s);
                pp->ok = 0;
            } else if (j == 0) {
                pp->decl.min = x;
                pp->decl.flags |= QIB_PARAM_MIN;
            } else {
                pp->decl.max = x;
                pp->decl.flags |= QIB_PARAM_MAX;
            }
        }
        if ((pp->decl.flags & QIB_PARAM_MIN) && (pp->decl.flags & QIB_PARAM_MAX) &&
            pp->decl.min > pp->decl.max) {
            qib__diag_add(b->d, mn->pos, "parameter \"%s\": min is larger than max", k->s);
            pp->ok = 0;
        }
        if (!def) {
            qib__diag_add(b->d, v->pos,
                          "parameter \"%s\" has no default: a pipeline parameter needs one "
                          "(values that change with each case belong under 'inputs')", k->s);
            pp->ok = 0;
        } else {
            struct qib__yval dv;
            snprintf(what, sizeof what, "the default of parameter \"%s\"", k->s);
            if (build_yval(b, def, what, &dv)) {
                pp->def_text = yval_text(b, &dv);
                pp->def_pos = def->pos;
                yval_free(&dv);
                if (!pp->def_text)
                    pp->ok = 0;
            } else {
                pp->ok = 0;
            }
        }
        pp->name = xstrdup(b, k->s);
        if (!pp->name) {
            pparam_free(pp);
            continue;
        }
        pp->decl.name = pp->name;
        pp->decl.def = pp->def_text;
        pp->decl.choices = (const char *const *)pp->choices;
        pl->nparams++;
    }
}

/* "step" or "step.port" */
static int split_ref(struct bctx *b, const struct node *n, const char *what, char **step,
                     char **port)
{
    *step = *port = NULL;
    if (!want(b, n, N_SCALAR, what))
        return 0;
    const char *s = n->s;
    const char *dot = strchr(s, '.');
    size_t sl = dot ? (size_t)(dot - s) : strlen(s);
    if (sl == 0 || (dot && dot[1] == '\0') || (dot && strchr(dot + 1, '.'))) {
        qib__diag_add(b->d, n->pos, "%s: \"%s\" is not a reference: write \"step\" or \"step.port\"",
                      what, s);
        return 0;
    }
    *step = malloc(sl + 1);
    if (!*step) {
        b->oom = 1;
        return 0;
    }
    memcpy(*step, s, sl);
    (*step)[sl] = '\0';
    if (dot) {
        *port = xstrdup(b, dot + 1);
        if (!*port) {
            free(*step);
            *step = NULL;
            return 0;
        }
    }
    return 1;
}

static void step_free(struct qib__pstep *s)
{
    free(s->id);
    free(s->plugin);
    free(s->description);
    for (size_t i = 0; i < s->nin; i++) {
        free(s->in[i].port);
        free(s->in[i].step);
        free(s->in[i].outport);
    }
    free(s->in);
    for (size_t i = 0; i < s->nwith; i++) {
        free(s->with[i].name);
        yval_free(&s->with[i].val);
    }
    free(s->with);
}

static void build_step(struct bctx *b, const struct node *m, struct qib__pstep *s, size_t idx)
{
    static const char *const keys[] = {"id", "plugin", "in", "with", "description"};
    memset(s, 0, sizeof *s);
    s->pos = m->pos;
    const struct node *in = NULL, *with = NULL;
    char what[160];
    for (size_t j = 0; j < m->n; j += 2) {
        const struct node *k = m->kids[j], *v = m->kids[j + 1];
        switch (key_index(k->s, keys, 5)) {
        case 0:
            if (want(b, v, N_SCALAR, "'id'") && check_ident(b, v, "step id")) {
                s->id = xstrdup(b, v->s);
                s->id_pos = v->pos;
            }
            break;
        case 1:
            s->plugin = want_text(b, v, "'plugin'");
            s->plugin_pos = v->pos;
            break;
        case 2: in = v; break;
        case 3: with = v; break;
        case 4: s->description = want_text(b, v, "'description'"); break;
        default:
            snprintf(what, sizeof what, "in step %zu", idx + 1);
            unknown_key(b, k, what, keys, 5);
            break;
        }
    }
    int has_id = 0, has_plugin = 0;
    for (size_t j = 0; j < m->n; j += 2) {
        has_id |= strcmp(m->kids[j]->s, "id") == 0;
        has_plugin |= strcmp(m->kids[j]->s, "plugin") == 0;
    }
    if (!has_id)
        qib__diag_add(b->d, m->pos, "step %zu has no 'id'", idx + 1);
    if (!has_plugin)
        qib__diag_add(b->d, m->pos, "step %zu%s%s%s has no 'plugin'", idx + 1,
                      s->id ? " ('" : "", s->id ? s->id : "", s->id ? "')" : "");
    if (in && !is_null(in) && want(b, in, N_MAP, "'in'") && in->n) {
        s->in = calloc(in->n / 2, sizeof *s->in);
        if (!s->in) {
            b->oom = 1;
        } else {
            for (size_t j = 0; j < in->n; j += 2) {
                const struct node *k = in->kids[j], *v = in->kids[j + 1];
                struct qib__pwire *w = &s->in[s->nin];
                snprintf(what, sizeof what, "input \"%s\"", k->s);
                if (!split_ref(b, v, what, &w->step, &w->outport))
                    continue;
                w->port = xstrdup(b, k->s);
                if (!w->port) {
                    free(w->step);
                    free(w->outport);
                    continue;
                }
                w->port_pos = k->pos;
                w->ref_pos = v->pos;
                s->nin++;
            }
        }
    }
    if (with && !is_null(with) && want(b, with, N_MAP, "'with'") && with->n) {
        s->with = calloc(with->n / 2, sizeof *s->with);
        if (!s->with) {
            b->oom = 1;
        } else {
            for (size_t j = 0; j < with->n; j += 2) {
                const struct node *k = with->kids[j], *v = with->kids[j + 1];
                struct qib__pwith *w = &s->with[s->nwith];
                snprintf(what, sizeof what, "parameter \"%s\"", k->s);
                if (is_null(v)) {
                    /* an empty value sits where the next token is: point
                     * at the key instead */
                    qib__diag_add(b->d, k->pos, "%s has no value", what);
                    continue;
                }
                if (!build_yval(b, v, what, &w->val))
                    continue;
                w->name = xstrdup(b, k->s);
                if (!w->name) {
                    yval_free(&w->val);
                    continue;
                }
                w->name_pos = k->pos;
                s->nwith++;
            }
        }
    }
}

static void build_steps(struct bctx *b, const struct node *n, struct qib__pipeline *pl)
{
    if (!want(b, n, N_SEQ, "'steps'"))
        return;
    if (n->n == 0) {
        qib__diag_add(b->d, n->pos, "'steps' is empty: a pipeline has at least one step");
        return;
    }
    pl->steps = calloc(n->n, sizeof *pl->steps);
    if (!pl->steps) {
        b->oom = 1;
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        const struct node *m = n->kids[i];
        char what[64];
        snprintf(what, sizeof what, "step %zu", i + 1);
        if (!want(b, m, N_MAP, what))
            continue;
        build_step(b, m, &pl->steps[pl->nsteps++], i);
    }
}

static void build_outputs(struct bctx *b, const struct node *m, struct qib__pipeline *pl)
{
    static const char *const keys[] = {"file", "step", "help"};
    if (!want(b, m, N_MAP, "'outputs'"))
        return;
    if (m->n == 0)
        return;
    pl->outputs = calloc(m->n / 2, sizeof *pl->outputs);
    if (!pl->outputs) {
        b->oom = 1;
        return;
    }
    for (size_t i = 0; i < m->n; i += 2) {
        const struct node *k = m->kids[i], *v = m->kids[i + 1];
        if (!check_ident(b, k, "output"))
            continue;
        struct qib__poutput *o = &pl->outputs[pl->noutputs];
        memset(o, 0, sizeof *o);
        o->pos = k->pos;
        if (v->kind != N_MAP) {
            qib__diag_add(b->d, v->pos,
                          "output \"%s\" must be a mapping: {file: PATH} for a file a step writes "
                          "under --out, or {step: \"step.port\"} for an object kept in the "
                          "provenance record; found %s", k->s, is_null(v) ? "nothing" : kind_word(v));
            continue;
        }
        int good = 1, nsrc = 0;
        char what[160];
        for (size_t j = 0; j < v->n; j += 2) {
            const struct node *ok = v->kids[j], *ov = v->kids[j + 1];
            switch (key_index(ok->s, keys, 3)) {
            case 0:
                nsrc++;
                if (want(b, ov, N_SCALAR, "'file'") && !is_null(ov))
                    scalar_from(&o->file, ov, b);
                else
                    good = 0;
                if (is_null(ov))
                    qib__diag_add(b->d, ov->pos, "'file' is empty");
                break;
            case 1:
                nsrc++;
                snprintf(what, sizeof what, "output \"%s\"", k->s);
                if (split_ref(b, ov, what, &o->step, &o->outport))
                    o->ref_pos = ov->pos;
                else
                    good = 0;
                break;
            case 2:
                o->help = want_text(b, ov, "'help'");
                break;
            default:
                snprintf(what, sizeof what, "in output \"%s\"", k->s);
                unknown_key(b, ok, what, keys, 3);
                good = 0;
                break;
            }
        }
        if (nsrc != 1) {
            qib__diag_add(b->d, v->pos, "output \"%s\" needs exactly one of 'file' and 'step'", k->s);
            good = 0;
        }
        o->name = good ? xstrdup(b, k->s) : NULL;
        if (o->name) {
            pl->noutputs++;
        } else {
            scalar_free(&o->file);
            free(o->step);
            free(o->outport);
            free(o->help);
        }
    }
}

static void build_pipeline(struct bctx *b, const struct node *root, struct qib__pipeline *pl)
{
    static const char *const keys[] = {"qib",    "name",  "description", "references",
                                       "inputs", "params", "steps",       "outputs"};
    const size_t nkeys = sizeof keys / sizeof *keys;
    const struct node *seen[8] = {0};
    for (size_t i = 0; i < root->n; i += 2) {
        const struct node *k = root->kids[i];
        size_t ki = key_index(k->s, keys, nkeys);
        if (ki == nkeys)
            unknown_key(b, k, "at the top level", keys, nkeys);
        else
            seen[ki] = root->kids[i + 1];
    }
    if (!seen[0]) {
        qib__diag_add(b->d, root->pos, "missing 'qib: 1' (the format version) at the top");
    } else if (want(b, seen[0], N_SCALAR, "'qib' (the format version)")) {
        if (strcmp(seen[0]->s, "1") == 0)
            pl->version = 1;
        else
            qib__diag_add(b->d, seen[0]->pos,
                          "format version \"%s\" is not supported: this qib reads 'qib: 1'", seen[0]->s);
    }
    if (!seen[1])
        qib__diag_add(b->d, root->pos, "missing 'name' (the pipeline's name) at the top");
    else
        pl->name = want_text(b, seen[1], "'name'");
    if (seen[2] && !is_null(seen[2]))
        pl->description = want_text(b, seen[2], "'description'");
    if (seen[3] && !is_null(seen[3]) && want(b, seen[3], N_SEQ, "'references'") && seen[3]->n) {
        pl->references = calloc(seen[3]->n, sizeof *pl->references);
        if (!pl->references) {
            b->oom = 1;
        } else {
            for (size_t i = 0; i < seen[3]->n; i++) {
                char *r = want_text(b, seen[3]->kids[i], "a reference");
                if (r)
                    pl->references[pl->nreferences++] = r;
            }
        }
    }
    if (seen[4] && !is_null(seen[4]))
        build_inputs(b, seen[4], pl);
    if (seen[5] && !is_null(seen[5]))
        build_params(b, seen[5], pl);
    if (!seen[6])
        qib__diag_add(b->d, root->pos, "missing 'steps' (the list of steps) at the top");
    else
        build_steps(b, seen[6], pl);
    if (seen[7] && !is_null(seen[7]))
        build_outputs(b, seen[7], pl);
}

/* Length of the valid UTF-8 sequence at @p s (of @p n bytes), 0 when it is
 * not one: overlong forms, surrogates and values above U+10FFFF are
 * refused as they are by libyaml. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned min, cp;
    if ((c & 0xE0) == 0xC0) {
        len = 2;
        min = 0x80;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        min = 0x800;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        min = 0x10000;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Find the first byte that is not part of valid UTF-8 and say where it is,
 * more precisely than libyaml's reader does. */
static int check_utf8(const char *buf, size_t len, struct qib__diags *d)
{
    const unsigned char *s = (const unsigned char *)buf;
    struct qib__pos pos = {1, 1};
    for (size_t i = bom_len(buf, len); i < len;) {
        size_t n = utf8_len(s + i, len - i);
        if (n == 0) {
            qib__diag_add(d, pos,
                          "not UTF-8 text: byte 0x%02X (offset %zu) does not form a UTF-8 "
                          "character; save the file as UTF-8",
                          (unsigned)s[i], i);
            return -1;
        }
        if (s[i] == '\n') {
            pos.line++;
            pos.col = 1;
        } else {
            pos.col++;
        }
        i += n;
    }
    return 0;
}

const char *qib__input_type_name(enum qib__input_type t)
{
    switch (t) {
    case QIB__INPUT_PATH: return "path";
    case QIB__INPUT_STRING: return "string";
    case QIB__INPUT_DOUBLE: return "double";
    case QIB__INPUT_INT: return "int";
    }
    return "?";
}

int qib__pipeline_parse(const char *path, const char *buf, size_t len,
                        struct qib__pipeline **out, struct qib__diags *d)
{
    *out = NULL;
    if (len > QIB__PIPELINE_MAX_BYTES) {
        qib__diag_add(d, (struct qib__pos){0, 0},
                      "the file is larger than %u bytes: a pipeline is a short text file",
                      QIB__PIPELINE_MAX_BYTES);
        return QIB_EPIPELINE;
    }
    if (check_utf8(buf, len, d) < 0)
        return QIB_EPIPELINE;
    struct qib__pipeline *pl = calloc(1, sizeof *pl);
    if (!pl)
        return QIB_ENOMEM;
    pl->path = malloc(strlen(path) + 1);
    pl->src = malloc(len + 1);
    if (!pl->path || !pl->src) {
        qib__pipeline_free(&pl);
        return QIB_ENOMEM;
    }
    strcpy(pl->path, path);
    memcpy(pl->src, buf, len);
    pl->src[len] = '\0';
    pl->srclen = len;
    qib_sha256_hex(buf, len, pl->sha256);

    struct yctx c;
    memset(&c, 0, sizeof c);
    c.buf = pl->src;
    c.len = len;
    c.cur_byte = bom_len(pl->src, len);
    c.d = d;
    if (!yaml_parser_initialize(&c.parser)) {
        qib__pipeline_free(&pl);
        return QIB_ENOMEM;
    }
    /* The text was checked to be UTF-8 (check_utf8), so libyaml's own
     * detection finds UTF-8 and consumes a byte order mark. */
    yaml_parser_set_input_string(&c.parser, (const unsigned char *)pl->src, len);
    struct node *root = parse_stream(&c);
    yaml_parser_delete(&c.parser);
    if (c.oom) {
        node_free(root);
        qib__pipeline_free(&pl);
        return QIB_ENOMEM;
    }
    if (!root || c.fatal) {
        node_free(root);
        qib__pipeline_free(&pl);
        return QIB_EPIPELINE;
    }
    if (root->kind != N_MAP) {
        qib__diag_add(d, root->pos,
                      "a pipeline file is a mapping of keys (qib: 1, name:, steps:, ...), found %s",
                      is_null(root) ? "nothing" : kind_word(root));
        node_free(root);
        qib__pipeline_free(&pl);
        return QIB_EPIPELINE;
    }
    struct bctx b = {d, 0};
    build_pipeline(&b, root, pl);
    node_free(root);
    if (b.oom) {
        qib__pipeline_free(&pl);
        return QIB_ENOMEM;
    }
    *out = pl;
    return QIB_OK;
}

int qib__pipeline_load(const char *path, struct qib__pipeline **out, struct qib__diags *d)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        qib__diag_add(d, (struct qib__pos){0, 0}, "cannot open: %s", strerror(errno));
        return QIB_EIO;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        qib__diag_add(d, (struct qib__pos){0, 0}, "is a directory, not a pipeline file");
        return QIB_EIO;
    }
    /* Read at most one byte more than allowed: enough to know it is too big
     * without reading a huge file. */
    size_t cap = QIB__PIPELINE_MAX_BYTES + 1;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return QIB_ENOMEM;
    }
    size_t len = fread(buf, 1, cap, f);
    int rerr = ferror(f);
    int saved = errno;
    fclose(f);
    if (rerr) {
        free(buf);
        qib__diag_add(d, (struct qib__pos){0, 0}, "read error: %s", strerror(saved));
        return QIB_EIO;
    }
    int r = qib__pipeline_parse(path, buf, len, out, d);
    free(buf);
    return r;
}

void qib__pipeline_free(struct qib__pipeline **pp)
{
    struct qib__pipeline *p = *pp;
    if (!p)
        return;
    free(p->path);
    free(p->src);
    free(p->name);
    free(p->description);
    for (size_t i = 0; i < p->nreferences; i++)
        free(p->references[i]);
    free(p->references);
    for (size_t i = 0; i < p->ninputs; i++) {
        free(p->inputs[i].name);
        free(p->inputs[i].help);
    }
    free(p->inputs);
    for (size_t i = 0; i < p->nparams; i++)
        pparam_free(&p->params[i]);
    free(p->params);
    for (size_t i = 0; i < p->nsteps; i++)
        step_free(&p->steps[i]);
    free(p->steps);
    for (size_t i = 0; i < p->noutputs; i++) {
        free(p->outputs[i].name);
        scalar_free(&p->outputs[i].file);
        free(p->outputs[i].step);
        free(p->outputs[i].outport);
        free(p->outputs[i].help);
    }
    free(p->outputs);
    free(p);
    *pp = NULL;
}

long qib__pipeline_input(const struct qib__pipeline *p, const char *name)
{
    for (size_t i = 0; i < p->ninputs; i++)
        if (strcmp(p->inputs[i].name, name) == 0)
            return (long)i;
    return -1;
}

long qib__pipeline_param(const struct qib__pipeline *p, const char *name)
{
    for (size_t i = 0; i < p->nparams; i++)
        if (strcmp(p->params[i].name, name) == 0)
            return (long)i;
    return -1;
}

long qib__pipeline_step(const struct qib__pipeline *p, const char *id)
{
    for (size_t i = 0; i < p->nsteps; i++)
        if (p->steps[i].id && strcmp(p->steps[i].id, id) == 0)
            return (long)i;
    return -1;
}

struct qib__pos qib__scalar_subst_pos(const struct qib__pipeline *p, const struct qib__scalar *s,
                                      size_t k)
{
    if (!p->src || s->raw_end > p->srclen || s->raw_begin > s->raw_end)
        return s->pos;
    struct qib__pos pos = s->pos;
    size_t seen = 0;
    /* Walk the raw text of the scalar; the k-th "${" there is the k-th of the
     * value, as escapes never produce or hide one in practice. */
    for (size_t i = s->raw_begin; i < s->raw_end; i++) {
        if (p->src[i] == '$' && i + 1 < s->raw_end && p->src[i + 1] == '{') {
            if (seen == k)
                return pos;
            seen++;
        }
        if (p->src[i] == '\n') {
            pos.line++;
            pos.col = 1;
        } else if (((unsigned char)p->src[i] & 0xC0) != 0x80) {
            pos.col++;
        }
    }
    return s->pos;
}
