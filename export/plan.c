/* ferry export: the plan: the members a bundle will hold, the images and
 * referrers its statement names, and the registries they come from. */
#include <string.h>

#include "export_int.h"
#include "ferry/digest.h"
#include "ferry/layout.h"
#include "ferry/manifest.h"
#include "ferry/util.h"

static void
obj_free(struct export_obj *ob)
{
    if (ob == NULL)
        return;
    ferry_free(ob->digest);
    ferry_free(ob->media_type);
    ferry_free(ob->data);
    ferry_free(ob->repo);
    ferry_free(ob);
}

struct export_plan *
export_plan_new(void)
{
    struct export_plan *p = ferry_calloc(1, sizeof *p);

    if (p == NULL || (p->objmap = ferry_strmap_new()) == NULL) {
        ferry_free(p);
        return NULL;
    }
    return p;
}

void
export_plan_free(struct export_plan *p)
{
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; i < p->nobjs; i++)
        obj_free(p->objs[i]);
    ferry_free(p->objs);
    for (i = 0; i < p->naway; i++)
        obj_free(p->away[i]);
    ferry_free(p->away);
    for (i = 0; i < p->nbases; i++)
        ferry_stmt_base_clear(&p->bases[i]);
    ferry_free(p->bases);
    for (i = 0; i < p->nexternals; i++)
        ferry_stmt_external_clear(&p->externals[i]);
    ferry_free(p->externals);
    ferry_strmap_free(p->objmap);
    for (i = 0; i < p->nconns; i++) {
        ferry_free(p->conns[i]->host);
        ferry_registry_free(p->conns[i]->reg);
        ferry_free(p->conns[i]);
    }
    ferry_free(p->conns);
    for (i = 0; i < p->nimages; i++)
        ferry_stmt_image_clear(&p->images[i]);
    ferry_free(p->images);
    for (i = 0; i < p->nrefs; i++)
        ferry_stmt_referrer_clear(&p->refs[i]);
    ferry_free(p->refs);
    ferry_free(p->index);
    ferry_free(p);
}

int
export_plan_conn(struct export_plan *p, const char *host, const struct ferry_registry_opts *o,
                 const struct export_conn **out, struct ferry_error **err)
{
    struct export_conn *nc, **nl;
    size_t i;
    int r;

    for (i = 0; i < p->nconns; i++) {
        if (strcmp(p->conns[i]->host, host) == 0) {
            *out = p->conns[i];
            return 0;
        }
    }
    nl = ferry_realloc(p->conns, (p->nconns + 1) * sizeof *nl);
    if (nl == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    p->conns = nl;
    if ((nc = ferry_calloc(1, sizeof *nc)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    if ((r = ferry_registry_new(host, o, &nc->reg, err)) < 0) {
        ferry_free(nc);
        return r;
    }
    if ((nc->host = ferry_strdup(host)) == NULL) {
        ferry_registry_free(nc->reg);
        ferry_free(nc);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    nc->opts = o;
    p->conns[p->nconns++] = nc;
    *out = nc;
    return 0;
}

struct export_obj *
export_plan_get(const struct export_plan *p, const char *digest)
{
    return ferry_strmap_get(p->objmap, digest);
}

struct ferry_stmt_image *
export_plan_new_image(struct export_plan *p)
{
    struct ferry_stmt_image *n = ferry_realloc(p->images, (p->nimages + 1) * sizeof *n);

    if (n == NULL)
        return NULL;
    p->images = n;
    memset(&n[p->nimages], 0, sizeof *n);
    return &n[p->nimages++];
}

struct ferry_stmt_referrer *
export_plan_new_referrer(struct export_plan *p)
{
    struct ferry_stmt_referrer *n = ferry_realloc(p->refs, (p->nrefs + 1) * sizeof *n);

    if (n == NULL)
        return NULL;
    p->refs = n;
    memset(&n[p->nrefs], 0, sizeof *n);
    return &n[p->nrefs++];
}

int
export_plan_add(struct export_plan *p, const char *digest, const char *media_type, int64_t size,
                char *data, size_t len, const struct export_conn *conn, const char *repo,
                struct export_obj **out, struct ferry_error **err)
{
    struct export_obj *ob = ferry_strmap_get(p->objmap, digest);

    if (ob != NULL) {
        if (ob->size != size) {
            ferry_free(data);
            return ferry_error_new(err, FERRY_E_SIZE_MISMATCH,
                                   "%s is described with sizes %lld and %lld", digest,
                                   (long long)ob->size, (long long)size);
        }
        if (ob->data == NULL && data != NULL) {
            ob->data = data;
            ob->len = len;
        } else {
            ferry_free(data);
        }
        *out = ob;
        return 0;
    }
    if (p->nobjs == p->capobjs) {
        size_t ncap = p->capobjs ? p->capobjs * 2 : 64;
        struct export_obj **n = ferry_realloc(p->objs, ncap * sizeof *n);
        if (n == NULL) {
            ferry_free(data);
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        }
        p->objs = n;
        p->capobjs = ncap;
    }
    ob = ferry_calloc(1, sizeof *ob);
    if (ob == NULL || (ob->digest = ferry_strdup(digest)) == NULL ||
        (ob->media_type = ferry_strdup(media_type)) == NULL ||
        (ob->repo = ferry_strdup(repo)) == NULL || ferry_strmap_put(p->objmap, digest, ob) < 0) {
        obj_free(ob);
        ferry_free(data);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    ob->size = size;
    ob->data = data;
    ob->len = len;
    ob->conn = conn;
    p->objs[p->nobjs++] = ob;
    *out = ob;
    return 0;
}

/* Push the digests d names (a manifest's config and layers, an index's
 * entries) that are in the plan and not yet reached. */
static int
reach_children(struct export_plan *p, const struct export_obj *ob, struct ferry_strmap *reached,
               const char ***stack, size_t *n, struct ferry_error **err)
{
    struct ferry_manifest *m = NULL;
    const struct ferry_descriptor *d[1];
    int r = 0;

    if (ob->data == NULL || (!ferry_media_type_is_manifest(ob->media_type) &&
                             !ferry_media_type_is_index(ob->media_type)))
        return 0;
    if (ferry_manifest_parse(ob->data, ob->len, ob->media_type, ob->digest, &m, NULL) < 0)
        return 0; /* a blob of a manifest type that is no manifest: a leaf */
    size_t nc = m->kind == FERRY_KIND_INDEX ? m->nmanifests : m->nlayers + 1;
    for (size_t i = 0; i < nc && r >= 0; i++) {
        struct export_obj *c;
        d[0] = m->kind == FERRY_KIND_INDEX ? &m->manifests[i]
               : i == 0                    ? &m->config
                                           : &m->layers[i - 1];
        if ((c = export_plan_get(p, d[0]->digest)) == NULL)
            continue;
        if ((r = ferry_strmap_put(reached, c->digest, c)) < 0)
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        else if (r == 1)
            (*stack)[(*n)++] = c->digest;
    }
    ferry_manifest_free(m);
    return r < 0 ? r : 0;
}

int
export_plan_keep_images(struct export_plan *p, const bool *keep, struct ferry_error **err)
{
    struct ferry_strmap *reached = ferry_strmap_new(), *objmap = ferry_strmap_new();
    const char **stack = ferry_malloc((p->nobjs ? p->nobjs : 1) * sizeof *stack);
    size_t *newidx = ferry_malloc((p->nimages ? p->nimages : 1) * sizeof *newidx);
    size_t ni = 0, nr = 0, n = 0, k = 0, i;
    int r = 0;

    if (reached == NULL || objmap == NULL || stack == NULL || newidx == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    /* the images kept and their referrers, in order */
    for (i = 0; i < p->nimages; i++) {
        if (!keep[i]) {
            ferry_stmt_image_clear(&p->images[i]);
            continue;
        }
        newidx[i] = ni;
        p->images[ni++] = p->images[i];
    }
    for (i = 0; i < p->nrefs; i++) {
        if (!keep[p->refs[i].image]) {
            ferry_stmt_referrer_clear(&p->refs[i]);
            continue;
        }
        p->refs[i].image = newidx[p->refs[i].image];
        p->refs[nr++] = p->refs[i];
    }
    p->nimages = ni;
    p->nrefs = nr;
    /* what they reach: every object is pushed once, so the walk is linear */
    for (i = 0; i < p->nimages + p->nrefs && r >= 0; i++) {
        const char *dg = i < p->nimages ? p->images[i].digest : p->refs[i - p->nimages].digest;
        struct export_obj *ob = export_plan_get(p, dg);
        if (ob == NULL)
            continue;
        if ((r = ferry_strmap_put(reached, ob->digest, ob)) < 0)
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        else if (r == 1)
            stack[n++] = ob->digest;
    }
    while (r >= 0 && n > 0)
        r = reach_children(p, export_plan_get(p, stack[--n]), reached, &stack, &n, err);
    if (r < 0)
        goto out;
    /* the objects reached, in their order; a new map of them */
    for (i = 0; i < p->nobjs; i++) {
        if (ferry_strmap_get(reached, p->objs[i]->digest) == NULL) {
            obj_free(p->objs[i]);
            continue;
        }
        p->objs[k++] = p->objs[i];
        if (ferry_strmap_put(objmap, p->objs[k - 1]->digest, p->objs[k - 1]) < 0) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            p->nobjs = k;
            goto out;
        }
    }
    p->nobjs = k;
    ferry_strmap_free(p->objmap);
    p->objmap = objmap;
    objmap = NULL;
out:
    ferry_strmap_free(reached);
    ferry_strmap_free(objmap);
    ferry_free(stack);
    ferry_free(newidx);
    return r < 0 ? r : 0;
}

/* In-memory members (manifests, configs) first, then streamed blobs, each
 * group in resolution order: a stable partition, linear in the objects. */
static int
order_objs(struct export_plan *p, struct ferry_error **err)
{
    struct export_obj **t = ferry_malloc((p->nobjs ? p->nobjs : 1) * sizeof *t);
    size_t k = 0, i;

    if (t == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    for (i = 0; i < p->nobjs; i++)
        if (p->objs[i]->data != NULL)
            t[k++] = p->objs[i];
    for (i = 0; i < p->nobjs; i++)
        if (p->objs[i]->data == NULL)
            t[k++] = p->objs[i];
    memcpy(p->objs, t, p->nobjs * sizeof *t);
    ferry_free(t);
    return 0;
}

void
export_plan_borrowed_statement(const struct export_plan *p, struct ferry_statement *st)
{
    memset(st, 0, sizeof *st);
    st->version = FERRY_STATEMENT_VERSION;
    st->images = p->images;
    st->nimages = p->nimages;
    st->referrers = p->refs;
    st->nreferrers = p->nrefs;
}

int
export_plan_finish(struct export_plan *p, struct ferry_error **err)
{
    struct ferry_statement st;
    struct ferry_stmt_fallback *fb = NULL;
    size_t nfb = 0, i;
    int r;

    if (p->index != NULL)
        return ferry_error_new(err, FERRY_E_INTERNAL, "export plan finished twice");
    export_plan_borrowed_statement(p, &st);
    /* The referrers fallback indexes are blobs of the bundle, held in memory. */
    if ((r = ferry_statement_layout_fallbacks(&st, &fb, &nfb, err)) < 0)
        return r;
    for (i = 0; i < nfb; i++) {
        struct export_obj *ob;
        char *data = fb[i].data;
        fb[i].data = NULL;
        if ((r = export_plan_add(p, fb[i].digest, FERRY_MT_OCI_INDEX, (int64_t)fb[i].len, data,
                                 fb[i].len, NULL, "", &ob, err)) < 0)
            goto out;
    }
    if ((r = order_objs(p, err)) < 0)
        goto out;
    r = ferry_statement_layout_index(&st, fb, nfb, &p->index, &p->ilen, err);
out:
    ferry_stmt_fallbacks_free(fb, nfb);
    return r;
}

static int
fill_member(struct ferry_stmt_member *m, const char *path, const void *data, size_t len,
            struct ferry_error **err)
{
    struct ferry_digest d;

    ferry_digest_buffer(FERRY_DIGEST_SHA256, data, len, &d);
    m->path = ferry_strdup(path);
    m->digest = ferry_strdup(d.str);
    m->size = (int64_t)len;
    if (m->path == NULL || m->digest == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    return 0;
}

int
export_plan_statement(struct export_plan *p, const char *created, struct ferry_statement **out,
                      struct ferry_error **err)
{
    struct ferry_statement *st = NULL;
    size_t vlen, i;
    const char *version = ferry_layout_version_text(&vlen);
    int r = 0;

    if (p->index == NULL)
        return ferry_error_new(err, FERRY_E_INTERNAL, "export plan not finished");
    if ((st = ferry_calloc(1, sizeof *st)) == NULL ||
        (st->members = ferry_calloc(p->nobjs + 2, sizeof *st->members)) == NULL ||
        (st->creator = ferry_strdup("ferry-export " FERRY_VERSION)) == NULL ||
        (st->created = ferry_strdup(created)) == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    st->version = FERRY_STATEMENT_VERSION;
    if ((r = fill_member(&st->members[st->nmembers++], FERRY_LAYOUT_VERSION_FILE, version, vlen,
                         err)) < 0 ||
        (r = fill_member(&st->members[st->nmembers++], FERRY_LAYOUT_INDEX_FILE, p->index, p->ilen,
                         err)) < 0)
        goto out;
    for (i = 0; i < p->nobjs; i++) {
        struct ferry_stmt_member *m = &st->members[st->nmembers++];
        m->path = ferry_layout_blob_path(p->objs[i]->digest);
        m->digest = ferry_strdup(p->objs[i]->digest);
        m->media_type = ferry_strdup(p->objs[i]->media_type);
        m->size = p->objs[i]->size;
        if (!m->path || !m->digest || !m->media_type) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
    }
    st->images = p->images;
    st->nimages = p->nimages;
    st->referrers = p->refs;
    st->nreferrers = p->nrefs;
    st->bases = p->bases;
    st->nbases = p->nbases;
    st->externals = p->externals;
    st->nexternals = p->nexternals;
    p->bases = NULL;
    p->nbases = 0;
    p->externals = NULL;
    p->nexternals = 0;
    p->images = NULL;
    p->nimages = 0;
    p->refs = NULL;
    p->nrefs = 0;
    *out = st;
    st = NULL;
out:
    ferry_statement_free(st);
    return r;
}
