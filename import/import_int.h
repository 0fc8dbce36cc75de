/* ferry import: internals shared by verify.c and push.c. */
#ifndef FERRY_IMPORT_INT_H
#define FERRY_IMPORT_INT_H

#include "ferry/import.h"
#include "ferry/layout.h"

struct ferry_verified {
    struct ferry_statement *st;
    struct ferry_strmap *members; /* path -> struct ferry_stmt_member (in st) */
    struct ferry_layout *layout;  /* the blobs, and the manifests held in memory, parsed */
    struct ferry_strmap *offsets; /* path -> frame offset + 1 */
    char key_id[17];
    uint64_t bytes;
    bool detached; /* BUNDLE.minisig was present and verified */
};

/* Frame offset of a member, recorded by the verification pass. */
bool ferry_verified_offset(const struct ferry_verified *v, const char *path, uint64_t *off);

#endif
