/* Manifest model and signed statement. */
#include <stdio.h>
#include <string.h>

#include "unit.h"
#include "ferry/manifest.h"
#include "ferry/statement.h"
#include "ferry/util.h"

#define EMPTY "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

static const char oci_manifest[] =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"artifactType\":\"application/spdx+json\","
    "\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":\"" EMPTY
    "\",\"size\":2},"
    "\"layers\":[{\"mediaType\":\"application/spdx+json\",\"digest\":\"" EMPTY "\",\"size\":2,"
    "\"annotations\":{\"a\":\"b\"}}],"
    "\"subject\":{\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"digest\":\"" EMPTY
    "\",\"size\":99}}";

static void
test_manifest_oci_artifact(void **state)
{
    struct ferry_manifest *m = NULL;
    struct ferry_error *err = NULL;

    (void)state;
    FERRY_ASSERT_OK(ferry_manifest_parse(oci_manifest, strlen(oci_manifest), NULL, "t", &m, &err),
                    &err);
    assert_int_equal(m->kind, FERRY_KIND_IMAGE);
    assert_string_equal(m->media_type, FERRY_MT_OCI_MANIFEST);
    assert_string_equal(m->artifact_type, "application/spdx+json");
    assert_int_equal(m->nlayers, 1);
    assert_non_null(m->layers[0].annotations);
    assert_non_null(m->subject);
    assert_int_equal(m->subject->size, 99);
    ferry_manifest_free(m);
}

static void
test_manifest_index_platforms(void **state)
{
    static const char idx[] =
        "{\"schemaVersion\":2,\"mediaType\":\"application/"
        "vnd.docker.distribution.manifest.list.v2+json\","
        "\"manifests\":[{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
        "\"digest\":\"" EMPTY
        "\",\"size\":2,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\","
        "\"variant\":\"v7\"}}]}";
    struct ferry_manifest *m = NULL;
    struct ferry_error *err = NULL;

    (void)state;
    FERRY_ASSERT_OK(ferry_manifest_parse(idx, strlen(idx), FERRY_MT_DOCKER_LIST, "t", &m, &err),
                    &err);
    assert_int_equal(m->kind, FERRY_KIND_INDEX);
    assert_int_equal(m->nmanifests, 1);
    assert_string_equal(m->manifests[0].platform, "linux/arm/v7");
    ferry_manifest_free(m);
}

static void
test_manifest_rejects(void **state)
{
    static const char *bad[] = {
        "{\"schemaVersion\":1,\"config\":{}}",
        "{\"schemaVersion\":2,\"schemaVersion\":2,\"manifests\":[]}", /* duplicate key */
        "{\"schemaVersion\":2,\"manifests\":[],\"layers\":[]}",
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x/"
        "y\",\"digest\":\"sha256:AB\",\"size\":1}]}",
        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x/y\",\"digest\":\"" EMPTY
        "\",\"size\":-1}]}",
        "[1,2]",
        "{\"schemaVersion\":2,",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ferry_manifest *m = NULL;
        struct ferry_error *err = NULL;
        assert_true(ferry_manifest_parse(bad[i], strlen(bad[i]), NULL, "bad", &m, &err) < 0);
        assert_null(m);
        assert_non_null(err);
        assert_non_null(strstr(err->msg, "bad"));
        ferry_error_free(err);
    }
}

static void
test_manifest_media_type_conflict(void **state)
{
    struct ferry_manifest *m = NULL;
    struct ferry_error *err = NULL;

    (void)state;
    assert_int_equal(
        ferry_manifest_parse(oci_manifest, strlen(oci_manifest), FERRY_MT_OCI_INDEX, "t", &m, &err),
        -FERRY_E_INVALID);
    ferry_error_free(err);
}

static void
test_statement_round_trip(void **state)
{
    struct ferry_stmt_member members[2] = {
        {(char *)"oci-layout", (char *)EMPTY, 2, NULL},
        {(char *)"blobs/sha256/44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
         (char *)EMPTY, 2, (char *)FERRY_MT_OCI_EMPTY},
    };
    char *plats[] = {(char *)"linux/amd64", (char *)"linux/arm64"};
    struct ferry_stmt_image img = {(char *)"127.0.0.1:5000/a/b:1",
                                   (char *)"127.0.0.1:5000",
                                   (char *)"a/b",
                                   (char *)"1",
                                   (char *)EMPTY,
                                   (char *)FERRY_MT_OCI_INDEX,
                                   2,
                                   4,
                                   plats,
                                   2};
    struct ferry_statement s = {1, (char *)"t", (char *)"2026-01-01T00:00:00Z", &img, 1, members,
                                2};
    struct ferry_statement *back = NULL;
    struct ferry_error *err = NULL;
    char *text = NULL;
    size_t len;

    (void)state;
    FERRY_ASSERT_OK(ferry_statement_serialize(&s, &text, &len, &err), &err);
    FERRY_ASSERT_OK(ferry_statement_parse(text, len, &back, &err), &err);
    assert_int_equal(back->nmembers, 2);
    assert_string_equal(back->members[1].media_type, FERRY_MT_OCI_EMPTY);
    assert_int_equal(back->nimages, 1);
    assert_string_equal(back->images[0].source, "127.0.0.1:5000/a/b:1");
    assert_int_equal(back->images[0].nplatforms, 2);
    assert_string_equal(back->images[0].platforms[1], "linux/arm64");
    ferry_statement_free(back);
    ferry_free(text);
}

static void
test_statement_rejects(void **state)
{
    static const char *bad[] = {
        "{\"ferryBundleVersion\":1,\"creator\":\"x\",\"created\":\"y\",\"images\":[],\"members\":[]"
        ",\"x\":1}",
        "{\"ferryBundleVersion\":1,\"creator\":\"x\",\"created\":\"y\",\"images\":[],\"members\":["
        "{\"path\":\"blobs/sha256/00\",\"digest\":\"" EMPTY "\",\"size\":2}]}",
        "{\"ferryBundleVersion\":1,\"creator\":\"x\",\"created\":\"y\",\"images\":[],\"members\":["
        "{\"path\":\"oci-layout\",\"digest\":\"" EMPTY "\",\"size\":2},"
        "{\"path\":\"oci-layout\",\"digest\":\"" EMPTY "\",\"size\":2}]}",
        "{\"ferryBundleVersion\":1,\"creator\":\"x\",\"created\":\"y\",\"images\":[],\"members\":["
        "{\"path\":\"../etc/passwd\",\"digest\":\"" EMPTY "\",\"size\":2}]}",
        "not json",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ferry_statement *s = NULL;
        struct ferry_error *err = NULL;
        assert_int_equal(ferry_statement_parse(bad[i], strlen(bad[i]), &s, &err), -FERRY_E_BUNDLE);
        assert_null(s);
        ferry_error_free(err);
    }
}

/* What push would use is checked when the statement is read: a tag, a
 * repository or a target push could not use, a referrer that is its own
 * subject or listed twice for one image. */
static void
test_statement_rejects_names(void **state)
{
#define HEAD                                                                                       \
    "{\"ferryBundleVersion\":1,\"creator\":\"x\",\"created\":\"y\",\"members\":[],\"images\":[{"   \
    "\"source\":\"r.io/a:1\",\"registry\":\"r.io\",\"digest\":\"" EMPTY "\","                      \
    "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":2,\"total\":2,"
#define REF(subject, digest, extra)                                                                \
    "{\"subject\":\"" subject "\",\"digest\":\"" digest "\",\"mediaType\":\"application/"          \
    "vnd.oci.image.manifest.v1+json\",\"size\":2,\"source\":\"r.io/a\",\"image\":0" extra "}"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
    static const struct {
        const char *text, *want;
    } bad[] = {
        {HEAD "\"repository\":\"a\",\"tag\":\"bad tag/../x\"}]}",
         "tag \"bad tag/../x\" is not valid"},
        {HEAD "\"repository\":\"a\",\"tag\":\"\\u001b[2K\"}]}", "tag \"\\x1b[2K\" is not valid"},
        {HEAD "\"repository\":\"A/../b\",\"tag\":\"1\"}]}", "repository \"A/../b\" is not valid"},
        {HEAD "\"repository\":\"a\",\"target\":\"r.io/UPPER:1\"}]}", "target"},
        {HEAD "\"repository\":\"a\"}],\"referrers\":[" REF(EMPTY, EMPTY, "") "]}",
         "is its own subject"},
        {HEAD
         "\"repository\":\"a\"}],\"referrers\":[" REF(EMPTY, D2, "") "," REF(EMPTY, D2, "") "]}",
         "listed twice"},
        {HEAD "\"repository\":\"a\"}],\"referrers\":[" REF(EMPTY, D2, ",\"target\":\"::\"") "]}",
         "target"},
        {HEAD "\"repository\":\"a\",\"platforms\":[\"linux/\\u001b[2K\"]}]}",
         "\"platforms\" holds a control character"},
        {HEAD "\"repository\":\"a\"}],\"referrers\":[" REF(EMPTY, D2,
                                                           ",\"artifactType\":\"a\\rb\"") "]}",
         "\"artifactType\" holds a control character"},
    };
    static const char good[] = HEAD "\"repository\":\"a\",\"tag\":\"1.0\",\"target\":\"h:5000/m/a:"
                                    "1\"}],\"referrers\":[" REF(EMPTY, D2, "") "]}";
    struct ferry_statement *s = NULL;
    struct ferry_error *err = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ferry_statement_parse(bad[i].text, strlen(bad[i].text), &s, &err),
                         -FERRY_E_BUNDLE);
        assert_null(s);
        if (strstr(err->msg, bad[i].want) == NULL)
            fail_msg("case %zu: \"%s\" does not contain \"%s\"", i, err->msg, bad[i].want);
        ferry_error_clear(&err);
    }
    FERRY_ASSERT_OK(ferry_statement_parse(good, strlen(good), &s, &err), &err);
    ferry_statement_free(s);
#undef HEAD
#undef REF
#undef D2
}

static void
test_statement_future_version(void **state)
{
    static const char v4[] = "{\"ferryBundleVersion\":5}";
    struct ferry_statement *s = NULL;
    struct ferry_error *err = NULL;

    (void)state;
    assert_int_equal(ferry_statement_parse(v4, strlen(v4), &s, &err), -FERRY_E_UNSUPPORTED);
    assert_non_null(strstr(err->msg, "version 5"));
    ferry_error_free(err);
}

/* cosign's tag attachments (version 4): a referrer with its attachment tag
 * round-trips and makes the statement version 4; a tag that is not its
 * subject's, a tag in an older version, and a version 4 without one are
 * refused. */
static void
test_statement_tags(void **state)
{
#define SUBJ "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define SIG                                                                                        \
    "sha256:"                                                                                      \
    "1111111111111111111111111111111111111111111111111111111111111111"
#define HEAD(v)                                                                                    \
    "{\"ferryBundleVersion\":" v ",\"creator\":\"t\",\"created\":\"2026-11-27T00:00:00Z\","        \
    "\"images\":[{\"source\":\"127.0.0.1:5000/a:1\",\"registry\":\"127.0.0.1:5000\","              \
    "\"repository\":\"a\",\"tag\":\"1\",\"digest\":\"" SUBJ "\",\"mediaType\":"                    \
    "\"application/vnd.oci.image.manifest.v1+json\",\"size\":2,\"total\":4}],\"members\":[],"      \
    "\"referrers\":[{\"subject\":\"" SUBJ "\",\"digest\":\"" SIG "\",\"mediaType\":"               \
    "\"application/vnd.oci.image.manifest.v1+json\",\"size\":9,\"source\":\"127.0.0.1:5000/a\","   \
    "\"image\":0"
    static const char ok[] =
        HEAD("4") ",\"tag\":\"sha256-"
                  "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a.sig\"}]}";
    static const char other[] =
        HEAD("4") ",\"tag\":\"sha256-"
                  "1111111111111111111111111111111111111111111111111111111111111111.sig\"}]}";
    static const char kind[] =
        HEAD("4") ",\"tag\":\"sha256-"
                  "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a.exe\"}]}";
    static const char old[] =
        HEAD("1") ",\"tag\":\"sha256-"
                  "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a.sig\"}]}";
    static const char none[] = HEAD("4") "}]}";
    /* one tag, two manifests: which would the push set? */
    static const char twice[] =
        HEAD("4") ",\"tag\":\"sha256-"
                  "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a.sig\"},"
                  "{\"subject\":\"" SUBJ "\",\"digest\":\"sha256:"
                  "2222222222222222222222222222222222222222222222222222222222222222\","
                  "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"size\":9,"
                  "\"source\":\"127.0.0.1:5000/a\",\"image\":0,"
                  "\"tag\":\"sha256-"
                  "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a.sig\"}]}";
    struct ferry_statement *s = NULL;
    struct ferry_error *err = NULL;
    char *text = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(ferry_statement_parse(ok, strlen(ok), &s, &err), 0);
    assert_string_equal(
        s->referrers[0].tag,
        "sha256-44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a.sig");
    assert_true(ferry_statement_has_tags(s));
    assert_int_equal(ferry_statement_serialize(s, &text, &len, &err), 0);
    assert_non_null(strstr(text, "\"ferryBundleVersion\":4"));
    assert_non_null(strstr(text, "\"tag\":\"sha256-44136fa3"));
    ferry_free(text);
    /* without the tag it is an ordinary referrer again: version 1 */
    ferry_free(s->referrers[0].tag);
    s->referrers[0].tag = NULL;
    assert_false(ferry_statement_has_tags(s));
    assert_int_equal(ferry_statement_serialize(s, &text, &len, &err), 0);
    assert_non_null(strstr(text, "\"ferryBundleVersion\":1"));
    ferry_free(text);
    ferry_statement_free(s);
    s = NULL;
    assert_int_equal(ferry_statement_parse(other, strlen(other), &s, &err), -FERRY_E_BUNDLE);
    assert_non_null(strstr(err->msg, "is not a cosign attachment tag of " SUBJ));
    ferry_error_clear(&err);
    assert_int_equal(ferry_statement_parse(kind, strlen(kind), &s, &err), -FERRY_E_BUNDLE);
    assert_non_null(strstr(err->msg, "not a cosign attachment tag"));
    ferry_error_clear(&err);
    assert_int_equal(ferry_statement_parse(old, strlen(old), &s, &err), -FERRY_E_BUNDLE);
    assert_non_null(strstr(err->msg, "needs ferryBundleVersion 4"));
    ferry_error_clear(&err);
    assert_int_equal(ferry_statement_parse(none, strlen(none), &s, &err), -FERRY_E_BUNDLE);
    assert_non_null(strstr(err->msg, "version 4 without a tag-based attachment"));
    ferry_error_clear(&err);
    assert_int_equal(ferry_statement_parse(twice, strlen(twice), &s, &err), -FERRY_E_BUNDLE);
    assert_non_null(strstr(err->msg, ".sig in a names " SIG " and sha256:2222"));
    ferry_error_clear(&err);
    assert_null(s);
#undef HEAD
#undef SIG
#undef SUBJ
}

/* A delta bundle (version 2): bases and external blobs round-trip; what an
 * importer could not trust is refused. */
static void
test_statement_delta(void **state)
{
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define MEMBERS                                                                                    \
    "\"members\":[{\"path\":\"blobs/sha256/"                                                       \
    "3333333333333333333333333333333333333333333333333333333333333333\",\"digest\":\"" D3          \
    "\",\"size\":2}],\"images\":[]"
#define BASE                                                                                       \
    "\"bases\":[{\"kind\":\"receipt\",\"digest\":\"" EMPTY                                         \
    "\",\"created\":\"2026-12-01T00:00:00Z\","                                                     \
    "\"keyId\":\"0123456789ABCDEF\",\"name\":\"r1.json\",\"registry\":\"h:5000\",\"bundle\":\"" D2 \
    "\"}]"
#define EXT(d, extra) "{\"digest\":\"" d "\",\"size\":7,\"repository\":\"m/a\",\"base\":0" extra "}"
#define V(n) "{\"ferryBundleVersion\":" #n ",\"creator\":\"x\",\"created\":\"y\","
    static const struct {
        const char *text, *want;
    } bad[] = {
        {V(1) MEMBERS "," BASE ",\"external\":[" EXT(D2, "") "]}", "need ferryBundleVersion 2"},
        {V(2) MEMBERS "}", "version 2 without bases"},
        {V(2) MEMBERS "," BASE ",\"external\":[" EXT(D3, "") "]}", "also a member"},
        {V(2) MEMBERS "," BASE ",\"external\":[" EXT(D2, "") "," EXT(D2, "") "]}", "listed twice"},
        {V(2) MEMBERS "," BASE ",\"external\":[" EXT(
             D2, ",\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"") "]}",
         "manifests always travel"},
        {V(2) MEMBERS "," BASE ",\"external\":[{\"digest\":\"" D2
                      "\",\"size\":7,\"repository\":\"m/a\",\"base\":1}]}",
         "base 1 does not exist"},
        {V(2) MEMBERS ",\"bases\":[{\"kind\":\"tape\",\"digest\":\"" EMPTY
                      "\",\"created\":\"z\"}]}",
         "neither bundle nor receipt"},
        {V(2) MEMBERS "," BASE ",\"external\":[{\"digest\":\"" D2
                      "\",\"size\":7,\"repository\":\"M/../a\",\"base\":0}]}",
         "is not valid"},
    };
    static const char good[] = V(2) MEMBERS "," BASE ",\"external\":[" EXT(D2, "") "]}";
    struct ferry_statement *s = NULL, *s2 = NULL;
    struct ferry_error *err = NULL;
    char *text = NULL;
    size_t len = 0;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ferry_statement_parse(bad[i].text, strlen(bad[i].text), &s, &err),
                         -FERRY_E_BUNDLE);
        assert_null(s);
        if (strstr(err->msg, bad[i].want) == NULL)
            fail_msg("case %zu: \"%s\" does not contain \"%s\"", i, err->msg, bad[i].want);
        ferry_error_clear(&err);
    }
    FERRY_ASSERT_OK(ferry_statement_parse(good, strlen(good), &s, &err), &err);
    assert_int_equal(s->version, 2);
    assert_int_equal(s->nbases, 1);
    assert_string_equal(s->bases[0].bundle, D2);
    assert_int_equal(s->nexternals, 1);
    assert_string_equal(s->externals[0].repository, "m/a");
    FERRY_ASSERT_OK(ferry_statement_serialize(s, &text, &len, &err), &err);
    assert_non_null(strstr(text, "\"ferryBundleVersion\":2"));
    FERRY_ASSERT_OK(ferry_statement_parse(text, len, &s2, &err), &err);
    assert_int_equal(s2->nexternals, 1);
    assert_string_equal(s2->externals[0].digest, D2);
    assert_int_equal(s2->externals[0].size, 7);
    assert_string_equal(s2->bases[0].key_id, "0123456789ABCDEF");
    ferry_free(text);
    ferry_statement_free(s);
    ferry_statement_free(s2);
#undef D2
#undef D3
#undef MEMBERS
#undef BASE
#undef EXT
#undef V
}

/* A volume of a set (version 3): what is refused before anything else, and
 * a set that round-trips, every volume with the same set id, which changes
 * with anything else the statement says. */
static void
test_statement_volume(void **state)
{
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define H3 "3333333333333333333333333333333333333333333333333333333333333333"
#define VOL(num, count) ",\"volume\":{\"set\":\"" D2 "\",\"number\":" #num ",\"count\":" #count "}"
#define V(n) "{\"ferryBundleVersion\":" #n ",\"creator\":\"x\",\"created\":\"y\",\"images\":[],"
#define BLOB(extra) "{\"path\":\"blobs/sha256/" H3 "\",\"digest\":\"" D3 "\",\"size\":4" extra "}"
#define PART(n, off, size, vol)                                                                    \
    "{\"path\":\"parts/sha256/" H3 "." #n "\",\"digest\":\"" D2 "\",\"size\":" #size               \
    ",\"volume\":" #vol ",\"blob\":\"" D3 "\",\"offset\":" #off "}"
#define SPLIT(parts) ",\"split\":[{\"digest\":\"" D3 "\",\"size\":4,\"parts\":" #parts "}]"
    static const struct {
        const char *text, *want;
    } bad[] = {
        {V(1) "\"members\":[" BLOB(",\"volume\":1") "]}", "belong to volumes of a set"},
        {V(3) "\"members\":[" BLOB(",\"volume\":1") "]}", "is ferryBundleVersion 3"},
        {V(1) "\"members\":[" BLOB("") "]" VOL(1, 2) "}", "is ferryBundleVersion 3"},
        {V(3) "\"members\":[" BLOB(",\"volume\":1") "]" VOL(3, 2) "}", "is not a volume of"},
        {V(3) "\"members\":[" BLOB(",\"volume\":3") "]" VOL(1, 2) "}", "is not one of the set's 2"},
        {V(3) "\"members\":[" BLOB("") "]" VOL(1, 2) "}", "is in no volume"},
        {V(3) "\"members\":[" BLOB(",\"volume\":1,\"mediaType\":"
                                   "\"application/vnd.oci.image.manifest.v1+json\"") "]" VOL(1,
                                                                                             2) "}",
         "must be in every volume"},
        {V(3) "\"members\":[" PART(1, 0, 2, 1) "," PART(2, 2, 2, 2) "]" VOL(1, 2) "}",
         "is no split blob"},
        {V(3) "\"members\":[" PART(1, 0, 2, 1) "]" SPLIT(2) VOL(1, 2) "}",
         "its parts cover 2 of 4"},
        {V(3) "\"members\":[" PART(1, 0, 2, 1) "," PART(2, 3, 1, 2) "]" SPLIT(2) VOL(1, 2) "}",
         "not part 2 of"},
        {V(3) "\"members\":[" PART(2, 0, 2, 1) "," PART(1, 2, 2, 2) "]" SPLIT(2) VOL(1, 2) "}",
         "not part 1 of"},
        {V(3) "\"members\":[" BLOB(",\"volume\":1") "]" SPLIT(2) VOL(1, 2) "}",
         "is also a whole member"},
        {V(3) "\"members\":[" PART(1, 0, 2, 1) "," PART(2, 2, 2, 2) "]" SPLIT(2) VOL(1, 2) "}",
         "names set " D2 ", but what it says is set"},
    };
    struct ferry_statement st = {0}, *s = NULL, *s2 = NULL;
    struct ferry_stmt_member m[3] = {0};
    struct ferry_stmt_split x = {0};
    struct ferry_error *err = NULL;
    char set[72], *text = NULL, *text2 = NULL, *p;
    size_t len = 0, len2 = 0;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ferry_statement_parse(bad[i].text, strlen(bad[i].text), &s, &err),
                         -FERRY_E_BUNDLE);
        assert_null(s);
        if (strstr(err->msg, bad[i].want) == NULL)
            fail_msg("case %zu: \"%s\" does not contain \"%s\"", i, err->msg, bad[i].want);
        ferry_error_clear(&err);
    }
    /* a set of two: the index in both, a blob in parts across them */
    st.creator = "x";
    st.created = "y";
    m[0].path = "index.json";
    m[0].digest = EMPTY;
    m[0].size = 2;
    m[1].path = "parts/sha256/" H3 ".1";
    m[1].digest = D2;
    m[1].size = 3;
    m[1].volume = 1;
    m[1].blob = D3;
    m[2].path = "parts/sha256/" H3 ".2";
    m[2].digest = EMPTY;
    m[2].size = 1;
    m[2].volume = 2;
    m[2].blob = D3;
    m[2].offset = 3;
    x.digest = D3;
    x.size = 4;
    x.parts = 2;
    st.members = m;
    st.nmembers = 3;
    st.splits = &x;
    st.nsplits = 1;
    st.volumes = 2;
    FERRY_ASSERT_OK(ferry_statement_volume_set(&st, set, &err), &err);
    st.volume_set = set;
    st.volume = 1;
    FERRY_ASSERT_OK(ferry_statement_serialize(&st, &text, &len, &err), &err);
    assert_non_null(strstr(text, "\"ferryBundleVersion\":3"));
    FERRY_ASSERT_OK(ferry_statement_parse(text, len, &s, &err), &err);
    assert_int_equal(s->volume, 1);
    assert_int_equal(s->volumes, 2);
    assert_string_equal(s->volume_set, set);
    assert_int_equal(s->nsplits, 1);
    assert_int_equal(s->members[2].offset, 3);
    assert_true(ferry_stmt_member_here(s, &s->members[0]));
    assert_true(ferry_stmt_member_here(s, &s->members[1]));
    assert_false(ferry_stmt_member_here(s, &s->members[2]));
    /* volume 2 says the same but its number: the same set */
    st.volume = 2;
    FERRY_ASSERT_OK(ferry_statement_serialize(&st, &text2, &len2, &err), &err);
    FERRY_ASSERT_OK(ferry_statement_parse(text2, len2, &s2, &err), &err);
    assert_string_equal(s2->volume_set, s->volume_set);
    assert_true(ferry_stmt_member_here(s2, &s2->members[2]));
    ferry_statement_free(s2);
    s2 = NULL;
    /* anything else changed (here: a part's digest) is another set */
    p = strstr(text2, D2);
    assert_non_null(p);
    p[strlen("sha256:")] = '4';
    assert_int_equal(ferry_statement_parse(text2, len2, &s2, &err), -FERRY_E_BUNDLE);
    assert_non_null(strstr(err->msg, "but what it says is set"));
    ferry_error_clear(&err);
    assert_null(ferry_stmt_part_path("nodigest", 1));
    ferry_free(text);
    ferry_free(text2);
    ferry_statement_free(s);
#undef D2
#undef D3
#undef H3
#undef VOL
#undef V
#undef BLOB
#undef PART
#undef SPLIT
}

static void
test_strmap_grows(void **state)
{
    struct ferry_strmap *m = ferry_strmap_new();
    char key[32];
    int i;

    (void)state;
    for (i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(ferry_strmap_put(m, key, (void *)(intptr_t)(i + 1)), 1);
    }
    assert_int_equal(ferry_strmap_put(m, "k5", (void *)1), 0);
    assert_int_equal(ferry_strmap_count(m), 1000);
    for (i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal((intptr_t)ferry_strmap_get(m, key), i + 1);
    }
    assert_null(ferry_strmap_get(m, "absent"));
    ferry_strmap_free(m);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_manifest_oci_artifact),
    cmocka_unit_test(test_manifest_index_platforms),
    cmocka_unit_test(test_manifest_rejects),
    cmocka_unit_test(test_manifest_media_type_conflict),
    cmocka_unit_test(test_statement_round_trip),
    cmocka_unit_test(test_statement_rejects),
    cmocka_unit_test(test_statement_rejects_names),
    cmocka_unit_test(test_statement_future_version),
    cmocka_unit_test(test_statement_delta),
    cmocka_unit_test(test_statement_volume),
    cmocka_unit_test(test_statement_tags),
    cmocka_unit_test(test_strmap_grows),
};
FERRY_UNIT_MAIN(tests)
