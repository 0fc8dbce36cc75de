/* ferry: internals of the sigstore module, shared by its files and reachable
 * from its unit tests: sigstore_util.c (results, encodings, JSON),
 * sigstore_key.c (keys, signature checks), sigstore.c (simple signing, DSSE),
 * sigstore_tlog.c (Rekor entries), sigstore_bundle.c (bundles),
 * sigstore_root.c (trusted roots, identities), sigstore_cert.c (certificate
 * chains and identities of certificate-based signatures). */
#ifndef FERRY_SIGSTORE_INT_H
#define FERRY_SIGSTORE_INT_H

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ferry/digest.h"
#include "ferry/sigstore.h"

#define FERRY_SIG_KEY_MAGIC 0x66736b79u  /* "fsky" */
#define FERRY_SIG_ROOT_MAGIC 0x6673726fu /* "fsro" */

struct ferry_sig_key {
    unsigned int magic;
    enum ferry_sig_key_type type;
    int bits;
    EVP_PKEY *pkey;
    unsigned char *der; /* SubjectPublicKeyInfo as OpenSSL encodes it */
    size_t der_len;
    char id[FERRY_SIGSTORE_KEY_ID_LEN + 1];
    char desc[16];
};

/* A point in time: seconds since the epoch and nanoseconds. */
struct ferry_sig_time {
    int64_t sec;
    int32_t nsec;
};

/* validFor: an absent bound is unbounded. Inclusive at both ends, as
 * sigstore-go compares (Before(start) / After(end) fail). */
struct ferry_sig_range {
    bool has_start, has_end;
    struct ferry_sig_time start, end;
};

struct ferry_sig_root_ca {
    STACK_OF(X509) * anchors;       /* trust anchors */
    STACK_OF(X509) * intermediates; /* untrusted helpers */
    struct ferry_sig_range valid;
};

struct ferry_sig_root_tlog {
    struct ferry_sig_key *key;
    char log_id[FERRY_SIGSTORE_KEY_ID_LEN + 1]; /* hex of logId.keyId */
    struct ferry_sig_range valid;
};

struct ferry_sig_root {
    unsigned int magic;
    struct ferry_sig_root_ca *cas;
    size_t ncas;
    struct ferry_sig_root_tlog *tlogs;
    size_t ntlogs;
};

/* ---- trusted roots (sigstore_root.c) ------------------------------------------- */

/* Parse an RFC 3339 time ("2021-03-07T03:20:29.000Z", offsets allowed). */
int ferry_sig_time_parse(const char *s, struct ferry_sig_time *out);
/* Whether second t lies in r. */
bool ferry_sig_range_contains(const struct ferry_sig_range *r, int64_t t);
/* Whether s (n bytes) matches the identity regexp pattern, unanchored.
 * 1 yes, 0 no, negative with *err: FERRY_E_USAGE (does not compile),
 * FERRY_E_TOO_LARGE (backtracking limit), FERRY_E_NOMEM. */
int ferry_sig_regexp_match(const char *pattern, const char *s, size_t n, struct ferry_error **err);

/* ---- certificates (sigstore_cert.c) -------------------------------------------- */

/* A DER certificate, the whole of der. NULL if it is not one. */
X509 *ferry_sig_x509_from_der(const unsigned char *der, size_t len);
/* One or more PEM "CERTIFICATE" blocks (whitespace around them) into a new
 * stack of at most max certificates. FERRY_E_INVALID naming `what`,
 * FERRY_E_TOO_LARGE, FERRY_E_NOMEM. */
int ferry_sig_certs_from_pem(const char *text, size_t len, size_t max, const char *what,
                             STACK_OF(X509) * *out, struct ferry_error **err);
/* The checks of a certificate-based signature that come after the
 * signature and the tlog (see struct ferry_sig_trust): leaf (untrusted
 * intermediates in chain, may be NULL) chains to a CA of trust->root valid
 * at time t, is valid itself at t, has the code-signing usage, and shows one
 * of trust->identities. Fills res->cert_subject, cert_issuer. Fails
 * UNTRUSTED_CERT, CERT_EXPIRED, IDENTITY_MISMATCH, ERROR. */
int ferry_sig_keyless_check(const struct ferry_sig_trust *trust, X509 *leaf, STACK_OF(X509) * chain,
                            int64_t t, const char *what, struct ferry_sig_result *res,
                            struct ferry_error **err);

/* ---- results (sigstore_util.c) ------------------------------------------------ */

void ferry_sig_result_init(struct ferry_sig_result *res);
/* The status code a reason fails with (sigstore.h). */
enum ferry_status ferry_sig_reason_code(enum ferry_sig_reason reason);
/* Set res->reason and *err, and return the negative code of the reason. */
int ferry_sig_fail(struct ferry_sig_result *res, enum ferry_sig_reason reason,
                   struct ferry_error **err, const char *fmt, ...) FERRY_PRINTF(4, 5);
/* Same with an explicit code (FERRY_E_TOO_LARGE for MALFORMED, ...). */
int ferry_sig_failc(struct ferry_sig_result *res, enum ferry_sig_reason reason,
                    enum ferry_status code, struct ferry_error **err, const char *fmt, ...)
    FERRY_PRINTF(5, 6);
/* After a lower layer failed with r and set *err: set res->reason from the
 * code (NOMEM -> ERROR, TOO_LARGE/INVALID -> MALFORMED, ...) unless already
 * set, and return r. */
int ferry_sig_lower(struct ferry_sig_result *res, int r);

/* ---- encodings and JSON (sigstore_util.c) ----------------------------------------------- */

/* Decode base64 (standard alphabet, padded; CR and LF skipped as Go's
 * StdEncoding does). lax: also URL-safe and unpadded (protobuf JSON bytes,
 * DSSE payloads). The result (ferry_malloc, NUL-terminated for convenience)
 * is at most max bytes. 0, or negative with *err naming `what`:
 * FERRY_E_INVALID, FERRY_E_TOO_LARGE, FERRY_E_NOMEM. */
int ferry_sig_b64_decode(const char *s, size_t n, bool lax, size_t max, const char *what,
                         unsigned char **out, size_t *outlen, struct ferry_error **err);
/* Standard padded base64 of bin (ferry_malloc'd, NUL-terminated). */
char *ferry_sig_b64_encode(const unsigned char *bin, size_t len);
/* Lowercase hex of bin into out (2 * len + 1 bytes). */
void ferry_sig_hex(const unsigned char *bin, size_t len, char *out);
/* SHA-256 of data. */
void ferry_sig_sha256(const void *data, size_t len, unsigned char out[32]);

/* Whether JSON text nests arrays/objects deeper than max (a scan outside
 * strings; malformed text is left for the parser). */
bool ferry_sig_json_too_deep(const char *text, size_t len, int max);
/* Load a JSON object from text of at most max bytes: depth checked first,
 * duplicate keys refused. Fails as MALFORMED naming `what`. */
int ferry_sig_json_load(const void *text, size_t len, size_t max, const char *what, json_t **out,
                        struct ferry_sig_result *res, struct ferry_error **err);
/* Member `key` of obj: absent or null gives *out = NULL (an error when
 * required); present it must have type `type` (JSON_INTEGER also for
 * json_is_integer). Fails as MALFORMED. */
int ferry_sig_json_get(json_t *obj, const char *key, json_type type, bool required,
                       const char *what, json_t **out, struct ferry_sig_result *res,
                       struct ferry_error **err);
/* Unknown keys refused, as MALFORMED. */
int ferry_sig_json_keys(json_t *obj, const char *const *allowed, const char *what,
                        struct ferry_sig_result *res, struct ferry_error **err);
/* A protobuf JSON int64 member: a decimal string (or a plain integer), >= 0;
 * absent or null is 0, or an error when required. Fails as MALFORMED. */
int ferry_sig_json_int64(json_t *obj, const char *key, bool required, const char *what,
                         int64_t *out, struct ferry_sig_result *res, struct ferry_error **err);
/* A base64 string member decoded leniently (protobuf JSON bytes), at most
 * max bytes; absent or null gives *out = NULL. Fails as MALFORMED. */
int ferry_sig_json_bytes(json_t *obj, const char *key, bool required, size_t max, const char *what,
                         unsigned char **out, size_t *outlen, struct ferry_sig_result *res,
                         struct ferry_error **err);

/* ---- keys and signatures (sigstore_key.c) ------------------------------------- */

/* One PEM block of text (whitespace around it allowed, nothing else): its
 * label into label[] and its DER (ferry_malloc). FERRY_E_INVALID naming
 * `what`. */
int ferry_sig_pem_decode(const char *text, size_t len, const char *what, char *label,
                         size_t labelsz, unsigned char **der, size_t *der_len,
                         struct ferry_error **err);
/* A key from DER: SubjectPublicKeyInfo, or PKCS#1 RSAPublicKey when pkcs1. */
int ferry_sig_key_from_der(const unsigned char *der, size_t len, bool pkcs1, const char *what,
                           struct ferry_sig_key **out, struct ferry_error **err);
/* The public key of a DER X.509 certificate (nothing about the certificate
 * is checked: it is not trusted). */
int ferry_sig_key_from_cert(const unsigned char *der, size_t len, const char *what,
                            struct ferry_sig_key **out, struct ferry_error **err);
/* A PEM "PUBLIC KEY", "RSA PUBLIC KEY" or "CERTIFICATE" (its key). */
int ferry_sig_key_from_pem_any(const char *text, size_t len, const char *what,
                               struct ferry_sig_key **out, struct ferry_error **err);
/* Same SubjectPublicKeyInfo. */
bool ferry_sig_key_equal(const struct ferry_sig_key *a, const struct ferry_sig_key *b);

/* What a signature is over: the message bytes (data != NULL; every hash the
 * key type allows is tried), or only its digest under md (prehash; ECDSA and
 * RSA only). */
struct ferry_sig_msg {
    const unsigned char *data;
    size_t len;
    const EVP_MD *md;
    const unsigned char *hash;
    size_t hash_len;
};

/* 1 if sig verifies over m with k, 0 if not, negative on failure (*err set:
 * FERRY_E_UNSUPPORTED for Ed25519 with only a digest, FERRY_E_CRYPTO). */
int ferry_sig_check(const struct ferry_sig_key *k, const struct ferry_sig_msg *m,
                    const unsigned char *sig, size_t siglen, struct ferry_error **err);
/* The first of keys that verifies: 1 and *which, 0 when none does. */
int ferry_sig_check_keys(struct ferry_sig_key *const *keys, size_t nkeys,
                         const struct ferry_sig_msg *m, const unsigned char *sig, size_t siglen,
                         size_t *which, struct ferry_error **err);

/* Check the trust argument and fill res on success. */
int ferry_sig_trust_check(const struct ferry_sig_trust *trust, struct ferry_sig_result *res,
                          struct ferry_error **err);
void ferry_sig_result_key(struct ferry_sig_result *res, const struct ferry_sig_trust *trust,
                          size_t which);
/* Tlog keys to check SETs with: trust->tlog_keys and the root's tlogs. */
size_t ferry_sig_tlog_key_count(const struct ferry_sig_trust *trust);

/* ---- DSSE (sigstore.c) ---------------------------------------------------------- */

struct ferry_dsse {
    const char *payload_type; /* borrowed from the JSON */
    unsigned char *body;      /* decoded payload (ferry_malloc) */
    size_t body_len;
    unsigned char *pae; /* PAE(payload_type, body) (ferry_malloc) */
    size_t pae_len;
    size_t nsigs;
    unsigned char **sigs; /* decoded signatures; NULL for an empty one */
    size_t *siglens;
    const char **keyids; /* borrowed or NULL */
};

/* Parse an envelope object (keys checked, payload and signatures decoded,
 * PAE built). */
int ferry_dsse_parse(json_t *env, const char *what, struct ferry_dsse *d,
                     struct ferry_sig_result *res, struct ferry_error **err);
void ferry_dsse_clear(struct ferry_dsse *d);
/* Verify the signatures: the first one that verifies with one of keys (then
 * *which is its index and *used its signature index), else with certkey (if
 * not NULL, *which = SIZE_MAX). Fails NO_SIGNATURE, WRONG_KEY, or
 * BAD_SIGNATURE when certkey is given. */
int ferry_dsse_check_sigs(const struct ferry_dsse *d, struct ferry_sig_key *const *keys,
                          size_t nkeys, const struct ferry_sig_key *certkey, const char *what,
                          size_t *which, size_t *used, struct ferry_sig_result *res,
                          struct ferry_error **err);
/* The claim: subject (NULL: none compared) as sigstore.h describes for
 * ferry_dsse_verify; fills res->payload_type, predicate_type, claim_checked. */
int ferry_dsse_check_claim(const struct ferry_dsse *d, const struct ferry_digest *subject,
                           const char *what, struct ferry_sig_result *res,
                           struct ferry_error **err);

/* ---- transparency log (sigstore_tlog.c) ----------------------------------------- */

struct ferry_tlog_entry {
    char *body_b64; /* the body as the SET signs it (ferry_malloc) */
    unsigned char *body;
    size_t body_len;
    int64_t integrated_time;
    int64_t log_index;
    char log_id[FERRY_SIGSTORE_KEY_ID_LEN + 1];
    unsigned char *set; /* NULL: no inclusion promise */
    size_t set_len;
    char *kind; /* from the bundle's kindVersion, or NULL (legacy) */
    char *version;
};

enum ferry_tlog_form { FERRY_TLOG_FORM_MESSAGE = 1, FERRY_TLOG_FORM_DSSE = 2 };

/* What a log entry must name. */
struct ferry_tlog_binding {
    enum ferry_tlog_form form;
    const struct ferry_sig_key *key; /* the key that verified the signature */
    const unsigned char *sig;
    size_t siglen;
    unsigned char hash[32];   /* SHA-256 of the signed artifact, or of the DSSE payload */
    const char *payload_type; /* DSSE only */
};

/* Parse a legacy dev.sigstore.cosign/bundle annotation. */
int ferry_tlog_parse_legacy(const char *json, size_t len, struct ferry_tlog_entry *e,
                            struct ferry_sig_result *res, struct ferry_error **err);
/* Parse one entry of a bundle's verificationMaterial.tlogEntries. */
int ferry_tlog_parse_bundle(json_t *obj, const char *what, struct ferry_tlog_entry *e,
                            struct ferry_sig_result *res, struct ferry_error **err);
void ferry_tlog_entry_clear(struct ferry_tlog_entry *e);
/* Verify the entries per trust (see struct ferry_sig_trust) and set
 * res->tlog; fails BAD_TLOG or TLOG_MISSING. */
int ferry_tlog_check(const struct ferry_tlog_entry *entries, size_t n,
                     const struct ferry_sig_trust *trust, const struct ferry_tlog_binding *b,
                     const char *what, struct ferry_sig_result *res, struct ferry_error **err);

/* A check failed: keep why (reason, tlog status), drop what a success
 * would have reported (key, identity, types). */
void ferry_sig_result_failed(struct ferry_sig_result *res);

#endif
