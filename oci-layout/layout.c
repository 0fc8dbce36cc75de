/* ferry: the OCI image layout: its files, referrers indexes, index.json, and
 * the check that a layout's graph is complete. */
#include <string.h>

#include <jansson.h>

#include "ferry/digest.h"
#include "ferry/layout.h"
#include "ferry/limits.h"
#include "ferry/manifest.h"
#include "ferry/util.h"

static const char version_text[] = "{\"imageLayoutVersion\":\"" FERRY_LAYOUT_VERSION "\"}";

const char *
ferry_layout_version_text(size_t *len)
{
    if (len != NULL)
        *len = sizeof version_text - 1;
    return version_text;
}

char *
ferry_layout_blob_path(const char *digest)
{
    struct ferry_digest d;
    struct ferry_error *err = NULL;

    if (ferry_digest_parse(digest, &d, &err) < 0) {
        ferry_error_free(err);
        return NULL;
    }
    return ferry_asprintf("blobs/%s/%s", ferry_digest_alg_name(d.alg), ferry_digest_hex(&d));
}

char *
ferry_layout_referrers_tag(const char *digest)
{
    const char *colon = strchr(digest, ':');
    size_t alen, elen, i;
    char *t;

    if (colon == NULL)
        return NULL;
    alen = (size_t)(colon - digest);
    elen = strlen(colon + 1);
    if (alen > 32)
        alen = 32;
    if (elen > 64)
        elen = 64;
    t = ferry_asprintf("%.*s-%.*s", (int)alen, digest, (int)elen, colon + 1);
    if (t == NULL)
        return NULL;
    for (i = 0; t[i]; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            t[i] = '-';
    }
    return t;
}

static const char *const attachment_kinds[] = FERRY_ATTACHMENT_KINDS;

static const char *
attachment_kind_known(const char *kind)
{
    for (size_t i = 0; kind != NULL && i < sizeof attachment_kinds / sizeof *attachment_kinds; i++)
        if (strcmp(kind, attachment_kinds[i]) == 0)
            return attachment_kinds[i];
    return NULL;
}

char *
ferry_layout_attachment_tag(const char *digest, const char *kind)
{
    char *base, *t;

    if (attachment_kind_known(kind) == NULL || (base = ferry_layout_referrers_tag(digest)) == NULL)
        return NULL;
    t = ferry_asprintf("%s.%s", base, kind);
    ferry_free(base);
    return t;
}

const char *
ferry_layout_attachment_kind(const char *tag, const char *digest)
{
    char *base = tag && digest ? ferry_layout_referrers_tag(digest) : NULL;
    size_t n = base ? strlen(base) : 0;
    const char *kind = NULL;

    if (base != NULL && strncmp(tag, base, n) == 0 && tag[n] == '.')
        kind = attachment_kind_known(tag + n + 1);
    ferry_free(base);
    return kind;
}

json_t *
ferry_layout_referrer_descriptor(const char *media_type, const char *digest, int64_t size,
                                 const char *artifact_type, json_t *annotations)
{
    json_t *d = json_object();

    if (d == NULL)
        return NULL;
    if (json_object_set_new(d, "mediaType", json_string(media_type)) < 0 ||
        json_object_set_new(d, "digest", json_string(digest)) < 0 ||
        json_object_set_new(d, "size", json_integer((json_int_t)size)) < 0 ||
        (artifact_type != NULL &&
         json_object_set_new(d, "artifactType", json_string(artifact_type)) < 0) ||
        (annotations != NULL && json_object_size(annotations) > 0 &&
         json_object_set(d, "annotations", annotations) < 0)) {
        json_decref(d);
        return NULL;
    }
    return d;
}

/* {"schemaVersion":2,"mediaType":<OCI index>,"manifests":[]}; NULL on OOM. */
static json_t *
empty_index(void)
{
    json_t *root = json_object();

    if (root == NULL || json_object_set_new(root, "schemaVersion", json_integer(2)) < 0 ||
        json_object_set_new(root, "mediaType", json_string(FERRY_MT_OCI_INDEX)) < 0 ||
        json_object_set_new(root, "manifests", json_array()) < 0) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* An image index being built: its JSON, and the digests of the entries that
 * must not be listed twice. Both kinds of index below are one. */
struct jindex {
    json_t *root;
    json_t *manifests; /* borrowed from root */
    struct ferry_strmap *listed;
};

struct ferry_referrers_index {
    struct jindex j;
};

struct ferry_layout_index {
    struct jindex j; /* listed: the untagged entries */
};

static void
jindex_clear(struct jindex *j)
{
    json_decref(j->root);
    ferry_strmap_free(j->listed);
}

/* Take root (a reference, also on failure); with note, remember the digests
 * it lists. -1 when out of memory. */
static int
jindex_init(struct jindex *j, json_t *root, bool note)
{
    json_t *e;
    size_t i;

    j->root = root;
    j->manifests = json_object_get(root, "manifests");
    if (root == NULL || (j->listed = ferry_strmap_new()) == NULL)
        return -1;
    if (note)
        json_array_foreach(j->manifests, i, e)
        {
            const char *dg = json_string_value(json_object_get(e, "digest"));
            if (dg != NULL && ferry_strmap_put(j->listed, dg, (void *)1) < 0)
                return -1;
        }
    return 0;
}

/* Append desc (ownership passes, also on failure) unless its digest is
 * listed: 1 appended, 0 listed already. */
static int
jindex_add_once(struct jindex *j, json_t *desc, struct ferry_error **err)
{
    const char *dg = json_string_value(json_object_get(desc, "digest"));
    int r;

    if (desc == NULL || dg == NULL) {
        json_decref(desc);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    if ((r = ferry_strmap_put(j->listed, dg, (void *)1)) <= 0) {
        json_decref(desc);
        return r < 0 ? ferry_error_new(err, FERRY_E_NOMEM, "out of memory") : 0;
    }
    if (json_array_append_new(j->manifests, desc) < 0)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    return 1;
}

/* ---- referrers indexes ---------------------------------------------------------- */

void
ferry_referrers_index_free(struct ferry_referrers_index *x)
{
    if (x == NULL)
        return;
    jindex_clear(&x->j);
    ferry_free(x);
}

static struct ferry_referrers_index *
refindex_of(json_t *root)
{
    struct ferry_referrers_index *x = ferry_calloc(1, sizeof *x);

    if (x == NULL) {
        json_decref(root);
        return NULL;
    }
    if (jindex_init(&x->j, root, true) < 0) {
        ferry_referrers_index_free(x);
        return NULL;
    }
    return x;
}

struct ferry_referrers_index *
ferry_referrers_index_new(void)
{
    return refindex_of(empty_index());
}

int
ferry_referrers_index_parse(const void *data, size_t len, const char *what,
                            struct ferry_referrers_index **out, struct ferry_error **err)
{
    json_error_t jerr;
    json_t *root = json_loadb(data != NULL ? data : "", len, JSON_REJECT_DUPLICATES, &jerr);

    if (root == NULL || !json_is_object(root) ||
        !json_is_array(json_object_get(root, "manifests"))) {
        json_decref(root);
        return ferry_error_new(err, FERRY_E_INVALID, "%s: not a referrers index", what);
    }
    if ((*out = refindex_of(root)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    return 0;
}

int
ferry_referrers_index_add(struct ferry_referrers_index *x, json_t *desc, struct ferry_error **err)
{
    return jindex_add_once(&x->j, desc, err);
}

int
ferry_referrers_index_keep_type(struct ferry_referrers_index *x, const char *artifact_type,
                                struct ferry_error **err)
{
    json_t *keep = json_array(), *e;
    struct ferry_strmap *listed = ferry_strmap_new();
    size_t i;

    if (keep == NULL || listed == NULL)
        goto nomem;
    json_array_foreach(x->j.manifests, i, e)
    {
        const char *t = json_string_value(json_object_get(e, "artifactType"));
        const char *dg = json_string_value(json_object_get(e, "digest"));
        if (t == NULL || strcmp(t, artifact_type) != 0)
            continue;
        if (json_array_append(keep, e) < 0 ||
            (dg != NULL && ferry_strmap_put(listed, dg, (void *)1) < 0))
            goto nomem;
    }
    /* nothing changed before this, and it takes keep even when it fails */
    if (json_object_set_new(x->j.root, "manifests", keep) < 0) {
        ferry_strmap_free(listed);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    x->j.manifests = keep;
    ferry_strmap_free(x->j.listed);
    x->j.listed = listed;
    return 0;
nomem:
    json_decref(keep);
    ferry_strmap_free(listed);
    return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
}

int
ferry_referrers_index_serialize(const struct ferry_referrers_index *x, char **out, size_t *len,
                                struct ferry_error **err)
{
    return ferry_json_dump(x->j.root, out, len, err);
}

/* ---- index.json -------------------------------------------------------------------- */

struct ferry_layout_index *
ferry_layout_index_new(void)
{
    struct ferry_layout_index *x = ferry_calloc(1, sizeof *x);

    if (x == NULL)
        return NULL;
    if (jindex_init(&x->j, empty_index(), false) < 0) {
        ferry_layout_index_free(x);
        return NULL;
    }
    return x;
}

void
ferry_layout_index_free(struct ferry_layout_index *x)
{
    if (x == NULL)
        return;
    jindex_clear(&x->j);
    ferry_free(x);
}

int
ferry_layout_index_add_tagged(struct ferry_layout_index *x, const char *media_type,
                              const char *digest, int64_t size, const char *ref_name,
                              const char *source, struct ferry_error **err)
{
    json_t *d = json_object(), *ann = json_object();

    if (d == NULL || ann == NULL ||
        json_object_set_new(d, "mediaType", json_string(media_type)) < 0 ||
        json_object_set_new(d, "digest", json_string(digest)) < 0 ||
        json_object_set_new(d, "size", json_integer((json_int_t)size)) < 0 ||
        json_object_set_new(ann, FERRY_REF_NAME, json_string(ref_name)) < 0 ||
        (source != NULL &&
         json_object_set_new(ann, FERRY_ANNOTATION_SOURCE, json_string(source)) < 0)) {
        json_decref(d);
        json_decref(ann);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    if (json_object_set_new(d, "annotations", ann) < 0) { /* takes ann, also on failure */
        json_decref(d);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    if (json_array_append_new(x->j.manifests, d) < 0) /* takes d, also on failure */
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    return 0;
}

int
ferry_layout_index_add_untagged(struct ferry_layout_index *x, json_t *desc,
                                struct ferry_error **err)
{
    return jindex_add_once(&x->j, desc, err);
}

int
ferry_layout_index_serialize(const struct ferry_layout_index *x, char **out, size_t *len,
                             struct ferry_error **err)
{
    size_t n = 0;
    int r = ferry_json_dump(x->j.root, out, &n, err);

    if (r == 0 && n > FERRY_MAX_INDEX_JSON) {
        ferry_safefree(*out);
        return ferry_error_new(err, FERRY_E_TOO_LARGE,
                               FERRY_LAYOUT_INDEX_FILE ": %zu bytes, more than a bundle holds (%u)",
                               n, FERRY_MAX_INDEX_JSON);
    }
    if (len != NULL)
        *len = n;
    return r;
}

/* ---- what a layout holds, and its graph --------------------------------------------- */

struct ferry_layout {
    struct ferry_strmap *blobs;     /* digest -> size + 1 */
    struct ferry_strmap *manifests; /* digest -> struct ferry_layout_manifest */
    struct ferry_layout_manifest **mlist;
    size_t nmlist;
    struct ferry_strmap *indexed; /* digests of index.json's entries */
    struct ferry_strmap *checked; /* manifests whose graph checked: height + 1 */
};

struct ferry_layout *
ferry_layout_new(void)
{
    struct ferry_layout *l = ferry_calloc(1, sizeof *l);

    if (l == NULL || (l->blobs = ferry_strmap_new()) == NULL ||
        (l->manifests = ferry_strmap_new()) == NULL || (l->indexed = ferry_strmap_new()) == NULL ||
        (l->checked = ferry_strmap_new()) == NULL) {
        ferry_layout_free(l);
        return NULL;
    }
    return l;
}

static void
lmanifest_free(struct ferry_layout_manifest *lm)
{
    if (lm == NULL)
        return;
    ferry_free(lm->digest);
    ferry_free(lm->media_type);
    ferry_free(lm->data);
    ferry_manifest_free(lm->m);
    ferry_free(lm);
}

void
ferry_layout_free(struct ferry_layout *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->nmlist; i++)
        lmanifest_free(l->mlist[i]);
    ferry_free(l->mlist);
    ferry_strmap_free(l->blobs);
    ferry_strmap_free(l->manifests);
    ferry_strmap_free(l->indexed);
    ferry_strmap_free(l->checked);
    ferry_free(l);
}

int
ferry_layout_add_blob(struct ferry_layout *l, const char *digest, int64_t size,
                      struct ferry_error **err)
{
    if (size < 0 || (uint64_t)size >= UINTPTR_MAX)
        return ferry_error_new(err, FERRY_E_INVALID, "%s: size %lld", digest, (long long)size);
    if (ferry_strmap_put(l->blobs, digest, (void *)(uintptr_t)((uint64_t)size + 1)) < 0)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    return 0;
}

int
ferry_layout_add_manifest(struct ferry_layout *l, const char *digest, const char *media_type,
                          char *data, size_t len, struct ferry_error **err)
{
    struct ferry_layout_manifest *lm = NULL, **nl;
    int r;

    if (data == NULL && len > 0) /* the caller's copy could not be made */
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    if (ferry_strmap_get(l->manifests, digest) != NULL) {
        ferry_free(data);
        return 0;
    }
    nl = ferry_realloc(l->mlist, (l->nmlist + 1) * sizeof *nl);
    if (nl == NULL) {
        ferry_free(data);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    l->mlist = nl;
    lm = ferry_calloc(1, sizeof *lm);
    if (lm == NULL) {
        ferry_free(data);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    lm->data = data;
    lm->len = len;
    if ((lm->digest = ferry_strdup(digest)) == NULL ||
        (media_type != NULL && (lm->media_type = ferry_strdup(media_type)) == NULL) ||
        (r = ferry_strmap_put(l->manifests, lm->digest, lm)) < 0) {
        lmanifest_free(lm);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    l->mlist[l->nmlist++] = lm;
    return 0;
}

struct ferry_layout_manifest *
ferry_layout_get_manifest(const struct ferry_layout *l, const char *digest)
{
    return ferry_strmap_get(l->manifests, digest);
}

/* d names a blob of the layout with d's size. */
static int
need_blob(const struct ferry_layout *l, const struct ferry_descriptor *d, const char *from,
          struct ferry_error **err)
{
    uintptr_t v = (uintptr_t)ferry_strmap_get(l->blobs, d->digest);

    if (v == 0)
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s references %s, which is not in the bundle",
                               from, d->digest);
    if ((int64_t)(v - 1) != d->size)
        return ferry_error_new(err, FERRY_E_SIZE_MISMATCH,
                               "%s references %s with size %lld, the bundle has %lld bytes", from,
                               d->digest, (long long)d->size, (long long)(v - 1));
    return 0;
}

/* Check d and what it references. *height is the number of index levels
 * below d (0 for a manifest). Each manifest's references are checked once
 * (l->checked keeps its height), so a fan-out of the same digests costs one
 * check per distinct manifest, not one per path to it. */
static int
check_graph(struct ferry_layout *l, const struct ferry_descriptor *d, const char *from, int depth,
            int *height, struct ferry_error **err)
{
    struct ferry_layout_manifest *lm;
    uintptr_t seen;
    int r, h = 0, ch;
    size_t i;

    *height = 0;
    if ((r = need_blob(l, d, from, err)) < 0)
        return r;
    if (!ferry_media_type_is_index(d->media_type) && !ferry_media_type_is_manifest(d->media_type))
        return 0;
    seen = (uintptr_t)ferry_strmap_get(l->checked, d->digest);
    if (seen != 0)
        h = (int)(seen - 1);
    if (depth + h > FERRY_MAX_INDEX_DEPTH)
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: indexes nested more than %d deep",
                               d->digest, FERRY_MAX_INDEX_DEPTH);
    if (seen != 0) {
        *height = h;
        return 0;
    }
    lm = ferry_strmap_get(l->manifests, d->digest);
    if (lm == NULL)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s is referenced as %s but not declared as a manifest", d->digest,
                               d->media_type);
    if (lm->m == NULL &&
        (r = ferry_manifest_parse(lm->data, lm->len, d->media_type, lm->digest, &lm->m, err)) < 0)
        return r;
    if (lm->m->kind == FERRY_KIND_INDEX) {
        for (i = 0; i < lm->m->nmanifests; i++) {
            if ((r = check_graph(l, &lm->m->manifests[i], lm->digest, depth + 1, &ch, err)) < 0)
                return ferry_error_wrap(err, "index %s", lm->digest);
            if (ferry_media_type_is_index(lm->m->manifests[i].media_type) ||
                ferry_media_type_is_manifest(lm->m->manifests[i].media_type))
                h = ch + 1 > h ? ch + 1 : h;
        }
    } else {
        if ((r = need_blob(l, &lm->m->config, lm->digest, err)) < 0)
            return r;
        for (i = 0; i < lm->m->nlayers; i++)
            if ((r = need_blob(l, &lm->m->layers[i], lm->digest, err)) < 0)
                return r;
    }
    if (ferry_strmap_put(l->checked, d->digest, (void *)(uintptr_t)(h + 1)) < 0)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    *height = h;
    return 0;
}

int
ferry_layout_check_graph(struct ferry_layout *l, const struct ferry_descriptor *d, const char *from,
                         struct ferry_error **err)
{
    int h;

    return check_graph(l, d, from, 0, &h, err);
}

int
ferry_layout_check(struct ferry_layout *l, const void *version, size_t version_len,
                   const void *index, size_t index_len, struct ferry_error **err)
{
    json_error_t jerr;
    json_t *root = NULL, *arr;
    const char *ver;
    size_t i;
    int r = 0, h;

    root = json_loadb(version ? version : "", version_len, JSON_REJECT_DUPLICATES, &jerr);
    ver = json_string_value(json_object_get(root, "imageLayoutVersion"));
    if (ver == NULL || strcmp(ver, FERRY_LAYOUT_VERSION) != 0) {
        json_decref(root);
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               FERRY_LAYOUT_VERSION_FILE
                               ": imageLayoutVersion is not " FERRY_LAYOUT_VERSION);
    }
    json_decref(root);
    root = json_loadb(index ? index : "", index_len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               FERRY_LAYOUT_INDEX_FILE ": invalid json at line %d column %d: %s",
                               jerr.line, jerr.column, jerr.text);
    arr = json_object_get(root, "manifests");
    if (!json_is_array(arr)) {
        r = ferry_error_new(err, FERRY_E_BUNDLE,
                            FERRY_LAYOUT_INDEX_FILE ": manifests is not an array");
        goto out;
    }
    for (i = 0; i < json_array_size(arr); i++) {
        struct ferry_descriptor d;
        if ((r = ferry_descriptor_parse(json_array_get(arr, i), FERRY_LAYOUT_INDEX_FILE, &d, err)) <
            0) {
            if (r != -FERRY_E_NOMEM) /* a bad entry is the bundle's fault; memory is not */
                r = ferry_error_recode(err, FERRY_E_BUNDLE);
            goto out;
        }
        r = check_graph(l, &d, FERRY_LAYOUT_INDEX_FILE, 0, &h, err);
        if (r == 0 && ferry_strmap_put(l->indexed, d.digest, (void *)1) < 0)
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        ferry_descriptor_clear(&d);
        if (r < 0)
            goto out;
    }
out:
    json_decref(root);
    return r;
}

bool
ferry_layout_index_has(const struct ferry_layout *l, const char *digest)
{
    return ferry_strmap_get(l->indexed, digest) != NULL;
}
