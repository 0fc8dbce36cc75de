/* ferry export: the writer: a finished plan streamed into one signed bundle.
 * The statement and its signature go first, then the layout's files and the
 * members in bundle order; blobs download ahead on a few threads (fetch.c)
 * into bounded rings while this thread writes them in order. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "export_int.h"
#include "fetch_int.h"
#include "ferry/bundle.h"
#include "ferry/layout.h"
#include "ferry/limits.h"
#include "ferry/manifest.h"
#include "ferry/util.h"

#define FETCH_THREADS 3       /* layers downloaded ahead of the writer */
#define FETCH_RING (4u << 20) /* bytes each may hold: memory is bounded by both */

struct wsink {
    struct ferry_bundle_writer *w;
    const char *what; /* shown with the progress: the repository the blob is read from */
    uint64_t done, total_done, total;
};

static int
writer_sink(const void *data, size_t len, void *ud, struct ferry_error **err)
{
    struct wsink *ws = ud;
    int r = ferry_bundle_writer_write(ws->w, data, len, err);

    ws->done += len;
    ws->total_done += len;
    ferry_progress("export", ws->what, ws->total_done, ws->total);
    return r;
}

/* minisign's trusted comment for a file signed at now. */
static char *
trusted_comment(time_t now, const char *file)
{
    return ferry_asprintf("timestamp:%lld\tfile:%s\thashed", (long long)now, file);
}

/* The most bytes the bundle can take against the free space of the file
 * system the output goes to: checked before any layer is downloaded, so a
 * full disk costs no transfer. */
static int
check_space(const char *output, const struct ferry_statement *st, size_t slen,
            struct ferry_error **err)
{
    uint64_t need = ferry_bundle_file_bound(st, slen), avail;
    struct statvfs sv;
    char *dir, a[32], b[32];
    const char *slash = strrchr(output, '/');
    int r;

    dir = slash == NULL     ? ferry_strdup(".")
          : slash == output ? ferry_strdup("/")
                            : ferry_strndup(output, (size_t)(slash - output));
    if (dir == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    if (statvfs(dir, &sv) < 0) {
        r = ferry_error_sys(err, errno, "free space of %s", dir);
        ferry_free(dir);
        return r;
    }
    ferry_free(dir);
    avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    if (avail >= need)
        return 0;
    snprintf(a, sizeof a, "%llu", (unsigned long long)need);
    snprintf(b, sizeof b, "%llu", (unsigned long long)avail);
    return ferry_error_sys(err, ENOSPC,
                           "the bundle needs up to %s bytes and its file system has %s free: "
                           "nothing was downloaded",
                           a, b);
}

int
export_write(const struct export_plan *p, const struct ferry_statement *st, time_t now,
             const struct ferry_export_opts *o, struct ferry_export_report *rep,
             struct ferry_error **err)
{
    struct ferry_bundle_writer_opts wo = {o->level, o->threads};
    struct ferry_bundle_writer *w = NULL;
    struct wsink ws = {0};
    char *stext = NULL, *sig = NULL, *path = NULL, *tc = NULL;
    const char *base, *version;
    size_t slen = 0, vlen, i;
    struct fetch_job *jobs = NULL;
    struct fetcher *fetch = NULL;
    size_t njobs = 0;
    double t_commit;
    bool stream = strcmp(o->output, "-") == 0;
    int r = 0;

    version = ferry_layout_version_text(&vlen);
    rep->images = st->nimages;
    rep->referrers = st->nreferrers;
    rep->external_blobs = st->nexternals;
    for (size_t k = 0; k < st->nexternals; k++)
        rep->external_bytes += (uint64_t)st->externals[k].size;
    for (i = 0; i < p->nobjs; i++) {
        const struct export_obj *ob = p->objs[i];
        ws.total += (uint64_t)ob->size;
        rep->content_bytes += (uint64_t)ob->size;
        if (ferry_media_type_is_index(ob->media_type) ||
            ferry_media_type_is_manifest(ob->media_type))
            rep->manifests++;
        else
            rep->blobs++;
    }
    if ((r = ferry_statement_serialize(st, &stext, &slen, err)) < 0 ||
        (!stream && (r = check_space(o->output, st, slen, err)) < 0))
        goto out;
    if ((tc = trusted_comment(now, FERRY_STATEMENT_NAME)) == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    if ((r = ferry_sign_buffer(o->key, stext, slen, "signature from ferry-export secret key", tc,
                               &sig, err)) < 0)
        goto out;

    if (stream && isatty(STDOUT_FILENO)) {
        r = ferry_error_new(err, FERRY_E_USAGE,
                            "-o -: stdout is a terminal; pipe the bundle somewhere");
        goto out;
    }
    /* a stream carries the signed statement inside; it has no detached
     * signature beside it */
    r = stream ? ferry_bundle_writer_open_fd(STDOUT_FILENO, "<stdout>", &wo, &w, err)
               : ferry_bundle_writer_open(o->output, &wo, &w, err);
    if (r < 0)
        goto out;
    if ((r = ferry_bundle_writer_add(w, FERRY_STATEMENT_NAME, stext, slen, err)) < 0 ||
        (r = ferry_bundle_writer_add(w, FERRY_STATEMENT_SIG_NAME, sig, strlen(sig), err)) < 0 ||
        (r = ferry_bundle_writer_add(w, FERRY_LAYOUT_VERSION_FILE, version, vlen, err)) < 0 ||
        (r = ferry_bundle_writer_add(w, FERRY_LAYOUT_INDEX_FILE, p->index, p->ilen, err)) < 0)
        goto out;
    /* Layers download ahead on a few threads (bounded rings) while this
     * thread writes the bundle in order. */
    jobs = ferry_calloc(p->nobjs ? p->nobjs : 1, sizeof *jobs);
    if (jobs == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < p->nobjs; i++) {
        const struct export_obj *ob = p->objs[i];
        if (ob->data != NULL)
            continue;
        if (ob->conn == NULL) {
            r = ferry_error_new(err, FERRY_E_INTERNAL, "no connection for %s", ob->digest);
            goto out;
        }
        jobs[njobs].host = ob->conn->host;
        jobs[njobs].reg = ob->conn->opts;
        jobs[njobs].repo = ob->repo;
        jobs[njobs].digest = ob->digest;
        jobs[njobs].size = ob->size;
        njobs++;
    }
    if ((r = fetcher_start(jobs, njobs, FETCH_THREADS, FETCH_RING, &fetch, err)) < 0)
        goto out;
    njobs = 0;
    for (i = 0; i < p->nobjs; i++) {
        const struct export_obj *ob = p->objs[i];
        ferry_safefree(path);
        if ((path = ferry_layout_blob_path(ob->digest)) == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        if (ob->data != NULL) {
            if ((r = ferry_bundle_writer_add(w, path, ob->data, ob->len, err)) < 0)
                goto out;
            ws.total_done += ob->len;
            continue;
        }
        if ((r = ferry_bundle_writer_begin(w, path, (uint64_t)ob->size, err)) < 0)
            goto out;
        ws.w = w;
        ws.what = ob->repo ? ob->repo : ob->digest;
        ws.done = 0;
        if ((r = fetcher_drain(fetch, njobs++, writer_sink, &ws, err)) < 0)
            goto out;
        if ((r = ferry_bundle_writer_end(w, err)) < 0)
            goto out;
    }
    ferry_free(tc);
    base = strrchr(o->output, '/');
    base = base ? base + 1 : o->output;
    if ((tc = trusted_comment(now, base)) == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    t_commit = export_clock();
    if ((r = ferry_bundle_writer_commit(w, stream ? NULL : o->key, tc, err)) < 0)
        goto out;
    rep->commit_s = export_clock() - t_commit;
    rep->bundle_bytes = ferry_bundle_writer_bytes(w);
out:
    fetcher_stop(fetch);
    ferry_free(jobs);
    ferry_bundle_writer_free(w);
    ferry_free(stext);
    ferry_free(sig);
    ferry_free(path);
    ferry_free(tc);
    return r;
}
