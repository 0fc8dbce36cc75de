/* Fuzz the YAML tree of the sync config (export/yamltree.c): the event
 * builder with anchors, aliases and their weight cap, the value readers and
 * the mapping walker with merge keys.
 *
 * Checked: a failure leaves no tree and a one-line message naming the
 * document; a tree's mappings hold key/value pairs, its scalars are
 * NUL-terminated, and each collection weighs one more than its items, within
 * FERRY_SYNC_MAX_NODES. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/limits.h"
#include "ferry/util.h"
#include "yamltree_int.h"

#define NAME "fuzz.yaml"

static void
check_error(struct ferry_error *err)
{
    if (err == NULL || strncmp(err->msg, NAME ":", strlen(NAME ":")) != 0 ||
        strchr(err->msg, '\n') != NULL)
        abort();
}

/* Visits the tree with aliases expanded, which the weight cap keeps to
 * FERRY_SYNC_MAX_NODES nodes. */
static size_t
check_node(const struct ynode *n)
{
    size_t sum = 1;

    if (n->line == 0 || n->col == 0)
        abort();
    if (n->kind == Y_SCALAR) {
        if (n->value == NULL || n->value[n->len] != '\0' || n->n != 0)
            abort();
        return 1;
    }
    if (n->kind == Y_MAP && n->n % 2 != 0)
        abort();
    for (size_t i = 0; i < n->n; i++)
        sum += check_node(n->items[i]);
    if (sum != n->weight)
        abort();
    return sum;
}

static int
on_notice(void *ud, const struct ynode *key, const char *name, const char *text)
{
    (void)key;
    (void)name;
    (void)text;
    ++*(size_t *)ud;
    return 0;
}

struct walk {
    struct yctx *c;
};

/* Read each known key's value every way a schema might. */
static int
on_key(void *ud, size_t id, const struct ynode *key, const struct ynode *val)
{
    struct walk *w = ud;
    struct ferry_error **err = w->c->err;
    struct ynode *const *items;
    char **v = NULL, *s = NULL;
    size_t count = 0, nv = 0;
    bool b;

    (void)key;
    switch (id) {
    case 0:
        if (ytree_get_string(w->c, val, "a", &s) == 0)
            ferry_free(s);
        break;
    case 1:
        (void)ytree_get_bool(w->c, val, "b", &b);
        break;
    case 2:
        (void)ytree_get_list(w->c, val, "c", &items, &count);
        break;
    default:
        (void)ytree_get_strlist(w->c, val, "d", &v, &nv);
        ferry_strv_free(v, nv);
        break;
    }
    ferry_error_clear(err); /* keep walking: every key gets read */
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct ytree_key keys[] = {
        {"a", NULL}, {"b", NULL}, {"c", NULL}, {"d", NULL}, {"n", "not used"}};
    static const struct ytree_map spec = {"the top level", keys, sizeof keys / sizeof keys[0],
                                          on_key};
    struct ferry_error *err = NULL;
    size_t notices = 0;
    struct yctx c = {NAME, &err, on_notice, &notices};
    struct walk w = {&c};
    struct ytree *t = NULL;
    const struct ynode *root;

    if (ytree_load(&c, data, size, &t) < 0) {
        check_error(err);
        if (t != NULL)
            abort();
        ferry_error_free(err);
        return 0;
    }
    root = ytree_root(t);
    if (root != NULL && check_node(root) > FERRY_SYNC_MAX_NODES)
        abort();
    if (ytree_walk_map(&c, root, &spec, &w) < 0)
        check_error(err);
    ferry_error_free(err);
    ytree_free(t);
    return 0;
}
