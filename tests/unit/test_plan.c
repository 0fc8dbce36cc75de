/* The export plan (export/plan.c): objects by digest, finishing into bundle
 * order and index.json, and the statement of a plan. */
#include <string.h>

#include "unit.h"
#include "export_int.h"
#include "ferry/layout.h"
#include "ferry/manifest.h"
#include "ferry/util.h"

#define D(c)                                                                                       \
    "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c  \
        c c c c c c c c c c c c c c c c c c c c c c
#define OCI_MAN "application/vnd.oci.image.manifest.v1+json"
#define LAYER "application/vnd.oci.image.layer.v1.tar+gzip"

static void
test_plan_objects(void **state)
{
    struct export_plan *p = export_plan_new();
    struct export_obj *a = NULL, *b = NULL;
    struct ferry_error *err = NULL;

    (void)state;
    assert_non_null(p);
    /* a streamed blob, then the same digest again with data: one object, kept data */
    FERRY_ASSERT_OK(export_plan_add(p, D("1"), LAYER, 3, NULL, 0, NULL, "lib/a", &a, &err), &err);
    assert_null(a->data);
    FERRY_ASSERT_OK(
        export_plan_add(p, D("1"), LAYER, 3, ferry_strdup("abc"), 3, NULL, "lib/b", &b, &err),
        &err);
    assert_ptr_equal(a, b);
    assert_string_equal(a->data, "abc");
    assert_string_equal(a->repo, "lib/a");
    assert_int_equal(p->nobjs, 1);
    assert_ptr_equal(export_plan_get(p, D("1")), a);
    assert_null(export_plan_get(p, D("2")));
    /* the same digest described with another size */
    assert_int_equal(
        export_plan_add(p, D("1"), LAYER, 4, ferry_strdup("abcd"), 4, NULL, "lib/a", &b, &err),
        -FERRY_E_SIZE_MISMATCH);
    assert_non_null(strstr(err->msg, "is described with sizes 3 and 4"));
    ferry_error_clear(&err);
    export_plan_free(p);
}

static void
test_plan_finish_and_statement(void **state)
{
    struct export_plan *p = export_plan_new();
    struct export_obj *ob = NULL;
    struct ferry_stmt_image *im;
    struct ferry_stmt_referrer *rf;
    struct ferry_statement *st = NULL;
    struct ferry_error *err = NULL;
    char *path;

    (void)state;
    assert_non_null(p);
    /* resolution order: a streamed layer, a manifest, another streamed layer, a referrer */
    FERRY_ASSERT_OK(export_plan_add(p, D("a"), LAYER, 10, NULL, 0, NULL, "lib/a", &ob, &err), &err);
    FERRY_ASSERT_OK(
        export_plan_add(p, D("b"), OCI_MAN, 2, ferry_strdup("{}"), 2, NULL, "lib/a", &ob, &err),
        &err);
    FERRY_ASSERT_OK(export_plan_add(p, D("c"), LAYER, 20, NULL, 0, NULL, "lib/a", &ob, &err), &err);
    FERRY_ASSERT_OK(
        export_plan_add(p, D("d"), OCI_MAN, 2, ferry_strdup("[]"), 2, NULL, "lib/a", &ob, &err),
        &err);
    im = export_plan_new_image(p);
    assert_non_null(im);
    im->source = ferry_strdup("r.example/lib/a:1");
    im->registry = ferry_strdup("r.example");
    im->repository = ferry_strdup("lib/a");
    im->tag = ferry_strdup("1");
    im->digest = ferry_strdup(D("b"));
    im->media_type = ferry_strdup(OCI_MAN);
    im->size = 2;
    rf = export_plan_new_referrer(p);
    assert_non_null(rf);
    rf->subject = ferry_strdup(D("b"));
    rf->digest = ferry_strdup(D("d"));
    rf->media_type = ferry_strdup(OCI_MAN);
    rf->size = 2;
    rf->source = ferry_strdup("r.example/lib/a");

    /* no statement before the plan is finished */
    assert_int_equal(export_plan_statement(p, "2026-01-02T03:04:05Z", &st, &err),
                     -FERRY_E_INTERNAL);
    ferry_error_clear(&err);
    FERRY_ASSERT_OK(export_plan_finish(p, &err), &err);
    /* held in memory first (the fallback index of the referrer last among
     * them), then streamed, each in resolution order */
    assert_int_equal(p->nobjs, 5);
    assert_string_equal(p->objs[0]->digest, D("b"));
    assert_string_equal(p->objs[1]->digest, D("d"));
    assert_string_equal(p->objs[2]->media_type, FERRY_MT_OCI_INDEX);
    assert_string_equal(p->objs[3]->digest, D("a"));
    assert_string_equal(p->objs[4]->digest, D("c"));
    assert_non_null(strstr(p->index, "\"org.opencontainers.image.ref.name\":\"lib/a:1\""));
    assert_non_null(strstr(p->index, "\"org.opencontainers.image.ref.name\":\"sha256-bbbb"));
    assert_int_equal(export_plan_finish(p, &err), -FERRY_E_INTERNAL);
    ferry_error_clear(&err);

    FERRY_ASSERT_OK(export_plan_statement(p, "2026-01-02T03:04:05Z", &st, &err), &err);
    assert_string_equal(st->created, "2026-01-02T03:04:05Z");
    assert_string_equal(st->creator, "ferry-export " FERRY_VERSION);
    assert_int_equal(st->nmembers, 7);
    assert_string_equal(st->members[0].path, "oci-layout");
    assert_string_equal(st->members[1].path, "index.json");
    assert_int_equal(st->members[1].size, (int64_t)p->ilen);
    path = ferry_layout_blob_path(D("a"));
    assert_string_equal(st->members[5].path, path);
    ferry_free(path);
    /* the images and referrers moved into the statement */
    assert_int_equal(st->nimages, 1);
    assert_int_equal(st->nreferrers, 1);
    assert_int_equal(p->nimages, 0);
    assert_int_equal(p->nrefs, 0);
    ferry_statement_free(st);
    export_plan_free(p);
}

/* A plan with a layer, a manifest and a referrer, finished and turned into
 * a statement; 0 only when every step succeeded. */
static int
plan_run(bool *done)
{
    struct export_plan *p = export_plan_new();
    struct export_obj *ob = NULL;
    struct ferry_stmt_image *im;
    struct ferry_stmt_referrer *rf;
    struct ferry_statement *st = NULL;
    struct ferry_error *err = NULL;
    char *m;
    int r = -1;

    /* each export_plan_add takes its data, also when it fails */
    if (p == NULL || export_plan_add(p, D("a"), LAYER, 10, NULL, 0, NULL, "lib/a", &ob, &err) < 0)
        goto out;
    if ((m = ferry_strdup("{}")) == NULL ||
        export_plan_add(p, D("b"), OCI_MAN, 2, m, 2, NULL, "lib/a", &ob, &err) < 0)
        goto out;
    if ((m = ferry_strdup("[]")) == NULL ||
        export_plan_add(p, D("d"), OCI_MAN, 2, m, 2, NULL, "lib/a", &ob, &err) < 0)
        goto out;
    if ((im = export_plan_new_image(p)) == NULL)
        goto out;
    if ((im->source = ferry_strdup("r.example/lib/a:1")) == NULL ||
        (im->registry = ferry_strdup("r.example")) == NULL ||
        (im->repository = ferry_strdup("lib/a")) == NULL || (im->tag = ferry_strdup("1")) == NULL ||
        (im->digest = ferry_strdup(D("b"))) == NULL ||
        (im->media_type = ferry_strdup(OCI_MAN)) == NULL ||
        (rf = export_plan_new_referrer(p)) == NULL)
        goto out;
    if ((rf->subject = ferry_strdup(D("b"))) == NULL ||
        (rf->digest = ferry_strdup(D("d"))) == NULL ||
        (rf->media_type = ferry_strdup(OCI_MAN)) == NULL ||
        (rf->source = ferry_strdup("r.example/lib/a")) == NULL)
        goto out;
    rf->size = im->size = 2;
    if (export_plan_finish(p, &err) < 0 ||
        export_plan_statement(p, "2026-01-02T03:04:05Z", &st, &err) < 0)
        goto out;
    *done = true;
    r = 0;
out:
    if (err != NULL && err->code != FERRY_E_NOMEM)
        fail_msg("a step failed without running out of memory: %s", err->msg);
    ferry_error_free(err);
    ferry_statement_free(st);
    export_plan_free(p);
    return r;
}

/* Fail each allocation in turn: nothing leaks, and a whole run succeeds. */
static void
test_plan_out_of_memory(void **state)
{
    size_t base = ferry_alloc_current();
    bool done = false;

    (void)state;
    for (unsigned long k = 1; k < 2000 && !done; k++) {
        ferry_alloc_fail_after(k);
        (void)plan_run(&done);
        ferry_alloc_fail_after(0);
        assert_int_equal(ferry_alloc_current(), base);
    }
    assert_true(done);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_plan_objects),
    cmocka_unit_test(test_plan_finish_and_statement),
    cmocka_unit_test(test_plan_out_of_memory),
};

FERRY_UNIT_MAIN(tests)
