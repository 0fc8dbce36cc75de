/* ferry: the signature gate over a statement's referrers (include/ferry/
 * sigcheck.h). Finds the candidates of an image, reads their blobs through
 * the caller's source, checks each blob against its descriptor, and asks
 * sigstore*.c whether it verifies. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ferry/digest.h"
#include "ferry/limits.h"
#include "ferry/manifest.h"
#include "ferry/policy.h"
#include "ferry/sigcheck.h"
#include "ferry/sigstore.h"
#include "ferry/util.h"

#define MT_SIMPLESIGNING "application/vnd.dev.cosign.simplesigning.v1+json"
#define ANN_SIGNATURE "dev.cosignproject.cosign/signature"
#define ANN_CERTIFICATE "dev.sigstore.cosign/certificate"
#define ANN_CHAIN "dev.sigstore.cosign/chain"
#define ANN_REKOR_BUNDLE "dev.sigstore.cosign/bundle"
#define MT_BUNDLE_PREFIX "application/vnd.dev.sigstore.bundle"

static const char *
ann(const struct ferry_descriptor *d, const char *key)
{
    json_t *s = d->annotations ? json_object_get(d->annotations, key) : NULL;

    return json_is_string(s) ? json_string_value(s) : NULL;
}

/* How telling a failure is: the most telling one is reported. */
static int
weight(enum ferry_sig_reason r)
{
    switch (r) {
    case FERRY_SIG_DIGEST_MISMATCH:
    case FERRY_SIG_SUBJECT_MISMATCH:
        return 7;
    case FERRY_SIG_IDENTITY_MISMATCH:
    case FERRY_SIG_CERT_EXPIRED:
    case FERRY_SIG_UNTRUSTED_CERT:
        return 6;
    case FERRY_SIG_BAD_SIGNATURE:
    case FERRY_SIG_BAD_TLOG:
    case FERRY_SIG_TLOG_MISSING:
        return 5;
    case FERRY_SIG_WRONG_KEY:
        return 4;
    case FERRY_SIG_NEEDS_TRUSTED_ROOT:
    case FERRY_SIG_UNSUPPORTED:
        return 3;
    case FERRY_SIG_MALFORMED:
        return 2;
    default:
        return 1;
    }
}

static bool
has_prefix(const char *s, const char *prefix)
{
    return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The blob of descriptor d through the source, checked against d: 1 read,
 * 0 not available or over the cap (then *malformed says which), negative on
 * error. */
static int
read_blob(const struct ferry_sigcheck_src *src, const struct ferry_descriptor *d,
          struct ferry_buf *out, bool *malformed, struct ferry_error **err)
{
    struct ferry_digest want, got;
    int r;

    *malformed = false;
    if (d->size < 0 || (uint64_t)d->size > FERRY_SIGSTORE_MAX_DOC ||
        ferry_digest_parse(d->digest, &want, NULL) < 0) {
        *malformed = true; /* no signature of ours is that large */
        return 0;
    }
    ferry_buf_init(out, FERRY_SIGSTORE_MAX_DOC);
    if ((r = src->blob(src->ud, d->digest, d->size, out, err)) <= 0) {
        if (r == -FERRY_E_TOO_LARGE) {
            ferry_error_clear(err);
            *malformed = true;
            r = 0;
        }
        return r;
    }
    ferry_digest_buffer(want.alg, out->data ? out->data : "", out->len, &got);
    if (out->len != (size_t)d->size || strcmp(got.str, want.str) != 0)
        return ferry_error_new(err, FERRY_E_DIGEST_MISMATCH,
                               "signature blob %s: its bytes hash to %s (%zu bytes)", d->digest,
                               got.str, out->len);
    return 1;
}

static void
keep_best(struct ferry_sig_result *best, struct ferry_sig_result *res)
{
    if (weight(res->reason) > weight(best->reason)) {
        ferry_sig_result_clear(best);
        *best = *res;
        memset(res, 0, sizeof *res);
    } else {
        ferry_sig_result_clear(res);
    }
}

/* One candidate manifest m referring to subject: 1 a layer verified (its
 * result in best), 0 not (best keeps the most telling failure), negative
 * on a failure to read. */
/* A policy's signedIdentity, checked on simple-signing payloads. */
struct idcheck {
    const struct ferry_policy_identity *id;
    const char *image_ref; /* the image's source reference */
};

static int
check_candidate(const struct ferry_sigcheck_src *src, const struct ferry_sig_trust *trust,
                const struct idcheck *idc, const char *subject, const struct ferry_manifest *m,
                struct ferry_sig_result *best, struct ferry_error **err)
{
    const char *atype = ferry_manifest_artifact_type(m);

    if (m->nlayers > FERRY_SIGSTORE_MAX_SIG_LAYERS) {
        struct ferry_sig_result res = {0};
        res.reason = FERRY_SIG_MALFORMED;
        keep_best(best, &res);
        return 0;
    }
    for (size_t i = 0; i < m->nlayers; i++) {
        const struct ferry_descriptor *d = &m->layers[i];
        struct ferry_sig_result res = {0};
        struct ferry_error *e = NULL;
        struct ferry_buf blob;
        bool simple = d->media_type && strcmp(d->media_type, MT_SIMPLESIGNING) == 0;
        bool bundle =
            has_prefix(d->media_type, MT_BUNDLE_PREFIX) || has_prefix(atype, MT_BUNDLE_PREFIX);
        bool malformed;
        int r;
        if (!simple && !bundle)
            continue;
        r = read_blob(src, d, &blob, &malformed, err);
        if (r <= 0) {
            ferry_buf_free(&blob);
            if (r < 0)
                return r;
            if (malformed) {
                res.reason = FERRY_SIG_MALFORMED;
                keep_best(best, &res);
            }
            continue;
        }
        if (simple) {
            struct ferry_cosign_layer layer = {0};
            layer.payload = blob.data;
            layer.payload_len = blob.len;
            layer.payload_digest = d->digest;
            layer.signature = ann(d, ANN_SIGNATURE);
            layer.certificate = ann(d, ANN_CERTIFICATE);
            layer.chain = ann(d, ANN_CHAIN);
            layer.rekor_bundle = ann(d, ANN_REKOR_BUNDLE);
            if (layer.signature == NULL)
                res.reason = FERRY_SIG_NO_SIGNATURE;
            else
                r = ferry_cosign_verify_simple(&layer, trust, subject, &res, &e);
        } else {
            r = ferry_sigstore_bundle_verify(blob.data, blob.len, trust, subject, NULL, 0, &res,
                                             &e);
        }
        ferry_buf_free(&blob);
        ferry_error_free(e);
        if (r == 0 && res.reason == FERRY_SIG_VERIFIED && simple && idc != NULL &&
            (res.identity == NULL ||
             !ferry_policy_identity_match(idc->id, idc->image_ref, res.identity))) {
            /* signed by the key, but for another image name */
            res.reason = FERRY_SIG_IDENTITY_MISMATCH;
            r = -FERRY_E_SIGNATURE;
        }
        if (r == 0 && res.reason == FERRY_SIG_VERIFIED) {
            ferry_sig_result_clear(best);
            *best = res;
            return 1;
        }
        if (res.reason == FERRY_SIG_ERROR && r == -FERRY_E_NOMEM) {
            ferry_sig_result_clear(&res);
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        }
        keep_best(best, &res);
    }
    return 0;
}

/* Every candidate of image i: 1 one verified (best holds its result), 0
 * none (best the most telling failure, NO_SIGNATURE when there was no
 * candidate), negative on error. */
static int
check_trust(const struct ferry_statement *st, size_t i, const struct ferry_sigcheck_src *src,
            const struct ferry_sig_trust *trust, const struct idcheck *idc,
            struct ferry_sig_result *best, struct ferry_error **err)
{
    const struct ferry_stmt_image *im = &st->images[i];
    int ok = 0;

    best->reason = FERRY_SIG_NO_SIGNATURE;
    for (size_t j = 0; j < st->nreferrers && ok == 0; j++) {
        const struct ferry_stmt_referrer *rf = &st->referrers[j];
        struct ferry_manifest *m = NULL;
        const char *data;
        size_t len;
        if (rf->image != i ||
            (strcmp(rf->subject, im->digest) != 0 &&
             (im->source_digest == NULL || strcmp(rf->subject, im->source_digest) != 0)))
            continue;
        if (src->manifest(src->ud, rf->digest, &data, &len) != 1)
            continue;
        if (ferry_manifest_parse(data, len, rf->media_type, rf->digest, &m, NULL) < 0)
            continue; /* verified before; an export's source answered junk */
        if (m->kind != FERRY_KIND_INDEX)
            ok = check_candidate(src, trust, idc, rf->subject, m, best, err);
        ferry_manifest_free(m);
    }
    return ok;
}

/* ---- containers-policy.json ---------------------------------------------------- */

/* The trust one sigstoreSigned requirement makes. */
struct ptrust {
    const struct ferry_policy_req *req;
    struct ferry_sig_key **keys, **tkeys;
    size_t nkeys, ntkeys;
    struct ferry_sig_root *root;
    struct ferry_sig_identity id;
    struct ferry_sig_trust trust;
};

struct ferry_sig_policy_cache {
    const struct ferry_policy *policy;
    struct ptrust **t; /* each its own: a trust points into its entry */
    size_t n, cap;
};

static void
ptrust_clear(struct ptrust *t)
{
    for (size_t i = 0; i < t->nkeys; i++)
        ferry_sig_key_free(t->keys[i]);
    for (size_t i = 0; i < t->ntkeys; i++)
        ferry_sig_key_free(t->tkeys[i]);
    ferry_free(t->keys);
    ferry_free(t->tkeys);
    ferry_sig_root_free(t->root);
}

void
ferry_sig_policy_cache_free(struct ferry_sig_policy_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        ptrust_clear(c->t[i]);
        ferry_free(c->t[i]);
    }
    ferry_free(c->t);
    ferry_free(c);
}

static int
load_keys(const struct ferry_policy_blob *b, size_t n, const char *scope,
          struct ferry_sig_key ***out, size_t *nout, struct ferry_error **err)
{
    if (n == 0)
        return 0;
    if ((*out = ferry_calloc(n, sizeof **out)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int r = ferry_sig_key_load(b[i].data, b[i].len, &(*out)[i], err);
        if (r < 0)
            return ferry_error_wrap(err, "policy scope \"%.200s\": %s", scope ? scope : "default",
                                    b[i].origin ? b[i].origin : "key");
        (*nout)++;
    }
    return 0;
}

/* The trust of a sigstoreSigned requirement, made the first time. */
static int
policy_trust(struct ferry_sig_policy_cache *c, const struct ferry_policy_req *req,
             const char *scope, const struct ferry_sig_trust **out, struct ferry_error **err)
{
    struct ptrust *t;
    int r;

    for (size_t i = 0; i < c->n; i++)
        if (c->t[i]->req == req) {
            *out = &c->t[i]->trust;
            return 0;
        }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        struct ptrust **n = ferry_realloc(c->t, cap * sizeof *n);
        if (n == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        c->t = n;
        c->cap = cap;
    }
    if ((t = ferry_calloc(1, sizeof *t)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    t->req = req;
    if ((r = load_keys(req->keys, req->nkeys, scope, &t->keys, &t->nkeys, err)) < 0 ||
        (r = load_keys(req->rekor_keys, req->nrekor_keys, scope, &t->tkeys, &t->ntkeys, err)) < 0)
        goto fail;
    if (req->fulcio_ca != NULL) {
        if ((r = ferry_sig_root_new(&t->root, err)) < 0)
            goto fail;
        if ((r = ferry_sig_root_add_ca_pem(t->root, req->fulcio_ca->data, req->fulcio_ca->len,
                                           err)) < 0) {
            ferry_error_wrap(err, "policy scope \"%.200s\": %s", scope ? scope : "default",
                             req->fulcio_ca->origin ? req->fulcio_ca->origin : "caData");
            goto fail;
        }
        t->id.subject = req->fulcio_email;
        t->id.issuer = req->fulcio_issuer;
        t->id.email_only = true;
        t->trust.root = t->root;
        t->trust.identities = &t->id;
        t->trust.nidentities = 1;
    }
    t->trust.keys = t->keys;
    t->trust.nkeys = t->nkeys;
    t->trust.tlog_keys = t->tkeys;
    t->trust.ntlog_keys = t->ntkeys;
    /* containers/image: with a Rekor key the signature must carry a SET */
    t->trust.require_tlog = t->ntkeys > 0;
    c->t[c->n++] = t;
    *out = &t->trust;
    return 0;
fail: /* not cached: the next use fails the same way */
    ptrust_clear(t);
    ferry_free(t);
    return r;
}

int
ferry_sig_policy_cache_new(const struct ferry_policy *policy, struct ferry_sig_policy_cache **out,
                           struct ferry_error **err)
{
    struct ferry_sig_policy_cache *c = ferry_calloc(1, sizeof *c);
    int r = 0;

    if (c == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    c->policy = policy;
    for (size_t i = 0; i < ferry_policy_docker_scope_count(policy) && r >= 0; i++) {
        const struct ferry_policy_req *reqs = NULL;
        const struct ferry_sig_trust *tr;
        size_t n = 0;
        const char *scope = ferry_policy_docker_scope(policy, i, &reqs, &n);
        for (size_t j = 0; j < n && r >= 0; j++)
            if (reqs[j].type == FERRY_POLICY_SIGSTORE)
                r = policy_trust(c, &reqs[j], scope, &tr, err);
    }
    if (r < 0) {
        ferry_sig_policy_cache_free(c);
        return r;
    }
    *out = c;
    return 0;
}

static void
verdict_of(const struct ferry_sig_result *best, bool ok, bool filtered,
           struct ferry_sig_verdict *out)
{
    out->ok = ok;
    out->reason = best->reason;
    out->key_id[0] = out->identity[0] = '\0';
    out->tlog = best->tlog;
    if (ok) {
        snprintf(out->key_id, sizeof out->key_id, "%s", best->key_id);
        if (best->cert_subject != NULL)
            snprintf(out->identity, sizeof out->identity, "%s", best->cert_subject);
    } else if (best->reason == FERRY_SIG_NO_SIGNATURE && filtered) {
        snprintf(out->why, sizeof out->why,
                 "no signature (its platforms were filtered: the index was rewritten, and "
                 "signatures over the vendor's index are not carried)");
    } else if (best->reason == FERRY_SIG_NO_SIGNATURE) {
        snprintf(out->why, sizeof out->why, "no signature");
    } else {
        snprintf(out->why, sizeof out->why, "no valid signature: %s",
                 ferry_sig_reason_name(best->reason));
    }
}

/* The requirements of the scope that applies to ref, the image's name. */
static int
check_policy_ref(const struct ferry_statement *st, size_t image, const char *ref,
                 const struct ferry_sigcheck_src *src, struct ferry_sig_policy_cache *c,
                 struct ferry_sig_verdict *out, struct ferry_error **err)
{
    const struct ferry_policy_req *reqs = NULL;
    const char *scope = NULL;
    size_t n = 0;
    int r;

    if ((r = ferry_policy_requirements(c->policy, ref, &reqs, &n, &scope, err)) < 0)
        return ferry_error_wrap(err, "policy for %s", ref);
    snprintf(out->scope, sizeof out->scope, "%s", scope ? scope : "default");
    out->ok = true;
    for (size_t j = 0; j < n && out->ok; j++) {
        const struct ferry_policy_req *q = &reqs[j];
        const struct ferry_sig_trust *trust;
        struct ferry_sig_result best = {0};
        struct idcheck idc = {&q->identity, ref};
        char why[sizeof out->why];
        switch (q->type) {
        case FERRY_POLICY_ACCEPT:
            continue;
        case FERRY_POLICY_REJECT:
            out->ok = false;
            out->reason = FERRY_SIG_NO_SIGNATURE;
            snprintf(out->why, sizeof out->why, "policy: scope \"%.200s\" rejects every image",
                     out->scope);
            continue;
        case FERRY_POLICY_UNSUPPORTED:
            out->ok = false;
            out->reason = FERRY_SIG_UNSUPPORTED;
            snprintf(out->why, sizeof out->why, "policy: scope \"%.200s\": %s", out->scope,
                     q->reason ? q->reason : "requirement not supported");
            continue;
        case FERRY_POLICY_SIGSTORE:
            break;
        }
        if ((r = policy_trust(c, q, scope, &trust, err)) < 0 ||
            (r = check_trust(st, image, src, trust, &idc, &best, err)) < 0) {
            ferry_sig_result_clear(&best);
            return r;
        }
        verdict_of(&best, r == 1, st->images[image].source_digest != NULL, out);
        if (!out->ok) {
            snprintf(why, sizeof why, "%s", out->why);
            snprintf(out->why, sizeof out->why, "policy: scope \"%.200s\": %.280s", out->scope,
                     why);
        }
        ferry_sig_result_clear(&best);
    }
    return 0;
}

/* Every requirement of the scope that applies to the image's name. */
static int
check_policy(const struct ferry_statement *st, size_t image, const struct ferry_sigcheck_src *src,
             struct ferry_sig_policy_cache *c, struct ferry_sig_verdict *out,
             struct ferry_error **err)
{
    const struct ferry_stmt_image *im = &st->images[image];
    char *ref;
    int r;

    /* The name the image is pushed under (its repository and tag) on the
     * registry it came from: the statement's parts, not its free-form
     * source, so the name judged is the name that lands. */
    ref = im->tag ? ferry_asprintf("%s/%s:%s", im->registry, im->repository, im->tag)
                  : ferry_asprintf("%s/%s@%s", im->registry, im->repository, im->digest);
    if (ref == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    r = check_policy_ref(st, image, ref, src, c, out, err);
    ferry_free(ref);
    return r;
}

int
ferry_sigcheck_image(const struct ferry_statement *st, size_t image,
                     const struct ferry_sigcheck_src *src, const struct ferry_sig_gate *gate,
                     struct ferry_sig_verdict *out, struct ferry_error **err)
{
    struct ferry_sig_result best = {0};
    int r;

    memset(out, 0, sizeof *out);
    if (st == NULL || image >= st->nimages || src == NULL || gate == NULL ||
        (gate->trust == NULL) == (gate->policy == NULL))
        return ferry_error_new(err, FERRY_E_USAGE, "signature check: bad call");
    if (gate->policy != NULL)
        return check_policy(st, image, src, gate->policy, out, err);
    r = check_trust(st, image, src, gate->trust, NULL, &best, err);
    if (r >= 0)
        verdict_of(&best, r == 1, st->images[image].source_digest != NULL, out);
    ferry_sig_result_clear(&best);
    return r < 0 ? r : 0;
}
