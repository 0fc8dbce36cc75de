/* ferry registry client: header and URL parsers (pure functions, fuzzed).
 *
 * WWW-Authenticate follows RFC 7235 section 4.1 (auth-param with token or
 * quoted-string values, several challenges in one value), Link follows RFC 8288
 * section 3, URL resolution follows RFC 3986 section 5.2.
 */
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "registry_int.h"

static bool
is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static bool
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 7230 tchar */
static bool
is_tchar(char c)
{
    return is_alpha(c) || is_digit(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
is_token68(char c)
{
    return is_alpha(c) || is_digit(c) || (c != '\0' && strchr("-._~+/", c) != NULL);
}

static bool
is_ctl(char c)
{
    return (unsigned char)c < 0x20 || c == 0x7f;
}

static const char *
skip_ws(const char *p)
{
    while (is_ws(*p))
        p++;
    return p;
}

static char *
lower_dup(const char *s, size_t n)
{
    char *d = ferry_strndup(s, n);

    for (size_t i = 0; d != NULL && i < n; i++)
        if (d[i] >= 'A' && d[i] <= 'Z')
            d[i] = (char)(d[i] - 'A' + 'a');
    return d;
}

/* Parse a quoted-string starting at *pp (which points at '"') into a new
 * string; *pp is left after the closing quote. */
static int
parse_quoted(const char **pp, char **out, const char *what, struct ferry_error **err)
{
    const char *p = *pp + 1;
    char *v = ferry_malloc(strlen(p) + 1);
    size_t n = 0;

    if (v == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory parsing %s", what);
    for (;;) {
        char c = *p;
        if (c == '\0') {
            ferry_free(v);
            return ferry_error_new(err, FERRY_E_INVALID, "%s: unterminated quoted string", what);
        }
        if (c == '"') {
            p++;
            break;
        }
        if (c == '\\') {
            p++;
            c = *p;
            if (c == '\0') {
                ferry_free(v);
                return ferry_error_new(err, FERRY_E_INVALID, "%s: unterminated quoted string",
                                       what);
            }
        }
        if (is_ctl(c) && c != '\t') {
            ferry_free(v);
            return ferry_error_new(err, FERRY_E_INVALID, "%s: control character in quoted string",
                                   what);
        }
        v[n++] = c;
        p++;
    }
    v[n] = '\0';
    *out = v;
    *pp = p;
    return 0;
}

/* ---- WWW-Authenticate ------------------------------------------------------ */

void
ferry_auth_challenge_clear(struct ferry_auth_challenge *c)
{
    if (c == NULL)
        return;
    ferry_safefree(c->scheme);
    ferry_safefree(c->realm);
    ferry_safefree(c->service);
    ferry_safefree(c->scope);
    ferry_safefree(c->error);
}

static void
challenge_set(struct ferry_auth_challenge *c, const char *name, size_t nlen, char **value)
{
    char **slot = NULL;

    if (nlen == 5 && strncasecmp(name, "realm", 5) == 0)
        slot = &c->realm;
    else if (nlen == 7 && strncasecmp(name, "service", 7) == 0)
        slot = &c->service;
    else if (nlen == 5 && strncasecmp(name, "scope", 5) == 0)
        slot = &c->scope;
    else if (nlen == 5 && strncasecmp(name, "error", 5) == 0)
        slot = &c->error;
    /* RFC 7235: a parameter occurs once per challenge; keep the first. */
    if (slot != NULL && *slot == NULL) {
        *slot = *value;
        *value = NULL;
    }
}

/* Is there an auth-param (token BWS "=" BWS (token / quoted-string)) at p? */
static bool
param_at(const char *p)
{
    const char *q = p;

    while (is_tchar(*q))
        q++;
    if (q == p)
        return false;
    q = skip_ws(q);
    if (*q != '=')
        return false;
    q = skip_ws(q + 1);
    return *q == '"' || is_tchar(*q);
}

/* Parse the parameters of one challenge; *pp points after the scheme and
 * its whitespace. Stops at the end or at the start of the next challenge. */
static int
parse_params(const char **pp, struct ferry_auth_challenge *c, struct ferry_error **err)
{
    const char *p = *pp;
    const char *what = "www-authenticate";
    char *value = NULL;
    bool first = true;

    for (;;) {
        const char *name, *q;
        size_t nlen;

        if (!first) {
            p = skip_ws(p);
            if (*p == '\0')
                break;
            if (*p != ',')
                return ferry_error_new(err, FERRY_E_INVALID, "%s: unexpected '%c'", what,
                                       is_ctl(*p) ? '?' : *p);
            while (*p == ',' || is_ws(*p))
                p++;
            if (*p == '\0')
                break;
            if (!param_at(p))
                break; /* the next challenge starts here */
        } else {
            if (*p == '\0' || *p == ',')
                break;
            if (!param_at(p)) {
                /* token68 (e.g. Negotiate data): skipped, not used by ferry */
                q = p;
                while (is_token68(*q))
                    q++;
                while (*q == '=')
                    q++;
                if (q == p)
                    return ferry_error_new(err, FERRY_E_INVALID, "%s: unexpected '%c'", what,
                                           is_ctl(*p) ? '?' : *p);
                p = skip_ws(q);
                if (*p != '\0' && *p != ',')
                    return ferry_error_new(err, FERRY_E_INVALID, "%s: unexpected '%c'", what,
                                           is_ctl(*p) ? '?' : *p);
                break;
            }
        }
        first = false;
        name = p;
        while (is_tchar(*p))
            p++;
        nlen = (size_t)(p - name);
        p = skip_ws(skip_ws(p) + 1); /* past BWS "=" BWS: param_at checked it */
        if (*p == '"') {
            int rc = parse_quoted(&p, &value, what, err);
            if (rc < 0)
                return rc;
        } else {
            q = p;
            while (is_tchar(*p))
                p++;
            value = ferry_strndup(q, (size_t)(p - q));
            if (value == NULL)
                return ferry_error_new(err, FERRY_E_NOMEM, "out of memory parsing %s", what);
        }
        challenge_set(c, name, nlen, &value);
        ferry_safefree(value);
    }
    *pp = p;
    return 0;
}

int
ferry_auth_challenge_parse(const char *value, struct ferry_auth_challenge *out,
                           struct ferry_error **err)
{
    struct ferry_auth_challenge best = {0}, cur = {0};
    const char *p = value;
    int rc = 0;

    if (value == NULL)
        return ferry_error_new(err, FERRY_E_INVALID, "www-authenticate: missing header");
    for (;;) {
        const char *s;

        while (*p == ',' || is_ws(*p))
            p++;
        if (*p == '\0')
            break;
        s = p;
        while (is_tchar(*p))
            p++;
        if (p == s || (*p != '\0' && *p != ',' && !is_ws(*p))) {
            rc = ferry_error_new(err, FERRY_E_INVALID,
                                 "www-authenticate: expected an auth scheme at offset %zu",
                                 (size_t)(s - value));
            goto out;
        }
        cur.scheme = lower_dup(s, (size_t)(p - s));
        if (cur.scheme == NULL) {
            rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory parsing www-authenticate");
            goto out;
        }
        p = skip_ws(p);
        rc = parse_params(&p, &cur, err);
        if (rc < 0)
            goto out;
        /* the first Bearer challenge wins, else the first one */
        if (best.scheme == NULL ||
            (strcmp(best.scheme, "bearer") != 0 && strcmp(cur.scheme, "bearer") == 0)) {
            ferry_auth_challenge_clear(&best);
            best = cur;
            memset(&cur, 0, sizeof cur);
        } else {
            ferry_auth_challenge_clear(&cur);
        }
    }
    if (best.scheme == NULL) {
        rc = ferry_error_new(err, FERRY_E_INVALID, "www-authenticate: no challenge");
        goto out;
    }
    *out = best;
    memset(&best, 0, sizeof best);
out:
    ferry_auth_challenge_clear(&cur);
    ferry_auth_challenge_clear(&best);
    return rc;
}

/* ---- Link ------------------------------------------------------------------ */

/* Does a rel value (space-separated relation types) contain "next"? */
static bool
rel_has_next(const char *v)
{
    const char *p = v;

    while (*p != '\0') {
        const char *s;
        while (*p == ' ' || *p == '\t')
            p++;
        s = p;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
        if (p - s == 4 && strncasecmp(s, "next", 4) == 0)
            return true;
    }
    return false;
}

int
ferry_link_next_parse(const char *value, char **url, struct ferry_error **err)
{
    const char *p = value;
    char *found = NULL, *v = NULL;
    int rc = 0;

    if (value == NULL) {
        *url = NULL;
        return 0;
    }
    for (;;) {
        const char *us, *ue;
        bool next = false, rel_seen = false;

        while (*p == ',' || is_ws(*p))
            p++;
        if (*p == '\0')
            break;
        if (*p != '<') {
            rc = ferry_error_new(err, FERRY_E_INVALID, "link: expected '<' at offset %zu",
                                 (size_t)(p - value));
            goto out;
        }
        us = p + 1;
        ue = strchr(us, '>');
        if (ue == NULL) {
            rc = ferry_error_new(err, FERRY_E_INVALID, "link: unterminated '<'");
            goto out;
        }
        for (const char *c = us; c < ue; c++) {
            if (is_ctl(*c) || *c == ' ' || *c == '<') {
                rc = ferry_error_new(err, FERRY_E_INVALID,
                                     "link: invalid character in target at offset %zu",
                                     (size_t)(c - value));
                goto out;
            }
        }
        p = ue + 1;
        for (;;) {
            const char *ns;
            size_t nlen;

            p = skip_ws(p);
            if (*p != ';')
                break;
            p = skip_ws(p + 1);
            ns = p;
            while (is_tchar(*p))
                p++;
            nlen = (size_t)(p - ns);
            if (nlen == 0) {
                rc = ferry_error_new(err, FERRY_E_INVALID,
                                     "link: expected a parameter name at offset %zu",
                                     (size_t)(p - value));
                goto out;
            }
            p = skip_ws(p);
            if (*p != '=')
                continue; /* parameter without value */
            p = skip_ws(p + 1);
            if (*p == '"') {
                rc = parse_quoted(&p, &v, "link", err);
                if (rc < 0)
                    goto out;
            } else {
                const char *vs = p;
                while (*p != '\0' && *p != ';' && *p != ',' && !is_ws(*p))
                    p++;
                v = ferry_strndup(vs, (size_t)(p - vs));
                if (v == NULL) {
                    rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory parsing link");
                    goto out;
                }
            }
            /* RFC 8288 3.3: occurrences after the first rel are ignored */
            if (nlen == 3 && strncasecmp(ns, "rel", 3) == 0 && !rel_seen) {
                rel_seen = true;
                next = rel_has_next(v);
            }
            ferry_safefree(v);
        }
        if (*p != '\0' && *p != ',') {
            rc = ferry_error_new(err, FERRY_E_INVALID, "link: unexpected '%c' at offset %zu",
                                 is_ctl(*p) ? '?' : *p, (size_t)(p - value));
            goto out;
        }
        if (next && found == NULL) {
            if (ue == us) {
                rc = ferry_error_new(err, FERRY_E_INVALID, "link: empty rel=\"next\" target");
                goto out;
            }
            found = ferry_strndup(us, (size_t)(ue - us));
            if (found == NULL) {
                rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory parsing link");
                goto out;
            }
        }
    }
    *url = found;
    found = NULL;
out:
    ferry_free(v);
    ferry_free(found);
    return rc;
}

/* ---- URLs (RFC 3986) -------------------------------------------------------- */

struct span {
    const char *p;
    size_t n;
    bool set;
};

struct uri {
    struct span scheme, auth, path, query, frag;
};

static void
uri_split(const char *s, struct uri *u)
{
    const char *p = s, *e;

    memset(u, 0, sizeof *u);
    /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
    if (is_alpha(*p)) {
        e = p + 1;
        while (is_alpha(*e) || is_digit(*e) || *e == '+' || *e == '-' || *e == '.')
            e++;
        if (*e == ':') {
            u->scheme = (struct span){p, (size_t)(e - p), true};
            p = e + 1;
        }
    }
    if (p[0] == '/' && p[1] == '/') {
        p += 2;
        e = p + strcspn(p, "/?#");
        u->auth = (struct span){p, (size_t)(e - p), true};
        p = e;
    }
    e = p + strcspn(p, "?#");
    u->path = (struct span){p, (size_t)(e - p), true};
    p = e;
    if (*p == '?') {
        p++;
        e = p + strcspn(p, "#");
        u->query = (struct span){p, (size_t)(e - p), true};
        p = e;
    }
    if (*p == '#') {
        p++;
        u->frag = (struct span){p, strlen(p), true};
    }
}

/* RFC 3986 5.2.4 remove_dot_segments; in is NUL-terminated, out has room for
 * strlen(in) + 1 bytes. */
static void
remove_dots(const char *in, char *out)
{
    size_t o = 0;

    while (*in != '\0') {
        if (strncmp(in, "../", 3) == 0) {
            in += 3;
        } else if (strncmp(in, "./", 2) == 0) {
            in += 2;
        } else if (strncmp(in, "/./", 3) == 0) {
            in += 2;
        } else if (strcmp(in, "/.") == 0) {
            in = "/";
        } else if (strncmp(in, "/../", 4) == 0 || strcmp(in, "/..") == 0) {
            in = in[3] == '\0' ? "/" : in + 3;
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else if (strcmp(in, ".") == 0 || strcmp(in, "..") == 0) {
            in += strlen(in);
        } else {
            size_t n = *in == '/' ? 1 : 0;
            n += strcspn(in + n, "/");
            memcpy(out + o, in, n);
            o += n;
            in += n;
        }
    }
    out[o] = '\0';
}

static int
append_span(struct ferry_buf *b, const char *prefix, const struct span *s)
{
    if (!s->set)
        return 0;
    if (prefix != NULL && ferry_buf_append(b, prefix, strlen(prefix), NULL) < 0)
        return -1;
    return ferry_buf_append(b, s->p, s->n, NULL);
}

static int
append_path(struct ferry_buf *b, const char *path, size_t n)
{
    char *in = ferry_strndup(path, n), *out = ferry_malloc(n + 1);
    int rc = -1;

    if (in != NULL && out != NULL) {
        remove_dots(in, out);
        rc = ferry_buf_append(b, out, strlen(out), NULL);
    }
    ferry_free(in);
    ferry_free(out);
    return rc;
}

char *
ferry_url_resolve(const char *base, const char *ref)
{
    struct uri b, r;
    struct ferry_buf t;
    const struct span *auth, *query;
    char *merged = NULL;
    int rc;

    if (base == NULL || ref == NULL)
        return NULL;
    uri_split(base, &b);
    uri_split(ref, &r);
    if (!b.scheme.set)
        return NULL;
    ferry_buf_init(&t, (size_t)8 << 20);
    rc = append_span(&t, NULL, r.scheme.set ? &r.scheme : &b.scheme);
    if (rc == 0)
        rc = ferry_buf_append(&t, ":", 1, NULL);
    if (r.scheme.set || r.auth.set) {
        auth = &r.auth;
        query = &r.query;
        if (rc == 0)
            rc = append_span(&t, "//", auth);
        if (rc == 0)
            rc = append_path(&t, r.path.p, r.path.n);
    } else {
        auth = &b.auth;
        if (rc == 0)
            rc = append_span(&t, "//", auth);
        if (r.path.n == 0) {
            query = r.query.set ? &r.query : &b.query;
            if (rc == 0)
                rc = ferry_buf_append(&t, b.path.p, b.path.n, NULL);
        } else {
            query = &r.query;
            if (r.path.p[0] == '/') {
                if (rc == 0)
                    rc = append_path(&t, r.path.p, r.path.n);
            } else {
                /* 5.2.3 merge */
                size_t keep = 0;
                for (size_t i = 0; i < b.path.n; i++)
                    if (b.path.p[i] == '/')
                        keep = i + 1;
                if (b.auth.set && b.path.n == 0)
                    merged = ferry_asprintf("/%.*s", (int)r.path.n, r.path.p);
                else
                    merged =
                        ferry_asprintf("%.*s%.*s", (int)keep, b.path.p, (int)r.path.n, r.path.p);
                if (merged == NULL)
                    rc = -1;
                if (rc == 0)
                    rc = append_path(&t, merged, strlen(merged));
            }
        }
    }
    if (rc == 0)
        rc = append_span(&t, "?", query);
    if (rc == 0)
        rc = append_span(&t, "#", &r.frag);
    ferry_free(merged);
    if (rc < 0) {
        ferry_buf_free(&t);
        return NULL;
    }
    return ferry_buf_take(&t, NULL);
}

int
reg_url_loggable_len(const char *url)
{
    size_t n = strcspn(url, "?#");

    return n > INT_MAX ? INT_MAX : (int)n;
}

int
reg_upload_range_parse(const char *value, int64_t *end_out, struct ferry_error **err)
{
    const char *p = value;
    int64_t end = 0;
    int digits = 0;
    char q[64];

    if (p == NULL)
        return ferry_error_new(err, FERRY_E_INVALID, "upload session answer without range");
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncasecmp(p, "bytes=", 6) == 0)
        p += 6;
    if (p[0] != '0' || p[1] != '-')
        goto bad;
    for (p += 2; *p >= '0' && *p <= '9'; p++, digits++) {
        if (end > (INT64_MAX - (*p - '0')) / 10)
            goto bad;
        end = end * 10 + (*p - '0');
    }
    while (*p == ' ' || *p == '\t')
        p++;
    /* end + 1 must fit: callers count the bytes */
    if (digits == 0 || *p != '\0' || end == INT64_MAX)
        goto bad;
    *end_out = end;
    return 0;
bad:
    ferry_quote(q, sizeof q, value, strlen(value));
    return ferry_error_new(err, FERRY_E_INVALID, "upload session range \"%s\" is not 0-<end>", q);
}

char *
reg_url_origin(const char *url)
{
    struct uri u;
    char *o;
    size_t n;

    if (url == NULL)
        return NULL;
    uri_split(url, &u);
    if (!u.scheme.set || !u.auth.set || u.auth.n == 0)
        return NULL;
    n = u.auth.n;
    /* default ports compare equal to no port */
    if (u.scheme.n == 5 && strncasecmp(u.scheme.p, "https", 5) == 0 && n > 4 &&
        strncmp(u.auth.p + n - 4, ":443", 4) == 0)
        n -= 4;
    else if (u.scheme.n == 4 && strncasecmp(u.scheme.p, "http", 4) == 0 && n > 3 &&
             strncmp(u.auth.p + n - 3, ":80", 3) == 0)
        n -= 3;
    o = ferry_asprintf("%.*s://%.*s", (int)u.scheme.n, u.scheme.p, (int)n, u.auth.p);
    for (size_t i = 0; o != NULL && o[i] != '\0'; i++)
        if (o[i] >= 'A' && o[i] <= 'Z')
            o[i] = (char)(o[i] - 'A' + 'a');
    return o;
}

size_t
reg_url_escape_into(char *dst, size_t off, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (is_alpha((char)*p) || is_digit((char)*p) || *p == '-' || *p == '.' || *p == '_' ||
            *p == '~') {
            dst[off++] = (char)*p;
        } else {
            dst[off++] = '%';
            dst[off++] = hex[*p >> 4];
            dst[off++] = hex[*p & 15];
        }
    }
    dst[off] = '\0';
    return off;
}

char *
reg_url_escape(const char *s)
{
    size_t n = strlen(s);
    char *o;

    if (n > (SIZE_MAX - 1) / 3)
        return NULL;
    o = ferry_malloc(3 * n + 1);
    if (o != NULL)
        reg_url_escape_into(o, 0, s);
    return o;
}

/* ---- scopes ------------------------------------------------------------------ */

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Split s in place at spaces; v (room for max entries) gets the words. */
static size_t
split_ws(char *s, char **v, size_t max)
{
    size_t n = 0;
    char *p = s;

    while (*p != '\0') {
        while (*p == ' ')
            *p++ = '\0';
        if (*p == '\0')
            break;
        if (n < max)
            v[n++] = p;
        while (*p != '\0' && *p != ' ')
            p++;
    }
    return n;
}

char *
reg_scope_normalize(const char *a, const char *b)
{
    char *all = ferry_asprintf("%s %s", a ? a : "", b ? b : "");
    char **v = NULL, *res = NULL;
    struct ferry_buf out;
    size_t n, max;

    if (all == NULL)
        return NULL;
    max = strlen(all) / 2 + 1; /* words are separated by at least one space */
    v = ferry_calloc(max, sizeof *v);
    ferry_buf_init(&out, strlen(all) + 1);
    if (v == NULL || ferry_buf_append(&out, "", 0, NULL) < 0)
        goto out;
    n = split_ws(all, v, max);
    qsort(v, n, sizeof v[0], cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
            continue;
        if ((out.len > 0 && ferry_buf_append(&out, " ", 1, NULL) < 0) ||
            ferry_buf_append(&out, v[i], strlen(v[i]), NULL) < 0)
            goto out;
    }
    res = ferry_buf_take(&out, NULL);
out:
    ferry_buf_free(&out);
    ferry_free(v);
    ferry_free(all);
    return res;
}

int
reg_scope_covers(const char *have, const char *want)
{
    const char *p = want;

    while (*p != '\0') {
        const char *s, *h;
        size_t n;
        bool found = false;

        while (*p == ' ')
            p++;
        s = p;
        while (*p != '\0' && *p != ' ')
            p++;
        n = (size_t)(p - s);
        if (n == 0)
            break;
        for (h = have; *h != '\0' && !found;) {
            const char *hs;
            while (*h == ' ')
                h++;
            hs = h;
            while (*h != '\0' && *h != ' ')
                h++;
            found = (size_t)(h - hs) == n && memcmp(hs, s, n) == 0;
        }
        if (!found)
            return 0;
    }
    return 1;
}

/* ---- error bodies ---------------------------------------------------------------- */

/* Append s as printable ASCII with runs of whitespace collapsed. */
static void
append_clean(struct ferry_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n && b->len < b->max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r' || c == '\n' || c == '\t' || c == ' ') {
            if (b->len > 0 && b->data[b->len - 1] != ' ')
                (void)ferry_buf_append(b, " ", 1, NULL);
            continue;
        }
        if (c < 0x20 || c >= 0x7f)
            c = '?';
        (void)ferry_buf_append(b, &c, 1, NULL);
    }
}

char *
reg_error_summary(const char *body, size_t len, char **code_out)
{
    struct ferry_buf b;
    json_t *root = NULL, *errors;
    json_error_t jerr;
    char *code = NULL;

    ferry_buf_init(&b, REG_ERROR_SUMMARY_MAX);
    if (ferry_buf_append(&b, "", 0, NULL) < 0)
        return NULL;
    if (body != NULL && len > 0)
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    errors = root ? json_object_get(root, "errors") : NULL;
    if (json_is_array(errors) && json_array_size(errors) > 0) {
        size_t i;
        json_t *e;
        json_array_foreach(errors, i, e)
        {
            const char *c = json_string_value(json_object_get(e, "code"));
            const char *m = json_string_value(json_object_get(e, "message"));
            json_t *d = json_object_get(e, "detail");
            if (i >= 4)
                break;
            if (i > 0)
                append_clean(&b, "; ", 2);
            if (c != NULL) {
                append_clean(&b, c, strlen(c));
                if (code == NULL && code_out != NULL)
                    code = ferry_strdup(c);
            }
            if (m != NULL) {
                if (c != NULL)
                    append_clean(&b, ": ", 2);
                append_clean(&b, m, strlen(m));
            }
            if (d != NULL && !json_is_null(d) && !(json_is_object(d) && json_object_size(d) == 0)) {
                char *ds = json_is_string(d) ? NULL : json_dumps(d, JSON_COMPACT);
                const char *dv = ds ? ds : json_string_value(d);
                if (dv != NULL && dv[0] != '\0') {
                    append_clean(&b, " (", 2);
                    append_clean(&b, dv, strlen(dv) > 200 ? 200 : strlen(dv));
                    append_clean(&b, ")", 1);
                }
                free(ds);
            }
        }
    } else if (body != NULL && len > 0) {
        append_clean(&b, body, len);
    }
    json_decref(root);
    while (b.len > 0 && b.data[b.len - 1] == ' ')
        b.data[--b.len] = '\0';
    if (b.len >= REG_ERROR_SUMMARY_MAX - 1 && b.len >= 3)
        memcpy(b.data + b.len - 3, "...", 3);
    if (code_out != NULL)
        *code_out = code;
    return ferry_buf_take(&b, NULL);
}
