/* ferry: verify bundles and push them into a registry. */
#ifndef FERRY_IMPORT_H
#define FERRY_IMPORT_H

#include "common.h"
#include "error.h"
#include "registry.h"
#include "sign.h"
#include "statement.h"

/* A fully verified bundle: the statement and the manifests, held in memory. */
struct ferry_verified;

/* Verify a bundle offline: ferry.json first and signed by one of keys, every
 * member listed and present once, every size and digest, oci-layout and
 * index.json well formed, every manifest parsed and referencing only members.
 * The seek table must be consistent; BUNDLE.minisig, when present beside the
 * bundle, must verify with one of keys too.
 * Errors are FERRY_E_SIGNATURE / FERRY_E_UNTRUSTED_KEY / FERRY_E_BUNDLE /
 * FERRY_E_DIGEST_MISMATCH / FERRY_E_SIZE_MISMATCH naming the member. */
FERRY_API int ferry_import_verify(const char *path, struct ferry_pubkey *const *keys, size_t nkeys,
                                  struct ferry_verified **out, struct ferry_error **err);
/* What push needs before it writes anything, in one pass over the head of
 * the bundle: the statement signed by one of keys, every member listed,
 * present once and of its signed size, oci-layout, index.json and every
 * manifest read and checked (digest, parse, graph). The other blobs are
 * located, not read: push checks each digest as it uploads it, and holds
 * back its last bytes until it matches, so nothing unverified commits
 * (docs/SECURITY.md). The detached signature is not read. "-" reads a
 * stream whole, as ferry_import_verify does. */
FERRY_API int ferry_import_open(const char *path, struct ferry_pubkey *const *keys, size_t nkeys,
                                struct ferry_verified **out, struct ferry_error **err);
/* The same for a bundle arriving on fd (a pipe): verified in one pass as it
 * streams, frame by frame, and kept meanwhile in a private spool in TMPDIR
 * (unlinked; checked for room once the statement says how much) that push
 * then reads: what is pushed is what was verified. */
FERRY_API int ferry_import_verify_stream(int fd, struct ferry_pubkey *const *keys, size_t nkeys,
                                         struct ferry_verified **out, struct ferry_error **err);
FERRY_API const struct ferry_statement *ferry_verified_statement(const struct ferry_verified *v);
/* Key id (16 hex digits) of the key that verified the statement. */
FERRY_API const char *ferry_verified_key_id(const struct ferry_verified *v);
/* Digest of the bundle's ferry.json ("sha256:..."): the bundle's identity. */
FERRY_API const char *ferry_verified_statement_digest(const struct ferry_verified *v);
/* Whether BUNDLE.minisig was present and verified too. */
FERRY_API bool ferry_verified_detached(const struct ferry_verified *v);
FERRY_API uint64_t ferry_verified_bytes(const struct ferry_verified *v);
FERRY_API void ferry_verified_free(struct ferry_verified *v);

/* Read ferry.json without checking blobs. With keys, its signature is checked;
 * without, the statement is unauthenticated (listing only). */
FERRY_API int ferry_import_read_statement(const char *path, struct ferry_pubkey *const *keys,
                                          size_t nkeys, struct ferry_statement **out,
                                          struct ferry_error **err);

/* The signature gate (issue 13; include/ferry/sigcheck.h): per image of a
 * bundle, in the statement's order, cb gets the verdict of
 * ferry_sigcheck_image (signed, and by what; or why not). Signature blobs
 * are read from the bundle and checked against their signed digests. vols
 * are one bundle, or volumes of one set with vols[0] holding the statement
 * and graph (as ferry_import_push_set takes them): a blob is read from
 * whichever holds it. An image not accepted while signature blobs it might
 * need are on volumes not given cannot be judged yet: cb gets those volumes
 * (ascending; NULL and 0 otherwise). *unsigned_images counts the others not
 * accepted. */
struct ferry_sig_gate;
struct ferry_sig_verdict;
typedef void (*ferry_sig_verdict_fn)(size_t image, const struct ferry_sig_verdict *vd,
                                     const unsigned *waits, size_t nwaits, void *ud);
FERRY_API int ferry_import_check_signatures(const struct ferry_verified *const *vols, size_t nvols,
                                            const struct ferry_sig_gate *gate,
                                            ferry_sig_verdict_fn cb, void *ud,
                                            size_t *unsigned_images, struct ferry_error **err);

struct ferry_push_opts {
    const char *to; /* HOST[:PORT][/PREFIX]; NULL: the targets recorded in the bundle */
    struct ferry_registry_opts reg;
    int jobs;             /* parallel connections; 0 = 4 */
    bool dry_run;         /* only read: report per image what a push would do */
    bool allow_downgrade; /* move a tag set by a newer bundle back (reported as such) */
    int64_t max_age;      /* refuse a bundle created more than this many seconds ago; 0: any */
    /* Refuse every image without a signature the gate accepts
     * (ferry_import_check_signatures); NULL: no gate. With a volume set, an
     * image whose signatures are on volumes not given waits for them. */
    const struct ferry_sig_gate *require;
};

struct ferry_push_report {
    size_t blobs_uploaded, blobs_mounted, blobs_present;
    size_t manifests_pushed, manifests_present;
    size_t tags_set, tags_unchanged;
    size_t referrers;          /* referrer manifests in the bundle */
    size_t fallback_set;       /* referrers fallback tags written */
    size_t fallback_unchanged; /* fallback tags that already listed everything */
    size_t referrers_api;      /* (repository, subject) pairs served by the referrers API */
    /* cosign attachment tags written (new or moved; a dry run: to write) */
    size_t attachment_tags_set;
    size_t attachment_tags_unchanged; /* and those that named the attachment already */
    size_t referrers_new;             /* dry run: referrer manifests the target lacks */
    uint64_t bytes_uploaded;
    size_t refused; /* images refused: older than the bundle that set their tag, or unsigned */
    size_t unsigned_images;    /* of those, refused for want of a required signature */
    size_t missing;            /* a delta's expected blobs the target lacks (dry run) */
    size_t blobs_missing;      /* dry run: blobs that would be uploaded */
    uint64_t bytes_missing;    /* and their bytes */
    size_t waiting;            /* volumes: images whose content waits on volumes not given */
    size_t parts_parked;       /* volumes: parts of split blobs parked for a later run */
    unsigned *volumes_missing; /* volumes: those the waiting images need, ascending */
    size_t nvolumes_missing;
    char *host;   /* the registry pushed to */
    char **repos; /* the target repositories, in first-use order */
    size_t nrepos;
};
/* Free what a push left in rep (its host and repository list). */
FERRY_API void ferry_push_report_clear(struct ferry_push_report *rep);

/* What push did with one image or referrer. */
enum ferry_push_result {
    FERRY_PUSH_PUSHED = 1, /* written (a new tag, or a manifest the registry lacked) */
    FERRY_PUSH_UNCHANGED,  /* already there as the bundle has it */
    FERRY_PUSH_MOVED,      /* the tag pointed at another digest (previous) before */
    FERRY_PUSH_REFUSED,    /* not pushed: reason says why; its tag untouched */
    FERRY_PUSH_MISSING,    /* dry run of a delta: the target lacks blobs it expects */
    FERRY_PUSH_WAITING,    /* a volume set: content of it is on volumes not given yet */
};
struct ferry_pushed {
    const char *source;   /* images: the source reference; referrers: the repository read from */
    const char *target;   /* "host/prefix/repo:tag", or "host/prefix/repo@digest" */
    const char *digest;   /* what the target holds now */
    const char *previous; /* FERRY_PUSH_MOVED: the digest the tag had; else NULL */
    enum ferry_push_result result;
    const char *subject;       /* referrers: the digest they refer to; images: NULL */
    const char *artifact_type; /* referrers: their artifact type, or NULL */
    const char *reason;        /* REFUSED, MISSING, WAITING, and a downgrade: why; else NULL */
    bool downgrade;            /* moved back past a newer bundle's record (--allow-downgrade) */
    bool dry_run;              /* what a push would do; nothing was written */
};
/* Called per image once its tag is set (in the bundle's order), then per
 * referrer, from the calling thread. */
typedef void (*ferry_pushed_fn)(const struct ferry_pushed *what, void *ud);

/* Push a verified bundle: blobs (HEAD first; mounted across repositories when
 * one already has it; uploaded from the bundle otherwise, re-hashed as they
 * stream), then child manifests, indexes, and tags last. Re-running changes
 * nothing. Blobs are read from the file v holds open (the one verify read),
 * whatever `path` names by now; path is kept for the API's sake.
 *
 * Before anything is written: a bundle older than o->max_age is
 * FERRY_E_REFUSED; an image whose tag was set by a newer bundle (its tag
 * record, kept in the registry) is refused unless o->allow_downgrade, and
 * the others go on (rep->refused counts them); a delta whose expected blobs
 * the target lacks (neither in the repository nor mountable from the one
 * recorded) is FERRY_E_BASE_MISSING naming them and the bases. Each tag set
 * gets its record before the tag moves. */
FERRY_API int ferry_import_push(const char *path, const struct ferry_verified *v,
                                const struct ferry_push_opts *o, ferry_pushed_fn cb, void *ud,
                                struct ferry_push_report *rep, struct ferry_error **err);
/* Push volumes of one set (docs/FORMAT.md 3.3), given in any order, one or
 * several: blobs from whichever volume holds them, a blob carried in parts
 * put together once every part is here or parked in the registry by an
 * earlier run (the parts here are parked otherwise). An image (a referrer)
 * is set only when everything it references is in the target; the others
 * are reported FERRY_PUSH_WAITING with the volumes they need
 * (rep->waiting, rep->volumes_missing). Volumes of different sets, or one
 * volume twice, are FERRY_E_USAGE. */
FERRY_API int ferry_import_push_set(const struct ferry_verified *const *vols, size_t nvols,
                                    const struct ferry_push_opts *o, ferry_pushed_fn cb, void *ud,
                                    struct ferry_push_report *rep, struct ferry_error **err);
/* The volume a verified bundle is (1-based) and the count of its set; 0 and
 * 0 for a bundle that is no volume. set (if not NULL) gets the set's id. */
FERRY_API unsigned ferry_verified_volume(const struct ferry_verified *v, unsigned *count,
                                         const char **set);
/* Volumes of one set say the same but their number: let v (verified) use
 * first's statement and graph and drop its own, so a push of many volumes
 * holds one. first must outlive v; v then serves only as a source of its
 * blobs (ferry_import_push_set, first given first). */
FERRY_API int ferry_verified_share(struct ferry_verified *v, const struct ferry_verified *first,
                                   struct ferry_error **err);

/* What a registry holds (a receipt without a bundle): for each of repos
 * (with with_prefix, under to's prefix, put in front once), or with none
 * every repository of the catalog under the prefix: tags, the manifests they
 * reach (children, referrers, recursively) and the blobs those reference.
 * Repositories that do not exist are listed empty; ferry's tag records
 * repository is left out. *out freed with ferry_receipt_free. */
struct ferry_receipt;
FERRY_API int ferry_import_inventory(const char *to, const struct ferry_registry_opts *reg,
                                     const char *const *repos, size_t nrepos, bool with_prefix,
                                     struct ferry_receipt **out, struct ferry_error **err);

/* Split "HOST[:PORT][/PREFIX]" into host and prefix (NULL if none). */
FERRY_API int ferry_target_parse(const char *to, char **host, char **prefix,
                                 struct ferry_error **err);

#endif
