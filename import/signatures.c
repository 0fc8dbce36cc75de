/* ferry import: the signature gate over a verified bundle. The judgement is
 * the core's (oci-layout/sigcheck.c); this file gives it the bundle's
 * manifests and reads signature blobs from the bundle's members. */
#include <stdlib.h>
#include <string.h>

#include "ferry/sigcheck.h"
#include "ferry/util.h"
#include "import_int.h"

/* What the gate reads from: the volumes given (vols[0] holds the graph),
 * and, per image, the volumes holding signature blobs it could not read. */
struct src {
    const struct ferry_verified *const *vols;
    size_t nvols;
    const struct import_sig_remote *remote; /* or NULL */
    size_t image;                           /* the image being judged */
    unsigned *waits;                        /* room for vols[0]->volumes */
    size_t nwaits;
};

static int
src_manifest(void *ud, const char *digest, const char **data, size_t *len)
{
    const struct src *s = ud;
    const struct ferry_layout_manifest *lm = ferry_layout_get_manifest(s->vols[0]->layout, digest);

    if (lm == NULL || lm->data == NULL)
        return 0;
    *data = lm->data;
    *len = lm->len;
    return 1;
}

/* An image waits on volume v (once in the list). */
static void
note_volume(struct src *s, unsigned v)
{
    for (size_t k = 0; k < s->nwaits; k++)
        if (s->waits[k] == v)
            return;
    if (s->waits != NULL && v > 0 && v <= s->vols[0]->volumes)
        s->waits[s->nwaits++] = v;
}

/* A blob held whole by a volume not given: note its volume. */
static void
note_away(struct src *s, const char *digest)
{
    for (size_t i = 0; i < s->nvols; i++) {
        const struct ferry_stmt_member *m =
            s->vols[i]->away ? ferry_strmap_get(s->vols[i]->away, digest) : NULL;
        if (m != NULL) {
            note_volume(s, m->volume);
            return;
        }
    }
}

/* Member m of from appended to out. */
static int
read_member(const struct ferry_verified *from, const struct ferry_stmt_member *m,
            struct ferry_buf *out, struct ferry_error **err)
{
    struct ferry_bundle_reader *rd = NULL;
    char chunk[16384];
    int64_t n;
    int r = 0;

    if ((r = ferry_verified_open_member(from, m, &rd, err)) < 0)
        return r;
    while ((n = ferry_bundle_reader_read(rd, chunk, sizeof chunk, err)) > 0)
        if ((r = ferry_buf_append(out, chunk, (size_t)n, err)) < 0)
            break;
    ferry_bundle_reader_free(rd);
    if (n < 0)
        return (int)n;
    return r;
}

/* The member holding blob digest, read whole (out's max is the cap). */
static int
src_blob(void *ud, const char *digest, int64_t size, struct ferry_buf *out,
         struct ferry_error **err)
{
    struct src *s = ud;
    const struct ferry_verified *from = NULL;
    const struct ferry_stmt_member *m = ferry_verified_find_blob(s->vols, s->nvols, digest, &from);
    int r;

    /* (never in parts: a volume has room for 1 MiB, SPLIT_MIN_PART, and a
     * signature blob is at most FERRY_SIGSTORE_MAX_DOC) */
    if (m == NULL) {
        if (s->remote != NULL &&
            (r = s->remote->blob(s->remote->ud, s->image, digest, size, out, err)) != 0)
            return r; /* read where an earlier run of the set put it, or an error */
        note_away(s, digest);
        return 0; /* on another volume */
    }
    if (m->size != size)
        return ferry_error_new(
            err, FERRY_E_SIZE_MISMATCH,
            "signature blob %s: %lld bytes in the bundle, its manifest says %lld", digest,
            (long long)m->size, (long long)size);
    return (r = read_member(from, m, out, err)) < 0 ? r : 1;
}

int
ferry_import_check_signatures(const struct ferry_verified *const *vols, size_t nvols,
                              const struct ferry_sig_gate *gate, ferry_sig_verdict_fn cb, void *ud,
                              size_t *unsigned_images, struct ferry_error **err)
{
    return import_check_signatures(vols, nvols, NULL, gate, cb, ud, unsigned_images, err);
}

int
import_check_signatures(const struct ferry_verified *const *vols, size_t nvols,
                        const struct import_sig_remote *remote, const struct ferry_sig_gate *gate,
                        ferry_sig_verdict_fn cb, void *ud, size_t *unsigned_images,
                        struct ferry_error **err)
{
    const struct ferry_statement *st;
    struct src s = {vols, nvols, remote, 0, NULL, 0};
    struct ferry_sigcheck_src src = {src_manifest, src_blob, &s};
    size_t bad = 0;
    int r = 0;

    if (nvols == 0 || vols[0]->layout == NULL)
        return ferry_error_new(err, FERRY_E_USAGE, "a volume that borrows its graph");
    st = vols[0]->st;
    if (vols[0]->volumes > 0 && (s.waits = ferry_calloc(vols[0]->volumes, sizeof *s.waits)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < st->nimages && r >= 0; i++) {
        struct ferry_sig_verdict vd;
        s.image = i;
        s.nwaits = 0;
        if ((r = ferry_sigcheck_image(st, i, &src, gate, &vd, err)) < 0)
            break;
        if (vd.ok)
            s.nwaits = 0; /* judged on what is here */
        else if (s.nwaits == 0)
            bad++;
        if (s.nwaits > 1)
            qsort(s.waits, s.nwaits, sizeof *s.waits, import_cmp_unsigned);
        if (cb)
            cb(i, &vd, s.nwaits ? s.waits : NULL, s.nwaits, ud);
    }
    ferry_free(s.waits);
    if (unsigned_images != NULL)
        *unsigned_images = bad;
    return r;
}
