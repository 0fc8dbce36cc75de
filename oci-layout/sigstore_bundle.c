/* ferry: Sigstore bundles (protobuf-specs sigstore_bundle.proto, JSON
 * form) verified with public keys (cosign-formats.md §2b). Log entries are
 * checked in sigstore_tlog.c. */
#include <stdio.h>
#include <string.h>

#include "ferry/util.h"
#include "json_int.h"
#include "sigstore_int.h"

#define BUNDLE_MEDIA_TYPE_PREFIX "application/vnd.dev.sigstore.bundle+json;version="
#define BUNDLE_MEDIA_TYPE_V03 "application/vnd.dev.sigstore.bundle.v0.3+json"

#define WHAT_SIZE 160

/* A lowercase hex digit's value (ferry_digest_parse checked the text). */
static unsigned int
hex_value(char c)
{
    return c >= 'a' ? (unsigned int)(c - 'a' + 10) : (unsigned int)(c - '0');
}

/* ---- bundles ----------------------------------------------------------------------------- */

static int
bundle_version(const char *mt)
{
    size_t n = sizeof BUNDLE_MEDIA_TYPE_PREFIX - 1;

    if (strcmp(mt, BUNDLE_MEDIA_TYPE_V03) == 0)
        return 3;
    if (strncmp(mt, BUNDLE_MEDIA_TYPE_PREFIX, n) != 0)
        return 0;
    if (strcmp(mt + n, "0.1") == 0)
        return 1;
    if (strcmp(mt + n, "0.2") == 0)
        return 2;
    if (strcmp(mt + n, "0.3") == 0)
        return 3;
    return 0;
}

struct bundle {
    struct ferry_sig_key *certkey; /* certificate material: its (untrusted) key */
    X509 *leaf;                    /* ... the certificate */
    STACK_OF(X509) * chain;        /* ... x509CertificateChain's others (untrusted) */
    bool hinted;                   /* publicKey.hint names one of the given keys */
    struct ferry_tlog_entry *entries;
    size_t nentries;
    json_t *msgsig;
    json_t *dsse;
};

static void
bundle_clear(struct bundle *b)
{
    for (size_t i = 0; i < b->nentries; i++)
        ferry_tlog_entry_clear(&b->entries[i]);
    ferry_free(b->entries);
    ferry_sig_key_free(b->certkey);
    X509_free(b->leaf);
    sk_X509_pop_free(b->chain, X509_free);
    memset(b, 0, sizeof *b);
}

/* One {rawBytes} certificate: the leaf (its key too), or one more of the
 * chain. */
static int
cert_material(json_t *obj, const char *what, bool leaf, struct bundle *b,
              struct ferry_sig_result *res, struct ferry_error **err)
{
    static const char *const keys[] = {"rawBytes", NULL};
    unsigned char *der = NULL;
    size_t der_len = 0;
    X509 *x = NULL;
    int r;

    if (!json_is_object(obj))
        return ferry_sig_fail(res, FERRY_SIG_MALFORMED, err, "%s: certificate is not an object",
                              what);
    if ((r = ferry_sig_json_keys(obj, keys, what, res, err)) < 0 ||
        (r = ferry_sig_json_bytes(obj, "rawBytes", true, FERRY_SIGSTORE_MAX_CERT, what, &der,
                                  &der_len, res, err)) < 0)
        return r;
    if (leaf && (r = ferry_sig_key_from_cert(der, der_len, what, &b->certkey, err)) < 0) {
        ferry_free(der);
        return ferry_sig_lower(res, r);
    }
    x = ferry_sig_x509_from_der(der, der_len);
    ferry_free(der);
    if (x == NULL)
        return ferry_sig_fail(res, FERRY_SIG_MALFORMED, err, "%s: not a valid x.509 certificate",
                              what);
    if (leaf) {
        b->leaf = x;
        return 0;
    }
    if ((b->chain == NULL && (b->chain = sk_X509_new_null()) == NULL) ||
        sk_X509_push(b->chain, x) <= 0) {
        X509_free(x);
        return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_NOMEM, err, "%s: out of memory", what);
    }
    return 0;
}

static int
bundle_material(json_t *vm, const struct ferry_sig_trust *trust, const char *what, struct bundle *b,
                struct ferry_sig_result *res, struct ferry_error **err)
{
    static const char *const keys[] = {"publicKey",
                                       "certificate",
                                       "x509CertificateChain",
                                       "tlogEntries",
                                       "timestampVerificationData",
                                       NULL};
    static const char *const pk_keys[] = {"hint", NULL};
    static const char *const chain_keys[] = {"certificates", NULL};
    json_t *pk, *cert, *chain, *tlog, *tvd, *v;
    int r, forms;

    if ((r = ferry_sig_json_keys(vm, keys, what, res, err)) < 0 ||
        (r = ferry_sig_json_get(vm, "publicKey", JSON_OBJECT, false, what, &pk, res, err)) < 0 ||
        (r = ferry_sig_json_get(vm, "certificate", JSON_OBJECT, false, what, &cert, res, err)) <
            0 ||
        (r = ferry_sig_json_get(vm, "x509CertificateChain", JSON_OBJECT, false, what, &chain, res,
                                err)) < 0 ||
        (r = ferry_sig_json_get(vm, "tlogEntries", JSON_ARRAY, false, what, &tlog, res, err)) < 0 ||
        (r = ferry_sig_json_get(vm, "timestampVerificationData", JSON_OBJECT, false, what, &tvd,
                                res, err)) < 0)
        return r;
    forms = (pk != NULL) + (cert != NULL) + (chain != NULL);
    if (forms != 1)
        return ferry_sig_fail(res, FERRY_SIG_MALFORMED, err,
                              "%s: verification material must be exactly one of publicKey, "
                              "certificate, x509CertificateChain",
                              what);
    if (pk != NULL) {
        if ((r = ferry_sig_json_keys(pk, pk_keys, what, res, err)) < 0 ||
            (r = ferry_sig_json_get(pk, "hint", JSON_STRING, false, what, &v, res, err)) < 0)
            return r;
        /* cosign writes base64(sha256(DER)): unauthenticated, used only to
         * tell a bad signature from a wrong key */
        if (v != NULL && json_string_length(v) == 44) {
            unsigned char *h = NULL;
            size_t hlen = 0;
            char hex[65];
            if (ferry_sig_b64_decode(json_string_value(v), 44, false, 32, what, &h, &hlen, NULL) ==
                    0 &&
                hlen == 32) {
                ferry_sig_hex(h, 32, hex);
                for (size_t i = 0; i < trust->nkeys; i++)
                    if (strcmp(trust->keys[i]->id, hex) == 0)
                        b->hinted = true;
            }
            ferry_free(h);
        }
    } else if (cert != NULL) {
        if ((r = cert_material(cert, what, true, b, res, err)) < 0)
            return r;
    } else {
        if ((r = ferry_sig_json_keys(chain, chain_keys, what, res, err)) < 0 ||
            (r = ferry_sig_json_get(chain, "certificates", JSON_ARRAY, true, what, &v, res, err)) <
                0)
            return r;
        if (json_array_size(v) == 0)
            return ferry_sig_fail(res, FERRY_SIG_MALFORMED, err, "%s: empty certificate chain",
                                  what);
        if (json_array_size(v) > FERRY_SIGSTORE_MAX_CHAIN + 1)
            return ferry_sig_failc(res, FERRY_SIG_MALFORMED, FERRY_E_TOO_LARGE, err,
                                   "%s: %zu certificates in the chain, more than %d", what,
                                   json_array_size(v), FERRY_SIGSTORE_MAX_CHAIN + 1);
        /* the leaf first; the others only ever untrusted intermediates
         * (sigstore-go reads only the leaf) */
        for (size_t i = 0; i < json_array_size(v); i++)
            if ((r = cert_material(json_array_get(v, i), what, i == 0, b, res, err)) < 0)
                return r;
    }
    if (tlog != NULL && json_array_size(tlog) > 0) {
        size_t n = json_array_size(tlog);
        if (n > FERRY_SIGSTORE_MAX_TLOG_ENTRIES)
            return ferry_sig_failc(res, FERRY_SIG_MALFORMED, FERRY_E_TOO_LARGE, err,
                                   "%s: %zu tlog entries, more than %d", what, n,
                                   FERRY_SIGSTORE_MAX_TLOG_ENTRIES);
        b->entries = ferry_calloc(n, sizeof *b->entries);
        if (b->entries == NULL)
            return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_NOMEM, err, "%s: out of memory",
                                   what);
        for (size_t i = 0; i < n; i++) {
            char ewhat[WHAT_SIZE + 32];
            snprintf(ewhat, sizeof ewhat, "%s: tlogEntries[%zu]", what, i);
            if ((r = ferry_tlog_parse_bundle(json_array_get(tlog, i), ewhat, &b->entries[i], res,
                                             err)) < 0)
                return r;
            b->nentries++;
        }
    }
    return 0;
}

/* Artifact arguments: its SHA-256, from the bytes and/or the digest text. */
static int
artifact_arg(const char *digest, const void *data, size_t len, bool *have, unsigned char hash[32],
             struct ferry_sig_result *res, struct ferry_error **err)
{
    struct ferry_digest d = {0};
    int r;

    *have = false;
    if (digest != NULL) {
        r = ferry_digest_parse(digest, &d, err);
        if (r < 0) {
            ferry_error_wrap(err, "sigstore bundle: artifact digest");
            res->reason = r == -FERRY_E_UNSUPPORTED ? FERRY_SIG_UNSUPPORTED : FERRY_SIG_ERROR;
            return r;
        }
        if (d.alg != FERRY_DIGEST_SHA256)
            return ferry_sig_fail(res, FERRY_SIG_UNSUPPORTED, err,
                                  "sigstore bundle: artifact digest %s: only sha256 is supported",
                                  d.str);
        for (size_t i = 0; i < 32; i++) {
            const char *h = ferry_digest_hex(&d) + 2 * i;
            hash[i] = (unsigned char)(hex_value(h[0]) << 4 | hex_value(h[1]));
        }
        *have = true;
    }
    if (data != NULL) {
        unsigned char got[32];
        ferry_sig_sha256(data, len, got);
        if (*have && memcmp(got, hash, 32) != 0) {
            char hex[65];
            ferry_sig_hex(got, 32, hex);
            return ferry_sig_fail(res, FERRY_SIG_DIGEST_MISMATCH, err,
                                  "sigstore bundle: artifact is sha256:%s, not %s", hex, d.str);
        }
        memcpy(hash, got, 32);
        *have = true;
    }
    return 0;
}

/* After a key check failed: a wrong key becomes a bad signature when the
 * bundle's hint names one of the given keys. */
static int
hinted_failure(const struct bundle *b, int r, struct ferry_sig_result *res,
               struct ferry_error **err)
{
    if (b->hinted && res->reason == FERRY_SIG_WRONG_KEY) {
        res->reason = FERRY_SIG_BAD_SIGNATURE;
        return ferry_error_recode(err, FERRY_E_SIGNATURE);
    }
    return r;
}

static int
verify_message(const struct bundle *b, const struct ferry_sig_trust *trust, const void *artifact,
               size_t artifact_len, bool have, const unsigned char hash[32], const char *what,
               size_t *which, struct ferry_tlog_binding *bind, unsigned char **sigp,
               struct ferry_sig_result *res, struct ferry_error **err)
{
    static const char *const keys[] = {"messageDigest", "signature", NULL};
    static const char *const md_keys[] = {"algorithm", "digest", NULL};
    json_t *md, *v;
    unsigned char *claimed = NULL, *sig = NULL;
    size_t claimed_len = 0, siglen = 0;
    struct ferry_sig_msg msg = {0};
    char q[64], hex[65];
    int r;

    if (!have)
        return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_USAGE, err,
                               "%s: a message signature needs the artifact or its digest", what);
    ferry_sig_hex(hash, 32, hex);
    if ((r = ferry_sig_json_keys(b->msgsig, keys, what, res, err)) < 0 ||
        (r = ferry_sig_json_get(b->msgsig, "messageDigest", JSON_OBJECT, false, what, &md, res,
                                err)) < 0)
        return r;
    if (md != NULL) {
        if ((r = ferry_sig_json_keys(md, md_keys, what, res, err)) < 0 ||
            (r = ferry_sig_json_get(md, "algorithm", JSON_STRING, true, what, &v, res, err)) < 0)
            return r;
        if (strcmp(json_string_value(v), "SHA2_256") != 0)
            return ferry_sig_fail(
                res, FERRY_SIG_UNSUPPORTED, err, "%s: message digest algorithm %s is not supported",
                what, ferry_quote(q, sizeof q, json_string_value(v), json_string_length(v)));
        if ((r = ferry_sig_json_bytes(md, "digest", true, 64, what, &claimed, &claimed_len, res,
                                      err)) < 0)
            return r;
        if (claimed_len != 32 || memcmp(claimed, hash, 32) != 0) {
            char chex[65] = "";
            if (claimed_len == 32)
                ferry_sig_hex(claimed, 32, chex);
            ferry_free(claimed);
            return ferry_sig_fail(res, FERRY_SIG_DIGEST_MISMATCH, err,
                                  "%s: bundle's message digest is sha256:%s, the artifact is "
                                  "sha256:%s",
                                  what, claimed_len == 32 ? chex : "(malformed)", hex);
        }
        ferry_free(claimed);
    }
    if ((r = ferry_sig_json_get(b->msgsig, "signature", JSON_STRING, true, what, &v, res, err)) < 0)
        return r;
    if (json_string_length(v) == 0)
        return ferry_sig_fail(res, FERRY_SIG_NO_SIGNATURE, err, "%s: no signature", what);
    if ((r = ferry_sig_json_bytes(b->msgsig, "signature", true, FERRY_SIGSTORE_MAX_SIG, what, &sig,
                                  &siglen, res, err)) < 0)
        return r;
    if (artifact != NULL) {
        msg.data = artifact;
        msg.len = artifact_len;
    } else {
        msg.md = EVP_sha256();
        msg.hash = hash;
        msg.hash_len = 32;
    }
    if (b->certkey != NULL) {
        r = ferry_sig_check(b->certkey, &msg, sig, siglen, err);
        if (r == 0)
            r = ferry_sig_fail(res, FERRY_SIG_BAD_SIGNATURE, err,
                               "%s: signature does not verify with the key of its certificate",
                               what);
        else if (r < 0) {
            ferry_error_wrap(err, "%s", what);
            ferry_sig_lower(res, r);
        }
    } else {
        r = ferry_sig_check_keys(trust->keys, trust->nkeys, &msg, sig, siglen, which, err);
        if (r == 0)
            r = hinted_failure(b,
                               ferry_sig_fail(res, FERRY_SIG_WRONG_KEY, err,
                                              "%s: signature does not verify with any of the "
                                              "%zu given keys",
                                              what, trust->nkeys),
                               res, err);
        else if (r < 0) {
            ferry_error_wrap(err, "%s", what);
            ferry_sig_lower(res, r);
        }
    }
    if (r < 0) {
        ferry_free(sig);
        return r;
    }
    bind->form = FERRY_TLOG_FORM_MESSAGE;
    bind->key = b->certkey != NULL ? b->certkey : trust->keys[*which];
    bind->sig = sig;
    bind->siglen = siglen;
    memcpy(bind->hash, hash, 32);
    *sigp = sig;
    return 0;
}

int
ferry_sigstore_bundle_verify(const void *bundle, size_t len, const struct ferry_sig_trust *trust,
                             const char *artifact_digest, const void *artifact, size_t artifact_len,
                             struct ferry_sig_result *res, struct ferry_error **err)
{
    static const char *const keys[] = {"mediaType", "verificationMaterial", "messageSignature",
                                       "dsseEnvelope", NULL};
    struct ferry_sig_result local;
    struct bundle b = {0};
    struct ferry_dsse d = {0};
    struct ferry_tlog_binding bind = {0};
    struct ferry_digest subject;
    unsigned char hash[32], *msgsig = NULL;
    json_t *root = NULL, *v, *vm;
    size_t which = 0, used = 0;
    char what[WHAT_SIZE], q[96];
    bool have = false;
    int r;

    if (res == NULL)
        res = &local;
    ferry_sig_result_init(res);
    if ((r = ferry_sig_trust_check(trust, res, err)) < 0)
        return r;
    if (artifact == NULL && artifact_len > 0)
        return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_USAGE, err,
                               "sigstore bundle: artifact length without data");
    if ((r = artifact_arg(artifact_digest, artifact, artifact_len, &have, hash, res, err)) < 0)
        return r;
    if (have) {
        char hex[65];
        ferry_sig_hex(hash, 32, hex);
        snprintf(what, sizeof what, "sigstore bundle for sha256:%s", hex);
        snprintf(subject.str, sizeof subject.str, "sha256:%s", hex);
        subject.alg = FERRY_DIGEST_SHA256;
    } else {
        snprintf(what, sizeof what, "sigstore bundle");
    }
    if (bundle == NULL && len > 0)
        return ferry_sig_failc(res, FERRY_SIG_ERROR, FERRY_E_USAGE, err, "%s: no data", what);
    if ((r = ferry_sig_json_load(bundle, len, FERRY_SIGSTORE_MAX_DOC, what, &root, res, err)) < 0 ||
        (r = ferry_sig_json_keys(root, keys, what, res, err)) < 0 ||
        (r = ferry_sig_json_get(root, "mediaType", JSON_STRING, true, what, &v, res, err)) < 0)
        goto out;
    if (bundle_version(json_string_value(v)) == 0) {
        r = ferry_sig_fail(res, FERRY_SIG_UNSUPPORTED, err,
                           "%s: media type %s is not a supported bundle version (0.1 to 0.3)", what,
                           ferry_quote(q, sizeof q, json_string_value(v), json_string_length(v)));
        goto out;
    }
    if ((r = ferry_sig_json_get(root, "verificationMaterial", JSON_OBJECT, true, what, &vm, res,
                                err)) < 0 ||
        (r = bundle_material(vm, trust, what, &b, res, err)) < 0 ||
        (r = ferry_sig_json_get(root, "messageSignature", JSON_OBJECT, false, what, &b.msgsig, res,
                                err)) < 0 ||
        (r = ferry_sig_json_get(root, "dsseEnvelope", JSON_OBJECT, false, what, &b.dsse, res,
                                err)) < 0)
        goto out;
    if ((b.msgsig != NULL) == (b.dsse != NULL)) {
        r = ferry_sig_fail(res, FERRY_SIG_MALFORMED, err,
                           "%s: content must be exactly one of messageSignature, dsseEnvelope",
                           what);
        goto out;
    }
    if (b.msgsig != NULL) {
        r = verify_message(&b, trust, artifact, artifact_len, have, hash, what, &which, &bind,
                           &msgsig, res, err);
        if (r < 0)
            goto out;
    } else {
        if ((r = ferry_dsse_parse(b.dsse, what, &d, res, err)) < 0)
            goto out;
        if (d.nsigs != 1) {
            r = ferry_sig_fail(res, FERRY_SIG_MALFORMED, err,
                               "%s: a bundle's envelope must hold exactly one signature, not %zu",
                               what, d.nsigs);
            goto out;
        }
        r = ferry_dsse_check_sigs(&d, b.certkey != NULL ? NULL : trust->keys,
                                  b.certkey != NULL ? 0 : trust->nkeys, b.certkey, what, &which,
                                  &used, res, err);
        if (r < 0) {
            r = hinted_failure(&b, r, res, err);
            goto out;
        }
        if ((r = ferry_dsse_check_claim(&d, have ? &subject : NULL, what, res, err)) < 0)
            goto out;
        bind.form = FERRY_TLOG_FORM_DSSE;
        bind.key = b.certkey != NULL ? b.certkey : trust->keys[which];
        bind.sig = d.sigs[used];
        bind.siglen = d.siglens[used];
        bind.payload_type = d.payload_type;
        ferry_sig_sha256(d.body, d.body_len, bind.hash);
    }
    if ((r = ferry_tlog_check(b.entries, b.nentries, trust, &bind, what, res, err)) < 0)
        goto out;
    if (b.certkey != NULL) {
        if (trust->root == NULL) {
            r = ferry_sig_fail(res, FERRY_SIG_NEEDS_TRUSTED_ROOT, err,
                               "%s: certificate-based: needs a trusted root", what);
            goto out;
        }
        /* the signing time comes from a verified SET (sigstore-go
         * pkg/verify/signed_entity.go: keyless needs an observer timestamp;
         * RFC 3161 stamps are not checked here) */
        if (res->tlog != FERRY_TLOG_VERIFIED) {
            r = ferry_sig_fail(res, FERRY_SIG_TLOG_MISSING, err,
                               "%s: a certificate-based signature needs a verified tlog entry "
                               "for its time, and none verified",
                               what);
            goto out;
        }
        if ((r = ferry_sig_keyless_check(trust, b.leaf, b.chain, res->tlog_integrated_time, what,
                                         res, err)) < 0)
            goto out;
        res->key_index = SIZE_MAX;
        snprintf(res->key_id, sizeof res->key_id, "%s", b.certkey->id);
    } else {
        ferry_sig_result_key(res, trust, which);
    }
    if (b.msgsig != NULL)
        res->claim_checked = true;
    res->reason = FERRY_SIG_VERIFIED;
    r = 0;
out:
    if (r < 0)
        ferry_sig_result_failed(res);
    ferry_free(msgsig);
    ferry_dsse_clear(&d);
    bundle_clear(&b);
    json_decref(root);
    if (res == &local)
        ferry_sig_result_clear(res);
    return r;
}
