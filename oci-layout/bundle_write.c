/* ferry: bundle writer. libarchive writes a deterministic pax tar through a
 * write callback (no blocking, so every byte reaches us at once); we compress it
 * with libzstd into a small queue of output buffers, ending a frame after each
 * member and every frame_limit bytes, and at commit append the seek table (zstd
 * seekable format). A writer thread takes the buffers off the queue in order,
 * write()s them and hashes them for the signature. See
 * docs/internals/bundle.md. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sync_file_range */
#endif
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>

#include "bundle_int.h"
#include "ferry/limits.h"
#include "ferry/sign.h"
#include "ferry/util.h"
#include "xxh64.h"

#define WRITER_MAGIC 0xfe77b0d1u
#define DEFAULT_LEVEL 3
#define UNTRUSTED_COMMENT "signature from ferry secret key"

enum wstate {
    W_OPEN,      /* between members */
    W_MEMBER,    /* a streamed member is open */
    W_COMMITTED, /* done; the file is in place */
    W_FAILED,    /* sticky: every call returns the first error */
};

struct wframe {
    uint32_t csize, dsize;
};

/* The bounded queue between the caller's thread (the producer: tar, zstd) and
 * the writer thread (write(), BLAKE2b). Buffers are used round robin: the
 * producer fills buf[tail] while the writer writes buf[head] .. in order. All
 * fields but the writer-only ones are guarded by mu. */
struct outq {
    pthread_mutex_t mu;
    pthread_cond_t queued; /* writer waits: a buffer was queued, or stop */
    pthread_cond_t freed;  /* producer waits: a buffer was written, or failed */
    unsigned char *buf[BUNDLE_OUT_BUFS];
    size_t len[BUNDLE_OUT_BUFS];
    unsigned head;    /* oldest buffer queued */
    unsigned nqueued; /* buffers queued or being written */
    bool stop;        /* no more buffers: write the queued ones and exit */
    bool cancel;      /* exit without writing what is queued */
    bool failed;      /* the writer thread stopped on an error */
    int fail_errno;
    uint64_t fail_offset;
    /* writer thread only */
    uint64_t written;     /* bytes in the file */
    uint64_t synced;      /* writeback started up to here */
    uint64_t published;   /* told the flusher up to here */
    unsigned long writes; /* write() calls */
};

/* Flushes the file to the device while it is written: the writer thread
 * publishes how much it wrote, and this thread fdatasyncs every flush_chunk
 * bytes, so the fsync at commit has little left to wait for. All fields are
 * guarded by mu. */
struct flusher {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t written;    /* published by the writer thread */
    uint64_t flushed;    /* covered by a finished fdatasync */
    uint64_t chunk;      /* flush after this many new bytes */
    unsigned long count; /* fdatasync calls made */
    int err;             /* errno of a failed fdatasync (sticky), or 0 */
    bool stop;
};

struct ferry_bundle_writer {
    uint32_t magic;
    enum wstate state;
    enum ferry_status fail_code;
    char *fail_msg;

    char *path;
    char *dirpath; /* directory of path, fsynced after the rename */
    char *tmppath; /* NULL once renamed into place; a stream: its name, never removed */
    bool stream;   /* writing to a caller's descriptor (a pipe): no rename, no signature */
    int fd;
    struct archive *a;
    ZSTD_CCtx *cctx;
    struct ferry_signer *signer; /* the writer thread's while it runs */

    struct outq q;
    bool q_ready;   /* mu and the condition variables exist */
    bool q_running; /* the writer thread runs (not yet joined) */
    pthread_t thread;
    struct flusher fl;
    bool fl_ready, fl_running;
    struct bundle_faults *faults; /* test hooks (bundle_int.h) only; NULL otherwise */
    pthread_t fl_thread;
    unsigned tail; /* buffer the producer fills */
    size_t fill;   /* bytes in it */

    struct wframe *frames;
    size_t nframes, capframes;
    uint64_t cbytes;      /* compressed bytes produced (written or queued) */
    uint64_t frame_csize; /* of the open frame */
    uint64_t frame_dsize;
    uint32_t frame_limit;

    /* Stored frames (raw blocks) for the open member's data. */
    uint64_t store_min;                    /* BUNDLE_STORE_MIN, or a test's value */
    unsigned char sniff[BUNDLE_SNIFF_LEN]; /* the open member's first bytes */
    size_t nsniff;
    bool sniffed; /* decided whether the open member is stored */
    bool stored;
    bool blk_open;          /* a raw block's header is in the current buffer */
    size_t blk_at;          /* its offset there */
    size_t blk_len;         /* bytes in the block so far */
    struct ferry_xxh64 xxh; /* of the open stored frame's content */

    uint64_t members;
    char *member; /* name of the open member, for messages */
    uint64_t declared, remaining;

    struct ferry_error *cb_err; /* set inside the libarchive write callback */
    bool discard;               /* freeing: the callback drops what it gets */
};

/* ---- writer thread: file, signature hash ----------------------------------- */

/* Write one buffer whole; 0 or the errno of the failed write(). */
static int
write_buf(struct ferry_bundle_writer *w, const unsigned char *p, size_t len)
{
    struct outq *q = &w->q;
    const unsigned char *s = p;
    size_t left = len;

    while (left > 0) {
        ssize_t n;
        q->writes++;
        if (w->faults != NULL && w->faults->write_nth != 0 && q->writes == w->faults->write_nth) {
            n = -1;
            errno = w->faults->write_errno;
        } else {
            n = write(w->fd, s, left);
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        s += n;
        left -= (size_t)n;
        q->written += (uint64_t)n;
    }
    ferry_signer_update(w->signer, p, len);
#ifdef SYNC_FILE_RANGE_WRITE
    /* Start writeback now rather than leave it all to the fsync at commit,
     * which otherwise waits for the whole file. Only starts I/O, so it does not
     * consume a writeback error: fsync still reports it. */
    if (q->written - q->synced >= BUNDLE_WRITEBACK_CHUNK) {
        (void)sync_file_range(w->fd, (off_t)q->synced, (off_t)(q->written - q->synced),
                              SYNC_FILE_RANGE_WRITE);
        q->synced = q->written;
    }
#endif
    if (w->fl_running && q->written - q->published >= w->fl.chunk) {
        pthread_mutex_lock(&w->fl.mu);
        w->fl.written = q->written;
        pthread_cond_signal(&w->fl.cv);
        pthread_mutex_unlock(&w->fl.mu);
        q->published = q->written;
    }
    return 0;
}

/* The writer thread. It allocates nothing and reports only errno and offset:
 * the producer turns those into the writer's error. */
static void *
writer_main(void *arg)
{
    struct ferry_bundle_writer *w = arg;
    struct outq *q = &w->q;

    pthread_mutex_lock(&q->mu);
    for (;;) {
        const unsigned char *p;
        size_t len;
        int e;
        while (q->nqueued == 0 && !q->stop)
            pthread_cond_wait(&q->queued, &q->mu);
        if (w->faults != NULL && w->faults->write_nth != 0 && q->writes + 1 == w->faults->write_nth)
            while (q->nqueued < BUNDLE_OUT_BUFS && !q->stop)
                pthread_cond_wait(&q->queued, &q->mu);
        if (q->cancel || q->nqueued == 0)
            break;
        p = q->buf[q->head];
        len = q->len[q->head];
        pthread_mutex_unlock(&q->mu);
        e = write_buf(w, p, len);
        pthread_mutex_lock(&q->mu);
        if (e != 0) {
            q->failed = true;
            q->fail_errno = e;
            q->fail_offset = q->written;
            pthread_cond_signal(&q->freed);
            break;
        }
        q->head = (q->head + 1) % BUNDLE_OUT_BUFS;
        q->nqueued--;
        pthread_cond_signal(&q->freed);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

/* ---- producer side of the queue --------------------------------------------- */

/* The writer thread's failure, read under mu, as the writer's error. */
static int
fail_error(struct ferry_bundle_writer *w, int errnum, uint64_t off, struct ferry_error **err)
{
    return ferry_error_sys(err, errnum, "write %s at offset %llu", w->tmppath,
                           (unsigned long long)off);
}

/* The writer thread's failure, if it failed, or 0. */
static int
out_error(struct ferry_bundle_writer *w, struct ferry_error **err)
{
    bool failed;
    int e;
    uint64_t off;

    if (!w->q_ready)
        return 0;
    pthread_mutex_lock(&w->q.mu);
    failed = w->q.failed;
    e = w->q.fail_errno;
    off = w->q.fail_offset;
    pthread_mutex_unlock(&w->q.mu);
    return failed ? fail_error(w, e, off, err) : 0;
}

/* Queue the current buffer and wait until the next one is free, or until the
 * writer thread failed: a dead writer never leaves us waiting. */
static int
out_push(struct ferry_bundle_writer *w, struct ferry_error **err)
{
    struct outq *q = &w->q;
    bool failed;
    int e;
    uint64_t off;

    pthread_mutex_lock(&q->mu);
    q->len[w->tail] = w->fill;
    q->nqueued++;
    pthread_cond_signal(&q->queued);
    while (q->nqueued == BUNDLE_OUT_BUFS && !q->failed)
        pthread_cond_wait(&q->freed, &q->mu);
    failed = q->failed;
    e = q->fail_errno;
    off = q->fail_offset;
    pthread_mutex_unlock(&q->mu);
    w->tail = (w->tail + 1) % BUNDLE_OUT_BUFS;
    w->fill = 0;
    return failed ? fail_error(w, e, off, err) : 0;
}

/* Append bytes to the output (the seek table; zstd writes in place). */
static int
out_put(struct ferry_bundle_writer *w, const unsigned char *p, size_t len, struct ferry_error **err)
{
    while (len > 0) {
        size_t k = BUNDLE_OUT_BUFSIZE - w->fill;
        if (k > len)
            k = len;
        memcpy(w->q.buf[w->tail] + w->fill, p, k);
        w->fill += k;
        w->cbytes += k;
        p += k;
        len -= k;
        if (w->fill == BUNDLE_OUT_BUFSIZE) {
            int r = out_push(w, err);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

/* Commit: queue what is left, let the writer thread finish, join it. */
static int
out_finish(struct ferry_bundle_writer *w, struct ferry_error **err)
{
    struct outq *q = &w->q;

    pthread_mutex_lock(&q->mu);
    if (w->fill > 0) {
        assert(q->nqueued < BUNDLE_OUT_BUFS); /* the producer's buffer is free */
        q->len[w->tail] = w->fill;
        q->nqueued++;
        w->fill = 0;
    }
    q->stop = true;
    pthread_cond_signal(&q->queued);
    pthread_mutex_unlock(&q->mu);
    pthread_join(w->thread, NULL);
    w->q_running = false;
    return out_error(w, err);
}

/* Free: stop the writer thread without writing what is still queued. */
static void
out_cancel(struct ferry_bundle_writer *w)
{
    struct outq *q = &w->q;

    pthread_mutex_lock(&q->mu);
    q->stop = true;
    q->cancel = true;
    pthread_cond_signal(&q->queued);
    pthread_mutex_unlock(&q->mu);
    pthread_join(w->thread, NULL);
    w->q_running = false;
}

/* The flusher thread: fdatasync whenever flush_chunk more bytes are written,
 * until told to stop; a failure is kept for the commit, which fails with it
 * (the kernel reports a writeback error to one fsync caller only). */
static void *
flusher_main(void *arg)
{
    struct ferry_bundle_writer *w = arg;
    struct flusher *fl = &w->fl;

    pthread_mutex_lock(&fl->mu);
    for (;;) {
        uint64_t target;
        int e;
        while (!fl->stop && fl->written - fl->flushed < fl->chunk)
            pthread_cond_wait(&fl->cv, &fl->mu);
        if (fl->stop)
            break;
        target = fl->written;
        pthread_mutex_unlock(&fl->mu);
        if (w->faults != NULL && w->faults->flush_errno != 0)
            e = w->faults->flush_errno;
        else
            e = fdatasync(w->fd) < 0 ? errno : 0;
        pthread_mutex_lock(&fl->mu);
        fl->count++;
        if (e != 0) {
            fl->err = e;
            break;
        }
        fl->flushed = target;
    }
    pthread_mutex_unlock(&fl->mu);
    return NULL;
}

/* Stop and join the flusher thread; its error, if it had one. */
static int
flusher_stop(struct ferry_bundle_writer *w, struct ferry_error **err)
{
    int e;

    if (!w->fl_running)
        return 0;
    pthread_mutex_lock(&w->fl.mu);
    w->fl.stop = true;
    pthread_cond_signal(&w->fl.cv);
    pthread_mutex_unlock(&w->fl.mu);
    pthread_join(w->fl_thread, NULL);
    w->fl_running = false;
    e = w->fl.err;
    return e != 0 ? ferry_error_sys(err, e, "fsync %s", w->tmppath) : 0;
}

/* Allocate the buffers and start the writer thread, with every signal blocked
 * so that the application's handlers run on its own threads. */
static int
out_start(struct ferry_bundle_writer *w, struct ferry_error **err)
{
    sigset_t all, old;
    int e;

    for (unsigned i = 0; i < BUNDLE_OUT_BUFS; i++) {
        w->q.buf[i] = ferry_malloc(BUNDLE_OUT_BUFSIZE);
        if (w->q.buf[i] == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", w->path);
    }
    e = pthread_mutex_init(&w->q.mu, NULL);
    if (e == 0) {
        e = pthread_cond_init(&w->q.queued, NULL);
        if (e != 0)
            pthread_mutex_destroy(&w->q.mu);
    }
    if (e == 0) {
        e = pthread_cond_init(&w->q.freed, NULL);
        if (e != 0) {
            pthread_cond_destroy(&w->q.queued);
            pthread_mutex_destroy(&w->q.mu);
        }
    }
    if (e != 0)
        return ferry_error_sys(err, e, "%s: writer queue", w->path);
    w->q_ready = true;
    w->fl.chunk = BUNDLE_FLUSH_CHUNK;
    if (pthread_mutex_init(&w->fl.mu, NULL) == 0) {
        if (pthread_cond_init(&w->fl.cv, NULL) == 0)
            w->fl_ready = true;
        else
            pthread_mutex_destroy(&w->fl.mu);
    }
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    /* The flusher first: the writer thread reads fl_running. Without a
     * flusher the fsync at commit does all the work. */
    if (w->fl_ready && !w->stream)
        w->fl_running = pthread_create(&w->fl_thread, NULL, flusher_main, w) == 0;
    e = pthread_create(&w->thread, NULL, writer_main, w);
    if (e == 0)
        w->q_running = true;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0)
        return ferry_error_sys(err, e, "%s: start writer thread", w->path);
    return 0;
}

/* ---- compression, frame accounting ------------------------------------------ */

/* Push input through zstd until it is consumed (continue) or the frame is
 * complete and flushed (end). zstd writes straight into the queue buffer. */
static int
zfeed(struct ferry_bundle_writer *w, const void *data, size_t len, ZSTD_EndDirective mode,
      struct ferry_error **err)
{
    ZSTD_inBuffer in = {data, len, 0};

    for (;;) {
        ZSTD_outBuffer out = {w->q.buf[w->tail], BUNDLE_OUT_BUFSIZE, w->fill};
        size_t rem = ZSTD_compressStream2(w->cctx, &out, &in, mode);
        if (ZSTD_isError(rem))
            return ferry_error_new(err, FERRY_E_INTERNAL, "%s: zstd compression failed: %s",
                                   w->tmppath, ZSTD_getErrorName(rem));
        w->frame_csize += out.pos - w->fill;
        w->cbytes += out.pos - w->fill;
        w->fill = out.pos;
        if (w->fill == BUNDLE_OUT_BUFSIZE) {
            int r = out_push(w, err);
            if (r < 0)
                return r;
        }
        if (mode == ZSTD_e_end ? rem == 0 : in.pos == in.size)
            return 0;
    }
}

/* ---- stored frames ------------------------------------------------------------ */

/* Blob data that is compressed already (gzip, zstd, xz, bzip2 and lz4 layers)
 * goes into zstd frames of raw blocks that we build ourselves: any zstd decoder
 * reads them, and writing one costs a copy and XXH64 instead of a compression
 * pass that would gain nothing. Header: magic, a descriptor with only the
 * content checksum flag, and a 128 KiB window (no content size: it is not
 * known when the header is written). Blocks of at most 128 KiB, the last one
 * flagged, then the checksum. docs/FORMAT.md "Stored frames". */
#define RAW_BLOCK_MAX (128u << 10)
#define RAW_BLOCK_HEADER 3u
#define RAW_FRAME_DESCRIPTOR 0x04u               /* Content_Checksum_flag only */
#define RAW_WINDOW_DESCRIPTOR ((17u - 10u) << 3) /* 2^17 = RAW_BLOCK_MAX */

/* Does a member's first data look like a compressed stream (magic numbers)? */
bool
bundle_looks_compressed(const unsigned char *p, size_t len)
{
    static const unsigned char xz[6] = {0xFD, '7', 'z', 'X', 'Z', 0};

    if (len >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8) /* gzip, deflate */
        return true;
    if (len >= 4) {
        uint32_t m = bundle_le32(p);
        if (m == ZSTD_MAGICNUMBER || (m & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START)
            return true; /* zstd frame, or the skippable frame some zstd streams start with */
        if (m == 0x184D2204u || m == 0x184C2102u)
            return true; /* lz4 frame, lz4 legacy */
    }
    if (len >= sizeof xz && memcmp(p, xz, sizeof xz) == 0)
        return true;
    return len >= 4 && memcmp(p, "BZh", 3) == 0 && p[3] >= '1' && p[3] <= '9'; /* bzip2 */
}

/* Fill in the open raw block's header. */
static void
block_close(struct ferry_bundle_writer *w, bool last)
{
    unsigned char *h = w->q.buf[w->tail] + w->blk_at;
    uint32_t v = (uint32_t)w->blk_len << 3 | (last ? 1u : 0u); /* Block_Type 0: raw */

    h[0] = (unsigned char)v;
    h[1] = (unsigned char)(v >> 8);
    h[2] = (unsigned char)(v >> 16);
    w->blk_open = false;
}

/* Append frame bytes that are not block content (header, trailer). */
static int
store_put(struct ferry_bundle_writer *w, const unsigned char *p, size_t len,
          struct ferry_error **err)
{
    w->frame_csize += len;
    return out_put(w, p, len, err);
}

static int
store_in(struct ferry_bundle_writer *w, const unsigned char *p, size_t len,
         struct ferry_error **err)
{
    int r;

    if (w->frame_dsize == 0 && w->frame_csize == 0) {
        unsigned char h[6];
        bundle_put_le32(h, ZSTD_MAGICNUMBER);
        h[4] = RAW_FRAME_DESCRIPTOR;
        h[5] = RAW_WINDOW_DESCRIPTOR;
        r = store_put(w, h, sizeof h, err);
        if (r < 0)
            return r;
        ferry_xxh64_init(&w->xxh, 0);
    }
    ferry_xxh64_update(&w->xxh, p, len);
    while (len > 0) {
        size_t k;
        if (!w->blk_open) {
            if (BUNDLE_OUT_BUFSIZE - w->fill <= RAW_BLOCK_HEADER) {
                r = out_push(w, err);
                if (r < 0)
                    return r;
            }
            w->blk_at = w->fill;
            w->blk_len = 0;
            w->blk_open = true;
            w->fill += RAW_BLOCK_HEADER;
            w->cbytes += RAW_BLOCK_HEADER;
            w->frame_csize += RAW_BLOCK_HEADER;
        }
        k = BUNDLE_OUT_BUFSIZE - w->fill;
        if (k > RAW_BLOCK_MAX - w->blk_len)
            k = RAW_BLOCK_MAX - w->blk_len;
        if (k > len)
            k = len;
        memcpy(w->q.buf[w->tail] + w->fill, p, k);
        w->fill += k;
        w->blk_len += k;
        w->cbytes += k;
        w->frame_csize += k;
        p += k;
        len -= k;
        if (w->blk_len == RAW_BLOCK_MAX || w->fill == BUNDLE_OUT_BUFSIZE)
            block_close(w, false);
        if (w->fill == BUNDLE_OUT_BUFSIZE) {
            r = out_push(w, err);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

/* End a stored frame: flag its last block (an empty one if none is open) and
 * append the checksum. */
static int
store_end(struct ferry_bundle_writer *w, struct ferry_error **err)
{
    unsigned char t[RAW_BLOCK_HEADER + 4];
    size_t n = 0;

    if (w->blk_open) {
        block_close(w, true);
    } else {
        t[0] = 1; /* last, raw, size 0 */
        t[1] = t[2] = 0;
        n = RAW_BLOCK_HEADER;
    }
    bundle_put_le32(t + n, (uint32_t)ferry_xxh64_digest(&w->xxh));
    return store_put(w, t, n + 4, err);
}

static int
end_frame(struct ferry_bundle_writer *w, struct ferry_error **err)
{
    struct wframe *f;
    int r;

    if (w->frame_dsize == 0)
        return 0;
    r = w->stored ? store_end(w, err) : zfeed(w, NULL, 0, ZSTD_e_end, err);
    if (r < 0)
        return r;
    if (w->frame_csize > UINT32_MAX)
        return ferry_error_new(err, FERRY_E_INTERNAL, "%s: zstd frame of %llu bytes", w->tmppath,
                               (unsigned long long)w->frame_csize);
    if (w->nframes == w->capframes) {
        size_t ncap = w->capframes ? w->capframes * 2 : 64;
        if (ncap > FERRY_MAX_BUNDLE_FRAMES)
            ncap = FERRY_MAX_BUNDLE_FRAMES;
        if (w->nframes >= ncap)
            return ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: more than %u zstd frames",
                                   w->tmppath, FERRY_MAX_BUNDLE_FRAMES);
        f = ferry_realloc(w->frames, ncap * sizeof *f);
        if (f == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM,
                                   "%s: out of memory for %zu seek table entries", w->tmppath,
                                   ncap);
        w->frames = f;
        w->capframes = ncap;
    }
    f = &w->frames[w->nframes++];
    f->csize = (uint32_t)w->frame_csize;
    f->dsize = (uint32_t)w->frame_dsize;
    w->frame_csize = 0;
    w->frame_dsize = 0;
    return 0;
}

/* Tar bytes from libarchive: compress, ending a frame every frame_limit bytes. */
static int
compress_in(struct ferry_bundle_writer *w, const unsigned char *p, size_t len,
            struct ferry_error **err)
{
    while (len > 0) {
        size_t take = w->frame_limit - (size_t)w->frame_dsize;
        int r;
        if (take > len)
            take = len;
        r = w->stored ? store_in(w, p, take, err) : zfeed(w, p, take, ZSTD_e_continue, err);
        if (r < 0)
            return r;
        w->frame_dsize += take;
        p += take;
        len -= take;
        if (w->frame_dsize == w->frame_limit) {
            r = end_frame(w, err);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static la_ssize_t
archive_write_cb(struct archive *a, void *ud, const void *buf, size_t len)
{
    struct ferry_bundle_writer *w = ud;

    (void)a;
    if (w->discard)
        return (la_ssize_t)len;
    if (len > (size_t)INT64_MAX || compress_in(w, buf, len, &w->cb_err) < 0)
        return -1;
    return (la_ssize_t)len;
}

/* A libarchive call failed: report our callback's error, or libarchive's text. */
static int
archive_fail(struct ferry_bundle_writer *w, const char *what, struct ferry_error **err)
{
    const char *s;

    if (w->cb_err != NULL) {
        if (err != NULL && *err == NULL) {
            *err = w->cb_err;
            w->cb_err = NULL;
            return -(int)(*err)->code;
        }
        return -(int)w->cb_err->code;
    }
    s = archive_error_string(w->a);
    return ferry_error_new(err, FERRY_E_INTERNAL, "%s: tar %s: %s", w->tmppath, what,
                           s ? s : "unknown libarchive error");
}

/* ---- handle state ---------------------------------------------------------- */

static int
check(struct ferry_bundle_writer *w, enum wstate want, const char *call, struct ferry_error **err)
{
    static const char *const names[] = {"open", "in a member", "committed", "failed"};

    if (w == NULL || w->magic != WRITER_MAGIC)
        return ferry_error_new(err, FERRY_E_INTERNAL, "%s: not a bundle writer", call);
    if (w->state == W_FAILED)
        return ferry_error_new(err, w->fail_code, "%s", w->fail_msg);
    if (w->state != want)
        return ferry_error_new(err, FERRY_E_INTERNAL, "%s: %s: writer is %s", w->path, call,
                               names[w->state]);
    return out_error(w, err); /* the writer thread failed since the last call */
}

/* Record the first failure (sticky) and hand the error to the caller. */
static int
finish(struct ferry_bundle_writer *w, int r, struct ferry_error *e, struct ferry_error **err)
{
    if (r >= 0) {
        ferry_error_free(e);
        return r;
    }
    if (w != NULL && w->magic == WRITER_MAGIC && w->state != W_FAILED) {
        w->state = W_FAILED;
        w->fail_code = e ? e->code : (enum ferry_status)(-r);
        w->fail_msg = ferry_strdup(e && e->msg ? e->msg : ferry_strerror(w->fail_code));
        if (w->fail_msg == NULL) {
            w->fail_code = FERRY_E_NOMEM;
        }
    }
    if (err != NULL && *err == NULL)
        *err = e;
    else
        ferry_error_free(e);
    return r;
}

/* ---- public API ------------------------------------------------------------ */

static char *
parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash == NULL   ? ferry_strdup(".")
           : slash == path ? ferry_strdup("/")
                           : ferry_strndup(path, (size_t)(slash - path));
}

/* Open on path (a temporary file beside it), or with fd >= 0 on that
 * descriptor, path then only naming it in messages. */
static int
writer_open(const char *path, int fd, const struct ferry_bundle_writer_opts *o,
            struct ferry_bundle_writer **out, struct ferry_error **err)
{
    struct ferry_bundle_writer *w = NULL;
    int level = o && o->level ? o->level : DEFAULT_LEVEL;
    int threads = o ? o->threads : 0;
    size_t zr;
    int r;

    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
        r = ferry_error_new(err, FERRY_E_INVALID, "%s: zstd level %d outside %d..%d", path, level,
                            ZSTD_minCLevel(), ZSTD_maxCLevel());
        goto out;
    }
    if (threads < 0) {
        r = ferry_error_new(err, FERRY_E_INVALID, "%s: negative zstd thread count %d", path,
                            threads);
        goto out;
    }
    w = ferry_calloc(1, sizeof *w);
    if (w == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    w->magic = WRITER_MAGIC;
    w->fd = -1;
    w->frame_limit = BUNDLE_FRAME_SIZE_DEFAULT;
    w->store_min = BUNDLE_STORE_MIN;
    w->path = ferry_strdup(path);
    w->dirpath = parent_dir(path);
    w->stream = fd >= 0;
    w->tmppath = w->stream ? ferry_strdup(path) : ferry_asprintf("%s.tmp.XXXXXX", path);
    w->signer = ferry_signer_new();
    w->cctx = ZSTD_createCCtx();
    w->a = archive_write_new();
    if (w->path == NULL || w->dirpath == NULL || w->tmppath == NULL || w->signer == NULL ||
        w->cctx == NULL || w->a == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    zr = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(zr))
        zr = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
    if (!ZSTD_isError(zr) && threads > 0)
        zr = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_nbWorkers, threads);
    if (!ZSTD_isError(zr) && threads > 0)
        zr = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_jobSize, (int)BUNDLE_ZSTD_JOB_SIZE);
    if (ZSTD_isError(zr)) {
        r = ferry_error_new(err, FERRY_E_UNSUPPORTED, "%s: zstd level %d with %d threads: %s", path,
                            level, threads, ZSTD_getErrorName(zr));
        goto out;
    }
    if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(w->a, 0) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK) {
        r = archive_fail(w, "setup", err);
        goto out;
    }
    if (w->stream) {
        w->fd = fd;
    } else if ((w->fd = mkstemp(w->tmppath)) < 0) {
        r = ferry_error_sys(err, errno, "create %s", w->tmppath);
        ferry_safefree(w->tmppath); /* nothing to remove */
        goto out;
    }
    if (!w->stream && (fcntl(w->fd, F_SETFD, FD_CLOEXEC) < 0 || fchmod(w->fd, 0644) < 0)) {
        r = ferry_error_sys(err, errno, "set mode of %s", w->tmppath);
        goto out;
    }
    r = out_start(w, err);
    if (r < 0)
        goto out;
    if (archive_write_open2(w->a, w, NULL, archive_write_cb, NULL, NULL) != ARCHIVE_OK) {
        r = archive_fail(w, "open", err);
        goto out;
    }
    *out = w;
    w = NULL;
    r = 0;
out:
    ferry_bundle_writer_free(w);
    return r;
}

int
ferry_bundle_writer_open(const char *path, const struct ferry_bundle_writer_opts *o,
                         struct ferry_bundle_writer **out, struct ferry_error **err)
{
    return writer_open(path, -1, o, out, err);
}

int
ferry_bundle_writer_open_fd(int fd, const char *what, const struct ferry_bundle_writer_opts *o,
                            struct ferry_bundle_writer **out, struct ferry_error **err)
{
    if (fd < 0)
        return ferry_error_new(err, FERRY_E_INTERNAL, "%s: no descriptor", what);
    return writer_open(what, fd, o, out, err);
}

/* The test hooks' state, made on first use and published to the writer and
 * flusher threads under their locks, before the first member. */
static struct bundle_faults *
faults_get(struct ferry_bundle_writer *w)
{
    struct bundle_faults *f;

    if (w->faults != NULL)
        return w->faults;
    if ((f = ferry_calloc(1, sizeof *f)) == NULL)
        return NULL;
    pthread_mutex_lock(&w->q.mu);
    if (w->fl_ready)
        pthread_mutex_lock(&w->fl.mu);
    w->faults = f;
    if (w->fl_ready)
        pthread_mutex_unlock(&w->fl.mu);
    pthread_mutex_unlock(&w->q.mu);
    return f;
}

int
ferry_bundle_writer_set_frame_size(struct ferry_bundle_writer *w, uint32_t size,
                                   struct ferry_error **err)
{
    struct ferry_error *e = NULL;
    int r = check(w, W_OPEN, "set frame size", &e);

    if (r == 0 && (size == 0 || size > BUNDLE_FRAME_SIZE_MAX || w->cbytes > 0))
        r = ferry_error_new(&e, FERRY_E_INVALID, "%s: frame size %u: must be 1..%u and set first",
                            w->path, size, BUNDLE_FRAME_SIZE_MAX);
    if (r == 0)
        w->frame_limit = size;
    return finish(w, r, e, err);
}

int
ferry_bundle_writer_set_store_min(struct ferry_bundle_writer *w, uint64_t size,
                                  struct ferry_error **err)
{
    struct ferry_error *e = NULL;
    int r = check(w, W_OPEN, "set store minimum", &e);

    if (r == 0)
        w->store_min = size;
    return finish(w, r, e, err);
}

int
ferry_bundle_writer_set_flush(struct ferry_bundle_writer *w, uint64_t chunk, int fail_with,
                              struct ferry_error **err)
{
    struct ferry_error *e = NULL;
    int r = check(w, W_OPEN, "set flush", &e);

    if (r == 0 && (chunk == 0 || fail_with < 0 || !w->fl_running || w->cbytes > 0))
        r = ferry_error_new(&e, FERRY_E_INVALID, "%s: set flush: must be set first", w->path);
    if (r == 0 && fail_with > 0 && faults_get(w) == NULL)
        r = ferry_error_new(&e, FERRY_E_NOMEM, "out of memory");
    if (r == 0) {
        pthread_mutex_lock(&w->fl.mu);
        w->fl.chunk = chunk;
        if (w->faults != NULL)
            w->faults->flush_errno = fail_with;
        pthread_mutex_unlock(&w->fl.mu);
    }
    return finish(w, r, e, err);
}

unsigned long
ferry_bundle_writer_flushes(struct ferry_bundle_writer *w)
{
    unsigned long n;

    if (w == NULL || w->magic != WRITER_MAGIC || !w->fl_ready)
        return 0;
    pthread_mutex_lock(&w->fl.mu);
    n = w->fl.count;
    pthread_mutex_unlock(&w->fl.mu);
    return n;
}

int
ferry_bundle_writer_fail_write(struct ferry_bundle_writer *w, unsigned long nth, int errnum,
                               struct ferry_error **err)
{
    struct ferry_error *e = NULL;
    int r = check(w, W_OPEN, "fail write", &e);

    if (r == 0 && (nth == 0 || errnum <= 0 || w->cbytes > 0))
        r = ferry_error_new(&e, FERRY_E_INVALID, "%s: fail write %lu: must be set first", w->path,
                            nth);
    if (r == 0 && faults_get(w) == NULL)
        r = ferry_error_new(&e, FERRY_E_NOMEM, "out of memory");
    if (r == 0) {
        pthread_mutex_lock(&w->q.mu);
        w->faults->write_nth = nth;
        w->faults->write_errno = errnum;
        pthread_mutex_unlock(&w->q.mu);
    }
    return finish(w, r, e, err);
}

static int
begin_member(struct ferry_bundle_writer *w, const char *name, uint64_t size,
             struct ferry_error **err)
{
    char q[BUNDLE_QUOTE_BUFSIZE];
    struct archive_entry *ae = NULL;
    size_t len = strlen(name);
    const char *why = bundle_name_problem(name, len);
    int r;

    for (size_t i = 0; why == NULL && i < len; i++)
        if ((unsigned char)name[i] >= 0x80)
            why = "non-ASCII byte in name"; /* keeps the pax header locale-free */
    if (why != NULL) {
        r = ferry_error_new(err, FERRY_E_INVALID, "%s: member \"%s\": %s", w->path,
                            ferry_quote(q, sizeof q, name, len), why);
        goto out;
    }
    if (w->members >= FERRY_MAX_MEMBERS) {
        r = ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: more than %u members", w->path,
                            (unsigned)FERRY_MAX_MEMBERS);
        goto out;
    }
    if (size > (uint64_t)INT64_MAX) {
        r = ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: member %s: size %llu", w->path, name,
                            (unsigned long long)size);
        goto out;
    }
    w->member = ferry_strdup(name);
    ae = archive_entry_new();
    if (w->member == NULL || ae == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "%s: member %s: out of memory", w->path, name);
        goto out;
    }
    archive_entry_set_pathname(ae, name);
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_perm(ae, 0644);
    archive_entry_set_size(ae, (la_int64_t)size);
    archive_entry_set_uid(ae, 0);
    archive_entry_set_gid(ae, 0);
    archive_entry_set_mtime(ae, 0, 0);
    /* Members start at a frame boundary: the previous one ended its frame. */
    if (w->frame_dsize != 0) {
        r = ferry_error_new(err, FERRY_E_INTERNAL, "%s: member %s: frame not ended", w->path, name);
        goto out;
    }
    if (archive_write_header(w->a, ae) != ARCHIVE_OK) {
        r = archive_fail(w, "header", err);
        goto out;
    }
    w->declared = size;
    w->remaining = size;
    w->nsniff = 0;
    w->sniffed = size < w->store_min; /* too small to be worth storing */
    w->state = W_MEMBER;
    r = 0;
out:
    archive_entry_free(ae);
    return r;
}

static int
tar_data(struct ferry_bundle_writer *w, const void *data, size_t len, struct ferry_error **err)
{
    la_ssize_t n = archive_write_data(w->a, data, len);

    if (n < 0)
        return archive_fail(w, "data", err);
    if ((size_t)n != len)
        return ferry_error_new(err, FERRY_E_INTERNAL, "%s: member %s: tar took %lld of %zu bytes",
                               w->path, w->member, (long long)n, len);
    return 0;
}

/* Member data. The first BUNDLE_SNIFF_LEN bytes of a member large enough to
 * be stored are held back until they are all here (or the member ends), so
 * that whether it is stored depends on its bytes and not on how the caller
 * split its writes. Data that starts like a compressed stream ends the frame
 * holding the tar header and goes into stored frames (see store_in). */
static int
write_member(struct ferry_bundle_writer *w, const void *data, size_t len, struct ferry_error **err)
{
    const unsigned char *p = data;
    int r;

    if (len > w->remaining)
        return ferry_error_new(err, FERRY_E_SIZE_MISMATCH,
                               "%s: member %s: %llu bytes more than the declared size %llu",
                               w->path, w->member, (unsigned long long)(len - w->remaining),
                               (unsigned long long)w->declared);
    if (len == 0)
        return 0;
    w->remaining -= len;
    if (!w->sniffed) {
        size_t k = BUNDLE_SNIFF_LEN - w->nsniff;
        if (k > len)
            k = len;
        memcpy(w->sniff + w->nsniff, p, k);
        w->nsniff += k;
        p += k;
        len -= k;
        if (w->nsniff < BUNDLE_SNIFF_LEN && w->remaining > 0)
            return 0;
        w->sniffed = true;
        if (bundle_looks_compressed(w->sniff, w->nsniff)) {
            if ((r = end_frame(w, err)) < 0)
                return r;
            w->stored = true;
        }
        if ((r = tar_data(w, w->sniff, w->nsniff, err)) < 0)
            return r;
    }
    return len > 0 ? tar_data(w, p, len, err) : 0;
}

static int
end_member(struct ferry_bundle_writer *w, struct ferry_error **err)
{
    int r;

    if (w->remaining != 0)
        return ferry_error_new(err, FERRY_E_SIZE_MISMATCH,
                               "%s: member %s: %llu of the declared %llu bytes written", w->path,
                               w->member, (unsigned long long)(w->declared - w->remaining),
                               (unsigned long long)w->declared);
    /* Writes the padding now, so the frame holds header, data and padding. */
    if (archive_write_finish_entry(w->a) != ARCHIVE_OK)
        return archive_fail(w, "finish entry", err);
    r = end_frame(w, err);
    if (r < 0)
        return r;
    w->stored = false;
    ferry_safefree(w->member);
    w->members++;
    w->state = W_OPEN;
    return 0;
}

int
ferry_bundle_writer_add(struct ferry_bundle_writer *w, const char *name, const void *data,
                        size_t len, struct ferry_error **err)
{
    struct ferry_error *e = NULL;
    int r = check(w, W_OPEN, "add", &e);

    if (r == 0)
        r = begin_member(w, name, len, &e);
    if (r == 0)
        r = write_member(w, data, len, &e);
    if (r == 0)
        r = end_member(w, &e);
    return finish(w, r, e, err);
}

int
ferry_bundle_writer_begin(struct ferry_bundle_writer *w, const char *name, uint64_t size,
                          struct ferry_error **err)
{
    struct ferry_error *e = NULL;
    int r = check(w, W_OPEN, "begin", &e);

    if (r == 0)
        r = begin_member(w, name, size, &e);
    return finish(w, r, e, err);
}

int
ferry_bundle_writer_write(struct ferry_bundle_writer *w, const void *data, size_t len,
                          struct ferry_error **err)
{
    struct ferry_error *e = NULL;
    int r = check(w, W_MEMBER, "write", &e);

    if (r == 0)
        r = write_member(w, data, len, &e);
    return finish(w, r, e, err);
}

int
ferry_bundle_writer_end(struct ferry_bundle_writer *w, struct ferry_error **err)
{
    struct ferry_error *e = NULL;
    int r = check(w, W_MEMBER, "end", &e);

    if (r == 0)
        r = end_member(w, &e);
    return finish(w, r, e, err);
}

/* The seek table: one skippable frame, put into the output queue in small
 * pieces. Entries carry no checksum (descriptor 0, docs/FORMAT.md): every
 * frame has zstd's own content checksum already. */
static int
write_seek_table(struct ferry_bundle_writer *w, struct ferry_error **err)
{
    unsigned char b[8];
    uint64_t frame_size = (uint64_t)w->nframes * 8 + BUNDLE_SEEK_FOOTER_SIZE;
    int r;

    if (frame_size > UINT32_MAX)
        return ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: seek table of %zu frames", w->tmppath,
                               w->nframes);
    bundle_put_le32(b, BUNDLE_SKIPPABLE_MAGIC);
    bundle_put_le32(b + 4, (uint32_t)frame_size);
    r = out_put(w, b, 8, err);
    for (size_t i = 0; r == 0 && i < w->nframes; i++) {
        bundle_put_le32(b, w->frames[i].csize);
        bundle_put_le32(b + 4, w->frames[i].dsize);
        r = out_put(w, b, 8, err);
    }
    if (r < 0)
        return r;
    bundle_put_le32(b, (uint32_t)w->nframes);
    b[4] = 0; /* Seek_Table_Descriptor: no checksums */
    r = out_put(w, b, 5, err);
    if (r < 0)
        return r;
    bundle_put_le32(b, BUNDLE_SEEKABLE_MAGIC);
    return out_put(w, b, 4, err);
}

/* Write text to fd (a fresh temporary file), fsync and close it. */
static int
write_small_file(int fd, const char *path, const char *text, struct ferry_error **err)
{
    int r;

    if (fchmod(fd, 0644) < 0) {
        r = ferry_error_sys(err, errno, "set mode of %s", path);
        goto out;
    }
    if (ferry_write_all(fd, text, strlen(text)) < 0) {
        r = ferry_error_sys(err, errno, "write %s", path);
        goto out;
    }
    if (fsync(fd) < 0) {
        r = ferry_error_sys(err, errno, "fsync %s", path);
        goto out;
    }
    r = 0;
out:
    if (close(fd) < 0 && r == 0)
        r = ferry_error_sys(err, errno, "close %s", path);
    return r;
}

static int
fsync_dir(const char *dir, struct ferry_error **err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

    if (fd < 0 || fsync(fd) < 0)
        r = ferry_error_sys(err, errno, "fsync directory %s", dir);
    if (fd >= 0)
        close(fd);
    return r;
}

static int
commit(struct ferry_bundle_writer *w, const struct ferry_seckey *sk, const char *trusted_comment,
       struct ferry_error **err)
{
    char *sig = NULL, *sigpath = NULL, *sigtmp = NULL, *tc = NULL;
    bool sig_placed = false;
    int sfd = -1, r;

    if (archive_write_close(w->a) != ARCHIVE_OK) {
        r = archive_fail(w, "close", err);
        goto out;
    }
    r = end_frame(w, err); /* the end-of-archive blocks, alone in the last frame */
    if (r < 0)
        goto out;
    r = write_seek_table(w, err);
    if (r < 0)
        goto out;
    r = out_finish(w, err); /* every byte is in the file and hashed */
    if (r == 0)
        r = flusher_stop(w, err);
    if (r < 0)
        goto out;
    if (w->stream) {
        /* the whole stream went out; a file redirected into is synced too
         * (a pipe or terminal cannot be) */
        if (sk != NULL) {
            r = ferry_error_new(err, FERRY_E_INTERNAL, "%s: a stream has no detached signature",
                                w->path);
            goto out;
        }
        if (fsync(w->fd) < 0 && errno != EINVAL && errno != EROFS) {
            r = ferry_error_sys(err, errno, "fsync %s", w->path);
            goto out;
        }
        w->state = W_COMMITTED;
        goto out;
    }
    if (fsync(w->fd) < 0) {
        r = ferry_error_sys(err, errno, "fsync %s", w->tmppath);
        goto out;
    }
    if (sk != NULL) {
        if (trusted_comment == NULL) {
            const char *base = strrchr(w->path, '/');
            tc = ferry_asprintf("timestamp:%lld\tfile:%s\thashed", (long long)time(NULL),
                                base ? base + 1 : w->path);
            if (tc == NULL) {
                r = ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", w->path);
                goto out;
            }
            trusted_comment = tc;
        }
        r = ferry_signer_final(w->signer, sk, UNTRUSTED_COMMENT, trusted_comment, &sig, err);
        if (r < 0) {
            ferry_error_wrap(err, "sign %s", w->path);
            goto out;
        }
        sigpath = ferry_asprintf("%s.minisig", w->path);
        sigtmp = ferry_asprintf("%s.minisig.tmp.XXXXXX", w->path);
        if (sigpath == NULL || sigtmp == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", w->path);
            goto out;
        }
        sfd = mkstemp(sigtmp);
        if (sfd < 0) {
            r = ferry_error_sys(err, errno, "create %s", sigtmp);
            ferry_safefree(sigtmp);
            goto out;
        }
        r = write_small_file(sfd, sigtmp, sig, err); /* closes sfd */
        sfd = -1;
        if (r < 0)
            goto out;
        if (rename(sigtmp, sigpath) < 0) {
            r = ferry_error_sys(err, errno, "rename %s to %s", sigtmp, sigpath);
            goto out;
        }
        ferry_safefree(sigtmp);
        sig_placed = true;
    }
    r = close(w->fd);
    w->fd = -1;
    if (r < 0) {
        r = ferry_error_sys(err, errno, "close %s", w->tmppath);
        goto out;
    }
    if (rename(w->tmppath, w->path) < 0) {
        r = ferry_error_sys(err, errno, "rename %s to %s", w->tmppath, w->path);
        goto out;
    }
    ferry_safefree(w->tmppath);
    r = fsync_dir(w->dirpath, err);
    if (r < 0)
        goto out;
    w->state = W_COMMITTED;
    r = 0;
out:
    if (sfd >= 0)
        close(sfd);
    if (sigtmp != NULL)
        unlink(sigtmp);
    if (r < 0 && sig_placed && w->tmppath != NULL)
        unlink(sigpath); /* the bundle did not make it: no orphan signature */
    ferry_free(sigtmp);
    ferry_free(sigpath);
    ferry_free(sig);
    ferry_free(tc);
    return r;
}

int
ferry_bundle_writer_commit(struct ferry_bundle_writer *w, const struct ferry_seckey *sk,
                           const char *trusted_comment, struct ferry_error **err)
{
    struct ferry_error *e = NULL;
    int r = check(w, W_OPEN, "commit", &e);

    if (r == 0)
        r = commit(w, sk, trusted_comment, &e);
    return finish(w, r, e, err);
}

void
ferry_bundle_writer_free(struct ferry_bundle_writer *w)
{
    if (w == NULL || w->magic != WRITER_MAGIC)
        return;
    /* archive_write_free closes an open archive, pushing the end-of-archive
     * blocks through our callback: drop them. (archive_write_fail would skip
     * the close, but leaks libarchive's client state in 3.6.2.) */
    w->discard = true;
    if (w->a != NULL)
        archive_write_free(w->a);
    if (w->q_running)
        out_cancel(w);
    (void)flusher_stop(w, NULL);
    if (w->fl_ready) {
        pthread_cond_destroy(&w->fl.cv);
        pthread_mutex_destroy(&w->fl.mu);
    }
    if (w->q_ready) {
        pthread_cond_destroy(&w->q.freed);
        pthread_cond_destroy(&w->q.queued);
        pthread_mutex_destroy(&w->q.mu);
    }
    if (w->fd >= 0 && !w->stream)
        close(w->fd);
    if (w->tmppath != NULL && w->state != W_COMMITTED && !w->stream)
        unlink(w->tmppath);
    ZSTD_freeCCtx(w->cctx);
    ferry_signer_free(w->signer);
    ferry_error_free(w->cb_err);
    ferry_free(w->frames);
    for (unsigned i = 0; i < BUNDLE_OUT_BUFS; i++)
        ferry_free(w->q.buf[i]);
    ferry_free(w->member);
    ferry_free(w->faults);
    ferry_free(w->fail_msg);
    ferry_free(w->tmppath);
    ferry_free(w->path);
    ferry_free(w->dirpath);
    w->magic = 0;
    ferry_free(w);
}

uint64_t
ferry_bundle_writer_bytes(const struct ferry_bundle_writer *w)
{
    return w != NULL && w->magic == WRITER_MAGIC ? w->cbytes : 0;
}

uint64_t
ferry_bundle_writer_members(const struct ferry_bundle_writer *w)
{
    return w != NULL && w->magic == WRITER_MAGIC ? w->members : 0;
}
