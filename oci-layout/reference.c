/* ferry: image references, following distribution/reference (reference.go,
 * normalize.go): grammar checks and Docker Hub normalisation. */
#include <string.h>

#include "ferry/digest.h"
#include "ferry/limits.h"
#include "ferry/reference.h"
#include "ferry/util.h"

#define NAME_TOTAL_MAX 255 /* distribution: NameTotalLengthMax */
#define TAG_MAX 128
/* Longer input cannot be a valid reference with a known digest; refuse it
 * before copying anything. */
/* Shown in messages: the offending text quoted (ferry_quote), its first 80
 * printable bytes at most, then "...". */
#define SHOWN_SIZE 84

#define HUB_REGISTRY "docker.io"
#define HUB_LEGACY "index.docker.io"
#define HUB_API_HOST "registry-1.docker.io"
#define HUB_OFFICIAL "library/"

static bool
is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* One path component [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* in s[0..n). */
static bool
component_valid(const char *s, size_t n)
{
    size_t i = 0;

    for (;;) {
        size_t start = i;
        while (i < n && is_lower_alnum(s[i]))
            i++;
        if (i == start)
            return false;
        if (i == n)
            return true;
        if (s[i] == '.') {
            i++;
        } else if (s[i] == '_') {
            i++;
            if (i < n && s[i] == '_')
                i++;
        } else if (s[i] == '-') {
            while (i < n && s[i] == '-')
                i++;
        } else {
            return false;
        }
    }
}

static bool
path_valid(const char *s, size_t n)
{
    size_t start = 0;

    if (n == 0 || n > NAME_TOTAL_MAX)
        return false;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '/') {
            if (!component_valid(s + start, i - start))
                return false;
            start = i + 1;
        }
    }
    return true;
}

bool
ferry_repository_valid(const char *repo)
{
    return repo != NULL && path_valid(repo, strlen(repo));
}

static bool
tag_valid(const char *s, size_t n)
{
    if (n == 0 || n > TAG_MAX)
        return false;
    if (!is_alnum(s[0]) && s[0] != '_')
        return false;
    for (size_t i = 1; i < n; i++) {
        if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    }
    return true;
}

bool
ferry_tag_valid(const char *tag)
{
    return tag != NULL && tag_valid(tag, strlen(tag));
}

/* ":" [0-9]+ with a value of at most 65535, or nothing. */
static bool
port_valid(const char *s, size_t n)
{
    unsigned long v = 0;

    if (n == 0)
        return true;
    if (s[0] != ':' || n < 2 || n > 6)
        return false;
    for (size_t i = 1; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    return v <= 65535;
}

/* host [":" port], host = domain-name | IPv4 | "[" IPv6 "]". */
bool
ferry_ref_domain_valid(const char *s, size_t n)
{
    size_t i = 0;

    if (n == 0)
        return false;
    if (s[0] == '[') {
        bool colon = false;
        for (i = 1; i < n && s[i] != ']'; i++) {
            char c = s[i];
            if (c == ':')
                colon = true;
            else if (!is_digit(c) && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F') && c != '.')
                return false;
        }
        if (i == n || i == 1 || !colon)
            return false;
        return port_valid(s + i + 1, n - i - 1);
    }
    /* domain-component ("." domain-component)*; a component is
     * [a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
    for (;;) {
        size_t start = i;
        while (i < n && (is_alnum(s[i]) || s[i] == '-'))
            i++;
        if (i == start || s[start] == '-' || s[i - 1] == '-')
            return false;
        if (i < n && s[i] == '.') {
            i++;
            continue;
        }
        break;
    }
    return port_valid(s + i, n - i);
}

/* The first component names a registry when it looks like a host. */
static bool
looks_like_domain(const char *s, size_t n)
{
    if (n == 9 && memcmp(s, "localhost", 9) == 0)
        return true;
    return memchr(s, '.', n) != NULL || memchr(s, ':', n) != NULL;
}

static bool
is_hex64(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
            return false;
    }
    return i == 64;
}

void
ferry_ref_free(struct ferry_ref *r)
{
    if (r == NULL)
        return;
    ferry_free(r->registry);
    ferry_free(r->api_host);
    ferry_free(r->repository);
    ferry_free(r->tag);
    ferry_free(r->digest);
    ferry_free(r);
}

int
ferry_ref_parse(const char *s, bool default_latest, struct ferry_ref **out,
                struct ferry_error **err)
{
    char shown[SHOWN_SIZE];
    struct ferry_ref *r = NULL;
    struct ferry_digest dg;
    const char *at, *name, *tag = NULL, *remote, *colon, *slash;
    size_t len, name_len, tag_len = 0, domain_len, remote_len;
    bool hub;
    int ret = 0;

    if (s == NULL || s[0] == '\0')
        return ferry_error_new(err, FERRY_E_INVALID, "invalid reference: empty");
    len = strnlen(s, FERRY_MAX_REFERENCE + 1);
    if (len > FERRY_MAX_REFERENCE)
        return ferry_error_new(
            err, FERRY_E_INVALID, "invalid reference \"%s\": longer than %d bytes",
            ferry_quote(shown, sizeof shown, s, strnlen(s, sizeof shown)), FERRY_MAX_REFERENCE);
    ferry_quote(shown, sizeof shown, s, strnlen(s, sizeof shown));
    if (is_hex64(s))
        return ferry_error_new(
            err, FERRY_E_INVALID,
            "invalid reference \"%s\": a 64-character hex string is an image id, "
            "not a repository name",
            shown);

    r = ferry_calloc(1, sizeof *r);
    if (r == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory parsing reference \"%s\"", shown);

    /* name [":" tag] ["@" digest]: the digest itself contains ':', so it is
     * split off first; a tag is a ':' after the last '/'. */
    name = s;
    name_len = len;
    at = strchr(s, '@');
    if (at != NULL) {
        ret = ferry_digest_parse(at + 1, &dg, err);
        if (ret < 0) {
            ferry_error_wrap(err, "invalid reference \"%s\"", shown);
            goto out;
        }
        r->digest = ferry_strdup(dg.str);
        if (r->digest == NULL)
            goto nomem;
        name_len = (size_t)(at - s);
    }
    slash = NULL;
    colon = NULL;
    for (size_t i = 0; i < name_len; i++) {
        if (name[i] == '/')
            slash = name + i;
        else if (name[i] == ':')
            colon = name + i;
    }
    if (colon != NULL && (slash == NULL || colon > slash)) {
        tag = colon + 1;
        tag_len = name_len - (size_t)(tag - name);
        name_len = (size_t)(colon - name);
        if (!tag_valid(tag, tag_len)) {
            ret = ferry_error_new(err, FERRY_E_INVALID,
                                  "invalid reference \"%s\": bad tag (want "
                                  "[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})",
                                  shown);
            goto out;
        }
    }
    if (name_len == 0) {
        ret = ferry_error_new(err, FERRY_E_INVALID, "invalid reference \"%s\": empty name", shown);
        goto out;
    }

    /* Split the registry off the first component (normalize.go splitDockerDomain). */
    slash = memchr(name, '/', name_len);
    if (slash != NULL && looks_like_domain(name, (size_t)(slash - name))) {
        domain_len = (size_t)(slash - name);
        remote = slash + 1;
        remote_len = name_len - domain_len - 1;
        if (!ferry_ref_domain_valid(name, domain_len)) {
            ret = ferry_error_new(err, FERRY_E_INVALID,
                                  "invalid reference \"%s\": bad registry host", shown);
            goto out;
        }
        hub = (domain_len == strlen(HUB_REGISTRY) && memcmp(name, HUB_REGISTRY, domain_len) == 0) ||
              (domain_len == strlen(HUB_LEGACY) && memcmp(name, HUB_LEGACY, domain_len) == 0);
        r->registry = hub ? ferry_strdup(HUB_REGISTRY) : ferry_strndup(name, domain_len);
    } else {
        hub = true;
        remote = name;
        remote_len = name_len;
        r->registry = ferry_strdup(HUB_REGISTRY);
    }
    if (r->registry == NULL)
        goto nomem;
    r->api_host = ferry_strdup(hub ? HUB_API_HOST : r->registry);
    if (r->api_host == NULL)
        goto nomem;

    if (!path_valid(remote, remote_len)) {
        bool upper = false;
        for (size_t i = 0; i < remote_len; i++)
            upper = upper || (remote[i] >= 'A' && remote[i] <= 'Z');
        ret = ferry_error_new(err, FERRY_E_INVALID, "invalid reference \"%s\": %s", shown,
                              upper ? "repository name must be lowercase"
                                    : "bad repository name (want components "
                                      "[a-z0-9]+((.|_|__|-+)[a-z0-9]+)* separated by '/')");
        goto out;
    }
    if (hub && memchr(remote, '/', remote_len) == NULL) {
        r->repository = ferry_asprintf("%s%.*s", HUB_OFFICIAL, (int)remote_len, remote);
    } else {
        r->repository = ferry_strndup(remote, remote_len);
    }
    if (r->repository == NULL)
        goto nomem;
    if (strlen(r->registry) + 1 + strlen(r->repository) > NAME_TOTAL_MAX) {
        ret = ferry_error_new(err, FERRY_E_INVALID,
                              "invalid reference \"%s\": name longer than %d characters", shown,
                              NAME_TOTAL_MAX);
        goto out;
    }

    if (tag != NULL) {
        r->tag = ferry_strndup(tag, tag_len);
        if (r->tag == NULL)
            goto nomem;
    } else if (r->digest == NULL) {
        if (!default_latest) {
            ret = ferry_error_new(err, FERRY_E_INVALID,
                                  "invalid reference \"%s\": needs a tag or a digest", shown);
            goto out;
        }
        r->tag = ferry_strdup("latest");
        if (r->tag == NULL)
            goto nomem;
    }

    *out = r;
    r = NULL;
    goto out;

nomem:
    ret = ferry_error_new(err, FERRY_E_NOMEM, "out of memory parsing reference \"%s\"", shown);
out:
    ferry_ref_free(r);
    return ret;
}

char *
ferry_ref_string(const struct ferry_ref *r)
{
    if (r == NULL || r->registry == NULL || r->repository == NULL)
        return NULL;
    return ferry_asprintf("%s/%s%s%s%s%s", r->registry, r->repository, r->tag ? ":" : "",
                          r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}
