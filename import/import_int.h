/* ferry import: internals shared by verify.c and push.c. */
#ifndef FERRY_IMPORT_INT_H
#define FERRY_IMPORT_INT_H

#include "ferry/bundle.h"
#include "ferry/import.h"
#include "ferry/layout.h"

struct ferry_verified {
    struct ferry_statement *st;
    struct ferry_strmap *members;   /* path -> struct ferry_stmt_member (in st) */
    struct ferry_layout *layout;    /* the blobs, and the manifests held in memory, parsed */
    struct ferry_strmap *offsets;   /* path -> frame offset + 1 */
    struct ferry_strmap *externals; /* digest -> struct ferry_stmt_external (in st) */
    /* A volume of a set: the blobs other volumes hold whole (digest ->
     * struct ferry_stmt_member), and the blobs carried in parts (digest ->
     * struct ferry_stmt_split); members holds this volume's only. */
    struct ferry_strmap *away;
    struct ferry_strmap *splits;
    struct ferry_bundle_index *index; /* the file verified and its seek table */
    struct ferry_bundle_id id;        /* the signing key and the statement's digest */
    uint64_t bytes;
    uint64_t total;           /* what the statement lists: progress shows bytes of it */
    unsigned volume, volumes; /* a volume of a set: its number and the count; else 0 */
    char set[72];             /* and the set's id */
    bool st_borrowed;         /* st is another volume's (ferry_verified_share) */
    bool deferred; /* blobs not held in memory are checked when read (ferry_import_open) */
    bool detached; /* BUNDLE.minisig was present and verified */
};

/* ferry_import_check_signatures, and where else a signature blob that no
 * volume given holds may be read: blob() appends it to out and returns 1
 * (the gate checks its digest), 0 when it is not there either, negative on
 * an error. push gives the target registry, where an earlier run of the
 * set may have uploaded it. */
struct import_sig_remote {
    int (*blob)(void *ud, size_t image, const char *digest, int64_t size, struct ferry_buf *out,
                struct ferry_error **err);
    void *ud;
};
int import_check_signatures(const struct ferry_verified *const *vols, size_t nvols,
                            const struct import_sig_remote *remote,
                            const struct ferry_sig_gate *gate, ferry_sig_verdict_fn cb, void *ud,
                            size_t *unsigned_images, struct ferry_error **err);

/* qsort's comparison of two unsigned (volume numbers), ascending. */
int import_cmp_unsigned(const void *a, const void *b);

/* Frame offset of a member, recorded by the verification pass. */
bool ferry_verified_offset(const struct ferry_verified *v, const char *path, uint64_t *off);

/* A reader at member m's data in the very file verify read (its open file and
 * seek table are shared, so any thread can read any member without parsing
 * the table again). FERRY_E_BUNDLE if the member is not where verify saw it. */
int ferry_verified_open_member(const struct ferry_verified *v, const struct ferry_stmt_member *m,
                               struct ferry_bundle_reader **out, struct ferry_error **err);

/* The member at path in the first of vols that holds it (and that volume in
 * *from), or NULL. */
const struct ferry_stmt_member *ferry_verified_find(const struct ferry_verified *const *vols,
                                                    size_t nvols, const char *path,
                                                    const struct ferry_verified **from);
/* The same for the blob of a digest (blobs/<alg>/<hex>). */
const struct ferry_stmt_member *ferry_verified_find_blob(const struct ferry_verified *const *vols,
                                                         size_t nvols, const char *digest,
                                                         const struct ferry_verified **from);

/* ---- parts.c: blobs carried in parts across the volumes of a set --------- */

#include <stdatomic.h>

/* Where one part of a split blob is: a volume of this run (from), or parked
 * in the registry by an earlier run, or neither. */
struct part_loc {
    const struct ferry_stmt_member *m;
    const struct ferry_verified *from; /* NULL: not in a volume of this run */
    bool parked;                       /* in the records repository (HEAD) */
};
/* Locate the x->parts parts of x (*out: x->parts entries, ferry_free);
 * with reg NULL the registry is not asked. */
int parts_locate(const struct ferry_verified *const *vols, size_t nvols,
                 const struct ferry_stmt_split *x, struct ferry_registry *reg,
                 const char *parts_repo, struct part_loc **out, struct ferry_error **err);
/* An upload source (ferry_source_fn / ferry_seek_fn) over the parts of x,
 * each where loc says (parked ones read over reg, a connection of its own,
 * from parts_repo); checks each part and the whole. cancel (or NULL) stops
 * it between reads. */
struct parts_src;
int parts_src_new(const struct ferry_stmt_split *x, const struct part_loc *loc,
                  struct ferry_registry *reg, const char *parts_repo, const atomic_bool *cancel,
                  struct parts_src **out, struct ferry_error **err);
int64_t parts_src_read(void *buf, size_t len, void *ud, struct ferry_error **err);
int parts_src_seek(void *ud, uint64_t offset, struct ferry_error **err);
void parts_src_free(struct parts_src *s);

/* ---- records.c: tag records in the registry (docs/SECURITY.md) ---------- */

#define FERRY_RECORD_REPO "ferry-state"

struct tag_record {
    bool found;
    char *digest;      /* what the tag was set to */
    char *created;     /* the signed creation time of the bundle that set it */
    int64_t created_t; /* the same, in seconds since the epoch */
    char *statement;   /* that bundle's statement digest, or NULL */
    char *key_id;      /* the key that signed it, or NULL */
};
void record_clear(struct tag_record *rec);
/* The repository holding the records of repo's tags (ferry_malloc). */
char *record_repo(const char *repo);
/* Whether repo is a records repository (no image is pushed into one). */
bool record_is_state_repo(const char *repo);
/* Read the record of repo:tag: 0 with rec->found false when there is none;
 * a record that does not name repo:tag with a valid time is FERRY_E_INVALID. */
int record_get(struct ferry_registry *reg, const char *repo, const char *tag,
               struct tag_record *rec, struct ferry_error **err);
/* Record that the bundle v set repo:tag to digest. */
int record_put(struct ferry_registry *reg, const char *repo, const char *tag, const char *digest,
               const struct ferry_verified *v, struct ferry_error **err);

#endif
