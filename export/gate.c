/* ferry export: the signature gate before anything is written. The
 * judgement is the core's (oci-layout/sigcheck.c); this file gives it the
 * plan's manifests and reads signature blobs from the registries the plan
 * came from, then fails the export or leaves the refused images out. */

#include "export_int.h"
#include "ferry/limits.h"
#include "ferry/registry.h"
#include "ferry/sigcheck.h"
#include "ferry/util.h"

static int
src_manifest(void *ud, const char *digest, const char **data, size_t *len)
{
    const struct export_obj *ob = export_plan_get(ud, digest);

    if (ob == NULL || ob->data == NULL)
        return 0;
    *data = ob->data;
    *len = ob->len;
    return 1;
}

/* A signature blob: held already (a small config), or read from its
 * registry (the digest is checked there and again by the core). */
static int
src_blob(void *ud, const char *digest, int64_t size, struct ferry_buf *out,
         struct ferry_error **err)
{
    const struct export_obj *ob = export_plan_get(ud, digest);
    int r;

    if (ob == NULL)
        return 0;
    if (ob->data != NULL)
        return ferry_buf_append(out, ob->data, ob->len, err) < 0 ? -FERRY_E_TOO_LARGE : 1;
    if (ob->conn == NULL)
        return 0;
    if ((r = ferry_registry_get_blob_buf(ob->conn->reg, ob->repo, digest, size, out, err)) < 0)
        return r == -FERRY_E_TOO_LARGE ? r : ferry_error_wrap(err, "signature blob %s", digest);
    return 1;
}

int
export_gate(struct export_plan *p, const struct ferry_export_opts *o, bool report_only,
            struct ferry_export_report *rep, struct ferry_error **err)
{
    struct ferry_statement st;
    struct ferry_sigcheck_src src = {src_manifest, src_blob, p};
    bool *keep;
    size_t bad = 0, first = SIZE_MAX;
    int r = 0;

    if (o->gate == NULL)
        return 0;
    export_plan_borrowed_statement(p, &st);
    if ((keep = ferry_calloc(p->nimages ? p->nimages : 1, sizeof *keep)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < p->nimages && r >= 0; i++) {
        struct ferry_sig_verdict vd;
        if ((r = ferry_sigcheck_image(&st, i, &src, o->gate, &vd, err)) < 0)
            break;
        keep[i] = vd.ok;
        if (!vd.ok) {
            bad++;
            if (first == SIZE_MAX)
                first = i;
        }
        if (o->on_verdict != NULL)
            o->on_verdict(p->images[i].source, &vd, o->verdict_ud);
    }
    rep->unsigned_images = bad;
    if (report_only && !o->skip_unsigned) {
        ferry_free(keep);
        return r < 0 ? r : 0;
    }
    if (r >= 0 && bad > 0 && !o->skip_unsigned)
        r = ferry_error_new(err, FERRY_E_REFUSED,
                            "%zu image%s not signed as the signature gate requires (the first: "
                            "%s); nothing written (--skip-unsigned leaves them out)",
                            bad, bad == 1 ? "" : "s", p->images[first].source);
    if (r >= 0 && bad == p->nimages && p->nimages > 0)
        r = ferry_error_new(err, FERRY_E_REFUSED,
                            "no image is signed as the signature gate requires: nothing to write");
    if (r >= 0 && bad > 0) {
        ferry_log(FERRY_LOG_WARN, "%zu image%s left out: not signed as required", bad,
                  bad == 1 ? "" : "s");
        r = export_plan_keep_images(p, keep, err);
    }
    ferry_free(keep);
    return r < 0 ? r : 0;
}
