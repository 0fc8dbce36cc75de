/* Bundle round trip (libarchive: libarchive_roundtrip_fuzzer; zstd:
 * simple_round_trip): the input is cut into members, written, read back from
 * the file and from memory, and compared byte for byte.
 *
 * Input: one option byte (bits 0-4 frame size 1 + 61 * n bytes, bit 5 streamed
 * members, bits 6-7 write size 1/7/512/4096), then members as a length byte
 * (times 8) followed by that many bytes. A member that starts like gzip, zstd,
 * xz, bzip2 or lz4 goes into stored frames (raw blocks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "bundle_int.h"
#include "ferry/bundle.h"
#include "ferry/util.h"

#define MAX_MEMBERS 64

struct piece {
    const uint8_t *p;
    size_t len;
    char name[32];
};

static int
write_all(const char *path, const struct piece *m, size_t n, uint8_t opt)
{
    static const size_t chunks[] = {1, 7, 512, 4096};
    struct ferry_bundle_writer *w = NULL;
    struct ferry_error *err = NULL;
    size_t chunk = chunks[opt >> 6];
    int r;

    r = ferry_bundle_writer_open(path, NULL, &w, &err);
    if (r == 0)
        r = ferry_bundle_writer_set_frame_size(w, 1u + (opt & 0x1fu) * 61u, &err);
    if (r == 0) /* members that start like gzip or zstd go into stored frames */
        r = ferry_bundle_writer_set_store_min(w, 1, &err);
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (!(opt & 0x20)) {
            r = ferry_bundle_writer_add(w, m[i].name, m[i].p, m[i].len, &err);
            continue;
        }
        r = ferry_bundle_writer_begin(w, m[i].name, m[i].len, &err);
        for (size_t off = 0; r == 0 && off < m[i].len; off += chunk) {
            size_t k = m[i].len - off < chunk ? m[i].len - off : chunk;
            r = ferry_bundle_writer_write(w, m[i].p + off, k, &err);
        }
        if (r == 0)
            r = ferry_bundle_writer_end(w, &err);
    }
    if (r == 0)
        r = ferry_bundle_writer_commit(w, NULL, NULL, &err);
    ferry_bundle_writer_free(w);
    if (r < 0) {
        fprintf(stderr, "write: %s\n", err ? err->msg : "?");
        abort();
    }
    return 0;
}

static void
read_all(struct ferry_bundle_reader *rd, const struct piece *m, size_t n)
{
    struct ferry_error *err = NULL;
    unsigned char buf[1000];
    const char *name;
    uint64_t size;

    for (size_t i = 0; i < n; i++) {
        size_t got = 0;
        int64_t k;
        if (ferry_bundle_reader_next(rd, &name, &size, &err) != 1 || strcmp(name, m[i].name) != 0 ||
            size != m[i].len)
            abort();
        while ((k = ferry_bundle_reader_read(rd, buf, sizeof buf, &err)) > 0) {
            if (got + (size_t)k > m[i].len || memcmp(buf, m[i].p + got, (size_t)k) != 0)
                abort();
            got += (size_t)k;
        }
        if (k < 0 || got != m[i].len)
            abort();
    }
    if (ferry_bundle_reader_next(rd, &name, &size, &err) != 0 || err != NULL)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    struct piece m[MAX_MEMBERS];
    struct ferry_bundle_reader *rd = NULL;
    struct ferry_error *err = NULL;
    unsigned char *file = NULL;
    size_t n = 0, flen = 0;
    uint8_t opt;
    FILE *f;

    if (size < 1)
        return 0;
    if (path[0] == '\0')
        snprintf(path, sizeof path, "/tmp/ferry-fuzz-bundle-%ld.tar.zst", (long)getpid());
    opt = data[0];
    data++;
    size--;
    while (size > 0 && n < MAX_MEMBERS) {
        size_t len = (size_t)data[0] * 8;
        data++;
        size--;
        if (len > size)
            len = size;
        m[n].p = data;
        m[n].len = len;
        snprintf(m[n].name, sizeof m[n].name, n % 2 ? "blobs/sha256/m%zu" : "m%zu", n);
        n++;
        data += len;
        size -= len;
    }
    write_all(path, m, n, opt);
    if (ferry_bundle_reader_open(path, &rd, &err) < 0)
        abort();
    read_all(rd, m, n);
    ferry_bundle_reader_free(rd);
    /* the same bytes from memory */
    f = fopen(path, "rb");
    if (f == NULL)
        abort();
    fseek(f, 0, SEEK_END);
    flen = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    file = malloc(flen);
    if (file == NULL || fread(file, 1, flen, f) != flen)
        abort();
    fclose(f);
    if (ferry_bundle_reader_open_memory(file, flen, &rd, &err) < 0)
        abort();
    read_all(rd, m, n);
    ferry_bundle_reader_free(rd);
    free(file);
    unlink(path);
    return 0;
}
