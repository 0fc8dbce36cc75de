/* Fuzz the bundle reader: seek table, zstd frames, tar headers, member names.
 * Whatever the input, the reader must fail cleanly with an error set, and a
 * member it accepts must yield exactly its declared size.
 *
 * The first byte picks the mode. Bit 1: the bundle is read as a stream (once,
 * front to back, the seek table checked last) instead of as a file. Bit 2:
 * every other member's data is left unread, so the reader passes over its
 * frames (what push does with the blobs it does not upload). Bit 0
 * clear: the rest is a bundle. Set: the rest is a tar stream, which is wrapped here in one
 * checksummed zstd frame per 512-byte block plus a matching seek table, so that mutations reach the
 * tar parsing and the member rules instead of dying on zstd checksums. */
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "fuzz.h"
#include "bundle_int.h"
#include "ferry/bundle.h"

#define MAX_TAR (64u << 10)

/* The wrapped bundle, or NULL if the tar is too large. Caller frees. */
static unsigned char *
wrap(const uint8_t *tar, size_t len, size_t *out_len)
{
    size_t nframes = (len + 511) / 512, cap, o = 0;
    unsigned char *b, *table;
    ZSTD_CCtx *cc;

    if (len > MAX_TAR)
        return NULL;
    cap = nframes * ZSTD_compressBound(512) + 8 + nframes * 8 + 9;
    b = malloc(cap);
    table = malloc(nframes * 8 + 1);
    cc = ZSTD_createCCtx();
    if (b == NULL || table == NULL || cc == NULL)
        abort();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 1);
    for (size_t i = 0; i < nframes; i++) {
        size_t n = len - i * 512 < 512 ? len - i * 512 : 512;
        size_t c = ZSTD_compress2(cc, b + o, cap - o, tar + i * 512, n);
        if (ZSTD_isError(c))
            abort();
        bundle_put_le32(table + i * 8, (uint32_t)c);
        bundle_put_le32(table + i * 8 + 4, (uint32_t)n);
        o += c;
    }
    bundle_put_le32(b + o, BUNDLE_SKIPPABLE_MAGIC);
    bundle_put_le32(b + o + 4, (uint32_t)(nframes * 8 + 9));
    o += 8;
    memcpy(b + o, table, nframes * 8);
    o += nframes * 8;
    bundle_put_le32(b + o, (uint32_t)nframes);
    b[o + 4] = 0;
    bundle_put_le32(b + o + 5, BUNDLE_SEEKABLE_MAGIC);
    o += 9;
    ZSTD_freeCCtx(cc);
    free(table);
    *out_len = o;
    return b;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ferry_bundle_reader *rd = NULL;
    struct ferry_error *err = NULL;
    unsigned char buf[4096], *wrapped = NULL;
    const char *name;
    uint64_t msize;
    bool stream, skip;
    size_t k = 0;
    int r;

    if (size < 1)
        return 0;
    stream = (data[0] & 2) != 0;
    skip = (data[0] & 4) != 0;
    if (data[0] & 1) {
        wrapped = wrap(data + 1, size - 1, &size);
        if (wrapped == NULL)
            return 0;
        data = wrapped;
    } else {
        data++;
        size--;
    }
    r = stream ? bundle_reader_open_stream_mem(data, size, &rd, &err)
               : ferry_bundle_reader_open_memory(data, size, &rd, &err);
    while (r >= 0 && (r = ferry_bundle_reader_next(rd, &name, &msize, &err)) == 1) {
        uint64_t got = 0;
        int64_t n;
        if (name == NULL || ferry_bundle_reader_member_offset(rd) >= size)
            abort();
        if (skip && k++ % 2 == 1)
            continue;
        while ((n = ferry_bundle_reader_read(rd, buf, sizeof buf, &err)) > 0)
            got += (uint64_t)n;
        if (n < 0)
            r = (int)n;
        else if (got != msize)
            abort();
    }
    if (r < 0 && err == NULL)
        abort();
    ferry_bundle_reader_free(rd);
    ferry_error_free(err);
    free(wrapped);
    return 0;
}
