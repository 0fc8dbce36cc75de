/* The OCI image layout model (layout.c) and the layout a statement
 * describes (statement_layout.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "ferry/digest.h"
#include "ferry/layout.h"
#include "ferry/limits.h"
#include "ferry/manifest.h"
#include "ferry/statement.h"
#include "ferry/util.h"

#define EMPTY "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define OCI_IDX "application/vnd.oci.image.index.v1+json"
#define OCI_MAN "application/vnd.oci.image.manifest.v1+json"

static void
test_files_and_paths(void **state)
{
    size_t len = 0;
    const char *v = ferry_layout_version_text(&len);
    char *p, *t;

    (void)state;
    assert_string_equal(v, "{\"imageLayoutVersion\":\"1.0.0\"}");
    assert_int_equal(len, strlen(v));
    p = ferry_layout_blob_path(D1);
    assert_string_equal(
        p, "blobs/sha256/1111111111111111111111111111111111111111111111111111111111111111");
    ferry_free(p);
    assert_null(ferry_layout_blob_path("sha256:xyz"));
    assert_null(ferry_layout_blob_path("nocolon"));
    t = ferry_layout_referrers_tag(D2);
    assert_string_equal(t,
                        "sha256-2222222222222222222222222222222222222222222222222222222222222222");
    ferry_free(t);
    /* distribution-spec: algorithm cut to 32, encoded part to 64, other characters '-' */
    t = ferry_layout_referrers_tag(
        "a+b_c.d-eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee:"
        "0123456789012345678901234567890123456789012345678901234567890123"
        "456789");
    assert_string_equal(t, "a-b_c.d-eeeeeeeeeeeeeeeeeeeeeeee-"
                           "0123456789012345678901234567890123456789012345678901234567890123");
    ferry_free(t);
    assert_null(ferry_layout_referrers_tag("nocolon"));
}

static char *
dumps(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_non_null(s);
    return s;
}

static void
test_referrer_descriptor(void **state)
{
    json_t *ann = json_pack("{s:s}", "k", "v"), *empty = json_object(), *d;
    char *s;

    (void)state;
    d = ferry_layout_referrer_descriptor(OCI_MAN, D1, 12, "application/spdx+json", ann);
    s = dumps(d);
    assert_string_equal(s, "{\"mediaType\":\"" OCI_MAN "\",\"digest\":\"" D1
                           "\",\"size\":12,\"artifactType\":\"application/spdx+json\","
                           "\"annotations\":{\"k\":\"v\"}}");
    free(s);
    json_decref(d);
    /* no artifactType, empty annotations: both left out */
    d = ferry_layout_referrer_descriptor(OCI_MAN, D2, 3, NULL, empty);
    s = dumps(d);
    assert_string_equal(s, "{\"mediaType\":\"" OCI_MAN "\",\"digest\":\"" D2 "\",\"size\":3}");
    free(s);
    json_decref(d);
    json_decref(ann);
    json_decref(empty);
}

static void
test_referrers_index_merge(void **state)
{
    static const char existing[] =
        "{\"schemaVersion\":2,\"mediaType\":\"" OCI_IDX "\",\"manifests\":[{\"digest\":\"" D1
        "\",\"mediaType\":\"" OCI_MAN "\",\"size\":7,\"x-kept\":true}]}";
    struct ferry_referrers_index *x = NULL;
    struct ferry_error *err = NULL;
    char *out = NULL;
    size_t len = 0;

    (void)state;
    x = ferry_referrers_index_new();
    assert_non_null(x);
    FERRY_ASSERT_OK(ferry_referrers_index_serialize(x, &out, &len, &err), &err);
    assert_string_equal(out,
                        "{\"schemaVersion\":2,\"mediaType\":\"" OCI_IDX "\",\"manifests\":[]}");
    assert_int_equal(len, strlen(out));
    ferry_free(out);
    ferry_referrers_index_free(x);

    /* entries already there stay as they are; a digest listed is not added again */
    FERRY_ASSERT_OK(ferry_referrers_index_parse(existing, strlen(existing), "tag", &x, &err), &err);
    assert_int_equal(ferry_referrers_index_add(
                         x, ferry_layout_referrer_descriptor(OCI_MAN, D1, 7, NULL, NULL), &err),
                     0);
    assert_int_equal(ferry_referrers_index_add(
                         x, ferry_layout_referrer_descriptor(OCI_MAN, D2, 9, "t", NULL), &err),
                     1);
    assert_int_equal(ferry_referrers_index_add(
                         x, ferry_layout_referrer_descriptor(OCI_MAN, D2, 9, "t", NULL), &err),
                     0);
    FERRY_ASSERT_OK(ferry_referrers_index_serialize(x, &out, &len, &err), &err);
    assert_string_equal(out, "{\"schemaVersion\":2,\"mediaType\":\"" OCI_IDX
                             "\",\"manifests\":[{\"digest\":\"" D1 "\",\"mediaType\":\"" OCI_MAN
                             "\",\"size\":7,\"x-kept\":true},{\"mediaType\":\"" OCI_MAN
                             "\",\"digest\":\"" D2 "\",\"size\":9,\"artifactType\":\"t\"}]}");
    ferry_free(out);
    ferry_referrers_index_free(x);

    /* only one artifact type kept, for a registry that did not filter */
    FERRY_ASSERT_OK(ferry_referrers_index_parse(existing, strlen(existing), "tag", &x, &err), &err);
    assert_int_equal(ferry_referrers_index_add(
                         x, ferry_layout_referrer_descriptor(OCI_MAN, D2, 9, "t", NULL), &err),
                     1);
    FERRY_ASSERT_OK(ferry_referrers_index_keep_type(x, "t", &err), &err);
    FERRY_ASSERT_OK(ferry_referrers_index_serialize(x, &out, &len, &err), &err);
    assert_string_equal(out, "{\"schemaVersion\":2,\"mediaType\":\"" OCI_IDX
                             "\",\"manifests\":[{\"mediaType\":\"" OCI_MAN "\",\"digest\":\"" D2
                             "\",\"size\":9,\"artifactType\":\"t\"}]}");
    ferry_free(out);
    /* what was dropped can be added again */
    assert_int_equal(ferry_referrers_index_add(
                         x, ferry_layout_referrer_descriptor(OCI_MAN, D1, 7, NULL, NULL), &err),
                     1);
    ferry_referrers_index_free(x);

    /* what a fallback tag must not be */
    static const char *const bad[] = {"",
                                      "[]",
                                      "{\"manifests\":{}}",
                                      "{\"a\":1,\"a\":2}",
                                      "{\"manifests\":[],\"manifests\":[]}",
                                      "nul"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        x = NULL;
        assert_int_equal(ferry_referrers_index_parse(bad[i], strlen(bad[i]), "sha256-11", &x, &err),
                         -FERRY_E_INVALID);
        assert_null(x);
        assert_string_equal(err->msg, "sha256-11: not a referrers index");
        ferry_error_clear(&err);
    }
}

static void
test_index_json(void **state)
{
    struct ferry_layout_index *x = ferry_layout_index_new();
    struct ferry_error *err = NULL;
    char *out = NULL;
    size_t len = 0;

    (void)state;
    assert_non_null(x);
    FERRY_ASSERT_OK(ferry_layout_index_add_tagged(x, OCI_IDX, D1, 5, "lib/app:1.0",
                                                  "r.example/lib/app:1.0", &err),
                    &err);
    assert_int_equal(ferry_layout_index_add_untagged(
                         x, ferry_layout_referrer_descriptor(OCI_MAN, D2, 6, "t", NULL), &err),
                     1);
    assert_int_equal(ferry_layout_index_add_untagged(
                         x, ferry_layout_referrer_descriptor(OCI_MAN, D2, 6, "t", NULL), &err),
                     0);
    FERRY_ASSERT_OK(ferry_layout_index_add_tagged(x, OCI_IDX, EMPTY, 2, "sha256-11", NULL, &err),
                    &err);
    FERRY_ASSERT_OK(ferry_layout_index_serialize(x, &out, &len, &err), &err);
    assert_string_equal(
        out,
        "{\"schemaVersion\":2,\"mediaType\":\"" OCI_IDX "\",\"manifests\":["
        "{\"mediaType\":\"" OCI_IDX "\",\"digest\":\"" D1 "\",\"size\":5,\"annotations\":{"
        "\"org.opencontainers.image.ref.name\":\"lib/app:1.0\","
        "\"dev.ferry.source\":\"r.example/lib/app:1.0\"}},"
        "{\"mediaType\":\"" OCI_MAN "\",\"digest\":\"" D2 "\",\"size\":6,\"artifactType\":\"t\"},"
        "{\"mediaType\":\"" OCI_IDX "\",\"digest\":\"" EMPTY "\",\"size\":2,\"annotations\":{"
        "\"org.opencontainers.image.ref.name\":\"sha256-11\"}}]}");
    ferry_free(out);
    ferry_layout_index_free(x);
}

/* A small layout: an index (D_IDX) of one image manifest (D_MAN) with the
 * empty config and one layer, plus a referrer (D_REF) of the manifest. */
struct small {
    char *idx, *man, *ref;
    char d_idx[FERRY_DIGEST_MAX], d_man[FERRY_DIGEST_MAX], d_ref[FERRY_DIGEST_MAX];
    char d_layer[FERRY_DIGEST_MAX];
};

static char *
digest_of(const char *text, char *out)
{
    struct ferry_digest d;

    ferry_digest_buffer(FERRY_DIGEST_SHA256, text, strlen(text), &d);
    snprintf(out, FERRY_DIGEST_MAX, "%s", d.str);
    return out;
}

static void
small_make(struct small *s)
{
    digest_of("layer", s->d_layer);
    s->man = ferry_asprintf("{\"schemaVersion\":2,\"mediaType\":\"" OCI_MAN
                            "\",\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\","
                            "\"digest\":\"" EMPTY "\",\"size\":2},\"layers\":[{\"mediaType\":"
                            "\"application/octet-stream\",\"digest\":\"%s\",\"size\":5}]}",
                            s->d_layer);
    digest_of(s->man, s->d_man);
    s->idx = ferry_asprintf("{\"schemaVersion\":2,\"mediaType\":\"" OCI_IDX "\",\"manifests\":[{"
                            "\"mediaType\":\"" OCI_MAN "\",\"digest\":\"%s\",\"size\":%zu,"
                            "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}",
                            s->d_man, strlen(s->man));
    digest_of(s->idx, s->d_idx);
    s->ref =
        ferry_asprintf("{\"schemaVersion\":2,\"mediaType\":\"" OCI_MAN
                       "\",\"artifactType\":\"application/spdx+json\",\"config\":{"
                       "\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":\"" EMPTY
                       "\",\"size\":2},\"layers\":[],\"subject\":{\"mediaType\":\"" OCI_MAN
                       "\",\"digest\":\"%s\",\"size\":%zu}}",
                       s->d_man, strlen(s->man));
    digest_of(s->ref, s->d_ref);
}

static void
small_free(struct small *s)
{
    ferry_free(s->idx);
    ferry_free(s->man);
    ferry_free(s->ref);
}

/* The layout of s; with skip_layer the layer blob is not held. */
static struct ferry_layout *
small_layout(const struct small *s, bool skip_layer)
{
    struct ferry_layout *l = ferry_layout_new();
    struct ferry_error *err = NULL;

    assert_non_null(l);
    FERRY_ASSERT_OK(ferry_layout_add_blob(l, EMPTY, 2, &err), &err);
    if (!skip_layer)
        FERRY_ASSERT_OK(ferry_layout_add_blob(l, s->d_layer, 5, &err), &err);
    FERRY_ASSERT_OK(ferry_layout_add_blob(l, s->d_man, (int64_t)strlen(s->man), &err), &err);
    FERRY_ASSERT_OK(ferry_layout_add_blob(l, s->d_idx, (int64_t)strlen(s->idx), &err), &err);
    FERRY_ASSERT_OK(ferry_layout_add_blob(l, s->d_ref, (int64_t)strlen(s->ref), &err), &err);
    FERRY_ASSERT_OK(
        ferry_layout_add_manifest(l, s->d_man, OCI_MAN, ferry_strdup(s->man), strlen(s->man), &err),
        &err);
    FERRY_ASSERT_OK(
        ferry_layout_add_manifest(l, s->d_idx, OCI_IDX, ferry_strdup(s->idx), strlen(s->idx), &err),
        &err);
    FERRY_ASSERT_OK(
        ferry_layout_add_manifest(l, s->d_ref, OCI_MAN, ferry_strdup(s->ref), strlen(s->ref), &err),
        &err);
    return l;
}

static char *
index_json_of(const char *digest, size_t size)
{
    return ferry_asprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_IDX
                          "\",\"digest\":\"%s\",\"size\":%zu}]}",
                          digest, size);
}

static void
test_layout_check(void **state)
{
    struct small s;
    struct ferry_layout *l;
    struct ferry_error *err = NULL;
    size_t vlen;
    const char *ver = ferry_layout_version_text(&vlen);
    char *ij, *msg;

    (void)state;
    small_make(&s);
    ij = index_json_of(s.d_idx, strlen(s.idx));
    l = small_layout(&s, false);
    FERRY_ASSERT_OK(ferry_layout_check(l, ver, vlen, ij, strlen(ij), &err), &err);
    assert_true(ferry_layout_index_has(l, s.d_idx));
    assert_false(ferry_layout_index_has(l, s.d_man));
    /* parsed on the way, with the media type its index gave */
    assert_non_null(ferry_layout_get_manifest(l, s.d_man)->m);
    assert_null(ferry_layout_get_manifest(l, s.d_ref)->m);
    assert_null(ferry_layout_get_manifest(l, D1));
    ferry_layout_free(l);

    /* a layer that is not there, named with who references it */
    l = small_layout(&s, true);
    assert_int_equal(ferry_layout_check(l, ver, vlen, ij, strlen(ij), &err), -FERRY_E_BUNDLE);
    msg = ferry_asprintf("index %s: %s references %s, which is not in the bundle", s.d_idx, s.d_man,
                         s.d_layer);
    assert_string_equal(err->msg, msg);
    ferry_free(msg);
    ferry_error_clear(&err);
    ferry_layout_free(l);

    /* a size that differs from the blob's */
    l = small_layout(&s, false);
    ferry_free(ij);
    ij = index_json_of(s.d_idx, strlen(s.idx) + 1);
    assert_int_equal(ferry_layout_check(l, ver, vlen, ij, strlen(ij), &err),
                     -FERRY_E_SIZE_MISMATCH);
    ferry_error_clear(&err);
    /* a version other than 1.0.0, and index.json that is not JSON */
    assert_int_equal(
        ferry_layout_check(l, "{\"imageLayoutVersion\":\"2.0.0\"}", 30, ij, strlen(ij), &err),
        -FERRY_E_BUNDLE);
    assert_string_equal(err->msg, "oci-layout: imageLayoutVersion is not 1.0.0");
    ferry_error_clear(&err);
    assert_int_equal(ferry_layout_check(l, ver, vlen, "{", 1, &err), -FERRY_E_BUNDLE);
    assert_non_null(strstr(err->msg, "index.json: invalid json at line 1"));
    ferry_error_clear(&err);
    assert_int_equal(ferry_layout_check(l, ver, vlen, "{\"manifests\":{}}", 16, &err),
                     -FERRY_E_BUNDLE);
    assert_string_equal(err->msg, "index.json: manifests is not an array");
    ferry_error_clear(&err);
    ferry_layout_free(l);
    ferry_free(ij);

    /* a blob referenced as a manifest but not held as one */
    l = ferry_layout_new();
    FERRY_ASSERT_OK(ferry_layout_add_blob(l, D1, 4, &err), &err);
    ij = index_json_of(D1, 4);
    assert_int_equal(ferry_layout_check(l, ver, vlen, ij, strlen(ij), &err), -FERRY_E_BUNDLE);
    assert_string_equal(err->msg,
                        D1 " is referenced as " OCI_IDX " but not declared as a manifest");
    ferry_error_clear(&err);
    ferry_layout_free(l);
    ferry_free(ij);
    small_free(&s);
}

static void
test_layout_depth(void **state)
{
    struct ferry_layout *l = ferry_layout_new();
    struct ferry_error *err = NULL;
    char digest[FERRY_DIGEST_MAX], *ij;
    size_t vlen, size = 0;
    const char *ver = ferry_layout_version_text(&vlen);

    (void)state;
    /* a chain of indexes one deeper than allowed */
    snprintf(digest, sizeof digest, "%s", EMPTY);
    FERRY_ASSERT_OK(ferry_layout_add_blob(l, EMPTY, 2, &err), &err);
    for (int i = 0; i <= FERRY_MAX_INDEX_DEPTH + 1; i++) {
        char *text = i == 0 ? ferry_strdup("{\"schemaVersion\":2,\"manifests\":[]}")
                            : index_json_of(digest, size);
        size = strlen(text);
        digest_of(text, digest);
        FERRY_ASSERT_OK(ferry_layout_add_blob(l, digest, (int64_t)size, &err), &err);
        FERRY_ASSERT_OK(ferry_layout_add_manifest(l, digest, OCI_IDX, text, size, &err), &err);
    }
    ij = index_json_of(digest, size);
    assert_int_equal(ferry_layout_check(l, ver, vlen, ij, strlen(ij), &err), -FERRY_E_BUNDLE);
    assert_non_null(strstr(err->msg, "indexes nested more than 8 deep"));
    ferry_error_clear(&err);
    ferry_free(ij);
    ferry_layout_free(l);
}

/* An index listing the same child 20 times, 8 levels deep: 20^8 paths over
 * 9 distinct manifests. The check visits each manifest once; a walk without a
 * visited set would not finish. A chain of the same shape one level deeper
 * than allowed is still refused, also when the deep part was seen first. */
static void
test_layout_fanout(void **state)
{
    struct ferry_layout *l = ferry_layout_new();
    struct ferry_error *err = NULL;
    char digest[FERRY_DIGEST_MAX], top[FERRY_DIGEST_MAX], wdigest[FERRY_DIGEST_MAX];
    char *ij, *ij2, *wrap;
    size_t vlen, size = 0, top_size, wlen;
    const char *ver = ferry_layout_version_text(&vlen);

    (void)state;
    FERRY_ASSERT_OK(ferry_layout_add_blob(l, EMPTY, 2, &err), &err);
    for (int i = 0; i < FERRY_MAX_INDEX_DEPTH; i++) {
        struct ferry_buf b;
        char *text;
        size_t len;
        ferry_buf_init(&b, 1 << 20);
        FERRY_ASSERT_OK(ferry_buf_appendf(&b, &err, "{\"schemaVersion\":2,\"manifests\":["), &err);
        for (int k = 0; i > 0 && k < 20; k++)
            FERRY_ASSERT_OK(ferry_buf_appendf(&b, &err,
                                              "%s{\"mediaType\":\"" OCI_IDX
                                              "\",\"digest\":\"%s\",\"size\":%zu}",
                                              k ? "," : "", digest, size),
                            &err);
        FERRY_ASSERT_OK(ferry_buf_appendf(&b, &err, "]}"), &err);
        text = ferry_buf_take(&b, &len);
        size = len;
        digest_of(text, digest);
        FERRY_ASSERT_OK(ferry_layout_add_blob(l, digest, (int64_t)size, &err), &err);
        FERRY_ASSERT_OK(ferry_layout_add_manifest(l, digest, OCI_IDX, text, size, &err), &err);
    }
    /* the top at depth 0 and again under one more index: depth 1 + height 7 */
    memcpy(top, digest, sizeof top);
    top_size = size;
    wrap = index_json_of(top, top_size);
    wlen = strlen(wrap);
    digest_of(wrap, wdigest);
    FERRY_ASSERT_OK(ferry_layout_add_blob(l, wdigest, (int64_t)wlen, &err), &err);
    FERRY_ASSERT_OK(ferry_layout_add_manifest(l, wdigest, OCI_IDX, wrap, wlen, &err), &err);
    ij = ferry_asprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_IDX
                        "\",\"digest\":\"%s\",\"size\":%zu},{\"mediaType\":\"" OCI_IDX
                        "\",\"digest\":\"%s\",\"size\":%zu}]}",
                        top, top_size, wdigest, wlen);
    FERRY_ASSERT_OK(ferry_layout_check(l, ver, vlen, ij, strlen(ij), &err), &err);
    ferry_free(ij);
    /* one level more over what checked already: refused from the kept height */
    ij = index_json_of(wdigest, wlen);
    ij2 = index_json_of(digest_of(ij, digest), strlen(ij));
    FERRY_ASSERT_OK(ferry_layout_add_blob(l, digest, (int64_t)strlen(ij), &err), &err);
    FERRY_ASSERT_OK(ferry_layout_add_manifest(l, digest, OCI_IDX, ij, strlen(ij), &err), &err);
    assert_int_equal(ferry_layout_check(l, ver, vlen, ij2, strlen(ij2), &err), -FERRY_E_BUNDLE);
    assert_non_null(strstr(err->msg, "indexes nested more than 8 deep"));
    ferry_error_clear(&err);
    ferry_free(ij2);
    ferry_layout_free(l);
}

/* A statement over the small layout: the index as an image, the referrer. */
static void
small_statement(struct small *s, struct ferry_statement *st, struct ferry_stmt_image *im,
                struct ferry_stmt_referrer *rf)
{
    memset(st, 0, sizeof *st);
    memset(im, 0, sizeof *im);
    memset(rf, 0, sizeof *rf);
    im->source = (char *)"r.example/lib/app:1.0";
    im->repository = (char *)"lib/app";
    im->tag = (char *)"1.0";
    im->digest = s->d_idx;
    im->media_type = (char *)OCI_IDX;
    im->size = (int64_t)strlen(s->idx);
    rf->subject = s->d_man;
    rf->digest = s->d_ref;
    rf->media_type = (char *)OCI_MAN;
    rf->size = (int64_t)strlen(s->ref);
    rf->artifact_type = (char *)"application/spdx+json";
    st->images = im;
    st->nimages = 1;
    st->referrers = rf;
    st->nreferrers = 1;
}

static void
test_statement_layout(void **state)
{
    struct small s;
    struct ferry_statement st;
    struct ferry_stmt_image im;
    struct ferry_stmt_referrer rf[2];
    struct ferry_stmt_fallback *fb = NULL;
    struct ferry_layout *l;
    struct ferry_error *err = NULL;
    size_t nfb = 0, len = 0, vlen;
    const char *ver = ferry_layout_version_text(&vlen);
    char *index = NULL, *want, *tag, *msg;

    (void)state;
    small_make(&s);
    small_statement(&s, &st, &im, &rf[0]);
    /* the same referrer twice: listed once in the fallback index and index.json */
    rf[1] = rf[0];
    st.nreferrers = 2;
    FERRY_ASSERT_OK(ferry_statement_layout_fallbacks(&st, &fb, &nfb, &err), &err);
    assert_int_equal(nfb, 1);
    tag = ferry_layout_referrers_tag(s.d_man);
    assert_string_equal(fb[0].tag, tag);
    assert_string_equal(fb[0].subject, s.d_man);
    want = ferry_asprintf("{\"schemaVersion\":2,\"mediaType\":\"" OCI_IDX
                          "\",\"manifests\":[{\"mediaType\":\"" OCI_MAN
                          "\",\"digest\":\"%s\",\"size\":%zu,\"artifactType\":"
                          "\"application/spdx+json\"}]}",
                          s.d_ref, strlen(s.ref));
    assert_string_equal(fb[0].data, want);
    assert_int_equal(fb[0].len, strlen(want));
    {
        char d[FERRY_DIGEST_MAX];
        assert_string_equal(fb[0].digest, digest_of(want, d));
    }
    ferry_free(want);
    FERRY_ASSERT_OK(ferry_statement_layout_index(&st, fb, nfb, &index, &len, &err), &err);
    want = ferry_asprintf(
        "{\"schemaVersion\":2,\"mediaType\":\"" OCI_IDX "\",\"manifests\":["
        "{\"mediaType\":\"" OCI_IDX "\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{"
        "\"org.opencontainers.image.ref.name\":\"lib/app:1.0\","
        "\"dev.ferry.source\":\"r.example/lib/app:1.0\"}},"
        "{\"mediaType\":\"" OCI_MAN "\",\"digest\":\"%s\",\"size\":%zu,\"artifactType\":"
        "\"application/spdx+json\"},"
        "{\"mediaType\":\"" OCI_IDX "\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{"
        "\"org.opencontainers.image.ref.name\":\"%s\"}}]}",
        s.d_idx, strlen(s.idx), s.d_ref, strlen(s.ref), fb[0].digest, fb[0].len, tag);
    assert_string_equal(index, want);
    ferry_free(want);
    ferry_free(tag);

    /* the check of that layout against the statement */
    l = small_layout(&s, false);
    FERRY_ASSERT_OK(ferry_layout_add_blob(l, fb[0].digest, (int64_t)fb[0].len, &err), &err);
    FERRY_ASSERT_OK(ferry_layout_add_manifest(l, fb[0].digest, OCI_IDX, ferry_strdup(fb[0].data),
                                              fb[0].len, &err),
                    &err);
    FERRY_ASSERT_OK(ferry_layout_check(l, ver, vlen, index, len, &err), &err);
    FERRY_ASSERT_OK(ferry_statement_layout_check(&st, l, &err), &err);
    /* a referrer whose statement subject is not its manifest's */
    rf[1].subject = s.d_idx;
    assert_int_equal(ferry_statement_layout_check(&st, l, &err), -FERRY_E_BUNDLE);
    msg = ferry_asprintf("referrer %s: the manifest's subject is %s, the statement says %s",
                         s.d_ref, s.d_man, s.d_idx);
    assert_string_equal(err->msg, msg);
    ferry_free(msg);
    ferry_error_clear(&err);
    /* an image whose manifest is not in index.json */
    st.nreferrers = 1;
    im.digest = s.d_man;
    assert_int_equal(ferry_statement_layout_check(&st, l, &err), -FERRY_E_BUNDLE);
    msg = ferry_asprintf("image r.example/lib/app:1.0 (%s) is not in index.json", s.d_man);
    assert_string_equal(err->msg, msg);
    ferry_free(msg);
    ferry_error_clear(&err);
    ferry_layout_free(l);
    ferry_free(index);
    ferry_stmt_fallbacks_free(fb, nfb);
    small_free(&s);
}

static void
test_artifact_type(void **state)
{
    struct small s;
    struct ferry_manifest *m = NULL;
    struct ferry_error *err = NULL;

    (void)state;
    small_make(&s);
    FERRY_ASSERT_OK(ferry_manifest_parse(s.ref, strlen(s.ref), NULL, "ref", &m, &err), &err);
    assert_string_equal(ferry_manifest_artifact_type(m), "application/spdx+json");
    ferry_manifest_free(m);
    FERRY_ASSERT_OK(ferry_manifest_parse(s.man, strlen(s.man), NULL, "man", &m, &err), &err);
    assert_string_equal(ferry_manifest_artifact_type(m), "application/vnd.oci.empty.v1+json");
    ferry_manifest_free(m);
    FERRY_ASSERT_OK(ferry_manifest_parse(s.idx, strlen(s.idx), NULL, "idx", &m, &err), &err);
    assert_null(ferry_manifest_artifact_type(m));
    ferry_manifest_free(m);
    small_free(&s);
}

/* Everything the layout model and the statement's layout do, in one run
 * that returns 0 only when every step succeeded. */
static int
layout_run(struct small *s, bool *done)
{
    struct ferry_statement st;
    struct ferry_stmt_image im;
    struct ferry_stmt_referrer rf;
    struct ferry_stmt_fallback *fb = NULL;
    struct ferry_referrers_index *x = NULL;
    struct ferry_layout *l = NULL;
    struct ferry_error *err = NULL;
    char *index = NULL, *text = NULL;
    size_t nfb = 0, len = 0, vlen;
    const char *ver = ferry_layout_version_text(&vlen);
    int r = -1;

    small_statement(s, &st, &im, &rf);
    if (ferry_statement_layout_fallbacks(&st, &fb, &nfb, &err) < 0 ||
        ferry_statement_layout_index(&st, fb, nfb, &index, &len, &err) < 0 ||
        ferry_referrers_index_parse(fb[0].data, fb[0].len, "fb", &x, &err) < 0 ||
        ferry_referrers_index_add(x, ferry_layout_referrer_descriptor(OCI_MAN, D2, 9, "t", NULL),
                                  &err) < 0 ||
        ferry_referrers_index_keep_type(x, "t", &err) < 0 ||
        ferry_referrers_index_serialize(x, &text, &len, &err) < 0)
        goto out;
    if ((l = ferry_layout_new()) == NULL) {
        ferry_error_new(&err, FERRY_E_NOMEM, "out of memory"); /* it says so with NULL */
        goto out;
    }
    if (ferry_layout_add_blob(l, EMPTY, 2, &err) < 0 ||
        ferry_layout_add_blob(l, s->d_layer, 5, &err) < 0 ||
        ferry_layout_add_blob(l, s->d_man, (int64_t)strlen(s->man), &err) < 0 ||
        ferry_layout_add_blob(l, s->d_idx, (int64_t)strlen(s->idx), &err) < 0 ||
        ferry_layout_add_blob(l, s->d_ref, (int64_t)strlen(s->ref), &err) < 0 ||
        ferry_layout_add_blob(l, fb[0].digest, (int64_t)fb[0].len, &err) < 0 ||
        ferry_layout_add_manifest(l, s->d_man, OCI_MAN, ferry_strdup(s->man), strlen(s->man),
                                  &err) < 0 ||
        ferry_layout_add_manifest(l, s->d_idx, OCI_IDX, ferry_strdup(s->idx), strlen(s->idx),
                                  &err) < 0 ||
        ferry_layout_add_manifest(l, s->d_ref, OCI_MAN, ferry_strdup(s->ref), strlen(s->ref),
                                  &err) < 0 ||
        ferry_layout_add_manifest(l, fb[0].digest, OCI_IDX, ferry_strdup(fb[0].data), fb[0].len,
                                  &err) < 0)
        goto out;
    ferry_free(text);
    text = NULL;
    if (ferry_layout_check(l, ver, vlen, index, strlen(index), &err) < 0 ||
        ferry_statement_layout_check(&st, l, &err) < 0)
        goto out;
    *done = true;
    r = 0;
out:
    /* a failure is out of memory, never a wrong answer */
    if (r < 0 && (err == NULL || err->code != FERRY_E_NOMEM))
        fail_msg("a step failed without running out of memory: %s", err ? err->msg : "(none)");
    ferry_error_free(err);
    ferry_layout_free(l);
    ferry_referrers_index_free(x);
    ferry_free(text);
    ferry_free(index);
    ferry_stmt_fallbacks_free(fb, nfb);
    return r;
}

/* Fail each allocation in turn: every step reports it and nothing leaks. */
static void
test_layout_out_of_memory(void **state)
{
    struct small s;
    size_t base;
    bool done = false;

    (void)state;
    small_make(&s);
    base = ferry_alloc_current();
    for (unsigned long k = 1; k < 2000 && !done; k++) {
        ferry_alloc_fail_after(k);
        (void)layout_run(&s, &done);
        ferry_alloc_fail_after(0);
        assert_int_equal(ferry_alloc_current(), base);
    }
    assert_true(done);
    small_free(&s);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_files_and_paths),       cmocka_unit_test(test_referrer_descriptor),
    cmocka_unit_test(test_referrers_index_merge), cmocka_unit_test(test_index_json),
    cmocka_unit_test(test_layout_check),          cmocka_unit_test(test_layout_depth),
    cmocka_unit_test(test_layout_fanout),         cmocka_unit_test(test_statement_layout),
    cmocka_unit_test(test_artifact_type),         cmocka_unit_test(test_layout_out_of_memory),
};

FERRY_UNIT_MAIN(tests)
