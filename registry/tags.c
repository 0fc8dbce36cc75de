/* ferry registry client: tag and repository listing with Link pagination. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/limits.h"
#include "ferry/reference.h"
#include "registry_int.h"

static int
strv_push(struct reg_strv *s, const char *str)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        char **nv = ferry_realloc(s->v, ncap * sizeof *nv);
        if (nv == NULL)
            return -1;
        s->v = nv;
        s->cap = ncap;
    }
    s->v[s->n] = ferry_strdup(str);
    if (s->v[s->n] == NULL)
        return -1;
    s->n++;
    return 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One page of {"<key>": [strings]}: the strings appended to all. */
static int
names_page_parse(const char *data, size_t len, const char *what, const char *key, int page,
                 struct reg_strv *all, struct ferry_error **err)
{
    json_t *root, *jtags, *t;
    json_error_t jerr;
    size_t i;
    int rc = 0;

    root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        rc = ferry_error_new(err, FERRY_E_INVALID, "%s: page %d: line %d column %d: %s", what, page,
                             jerr.line, jerr.column, root ? "not an object" : jerr.text);
        goto out;
    }
    jtags = json_object_get(root, key);
    if (jtags != NULL && !json_is_null(jtags) && !json_is_array(jtags)) {
        rc = ferry_error_new(err, FERRY_E_INVALID, "%s: \"%s\" is not an array", what, key);
        goto out;
    }
    json_array_foreach(jtags, i, t)
    {
        if (!json_is_string(t)) {
            rc = ferry_error_new(err, FERRY_E_INVALID, "%s: an entry of \"%s\" is not a string",
                                 what, key);
            goto out;
        }
        if (strv_push(all, json_string_value(t)) < 0) {
            rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
    }
out:
    json_decref(root);
    return rc;
}

int
reg_tags_page_parse(const char *data, size_t len, const char *what, int page, struct reg_strv *all,
                    struct ferry_error **err)
{
    return names_page_parse(data, len, what, "tags", page, all, err);
}

void
reg_tags_sort_unique(struct reg_strv *all)
{
    size_t k = 0;

    /* registries differ in order (distribution 2.8 does not sort): sort, dedupe */
    if (all->n > 0)
        qsort(all->v, all->n, sizeof all->v[0], cmp_str);
    for (size_t i = 0; i < all->n; i++) {
        if (k > 0 && strcmp(all->v[i], all->v[k - 1]) == 0)
            ferry_free(all->v[i]);
        else
            all->v[k++] = all->v[i];
    }
    all->n = k;
}

static int
tags_page(struct reg_call *c, int page, void *ud, struct ferry_error **err)
{
    const struct ferry_buf *b = c->q.out;

    return reg_tags_page_parse(b->data ? b->data : "", b->len, c->what, page, ud, err);
}

/* GET every page of an initialised call (c's scope set) with page parsing
 * each, then sort and deduplicate into *out. */
static int
list_names(struct reg_call *c, struct ferry_registry *r,
           int (*page)(struct reg_call *, int, void *, struct ferry_error **), char ***out,
           size_t *n, struct ferry_error **err)
{
    struct ferry_buf body;
    struct reg_strv all = {0};
    int rc;

    ferry_buf_init(&body, FERRY_MAX_TAG_LIST);
    c->q.method = "GET";
    c->q.accept = "application/json";
    c->q.out = &body;
    c->q.follow = true;
    if ((rc = reg_call_pages(c, r, 200, page, &all, err)) == 0) {
        reg_tags_sort_unique(&all);
        *out = all.v;
        *n = all.n;
        all.v = NULL;
        all.n = 0;
    }
    ferry_strv_free(all.v, all.n);
    ferry_buf_free(&body);
    return rc < 0 ? rc : 0;
}

int
ferry_registry_list_tags(struct ferry_registry *r, const char *repo, char ***tags, size_t *n,
                         struct ferry_error **err)
{
    struct reg_call c = {0};
    int rc;

    if ((rc = reg_check(r, err)) < 0 || (rc = reg_check_repo(repo, err)) < 0)
        return rc;
    rc = reg_call_init(&c, r, "list tags", repo, NULL, "pull", err, "/v2/%s/tags/list", repo);
    if (rc == 0)
        rc = list_names(&c, r, tags_page, tags, n, err);
    reg_call_clear(&c);
    return rc;
}

static int
catalog_page(struct reg_call *c, int page, void *ud, struct ferry_error **err)
{
    const struct ferry_buf *b = c->q.out;

    return names_page_parse(b->data ? b->data : "", b->len, c->what, "repositories", page, ud, err);
}

int
ferry_registry_catalog(struct ferry_registry *r, char ***repos, size_t *n, struct ferry_error **err)
{
    struct reg_call c = {0};
    size_t i, k;
    int rc;

    if ((rc = reg_check(r, err)) < 0)
        return rc;
    rc = reg_call_init(&c, r, "list repositories", "_catalog", NULL, NULL, err, "/v2/_catalog");
    if (rc == 0 && (c.scope = ferry_strdup("registry:catalog:*")) == NULL)
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    if (rc == 0)
        rc = list_names(&c, r, catalog_page, repos, n, err);
    reg_call_clear(&c);
    if (rc < 0)
        return rc;
    /* names the registry gives are checked like any reference */
    for (i = 0, k = 0; i < *n; i++) {
        if (ferry_repository_valid((*repos)[i]))
            (*repos)[k++] = (*repos)[i];
        else
            ferry_free((*repos)[i]);
    }
    *n = k;
    return 0;
}
