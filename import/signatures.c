/* ferry import: the signature gate over a verified bundle. The judgement is
 * the core's (oci-layout/sigcheck.c); this file gives it the bundle's
 * manifests and reads signature blobs from the bundle's members. */
#include <string.h>

#include "ferry/sigcheck.h"
#include "ferry/util.h"
#include "import_int.h"

static int
src_manifest(void *ud, const char *digest, const char **data, size_t *len)
{
    const struct ferry_verified *v = ud;
    const struct ferry_layout_manifest *lm = ferry_layout_get_manifest(v->layout, digest);

    if (lm == NULL || lm->data == NULL)
        return 0;
    *data = lm->data;
    *len = lm->len;
    return 1;
}

/* The member holding blob digest, read whole (out's max is the cap). */
static int
src_blob(void *ud, const char *digest, int64_t size, struct ferry_buf *out,
         struct ferry_error **err)
{
    const struct ferry_verified *v = ud;
    const struct ferry_verified *vols[1] = {v};
    const struct ferry_stmt_member *m = ferry_verified_find_blob(vols, 1, digest, NULL);
    struct ferry_bundle_reader *rd = NULL;
    char chunk[16384];
    int64_t n;
    int r = 0;

    if (m == NULL)
        return 0; /* on another volume */
    if (m->size != size)
        return ferry_error_new(
            err, FERRY_E_SIZE_MISMATCH,
            "signature blob %s: %lld bytes in the bundle, its manifest says %lld", digest,
            (long long)m->size, (long long)size);
    if ((r = ferry_verified_open_member(v, m, &rd, err)) < 0)
        return r;
    while ((n = ferry_bundle_reader_read(rd, chunk, sizeof chunk, err)) > 0)
        if ((r = ferry_buf_append(out, chunk, (size_t)n, err)) < 0)
            break;
    ferry_bundle_reader_free(rd);
    if (n < 0)
        return (int)n;
    return r < 0 ? r : 1;
}

int
ferry_import_check_signatures(const struct ferry_verified *v, const struct ferry_sig_gate *gate,
                              ferry_sig_verdict_fn cb, void *ud, size_t *unsigned_images,
                              struct ferry_error **err)
{
    const struct ferry_statement *st = v->st;
    struct ferry_sigcheck_src src = {src_manifest, src_blob, (void *)v};
    size_t bad = 0;
    int r = 0;

    if (v->layout == NULL)
        return ferry_error_new(err, FERRY_E_USAGE, "a volume that borrows its graph");
    for (size_t i = 0; i < st->nimages && r >= 0; i++) {
        struct ferry_sig_verdict vd;
        if ((r = ferry_sigcheck_image(st, i, &src, gate, &vd, err)) < 0)
            break;
        if (!vd.ok)
            bad++;
        if (cb)
            cb(i, &vd, ud);
    }
    if (unsigned_images != NULL)
        *unsigned_images = bad;
    return r;
}
