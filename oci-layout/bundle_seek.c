/* ferry: the bundle's seek table (zstd seekable format) and the rules shared by
 * the bundle writer and reader: member names, little-endian fields, reading a
 * bundle file or memory image at an offset. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bundle_int.h"
#include "ferry/limits.h"
#include "ferry/util.h"

uint32_t
bundle_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void
bundle_put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
    p[2] = (unsigned char)((v >> 16) & 0xff);
    p[3] = (unsigned char)((v >> 24) & 0xff);
}

int
bundle_src_pread(const struct bundle_src *s, uint64_t off, void *buf, size_t len,
                 struct ferry_error **err)
{
    unsigned char *p = buf;

    if (off > s->size || len > s->size - off)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s: read of %zu bytes at offset %llu is past the "
                               "end of the file (%llu bytes)",
                               s->what, len, (unsigned long long)off, (unsigned long long)s->size);
    if (s->fd < 0) {
        memcpy(p, s->mem + off, len);
        return 0;
    }
    while (len > 0) {
        ssize_t n = pread(s->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ferry_error_sys(err, errno, "read %s at offset %llu", s->what,
                                   (unsigned long long)off);
        if (n == 0)
            return ferry_error_new(err, FERRY_E_BUNDLE,
                                   "%s: file shrank while reading at offset %llu", s->what,
                                   (unsigned long long)off);
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

int
bundle_seek_parse(const struct bundle_src *s, struct bundle_frame **frames, size_t *n,
                  uint64_t *data_end, bool *has_checksums, struct ferry_error **err)
{
    unsigned char foot[BUNDLE_SEEK_FOOTER_SIZE], head[BUNDLE_SEEK_HEADER_SIZE];
    unsigned char *buf = NULL;
    struct bundle_frame *f = NULL;
    uint64_t nframes, esize, table_size, start, coff = 0, doff = 0;
    uint32_t frame_size;
    size_t i = 0;
    int r;

    if (s->size < BUNDLE_SEEK_HEADER_SIZE + BUNDLE_SEEK_FOOTER_SIZE) {
        r = ferry_error_new(err, FERRY_E_BUNDLE, "%s: no seek table: file too short (%llu bytes)",
                            s->what, (unsigned long long)s->size);
        goto out;
    }
    r = bundle_src_pread(s, s->size - sizeof foot, foot, sizeof foot, err);
    if (r < 0)
        goto out;
    if (bundle_le32(foot + 5) != BUNDLE_SEEKABLE_MAGIC) {
        r = ferry_error_new(err, FERRY_E_BUNDLE,
                            "%s: no seek table at end of file (truncated, or data after the table)",
                            s->what);
        goto out;
    }
    if (foot[4] & BUNDLE_SEEK_RESERVED_BITS) {
        r = ferry_error_new(err, FERRY_E_BUNDLE,
                            "%s: seek table descriptor 0x%02x has reserved bits set", s->what,
                            foot[4]);
        goto out;
    }
    nframes = bundle_le32(foot);
    esize = (foot[4] & BUNDLE_SEEK_CHECKSUM_FLAG) ? 12 : 8;
    if (nframes > FERRY_MAX_BUNDLE_FRAMES) {
        r = ferry_error_new(err, FERRY_E_BUNDLE, "%s: seek table lists %llu frames, more than %u",
                            s->what, (unsigned long long)nframes, FERRY_MAX_BUNDLE_FRAMES);
        goto out;
    }
    table_size = BUNDLE_SEEK_HEADER_SIZE + nframes * esize + BUNDLE_SEEK_FOOTER_SIZE;
    if (table_size > s->size) {
        r = ferry_error_new(err, FERRY_E_BUNDLE,
                            "%s: seek table of %llu frames (%llu bytes) is larger than the file",
                            s->what, (unsigned long long)nframes, (unsigned long long)table_size);
        goto out;
    }
    start = s->size - table_size;
    r = bundle_src_pread(s, start, head, sizeof head, err);
    if (r < 0)
        goto out;
    frame_size = bundle_le32(head + 4);
    if (bundle_le32(head) != BUNDLE_SKIPPABLE_MAGIC ||
        frame_size != table_size - BUNDLE_SEEK_HEADER_SIZE) {
        r = ferry_error_new(err, FERRY_E_BUNDLE,
                            "%s: seek table at offset %llu is not a skippable frame of %llu bytes",
                            s->what, (unsigned long long)start,
                            (unsigned long long)(table_size - BUNDLE_SEEK_HEADER_SIZE));
        goto out;
    }
    f = ferry_calloc(nframes ? (size_t)nframes : 1, sizeof *f);
    buf = ferry_malloc(FERRY_IO_BUFSIZE);
    if (f == NULL || buf == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory for a seek table of %llu frames",
                            s->what, (unsigned long long)nframes);
        goto out;
    }
    /* Entries are read in 64 KiB blocks holding a whole number of entries. */
    while (i < nframes) {
        size_t chunk = (size_t)(FERRY_IO_BUFSIZE / esize);
        if (chunk > nframes - i)
            chunk = (size_t)(nframes - i);
        r = bundle_src_pread(s, start + BUNDLE_SEEK_HEADER_SIZE + i * esize, buf, chunk * esize,
                             err);
        if (r < 0)
            goto out;
        for (size_t k = 0; k < chunk; k++, i++) {
            const unsigned char *e = buf + k * esize;
            f[i].csize = bundle_le32(e);
            f[i].dsize = bundle_le32(e + 4);
            f[i].checksum = esize == 12 ? bundle_le32(e + 8) : 0;
            f[i].coffset = coff;
            f[i].doffset = doff;
            if (f[i].csize == 0 || f[i].csize > start - coff) {
                r = ferry_error_new(err, FERRY_E_BUNDLE,
                                    "%s: seek table frame %zu: compressed size %u does not fit in "
                                    "the %llu bytes before the table",
                                    s->what, i, f[i].csize, (unsigned long long)start);
                goto out;
            }
            coff += f[i].csize;
            doff += f[i].dsize;
        }
    }
    if (coff != start) {
        r = ferry_error_new(err, FERRY_E_BUNDLE,
                            "%s: seek table frames cover %llu bytes, but the table starts at "
                            "offset %llu",
                            s->what, (unsigned long long)coff, (unsigned long long)start);
        goto out;
    }
    *frames = f;
    f = NULL;
    *n = (size_t)nframes;
    *data_end = start;
    *has_checksums = esize == 12;
    r = 0;
out:
    ferry_free(buf);
    ferry_free(f);
    return r;
}

int
ferry_bundle_seek_table(const char *path, struct ferry_seek_entry **out, size_t *n,
                        struct ferry_error **err)
{
    struct bundle_src src = {-1, NULL, 0, path};
    struct bundle_frame *f = NULL;
    struct ferry_seek_entry *e = NULL;
    size_t nf = 0;
    uint64_t data_end;
    bool sums;
    int r;

    r = ferry_open_regular(path, "bundle", &src.fd, &src.size, err);
    if (r < 0)
        goto out;
    r = bundle_seek_parse(&src, &f, &nf, &data_end, &sums, err);
    if (r < 0)
        goto out;
    e = ferry_calloc(nf ? nf : 1, sizeof *e);
    if (e == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory for a seek table of %zu frames",
                            path, nf);
        goto out;
    }
    for (size_t i = 0; i < nf; i++) {
        e[i].coffset = f[i].coffset;
        e[i].csize = f[i].csize;
        e[i].dsize = f[i].dsize;
    }
    *out = e;
    e = NULL;
    *n = nf;
    r = 0;
out:
    if (src.fd >= 0)
        close(src.fd);
    ferry_free(f);
    ferry_free(e);
    return r;
}

/* ---- member names -------------------------------------------------------- */

const char *
bundle_name_problem(const char *name, size_t len)
{
    size_t comp = 0; /* start of the current component */

    if (len == 0)
        return "empty name";
    if (len > FERRY_MAX_MEMBER_NAME)
        return "name longer than 512 bytes";
    if (name[0] == '/')
        return "absolute name";
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = i < len ? (unsigned char)name[i] : '/';
        if (c < 0x20 || c == 0x7f)
            return "control character in name";
        if (c != '/')
            continue;
        if (i == comp)
            return i == len ? "trailing slash in name" : "empty component in name";
        if (i - comp == 1 && name[comp] == '.')
            return "\".\" component in name";
        if (i - comp == 2 && name[comp] == '.' && name[comp + 1] == '.')
            return "\"..\" component in name";
        comp = i + 1;
    }
    return NULL;
}
