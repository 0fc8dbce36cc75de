/* ferry: bundle reader. We read the file in 64 KiB blocks and drive libzstd
 * ourselves, checking every frame against the seek table, and hand the tar
 * stream to libarchive (format tar only, no filters) through a read callback.
 * libarchive's zstd filter could decompress, but (libarchive 3.6.2) it passes
 * input that is not zstd at all straight to the tar reader, reports a bad
 * checksum in the last frame or bytes after the seek table as "Truncated input
 * file", and knows neither frames nor offsets, so it can neither check the seek
 * table nor say where a bundle is damaged. See docs/internals/bundle.md. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>

#include "bundle_int.h"
#include "ferry/limits.h"
#include "ferry/util.h"

#define READER_MAGIC 0xfe77b0d2u

void
ferry_bundle_index_free(struct ferry_bundle_index *ix)
{
    if (ix == NULL || atomic_fetch_sub(&ix->refs, 1) != 1)
        return;
    if (ix->src.fd >= 0)
        close(ix->src.fd);
    ferry_free(ix->frames);
    ferry_free(ix->what);
    ferry_free(ix);
}

static struct ferry_bundle_index *
index_new(const char *what)
{
    struct ferry_bundle_index *ix = ferry_calloc(1, sizeof *ix);

    if (ix == NULL)
        return NULL;
    atomic_init(&ix->refs, 1);
    ix->src.fd = -1;
    ix->tee_fd = -1;
    if ((ix->what = ferry_strdup(what)) == NULL) {
        ferry_free(ix);
        return NULL;
    }
    ix->src.what = ix->what;
    return ix;
}

enum rstate {
    R_START,  /* before the first member */
    R_MEMBER, /* a member is current */
    R_EOF,    /* end of the archive reached and checked */
    R_FAILED, /* sticky */
};

struct ferry_bundle_reader {
    uint32_t magic;
    enum rstate state;
    enum ferry_status fail_code;
    char *fail_msg;

    char *what;                    /* path, or "<memory>" */
    struct ferry_bundle_index *ix; /* the file and its seek table, maybe shared */

    ZSTD_DCtx *dctx;
    unsigned char *ibuf, *obuf; /* FERRY_IO_BUFSIZE each */
    ZSTD_inBuffer in;
    uint64_t cpos; /* file offset of the next block to load */
    size_t fi;     /* frame being decompressed */
    bool in_frame;
    uint64_t fcons, fprod;  /* compressed consumed / decompressed produced in frame fi */
    uint64_t start_doffset; /* tar offset where this reader began */
    uint64_t member_end;    /* tar offset after the current member's padding */
    uint64_t dprod;         /* decompressed bytes produced since then */

    struct archive *a;
    struct ferry_error *cb_err; /* set inside the libarchive read callback */
    const char *name;           /* current member, owned by libarchive */
    uint64_t size;
    uint64_t member_coffset;
    uint64_t members;
};

/* ---- zstd frames, checked against the seek table --------------------------- */

/* Before decompressing frame fi: it must be a zstd frame with a content
 * checksum (or a skippable frame), and its checksum must be the one the seek
 * table lists. The decoder then checks the content against that checksum. */
static int
frame_start(struct ferry_bundle_reader *rd, struct ferry_error **err)
{
    const struct bundle_frame *f;
    unsigned char h[5], sum[4];
    uint32_t magic;
    int r;

    if (rd->fi >= rd->ix->nframes)
        return ferry_error_new(
            err, FERRY_E_BUNDLE, "%s: data at offset %llu beyond the %zu frames of the seek table",
            rd->what, (unsigned long long)(rd->cpos - rd->in.size + rd->in.pos), rd->ix->nframes);
    f = &rd->ix->frames[rd->fi];
    if (f->csize < sizeof h)
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: frame %zu at offset %llu: only %u bytes",
                               rd->what, rd->fi, (unsigned long long)f->coffset, f->csize);
    r = bundle_src_pread(&rd->ix->src, f->coffset, h, sizeof h, err);
    if (r < 0)
        return r;
    magic = bundle_le32(h);
    if ((magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START) {
        if (f->dsize != 0)
            return ferry_error_new(err, FERRY_E_BUNDLE,
                                   "%s: skippable frame %zu at offset %llu listed with %u bytes "
                                   "of content",
                                   rd->what, rd->fi, (unsigned long long)f->coffset, f->dsize);
        return 0;
    }
    if (magic != ZSTD_MAGICNUMBER)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: frame %zu at offset %llu: not a zstd frame", rd->what, rd->fi,
                               (unsigned long long)f->coffset);
    if (!(h[4] & 0x04)) /* Frame_Header_Descriptor bit 2: Content_Checksum_flag */
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: frame %zu at offset %llu has no content checksum", rd->what,
                               rd->fi, (unsigned long long)f->coffset);
    if (rd->ix->sums) {
        r = bundle_src_pread(&rd->ix->src, f->coffset + f->csize - 4, sum, sizeof sum, err);
        if (r < 0)
            return r;
        if (bundle_le32(sum) != f->checksum)
            return ferry_error_new(err, FERRY_E_BUNDLE,
                                   "%s: frame %zu at offset %llu: checksum %08x, seek table says "
                                   "%08x",
                                   rd->what, rd->fi, (unsigned long long)f->coffset,
                                   bundle_le32(sum), f->checksum);
    }
    return 0;
}

/* One step of frame f (the one being read) into out: its compressed and
 * decompressed counts kept; *ret is zstd's (0: the frame ended). A file
 * and a stream share it; each then holds the counts to its own bounds. */
static int
decompress_step(struct ferry_bundle_reader *rd, const struct bundle_frame *f, ZSTD_outBuffer *out,
                size_t *ret, struct ferry_error **err)
{
    size_t before = rd->in.pos;

    *ret = ZSTD_decompressStream(rd->dctx, out, &rd->in);
    if (ZSTD_isError(*ret))
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: corrupt zstd frame %zu at offset %llu: %s",
                               rd->what, rd->fi, (unsigned long long)f->coffset,
                               ZSTD_getErrorName(*ret));
    rd->fcons += rd->in.pos - before;
    rd->fprod += out->pos;
    rd->dprod += out->pos;
    return 0;
}

/* Produce the next piece of the tar stream into rd->obuf: *n bytes, 0 at the
 * end of the compressed data (after checking that the last frame is complete). */
static int
produce(struct ferry_bundle_reader *rd, size_t *n, struct ferry_error **err)
{
    int r;

    for (;;) {
        const struct bundle_frame *f;
        ZSTD_outBuffer out = {rd->obuf, FERRY_IO_BUFSIZE, 0};
        size_t ret;

        if (rd->in.pos == rd->in.size) {
            size_t load;
            if (rd->cpos == rd->ix->data_end) {
                if (rd->in_frame)
                    return ferry_error_new(
                        err, FERRY_E_BUNDLE, "%s: frame %zu at offset %llu is truncated", rd->what,
                        rd->fi, (unsigned long long)rd->ix->frames[rd->fi].coffset);
                *n = 0;
                return 0;
            }
            load = rd->ix->data_end - rd->cpos > FERRY_IO_BUFSIZE
                       ? FERRY_IO_BUFSIZE
                       : (size_t)(rd->ix->data_end - rd->cpos);
            r = bundle_src_pread(&rd->ix->src, rd->cpos, rd->ibuf, load, err);
            if (r < 0)
                return r;
            rd->cpos += load;
            rd->in.size = load;
            rd->in.pos = 0;
        }
        if (!rd->in_frame) {
            r = frame_start(rd, err);
            if (r < 0)
                return r;
            rd->in_frame = true;
            rd->fcons = 0;
            rd->fprod = 0;
        }
        f = &rd->ix->frames[rd->fi];
        if ((r = decompress_step(rd, f, &out, &ret, err)) < 0)
            return r;
        if (rd->fcons > f->csize || rd->fprod > f->dsize ||
            (ret == 0 && (rd->fcons != f->csize || rd->fprod != f->dsize)))
            return ferry_error_new(err, FERRY_E_BUNDLE,
                                   "%s: frame %zu at offset %llu: %s%llu compressed and %llu "
                                   "decompressed bytes, seek table says %u and %u",
                                   rd->what, rd->fi, (unsigned long long)f->coffset,
                                   ret == 0 ? "" : "at least ", (unsigned long long)rd->fcons,
                                   (unsigned long long)rd->fprod, f->csize, f->dsize);
        if (ret == 0) {
            rd->fi++;
            rd->in_frame = false;
        }
        if (out.pos > 0) {
            *n = out.pos;
            return 0;
        }
    }
}

/* ---- streams: frames met in order, the seek table checked last ------------ */

/* Compressed bytes a frame may take beyond twice what it produces: headers,
 * checksums and block headers of small frames. More is junk (empty blocks
 * repeated forever) and refused, so a stream's work stays bounded by the
 * tar stream the signed statement accounts for. */
/* zstd takes in a whole block (up to ZSTD_BLOCKSIZE_MAX compressed) before
 * it gives out a byte of it: one block in flight, its header and the frame
 * header (at most 18 bytes) are allowed on top. */
#define STREAM_FRAME_SLACK ((64u << 10) + ZSTD_BLOCKSIZE_MAX + 18u + 3u)

/* Read more of the stream behind the unread input: at least `need` bytes
 * unread afterwards unless the stream ends first. *avail: unread bytes. */
static int
stream_fill(struct ferry_bundle_reader *rd, size_t need, size_t *avail, struct ferry_error **err)
{
    struct bundle_src *src = &rd->ix->src;
    size_t left = rd->in.size - rd->in.pos;

    if (left >= need) {
        *avail = left;
        return 0;
    }
    memmove(rd->ibuf, rd->ibuf + rd->in.pos, left);
    rd->in.pos = 0;
    rd->in.size = left;
    while (rd->in.size < need) {
        ssize_t n;
        if (src->fd >= 0) {
            n = read(src->fd, rd->ibuf + rd->in.size, FERRY_IO_BUFSIZE - rd->in.size);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return ferry_error_sys(err, errno, "%s: read at offset %llu", rd->what,
                                       (unsigned long long)rd->cpos);
        } else {
            size_t m = src->size - rd->cpos < FERRY_IO_BUFSIZE - rd->in.size
                           ? (size_t)(src->size - rd->cpos)
                           : FERRY_IO_BUFSIZE - rd->in.size;
            memcpy(rd->ibuf + rd->in.size, src->mem + rd->cpos, m);
            n = (ssize_t)m;
        }
        if (n == 0)
            break;
        if (rd->ix->tee_fd >= 0 &&
            ferry_write_all(rd->ix->tee_fd, rd->ibuf + rd->in.size, (size_t)n) < 0)
            return ferry_error_sys(err, errno, "%s: keep a copy at offset %llu", rd->what,
                                   (unsigned long long)rd->cpos);
        rd->in.size += (size_t)n;
        rd->cpos += (uint64_t)n;
    }
    *avail = rd->in.size;
    return 0;
}

/* Offset in the stream of the next unread byte. */
static uint64_t
stream_pos(const struct ferry_bundle_reader *rd)
{
    return rd->cpos - (rd->in.size - rd->in.pos);
}

/* Take len bytes of the stream into buf (len <= 12). */
static int
stream_take(struct ferry_bundle_reader *rd, unsigned char *buf, size_t len, const char *what,
            struct ferry_error **err)
{
    size_t avail = 0; /* set by stream_fill; gcc -O2 cannot see it */
    int r = stream_fill(rd, len, &avail, err);

    if (r < 0)
        return r;
    if (avail < len)
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: stream ends at offset %llu inside %s",
                               rd->what, (unsigned long long)stream_pos(rd), what);
    memcpy(buf, rd->ibuf + rd->in.pos, len);
    rd->in.pos += len;
    return 0;
}

/* The seek table ends the stream: each entry must be the frame met, and
 * nothing may follow. */
static int
stream_seek_table(struct ferry_bundle_reader *rd, struct ferry_error **err)
{
    struct ferry_bundle_index *ix = rd->ix;
    unsigned char h[12];
    uint64_t at = stream_pos(rd);
    uint32_t fsize, entry;
    size_t avail, i;
    int r;

    if ((r = stream_take(rd, h, BUNDLE_SEEK_HEADER_SIZE, "the seek table", err)) < 0)
        return r;
    if (bundle_le32(h) != BUNDLE_SKIPPABLE_MAGIC)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: skippable frame at offset %llu is not a seek table", rd->what,
                               (unsigned long long)at);
    fsize = bundle_le32(h + 4);
    if (fsize < BUNDLE_SEEK_FOOTER_SIZE || (fsize - BUNDLE_SEEK_FOOTER_SIZE) % 8 != 0 ||
        (fsize - BUNDLE_SEEK_FOOTER_SIZE) / 8 != ix->nframes)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: seek table at offset %llu has %u bytes; the stream had %zu "
                               "frames",
                               rd->what, (unsigned long long)at, fsize, ix->nframes);
    for (i = 0; i < ix->nframes; i++) {
        if ((r = stream_take(rd, h, 8, "the seek table", err)) < 0)
            return r;
        if (bundle_le32(h) != ix->frames[i].csize || bundle_le32(h + 4) != ix->frames[i].dsize)
            return ferry_error_new(err, FERRY_E_BUNDLE,
                                   "%s: seek table entry %zu says %u and %u bytes; frame %zu at "
                                   "offset %llu had %u and %u",
                                   rd->what, i, bundle_le32(h), bundle_le32(h + 4), i,
                                   (unsigned long long)ix->frames[i].coffset, ix->frames[i].csize,
                                   ix->frames[i].dsize);
    }
    if ((r = stream_take(rd, h, BUNDLE_SEEK_FOOTER_SIZE, "the seek table", err)) < 0)
        return r;
    entry = bundle_le32(h);
    if (entry != ix->nframes || (h[4] & (BUNDLE_SEEK_CHECKSUM_FLAG | BUNDLE_SEEK_RESERVED_BITS)) ||
        bundle_le32(h + 5) != BUNDLE_SEEKABLE_MAGIC)
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: bad seek table footer at offset %llu",
                               rd->what, (unsigned long long)(stream_pos(rd) - 9));
    if ((r = stream_fill(rd, 1, &avail, err)) < 0)
        return r;
    if (avail > 0)
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: data after the seek table at offset %llu",
                               rd->what, (unsigned long long)stream_pos(rd));
    ix->ended = true;
    ix->total_dsize = rd->dprod;
    return 0;
}

/* The next frame of a stream: a zstd frame with a content checksum (its
 * place recorded), or the seek table that ends the stream (*end). */
static int
stream_frame_start(struct ferry_bundle_reader *rd, bool *end, struct ferry_error **err)
{
    struct ferry_bundle_index *ix = rd->ix;
    uint64_t at = stream_pos(rd);
    size_t avail;
    uint32_t magic;
    int r;

    *end = false;
    if ((r = stream_fill(rd, 5, &avail, err)) < 0)
        return r;
    if (avail == 0)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: stream ends at offset %llu without its seek table (truncated)",
                               rd->what, (unsigned long long)at);
    if (avail < 4)
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: stream ends at offset %llu inside a frame",
                               rd->what, (unsigned long long)at);
    magic = bundle_le32(rd->ibuf + rd->in.pos);
    if ((magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START) {
        *end = true;
        return stream_seek_table(rd, err);
    }
    if (magic != ZSTD_MAGICNUMBER)
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: not a zstd frame at offset %llu", rd->what,
                               (unsigned long long)at);
    if (avail < 5 || !(rd->ibuf[rd->in.pos + 4] & 0x04))
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: frame at offset %llu has no content checksum", rd->what,
                               (unsigned long long)at);
    if (ix->nframes >= ix->max_frames || ix->nframes >= FERRY_MAX_BUNDLE_FRAMES)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: more than %llu frames, more than the signed statement's "
                               "members can take",
                               rd->what, (unsigned long long)ix->nframes);
    if (ix->nframes == ix->capframes) {
        size_t ncap = ix->capframes ? ix->capframes * 2 : 256;
        struct bundle_frame *nf = ferry_realloc(ix->frames, ncap * sizeof *nf);
        if (nf == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", rd->what);
        ix->frames = nf;
        ix->capframes = ncap;
    }
    memset(&ix->frames[ix->nframes], 0, sizeof ix->frames[0]);
    ix->frames[ix->nframes].coffset = at;
    ix->frames[ix->nframes].doffset = rd->dprod;
    rd->fi = ix->nframes++;
    return 0;
}

static int
produce_stream(struct ferry_bundle_reader *rd, size_t *n, struct ferry_error **err)
{
    struct ferry_bundle_index *ix = rd->ix;
    int r;

    for (;;) {
        ZSTD_outBuffer out = {rd->obuf, FERRY_IO_BUFSIZE, 0};
        struct bundle_frame *f;
        size_t ret, avail;

        if (ix->ended) {
            *n = 0;
            return 0;
        }
        if (!rd->in_frame) {
            bool end;
            if ((r = stream_frame_start(rd, &end, err)) < 0)
                return r;
            if (end) {
                *n = 0;
                return 0;
            }
            rd->in_frame = true;
            rd->fcons = 0;
            rd->fprod = 0;
        }
        if ((r = stream_fill(rd, 1, &avail, err)) < 0)
            return r;
        f = &ix->frames[rd->fi];
        if (avail == 0)
            return ferry_error_new(err, FERRY_E_BUNDLE,
                                   "%s: stream ends inside frame %zu at offset %llu (truncated)",
                                   rd->what, rd->fi, (unsigned long long)f->coffset);
        if ((r = decompress_step(rd, f, &out, &ret, err)) < 0)
            return r;
        if (rd->dprod > ix->max_tar)
            return ferry_error_new(err, FERRY_E_BUNDLE,
                                   "%s: more than the %llu bytes of tar stream the signed "
                                   "statement accounts for",
                                   rd->what, (unsigned long long)ix->max_tar);
        if (rd->fcons > 2 * rd->fprod + STREAM_FRAME_SLACK || rd->fprod > UINT32_MAX ||
            rd->fcons > UINT32_MAX)
            return ferry_error_new(err, FERRY_E_BUNDLE,
                                   "%s: frame %zu at offset %llu: %llu compressed bytes for %llu "
                                   "decompressed",
                                   rd->what, rd->fi, (unsigned long long)f->coffset,
                                   (unsigned long long)rd->fcons, (unsigned long long)rd->fprod);
        if (ret == 0 && rd->fcons > 2 * rd->fprod + (64u << 10))
            return ferry_error_new(err, FERRY_E_BUNDLE,
                                   "%s: frame %zu at offset %llu: %llu compressed bytes for %llu "
                                   "decompressed",
                                   rd->what, rd->fi, (unsigned long long)f->coffset,
                                   (unsigned long long)rd->fcons, (unsigned long long)rd->fprod);
        if (ret == 0) {
            f->csize = (uint32_t)rd->fcons;
            f->dsize = (uint32_t)rd->fprod;
            rd->in_frame = false;
        }
        if (out.pos > 0) {
            *n = out.pos;
            return 0;
        }
    }
}

static la_ssize_t
archive_read_cb(struct archive *a, void *ud, const void **buf)
{
    struct ferry_bundle_reader *rd = ud;
    size_t n = 0;

    (void)a;
    if (rd->cb_err != NULL ||
        (rd->ix->stream ? produce_stream(rd, &n, &rd->cb_err) : produce(rd, &n, &rd->cb_err)) < 0)
        return ARCHIVE_FATAL;
    *buf = rd->obuf;
    return (la_ssize_t)n;
}

/* libarchive passes over the unread data of a member (the next member is
 * asked for before the data was read): whole frames go by without being
 * decompressed when the skip reaches past the frame being read, so a reader
 * that wants the headers alone (and the offsets of members) costs what the
 * headers take. The frames passed over are not checked, their checksums
 * neither: whoever uses a member reads it, and then everything is. A
 * stream declines (it is read whole); so does a skip within one frame. */
static la_int64_t
archive_skip_cb(struct archive *a, void *ud, la_int64_t request)
{
    struct ferry_bundle_reader *rd = ud;
    const struct ferry_bundle_index *ix = rd->ix;
    uint64_t want = request > 0 ? (uint64_t)request : 0, done = 0;

    (void)a;
    if (ix->stream || rd->cb_err != NULL || want == 0 || rd->fi >= ix->nframes)
        return 0;
    if (rd->in_frame) {
        uint64_t rest = ix->frames[rd->fi].dsize - rd->fprod;
        if (want < rest)
            return 0;
        done = rest;
        rd->fi++;
        rd->in_frame = false;
        ZSTD_DCtx_reset(rd->dctx, ZSTD_reset_session_only);
    }
    while (rd->fi < ix->nframes && want - done >= ix->frames[rd->fi].dsize) {
        done += ix->frames[rd->fi].dsize;
        rd->fi++;
    }
    rd->cpos = rd->fi < ix->nframes ? ix->frames[rd->fi].coffset : ix->data_end;
    rd->in.pos = rd->in.size = 0;
    rd->dprod += done;
    return (la_int64_t)done;
}

/* ---- handle state ---------------------------------------------------------- */

static int
check(struct ferry_bundle_reader *rd, const char *call, struct ferry_error **err)
{
    if (rd == NULL || rd->magic != READER_MAGIC)
        return ferry_error_new(err, FERRY_E_INTERNAL, "%s: not a bundle reader", call);
    if (rd->state == R_FAILED)
        return ferry_error_new(err, rd->fail_code, "%s", rd->fail_msg);
    return 0;
}

static int
finish(struct ferry_bundle_reader *rd, int r, struct ferry_error *e, struct ferry_error **err)
{
    if (r >= 0) {
        ferry_error_free(e);
        return r;
    }
    if (rd != NULL && rd->magic == READER_MAGIC && rd->state != R_FAILED) {
        rd->state = R_FAILED;
        rd->fail_code = e ? e->code : (enum ferry_status)(-r);
        rd->fail_msg = ferry_strdup(e && e->msg ? e->msg : ferry_strerror(rd->fail_code));
        if (rd->fail_msg == NULL)
            rd->fail_code = FERRY_E_NOMEM;
    }
    if (err != NULL && *err == NULL)
        *err = e;
    else
        ferry_error_free(e);
    return r;
}

/* A libarchive call failed: our callback's error first, else libarchive's. */
static int
archive_fail(struct ferry_bundle_reader *rd, const char *context, struct ferry_error **err)
{
    const char *s;

    if (rd->cb_err != NULL) {
        struct ferry_error *e = rd->cb_err;
        int r;
        rd->cb_err = NULL;
        if (err != NULL && *err == NULL) {
            *err = e;
            return -(int)e->code;
        }
        r = -(int)e->code;
        ferry_error_free(e);
        return r;
    }
    s = archive_error_string(rd->a);
    return ferry_error_new(err, FERRY_E_BUNDLE, "%s: %s: %s", rd->what, context,
                           s ? s : "malformed tar stream");
}

/* First frame whose content starts at tar offset doff and is not empty. */
static const struct bundle_frame *
frame_at_doffset(const struct ferry_bundle_reader *rd, uint64_t doff)
{
    size_t lo = 0, hi = rd->ix->nframes;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rd->ix->frames[mid].doffset < doff)
            lo = mid + 1;
        else
            hi = mid;
    }
    while (lo < rd->ix->nframes && rd->ix->frames[lo].doffset == doff &&
           rd->ix->frames[lo].dsize == 0)
        lo++;
    if (lo < rd->ix->nframes && rd->ix->frames[lo].doffset == doff)
        return &rd->ix->frames[lo];
    return NULL;
}

/* A stream's frame that starts at tar offset doff with content (the one
 * being decompressed counts: its size is not known yet), or NULL. */
static const struct bundle_frame *
stream_frame_at(const struct ferry_bundle_reader *rd, uint64_t doff)
{
    const struct ferry_bundle_index *ix = rd->ix;
    size_t lo = 0, hi = ix->nframes;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->frames[mid].doffset < doff)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < ix->nframes && ix->frames[lo].doffset == doff; lo++) {
        bool open = lo == rd->fi && rd->in_frame;
        if (ix->frames[lo].dsize != 0 || open)
            return &ix->frames[lo];
    }
    return NULL;
}

/* ---- opening ---------------------------------------------------------------- */

/* A reader over ix (whose reference it takes over, or NULL: a new index for
 * `what` is made). */
static int
reader_new(const char *what, struct ferry_bundle_index *ix, struct ferry_bundle_reader **out,
           struct ferry_error **err)
{
    struct ferry_bundle_reader *rd = ferry_calloc(1, sizeof *rd);

    if (rd == NULL) {
        ferry_bundle_index_free(ix);
        return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
    }
    rd->magic = READER_MAGIC;
    rd->ix = ix != NULL ? ix : index_new(what);
    rd->what = ferry_strdup(what);
    rd->ibuf = ferry_malloc(FERRY_IO_BUFSIZE);
    rd->obuf = ferry_malloc(FERRY_IO_BUFSIZE);
    rd->dctx = ZSTD_createDCtx();
    rd->a = archive_read_new();
    *out = rd;
    if (rd->ix == NULL || rd->what == NULL || rd->ibuf == NULL || rd->obuf == NULL ||
        rd->dctx == NULL || rd->a == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
    if (ZSTD_isError(ZSTD_DCtx_setParameter(rd->dctx, ZSTD_d_windowLogMax, BUNDLE_WINDOW_LOG_MAX)))
        return ferry_error_new(err, FERRY_E_INTERNAL, "%s: zstd refuses a window limit", what);
    rd->in.src = rd->ibuf;
    return 0;
}

/* Parse the seek table into a new index. */
static int
index_parse(struct ferry_bundle_index *ix, struct ferry_error **err)
{
    int r = bundle_seek_parse(&ix->src, &ix->frames, &ix->nframes, &ix->data_end, &ix->sums, err);

    if (r == 0 && ix->nframes > 0)
        ix->total_dsize = ix->frames[ix->nframes - 1].doffset + ix->frames[ix->nframes - 1].dsize;
    return r;
}

/* Starting frame, libarchive on top. at == UINT64_MAX: the start. */
static int
reader_start(struct ferry_bundle_reader *rd, uint64_t at, struct ferry_error **err)
{
    const struct ferry_bundle_index *ix = rd->ix;

    if (at != UINT64_MAX) {
        size_t lo = 0, hi = ix->nframes;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (ix->frames[mid].coffset < at)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == ix->nframes || ix->frames[lo].coffset != at)
            return ferry_error_new(err, FERRY_E_INVALID, "%s: offset %llu is not a frame boundary",
                                   rd->what, (unsigned long long)at);
        rd->fi = lo;
        rd->cpos = at;
        rd->start_doffset = ix->frames[lo].doffset;
    }
    rd->member_end = rd->start_doffset;
    if (archive_read_support_format_tar(rd->a) != ARCHIVE_OK ||
        archive_read_set_read_callback(rd->a, archive_read_cb) != ARCHIVE_OK ||
        archive_read_set_skip_callback(rd->a, archive_skip_cb) != ARCHIVE_OK ||
        archive_read_set_callback_data(rd->a, rd) != ARCHIVE_OK ||
        archive_read_open1(rd->a) != ARCHIVE_OK)
        return archive_fail(rd, "not a tar stream", err);
    return 0;
}

int
ferry_bundle_reader_open(const char *path, struct ferry_bundle_reader **out,
                         struct ferry_error **err)
{
    return ferry_bundle_reader_open_at(path, UINT64_MAX, out, err);
}

int
ferry_bundle_reader_open_at(const char *path, uint64_t coffset, struct ferry_bundle_reader **out,
                            struct ferry_error **err)
{
    struct ferry_bundle_reader *rd = NULL;
    int r;

    r = reader_new(path, NULL, &rd, err);
    if (r < 0)
        goto out;
    r = ferry_open_regular(path, "bundle", &rd->ix->src.fd, &rd->ix->src.size, err);
    if (r == 0)
        r = index_parse(rd->ix, err);
    if (r == 0)
        r = reader_start(rd, coffset, err);
    if (r < 0)
        goto out;
    *out = rd;
    rd = NULL;
out:
    ferry_bundle_reader_free(rd);
    return r;
}

int
ferry_bundle_reader_open_memory(const void *data, size_t len, struct ferry_bundle_reader **out,
                                struct ferry_error **err)
{
    struct ferry_bundle_reader *rd = NULL;
    int r;

    r = reader_new("<memory>", NULL, &rd, err);
    if (r < 0)
        goto out;
    rd->ix->src.mem = data;
    rd->ix->src.size = len;
    r = index_parse(rd->ix, err);
    if (r == 0)
        r = reader_start(rd, UINT64_MAX, err);
    if (r < 0)
        goto out;
    *out = rd;
    rd = NULL;
out:
    ferry_bundle_reader_free(rd);
    return r;
}

/* A stream reader on ix->src as set by the caller. */
static int
stream_open(struct ferry_bundle_reader *rd, struct ferry_bundle_reader **out,
            struct ferry_error **err)
{
    int r;

    rd->ix->stream = true;
    rd->ix->max_tar = UINT64_MAX;
    rd->ix->max_frames = FERRY_MAX_BUNDLE_FRAMES;
    if ((r = reader_start(rd, UINT64_MAX, err)) < 0) {
        ferry_bundle_reader_free(rd);
        return r;
    }
    *out = rd;
    return 0;
}

int
ferry_bundle_reader_open_stream(int fd, int tee_fd, const char *what,
                                struct ferry_bundle_reader **out, struct ferry_error **err)
{
    struct ferry_bundle_reader *rd = NULL;
    int r = reader_new(what, NULL, &rd, err);

    if (r < 0) {
        ferry_bundle_reader_free(rd);
        return r;
    }
    if ((rd->ix->src.fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
        r = ferry_error_sys(err, errno, "%s", what);
        ferry_bundle_reader_free(rd);
        return r;
    }
    rd->ix->tee_fd = tee_fd;
    return stream_open(rd, out, err);
}

int
bundle_reader_open_stream_mem(const void *data, size_t len, struct ferry_bundle_reader **out,
                              struct ferry_error **err)
{
    struct ferry_bundle_reader *rd = NULL;
    int r = reader_new("<stream>", NULL, &rd, err);

    if (r < 0) {
        ferry_bundle_reader_free(rd);
        return r;
    }
    rd->ix->src.mem = data;
    rd->ix->src.size = len;
    return stream_open(rd, out, err);
}

int
ferry_bundle_index_open_fd(int fd, const char *what, struct ferry_bundle_index **out,
                           struct ferry_error **err)
{
    struct ferry_bundle_index *ix = index_new(what);
    struct stat sb;
    int r;

    if (ix == NULL) {
        close(fd);
        return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
    }
    ix->src.fd = fd;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        r = ferry_error_sys(err, errno ? errno : EINVAL, "%s: not a regular file", what);
        ferry_bundle_index_free(ix);
        return r;
    }
    ix->src.size = (uint64_t)sb.st_size;
    if ((r = index_parse(ix, err)) < 0) {
        ferry_bundle_index_free(ix);
        return r;
    }
    *out = ix;
    return 0;
}

struct ferry_bundle_index *
ferry_bundle_reader_index(struct ferry_bundle_reader *r)
{
    if (r == NULL || r->magic != READER_MAGIC || r->ix == NULL)
        return NULL;
    atomic_fetch_add(&r->ix->refs, 1);
    return r->ix;
}

int
ferry_bundle_reader_open_index(struct ferry_bundle_index *ix, uint64_t coffset,
                               struct ferry_bundle_reader **out, struct ferry_error **err)
{
    struct ferry_bundle_reader *rd = NULL;
    int r;

    if (ix == NULL)
        return ferry_error_new(err, FERRY_E_INTERNAL, "open_index: no index");
    if (ix->stream)
        return ferry_error_new(err, FERRY_E_UNSUPPORTED, "%s: a stream is read once, front to back",
                               ix->what);
    atomic_fetch_add(&ix->refs, 1);
    r = reader_new(ix->what, ix, &rd, err);
    if (r == 0)
        r = reader_start(rd, coffset, err);
    if (r < 0) {
        ferry_bundle_reader_free(rd);
        return r;
    }
    *out = rd;
    return 0;
}

/* ---- members ---------------------------------------------------------------- */

static const char *
kind_problem(struct archive_entry *ae)
{
    if (archive_entry_hardlink(ae) != NULL)
        return "hard link";
    if (archive_entry_symlink(ae) != NULL)
        return "symbolic link";
    switch (archive_entry_filetype(ae)) {
    case AE_IFREG:
        break;
    case AE_IFDIR:
        return "directory";
    case AE_IFLNK:
        return "symbolic link";
    case AE_IFCHR:
        return "character device";
    case AE_IFBLK:
        return "block device";
    case AE_IFIFO:
        return "fifo";
    case AE_IFSOCK:
        return "socket";
    default:
        return "unknown file type";
    }
    if (archive_entry_sparse_count(ae) > 0)
        return "sparse file";
    return NULL;
}

/* libarchive saw the end of the tar stream. It must be the two zero blocks
 * right after the last member (libarchive also stops at a bare end of data or
 * a single zero block), and nothing may follow them: drain the rest of the
 * compressed data, so every frame is checked, and compare lengths. */
static int
at_end(struct ferry_bundle_reader *rd, struct ferry_error **err)
{
    uint64_t consumed = (uint64_t)archive_filter_bytes(rd->a, 0);
    size_t n;
    int r;

    /* The seek table says how much tar stream is left: anything past the
     * end-of-archive blocks is refused before it is decompressed, so frames
     * after the end (or a stream of zero blocks standing for the whole
     * archive) cost nothing however large they claim to be. */
    if (!rd->ix->stream && rd->ix->total_dsize > rd->member_end + 1024)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: %llu bytes after the end of the tar archive at offset %llu "
                               "(listed in the seek table; not decompressed)",
                               rd->what,
                               (unsigned long long)(rd->ix->total_dsize - rd->member_end - 1024),
                               (unsigned long long)(rd->member_end + 1024));
    if (!rd->ix->stream && rd->ix->total_dsize < rd->member_end + 1024)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: tar stream ends at offset %llu without its end-of-archive "
                               "blocks (truncated)",
                               rd->what, (unsigned long long)rd->ix->total_dsize);
    /* a stream is read to its end: the seek table, checked, and nothing more
     * (what follows the end blocks is bounded by the statement's limit) */
    do {
        r = rd->ix->stream ? produce_stream(rd, &n, err) : produce(rd, &n, err);
        if (r < 0)
            return r;
    } while (n > 0);
    if (consumed < rd->dprod)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: %llu bytes after the end of the tar archive at offset %llu",
                               rd->what, (unsigned long long)(rd->dprod - consumed),
                               (unsigned long long)(rd->start_doffset + consumed));
    if (rd->start_doffset + consumed != rd->member_end + 1024)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: tar stream ends at offset %llu without its end-of-archive "
                               "blocks (truncated)",
                               rd->what, (unsigned long long)(rd->start_doffset + consumed));
    return 0;
}

static int
next_member(struct ferry_bundle_reader *rd, const char **name, uint64_t *size,
            struct ferry_error **err)
{
    char q[BUNDLE_QUOTE_BUFSIZE];
    struct archive_entry *ae = NULL;
    const struct bundle_frame *f;
    const char *pn, *why;
    uint64_t hpos, dpos, total;
    la_int64_t sz;
    int r;

    r = archive_read_next_header(rd->a, &ae);
    if (r == ARCHIVE_EOF) {
        r = at_end(rd, err);
        if (r < 0)
            return r;
        rd->state = R_EOF;
        rd->name = NULL;
        return 0;
    }
    /* after a fatal error libarchive answers ARCHIVE_FATAL here: the header
     * that failed is the one after the last member */
    hpos = archive_read_header_position(rd->a) >= 0
               ? rd->start_doffset + (uint64_t)archive_read_header_position(rd->a)
               : rd->member_end;
    if (r != ARCHIVE_OK) {
        char ctx[64];
        snprintf(ctx, sizeof ctx, "tar header at offset %llu", (unsigned long long)hpos);
        return archive_fail(rd, ctx, err);
    }
    pn = archive_entry_pathname(ae);
    if (pn == NULL)
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: member at tar offset %llu has no name",
                               rd->what, (unsigned long long)hpos);
    ferry_quote(q, sizeof q, pn, strlen(pn));
    why = bundle_name_problem(pn, strlen(pn));
    if (why == NULL)
        why = kind_problem(ae);
    if (why != NULL)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: member \"%s\": %s (only regular files "
                               "with relative names are allowed)",
                               rd->what, q, why);
    if (++rd->members > FERRY_MAX_MEMBERS)
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: more than %u members", rd->what,
                               (unsigned)FERRY_MAX_MEMBERS);
    sz = archive_entry_size(ae);
    dpos = rd->start_doffset + (uint64_t)archive_filter_bytes(rd->a, 0);
    total = rd->ix->stream ? rd->ix->max_tar : rd->ix->total_dsize;
    if (sz < 0 || dpos > total || (uint64_t)sz > total - dpos)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: member \"%s\": size %lld exceeds the %llu bytes left in the "
                               "archive",
                               rd->what, q, (long long)sz,
                               (unsigned long long)(dpos > total ? 0 : total - dpos));
    f = rd->ix->stream ? stream_frame_at(rd, hpos) : frame_at_doffset(rd, hpos);
    if (f == NULL)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: member \"%s\" at tar offset %llu does not start a zstd frame",
                               rd->what, q, (unsigned long long)hpos);
    rd->member_coffset = f->coffset;
    rd->member_end = dpos + (((uint64_t)sz + 511) & ~(uint64_t)511);
    rd->name = pn;
    rd->size = (uint64_t)sz;
    rd->state = R_MEMBER;
    *name = pn;
    *size = (uint64_t)sz;
    return 1;
}

int
ferry_bundle_reader_next(struct ferry_bundle_reader *r, const char **name, uint64_t *size,
                         struct ferry_error **err)
{
    struct ferry_error *e = NULL;
    int ret = check(r, "next", &e);

    if (ret == 0 && r->state == R_EOF)
        return 0;
    if (ret == 0)
        ret = next_member(r, name, size, &e);
    return finish(r, ret, e, err);
}

int64_t
ferry_bundle_reader_read(struct ferry_bundle_reader *r, void *buf, size_t len,
                         struct ferry_error **err)
{
    struct ferry_error *e = NULL;
    la_ssize_t n = 0;
    int ret = check(r, "read", &e);

    if (ret == 0 && r->state != R_MEMBER)
        ret = ferry_error_new(&e, FERRY_E_INTERNAL, "%s: read: no current member", r->what);
    if (ret == 0) {
        if (len > (size_t)INT64_MAX)
            len = (size_t)INT64_MAX;
        n = archive_read_data(r->a, buf, len);
        if (n < 0) {
            char q[BUNDLE_QUOTE_BUFSIZE], ctx[BUNDLE_QUOTE_BUFSIZE + 16];
            snprintf(ctx, sizeof ctx, "member \"%s\"",
                     ferry_quote(q, sizeof q, r->name, strlen(r->name)));
            ret = archive_fail(r, ctx, &e);
        }
    }
    if (ret < 0)
        return finish(r, ret, e, err);
    return (int64_t)n;
}

int
ferry_bundle_reader_limit(struct ferry_bundle_reader *r, uint64_t max_tar_bytes,
                          uint64_t max_frames, struct ferry_error **err)
{
    struct ferry_error *e = NULL;
    int ret = check(r, "limit", &e);

    if (ret == 0 && r->ix->stream) {
        /* frames and tar bytes are counted as they come */
        r->ix->max_frames = max_frames;
        r->ix->max_tar = max_tar_bytes;
        if (r->ix->nframes > max_frames || r->dprod > max_tar_bytes)
            ret = ferry_error_new(&e, FERRY_E_BUNDLE,
                                  "%s: more stream read than the signed statement accounts for",
                                  r->what);
        return finish(r, ret, e, err);
    }
    if (ret == 0 && r->ix->nframes > max_frames)
        ret = ferry_error_new(&e, FERRY_E_BUNDLE,
                              "%s: the seek table lists %zu frames, more than the %llu the signed "
                              "statement's members can take",
                              r->what, r->ix->nframes, (unsigned long long)max_frames);
    if (ret == 0 && r->ix->total_dsize > max_tar_bytes)
        ret = ferry_error_new(&e, FERRY_E_BUNDLE,
                              "%s: the seek table lists %llu bytes of tar stream, more than the "
                              "%llu the signed statement accounts for",
                              r->what, (unsigned long long)r->ix->total_dsize,
                              (unsigned long long)max_tar_bytes);
    return finish(r, ret, e, err);
}

uint64_t
ferry_bundle_member_frame_bound(uint64_t size)
{
    /* the header's frame, the data's frames (a writer ends one at least every
     * BUNDLE_FRAME_SIZE_MIN bytes), one more where stored data begins */
    return 3 + size / BUNDLE_FRAME_SIZE_MIN;
}

uint64_t
ferry_bundle_member_tar_bound(size_t name_len, uint64_t size)
{
    /* ustar header, a pax extended header (its own header and records: path,
     * size), the data padded to 512 bytes */
    uint64_t pad = ((uint64_t)name_len + 511) & ~(uint64_t)511;

    if (size > UINT64_MAX / 2)
        return UINT64_MAX;
    return 512 + 512 + 512 + pad + ((size + 511) & ~(uint64_t)511);
}

uint64_t
ferry_bundle_reader_member_offset(const struct ferry_bundle_reader *r)
{
    return r != NULL && r->magic == READER_MAGIC && r->state == R_MEMBER ? r->member_coffset : 0;
}

void
ferry_bundle_reader_free(struct ferry_bundle_reader *r)
{
    if (r == NULL || r->magic != READER_MAGIC)
        return;
    if (r->a != NULL)
        archive_read_free(r->a);
    ferry_bundle_index_free(r->ix);
    ZSTD_freeDCtx(r->dctx);
    ferry_error_free(r->cb_err);
    ferry_free(r->ibuf);
    ferry_free(r->obuf);
    ferry_free(r->fail_msg);
    ferry_free(r->what);
    r->magic = 0;
    ferry_free(r);
}
