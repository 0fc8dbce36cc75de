/* ferry: ferry.json, the signed statement. */
#include <string.h>

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>

#include "ferry/digest.h"
#include "ferry/layout.h"
#include "ferry/manifest.h"
#include "ferry/reference.h"
#include "ferry/limits.h"
#include "ferry/statement.h"
#include "ferry/util.h"
#include "json_int.h"

void
ferry_stmt_member_clear(struct ferry_stmt_member *m)
{
    ferry_free(m->path);
    ferry_free(m->digest);
    ferry_free(m->media_type);
    ferry_free(m->blob);
}

void
ferry_stmt_image_clear(struct ferry_stmt_image *im)
{
    size_t i;

    ferry_free(im->source);
    ferry_free(im->registry);
    ferry_free(im->repository);
    ferry_free(im->tag);
    ferry_free(im->digest);
    ferry_free(im->media_type);
    for (i = 0; i < im->nplatforms; i++)
        ferry_free(im->platforms[i]);
    ferry_free(im->platforms);
    ferry_free(im->target);
    ferry_free(im->source_digest);
}

void
ferry_stmt_referrer_clear(struct ferry_stmt_referrer *r)
{
    if (r == NULL)
        return;
    ferry_free(r->subject);
    ferry_free(r->digest);
    ferry_free(r->media_type);
    ferry_free(r->artifact_type);
    json_decref(r->annotations);
    ferry_free(r->source);
    ferry_free(r->target);
    ferry_free(r->tag);
    memset(r, 0, sizeof *r);
}

void
ferry_stmt_base_clear(struct ferry_stmt_base *b)
{
    ferry_free(b->kind);
    ferry_free(b->digest);
    ferry_free(b->key_id);
    ferry_free(b->created);
    ferry_free(b->name);
    ferry_free(b->registry);
    ferry_free(b->bundle);
    memset(b, 0, sizeof *b);
}

void
ferry_stmt_external_clear(struct ferry_stmt_external *x)
{
    ferry_free(x->digest);
    ferry_free(x->media_type);
    ferry_free(x->repository);
    memset(x, 0, sizeof *x);
}

void
ferry_stmt_split_clear(struct ferry_stmt_split *x)
{
    ferry_free(x->digest);
    ferry_free(x->media_type);
    ferry_free(x->members);
    memset(x, 0, sizeof *x);
}

bool
ferry_stmt_member_here(const struct ferry_statement *s, const struct ferry_stmt_member *m)
{
    return m->volume == 0 || m->volume == s->volume;
}

char *
ferry_stmt_part_path(const char *blob, size_t n)
{
    const char *colon = blob ? strchr(blob, ':') : NULL;

    if (colon == NULL)
        return NULL;
    return ferry_asprintf("parts/%.*s/%s.%zu", (int)(colon - blob), blob, colon + 1, n);
}

void
ferry_statement_free(struct ferry_statement *s)
{
    size_t i;

    if (s == NULL)
        return;
    ferry_free(s->creator);
    ferry_free(s->created);
    for (i = 0; i < s->nimages; i++)
        ferry_stmt_image_clear(&s->images[i]);
    ferry_free(s->images);
    for (i = 0; i < s->nmembers; i++)
        ferry_stmt_member_clear(&s->members[i]);
    ferry_free(s->members);
    for (i = 0; i < s->nreferrers; i++)
        ferry_stmt_referrer_clear(&s->referrers[i]);
    ferry_free(s->referrers);
    for (i = 0; i < s->nbases; i++)
        ferry_stmt_base_clear(&s->bases[i]);
    ferry_free(s->bases);
    for (i = 0; i < s->nexternals; i++)
        ferry_stmt_external_clear(&s->externals[i]);
    ferry_free(s->externals);
    for (i = 0; i < s->nsplits; i++)
        ferry_stmt_split_clear(&s->splits[i]);
    ferry_free(s->splits);
    ferry_free(s->volume_set);
    ferry_free(s);
}

/* What push will use must be valid at verify: the repository and tag an
 * image is pushed to, and a recorded target reference. */
static int
check_names(const char *what, const char *repository, const char *tag, const char *target,
            struct ferry_error **err)
{
    char q[256];
    struct ferry_ref *ref = NULL;

    if (repository != NULL && !ferry_repository_valid(repository))
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: repository \"%s\" is not valid", what,
                               ferry_quote(q, sizeof q, repository, strlen(repository)));
    if (tag != NULL && !ferry_tag_valid(tag))
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: tag \"%s\" is not valid", what,
                               ferry_quote(q, sizeof q, tag, strlen(tag)));
    if (target != NULL) {
        if (ferry_ref_parse(target, true, &ref, err) < 0) {
            ferry_error_recode(err, FERRY_E_BUNDLE);
            return ferry_error_wrap(err, "%s: target", what);
        }
        ferry_ref_free(ref);
    }
    return 0;
}

static int digest_field(const char *what, const char *key, const char *v, struct ferry_error **err);

/* An optional non-negative integer member: *out untouched when absent. */
static int
opt_size(json_t *o, const char *key, const char *what, int64_t *out, struct ferry_error **err)
{
    if (json_object_get(o, key) == NULL)
        return 0;
    return ferry_json_size(FERRY_E_BUNDLE, o, key, what, out, err);
}

/* One member; `volumes` is the set's count (0: not a volume). A part of a
 * split blob ("parts/...") is only checked here for its own fields; the
 * parts of each blob are checked together once all are read. */
static int
parse_member(json_t *o, size_t idx, unsigned volumes, struct ferry_stmt_member *m,
             struct ferry_error **err)
{
    static const char *const keys[] = {"path",   "digest", "size",   "mediaType",
                                       "volume", "blob",   "offset", NULL};
    struct ferry_digest d;
    char what[64];
    char *want = NULL;
    int64_t vol = 0;
    bool manifest;
    int r;

    snprintf(what, sizeof what, "ferry.json members[%zu]", idx);
    if (!json_is_object(o))
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: not an object", what);
    if ((r = ferry_json_keys(FERRY_E_BUNDLE, o, keys, what, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "path", true, what, &m->path, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "digest", true, what, &m->digest, err)) < 0 ||
        (r = ferry_json_size(FERRY_E_BUNDLE, o, "size", what, &m->size, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "mediaType", false, what, &m->media_type, err)) <
            0 ||
        (r = opt_size(o, "volume", what, &vol, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "blob", false, what, &m->blob, err)) < 0 ||
        (r = opt_size(o, "offset", what, &m->offset, err)) < 0)
        return r;
    if (ferry_digest_parse(m->digest, &d, err) < 0) {
        ferry_error_recode(err, FERRY_E_BUNDLE);
        return ferry_error_wrap(err, "%s", what);
    }
    if ((r = ferry_json_text(FERRY_E_BUNDLE, what, "mediaType", m->media_type, err)) < 0)
        return r;
    if (volumes == 0 && (json_object_get(o, "volume") != NULL || m->blob != NULL ||
                         json_object_get(o, "offset") != NULL))
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: volume, blob and offset belong to volumes of a set "
                               "(ferryBundleVersion %d)",
                               what, FERRY_STATEMENT_VERSION_VOLUME);
    if (json_object_get(o, "volume") != NULL && (vol < 1 || vol > (int64_t)volumes))
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: volume %lld is not one of the set's %u",
                               what, (long long)vol, volumes);
    m->volume = (unsigned)vol;
    manifest =
        ferry_media_type_is_index(m->media_type) || ferry_media_type_is_manifest(m->media_type);
    if (strcmp(m->path, FERRY_LAYOUT_VERSION_FILE) == 0 ||
        strcmp(m->path, FERRY_LAYOUT_INDEX_FILE) == 0 || manifest) {
        /* every volume verifies the whole graph: these travel in each */
        if (m->volume != 0 || m->blob != NULL)
            return ferry_error_new(err, FERRY_E_BUNDLE,
                                   "%s: %.200s must be in every volume, not in one or in parts",
                                   what, m->path);
        if (!manifest)
            return 0;
    }
    if (m->blob != NULL) {
        if (m->volume == 0 || json_object_get(o, "offset") == NULL || m->media_type != NULL ||
            m->size == 0)
            return ferry_error_new(err, FERRY_E_BUNDLE,
                                   "%s: a part needs a volume, an offset and bytes, and has no "
                                   "mediaType",
                                   what);
        if ((r = digest_field(what, "blob", m->blob, err)) < 0)
            return r;
        /* its path ("parts/<alg>/<hex>.<n>") is checked with its blob's parts */
        return 0;
    }
    if (volumes != 0 && m->volume == 0 && !manifest)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: blob %s is in no volume (only manifests are in every one)",
                               what, m->digest);
    want = ferry_layout_blob_path(m->digest);
    if (want == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
    if (strcmp(want, m->path) != 0) {
        char q[256];
        r = ferry_error_new(err, FERRY_E_BUNDLE, "%s: path \"%s\" does not match digest %s", what,
                            ferry_quote(q, sizeof q, m->path, strlen(m->path)), m->digest);
    }
    ferry_free(want);
    return r;
}

static int
parse_image(json_t *o, size_t idx, struct ferry_stmt_image *im, struct ferry_error **err)
{
    static const char *const keys[] = {"source",    "registry",  "repository",   "tag",
                                       "digest",    "mediaType", "size",         "total",
                                       "platforms", "target",    "sourceDigest", NULL};
    struct ferry_digest d;
    json_t *pl, *v;
    char what[64];
    size_t i;
    int r;

    snprintf(what, sizeof what, "ferry.json images[%zu]", idx);
    if (!json_is_object(o))
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: not an object", what);
    if ((r = ferry_json_keys(FERRY_E_BUNDLE, o, keys, what, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "source", true, what, &im->source, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "registry", true, what, &im->registry, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "repository", true, what, &im->repository, err)) <
            0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "tag", false, what, &im->tag, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "digest", true, what, &im->digest, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "mediaType", true, what, &im->media_type, err)) <
            0 ||
        (r = ferry_json_size(FERRY_E_BUNDLE, o, "size", what, &im->size, err)) < 0 ||
        (r = ferry_json_size(FERRY_E_BUNDLE, o, "total", what, &im->total, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "target", false, what, &im->target, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "sourceDigest", false, what, &im->source_digest,
                            err)) < 0)
        return r;
    if (ferry_digest_parse(im->digest, &d, err) < 0) {
        ferry_error_recode(err, FERRY_E_BUNDLE);
        return ferry_error_wrap(err, "%s", what);
    }
    if ((r = check_names(what, im->repository, im->tag, im->target, err)) < 0 ||
        (r = ferry_json_text(FERRY_E_BUNDLE, what, "source", im->source, err)) < 0 ||
        (r = ferry_json_text(FERRY_E_BUNDLE, what, "registry", im->registry, err)) < 0 ||
        (r = ferry_json_text(FERRY_E_BUNDLE, what, "mediaType", im->media_type, err)) < 0 ||
        (r = ferry_json_text(FERRY_E_BUNDLE, what, "sourceDigest", im->source_digest, err)) < 0)
        return r;
    pl = json_object_get(o, "platforms");
    if (pl == NULL)
        return 0;
    if (!json_is_array(pl))
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: platforms is not an array", what);
    if (json_array_size(pl) == 0)
        return 0;
    im->platforms = ferry_calloc(json_array_size(pl), sizeof *im->platforms);
    if (im->platforms == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
    json_array_foreach(pl, i, v)
    {
        if (!json_is_string(v))
            return ferry_error_new(err, FERRY_E_BUNDLE, "%s: platforms[%zu] is not a string", what,
                                   i);
        if ((im->platforms[i] = ferry_strdup(json_string_value(v))) == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
        im->nplatforms++;
        if ((r = ferry_json_text(FERRY_E_BUNDLE, what, "platforms", im->platforms[i], err)) < 0)
            return r;
    }
    return 0;
}

static int
parse_referrer(json_t *o, size_t idx, size_t nimages, int version, struct ferry_stmt_referrer *rf,
               struct ferry_error **err)
{
    static const char *const keys[] = {"subject",      "digest",      "mediaType", "size",
                                       "artifactType", "annotations", "source",    "target",
                                       "image",        "tag",         NULL};
    struct ferry_digest d;
    int64_t image = 0;
    json_t *ann;
    char what[64];
    int r;

    snprintf(what, sizeof what, "ferry.json referrers[%zu]", idx);
    if (!json_is_object(o))
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: not an object", what);
    if ((r = ferry_json_keys(FERRY_E_BUNDLE, o, keys, what, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "subject", true, what, &rf->subject, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "digest", true, what, &rf->digest, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "mediaType", true, what, &rf->media_type, err)) <
            0 ||
        (r = ferry_json_size(FERRY_E_BUNDLE, o, "size", what, &rf->size, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "artifactType", false, what, &rf->artifact_type,
                            err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "source", true, what, &rf->source, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "target", false, what, &rf->target, err)) < 0 ||
        (r = ferry_json_size(FERRY_E_BUNDLE, o, "image", what, &image, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "tag", false, what, &rf->tag, err)) < 0)
        return r;
    if ((size_t)image >= nimages)
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: image %lld does not exist", what,
                               (long long)image);
    rf->image = (size_t)image;
    if (ferry_digest_parse(rf->subject, &d, err) < 0 ||
        ferry_digest_parse(rf->digest, &d, err) < 0) {
        ferry_error_recode(err, FERRY_E_BUNDLE);
        return ferry_error_wrap(err, "%s", what);
    }
    if (strcmp(rf->subject, rf->digest) == 0)
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: %s is its own subject", what, rf->digest);
    if (rf->tag != NULL && version < FERRY_STATEMENT_VERSION_TAGS)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: a tag-based attachment needs ferryBundleVersion %d", what,
                               FERRY_STATEMENT_VERSION_TAGS);
    if (rf->tag != NULL && ferry_layout_attachment_kind(rf->tag, rf->subject) == NULL)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: tag %.200s is not a cosign attachment tag of %s "
                               "(<alg>-<hex>.sig, .att or .sbom)",
                               what, rf->tag, rf->subject);
    if ((r = check_names(what, NULL, NULL, rf->target, err)) < 0 ||
        (r = ferry_json_text(FERRY_E_BUNDLE, what, "mediaType", rf->media_type, err)) < 0 ||
        (r = ferry_json_text(FERRY_E_BUNDLE, what, "artifactType", rf->artifact_type, err)) < 0 ||
        (r = ferry_json_text(FERRY_E_BUNDLE, what, "source", rf->source, err)) < 0)
        return r;
    ann = json_object_get(o, "annotations");
    if (ann != NULL && !json_is_null(ann)) {
        const char *k;
        json_t *v;
        if (!json_is_object(ann))
            return ferry_error_new(err, FERRY_E_BUNDLE, "%s: annotations is not an object", what);
        json_object_foreach(ann, k, v)
        {
            if (!json_is_string(v)) {
                char q[96];
                return ferry_error_new(err, FERRY_E_BUNDLE, "%s: annotation \"%s\" is not a string",
                                       what, ferry_quote(q, sizeof q, k, strlen(k)));
            }
        }
        rf->annotations = json_incref(ann);
    }
    return 0;
}

static int
digest_field(const char *what, const char *key, const char *v, struct ferry_error **err)
{
    struct ferry_digest d;

    if (v != NULL && ferry_digest_parse(v, &d, err) < 0) {
        ferry_error_recode(err, FERRY_E_BUNDLE);
        return ferry_error_wrap(err, "%s: %s", what, key);
    }
    return 0;
}

static int
parse_base(json_t *o, size_t idx, struct ferry_stmt_base *b, struct ferry_error **err)
{
    static const char *const keys[] = {"kind", "digest",   "keyId",  "created",
                                       "name", "registry", "bundle", NULL};
    char what[64];
    int r;

    snprintf(what, sizeof what, "ferry.json bases[%zu]", idx);
    if (!json_is_object(o))
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: not an object", what);
    if ((r = ferry_json_keys(FERRY_E_BUNDLE, o, keys, what, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "kind", true, what, &b->kind, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "digest", true, what, &b->digest, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "keyId", false, what, &b->key_id, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "created", true, what, &b->created, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "name", false, what, &b->name, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "registry", false, what, &b->registry, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "bundle", false, what, &b->bundle, err)) < 0)
        return r;
    if (strcmp(b->kind, "bundle") != 0 && strcmp(b->kind, "receipt") != 0) {
        char q[64];
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: kind \"%s\" is neither bundle nor receipt",
                               what, ferry_quote(q, sizeof q, b->kind, strlen(b->kind)));
    }
    if ((r = digest_field(what, "digest", b->digest, err)) < 0 ||
        (r = digest_field(what, "bundle", b->bundle, err)) < 0 ||
        (r = ferry_json_text(FERRY_E_BUNDLE, what, "keyId", b->key_id, err)) < 0 ||
        (r = ferry_json_text(FERRY_E_BUNDLE, what, "created", b->created, err)) < 0 ||
        (r = ferry_json_text(FERRY_E_BUNDLE, what, "name", b->name, err)) < 0 ||
        (r = ferry_json_text(FERRY_E_BUNDLE, what, "registry", b->registry, err)) < 0)
        return r;
    return 0;
}

static int
parse_external(json_t *o, size_t idx, size_t nbases, struct ferry_stmt_external *x,
               struct ferry_error **err)
{
    static const char *const keys[] = {"digest", "size", "mediaType", "repository", "base", NULL};
    int64_t base = 0;
    char what[64];
    int r;

    snprintf(what, sizeof what, "ferry.json external[%zu]", idx);
    if (!json_is_object(o))
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: not an object", what);
    if ((r = ferry_json_keys(FERRY_E_BUNDLE, o, keys, what, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "digest", true, what, &x->digest, err)) < 0 ||
        (r = ferry_json_size(FERRY_E_BUNDLE, o, "size", what, &x->size, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "mediaType", false, what, &x->media_type, err)) <
            0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "repository", true, what, &x->repository, err)) <
            0 ||
        (r = ferry_json_size(FERRY_E_BUNDLE, o, "base", what, &base, err)) < 0)
        return r;
    if ((size_t)base >= nbases)
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: base %lld does not exist", what,
                               (long long)base);
    x->base = (size_t)base;
    if ((r = digest_field(what, "digest", x->digest, err)) < 0 ||
        (r = check_names(what, x->repository, NULL, NULL, err)) < 0 ||
        (r = ferry_json_text(FERRY_E_BUNDLE, what, "mediaType", x->media_type, err)) < 0)
        return r;
    if (ferry_media_type_is_index(x->media_type) || ferry_media_type_is_manifest(x->media_type))
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: %s is a manifest: manifests always travel in the bundle", what,
                               x->digest);
    return 0;
}

/* bases[] and external[] of a delta bundle: each external digest once, and
 * never also a member of the bundle. */
static int
parse_delta(json_t *root, struct ferry_statement *s, struct ferry_strmap *paths,
            struct ferry_error **err)
{
    json_t *bases = json_object_get(root, "bases"), *ext = json_object_get(root, "external");
    struct ferry_strmap *seen = NULL;
    size_t i;
    int r = 0;

    if (bases == NULL && ext == NULL)
        return 0;
    if (s->version < FERRY_STATEMENT_VERSION_DELTA)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "ferry.json: bases and external need ferryBundleVersion %d",
                               FERRY_STATEMENT_VERSION_DELTA);
    if (!json_is_array(bases) || json_array_size(bases) == 0 ||
        json_array_size(bases) > FERRY_MAX_MEMBERS)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "ferry.json: a delta bundle needs bases, an array of at most %d",
                               FERRY_MAX_MEMBERS);
    if (ext != NULL && (!json_is_array(ext) || json_array_size(ext) > FERRY_MAX_MEMBERS))
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "ferry.json: external is not an array of at most %d",
                               FERRY_MAX_MEMBERS);
    if ((s->bases = ferry_calloc(json_array_size(bases), sizeof *s->bases)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
    for (i = 0; i < json_array_size(bases); i++) {
        s->nbases++;
        if ((r = parse_base(json_array_get(bases, i), i, &s->bases[i], err)) < 0)
            return r;
    }
    if (ext == NULL || json_array_size(ext) == 0)
        return 0;
    if ((s->externals = ferry_calloc(json_array_size(ext), sizeof *s->externals)) == NULL ||
        (seen = ferry_strmap_new()) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
    for (i = 0; i < json_array_size(ext) && r >= 0; i++) {
        const struct ferry_stmt_external *x = &s->externals[i];
        char *path;
        s->nexternals++;
        if ((r = parse_external(json_array_get(ext, i), i, s->nbases, &s->externals[i], err)) < 0)
            break;
        if ((r = ferry_strmap_put(seen, x->digest, (void *)1)) < 0) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
            break;
        }
        if (r == 0) {
            r = ferry_error_new(err, FERRY_E_BUNDLE, "ferry.json external[%zu]: %s listed twice", i,
                                x->digest);
            break;
        }
        if ((path = ferry_layout_blob_path(x->digest)) == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
            break;
        }
        if (ferry_strmap_get(paths, path) != NULL)
            r = ferry_error_new(err, FERRY_E_BUNDLE,
                                "ferry.json external[%zu]: %s is also a member of the bundle", i,
                                x->digest);
        ferry_free(path);
    }
    ferry_strmap_free(seen);
    return r < 0 ? r : 0;
}

/* "volume" of a set's volume: set, number, count (version 3 only, and
 * required there). */
static int
parse_volume(json_t *root, struct ferry_statement *s, struct ferry_error **err)
{
    static const char *const keys[] = {"set", "number", "count", NULL};
    json_t *o = json_object_get(root, "volume");
    const char *what = "ferry.json volume";
    int64_t number = 0, count = 0;
    int r;

    if (o == NULL && s->version != FERRY_STATEMENT_VERSION_VOLUME)
        return json_object_get(root, "split") == NULL
                   ? 0
                   : ferry_error_new(err, FERRY_E_BUNDLE,
                                     "ferry.json: split belongs to volumes of a set "
                                     "(ferryBundleVersion %d)",
                                     FERRY_STATEMENT_VERSION_VOLUME);
    if (o == NULL || s->version < FERRY_STATEMENT_VERSION_VOLUME)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "ferry.json: a volume of a set is ferryBundleVersion %d and says "
                               "which volume it is",
                               FERRY_STATEMENT_VERSION_VOLUME);
    if (!json_is_object(o))
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: not an object", what);
    if ((r = ferry_json_keys(FERRY_E_BUNDLE, o, keys, what, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, o, "set", true, what, &s->volume_set, err)) < 0 ||
        (r = ferry_json_size(FERRY_E_BUNDLE, o, "number", what, &number, err)) < 0 ||
        (r = ferry_json_size(FERRY_E_BUNDLE, o, "count", what, &count, err)) < 0 ||
        (r = digest_field(what, "set", s->volume_set, err)) < 0)
        return r;
    if (count < 1 || count > FERRY_MAX_VOLUMES || number < 1 || number > count)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: number %lld of %lld is not a volume of a set of 1 to %d", what,
                               (long long)number, (long long)count, FERRY_MAX_VOLUMES);
    s->volume = (unsigned)number;
    s->volumes = (unsigned)count;
    return 0;
}

/* split[]: blobs carried in parts. Each once, neither a member nor
 * external; its parts are the members naming it, in order, contiguous from
 * 0 to its size, part n at "parts/<alg>/<hex>.<n>"; and every part names a
 * split blob. */
static int
parse_splits(json_t *root, struct ferry_statement *s, struct ferry_strmap *paths,
             struct ferry_error **err)
{
    static const char *const keys[] = {"digest", "size", "mediaType", "parts", NULL};
    json_t *a = json_object_get(root, "split");
    struct ferry_strmap *byblob = NULL, *ext = NULL;
    size_t i;
    int r = 0;

    if (a != NULL && (!json_is_array(a) || json_array_size(a) > FERRY_MAX_MEMBERS))
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "ferry.json: split is not an array of at most %d",
                               FERRY_MAX_MEMBERS);
    if ((byblob = ferry_strmap_new()) == NULL || (ext = ferry_strmap_new()) == NULL ||
        (a != NULL && json_array_size(a) > 0 &&
         (s->splits = ferry_calloc(json_array_size(a), sizeof *s->splits)) == NULL)) {
        ferry_strmap_free(byblob);
        ferry_strmap_free(ext);
        return ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
    }
    for (i = 0; i < s->nexternals; i++)
        if (ferry_strmap_put(ext, s->externals[i].digest, (void *)1) < 0) {
            ferry_strmap_free(byblob);
            ferry_strmap_free(ext);
            return ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
        }
    for (i = 0; a != NULL && i < json_array_size(a) && r >= 0; i++) {
        struct ferry_stmt_split *x = &s->splits[i];
        json_t *o = json_array_get(a, i);
        char what[64], *path = NULL;
        int64_t parts = 0;
        snprintf(what, sizeof what, "ferry.json split[%zu]", i);
        s->nsplits++;
        if (!json_is_object(o)) {
            r = ferry_error_new(err, FERRY_E_BUNDLE, "%s: not an object", what);
            break;
        }
        if ((r = ferry_json_keys(FERRY_E_BUNDLE, o, keys, what, err)) < 0 ||
            (r = ferry_json_str(FERRY_E_BUNDLE, o, "digest", true, what, &x->digest, err)) < 0 ||
            (r = ferry_json_size(FERRY_E_BUNDLE, o, "size", what, &x->size, err)) < 0 ||
            (r = ferry_json_str(FERRY_E_BUNDLE, o, "mediaType", false, what, &x->media_type, err)) <
                0 ||
            (r = ferry_json_size(FERRY_E_BUNDLE, o, "parts", what, &parts, err)) < 0 ||
            (r = digest_field(what, "digest", x->digest, err)) < 0 ||
            (r = ferry_json_text(FERRY_E_BUNDLE, what, "mediaType", x->media_type, err)) < 0)
            break;
        if (parts < 2 || parts > FERRY_MAX_VOLUMES) {
            r = ferry_error_new(err, FERRY_E_BUNDLE, "%s: %lld parts (2 to %d)", what,
                                (long long)parts, FERRY_MAX_VOLUMES);
            break;
        }
        x->parts = (size_t)parts;
        if (ferry_media_type_is_index(x->media_type) ||
            ferry_media_type_is_manifest(x->media_type)) {
            r = ferry_error_new(err, FERRY_E_BUNDLE,
                                "%s: %s is a manifest: those are in every "
                                "volume, whole",
                                what, x->digest);
            break;
        }
        if ((path = ferry_layout_blob_path(x->digest)) == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
            break;
        }
        if (ferry_strmap_get(paths, path) != NULL)
            r = ferry_error_new(err, FERRY_E_BUNDLE, "%s: %s is also a whole member", what,
                                x->digest);
        ferry_free(path);
        if (r >= 0 && ferry_strmap_get(ext, x->digest) != NULL)
            r = ferry_error_new(err, FERRY_E_BUNDLE, "%s: %s is also external", what, x->digest);
        if (r < 0)
            break;
        if ((x->members = ferry_calloc(x->parts, sizeof *x->members)) == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
            break;
        }
        if ((r = ferry_strmap_put(byblob, x->digest, x)) < 0) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
            break;
        }
        if (r == 0)
            r = ferry_error_new(err, FERRY_E_BUNDLE, "%s: %s listed twice", what, x->digest);
    }
    if (r >= 0 && s->nsplits > 0) {
        /* walk the members once: each part must continue its blob */
        size_t *seen = ferry_calloc(s->nsplits, sizeof *seen);
        int64_t *at = ferry_calloc(s->nsplits, sizeof *at);
        if (seen == NULL || at == NULL)
            r = ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
        for (i = 0; r >= 0 && i < s->nmembers; i++) {
            const struct ferry_stmt_member *m = &s->members[i];
            struct ferry_stmt_split *x;
            char *want;
            size_t k;
            if (m->blob == NULL)
                continue;
            if ((x = ferry_strmap_get(byblob, m->blob)) == NULL) {
                r = ferry_error_new(err, FERRY_E_BUNDLE,
                                    "ferry.json members[%zu]: %s is no split blob", i, m->blob);
                break;
            }
            k = (size_t)(x - s->splits);
            want = ferry_stmt_part_path(x->digest, seen[k] + 1);
            if (want == NULL) {
                r = ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
                break;
            }
            if (strcmp(want, m->path) != 0 || m->offset != at[k] || seen[k] == x->parts ||
                m->size > x->size - at[k])
                r = ferry_error_new(err, FERRY_E_BUNDLE,
                                    "ferry.json members[%zu]: not part %zu of %s at offset %lld", i,
                                    seen[k] + 1, x->digest, (long long)at[k]);
            ferry_free(want);
            if (r < 0)
                break;
            x->members[seen[k]] = i;
            seen[k]++;
            at[k] += m->size;
        }
        for (i = 0; r >= 0 && i < s->nsplits; i++)
            if (seen[i] != s->splits[i].parts || at[i] != s->splits[i].size)
                r = ferry_error_new(err, FERRY_E_BUNDLE,
                                    "ferry.json split[%zu]: its parts cover %lld of %lld bytes in "
                                    "%zu of %zu parts",
                                    i, (long long)at[i], (long long)s->splits[i].size, seen[i],
                                    s->splits[i].parts);
        ferry_free(seen);
        ferry_free(at);
    } else if (r >= 0) {
        for (i = 0; i < s->nmembers; i++)
            if (s->members[i].blob != NULL) {
                r = ferry_error_new(err, FERRY_E_BUNDLE,
                                    "ferry.json members[%zu]: %s is no split blob", i,
                                    s->members[i].blob);
                break;
            }
    }
    ferry_strmap_free(byblob);
    ferry_strmap_free(ext);
    return r < 0 ? r : 0;
}

int
ferry_statement_parse(const void *data, size_t len, struct ferry_statement **out,
                      struct ferry_error **err)
{
    static const char *const keys[] = {
        "ferryBundleVersion", "creator", "created", "images", "members", "referrers", "bases",
        "external",           "volume",  "split",   NULL};
    struct ferry_statement *s = NULL;
    struct ferry_strmap *paths = NULL, *refkeys = NULL;
    json_error_t jerr;
    json_t *root = NULL, *v;
    size_t i;
    int r = 0;

    if (len > FERRY_MAX_STATEMENT)
        return ferry_error_new(err, FERRY_E_TOO_LARGE, "ferry.json: %zu bytes, more than %u", len,
                               FERRY_MAX_STATEMENT);
    root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "ferry.json: invalid json at line %d column %d: %s", jerr.line,
                               jerr.column, jerr.text);
    s = ferry_calloc(1, sizeof *s);
    paths = ferry_strmap_new();
    refkeys = ferry_strmap_new();
    if (s == NULL || paths == NULL || refkeys == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
        goto out;
    }
    if (!json_is_object(root)) {
        r = ferry_error_new(err, FERRY_E_BUNDLE, "ferry.json: not a json object");
        goto out;
    }
    if ((r = ferry_json_keys(FERRY_E_BUNDLE, root, keys, "ferry.json", err)) < 0)
        goto out;
    v = json_object_get(root, "ferryBundleVersion");
    if (!json_is_integer(v)) {
        r = ferry_error_new(err, FERRY_E_BUNDLE, "ferry.json: missing ferryBundleVersion");
        goto out;
    }
    if (json_integer_value(v) < FERRY_STATEMENT_VERSION ||
        json_integer_value(v) > FERRY_STATEMENT_VERSION_TAGS) {
        r = ferry_error_new(
            err, FERRY_E_UNSUPPORTED,
            "ferry.json: bundle format version %lld is not supported (this ferry reads %d to %d)",
            (long long)json_integer_value(v), FERRY_STATEMENT_VERSION,
            FERRY_STATEMENT_VERSION_TAGS);
        goto out;
    }
    s->version = (int)json_integer_value(v);
    if ((r = parse_volume(root, s, err)) < 0)
        goto out;
    if ((r = ferry_json_str(FERRY_E_BUNDLE, root, "creator", true, "ferry.json", &s->creator,
                            err)) < 0 ||
        (r = ferry_json_str(FERRY_E_BUNDLE, root, "created", true, "ferry.json", &s->created,
                            err)) < 0)
        goto out;
    v = json_object_get(root, "images");
    if (!json_is_array(v)) {
        r = ferry_error_new(err, FERRY_E_BUNDLE, "ferry.json: images is not an array");
        goto out;
    }
    if (json_array_size(v) > 0) {
        s->images = ferry_calloc(json_array_size(v), sizeof *s->images);
        if (s->images == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
            goto out;
        }
    }
    for (i = 0; i < json_array_size(v); i++) {
        s->nimages++;
        if ((r = parse_image(json_array_get(v, i), i, &s->images[i], err)) < 0)
            goto out;
    }
    v = json_object_get(root, "members");
    if (!json_is_array(v) || json_array_size(v) > FERRY_MAX_MEMBERS) {
        r = ferry_error_new(err, FERRY_E_BUNDLE,
                            "ferry.json: members is not an array of at most %d", FERRY_MAX_MEMBERS);
        goto out;
    }
    if (json_array_size(v) > 0) {
        s->members = ferry_calloc(json_array_size(v), sizeof *s->members);
        if (s->members == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
            goto out;
        }
    }
    for (i = 0; i < json_array_size(v); i++) {
        s->nmembers++;
        if ((r = parse_member(json_array_get(v, i), i, s->volumes, &s->members[i], err)) < 0)
            goto out;
        r = ferry_strmap_put(paths, s->members[i].path, &s->members[i]);
        if (r < 0) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
            goto out;
        }
        if (r == 0) {
            r = ferry_error_new(err, FERRY_E_BUNDLE, "ferry.json: member %.200s listed twice",
                                s->members[i].path);
            goto out;
        }
        r = 0;
    }
    v = json_object_get(root, "referrers");
    if (v != NULL) {
        if (!json_is_array(v) || json_array_size(v) > FERRY_MAX_MEMBERS) {
            r = ferry_error_new(err, FERRY_E_BUNDLE, "ferry.json: referrers is not an array");
            goto out;
        }
        if (json_array_size(v) > 0) {
            s->referrers = ferry_calloc(json_array_size(v), sizeof *s->referrers);
            if (s->referrers == NULL) {
                r = ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
                goto out;
            }
        }
        for (i = 0; i < json_array_size(v); i++) {
            const struct ferry_stmt_referrer *rf = &s->referrers[i];
            char key[32 + FERRY_DIGEST_MAX];
            s->nreferrers++;
            if ((r = parse_referrer(json_array_get(v, i), i, s->nimages, s->version,
                                    &s->referrers[i], err)) < 0)
                goto out;
            /* an attachment tag names one manifest in the repository it
             * lands in (its target, else its image's) */
            if (rf->tag != NULL) {
                const struct ferry_stmt_image *im = &s->images[rf->image];
                const char *repo = rf->target   ? rf->target
                                   : im->target ? im->target
                                                : im->repository;
                char *tk = ferry_asprintf("%s|%s", repo, rf->tag);
                const char *had = tk ? ferry_strmap_get(refkeys, tk) : NULL;
                if (tk == NULL || (had == NULL && ferry_strmap_put(refkeys, tk, rf->digest) < 0)) {
                    ferry_free(tk);
                    r = ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
                    goto out;
                }
                ferry_free(tk);
                if (had != NULL && strcmp(had, rf->digest) != 0) {
                    r = ferry_error_new(err, FERRY_E_BUNDLE,
                                        "ferry.json referrers[%zu]: tag %s in %s names %s and %s",
                                        i, rf->tag, repo, had, rf->digest);
                    goto out;
                }
            }
            /* a referrer once per image: walks over them stay linear */
            snprintf(key, sizeof key, "%zu|%s", rf->image, rf->digest);
            if ((r = ferry_strmap_put(refkeys, key, (void *)1)) < 0) {
                r = ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
                goto out;
            }
            if (r == 0) {
                r = ferry_error_new(err, FERRY_E_BUNDLE,
                                    "ferry.json referrers[%zu]: %s listed twice for image %zu", i,
                                    rf->digest, rf->image);
                goto out;
            }
            r = 0;
        }
    }
    if (s->version == FERRY_STATEMENT_VERSION_TAGS && !ferry_statement_has_tags(s)) {
        r = ferry_error_new(err, FERRY_E_BUNDLE,
                            "ferry.json: version %d without a tag-based attachment",
                            FERRY_STATEMENT_VERSION_TAGS);
        goto out;
    }
    if ((r = parse_delta(root, s, paths, err)) < 0)
        goto out;
    if (s->version == FERRY_STATEMENT_VERSION_DELTA && s->nbases == 0) {
        r = ferry_error_new(err, FERRY_E_BUNDLE, "ferry.json: version %d without bases",
                            FERRY_STATEMENT_VERSION_DELTA);
        goto out;
    }
    if ((r = parse_splits(root, s, paths, err)) < 0)
        goto out;
    if (s->volume_set != NULL) {
        /* every volume of a set says the same but its number */
        char set[72];
        if ((r = ferry_statement_volume_set(s, set, err)) < 0)
            goto out;
        if (strcmp(set, s->volume_set) != 0) {
            r = ferry_error_new(err, FERRY_E_BUNDLE,
                                "ferry.json: volume %u names set %s, but what it says is set %s",
                                s->volume, s->volume_set, set);
            goto out;
        }
    }
    *out = s;
    s = NULL;
out:
    ferry_strmap_free(paths);
    ferry_strmap_free(refkeys);
    ferry_statement_free(s);
    json_decref(root);
    return r;
}

bool
ferry_statement_has_tags(const struct ferry_statement *s)
{
    for (size_t i = 0; i < s->nreferrers; i++)
        if (s->referrers[i].tag != NULL)
            return true;
    return false;
}

int
ferry_statement_serialize(const struct ferry_statement *s, char **out, size_t *len,
                          struct ferry_error **err)
{
    json_t *root = NULL, *images, *members;
    size_t i, j;
    int r = 0;

    root = json_object();
    images = json_array();
    members = json_array();
    if (!root || !images || !members) {
        json_decref(images);
        json_decref(members);
        r = ferry_error_new(err, FERRY_E_NOMEM, "ferry.json: out of memory");
        goto out;
    }
    json_object_set_new(root, "ferryBundleVersion",
                        json_integer(ferry_statement_has_tags(s) ? FERRY_STATEMENT_VERSION_TAGS
                                     : s->volumes > 0            ? FERRY_STATEMENT_VERSION_VOLUME
                                     : s->nbases > 0 || s->nexternals > 0
                                         ? FERRY_STATEMENT_VERSION_DELTA
                                         : FERRY_STATEMENT_VERSION));
    json_object_set_new(root, "creator", json_string(s->creator));
    json_object_set_new(root, "created", json_string(s->created));
    json_object_set_new(root, "images", images);
    json_object_set_new(root, "members", members);
    for (i = 0; i < s->nimages; i++) {
        const struct ferry_stmt_image *im = &s->images[i];
        json_t *o = json_object(), *pl = json_array();
        json_object_set_new(o, "source", json_string(im->source));
        json_object_set_new(o, "registry", json_string(im->registry));
        json_object_set_new(o, "repository", json_string(im->repository));
        if (im->tag)
            json_object_set_new(o, "tag", json_string(im->tag));
        json_object_set_new(o, "digest", json_string(im->digest));
        json_object_set_new(o, "mediaType", json_string(im->media_type));
        json_object_set_new(o, "size", json_integer(im->size));
        json_object_set_new(o, "total", json_integer(im->total));
        for (j = 0; j < im->nplatforms; j++)
            json_array_append_new(pl, json_string(im->platforms[j]));
        json_object_set_new(o, "platforms", pl);
        if (im->target)
            json_object_set_new(o, "target", json_string(im->target));
        if (im->source_digest)
            json_object_set_new(o, "sourceDigest", json_string(im->source_digest));
        json_array_append_new(images, o);
    }
    for (i = 0; i < s->nmembers; i++) {
        const struct ferry_stmt_member *m = &s->members[i];
        json_t *o = json_object();
        json_object_set_new(o, "path", json_string(m->path));
        json_object_set_new(o, "digest", json_string(m->digest));
        json_object_set_new(o, "size", json_integer(m->size));
        if (m->media_type)
            json_object_set_new(o, "mediaType", json_string(m->media_type));
        if (m->volume != 0)
            json_object_set_new(o, "volume", json_integer((json_int_t)m->volume));
        if (m->blob != NULL) {
            json_object_set_new(o, "blob", json_string(m->blob));
            json_object_set_new(o, "offset", json_integer(m->offset));
        }
        json_array_append_new(members, o);
    }
    if (s->nreferrers > 0) {
        json_t *refs = json_array();
        json_object_set_new(root, "referrers", refs);
        for (i = 0; i < s->nreferrers; i++) {
            const struct ferry_stmt_referrer *rf = &s->referrers[i];
            json_t *o = json_object();
            json_object_set_new(o, "subject", json_string(rf->subject));
            json_object_set_new(o, "digest", json_string(rf->digest));
            json_object_set_new(o, "mediaType", json_string(rf->media_type));
            json_object_set_new(o, "size", json_integer(rf->size));
            if (rf->artifact_type)
                json_object_set_new(o, "artifactType", json_string(rf->artifact_type));
            if (rf->annotations)
                json_object_set(o, "annotations", rf->annotations);
            json_object_set_new(o, "source", json_string(rf->source));
            if (rf->target)
                json_object_set_new(o, "target", json_string(rf->target));
            json_object_set_new(o, "image", json_integer((json_int_t)rf->image));
            if (rf->tag)
                json_object_set_new(o, "tag", json_string(rf->tag));
            json_array_append_new(refs, o);
        }
    }
    if (s->nbases > 0) {
        json_t *bases = json_array();
        json_object_set_new(root, "bases", bases);
        for (i = 0; i < s->nbases; i++) {
            const struct ferry_stmt_base *b = &s->bases[i];
            json_t *o = json_object();
            json_object_set_new(o, "kind", json_string(b->kind));
            json_object_set_new(o, "digest", json_string(b->digest));
            if (b->key_id)
                json_object_set_new(o, "keyId", json_string(b->key_id));
            json_object_set_new(o, "created", json_string(b->created));
            if (b->name)
                json_object_set_new(o, "name", json_string(b->name));
            if (b->registry)
                json_object_set_new(o, "registry", json_string(b->registry));
            if (b->bundle)
                json_object_set_new(o, "bundle", json_string(b->bundle));
            json_array_append_new(bases, o);
        }
    }
    if (s->nexternals > 0) {
        json_t *ext = json_array();
        json_object_set_new(root, "external", ext);
        for (i = 0; i < s->nexternals; i++) {
            const struct ferry_stmt_external *x = &s->externals[i];
            json_t *o = json_object();
            json_object_set_new(o, "digest", json_string(x->digest));
            json_object_set_new(o, "size", json_integer(x->size));
            if (x->media_type)
                json_object_set_new(o, "mediaType", json_string(x->media_type));
            json_object_set_new(o, "repository", json_string(x->repository));
            json_object_set_new(o, "base", json_integer((json_int_t)x->base));
            json_array_append_new(ext, o);
        }
    }
    if (s->nsplits > 0) {
        json_t *a = json_array();
        json_object_set_new(root, "split", a);
        for (i = 0; i < s->nsplits; i++) {
            const struct ferry_stmt_split *x = &s->splits[i];
            json_t *o = json_object();
            json_object_set_new(o, "digest", json_string(x->digest));
            json_object_set_new(o, "size", json_integer(x->size));
            if (x->media_type)
                json_object_set_new(o, "mediaType", json_string(x->media_type));
            json_object_set_new(o, "parts", json_integer((json_int_t)x->parts));
            json_array_append_new(a, o);
        }
    }
    if (s->volumes > 0) {
        /* number and set are left out when the set's identity is computed */
        json_t *o = json_object();
        json_object_set_new(root, "volume", o);
        if (s->volume_set != NULL)
            json_object_set_new(o, "set", json_string(s->volume_set));
        if (s->volume != 0)
            json_object_set_new(o, "number", json_integer((json_int_t)s->volume));
        json_object_set_new(o, "count", json_integer((json_int_t)s->volumes));
    }
    if ((r = ferry_json_dump(root, out, len, err)) < 0) {
        ferry_error_wrap(err, "ferry.json");
    } else if (*len > FERRY_MAX_STATEMENT || s->nmembers > FERRY_MAX_MEMBERS) {
        /* what the importer would refuse is not written */
        r = ferry_error_new(err, FERRY_E_TOO_LARGE,
                            "ferry.json: %zu members in %zu bytes, more than a bundle holds (%u "
                            "members, %u bytes): export fewer images per bundle",
                            s->nmembers, *len, (unsigned)FERRY_MAX_MEMBERS, FERRY_MAX_STATEMENT);
        ferry_safefree(*out);
    }
out:
    json_decref(root);
    return r;
}

int
ferry_statement_volume_set(const struct ferry_statement *s, char out[72], struct ferry_error **err)
{
    struct ferry_statement copy = *s;
    struct ferry_digest d;
    char *text = NULL;
    size_t len = 0;
    int r;

    copy.volume = 0;
    copy.volume_set = NULL;
    if ((r = ferry_statement_serialize(&copy, &text, &len, err)) < 0)
        return r;
    ferry_digest_buffer(FERRY_DIGEST_SHA256, text, len, &d);
    ferry_free(text);
    snprintf(out, 72, "%.71s", d.str); /* sha256: 71 characters */
    return 0;
}

/* The repository path of a reference (push replaces its host with --to's);
 * NULL if it is none. */
static char *
repo_of(const char *text)
{
    struct ferry_ref *ref = NULL;
    char *out = NULL;

    if (ferry_ref_parse(text, true, &ref, NULL) == 0)
        out = ferry_strdup(ref->repository);
    ferry_ref_free(ref);
    return out;
}

bool
ferry_stmt_referrer_apart(const struct ferry_statement *s, const struct ferry_stmt_referrer *rf)
{
    const struct ferry_stmt_image *im;
    char *a, *b;
    bool apart;

    if (rf->target == NULL || rf->image >= s->nimages)
        return false;
    im = &s->images[rf->image];
    a = repo_of(rf->target);
    b = im->target ? repo_of(im->target) : ferry_strdup(im->repository);
    apart = a == NULL || b == NULL || strcmp(a, b) != 0;
    ferry_free(a);
    ferry_free(b);
    return apart;
}
