/* ferry registry client: where credentials come from.
 *
 * Order: explicit username/password (ferry_registry_opts), else the auth file
 * given in the options, else REGISTRY_AUTH_FILE, then $DOCKER_CONFIG/config.json
 * or ~/.docker/config.json. Inside one file: credHelpers[host], then
 * credsStore (docker-credential-<name> get), then the auths entry (base64
 * "auth", "identitytoken", "registrytoken"). Docker Hub is looked up under
 * https://index.docker.io/v1/ (docker/cli ResolveAuthConfig).
 *
 * Secrets are copied into sodium_malloc memory. The file and helper output
 * buffers and the jansson string values holding secrets are wiped before they
 * are freed (jansson's transient lexer buffer is not reachable).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ferry/limits.h"
#include "registry_int.h"

extern char **environ;

#define DOCKER_HUB_KEY "https://index.docker.io/v1/"
#define HELPER_TIMEOUT_MS 60000
#define HELPER_PREFIX "docker-credential-"

void
reg_creds_clear(struct reg_creds *c)
{
    ferry_safefree(c->username);
    ferry_secret_free(c->secret);
    c->secret = NULL;
    ferry_safefree(c->source);
    c->kind = REG_CRED_NONE;
}

bool
reg_is_docker_hub(const char *host)
{
    return strcasecmp(host, "docker.io") == 0 || strcasecmp(host, "index.docker.io") == 0 ||
           strcasecmp(host, "registry-1.docker.io") == 0;
}

/* Keys an entry for host may be stored under, most specific first. */
static size_t
host_keys(const char *host, const char **keys, size_t max)
{
    static const char *const hub[] = {DOCKER_HUB_KEY, "index.docker.io", "docker.io",
                                      "registry-1.docker.io"};
    size_t n = 0;

    if (reg_is_docker_hub(host)) {
        for (size_t i = 0; i < sizeof hub / sizeof hub[0] && n < max; i++)
            keys[n++] = hub[i];
    } else if (max > 0) {
        keys[n++] = host;
    }
    return n;
}

/* "https://host/v1/" -> "host" (docker/cli ConvertToHostname). Only keys that
 * carry a scheme are normalised: containers-auth namespaced keys
 * ("host/team/repo") are not widened to the whole host. */
static bool
legacy_key_matches(const char *key, const char *host)
{
    const char *p;
    size_t n;

    if (strncasecmp(key, "https://", 8) == 0)
        p = key + 8;
    else if (strncasecmp(key, "http://", 7) == 0)
        p = key + 7;
    else
        return false;
    n = strcspn(p, "/");
    return n == strlen(host) && strncasecmp(p, host, n) == 0;
}

static void
wipe_json_string(json_t *v)
{
    if (json_is_string(v))
        sodium_memzero((void *)(uintptr_t)json_string_value(v), json_string_length(v));
}

void
reg_wipe_config(json_t *root)
{
    static const char *const fields[] = {"auth", "identitytoken", "registrytoken", "password"};
    json_t *auths = json_object_get(root, "auths"), *e;
    const char *k;

    if (!json_is_object(auths))
        return;
    json_object_foreach(auths, k, e)
    {
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            wipe_json_string(json_object_get(e, fields[i]));
    }
}

/* What went wrong in a config file, without jansson's text: that quotes the
 * token being read ("near '\"hunter2'"), which may be part of a secret. */
static const char *
json_error_what(const json_error_t *e)
{
    switch (json_error_code(e)) {
    case json_error_out_of_memory:
        return "out of memory";
    case json_error_stack_overflow:
        return "nested too deeply";
    case json_error_invalid_utf8:
        return "invalid utf-8";
    case json_error_premature_end_of_input:
        return "premature end of input";
    case json_error_end_of_input_expected:
        return "end of input expected";
    case json_error_null_character:
        return "\\u0000 is not allowed";
    case json_error_null_byte_in_key:
        return "NUL byte in an object key";
    case json_error_duplicate_key:
        return "duplicate object key";
    case json_error_numeric_overflow:
        return "number out of range";
    default:
        return "invalid json";
    }
}

static bool
helper_name_ok(const char *s)
{
    if (s[0] == '\0' || strlen(s) > 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    return true;
}

static int
set_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    return fl < 0 ? -1 : fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/* Run docker-credential-<helper> get with server on stdin. The output (which
 * may hold the secret) goes into a sodium buffer owned by the caller. */
static int
helper_exec(const char *helper, const char *server, const char *host, char **outp, size_t *outlen,
            int *status, struct ferry_error **err)
{
    char *prog = NULL, *argv[3], *out = NULL, *line = NULL;
    int sv[2] = {-1, -1}, po[2] = {-1, -1}, rc = 0, st = 0;
    bool spawned = false, actions = false;
    posix_spawn_file_actions_t fa;
    size_t len = 0;
    pid_t pid = -1;
    long t0;

    prog = ferry_asprintf(HELPER_PREFIX "%s", helper);
    line = ferry_asprintf("%s\n", server);
    out = ferry_secret_alloc(FERRY_MAX_HELPER_OUTPUT);
    if (prog == NULL || line == NULL || out == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory running %s", HELPER_PREFIX);
        goto out;
    }
    /* stdin is a socket so a helper that exits early cannot SIGPIPE us
     * (send with MSG_NOSIGNAL) */
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(po) < 0 || set_cloexec(sv[0]) < 0 ||
        set_cloexec(sv[1]) < 0 || set_cloexec(po[0]) < 0 || set_cloexec(po[1]) < 0) {
        rc = ferry_error_sys(err, errno, "credential helper %s for %s", prog, host);
        goto out;
    }
    if (posix_spawn_file_actions_init(&fa) != 0) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory running %s", prog);
        goto out;
    }
    actions = true;
    if (posix_spawn_file_actions_adddup2(&fa, sv[1], 0) != 0 ||
        posix_spawn_file_actions_adddup2(&fa, po[1], 1) != 0 ||
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0) != 0) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory running %s", prog);
        goto out;
    }
    argv[0] = prog;
    argv[1] = (char *)"get";
    argv[2] = NULL;
    st = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
    if (st != 0) {
        rc = ferry_error_new(err, FERRY_E_AUTH,
                             "credential helper %s for %s: cannot run it: %s (is it on PATH?)",
                             prog, host, strerror(st));
        goto out;
    }
    spawned = true;
    close(sv[1]);
    close(po[1]);
    sv[1] = po[1] = -1;
    (void)send(sv[0], line, strlen(line), MSG_NOSIGNAL);
    shutdown(sv[0], SHUT_WR);

    t0 = ferry_monotonic_ms();
    for (;;) {
        struct pollfd pfd = {po[0], POLLIN, 0};
        long left = HELPER_TIMEOUT_MS - (ferry_monotonic_ms() - t0);
        ssize_t n;
        int pr;

        if (left <= 0) {
            rc = ferry_error_new(err, FERRY_E_AUTH,
                                 "credential helper %s for %s: no answer after %d s", prog, host,
                                 HELPER_TIMEOUT_MS / 1000);
            goto out;
        }
        pr = poll(&pfd, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0) {
            rc = ferry_error_sys(err, errno, "credential helper %s for %s", prog, host);
            goto out;
        }
        if (pr == 0)
            continue;
        if (len == FERRY_MAX_HELPER_OUTPUT) {
            rc = ferry_error_new(err, FERRY_E_TOO_LARGE,
                                 "credential helper %s for %s: more than %u bytes of output", prog,
                                 host, FERRY_MAX_HELPER_OUTPUT);
            goto out;
        }
        n = read(po[0], out + len, FERRY_MAX_HELPER_OUTPUT - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ferry_error_sys(err, errno, "credential helper %s for %s", prog, host);
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    out[len] = '\0';
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            rc = ferry_error_sys(err, errno, "credential helper %s for %s", prog, host);
            goto out;
        }
    }
    spawned = false;
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    *outp = out;
    *outlen = len;
    out = NULL;
out:
    if (spawned) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    }
    if (actions)
        posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 2; i++) {
        if (sv[i] >= 0)
            close(sv[i]);
        if (po[i] >= 0)
            close(po[i]);
    }
    ferry_secret_free(out);
    ferry_free(prog);
    ferry_free(line);
    return rc;
}

/* A helper that prints its JSON answer (or part of it) and then fails: that
 * output must not end up in an error message. Helpers report failures as
 * plain text ("credentials not found in native keychain"). */
static bool
helper_output_may_hold_secret(const char *text)
{
    const char *p = text;

    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return *p == '{' || strstr(text, "Secret") != NULL;
}

int
reg_helper_output_parse(const char *helper, const char *server, const char *host, const char *text,
                        size_t len, int status, struct reg_creds *out, struct ferry_error **err)
{
    char *summary = NULL;
    int rc = 0;
    json_t *root = NULL;
    json_error_t jerr;
    const char *user, *secret;

    if (status != 0) {
        if (strstr(text, "credentials not found") != NULL) {
            ferry_log(FERRY_LOG_DEBUG, "credential helper " HELPER_PREFIX "%s has nothing for %s",
                      helper, server);
            goto out;
        }
        /* the failure text goes into the message, unless it may be the answer */
        if (!helper_output_may_hold_secret(text))
            summary = reg_error_summary(text, len > 200 ? 200 : len, NULL);
        rc = ferry_error_new(
            err, FERRY_E_AUTH, "credential helper " HELPER_PREFIX "%s for %s: exit %d%s%s", helper,
            host, status, summary && summary[0] ? ": " : "", summary ? summary : "");
        goto out;
    }
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        rc = ferry_error_new(err, FERRY_E_AUTH,
                             "credential helper " HELPER_PREFIX
                             "%s for %s: invalid json output at line %d column %d",
                             helper, host, jerr.line, jerr.column);
        goto out;
    }
    user = json_string_value(json_object_get(root, "Username"));
    secret = json_string_value(json_object_get(root, "Secret"));
    if (secret == NULL || secret[0] == '\0')
        goto out;
    out->username = ferry_strdup(user ? user : "");
    out->secret = ferry_secret_dup(secret, strlen(secret));
    out->source = ferry_asprintf(HELPER_PREFIX "%s", helper);
    if (out->username == NULL || out->secret == NULL || out->source == NULL) {
        reg_creds_clear(out);
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory reading credentials for %s", host);
        goto out;
    }
    /* docker/cli native_store.go: tokenUsername = "<token>" */
    out->kind = user != NULL && strcmp(user, "<token>") == 0 ? REG_CRED_IDENTITY : REG_CRED_BASIC;
out:
    if (root != NULL) {
        wipe_json_string(json_object_get(root, "Secret"));
        json_decref(root);
    }
    ferry_free(summary);
    return rc;
}

/* docker-credential-helpers protocol: stdin server URL, stdout
 * {"ServerURL","Username","Secret"}; "credentials not found" means none. */
static int
helper_get(const char *helper, const char *server, const char *host, struct reg_creds *out,
           struct ferry_error **err)
{
    char *text = NULL;
    size_t len = 0;
    int status = 0, rc;

    rc = helper_exec(helper, server, host, &text, &len, &status, err);
    if (rc < 0)
        return rc;
    rc = reg_helper_output_parse(helper, server, host, text, len, status, out, err);
    ferry_secret_free(text);
    return rc;
}

/* Decode base64(user:password) into out. */
static int
decode_auth(const char *b64, const char *host, const char *path, struct reg_creds *out,
            struct ferry_error **err)
{
    size_t n = strlen(b64), blen = 0;
    unsigned char *bin;
    char *colon;
    int rc = 0;

    bin = (unsigned char *)ferry_secret_alloc(n);
    if (bin == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory reading credentials for %s",
                               host);
    if (sodium_base642bin(bin, n, b64, n, "\r\n ", &blen, NULL, sodium_base64_VARIANT_ORIGINAL) !=
            0 &&
        sodium_base642bin(bin, n, b64, n, "\r\n ", &blen, NULL,
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0) {
        rc = ferry_error_new(err, FERRY_E_INVALID, "auth file %s: entry for %s: invalid base64",
                             path, host);
        goto out;
    }
    bin[blen] = '\0';
    colon = memchr(bin, ':', blen);
    if (colon == NULL || colon == (char *)bin) {
        rc = ferry_error_new(err, FERRY_E_INVALID,
                             "auth file %s: entry for %s: expected base64 of username:password",
                             path, host);
        goto out;
    }
    /* docker/cli decodeAuth trims NUL bytes from the password */
    while (blen > 0 && bin[blen - 1] == '\0')
        blen--;
    out->username = ferry_strndup((char *)bin, (size_t)(colon - (char *)bin));
    out->secret = ferry_secret_dup(colon + 1, blen - (size_t)(colon + 1 - (char *)bin));
    if (out->username == NULL || out->secret == NULL) {
        reg_creds_clear(out);
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory reading credentials for %s", host);
        goto out;
    }
    out->kind = REG_CRED_BASIC;
out:
    ferry_secret_free(bin);
    return rc;
}

static int
creds_from_entry(json_t *e, const char *host, const char *path, struct reg_creds *out,
                 struct ferry_error **err)
{
    const char *rt = json_string_value(json_object_get(e, "registrytoken"));
    const char *it = json_string_value(json_object_get(e, "identitytoken"));
    const char *auth = json_string_value(json_object_get(e, "auth"));
    const char *user = json_string_value(json_object_get(e, "username"));
    const char *pass = json_string_value(json_object_get(e, "password"));
    int rc = 0;

    if (rt != NULL && rt[0] != '\0') {
        out->kind = REG_CRED_REGISTRY_TOKEN;
        out->username = ferry_strdup("");
        out->secret = ferry_secret_dup(rt, strlen(rt));
    } else if (it != NULL && it[0] != '\0') {
        out->kind = REG_CRED_IDENTITY;
        out->username = ferry_strdup(user ? user : "");
        out->secret = ferry_secret_dup(it, strlen(it));
    } else if (auth != NULL && auth[0] != '\0') {
        rc = decode_auth(auth, host, path, out, err);
        if (rc < 0)
            return rc;
    } else if (user != NULL && user[0] != '\0' && pass != NULL) {
        out->kind = REG_CRED_BASIC;
        out->username = ferry_strdup(user);
        out->secret = ferry_secret_dup(pass, strlen(pass));
    } else {
        return 0;
    }
    out->source = ferry_strdup(path);
    if (out->username == NULL || out->secret == NULL || out->source == NULL) {
        reg_creds_clear(out);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory reading credentials for %s",
                               host);
    }
    return 0;
}

int
reg_creds_from_config(const char *host, const char *json, size_t len, const char *path,
                      struct reg_creds *out, struct ferry_error **err)
{
    return reg_creds_parse_config(host, json, len, path, helper_get, out, err);
}

int
reg_creds_parse_config(const char *host, const char *json, size_t len, const char *path,
                       reg_helper_fn helper_fn, struct reg_creds *out, struct ferry_error **err)
{
    const char *keys[4], *helper = NULL, *k;
    json_t *root = NULL, *auths, *helpers, *e;
    json_error_t jerr;
    size_t nkeys = host_keys(host, keys, 4);
    int rc = 0;

    memset(out, 0, sizeof *out);
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        rc = ferry_error_new(err, FERRY_E_INVALID, "auth file %s: line %d column %d: %s", path,
                             jerr.line, jerr.column, json_error_what(&jerr));
        goto out;
    }
    if (!json_is_object(root)) {
        rc = ferry_error_new(err, FERRY_E_INVALID, "auth file %s: not a json object", path);
        goto out;
    }
    helpers = json_object_get(root, "credHelpers");
    for (size_t i = 0; i < nkeys && helper == NULL; i++)
        helper = json_string_value(json_object_get(helpers, keys[i]));
    if (helper == NULL)
        helper = json_string_value(json_object_get(root, "credsStore"));
    if (helper != NULL && helper[0] != '\0') {
        if (!helper_name_ok(helper)) {
            rc = ferry_error_new(err, FERRY_E_INVALID,
                                 "auth file %s: invalid credential helper name for %s", path, host);
            goto out;
        }
        rc = helper_fn(helper, reg_is_docker_hub(host) ? DOCKER_HUB_KEY : host, host, out, err);
        if (rc < 0 || out->kind != REG_CRED_NONE)
            goto out;
    }
    auths = json_object_get(root, "auths");
    if (auths != NULL && !json_is_object(auths)) {
        rc =
            ferry_error_new(err, FERRY_E_INVALID, "auth file %s: \"auths\" is not an object", path);
        goto out;
    }
    e = NULL;
    for (size_t i = 0; i < nkeys && e == NULL; i++)
        e = json_object_get(auths, keys[i]);
    if (e == NULL && auths != NULL) {
        json_t *v;
        json_object_foreach(auths, k, v)
        {
            for (size_t i = 0; i < nkeys && e == NULL; i++)
                if (legacy_key_matches(k, keys[i]))
                    e = v;
            if (e != NULL)
                break;
        }
    }
    if (json_is_object(e))
        rc = creds_from_entry(e, host, path, out, err);
out:
    if (root != NULL) {
        reg_wipe_config(root);
        json_decref(root);
    }
    return rc;
}

/* Read one auth file; 1 if it exists, 0 if not (missing files are skipped). */
static int
try_file(const char *host, const char *path, bool must_exist, struct reg_creds *out,
         struct ferry_error **err)
{
    struct ferry_buf b;
    int rc;

    ferry_buf_init(&b, FERRY_MAX_CONFIG_FILE);
    rc = ferry_read_file(path, &b, err);
    if (rc < 0) {
        if (!must_exist && (*err)->sys_errno == ENOENT) {
            ferry_error_clear(err);
            rc = 0;
        } else {
            ferry_error_wrap(err, "auth file");
        }
        goto out;
    }
    rc = reg_creds_from_config(host, b.data ? b.data : "", b.len, path, out, err);
    if (rc == 0)
        rc = 1;
out:
    if (b.data != NULL)
        sodium_memzero(b.data, b.len);
    ferry_buf_free(&b);
    return rc;
}

bool
reg_key_is_for(const char *key, const char *host)
{
    const char *keys[4];
    size_t n = host_keys(host, keys, 4);

    for (size_t i = 0; i < n; i++)
        if (strcasecmp(key, keys[i]) == 0 || legacy_key_matches(key, keys[i]))
            return true;
    return false;
}

const char *
reg_store_key(const char *host)
{
    return reg_is_docker_hub(host) ? DOCKER_HUB_KEY : host;
}

int
reg_auth_files(const char *auth_file, const char **paths, char **docker, struct ferry_error **err)
{
    const char *env;

    paths[0] = paths[1] = NULL;
    *docker = NULL;
    if (auth_file != NULL) {
        paths[0] = auth_file;
        return 0;
    }
    env = getenv("REGISTRY_AUTH_FILE");
    if (env != NULL && env[0] != '\0')
        paths[0] = env;
    env = getenv("DOCKER_CONFIG");
    if (env != NULL && env[0] != '\0')
        *docker = ferry_asprintf("%s/config.json", env);
    else if ((env = getenv("HOME")) != NULL && env[0] != '\0')
        *docker = ferry_asprintf("%s/.docker/config.json", env);
    if ((env != NULL && env[0] != '\0') && *docker == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory looking up credentials");
    paths[paths[0] ? 1 : 0] = *docker;
    return 0;
}

int
reg_creds_lookup(const char *host, const char *auth_file, struct reg_creds *out,
                 struct ferry_error **errp)
{
    struct ferry_error *e = NULL, **err = &e; /* try_file inspects it */
    struct reg_creds c = {0};
    char *docker = NULL;
    const char *paths[2];
    int rc = 0;

    if ((rc = reg_auth_files(auth_file, paths, &docker, err)) < 0)
        goto out;
    for (size_t i = 0; i < 2 && paths[i] != NULL; i++) {
        rc = try_file(host, paths[i], auth_file != NULL, &c, err);
        if (rc < 0)
            goto out;
        if (c.kind != REG_CRED_NONE)
            break;
    }
    if (c.kind != REG_CRED_NONE)
        ferry_log(FERRY_LOG_DEBUG, "credentials for %s from %s", host, c.source);
    *out = c;
    memset(&c, 0, sizeof c);
    rc = 0;
out:
    if (e != NULL && errp != NULL && *errp == NULL)
        *errp = e;
    else
        ferry_error_free(e);
    reg_creds_clear(&c);
    ferry_free(docker);
    return rc;
}
