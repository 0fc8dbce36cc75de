/* ferry: minisign-compatible keys and signatures (Ed25519 over BLAKE2b-512).
 *
 * Byte layouts follow jedisct1/minisign (see docs/internals/sign.md). Secret keys
 * live in sodium_malloc memory and are wiped on free. */
#ifndef FERRY_SIGN_H
#define FERRY_SIGN_H

#include "common.h"
#include "error.h"

#define FERRY_KEYID_LEN 8

struct ferry_pubkey; /* opaque */
struct ferry_seckey; /* opaque, sodium_malloc'd */

/* Parse a public key from the text of a minisign .pub file (untrusted comment
 * line optional) or from a bare base64 line. FERRY_E_INVALID names `what`. */
FERRY_API int ferry_pubkey_parse(const char *text, size_t len, const char *what,
                                 struct ferry_pubkey **out, struct ferry_error **err);
FERRY_API int ferry_pubkey_load(const char *path, struct ferry_pubkey **out,
                                struct ferry_error **err);
FERRY_API void ferry_pubkey_free(struct ferry_pubkey *pk);
/* Key id as minisign prints it: %016PRIX64 of the little-endian key number. buf >= 17. */
FERRY_API void ferry_pubkey_id(const struct ferry_pubkey *pk, char *buf, size_t buflen);

/* Called when a secret key is encrypted; writes a NUL-terminated password into
 * buf (sodium_malloc'd by the caller) and returns 0, or negative to cancel. */
typedef int (*ferry_password_fn)(char *buf, size_t buflen, void *ud);

/* Load a minisign secret key file. Encrypted keys ("Sc") are decrypted with the
 * password from cb (scrypt with the file's opslimit/memlimit) and their checksum
 * verified (wrong password: FERRY_E_CRYPTO "wrong password for <path>").
 * Unencrypted keys (kdf 00 00) are accepted as minisign does. */
FERRY_API int ferry_seckey_load(const char *path, ferry_password_fn cb, void *ud,
                                struct ferry_seckey **out, struct ferry_error **err);
FERRY_API void ferry_seckey_free(struct ferry_seckey *sk);
FERRY_API void ferry_seckey_id(const struct ferry_seckey *sk, char *buf, size_t buflen);

/* Generate a key pair and write the files exactly as `minisign -G` does:
 * secret key mode 0600 created exclusively (fails if it exists unless force),
 * encrypted with password (scrypt, minisign's sensitive limits) or unencrypted
 * when password is NULL (minisign -W). */
FERRY_API int ferry_keygen(const char *pub_path, const char *sec_path, const char *password,
                           bool force, struct ferry_error **err);

/* Prehashed signing: feed the message, then produce the .minisig text.
 * trusted_comment must be printable UTF-8 without newline (TAB allowed, at most
 * 8173 bytes); NULL or "" means "timestamp:<unix time>\thashed" (minisign's
 * default without its "\tfile:<basename>" field: the signer knows no file name,
 * so callers that want it pass the full text). untrusted_comment: one line of
 * at most 1003 bytes; NULL or "" means "signature from minisign secret key". */
struct ferry_signer; /* BLAKE2b-512 state */
FERRY_API struct ferry_signer *ferry_signer_new(void);
FERRY_API void ferry_signer_update(struct ferry_signer *s, const void *data, size_t len);
/* Produces the whole signature file (4 lines, each ending in \n) in *out (ferry_free).
 * Verifies the signature with the key's public half before returning it. The
 * signer keeps its state: more data may follow, and it can be passed to
 * ferry_verify_stream. */
FERRY_API int ferry_signer_final(struct ferry_signer *s, const struct ferry_seckey *sk,
                                 const char *untrusted_comment, const char *trusted_comment,
                                 char **out, struct ferry_error **err);
FERRY_API void ferry_signer_free(struct ferry_signer *s);
/* One-shot helper over a buffer. */
FERRY_API int ferry_sign_buffer(const struct ferry_seckey *sk, const void *data, size_t len,
                                const char *untrusted_comment, const char *trusted_comment,
                                char **out, struct ferry_error **err);

/* Verify a .minisig text against a message digest state / buffer and a set of
 * trusted keys. Accepts prehashed "ED" signatures; legacy "Ed" ones only in
 * ferry_verify_buffer (like `minisign -V` without -H), never in
 * ferry_verify_stream, which has no message to check them against.
 * Errors: FERRY_E_SIGNATURE (malformed or invalid, names `what`),
 * FERRY_E_UNTRUSTED_KEY (key id of the signature not among keys; names the id).
 * On success *trusted_comment (if not NULL) receives a copy (ferry_free) and
 * *which (if not NULL) the index of the key that verified. */
FERRY_API int ferry_verify_buffer(struct ferry_pubkey *const *keys, size_t nkeys, const char *sig,
                                  size_t siglen, const void *data, size_t len, const char *what,
                                  char **trusted_comment, size_t *which, struct ferry_error **err);
/* Same for a message streamed through a signer (only BLAKE2b state is used). */
FERRY_API int ferry_verify_stream(struct ferry_pubkey *const *keys, size_t nkeys, const char *sig,
                                  size_t siglen, struct ferry_signer *hashed, const char *what,
                                  char **trusted_comment, size_t *which, struct ferry_error **err);

#endif
