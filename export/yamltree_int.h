/* ferry: a YAML document as a small tree, and walking its mappings against a
 * table of keys (export/yamltree.c).
 *
 * libyaml's event API feeds a builder that caps nesting, anchors and the
 * number of nodes the document expands to (an alias counts its whole value)
 * while it parses, and keeps every scalar in memory it wipes on free: a
 * document may hold passwords. Nothing here knows what the keys mean; the
 * sync config's schema (syncconfig.c) and the template subset (template.c)
 * build on it.
 *
 * Every error message starts with "PATH:LINE:COLUMN: " (or "PATH: " where
 * there is no position) and quotes document text only through ferry_quote.
 */
#ifndef FERRY_YAMLTREE_INT_H
#define FERRY_YAMLTREE_INT_H

#include "ferry/common.h"
#include "ferry/error.h"

enum ykind { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
    enum ykind kind;
    unsigned line, col; /* 1-based */
    bool plain;         /* plain scalar without a tag: may read as null or a bool */
    char *value;        /* scalar text, NUL-terminated (may hold NULs: see len) */
    size_t len;
    struct ynode **items; /* sequence items, or mapping keys and values alternating */
    size_t n, cap;
    size_t weight; /* nodes in the subtree, an alias counting its whole value */
    struct ynode *next_alloc;
};

/* Where a document comes from, where its failures go, and who hears about
 * keys a table accepts without using them. */
struct yctx {
    const char *path;         /* names the document in messages (borrowed) */
    struct ferry_error **err; /* receives the first failure */
    /* Called by ytree_walk_map for a key whose ytree_key has a notice: key is
     * the key node, name and text the table's. 0 or a negative ferry_status
     * with *err set. NULL: such keys are skipped without a word. */
    int (*notice)(void *ud, const struct ynode *key, const char *name, const char *text);
    void *notice_ud;
};

struct ytree; /* the nodes and anchors of one document */

/* Parse data[0..len) (one YAML document; a second one is an error) into a
 * tree. libyaml's buffers and events are wiped as it goes. On success *out is
 * a new tree (ytree_free); errors: FERRY_E_INVALID (YAML syntax, an alias
 * without its anchor), FERRY_E_TOO_LARGE (nested deeper than
 * FERRY_SYNC_MAX_DEPTH, more than FERRY_SYNC_MAX_NODES nodes with aliases
 * expanded, too many anchors), FERRY_E_NOMEM. */
int ytree_load(struct yctx *c, const void *data, size_t len, struct ytree **out);
/* The document's top node; NULL for an empty document. Points into t. */
const struct ynode *ytree_root(const struct ytree *t);
/* Wipe every scalar and free the tree. NULL is a no-op. */
void ytree_free(struct ytree *t);

/* Fail at node n: "PATH:LINE:COL: <fmt>" with code; returns -code. */
int ytree_fail(struct yctx *c, const struct ynode *n, enum ferry_status code, const char *fmt, ...)
    FERRY_PRINTF(4, 5);
/* "PATH: out of memory"; returns -FERRY_E_NOMEM. */
int ytree_nomem(struct yctx *c);

/* ---- values ------------------------------------------------------------- */

/* True for a missing node (NULL) and a plain null scalar ("", ~, null). */
bool ytree_is_null(const struct ynode *n);
/* 0 if n is a scalar without NUL bytes, else an error naming what. */
int ytree_want_scalar(struct yctx *c, const struct ynode *n, const char *what);
/* The text of a scalar in ferry_malloc memory (*out NULL for null). */
int ytree_get_string(struct yctx *c, const struct ynode *n, const char *what, char **out);
/* A YAML 1.1 boolean (true/yes/on, false/no/off, three spellings each). */
int ytree_get_bool(struct yctx *c, const struct ynode *n, const char *what, bool *out);
/* The items of a list, pointing into the tree (none for null). */
int ytree_get_list(struct yctx *c, const struct ynode *n, const char *what,
                   struct ynode *const **items, size_t *count);
/* Append the strings of a list (null items as "") to *out, *nout (a vector
 * for ferry_strv_free, which the caller frees even on failure). */
int ytree_get_strlist(struct yctx *c, const struct ynode *n, const char *what, char ***out,
                      size_t *nout);

/* ---- mappings ----------------------------------------------------------- */

/* One key a mapping may hold. */
struct ytree_key {
    const char *name;
    const char *notice; /* accepted but not used: what ferry does instead (NULL: used) */
};

/* Decode the value of keys[id] (a key without a notice); ud is the walk's. */
typedef int (*ytree_key_fn)(void *ud, size_t id, const struct ynode *key, const struct ynode *val);

/* The keys of one kind of mapping (at most 64). */
struct ytree_map {
    const char *what; /* names the mapping in messages: "sync entry" */
    const struct ytree_key *keys;
    size_t nkeys;
    ytree_key_fn fn;
};

/* Walk map against spec: call spec->fn for known keys and c->notice for the
 * ones with a notice, skip "x-" keys, follow "<<" merge keys (a mapping or a
 * list of them; keys given explicitly or by an earlier merge win), and reject
 * unknown keys, duplicate keys and keys that are not strings. null is an
 * empty mapping. Stops at the first failure. */
int ytree_walk_map(struct yctx *c, const struct ynode *map, const struct ytree_map *spec, void *ud);

#endif
