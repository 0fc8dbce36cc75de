/* ferry: receipts, what a registry holds after an import or an inventory
 * (docs/FORMAT.md, "Receipts"). */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ferry/digest.h"
#include "ferry/limits.h"
#include "ferry/receipt.h"
#include "ferry/reference.h"
#include "ferry/util.h"
#include "json_int.h"

/* "receipt repositories[N].referrers[M]" */
#define WHAT_SIZE 96

static void
blob_clear(struct ferry_receipt_blob *b)
{
    ferry_free(b->digest);
    ferry_free(b->media_type);
}

static void
repo_clear(struct ferry_receipt_repo *rp)
{
    size_t i;

    ferry_free(rp->name);
    for (i = 0; i < rp->ntags; i++) {
        ferry_free(rp->tags[i].tag);
        ferry_free(rp->tags[i].digest);
    }
    ferry_free(rp->tags);
    for (i = 0; i < rp->nmanifests; i++)
        blob_clear(&rp->manifests[i]);
    ferry_free(rp->manifests);
    for (i = 0; i < rp->nblobs; i++)
        blob_clear(&rp->blobs[i]);
    ferry_free(rp->blobs);
    for (i = 0; i < rp->nreferrers; i++) {
        ferry_free(rp->referrers[i].subject);
        ferry_free(rp->referrers[i].digest);
        ferry_free(rp->referrers[i].artifact_type);
    }
    ferry_free(rp->referrers);
}

static void
result_clear(struct ferry_receipt_result *res)
{
    ferry_free(res->source);
    ferry_free(res->target);
    ferry_free(res->digest);
    ferry_free(res->result);
    ferry_free(res->previous);
    ferry_free(res->reason);
}

void
ferry_receipt_free(struct ferry_receipt *r)
{
    size_t i;

    if (r == NULL)
        return;
    ferry_free(r->creator);
    ferry_free(r->created);
    ferry_free(r->registry);
    ferry_free(r->prefix);
    ferry_free(r->bundle_statement);
    ferry_free(r->bundle_key_id);
    ferry_free(r->bundle_created);
    for (i = 0; i < r->nresults; i++)
        result_clear(&r->results[i]);
    ferry_free(r->results);
    for (i = 0; i < r->nrepos; i++)
        repo_clear(&r->repos[i]);
    ferry_free(r->repos);
    ferry_free(r);
}

const struct ferry_receipt_repo *
ferry_receipt_repo(const struct ferry_receipt *r, const char *name)
{
    size_t i;

    if (r == NULL || name == NULL)
        return NULL;
    for (i = 0; i < r->nrepos; i++)
        if (strcmp(r->repos[i].name, name) == 0)
            return &r->repos[i];
    return NULL;
}

/* ---- parse -------------------------------------------------------------------------- */

static int
nomem(const char *what, struct ferry_error **err)
{
    return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
}

/* A lower layer's failure r as this format's: FERRY_E_INVALID naming the
 * field (out of memory stays what it is). Right also when err is NULL. */
static int
as_invalid(int r, struct ferry_error **err, const char *what, const char *key, const char *problem)
{
    if (r != -FERRY_E_NOMEM) {
        ferry_error_recode(err, FERRY_E_INVALID);
        r = -FERRY_E_INVALID;
    }
    ferry_error_wrap(err, "%s: \"%s\" %s", what, key, problem);
    return r;
}

/* NULL (absent) passes. */
static int
check_digest(const char *what, const char *key, const char *v, struct ferry_error **err)
{
    struct ferry_digest d;
    int r;

    if (v != NULL && (r = ferry_digest_parse(v, &d, err)) < 0)
        return as_invalid(r, err, what, key, "is not a valid digest");
    return 0;
}

static int
check_repository(const char *what, const char *key, const char *v, struct ferry_error **err)
{
    char q[256];
    int r;

    if (v == NULL)
        return 0;
    if ((r = ferry_json_text(FERRY_E_INVALID, what, key, v, err)) < 0)
        return r;
    if (!ferry_repository_valid(v))
        return ferry_error_new(err, FERRY_E_INVALID, "%s: \"%s\" is not a valid repository: \"%s\"",
                               what, key, ferry_quote(q, sizeof q, v, strlen(v)));
    return 0;
}

/* host[:port]: nothing that could split a reference or a line. */
static int
check_registry(const char *v, struct ferry_error **err)
{
    int r;

    if ((r = ferry_json_text(FERRY_E_INVALID, "receipt", "registry", v, err)) < 0)
        return r;
    if (v[0] == '\0' || strchr(v, '/') != NULL || strchr(v, ' ') != NULL) {
        char q[128];
        return ferry_error_new(err, FERRY_E_INVALID,
                               "receipt: \"registry\" is not a host[:port]: \"%s\"",
                               ferry_quote(q, sizeof q, v, strlen(v)));
    }
    return 0;
}

/* 16 hex digits, upper case, as minisign prints a key id. */
static int
check_key_id(const char *what, const char *v, struct ferry_error **err)
{
    size_t i;

    for (i = 0; v[i] != '\0'; i++)
        if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'A' && v[i] <= 'F')))
            break;
    if (i != 16 || v[i] != '\0') {
        char q[64];
        return ferry_error_new(err, FERRY_E_INVALID,
                               "%s: \"keyId\" is not 16 upper-case hex digits: \"%s\"", what,
                               ferry_quote(q, sizeof q, v, strlen(v)));
    }
    return 0;
}

/* The array member key, or NULL when absent; anything else is an error. */
static int
array_field(json_t *obj, const char *key, const char *what, json_t **out, struct ferry_error **err)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL)
        return 0;
    if (!json_is_array(v))
        return ferry_error_new(err, FERRY_E_INVALID, "%s: \"%s\" is not an array", what, key);
    *out = v;
    return 0;
}

static int
parse_bundle(json_t *o, struct ferry_receipt *rc, struct ferry_error **err)
{
    static const char *const keys[] = {"statement", "keyId", "created", NULL};
    const char *what = "receipt bundle";
    int r;

    if (!json_is_object(o))
        return ferry_error_new(err, FERRY_E_INVALID, "%s: not an object", what);
    if ((r = ferry_json_keys(FERRY_E_INVALID, o, keys, what, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_INVALID, o, "statement", true, what, &rc->bundle_statement,
                            err)) < 0 ||
        (r = ferry_json_str(FERRY_E_INVALID, o, "keyId", true, what, &rc->bundle_key_id, err)) <
            0 ||
        (r = ferry_json_str(FERRY_E_INVALID, o, "created", true, what, &rc->bundle_created, err)) <
            0 ||
        (r = check_digest(what, "statement", rc->bundle_statement, err)) < 0 ||
        (r = check_key_id(what, rc->bundle_key_id, err)) < 0 ||
        (r = ferry_json_text(FERRY_E_INVALID, what, "created", rc->bundle_created, err)) < 0)
        return r;
    return 0;
}

static int
parse_result(json_t *o, size_t idx, struct ferry_receipt_result *res, struct ferry_error **err)
{
    static const char *const keys[] = {"source",   "target", "digest", "result",
                                       "previous", "reason", NULL};
    static const char *const results[] = {"pushed",  "unchanged", "moved",
                                          "refused", "waiting",   NULL};
    struct ferry_ref *ref = NULL;
    char what[WHAT_SIZE];
    bool moved, refused, known = false;
    size_t i;
    int r;

    snprintf(what, sizeof what, "receipt results[%zu]", idx);
    if (!json_is_object(o))
        return ferry_error_new(err, FERRY_E_INVALID, "%s: not an object", what);
    if ((r = ferry_json_keys(FERRY_E_INVALID, o, keys, what, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_INVALID, o, "source", true, what, &res->source, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_INVALID, o, "target", true, what, &res->target, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_INVALID, o, "digest", true, what, &res->digest, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_INVALID, o, "result", true, what, &res->result, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_INVALID, o, "previous", false, what, &res->previous, err)) <
            0 ||
        (r = ferry_json_str(FERRY_E_INVALID, o, "reason", false, what, &res->reason, err)) < 0)
        return r;
    for (i = 0; results[i] != NULL && !known; i++)
        known = strcmp(results[i], res->result) == 0;
    if (!known) {
        char q[64];
        return ferry_error_new(
            err, FERRY_E_INVALID,
            "%s: \"result\" \"%s\" is none of pushed, unchanged, moved, refused and waiting", what,
            ferry_quote(q, sizeof q, res->result, strlen(res->result)));
    }
    moved = strcmp(res->result, "moved") == 0;
    refused = strcmp(res->result, "refused") == 0 || strcmp(res->result, "waiting") == 0;
    if (moved != (res->previous != NULL))
        return ferry_error_new(err, FERRY_E_INVALID,
                               moved ? "%s: a moved tag needs \"previous\""
                                     : "%s: \"previous\" belongs to a moved tag only",
                               what);
    /* any result may say why (a moved tag: a downgrade allowed); a refusal must */
    if (refused && res->reason == NULL)
        return ferry_error_new(err, FERRY_E_INVALID,
                               "%s: a refused or waiting image needs \"reason\"", what);
    if ((r = ferry_json_text(FERRY_E_INVALID, what, "source", res->source, err)) < 0 ||
        (r = check_digest(what, "digest", res->digest, err)) < 0 ||
        (r = check_digest(what, "previous", res->previous, err)) < 0)
        return r;
    if ((r = ferry_ref_parse(res->target, false, &ref, err)) < 0)
        return as_invalid(r, err, what, "target", "is not a reference");
    ferry_ref_free(ref);
    return 0;
}

/* manifests[] or blobs[] of a repository. */
static int
parse_blobs(json_t *arr, const char *repo_what, const char *key, struct ferry_receipt_blob **out,
            size_t *n, struct ferry_error **err)
{
    static const char *const keys[] = {"digest", "mediaType", "size", NULL};
    char what[WHAT_SIZE + 32];
    size_t i;
    int r;

    if (arr == NULL || json_array_size(arr) == 0)
        return 0;
    if ((*out = ferry_calloc(json_array_size(arr), sizeof **out)) == NULL)
        return nomem(repo_what, err);
    for (i = 0; i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        struct ferry_receipt_blob *b = &(*out)[i];

        (*n)++;
        snprintf(what, sizeof what, "%s.%s[%zu]", repo_what, key, i);
        if (!json_is_object(o))
            return ferry_error_new(err, FERRY_E_INVALID, "%s: not an object", what);
        if ((r = ferry_json_keys(FERRY_E_INVALID, o, keys, what, err)) < 0 ||
            (r = ferry_json_str(FERRY_E_INVALID, o, "digest", true, what, &b->digest, err)) < 0 ||
            (r = ferry_json_str(FERRY_E_INVALID, o, "mediaType", false, what, &b->media_type,
                                err)) < 0 ||
            (r = ferry_json_size(FERRY_E_INVALID, o, "size", what, &b->size, err)) < 0 ||
            (r = check_digest(what, "digest", b->digest, err)) < 0 ||
            (r = ferry_json_text(FERRY_E_INVALID, what, "mediaType", b->media_type, err)) < 0)
            return r;
    }
    return 0;
}

static int
parse_referrers(json_t *arr, const char *repo_what, struct ferry_receipt_repo *rp,
                struct ferry_error **err)
{
    static const char *const keys[] = {"subject", "digest", "artifactType", NULL};
    char what[WHAT_SIZE + 32];
    size_t i;
    int r;

    if (arr == NULL || json_array_size(arr) == 0)
        return 0;
    if ((rp->referrers = ferry_calloc(json_array_size(arr), sizeof *rp->referrers)) == NULL)
        return nomem(repo_what, err);
    for (i = 0; i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        struct ferry_receipt_referrer *rf = &rp->referrers[i];

        rp->nreferrers++;
        snprintf(what, sizeof what, "%s.referrers[%zu]", repo_what, i);
        if (!json_is_object(o))
            return ferry_error_new(err, FERRY_E_INVALID, "%s: not an object", what);
        if ((r = ferry_json_keys(FERRY_E_INVALID, o, keys, what, err)) < 0 ||
            (r = ferry_json_str(FERRY_E_INVALID, o, "subject", true, what, &rf->subject, err)) <
                0 ||
            (r = ferry_json_str(FERRY_E_INVALID, o, "digest", true, what, &rf->digest, err)) < 0 ||
            (r = ferry_json_str(FERRY_E_INVALID, o, "artifactType", false, what, &rf->artifact_type,
                                err)) < 0 ||
            (r = check_digest(what, "subject", rf->subject, err)) < 0 ||
            (r = check_digest(what, "digest", rf->digest, err)) < 0 ||
            (r = ferry_json_text(FERRY_E_INVALID, what, "artifactType", rf->artifact_type, err)) <
                0)
            return r;
        if (strcmp(rf->subject, rf->digest) == 0)
            return ferry_error_new(err, FERRY_E_INVALID, "%s: %s is its own subject", what,
                                   rf->digest);
    }
    return 0;
}

/* tags: an object of tag -> digest, kept in the file's order. Duplicate tags
 * never get here: json_loadb refuses duplicate keys. */
static int
parse_tags(json_t *tags, const char *repo_what, struct ferry_receipt_repo *rp,
           struct ferry_error **err)
{
    char what[WHAT_SIZE + 32], q[160];
    const char *tag;
    json_t *v;
    int r;

    snprintf(what, sizeof what, "%s.tags", repo_what);
    if (tags == NULL)
        return 0;
    if (!json_is_object(tags))
        return ferry_error_new(err, FERRY_E_INVALID, "%s: not an object", what);
    if (json_object_size(tags) == 0)
        return 0;
    if ((rp->tags = ferry_calloc(json_object_size(tags), sizeof *rp->tags)) == NULL)
        return nomem(what, err);
    json_object_foreach(tags, tag, v)
    {
        struct ferry_receipt_tag *t = &rp->tags[rp->ntags];
        struct ferry_digest d;

        if (!ferry_tag_valid(tag))
            return ferry_error_new(err, FERRY_E_INVALID, "%s: tag \"%s\" is not valid", what,
                                   ferry_quote(q, sizeof q, tag, strlen(tag)));
        if (!json_is_string(v))
            return ferry_error_new(err, FERRY_E_INVALID, "%s: \"%s\" is not a string", what, tag);
        if ((r = ferry_digest_parse(json_string_value(v), &d, err)) < 0)
            return as_invalid(r, err, what, tag, "is not a valid digest");
        rp->ntags++;
        t->tag = ferry_strdup(tag);
        t->digest = ferry_strdup(json_string_value(v));
        if (t->tag == NULL || t->digest == NULL)
            return nomem(what, err);
    }
    return 0;
}

static int
parse_repo(json_t *o, size_t idx, struct ferry_receipt_repo *rp, struct ferry_error **err)
{
    static const char *const keys[] = {"name", "tags", "manifests", "blobs", "referrers", NULL};
    json_t *manifests, *blobs, *referrers;
    char what[WHAT_SIZE];
    int r;

    snprintf(what, sizeof what, "receipt repositories[%zu]", idx);
    if (!json_is_object(o))
        return ferry_error_new(err, FERRY_E_INVALID, "%s: not an object", what);
    if ((r = ferry_json_keys(FERRY_E_INVALID, o, keys, what, err)) < 0 ||
        (r = ferry_json_str(FERRY_E_INVALID, o, "name", true, what, &rp->name, err)) < 0 ||
        (r = check_repository(what, "name", rp->name, err)) < 0 ||
        (r = array_field(o, "manifests", what, &manifests, err)) < 0 ||
        (r = array_field(o, "blobs", what, &blobs, err)) < 0 ||
        (r = array_field(o, "referrers", what, &referrers, err)) < 0 ||
        (r = parse_tags(json_object_get(o, "tags"), what, rp, err)) < 0 ||
        (r = parse_blobs(manifests, what, "manifests", &rp->manifests, &rp->nmanifests, err)) < 0 ||
        (r = parse_blobs(blobs, what, "blobs", &rp->blobs, &rp->nblobs, err)) < 0 ||
        (r = parse_referrers(referrers, what, rp, err)) < 0)
        return r;
    return 0;
}

static int
parse_version(json_t *root, struct ferry_receipt *rc, struct ferry_error **err)
{
    json_t *v = json_object_get(root, "ferryReceiptVersion");

    if (!json_is_integer(v))
        return ferry_error_new(err, FERRY_E_INVALID,
                               "receipt: \"ferryReceiptVersion\" is missing or not an integer");
    if (json_integer_value(v) != FERRY_RECEIPT_VERSION)
        return ferry_error_new(
            err, FERRY_E_UNSUPPORTED,
            "receipt: receipt format version %lld is not supported (this ferry reads %d)",
            (long long)json_integer_value(v), FERRY_RECEIPT_VERSION);
    rc->version = FERRY_RECEIPT_VERSION;
    return 0;
}

static int
parse_root(json_t *root, struct ferry_receipt *rc, struct ferry_error **err)
{
    static const char *const keys[] = {
        "ferryReceiptVersion", "creator", "created", "registry", "prefix", "bundle", "results",
        "repositories",        NULL};
    struct ferry_strmap *names = NULL;
    json_t *bundle, *results, *repos;
    size_t i;
    int r;

    if (!json_is_object(root))
        return ferry_error_new(err, FERRY_E_INVALID, "receipt: not a json object");
    /* the version first: a later version may have keys this one does not know */
    if ((r = parse_version(root, rc, err)) < 0 ||
        (r = ferry_json_keys(FERRY_E_INVALID, root, keys, "receipt", err)) < 0 ||
        (r = ferry_json_str(FERRY_E_INVALID, root, "creator", true, "receipt", &rc->creator, err)) <
            0 ||
        (r = ferry_json_str(FERRY_E_INVALID, root, "created", true, "receipt", &rc->created, err)) <
            0 ||
        (r = ferry_json_str(FERRY_E_INVALID, root, "registry", true, "receipt", &rc->registry,
                            err)) < 0 ||
        (r = ferry_json_str(FERRY_E_INVALID, root, "prefix", false, "receipt", &rc->prefix, err)) <
            0 ||
        (r = ferry_json_text(FERRY_E_INVALID, "receipt", "created", rc->created, err)) < 0 ||
        (r = check_registry(rc->registry, err)) < 0 ||
        (r = check_repository("receipt", "prefix", rc->prefix, err)) < 0 ||
        (r = array_field(root, "results", "receipt", &results, err)) < 0)
        return r;
    bundle = json_object_get(root, "bundle");
    if (bundle != NULL && (r = parse_bundle(bundle, rc, err)) < 0)
        return r;
    if (results != NULL && json_array_size(results) > 0) {
        rc->results = ferry_calloc(json_array_size(results), sizeof *rc->results);
        if (rc->results == NULL)
            return nomem("receipt", err);
        for (i = 0; i < json_array_size(results); i++) {
            rc->nresults++;
            if ((r = parse_result(json_array_get(results, i), i, &rc->results[i], err)) < 0)
                return r;
        }
    }
    repos = json_object_get(root, "repositories");
    if (!json_is_array(repos))
        return ferry_error_new(err, FERRY_E_INVALID,
                               "receipt: \"repositories\" is missing or not an array");
    if (json_array_size(repos) == 0)
        return 0;
    rc->repos = ferry_calloc(json_array_size(repos), sizeof *rc->repos);
    names = ferry_strmap_new();
    if (rc->repos == NULL || names == NULL) {
        r = nomem("receipt", err);
        goto out;
    }
    for (i = 0; i < json_array_size(repos); i++) {
        rc->nrepos++;
        if ((r = parse_repo(json_array_get(repos, i), i, &rc->repos[i], err)) < 0)
            goto out;
        if ((r = ferry_strmap_put(names, rc->repos[i].name, &rc->repos[i])) < 0) {
            r = nomem("receipt", err);
            goto out;
        }
        if (r == 0) {
            r = ferry_error_new(err, FERRY_E_INVALID,
                                "receipt repositories[%zu]: repository %s listed twice", i,
                                rc->repos[i].name);
            goto out;
        }
    }
    r = 0;
out:
    ferry_strmap_free(names);
    return r;
}

int
ferry_receipt_parse(const void *data, size_t len, struct ferry_receipt **out,
                    struct ferry_error **err)
{
    struct ferry_receipt *rc = NULL;
    json_error_t jerr;
    json_t *root = NULL;
    int r;

    /* before reading a byte of data */
    if (len > FERRY_MAX_RECEIPT)
        return ferry_error_new(err, FERRY_E_TOO_LARGE, "receipt: %zu bytes, more than %u", len,
                               FERRY_MAX_RECEIPT);
    root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        char q[4 * JSON_ERROR_TEXT_LENGTH];
        return ferry_error_new(err, FERRY_E_INVALID,
                               "receipt: invalid json at line %d column %d: %s", jerr.line,
                               jerr.column, ferry_quote(q, sizeof q, jerr.text, strlen(jerr.text)));
    }
    if ((rc = ferry_calloc(1, sizeof *rc)) == NULL) {
        r = nomem("receipt", err);
        goto out;
    }
    if ((r = parse_root(root, rc, err)) < 0)
        goto out;
    *out = rc;
    rc = NULL;
out:
    ferry_receipt_free(rc);
    json_decref(root);
    return r;
}

/* ---- serialize ---------------------------------------------------------------------- */

/* Set o[key] to the string v. A NULL v is skipped unless required. */
static int
put_str(json_t *o, const char *key, const char *v, bool required, const char *what,
        struct ferry_error **err)
{
    json_t *s;

    if (v == NULL) {
        if (required)
            return ferry_error_new(err, FERRY_E_INVALID, "%s: \"%s\" is missing", what, key);
        return 0;
    }
    if ((s = json_string(v)) == NULL) {
        /* json_string refuses text that is not UTF-8; _nocheck fails only for memory */
        if ((s = json_string_nocheck(v)) == NULL)
            return nomem(what, err);
        json_decref(s);
        return ferry_error_new(err, FERRY_E_INVALID, "%s: \"%s\" is not UTF-8", what, key);
    }
    if (json_object_set_new(o, key, s) < 0)
        return nomem(what, err);
    return 0;
}

static int
put_new(json_t *o, const char *key, json_t *v, const char *what, struct ferry_error **err)
{
    if (v == NULL || json_object_set_new(o, key, v) < 0)
        return nomem(what, err);
    return 0;
}

/* Append a new object to arr and return it in *o (borrowed). */
static int
append_object(json_t *arr, json_t **o, const char *what, struct ferry_error **err)
{
    json_t *n = json_object();

    if (n == NULL || json_array_append_new(arr, n) < 0)
        return nomem(what, err);
    *o = n;
    return 0;
}

static int
emit_blobs(json_t *ro, const char *key, const struct ferry_receipt_blob *bs, size_t n,
           const char *repo_what, struct ferry_error **err)
{
    json_t *arr = json_array(), *o = NULL;
    char what[WHAT_SIZE + 32];
    size_t i;
    int r;

    if ((r = put_new(ro, key, arr, repo_what, err)) < 0)
        return r;
    for (i = 0; i < n; i++) {
        snprintf(what, sizeof what, "%s.%s[%zu]", repo_what, key, i);
        if ((r = append_object(arr, &o, what, err)) < 0 ||
            (r = put_str(o, "digest", bs[i].digest, true, what, err)) < 0 ||
            (r = put_str(o, "mediaType", bs[i].media_type, false, what, err)) < 0 ||
            (r = put_new(o, "size", json_integer(bs[i].size), what, err)) < 0)
            return r;
    }
    return 0;
}

static int
emit_repo(json_t *arr, size_t idx, const struct ferry_receipt_repo *rp, struct ferry_error **err)
{
    json_t *ro = NULL, *tags, *refs, *o = NULL;
    char what[WHAT_SIZE], rwhat[WHAT_SIZE + 32];
    size_t i;
    int r;

    snprintf(what, sizeof what, "receipt repositories[%zu]", idx);
    if ((r = append_object(arr, &ro, what, err)) < 0 ||
        (r = put_str(ro, "name", rp->name, true, what, err)) < 0 ||
        (r = put_new(ro, "tags", tags = json_object(), what, err)) < 0)
        return r;
    for (i = 0; i < rp->ntags; i++) {
        const struct ferry_receipt_tag *t = &rp->tags[i];
        char q[160];
        if (!ferry_tag_valid(t->tag))
            return ferry_error_new(err, FERRY_E_INVALID, "%s.tags: tag \"%s\" is not valid", what,
                                   t->tag ? ferry_quote(q, sizeof q, t->tag, strlen(t->tag)) : "");
        /* json_object_set would keep the last one: a tag silently lost */
        if (json_object_get(tags, t->tag) != NULL)
            return ferry_error_new(err, FERRY_E_INVALID, "%s.tags: tag %s listed twice", what,
                                   t->tag);
        if ((r = put_str(tags, t->tag, t->digest, true, what, err)) < 0)
            return r;
    }
    if ((r = emit_blobs(ro, "manifests", rp->manifests, rp->nmanifests, what, err)) < 0 ||
        (r = emit_blobs(ro, "blobs", rp->blobs, rp->nblobs, what, err)) < 0 ||
        (r = put_new(ro, "referrers", refs = json_array(), what, err)) < 0)
        return r;
    for (i = 0; i < rp->nreferrers; i++) {
        const struct ferry_receipt_referrer *rf = &rp->referrers[i];
        snprintf(rwhat, sizeof rwhat, "%s.referrers[%zu]", what, i);
        if ((r = append_object(refs, &o, rwhat, err)) < 0 ||
            (r = put_str(o, "subject", rf->subject, true, rwhat, err)) < 0 ||
            (r = put_str(o, "digest", rf->digest, true, rwhat, err)) < 0 ||
            (r = put_str(o, "artifactType", rf->artifact_type, false, rwhat, err)) < 0)
            return r;
    }
    return 0;
}

static int
emit_results(json_t *root, const struct ferry_receipt *rc, struct ferry_error **err)
{
    json_t *arr = json_array(), *o = NULL;
    char what[WHAT_SIZE];
    size_t i;
    int r;

    if ((r = put_new(root, "results", arr, "receipt", err)) < 0)
        return r;
    for (i = 0; i < rc->nresults; i++) {
        const struct ferry_receipt_result *res = &rc->results[i];
        snprintf(what, sizeof what, "receipt results[%zu]", i);
        if ((r = append_object(arr, &o, what, err)) < 0 ||
            (r = put_str(o, "source", res->source, true, what, err)) < 0 ||
            (r = put_str(o, "target", res->target, true, what, err)) < 0 ||
            (r = put_str(o, "digest", res->digest, true, what, err)) < 0 ||
            (r = put_str(o, "result", res->result, true, what, err)) < 0 ||
            (r = put_str(o, "previous", res->previous, false, what, err)) < 0 ||
            (r = put_str(o, "reason", res->reason, false, what, err)) < 0)
            return r;
    }
    return 0;
}

static int
emit_root(json_t *root, const struct ferry_receipt *rc, struct ferry_error **err)
{
    json_t *repos;
    size_t i;
    int r;

    if ((r = put_new(root, "ferryReceiptVersion", json_integer(FERRY_RECEIPT_VERSION), "receipt",
                     err)) < 0 ||
        (r = put_str(root, "creator", rc->creator, true, "receipt", err)) < 0 ||
        (r = put_str(root, "created", rc->created, true, "receipt", err)) < 0 ||
        (r = put_str(root, "registry", rc->registry, true, "receipt", err)) < 0 ||
        (r = put_str(root, "prefix", rc->prefix, false, "receipt", err)) < 0)
        return r;
    if (rc->bundle_statement != NULL || rc->bundle_key_id != NULL || rc->bundle_created != NULL) {
        json_t *b = json_object();
        if ((r = put_new(root, "bundle", b, "receipt", err)) < 0 ||
            (r = put_str(b, "statement", rc->bundle_statement, true, "receipt bundle", err)) < 0 ||
            (r = put_str(b, "keyId", rc->bundle_key_id, true, "receipt bundle", err)) < 0 ||
            (r = put_str(b, "created", rc->bundle_created, true, "receipt bundle", err)) < 0)
            return r;
    }
    if (rc->nresults > 0 && (r = emit_results(root, rc, err)) < 0)
        return r;
    if ((r = put_new(root, "repositories", repos = json_array(), "receipt", err)) < 0)
        return r;
    for (i = 0; i < rc->nrepos; i++)
        if ((r = emit_repo(repos, i, &rc->repos[i], err)) < 0)
            return r;
    return 0;
}

struct dump_ctx {
    struct ferry_buf buf;
    struct ferry_error **err;
    int rc; /* the first failure of dump_cb */
};

static int
dump_cb(const char *buffer, size_t size, void *data)
{
    struct dump_ctx *c = data;

    if (c->rc == 0)
        c->rc = ferry_buf_append(&c->buf, buffer, size, c->err);
    return c->rc < 0 ? -1 : 0;
}

int
ferry_receipt_serialize(const struct ferry_receipt *r, char **out, size_t *len,
                        struct ferry_error **err)
{
    struct dump_ctx c = {.err = err, .rc = 0};
    json_t *root = json_object();
    int rv;

    /* the reader's cap: what it would refuse is not written */
    ferry_buf_init(&c.buf, FERRY_MAX_RECEIPT);
    if (root == NULL) {
        rv = nomem("receipt", err);
        goto out;
    }
    if ((rv = emit_root(root, r, err)) < 0)
        goto out;
    if (json_dump_callback(root, dump_cb, &c, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0) {
        /* jansson fails on its own only when out of memory */
        if ((rv = c.rc) == 0)
            rv = nomem("receipt", err);
        else
            ferry_error_wrap(err, "receipt");
        goto out;
    }
    if ((rv = ferry_buf_append(&c.buf, "\n", 1, err)) < 0) {
        ferry_error_wrap(err, "receipt");
        goto out;
    }
    *out = ferry_buf_take(&c.buf, len);
out:
    ferry_buf_free(&c.buf);
    json_decref(root);
    return rv;
}
