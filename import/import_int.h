/* ferry import: internals shared by verify.c and push.c. */
#ifndef FERRY_IMPORT_INT_H
#define FERRY_IMPORT_INT_H

#include "ferry/bundle.h"
#include "ferry/import.h"
#include "ferry/layout.h"

struct ferry_verified {
    struct ferry_statement *st;
    struct ferry_strmap *members;     /* path -> struct ferry_stmt_member (in st) */
    struct ferry_layout *layout;      /* the blobs, and the manifests held in memory, parsed */
    struct ferry_strmap *offsets;     /* path -> frame offset + 1 */
    struct ferry_bundle_index *index; /* the file verified and its seek table */
    char key_id[17];
    uint64_t bytes;
    uint64_t total; /* what the statement lists: progress shows bytes of it */
    bool detached;  /* BUNDLE.minisig was present and verified */
};

/* Frame offset of a member, recorded by the verification pass. */
bool ferry_verified_offset(const struct ferry_verified *v, const char *path, uint64_t *off);

/* A reader at member m's data in the very file verify read (its open file and
 * seek table are shared, so any thread can read any member without parsing
 * the table again). FERRY_E_BUNDLE if the member is not where verify saw it. */
int ferry_verified_open_member(const struct ferry_verified *v, const struct ferry_stmt_member *m,
                               struct ferry_bundle_reader **out, struct ferry_error **err);

#endif
