/* ferry: cosign simple signing and DSSE envelopes, verified offline with
 * public keys (cosign-formats.md §1). Bundles and the transparency log are
 * in sigstore_bundle.c and sigstore_tlog.c, keys and signature checks in
 * sigstore_key.c. */
#include <stdio.h>
#include <string.h>

#include "ferry/limits.h"
#include "ferry/util.h"
#include "json_int.h"
#include "sigstore_int.h"

#define SIMPLE_SIGNING_TYPE "cosign container image signature"
#define INTOTO_PAYLOAD_TYPE "application/vnd.in-toto+json"
#define INTOTO_STATEMENT_V01 "https://in-toto.io/Statement/v0.1"
#define INTOTO_STATEMENT_V1 "https://in-toto.io/Statement/v1"

/* Shown in messages: enough of a digest to name it. */
#define WHAT_SIZE 160

/* ---- the signature text ---------------------------------------------------------- */

/* Decode a base64 signature. Fails NO_SIGNATURE when it is empty (CR/LF
 * aside), MALFORMED when it is not base64. */
static int
signature_decode(const char *b64, const char *what, unsigned char **sig, size_t *siglen,
                 struct ferry_sig_result *res, struct ferry_error **err)
{
    size_t n = b64 != NULL ? strlen(b64) : 0, text = 0;
    int r;

    for (size_t i = 0; i < n; i++)
        if (b64[i] != '\r' && b64[i] != '\n')
            text++;
    if (text == 0)
        return ferry_sig_fail(res, FERRY_SIG_NO_SIGNATURE, err, "%s: no signature", what);
    if (n > FERRY_SIGSTORE_MAX_SIG)
        return ferry_sig_failc(res, FERRY_SIG_MALFORMED, FERRY_E_TOO_LARGE, err,
                               "%s: signature of %zu characters, more than %u", what, n,
                               FERRY_SIGSTORE_MAX_SIG);
    r = ferry_sig_b64_decode(b64, n, false, FERRY_SIGSTORE_MAX_SIG, what, sig, siglen, err);
    if (r < 0)
        return ferry_sig_lower(res, r);
    return 0;
}

static int
digest_arg(const char *text, const char *name, struct ferry_digest *d, struct ferry_sig_result *res,
           struct ferry_error **err)
{
    int r;

    if (text == NULL)
        return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_USAGE, err, "no %s given", name);
    r = ferry_digest_parse(text, d, err);
    if (r < 0) {
        ferry_error_wrap(err, "%s", name);
        res->reason = r == -FERRY_E_UNSUPPORTED ? FERRY_SIG_UNSUPPORTED : FERRY_SIG_ERROR;
        return r;
    }
    return 0;
}

/* ---- simple signing ------------------------------------------------------------------ */

/* The payload's claims: strict keys (as containers/image reads them), the
 * type, the digest. */
static int
simple_claims(const void *payload, size_t len, const struct ferry_digest *image, const char *what,
              struct ferry_sig_result *res, struct ferry_error **err)
{
    static const char *const top_keys[] = {"critical", "optional", NULL};
    static const char *const critical_keys[] = {"identity", "image", "type", NULL};
    static const char *const image_keys[] = {"docker-manifest-digest", NULL};
    static const char *const identity_keys[] = {"docker-reference", NULL};
    json_t *root = NULL, *critical, *v, *image_obj, *identity;
    const char *digest;
    char q[120];
    int r;

    r = ferry_sig_json_load(payload, len, FERRY_SIGSTORE_MAX_DOC, what, &root, res, err);
    if (r < 0)
        return r;
    if ((r = ferry_sig_json_keys(root, top_keys, what, res, err)) < 0 ||
        (r = ferry_sig_json_get(root, "critical", JSON_OBJECT, true, what, &critical, res, err)) <
            0 ||
        (r = ferry_sig_json_get(root, "optional", JSON_OBJECT, false, what, &v, res, err)) < 0 ||
        (r = ferry_sig_json_keys(critical, critical_keys, what, res, err)) < 0 ||
        (r = ferry_sig_json_get(critical, "type", JSON_STRING, true, what, &v, res, err)) < 0)
        goto out;
    if (strcmp(json_string_value(v), SIMPLE_SIGNING_TYPE) != 0) {
        r = ferry_sig_fail(res, FERRY_SIG_MALFORMED, err,
                           "%s: payload type is %s, not \"" SIMPLE_SIGNING_TYPE "\"", what,
                           ferry_quote(q, sizeof q, json_string_value(v), json_string_length(v)));
        goto out;
    }
    if ((r = ferry_sig_json_get(critical, "image", JSON_OBJECT, true, what, &image_obj, res, err)) <
            0 ||
        (r = ferry_sig_json_keys(image_obj, image_keys, what, res, err)) < 0 ||
        (r = ferry_sig_json_get(image_obj, "docker-manifest-digest", JSON_STRING, true, what, &v,
                                res, err)) < 0)
        goto out;
    digest = json_string_value(v);
    if (strcmp(digest, image->str) != 0) {
        r = ferry_sig_fail(res, FERRY_SIG_DIGEST_MISMATCH, err,
                           "%s: signed payload names image %s, not %s", what,
                           ferry_quote(q, sizeof q, digest, json_string_length(v)), image->str);
        goto out;
    }
    if ((r = ferry_sig_json_get(critical, "identity", JSON_OBJECT, false, what, &identity, res,
                                err)) < 0)
        goto out;
    if (identity != NULL) {
        if ((r = ferry_sig_json_keys(identity, identity_keys, what, res, err)) < 0 ||
            (r = ferry_sig_json_get(identity, "docker-reference", JSON_STRING, false, what, &v, res,
                                    err)) < 0)
            goto out;
        if (v != NULL) {
            if ((r = ferry_json_text(FERRY_E_INVALID, what, "docker-reference",
                                     json_string_value(v), err)) < 0) {
                ferry_sig_lower(res, r);
                goto out;
            }
            if ((res->identity = ferry_strdup(json_string_value(v))) == NULL) {
                r = ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_NOMEM, err, "%s: out of memory",
                                    what);
                goto out;
            }
        }
    }
    r = 0;
out:
    json_decref(root);
    return r;
}

/* A certificate-based layer, once its signature verified with the
 * certificate's key and its SET (if any) checked: the signing time is the
 * integratedTime of a verified SET (cosign pkg/cosign/verify.go
 * verifyInternal: keyless needs the tlog or a TSA), then the certificate
 * (sigstore_cert.c). The chain annotation gives untrusted intermediates
 * only. */
static int
simple_keyless(const struct ferry_cosign_layer *layer, const struct ferry_sig_trust *trust,
               const char *what, struct ferry_sig_result *res, struct ferry_error **err)
{
    STACK_OF(X509) *leaf = NULL, *chain = NULL;
    int r;

    if (res->tlog != FERRY_TLOG_VERIFIED)
        return ferry_sig_fail(res, FERRY_SIG_TLOG_MISSING, err,
                              "%s: a certificate-based signature needs a verified tlog entry for "
                              "its time, and none verified",
                              what);
    r = ferry_sig_certs_from_pem(layer->certificate, strlen(layer->certificate), 1,
                                 "signature certificate", &leaf, err);
    if (r == 0 && layer->chain != NULL)
        r = ferry_sig_certs_from_pem(layer->chain, strlen(layer->chain), FERRY_SIGSTORE_MAX_CHAIN,
                                     "signature certificate chain", &chain, err);
    if (r < 0) {
        ferry_error_wrap(err, "%s", what);
        ferry_sig_lower(res, r);
        goto out;
    }
    r = ferry_sig_keyless_check(trust, sk_X509_value(leaf, 0), chain, res->tlog_integrated_time,
                                what, res, err);
out:
    sk_X509_pop_free(leaf, X509_free);
    sk_X509_pop_free(chain, X509_free);
    return r;
}

int
ferry_cosign_verify_simple(const struct ferry_cosign_layer *layer,
                           const struct ferry_sig_trust *trust, const char *image_digest,
                           struct ferry_sig_result *res, struct ferry_error **err)
{
    struct ferry_sig_result local;
    struct ferry_digest image, layer_digest;
    struct ferry_sig_key *certkey = NULL;
    struct ferry_tlog_entry entry = {0};
    struct ferry_tlog_binding bind = {0};
    const struct ferry_sig_key *vkey = NULL;
    unsigned char *sig = NULL;
    size_t siglen = 0, which = 0;
    char what[WHAT_SIZE];
    int r;

    if (res == NULL)
        res = &local;
    ferry_sig_result_init(res);
    if ((r = ferry_sig_trust_check(trust, res, err)) < 0)
        return r;
    if (layer == NULL)
        return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_USAGE, err,
                               "cosign signature: no layer given");
    if ((r = digest_arg(image_digest, "cosign signature: image digest", &image, res, err)) < 0)
        return r;
    snprintf(what, sizeof what, "cosign signature for %s", image.str);
    if (layer->payload == NULL && layer->payload_len > 0)
        return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_USAGE, err, "%s: no payload", what);
    if (layer->payload_len > FERRY_SIGSTORE_MAX_DOC)
        return ferry_sig_failc(res, FERRY_SIG_MALFORMED, FERRY_E_TOO_LARGE, err,
                               "%s: payload of %zu bytes, more than %u", what, layer->payload_len,
                               FERRY_SIGSTORE_MAX_DOC);
    if (layer->payload_digest != NULL) {
        if ((r = digest_arg(layer->payload_digest, "cosign signature: layer digest", &layer_digest,
                            res, err)) < 0)
            return r;
        r = ferry_digest_verify(&layer_digest, layer->payload != NULL ? layer->payload : "",
                                layer->payload_len, "signature payload", err);
        if (r < 0) {
            ferry_error_wrap(err, "%s", what);
            return ferry_sig_lower(res, r);
        }
    }
    if ((r = signature_decode(layer->signature, what, &sig, &siglen, res, err)) < 0)
        return r;
    if (layer->certificate != NULL) {
        r = ferry_sig_key_from_pem_any(layer->certificate, strlen(layer->certificate),
                                       "signature certificate", &certkey, err);
        if (r < 0) {
            ferry_error_wrap(err, "%s", what);
            ferry_sig_lower(res, r);
            goto out;
        }
    }

    {
        const struct ferry_sig_msg msg = {.data = layer->payload != NULL ? layer->payload : "",
                                          .len = layer->payload_len};
        r = ferry_sig_check_keys(trust->keys, trust->nkeys, &msg, sig, siglen, &which, err);
        if (r < 0) {
            ferry_error_wrap(err, "%s", what);
            ferry_sig_lower(res, r);
            goto out;
        }
        if (r == 1) {
            vkey = trust->keys[which];
            if (certkey != NULL && !ferry_sig_key_equal(certkey, vkey)) {
                r = ferry_sig_fail(res, FERRY_SIG_BAD_SIGNATURE, err,
                                   "%s: verified by key %s, but the layer's certificate holds "
                                   "key %s",
                                   what, vkey->id, certkey->id);
                goto out;
            }
            /* key-verified: the certificate adds nothing */
            ferry_sig_key_free(certkey);
            certkey = NULL;
        } else if (certkey != NULL) {
            r = ferry_sig_check(certkey, &msg, sig, siglen, err);
            if (r < 0) {
                ferry_error_wrap(err, "%s", what);
                ferry_sig_lower(res, r);
                goto out;
            }
            if (r == 0) {
                r = ferry_sig_fail(res, FERRY_SIG_BAD_SIGNATURE, err,
                                   "%s: signature does not verify with the key of its certificate",
                                   what);
                goto out;
            }
            vkey = certkey;
        } else {
            r = ferry_sig_fail(res, FERRY_SIG_WRONG_KEY, err,
                               "%s: signature does not verify with any of the %zu given keys", what,
                               trust->nkeys);
            goto out;
        }
    }
    if ((r = simple_claims(layer->payload, layer->payload_len, &image, what, res, err)) < 0)
        goto out;
    if (layer->rekor_bundle != NULL) {
        r = ferry_tlog_parse_legacy(layer->rekor_bundle, strlen(layer->rekor_bundle), &entry, res,
                                    err);
        if (r < 0) {
            ferry_error_wrap(err, "%s", what);
            goto out;
        }
    }
    bind.form = FERRY_TLOG_FORM_MESSAGE;
    bind.key = vkey;
    bind.sig = sig;
    bind.siglen = siglen;
    ferry_sig_sha256(layer->payload, layer->payload_len, bind.hash);
    r = ferry_tlog_check(&entry, layer->rekor_bundle != NULL ? 1 : 0, trust, &bind, what, res, err);
    if (r < 0)
        goto out;
    if (certkey != NULL) {
        if (trust->root == NULL) {
            r = ferry_sig_fail(res, FERRY_SIG_NEEDS_TRUSTED_ROOT, err,
                               "%s: certificate-based: needs a trusted root", what);
            goto out;
        }
        if ((r = simple_keyless(layer, trust, what, res, err)) < 0)
            goto out;
        res->key_index = SIZE_MAX;
        snprintf(res->key_id, sizeof res->key_id, "%s", certkey->id);
    } else {
        ferry_sig_result_key(res, trust, which);
    }
    res->claim_checked = true;
    res->reason = FERRY_SIG_VERIFIED;
    r = 0;
out:
    if (r < 0)
        ferry_sig_result_failed(res);
    ferry_tlog_entry_clear(&entry);
    ferry_sig_key_free(certkey);
    ferry_free(sig);
    if (res == &local)
        ferry_sig_result_clear(res);
    return r;
}

/* ---- DSSE ------------------------------------------------------------------------------ */

void
ferry_dsse_clear(struct ferry_dsse *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->nsigs; i++)
        ferry_free(d->sigs[i]);
    ferry_free(d->sigs);
    ferry_free(d->siglens);
    ferry_free(d->keyids);
    ferry_free(d->body);
    ferry_free(d->pae);
    memset(d, 0, sizeof *d);
}

/* PAE(type, body) = "DSSEv1" SP len(type) SP type SP len(body) SP body. */
static int
dsse_pae(struct ferry_dsse *d, const char *what, struct ferry_sig_result *res,
         struct ferry_error **err)
{
    struct ferry_buf b;
    size_t n;
    int r;

    ferry_buf_init(&b, FERRY_SIGSTORE_MAX_DOC * 2 + 64);
    if ((r = ferry_buf_appendf(&b, err, "DSSEv1 %zu %s %zu ", strlen(d->payload_type),
                               d->payload_type, d->body_len)) < 0 ||
        (r = ferry_buf_append(&b, d->body, d->body_len, err)) < 0) {
        ferry_buf_free(&b);
        ferry_error_wrap(err, "%s: envelope", what);
        return ferry_sig_lower(res, r);
    }
    d->pae = (unsigned char *)ferry_buf_take(&b, &n);
    d->pae_len = n;
    return 0;
}

int
ferry_dsse_parse(json_t *env, const char *what, struct ferry_dsse *d, struct ferry_sig_result *res,
                 struct ferry_error **err)
{
    static const char *const env_keys[] = {"payloadType", "payload", "signatures", NULL};
    static const char *const sig_keys[] = {"keyid", "sig", NULL};
    json_t *type, *payload, *sigs, *v;
    size_t n;
    int r;

    memset(d, 0, sizeof *d);
    if ((r = ferry_sig_json_keys(env, env_keys, what, res, err)) < 0 ||
        (r = ferry_sig_json_get(env, "payloadType", JSON_STRING, true, what, &type, res, err)) <
            0 ||
        (r = ferry_sig_json_get(env, "payload", JSON_STRING, true, what, &payload, res, err)) < 0 ||
        (r = ferry_sig_json_get(env, "signatures", JSON_ARRAY, true, what, &sigs, res, err)) < 0)
        return r;
    d->payload_type = json_string_value(type);
    if (json_string_length(type) == 0 || strlen(d->payload_type) != json_string_length(type))
        return ferry_sig_fail(res, FERRY_SIG_MALFORMED, err, "%s: empty payloadType", what);
    if ((r = ferry_json_text(FERRY_E_INVALID, what, "payloadType", d->payload_type, err)) < 0)
        return ferry_sig_lower(res, r);
    /* DSSE: standard base64, URL-safe accepted as a fallback */
    r = ferry_sig_b64_decode(json_string_value(payload), json_string_length(payload), true,
                             FERRY_SIGSTORE_MAX_DOC, what, &d->body, &d->body_len, err);
    if (r < 0)
        return ferry_sig_lower(res, r);
    if ((r = dsse_pae(d, what, res, err)) < 0)
        goto fail;
    n = json_array_size(sigs);
    if (n == 0) {
        r = ferry_sig_fail(res, FERRY_SIG_NO_SIGNATURE, err, "%s: envelope has no signature", what);
        goto fail;
    }
    if (n > FERRY_SIGSTORE_MAX_SIGNATURES) {
        r = ferry_sig_failc(res, FERRY_SIG_MALFORMED, FERRY_E_TOO_LARGE, err,
                            "%s: %zu signatures, more than %d", what, n,
                            FERRY_SIGSTORE_MAX_SIGNATURES);
        goto fail;
    }
    d->sigs = ferry_calloc(n, sizeof *d->sigs);
    d->siglens = ferry_calloc(n, sizeof *d->siglens);
    d->keyids = ferry_calloc(n, sizeof *d->keyids);
    if (d->sigs == NULL || d->siglens == NULL || d->keyids == NULL) {
        r = ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_NOMEM, err, "%s: out of memory", what);
        goto fail;
    }
    d->nsigs = n;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(sigs, i);
        char swhat[WHAT_SIZE + 32];
        snprintf(swhat, sizeof swhat, "%s: signatures[%zu]", what, i);
        if (!json_is_object(s)) {
            r = ferry_sig_fail(res, FERRY_SIG_MALFORMED, err, "%s: not an object", swhat);
            goto fail;
        }
        if ((r = ferry_sig_json_keys(s, sig_keys, swhat, res, err)) < 0 ||
            (r = ferry_sig_json_get(s, "keyid", JSON_STRING, false, swhat, &v, res, err)) < 0)
            goto fail;
        d->keyids[i] = v != NULL ? json_string_value(v) : NULL;
        if ((r = ferry_sig_json_get(s, "sig", JSON_STRING, true, swhat, &v, res, err)) < 0)
            goto fail;
        if (json_string_length(v) == 0)
            continue; /* an empty signature verifies nothing */
        if (json_string_length(v) > FERRY_SIGSTORE_MAX_SIG) {
            r = ferry_sig_failc(res, FERRY_SIG_MALFORMED, FERRY_E_TOO_LARGE, err,
                                "%s: signature of more than %u characters", swhat,
                                FERRY_SIGSTORE_MAX_SIG);
            goto fail;
        }
        r = ferry_sig_b64_decode(json_string_value(v), json_string_length(v), true,
                                 FERRY_SIGSTORE_MAX_SIG, swhat, &d->sigs[i], &d->siglens[i], err);
        if (r < 0) {
            ferry_sig_lower(res, r);
            goto fail;
        }
    }
    return 0;
fail:
    ferry_dsse_clear(d);
    return r;
}

int
ferry_dsse_check_sigs(const struct ferry_dsse *d, struct ferry_sig_key *const *keys, size_t nkeys,
                      const struct ferry_sig_key *certkey, const char *what, size_t *which,
                      size_t *used, struct ferry_sig_result *res, struct ferry_error **err)
{
    const struct ferry_sig_msg msg = {.data = d->pae, .len = d->pae_len};
    size_t nonempty = 0;
    int r;

    for (size_t i = 0; i < d->nsigs; i++) {
        if (d->sigs[i] == NULL || d->siglens[i] == 0)
            continue;
        nonempty++;
        r = ferry_sig_check_keys(keys, nkeys, &msg, d->sigs[i], d->siglens[i], which, err);
        if (r == 0 && certkey != NULL) {
            r = ferry_sig_check(certkey, &msg, d->sigs[i], d->siglens[i], err);
            *which = SIZE_MAX;
        }
        if (r < 0) {
            ferry_error_wrap(err, "%s", what);
            return ferry_sig_lower(res, r);
        }
        if (r == 1) {
            *used = i;
            return 0;
        }
    }
    if (nonempty == 0)
        return ferry_sig_fail(res, FERRY_SIG_NO_SIGNATURE, err, "%s: envelope has no signature",
                              what);
    if (certkey != NULL)
        return ferry_sig_fail(res, FERRY_SIG_BAD_SIGNATURE, err,
                              "%s: signature does not verify with the key of its certificate",
                              what);
    return ferry_sig_fail(res, FERRY_SIG_WRONG_KEY, err,
                          "%s: no signature of the envelope verifies with any of the %zu given "
                          "keys",
                          what, nkeys);
}

/* The in-toto Statement's subjects. Unknown keys are allowed (in-toto asks
 * consumers to ignore them); the fields ferry reads are typed. */
static int
statement_check(const struct ferry_dsse *d, const struct ferry_digest *subject, const char *what,
                struct ferry_sig_result *res, struct ferry_error **err)
{
    json_t *root = NULL, *v, *subjects, *ptype;
    const char *alg = subject != NULL ? ferry_digest_alg_name(subject->alg) : NULL;
    const char *hex = subject != NULL ? ferry_digest_hex(subject) : NULL;
    bool found = false;
    char q[120];
    size_t n;
    int r;

    r = ferry_sig_json_load(d->body, d->body_len, FERRY_SIGSTORE_MAX_DOC, what, &root, res, err);
    if (r < 0)
        return r;
    if ((r = ferry_sig_json_get(root, "_type", JSON_STRING, true, what, &v, res, err)) < 0)
        goto out;
    if (strcmp(json_string_value(v), INTOTO_STATEMENT_V01) != 0 &&
        strcmp(json_string_value(v), INTOTO_STATEMENT_V1) != 0) {
        r = ferry_sig_fail(res, FERRY_SIG_UNSUPPORTED, err,
                           "%s: statement type %s is not supported", what,
                           ferry_quote(q, sizeof q, json_string_value(v), json_string_length(v)));
        goto out;
    }
    if ((r = ferry_sig_json_get(root, "predicateType", JSON_STRING, true, what, &ptype, res, err)) <
            0 ||
        (r = ferry_sig_json_get(root, "subject", JSON_ARRAY, true, what, &subjects, res, err)) < 0)
        goto out;
    if ((r = ferry_json_text(FERRY_E_INVALID, what, "predicateType", json_string_value(ptype),
                             err)) < 0) {
        ferry_sig_lower(res, r);
        goto out;
    }
    n = json_array_size(subjects);
    if (n == 0) {
        r = ferry_sig_fail(res, FERRY_SIG_SUBJECT_MISMATCH, err, "%s: statement has no subject",
                           what);
        goto out;
    }
    if (n > FERRY_SIGSTORE_MAX_SUBJECTS) {
        r = ferry_sig_failc(res, FERRY_SIG_MALFORMED, FERRY_E_TOO_LARGE, err,
                            "%s: %zu subjects, more than %d", what, n, FERRY_SIGSTORE_MAX_SUBJECTS);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(subjects, i), *digests, *dv;
        const char *dalg;
        char swhat[WHAT_SIZE + 32];
        snprintf(swhat, sizeof swhat, "%s: subject[%zu]", what, i);
        if (!json_is_object(s)) {
            r = ferry_sig_fail(res, FERRY_SIG_MALFORMED, err, "%s: not an object", swhat);
            goto out;
        }
        if ((r = ferry_sig_json_get(s, "name", JSON_STRING, false, swhat, &v, res, err)) < 0 ||
            (r = ferry_sig_json_get(s, "digest", JSON_OBJECT, true, swhat, &digests, res, err)) < 0)
            goto out;
        json_object_foreach(digests, dalg, dv)
        {
            if (!json_is_string(dv)) {
                r = ferry_sig_fail(res, FERRY_SIG_MALFORMED, err,
                                   "%s: digest \"%s\" is not a string", swhat,
                                   ferry_quote(q, sizeof q, dalg, strlen(dalg)));
                goto out;
            }
            if (alg != NULL && strcmp(dalg, alg) == 0 && strcmp(json_string_value(dv), hex) == 0)
                found = true;
        }
    }
    if (subject != NULL && !found) {
        r = ferry_sig_fail(res, FERRY_SIG_SUBJECT_MISMATCH, err,
                           "%s: no subject of the statement has digest %s", what, subject->str);
        goto out;
    }
    if ((res->predicate_type = ferry_strdup(json_string_value(ptype))) == NULL) {
        r = ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_NOMEM, err, "%s: out of memory", what);
        goto out;
    }
    r = 0;
out:
    json_decref(root);
    return r;
}

int
ferry_dsse_check_claim(const struct ferry_dsse *d, const struct ferry_digest *subject,
                       const char *what, struct ferry_sig_result *res, struct ferry_error **err)
{
    int r;

    if ((res->payload_type = ferry_strdup(d->payload_type)) == NULL)
        return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_NOMEM, err, "%s: out of memory", what);
    if (strcmp(d->payload_type, INTOTO_PAYLOAD_TYPE) == 0) {
        r = statement_check(d, subject, what, res, err);
    } else if (subject != NULL) {
        /* not a statement: the payload is the artifact itself */
        struct ferry_digest got;
        ferry_digest_buffer(subject->alg, d->body, d->body_len, &got);
        if (strcmp(got.str, subject->str) != 0)
            return ferry_sig_fail(res, FERRY_SIG_SUBJECT_MISMATCH, err,
                                  "%s: payload of type %s is %s, not %s", what, d->payload_type,
                                  got.str, subject->str);
        r = 0;
    } else {
        r = 0;
    }
    if (r == 0)
        res->claim_checked = subject != NULL;
    return r;
}

int
ferry_dsse_verify(const void *envelope, size_t len, const struct ferry_sig_trust *trust,
                  const char *subject_digest, struct ferry_sig_result *res,
                  struct ferry_error **err)
{
    struct ferry_sig_result local;
    struct ferry_digest subject;
    struct ferry_dsse d = {0};
    json_t *root = NULL;
    size_t which = 0, used = 0;
    char what[WHAT_SIZE];
    int r;

    if (res == NULL)
        res = &local;
    ferry_sig_result_init(res);
    if ((r = ferry_sig_trust_check(trust, res, err)) < 0)
        return r;
    if (subject_digest != NULL &&
        (r = digest_arg(subject_digest, "dsse envelope: subject digest", &subject, res, err)) < 0)
        return r;
    if (subject_digest != NULL)
        snprintf(what, sizeof what, "dsse envelope for %s", subject.str);
    else
        snprintf(what, sizeof what, "dsse envelope");
    if (envelope == NULL && len > 0)
        return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_USAGE, err, "%s: no data", what);
    if ((r = ferry_sig_json_load(envelope, len, FERRY_SIGSTORE_MAX_DOC, what, &root, res, err)) <
            0 ||
        (r = ferry_dsse_parse(root, what, &d, res, err)) < 0 ||
        (r = ferry_dsse_check_sigs(&d, trust->keys, trust->nkeys, NULL, what, &which, &used, res,
                                   err)) < 0 ||
        (r = ferry_dsse_check_claim(&d, subject_digest != NULL ? &subject : NULL, what, res, err)) <
            0)
        goto out;
    if (trust->require_tlog) {
        r = ferry_sig_fail(res, FERRY_SIG_TLOG_MISSING, err,
                           "%s: a tlog entry is required, and an envelope carries none", what);
        goto out;
    }
    ferry_sig_result_key(res, trust, which);
    res->reason = FERRY_SIG_VERIFIED;
    r = 0;
out:
    if (r < 0)
        ferry_sig_result_failed(res);
    ferry_dsse_clear(&d);
    json_decref(root);
    if (res == &local)
        ferry_sig_result_clear(res);
    return r;
}
