/* containers-policy.json: parsing, scope lookup, signedIdentity matching.
 * Identity cases come from containers/image
 * signature/policy_reference_match_test.go (tests/data/policy/README.md). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "ferry/limits.h"
#include "ferry/policy.h"
#include "ferry/sigcheck.h"
#include "ferry/util.h"

#define DIGEST "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define DIGEST_OTHER "@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FULL_RHEL "registry.access.redhat.com/rhel7/rhel:7.2.3"
#define UNTAGGED_RHEL "registry.access.redhat.com/rhel7/rhel"
#define BAD_UPPER "UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES"

/* ---- helpers ------------------------------------------------------------------ */

static const char *
data_dir(void)
{
    static char dir[PATH_MAX];
    const char *src = getenv("FERRY_SOURCE_DIR");

    snprintf(dir, sizeof dir, "%s/tests/data/policy", src ? src : FERRY_SOURCE_DIR);
    return dir;
}

static char *
read_text(const char *path)
{
    struct ferry_buf b;
    struct ferry_error *err = NULL;
    size_t len;

    ferry_buf_init(&b, FERRY_POLICY_MAX_FILE);
    FERRY_ASSERT_OK(ferry_read_file(path, &b, &err), &err);
    return ferry_buf_take(&b, &len);
}

static struct ferry_policy *
parse_ok_in(const char *text, const char *base_dir)
{
    struct ferry_policy *p = NULL;
    struct ferry_error *err = NULL;

    FERRY_ASSERT_OK(ferry_policy_parse(text, strlen(text), base_dir, "t.json", &p, &err), &err);
    assert_non_null(p);
    return p;
}

static struct ferry_policy *
parse_ok(const char *text)
{
    return parse_ok_in(text, data_dir());
}

/* Parsing must fail with code and a message containing want. */
static void
expect_error_in(const char *text, const char *base_dir, enum ferry_status code, const char *want)
{
    struct ferry_policy *p = NULL;
    struct ferry_error *err = NULL;
    int r = ferry_policy_parse(text, strlen(text), base_dir, "t.json", &p, &err);

    if (r >= 0)
        fail_msg("parse succeeded, want error \"%s\" for:\n%s", want, text);
    assert_null(p);
    assert_non_null(err);
    if (err->code != code || strstr(err->msg, want) == NULL)
        fail_msg("error %d \"%s\", want %d containing \"%s\"", err->code, err->msg, code, want);
    assert_int_equal(r, -(int)code);
    assert_null(strchr(err->msg, '\n'));
    assert_true(strncmp(err->msg, "t.json: ", 8) == 0); /* names the file first */
    ferry_error_free(err);
}

static void
expect_error(const char *text, enum ferry_status code, const char *want)
{
    expect_error_in(text, data_dir(), code, want);
}

/* The scope a lookup lands in (NULL: the default), and its requirements. */
static const char *
lookup(const struct ferry_policy *p, const char *ref, const struct ferry_policy_req **reqs,
       size_t *n)
{
    struct ferry_error *err = NULL;
    const struct ferry_policy_req *r = NULL;
    const char *scope = "unset";
    size_t k = 0;

    FERRY_ASSERT_OK(ferry_policy_requirements(p, ref, &r, &k, &scope, &err), &err);
    assert_non_null(r);
    assert_true(k >= 1);
    if (reqs != NULL) {
        *reqs = r;
        *n = k;
    }
    return scope;
}

static void
expect_scope(const struct ferry_policy *p, const char *ref, const char *want)
{
    const char *got = lookup(p, ref, NULL, NULL);

    if (want == NULL ? got != NULL : got == NULL || strcmp(got, want) != 0)
        fail_msg("%s: scope \"%s\", want \"%s\"", ref, got ? got : "(default)",
                 want ? want : "(default)");
}

static char *
replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);

    assert_non_null(at);
    return ferry_asprintf("%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
}

static char *
make_tmpdir(void)
{
    char tmpl[] = "/tmp/ferry-policy-XXXXXX";

    assert_non_null(mkdtemp(tmpl));
    return ferry_strdup(tmpl);
}

static void
write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void
rm_tree(const char *dir)
{
    char *cmd = ferry_asprintf("rm -rf '%s'", dir);

    assert_int_equal(system(cmd), 0);
    ferry_free(cmd);
}

/* ---- containers/image's fixture ------------------------------------------------- */

/* As shipped it names /keys/public-key, which ferry reads at load: the
 * error names that file and the scope. */
static void
test_fixture_verbatim(void **state)
{
    struct ferry_policy *p = NULL;
    struct ferry_error *err = NULL;
    char *path = ferry_asprintf("%s/policy.json", data_dir());

    (void)state;
    if (access("/keys/public-key", F_OK) == 0)
        FERRY_SKIP("/keys/public-key exists on this machine");
    assert_true(ferry_policy_load_file(path, &p, &err) < 0);
    assert_null(p);
    assert_int_equal(err->code, FERRY_E_NOT_FOUND);
    assert_non_null(strstr(err->msg, path));
    assert_non_null(strstr(
        err->msg, "transports.docker[\"example.com/sigstore/key-path-example\"][0]: keyPath: open "
                  "/keys/public-key"));
    ferry_error_free(err);
    ferry_free(path);
}

/* samples/dhi/policy.json, the sample for Docker Hardened Images: its
 * scopes, Docker's keys (loaded by the signature gate's cache as sigstore
 * keys), and reject for everything else. */
static void
test_sample_dhi(void **state)
{
    const char *src = getenv("FERRY_SOURCE_DIR");
    char *path = ferry_asprintf("%s/samples/dhi/policy.json", src ? src : FERRY_SOURCE_DIR);
    char *key = ferry_asprintf("%s/samples/dhi/dhi-2.pub", src ? src : FERRY_SOURCE_DIR);
    char *keytext = read_text(key);
    struct ferry_sig_policy_cache *cache = NULL;
    struct ferry_policy *p = NULL;
    struct ferry_error *err = NULL;
    const struct ferry_policy_req *reqs;
    size_t n;

    (void)state;
    assert_int_equal(ferry_policy_load_file(path, &p, &err), 0);
    assert_string_equal(lookup(p, "dhi.io/python:3.13", &reqs, &n), "dhi.io");
    assert_int_equal(n, 1);
    assert_int_equal(reqs[0].type, FERRY_POLICY_SIGSTORE);
    assert_int_equal(reqs[0].nkeys, 2);
    assert_string_equal(reqs[0].keys[0].data, keytext);
    assert_int_equal(reqs[0].identity.type, FERRY_POLICY_ID_MATCH_REPOSITORY);
    assert_string_equal(lookup(p, "registry.scout.docker.com/acme/dhi-python:3.13", &reqs, &n),
                        "registry.scout.docker.com");
    assert_int_equal(reqs[0].type, FERRY_POLICY_SIGSTORE);
    assert_null(lookup(p, "docker.io/library/python:3.13", &reqs, &n));
    assert_int_equal(reqs[0].type, FERRY_POLICY_REJECT);
    /* the keys are ECDSA P-256 keys the verifier takes */
    assert_int_equal(ferry_sig_policy_cache_new(p, &cache, &err), 0);
    ferry_sig_policy_cache_free(cache);
    ferry_policy_free(p);
    ferry_free(keytext);
    ferry_free(key);
    ferry_free(path);
}

/* The fixture with that key path pointed at a real key (relative: resolved
 * against the policy's directory). */
static void
test_fixture(void **state)
{
    static const char *const scopes[] = {"example.com/playground",
                                         "example.com/production",
                                         "example.com/hardened",
                                         "example.com/hardened-x509",
                                         "registry.access.redhat.com",
                                         "registry.redhat.io/beta",
                                         "private-mirror:5000/vendor-mirror",
                                         "*.access.redhat.com",
                                         "*.redhat.com",
                                         "*.com",
                                         "bogus/key-data-example",
                                         "bogus/signed-identity-example",
                                         "example.com/sigstore/key-data-example",
                                         "example.com/sigstore/key-path-example"};
    char *path = ferry_asprintf("%s/policy.json", data_dir());
    char *orig = read_text(path), *text = replace(orig, "\"/keys/public-key\"", "\"cosign.pub\"");
    char *pub = ferry_asprintf("%s/cosign.pub", data_dir()), *pubtext = read_text(pub);
    char *origin = ferry_asprintf("keyPath %s", pub);
    const struct ferry_policy_req *reqs;
    struct ferry_policy *p;
    size_t n;

    (void)state;
    p = parse_ok(text);
    assert_int_equal(ferry_policy_docker_scope_count(p), sizeof scopes / sizeof scopes[0]);
    for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++)
        assert_string_equal(ferry_policy_docker_scope(p, i, &reqs, &n), scopes[i]);
    assert_null(ferry_policy_docker_scope(p, sizeof scopes / sizeof scopes[0], &reqs, &n));

    /* default: reject; the "dir" transport's "" scope is not docker's */
    assert_null(lookup(p, "quay.io/foo/bar:1", &reqs, &n));
    assert_int_equal(n, 1);
    assert_int_equal(reqs[0].type, FERRY_POLICY_REJECT);
    assert_string_equal(reqs[0].type_name, "reject");

    assert_string_equal(lookup(p, "example.com/playground/busybox:latest", &reqs, &n),
                        "example.com/playground");
    assert_int_equal(n, 1);
    assert_int_equal(reqs[0].type, FERRY_POLICY_ACCEPT);

    assert_string_equal(lookup(p, "example.com/hardened:1", &reqs, &n), "example.com/hardened");
    assert_int_equal(n, 3);
    assert_int_equal(reqs[0].type, FERRY_POLICY_UNSUPPORTED);
    assert_string_equal(reqs[0].type_name, "signedBy");
    assert_non_null(strstr(reqs[0].reason, "signedBy"));
    assert_int_equal(reqs[0].identity.type, FERRY_POLICY_ID_MATCH_REPOSITORY);
    assert_int_equal(reqs[1].identity.type, FERRY_POLICY_ID_MATCH_EXACT);
    assert_string_equal(reqs[2].type_name, "signedBaseLayer");
    assert_int_equal(reqs[2].type, FERRY_POLICY_UNSUPPORTED);

    /* signedBy without signedIdentity: the default */
    assert_string_equal(lookup(p, "example.com/production/x" DIGEST, &reqs, &n),
                        "example.com/production");
    assert_int_equal(reqs[0].identity.type, FERRY_POLICY_ID_MATCH_REPO_DIGEST_OR_EXACT);

    assert_string_equal(lookup(p, "private-mirror:5000/vendor-mirror/app:2", &reqs, &n),
                        "private-mirror:5000/vendor-mirror");
    assert_int_equal(reqs[0].identity.type, FERRY_POLICY_ID_REMAP_IDENTITY);
    assert_string_equal(reqs[0].identity.prefix, "private-mirror:5000/vendor-mirror");
    assert_string_equal(reqs[0].identity.signed_prefix, "vendor.example.com");

    expect_scope(p, "registry.access.redhat.com/rhel7/rhel:7", "registry.access.redhat.com");
    expect_scope(p, "cdn.access.redhat.com/rhel7/rhel:7", "*.access.redhat.com");
    expect_scope(p, "registry.redhat.com/x:1", "*.redhat.com");
    expect_scope(p, "registry.redhat.io/beta/x:1", "registry.redhat.io/beta");
    expect_scope(p, "registry.redhat.io/betax:1", NULL); /* a path component, not a prefix */
    expect_scope(p, "example.com/other:1", "*.com");
    expect_scope(p, "example.com:5000/other:1", "*.com"); /* the port is cut for wildcards */

    assert_string_equal(lookup(p, "example.com/sigstore/key-path-example:v1", &reqs, &n),
                        "example.com/sigstore/key-path-example");
    assert_int_equal(reqs[0].type, FERRY_POLICY_SIGSTORE);
    assert_null(reqs[0].reason);
    assert_int_equal(reqs[0].nkeys, 1);
    assert_int_equal(reqs[0].keys[0].len, strlen(pubtext));
    assert_memory_equal(reqs[0].keys[0].data, pubtext, strlen(pubtext));
    assert_string_equal(reqs[0].keys[0].origin, origin);
    assert_null(reqs[0].fulcio_ca);
    assert_int_equal(reqs[0].nrekor_keys, 0);
    assert_int_equal(reqs[0].identity.type, FERRY_POLICY_ID_MATCH_REPOSITORY);

    assert_string_equal(lookup(p, "example.com/sigstore/key-data-example:v1", &reqs, &n),
                        "example.com/sigstore/key-data-example");
    assert_int_equal(reqs[0].type, FERRY_POLICY_SIGSTORE);
    assert_int_equal(reqs[0].nkeys, 1);
    assert_string_equal(reqs[0].keys[0].data, "nonsense"); /* base64 decoded, kept as is */
    assert_int_equal(reqs[0].keys[0].len, 8);
    assert_string_equal(reqs[0].keys[0].origin, "keyData");

    ferry_policy_free(p);
    ferry_free(origin);
    ferry_free(pubtext);
    ferry_free(pub);
    ferry_free(text);
    ferry_free(orig);
    ferry_free(path);
}

/* ---- scope precedence ------------------------------------------------------------- */

#define R(scope) "\"" scope "\": [{\"type\": \"reject\"}]"
#define PRECEDENCE_SCOPES                                                                              \
    R("reg.example.com:5000/ns/repo:tag")                                                              \
    "," R("reg.example.com:5000/ns/repo" DIGEST) "," R("reg.example.com:5000/ns/repo") "," R(          \
        "reg"                                                                                          \
        ".ex"                                                                                          \
        "amp"                                                                                          \
        "le."                                                                                          \
        "com"                                                                                          \
        ":50"                                                                                          \
        "00/"                                                                                          \
        "ns") "," R("reg.example.com:5000") "," R("*.example.com") "," R("*.com") "," R("docker."      \
                                                                                        "io/"          \
                                                                                        "library/"     \
                                                                                        "busybox:"     \
                                                                                        "1") "," R("d" \
                                                                                                   "o" \
                                                                                                   "c" \
                                                                                                   "k" \
                                                                                                   "e" \
                                                                                                   "r" \
                                                                                                   "." \
                                                                                                   "i" \
                                                                                                   "o" \
                                                                                                   "/" \
                                                                                                   "l" \
                                                                                                   "i" \
                                                                                                   "b" \
                                                                                                   "r" \
                                                                                                   "a" \
                                                                                                   "r" \
                                                                                                   "y")

static void
test_precedence(void **state)
{
    static const char with_default[] =
        "{\"default\": [{\"type\": \"insecureAcceptAnything\"}],"
        " \"transports\": {\"docker\": {" PRECEDENCE_SCOPES ", " R("") "}}}";
    static const char without[] = "{\"default\": [{\"type\": \"insecureAcceptAnything\"}],"
                                  " \"transports\": {\"docker\": {" PRECEDENCE_SCOPES "},"
                                  " \"dir\": {" R("") "}}}";
    const struct ferry_policy_req *reqs;
    struct ferry_policy *p = parse_ok(with_default);
    const char *h = "reg.example.com:5000";
    size_t n;
    char ref[256];

    (void)state;
    /* tag beats digest beats repository beats namespace beats host */
    snprintf(ref, sizeof ref, "%s/ns/repo:tag", h);
    expect_scope(p, ref, "reg.example.com:5000/ns/repo:tag");
    snprintf(ref, sizeof ref, "%s/ns/repo:tag%s", h, DIGEST);
    expect_scope(p, ref, "reg.example.com:5000/ns/repo:tag");
    snprintf(ref, sizeof ref, "%s/ns/repo:other%s", h, DIGEST);
    expect_scope(p, ref, "reg.example.com:5000/ns/repo" DIGEST);
    snprintf(ref, sizeof ref, "%s/ns/repo%s", h, DIGEST);
    expect_scope(p, ref, "reg.example.com:5000/ns/repo" DIGEST);
    snprintf(ref, sizeof ref, "%s/ns/repo%s", h, DIGEST_OTHER);
    expect_scope(p, ref, "reg.example.com:5000/ns/repo");
    snprintf(ref, sizeof ref, "%s/ns/repo:other", h);
    expect_scope(p, ref, "reg.example.com:5000/ns/repo");
    snprintf(ref, sizeof ref, "%s/ns/repo", h); /* bare: ":latest" */
    expect_scope(p, ref, "reg.example.com:5000/ns/repo");
    snprintf(ref, sizeof ref, "%s/ns/repo2:tag", h);
    expect_scope(p, ref, "reg.example.com:5000/ns");
    snprintf(ref, sizeof ref, "%s/ns/deeper/repo:tag", h);
    expect_scope(p, ref, "reg.example.com:5000/ns");
    snprintf(ref, sizeof ref, "%s/nsx/repo:tag", h);
    expect_scope(p, ref, "reg.example.com:5000");
    /* host then wildcards: another port is another host, but not for "*." */
    expect_scope(p, "reg.example.com:5001/ns/repo:tag", "*.example.com");
    expect_scope(p, "reg.example.com/ns/repo:tag", "*.example.com");
    expect_scope(p, "example.com/ns/repo:tag", "*.com");
    expect_scope(p, "a.b.other.com/x:1", "*.com");
    /* wildcard beats the transport default, which beats the global one */
    expect_scope(p, "quay.io/x/y:1", "");
    expect_scope(p, "localhost:5000/x:1", "");
    /* Docker Hub: scopes are written expanded, references normalised */
    expect_scope(p, "busybox:1", "docker.io/library/busybox:1");
    expect_scope(p, "docker.io/busybox:1", "docker.io/library/busybox:1");
    expect_scope(p, "index.docker.io/library/busybox:1", "docker.io/library/busybox:1");
    expect_scope(p, "busybox:2", "docker.io/library");
    expect_scope(p, "docker.io/other/busybox:1", "");
    assert_string_equal(lookup(p, "quay.io/x:1", &reqs, &n), "");
    assert_int_equal(reqs[0].type, FERRY_POLICY_REJECT);
    ferry_policy_free(p);

    p = parse_ok(without);
    assert_null(lookup(p, "quay.io/x/y:1", &reqs, &n));
    assert_int_equal(n, 1);
    assert_int_equal(reqs[0].type, FERRY_POLICY_ACCEPT);
    expect_scope(p, "reg.example.com/ns/repo:tag", "*.example.com");
    ferry_policy_free(p);
}

static void
test_lookup_bad_reference(void **state)
{
    struct ferry_policy *p = parse_ok("{\"default\": [{\"type\": \"reject\"}]}");
    const struct ferry_policy_req *reqs = NULL;
    struct ferry_error *err = NULL;
    const char *scope = NULL;
    size_t n = 0;

    (void)state;
    assert_int_equal(ferry_policy_requirements(p, "Example.com/UPPER:1", &reqs, &n, &scope, &err),
                     -FERRY_E_INVALID);
    assert_null(reqs);
    assert_non_null(strstr(err->msg, "policy t.json"));
    ferry_error_free(err);
    ferry_policy_free(p);
}

/* ---- signedIdentity -------------------------------------------------------------- */

struct pair {
    const char *a, *b;
    bool result;
};

/* policy_reference_match_test.go prmExactMatchTestTable */
static const struct pair exact_table[] = {
    {"busybox:latest", "busybox:latest", true},
    {FULL_RHEL, FULL_RHEL, true},
    {"busybox" DIGEST, "busybox" DIGEST, true},
    {"library/busybox:latest", "busybox:latest", true},
    {"docker.io/library/busybox:latest", "busybox:latest", true},
    {"library/busybox" DIGEST, "busybox" DIGEST, true},
    {"busybox:latest", "busybox:notlatest", false},
    {"busybox:latest", "notbusybox:latest", false},
    {"busybox:latest", "hostname/library/busybox:notlatest", false},
    {"hostname/library/busybox:latest", "busybox:notlatest", false},
    {"busybox:latest", FULL_RHEL, false},
    {"busybox" DIGEST, "notbusybox" DIGEST, false},
    {"busybox:latest", "busybox" DIGEST, false},
    {"busybox" DIGEST, "busybox" DIGEST_OTHER, false},
    {"busybox", "busybox:latest", false},
    {"busybox", "busybox" DIGEST, false},
    {"busybox", "busybox", false},
    {"busybox:latest" DIGEST, "busybox:latest" DIGEST, true},
    {"busybox:latest" DIGEST, "busybox:latest" DIGEST_OTHER, false},
    {"busybox:latest" DIGEST, "busybox:notlatest" DIGEST, false},
    {"busybox:latest" DIGEST, "busybox" DIGEST, false},
    {"busybox:latest" DIGEST, "busybox:latest", false},
    {BAD_UPPER, "busybox:latest", false},
    {"", BAD_UPPER, false},
    {"INVALID", "INVALID", false},
};

/* prmRepositoryMatchTestTable */
static const struct pair repo_table[] = {
    {"busybox:latest", "busybox:latest", true},
    {FULL_RHEL, FULL_RHEL, true},
    {"busybox" DIGEST, "busybox" DIGEST, true},
    {"library/busybox:latest", "busybox:latest", true},
    {"docker.io/library/busybox:latest", "busybox:latest", true},
    {"library/busybox" DIGEST, "busybox" DIGEST, true},
    {"busybox:latest", "busybox:notlatest", true},
    {FULL_RHEL "tagsuffix", FULL_RHEL, true},
    {"library/busybox:latest", "busybox:notlatest", true},
    {"busybox:latest", "library/busybox:notlatest", true},
    {"docker.io/library/busybox:notlatest", "busybox:latest", true},
    {"busybox:notlatest", "docker.io/library/busybox:latest", true},
    {"busybox:latest", "busybox" DIGEST, true},
    {"busybox" DIGEST, "busybox" DIGEST_OTHER, true},
    {"busybox", "busybox:notlatest", true},
    {FULL_RHEL, UNTAGGED_RHEL, true},
    {"busybox", "busybox" DIGEST, true},
    {"library/busybox", "busybox", true},
    {"docker.io/library/busybox", "busybox", true},
    {"busybox:latest", "notbusybox:latest", false},
    {"hostname/library/busybox:latest", "busybox:notlatest", false},
    {"busybox:latest", FULL_RHEL, false},
    {"busybox" DIGEST, "notbusybox" DIGEST, false},
    {"busybox:latest" DIGEST, "busybox:latest" DIGEST, true},
    {"busybox:latest" DIGEST, "busybox:latest" DIGEST_OTHER, true},
    {"busybox:latest" DIGEST, "busybox:notlatest" DIGEST, true},
    {"busybox:latest" DIGEST, "busybox" DIGEST, true},
    {"busybox:latest" DIGEST, "busybox:latest", true},
    {BAD_UPPER, "busybox:latest", false},
    {"", BAD_UPPER, false},
    {"INVALID", "INVALID", false},
};

/* matchRepoDigestOrExactTestTable: image, signature (not symmetric) */
static const struct pair mrdoe_table[] = {
    {"busybox:latest", "busybox:notlatest", false},
    {FULL_RHEL "tagsuffix", FULL_RHEL, false},
    {"library/busybox:latest", "busybox:notlatest", false},
    {"busybox:latest", "library/busybox:notlatest", false},
    {"docker.io/library/busybox:notlatest", "busybox:latest", false},
    {"busybox:notlatest", "docker.io/library/busybox:latest", false},
    {"busybox", "busybox:latest", false},
    {"busybox:latest", "busybox", false},
    {"busybox", "busybox" DIGEST, false},
    {"busybox" DIGEST, "busybox", false},
    {FULL_RHEL, UNTAGGED_RHEL, false},
    {"busybox", "busybox", false},
    {"busybox:latest", "busybox" DIGEST, false},
    {"busybox" DIGEST, "busybox:latest", true},
    {"busybox" DIGEST, "busybox" DIGEST_OTHER, true},
    {"busybox:latest" DIGEST, "busybox:latest", false},
    {"busybox:latest" DIGEST, "busybox:notlatest", false},
    {"busybox:latest", "busybox:latest" DIGEST, false},
    {"busybox:latest" DIGEST, "busybox:latest" DIGEST_OTHER, false},
    {"busybox:latest" DIGEST, "busybox:notlatest" DIGEST_OTHER, false},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void
check(const struct ferry_policy_identity *id, const char *image, const char *sig, bool want)
{
    bool got = ferry_policy_identity_match(id, image, sig);

    if (got != want)
        fail_msg("%s: image \"%s\" signed \"%s\": got %d, want %d",
                 ferry_policy_identity_name(id->type), image, sig, got, want);
}

/* Both directions, as the Go tests run the symmetric tables. */
static void
check_symmetric(const struct ferry_policy_identity *id, const struct pair *t, size_t n,
                bool only_true, bool only_false)
{
    for (size_t i = 0; i < n; i++) {
        if ((only_true && !t[i].result) || (only_false && t[i].result))
            continue;
        check(id, t[i].a, t[i].b, t[i].result);
        check(id, t[i].b, t[i].a, t[i].result);
    }
}

static void
test_identity_match_exact(void **state)
{
    struct ferry_policy_identity id = {.type = FERRY_POLICY_ID_MATCH_EXACT};

    (void)state;
    check_symmetric(&id, exact_table, NELEM(exact_table), false, false);
    check(&id, "busybox:latest", "", false);
}

static void
test_identity_match_repository(void **state)
{
    struct ferry_policy_identity id = {.type = FERRY_POLICY_ID_MATCH_REPOSITORY};

    (void)state;
    check_symmetric(&id, repo_table, NELEM(repo_table), false, false);
    check(&id, "busybox:latest", "", false);
}

static void
test_identity_match_repo_digest_or_exact(void **state)
{
    struct ferry_policy_identity id = {.type = FERRY_POLICY_ID_MATCH_REPO_DIGEST_OR_EXACT};

    (void)state;
    /* everything matchExact accepts, nothing matchRepository rejects */
    check_symmetric(&id, exact_table, NELEM(exact_table), true, false);
    check_symmetric(&id, repo_table, NELEM(repo_table), false, true);
    for (size_t i = 0; i < NELEM(mrdoe_table); i++)
        check(&id, mrdoe_table[i].a, mrdoe_table[i].b, mrdoe_table[i].result);
}

static void
test_identity_exact_reference(void **state)
{
    struct ferry_policy_identity id = {.type = FERRY_POLICY_ID_EXACT_REFERENCE};

    (void)state;
    for (size_t i = 0; i < NELEM(exact_table); i++) {
        /* the image is not looked at: the reference in the policy is */
        id.reference = (char *)exact_table[i].a;
        check(&id, "unrelated.example/x:1", exact_table[i].b, exact_table[i].result);
        id.reference = (char *)exact_table[i].b;
        check(&id, "unrelated.example/x:1", exact_table[i].a, exact_table[i].result);
    }
}

static void
test_identity_exact_repository(void **state)
{
    struct ferry_policy_identity id = {.type = FERRY_POLICY_ID_EXACT_REPOSITORY};

    (void)state;
    for (size_t i = 0; i < NELEM(repo_table); i++) {
        id.repository = (char *)repo_table[i].a;
        check(&id, "unrelated.example/x:1", repo_table[i].b, repo_table[i].result);
        id.repository = (char *)repo_table[i].b;
        check(&id, "unrelated.example/x:1", repo_table[i].a, repo_table[i].result);
    }
}

/* TestPRMRemapIdentityMatchesDockerReference, including its invalid objects */
static void
test_identity_remap(void **state)
{
    static const struct {
        const char *prefix, *signed_prefix, *image, *sig;
        bool result;
    } t[] = {
        {"does-not-match.com", "does-not-match.rewritten", "busybox:latest", "busybox:latest",
         true},
        {"does-not-match.com", "does-not-match.rewritten", "busybox:latest", "notbusybox:latest",
         false},
        {"mirror.example", "public.com", "mirror.example/busybox:1", "public.com/busybox:1", true},
        {"mirror.example", "public.com", "mirror.example/busybox:1", "public.com/busybox:not1",
         false},
        {"mirror.example", "docker.io/library", "mirror.example/busybox:latest", "busybox:latest",
         true},
        {"mirror.example", "docker.io/library", "mirror.example/alpine:latest", "busybox:latest",
         false},
        {"docker.io/library", "original.com", "copied:latest", "original.com/copied:latest", true},
        {"docker.io/library", "original.com", "copied:latest", "original.com/ns/copied:latest",
         false},
        {"busybox", "example.com/busybox", "busybox:latest", "example.com/busybox:latest", false},
        {"docker.io/library/busybox", "busybox", "docker.io/library/busybox:latest",
         "busybox:latest", false},
        {"UPPERCASE", "example.com", "example.com/foo:latest", "example.com/foo:latest", true},
        {"example.com", "UPPERCASE", "example.com/foo:latest", "UPPERCASE/foo:latest", false},
        /* ferry's own: the fixture's vendor mirror */
        {"private-mirror:5000/vendor-mirror", "vendor.example.com",
         "private-mirror:5000/vendor-mirror/app:2", "vendor.example.com/app:2", true},
        {"private-mirror:5000/vendor-mirror", "vendor.example.com",
         "private-mirror:5000/vendor-mirror/app:2", "private-mirror:5000/vendor-mirror/app:2",
         false},
        {"private-mirror:5000/vendor-mirror", "vendor.example.com",
         "private-mirror:5000/vendor-mirrorx/app:2", "private-mirror:5000/vendor-mirrorx/app:2",
         true},
    };
    struct ferry_policy_identity id = {.type = FERRY_POLICY_ID_REMAP_IDENTITY};

    (void)state;
    for (size_t i = 0; i < NELEM(t); i++) {
        id.prefix = (char *)t[i].prefix;
        id.signed_prefix = (char *)t[i].signed_prefix;
        check(&id, t[i].image, t[i].sig, t[i].result);
    }
    /* without a rewrite it is matchRepoDigestOrExact */
    id.prefix = id.signed_prefix = (char *)"never-causes-a-rewrite.example";
    check_symmetric(&id, exact_table, NELEM(exact_table), true, false);
    check_symmetric(&id, repo_table, NELEM(repo_table), false, true);
    for (size_t i = 0; i < NELEM(mrdoe_table); i++)
        check(&id, mrdoe_table[i].a, mrdoe_table[i].b, mrdoe_table[i].result);
    /* with one too: the image's domain is rewritten back (prmRemapIdentityMRDOETestCase) */
    id.prefix = (char *)"ecoker.io"; /* "docker.io" with its first letter changed */
    id.signed_prefix = (char *)"docker.io";
    check(&id, "ecoker.io/library/busybox" DIGEST, "busybox:latest", true);
    check(&id, "ecoker.io/library/busybox:latest", "busybox:latest", true);
    check(&id, "ecoker.io/library/busybox:latest", "busybox:notlatest", false);
    check(&id, "ecoker.io/library/busybox:latest", "ecoker.io/library/busybox:latest", false);
}

/* TestPRMRemapIdentityRemapReferencePrefix: the rewritten reference is what
 * must be signed; an invalid rewrite matches nothing. */
static void
test_identity_remap_prefix(void **state)
{
    static const struct {
        const char *prefix, *signed_prefix, *ref, *expected;
    } t[] = {
        {"mirror.example", "vendor.example", "mirror.example/ns/image:tag",
         "vendor.example/ns/image:tag"},
        {"mirror.example", "vendor.example", "different.com/ns/image:tag",
         "different.com/ns/image:tag"},
        {"mirror.example/ns", "vendor.example/vendor-ns", "mirror.example/different-ns/image:tag",
         "mirror.example/different-ns/image:tag"},
        {"example.com/mirror", "example.com/vendor", "example.com/mirror/image:tag",
         "example.com/vendor/image:tag"},
        {"example.com/ns/mirror", "example.com/ns/vendor", "example.com/ns/mirror:tag",
         "example.com/ns/vendor:tag"},
        {"mirror.example", "vendor.example", "prefixmirror.example/ns/image:tag",
         "prefixmirror.example/ns/image:tag"},
        {"docker.io", "not-docker-signed.example", "busybox:1",
         "not-docker-signed.example/library/busybox:1"},
        {"docker.io/library", "not-docker-signed.example/ns", "busybox:1",
         "not-docker-signed.example/ns/busybox:1"},
        {"docker.io/library/busybox", "not-docker-signed.example/ns/notbusybox", "busybox:1",
         "not-docker-signed.example/ns/notbusybox:1"},
        {"mirror.example", "vendor.example", "mirror.example/image:tag",
         "vendor.example/image:tag"},
        {"mirror.example", "vendor.example", "mirror.example/image" DIGEST,
         "vendor.example/image" DIGEST},
        {"mirror.example", "vendor.example", "mirror.example/image:tag" DIGEST,
         "vendor.example/image:tag" DIGEST},
        {"mirror.example/ns/image", "vendor.example:5000", "mirror.example/ns/image:tag", NULL},
        {"mirror.example/ns/image", "vendor.example:5000", "mirror.example/ns/image" DIGEST, NULL},
        {"mirror.example/ns/image", "notlocalhost", "mirror.example/ns/image:tag", NULL},
    };
    struct ferry_policy_identity id = {.type = FERRY_POLICY_ID_REMAP_IDENTITY};

    (void)state;
    for (size_t i = 0; i < NELEM(t); i++) {
        id.prefix = (char *)t[i].prefix;
        id.signed_prefix = (char *)t[i].signed_prefix;
        if (t[i].expected != NULL) {
            check(&id, t[i].ref, t[i].expected, true);
        } else {
            /* nothing is accepted, not even what the rewrite would give */
            check(&id, t[i].ref, t[i].ref, false);
            check(&id, t[i].ref, "vendor.example:5000:tag", false);
            check(&id, t[i].ref, "notlocalhost:tag", false);
            check(&id, t[i].ref, "docker.io/library/notlocalhost:tag", false);
        }
    }
}

/* ---- requirement kinds ------------------------------------------------------------ */

static const struct ferry_policy_req *
only_req(const struct ferry_policy *p)
{
    const struct ferry_policy_req *reqs;
    size_t n;

    assert_non_null(lookup(p, "example.com/app:1", &reqs, &n));
    assert_int_equal(n, 1);
    return &reqs[0];
}

#define DOCKER_ONE(req)                                                                            \
    "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": {\"example.com\": "      \
    "[" req "]}}}"

static void
test_unsupported_kinds(void **state)
{
    static const struct {
        const char *json, *type_name, *reason;
    } t[] = {
        {DOCKER_ONE("{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": "
                    "\"/does/not/matter\"}"),
         "signedBy", "signedBy"},
        {DOCKER_ONE("{\"type\": \"signedBy\", \"keyType\": \"signedByX509CAs\", \"keyPaths\": "
                    "[\"/a\", \"/b\"], \"signedIdentity\": {\"type\": \"matchExact\"}}"),
         "signedBy", "not supported"},
        {DOCKER_ONE("{\"type\": \"signedBaseLayer\", \"baseLayerIdentity\": {\"type\": "
                    "\"exactRepository\", \"dockerRepository\": \"example.com/base\"}}"),
         "signedBaseLayer", "signedBaseLayer"},
        {DOCKER_ONE("{\"type\": \"sigstoreSigned\", \"pki\": {\"caRootsPath\": \"/r.pem\", "
                    "\"subjectEmail\": \"a@example.com\"}}"),
         "sigstoreSigned", "pki"},
        {DOCKER_ONE("{\"type\": \"someFutureType\", \"anything\": [1, 2]}"), "someFutureType",
         "unknown requirement type"},
    };

    (void)state;
    for (size_t i = 0; i < NELEM(t); i++) {
        struct ferry_policy *p = parse_ok(t[i].json);
        const struct ferry_policy_req *r = only_req(p);
        assert_int_equal(r->type, FERRY_POLICY_UNSUPPORTED);
        assert_string_equal(r->type_name, t[i].type_name);
        assert_non_null(r->reason);
        if (strstr(r->reason, t[i].reason) == NULL)
            fail_msg("reason \"%s\", want \"%s\"", r->reason, t[i].reason);
        assert_int_equal(r->nkeys, 0);
        ferry_policy_free(p);
    }
}

static void
test_key_data(void **state)
{
    /* "-----BEGIN X-----\n" and "second", base64; CR/LF inside are ignored */
    static const char json[] =
        DOCKER_ONE("{\"type\": \"sigstoreSigned\", \"keyDatas\": [\"LS0tLS1CRUdJTiBYLS0tLS0K\", "
                   "\"c2Vj\\r\\nb25k\"], \"rekorPublicKeyData\": \"cmVrb3I=\", \"signedIdentity\": "
                   "{\"type\": \"exactReference\", \"dockerReference\": \"example.com/app:1\"}}");
    struct ferry_policy *p = parse_ok(json);
    const struct ferry_policy_req *r = only_req(p);

    (void)state;
    assert_int_equal(r->type, FERRY_POLICY_SIGSTORE);
    assert_int_equal(r->nkeys, 2);
    assert_string_equal(r->keys[0].data, "-----BEGIN X-----\n");
    assert_int_equal(r->keys[0].len, 18);
    assert_string_equal(r->keys[0].origin, "keyDatas[0]");
    assert_string_equal(r->keys[1].data, "second");
    assert_string_equal(r->keys[1].origin, "keyDatas[1]");
    assert_int_equal(r->nrekor_keys, 1);
    assert_string_equal(r->rekor_keys[0].data, "rekor");
    assert_string_equal(r->rekor_keys[0].origin, "rekorPublicKeyData");
    assert_int_equal(r->identity.type, FERRY_POLICY_ID_EXACT_REFERENCE);
    assert_string_equal(r->identity.reference, "example.com/app:1");
    ferry_policy_free(p);
}

static void
test_fulcio(void **state)
{
    static const char json[] = DOCKER_ONE(
        "{\"type\": \"sigstoreSigned\", \"fulcio\": {\"caPath\": \"fulcio_v1.crt.pem\", "
        "\"oidcIssuer\": \"https://github.com/login/oauth\", \"subjectEmail\": "
        "\"mitr@redhat.com\"}, \"rekorPublicKeyPaths\": [\"rekor.pub\", \"cosign2.pub\"]}");
    static const char json_data[] = DOCKER_ONE(
        "{\"type\": \"sigstoreSigned\", \"fulcio\": {\"caData\": \"Q0E=\", \"oidcIssuer\": "
        "\"https://issuer.example\", \"subjectEmail\": \"a@example.com\"}, "
        "\"rekorPublicKeyPath\": \"rekor.pub\"}");
    char *ca = ferry_asprintf("%s/fulcio_v1.crt.pem", data_dir()), *catext = read_text(ca);
    char *rekor = ferry_asprintf("%s/rekor.pub", data_dir()), *rekortext = read_text(rekor);
    char *origin = ferry_asprintf("caPath %s", ca);
    struct ferry_policy *p = parse_ok(json);
    const struct ferry_policy_req *r = only_req(p);

    (void)state;
    assert_int_equal(r->type, FERRY_POLICY_SIGSTORE);
    assert_int_equal(r->nkeys, 0);
    assert_non_null(r->fulcio_ca);
    assert_string_equal(r->fulcio_ca->data, catext);
    assert_string_equal(r->fulcio_ca->origin, origin);
    assert_string_equal(r->fulcio_issuer, "https://github.com/login/oauth");
    assert_string_equal(r->fulcio_email, "mitr@redhat.com");
    assert_int_equal(r->nrekor_keys, 2);
    assert_string_equal(r->rekor_keys[0].data, rekortext);
    assert_non_null(strstr(r->rekor_keys[1].origin, "rekorPublicKeyPaths[1] "));
    assert_int_equal(r->identity.type, FERRY_POLICY_ID_MATCH_REPO_DIGEST_OR_EXACT);
    ferry_policy_free(p);

    p = parse_ok(json_data);
    r = only_req(p);
    assert_string_equal(r->fulcio_ca->data, "CA");
    assert_string_equal(r->fulcio_ca->origin, "caData");
    assert_int_equal(r->nrekor_keys, 1);
    ferry_policy_free(p);
    ferry_free(origin);
    ferry_free(rekortext);
    ferry_free(rekor);
    ferry_free(catext);
    ferry_free(ca);
}

/* Relative key paths are resolved against the policy file's directory, not
 * the working directory; absolute ones are used as they are. */
static void
test_relative_key_path(void **state)
{
    char *dir = make_tmpdir(), *keys = ferry_asprintf("%s/keys", dir);
    char *key = ferry_asprintf("%s/a.pub", keys), *policy = ferry_asprintf("%s/policy.json", dir);
    char *abs = ferry_asprintf("%s/cosign2.pub", data_dir()), *abstext = read_text(abs);
    char *json = ferry_asprintf(DOCKER_ONE("{\"type\": \"sigstoreSigned\", \"keyPaths\": "
                                           "[\"keys/a.pub\", \"%s\"]}"),
                                abs);
    char *origin = ferry_asprintf("keyPaths[0] %s", key);
    struct ferry_policy *p = NULL;
    struct ferry_error *err = NULL;
    const struct ferry_policy_req *r;

    (void)state;
    assert_int_equal(mkdir(keys, 0700), 0);
    write_text(key, "-----BEGIN PUBLIC KEY-----\nA\n-----END PUBLIC KEY-----\n");
    write_text(policy, json);
    FERRY_ASSERT_OK(ferry_policy_load_file(policy, &p, &err), &err);
    r = only_req(p);
    assert_int_equal(r->nkeys, 2);
    assert_string_equal(r->keys[0].data,
                        "-----BEGIN PUBLIC KEY-----\nA\n-----END PUBLIC KEY-----\n");
    assert_string_equal(r->keys[0].origin, origin);
    assert_string_equal(r->keys[1].data, abstext);
    ferry_policy_free(p);
    p = NULL;

    /* the same text parsed with another base directory does not find it */
    expect_error_in(json, data_dir(), FERRY_E_NOT_FOUND, "keyPaths[0]: open ");

    /* a missing file names the file and the scope */
    assert_int_equal(unlink(key), 0);
    assert_true(ferry_policy_load_file(policy, &p, &err) < 0);
    assert_int_equal(err->code, FERRY_E_NOT_FOUND);
    assert_non_null(strstr(err->msg, "transports.docker[\"example.com\"][0]: keyPaths[0]"));
    assert_non_null(strstr(err->msg, key));
    assert_non_null(strstr(err->msg, policy));
    ferry_error_clear(&err);

    rm_tree(dir);
    ferry_free(origin);
    ferry_free(json);
    ferry_free(abstext);
    ferry_free(abs);
    ferry_free(policy);
    ferry_free(key);
    ferry_free(keys);
    ferry_free(dir);
}

/* A FIFO as a key file is refused without blocking; so is a directory. */
static void
test_key_path_fifo(void **state)
{
    char *dir = make_tmpdir(), *fifo = ferry_asprintf("%s/key.fifo", dir);

    (void)state;
    assert_int_equal(mkfifo(fifo, 0600), 0);
    expect_error_in(DOCKER_ONE("{\"type\": \"sigstoreSigned\", \"keyPath\": \"key.fifo\"}"), dir,
                    FERRY_E_IO, "transports.docker[\"example.com\"][0]: keyPath: ");
    expect_error_in(DOCKER_ONE("{\"type\": \"sigstoreSigned\", \"keyPath\": \"key.fifo\"}"), dir,
                    FERRY_E_IO, "is a fifo, not a regular file");
    expect_error_in(DOCKER_ONE("{\"type\": \"sigstoreSigned\", \"fulcio\": {\"caPath\": \".\", "
                               "\"oidcIssuer\": \"i\", \"subjectEmail\": \"e\"}, "
                               "\"rekorPublicKeyPath\": \"key.fifo\"}"),
                    dir, FERRY_E_IO, "is a directory, not a regular file");
    rm_tree(dir);
    ferry_free(fifo);
    ferry_free(dir);
}

static void
test_key_file_caps(void **state)
{
    char *dir = make_tmpdir(), *big = ferry_asprintf("%s/big.pub", dir);
    char *empty = ferry_asprintf("%s/empty.pub", dir);
    FILE *f = fopen(big, "w");

    (void)state;
    assert_non_null(f);
    for (size_t i = 0; i <= FERRY_POLICY_MAX_KEY_FILE; i += 64)
        fputs("0123456789012345678901234567890123456789012345678901234567890123", f);
    assert_int_equal(fclose(f), 0);
    write_text(empty, "");
    expect_error_in(DOCKER_ONE("{\"type\": \"sigstoreSigned\", \"keyPath\": \"big.pub\"}"), dir,
                    FERRY_E_TOO_LARGE, "keyPath: read ");
    expect_error_in(DOCKER_ONE("{\"type\": \"sigstoreSigned\", \"keyPath\": \"empty.pub\"}"), dir,
                    FERRY_E_INVALID, "empty.pub is empty");
    rm_tree(dir);
    ferry_free(empty);
    ferry_free(big);
    ferry_free(dir);
}

/* ---- errors ---------------------------------------------------------------------- */

#define SIG(fields) DOCKER_ONE("{\"type\": \"sigstoreSigned\", " fields "}")
#define WHERE "t.json: transports.docker[\"example.com\"][0]: "

static void
test_errors_structure(void **state)
{
    (void)state;
    expect_error("{}", FERRY_E_INVALID, "t.json: \"default\" is missing");
    expect_error("[]", FERRY_E_INVALID, "the top level is not an object");
    expect_error("{\"default\": []}", FERRY_E_INVALID,
                 "t.json: default: the list of requirements must not be empty");
    expect_error("{\"default\": {}}", FERRY_E_INVALID, "default: not an array");
    expect_error("{\"default\": [{\"type\": \"reject\"}], \"extra\": 1}", FERRY_E_INVALID,
                 "t.json: unknown key \"extra\"");
    expect_error("{\"default\": [{\"type\": \"reject\"}], \"default\": []}", FERRY_E_INVALID,
                 "duplicate");
    expect_error("{\"default\": [{\"type\": \"reject\"}", FERRY_E_INVALID, "t.json: line 1");
    expect_error("{\"default\": [{\"type\": \"reject\", \"x\": 1}]}", FERRY_E_INVALID,
                 "t.json: default[0]: unknown key \"x\"");
    expect_error("{\"default\": [{\"type\": \"insecureAcceptAnything\", \"keyPath\": \"/k\"}]}",
                 FERRY_E_INVALID, "default[0]: unknown key \"keyPath\"");
    expect_error("{\"default\": [{}]}", FERRY_E_INVALID, "default[0]: \"type\" is missing");
    expect_error("{\"default\": [{\"type\": \"\"}]}", FERRY_E_INVALID,
                 "default[0]: \"type\" is empty");
    expect_error("{\"default\": [{\"type\": 1}]}", FERRY_E_INVALID,
                 "default[0]: \"type\" is not a string");
    expect_error("{\"default\": [\"reject\"]}", FERRY_E_INVALID, "default[0]: not an object");
    expect_error("{\"default\": [{\"type\": \"reject\"}], \"transports\": []}", FERRY_E_INVALID,
                 "\"transports\" is not an object");
    expect_error("{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": []}}",
                 FERRY_E_INVALID, "transports.docker is not an object");
    expect_error(DOCKER_ONE(""), FERRY_E_INVALID,
                 "transports.docker[\"example.com\"]: the list of requirements must not be empty");
    /* other transports are checked though not used */
    expect_error("{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"dir\": {\"\": "
                 "[{\"type\": \"sigstoreSigned\"}]}}}",
                 FERRY_E_INVALID, "t.json: transports.dir[\"\"][0]: one of \"keyPath\"");
    /* control characters reach messages: refused */
    expect_error("{\"default\": [{\"type\": \"bad\\u001btype\"}]}", FERRY_E_INVALID,
                 "holds a control character");
}

static void
test_errors_scopes(void **state)
{
    static const char *const bad[] = {
        "example.com/Upper",  "*.",
        "*.example.com:5000", "*example.com",
        "http://example.com", "example.com/",
        "example.com//x",     "example.com/repo:tag" DIGEST,
        "example.com/repo:",  "example.com/repo@sha256:abc",
        "example.com:port",   "-bad.example.com",
        "example.com:5000:1", "example.com/a b",
    };
    static const char *const good[] = {
        "example.com",
        "example.com:5000",
        "localhost",
        "[::1]:5000/x",
        "*.com",
        "*.example.com",
        "bogus/key-data",
        "example.com/ns/repo:tag",
        "example.com/repo" DIGEST,
        "docker.io/library/x",
        "Example.COM/x",
        "127.0.0.1:5000/a/b/c",
    };
    char json[512];

    (void)state;
    for (size_t i = 0; i < NELEM(bad); i++) {
        snprintf(json, sizeof json,
                 "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": "
                 "{\"%s\": [{\"type\": \"reject\"}]}}}",
                 bad[i]);
        expect_error(json, FERRY_E_INVALID, "not a valid docker scope");
    }
    for (size_t i = 0; i < NELEM(good); i++) {
        snprintf(json, sizeof json,
                 "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": "
                 "{\"%s\": [{\"type\": \"reject\"}]}}}",
                 good[i]);
        ferry_policy_free(parse_ok(json));
    }
    /* scopes of other transports are theirs to check */
    ferry_policy_free(
        parse_ok("{\"default\": [{\"type\": \"reject\"}], \"transports\": "
                 "{\"atomic\": {\"Not A/Docker scope\": [{\"type\": \"reject\"}]}}}"));
}

static void
test_errors_sigstore(void **state)
{
    static const struct {
        const char *json, *want;
    } t[] = {
        {SIG("\"keyPath\": \"cosign.pub\", \"keyData\": \"eA==\""),
         WHERE "\"keyPath\" and \"keyData\" cannot be used together"},
        {SIG("\"keyPaths\": [\"cosign.pub\"], \"keyDatas\": [\"eA==\"]"),
         WHERE "\"keyPaths\" and \"keyDatas\" cannot be used together"},
        {SIG("\"keyPath\": \"cosign.pub\", \"fulcio\": {}"),
         WHERE "\"keyPath\" and \"fulcio\" cannot be used together"},
        {SIG("\"signedIdentity\": {\"type\": \"matchExact\"}"),
         WHERE "one of \"keyPath\", \"keyPaths\", \"keyData\", \"keyDatas\", \"fulcio\" and "
               "\"pki\" must be given"},
        {SIG("\"keyPaths\": []"), WHERE "\"keyPaths\" contains no entries"},
        {SIG("\"keyDatas\": []"), WHERE "\"keyDatas\" contains no entries"},
        {SIG("\"keyPath\": \"\""), WHERE "\"keyPath\" is empty"},
        {SIG("\"keyPath\": 5"), WHERE "\"keyPath\" is not a string"},
        {SIG("\"keyPaths\": \"cosign.pub\""), WHERE "\"keyPaths\" is not an array"},
        {SIG("\"keyPaths\": [\"cosign.pub\", 1]"), WHERE "\"keyPaths[1]\" is not a string"},
        {SIG("\"keyData\": \"not base64!\""), WHERE "\"keyData\" is not valid base64"},
        {SIG("\"keyData\": \"\""), WHERE "\"keyData\" is empty"},
        {SIG("\"keyPath\": \"cosign.pub\", \"keyFile\": \"x\""), WHERE "unknown key \"keyFile\""},
        {SIG("\"keyPath\": \"cosign.pub\", \"rekorPublicKeyPath\": \"rekor.pub\", "
             "\"rekorPublicKeyData\": \"eA==\""),
         WHERE "\"rekorPublicKeyPath\" and \"rekorPublicKeyData\" cannot be used together"},
        {SIG("\"keyPath\": \"cosign.pub\", \"rekorPublicKeyPaths\": []"),
         WHERE "\"rekorPublicKeyPaths\" contains no entries"},
        {SIG("\"fulcio\": {\"caPath\": \"fulcio_v1.crt.pem\", \"oidcIssuer\": \"i\", "
             "\"subjectEmail\": \"e\"}"),
         WHERE "\"fulcio\" needs one of \"rekorPublicKeyPath\""},
        {SIG("\"fulcio\": {\"caPath\": \"fulcio_v1.crt.pem\", \"subjectEmail\": \"e\"}, "
             "\"rekorPublicKeyPath\": \"rekor.pub\""),
         WHERE "fulcio: \"oidcIssuer\" is missing"},
        {SIG("\"fulcio\": {\"caPath\": \"fulcio_v1.crt.pem\", \"oidcIssuer\": \"i\"}, "
             "\"rekorPublicKeyPath\": \"rekor.pub\""),
         WHERE "fulcio: \"subjectEmail\" is missing"},
        {SIG("\"fulcio\": {\"caPath\": \"fulcio_v1.crt.pem\", \"oidcIssuer\": \"\", "
             "\"subjectEmail\": \"e\"}, \"rekorPublicKeyPath\": \"rekor.pub\""),
         WHERE "fulcio: \"oidcIssuer\" is empty"},
        {SIG("\"fulcio\": {\"caPath\": \"fulcio_v1.crt.pem\", \"caData\": \"eA==\", "
             "\"oidcIssuer\": \"i\", \"subjectEmail\": \"e\"}, \"rekorPublicKeyPath\": "
             "\"rekor.pub\""),
         WHERE "fulcio: \"caPath\" and \"caData\" cannot be used together"},
        {SIG("\"fulcio\": {\"oidcIssuer\": \"i\", \"subjectEmail\": \"e\"}, "
             "\"rekorPublicKeyPath\": \"rekor.pub\""),
         WHERE "fulcio: one of \"caPath\" and \"caData\" must be given"},
        {SIG("\"fulcio\": {\"caPath\": \"fulcio_v1.crt.pem\", \"oidcIssuer\": \"i\", "
             "\"subjectEmail\": \"e\", \"subjectHostname\": \"h\"}, \"rekorPublicKeyPath\": "
             "\"rekor.pub\""),
         WHERE "fulcio: unknown key \"subjectHostname\""},
        {SIG("\"fulcio\": \"x\", \"rekorPublicKeyPath\": \"rekor.pub\""),
         WHERE "fulcio: not an object"},
        {SIG("\"pki\": {\"subjectEmail\": \"e\"}"),
         WHERE "pki: one of \"caRootsPath\" and \"caRootsData\" must be given"},
        {SIG("\"pki\": {\"caRootsPath\": \"r\"}"),
         WHERE "pki: one of \"subjectEmail\" and \"subjectHostname\" must be given"},
        {SIG("\"pki\": {\"caRootsPath\": \"r\", \"caIntermediatesPath\": \"i\", "
             "\"caIntermediatesData\": \"eA==\", \"subjectEmail\": \"e\"}"),
         WHERE "pki: \"caIntermediatesPath\" and \"caIntermediatesData\" cannot be used together"},
    };

    (void)state;
    for (size_t i = 0; i < NELEM(t); i++)
        expect_error(t[i].json, FERRY_E_INVALID, t[i].want);
}

static void
test_errors_signed_by_and_identity(void **state)
{
    static const struct {
        const char *json, *want;
    } t[] = {
        {DOCKER_ONE("{\"type\": \"signedBy\", \"keyPath\": \"/k\"}"),
         WHERE "\"keyType\" is missing"},
        {DOCKER_ONE("{\"type\": \"signedBy\", \"keyType\": \"PGP\", \"keyPath\": \"/k\"}"),
         WHERE "unknown \"keyType\" \"PGP\""},
        {DOCKER_ONE("{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\"}"),
         WHERE "one of \"keyPath\", \"keyPaths\" and \"keyData\" must be given"},
        {DOCKER_ONE("{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyPath\": \"/k\", "
                    "\"keyData\": \"eA==\"}"),
         WHERE "\"keyPath\" and \"keyData\" cannot be used together"},
        {DOCKER_ONE("{\"type\": \"signedBy\", \"keyType\": \"GPGKeys\", \"keyDatas\": "
                    "[\"eA==\"]}"),
         WHERE "unknown key \"keyDatas\""},
        {DOCKER_ONE("{\"type\": \"signedBaseLayer\"}"), WHERE "\"baseLayerIdentity\" is missing"},
        {SIG("\"keyData\": \"eA==\", \"signedIdentity\": {\"type\": \"matchSomething\"}"),
         WHERE "signedIdentity: unknown type \"matchSomething\""},
        {SIG("\"keyData\": \"eA==\", \"signedIdentity\": null"), WHERE "signedIdentity: not an "
                                                                       "object"},
        {SIG("\"keyData\": \"eA==\", \"signedIdentity\": {}"),
         WHERE "signedIdentity: \"type\" is missing"},
        {SIG("\"keyData\": \"eA==\", \"signedIdentity\": {\"type\": \"matchExact\", "
             "\"dockerReference\": \"x:1\"}"),
         WHERE "signedIdentity: unknown key \"dockerReference\""},
        {SIG("\"keyData\": \"eA==\", \"signedIdentity\": {\"type\": \"exactReference\"}"),
         WHERE "signedIdentity: \"dockerReference\" is missing"},
        {SIG("\"keyData\": \"eA==\", \"signedIdentity\": {\"type\": \"exactReference\", "
             "\"dockerReference\": \"example.com/app\"}"),
         WHERE "signedIdentity: \"dockerReference\" \"example.com/app\" contains neither a tag "
               "nor a digest"},
        {SIG("\"keyData\": \"eA==\", \"signedIdentity\": {\"type\": \"exactReference\", "
             "\"dockerReference\": \"Example.com/UPPER:1\"}"),
         WHERE "signedIdentity: \"dockerReference\": invalid reference"},
        {SIG("\"keyData\": \"eA==\", \"signedIdentity\": {\"type\": \"exactRepository\", "
             "\"dockerRepository\": \"UPPER\"}"),
         WHERE "signedIdentity: \"dockerRepository\": invalid reference"},
        {SIG("\"keyData\": \"eA==\", \"signedIdentity\": {\"type\": \"remapIdentity\", "
             "\"prefix\": \"example.com/Foo\", \"signedPrefix\": \"example.com\"}"),
         WHERE "signedIdentity: \"prefix\" \"example.com/Foo\" is not valid"},
        {SIG("\"keyData\": \"eA==\", \"signedIdentity\": {\"type\": \"remapIdentity\", "
             "\"prefix\": \"example.com\", \"signedPrefix\": \"http://x\"}"),
         WHERE "signedIdentity: \"signedPrefix\" \"http://x\" is not valid"},
        {SIG("\"keyData\": \"eA==\", \"signedIdentity\": {\"type\": \"remapIdentity\", "
             "\"prefix\": \"example.com\"}"),
         WHERE "signedIdentity: \"signedPrefix\" is missing"},
    };

    (void)state;
    for (size_t i = 0; i < NELEM(t); i++)
        expect_error(t[i].json, FERRY_E_INVALID, t[i].want);
}

/* ---- hostile input ---------------------------------------------------------------- */

static void
test_caps(void **state)
{
    struct ferry_buf b;
    struct ferry_error *err = NULL;
    size_t len;
    char *text;

    (void)state;
    /* nesting: refused before jansson recurses */
    ferry_buf_init(&b, 1u << 20);
    FERRY_ASSERT_OK(ferry_buf_append(&b, "{\"default\": ", 12, &err), &err);
    for (int i = 0; i < 100000; i++)
        FERRY_ASSERT_OK(ferry_buf_append(&b, "[", 1, &err), &err);
    text = ferry_buf_take(&b, &len);
    expect_error(text, FERRY_E_TOO_LARGE, "nested deeper than 16 levels");
    ferry_free(text);

    /* too many requirements in one list */
    ferry_buf_init(&b, 1u << 20);
    FERRY_ASSERT_OK(ferry_buf_append(&b, "{\"default\": [", 13, &err), &err);
    for (int i = 0; i <= FERRY_POLICY_MAX_REQS; i++)
        FERRY_ASSERT_OK(ferry_buf_appendf(&b, &err, "%s{\"type\": \"reject\"}", i ? "," : ""),
                        &err);
    FERRY_ASSERT_OK(ferry_buf_append(&b, "]}", 2, &err), &err);
    text = ferry_buf_take(&b, &len);
    expect_error(text, FERRY_E_TOO_LARGE, "default: more than 64 requirements");
    ferry_free(text);

    /* too many scopes */
    ferry_buf_init(&b, FERRY_POLICY_MAX_FILE);
    FERRY_ASSERT_OK(ferry_buf_appendf(&b, &err, "%s",
                                      "{\"default\": [{\"type\": \"reject\"}], \"transports\": "
                                      "{\"docker\": {"),
                    &err);
    for (int i = 0; i <= FERRY_POLICY_MAX_SCOPES; i++)
        FERRY_ASSERT_OK(ferry_buf_appendf(&b, &err, "%s\"h%d.example\": [{\"type\": \"reject\"}]",
                                          i ? "," : "", i),
                        &err);
    FERRY_ASSERT_OK(ferry_buf_append(&b, "}}}", 3, &err), &err);
    text = ferry_buf_take(&b, &len);
    expect_error(text, FERRY_E_TOO_LARGE, "more than 10000 scopes");
    ferry_free(text);

    /* a long string */
    text = ferry_malloc(FERRY_POLICY_MAX_STRING + 64);
    assert_non_null(text);
    memset(text, 'a', FERRY_POLICY_MAX_STRING + 63);
    memcpy(text, "{\"default\": [{\"type\": \"", 23);
    memcpy(text + FERRY_POLICY_MAX_STRING + 40, "\"}]}", 5);
    expect_error(text, FERRY_E_TOO_LARGE, "\"type\" is longer than 4096 bytes");
    ferry_free(text);

    /* the file itself */
    {
        struct ferry_policy *p = NULL;
        static const char small[] = "{\"default\": [{\"type\": \"reject\"}]}";
        assert_int_equal(
            ferry_policy_parse(small, FERRY_POLICY_MAX_FILE + 1u, NULL, "t.json", &p, &err),
            -FERRY_E_TOO_LARGE);
        assert_null(p);
        ferry_error_clear(&err);
    }
}

/* A regular file only, for the policy too. */
static void
test_load_file_refuses_fifo(void **state)
{
    char *dir = make_tmpdir(), *fifo = ferry_asprintf("%s/policy.json", dir);
    struct ferry_policy *p = NULL;
    struct ferry_error *err = NULL;

    (void)state;
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(ferry_policy_load_file(fifo, &p, &err), -FERRY_E_IO);
    assert_null(p);
    assert_non_null(strstr(err->msg, "is a fifo"));
    ferry_error_free(err);
    rm_tree(dir);
    ferry_free(fifo);
    ferry_free(dir);
}

/* Out of memory anywhere: an error, no leak (ASan checks the rest). */
static void
test_nomem(void **state)
{
    char *path = ferry_asprintf("%s/policy.json", data_dir());
    char *orig = read_text(path), *text = replace(orig, "\"/keys/public-key\"", "\"cosign.pub\"");
    bool ok = false;

    (void)state;
    for (unsigned long n = 1; n < 100000 && !ok; n++) {
        struct ferry_policy *p = NULL;
        struct ferry_error *err = NULL;
        int r;
        ferry_alloc_fail_after(n);
        r = ferry_policy_parse(text, strlen(text), data_dir(), "t.json", &p, &err);
        ferry_alloc_fail_after(0);
        if (r == 0) {
            ok = true;
            expect_scope(p, "example.com/playground/x:1", "example.com/playground");
            ferry_policy_free(p);
        } else {
            assert_null(p);
            if (err != NULL && err->code != FERRY_E_NOMEM)
                fail_msg("allocation %lu: %s", n, err->msg);
            ferry_error_free(err);
        }
    }
    assert_true(ok);
    ferry_free(text);
    ferry_free(orig);
    ferry_free(path);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fixture_verbatim),
    cmocka_unit_test(test_fixture),
    cmocka_unit_test(test_sample_dhi),
    cmocka_unit_test(test_precedence),
    cmocka_unit_test(test_lookup_bad_reference),
    cmocka_unit_test(test_identity_match_exact),
    cmocka_unit_test(test_identity_match_repository),
    cmocka_unit_test(test_identity_match_repo_digest_or_exact),
    cmocka_unit_test(test_identity_exact_reference),
    cmocka_unit_test(test_identity_exact_repository),
    cmocka_unit_test(test_identity_remap),
    cmocka_unit_test(test_identity_remap_prefix),
    cmocka_unit_test(test_unsupported_kinds),
    cmocka_unit_test(test_key_data),
    cmocka_unit_test(test_fulcio),
    cmocka_unit_test(test_relative_key_path),
    cmocka_unit_test(test_key_path_fifo),
    cmocka_unit_test(test_key_file_caps),
    cmocka_unit_test(test_errors_structure),
    cmocka_unit_test(test_errors_scopes),
    cmocka_unit_test(test_errors_sigstore),
    cmocka_unit_test(test_errors_signed_by_and_identity),
    cmocka_unit_test(test_caps),
    cmocka_unit_test(test_load_file_refuses_fifo),
    cmocka_unit_test(test_nomem),
};

FERRY_UNIT_MAIN(tests)
