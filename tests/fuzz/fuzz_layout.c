/* Fuzz the layout model's readers of outside input: a referrers index read
 * from a registry's fallback tag (ferry_referrers_index_parse, then merged
 * and written back), and a bundle's index.json checked against what the
 * layout holds (ferry_layout_check).
 *
 * Input: the first byte picks the target. 'r': the rest is a referrers
 * index; checked: a failure has a message and no index; a success takes a
 * new descriptor once, not twice, and serialises to JSON that parses again
 * with one more entry. Anything else: the rest is split at the first NUL
 * into a manifest the layout holds (as a blob and a manifest, with the empty
 * blob beside it) and index.json; checked: a failure has a message, and
 * index.json entries are remembered only on success. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/digest.h"
#include "ferry/layout.h"
#include "ferry/util.h"

#define EMPTY "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define NEW "sha256:1111111111111111111111111111111111111111111111111111111111111111"

static void
referrers(const uint8_t *data, size_t size)
{
    struct ferry_referrers_index *x = NULL, *again = NULL;
    struct ferry_error *err = NULL;
    char *text = NULL;
    size_t len = 0;
    json_t *root = NULL;
    size_t before;
    int r;

    if (ferry_referrers_index_parse(data, size, "fuzz", &x, &err) < 0) {
        if (x != NULL || err == NULL)
            abort();
        goto out;
    }
    root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (root == NULL)
        abort();
    before = json_array_size(json_object_get(root, "manifests"));
    r = ferry_referrers_index_add(
        x,
        ferry_layout_referrer_descriptor("application/vnd.oci.image.manifest.v1+json", NEW, 3, "t",
                                         NULL),
        &err);
    if (r < 0)
        goto out; /* out of memory */
    if (ferry_referrers_index_add(
            x,
            ferry_layout_referrer_descriptor("application/vnd.oci.image.manifest.v1+json", NEW, 3,
                                             "t", NULL),
            &err) != 0)
        abort();
    if (ferry_referrers_index_serialize(x, &text, &len, &err) < 0)
        goto out;
    if (ferry_referrers_index_parse(text, len, "again", &again, &err) < 0)
        abort();
    json_decref(root);
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (root == NULL ||
        json_array_size(json_object_get(root, "manifests")) != before + (r == 1 ? 1 : 0))
        abort();
out:
    json_decref(root);
    ferry_free(text);
    ferry_referrers_index_free(x);
    ferry_referrers_index_free(again);
    ferry_error_free(err);
}

static void
layout(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t mlen = nul ? (size_t)(nul - data) : 0;
    const uint8_t *index = nul ? nul + 1 : data;
    size_t ilen = nul ? size - mlen - 1 : size;
    size_t vlen;
    const char *ver = ferry_layout_version_text(&vlen);
    struct ferry_layout *l = ferry_layout_new();
    struct ferry_error *err = NULL;
    struct ferry_digest d;
    char *copy;

    if (l == NULL)
        return;
    ferry_digest_buffer(FERRY_DIGEST_SHA256, data, mlen, &d);
    copy = ferry_malloc(mlen + 1);
    if (copy == NULL || ferry_layout_add_blob(l, EMPTY, 2, &err) < 0 ||
        ferry_layout_add_blob(l, d.str, (int64_t)mlen, &err) < 0) {
        ferry_free(copy);
        goto out;
    }
    memcpy(copy, data, mlen);
    if (ferry_layout_add_manifest(l, d.str, NULL, copy, mlen, &err) < 0)
        goto out;
    if (ferry_layout_check(l, ver, vlen, index, ilen, &err) < 0) {
        if (err == NULL || err->msg == NULL)
            abort();
    } else if (err != NULL) {
        abort();
    }
out:
    ferry_layout_free(l);
    ferry_error_free(err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] == 'r')
        referrers(data + 1, size - 1);
    else
        layout(data + 1, size - 1);
    return 0;
}
