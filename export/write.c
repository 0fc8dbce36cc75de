/* ferry export: the writer: a finished plan streamed into one signed bundle.
 * The statement and its signature go first, then the layout's files and the
 * members in bundle order; blobs download ahead on a few threads (fetch.c)
 * into bounded rings while this thread writes them in order. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ferry/digest.h"

#include "export_int.h"
#include "fetch_int.h"
#include "ferry/bundle.h"
#include "ferry/layout.h"
#include "ferry/limits.h"
#include "ferry/manifest.h"
#include "ferry/util.h"

#define FETCH_CONNECTIONS 12 /* per registry, unless --connections says */

/* The files being written: one bundle, or a set of volumes written one
 * after the other (a blob in parts runs from one into the next). */
struct vwriter {
    const struct export_plan *p;
    struct ferry_statement *st;
    const struct ferry_export_opts *o;
    time_t now;
    bool stream;
    unsigned cur, count; /* the open volume (1-based), how many */
    struct ferry_bundle_writer *w;
    char **paths;       /* per volume (paths[0] unused); a bundle: o->output */
    unsigned committed; /* volumes in place, removed if a later one fails */
    uint64_t bytes;
    const size_t *first; /* volumes: obj i's first member in st */
    const char *layout_version;
    size_t vlen;
};

/* The member a streamed blob is being written into, and its parts. */
struct wsink {
    struct vwriter *vw;
    const char *what; /* shown with the progress: the repository the blob is read from */
    uint64_t done, total_done, total;
    size_t member;          /* index in st->members */
    int64_t left;           /* bytes of that member still to come */
    struct ferry_hasher *h; /* a part's bytes, checked against the signed digest */
};

static int vw_enter(struct vwriter *vw, unsigned k, struct ferry_error **err);

/* Begin member mi in the volume that holds it. */
static int
sink_begin(struct wsink *ws, size_t mi, struct ferry_error **err)
{
    const struct ferry_stmt_member *m = &ws->vw->st->members[mi];
    int r;

    if ((r = vw_enter(ws->vw, m->volume ? m->volume : 1, err)) < 0)
        return r;
    ws->member = mi;
    ws->left = m->size;
    if (m->blob != NULL)
        ferry_hasher_reset(ws->h);
    return ferry_bundle_writer_begin(ws->vw->w, m->path, (uint64_t)m->size, err);
}

static int
writer_sink(const void *data, size_t len, void *ud, struct ferry_error **err)
{
    struct wsink *ws = ud;
    const unsigned char *p = data;
    int r = 0;

    ws->done += len;
    ws->total_done += len;
    while (len > 0 && r == 0) {
        const struct ferry_stmt_member *m = &ws->vw->st->members[ws->member];
        size_t n = (int64_t)len < ws->left ? len : (size_t)ws->left;
        if (n == 0) /* more than the blob's parts: the writer says so at end */
            return ferry_bundle_writer_write(ws->vw->w, p, len, err);
        if ((r = ferry_bundle_writer_write(ws->vw->w, p, n, err)) < 0)
            break;
        if (m->blob != NULL)
            ferry_hasher_update(ws->h, p, n);
        p += n;
        len -= n;
        ws->left -= (int64_t)n;
        if (ws->left > 0 || m->blob == NULL)
            continue;
        {
            /* a part ends: it must be what the statement signed, and the
             * next part begins (in the next volume, as a rule) */
            struct ferry_digest d;
            ferry_hasher_final(ws->h, &d);
            if (strcmp(d.str, m->digest) != 0)
                return ferry_error_new(err, FERRY_E_DIGEST_MISMATCH,
                                       "%s changed since its parts were hashed: part %s", m->blob,
                                       m->path);
        }
        if ((size_t)ws->member + 1 < ws->vw->st->nmembers &&
            ws->vw->st->members[ws->member + 1].blob != NULL &&
            strcmp(ws->vw->st->members[ws->member + 1].blob, m->blob) == 0) {
            if ((r = ferry_bundle_writer_end(ws->vw->w, err)) < 0 ||
                (r = sink_begin(ws, ws->member + 1, err)) < 0)
                break;
        }
    }
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
check_space(const char *output, uint64_t need, struct ferry_error **err)
{
    uint64_t avail;
    int r;

    if ((r = ferry_fs_free(output, -1, NULL, &avail, err)) < 0)
        return r;
    if (avail >= need)
        return 0;
    return ferry_error_sys(err, ENOSPC,
                           "the bundle needs up to %llu bytes and its file system has %llu free: "
                           "nothing was downloaded",
                           (unsigned long long)need, (unsigned long long)avail);
}

/* Commit the open volume (its detached signature beside it; a stream has
 * none). */
static int
vw_commit(struct vwriter *vw, struct ferry_error **err)
{
    const char *path = vw->paths[vw->cur], *base = strrchr(path, '/');
    char *tc;
    int r;

    base = base ? base + 1 : path;
    if ((tc = trusted_comment(vw->now, base)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    r = ferry_bundle_writer_commit(vw->w, vw->stream ? NULL : vw->o->key, tc, err);
    ferry_free(tc);
    if (r < 0)
        return r;
    vw->bytes += ferry_bundle_writer_bytes(vw->w);
    vw->committed = vw->cur;
    ferry_bundle_writer_free(vw->w);
    vw->w = NULL;
    return 0;
}

/* Open volume k (a bundle: k = 1) and write what opens it: the statement
 * (saying which volume it is), its signature, the layout's files and the
 * members held in memory that it holds. */
static int
vw_open(struct vwriter *vw, unsigned k, struct ferry_error **err)
{
    struct ferry_bundle_writer_opts wo = {vw->o->level, vw->o->threads};
    struct ferry_statement *st = vw->st;
    char *stext = NULL, *sig = NULL, *tc = NULL, *path = NULL;
    size_t slen = 0;
    int r;

    if (vw->count > 0) {
        st->volume = k;
        ferry_log(FERRY_LOG_INFO, "volume %u of %u: %s", k, vw->count, vw->paths[k]);
    }
    if ((r = ferry_statement_serialize(st, &stext, &slen, err)) < 0)
        goto out;
    if ((tc = trusted_comment(vw->now, FERRY_STATEMENT_NAME)) == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    if ((r = ferry_sign_buffer(vw->o->key, stext, slen, "signature from ferry-export secret key",
                               tc, &sig, err)) < 0)
        goto out;
    /* a stream carries the signed statement inside; it has no detached
     * signature beside it */
    r = vw->stream ? ferry_bundle_writer_open_fd(STDOUT_FILENO, "<stdout>", &wo, &vw->w, err)
                   : ferry_bundle_writer_open(vw->paths[k], &wo, &vw->w, err);
    if (r < 0)
        goto out;
    vw->cur = k;
    if ((r = ferry_bundle_writer_add(vw->w, FERRY_STATEMENT_NAME, stext, slen, err)) < 0 ||
        (r = ferry_bundle_writer_add(vw->w, FERRY_STATEMENT_SIG_NAME, sig, strlen(sig), err)) < 0 ||
        (r = ferry_bundle_writer_add(vw->w, FERRY_LAYOUT_VERSION_FILE, vw->layout_version, vw->vlen,
                                     err)) < 0 ||
        (r = ferry_bundle_writer_add(vw->w, FERRY_LAYOUT_INDEX_FILE, vw->p->index, vw->p->ilen,
                                     err)) < 0)
        goto out;
    for (size_t i = 0; i < vw->p->nobjs; i++) {
        const struct export_obj *ob = vw->p->objs[i];
        if (ob->data == NULL ||
            (vw->first != NULL && !ferry_stmt_member_here(st, &st->members[vw->first[i + 2]])))
            continue;
        ferry_safefree(path);
        if ((path = ferry_layout_blob_path(ob->digest)) == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        if ((r = ferry_bundle_writer_add(vw->w, path, ob->data, ob->len, err)) < 0)
            goto out;
    }
out:
    ferry_free(stext);
    ferry_free(sig);
    ferry_free(tc);
    ferry_free(path);
    return r;
}

/* Make volume k the open one, committing those before it (a volume may
 * hold nothing but what every volume holds). */
static int
vw_enter(struct vwriter *vw, unsigned k, struct ferry_error **err)
{
    int r;

    while (vw->cur < k) {
        if (vw->cur > 0 && (r = vw_commit(vw, err)) < 0)
            return r;
        if ((r = vw_open(vw, vw->cur + 1, err)) < 0)
            return r;
    }
    return 0;
}

/* A failed set takes back the volumes already in place. */
static void
vw_clear(struct vwriter *vw, bool failed)
{
    ferry_bundle_writer_free(vw->w);
    for (unsigned k = 1; vw->paths != NULL && k <= (vw->count ? vw->count : 1); k++) {
        if (failed && k <= vw->committed && vw->count > 0) {
            char *sig = ferry_asprintf("%s.minisig", vw->paths[k]);
            unlink(vw->paths[k]);
            if (sig != NULL)
                unlink(sig);
            ferry_free(sig);
        }
        if (vw->count > 0)
            ferry_free(vw->paths[k]);
    }
    ferry_free(vw->paths);
}

int
export_write(const struct export_plan *p, struct ferry_statement *st, time_t now,
             const struct ferry_export_opts *o, struct ferry_export_report *rep,
             struct ferry_error **err)
{
    struct vwriter vw = {0};
    struct wsink ws = {0};
    char *stext = NULL, *path = NULL;
    size_t slen = 0, i, *first = NULL;
    struct fetch_job *jobs = NULL;
    struct fetcher *fetch = NULL;
    size_t njobs = 0;
    double t_commit;
    int r = 0;

    vw.p = p;
    vw.st = st;
    vw.o = o;
    vw.now = now;
    vw.stream = strcmp(o->output, "-") == 0;
    vw.layout_version = ferry_layout_version_text(&vw.vlen);
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
    if (o->volume_size > 0 && vw.stream) {
        r = ferry_error_new(err, FERRY_E_USAGE, "--volume-size writes files: not with -o -");
        goto out;
    }
    if (vw.stream && isatty(STDOUT_FILENO)) {
        r = ferry_error_new(err, FERRY_E_USAGE,
                            "-o -: stdout is a terminal; pipe the bundle somewhere");
        goto out;
    }
    if (o->volume_size > 0) {
        if ((r = export_volumes_cut(p, st, o->volume_size, &first, err)) < 0)
            goto out;
        vw.first = first;
        vw.count = st->volumes;
        rep->volumes = st->volumes;
        for (i = 0; i < st->nmembers; i++)
            rep->parts += st->members[i].blob != NULL;
    }
    /* the paths, and the space they need, before anything is downloaded */
    if ((vw.paths = ferry_calloc((size_t)vw.count + 2, sizeof *vw.paths)) == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    if (vw.count == 0) {
        vw.paths[1] = (char *)o->output;
        if ((r = ferry_statement_serialize(st, &stext, &slen, err)) < 0 ||
            (!vw.stream &&
             (r = check_space(o->output, ferry_bundle_file_bound(st, slen), err)) < 0))
            goto out;
    } else {
        uint64_t need = 0;
        for (unsigned k = 1; k <= vw.count; k++) {
            uint64_t b;
            if ((vw.paths[k] = ferry_export_volume_path(o->output, k, vw.count)) == NULL) {
                r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
                goto out;
            }
            st->volume = k;
            ferry_safefree(stext);
            if ((r = ferry_statement_serialize(st, &stext, &slen, err)) < 0)
                goto out;
            if ((b = ferry_bundle_file_bound(st, slen)) > o->volume_size) {
                r = ferry_error_new(err, FERRY_E_INTERNAL,
                                    "volume %u can take %llu bytes, over the size", k,
                                    (unsigned long long)b);
                goto out;
            }
            need += b;
        }
        if ((r = check_space(o->output, need, err)) < 0)
            goto out;
    }
    /* Layers download ahead on several connections (in ranges, within a
     * ring of 4 MiB per connection) while this thread writes the bundle in order. */
    jobs = ferry_calloc(p->nobjs ? p->nobjs : 1, sizeof *jobs);
    ws.h = ferry_hasher_new(FERRY_DIGEST_SHA256);
    if (jobs == NULL || ws.h == NULL) {
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
    if ((r = vw_enter(&vw, 1, err)) < 0)
        goto out;
    for (i = 0; i < p->nobjs; i++)
        if (p->objs[i]->data != NULL)
            ws.total_done += p->objs[i]->len;
    if ((r = fetcher_start(jobs, njobs,
                           o->connections > 0 ? (size_t)o->connections : FETCH_CONNECTIONS, &fetch,
                           err)) < 0)
        goto out;
    ws.vw = &vw;
    njobs = 0;
    for (i = 0; i < p->nobjs; i++) {
        const struct export_obj *ob = p->objs[i];
        if (ob->data != NULL)
            continue;
        if (first == NULL) {
            ferry_safefree(path);
            if ((path = ferry_layout_blob_path(ob->digest)) == NULL) {
                r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
                goto out;
            }
            ws.member = i + 2;
            ws.left = ob->size;
            r = ferry_bundle_writer_begin(vw.w, path, (uint64_t)ob->size, err);
        } else {
            r = sink_begin(&ws, first[i + 2], err);
        }
        if (r < 0)
            goto out;
        ws.what = ob->repo ? ob->repo : ob->digest;
        ws.done = 0;
        if ((r = fetcher_drain(fetch, njobs++, writer_sink, &ws, err)) < 0)
            goto out;
        if ((r = ferry_bundle_writer_end(vw.w, err)) < 0)
            goto out;
    }
    if ((r = vw_enter(&vw, vw.count ? vw.count : 1, err)) < 0)
        goto out;
    t_commit = ferry_monotonic_s();
    if ((r = vw_commit(&vw, err)) < 0)
        goto out;
    rep->commit_s = ferry_monotonic_s() - t_commit;
    rep->bundle_bytes = vw.bytes;
out:
    fetcher_stop(fetch);
    ferry_free(jobs);
    ferry_hasher_free(ws.h);
    vw_clear(&vw, r < 0);
    ferry_free(first);
    ferry_free(stext);
    ferry_free(path);
    return r;
}
