/* Receipts: parse, serialise, round trip, and what the parser refuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "ferry/limits.h"
#include "ferry/receipt.h"
#include "ferry/util.h"

#define D1 "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define MT_INDEX "application/vnd.oci.image.index.v1+json"

#define HEAD                                                                                       \
    "{\"ferryReceiptVersion\":1,\"creator\":\"ferry-import 0.2.0\","                               \
    "\"created\":\"2026-12-04T10:00:00Z\",\"registry\":\"127.0.0.1:5001\","
/* a receipt with the repositories given */
#define REPOS(...) HEAD "\"repositories\":[" __VA_ARGS__ "]}"
/* a push receipt with one result and no repository */
#define RES(source, target, ...)                                                                   \
    HEAD "\"results\":[{\"source\":\"" source "\",\"target\":\"" target "\",\"digest\":\"" D1      \
         "\"," __VA_ARGS__ "}],\"repositories\":[]}"
#define RESULT(...)                                                                                \
    RES("127.0.0.1:5000/corpus/app0:1.0", "127.0.0.1:5001/mirror/corpus/app0:1.0", __VA_ARGS__)

static const char full[] =
    "{\"ferryReceiptVersion\":1,\"creator\":\"ferry-import 0.2.0\","
    "\"created\":\"2026-12-04T10:00:00Z\",\"registry\":\"127.0.0.1:5001\",\"prefix\":\"mirror\","
    "\"bundle\":{\"statement\":\"" D3 "\",\"keyId\":\"0123456789ABCDEF\","
    "\"created\":\"2026-12-03T08:00:00Z\"},"
    "\"results\":["
    "{\"source\":\"127.0.0.1:5000/corpus/app0:1.0\","
    "\"target\":\"127.0.0.1:5001/mirror/corpus/app0:1.0\",\"digest\":\"" D1 "\","
    "\"result\":\"moved\",\"previous\":\"" D2 "\"},"
    "{\"source\":\"127.0.0.1:5000/corpus/app1:2\","
    "\"target\":\"127.0.0.1:5001/mirror/corpus/app1:2\",\"digest\":\"" D2 "\","
    "\"result\":\"refused\",\"reason\":\"tag 2 holds " D3 " \\\"x\\\"\\u00e9\"},"
    "{\"source\":\"127.0.0.1:5000/corpus/app2@" D1 "\","
    "\"target\":\"127.0.0.1:5001/mirror/corpus/app2@" D1 "\",\"digest\":\"" D1 "\","
    "\"result\":\"pushed\"}],"
    "\"repositories\":["
    "{\"name\":\"mirror/corpus/app0\",\"tags\":{\"latest\":\"" D1 "\",\"1.0\":\"" D1 "\"},"
    "\"manifests\":[{\"digest\":\"" D1 "\",\"mediaType\":\"" MT_INDEX "\",\"size\":856},"
    "{\"digest\":\"" D2 "\",\"size\":0}],"
    "\"blobs\":[{\"digest\":\"" D3 "\",\"mediaType\":\"application/octet-stream\","
    "\"size\":9007199254740993}],"
    "\"referrers\":[{\"subject\":\"" D1 "\",\"digest\":\"" D2 "\","
    "\"artifactType\":\"application/spdx+json\"},{\"subject\":\"" D1 "\",\"digest\":\"" D3 "\"}]},"
    "{\"name\":\"mirror/corpus/app1\",\"tags\":{},\"manifests\":[],\"blobs\":[],\"referrers\":[]},"
    "{\"name\":\"mirror/corpus/app2\"}]}";

static void
assert_str_eq_or_null(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void
assert_blobs_equal(const struct ferry_receipt_blob *a, const struct ferry_receipt_blob *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(a[i].digest, b[i].digest);
        assert_int_equal(a[i].size, b[i].size);
        assert_str_eq_or_null(a[i].media_type, b[i].media_type);
    }
}

static void
assert_receipts_equal(const struct ferry_receipt *a, const struct ferry_receipt *b)
{
    assert_int_equal(a->version, b->version);
    assert_string_equal(a->creator, b->creator);
    assert_string_equal(a->created, b->created);
    assert_string_equal(a->registry, b->registry);
    assert_str_eq_or_null(a->prefix, b->prefix);
    assert_str_eq_or_null(a->bundle_statement, b->bundle_statement);
    assert_str_eq_or_null(a->bundle_key_id, b->bundle_key_id);
    assert_str_eq_or_null(a->bundle_created, b->bundle_created);
    assert_int_equal(a->nresults, b->nresults);
    for (size_t i = 0; i < a->nresults; i++) {
        const struct ferry_receipt_result *x = &a->results[i], *y = &b->results[i];
        assert_string_equal(x->source, y->source);
        assert_string_equal(x->target, y->target);
        assert_string_equal(x->digest, y->digest);
        assert_string_equal(x->result, y->result);
        assert_str_eq_or_null(x->previous, y->previous);
        assert_str_eq_or_null(x->reason, y->reason);
    }
    assert_int_equal(a->nrepos, b->nrepos);
    for (size_t i = 0; i < a->nrepos; i++) {
        const struct ferry_receipt_repo *x = &a->repos[i], *y = &b->repos[i];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->ntags, y->ntags);
        for (size_t j = 0; j < x->ntags; j++) {
            assert_string_equal(x->tags[j].tag, y->tags[j].tag);
            assert_string_equal(x->tags[j].digest, y->tags[j].digest);
        }
        assert_int_equal(x->nmanifests, y->nmanifests);
        assert_blobs_equal(x->manifests, y->manifests, x->nmanifests);
        assert_int_equal(x->nblobs, y->nblobs);
        assert_blobs_equal(x->blobs, y->blobs, x->nblobs);
        assert_int_equal(x->nreferrers, y->nreferrers);
        for (size_t j = 0; j < x->nreferrers; j++) {
            assert_string_equal(x->referrers[j].subject, y->referrers[j].subject);
            assert_string_equal(x->referrers[j].digest, y->referrers[j].digest);
            assert_str_eq_or_null(x->referrers[j].artifact_type, y->referrers[j].artifact_type);
        }
    }
}

/* The parser refuses text with code, and the message holds want. */
static void
expect_reject(const char *text, int code, const char *want)
{
    struct ferry_receipt *r = NULL;
    struct ferry_error *err = NULL;
    int rc = ferry_receipt_parse(text, strlen(text), &r, &err);

    if (rc != -code)
        fail_msg("want %d, got %d (%s)", -code, rc, err ? err->msg : "no error");
    assert_null(r);
    assert_non_null(err);
    if (strstr(err->msg, want) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", err->msg, want);
    ferry_error_free(err);
}

static void
test_receipt_round_trip(void **state)
{
    struct ferry_receipt *a = NULL, *b = NULL;
    struct ferry_error *err = NULL;
    char *t1 = NULL, *t2 = NULL;
    size_t n1, n2;

    (void)state;
    FERRY_ASSERT_OK(ferry_receipt_parse(full, strlen(full), &a, &err), &err);
    assert_int_equal(a->version, FERRY_RECEIPT_VERSION);
    assert_string_equal(a->prefix, "mirror");
    assert_string_equal(a->bundle_key_id, "0123456789ABCDEF");
    assert_int_equal(a->nresults, 3);
    assert_string_equal(a->results[0].previous, D2);
    assert_null(a->results[0].reason);
    assert_string_equal(a->results[1].reason, "tag 2 holds " D3 " \"x\"\xc3\xa9");
    assert_int_equal(a->nrepos, 3);
    /* tags in the file's order, not sorted */
    assert_int_equal(a->repos[0].ntags, 2);
    assert_string_equal(a->repos[0].tags[0].tag, "latest");
    assert_string_equal(a->repos[0].tags[1].tag, "1.0");
    assert_int_equal(a->repos[0].nmanifests, 2);
    assert_null(a->repos[0].manifests[1].media_type);
    assert_int_equal(a->repos[0].blobs[0].size, 9007199254740993LL);
    assert_int_equal(a->repos[0].nreferrers, 2);
    assert_null(a->repos[0].referrers[1].artifact_type);
    assert_int_equal(a->repos[2].ntags + a->repos[2].nmanifests + a->repos[2].nblobs, 0);

    FERRY_ASSERT_OK(ferry_receipt_serialize(a, &t1, &n1, &err), &err);
    assert_int_equal(strlen(t1), n1);
    FERRY_ASSERT_OK(ferry_receipt_parse(t1, n1, &b, &err), &err);
    assert_receipts_equal(a, b);
    FERRY_ASSERT_OK(ferry_receipt_serialize(b, &t2, &n2, &err), &err);
    assert_int_equal(n1, n2);
    assert_memory_equal(t1, t2, n1);

    /* the layout: indented by 2, keys in order, a final newline */
    assert_non_null(strstr(t1, "{\n  \"ferryReceiptVersion\": 1,\n  \"creator\": "));
    assert_true(strstr(t1, "\"registry\"") < strstr(t1, "\"prefix\""));
    assert_true(strstr(t1, "\"prefix\"") < strstr(t1, "\"bundle\""));
    assert_true(strstr(t1, "\"bundle\"") < strstr(t1, "\"results\""));
    assert_true(strstr(t1, "\"results\"") < strstr(t1, "\"repositories\""));
    assert_non_null(strstr(t1, "\n    \"statement\": \"" D3 "\",\n    \"keyId\""));
    assert_true(strstr(t1, "\"latest\": ") < strstr(t1, "\"1.0\": "));
    assert_int_equal(t1[n1 - 1], '\n');
    assert_int_equal(t1[n1 - 2], '}');
    assert_null(strchr(t1, '\t'));

    ferry_receipt_free(a);
    ferry_receipt_free(b);
    ferry_free(t1);
    ferry_free(t2);
}

/* An inventory built in memory: no bundle, no results, nothing optional. */
static void
test_receipt_serialize_inventory(void **state)
{
    struct ferry_receipt_tag tags[] = {{(char *)"z", (char *)D1}, {(char *)"a", (char *)D2}};
    struct ferry_receipt_blob blob = {(char *)D3, 7, NULL};
    struct ferry_receipt_repo repo = {(char *)"corpus/app0", tags, 2, NULL, 0, &blob, 1, NULL, 0};
    struct ferry_receipt r = {.version = 1,
                              .creator = (char *)"ferry-import 0.2.0",
                              .created = (char *)"2026-12-04T10:00:00Z",
                              .registry = (char *)"registry.local",
                              .repos = &repo,
                              .nrepos = 1};
    struct ferry_receipt *back = NULL;
    struct ferry_error *err = NULL;
    char *text = NULL;
    size_t len;

    (void)state;
    FERRY_ASSERT_OK(ferry_receipt_serialize(&r, &text, &len, &err), &err);
    assert_null(strstr(text, "\"bundle\""));
    assert_null(strstr(text, "\"results\""));
    assert_null(strstr(text, "\"prefix\""));
    assert_null(strstr(text, "\"mediaType\""));
    assert_non_null(strstr(text, "\"manifests\": []"));
    FERRY_ASSERT_OK(ferry_receipt_parse(text, len, &back, &err), &err);
    assert_receipts_equal(&r, back);
    assert_string_equal(back->repos[0].tags[0].tag, "z");
    ferry_receipt_free(back);
    ferry_free(text);
}

/* What the parser would refuse in a way that would lose data is not written. */
static void
test_receipt_serialize_refuses(void **state)
{
    struct ferry_receipt_tag tags[] = {{(char *)"1", (char *)D1}, {(char *)"1", (char *)D2}};
    struct ferry_receipt_repo repo = {(char *)"a", tags, 2, NULL, 0, NULL, 0, NULL, 0};
    struct ferry_receipt r = {.version = 1,
                              .creator = (char *)"c",
                              .created = (char *)"t",
                              .registry = (char *)"h",
                              .repos = &repo,
                              .nrepos = 1};
    struct ferry_error *err = NULL;
    char *text = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(ferry_receipt_serialize(&r, &text, &len, &err), -FERRY_E_INVALID);
    assert_non_null(strstr(err->msg, "receipt repositories[0].tags: tag 1 listed twice"));
    ferry_error_clear(&err);
    assert_null(text);
    repo.ntags = 1;
    r.creator = NULL;
    assert_int_equal(ferry_receipt_serialize(&r, &text, &len, &err), -FERRY_E_INVALID);
    assert_non_null(strstr(err->msg, "receipt: \"creator\" is missing"));
    ferry_error_clear(&err);
    r.creator = (char *)"\xff";
    assert_int_equal(ferry_receipt_serialize(&r, &text, &len, &err), -FERRY_E_INVALID);
    assert_non_null(strstr(err->msg, "\"creator\" is not UTF-8"));
    ferry_error_free(err);
    assert_null(text);
}

static void
test_receipt_unknown_key_top(void **state)
{
    (void)state;
    expect_reject(HEAD "\"extra\":1,\"repositories\":[]}", FERRY_E_INVALID,
                  "receipt: unknown key \"extra\"");
}

static void
test_receipt_unknown_key_repo(void **state)
{
    (void)state;
    expect_reject(REPOS("{\"name\":\"a\"},{\"name\":\"b\",\"size\":1}"), FERRY_E_INVALID,
                  "receipt repositories[1]: unknown key \"size\"");
    expect_reject(REPOS("{\"name\":\"a\",\"blobs\":[{\"digest\":\"" D1 "\",\"size\":1,"
                        "\"annotations\":{}}]}"),
                  FERRY_E_INVALID, "receipt repositories[0].blobs[0]: unknown key \"annotations\"");
}

static void
test_receipt_version_2(void **state)
{
    (void)state;
    expect_reject("{\"ferryReceiptVersion\":2,\"creator\":\"x\",\"newKey\":1}", FERRY_E_UNSUPPORTED,
                  "version 2");
    expect_reject("{\"creator\":\"x\"}", FERRY_E_INVALID, "receipt: \"ferryReceiptVersion\"");
}

static void
test_receipt_bad_blob_digest(void **state)
{
    (void)state;
    expect_reject(REPOS("{\"name\":\"a\"},{\"name\":\"b\",\"blobs\":["
                        "{\"digest\":\"" D1 "\",\"size\":1},{\"digest\":\"" D2 "\",\"size\":1},"
                        "{\"digest\":\"sha256:AB\",\"size\":1}]}"),
                  FERRY_E_INVALID,
                  "receipt repositories[1].blobs[2]: \"digest\" is not a valid digest");
}

static void
test_receipt_bad_repository(void **state)
{
    (void)state;
    expect_reject(REPOS("{\"name\":\"Mirror/App\"}"), FERRY_E_INVALID,
                  "receipt repositories[0]: \"name\" is not a valid repository: \"Mirror/App\"");
    expect_reject(REPOS("{\"name\":\"a/../b\"}"), FERRY_E_INVALID,
                  "receipt repositories[0]: \"name\" is not a valid repository");
}

static void
test_receipt_bad_tag(void **state)
{
    (void)state;
    expect_reject(REPOS("{\"name\":\"a\",\"tags\":{\"1.0\":\"" D1 "\",\"bad tag\":\"" D1 "\"}}"),
                  FERRY_E_INVALID, "receipt repositories[0].tags: tag \"bad tag\" is not valid");
    expect_reject(REPOS("{\"name\":\"a\",\"tags\":{\"\\u001b[2K\":\"" D1 "\"}}"), FERRY_E_INVALID,
                  "receipt repositories[0].tags: tag \"\\x1b[2K\" is not valid");
    expect_reject(REPOS("{\"name\":\"a\",\"tags\":{\"1.0\":\"sha256:xyz\"}}"), FERRY_E_INVALID,
                  "receipt repositories[0].tags: \"1.0\" is not a valid digest");
}

static void
test_receipt_duplicate_repository(void **state)
{
    (void)state;
    expect_reject(REPOS("{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"a\"}"), FERRY_E_INVALID,
                  "receipt repositories[2]: repository a listed twice");
}

/* A tag is an object key: json_loadb refuses it twice (JSON_REJECT_DUPLICATES). */
static void
test_receipt_duplicate_tag(void **state)
{
    (void)state;
    expect_reject(REPOS("{\"name\":\"a\",\"tags\":{\"1\":\"" D1 "\",\"1\":\"" D2 "\"}}"),
                  FERRY_E_INVALID, "receipt: invalid json at line 1");
    expect_reject(REPOS("{\"name\":\"a\",\"tags\":{\"1\":\"" D1 "\",\"1\":\"" D2 "\"}}"),
                  FERRY_E_INVALID, "duplicate object key");
}

static void
test_receipt_result_deleted(void **state)
{
    (void)state;
    expect_reject(RESULT("\"result\":\"deleted\""), FERRY_E_INVALID,
                  "receipt results[0]: \"result\" \"deleted\" is none of");
}

static void
test_receipt_moved_without_previous(void **state)
{
    (void)state;
    expect_reject(RESULT("\"result\":\"moved\""), FERRY_E_INVALID,
                  "receipt results[0]: a moved tag needs \"previous\"");
    expect_reject(RESULT("\"result\":\"pushed\",\"previous\":\"" D2 "\""), FERRY_E_INVALID,
                  "receipt results[0]: \"previous\" belongs to a moved tag only");
    expect_reject(RESULT("\"result\":\"moved\",\"previous\":\"D2\""), FERRY_E_INVALID,
                  "receipt results[0]: \"previous\" is not a valid digest");
}

static void
test_receipt_refused_without_reason(void **state)
{
    /* any other result may say why too: a downgrade that was allowed */
    static const char moved[] =
        RESULT("\"result\":\"moved\",\"previous\":\"" D2 "\",\"reason\":\"downgrade allowed\"");
    struct ferry_receipt *r = NULL;
    struct ferry_error *err = NULL;

    (void)state;
    expect_reject(RESULT("\"result\":\"refused\""), FERRY_E_INVALID,
                  "receipt results[0]: a refused or waiting image needs \"reason\"");
    expect_reject(RESULT("\"result\":\"waiting\""), FERRY_E_INVALID,
                  "receipt results[0]: a refused or waiting image needs \"reason\"");
    FERRY_ASSERT_OK(ferry_receipt_parse(moved, strlen(moved), &r, &err), &err);
    assert_string_equal(r->results[0].reason, "downgrade allowed");
    ferry_receipt_free(r);
}

static void
test_receipt_control_character(void **state)
{
    (void)state;
    expect_reject(REPOS("{\"name\":\"a\\u0007b\"}"), FERRY_E_INVALID,
                  "receipt repositories[0]: \"name\" holds a control character");
    expect_reject(REPOS("{\"name\":\"a\",\"manifests\":[{\"digest\":\"" D1 "\",\"size\":1,"
                        "\"mediaType\":\"a\\rb\"}]}"),
                  FERRY_E_INVALID,
                  "receipt repositories[0].manifests[0]: \"mediaType\" holds a control character");
    expect_reject(RES("a\\u001b", "h/a:1", "\"result\":\"pushed\""), FERRY_E_INVALID,
                  "receipt results[0]: \"source\" holds a control character");
}

/* The cap is checked before a byte is read: len may exceed the buffer. */
static void
test_receipt_oversize(void **state)
{
    static const char text[] = REPOS("");
    struct ferry_receipt *r = NULL;
    struct ferry_error *err = NULL;

    (void)state;
    FERRY_ASSERT_OK(ferry_receipt_parse(text, strlen(text), &r, &err), &err);
    ferry_receipt_free(r);
    r = NULL;
    assert_int_equal(ferry_receipt_parse(text, (size_t)FERRY_MAX_RECEIPT + 1, &r, &err),
                     -FERRY_E_TOO_LARGE);
    assert_null(r);
    assert_non_null(strstr(err->msg, "receipt: "));
    ferry_error_free(err);
}

static void
test_receipt_negative_size(void **state)
{
    (void)state;
    expect_reject(REPOS("{\"name\":\"a\",\"manifests\":[{\"digest\":\"" D1 "\",\"size\":-1}]}"),
                  FERRY_E_INVALID,
                  "receipt repositories[0].manifests[0]: \"size\" is not a non-negative integer");
    expect_reject(REPOS("{\"name\":\"a\",\"blobs\":[{\"digest\":\"" D1 "\",\"size\":1.5}]}"),
                  FERRY_E_INVALID, "receipt repositories[0].blobs[0]: \"size\"");
}

/* The rest of the top level and the bundle. */
static void
test_receipt_rejects_header(void **state)
{
#define VER "{\"ferryReceiptVersion\":1,\"creator\":\"c\",\"created\":\"t\","
    static const struct {
        const char *text, *want;
    } bad[] = {
        {VER "\"repositories\":[]}", "receipt: missing \"registry\""},
        {VER "\"registry\":\"h/x\",\"repositories\":[]}", "\"registry\" is not a host[:port]"},
        {VER "\"registry\":\"\",\"repositories\":[]}", "\"registry\" is not a host[:port]"},
        {VER "\"registry\":\"h\\n\",\"repositories\":[]}",
         "receipt: \"registry\" holds a control character"},
        {VER "\"registry\":\"h\",\"prefix\":\"Bad\",\"repositories\":[]}",
         "receipt: \"prefix\" is not a valid repository"},
        {VER "\"registry\":\"h\"}", "receipt: \"repositories\" is missing or not an array"},
        {VER "\"registry\":\"h\",\"repositories\":{}}", "\"repositories\" is missing"},
        {VER "\"registry\":\"h\",\"repositories\":[1]}", "receipt repositories[0]: not an object"},
        {"{\"ferryReceiptVersion\":1,\"created\":\"t\",\"registry\":\"h\",\"repositories\":[]}",
         "receipt: missing \"creator\""},
        {VER "\"registry\":\"h\",\"bundle\":{\"statement\":\"" D1 "\",\"created\":\"t\"},"
             "\"repositories\":[]}",
         "receipt bundle: missing \"keyId\""},
        {VER "\"registry\":\"h\",\"bundle\":{\"statement\":\"" D1
             "\",\"keyId\":\"0123456789abcdef\","
             "\"created\":\"t\"},\"repositories\":[]}",
         "receipt bundle: \"keyId\" is not 16 upper-case hex digits"},
        {VER "\"registry\":\"h\",\"bundle\":{\"statement\":\"x\",\"keyId\":\"0123456789ABCDEF\","
             "\"created\":\"t\"},\"repositories\":[]}",
         "receipt bundle: \"statement\" is not a valid digest"},
        {VER "\"registry\":\"h\",\"results\":{},\"repositories\":[]}",
         "receipt: \"results\" is not an array"},
        {VER "\"registry\":\"h\",\"repositories\":[{\"name\":\"a\",\"referrers\":[{\"subject\":"
             "\"" D1 "\",\"digest\":\"" D1 "\"}]}]}",
         "receipt repositories[0].referrers[0]: " D1 " is its own subject"},
        {"[]", "receipt: not a json object"},
        {"{\"a\":", "receipt: invalid json at line 1"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_reject(bad[i].text, FERRY_E_INVALID, bad[i].want);
    expect_reject(RES("h/a:1", "::", "\"result\":\"pushed\""), FERRY_E_INVALID,
                  "receipt results[0]: \"target\" is not a reference");
#undef VER
}

static void
test_receipt_repo_lookup(void **state)
{
    struct ferry_receipt *r = NULL;
    struct ferry_error *err = NULL;
    const struct ferry_receipt_repo *rp;

    (void)state;
    FERRY_ASSERT_OK(ferry_receipt_parse(full, strlen(full), &r, &err), &err);
    rp = ferry_receipt_repo(r, "mirror/corpus/app1");
    assert_non_null(rp);
    assert_ptr_equal(rp, &r->repos[1]);
    assert_string_equal(ferry_receipt_repo(r, "mirror/corpus/app0")->tags[1].tag, "1.0");
    assert_null(ferry_receipt_repo(r, "corpus/app0"));
    assert_null(ferry_receipt_repo(r, "mirror/corpus"));
    assert_null(ferry_receipt_repo(NULL, "a"));
    ferry_receipt_free(r);
    ferry_receipt_free(NULL);
}

/* Every allocation that fails is reported as FERRY_E_NOMEM and leaks nothing. */
static void
test_receipt_out_of_memory(void **state)
{
    size_t base = ferry_alloc_current();
    bool done = false;

    (void)state;
    for (unsigned long k = 1; !done && k < 5000; k++) {
        struct ferry_receipt *r = NULL;
        struct ferry_error *err = NULL;
        char *text = NULL;
        size_t len;
        int rc;
        ferry_alloc_fail_after(k);
        rc = ferry_receipt_parse(full, strlen(full), &r, &err);
        if (rc == 0)
            rc = ferry_receipt_serialize(r, &text, &len, &err);
        ferry_alloc_fail_after(0);
        if (rc < 0 && rc != -FERRY_E_NOMEM)
            fail_msg("allocation %lu: %d: %s", k, rc, err ? err->msg : "no error");
        done = rc == 0;
        ferry_free(text);
        ferry_receipt_free(r);
        ferry_error_free(err);
        assert_int_equal(ferry_alloc_current(), base);
    }
    assert_true(done);
}

/* Many repositories, tags and blobs: parsed in linear time (the ctest
 * timeout would catch a quadratic walk). */
static void
test_receipt_large(void **state)
{
    static const char head[] = HEAD "\"repositories\":[";
    struct ferry_buf b;
    struct ferry_receipt *r = NULL;
    struct ferry_error *err = NULL;
    const size_t nrepos = 20000;

    (void)state;
    ferry_buf_init(&b, FERRY_MAX_RECEIPT);
    FERRY_ASSERT_OK(ferry_buf_append(&b, head, strlen(head), &err), &err);
    for (size_t i = 0; i < nrepos; i++)
        FERRY_ASSERT_OK(ferry_buf_appendf(&b, &err,
                                          "%s{\"name\":\"r/%zu\",\"tags\":{\"t%zu\":\"" D1
                                          "\"},\"blobs\":[{\"digest\":\"" D2 "\",\"size\":%zu}]}",
                                          i ? "," : "", i, i, i),
                        &err);
    FERRY_ASSERT_OK(ferry_buf_append(&b, "]}", 2, &err), &err);
    FERRY_ASSERT_OK(ferry_receipt_parse(b.data, b.len, &r, &err), &err);
    assert_int_equal(r->nrepos, nrepos);
    assert_non_null(ferry_receipt_repo(r, "r/19999"));
    ferry_receipt_free(r);
    ferry_buf_free(&b);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_receipt_round_trip),
    cmocka_unit_test(test_receipt_serialize_inventory),
    cmocka_unit_test(test_receipt_serialize_refuses),
    cmocka_unit_test(test_receipt_unknown_key_top),
    cmocka_unit_test(test_receipt_unknown_key_repo),
    cmocka_unit_test(test_receipt_version_2),
    cmocka_unit_test(test_receipt_bad_blob_digest),
    cmocka_unit_test(test_receipt_bad_repository),
    cmocka_unit_test(test_receipt_bad_tag),
    cmocka_unit_test(test_receipt_duplicate_repository),
    cmocka_unit_test(test_receipt_duplicate_tag),
    cmocka_unit_test(test_receipt_result_deleted),
    cmocka_unit_test(test_receipt_moved_without_previous),
    cmocka_unit_test(test_receipt_refused_without_reason),
    cmocka_unit_test(test_receipt_control_character),
    cmocka_unit_test(test_receipt_oversize),
    cmocka_unit_test(test_receipt_negative_size),
    cmocka_unit_test(test_receipt_rejects_header),
    cmocka_unit_test(test_receipt_repo_lookup),
    cmocka_unit_test(test_receipt_out_of_memory),
    cmocka_unit_test(test_receipt_large),
};
FERRY_UNIT_MAIN(tests)
