/* ferry: a YAML document as a small tree (see yamltree_int.h).
 *
 * The tree is built from libyaml's events rather than its document API so
 * that nesting, anchors and the size an alias expands to are capped while
 * parsing, before a billion-laughs document can grow, and so that every
 * scalar can be wiped: a sync config may hold passwords.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>
#include <yaml.h>

#include "ferry/limits.h"
#include "ferry/util.h"
#include "yamltree_int.h"

struct yanchor {
    char *name;
    struct ynode *node;
};

struct ytree {
    struct ynode *all;
    struct ynode *root;
    struct yanchor anchors[FERRY_SYNC_MAX_ANCHORS];
    size_t nanchors;
    struct ynode *stack[FERRY_SYNC_MAX_DEPTH];
    char *stack_anchor[FERRY_SYNC_MAX_DEPTH];
    size_t depth;
    size_t total;
};

void
ytree_free(struct ytree *b)
{
    struct ynode *n, *next;

    if (b == NULL)
        return;
    n = b->all;
    while (n != NULL) {
        next = n->next_alloc;
        if (n->value != NULL) {
            sodium_memzero(n->value, n->len);
            ferry_free(n->value);
        }
        ferry_free(n->items);
        ferry_free(n);
        n = next;
    }
    for (size_t i = 0; i < b->nanchors; i++)
        ferry_free(b->anchors[i].name);
    for (size_t i = 0; i < b->depth; i++)
        ferry_free(b->stack_anchor[i]);
    ferry_free(b);
}

/* ---- errors ------------------------------------------------------------- */

int
ytree_fail(struct yctx *c, const struct ynode *n, enum ferry_status code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ferry_error_new(c->err, code, "%s:%u:%u: %s", c->path, n->line, n->col, msg);
}

static int fail_at(struct yctx *c, const yaml_mark_t *m, enum ferry_status code, const char *fmt,
                   ...) FERRY_PRINTF(4, 5);

static int
fail_at(struct yctx *c, const yaml_mark_t *m, enum ferry_status code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ferry_error_new(c->err, code, "%s:%zu:%zu: %s", c->path, m->line + 1, m->column + 1,
                           msg);
}

int
ytree_nomem(struct yctx *c)
{
    return ferry_error_new(c->err, FERRY_E_NOMEM, "%s: out of memory", c->path);
}

static int
yaml_fail(struct yctx *c, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "malformed YAML";

    switch (p->error) {
    case YAML_MEMORY_ERROR:
        return ytree_nomem(c);
    case YAML_READER_ERROR:
        if (p->problem_value != -1)
            return ferry_error_new(c->err, FERRY_E_INVALID, "%s: byte %zu: %s (0x%x)", c->path,
                                   p->problem_offset, problem, (unsigned)p->problem_value);
        return ferry_error_new(c->err, FERRY_E_INVALID, "%s: byte %zu: %s", c->path,
                               p->problem_offset, problem);
    default:
        if (p->context != NULL)
            return fail_at(c, &p->problem_mark, FERRY_E_INVALID, "%s (%s at line %zu)", problem,
                           p->context, p->context_mark.line + 1);
        return fail_at(c, &p->problem_mark, FERRY_E_INVALID, "%s", problem);
    }
}

/* ---- building from libyaml's events --------------------------------------- */

static struct ynode *
ynode_new(struct ytree *b, enum ykind kind, const yaml_mark_t *m)
{
    struct ynode *n = ferry_calloc(1, sizeof *n);

    if (n == NULL)
        return NULL;
    n->kind = kind;
    n->line = (unsigned)(m->line + 1);
    n->col = (unsigned)(m->column + 1);
    n->weight = 1;
    n->next_alloc = b->all;
    b->all = n;
    return n;
}

/* Hang n (of the given weight) under the open collection, or make it the
 * root. A collection just opened (open) adds its weight to the parent when it
 * closes. */
static int
attach(struct yctx *c, struct ytree *b, struct ynode *n, size_t weight, bool open,
       const yaml_mark_t *m)
{
    struct ynode *parent;

    if (weight > FERRY_SYNC_MAX_NODES || b->total + weight > FERRY_SYNC_MAX_NODES)
        return fail_at(c, m, FERRY_E_TOO_LARGE, "more than %u YAML nodes (aliases included)",
                       (unsigned)FERRY_SYNC_MAX_NODES);
    b->total += weight;
    if (b->depth == 0) {
        if (b->root != NULL)
            return fail_at(c, m, FERRY_E_INVALID, "more than one top-level node");
        b->root = n;
        return 0;
    }
    parent = b->stack[b->depth - 1];
    if (parent->n == parent->cap) {
        size_t ncap = parent->cap ? parent->cap * 2 : 8;
        struct ynode **ni = ferry_realloc(parent->items, ncap * sizeof *ni);
        if (ni == NULL)
            return ytree_nomem(c);
        parent->items = ni;
        parent->cap = ncap;
    }
    parent->items[parent->n++] = n;
    if (!open)
        parent->weight += weight;
    return 0;
}

static int
anchor_add(struct yctx *c, struct ytree *b, const char *name, struct ynode *n, const yaml_mark_t *m)
{
    char *copy;

    /* a redefined anchor replaces the earlier one for later aliases */
    for (size_t i = 0; i < b->nanchors; i++)
        if (strcmp(b->anchors[i].name, name) == 0) {
            b->anchors[i].node = n;
            return 0;
        }
    if (b->nanchors == FERRY_SYNC_MAX_ANCHORS)
        return fail_at(c, m, FERRY_E_TOO_LARGE, "more than %d anchors", FERRY_SYNC_MAX_ANCHORS);
    if ((copy = ferry_strdup(name)) == NULL)
        return ytree_nomem(c);
    b->anchors[b->nanchors].name = copy;
    b->anchors[b->nanchors].node = n;
    b->nanchors++;
    return 0;
}

static int
on_event(struct yctx *c, struct ytree *b, yaml_event_t *ev, size_t *ndocs, bool *done)
{
    struct ynode *n;
    const char *anchor = NULL;
    char q[80];
    int r;

    switch (ev->type) {
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
    case YAML_NO_EVENT:
        return 0;
    case YAML_STREAM_END_EVENT:
        *done = true;
        return 0;
    case YAML_DOCUMENT_START_EVENT:
        if (++*ndocs > 1)
            return fail_at(c, &ev->start_mark, FERRY_E_INVALID,
                           "a second YAML document: a sync config is one document");
        return 0;
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        for (size_t i = b->nanchors; i-- > 0;)
            if (strcmp(b->anchors[i].name, name) == 0)
                return attach(c, b, b->anchors[i].node, b->anchors[i].node->weight, false,
                              &ev->start_mark);
        ferry_quote(q, sizeof q, name, strlen(name));
        return fail_at(c, &ev->start_mark, FERRY_E_INVALID,
                       "alias *%s names no anchor completed before it", q);
    }
    case YAML_SCALAR_EVENT:
        if ((n = ynode_new(b, Y_SCALAR, &ev->start_mark)) == NULL)
            return ytree_nomem(c);
        n->len = ev->data.scalar.length;
        if ((n->value = ferry_malloc(n->len + 1)) == NULL)
            return ytree_nomem(c);
        memcpy(n->value, ev->data.scalar.value, n->len);
        n->value[n->len] = '\0';
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && ev->data.scalar.tag == NULL;
        if ((r = attach(c, b, n, 1, false, &ev->start_mark)) < 0)
            return r;
        anchor = (const char *)ev->data.scalar.anchor;
        return anchor ? anchor_add(c, b, anchor, n, &ev->start_mark) : 0;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (b->depth == FERRY_SYNC_MAX_DEPTH)
            return fail_at(c, &ev->start_mark, FERRY_E_TOO_LARGE, "nested deeper than %d levels",
                           FERRY_SYNC_MAX_DEPTH);
        n = ynode_new(b, ev->type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP, &ev->start_mark);
        if (n == NULL)
            return ytree_nomem(c);
        if ((r = attach(c, b, n, 1, true, &ev->start_mark)) < 0)
            return r;
        anchor = ev->type == YAML_SEQUENCE_START_EVENT
                     ? (const char *)ev->data.sequence_start.anchor
                     : (const char *)ev->data.mapping_start.anchor;
        b->stack_anchor[b->depth] = NULL;
        if (anchor != NULL && (b->stack_anchor[b->depth] = ferry_strdup(anchor)) == NULL)
            return ytree_nomem(c);
        b->stack[b->depth++] = n;
        return 0;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
        char *name;
        if (b->depth == 0)
            return fail_at(c, &ev->start_mark, FERRY_E_INTERNAL, "unbalanced YAML events");
        n = b->stack[--b->depth];
        name = b->stack_anchor[b->depth];
        b->stack_anchor[b->depth] = NULL;
        if (b->depth > 0)
            b->stack[b->depth - 1]->weight += n->weight;
        /* registered only now, so an alias inside cannot make a cycle */
        r = name ? anchor_add(c, b, name, n, &ev->start_mark) : 0;
        ferry_free(name);
        return r;
    }
    }
    return 0;
}

static int
build(struct yctx *c, const void *data, size_t len, struct ytree *b)
{
    yaml_parser_t p;
    yaml_event_t ev;
    bool have_ev = false, done = false;
    size_t ndocs = 0;
    int rc = 0;

    if (!yaml_parser_initialize(&p))
        return ytree_nomem(c);
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            rc = yaml_fail(c, &p);
            break;
        }
        have_ev = true;
        rc = on_event(c, b, &ev, &ndocs, &done);
        if (ev.type == YAML_SCALAR_EVENT)
            sodium_memzero(ev.data.scalar.value, ev.data.scalar.length);
        yaml_event_delete(&ev);
        have_ev = false;
        if (rc < 0)
            break;
    }
    if (have_ev)
        yaml_event_delete(&ev);
    /* the parser's copies of the text may hold a password */
    if (p.buffer.start != NULL)
        sodium_memzero(p.buffer.start, (size_t)(p.buffer.end - p.buffer.start));
    if (p.raw_buffer.start != NULL)
        sodium_memzero(p.raw_buffer.start, (size_t)(p.raw_buffer.end - p.raw_buffer.start));
    yaml_parser_delete(&p);
    return rc;
}

int
ytree_load(struct yctx *c, const void *data, size_t len, struct ytree **out)
{
    struct ytree *t = ferry_calloc(1, sizeof *t);
    int rc;

    if (t == NULL)
        return ytree_nomem(c);
    if ((rc = build(c, data, len, t)) < 0) {
        ytree_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

const struct ynode *
ytree_root(const struct ytree *t)
{
    return t->root;
}

/* ---- values ------------------------------------------------------------- */

bool
ytree_is_null(const struct ynode *n)
{
    if (n == NULL)
        return true;
    if (n->kind != Y_SCALAR || !n->plain)
        return false;
    return n->len == 0 || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
           strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0;
}

int
ytree_want_scalar(struct yctx *c, const struct ynode *n, const char *what)
{
    if (n->kind != Y_SCALAR)
        return ytree_fail(c, n, FERRY_E_INVALID, "%s must be a string, not a %s", what,
                          n->kind == Y_MAP ? "mapping" : "list");
    if (memchr(n->value, '\0', n->len) != NULL)
        return ytree_fail(c, n, FERRY_E_INVALID, "%s contains a NUL byte", what);
    return 0;
}

/* A plain string value (no templates); NULL for null. */
int
ytree_get_string(struct yctx *c, const struct ynode *n, const char *what, char **out)
{
    int r;

    *out = NULL;
    if (ytree_is_null(n))
        return 0;
    if ((r = ytree_want_scalar(c, n, what)) < 0)
        return r;
    if ((*out = ferry_strndup(n->value, n->len)) == NULL)
        return ytree_nomem(c);
    return 0;
}

int
ytree_get_bool(struct yctx *c, const struct ynode *n, const char *what, bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                     "NO",    "off",   "Off",   "OFF"};
    int r;

    if ((r = ytree_want_scalar(c, n, what)) < 0)
        return r;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(n->value, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(n->value, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return ytree_fail(c, n, FERRY_E_INVALID, "%s must be true or false", what);
}

/* The items of a list value (none for null). */
int
ytree_get_list(struct yctx *c, const struct ynode *n, const char *what, struct ynode *const **items,
               size_t *count)
{
    *items = NULL;
    *count = 0;
    if (ytree_is_null(n))
        return 0;
    if (n->kind != Y_SEQ)
        return ytree_fail(c, n, FERRY_E_INVALID, "%s must be a list", what);
    *items = n->items;
    *count = n->n;
    return 0;
}

int
ytree_get_strlist(struct yctx *c, const struct ynode *n, const char *what, char ***out,
                  size_t *nout)
{
    struct ynode *const *items;
    size_t count;
    int r;

    if ((r = ytree_get_list(c, n, what, &items, &count)) < 0)
        return r;
    for (size_t i = 0; i < count; i++) {
        char *s;
        if ((r = ytree_get_string(c, items[i], what, &s)) < 0)
            return r;
        if (s == NULL && (s = ferry_strdup("")) == NULL)
            return ytree_nomem(c);
        if (ferry_strv_push(out, nout, s) < 0) {
            ferry_free(s);
            return ytree_nomem(c);
        }
    }
    return 0;
}

/* ---- mappings ----------------------------------------------------------- */

static int
key_id(const struct ytree_map *spec, const struct ynode *k)
{
    for (size_t i = 0; i < spec->nkeys; i++)
        if (strlen(spec->keys[i].name) == k->len &&
            memcmp(spec->keys[i].name, k->value, k->len) == 0)
            return (int)i;
    return -1;
}

static int
use_key(struct yctx *c, const struct ytree_map *spec, size_t id, const struct ynode *k,
        const struct ynode *v, void *ud)
{
    if (spec->keys[id].notice != NULL)
        return c->notice ? c->notice(c->notice_ud, k, spec->keys[id].name, spec->keys[id].notice)
                         : 0;
    return spec->fn(ud, id, k, v);
}

static bool
is_merge_key(const struct ynode *k)
{
    return k->kind == Y_SCALAR && k->plain && strcmp(k->value, "<<") == 0;
}

static bool
is_extension(const struct ynode *k)
{
    return k->len >= 2 && k->value[0] == 'x' && k->value[1] == '-';
}

static int
unknown_key(struct yctx *c, const struct ytree_map *spec, const struct ynode *k)
{
    char q[96];

    ferry_quote(q, sizeof q, k->value, k->len);
    return ytree_fail(c, k, FERRY_E_INVALID, "unknown key \"%s\" in %s", q, spec->what);
}

/* Keys merged in with "<<: *anchor" (a mapping or a list of them): keys given
 * explicitly, or by an earlier merge, win. */
static int
walk_merge(struct yctx *c, const struct ynode *m, const struct ytree_map *spec, void *ud,
           const struct ynode **first, unsigned depth)
{
    const struct ynode *inner = NULL;
    int r;

    if (depth >= FERRY_SYNC_MAX_DEPTH)
        return ytree_fail(c, m, FERRY_E_TOO_LARGE, "merge keys nested deeper than %d levels",
                          FERRY_SYNC_MAX_DEPTH);
    if (m->kind == Y_SEQ) {
        for (size_t i = 0; i < m->n; i++) {
            if (m->items[i]->kind != Y_MAP)
                return ytree_fail(c, m->items[i], FERRY_E_INVALID,
                                  "\"<<\" in %s takes mappings to merge", spec->what);
            if ((r = walk_merge(c, m->items[i], spec, ud, first, depth + 1)) < 0)
                return r;
        }
        return 0;
    }
    if (m->kind != Y_MAP)
        return ytree_fail(c, m, FERRY_E_INVALID, "\"<<\" in %s takes a mapping to merge",
                          spec->what);
    for (size_t i = 0; i + 1 < m->n; i += 2) {
        const struct ynode *k = m->items[i], *v = m->items[i + 1];
        int id;
        if (k->kind != Y_SCALAR)
            return ytree_fail(c, k, FERRY_E_INVALID, "keys in %s must be strings", spec->what);
        if (is_merge_key(k)) {
            if (inner == NULL)
                inner = v;
            continue;
        }
        if ((id = key_id(spec, k)) < 0) {
            if (is_extension(k))
                continue;
            return unknown_key(c, spec, k);
        }
        if (first[id] != NULL)
            continue;
        first[id] = k;
        if ((r = use_key(c, spec, (size_t)id, k, v, ud)) < 0)
            return r;
    }
    return inner ? walk_merge(c, inner, spec, ud, first, depth + 1) : 0;
}

/* Walk a mapping against spec: decode known keys, note online-only ones,
 * skip x- keys, reject unknown and duplicate keys. null is an empty mapping. */
int
ytree_walk_map(struct yctx *c, const struct ynode *map, const struct ytree_map *spec, void *ud)
{
    const struct ynode *first[64] = {0};
    const struct ynode *merge = NULL, *merge_key = NULL;
    char q[96];
    int r;

    if (spec->nkeys > 64)
        return ferry_error_new(c->err, FERRY_E_INTERNAL, "%s: too many keys", spec->what);
    if (ytree_is_null(map))
        return 0;
    if (map->kind != Y_MAP)
        return ytree_fail(c, map, FERRY_E_INVALID, "%s must be a mapping", spec->what);
    for (size_t i = 0; i + 1 < map->n; i += 2) {
        const struct ynode *k = map->items[i], *v = map->items[i + 1];
        int id;
        if (k->kind != Y_SCALAR)
            return ytree_fail(c, k, FERRY_E_INVALID, "keys in %s must be strings", spec->what);
        if (is_merge_key(k)) {
            if (merge_key != NULL)
                return ytree_fail(c, k, FERRY_E_INVALID,
                                  "duplicate key \"<<\" in %s (first at line %u)", spec->what,
                                  merge_key->line);
            merge_key = k;
            merge = v;
            continue;
        }
        if ((id = key_id(spec, k)) < 0) {
            if (is_extension(k))
                continue;
            return unknown_key(c, spec, k);
        }
        if (first[id] != NULL) {
            ferry_quote(q, sizeof q, k->value, k->len);
            return ytree_fail(c, k, FERRY_E_INVALID,
                              "duplicate key \"%s\" in %s (first at line %u)", q, spec->what,
                              first[id]->line);
        }
        first[id] = k;
        if ((r = use_key(c, spec, (size_t)id, k, v, ud)) < 0)
            return r;
    }
    return merge ? walk_merge(c, merge, spec, ud, first, 0) : 0;
}
