/* ferry import: the inventory of a registry: per repository its tags, the
 * manifests they reach (indexes, platform manifests, referrers, referrers of
 * referrers) and the blobs those reference. What push --receipt writes after
 * a push, and `ferry-import inventory` when receipts were lost. A blob is
 * listed because a manifest the registry serves references it: registries
 * refuse manifests whose blobs they lack. Every walk has a visited set. */
#include <string.h>
#include <time.h>

#include "ferry/digest.h"
#include "ferry/layout.h"
#include "ferry/limits.h"
#include "ferry/manifest.h"
#include "ferry/receipt.h"
#include "ferry/reference.h"
#include "ferry/util.h"
#include "import_int.h"

struct inv {
    struct ferry_registry *reg;
    struct ferry_receipt_repo *rp;
    struct ferry_strmap *seen;  /* manifest digests of this repository */
    struct ferry_strmap *blobs; /* blob digests of this repository */
    bool no_api;                /* the registry has no referrers API */
};

static int
grow(void **v, size_t n, size_t size)
{
    void *nv;

    /* capacity: 8, then doubled whenever n reaches a power of two */
    if (n != 0 && (n < 8 || (n & (n - 1)) != 0))
        return 0;
    nv = ferry_realloc(*v, (n ? n * 2 : 8) * size);
    if (nv == NULL)
        return -1;
    *v = nv;
    return 0;
}

/* Text from the registry that a receipt can carry: none with control
 * characters (the receipt's reader refuses them), NULL instead. */
static const char *
printable(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; s != NULL && *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return NULL;
    return s;
}

static int
add_blob(struct ferry_receipt_blob **v, size_t *n, const char *digest, int64_t size,
         const char *media_type)
{
    struct ferry_receipt_blob *b;

    if (grow((void **)v, *n, sizeof **v) < 0)
        return -1;
    b = &(*v)[*n];
    memset(b, 0, sizeof *b);
    b->size = size;
    media_type = printable(media_type);
    if ((b->digest = ferry_strdup(digest)) == NULL ||
        (media_type && (b->media_type = ferry_strdup(media_type)) == NULL)) {
        ferry_free(b->digest);
        return -1;
    }
    (*n)++;
    return 0;
}

static int walk(struct inv *c, const char *ref, const char *hint, int depth, char **digest_out,
                struct ferry_error **err);

/* The referrers of digest (API, else fallback tag), each walked. */
static int
walk_referrers(struct inv *c, const char *digest, int depth, struct ferry_error **err)
{
    struct ferry_referrers_query q = {0};
    struct ferry_referrers rs = {0};
    struct ferry_manifest *x = NULL;
    size_t i;
    int r;

    if (depth > FERRY_MAX_REFERRER_DEPTH)
        return 0;
    q.no_api = c->no_api;
    if ((r = ferry_registry_list_referrers(c->reg, c->rp->name, digest, &q, &rs, err)) < 0)
        return r;
    if (rs.via == FERRY_REFERRERS_VIA_TAG)
        c->no_api = true;
    if ((rs.via == FERRY_REFERRERS_VIA_API || rs.found) && rs.index.len > 0 &&
        (r = ferry_manifest_parse(rs.index.data, rs.index.len, FERRY_MT_OCI_INDEX, "referrers", &x,
                                  err)) < 0) {
        ferry_referrers_clear(&rs);
        return ferry_error_wrap(err, "%s@%s", c->rp->name, digest);
    }
    for (i = 0; x != NULL && i < x->nmanifests && r >= 0; i++) {
        const struct ferry_descriptor *d = &x->manifests[i];
        const char *at = printable(d->artifact_type);
        struct ferry_receipt_referrer *e;
        if (strcmp(d->digest, digest) == 0) /* its own subject: a faulty listing */
            continue;
        if (grow((void **)&c->rp->referrers, c->rp->nreferrers, sizeof *e) < 0) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            break;
        }
        e = &c->rp->referrers[c->rp->nreferrers];
        memset(e, 0, sizeof *e);
        if ((e->subject = ferry_strdup(digest)) == NULL ||
            (e->digest = ferry_strdup(d->digest)) == NULL ||
            (at != NULL && (e->artifact_type = ferry_strdup(at)) == NULL)) {
            ferry_free(e->subject);
            ferry_free(e->digest);
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            break;
        }
        c->rp->nreferrers++;
        r = walk(c, d->digest, d->media_type, depth + 1, NULL, err);
        if (r == -FERRY_E_NOT_FOUND) { /* listed, then deleted: not held */
            ferry_error_clear(err);
            r = 0;
        }
    }
    ferry_manifest_free(x);
    ferry_referrers_clear(&rs);
    return r < 0 ? r : 0;
}

/* A manifest (by tag or digest) and everything it reaches, once each. */
static int
walk(struct inv *c, const char *ref, const char *hint, int depth, char **digest_out,
     struct ferry_error **err)
{
    struct ferry_manifest_info info = {0};
    struct ferry_manifest *m = NULL;
    struct ferry_buf body;
    size_t i;
    int r;

    if (strchr(ref, ':') != NULL && ferry_strmap_get(c->seen, ref) != NULL)
        return digest_out && (*digest_out = ferry_strdup(ref)) == NULL
                   ? ferry_error_new(err, FERRY_E_NOMEM, "out of memory")
                   : 0;
    if (depth > FERRY_MAX_INDEX_DEPTH + FERRY_MAX_REFERRER_DEPTH)
        return ferry_error_new(err, FERRY_E_INVALID, "%s@%s: nested too deep", c->rp->name, ref);
    ferry_buf_init(&body, FERRY_MAX_MANIFEST);
    if ((r = ferry_registry_get_manifest(c->reg, c->rp->name, ref, &body, &info, err)) < 0)
        goto out;
    if (digest_out && (*digest_out = ferry_strdup(info.digest)) == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    if (ferry_strmap_get(c->seen, info.digest) != NULL)
        goto out;
    if ((r = ferry_strmap_put(c->seen, info.digest, (void *)1)) < 0 ||
        add_blob(&c->rp->manifests, &c->rp->nmanifests, info.digest, (int64_t)body.len,
                 info.media_type ? info.media_type : hint) < 0) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    r = ferry_manifest_parse(body.data, body.len, info.media_type ? info.media_type : hint,
                             info.digest, &m, err);
    if (r < 0)
        goto out;
    if (m->kind == FERRY_KIND_INDEX) {
        for (i = 0; i < m->nmanifests && r >= 0; i++) {
            const struct ferry_descriptor *d = &m->manifests[i];
            if (ferry_media_type_is_index(d->media_type) ||
                ferry_media_type_is_manifest(d->media_type))
                r = walk(c, d->digest, d->media_type, depth + 1, NULL, err);
            if (r == -FERRY_E_NOT_FOUND) { /* a child deleted: not held, the rest is */
                ferry_error_clear(err);
                r = 0;
            }
        }
    } else {
        for (i = 0; i <= m->nlayers && r >= 0; i++) {
            const struct ferry_descriptor *d = i == 0 ? &m->config : &m->layers[i - 1];
            if (ferry_strmap_get(c->blobs, d->digest) != NULL)
                continue;
            if (ferry_strmap_put(c->blobs, d->digest, (void *)1) < 0 ||
                add_blob(&c->rp->blobs, &c->rp->nblobs, d->digest, d->size, d->media_type) < 0)
                r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        }
    }
    if (r >= 0)
        r = walk_referrers(c, info.digest, depth, err);
out:
    ferry_manifest_free(m);
    ferry_manifest_info_clear(&info);
    ferry_buf_free(&body);
    return r < 0 ? r : 0;
}

/* Is tag a referrers fallback tag ("sha256-<64 hex>")? Those index
 * referrers, which the walk lists through their subjects. */
static bool
fallback_tag(const char *tag)
{
    size_t n = strlen(tag);

    if (n != 7 + 64 || strncmp(tag, "sha256-", 7) != 0)
        return false;
    return strspn(tag + 7, "0123456789abcdef") == 64;
}

static int
inventory_repo(struct inv *c, struct ferry_receipt_repo *rp, struct ferry_error **err)
{
    char **tags = NULL;
    size_t ntags = 0, i;
    int r;

    c->rp = rp;
    c->seen = ferry_strmap_new();
    c->blobs = ferry_strmap_new();
    if (c->seen == NULL || c->blobs == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    r = ferry_registry_list_tags(c->reg, rp->name, &tags, &ntags, err);
    if (r == -FERRY_E_NOT_FOUND) { /* no such repository: it holds nothing */
        ferry_error_clear(err);
        r = 0;
        goto out;
    }
    if (r < 0)
        goto out;
    if (ntags > 0 && (rp->tags = ferry_calloc(ntags, sizeof *rp->tags)) == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < ntags && r >= 0; i++) {
        char *digest = NULL;
        if (fallback_tag(tags[i]) || !ferry_tag_valid(tags[i]))
            continue;
        r = walk(c, tags[i], NULL, 0, &digest, err);
        if (r == -FERRY_E_NOT_FOUND) { /* deleted since the listing */
            ferry_error_clear(err);
            ferry_free(digest);
            r = 0;
            continue;
        }
        if (r < 0) {
            ferry_free(digest);
            break;
        }
        rp->tags[rp->ntags].tag = tags[i];
        rp->tags[rp->ntags].digest = digest;
        rp->ntags++;
        tags[i] = NULL;
    }
    if (r < 0)
        ferry_error_wrap(err, "inventory of %s/%s", ferry_registry_host(c->reg), rp->name);
out:
    ferry_strv_free(tags, ntags);
    ferry_strmap_free(c->seen);
    ferry_strmap_free(c->blobs);
    c->seen = c->blobs = NULL;
    return r;
}

int
ferry_import_inventory(const char *to, const struct ferry_registry_opts *reg,
                       const char *const *repos, size_t nrepos, bool with_prefix,
                       struct ferry_receipt **out, struct ferry_error **err)
{
    struct ferry_receipt *rc = ferry_calloc(1, sizeof *rc);
    struct ferry_strmap *names = ferry_strmap_new();
    struct inv c = {0};
    char **all = NULL, *host = NULL, *prefix = NULL, now[32];
    size_t nall = 0, i;
    int r;

    if (rc == NULL || names == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    if ((r = ferry_target_parse(to, &host, &prefix, err)) < 0)
        goto out;
    if ((r = ferry_registry_new(host, reg, &c.reg, err)) < 0)
        goto out;
    if (nrepos == 0) {
        /* every repository under the prefix, from the catalog */
        if ((r = ferry_registry_catalog(c.reg, &all, &nall, err)) < 0) {
            ferry_error_wrap(err, "name the repositories to inventory, or allow the catalog");
            goto out;
        }
    } else {
        for (i = 0; i < nrepos; i++) {
            char *n = with_prefix && prefix != NULL && !ferry_path_under(repos[i], prefix)
                          ? ferry_asprintf("%s/%s", prefix, repos[i])
                          : ferry_strdup(repos[i]);
            if (n == NULL || ferry_strv_push(&all, &nall, n) < 0) {
                ferry_free(n);
                r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
                goto out;
            }
            if (!ferry_repository_valid(n)) {
                r = ferry_error_new(err, FERRY_E_USAGE, "repository %.300s is not valid", n);
                goto out;
            }
        }
    }
    ferry_time_format((int64_t)time(NULL), now, sizeof now);
    rc->version = FERRY_RECEIPT_VERSION;
    if ((rc->creator = ferry_strdup("ferry-import " FERRY_VERSION)) == NULL ||
        (rc->created = ferry_strdup(now)) == NULL || (rc->registry = ferry_strdup(host)) == NULL ||
        (prefix != NULL && (rc->prefix = ferry_strdup(prefix)) == NULL) ||
        (rc->repos = ferry_calloc(nall ? nall : 1, sizeof *rc->repos)) == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < nall; i++) {
        struct ferry_receipt_repo *rp;
        if (nrepos == 0 && prefix != NULL && !ferry_path_under(all[i], prefix))
            continue;
        if (record_is_state_repo(all[i]) || ferry_strmap_get(names, all[i]) != NULL)
            continue;
        if (ferry_strmap_put(names, all[i], (void *)1) < 0) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        rp = &rc->repos[rc->nrepos++];
        rp->name = all[i];
        all[i] = NULL;
        ferry_progress("inventory", rp->name, i + 1, nall);
        if ((r = inventory_repo(&c, rp, err)) < 0)
            goto out;
    }
    *out = rc;
    rc = NULL;
out:
    ferry_receipt_free(rc);
    ferry_strmap_free(names);
    ferry_strv_free(all, nall);
    ferry_registry_free(c.reg);
    ferry_free(host);
    ferry_free(prefix);
    return r;
}
