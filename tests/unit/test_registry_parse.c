/* Registry client parsers: WWW-Authenticate, Link, URL resolution, error
 * bodies, scopes, and credential lookup in auth files and helpers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "ferry/registry.h"
#include "ferry/util.h"
#include "registry_int.h"

/* ---- WWW-Authenticate ------------------------------------------------------- */

static void
parse_ok(const char *v, struct ferry_auth_challenge *c)
{
    struct ferry_error *err = NULL;

    memset(c, 0, sizeof *c);
    FERRY_ASSERT_OK(ferry_auth_challenge_parse(v, c, &err), &err);
    assert_null(err);
}

static void
parse_fails(const char *v)
{
    struct ferry_auth_challenge c = {0};
    struct ferry_error *err = NULL;
    int rc = ferry_auth_challenge_parse(v, &c, &err);

    if (rc >= 0)
        fail_msg("parsed garbage: \"%s\"", v);
    assert_int_equal(rc, -FERRY_E_INVALID);
    assert_non_null(err);
    assert_null(strchr(err->msg, '\n'));
    assert_null(c.scheme);
    ferry_error_free(err);
}

static void
challenge_docker_hub(void **state)
{
    struct ferry_auth_challenge c;

    (void)state;
    parse_ok("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
             "scope=\"repository:samalba/my-app:pull,push\"",
             &c);
    assert_string_equal(c.scheme, "bearer");
    assert_string_equal(c.realm, "https://auth.docker.io/token");
    assert_string_equal(c.service, "registry.docker.io");
    assert_string_equal(c.scope, "repository:samalba/my-app:pull,push");
    assert_null(c.error);
    ferry_auth_challenge_clear(&c);
    ferry_auth_challenge_clear(&c); /* twice is fine */
}

static void
challenge_quoted_escapes(void **state)
{
    struct ferry_auth_challenge c;

    (void)state;
    parse_ok("Bearer realm=\"a\\\"b\\\\c, d\",service=plain-token,error=\"invalid_token\"", &c);
    assert_string_equal(c.realm, "a\"b\\c, d");
    assert_string_equal(c.service, "plain-token");
    assert_string_equal(c.error, "invalid_token");
    ferry_auth_challenge_clear(&c);
}

static void
challenge_multi_scope(void **state)
{
    struct ferry_auth_challenge c;

    (void)state;
    parse_ok("Bearer realm=\"http://127.0.0.1:1/token\",service=\"svc\","
             "scope=\"repository:dst:pull,push repository:src:pull\"",
             &c);
    assert_string_equal(c.scope, "repository:dst:pull,push repository:src:pull");
    ferry_auth_challenge_clear(&c);
    /* a resource name may hold host:port */
    parse_ok("Bearer realm=\"r\",scope=\"repository:localhost:5000/a/b:pull\"", &c);
    assert_string_equal(c.scope, "repository:localhost:5000/a/b:pull");
    ferry_auth_challenge_clear(&c);
}

static void
challenge_case_and_spaces(void **state)
{
    struct ferry_auth_challenge c;

    (void)state;
    parse_ok("  BEARER   Realm = \"r\" ,  SERVICE=\"s\" ,error=insufficient_scope  ", &c);
    assert_string_equal(c.scheme, "bearer");
    assert_string_equal(c.realm, "r");
    assert_string_equal(c.service, "s");
    assert_string_equal(c.error, "insufficient_scope");
    ferry_auth_challenge_clear(&c);
    /* first occurrence of a parameter wins; unknown ones are ignored */
    parse_ok("Bearer realm=\"one\", realm=\"two\", charset=\"UTF-8\"", &c);
    assert_string_equal(c.realm, "one");
    ferry_auth_challenge_clear(&c);
}

static void
challenge_several(void **state)
{
    struct ferry_auth_challenge c;

    (void)state;
    parse_ok("Basic realm=\"basic-realm\", Bearer realm=\"https://t/token\",service=\"s\"", &c);
    assert_string_equal(c.scheme, "bearer");
    assert_string_equal(c.realm, "https://t/token");
    assert_string_equal(c.service, "s");
    ferry_auth_challenge_clear(&c);

    parse_ok("Basic realm=\"research-realm\"", &c);
    assert_string_equal(c.scheme, "basic");
    assert_string_equal(c.realm, "research-realm");
    assert_null(c.service);
    ferry_auth_challenge_clear(&c);

    /* no Bearer: the first one, token68 skipped */
    parse_ok("Negotiate YIIabc+/==, Basic realm=\"x\"", &c);
    assert_string_equal(c.scheme, "negotiate");
    assert_null(c.realm);
    ferry_auth_challenge_clear(&c);

    parse_ok("Digest realm=\"d\", nonce=\"n\", Basic realm=\"b\", Bearer realm=\"t\"", &c);
    assert_string_equal(c.scheme, "bearer");
    assert_string_equal(c.realm, "t");
    ferry_auth_challenge_clear(&c);

    /* scheme without parameters, then a real one */
    parse_ok("Basic, Bearer realm=\"t\"", &c);
    assert_string_equal(c.scheme, "bearer");
    ferry_auth_challenge_clear(&c);
}

static void
challenge_garbage(void **state)
{
    struct ferry_auth_challenge c = {0};
    struct ferry_error *err = NULL;

    (void)state;
    parse_fails("");
    parse_fails("   ,  ");
    parse_fails("=realm");
    parse_fails("Bearer realm=\"unterminated");
    parse_fails("Bearer realm=\"trailing backslash\\");
    parse_fails("Bearer realm=\"a\" service=\"missing comma\"");
    parse_fails("Bearer realm=\"a\"junk");
    parse_fails("Bearer realm=\"ctl\x01\"");
    parse_fails("Bearer realm=\"a\", ;");
    parse_fails("\"quoted\" scheme");
    parse_fails("Bear(er realm=x");
    assert_int_equal(ferry_auth_challenge_parse(NULL, &c, &err), -FERRY_E_INVALID);
    ferry_error_free(err);
}

/* ---- Link --------------------------------------------------------------------- */

static char *
next_of(const char *v)
{
    struct ferry_error *err = NULL;
    char *u = (char *)"unset";

    FERRY_ASSERT_OK(ferry_link_next_parse(v, &u, &err), &err);
    return u;
}

static void
link_next(void **state)
{
    char *u;

    (void)state;
    u = next_of("</v2/x/tags/list?last=b&n=2>; rel=\"next\"");
    assert_string_equal(u, "/v2/x/tags/list?last=b&n=2");
    ferry_free(u);
    u = next_of("<https://r.example/v2/x/tags/list?last=b>;rel=\"next\"");
    assert_string_equal(u, "https://r.example/v2/x/tags/list?last=b");
    ferry_free(u);
    /* rel without quotes, odd spacing and case */
    u = next_of("  </p2> ;  REL = Next  ");
    assert_string_equal(u, "/p2");
    ferry_free(u);
}

static void
link_several(void **state)
{
    char *u;

    (void)state;
    u = next_of("</first>; rel=\"first\", </prev>; rel=\"prev\"; title=\"a, b; c\", "
                "</next>; type=\"application/json\"; rel=\"next\", </other>; rel=\"next\"");
    assert_string_equal(u, "/next");
    ferry_free(u);
    /* a rel list holding next */
    u = next_of("</a>; rel=\"prev\", </b>; rel=\"last next\"");
    assert_string_equal(u, "/b");
    ferry_free(u);
    /* only the first rel parameter counts */
    u = next_of("</a>; rel=\"prev\"; rel=\"next\"");
    assert_null(u);
    /* commas inside the target */
    u = next_of("</v2/x/tags/list?last=a,b>; rel=next");
    assert_string_equal(u, "/v2/x/tags/list?last=a,b");
    ferry_free(u);
}

static void
link_none_and_garbage(void **state)
{
    struct ferry_error *err = NULL;
    char *u = NULL;
    static const char *const bad[] = {
        "/v2/x; rel=next",         "<unterminated; rel=next", "<a>; ;",
        "<a>; rel=\"next\" junk",  "<a b>; rel=next",         "<>; rel=next",
        "<a>; rel=\"unterminated",
    };

    (void)state;
    assert_null(next_of(""));
    assert_null(next_of("</prev>; rel=\"prev\""));
    assert_null(next_of("</nofollow>"));
    assert_int_equal(ferry_link_next_parse(NULL, &u, &err), 0);
    assert_null(u);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        u = NULL;
        if (ferry_link_next_parse(bad[i], &u, &err) != -FERRY_E_INVALID)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_null(u);
        assert_non_null(err);
        ferry_error_clear(&err);
    }
}

/* ---- upload sessions -------------------------------------------------------------- */

/* The Range of an upload session's answer: "0-<last byte>". */
static void
upload_range(void **state)
{
    struct ferry_error *err = NULL;
    int64_t end = -1;
    static const struct {
        const char *v;
        int64_t end;
    } good[] = {
        {"0-0", 0},
        {"0-1048575", 1048575},
        {"bytes=0-99", 99},
        {" 0-7 ", 7},
        {"0-9223372036854775806", INT64_MAX - 1},
    };
    static const char *const bad[] = {
        "",
        "0",
        "0-",
        "1-5",
        "0-x",
        "0-5-6",
        "-5",
        "0--5",
        "0-99999999999999999999",
        "0-9223372036854775807",
        "bytes 0-5",
    };

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        FERRY_ASSERT_OK(reg_upload_range_parse(good[i].v, &end, &err), &err);
        assert_int_equal(end, good[i].end);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        end = -1;
        if (reg_upload_range_parse(bad[i], &end, &err) != -FERRY_E_INVALID)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(end, -1);
        assert_non_null(err);
        ferry_error_clear(&err);
    }
    assert_int_equal(reg_upload_range_parse(NULL, &end, &err), -FERRY_E_INVALID);
    ferry_error_clear(&err);
    /* what the registry sent is quoted in the message */
    assert_int_equal(reg_upload_range_parse("0-1\x1b[2J", &end, &err), -FERRY_E_INVALID);
    assert_non_null(strstr(err->msg, "\\x1b"));
    ferry_error_clear(&err);
}

/* What messages show of a URL: no query (an upload session's state token). */
static void
url_loggable(void **state)
{
    static const char *const urls[] = {
        "http://r:5000/v2/a/blobs/uploads/u?_state=SECRET",
        "http://r:5000/v2/a/blobs/uploads/u#frag?_state=SECRET",
        "http://r:5000/v2/a/blobs/uploads/u",
    };

    (void)state;
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        int n = reg_url_loggable_len(urls[i]);
        char shown[128];
        snprintf(shown, sizeof shown, "%.*s", n, urls[i]);
        assert_string_equal(shown, "http://r:5000/v2/a/blobs/uploads/u");
    }
}

/* ---- URL resolution ---------------------------------------------------------------- */

static void
resolves(const char *base, const char *ref, const char *want)
{
    char *got = ferry_url_resolve(base, ref);

    if (got == NULL || strcmp(got, want) != 0)
        fail_msg("resolve(%s, %s) = %s, want %s", base, ref, got ? got : "NULL", want);
    ferry_free(got);
}

static void
url_resolve_rfc3986(void **state)
{
    static const char *const t[][2] = {
        /* RFC 3986 5.4.1 normal examples */
        {"g:h", "g:h"},
        {"g", "http://a/b/c/g"},
        {"./g", "http://a/b/c/g"},
        {"g/", "http://a/b/c/g/"},
        {"/g", "http://a/g"},
        {"//g", "http://g"},
        {"?y", "http://a/b/c/d;p?y"},
        {"g?y", "http://a/b/c/g?y"},
        {"#s", "http://a/b/c/d;p?q#s"},
        {"g#s", "http://a/b/c/g#s"},
        {"g?y#s", "http://a/b/c/g?y#s"},
        {";x", "http://a/b/c/;x"},
        {"g;x", "http://a/b/c/g;x"},
        {"g;x?y#s", "http://a/b/c/g;x?y#s"},
        {"", "http://a/b/c/d;p?q"},
        {".", "http://a/b/c/"},
        {"./", "http://a/b/c/"},
        {"..", "http://a/b/"},
        {"../", "http://a/b/"},
        {"../g", "http://a/b/g"},
        {"../..", "http://a/"},
        {"../../", "http://a/"},
        {"../../g", "http://a/g"},
        /* 5.4.2 abnormal examples */
        {"../../../g", "http://a/g"},
        {"../../../../g", "http://a/g"},
        {"/./g", "http://a/g"},
        {"/../g", "http://a/g"},
        {"g.", "http://a/b/c/g."},
        {".g", "http://a/b/c/.g"},
        {"g..", "http://a/b/c/g.."},
        {"..g", "http://a/b/c/..g"},
        {"./../g", "http://a/b/g"},
        {"./g/.", "http://a/b/c/g/"},
        {"g/./h", "http://a/b/c/g/h"},
        {"g/../h", "http://a/b/c/h"},
        {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
        {"g;x=1/../y", "http://a/b/c/y"},
        {"g?y/./x", "http://a/b/c/g?y/./x"},
        {"g#s/../x", "http://a/b/c/g#s/../x"},
        {"http:g", "http:g"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        resolves("http://a/b/c/d;p?q", t[i][0], t[i][1]);
}

static void
url_resolve_registry(void **state)
{
    (void)state;
    /* distribution v3 tag pagination: a relative Link */
    resolves("http://127.0.0.1:5000/v2/x/tags/list?n=2", "/v2/x/tags/list?last=b&n=2",
             "http://127.0.0.1:5000/v2/x/tags/list?last=b&n=2");
    /* upload Location with query kept exactly */
    resolves("https://r.example/v2/a/blobs/uploads/", "/v2/a/blobs/uploads/u1?_state=AbC%3D",
             "https://r.example/v2/a/blobs/uploads/u1?_state=AbC%3D");
    resolves("https://r.example/v2/a/blobs/uploads/", "u2",
             "https://r.example/v2/a/blobs/uploads/u2");
    resolves("https://r.example", "v2/", "https://r.example/v2/");
    resolves("https://r.example/v2/", "https://s3.example/bucket/obj?sig=x",
             "https://s3.example/bucket/obj?sig=x");
    assert_null(ferry_url_resolve("relative/base", "x"));
    assert_null(ferry_url_resolve(NULL, "x"));
    assert_null(ferry_url_resolve("http://a/", NULL));
}

static void
url_origin(void **state)
{
    char *o;

    (void)state;
    o = reg_url_origin("HTTPS://Reg.Example:443/v2/x?y");
    assert_string_equal(o, "https://reg.example");
    ferry_free(o);
    o = reg_url_origin("http://127.0.0.1:5000/v2/");
    assert_string_equal(o, "http://127.0.0.1:5000");
    ferry_free(o);
    o = reg_url_origin("http://h:80");
    assert_string_equal(o, "http://h");
    ferry_free(o);
    assert_null(reg_url_origin("/v2/x"));
    assert_null(reg_url_origin("mailto:x"));
}

/* ---- scopes and error bodies ------------------------------------------------------------ */

static void
scope_sets(void **state)
{
    char *s;

    (void)state;
    s = reg_scope_normalize("repository:b:pull  repository:a:pull,push", "repository:b:pull");
    assert_string_equal(s, "repository:a:pull,push repository:b:pull");
    assert_true(reg_scope_covers(s, "repository:b:pull"));
    assert_true(reg_scope_covers(s, ""));
    assert_false(reg_scope_covers(s, "repository:a:pull"));
    assert_false(reg_scope_covers(s, "repository:b:pull repository:c:pull"));
    ferry_free(s);
    s = reg_scope_normalize(NULL, NULL);
    assert_string_equal(s, "");
    ferry_free(s);
}

static void
error_bodies(void **state)
{
    char *s, *code = NULL;
    const char *j = "{\"errors\":[{\"code\":\"MANIFEST_BLOB_UNKNOWN\",\"message\":\"blob unknown "
                    "to registry\",\"detail\":\"sha256:5b7d\"},{\"code\":\"DENIED\"}]}";

    (void)state;
    s = reg_error_summary(j, strlen(j), &code);
    assert_string_equal(s, "MANIFEST_BLOB_UNKNOWN: blob unknown to registry (sha256:5b7d); DENIED");
    assert_string_equal(code, "MANIFEST_BLOB_UNKNOWN");
    ferry_free(s);
    ferry_free(code);
    j = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\","
        "\"detail\":[{\"Type\":\"repository\",\"Name\":\"lib/app\",\"Action\":\"pull\"}]}]}";
    s = reg_error_summary(j, strlen(j), NULL);
    assert_non_null(strstr(s, "UNAUTHORIZED: authentication required ([{"));
    ferry_free(s);
    s = reg_error_summary("404 page not found\n", 19, &code);
    assert_string_equal(s, "404 page not found");
    assert_null(code);
    ferry_free(s);
    {
        const char *h = "<html>\r\n\t<b>\x01"
                        "bad</b>\n</html>";
        s = reg_error_summary(h, strlen(h), NULL);
    }
    assert_string_equal(s, "<html> <b>?bad</b> </html>");
    ferry_free(s);
    s = reg_error_summary(NULL, 0, NULL);
    assert_string_equal(s, "");
    ferry_free(s);
    {
        char big[5000];
        memset(big, 'x', sizeof big);
        s = reg_error_summary(big, sizeof big, NULL);
        assert_true(strlen(s) <= REG_ERROR_SUMMARY_MAX);
        assert_string_equal(s + strlen(s) - 3, "...");
        ferry_free(s);
    }
}

/* ---- credentials ------------------------------------------------------------------------- */

struct tmp {
    char dir[256];
};

static void
tmp_make(struct tmp *t)
{
    snprintf(t->dir, sizeof t->dir, "%s/ferry-regparse-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(t->dir));
}

static void
tmp_write(const struct tmp *t, const char *name, const char *text, mode_t mode)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", t->dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static void
tmp_remove(const struct tmp *t)
{
    char cmd[600];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
    assert_int_equal(system(cmd), 0);
}

static void
creds_of(const char *host, const char *json, struct reg_creds *c)
{
    struct ferry_error *err = NULL;

    FERRY_ASSERT_OK(reg_creds_from_config(host, json, strlen(json), "test.json", c, &err), &err);
}

/* base64("ferry:s3cret:with:colons") */
#define AUTH_FERRY "ZmVycnk6czNjcmV0OndpdGg6Y29sb25z"

static void
config_auths(void **state)
{
    struct reg_creds c;
    struct ferry_error *err = NULL;
    const char *cfg = "{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"" AUTH_FERRY "\"},"
                      "\"https://index.docker.io/v1/\":{\"auth\":\"aHViOmh1YnB3\"},"
                      "\"https://legacy.example/v1/\":{\"auth\":\"bGVnOmxwdw==\"},"
                      "\"ns.example/team\":{\"auth\":\"bnM6bnM=\"},"
                      "\"idt.example\":{\"auth\":\"\",\"identitytoken\":\"refresh-abc\"},"
                      "\"rt.example\":{\"registrytoken\":\"bearer-xyz\"},"
                      "\"up.example\":{\"username\":\"u\",\"password\":\"p\"},"
                      "\"empty.example\":{}}}";

    (void)state;
    creds_of("127.0.0.1:5000", cfg, &c);
    assert_int_equal(c.kind, REG_CRED_BASIC);
    assert_string_equal(c.username, "ferry");
    assert_string_equal(c.secret, "s3cret:with:colons");
    assert_string_equal(c.source, "test.json");
    reg_creds_clear(&c);
    /* Docker Hub hosts use the index key */
    creds_of("registry-1.docker.io", cfg, &c);
    assert_int_equal(c.kind, REG_CRED_BASIC);
    assert_string_equal(c.username, "hub");
    assert_string_equal(c.secret, "hubpw");
    reg_creds_clear(&c);
    creds_of("docker.io", cfg, &c);
    assert_string_equal(c.username, "hub");
    reg_creds_clear(&c);
    /* legacy key with scheme and path */
    creds_of("legacy.example", cfg, &c);
    assert_string_equal(c.username, "leg");
    assert_string_equal(c.secret, "lpw");
    reg_creds_clear(&c);
    /* a namespaced key is not widened to the host */
    creds_of("ns.example", cfg, &c);
    assert_int_equal(c.kind, REG_CRED_NONE);
    creds_of("idt.example", cfg, &c);
    assert_int_equal(c.kind, REG_CRED_IDENTITY);
    assert_string_equal(c.secret, "refresh-abc");
    reg_creds_clear(&c);
    creds_of("rt.example", cfg, &c);
    assert_int_equal(c.kind, REG_CRED_REGISTRY_TOKEN);
    assert_string_equal(c.secret, "bearer-xyz");
    reg_creds_clear(&c);
    creds_of("up.example", cfg, &c);
    assert_int_equal(c.kind, REG_CRED_BASIC);
    assert_string_equal(c.secret, "p");
    reg_creds_clear(&c);
    creds_of("empty.example", cfg, &c);
    assert_int_equal(c.kind, REG_CRED_NONE);
    creds_of("other.example", cfg, &c);
    assert_int_equal(c.kind, REG_CRED_NONE);
    creds_of("x", "{}", &c);
    assert_int_equal(c.kind, REG_CRED_NONE);

    /* broken entries and files fail and name the file */
    assert_int_equal(reg_creds_from_config("h", "{\"auths\":{\"h\":{\"auth\":\"!!!\"}}}", 30,
                                           "bad.json", &c, &err),
                     -FERRY_E_INVALID);
    assert_non_null(strstr(err->msg, "bad.json"));
    ferry_error_clear(&err);
    assert_int_equal(reg_creds_from_config("h", "{\"auths\":{\"h\":{\"auth\":\"OnB3\"}}}", 30,
                                           "bad.json", &c, &err),
                     -FERRY_E_INVALID); /* ":pw": empty username */
    assert_null(strstr(err->msg, "pw"));
    ferry_error_clear(&err);
    assert_int_equal(reg_creds_from_config("h", "{\"auths\": [", 11, "trunc.json", &c, &err),
                     -FERRY_E_INVALID);
    assert_non_null(strstr(err->msg, "trunc.json"));
    ferry_error_clear(&err);
}

static void
config_file_order(void **state)
{
    struct tmp t;
    struct reg_creds c = {0};
    struct ferry_error *err = NULL;
    char path[512], dcfg[512];

    (void)state;
    tmp_make(&t);
    tmp_write(&t, "auth.json", "{\"auths\":{\"h.example\":{\"auth\":\"YTpmcm9tLWF1dGg=\"}}}", 0600);
    snprintf(dcfg, sizeof dcfg, "%s/docker", t.dir);
    assert_int_equal(mkdir(dcfg, 0700), 0);
    tmp_write(&t, "docker/config.json",
              "{\"auths\":{\"h.example\":{\"auth\":\"YTpmcm9tLWRvY2tlcg==\"},"
              "\"only-docker.example\":{\"auth\":\"YjpvZA==\"}}}",
              0600);
    snprintf(path, sizeof path, "%s/auth.json", t.dir);
    setenv("DOCKER_CONFIG", dcfg, 1);
    unsetenv("REGISTRY_AUTH_FILE");

    FERRY_ASSERT_OK(reg_creds_lookup("h.example", NULL, &c, &err), &err);
    assert_string_equal(c.secret, "from-docker");
    reg_creds_clear(&c);
    /* REGISTRY_AUTH_FILE comes first, the docker config is still searched */
    setenv("REGISTRY_AUTH_FILE", path, 1);
    FERRY_ASSERT_OK(reg_creds_lookup("h.example", NULL, &c, &err), &err);
    assert_string_equal(c.secret, "from-auth");
    reg_creds_clear(&c);
    FERRY_ASSERT_OK(reg_creds_lookup("only-docker.example", NULL, &c, &err), &err);
    assert_string_equal(c.secret, "od");
    reg_creds_clear(&c);
    /* an explicit auth file is the only one read */
    FERRY_ASSERT_OK(reg_creds_lookup("only-docker.example", path, &c, &err), &err);
    assert_int_equal(c.kind, REG_CRED_NONE);
    /* missing default files are skipped, a missing explicit file is an error */
    setenv("REGISTRY_AUTH_FILE", "/nonexistent/ferry/auth.json", 1);
    setenv("DOCKER_CONFIG", "/nonexistent/ferry", 1);
    FERRY_ASSERT_OK(reg_creds_lookup("h.example", NULL, &c, &err), &err);
    assert_int_equal(c.kind, REG_CRED_NONE);
    assert_int_equal(reg_creds_lookup("h.example", "/nonexistent/ferry/x.json", &c, &err),
                     -FERRY_E_NOT_FOUND);
    assert_non_null(strstr(err->msg, "/nonexistent/ferry/x.json"));
    ferry_error_clear(&err);
    unsetenv("REGISTRY_AUTH_FILE");
    unsetenv("DOCKER_CONFIG");
    tmp_remove(&t);
}

/* A fake docker-credential-test: knows two servers, fails loudly for a third. */
static const char helper_script[] =
    "#!/bin/sh\n"
    "[ \"$1\" = get ] || exit 3\n"
    "read -r server\n"
    "case \"$server\" in\n"
    "helper.example:5000) printf '{\"ServerURL\":\"%s\",\"Username\":\"hu\",\"Secret\":\"hs\"}' "
    "\"$server\" ;;\n"
    "https://index.docker.io/v1/) printf '{\"ServerURL\":\"x\",\"Username\":\"<token>\","
    "\"Secret\":\"idtok\"}' ;;\n"
    "broken.example) echo 'keychain locked'; exit 1 ;;\n"
    "*) echo 'credentials not found in native keychain'; exit 1 ;;\n"
    "esac\n";

static void
config_cred_helpers(void **state)
{
    struct tmp t;
    struct reg_creds c = {0};
    struct ferry_error *err = NULL;
    char *oldpath = getenv("PATH") ? strdup(getenv("PATH")) : strdup("/usr/bin:/bin");
    char newpath[4096];
    const char *cfg =
        "{\"credHelpers\":{\"helper.example:5000\":\"test\",\"broken.example\":\"test\","
        "\"fallback.example\":\"test\",\"missing.example\":\"nosuchhelper\","
        "\"evil.example\":\"../../bin/sh\"},"
        "\"auths\":{\"fallback.example\":{\"auth\":\"ZmI6ZmJwdw==\"},\"helper.example:5000\":{}}}";
    const char *store = "{\"credsStore\":\"test\"}";

    (void)state;
    tmp_make(&t);
    tmp_write(&t, "docker-credential-test", helper_script, 0755);
    snprintf(newpath, sizeof newpath, "%s:%s", t.dir, oldpath);
    setenv("PATH", newpath, 1);

    creds_of("helper.example:5000", cfg, &c);
    assert_int_equal(c.kind, REG_CRED_BASIC);
    assert_string_equal(c.username, "hu");
    assert_string_equal(c.secret, "hs");
    assert_string_equal(c.source, "docker-credential-test");
    reg_creds_clear(&c);
    /* "credentials not found": fall back to the auths entry */
    creds_of("fallback.example", cfg, &c);
    assert_string_equal(c.username, "fb");
    assert_string_equal(c.secret, "fbpw");
    reg_creds_clear(&c);
    /* credsStore, Docker Hub asked for under its index URL, <token> user */
    creds_of("registry-1.docker.io", store, &c);
    assert_int_equal(c.kind, REG_CRED_IDENTITY);
    assert_string_equal(c.secret, "idtok");
    reg_creds_clear(&c);
    creds_of("unknown.example", store, &c);
    assert_int_equal(c.kind, REG_CRED_NONE);
    /* helper failure, missing helper, bad helper name */
    assert_int_equal(reg_creds_from_config("broken.example", cfg, strlen(cfg), "t.json", &c, &err),
                     -FERRY_E_AUTH);
    assert_non_null(strstr(err->msg, "docker-credential-test"));
    assert_non_null(strstr(err->msg, "broken.example"));
    assert_non_null(strstr(err->msg, "keychain locked"));
    ferry_error_clear(&err);
    assert_int_equal(reg_creds_from_config("missing.example", cfg, strlen(cfg), "t.json", &c, &err),
                     -FERRY_E_AUTH);
    assert_non_null(strstr(err->msg, "docker-credential-nosuchhelper"));
    ferry_error_clear(&err);
    assert_int_equal(reg_creds_from_config("evil.example", cfg, strlen(cfg), "t.json", &c, &err),
                     -FERRY_E_INVALID);
    ferry_error_clear(&err);

    setenv("PATH", oldpath, 1);
    free(oldpath);
    tmp_remove(&t);
}

static void
registry_args(void **state)
{
    struct ferry_registry *r = NULL;
    struct ferry_registry_opts o = {0};
    struct ferry_error *err = NULL;
    struct ferry_buf b;

    (void)state;
    ferry_buf_init(&b, 1024);
    assert_int_equal(ferry_registry_new("bad/host", NULL, &r, &err), -FERRY_E_INVALID);
    ferry_error_clear(&err);
    o.username = "u";
    assert_int_equal(ferry_registry_new("h.example", &o, &r, &err), -FERRY_E_INVALID);
    ferry_error_clear(&err);
    o.password = "secret-pw";
    FERRY_ASSERT_OK(ferry_registry_new("docker.io", &o, &r, &err), &err);
    assert_string_equal(ferry_registry_host(r), "registry-1.docker.io");
    /* bad names are refused before any I/O, and never echo the password */
    assert_int_equal(ferry_registry_get_manifest(r, "Upper/Case", "v1", &b, NULL, &err),
                     -FERRY_E_INVALID);
    assert_null(strstr(err->msg, "secret-pw"));
    ferry_error_clear(&err);
    assert_int_equal(ferry_registry_get_manifest(r, "a/b", "bad tag", &b, NULL, &err),
                     -FERRY_E_INVALID);
    ferry_error_clear(&err);
    assert_int_equal(ferry_registry_get_manifest(r, "a//b", "v1", &b, NULL, &err),
                     -FERRY_E_INVALID);
    ferry_error_clear(&err);
    assert_int_equal(ferry_registry_head_blob(r, "a/b", "sha256:zz", NULL, &err), -FERRY_E_INVALID);
    ferry_error_clear(&err);
    ferry_registry_free(r);
    ferry_registry_free(NULL);
    assert_int_equal(ferry_registry_ping(NULL, &err), -FERRY_E_INTERNAL);
    ferry_error_clear(&err);
    ferry_buf_free(&b);
}

/* ---- warnings about a host, once per process ---------------------------- */

static void
count_insecure(enum ferry_log_level level, const char *msg, void *ud)
{
    if (level == FERRY_LOG_WARN && strstr(msg, "tls certificate verification is off") != NULL)
        (*(int *)ud)++;
}

/* Every thread makes its own handles: the insecure-TLS warning is printed once
 * per host, not once per handle. */
static void
insecure_warning_once_per_host(void **state)
{
    struct ferry_registry_opts o = {.insecure_tls = true};
    struct ferry_registry *r[4] = {0};
    struct ferry_error *err = NULL;
    int n = 0;

    (void)state;
    ferry_log_set_handler(count_insecure, &n);
    for (int i = 0; i < 3; i++)
        FERRY_ASSERT_OK(ferry_registry_new("once.example:5000", &o, &r[i], &err), &err);
    assert_int_equal(n, 1);
    FERRY_ASSERT_OK(ferry_registry_new("other.example:5000", &o, &r[3], &err), &err);
    assert_int_equal(n, 2);
    ferry_log_set_handler(NULL, NULL);
    for (int i = 0; i < 4; i++)
        ferry_registry_free(r[i]);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(challenge_docker_hub),
    cmocka_unit_test(challenge_quoted_escapes),
    cmocka_unit_test(insecure_warning_once_per_host),
    cmocka_unit_test(challenge_multi_scope),
    cmocka_unit_test(challenge_case_and_spaces),
    cmocka_unit_test(challenge_several),
    cmocka_unit_test(challenge_garbage),
    cmocka_unit_test(link_next),
    cmocka_unit_test(link_several),
    cmocka_unit_test(link_none_and_garbage),
    cmocka_unit_test(upload_range),
    cmocka_unit_test(url_loggable),
    cmocka_unit_test(url_resolve_rfc3986),
    cmocka_unit_test(url_resolve_registry),
    cmocka_unit_test(url_origin),
    cmocka_unit_test(scope_sets),
    cmocka_unit_test(error_bodies),
    cmocka_unit_test(config_auths),
    cmocka_unit_test(config_file_order),
    cmocka_unit_test(config_cred_helpers),
    cmocka_unit_test(registry_args),
};

FERRY_UNIT_MAIN(tests)
