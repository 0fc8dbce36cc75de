/* ferry import: the signature gate (--require-signature, issue 13). An
 * image passes when a referrer of its digest carries a signature that
 * verifies with one of the required keys: cosign's simple signing (the
 * layers of an artifact of type application/vnd.dev.cosign.artifact.sig.v1
 * +json, `cosign sign --registry-referrers-mode=oci-1-1`) or a Sigstore
 * bundle (cosign v3's default). The checks themselves are the core's
 * (oci-layout/sigstore*.c); this file finds the candidates in a verified
 * bundle and reads their blobs, each checked against its signed digest. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ferry/digest.h"
#include "ferry/limits.h"
#include "ferry/sigstore.h"
#include "ferry/util.h"
#include "import_int.h"

#define MT_SIMPLESIGNING "application/vnd.dev.cosign.simplesigning.v1+json"
#define ANN_SIGNATURE "dev.cosignproject.cosign/signature"
#define ANN_CERTIFICATE "dev.sigstore.cosign/certificate"
#define ANN_REKOR_BUNDLE "dev.sigstore.cosign/bundle"
#define MT_BUNDLE_PREFIX "application/vnd.dev.sigstore.bundle"

/* The blob of digest, read whole from the bundle (at most cap bytes) and
 * checked against its digest: 1 read, 0 not in this bundle (another
 * volume), negative on error. */
static int
read_blob(const struct ferry_verified *v, const char *digest, size_t cap, struct ferry_buf *out,
          struct ferry_error **err)
{
    const struct ferry_verified *vols[1] = {v};
    const struct ferry_stmt_member *m = ferry_verified_find_blob(vols, 1, digest, NULL);
    struct ferry_bundle_reader *rd = NULL;
    struct ferry_digest want, got;
    char chunk[16384];
    int64_t n;
    int r;

    if (m == NULL)
        return 0;
    if (m->size < 0 || (uint64_t)m->size > cap)
        return ferry_error_new(err, FERRY_E_TOO_LARGE,
                               "signature blob %s: %lld bytes, more than %zu", digest,
                               (long long)m->size, cap);
    if ((r = ferry_digest_parse(m->digest, &want, err)) < 0 ||
        (r = ferry_verified_open_member(v, m, &rd, err)) < 0)
        return r;
    ferry_buf_init(out, cap);
    while ((n = ferry_bundle_reader_read(rd, chunk, sizeof chunk, err)) > 0)
        if ((r = ferry_buf_append(out, chunk, (size_t)n, err)) < 0)
            break;
    ferry_bundle_reader_free(rd);
    if (n < 0)
        r = (int)n;
    if (r < 0)
        return r;
    ferry_digest_buffer(want.alg, out->data ? out->data : "", out->len, &got);
    if (out->len != (size_t)m->size || strcmp(got.str, want.str) != 0)
        return ferry_error_new(err, FERRY_E_DIGEST_MISMATCH,
                               "signature blob %s has digest %s, the signed statement says %s",
                               m->path, got.str, want.str);
    return 1;
}

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

/* One candidate referrer of subject: 1 a layer verified (key id in res), 0
 * not (res->reason the most telling failure, or NO_SIGNATURE), negative on
 * a failure to read the bundle. */
static int
check_referrer(const struct ferry_verified *v, const struct ferry_sig_trust *trust,
               const char *subject, const struct ferry_layout_manifest *lm,
               struct ferry_sig_result *best, struct ferry_error **err)
{
    const char *atype = ferry_manifest_artifact_type(lm->m);
    int r = 0;

    for (size_t i = 0; i < lm->m->nlayers && r >= 0; i++) {
        const struct ferry_descriptor *d = &lm->m->layers[i];
        struct ferry_sig_result res = {0};
        struct ferry_error *e = NULL;
        struct ferry_buf blob;
        bool simple = d->media_type && strcmp(d->media_type, MT_SIMPLESIGNING) == 0;
        bool bundle = (d->media_type &&
                       strncmp(d->media_type, MT_BUNDLE_PREFIX, strlen(MT_BUNDLE_PREFIX)) == 0) ||
                      (atype && strncmp(atype, MT_BUNDLE_PREFIX, strlen(MT_BUNDLE_PREFIX)) == 0);
        if (!simple && !bundle)
            continue;
        ferry_buf_init(&blob, FERRY_SIGSTORE_MAX_DOC);
        r = read_blob(v, d->digest, FERRY_SIGSTORE_MAX_DOC, &blob, err);
        if (r == -FERRY_E_TOO_LARGE) { /* no signature of ours is that large */
            ferry_error_clear(err);
            if (weight(FERRY_SIG_MALFORMED) > weight(best->reason)) {
                ferry_sig_result_clear(best);
                best->reason = FERRY_SIG_MALFORMED;
            }
            r = 0;
        }
        if (r <= 0) {
            ferry_buf_free(&blob);
            if (r == 0)
                continue;
            return r;
        }
        if (simple) {
            struct ferry_cosign_layer layer = {0};
            layer.payload = blob.data;
            layer.payload_len = blob.len;
            layer.payload_digest = d->digest;
            layer.signature = ann(d, ANN_SIGNATURE);
            layer.certificate = ann(d, ANN_CERTIFICATE);
            layer.rekor_bundle = ann(d, ANN_REKOR_BUNDLE);
            if (layer.signature == NULL) {
                res.reason = FERRY_SIG_NO_SIGNATURE;
                r = -FERRY_E_SIGNATURE;
            } else {
                r = ferry_cosign_verify_simple(&layer, trust, subject, &res, &e);
            }
        } else {
            r = ferry_sigstore_bundle_verify(blob.data, blob.len, trust, subject, NULL, 0, &res,
                                             &e);
        }
        ferry_buf_free(&blob);
        ferry_error_free(e);
        if (r == 0 && res.reason == FERRY_SIG_VERIFIED) {
            ferry_sig_result_clear(best);
            *best = res;
            return 1;
        }
        if (res.reason == FERRY_SIG_ERROR && r == -FERRY_E_NOMEM) {
            ferry_sig_result_clear(&res);
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        }
        if (weight(res.reason) > weight(best->reason)) {
            ferry_sig_result_clear(best);
            *best = res;
        } else {
            ferry_sig_result_clear(&res);
        }
        r = 0;
    }
    return r < 0 ? r : 0;
}

int
ferry_import_check_signatures(const struct ferry_verified *v, const struct ferry_sig_trust *trust,
                              ferry_sig_verdict_fn cb, void *ud, size_t *unsigned_images,
                              struct ferry_error **err)
{
    const struct ferry_statement *st = v->st;
    size_t bad = 0;
    int r = 0;

    if (trust == NULL || trust->nkeys == 0)
        return ferry_error_new(err, FERRY_E_USAGE, "no key to require signatures by");
    if (v->layout == NULL)
        return ferry_error_new(err, FERRY_E_USAGE, "a volume that borrows its graph");
    for (size_t i = 0; i < st->nimages && r >= 0; i++) {
        const struct ferry_stmt_image *im = &st->images[i];
        struct ferry_sig_result best = {0};
        size_t candidates = 0;
        int ok = 0;
        best.reason = FERRY_SIG_NO_SIGNATURE;
        /* the referrers of the image's digest, or of the source index it
         * was filtered from (what the vendor signed) */
        for (size_t j = 0; j < st->nreferrers && ok == 0; j++) {
            const struct ferry_stmt_referrer *rf = &st->referrers[j];
            const struct ferry_layout_manifest *lm;
            if (rf->image != i ||
                (strcmp(rf->subject, im->digest) != 0 &&
                 (im->source_digest == NULL || strcmp(rf->subject, im->source_digest) != 0)))
                continue;
            lm = ferry_layout_get_manifest(v->layout, rf->digest);
            if (lm == NULL || lm->m == NULL || lm->m->kind == FERRY_KIND_INDEX)
                continue;
            candidates++;
            ok = check_referrer(v, trust, rf->subject, lm, &best, err);
            if (ok < 0)
                r = ok;
        }
        if (r < 0) {
            ferry_sig_result_clear(&best);
            break;
        }
        if (ok == 1) {
            if (cb)
                cb(i, best.key_id, NULL, ud);
        } else {
            char why[256];
            bad++;
            if (candidates == 0 || best.reason == FERRY_SIG_NO_SIGNATURE)
                snprintf(why, sizeof why, "no signature");
            else
                snprintf(why, sizeof why, "no valid signature: %s",
                         ferry_sig_reason_name(best.reason));
            if (cb)
                cb(i, NULL, why, ud);
        }
        ferry_sig_result_clear(&best);
    }
    if (unsigned_images != NULL)
        *unsigned_images = bad;
    return r;
}
