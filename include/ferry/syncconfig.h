/* ferry: regsync-style sync configs (regclient's regsync.yaml, version 1).
 *
 * ferry-export -c sync.yaml reads the file regsync reads: creds, defaults and
 * sync entries with tag allow/deny regexes and referrer settings. Keys that
 * only make sense for an online mirror (schedule, interval, ratelimit,
 * parallel, backup, ...) are accepted and reported as notices; unknown keys
 * are errors naming file:line:column. docs/sync-config.md is the user's view.
 *
 * A loaded config is read-only; reading it (lookups, tag selection) from
 * several threads at once is safe.
 */
#ifndef FERRY_SYNCCONFIG_H
#define FERRY_SYNCCONFIG_H

#include "common.h"
#include "error.h"
#include "limits.h"
#include "util.h"

enum ferry_sync_type {
    FERRY_SYNC_REPOSITORY = 1, /* source and target are repositories; tags come from a listing */
    FERRY_SYNC_IMAGE = 2,      /* source and target are image references (tag or digest) */
};

enum ferry_sync_tls {
    FERRY_SYNC_TLS_ENABLED = 0,  /* https, verified (default) */
    FERRY_SYNC_TLS_INSECURE = 1, /* https, certificate not verified */
    FERRY_SYNC_TLS_DISABLED = 2, /* plain http */
};

/* One `creds` entry. Strings are NULL when the key was not given. */
struct ferry_sync_cred {
    char *registry;    /* host[:port] as in image references; "docker.io" for Docker Hub */
    char *hostname;    /* `hostname`: host[:port] to connect to instead, or NULL */
    char *user;        /* `user` */
    char *pass;        /* `pass`: in sodium_malloc memory, wiped when the config is freed */
    char *cred_helper; /* `credHelper`: docker-credential-<name> helper, or NULL */
    enum ferry_sync_tls tls;
    bool tls_set;          /* `tls` given (or an http:// registry): it wins over the command line */
    char *regcert;         /* `regcert`: PEM text of CA certificates to trust (not a path) */
    char *client_cert;     /* `clientcert`: PEM text for mTLS */
    char *client_key;      /* `clientkey`: PEM text, in sodium_malloc memory */
    unsigned line, column; /* of the entry in the file */
};

/* One `tags` (or `tagSets` item): regexes matched against the whole tag. */
struct ferry_sync_tagset {
    char **allow;
    size_t nallow;
    char **deny;
    size_t ndeny;
};

/* One `referrerFilters` item. A referrer is carried if it matches any filter;
 * within a filter, the artifact type and every annotation must match. */
struct ferry_sync_referrer_filter {
    char *artifact_type;    /* NULL: any artifact type */
    char **annotation_keys; /* nannotations keys and values, in file order */
    char **annotation_values;
    size_t nannotations;
};

struct ferry_sync_matcher; /* compiled tag patterns (private) */

/* One `sync` entry, with `defaults` merged in the way regsync merges them
 * (referrers, referrerFilters, referrerSource, referrerTarget). Templates in
 * source, target, referrerSource and referrerTarget are expanded. */
struct ferry_sync_entry {
    enum ferry_sync_type type;
    char *source;                       /* repository (REPOSITORY) or image reference (IMAGE) */
    char *target;                       /* same form as source */
    struct ferry_sync_tagset tags;      /* `tags` */
    struct ferry_sync_tagset *tag_sets; /* `tagSets`: a tag is selected if any set selects it */
    size_t ntag_sets;
    char *platform;   /* `platform`: one platform to resolve an index to, or NULL */
    char **platforms; /* `platforms`: platforms to keep; empty: all */
    size_t nplatforms;
    bool referrers;        /* `referrers`; default false, as in regsync */
    char *referrer_source; /* repository to read referrers from; NULL: source's */
    char *referrer_target; /* repository to write referrers to; NULL: target's */
    struct ferry_sync_referrer_filter *referrer_filters; /* empty: every referrer */
    size_t nreferrer_filters;
    unsigned line, column; /* of the entry in the file */
    struct ferry_sync_matcher *matcher;
};

struct ferry_sync_config {
    char *path;              /* name used in messages (the path given to load) */
    bool skip_docker_config; /* defaults.skipDockerConfig: ignore ~/.docker/config.json */
    struct ferry_sync_cred *creds;
    size_t ncreds;
    struct ferry_sync_entry *entries; /* in file order; at least one */
    size_t nentries;
    char **notices; /* "FILE:LINE:COL: KEY: what ferry does instead" */
    size_t nnotices;
};

/* Read and validate the sync config at path (at most FERRY_MAX_CONFIG_FILE
 * bytes). Expands {{file "PATH"}} (PATH relative to the working directory, as
 * in regsync; contents trimmed of surrounding white space) and {{env "NAME"}}
 * in the fields regsync expands: creds registry, user, pass, regcert,
 * clientcert, clientkey; sync source, target, referrerSource,
 * referrerTarget. Compiles every tag pattern with PCRE2.
 *
 * Errors (messages start with "PATH:LINE:COLUMN: " and never contain a
 * password or the text of a secret field): FERRY_E_NOT_FOUND or FERRY_E_IO
 * (the config or a {{file}} cannot be read), FERRY_E_TOO_LARGE (file,
 * {{file}} or YAML over a cap), FERRY_E_INVALID (YAML syntax, unknown or
 * duplicate key, wrong type of value, bad reference, bad pattern, template
 * other than file/env, unset variable), FERRY_E_UNSUPPORTED (version other
 * than 1, type: registry, semverRange), FERRY_E_NOMEM.
 * On success *out is a new config; free it with ferry_sync_config_free. */
/* "libyaml 0.2.5, PCRE2 10.42": the sync config reader's libraries. */
FERRY_API const char *ferry_sync_versions(void);

FERRY_API int ferry_sync_config_load(const char *path, struct ferry_sync_config **out,
                                     struct ferry_error **err);

/* Same from memory; name is used in messages and as cfg->path. For tests
 * and fuzzing; templates still read files and the environment. */
FERRY_API int ferry_sync_config_parse(const char *name, const void *data, size_t len,
                                      struct ferry_sync_config **out, struct ferry_error **err);

/* Free a config, wiping secrets. NULL is a no-op. */
FERRY_API void ferry_sync_config_free(struct ferry_sync_config *cfg);

/* The creds entry for registry (host[:port]; "docker.io", "index.docker.io"
 * and "registry-1.docker.io" all name Docker Hub; case-insensitive), or NULL.
 * The result points into cfg. */
FERRY_API const struct ferry_sync_cred *ferry_sync_config_creds(const struct ferry_sync_config *cfg,
                                                                const char *registry);

/* Select the tags of entry e from tags[0..n) (a listing of the source
 * repository), the way regsync does: with no allow/deny anywhere every tag is
 * selected; otherwise a tag is selected if some tag set (`tags`, each
 * `tagSets` item) selects it, and a set selects a tag when (allow is empty or
 * an allow pattern matches the whole tag) and no deny pattern matches it.
 * Digest tags (ferry_sync_is_digest_tag) and strings that are not valid tags
 * are never selected. The result is sorted with strcmp and has no duplicates:
 * *out is an array of *nout strings (NULL when *nout is 0), freed with
 * ferry_strv_free. A pattern that hits FERRY_SYNC_MATCH_LIMIT fails with
 * FERRY_E_TOO_LARGE naming the pattern, its location and the tag. */
FERRY_API int ferry_sync_select_tags(const struct ferry_sync_entry *e, const char *const *tags,
                                     size_t n, char ***out, size_t *nout, struct ferry_error **err);

/* 1 if tag is selected for entry e (same rules as ferry_sync_select_tags), 0 if
 * not, negative with *err set on a match failure. */
FERRY_API int ferry_sync_tag_selected(const struct ferry_sync_entry *e, const char *tag,
                                      struct ferry_error **err);

/* True for tags that name a digest rather than a version: ALG-HEX[.ANYTHING]
 * with ALG-HEX a sha256 (64 hex), sha384 (96), sha512 (128) or blake3 (64)
 * digest in lowercase: the referrers fallback tags (sha256-<hex>) and
 * cosign-style sha256-<hex>.sig / .att / .sbom. */
FERRY_API bool ferry_sync_is_digest_tag(const char *tag);

#endif
