/* ferry export: the resolve: references into a plan. Each reference's
 * manifest (an index's platform choices made here, and nowhere else), then
 * everything it needs: child manifests, configs (read, for the platforms),
 * layers (described only), and its referrers, recursively, through the
 * referrers API or the fallback tag. Manifests are fetched ahead on a few
 * threads (prefetch.c) and taken here in reference order, so the plan, its
 * order and the order of errors do not depend on timing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "export_int.h"
#include "fetch_int.h"
#include "ferry/digest.h"
#include "ferry/layout.h"
#include "ferry/limits.h"
#include "ferry/manifest.h"
#include "ferry/reference.h"
#include "ferry/util.h"

#define PREFETCH_THREADS 8 /* manifests and referrers fetched ahead of the resolve */

struct ctx {
    const struct ferry_export_opts *o;
    struct export_plan *plan;
    struct ferry_strmap *refseen; /* "image|subject|digest" of referrers taken */
    struct ferry_strmap *noapi;   /* registry hosts without the referrers API */
    struct ferry_strmap *tagsets; /* "host/repo" -> struct ferry_strmap of its tags */
    struct ferry_strmap **tagsetlist;
    struct ferry_strmap *unlisted; /* "host/repo" of sources whose tags cannot be listed */
    size_t ntagsets;
    const struct ferry_export_item *item; /* being resolved */
    struct prefetch *pf;                  /* manifests fetched ahead, or NULL */
    /* manifests, referrer lists and tag lists: taken from the prefetch,
     * asked for here (-vv says how many) */
    size_t taken, asked;
};

static void
ctx_clear(struct ctx *c)
{
    if (c->pf != NULL)
        ferry_log(FERRY_LOG_DEBUG,
                  "resolve: %zu manifests, referrer lists and tag lists from the prefetch, %zu "
                  "asked for itself",
                  c->taken, c->asked);
    ferry_strmap_free(c->refseen);
    ferry_strmap_free(c->noapi);
    ferry_strmap_free(c->unlisted);
    ferry_strmap_free(c->tagsets);
    for (size_t i = 0; i < c->ntagsets; i++)
        ferry_strmap_free(c->tagsetlist[i]);
    ferry_free(c->tagsetlist);
    prefetch_free(c->pf);
}

const struct ferry_registry_opts *
export_host_opts(const struct ferry_export_opts *o, const char *api_host, const char *name)
{
    const struct ferry_registry_opts *ro = &o->reg;

    for (size_t i = 0; i < o->nhosts; i++)
        if (strcmp(o->hosts[i].host, api_host) == 0 || strcmp(o->hosts[i].host, name) == 0)
            ro = &o->hosts[i].reg;
    return ro;
}

/* The connection to a registry, made once. */
static int
get_conn(struct ctx *c, const char *api_host, const char *name, const struct export_conn **out,
         struct ferry_error **err)
{
    return export_plan_conn(c->plan, api_host, export_host_opts(c->o, api_host, name), out, err);
}

/* A manifest by tag or digest: the prefetched answer when there is one,
 * else from the registry. */
static int
get_manifest(struct ctx *c, struct ferry_registry *reg, const char *repo, const char *reference,
             struct ferry_buf *body, struct ferry_manifest_info *info, struct ferry_error **err)
{
    int r = prefetch_take(c->pf, ferry_registry_host(reg), repo, reference, body, info, err);

    if (r != 0)
        return r < 0 ? r : (c->taken++, 0);
    c->asked++;
    return ferry_registry_get_manifest(reg, repo, reference, body, info, err);
}

/* Per-image accounting: distinct objects and platforms. */
struct imgacc {
    struct ferry_strmap *seen;
    struct ferry_strmap *walked; /* manifests walked: index levels below + 1 */
    int64_t total;
    struct ferry_stmt_image *im;
    char **manifests; /* digests of the image's manifests and indexes, walk order */
    size_t nmanifests;
};

static int
acc_add(struct imgacc *a, const struct export_obj *ob, struct ferry_error **err)
{
    int r = ferry_strmap_put(a->seen, ob->digest, (void *)ob);

    if (r < 0)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    if (r == 1)
        a->total += ob->size;
    return 0;
}

static int
acc_platform(struct imgacc *a, const char *platform, struct ferry_error **err)
{
    struct ferry_stmt_image *im = a->im;
    char **n;
    size_t i;

    if (platform == NULL)
        return 0;
    for (i = 0; i < im->nplatforms; i++)
        if (strcmp(im->platforms[i], platform) == 0)
            return 0;
    n = ferry_realloc(im->platforms, (im->nplatforms + 1) * sizeof *n);
    if (n == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    im->platforms = n;
    if ((n[im->nplatforms] = ferry_strdup(platform)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    im->nplatforms++;
    return 0;
}

static int
add_blob(struct ctx *c, struct imgacc *a, const struct export_conn *cn, const char *repo,
         const struct ferry_descriptor *d, bool want_platform, struct ferry_error **err)
{
    struct export_obj *ob = NULL;
    char *data = NULL;
    size_t len = 0;
    int r;

    /* Configs are small: read them now so the statement can name platforms. */
    if (want_platform && d->size <= (int64_t)FERRY_MAX_MANIFEST &&
        export_plan_get(c->plan, d->digest) == NULL) {
        struct ferry_buf b;
        ferry_buf_init(&b, FERRY_MAX_MANIFEST);
        r = ferry_registry_get_blob_buf(cn->reg, repo, d->digest, d->size, &b, err);
        if (r < 0) {
            ferry_buf_free(&b);
            return r;
        }
        data = ferry_buf_take(&b, &len);
    }
    if ((r = export_plan_add(c->plan, d->digest, d->media_type, d->size, data, len, cn, repo, &ob,
                             err)) < 0)
        return r;
    if ((r = acc_add(a, ob, err)) < 0)
        return r;
    if (want_platform && ob->data != NULL) {
        char *plat = NULL;
        if (ferry_config_platform(ob->data, ob->len, ob->digest, &plat, err) < 0) {
            /* A config that is not JSON (an artifact's) has no platform. */
            ferry_error_clear(err);
            return 0;
        }
        r = acc_platform(a, plat, err);
        ferry_free(plat);
    }
    return r;
}

/* The manifest d names, fetched by digest into the plan (once); `from`
 * names what described it, for the size check's message. */
static int
fetch_manifest(struct ctx *c, const struct export_conn *cn, const char *repo,
               const struct ferry_descriptor *d, const char *from, struct export_obj **out,
               struct ferry_error **err)
{
    struct export_obj *ob = export_plan_get(c->plan, d->digest);
    struct ferry_manifest_info info = {0};
    struct ferry_buf b;
    char *data;
    size_t len;
    int r;

    if (ob != NULL && ob->data != NULL) {
        *out = ob;
        return 0;
    }
    ferry_buf_init(&b, FERRY_MAX_MANIFEST);
    r = get_manifest(c, cn->reg, repo, d->digest, &b, &info, err);
    ferry_manifest_info_clear(&info);
    if (r < 0) {
        ferry_buf_free(&b);
        return r;
    }
    if ((int64_t)b.len != d->size) {
        ferry_buf_free(&b);
        return ferry_error_new(err, FERRY_E_SIZE_MISMATCH,
                               "%s@%s: manifest is %zu bytes, its %s says %lld", repo, d->digest,
                               b.len, from, (long long)d->size);
    }
    data = ferry_buf_take(&b, &len);
    return export_plan_add(c->plan, d->digest, d->media_type, d->size, data, len, cn, repo, out,
                           err);
}

/* Walk a manifest or index already fetched as ob, adding everything it needs.
 * *height is the number of index levels below ob. Each manifest is walked
 * once per image (a->walked keeps its height), so an index that lists the
 * same digests over and over costs one walk per distinct manifest. */
static int
walk(struct ctx *c, struct imgacc *a, const struct export_conn *cn, const char *repo,
     struct export_obj *ob, int depth, int *height, struct ferry_error **err)
{
    struct ferry_manifest *m = NULL;
    uintptr_t seen = (uintptr_t)ferry_strmap_get(a->walked, ob->digest);
    size_t i;
    int r, h = seen != 0 ? (int)(seen - 1) : 0, ch;

    *height = h;
    if (depth + h > FERRY_MAX_INDEX_DEPTH)
        return ferry_error_new(err, FERRY_E_INVALID, "%s@%s: indexes nested more than %d deep",
                               repo, ob->digest, FERRY_MAX_INDEX_DEPTH);
    if (seen != 0)
        return 0;
    if ((r = acc_add(a, ob, err)) < 0)
        return r;
    {
        char **n = ferry_realloc(a->manifests, (a->nmanifests + 1) * sizeof *n);
        if (n == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        a->manifests = n;
        if ((n[a->nmanifests] = ferry_strdup(ob->digest)) == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        a->nmanifests++;
    }
    if ((r = ferry_manifest_parse(ob->data, ob->len, ob->media_type, ob->digest, &m, err)) < 0)
        return ferry_error_wrap(err, "%s", repo);
    if (m->kind == FERRY_KIND_INDEX) {
        for (i = 0; i < m->nmanifests; i++) {
            const struct ferry_descriptor *d = &m->manifests[i];
            struct export_obj *child = NULL;
            if (!ferry_media_type_is_index(d->media_type) &&
                !ferry_media_type_is_manifest(d->media_type)) {
                /* An index may list plain blobs (image-layout.md example). */
                if ((r = add_blob(c, a, cn, repo, d, false, err)) < 0)
                    goto out;
                continue;
            }
            if ((r = fetch_manifest(c, cn, repo, d, "index", &child, err)) < 0)
                goto out;
            if (depth == 0 && (r = acc_platform(a, d->platform, err)) < 0)
                goto out;
            if ((r = walk(c, a, cn, repo, child, depth + 1, &ch, err)) < 0)
                goto out;
            h = ch + 1 > h ? ch + 1 : h;
        }
    } else {
        if ((r = add_blob(c, a, cn, repo, &m->config, depth == 0, err)) < 0)
            goto out;
        for (i = 0; i < m->nlayers; i++)
            if ((r = add_blob(c, a, cn, repo, &m->layers[i], false, err)) < 0)
                goto out;
    }
    if (ferry_strmap_put(a->walked, ob->digest, (void *)(uintptr_t)(h + 1)) < 0)
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    *height = h;
out:
    ferry_manifest_free(m);
    return r;
}

static bool
type_wanted(const struct ferry_export_item *o, const char *at)
{
    size_t i;

    if (o->nartifact_types == 0)
        return true;
    for (i = 0; i < o->nartifact_types; i++)
        if (at != NULL && strcmp(o->artifact_types[i], at) == 0)
            return true;
    return false;
}

/* regsync's referrerFilters: a referrer passes if any filter matches it. */
static bool
filters_pass(const struct ferry_export_item *it, const char *at, json_t *annotations)
{
    size_t i, k;

    if (it->nfilters == 0)
        return true;
    for (i = 0; i < it->nfilters; i++) {
        const struct ferry_referrer_filter *f = &it->filters[i];
        bool ok = f->artifact_type == NULL || (at != NULL && strcmp(f->artifact_type, at) == 0);
        for (k = 0; ok && k < f->nannotations; k++) {
            const char *v = json_string_value(json_object_get(annotations, f->keys[k]));
            ok = v != NULL && strcmp(v, f->values[k]) == 0;
        }
        if (ok)
            return true;
    }
    return false;
}

/* Where referrers are read from. */
struct refsrc {
    const struct export_conn *conn;
    const char *repo;
    const char *name; /* HOST/REPO for the statement */
};

/* The tags of a referrer source repository, listed once: on a registry
 * without the referrers API, a subject has fallback-tag referrers only if its
 * sha256-<hex> tag is there, which saves a GET per manifest. */
static int
repo_tags(struct ctx *c, const struct refsrc *src, struct ferry_strmap **out,
          struct ferry_error **err)
{
    struct ferry_strmap *set, **nl;
    char *key, **tags = NULL;
    size_t n = 0, i;
    int r;

    key = ferry_asprintf("%s/%s", ferry_registry_host(src->conn->reg), src->repo);
    if (key == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    if ((set = ferry_strmap_get(c->tagsets, key)) != NULL) {
        ferry_free(key);
        *out = set;
        return 0;
    }
    r = prefetch_take_tags(c->pf, ferry_registry_host(src->conn->reg), src->repo, &tags, &n, err);
    if (r == 0) {
        c->asked++;
        r = ferry_registry_list_tags(src->conn->reg, src->repo, &tags, &n, err);
    } else if (r == 1) {
        c->taken++;
        r = 0;
    }
    if (r == -FERRY_E_NOT_FOUND) {
        ferry_error_clear(err);
        r = 0;
    }
    if (r < 0) {
        ferry_free(key);
        return ferry_error_wrap(err, "referrers in %s", src->name);
    }
    set = ferry_strmap_new();
    nl = set ? ferry_realloc(c->tagsetlist, (c->ntagsets + 1) * sizeof *nl) : NULL;
    if (nl == NULL) {
        ferry_strmap_free(set);
        ferry_strv_free(tags, n);
        ferry_free(key);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    c->tagsetlist = nl;
    c->tagsetlist[c->ntagsets++] = set;
    for (i = 0; i < n && r >= 0; i++)
        r = ferry_strmap_put(set, tags[i], (void *)1);
    if (r >= 0)
        r = ferry_strmap_put(c->tagsets, key, set);
    ferry_strv_free(tags, n);
    ferry_free(key);
    if (r < 0)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    *out = set;
    return 0;
}

/* The lookup's question "may the fallback tag exist?": only if the source
 * repository lists it, which saves a GET per manifest. */
struct tagq {
    struct ctx *c;
    const struct refsrc *src;
    bool failed; /* listing the tags failed: its error is already worded */
};

static int
tag_listed(const char *tag, void *ud, struct ferry_error **err)
{
    struct tagq *q = ud;
    struct ferry_strmap *tags = NULL;

    int r = repo_tags(q->c, q->src, &tags, err);

    if (r < 0) {
        q->failed = true;
        return r;
    }
    return ferry_strmap_get(tags, tag) != NULL;
}

/* A referrer edge of image into the plan: manifest m (digest, size) read
 * from src, referring to subject; tag: a cosign attachment's, else NULL. */
static int
add_referrer(struct ctx *c, size_t image, const char *subject, const char *digest, int64_t size,
             const struct ferry_manifest *m, const struct refsrc *src, const char *tag,
             struct ferry_error **err)
{
    const char *at = ferry_manifest_artifact_type(m), *tgt = c->item->referrers_tgt;
    struct ferry_stmt_referrer *rf = export_plan_new_referrer(c->plan);

    if (rf == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    rf->subject = ferry_strdup(subject);
    rf->digest = ferry_strdup(digest);
    rf->media_type = ferry_strdup(m->media_type);
    rf->size = size;
    rf->artifact_type = at ? ferry_strdup(at) : NULL;
    rf->annotations = m->annotations ? json_deep_copy(m->annotations) : NULL;
    rf->source = ferry_strdup(src->name);
    rf->target = tgt ? ferry_strdup(tgt) : NULL;
    rf->tag = tag ? ferry_strdup(tag) : NULL;
    rf->image = image;
    if (!rf->subject || !rf->digest || !rf->media_type || (at && !rf->artifact_type) ||
        !rf->source || (tgt && !rf->target) || (tag && !rf->tag))
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    return 0;
}

/* cosign's tag-based attachments of subject in the source repository
 * (cosign's pkg/oci/remote/remote.go: sha256-<hex>.sig, .att, .sbom),
 * found in its tag list; a repository whose tags cannot be listed is asked
 * for each tag by name. They are carried as referrers with a tag (bundle
 * version 4); their blobs are walked like a referrer's, and their own
 * referrers and attachments are looked for (cosign sign --attachment sbom
 * signs the .sbom: sha256-<its hex>.sig), depth bounded as referrers'. */
static int discover(struct ctx *c, struct imgacc *a, size_t image, const struct refsrc *src,
                    const char *subject, int depth, struct ferry_error **err);

static int
attachments(struct ctx *c, struct imgacc *a, size_t image, const struct refsrc *src,
            const char *subject, int depth, struct ferry_error **err)
{
    static const char *const kinds[] = FERRY_ATTACHMENT_KINDS;
    struct ferry_strmap *tags = NULL;
    struct ferry_manifest *m = NULL;
    char *tag = NULL, *key = NULL;
    int r = 0, h;

    if (ferry_strmap_get(c->unlisted, src->name) == NULL &&
        (r = repo_tags(c, src, &tags, err)) < 0) {
        if (r == -FERRY_E_NOMEM)
            return r;
        ferry_log(FERRY_LOG_WARN, "%s; cosign attachments there are asked for by tag", (*err)->msg);
        ferry_error_clear(err);
        if (ferry_strmap_put(c->unlisted, src->name, (void *)1) < 0)
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        tags = NULL;
        r = 0;
    }
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds && r >= 0; k++) {
        struct ferry_manifest_info info = {0};
        struct export_obj *ob = NULL;
        struct ferry_digest d;
        struct ferry_buf b;
        char *data;
        size_t len;
        ferry_safefree(tag);
        ferry_safefree(key);
        ferry_manifest_free(m);
        m = NULL;
        if ((tag = ferry_layout_attachment_tag(subject, kinds[k])) == NULL)
            break; /* a digest no tag can name */
        if (tags != NULL && ferry_strmap_get(tags, tag) == NULL)
            continue;
        ferry_buf_init(&b, FERRY_MAX_MANIFEST);
        r = get_manifest(c, src->conn->reg, src->repo, tag, &b, &info, err);
        if (r == -FERRY_E_NOT_FOUND && tags == NULL) {
            ferry_error_clear(err);
            ferry_buf_free(&b);
            r = 0;
            continue;
        }
        if (r < 0) {
            ferry_buf_free(&b);
            ferry_manifest_info_clear(&info);
            ferry_error_wrap(err, "cosign attachment %s:%s", src->name, tag);
            break;
        }
        ferry_digest_buffer(FERRY_DIGEST_SHA256, b.data ? b.data : "", b.len, &d);
        if ((r = ferry_manifest_parse(b.data ? b.data : "", b.len, info.media_type, d.str, &m,
                                      err)) < 0) {
            ferry_buf_free(&b);
            ferry_manifest_info_clear(&info);
            ferry_error_wrap(err, "cosign attachment %s:%s", src->name, tag);
            break;
        }
        ferry_manifest_info_clear(&info);
        if (m->kind != FERRY_KIND_IMAGE) {
            ferry_buf_free(&b);
            ferry_log(FERRY_LOG_WARN, "%s:%s is not an image manifest; not carried", src->name,
                      tag);
            continue;
        }
        if ((key = ferry_asprintf("%zu|%s|%s", image, subject, d.str)) == NULL) {
            ferry_buf_free(&b);
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            break;
        }
        if ((r = ferry_strmap_put(c->refseen, key, (void *)1)) <= 0) {
            ferry_buf_free(&b);
            if (r < 0)
                r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            continue; /* 0: taken already */
        }
        data = ferry_buf_take(&b, &len);
        if ((r = export_plan_add(c->plan, d.str, m->media_type, (int64_t)len, data, len, src->conn,
                                 src->repo, &ob, err)) < 0)
            break;
        if ((r = add_referrer(c, image, subject, d.str, (int64_t)len, m, src, tag, err)) < 0)
            break;
        ferry_log(FERRY_LOG_INFO, "cosign attachment %s (%s) of %s", tag, d.str, subject);
        if ((r = walk(c, a, src->conn, src->repo, ob, 1, &h, err)) < 0)
            break;
        r = discover(c, a, image, src, d.str, depth + 1, err);
    }
    ferry_manifest_free(m);
    ferry_free(tag);
    ferry_free(key);
    return r;
}

/* The referrers of subject: the referrers API when the registry answers it,
 * else the sha256-<hex> fallback tag; recursively (a signature on an SBOM). */
static int
discover(struct ctx *c, struct imgacc *a, size_t image, const struct refsrc *src,
         const char *subject, int depth, struct ferry_error **err)
{
    const struct ferry_export_item *o = c->item;
    const char *host = ferry_registry_host(src->conn->reg);
    struct ferry_manifest *idx = NULL, *m = NULL;
    struct ferry_referrers rs = {0};
    struct tagq tq = {c, src, false};
    struct ferry_referrers_query q = {0};
    char *key = NULL;
    size_t i;
    int r, h;

    if (depth > FERRY_MAX_REFERRER_DEPTH)
        return ferry_error_new(err, FERRY_E_INVALID, "%s: referrers nested more than %d deep",
                               subject, FERRY_MAX_REFERRER_DEPTH);
    q.artifact_type = o->nartifact_types == 1 ? o->artifact_types[0] : NULL;
    q.no_api = ferry_strmap_get(c->noapi, host) != NULL;
    q.tag_known = tag_listed;
    q.ud = &tq;
    /* fetched ahead (prefetch.c) when it could be */
    r = prefetch_take_referrers(c->pf, host, src->repo, subject, &rs, err);
    if (r == 0) {
        c->asked++;
        r = ferry_registry_list_referrers(src->conn->reg, src->repo, subject, &q, &rs, err);
    } else if (r == 1) {
        c->taken++;
    }
    if (r < 0) {
        if (!tq.failed)
            ferry_error_wrap(err, "referrers of %s in %s", subject, src->name);
        goto out;
    }
    if (rs.via == FERRY_REFERRERS_VIA_TAG && !q.no_api &&
        ferry_strmap_put(c->noapi, host, (void *)1) < 0) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    r = 0;
    if (rs.via == FERRY_REFERRERS_VIA_TAG && !rs.found)
        goto out; /* no fallback tag: no referrers */
    if ((r = ferry_manifest_parse(rs.index.data ? rs.index.data : "", rs.index.len, NULL, src->name,
                                  &idx, err)) < 0)
        goto out;
    if (idx->kind != FERRY_KIND_INDEX) {
        r = ferry_error_new(err, FERRY_E_INVALID, "referrers of %s in %s: not an image index",
                            subject, src->name);
        goto out;
    }
    for (i = 0; i < idx->nmanifests; i++) {
        const struct ferry_descriptor *d = &idx->manifests[i];
        const char *at;
        struct export_obj *ob = NULL;
        ferry_safefree(key);
        ferry_manifest_free(m);
        m = NULL;
        if (!ferry_media_type_is_manifest(d->media_type) &&
            !ferry_media_type_is_index(d->media_type))
            continue;
        if (d->artifact_type != NULL && !type_wanted(o, d->artifact_type))
            continue;
        /* per image: two images sharing a manifest each carry its referrers */
        if ((key = ferry_asprintf("%zu|%s|%s", image, subject, d->digest)) == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        if (ferry_strmap_get(c->refseen, key) != NULL)
            continue;
        if ((r = fetch_manifest(c, src->conn, src->repo, d, "descriptor", &ob, err)) < 0)
            goto out;
        if ((r = ferry_manifest_parse(ob->data, ob->len, d->media_type, ob->digest, &m, err)) < 0)
            goto out;
        at = ferry_manifest_artifact_type(m);
        if (!type_wanted(o, at) || !filters_pass(o, at, m->annotations))
            continue;
        if (m->subject == NULL || strcmp(m->subject->digest, subject) != 0) {
            ferry_log(FERRY_LOG_WARN,
                      "%s lists %s as a referrer of %s, but its subject differs; skipped",
                      src->name, d->digest, subject);
            continue;
        }
        if (ferry_strmap_put(c->refseen, key, (void *)1) < 0) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        if ((r = add_referrer(c, image, subject, d->digest, d->size, m, src, NULL, err)) < 0)
            goto out;
        ferry_log(FERRY_LOG_INFO, "referrer %s (%s) of %s", d->digest, at ? at : "no type",
                  subject);
        /* depth 1: a referrer adds no platform to the image */
        if ((r = walk(c, a, src->conn, src->repo, ob, 1, &h, err)) < 0)
            goto out;
        if ((r = discover(c, a, image, src, d->digest, depth + 1, err)) < 0)
            goto out;
    }
out:
    if (r >= 0)
        r = attachments(c, a, image, src, subject, depth, err);
    ferry_manifest_free(idx);
    ferry_manifest_free(m);
    ferry_referrers_clear(&rs);
    ferry_free(key);
    return r;
}

static bool
platform_wanted(const struct ferry_export_item *it, const char *have)
{
    size_t i;

    for (i = 0; i < it->nplatforms; i++)
        if (ferry_platform_match(have, it->platforms[i]))
            return true;
    return false;
}

/* The item's platform policy for the entries of an index, the one the
 * resolve follows and the prefetch fetches ahead for: with a single platform
 * (regsync's `platform`), the first entry that matches, which becomes the
 * image; else the entries of the platforms asked for, or all of them. */
static enum prefetch_want
platform_pick(const struct ferry_export_item *it, const char *platform)
{
    if (it->platform != NULL)
        return ferry_platform_match(platform, it->platform) ? PREFETCH_TAKE_LAST : PREFETCH_SKIP;
    return it->nplatforms == 0 || platform_wanted(it, platform) ? PREFETCH_TAKE : PREFETCH_SKIP;
}

/* Rewrite an index keeping only the wanted platforms' entries; everything
 * else in it stays as it was. The result has a new digest. */
static int
filter_index(const struct ferry_export_item *it, const char *text, const char *data, size_t len,
             char **out, size_t *outlen, struct ferry_error **err)
{
    struct ferry_manifest *m = NULL;
    json_t *root = NULL, *arr, *keep;
    json_error_t jerr;
    size_t i;
    int r = 0;

    if ((r = ferry_manifest_parse(data, len, NULL, text, &m, err)) < 0)
        return r;
    root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    arr = json_object_get(root, "manifests");
    keep = json_array();
    if (root == NULL || !json_is_array(arr) || keep == NULL ||
        json_array_size(arr) != m->nmanifests) {
        json_decref(keep);
        r = ferry_error_new(err, FERRY_E_INVALID, "%s: cannot rewrite the index", text);
        goto out;
    }
    for (i = 0; i < m->nmanifests; i++)
        if (platform_wanted(it, m->manifests[i].platform))
            json_array_append(keep, json_array_get(arr, i));
    if (json_array_size(keep) == 0) {
        json_decref(keep);
        r = ferry_error_new(err, FERRY_E_NOT_FOUND,
                            "%s: no entry of the index matches the platforms asked for", text);
        goto out;
    }
    json_object_set_new(root, "manifests", keep);
    r = ferry_json_dump(root, out, outlen, err);
out:
    json_decref(root);
    ferry_manifest_free(m);
    return r;
}

static int
resolve_one(struct ctx *c, const char *text, struct ferry_error **err)
{
    struct ferry_ref *ref = NULL, *rsrc = NULL;
    struct ferry_digest fdg;
    const char *digest;
    bool filtered = false;
    const struct export_conn *cn;
    struct ferry_manifest_info info = {0};
    struct ferry_buf body;
    struct ferry_stmt_image *im;
    struct imgacc acc = {0};
    struct export_obj *ob = NULL;
    char *data;
    size_t len;
    int r, height;

    ferry_buf_init(&body, FERRY_MAX_MANIFEST);
    if ((r = ferry_ref_parse(text, true, &ref, err)) < 0)
        goto out;
    if ((r = get_conn(c, ref->api_host, ref->registry, &cn, err)) < 0)
        goto out;
    ferry_log(FERRY_LOG_INFO, "resolve %s", text);
    r = get_manifest(c, cn->reg, ref->repository, ref->digest ? ref->digest : ref->tag, &body,
                     &info, err);
    if (r < 0) {
        ferry_error_wrap(err, "resolve %s", text);
        goto out;
    }
    if (!ferry_media_type_is_index(info.media_type) &&
        !ferry_media_type_is_manifest(info.media_type)) {
        r = ferry_error_new(err, FERRY_E_UNSUPPORTED, "resolve %s: unsupported media type %s", text,
                            info.media_type ? info.media_type : "(none)");
        goto out;
    }
    if (c->item->platform != NULL && ferry_media_type_is_index(info.media_type)) {
        /* regsync's `platform`: the image becomes that platform's manifest. */
        struct ferry_manifest *idx = NULL;
        const char *child = NULL;
        size_t k;
        if ((r = ferry_manifest_parse(body.data, body.len, info.media_type, text, &idx, err)) < 0)
            goto out;
        for (k = 0; k < idx->nmanifests && child == NULL; k++)
            if (platform_pick(c->item, idx->manifests[k].platform) == PREFETCH_TAKE_LAST)
                child = idx->manifests[k].digest;
        if (child == NULL) {
            ferry_manifest_free(idx);
            r = ferry_error_new(err, FERRY_E_NOT_FOUND, "resolve %s: no %s entry in the index",
                                text, c->item->platform);
            goto out;
        }
        ferry_buf_reset(&body);
        ferry_manifest_info_clear(&info);
        r = get_manifest(c, cn->reg, ref->repository, child, &body, &info, err);
        ferry_manifest_free(idx);
        if (r < 0) {
            ferry_error_wrap(err, "resolve %s for %s", text, c->item->platform);
            goto out;
        }
    }
    data = ferry_buf_take(&body, &len);
    digest = info.digest;
    if (c->item->nplatforms > 0 && ferry_media_type_is_index(info.media_type)) {
        char *fdata = NULL;
        size_t flen = 0;
        r = filter_index(c->item, text, data, len, &fdata, &flen, err);
        ferry_free(data);
        if (r < 0)
            goto out;
        data = fdata;
        len = flen;
        ferry_digest_buffer(FERRY_DIGEST_SHA256, data, len, &fdg);
        digest = fdg.str;
        filtered = true;
    }
    if ((r = export_plan_add(c->plan, digest, info.media_type, (int64_t)len, data, len, cn,
                             ref->repository, &ob, err)) < 0)
        goto out;

    if ((im = export_plan_new_image(c->plan)) == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    im->source = ferry_ref_string(ref);
    im->registry = ferry_strdup(ref->registry);
    im->repository = ferry_strdup(ref->repository);
    im->tag = ref->tag ? ferry_strdup(ref->tag) : NULL;
    im->digest = ferry_strdup(digest);
    im->media_type = ferry_strdup(info.media_type);
    im->size = (int64_t)len;
    im->target = c->item->target ? ferry_strdup(c->item->target) : NULL;
    im->source_digest = filtered ? ferry_strdup(info.digest) : NULL;
    if (!im->source || !im->registry || !im->repository || (ref->tag && !im->tag) || !im->digest ||
        !im->media_type || (c->item->target && !im->target) || (filtered && !im->source_digest)) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    acc.seen = ferry_strmap_new();
    acc.walked = ferry_strmap_new();
    acc.im = im;
    if (acc.seen == NULL || acc.walked == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    if ((r = walk(c, &acc, cn, ref->repository, ob, 0, &height, err)) < 0) {
        ferry_error_wrap(err, "resolve %s", text);
        goto out;
    }
    if (c->item->nplatforms > 0 && !filtered) {
        size_t k;
        for (k = 0; k < im->nplatforms; k++)
            if (platform_wanted(c->item, im->platforms[k]))
                break;
        if (k == im->nplatforms) {
            r = ferry_error_new(err, FERRY_E_NOT_FOUND,
                                "resolve %s: a single-platform image (%s) that none of the "
                                "platforms asked for matches",
                                text, im->nplatforms ? im->platforms[0] : "unknown platform");
            goto out;
        }
    }
    if (filtered && !c->item->no_referrers)
        ferry_log(FERRY_LOG_WARN,
                  "%s: platforms filtered, so the index gets a new digest %s; referrers of the "
                  "original index %s (signatures over it) cannot be carried",
                  text, digest, info.digest);
    if (!c->item->no_referrers && c->item->referrers_tgt != NULL) {
        struct ferry_ref *tgt = NULL;
        if ((r = ferry_ref_parse(c->item->referrers_tgt, true, &tgt, err)) < 0) {
            ferry_error_wrap(err, "referrers target");
            goto out;
        }
        ferry_ref_free(tgt);
    }
    if (!c->item->no_referrers) {
        /* The index and every platform manifest can have referrers. */
        size_t i, n = acc.nmanifests;
        struct refsrc src = {cn, ref->repository, NULL};
        char *name = NULL;
        if (c->item->referrers_src != NULL) {
            if ((r = ferry_ref_parse(c->item->referrers_src, true, &rsrc, err)) < 0) {
                ferry_error_wrap(err, "--referrers-src");
                goto out;
            }
            if ((r = get_conn(c, rsrc->api_host, rsrc->registry, &src.conn, err)) < 0)
                goto out;
            src.repo = rsrc->repository;
            name = ferry_asprintf("%s/%s", rsrc->registry, rsrc->repository);
        } else {
            name = ferry_asprintf("%s/%s", ref->registry, ref->repository);
        }
        if (name == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        src.name = name;
        /* A filtered index is ferry's own: nothing refers to it. */
        for (i = filtered ? 1 : 0; i < n && r == 0; i++)
            r = discover(c, &acc, c->plan->nimages - 1, &src, acc.manifests[i], 0, err);
        ferry_free(name);
        if (r < 0) {
            ferry_error_wrap(err, "resolve %s", text);
            goto out;
        }
    }
    im->total = acc.total;
out:
    for (size_t k = 0; k < acc.nmanifests; k++)
        ferry_free(acc.manifests[k]);
    ferry_free(acc.manifests);
    ferry_ref_free(rsrc);
    ferry_strmap_free(acc.seen);
    ferry_strmap_free(acc.walked);
    ferry_manifest_info_clear(&info);
    ferry_buf_free(&body);
    ferry_ref_free(ref);
    return r;
}

/* The prefetch fetches the children of an index the resolve will walk. */
static enum prefetch_want
want_child(const void *item, const char *platform)
{
    return platform_pick(item, platform);
}

/* Fetch every reference's manifest, and the platform manifests of indexes,
 * on a few threads, for the resolve to take in its order. A reference that
 * does not parse is left to the resolve, which reports it. */
static int
prefetch_items(struct ctx *c, const struct ferry_export_item *items, size_t nitems,
               struct ferry_error **err)
{
    struct prefetch_ref *pr = ferry_calloc(nitems ? nitems : 1, sizeof *pr);
    struct ferry_ref **refs = ferry_calloc(nitems ? nitems : 1, sizeof *refs);
    struct ferry_ref **srcs = ferry_calloc(nitems ? nitems : 1, sizeof *srcs);
    size_t n = 0, i;
    int r;

    if (pr == NULL || refs == NULL || srcs == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < nitems; i++) {
        struct ferry_error *e = NULL;
        struct ferry_ref *ref = NULL;
        if (ferry_ref_parse(items[i].ref, true, &ref, &e) < 0) {
            ferry_error_free(e);
            continue;
        }
        refs[n] = ref;
        pr[n].host = ref->api_host;
        pr[n].reg = export_host_opts(c->o, ref->api_host, ref->registry);
        pr[n].repo = ref->repository;
        pr[n].reference = ref->digest ? ref->digest : ref->tag;
        pr[n].item = &items[i];
        if (!items[i].no_referrers) { /* where discover will read them */
            struct ferry_ref *s = NULL;
            if (items[i].referrers_src == NULL) {
                pr[n].rhost = ref->api_host;
                pr[n].rrepo = ref->repository;
                pr[n].rreg = pr[n].reg;
            } else if (ferry_ref_parse(items[i].referrers_src, true, &s, &e) == 0) {
                srcs[n] = s;
                pr[n].rhost = s->api_host;
                pr[n].rrepo = s->repository;
                pr[n].rreg = export_host_opts(c->o, s->api_host, s->registry);
            } else {
                ferry_error_free(e); /* the resolve reports it */
                e = NULL;
            }
        }
        if (pr[n].reference != NULL) {
            n++;
        } else {
            ferry_ref_free(ref);
            ferry_ref_free(srcs[n]);
            srcs[n] = NULL;
            memset(&pr[n], 0, sizeof pr[n]);
        }
    }
    r = prefetch_run(pr, n, PREFETCH_THREADS, want_child, &c->pf, err);
out:
    for (i = 0; refs != NULL && i < n; i++) {
        ferry_ref_free(refs[i]);
        ferry_ref_free(srcs[i]);
    }
    ferry_free(refs);
    ferry_free(srcs);
    ferry_free(pr);
    return r;
}

int
export_resolve(const struct ferry_export_item *items, size_t nitems,
               const struct ferry_export_opts *o, struct export_plan **out,
               struct ferry_error **err)
{
    struct ctx c = {0};
    size_t i;
    int r = 0;

    if (nitems == 0)
        return ferry_error_new(err, FERRY_E_USAGE, "no image reference to export");
    c.o = o;
    c.plan = export_plan_new();
    c.refseen = ferry_strmap_new();
    c.noapi = ferry_strmap_new();
    c.unlisted = ferry_strmap_new();
    c.tagsets = ferry_strmap_new();
    if (c.plan == NULL || c.refseen == NULL || c.noapi == NULL || c.unlisted == NULL ||
        c.tagsets == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    if ((r = prefetch_items(&c, items, nitems, err)) < 0)
        goto out;
    for (i = 0; i < nitems; i++) {
        size_t j;
        bool dup = false;
        for (j = 0; j < i; j++)
            if (strcmp(items[i].ref, items[j].ref) == 0 &&
                (items[i].target == items[j].target ||
                 (items[i].target && items[j].target &&
                  strcmp(items[i].target, items[j].target) == 0)))
                dup = true;
        if (dup)
            continue;
        c.item = &items[i];
        if ((r = resolve_one(&c, items[i].ref, err)) < 0)
            goto out;
    }
    *out = c.plan;
    c.plan = NULL;
out:
    export_plan_free(c.plan);
    ctx_clear(&c);
    return r;
}
