/* ferry: the Go-template subset of regsync configs (see template_int.h).
 *
 * regsync runs every expanded field through Go's text/template with its own
 * functions; ferry knows the two that make sense offline, {{file "PATH"}}
 * and {{env "NAME"}}, with Go's string literals, "{{-" and "-}}" trimming
 * and comments. Anything else is an error rather than a silent literal.
 * Secret fields are built in secret memory and their text never appears in
 * a message.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/limits.h"
#include "ferry/util.h"
#include "template_int.h"

#define FUNCS_HINT "ferry knows only {{file \"PATH\"}} and {{env \"NAME\"}}"

static bool
is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f';
}

static int
hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static size_t
utf8_put(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Parse a Go string literal ("..." with escapes, or `raw`) at s[*i]. On
 * success *arg is a new string (ferry_free) without NUL bytes and *i is past
 * the closing quote. -1 if malformed, -2 out of memory. */
static int
go_string(const char *s, size_t len, size_t *i, char **arg)
{
    size_t j = *i, o = 0;
    char *d;

    if (j >= len || (s[j] != '"' && s[j] != '`'))
        return -1;
    /* the decoded text is never longer than the literal */
    if ((d = ferry_malloc(len - j + 1)) == NULL)
        return -2;
    if (s[j] == '`') {
        for (j++; j < len && s[j] != '`'; j++)
            if (s[j] != '\r') /* Go drops carriage returns from raw strings */
                d[o++] = s[j];
        if (j >= len)
            goto bad;
        j++;
        goto done;
    }
    for (j++; j < len && s[j] != '"'; j++) {
        unsigned long v = 0;
        size_t digits = 0;
        if (s[j] == '\n')
            goto bad;
        if (s[j] != '\\') {
            d[o++] = s[j];
            continue;
        }
        if (++j >= len)
            goto bad;
        switch (s[j]) {
        case 'a':
            d[o++] = '\a';
            continue;
        case 'b':
            d[o++] = '\b';
            continue;
        case 'f':
            d[o++] = '\f';
            continue;
        case 'n':
            d[o++] = '\n';
            continue;
        case 'r':
            d[o++] = '\r';
            continue;
        case 't':
            d[o++] = '\t';
            continue;
        case 'v':
            d[o++] = '\v';
            continue;
        case '\\':
            d[o++] = '\\';
            continue;
        case '"':
            d[o++] = '"';
            continue;
        case 'x':
            digits = 2;
            break;
        case 'u':
            digits = 4;
            break;
        case 'U':
            digits = 8;
            break;
        default:
            if (s[j] >= '0' && s[j] <= '7') {
                for (size_t k = 0; k < 3; k++, j++) {
                    if (j >= len || s[j] < '0' || s[j] > '7')
                        goto bad;
                    v = v * 8 + (unsigned long)(s[j] - '0');
                }
                j--;
                if (v > 255)
                    goto bad;
                d[o++] = (char)v;
                continue;
            }
            goto bad;
        }
        for (size_t k = 0; k < digits; k++) {
            int h = ++j < len ? hexval(s[j]) : -1;
            if (h < 0)
                goto bad;
            v = v * 16 + (unsigned long)h;
        }
        if (digits == 2) {
            d[o++] = (char)v;
        } else {
            if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
                goto bad;
            o += utf8_put(d + o, v); /* \uXXXX is 6 bytes of literal for at most 3 */
        }
    }
    if (j >= len)
        goto bad;
    j++;
done:
    d[o] = '\0';
    if (memchr(d, '\0', o) != NULL)
        goto bad;
    *arg = d;
    *i = j;
    return 0;
bad:
    ferry_free(d);
    return -1;
}

/* Report a template that is not file/env with one string. For secret fields the
 * action text is not shown: it may be a password that happens to hold "{{". */
static int
bad_template(struct yctx *c, const struct ynode *n, const char *what, bool secret, size_t from,
             const char *why)
{
    char q[160];
    const char *s = n->value;
    size_t end = from + 2;

    if (secret)
        return ytree_fail(c, n, FERRY_E_INVALID, "template in %s: %s; %s", what, why, FUNCS_HINT);
    while (end + 1 < n->len && !(s[end] == '}' && s[end + 1] == '}'))
        end++;
    end = end + 1 < n->len ? end + 2 : n->len;
    ferry_quote(q, sizeof q, s + from, end - from);
    return ytree_fail(c, n, FERRY_E_INVALID, "template \"%s\" in %s: %s; %s", q, what, why,
                      FUNCS_HINT);
}

static int
eval_file(struct yctx *c, const struct ynode *n, const char *what, const char *path,
          struct ferry_secbuf *out)
{
    struct ferry_secbuf fb;
    char q[256];
    size_t a, z;
    int rc = 0;

    ferry_quote(q, sizeof q, path, strlen(path));
    ferry_secbuf_init(&fb, FERRY_MAX_CONFIG_FILE);
    if (ferry_secret_read_file(path, &fb) < 0) {
        if (errno == EFBIG)
            rc = ytree_fail(c, n, FERRY_E_TOO_LARGE, "{{file \"%s\"}} in %s: larger than %u bytes",
                            q, what, (unsigned)FERRY_MAX_CONFIG_FILE);
        else
            rc = ferry_error_sys(c->err, errno, "%s:%u:%u: {{file \"%s\"}} in %s", c->path, n->line,
                                 n->col, q, what);
        goto out;
    }
    if (memchr(fb.data, '\0', fb.len) != NULL) {
        rc = ytree_fail(c, n, FERRY_E_INVALID,
                        "{{file \"%s\"}} in %s: the file contains a NUL byte", q, what);
        goto out;
    }
    /* like Go's strings.TrimSpace in regsync's file function (ASCII white space) */
    for (a = 0; a < fb.len && is_space(fb.data[a]); a++)
        ;
    for (z = fb.len; z > a && is_space(fb.data[z - 1]); z--)
        ;
    if (ferry_secbuf_append(out, fb.data + a, z - a) < 0)
        rc = errno == EFBIG ? ytree_fail(c, n, FERRY_E_TOO_LARGE, "%s: longer than %u bytes", what,
                                         (unsigned)FERRY_MAX_CONFIG_FILE)
                            : ytree_nomem(c);
out:
    ferry_secbuf_free(&fb);
    return rc;
}

static int
eval_env(struct yctx *c, const struct ynode *n, const char *what, const char *name,
         struct ferry_secbuf *out)
{
    const char *v = getenv(name);
    char q[160];

    if (v == NULL) {
        ferry_quote(q, sizeof q, name, strlen(name));
        return ytree_fail(c, n, FERRY_E_INVALID, "{{env \"%s\"}} in %s: %s is not set", q, what, q);
    }
    if (ferry_secbuf_append(out, v, strlen(v)) < 0)
        return errno == EFBIG ? ytree_fail(c, n, FERRY_E_TOO_LARGE, "%s: longer than %u bytes",
                                           what, (unsigned)FERRY_MAX_CONFIG_FILE)
                              : ytree_nomem(c);
    return 0;
}

/* Expand one {{...}} action starting at s[from] ("{{"); *next is set past it. */
static int
expand_action(struct yctx *c, const struct ynode *n, const char *what, bool secret, size_t from,
              struct ferry_secbuf *out, size_t *next)
{
    const char *s = n->value;
    size_t len = n->len, j = from + 2, id0, idlen;
    bool trim_right = false, is_file = false;
    char *arg = NULL;
    int rc, g;

    if (j + 1 < len && s[j] == '-' && is_space(s[j + 1])) {
        while (out->len > 0 && is_space(out->data[out->len - 1]))
            out->data[--out->len] = '\0';
        j++;
    }
    while (j < len && is_space(s[j]))
        j++;
    if (j + 1 < len && s[j] == '/' && s[j + 1] == '*') {
        /* a Go template comment, {{/ * ... * /}}, expands to nothing */
        for (j += 2; j + 1 < len && !(s[j] == '*' && s[j + 1] == '/'); j++)
            ;
        if (j + 1 >= len)
            return bad_template(c, n, what, secret, from, "unterminated comment");
        j += 2;
        goto close;
    }
    id0 = j;
    while (j < len && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') ||
                       (s[j] >= '0' && s[j] <= '9' && j > id0) || s[j] == '_'))
        j++;
    idlen = j - id0;
    if (idlen == 4 && memcmp(s + id0, "file", 4) == 0)
        is_file = true;
    else if (idlen == 3 && memcmp(s + id0, "env", 3) == 0)
        is_file = false;
    else
        return bad_template(c, n, what, secret, from, "not supported");
    if (j >= len || !is_space(s[j]))
        return bad_template(c, n, what, secret, from,
                            is_file ? "file takes one quoted path" : "env takes one quoted name");
    while (j < len && is_space(s[j]))
        j++;
    g = go_string(s, len, &j, &arg);
    if (g == -2)
        return ytree_nomem(c);
    if (g < 0 || arg[0] == '\0') {
        ferry_free(arg);
        return bad_template(c, n, what, secret, from,
                            is_file ? "file takes one quoted path" : "env takes one quoted name");
    }
close:
    while (j < len && is_space(s[j]))
        j++;
    if (j + 2 < len && s[j] == '-' && s[j + 1] == '}' && s[j + 2] == '}' && is_space(s[j - 1])) {
        trim_right = true;
        j++;
    }
    if (j + 1 >= len || s[j] != '}' || s[j + 1] != '}') {
        ferry_free(arg);
        return bad_template(c, n, what, secret, from,
                            j >= len ? "no closing \"}}\"" : "only one argument is supported");
    }
    j += 2;
    rc = 0;
    if (arg != NULL)
        rc = is_file ? eval_file(c, n, what, arg, out) : eval_env(c, n, what, arg, out);
    ferry_free(arg);
    if (rc < 0)
        return rc;
    if (trim_right)
        while (j < len && is_space(s[j]))
            j++;
    *next = j;
    return 0;
}

/* The value of n with {{file "PATH"}} and {{env "NAME"}} expanded (NULL for
 * null). Secret values are returned in secret memory (ferry_secret_free),
 * others in ferry_malloc memory (ferry_free). */
int
template_expand(struct yctx *c, const struct ynode *n, const char *what, bool secret, char **out)
{
    struct ferry_secbuf b;
    const char *s;
    size_t i = 0, len;
    int r = 0;

    *out = NULL;
    if (ytree_is_null(n))
        return 0;
    if ((r = ytree_want_scalar(c, n, what)) < 0)
        return r;
    s = n->value;
    len = n->len;
    if (strstr(s, "{{") == NULL && !secret)
        return (*out = ferry_strndup(s, len)) == NULL ? ytree_nomem(c) : 0;
    ferry_secbuf_init(&b, FERRY_MAX_CONFIG_FILE);
    if (ferry_secbuf_reserve(&b, 0) < 0) {
        r = ytree_nomem(c);
        goto out;
    }
    while (i < len) {
        const char *open = strstr(s + i, "{{");
        size_t at = open ? (size_t)(open - s) : len;
        if (ferry_secbuf_append(&b, s + i, at - i) < 0) {
            r = ytree_nomem(c);
            goto out;
        }
        if (open == NULL)
            break;
        if ((r = expand_action(c, n, what, secret, at, &b, &i)) < 0)
            goto out;
    }
    if (secret) {
        *out = ferry_secbuf_take(&b, NULL);
    } else if ((*out = ferry_strndup(b.data, b.len)) == NULL) {
        r = ytree_nomem(c);
    }
out:
    ferry_secbuf_free(&b);
    return r;
}
