/* ferry: offline, key-based verification of cosign / Sigstore signatures.
 *
 * Three forms (docs: shared/reference/cosign-formats.md):
 *  - cosign "simple signing" layers of a legacy `sha256-<hex>.sig` manifest
 *    (ferry_cosign_verify_simple),
 *  - DSSE envelopes, e.g. `.att` layers or `cosign attest-blob` output
 *    (ferry_dsse_verify),
 *  - Sigstore bundles v0.1 to v0.3 (ferry_sigstore_bundle_verify), the form
 *    cosign v3 writes as OCI 1.1 referrers.
 *
 * Trust comes from the public keys the caller gives and, for certificate-based
 * (Fulcio, "keyless") signatures, from a trusted root (struct ferry_sig_root:
 * CA certificates and Rekor keys) plus the identities the caller expects.
 * Without a root, certificate-based signatures are checked for internal
 * consistency and then refused with FERRY_SIG_NEEDS_TRUSTED_ROOT, never
 * accepted. A Rekor signed entry timestamp (SET) is checked only when the
 * caller gives the log's public key (trust->tlog_keys or the root's tlogs);
 * inclusion proofs, checkpoints, RFC 3161 timestamps and the certificates'
 * SCTs (ctlogs) are not checked.
 *
 * Nothing here does I/O except ferry_sig_key_load_file and
 * ferry_sig_root_load_file. All verify functions are thread-safe: keys and
 * roots are immutable once loaded (or built) and may be shared. */
#ifndef FERRY_SIGSTORE_H
#define FERRY_SIGSTORE_H

#include "common.h"
#include "error.h"
#include "limits.h"

#define FERRY_SIGSTORE_KEY_ID_LEN 64 /* hex characters of a key id */

/* ---- keys ------------------------------------------------------------------ */

enum ferry_sig_key_type {
    FERRY_SIG_KEY_ECDSA_P256 = 1,
    FERRY_SIG_KEY_ECDSA_P384 = 2,
    FERRY_SIG_KEY_ECDSA_P521 = 3,
    FERRY_SIG_KEY_RSA = 4, /* 2048 bits or more */
    FERRY_SIG_KEY_ED25519 = 5,
};

struct ferry_sig_key; /* opaque, immutable */

/* Parse one PEM public key: "PUBLIC KEY" (SubjectPublicKeyInfo) for ECDSA
 * P-256/P-384/P-521, RSA >= 2048 bits or Ed25519, or "RSA PUBLIC KEY"
 * (PKCS#1). Whitespace may surround the block; nothing else may. Errors:
 * FERRY_E_TOO_LARGE past FERRY_SIGSTORE_MAX_KEY, FERRY_E_INVALID for a
 * malformed PEM, base64 or DER, FERRY_E_UNSUPPORTED for another key type,
 * curve or a short RSA key. *out is freed with ferry_sig_key_free. */
FERRY_API int ferry_sig_key_load(const void *pem, size_t len, struct ferry_sig_key **out,
                                 struct ferry_error **err);
/* Same from a regular file of at most FERRY_SIGSTORE_MAX_KEY bytes (a FIFO or
 * device is refused, as ferry_open_regular does); messages name the path. */
FERRY_API int ferry_sig_key_load_file(const char *path, struct ferry_sig_key **out,
                                      struct ferry_error **err);
FERRY_API void ferry_sig_key_free(struct ferry_sig_key *k);
/* Stable key id: lowercase hex of SHA-256 over the DER SubjectPublicKeyInfo
 * (the key cosign's bundles hint at, as base64, and Rekor's log id for a log
 * key). Points into the key; "" for NULL. */
FERRY_API const char *ferry_sig_key_id(const struct ferry_sig_key *k);
FERRY_API enum ferry_sig_key_type ferry_sig_key_type(const struct ferry_sig_key *k);
/* "ecdsa-p256", "rsa-3072", "ed25519" ... Static string or the key's own. */
FERRY_API const char *ferry_sig_key_describe(const struct ferry_sig_key *k);

/* ---- trusted roots (certificate-based signatures) -------------------------------- */

/* A set of trusted certificate authorities (Fulcio) and transparency logs
 * (Rekor), with the times each may be used. Opaque; immutable once loaded
 * (or once the caller stops adding to it), then safe to share between
 * threads. */
struct ferry_sig_root;

/* Parse a Sigstore trusted root (trusted_root.json; protobuf-specs
 * sigstore_trustroot.proto, JSON form) of at most
 * FERRY_SIGSTORE_MAX_ROOT bytes, mediaType
 * application/vnd.dev.sigstore.trustedroot+json;version=0.1 (or 0.2) or
 * application/vnd.dev.sigstore.trustedroot.v0.1+json (or v0.2).
 *  - certificateAuthorities[]: certChain.certificates[].rawBytes (base64
 *    DER, the CA's intermediates first and its root last: the last one is the
 *    trust anchor, the others untrusted intermediates, as sigstore-go
 *    pkg/root/certificate_authority.go uses them) and validFor {start, end}
 *    (RFC 3339, both optional, inclusive);
 *  - tlogs[]: publicKey {rawBytes (DER SubjectPublicKeyInfo), keyDetails,
 *    validFor}, logId.keyId (base64; entries name their log by it).
 * ctlogs and timestampAuthorities are type-checked and otherwise ignored:
 * SCTs and RFC 3161 timestamps are not checked. Unknown keys are refused
 * (as protojson does). Errors: FERRY_E_INVALID naming the field,
 * FERRY_E_TOO_LARGE past a FERRY_SIGSTORE_* cap, FERRY_E_UNSUPPORTED for a
 * mediaType or key type ferry does not know, FERRY_E_NOMEM. *out is freed
 * with ferry_sig_root_free. */
FERRY_API int ferry_sig_root_load(const void *json, size_t len, struct ferry_sig_root **out,
                                  struct ferry_error **err);
/* Same from a regular file (a FIFO or device is refused, as
 * ferry_open_regular does); messages name the path. */
FERRY_API int ferry_sig_root_load_file(const char *path, struct ferry_sig_root **out,
                                       struct ferry_error **err);
/* An empty root, to fill with the two calls below (not thread-safe while
 * being filled). *out is freed with ferry_sig_root_free. */
FERRY_API int ferry_sig_root_new(struct ferry_sig_root **out, struct ferry_error **err);
/* Add one CA from PEM text holding one or more "CERTIFICATE" blocks
 * (whitespace between them, nothing else), as containers-policy.json's
 * fulcio.caPath / caData give it. Every certificate of the text is a trust
 * anchor (as containers/image's x509.CertPool of caPath is), with no validFor
 * limit. FERRY_E_INVALID, FERRY_E_TOO_LARGE (more than
 * FERRY_SIGSTORE_MAX_CHAIN certificates, FERRY_SIGSTORE_MAX_CAS CAs). */
FERRY_API int ferry_sig_root_add_ca_pem(struct ferry_sig_root *root, const void *pem, size_t len,
                                        struct ferry_error **err);
/* Add a transparency log key (copied: k may be freed afterwards), valid at
 * all times; its log id is its key id (SHA-256 of its DER
 * SubjectPublicKeyInfo), as Rekor's is. */
FERRY_API int ferry_sig_root_add_tlog_key(struct ferry_sig_root *root,
                                          const struct ferry_sig_key *k, struct ferry_error **err);
FERRY_API void ferry_sig_root_free(struct ferry_sig_root *root);

/* An identity a certificate must show, as cosign's
 * --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]:
 * exactly one of subject / subject_regexp and exactly one of issuer /
 * issuer_regexp (NULL or "" is absent). subject is compared with each e-mail
 * and URI subject alternative name of the leaf and with Fulcio's username
 * otherName (1.3.6.1.4.1.57264.1.7, UTF8String); DNS and IP names are
 * ignored. issuer is compared with the OIDC issuer of extension
 * 1.3.6.1.4.1.57264.1.8 (DER UTF8String), or of the deprecated
 * 1.3.6.1.4.1.57264.1.1 (raw bytes) when 1.8 is absent. Exact forms compare
 * bytes; the regexps are PCRE2 (UTF, $ only at the very end) matched
 * unanchored, as Go's regexp.MatchString is in cosign and sigstore-go: add
 * ^...$ to match the whole name. PCRE2 and Go RE2 syntax differ at the edges
 * (backreferences, lookaround exist only in PCRE2). */
struct ferry_sig_identity {
    const char *subject;
    const char *subject_regexp;
    const char *issuer;
    const char *issuer_regexp;
    /* compare subject with e-mail names only (containers-policy.json's
     * fulcio.subjectEmail, as containers/image does) */
    bool email_only;
};

/* Whether id is usable: the forms as above, regexps of at most
 * FERRY_SIGSTORE_MAX_PATTERN bytes that compile. FERRY_E_USAGE with PCRE2's
 * message and offset naming the pattern, FERRY_E_NOMEM. Lets a CLI refuse
 * bad options before any verification. */
FERRY_API int ferry_sig_identity_check(const struct ferry_sig_identity *id,
                                       struct ferry_error **err);

/* ---- what to trust ------------------------------------------------------------ */

struct ferry_sig_trust {
    /* Signer keys: a signature verifying with any one of them is accepted. */
    struct ferry_sig_key *const *keys;
    size_t nkeys;
    /* Transparency log (Rekor) public keys. None: tlog evidence is not
     * checked (result tlog FERRY_TLOG_NOT_CHECKED). Given: every signed entry
     * timestamp present must verify with the key whose id is its log id, and
     * its entry must name this signature, or the whole check fails. */
    struct ferry_sig_key *const *tlog_keys;
    size_t ntlog_keys;
    /* Fail unless at least one tlog entry verified (needs tlog_keys or a
     * root with tlogs), as cosign does without --insecure-ignore-tlog. */
    bool require_tlog;
    /* Certificate-based ("keyless") signatures: NULL refuses them with
     * FERRY_SIG_NEEDS_TRUSTED_ROOT. Given, a certificate-based signature is
     * accepted when (cosign pkg/cosign/verify.go, sigstore-go
     * pkg/verify/certificate.go, signed_entity.go):
     *  - it verifies with the leaf certificate's public key;
     *  - a tlog entry's SET verifies (with trust->tlog_keys or the root's
     *    tlogs valid at its integratedTime) and names the signature: its
     *    integratedTime is the signing time (else FERRY_SIG_TLOG_MISSING);
     *  - the leaf chains, at that time, to a CA of the root whose validFor
     *    contains the time (trust anchors only from the root; the CA's other
     *    certificates and the ones the signature carries are untrusted
     *    intermediates), else FERRY_SIG_UNTRUSTED_CERT; the leaf itself not
     *    valid then is FERRY_SIG_CERT_EXPIRED;
     *  - the leaf has the code-signing extended key usage (any intermediate
     *    with an EKU extension must allow code signing or any usage, as Go's
     *    x509 checks), else FERRY_SIG_UNTRUSTED_CERT;
     *  - one of identities matches, else FERRY_SIG_IDENTITY_MISMATCH.
     * The root's tlogs also check the SETs of key-based signatures. */
    const struct ferry_sig_root *root;
    const struct ferry_sig_identity *identities;
    size_t nidentities;
};

/* ---- results ----------------------------------------------------------------- */

/* Why a check failed; stable numbers. */
enum ferry_sig_reason {
    FERRY_SIG_VERIFIED = 0,
    FERRY_SIG_MALFORMED = 1,          /* bad JSON, base64, field, or over a cap */
    FERRY_SIG_NO_SIGNATURE = 2,       /* nothing to verify (empty signature, none listed) */
    FERRY_SIG_WRONG_KEY = 3,          /* no given key verifies the signature */
    FERRY_SIG_BAD_SIGNATURE = 4,      /* the key the signature names does not verify it */
    FERRY_SIG_DIGEST_MISMATCH = 5,    /* a claimed digest differs from the real one */
    FERRY_SIG_SUBJECT_MISMATCH = 6,   /* the statement names no subject with the digest */
    FERRY_SIG_BAD_TLOG = 7,           /* a tlog entry does not verify or names another signature */
    FERRY_SIG_TLOG_MISSING = 8,       /* require_tlog, and no entry verified */
    FERRY_SIG_NEEDS_TRUSTED_ROOT = 9, /* certificate-based, and no trusted root given */
    FERRY_SIG_UNSUPPORTED = 10,       /* media type, version, algorithm or entry kind */
    FERRY_SIG_ERROR = 11,             /* out of memory, crypto library failure, bad call */
    FERRY_SIG_UNTRUSTED_CERT = 12,    /* no chain to a CA of the root (valid then), or no
                                         code-signing usage */
    FERRY_SIG_CERT_EXPIRED = 13,      /* signing time outside the leaf certificate's validity */
    FERRY_SIG_IDENTITY_MISMATCH = 14, /* no given identity matches the certificate's SAN and
                                         issuer (or none given) */
};

enum ferry_tlog_status {
    FERRY_TLOG_NOT_CHECKED = 0, /* no tlog key given: "tlog not checked" */
    FERRY_TLOG_ABSENT = 1,      /* tlog keys given, but no entry with a SET to check */
    FERRY_TLOG_VERIFIED = 2,    /* a SET verified and its entry names this signature */
};

/* Filled by every verify call (zeroed first, then set, also on failure).
 * Strings belong to the result: free them with ferry_sig_result_clear. */
struct ferry_sig_result {
    enum ferry_sig_reason reason;
    /* On success: index into trust->keys and its id. */
    size_t key_index;
    char key_id[FERRY_SIGSTORE_KEY_ID_LEN + 1];
    /* Whether the image / subject / artifact digest was compared (false when
     * the caller gave none, which only DSSE and bundle DSSE allow). */
    bool claim_checked;
    enum ferry_tlog_status tlog;
    int64_t tlog_integrated_time; /* of the first verified entry, else 0 */
    int64_t tlog_log_index;
    /* Simple signing: critical.identity.docker-reference, or NULL. Not
     * checked: cosign does not check it either (a relocated image verifies). */
    char *identity;
    /* DSSE: payloadType; in-toto statements: predicateType. Else NULL. */
    char *payload_type;
    char *predicate_type;
    /* Certificate-based, on success: the leaf's subject alternative name
     * (first URI, else e-mail, else Fulcio username otherName, as
     * sigstore-go's certificate summary picks) and its OIDC issuer. Then
     * key_index is SIZE_MAX and key_id is the id of the certificate's key.
     * Else NULL. */
    char *cert_subject;
    char *cert_issuer;
};

FERRY_API void ferry_sig_result_clear(struct ferry_sig_result *res);
/* "verified", "wrong key", "digest mismatch" ... Static string. */
FERRY_API const char *ferry_sig_reason_name(enum ferry_sig_reason reason);
/* "tlog not checked", "tlog absent", "tlog verified". Static string. */
FERRY_API const char *ferry_tlog_status_name(enum ferry_tlog_status status);

/* Status codes of the verify calls (negated), by reason:
 *   MALFORMED               FERRY_E_INVALID (FERRY_E_TOO_LARGE past a cap)
 *   NO_SIGNATURE            FERRY_E_SIGNATURE
 *   WRONG_KEY               FERRY_E_UNTRUSTED_KEY
 *   BAD_SIGNATURE           FERRY_E_SIGNATURE
 *   DIGEST_MISMATCH         FERRY_E_DIGEST_MISMATCH
 *   SUBJECT_MISMATCH        FERRY_E_DIGEST_MISMATCH
 *   BAD_TLOG, TLOG_MISSING  FERRY_E_SIGNATURE
 *   NEEDS_TRUSTED_ROOT      FERRY_E_UNSUPPORTED ("certificate-based: needs a
 *                           trusted root")
 *   UNSUPPORTED             FERRY_E_UNSUPPORTED
 *   ERROR                   FERRY_E_NOMEM, FERRY_E_CRYPTO, FERRY_E_USAGE
 *   UNTRUSTED_CERT          FERRY_E_UNTRUSTED_KEY
 *   CERT_EXPIRED            FERRY_E_UNTRUSTED_KEY
 *   IDENTITY_MISMATCH       FERRY_E_UNTRUSTED_KEY
 * Tell reasons apart by res->reason, not by the code. */

/* ---- cosign simple signing (legacy .sig layers) -------------------------------- */

/* One layer of a `sha256-<hex>.sig` manifest (or of cosign's OCI 1.1
 * signature referrer), with its annotations. */
struct ferry_cosign_layer {
    const void *payload; /* the layer blob, exactly as stored */
    size_t payload_len;
    /* The layer descriptor's digest: if not NULL the payload must hash to it. */
    const char *payload_digest;
    /* dev.cosignproject.cosign/signature: base64, CR/LF ignored. */
    const char *signature;
    /* dev.sigstore.cosign/certificate: PEM leaf certificate, or NULL. */
    const char *certificate;
    /* dev.sigstore.cosign/chain: PEM certificates, intermediates then root,
     * or NULL. Only ever untrusted intermediates: trust comes from
     * trust->root. */
    const char *chain;
    /* dev.sigstore.cosign/bundle: Rekor bundle JSON, or NULL. */
    const char *rekor_bundle;
};

/* Verify a simple-signing layer as `cosign verify --key` does: the signature
 * over the payload bytes verifies with one of trust->keys (ECDSA DER or
 * IEEE P1363 r||s, SHA-256; SHA-384/512 also tried for P-384/P-521; RSA
 * PKCS#1 v1.5 or PSS with SHA-256; pure Ed25519), the payload's
 * critical.image.docker-manifest-digest equals image_digest
 * ("sha256:<hex>", required) and critical.type is "cosign container image
 * signature". With a certificate annotation the layer is key-verified only
 * when a given key verifies and equals the certificate's key; otherwise it is
 * verified as certificate-based per trust->root (see struct ferry_sig_trust),
 * or, without a root, FERRY_SIG_NEEDS_TRUSTED_ROOT (after the checks that
 * need no trust). The Rekor bundle's SET is checked per trust->tlog_keys and
 * the root's tlogs. 0 on success. */
FERRY_API int ferry_cosign_verify_simple(const struct ferry_cosign_layer *layer,
                                         const struct ferry_sig_trust *trust,
                                         const char *image_digest, struct ferry_sig_result *res,
                                         struct ferry_error **err);

/* ---- DSSE ------------------------------------------------------------------------- */

/* Verify a DSSE envelope ({payloadType, payload, signatures[]}, at most
 * FERRY_SIGSTORE_MAX_DOC bytes): at least one signature over
 * PAE("DSSEv1" SP len(type) SP type SP len(body) SP body) verifies with one of
 * trust->keys (keyids are not used to pick keys). If subject_digest
 * ("sha256:<hex>" or "sha512:<hex>") is given: an in-toto payload
 * (application/vnd.in-toto+json) must be a Statement with a subject whose
 * digest names it, any other payload must itself hash to it. An in-toto
 * statement with no subject is refused in any case. tlog_keys are not used
 * here (an envelope carries no log entry); require_tlog fails. */
FERRY_API int ferry_dsse_verify(const void *envelope, size_t len,
                                const struct ferry_sig_trust *trust, const char *subject_digest,
                                struct ferry_sig_result *res, struct ferry_error **err);

/* ---- Sigstore bundles ------------------------------------------------------------ */

/* Verify a Sigstore bundle (application/vnd.dev.sigstore.bundle+json;
 * version=0.1|0.2|0.3 or application/vnd.dev.sigstore.bundle.v0.3+json) with
 * key material (verificationMaterial.publicKey):
 *  - messageSignature: messageDigest must equal the artifact's digest and the
 *    signature must verify over the artifact (over its SHA-256 digest with
 *    prehash semantics when only the digest is given; Ed25519 needs the
 *    bytes). An artifact is required.
 *  - dsseEnvelope: exactly one signature, verified as ferry_dsse_verify does,
 *    with the artifact's digest as the subject (optional: without an
 *    artifact no subject is compared and res->claim_checked is false).
 * The artifact is given as artifact_digest ("sha256:<hex>") and/or its bytes
 * (artifact, artifact_len); when both are given they must agree.
 * tlogEntries' SETs are checked per trust. Certificate material
 * (verificationMaterial.certificate, or x509CertificateChain whose first
 * certificate is the leaf and the rest untrusted intermediates) is verified
 * per trust->root (see struct ferry_sig_trust), or without a root refused
 * with FERRY_SIG_NEEDS_TRUSTED_ROOT after the checks that need no trust
 * (digest, signature with the certificate's key, subject, tlog). */
FERRY_API int ferry_sigstore_bundle_verify(const void *bundle, size_t len,
                                           const struct ferry_sig_trust *trust,
                                           const char *artifact_digest, const void *artifact,
                                           size_t artifact_len, struct ferry_sig_result *res,
                                           struct ferry_error **err);

#endif
