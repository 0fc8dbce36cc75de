/* ferry import: internals shared by verify.c and push.c. */
#ifndef FERRY_IMPORT_INT_H
#define FERRY_IMPORT_INT_H

#include "ferry/import.h"
#include "ferry/manifest.h"

/* A manifest or index held in memory after verification. */
struct vmanifest {
    char *digest;
    char *media_type;
    char *data;
    size_t len;
    struct ferry_manifest *m; /* parsed */
};

struct ferry_verified {
    struct ferry_statement *st;
    struct ferry_strmap *members;   /* path -> struct ferry_stmt_member (in st) */
    struct ferry_strmap *manifests; /* digest -> struct vmanifest */
    struct ferry_strmap *offsets;   /* path -> frame offset + 1 */
    struct vmanifest **mlist;
    size_t nmlist;
    char key_id[17];
    uint64_t bytes;
    bool detached; /* BUNDLE.minisig was present and verified */
};

/* Lookup helpers. */
bool ferry_verified_offset(const struct ferry_verified *v, const char *path, uint64_t *off);
struct vmanifest *ferry_verified_manifest(const struct ferry_verified *v, const char *digest);

#endif
