/* Fuzz containers-policy.json parsing, scope lookup and signedIdentity
 * matching. Input starting with byte 0x01 drives the matcher directly:
 * "\x01" TYPE "\n" A "\n" B "\n" IMAGE "\n" SIGNED, TYPE a digit selecting
 * the identity type, A its reference / repository / prefix, B its
 * signedPrefix; IMAGE is also looked up in a fixed policy. Anything else is
 * a policy file. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/policy.h"
#include "ferry/util.h"

static const char *const refs[] = {
    "example.com/ns/repo:tag",
    "example.com:5000/ns/"
    "repo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "docker.io/library/busybox:latest",
    "busybox",
    "reg.example.com/a/b/"
    "c:1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "quay.io/x:1",
};

static const char fixed_policy[] =
    "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": {"
    "\"example.com/ns/repo:tag\": [{\"type\": \"insecureAcceptAnything\"}],"
    "\"example.com/ns\": [{\"type\": \"reject\"}], \"example.com\": [{\"type\": \"reject\"}],"
    "\"*.example.com\": [{\"type\": \"reject\"}], \"*.com\": [{\"type\": \"reject\"}],"
    "\"docker.io/library\": [{\"type\": \"reject\"}], \"\": [{\"type\": \"reject\"}]}}}";

/* Inputs that name /dev, /proc or /sys, also through JSON escapes: key paths
 * are read. */
static bool
names_special(const uint8_t *data, size_t size)
{
    if (fuzz_names_device(data, size))
        return true;
    for (size_t i = 0; i + 1 < size; i++)
        if (data[i] == '\\' && (data[i + 1] == '/' || data[i + 1] == 'u'))
            return true;
    return false;
}

static void
check_reqs(const struct ferry_policy_req *reqs, size_t n)
{
    if (reqs == NULL || n == 0)
        abort();
    for (size_t i = 0; i < n; i++) {
        const struct ferry_policy_req *r = &reqs[i];
        if (r->type_name == NULL || r->type < FERRY_POLICY_ACCEPT ||
            r->type > FERRY_POLICY_UNSUPPORTED)
            abort();
        if ((r->type == FERRY_POLICY_UNSUPPORTED) != (r->reason != NULL))
            abort();
        if (r->type == FERRY_POLICY_SIGSTORE && (r->nkeys > 0) == (r->fulcio_ca != NULL))
            abort();
        if (r->fulcio_ca != NULL && (r->nrekor_keys == 0 || r->fulcio_issuer == NULL))
            abort();
        for (size_t k = 0; k < r->nkeys; k++)
            if (r->keys[k].len == 0 || r->keys[k].origin == NULL)
                abort();
        for (size_t k = 0; k < sizeof refs / sizeof refs[0]; k++)
            (void)ferry_policy_identity_match(&r->identity, refs[k],
                                              refs[(k + 1) % (sizeof refs / sizeof refs[0])]);
    }
}

static void
fuzz_policy(const uint8_t *data, size_t size)
{
    struct ferry_policy *p = NULL;
    struct ferry_error *err = NULL;

    if (ferry_policy_parse(data, size, "/nonexistent-ferry-fuzz", "fuzz.json", &p, &err) == 0) {
        for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
            const struct ferry_policy_req *reqs = NULL;
            const char *scope = NULL;
            size_t n = 0;
            if (ferry_policy_requirements(p, refs[i], &reqs, &n, &scope, &err) < 0)
                abort(); /* the references are valid */
            check_reqs(reqs, n);
        }
        for (size_t i = 0; i < ferry_policy_docker_scope_count(p); i++) {
            const struct ferry_policy_req *reqs = NULL;
            size_t n = 0;
            if (ferry_policy_docker_scope(p, i, &reqs, &n) == NULL)
                abort();
            check_reqs(reqs, n);
        }
        ferry_policy_free(p);
    } else if (err == NULL || err->msg == NULL || strchr(err->msg, '\n') != NULL) {
        abort();
    }
    ferry_error_clear(&err);
}

static void
fuzz_match(const uint8_t *data, size_t size)
{
    char *text = ferry_strndup((const char *)data + 1, size - 1), *f[5] = {0};
    struct ferry_policy_identity id = {0};
    struct ferry_policy *p = NULL;
    struct ferry_error *err = NULL;
    size_t nf = 0;

    if (text == NULL || strlen(text) != size - 1) {
        ferry_free(text);
        return;
    }
    for (char *s = text; nf < 5; nf++) {
        f[nf] = s;
        if ((s = strchr(s, '\n')) == NULL) {
            nf++;
            break;
        }
        *s++ = '\0';
    }
    if (nf == 5) {
        id.type = (enum ferry_policy_identity_type)(1 + (unsigned char)f[0][0] % 6);
        id.reference = id.repository = id.prefix = f[1];
        id.signed_prefix = f[2];
        (void)ferry_policy_identity_match(&id, f[3], f[4]);
        if (ferry_policy_parse(fixed_policy, sizeof fixed_policy - 1, NULL, "fixed", &p, &err) < 0)
            abort();
        {
            const struct ferry_policy_req *reqs = NULL;
            const char *scope = NULL;
            size_t n = 0;
            if (ferry_policy_requirements(p, f[3], &reqs, &n, &scope, &err) == 0)
                check_reqs(reqs, n);
            else if (err == NULL)
                abort();
        }
        ferry_policy_free(p);
        ferry_error_clear(&err);
    }
    ferry_free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (names_special(data, size))
        return 0;
    if (size > 0 && data[0] == 0x01)
        fuzz_match(data, size);
    else
        fuzz_policy(data, size);
    return 0;
}
