/* ferry registry client: private definitions shared by the registry sources.
 *
 * Layering inside the module:
 *   parse.c        WWW-Authenticate, Link, URL resolution, error bodies (pure functions)
 *   credentials.c  explicit credentials, auth files, docker-credential helpers
 *   http.c         one libcurl transfer, the retry loop and the 401 flow
 *   auth.c         Basic header, bearer token fetch (GET and OAuth POST), token cache
 *   registry.c     handle lifecycle, ping, argument checks, struct reg_call
 *   manifest.c, blob.c, tags.c, referrers.c   the distribution-spec endpoints
 */
#ifndef FERRY_REGISTRY_INT_H
#define FERRY_REGISTRY_INT_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdarg.h>
#include <time.h>

#include "ferry/digest.h"
#include "ferry/registry.h"

#define REGISTRY_MAGIC 0x46525247u /* "FRRG" */

#define REG_DEFAULT_RETRIES 4
#define REG_DEFAULT_CONNECT_TIMEOUT 30L
#define REG_RETRY_AFTER_CAP_MS 60000L /* never sleep longer than this for one retry */
#define REG_BACKOFF_BASE_MS 500L      /* first backoff without Retry-After */
#define REG_TOKEN_MIN_LIFETIME 60     /* seconds: token spec default and floor */
#define REG_TOKEN_EARLY_REFRESH 10    /* seconds: refresh this long before expiry */
#define REG_TOKEN_CACHE_MAX 32        /* cached bearer tokens per handle */
#define REG_ERROR_SUMMARY_MAX 512     /* characters of an error body kept in a message */
#define REG_LOW_SPEED_TIME 120L       /* abort a transfer stalled this many seconds */
#define REG_WARNINGS_SEEN_MAX 16      /* distinct Warning: headers logged once */
#define REG_OAUTH_CLIENT_ID "ferry"
/* seconds: a longer expires_in is cut to this */
#define REG_TOKEN_MAX_LIFETIME (86400LL * 365)

/* ---- credentials (credentials.c) ---------------------------------------- */

enum reg_cred_kind {
    REG_CRED_NONE = 0,
    REG_CRED_BASIC = 1,         /* username + secret (password) */
    REG_CRED_IDENTITY = 2,      /* secret is an OAuth2 refresh token (identitytoken) */
    REG_CRED_REGISTRY_TOKEN = 3 /* secret is a bearer token sent as is (registrytoken) */
};

struct reg_creds {
    enum reg_cred_kind kind;
    char *username; /* ferry_malloc; not secret */
    char *secret;   /* sodium_malloc; wiped on clear */
    char *source;   /* where they came from, for messages ("/root/.docker/config.json") */
};

void reg_creds_clear(struct reg_creds *c);

/* Find credentials for host (host[:port], the API host). auth_file NULL means
 * REGISTRY_AUTH_FILE, then $DOCKER_CONFIG/config.json or ~/.docker/config.json
 * (first file that has an entry wins; missing files are skipped). An explicit
 * auth_file that does not exist is FERRY_E_NOT_FOUND. Nothing found: 0 with
 * out->kind == REG_CRED_NONE. Helper failures other than "credentials not
 * found" are FERRY_E_AUTH naming the helper and host (never the secret). */
int reg_creds_lookup(const char *host, const char *auth_file, struct reg_creds *out,
                     struct ferry_error **err);
/* Said when a registry refuses and no credentials were found for it. */
#define REG_NO_CREDS_HINT                                                                          \
    " (no credentials found for this registry: log in with 'login HOST -u USER "                   \
    "--password-stdin', or give --authfile FILE, or --username USER --password-stdin)"

/* The auth files credentials are read from, in order: auth_file alone when
 * given, else REGISTRY_AUTH_FILE and $DOCKER_CONFIG/config.json (or
 * ~/.docker/config.json); *docker holds the latter's path (ferry_free).
 * paths[] gets up to two entries, NULL after the last. */
int reg_auth_files(const char *auth_file, const char **paths, char **docker,
                   struct ferry_error **err);
/* Is key an auths key the lookup would read for host (its aliases, legacy
 * "https://HOST/..." forms)? logout removes all of them. */
bool reg_key_is_for(const char *key, const char *host);
/* The auths key an entry for host is stored under (Docker Hub's legacy URL). */
const char *reg_store_key(const char *host);
/* Wipe every secret-bearing string of a config tree before json_decref. */
void reg_wipe_config(json_t *root);
/* Look up host in one config file body (JSON); exposed for tests. */
int reg_creds_from_config(const char *host, const char *json, size_t len, const char *path,
                          struct reg_creds *out, struct ferry_error **err);
/* Ask credential helper `helper` (a checked name) for server; host is for
 * messages. Nothing found: 0 with out->kind == REG_CRED_NONE. */
typedef int (*reg_helper_fn)(const char *helper, const char *server, const char *host,
                             struct reg_creds *out, struct ferry_error **err);
/* reg_creds_from_config with the helper runner passed in, so the parser runs
 * without spawning docker-credential-* (fuzz targets pass a fake). */
int reg_creds_parse_config(const char *host, const char *json, size_t len, const char *path,
                           reg_helper_fn helper_fn, struct reg_creds *out,
                           struct ferry_error **err);
/* Interpret what "docker-credential-<helper> get" printed for server (text,
 * NUL-terminated at len) and its exit status; "credentials not found" is 0
 * with out->kind == REG_CRED_NONE. out must be zeroed. */
int reg_helper_output_parse(const char *helper, const char *server, const char *host,
                            const char *text, size_t len, int status, struct reg_creds *out,
                            struct ferry_error **err);
/* True for docker.io, index.docker.io and registry-1.docker.io. */
bool reg_is_docker_hub(const char *host);

/* ---- parsers (parse.c) ---------------------------------------------------- */

/* Summarise a registry error body ({"errors":[{code,message,detail}]} or
 * text) into at most REG_ERROR_SUMMARY_MAX printable characters. Returns a
 * ferry_malloc string ("" if nothing useful) or NULL on allocation failure.
 * *code_out (if not NULL) receives the first error code (ferry_malloc) or NULL. */
char *reg_error_summary(const char *body, size_t len, char **code_out);
/* Scheme://authority of an absolute URL, ferry_malloc; NULL if not absolute. */
char *reg_url_origin(const char *url);
/* Length of url without its query and fragment: what messages and logs show
 * of it, since an upload session's query carries the registry's state token
 * (distribution's _state). Print with "%.*s". */
int reg_url_loggable_len(const char *url);
/* The Range header of an upload session's answer, "0-<end>" (a "bytes="
 * prefix is accepted): *end receives the offset of the last byte the registry
 * holds. Note that "0-0" is ambiguous: distribution sends it for an empty
 * session as well as for one holding one byte. FERRY_E_INVALID for anything
 * else, NULL included. */
int reg_upload_range_parse(const char *value, int64_t *end, struct ferry_error **err);
/* Percent-encode a query component (RFC 3986 unreserved kept). ferry_malloc. */
char *reg_url_escape(const char *s);
/* The same into dst at off (room for 3 * strlen(s) + 1 more bytes, e.g. a
 * sodium buffer for secrets); NUL-terminates and returns the new offset. */
size_t reg_url_escape_into(char *dst, size_t off, const char *s);
/* Normalise a space-separated scope list: split, sort, dedupe, join with ' '. */
char *reg_scope_normalize(const char *a, const char *b);
/* 1 if every entry of the normalised list `want` is in normalised `have`. */
int reg_scope_covers(const char *have, const char *want);

/* ---- transport (http.c) --------------------------------------------------- */

/* Headers of the final response that the client looks at. Values are
 * ferry_malloc strings or NULL; repeated headers are joined with ", ". */
struct reg_resp {
    long status;
    char *content_type;
    char *docker_digest;
    char *location;
    char *link;
    char *www_authenticate;
    char *retry_after;
    char *oci_subject;
    char *oci_filters;
    char *content_range;
    char *range;     /* Range of an upload session's answer ("0-<last byte>") */
    char *chunk_min; /* OCI-Chunk-Min-Length */
    char *warning;
    int64_t content_length;   /* -1 if absent */
    char *url;                /* effective URL (after redirects) */
    struct ferry_buf errbody; /* body of a non-2xx response, capped */
};
void reg_resp_clear(struct reg_resp *rs);

/* One request. The transport adds authentication, User-Agent and Accept, retries
 * 429/5xx/connection resets (bounded, with backoff and Retry-After), and runs the
 * 401 flow (Basic, or bearer token fetched for scope). */
struct reg_req {
    const char *method;        /* GET HEAD PUT POST PATCH DELETE */
    const char *url;           /* absolute */
    const char *what;          /* for messages: "get manifest lib/app:v1" */
    const char *scope;         /* token scope (space-separated); NULL: none */
    const char *accept;        /* NULL: none */
    const char *content_type;  /* NULL: none */
    const char *content_range; /* NULL: none (a PATCH chunk's "<first>-<last>") */
    /* request body: memory, or a streamed source with known length */
    const void *body;
    size_t body_len;
    ferry_source_fn src;
    ferry_seek_fn seek; /* seek(src_ud, 0) rewinds the body; NULL: it cannot be replayed */
    void *src_ud;
    int64_t src_len;
    /* 2xx response body: into out (capped by out->max), or streamed to sink */
    struct ferry_buf *out;
    ferry_sink_fn sink;
    void *sink_ud;
    bool resumable; /* sink may be resumed with Range after a reset */
    /* A part of the body: bytes range_start .. range_start + range_len - 1
     * (Range, answered 206 from that offset; a 200 is FERRY_E_UNSUPPORTED).
     * range_len 0: the whole body. */
    int64_t range_start, range_len;
    bool follow;               /* follow redirects (Authorization dropped on host change) */
    bool no_retry;             /* one attempt only */
    bool no_auth;              /* no Authorization and no 401 flow (token requests) */
    const char *authorization; /* explicit Authorization value (token fetch) */
};

/* Perform q. Returns 0 with rs filled for any final status the caller must
 * interpret (2xx, 3xx, 4xx other than 401/403); negative with *err set on
 * network errors, sink/source errors, 401/403 (FERRY_E_AUTH) and on 429/5xx
 * once retries are exhausted (FERRY_E_HTTP). rs is cleared first. */
int reg_request(struct ferry_registry *r, const struct reg_req *q, struct reg_resp *rs,
                struct ferry_error **err);
/* Error for an unexpected status: 404 FERRY_E_NOT_FOUND, 401/403 FERRY_E_AUTH,
 * 413 FERRY_E_TOO_LARGE, else FERRY_E_HTTP; message
 * "<what>: http <status>[: <summary>]". */
int reg_status_error(const char *what, const struct reg_resp *rs, struct ferry_error **err);
/* Delay before retry number attempt (0-based): Retry-After of rs when present
 * (capped at REG_RETRY_AFTER_CAP_MS), else exponential from REG_BACKOFF_BASE_MS. */
long reg_retry_delay_ms(const struct reg_resp *rs, int attempt);
/* https://host or http://host for the handle. */
char *reg_url(const struct ferry_registry *r, const char *fmt, ...) FERRY_PRINTF(2, 3);
/* reg_url with a va_list (ap is consumed). */
char *reg_url_va(const struct ferry_registry *r, const char *fmt, va_list ap) FERRY_PRINTF(2, 0);

/* ---- auth (auth.c) -------------------------------------------------------- */

enum reg_auth_scheme { REG_AUTH_UNKNOWN = 0, REG_AUTH_NONE, REG_AUTH_BASIC, REG_AUTH_BEARER };

struct reg_token {
    char *scope;    /* normalised scope set (ferry_malloc) */
    char *header;   /* "Bearer <token>" (sodium_malloc) */
    time_t expires; /* CLOCK_MONOTONIC seconds */
};

/* Authorization header value to send for a request with `scope`, or NULL
 * (anonymous). May fetch a token (bearer scheme known). *fresh is set when the
 * returned value was fetched just now. */
int reg_auth_header(struct ferry_registry *r, const char *scope, const char **value, bool *fresh,
                    struct ferry_error **err);
/* Parse a token response (token.md, oauth.md): *header (sodium_malloc)
 * receives "Bearer <token>" (access_token preferred over token) and
 * *expires_in the lifetime in seconds, clamped to [REG_TOKEN_MIN_LIFETIME,
 * REG_TOKEN_MAX_LIFETIME]. Errors are FERRY_E_AUTH prefixed by `what` and never
 * quote the body. */
int reg_token_parse(const char *body, size_t len, const char *what, char **header,
                    long long *expires_in, struct ferry_error **err);
/* React to a 401: parse the challenge, remember the scheme, realm and
 * service, load credentials on first use, and drop the token that was
 * rejected. `sent` is the Authorization value that got the 401 (NULL: none),
 * `sent_fresh` tells whether it was fetched for this request. Returns 0 if the
 * request should be retried, with *scope_out (ferry_malloc) the scope set to
 * ask for next (request scope plus the challenge's); negative FERRY_E_AUTH
 * otherwise, naming the host and status. */
int reg_auth_challenge(struct ferry_registry *r, const char *scope, const struct reg_resp *rs,
                       const char *sent, bool sent_fresh, char **scope_out,
                       struct ferry_error **err);
void reg_auth_reset(struct ferry_registry *r);

/* ---- the handle ----------------------------------------------------------- */

struct ferry_registry {
    uint32_t magic;
    char *host;   /* host[:port] */
    char *origin; /* scheme://host[:port] */
    bool plain_http;
    bool insecure_tls;
    char *ca_file;
    char *auth_file;
    int max_retries;
    long connect_timeout_s;
    int64_t chunk_min;  /* chunked uploads from this size on; INT64_MAX: never */
    int64_t chunk_size; /* bytes per PATCH */
    CURL *curl;
    char errbuf[CURL_ERROR_SIZE];

    /* credentials: explicit ones at _new, otherwise loaded on the first 401 */
    struct reg_creds creds;
    bool creds_loaded;

    /* what the registry asked for */
    enum reg_auth_scheme scheme;
    char *realm;
    char *service;
    char *static_auth; /* "Basic <b64>" or "Bearer <registrytoken>" (sodium_malloc) */
    struct reg_token tokens[REG_TOKEN_CACHE_MAX];
    size_t ntokens;

    char *warnings_seen[REG_WARNINGS_SEEN_MAX];
    size_t nwarnings;
};

/* Entry checks of the public functions (registry.c). */
int reg_check(const struct ferry_registry *r, struct ferry_error **err);
/* Repository name: lowercase path components of [a-z0-9._-], separated by '/'. */
int reg_check_repo(const char *repo, struct ferry_error **err);
/* Tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}) or digest; *is_digest tells which
 * and d (if not NULL) receives the parsed digest. */
int reg_check_ref(const char *ref, bool *is_digest, struct ferry_digest *d,
                  struct ferry_error **err);
/* "<verb> <host>/<repo>[<sep><ref>]" for messages; ferry_malloc, NULL on OOM. */
char *reg_what(const struct ferry_registry *r, const char *verb, const char *repo, const char *ref);
/* A growable list of ferry_malloc strings (ferry_strv_free frees it). */
struct reg_strv {
    char **v;
    size_t n, cap;
};
/* Append the "tags" of one tags/list page (page numbers messages) to all. */
int reg_tags_page_parse(const char *data, size_t len, const char *what, int page,
                        struct reg_strv *all, struct ferry_error **err);
/* Sort all and drop duplicates (freeing them). */
void reg_tags_sort_unique(struct reg_strv *all);
/* Parse one referrers page: a JSON object (duplicate keys rejected) with a
 * "manifests" array. *root receives the tree, NULL on error. */
int reg_referrers_page_parse(const char *data, size_t len, const char *what, int page,
                             json_t **root, struct ferry_error **err);
/* One endpoint call: the strings it owns, its request and its response.
 * reg_call_send points q.url, q.what and q.scope at url, what and scope, so
 * a caller that follows a Link page may replace url and send again. */
struct reg_call {
    char *url;   /* absolute (ferry_malloc) */
    char *what;  /* "<verb> <host>/<repo>[<sep><ref>]" (ferry_malloc) */
    char *scope; /* "repository:<repo>:<actions>" (ferry_malloc) or NULL */
    struct reg_req q;
    struct reg_resp rs;
};
/* Zero c, then format what (reg_what of verb, repo, ref), scope
 * ("repository:<repo>:<actions>"; actions NULL leaves it NULL for the caller
 * to set) and url (reg_url of fmt). FERRY_E_NOMEM on failure. c needs
 * reg_call_clear whatever this returns. */
int reg_call_init(struct reg_call *c, const struct ferry_registry *r, const char *verb,
                  const char *repo, const char *ref, const char *actions, struct ferry_error **err,
                  const char *fmt, ...) FERRY_PRINTF(8, 9);
/* reg_request of c->q into c->rs. With want not 0, a final status other than
 * want is reg_status_error. */
int reg_call_send(struct reg_call *c, struct ferry_registry *r, long want,
                  struct ferry_error **err);
/* reg_call_send for an existence check: 1 on 200, 0 on 404, else
 * reg_status_error. */
int reg_call_exists(struct reg_call *c, struct ferry_registry *r, struct ferry_error **err);
/* Free the strings and the response; c may be zeroed or half built. */
void reg_call_clear(struct reg_call *c);
/* One page of a paginated answer, in c->rs and c->q.out: 0 for the next page,
 * 1 to stop here, negative (with *err set) to fail. page counts from 1. */
typedef int (*reg_page_fn)(struct reg_call *c, int page, void *ud, struct ferry_error **err);
/* Send c, then follow its Link rel="next" headers (resolved against the URL
 * that answered; a link back to the same page is FERRY_E_INVALID), at most
 * FERRY_MAX_TAG_PAGES pages, each into the reset c->q.out and handed to fn.
 * With want not 0, a status other than want is reg_status_error before fn
 * sees the page. 0 after the last page, 1 when fn stopped, negative on error. */
int reg_call_pages(struct reg_call *c, struct ferry_registry *r, long want, reg_page_fn fn,
                   void *ud, struct ferry_error **err);
/* Cancel an upload session (best effort, errors only logged). */
void reg_upload_cancel(struct ferry_registry *r, const char *location, const char *what);

/* Monotonic seconds. */
time_t reg_now(void);

/* --- parsers of registry answers, reached by the unit tests and fuzzers too
 * --------------------------------- */

struct ferry_auth_challenge {
    char *scheme; /* "basic" or "bearer" (lowercased) */
    char *realm;
    char *service;
    char *scope; /* space-separated, as sent */
    char *error;
};
/* Parse one WWW-Authenticate header value (RFC 7235 auth-params, quoted strings
 * with backslash escapes). Several challenges: the first Bearer, else the first. */
int ferry_auth_challenge_parse(const char *value, struct ferry_auth_challenge *out,
                               struct ferry_error **err);
void ferry_auth_challenge_clear(struct ferry_auth_challenge *c);
/* Extract the rel="next" target of a Link header value; *url is NULL if none. */
int ferry_link_next_parse(const char *value, char **url, struct ferry_error **err);
/* Resolve a (possibly relative) URL against base (RFC 3986). */
char *ferry_url_resolve(const char *base, const char *ref);

#endif
