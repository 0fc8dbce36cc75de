/* ferry: sign module internals, for the module itself and its unit tests. */
#ifndef FERRY_SIGN_INT_H
#define FERRY_SIGN_INT_H

#include "ferry/sign.h"

/* Same as ferry_keygen, with the scrypt limits given. ferry_keygen uses
 * minisign's sensitive limits (opslimit 33554432, memlimit 1073741824); tests
 * pass libsodium's minimums so an encrypted key costs milliseconds. When
 * derivation fails for lack of memory both limits are halved, as minisign does,
 * down to libsodium's minimums. */
int ferry_keygen_limits(const char *pub_path, const char *sec_path, const char *password,
                        bool force, uint64_t opslimit, uint64_t memlimit, struct ferry_error **err);

/* Verify a prehashed ("ED") .minisig against the BLAKE2b-512 hash of the
 * message; same contract as ferry_verify_buffer. Legacy "Ed" signatures are
 * refused (they sign the message itself, which is not available here). */
int ferry_verify_hash(struct ferry_pubkey *const *keys, size_t nkeys, const char *sig,
                      size_t siglen, const unsigned char *hash, const char *what,
                      char **trusted_comment, size_t *which, struct ferry_error **err);

#endif
