/* ferry registry client: Basic and Bearer authentication.
 *
 * The first request goes out without credentials. A 401 tells the scheme:
 * Basic sends base64(user:password) on every later request; Bearer fetches a
 * token from the challenge's realm (GET realm?service=&scope=&scope=, or the
 * OAuth2 POST with grant_type=refresh_token when the credential is an identity
 * token) and caches it per scope set until shortly before it expires. Once the
 * realm is known, tokens for new scopes are fetched before the request, so a
 * new repository costs one token request and no extra 401.
 */
#include <jansson.h>
#include <sodium.h>
#include <string.h>

#include "ferry/limits.h"
#include "registry_int.h"

time_t
reg_now(void)
{
    return (time_t)(ferry_monotonic_ms() / 1000);
}

static void
token_clear(struct reg_token *t)
{
    ferry_safefree(t->scope);
    ferry_secret_free(t->header);
    t->header = NULL;
    t->expires = 0;
}

static void
token_remove(struct ferry_registry *r, size_t i)
{
    token_clear(&r->tokens[i]);
    r->tokens[i] = r->tokens[r->ntokens - 1];
    memset(&r->tokens[r->ntokens - 1], 0, sizeof r->tokens[0]);
    r->ntokens--;
}

static void
tokens_drop_all(struct ferry_registry *r)
{
    while (r->ntokens > 0)
        token_remove(r, r->ntokens - 1);
}

void
reg_auth_reset(struct ferry_registry *r)
{
    tokens_drop_all(r);
    ferry_secret_free(r->static_auth);
    r->static_auth = NULL;
    ferry_safefree(r->realm);
    ferry_safefree(r->service);
    r->scheme = REG_AUTH_UNKNOWN;
}

static int
load_creds(struct ferry_registry *r, struct ferry_error **err)
{
    int rc;

    if (r->creds_loaded)
        return 0;
    rc = reg_creds_lookup(r->host, r->auth_file, &r->creds, err);
    if (rc < 0)
        return ferry_error_wrap(err, "credentials for %s", r->host);
    r->creds_loaded = true;
    return 0;
}

/* "<prefix><base64(a[:b])>" in sodium memory. */
static char *
b64_header(const char *prefix, const char *a, const char *b)
{
    size_t la = strlen(a), lb = b ? strlen(b) : 0, n = la + (b ? 1 + lb : 0);
    size_t plen = strlen(prefix),
           blen = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *raw = ferry_secret_alloc(n), *out = raw ? ferry_secret_alloc(plen + blen) : NULL;

    if (raw == NULL || out == NULL) {
        ferry_secret_free(raw);
        ferry_secret_free(out);
        return NULL;
    }
    memcpy(raw, a, la);
    if (b != NULL) {
        raw[la] = ':';
        memcpy(raw + la + 1, b, lb);
    }
    memcpy(out, prefix, plen);
    sodium_bin2base64(out + plen, blen, (const unsigned char *)raw, n,
                      sodium_base64_VARIANT_ORIGINAL);
    ferry_secret_free(raw);
    return out;
}

static int
ensure_static_auth(struct ferry_registry *r, struct ferry_error **err)
{
    if (r->static_auth != NULL)
        return 0;
    if (r->creds.kind == REG_CRED_BASIC) {
        r->static_auth = b64_header("Basic ", r->creds.username, r->creds.secret);
    } else if (r->creds.kind == REG_CRED_REGISTRY_TOKEN) {
        size_t n = strlen(r->creds.secret);
        r->static_auth = ferry_secret_alloc(7 + n);
        if (r->static_auth != NULL) {
            memcpy(r->static_auth, "Bearer ", 7);
            memcpy(r->static_auth + 7, r->creds.secret, n + 1);
        }
    } else {
        return 0;
    }
    if (r->static_auth == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory building credentials for %s",
                               r->host);
    return 0;
}

/* ---- token fetch -------------------------------------------------------- */

int
reg_token_parse(const char *body, size_t len, const char *what, char **header,
                long long *expires_in, struct ferry_error **err)
{
    static const char *const secret_fields[] = {"token", "access_token", "refresh_token"};
    json_t *root, *jt, *jat, *jexp;
    json_error_t jerr;
    const char *tv;
    size_t tlen;
    long long exp = REG_TOKEN_MIN_LIFETIME;
    int rc = 0;

    *header = NULL;
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        rc = ferry_error_new(err, FERRY_E_AUTH, "%s: invalid json at line %d column %d", what,
                             jerr.line, jerr.column);
        goto out;
    }
    /* distribution session.go prefers access_token when both are present */
    jt = json_object_get(root, "token");
    jat = json_object_get(root, "access_token");
    tv = json_string_value(jat);
    if (tv == NULL || tv[0] == '\0')
        tv = json_string_value(jt);
    if (tv == NULL || tv[0] == '\0') {
        rc = ferry_error_new(err, FERRY_E_AUTH, "%s: response has no token", what);
        goto out;
    }
    for (const char *c = tv; *c; c++) {
        if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e) {
            rc = ferry_error_new(err, FERRY_E_AUTH, "%s: token has invalid characters", what);
            goto out;
        }
    }
    jexp = json_object_get(root, "expires_in");
    if (json_is_integer(jexp)) {
        exp = json_integer_value(jexp);
    } else if (json_is_real(jexp)) {
        /* compare as double first: converting one beyond long long is undefined */
        double d = json_real_value(jexp);
        if (d > (double)REG_TOKEN_MAX_LIFETIME)
            exp = REG_TOKEN_MAX_LIFETIME;
        else if (d > REG_TOKEN_MIN_LIFETIME)
            exp = (long long)d;
    }
    if (exp < REG_TOKEN_MIN_LIFETIME)
        exp = REG_TOKEN_MIN_LIFETIME;
    if (exp > REG_TOKEN_MAX_LIFETIME)
        exp = REG_TOKEN_MAX_LIFETIME;
    tlen = strlen(tv);
    *header = ferry_secret_alloc(7 + tlen);
    if (*header == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory storing the token", what);
        goto out;
    }
    memcpy(*header, "Bearer ", 7);
    memcpy(*header + 7, tv, tlen + 1);
    *expires_in = exp;
out:
    if (root != NULL) {
        for (size_t i = 0; i < 3; i++) {
            json_t *v = json_object_get(root, secret_fields[i]);
            if (json_is_string(v))
                sodium_memzero((void *)(uintptr_t)json_string_value(v), json_string_length(v));
        }
        json_decref(root);
    }
    return rc;
}

/* Token responses land in sodium memory, never in a growable heap buffer. */
struct secret_sink {
    char *buf;
    size_t len;
};

static int
secret_sink(const void *data, size_t len, void *ud, struct ferry_error **err)
{
    struct secret_sink *s = ud;

    if (len > FERRY_MAX_TOKEN - s->len)
        return ferry_error_new(err, FERRY_E_TOO_LARGE, "token response over %u bytes",
                               FERRY_MAX_TOKEN);
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return 0;
}

static char *
token_get_url(const struct ferry_registry *r, const char *scope)
{
    struct ferry_buf u;
    char *e = NULL;
    const char *p = scope;
    bool q = strchr(r->realm, '?') != NULL;
    int rc;

    ferry_buf_init(&u, (size_t)1 << 20);
    rc = ferry_buf_append(&u, r->realm, strlen(r->realm), NULL);
    if (rc == 0 && r->service != NULL) {
        e = reg_url_escape(r->service);
        rc = e ? ferry_buf_appendf(&u, NULL, "%cservice=%s", q ? '&' : '?', e) : -1;
        ferry_safefree(e);
        q = true;
    }
    /* one scope parameter per space-separated entry (token.md) */
    while (rc == 0 && *p != '\0') {
        const char *s;
        char *one;
        while (*p == ' ')
            p++;
        s = p;
        while (*p != '\0' && *p != ' ')
            p++;
        if (p == s)
            break;
        one = ferry_strndup(s, (size_t)(p - s));
        e = one ? reg_url_escape(one) : NULL;
        rc = e ? ferry_buf_appendf(&u, NULL, "%cscope=%s", q ? '&' : '?', e) : -1;
        ferry_free(one);
        ferry_safefree(e);
        q = true;
    }
    if (rc == 0 && r->creds.kind == REG_CRED_BASIC && r->creds.username[0] != '\0') {
        e = reg_url_escape(r->creds.username);
        rc = e ? ferry_buf_appendf(&u, NULL, "%caccount=%s", q ? '&' : '?', e) : -1;
        ferry_safefree(e);
    }
    if (rc < 0) {
        ferry_buf_free(&u);
        return NULL;
    }
    return ferry_buf_take(&u, NULL);
}

/* OAuth2 form body (oauth.md) with the refresh token, in sodium memory. */
static char *
token_oauth_body(const struct ferry_registry *r, const char *scope, size_t *len)
{
    const char *svc = r->service ? r->service : "";
    size_t cap = 128 + 3 * (strlen(r->creds.secret) + strlen(svc) + strlen(scope));
    static const char p1[] = "grant_type=refresh_token&refresh_token=";
    static const char p2[] = "&client_id=" REG_OAUTH_CLIENT_ID "&service=";
    static const char p3[] = "&scope=";
    char *b = ferry_secret_alloc(cap);
    size_t o = 0;

    if (b == NULL)
        return NULL;
    memcpy(b, p1, sizeof p1 - 1);
    o = reg_url_escape_into(b, sizeof p1 - 1, r->creds.secret);
    memcpy(b + o, p2, sizeof p2 - 1);
    o = reg_url_escape_into(b, o + sizeof p2 - 1, svc);
    if (scope[0] != '\0') {
        memcpy(b + o, p3, sizeof p3 - 1);
        o = reg_url_escape_into(b, o + sizeof p3 - 1, scope); /* one parameter, space-separated */
    }
    *len = o;
    return b;
}

static int
token_fetch(struct ferry_registry *r, const char *scope, struct reg_token *tok,
            struct ferry_error **err)
{
    struct reg_req q = {0};
    struct reg_resp rs = {0};
    struct secret_sink sink = {NULL, 0};
    char *url = NULL, *what = NULL, *summary = NULL, *body = NULL;
    size_t body_len = 0;
    long long expires_in = REG_TOKEN_MIN_LIFETIME;
    time_t start = reg_now();
    bool oauth = r->creds.kind == REG_CRED_IDENTITY;
    int rc;

    sink.buf = ferry_secret_alloc(FERRY_MAX_TOKEN);
    url = oauth ? ferry_strdup(r->realm) : token_get_url(r, scope);
    what = ferry_asprintf("token request to %.*s for %s", (int)strcspn(r->realm, "?"), r->realm,
                          r->host);
    if (oauth)
        body = token_oauth_body(r, scope, &body_len);
    if (sink.buf == NULL || url == NULL || what == NULL || (oauth && body == NULL)) {
        rc =
            ferry_error_new(err, FERRY_E_NOMEM, "out of memory requesting a token for %s", r->host);
        goto out;
    }
    if (!oauth && r->creds.kind == REG_CRED_BASIC) {
        rc = ensure_static_auth(r, err);
        if (rc < 0)
            goto out;
        q.authorization = r->static_auth;
    }
    q.method = oauth ? "POST" : "GET";
    q.url = url;
    q.what = what;
    q.accept = "application/json";
    q.content_type = oauth ? "application/x-www-form-urlencoded" : NULL;
    q.body = body;
    q.body_len = body_len;
    q.sink = secret_sink;
    q.sink_ud = &sink;
    q.follow = true;
    q.no_auth = true;
    rc = reg_request(r, &q, &rs, err);
    if (rc < 0)
        goto out;
    if (rs.status == 401 || rs.status == 403) {
        summary = reg_error_summary(rs.errbody.data, rs.errbody.len, NULL);
        rc = ferry_error_http(
            err, FERRY_E_AUTH, (int)rs.status,
            "authentication to %s failed: token server %.*s answered http %ld%s%s%s", r->host,
            (int)strcspn(r->realm, "?"), r->realm, rs.status, summary && *summary ? ": " : "",
            summary ? summary : "", r->creds.kind == REG_CRED_NONE ? REG_NO_CREDS_HINT : "");
        goto out;
    }
    if (rs.status != 200) {
        rc = reg_status_error(what, &rs, err);
        goto out;
    }
    rc = reg_token_parse(sink.buf, sink.len, what, &tok->header, &expires_in, err);
    if (rc < 0)
        goto out;
    tok->scope = ferry_strdup(scope);
    if (tok->scope == NULL) {
        token_clear(tok);
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory storing a token for %s", r->host);
        goto out;
    }
    tok->expires = start + (time_t)expires_in - REG_TOKEN_EARLY_REFRESH;
    ferry_log(FERRY_LOG_DEBUG, "token for %s scope \"%s\" valid %lld s", r->host, scope,
              expires_in);
out:
    ferry_secret_free(body);
    ferry_secret_free(sink.buf);
    reg_resp_clear(&rs);
    ferry_free(summary);
    ferry_free(url);
    ferry_free(what);
    return rc;
}

static int
token_for(struct ferry_registry *r, const char *scope, const char **value, bool *fresh,
          struct ferry_error **err)
{
    struct reg_token tok = {0};
    char *want = reg_scope_normalize(scope, NULL);
    time_t now = reg_now();
    int rc = 0;

    if (want == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < r->ntokens;) {
        if (r->tokens[i].expires <= now) {
            token_remove(r, i);
            continue;
        }
        if (reg_scope_covers(r->tokens[i].scope, want)) {
            *value = r->tokens[i].header;
            goto out;
        }
        i++;
    }
    rc = token_fetch(r, want, &tok, err);
    if (rc < 0)
        goto out;
    if (r->ntokens == REG_TOKEN_CACHE_MAX) {
        size_t oldest = 0;
        for (size_t i = 1; i < r->ntokens; i++)
            if (r->tokens[i].expires < r->tokens[oldest].expires)
                oldest = i;
        token_remove(r, oldest);
    }
    r->tokens[r->ntokens++] = tok;
    *value = tok.header;
    *fresh = true;
out:
    ferry_free(want);
    return rc;
}

int
reg_auth_header(struct ferry_registry *r, const char *scope, const char **value, bool *fresh,
                struct ferry_error **err)
{
    int rc;

    *value = NULL;
    *fresh = false;
    switch (r->scheme) {
    case REG_AUTH_UNKNOWN:
    case REG_AUTH_NONE:
        return 0;
    case REG_AUTH_BASIC:
        rc = ensure_static_auth(r, err);
        if (rc == 0 && r->creds.kind == REG_CRED_BASIC)
            *value = r->static_auth;
        return rc;
    case REG_AUTH_BEARER:
        if (r->creds.kind == REG_CRED_REGISTRY_TOKEN) {
            rc = ensure_static_auth(r, err);
            *value = r->static_auth;
            return rc;
        }
        return token_for(r, scope ? scope : "", value, fresh, err);
    }
    return 0;
}

int
reg_auth_challenge(struct ferry_registry *r, const char *scope, const struct reg_resp *rs,
                   const char *sent, bool sent_fresh, char **scope_out, struct ferry_error **err)
{
    struct ferry_auth_challenge c = {0};
    struct ferry_error *pe = NULL;
    char *summary = NULL, *next = NULL;
    int rc;

    summary = reg_error_summary(rs->errbody.data, rs->errbody.len, NULL);
    if (summary == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    if (rs->www_authenticate == NULL) {
        rc = ferry_error_http(err, FERRY_E_AUTH, 401,
                              "authentication to %s failed: http 401 without a challenge%s%s",
                              r->host, *summary ? ": " : "", summary);
        goto out;
    }
    rc = ferry_auth_challenge_parse(rs->www_authenticate, &c, &pe);
    if (rc < 0) {
        rc = ferry_error_http(err, FERRY_E_AUTH, 401, "authentication to %s failed: http 401: %s",
                              r->host, pe ? pe->msg : "invalid challenge");
        ferry_error_free(pe);
        goto out;
    }
    if (strcmp(c.scheme, "basic") == 0) {
        r->scheme = REG_AUTH_BASIC;
        rc = load_creds(r, err);
        if (rc < 0)
            goto out;
        if (sent != NULL || r->creds.kind == REG_CRED_NONE) {
            rc = ferry_error_http(err, FERRY_E_AUTH, 401,
                                  "authentication to %s failed: http 401%s%s%s", r->host,
                                  *summary ? ": " : "", summary,
                                  r->creds.kind == REG_CRED_NONE ? REG_NO_CREDS_HINT : "");
            goto out;
        }
        if (r->creds.kind != REG_CRED_BASIC) {
            rc = ferry_error_http(err, FERRY_E_AUTH, 401,
                                  "authentication to %s failed: the registry wants basic auth but "
                                  "the credentials from %s are a token",
                                  r->host, r->creds.source);
            goto out;
        }
    } else if (strcmp(c.scheme, "bearer") == 0) {
        if (c.realm == NULL || c.realm[0] == '\0') {
            rc = ferry_error_http(err, FERRY_E_AUTH, 401,
                                  "authentication to %s failed: bearer challenge without realm",
                                  r->host);
            goto out;
        }
        if (r->realm == NULL || strcmp(r->realm, c.realm) != 0 ||
            (r->service == NULL) != (c.service == NULL) ||
            (c.service != NULL && strcmp(r->service, c.service) != 0)) {
            tokens_drop_all(r);
            ferry_free(r->realm);
            ferry_free(r->service);
            r->realm = c.realm;
            r->service = c.service;
            c.realm = c.service = NULL;
        }
        r->scheme = REG_AUTH_BEARER;
        rc = load_creds(r, err);
        if (rc < 0)
            goto out;
        if (sent != NULL && (sent_fresh || r->creds.kind == REG_CRED_REGISTRY_TOKEN)) {
            const char *nocreds = r->creds.kind == REG_CRED_NONE ? REG_NO_CREDS_HINT : "";
            if (c.error != NULL && strcmp(c.error, "insufficient_scope") == 0)
                rc = ferry_error_http(err, FERRY_E_AUTH, 401,
                                      "access to %s%s%s denied: http 401 insufficient_scope "
                                      "(not found or no access)%s%s%s",
                                      c.scope ? c.scope : "", c.scope ? " on " : "", r->host,
                                      *summary ? ": " : "", summary, nocreds);
            else
                rc = ferry_error_http(err, FERRY_E_AUTH, 401,
                                      "authentication to %s failed: http 401%s%s%s", r->host,
                                      *summary ? ": " : "", summary, nocreds);
            goto out;
        }
        /* the token that got the 401 is no good any more */
        for (size_t i = 0; i < r->ntokens; i++) {
            if (r->tokens[i].header == sent) {
                token_remove(r, i);
                break;
            }
        }
        next = reg_scope_normalize(scope, c.scope);
        if (next == NULL) {
            rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
    } else {
        rc = ferry_error_http(err, FERRY_E_UNSUPPORTED, 401,
                              "authentication to %s: unsupported scheme \"%s\"", r->host, c.scheme);
        goto out;
    }
    if (next == NULL && (next = ferry_strdup(scope ? scope : "")) == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    *scope_out = next;
    next = NULL;
    rc = 0;
out:
    ferry_free(next);
    ferry_free(summary);
    ferry_auth_challenge_clear(&c);
    return rc;
}
