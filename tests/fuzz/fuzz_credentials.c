/* Fuzz reg_creds_parse_config, the docker config.json / containers auth.json
 * reader, with a fake credential helper (nothing is spawned). The first byte
 * picks the host (low 3 bits) and what the fake helper answers (next 2 bits).
 *
 * Checked: a failure leaves no credentials behind; a success has all fields
 * or none; helpers are only run under a checked name; parsing is
 * deterministic; and an error message is one of the known texts with only the
 * path, host and numbers filled in, so it can never quote a secret from the
 * file (jansson's own error text does: "near '\"hunter2'"). Nothing here
 * prints the input. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/util.h"
#include "registry_int.h"

#define PATH "/root/.docker/config.json"
#define HUB_KEY "https://index.docker.io/v1/"

static const char *const hosts[] = {
    "docker.io", "registry-1.docker.io", "127.0.0.1:5000", "ghcr.io", "localhost:5000", "quay.io",
    "r.example", "index.docker.io",
};

static int helper_mode;
static int helper_calls;
static char helper_seen[80];

static bool
name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    return true;
}

static int
fake_helper(const char *helper, const char *server, const char *host, struct reg_creds *out,
            struct ferry_error **err)
{
    static const char answer[] = "{\"ServerURL\":\"x\",\"Username\":\"<token>\",\"Secret\":\"rt\"}";

    helper_calls++;
    if (!name_ok(helper))
        abort();
    if (strcmp(server, reg_is_docker_hub(host) ? HUB_KEY : host) != 0)
        abort();
    snprintf(helper_seen, sizeof helper_seen, "%s", helper);
    switch (helper_mode) {
    case 1:
        out->kind = REG_CRED_BASIC;
        out->username = ferry_strdup("helper-user");
        out->secret = ferry_secret_dup("helper-secret", 13);
        out->source = ferry_asprintf("docker-credential-%s", helper);
        if (out->username == NULL || out->secret == NULL || out->source == NULL) {
            reg_creds_clear(out);
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        }
        return 0;
    case 2:
        return ferry_error_new(err, FERRY_E_AUTH,
                               "credential helper docker-credential-%s for %s: exit 1", helper,
                               host);
    case 3:
        return reg_helper_output_parse(helper, server, host, answer, sizeof answer - 1, 0, out,
                                       err);
    default:
        return 0; /* credentials not found */
    }
}

/* Copy s with every run of digits (and minus signs) replaced by one '#'. */
static void
squash_digits(const char *s, char *out, size_t cap)
{
    size_t o = 0;

    for (; *s && o + 1 < cap; s++) {
        if ((*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' && s[1] <= '9')) {
            if (o == 0 || out[o - 1] != '#')
                out[o++] = '#';
            continue;
        }
        out[o++] = *s;
    }
    out[o] = '\0';
}

static bool
msg_is(const char *got, const char *want)
{
    char a[512], b[512];

    squash_digits(got, a, sizeof a);
    squash_digits(want, b, sizeof b);
    return strcmp(a, b) == 0;
}

static void
check_error(const struct ferry_error *e, const char *host)
{
    static const char *const json_what[] = {
        "out of memory",
        "nested too deeply",
        "invalid utf-8",
        "premature end of input",
        "end of input expected",
        "\\u0000 is not allowed",
        "NUL byte in an object key",
        "duplicate object key",
        "number out of range",
        "invalid json",
    };
    char want[512];

    if (e == NULL || e->msg[0] == '\0')
        abort();
    for (size_t i = 0; i < sizeof json_what / sizeof json_what[0]; i++) {
        snprintf(want, sizeof want, "auth file %s: line 1 column 1: %s", PATH, json_what[i]);
        if (msg_is(e->msg, want))
            return;
    }
#define KNOWN(...)                                                                                 \
    do {                                                                                           \
        snprintf(want, sizeof want, __VA_ARGS__);                                                  \
        if (msg_is(e->msg, want))                                                                  \
            return;                                                                                \
    } while (0)
    KNOWN("auth file %s: not a json object", PATH);
    KNOWN("auth file %s: \"auths\" is not an object", PATH);
    KNOWN("auth file %s: invalid credential helper name for %s", PATH, host);
    KNOWN("auth file %s: entry for %s: invalid base64", PATH, host);
    KNOWN("auth file %s: entry for %s: expected base64 of username:password", PATH, host);
    KNOWN("out of memory reading credentials for %s", host);
    KNOWN("credential helper docker-credential-%s for %s: exit 1", helper_seen, host);
    KNOWN("credential helper docker-credential-%s for %s: invalid json output at line 1 column 1",
          helper_seen, host);
#undef KNOWN
    abort(); /* a message this target does not know may quote the file */
}

static void
check_creds(const struct reg_creds *c)
{
    if (c->kind == REG_CRED_NONE) {
        if (c->username != NULL || c->secret != NULL || c->source != NULL)
            abort();
        return;
    }
    if (c->username == NULL || c->secret == NULL || c->source == NULL)
        abort();
    if (c->kind != REG_CRED_BASIC && c->kind != REG_CRED_IDENTITY &&
        c->kind != REG_CRED_REGISTRY_TOKEN)
        abort();
    /* token kinds always carry a token; Basic may have an empty password */
    if (c->kind != REG_CRED_BASIC && c->secret[0] == '\0')
        abort();
    if (c->kind == REG_CRED_BASIC && c->username[0] == '\0')
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reg_creds c = {0}, c2 = {0};
    struct ferry_error *err = NULL, *err2 = NULL;
    const char *host;
    const char *json;
    size_t len;
    int rc, rc2;

    if (size < 1)
        return 0;
    host = hosts[data[0] & 7];
    helper_mode = (data[0] >> 3) & 3;
    helper_calls = 0;
    helper_seen[0] = '\0';
    json = (const char *)data + 1;
    len = size - 1;

    rc = reg_creds_parse_config(host, json, len, PATH, fake_helper, &c, &err);
    if (rc < 0) {
        check_error(err, host);
        if (c.kind != REG_CRED_NONE || c.username != NULL || c.secret != NULL || c.source != NULL)
            abort();
    } else {
        if (rc != 0 || err != NULL)
            abort();
        check_creds(&c);
        if (helper_calls > 1)
            abort();
    }

    rc2 = reg_creds_parse_config(host, json, len, PATH, fake_helper, &c2, &err2);
    if (rc2 != rc || c2.kind != c.kind)
        abort();
    if (c.kind != REG_CRED_NONE &&
        (strcmp(c.username, c2.username) != 0 || strcmp(c.secret, c2.secret) != 0 ||
         strcmp(c.source, c2.source) != 0))
        abort();

    reg_creds_clear(&c);
    reg_creds_clear(&c2);
    ferry_error_free(err);
    ferry_error_free(err2);
    return 0;
}
