/* ferry: image references "host[:port]/repo[:tag][@digest]" (distribution/reference). */
#ifndef FERRY_REFERENCE_H
#define FERRY_REFERENCE_H

#include "common.h"
#include "error.h"

struct ferry_ref {
    char *registry;   /* host[:port] as the user names it; "docker.io" for Docker Hub */
    char *api_host;   /* host[:port] to talk to; "registry-1.docker.io" for Docker Hub */
    char *repository; /* path, lowercase components; "library/x" on Docker Hub */
    char *tag;        /* NULL if none */
    char *digest;     /* "sha256:..." or NULL */
};

/* Parse a reference. Rules (distribution/reference normalize.go):
 * - the first path component is a registry host if it contains '.' or ':' or is
 *   "localhost"; otherwise the registry is docker.io;
 * - docker.io and index.docker.io map to api_host registry-1.docker.io, and a
 *   single-component repository there gets "library/";
 * - repository components match [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*, total name <= 255;
 * - tag matches [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127};
 * - digest parsed with ferry_digest_parse;
 * - neither tag nor digest: tag "latest" when default_latest, else FERRY_E_INVALID.
 * Returns a new ref (free with ferry_ref_free) in *out. */
FERRY_API int ferry_ref_parse(const char *s, bool default_latest, struct ferry_ref **out,
                              struct ferry_error **err);
FERRY_API void ferry_ref_free(struct ferry_ref *r);
/* "registry/repository[:tag][@digest]"; caller frees with ferry_free. */
FERRY_API char *ferry_ref_string(const struct ferry_ref *r);
/* Check a tag against the tag grammar. */
FERRY_API bool ferry_tag_valid(const char *tag);
/* Check a repository path against the name grammar. */
FERRY_API bool ferry_repository_valid(const char *repo);
/* A registry host of a reference, s[0..n): host [":" port] with host a
 * domain name, an IPv4 address or "[" IPv6 "]" and port at most 65535. */
FERRY_API bool ferry_ref_domain_valid(const char *s, size_t n);

#endif
