/* Sync config (regsync.yaml) parsing, templates, defaults and tag selection. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "ferry/limits.h"
#include "ferry/syncconfig.h"
#include "ferry/util.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int
parse(const char *text, struct ferry_sync_config **cfg, struct ferry_error **err)
{
    return ferry_sync_config_parse("t.yaml", text, strlen(text), cfg, err);
}

static struct ferry_sync_config *
parse_ok(const char *text)
{
    struct ferry_sync_config *cfg = NULL;
    struct ferry_error *err = NULL;

    FERRY_ASSERT_OK(parse(text, &cfg, &err), &err);
    assert_non_null(cfg);
    return cfg;
}

/* Parse must fail with code and a message containing want; returns nothing. */
static void
expect_error(const char *text, enum ferry_status code, const char *want)
{
    struct ferry_sync_config *cfg = NULL;
    struct ferry_error *err = NULL;
    int r = parse(text, &cfg, &err);

    if (r >= 0)
        fail_msg("parse succeeded, want error \"%s\" for:\n%s", want, text);
    assert_null(cfg);
    assert_non_null(err);
    if (err->code != code || strstr(err->msg, want) == NULL)
        fail_msg("error %d \"%s\", want %d containing \"%s\"", err->code, err->msg, code, want);
    assert_int_equal(r, -(int)code);
    assert_null(strchr(err->msg, '\n'));
    ferry_error_free(err);
}

static bool
has_notice(const struct ferry_sync_config *cfg, const char *want)
{
    for (size_t i = 0; i < cfg->nnotices; i++)
        if (strstr(cfg->notices[i], want) != NULL)
            return true;
    return false;
}

/* Select from tags (NULL-terminated) and compare with want (NULL-terminated). */
static void
expect_select(const struct ferry_sync_entry *e, const char *const *tags, const char *const *want)
{
    struct ferry_error *err = NULL;
    char **out = NULL;
    size_t n = 0, nt = 0, nw = 0;

    while (tags[nt] != NULL)
        nt++;
    while (want[nw] != NULL)
        nw++;
    FERRY_ASSERT_OK(ferry_sync_select_tags(e, tags, nt, &out, &n, &err), &err);
    if (n != nw)
        fail_msg("selected %zu tags, want %zu", n, nw);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(out[i], want[i]);
    ferry_strv_free(out, n);
}

static char *
source_path(const char *rel)
{
    const char *src = getenv("FERRY_SOURCE_DIR");

    return ferry_asprintf("%s/%s", src ? src : FERRY_SOURCE_DIR, rel);
}

/* ---- the samples ------------------------------------------------------------------ */

static void
test_sample_regsync(void **state)
{
    static const char *const tags[] = {
        "24",          "24.11.0", "24-dev", "24.11.0-debian13", "24.11.0-alpine3.22",
        "24-debian12", "22.21.0", "latest", "sha256-" HEX64,    "sha256-" HEX64 ".sig",
        NULL};
    static const char *const want_node[] = {"24", "24-dev", "24.11.0", "24.11.0-debian13", NULL};
    static const char *const ptags[] = {
        "3.12", "3.12.12-debian13", "3.12-alpine3.22", "3.12.12-debian12", "3.13.1", "3.1", NULL};
    static const char *const want_py[] = {"3.12", "3.12.12-debian13", NULL};
    struct ferry_sync_config *cfg = NULL;
    struct ferry_error *err = NULL;
    char *path = source_path("samples/regsync.yaml");
    const struct ferry_sync_entry *e;

    (void)state;
    FERRY_ASSERT_OK(ferry_sync_config_load(path, &cfg, &err), &err);
    assert_string_equal(cfg->path, path);
    assert_int_equal(cfg->ncreds, 0);
    assert_int_equal(cfg->nentries, 2);
    e = &cfg->entries[0];
    assert_int_equal(e->type, FERRY_SYNC_REPOSITORY);
    assert_string_equal(e->source, "docker.io/your-org/dhi-node");
    assert_string_equal(e->target, "registry.example.com/mirror/dhi-node");
    assert_true(e->referrers);
    assert_string_equal(e->referrer_source, "registry.scout.docker.com/your-org/dhi-node");
    assert_string_equal(e->referrer_target, "registry.example.com/mirror/dhi-node");
    assert_int_equal(e->tags.nallow, 1);
    assert_string_equal(e->tags.allow[0], "24.*");
    assert_int_equal(e->tags.ndeny, 2);
    assert_string_equal(e->tags.deny[1], ".*debian12.*");
    assert_int_equal(e->line, 36);
    assert_int_equal(e->column, 5);
    expect_select(e, tags, want_node);
    e = &cfg->entries[1];
    assert_string_equal(e->source, "docker.io/your-org/dhi-python");
    expect_select(e, ptags, want_py);
    /* fastCopy appears twice: one notice, counted */
    assert_int_equal(cfg->nnotices, 1);
    assert_true(has_notice(cfg, ":39:5: fastCopy: not a regsync key"));
    assert_true(has_notice(cfg, "(and 1 more place)"));
    ferry_sync_config_free(cfg);
    ferry_free(path);
}

static void
test_sample_local(void **state)
{
    static const char *const app0[] = {"1.0", "1.1", "latest", "1.1-alpine", NULL};
    static const char *const want0[] = {"1.0", "1.1", NULL};
    static const char *const app1[] = {"2.0", "latest", "2.x", NULL};
    static const char *const want1[] = {"2.0", "latest", NULL};
    struct ferry_sync_config *cfg = NULL;
    struct ferry_error *err = NULL;
    char *path = source_path("samples/regsync-local.yaml");
    const struct ferry_sync_cred *cr;

    (void)state;
    setenv("FERRY_DEMO_SRC", "127.0.0.1:5000", 1);
    FERRY_ASSERT_OK(ferry_sync_config_load(path, &cfg, &err), &err);
    unsetenv("FERRY_DEMO_SRC");
    assert_int_equal(cfg->nentries, 3);
    assert_string_equal(cfg->entries[0].source, "127.0.0.1:5000/corpus/app0");
    assert_string_equal(cfg->entries[0].referrer_source, "127.0.0.1:5000/corpus/app0");
    assert_string_equal(cfg->entries[0].target, "registry.airgap.example/mirror/corpus/app0");
    assert_true(cfg->entries[0].referrers); /* from defaults */
    assert_true(cfg->entries[1].referrers);
    assert_false(cfg->entries[2].referrers); /* the entry wins */
    assert_int_equal(cfg->entries[2].type, FERRY_SYNC_IMAGE);
    assert_string_equal(cfg->entries[2].source, "127.0.0.1:5000/corpus/base:latest");
    expect_select(&cfg->entries[0], app0, want0);
    expect_select(&cfg->entries[1], app1, want1);
    cr = ferry_sync_config_creds(cfg, "127.0.0.1:5000");
    assert_non_null(cr);
    assert_int_equal(cr->tls, FERRY_SYNC_TLS_DISABLED);
    assert_null(cr->pass);
    assert_int_equal(cfg->nnotices, 0);
    ferry_sync_config_free(cfg);
    ferry_free(path);
}

static void
test_sample_local_needs_env(void **state)
{
    struct ferry_sync_config *cfg = NULL;
    struct ferry_error *err = NULL;
    char *path = source_path("samples/regsync-local.yaml");

    (void)state;
    unsetenv("FERRY_DEMO_SRC");
    assert_int_equal(ferry_sync_config_load(path, &cfg, &err), -FERRY_E_INVALID);
    assert_null(cfg);
    assert_non_null(
        strstr(err->msg, "{{env \"FERRY_DEMO_SRC\"}} in registry: FERRY_DEMO_SRC is not set"));
    assert_non_null(strstr(err->msg, "regsync-local.yaml:17:15: "));
    ferry_error_free(err);
    ferry_free(path);
}

/* ---- allow / deny ------------------------------------------------------------------- */

struct select_row {
    const char *allow[3];
    const char *deny[3];
    const char *tag;
    bool want;
};

/* Patterns are written as YAML single-quoted strings: backslashes are literal. */
static const struct select_row select_rows[] = {
    {{"1"}, {NULL}, "1", true},
    {{"1"}, {NULL}, "10", false}, /* anchored at the end */
    {{"1"}, {NULL}, "21", false}, /* and at the start */
    {{"1\\.\\d+"}, {NULL}, "1.23", true},
    {{"1\\.\\d+"}, {NULL}, "1.x", false},
    {{"1\\.\\d+"}, {NULL}, "1.2-alpine", false},
    {{"(?:3|4)\\.\\d+"}, {NULL}, "3.12", true},
    {{"(?:3|4)\\.\\d+"}, {NULL}, "5.1", false},
    {{"(?i)latest"}, {NULL}, "LATEST", true},
    {{"(?i)latest"}, {NULL}, "Latest", true},
    {{"latest"}, {NULL}, "LATEST", false},
    {{NULL}, {NULL}, "anything", true}, /* no allow: everything */
    {{NULL}, {".*alpine.*"}, "3.12-alpine3.20", false},
    {{NULL}, {".*alpine.*"}, "3.12", true},
    {{"3\\.12.*"}, {".*debian12.*"}, "3.12.1-debian12", false}, /* deny wins */
    {{"3\\.12.*"}, {".*debian12.*"}, "3.12.1-debian13", true},
    {{".*"}, {".*"}, "x", false},
    {{"24.*"}, {NULL}, "24", true},
    {{"24.*"}, {NULL}, "124", false},
    {{".*"}, {NULL}, "sha256-" HEX64, false},               /* referrers fallback tag */
    {{".*"}, {NULL}, "sha256-" HEX64 ".sig", false},        /* cosign signature */
    {{"sha256-.*"}, {NULL}, "sha256-" HEX64 ".att", false}, /* even when allowed by name */
    {{".*"}, {NULL}, "sha512-" HEX64 HEX64, false},
    {{".*"}, {NULL}, "sha256-abc", true},        /* not a digest */
    {{".*"}, {NULL}, "sha256-" HEX64 "0", true}, /* 65 hex digits: not a digest either */
    {{"[0-9]+\\.[0-9]+"}, {NULL}, "10.2", true},
    {{"\\d+-\\w+"}, {NULL}, "12-slim", true},
    {{"a|b"}, {NULL}, "a", true},
    {{"a|b"}, {NULL}, "ab", false}, /* each alternative is anchored */
    {{"a|b"}, {NULL}, "xb", false},
    {{"v?\\d+(\\.\\d+){0,2}"}, {NULL}, "v1.2.3", true},
    {{"v?\\d+(\\.\\d+){0,2}"}, {NULL}, "v1.2.3.4", false},
    {{"[[:digit:]]+"}, {NULL}, "123", true},
    {{"\\pL+"}, {NULL}, "abc", true},
    {{"1", "2"}, {NULL}, "2", true}, /* any allow */
    {{"^1$"}, {NULL}, "1", true},    /* explicit anchors are harmless */
    {{"(?P<major>\\d+)\\.\\d+"}, {NULL}, "3.9", true},
    {{".*"}, {NULL}, ".hidden", false}, /* not a valid tag */
    {{".*"}, {NULL}, "", false},
};

static struct ferry_sync_config *
config_with(const char *const *allow, const char *const *deny)
{
    struct ferry_buf b;
    struct ferry_error *err = NULL;
    struct ferry_sync_config *cfg;

    ferry_buf_init(&b, 1 << 16);
    FERRY_ASSERT_OK(ferry_buf_appendf(&b, &err,
                                      "version: 1\nsync:\n  - source: r.example/app\n"
                                      "    target: t.example/app\n    type: repository\n"
                                      "    tags:\n      allow: ["),
                    &err);
    for (size_t i = 0; allow[i] != NULL; i++)
        FERRY_ASSERT_OK(ferry_buf_appendf(&b, &err, "%s'%s'", i ? ", " : "", allow[i]), &err);
    FERRY_ASSERT_OK(ferry_buf_appendf(&b, &err, "]\n      deny: ["), &err);
    for (size_t i = 0; deny[i] != NULL; i++)
        FERRY_ASSERT_OK(ferry_buf_appendf(&b, &err, "%s'%s'", i ? ", " : "", deny[i]), &err);
    FERRY_ASSERT_OK(ferry_buf_appendf(&b, &err, "]\n"), &err);
    cfg = parse_ok(b.data);
    ferry_buf_free(&b);
    return cfg;
}

static void
test_select_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof select_rows / sizeof select_rows[0]; i++) {
        const struct select_row *row = &select_rows[i];
        struct ferry_sync_config *cfg = config_with(row->allow, row->deny);
        struct ferry_error *err = NULL;
        int r = ferry_sync_tag_selected(&cfg->entries[0], row->tag, &err);
        if (r < 0)
            fail_msg("row %zu: %s", i, err->msg);
        if ((r == 1) != row->want)
            fail_msg("row %zu: allow %s deny %s tag \"%s\": got %d, want %d", i,
                     row->allow[0] ? row->allow[0] : "-", row->deny[0] ? row->deny[0] : "-",
                     row->tag, r, row->want);
        ferry_sync_config_free(cfg);
    }
}

static void
test_select_sorted_unique(void **state)
{
    static const char *const tags[] = {"b", "a", "c", "a", "sha256-" HEX64, "b", NULL};
    static const char *const want[] = {"a", "b", "c", NULL};
    static const char *const none[] = {"x", NULL};
    static const char *const nothing[] = {NULL};
    struct ferry_sync_config *cfg = parse_ok("sync:\n  - {source: r.example/a, target: "
                                             "t.example/a, type: repository}\n");
    struct ferry_sync_config *cfg2 = parse_ok("sync:\n  - {source: r.example/a, target: "
                                              "t.example/a, type: repository,\n"
                                              "     tags: {allow: [y]}}\n");
    struct ferry_error *err = NULL;
    char **out = (char **)1;
    size_t n = 7;

    (void)state;
    expect_select(&cfg->entries[0], tags, want);
    FERRY_ASSERT_OK(ferry_sync_select_tags(&cfg2->entries[0], none, 1, &out, &n, &err), &err);
    assert_int_equal(n, 0);
    assert_null(out);
    expect_select(&cfg2->entries[0], nothing, nothing);
    ferry_sync_config_free(cfg);
    ferry_sync_config_free(cfg2);
}

static void
test_digest_tags(void **state)
{
    (void)state;
    assert_true(ferry_sync_is_digest_tag("sha256-" HEX64));
    assert_true(ferry_sync_is_digest_tag("sha256-" HEX64 ".sig"));
    assert_true(ferry_sync_is_digest_tag("sha256-" HEX64 ".att"));
    assert_true(ferry_sync_is_digest_tag("sha256-" HEX64 ".sbom"));
    assert_true(ferry_sync_is_digest_tag("sha256-" HEX64 ".0123456789abcdef.meta"));
    assert_true(ferry_sync_is_digest_tag("sha512-" HEX64 HEX64));
    assert_true(ferry_sync_is_digest_tag("blake3-" HEX64));
    assert_false(ferry_sync_is_digest_tag("sha256-" HEX64 "x"));
    assert_false(ferry_sync_is_digest_tag("sha256-" HEX64 "0"));
    assert_false(ferry_sync_is_digest_tag("sha256-abc"));
    assert_false(ferry_sync_is_digest_tag("sha256-0123456789ABCDEF0123456789abcdef0123456789abcdef"
                                          "0123456789abcdef"));
    assert_false(ferry_sync_is_digest_tag("main-" HEX64));
    assert_false(ferry_sync_is_digest_tag("1.0"));
    assert_false(ferry_sync_is_digest_tag(NULL));
}

static void
test_tag_sets(void **state)
{
    static const char *const tags[] = {"1.0", "1.0-rc1", "2.0", "2.0-rc1", "3.0", NULL};
    static const char *const want[] = {"1.0", "2.0", "2.0-rc1", NULL};
    struct ferry_sync_config *cfg = parse_ok("sync:\n"
                                             "  - source: r.example/a\n"
                                             "    target: t.example/a\n"
                                             "    type: repository\n"
                                             "    tags:\n"
                                             "      allow: ['1\\..*']\n"
                                             "      deny: ['.*-rc\\d+']\n"
                                             "    tagSets:\n"
                                             "      - allow: ['2\\..*']\n");

    (void)state;
    assert_int_equal(cfg->entries[0].ntag_sets, 1);
    expect_select(&cfg->entries[0], tags, want);
    ferry_sync_config_free(cfg);
}

static void
test_match_limit(void **state)
{
    struct ferry_sync_config *cfg = parse_ok("sync:\n"
                                             "  - source: r.example/a\n"
                                             "    target: t.example/a\n"
                                             "    type: repository\n"
                                             "    tags:\n"
                                             "      allow: ['(a|a)*\\d']\n");
    struct ferry_error *err = NULL;
    const char *tags[] = {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    char **out = NULL;
    size_t n = 0;

    (void)state;
    assert_int_equal(ferry_sync_select_tags(&cfg->entries[0], tags, 1, &out, &n, &err),
                     -FERRY_E_TOO_LARGE);
    assert_null(out);
    assert_non_null(strstr(err->msg, "t.yaml:6:15: allow pattern \"(a|a)*\\\\d\" gives up on tag"));
    ferry_error_free(err);
    ferry_sync_config_free(cfg);
}

static void
test_bad_regex(void **state)
{
    (void)state;
    expect_error("sync:\n"
                 "  - source: r.example/a\n"
                 "    target: t.example/a\n"
                 "    type: repository\n"
                 "    tags:\n"
                 "      deny: ['ok', '[a-']\n",
                 FERRY_E_INVALID, "t.yaml:6:20: bad pattern \"[a-\" in tags.deny: ");
    expect_error("sync:\n"
                 "  - source: r.example/a\n"
                 "    target: t.example/a\n"
                 "    type: repository\n"
                 "    tags:\n"
                 "      allow:\n"
                 "        - '(?:3'\n",
                 FERRY_E_INVALID, "t.yaml:7:11: bad pattern \"(?:3\" in tags.allow: ");
}

static void
test_alternation_notice(void **state)
{
    struct ferry_sync_config *cfg = parse_ok("sync:\n"
                                             "  - source: r.example/a\n"
                                             "    target: t.example/a\n"
                                             "    type: repository\n"
                                             "    tags:\n"
                                             "      allow: ['a|b', '(a|b)', '[|]', 'a\\|b']\n");

    (void)state;
    assert_int_equal(cfg->nnotices, 1);
    assert_true(has_notice(cfg, "t.yaml:6:15: pattern \"a|b\": ferry matches each '|'"));
    ferry_sync_config_free(cfg);
}

static void
test_semver_unsupported(void **state)
{
    (void)state;
    expect_error("sync:\n"
                 "  - source: r.example/a\n"
                 "    target: t.example/a\n"
                 "    type: repository\n"
                 "    tags:\n"
                 "      semverRange: ['>=1.0.0']\n",
                 FERRY_E_UNSUPPORTED, "t.yaml:6:7: semverRange is not supported");
}

/* ---- keys --------------------------------------------------------------------------- */

static void
test_unknown_key(void **state)
{
    (void)state;
    expect_error("version: 1\n"
                 "sync:\n"
                 "  - source: docker.io/library/alpine\n"
                 "    target: example.com/alpine\n"
                 "    type: repository\n"
                 "    foo: 1\n",
                 FERRY_E_INVALID, "t.yaml:6:5: unknown key \"foo\" in sync entry");
    expect_error("creds:\n  - registry: r.example\n    password: x\n", FERRY_E_INVALID,
                 "t.yaml:3:5: unknown key \"password\" in creds entry");
    expect_error("version: 1\nsnyc: []\n", FERRY_E_INVALID,
                 "t.yaml:2:1: unknown key \"snyc\" in the top level");
    expect_error("defaults:\n  referers: true\nsync: []\n", FERRY_E_INVALID,
                 "t.yaml:2:3: unknown key \"referers\" in defaults");
    expect_error("sync:\n  - source: r.example/a\n    tags: {allow: [x], alow: [y]}\n",
                 FERRY_E_INVALID, "t.yaml:3:24: unknown key \"alow\" in tags");
    /* a key with a newline in it stays on one line of message */
    expect_error("sync:\n  - \"a\\nb\": 1\n", FERRY_E_INVALID,
                 "t.yaml:2:5: unknown key \"a\\x0ab\" in sync entry");
}

static void
test_duplicate_key(void **state)
{
    (void)state;
    expect_error("sync:\n"
                 "  - source: r.example/a\n"
                 "    target: t.example/a\n"
                 "    source: r.example/b\n"
                 "    type: repository\n",
                 FERRY_E_INVALID,
                 "t.yaml:4:5: duplicate key \"source\" in sync entry (first at line 2)");
    expect_error("version: 1\nversion: 1\nsync: []\n", FERRY_E_INVALID,
                 "t.yaml:2:1: duplicate key \"version\" in the top level (first at line 1)");
    expect_error("creds:\n  - registry: r.example\n  - registry: R.example\nsync: []\n",
                 FERRY_E_INVALID, "t.yaml:3:15: creds for \"R.example\" already given at line 2");
}

static void
test_online_keys_notices(void **state)
{
    struct ferry_sync_config *cfg =
        parse_ok("version: 1\n"
                 "creds:\n"
                 "  - registry: r.example\n"
                 "    reqPerSec: 2\n"
                 "    mirrors: [m.example]\n"
                 "defaults:\n"
                 "  parallel: 2\n"
                 "  interval: 60m\n"
                 "  ratelimit:\n"
                 "    min: 100\n"
                 "    retry: 15m\n"
                 "  mediaTypes: [application/vnd.oci.image.index.v1+json]\n"
                 "  hooks: {post: {type: exec, params: [x]}}\n"
                 "sync:\n"
                 "  - source: busybox:latest\n"
                 "    target: t.example/library/busybox:latest\n"
                 "    type: image\n"
                 "    schedule: '15 01 * * *'\n"
                 "    backup: 'backup-{{.Ref.Tag}}'\n"
                 "    fastCopy: true\n"
                 "    forceRecursive: true\n"
                 "    digestTags: true\n"
                 "    includeExternal: true\n");

    (void)state;
    assert_true(has_notice(cfg, "t.yaml:4:5: reqPerSec: ferry does not throttle"));
    assert_true(has_notice(cfg, "t.yaml:5:5: mirrors: ferry reads each image"));
    assert_true(has_notice(cfg, "t.yaml:7:3: parallel: ferry-export reads the sync entries"));
    assert_true(has_notice(cfg, "t.yaml:8:3: interval: ferry-export runs once"));
    assert_true(has_notice(cfg, "t.yaml:9:3: ratelimit: "));
    assert_true(has_notice(cfg, "t.yaml:12:3: mediaTypes: "));
    assert_true(has_notice(cfg, "t.yaml:13:3: hooks: ferry runs no hooks"));
    assert_true(has_notice(cfg, "t.yaml:18:5: schedule: ferry-export runs once"));
    assert_true(has_notice(cfg, "t.yaml:19:5: backup: "));
    assert_true(has_notice(cfg, "t.yaml:20:5: fastCopy: not a regsync key (regsync ignores it); "
                                "ferry always copies every manifest and blob into the bundle"));
    assert_true(has_notice(cfg, "t.yaml:21:5: forceRecursive: ferry always copies"));
    assert_true(has_notice(cfg, "t.yaml:22:5: digestTags: ferry never selects digest tags"));
    assert_true(has_notice(cfg, "t.yaml:23:5: includeExternal: "));
    assert_int_equal(cfg->nnotices, 13);
    for (size_t i = 0; i < cfg->nnotices; i++)
        assert_null(strchr(cfg->notices[i], '\n'));
    ferry_sync_config_free(cfg);
}

static void
test_anchors_and_merge_keys(void **state)
{
    struct ferry_sync_config *cfg = parse_ok("x-sched-a: &sched-a \"15 01 * * *\"\n"
                                             "x-common: &common\n"
                                             "  type: repository\n"
                                             "  referrers: true\n"
                                             "  tags: &tags\n"
                                             "    allow: ['3\\.\\d+']\n"
                                             "version: 1\n"
                                             "sync:\n"
                                             "  - <<: *common\n"
                                             "    source: r.example/a\n"
                                             "    target: t.example/a\n"
                                             "    schedule: *sched-a\n"
                                             "  - <<: [*common]\n"
                                             "    source: r.example/b\n"
                                             "    target: t.example/b\n"
                                             "    referrers: false\n"
                                             "    x-note: 'anything: at all'\n");

    (void)state;
    assert_int_equal(cfg->nentries, 2);
    assert_int_equal(cfg->entries[0].type, FERRY_SYNC_REPOSITORY);
    assert_true(cfg->entries[0].referrers);
    assert_false(cfg->entries[1].referrers); /* explicit keys win over merged ones */
    assert_string_equal(cfg->entries[1].tags.allow[0], "3\\.\\d+");
    assert_int_equal(ferry_sync_tag_selected(&cfg->entries[1], "3.12", NULL), 1);
    assert_true(has_notice(cfg, "t.yaml:12:5: schedule: "));
    ferry_sync_config_free(cfg);
    expect_error("sync:\n  - *nope\n", FERRY_E_INVALID,
                 "t.yaml:2:5: alias *nope names no anchor completed before it");
}

/* ---- values ------------------------------------------------------------------------- */

static void
test_wrong_version(void **state)
{
    struct ferry_sync_config *cfg;

    (void)state;
    expect_error("version: 2\nsync: []\n", FERRY_E_UNSUPPORTED,
                 "t.yaml:1:10: version 2 is not supported: ferry reads version 1");
    expect_error("version: 0\nsync: []\n", FERRY_E_UNSUPPORTED, "t.yaml:1:10: version 0");
    expect_error("version: one\nsync: []\n", FERRY_E_INVALID,
                 "t.yaml:1:10: version must be a number");
    expect_error("version: [1]\nsync: []\n", FERRY_E_INVALID,
                 "t.yaml:1:10: version must be a number");
    /* no version is version 1, as in regsync */
    cfg = parse_ok("sync: [{source: r.example/a, target: t.example/a, type: repository}]\n");
    ferry_sync_config_free(cfg);
    cfg = parse_ok("version: \"1\"\n"
                   "sync: [{source: r.example/a, target: t.example/a, type: repository}]\n");
    ferry_sync_config_free(cfg);
}

static void
test_type_and_references(void **state)
{
    (void)state;
    expect_error("sync:\n  - source: r.example/a\n    target: t.example/a\n    type: registry\n",
                 FERRY_E_UNSUPPORTED, "t.yaml:4:11: type registry is not supported");
    expect_error("sync:\n  - source: r.example/a\n    target: t.example/a\n    type: Image\n",
                 FERRY_E_INVALID, "t.yaml:4:11: type \"Image\" is not repository or image");
    expect_error("sync:\n  - source: r.example/a\n    target: t.example/a\n", FERRY_E_INVALID,
                 "t.yaml:2:5: sync entry has no type (repository or image)");
    expect_error("sync:\n  - target: t.example/a\n    type: image\n", FERRY_E_INVALID,
                 "t.yaml:2:5: sync entry has no source");
    expect_error("sync:\n  - source: r.example/a:1.0\n    target: t.example/a\n"
                 "    type: repository\n",
                 FERRY_E_INVALID,
                 "t.yaml:2:13: source \"r.example/a:1.0\" must name a repository, without tag");
    expect_error("sync:\n  - source: r.example/A\n    target: t.example/a\n"
                 "    type: repository\n",
                 FERRY_E_INVALID, "t.yaml:2:13: source \"r.example/A\" is not a valid reference");
    expect_error("sync:\n  - source: r.example/a\n    target: t.example/a\n"
                 "    type: repository\n    referrerSource: s.example/a@sha256:" HEX64 "\n",
                 FERRY_E_INVALID, "t.yaml:5:21: referrerSource \"s.example/a@sha256:");
    expect_error("sync:\n  - source: r.example/a\n    target: t.example/a\n"
                 "    type: repository\n    platforms: [linux/amd64, linux]\n",
                 FERRY_E_INVALID, "t.yaml:5:30: platform \"linux\" is not OS/ARCH");
    expect_error("sync:\n  - source: r.example/a\n    target: t.example/a\n"
                 "    type: repository\n    referrers: maybe\n",
                 FERRY_E_INVALID, "t.yaml:5:16: referrers must be true or false");
    expect_error("sync:\n  - source: [r.example/a]\n", FERRY_E_INVALID,
                 "t.yaml:2:13: source must be a string, not a list");
    expect_error("sync: {source: r.example/a}\n", FERRY_E_INVALID,
                 "t.yaml:1:7: sync must be a list");
    expect_error("sync: []\n", FERRY_E_INVALID, "t.yaml:1:7: no sync entries");
    expect_error("", FERRY_E_INVALID, "t.yaml: no sync entries");
    expect_error("- a\n", FERRY_E_INVALID, "t.yaml:1:1: the top level must be a mapping");
}

static void
test_image_entry(void **state)
{
    struct ferry_sync_config *cfg = parse_ok("sync:\n"
                                             "  - source: busybox\n"
                                             "    target: t.example/busybox@sha256:" HEX64 "\n"
                                             "    type: image\n"
                                             "    platform: linux/arm/v7\n"
                                             "    platforms: [linux/amd64, windows/amd64:10.0]\n"
                                             "    tags: {allow: [x]}\n");

    (void)state;
    assert_int_equal(cfg->entries[0].type, FERRY_SYNC_IMAGE);
    assert_string_equal(cfg->entries[0].source, "busybox");
    assert_string_equal(cfg->entries[0].platform, "linux/arm/v7");
    assert_int_equal(cfg->entries[0].nplatforms, 2);
    assert_string_equal(cfg->entries[0].platforms[1], "windows/amd64:10.0");
    assert_true(has_notice(cfg, "t.yaml:7:11: tags: not used with type: image"));
    ferry_sync_config_free(cfg);
}

static void
test_defaults_merge(void **state)
{
    struct ferry_sync_config *cfg = parse_ok(
        "defaults:\n"
        "  referrers: true\n"
        "  referrerSource: s.example/attest\n"
        "  referrerFilters:\n"
        "    - artifactType: application/vnd.dev.sigstore.bundle.v0.3+json\n"
        "    - annotations: {org.example.kind: sbom}\n"
        "  skipDockerConfig: true\n"
        "sync:\n"
        "  - {source: r.example/a, target: t.example/a, type: repository}\n"
        "  - {source: r.example/b, target: t.example/b, type: repository, referrers: false,\n"
        "     referrerSource: s.example/b, referrerTarget: u.example/b}\n"
        "  - {source: r.example/c, target: t.example/c, type: repository, referrerFilters: []}\n"
        "  - source: r.example/d\n"
        "    target: t.example/d\n"
        "    type: repository\n"
        "    referrerFilters: [{artifactType: application/spdx+json}]\n");
    const struct ferry_sync_entry *e;

    (void)state;
    assert_true(cfg->skip_docker_config);
    e = &cfg->entries[0];
    assert_true(e->referrers);
    assert_string_equal(e->referrer_source, "s.example/attest");
    assert_null(e->referrer_target);
    assert_int_equal(e->nreferrer_filters, 2);
    assert_string_equal(e->referrer_filters[0].artifact_type,
                        "application/vnd.dev.sigstore.bundle.v0.3+json");
    assert_null(e->referrer_filters[1].artifact_type);
    assert_int_equal(e->referrer_filters[1].nannotations, 1);
    assert_string_equal(e->referrer_filters[1].annotation_keys[0], "org.example.kind");
    assert_string_equal(e->referrer_filters[1].annotation_values[0], "sbom");
    e = &cfg->entries[1];
    assert_false(e->referrers);
    assert_string_equal(e->referrer_source, "s.example/b");
    assert_string_equal(e->referrer_target, "u.example/b");
    assert_int_equal(e->nreferrer_filters, 2);
    e = &cfg->entries[2];
    assert_true(e->referrers);
    assert_int_equal(e->nreferrer_filters, 0); /* an explicit empty list is not "unset" */
    e = &cfg->entries[3];
    assert_int_equal(e->nreferrer_filters, 1);
    assert_string_equal(e->referrer_filters[0].artifact_type, "application/spdx+json");
    ferry_sync_config_free(cfg);

    /* without defaults, referrers is false, as in regsync */
    cfg = parse_ok("sync: [{source: r.example/a, target: t.example/a, type: repository}]\n");
    assert_false(cfg->entries[0].referrers);
    assert_null(cfg->entries[0].referrer_source);
    ferry_sync_config_free(cfg);
}

/* ---- creds and templates ------------------------------------------------------------- */

#define PEM "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

static void
test_creds(void **state)
{
    struct ferry_sync_config *cfg = parse_ok("creds:\n"
                                             "  - registry: docker.io\n"
                                             "    user: alice\n"
                                             "    pass: s3cret\n"
                                             "  - registry: http://lab.example:5000/some/path\n"
                                             "  - registry: self.example\n"
                                             "    tls: Insecure\n"
                                             "    hostname: 10.0.0.7:443\n"
                                             "    credHelper: ecr-login\n"
                                             "    regcert: |\n"
                                             "      -----BEGIN CERTIFICATE-----\n"
                                             "      MIIB\n"
                                             "      -----END CERTIFICATE-----\n"
                                             "sync: [{source: r.example/a, target: t.example/a, "
                                             "type: repository}]\n");
    const struct ferry_sync_cred *cr;

    (void)state;
    assert_int_equal(cfg->ncreds, 3);
    cr = ferry_sync_config_creds(cfg, "registry-1.docker.io");
    assert_non_null(cr);
    assert_ptr_equal(cr, ferry_sync_config_creds(cfg, "index.docker.io"));
    assert_ptr_equal(cr, ferry_sync_config_creds(cfg, "Docker.IO"));
    assert_string_equal(cr->user, "alice");
    assert_string_equal(cr->pass, "s3cret");
    assert_int_equal(cr->tls, FERRY_SYNC_TLS_ENABLED);
    cr = ferry_sync_config_creds(cfg, "lab.example:5000");
    assert_non_null(cr);
    assert_string_equal(cr->registry, "lab.example:5000");
    assert_int_equal(cr->tls, FERRY_SYNC_TLS_DISABLED);
    assert_null(cr->user);
    cr = ferry_sync_config_creds(cfg, "self.example");
    assert_non_null(cr);
    assert_int_equal(cr->tls, FERRY_SYNC_TLS_INSECURE);
    assert_string_equal(cr->hostname, "10.0.0.7:443");
    assert_string_equal(cr->cred_helper, "ecr-login");
    assert_string_equal(cr->regcert, PEM);
    assert_null(ferry_sync_config_creds(cfg, "other.example"));
    assert_null(ferry_sync_config_creds(cfg, "lab.example"));
    ferry_sync_config_free(cfg);

    expect_error("creds:\n  - registry: r.example\n    tls: maybe\nsync: []\n", FERRY_E_INVALID,
                 "t.yaml:3:10: tls must be enabled, insecure or disabled");
    expect_error("creds:\n  - registry: r.example\n    regcert: /etc/ssl/ca.pem\nsync: []\n",
                 FERRY_E_INVALID, "t.yaml:2:5: regcert is not PEM text");
    expect_error("creds:\n  - user: bob\nsync: []\n", FERRY_E_INVALID,
                 "t.yaml:2:5: creds entry has no registry");
}

static void
test_template_env(void **state)
{
    struct ferry_sync_config *cfg;
    const struct ferry_sync_cred *cr;

    (void)state;
    setenv("FERRY_T_HOST", "r.example:5000", 1);
    setenv("FERRY_T_USER", "svc", 1);
    setenv("FERRY_T_PASS", "pa ss", 1);
    setenv("FERRY_T_EMPTY", "", 1);
    cfg = parse_ok("creds:\n"
                   "  - registry: '{{ env \"FERRY_T_HOST\" }}'\n"
                   "    user: \"{{env \\\"FERRY_T_USER\\\"}}\"\n"
                   "    pass: '<{{env `FERRY_T_PASS`}}>{{env \"FERRY_T_EMPTY\"}}'\n"
                   "sync:\n"
                   "  - source: '{{env \"FERRY_T_HOST\"}}/app'\n"
                   "    target: 't.example/{{- /* a comment */ -}}  app'\n"
                   "    type: repository\n"
                   "    referrerTarget: 't.example/{{ env \"FERRY_T_USER\" -}}  /attest'\n"
                   "    tags: {allow: ['{{x}}']}\n");
    cr = ferry_sync_config_creds(cfg, "r.example:5000");
    assert_non_null(cr);
    assert_string_equal(cr->user, "svc");
    assert_string_equal(cr->pass, "<pa ss>");
    assert_string_equal(cfg->entries[0].source, "r.example:5000/app");
    assert_string_equal(cfg->entries[0].target, "t.example/app");
    assert_string_equal(cfg->entries[0].referrer_target, "t.example/svc/attest");
    /* templates are expanded where regsync expands them, not in patterns */
    assert_string_equal(cfg->entries[0].tags.allow[0], "{{x}}");
    ferry_sync_config_free(cfg);

    unsetenv("FERRY_T_NOPE");
    expect_error("creds:\n  - registry: r.example\n    user: '{{env \"FERRY_T_NOPE\"}}'\n",
                 FERRY_E_INVALID,
                 "t.yaml:3:11: {{env \"FERRY_T_NOPE\"}} in user: FERRY_T_NOPE is not set");
    unsetenv("FERRY_T_HOST");
    unsetenv("FERRY_T_USER");
    unsetenv("FERRY_T_PASS");
    unsetenv("FERRY_T_EMPTY");
}

static char *
scratch_dir(void)
{
    char tmpl[] = "/tmp/ferry-syncconfig-XXXXXX";
    char *d = mkdtemp(tmpl);

    assert_non_null(d);
    return ferry_strdup(d);
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
test_template_file(void **state)
{
    char *dir = scratch_dir(), *tok = ferry_asprintf("%s/tok", dir);
    char *ca = ferry_asprintf("%s/ca.pem", dir), *yaml, cwd[PATH_MAX];
    struct ferry_sync_config *cfg;

    (void)state;
    write_file(tok, "  hunter2 \n\n");
    write_file(ca, PEM);
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    /* a relative path is read from the working directory, as regsync does */
    yaml = ferry_asprintf("creds:\n"
                          "  - registry: r.example\n"
                          "    pass: '{{file \"tok\"}}'\n"
                          "    regcert: '{{file \"%s\"}}'\n"
                          "sync: [{source: r.example/a, target: t.example/a, type: repository}]\n",
                          ca);
    cfg = parse_ok(yaml);
    assert_int_equal(chdir(cwd), 0);
    assert_string_equal(cfg->creds[0].pass, "hunter2"); /* white space trimmed like TrimSpace */
    assert_string_equal(cfg->creds[0].regcert, "-----BEGIN CERTIFICATE-----\nMIIB\n"
                                               "-----END CERTIFICATE-----");
    ferry_sync_config_free(cfg);
    ferry_free(yaml);
    unlink(tok);
    unlink(ca);
    rmdir(dir);
    ferry_free(tok);
    ferry_free(ca);
    ferry_free(dir);
}

static void
test_template_errors(void **state)
{
    struct ferry_sync_config *cfg = NULL;
    struct ferry_error *err = NULL;
    const char *text = "creds:\n"
                       "  - registry: r.example\n"
                       "    pass: '{{hunter2}}'\n";

    (void)state;
    expect_error("creds:\n"
                 "  - registry: r.example\n"
                 "    pass: '{{file \"/nonexistent/ferry-test/secret\"}}'\n",
                 FERRY_E_NOT_FOUND,
                 "t.yaml:3:11: {{file \"/nonexistent/ferry-test/secret\"}} in pass: No such file");
    expect_error("sync:\n  - source: '{{ .Sync.Target }}/x'\n", FERRY_E_INVALID,
                 "t.yaml:2:13: template \"{{ .Sync.Target }}\" in source: not supported; ferry "
                 "knows only {{file \"PATH\"}} and {{env \"NAME\"}}");
    expect_error(
        "sync:\n  - source: '{{env \"A\" | lower}}'\n", FERRY_E_INVALID,
        "t.yaml:2:13: template \"{{env \\\"A\\\" | lower}}\" in source: only one argument");
    expect_error("sync:\n  - source: '{{env \"A\"'\n", FERRY_E_INVALID,
                 "t.yaml:2:13: template \"{{env \\\"A\\\"\" in source: no closing \"}}\"");
    expect_error("sync:\n  - source: '{{file}}'\n", FERRY_E_INVALID,
                 "in source: file takes one quoted path");
    expect_error("sync:\n  - source: '{{env \"\"}}'\n", FERRY_E_INVALID,
                 "in source: env takes one quoted name");
    /* a secret field never shows its text, even when it looks like a template */
    assert_int_equal(parse(text, &cfg, &err), -FERRY_E_INVALID);
    assert_non_null(strstr(err->msg, "t.yaml:3:11: template in pass: not supported"));
    assert_null(strstr(err->msg, "hunter2"));
    ferry_error_free(err);
}

/* ---- hostile input ------------------------------------------------------------------- */

static void
test_yaml_errors(void **state)
{
    struct ferry_buf b;
    struct ferry_error *err = NULL;

    (void)state;
    expect_error("sync:\n  - source: a\n   target: b\n", FERRY_E_INVALID,
                 "t.yaml:3:4: did not find expected '-' indicator (while parsing a block "
                 "collection at line 2)");
    expect_error("sync: [\n", FERRY_E_INVALID, "t.yaml:2:1: ");
    expect_error("a: 1\n---\nb: 2\n", FERRY_E_INVALID,
                 "t.yaml:2:1: a second YAML document: a sync config is one document");
    /* nesting */
    ferry_buf_init(&b, 1 << 16);
    FERRY_ASSERT_OK(ferry_buf_appendf(&b, &err, "x-deep: "), &err);
    for (int i = 0; i < 200; i++)
        FERRY_ASSERT_OK(ferry_buf_append(&b, "[", 1, &err), &err);
    expect_error(b.data, FERRY_E_TOO_LARGE, "nested deeper than 64 levels");
    ferry_buf_free(&b);
    /* an alias bomb in an ignored x- key is still counted */
    expect_error("x-a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                 "x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                 "x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                 "x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                 "x-e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                 "x-f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
                 FERRY_E_TOO_LARGE, "more than 200000 YAML nodes");
    expect_error("x-a: &a [*a]\n", FERRY_E_INVALID, "alias *a names no anchor");
}

static void
test_file_errors(void **state)
{
    struct ferry_sync_config *cfg = NULL;
    struct ferry_error *err = NULL;
    char *dir = scratch_dir(), *big = ferry_asprintf("%s/big.yaml", dir);
    FILE *f;

    (void)state;
    assert_int_equal(ferry_sync_config_load("/nonexistent/sync.yaml", &cfg, &err),
                     -FERRY_E_NOT_FOUND);
    assert_non_null(strstr(err->msg, "read sync config /nonexistent/sync.yaml"));
    ferry_error_clear(&err);
    f = fopen(big, "w");
    assert_non_null(f);
    for (unsigned i = 0; i <= FERRY_MAX_CONFIG_FILE / 16; i++)
        fputs("# padding......\n", f);
    fclose(f);
    assert_int_equal(ferry_sync_config_load(big, &cfg, &err), -FERRY_E_TOO_LARGE);
    assert_null(cfg);
    ferry_error_free(err);
    unlink(big);
    rmdir(dir);
    ferry_free(big);
    ferry_free(dir);
}

static void
test_alloc_failures(void **state)
{
    const char *text = "version: 1\n"
                       "x-t: &t {allow: ['3\\.\\d+', '(?i)latest'], deny: ['.*rc.*']}\n"
                       "creds:\n"
                       "  - {registry: docker.io, user: u, pass: p, tls: enabled}\n"
                       "defaults:\n"
                       "  referrers: true\n"
                       "  referrerFilters: [{artifactType: a/b, annotations: {k: v}}]\n"
                       "  parallel: 3\n"
                       "sync:\n"
                       "  - source: r.example/a\n"
                       "    target: t.example/a\n"
                       "    type: repository\n"
                       "    tags: *t\n"
                       "    tagSets: [{allow: [x]}]\n"
                       "    platforms: [linux/amd64]\n"
                       "    fastCopy: true\n";
    static const char *const tags[] = {"3.1", "latest", "3.1-rc1", "x", "y"};
    size_t base = ferry_alloc_current();
    bool done = false;

    (void)state;
    for (unsigned long k = 1; !done && k < 2000; k++) {
        struct ferry_sync_config *cfg = NULL;
        struct ferry_error *err = NULL;
        char **out = NULL;
        size_t n = 0;
        int r;
        ferry_alloc_fail_after(k);
        r = parse(text, &cfg, &err);
        if (r == 0)
            r = ferry_sync_select_tags(&cfg->entries[0], tags, 5, &out, &n, &err);
        ferry_alloc_fail_after(0);
        if (r < 0 && r != -FERRY_E_NOMEM)
            fail_msg("allocation %lu: %d: %s", k, r, err ? err->msg : "no error");
        if (r == 0) {
            assert_int_equal(n, 3);
            done = true;
        }
        ferry_strv_free(out, n);
        ferry_sync_config_free(cfg);
        ferry_error_free(err);
        assert_int_equal(ferry_alloc_current(), base);
    }
    assert_true(done);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sample_regsync),
    cmocka_unit_test(test_sample_local),
    cmocka_unit_test(test_sample_local_needs_env),
    cmocka_unit_test(test_select_table),
    cmocka_unit_test(test_select_sorted_unique),
    cmocka_unit_test(test_digest_tags),
    cmocka_unit_test(test_tag_sets),
    cmocka_unit_test(test_match_limit),
    cmocka_unit_test(test_bad_regex),
    cmocka_unit_test(test_alternation_notice),
    cmocka_unit_test(test_semver_unsupported),
    cmocka_unit_test(test_unknown_key),
    cmocka_unit_test(test_duplicate_key),
    cmocka_unit_test(test_online_keys_notices),
    cmocka_unit_test(test_anchors_and_merge_keys),
    cmocka_unit_test(test_wrong_version),
    cmocka_unit_test(test_type_and_references),
    cmocka_unit_test(test_image_entry),
    cmocka_unit_test(test_defaults_merge),
    cmocka_unit_test(test_creds),
    cmocka_unit_test(test_template_env),
    cmocka_unit_test(test_template_file),
    cmocka_unit_test(test_template_errors),
    cmocka_unit_test(test_yaml_errors),
    cmocka_unit_test(test_file_errors),
    cmocka_unit_test(test_alloc_failures),
};

FERRY_UNIT_MAIN(tests)
