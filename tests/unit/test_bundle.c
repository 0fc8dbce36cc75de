/* Bundle container: writer, reader, seek table, hostile input, signatures. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zstd.h>

#include "unit.h"
#include "bundle_int.h"
#include "ferry/bundle.h"
#include "ferry/limits.h"
#include "ferry/sign.h"
#include "ferry/util.h"
#include "xxh64.h"

#define ASSERT_ERR(call, code, errp)                                                               \
    do {                                                                                           \
        int r_ = (int)(call);                                                                      \
        if (r_ != -(int)(code))                                                                    \
            fail_msg("%s returned %d, want %d: %s", #call, r_, -(int)(code),                       \
                     *(errp) ? (*(errp))->msg : "(no error set)");                                 \
    } while (0)

/* ---- scratch directory and files ------------------------------------------- */

static char *
mkscratch(void)
{
    char tmpl[] = "/tmp/ferry-bundle-XXXXXX";
    char *d = mkdtemp(tmpl);

    assert_non_null(d);
    return strdup(d);
}

static char *
pathjoin(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int
count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void
rmscratch(char *dir)
{
    char cmd[512];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static unsigned char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc(n > 0 ? (size_t)n : 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void
spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static bool
have_tool(const char *tool)
{
    char cmd[256];

    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

/* ---- a standard bundle ------------------------------------------------------ */

struct member {
    const char *name;
    unsigned char *data;
    size_t len;
    size_t chunk; /* write size when streamed; 0 = ferry_bundle_writer_add */
};

#define BIG_LEN (5u * 1000 * 1000 + 123)
#define SMALL_FRAME (1u << 20)

static char long_name[301];

static struct member *
std_members(size_t *n)
{
    static const char *const names[] = {
        "oci-layout",
        "stream/one",
        "stream/seven",
        "stream/4096",
        "empty",
        NULL,
        "blobs/sha256/8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4",
        "text"};
    static const size_t lens[] = {30, 3001, 10007, 100000, 0, 1000, BIG_LEN, 2000000};
    static const size_t chunks[] = {0, 1, 7, 4096, 0, 0, 65536, 0};
    struct member *m = calloc(8, sizeof *m);

    assert_non_null(m);
    memset(long_name, 'd', 300);
    for (size_t i = 0; i < 300; i += 50)
        long_name[i + 49] = '/'; /* components of 49 'd' */
    long_name[299] = 'f';
    long_name[300] = '\0';
    for (size_t i = 0; i < 8; i++) {
        m[i].name = names[i] ? names[i] : long_name;
        m[i].len = lens[i];
        m[i].chunk = chunks[i];
        m[i].data = malloc(lens[i] ? lens[i] : 1);
        assert_non_null(m[i].data);
        if (i == 7) {
            for (size_t k = 0; k < lens[i]; k++)
                m[i].data[k] = (unsigned char)"the quick brown fox jumps over a lazy dog\n"[k % 42];
        } else {
            ferry_test_fill(m[i].data, lens[i], i + 1);
        }
    }
    *n = 8;
    return m;
}

static void
free_members(struct member *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(m[i].data);
    free(m);
}

static void
write_bundle(const char *path, const struct member *m, size_t n, uint32_t frame_size, int threads,
             const struct ferry_seckey *sk)
{
    struct ferry_bundle_writer_opts o = {0, threads};
    struct ferry_bundle_writer *w = NULL;
    struct ferry_error *err = NULL;

    FERRY_ASSERT_OK(ferry_bundle_writer_open(path, &o, &w, &err), &err);
    if (frame_size)
        FERRY_ASSERT_OK(ferry_bundle_writer_set_frame_size(w, frame_size, &err), &err);
    for (size_t i = 0; i < n; i++) {
        if (m[i].chunk == 0) {
            FERRY_ASSERT_OK(ferry_bundle_writer_add(w, m[i].name, m[i].data, m[i].len, &err), &err);
            continue;
        }
        FERRY_ASSERT_OK(ferry_bundle_writer_begin(w, m[i].name, m[i].len, &err), &err);
        for (size_t off = 0; off < m[i].len; off += m[i].chunk) {
            size_t k = m[i].len - off < m[i].chunk ? m[i].len - off : m[i].chunk;
            FERRY_ASSERT_OK(ferry_bundle_writer_write(w, m[i].data + off, k, &err), &err);
        }
        FERRY_ASSERT_OK(ferry_bundle_writer_end(w, &err), &err);
    }
    assert_int_equal(ferry_bundle_writer_members(w), n);
    FERRY_ASSERT_OK(ferry_bundle_writer_commit(w, sk, NULL, &err), &err);
    ferry_bundle_writer_free(w);
}

/* Read every member back, in `chunk`-byte reads, and compare. */
static void
check_bundle(struct ferry_bundle_reader *rd, const struct member *m, size_t n, size_t chunk)
{
    struct ferry_error *err = NULL;
    unsigned char *buf = malloc(chunk);
    const char *name;
    uint64_t size;

    assert_non_null(buf);
    for (size_t i = 0; i < n; i++) {
        size_t got = 0;
        int64_t k;
        FERRY_ASSERT_OK(ferry_bundle_reader_next(rd, &name, &size, &err), &err);
        assert_string_equal(name, m[i].name);
        assert_int_equal(size, m[i].len);
        while ((k = ferry_bundle_reader_read(rd, buf, chunk, &err)) > 0) {
            assert_true(got + (size_t)k <= m[i].len);
            assert_memory_equal(buf, m[i].data + got, (size_t)k);
            got += (size_t)k;
        }
        FERRY_ASSERT_OK((int)k, &err);
        assert_int_equal(got, m[i].len);
    }
    assert_int_equal(ferry_bundle_reader_next(rd, &name, &size, &err), 0);
    assert_int_equal(ferry_bundle_reader_next(rd, &name, &size, &err), 0);
    assert_null(err);
    free(buf);
}

/* Read every member of an opened reader (r: how the open went) and free
 * it; the first error code (0 if the bundle is fine). */
static int
drain_reader(struct ferry_bundle_reader *rd, int r, struct ferry_error **err)
{
    unsigned char buf[4096];
    const char *name;
    uint64_t size;

    while (r >= 0 && (r = ferry_bundle_reader_next(rd, &name, &size, err)) == 1) {
        int64_t k;
        while ((k = ferry_bundle_reader_read(rd, buf, sizeof buf, err)) > 0)
            ;
        if (k < 0)
            r = (int)k;
    }
    ferry_bundle_reader_free(rd);
    return r;
}

/* Open the bundle at path and read everything. */
static int
drain(const char *path, struct ferry_error **err)
{
    struct ferry_bundle_reader *rd = NULL;
    int r = ferry_bundle_reader_open(path, &rd, err);

    return drain_reader(rd, r, err);
}

/* The same over a stream in memory. */
static int
drain_stream(const unsigned char *data, size_t len, struct ferry_error **err)
{
    struct ferry_bundle_reader *rd = NULL;
    int r = bundle_reader_open_stream_mem(data, len, &rd, err);

    return drain_reader(rd, r, err);
}

/* A frame whose first block compresses to 64-128 KiB, starting mid-buffer:
 * zstd takes the whole block in before it gives out a byte, which the
 * stream's proportion check must allow. From memory, and through a pipe fed
 * 4 KiB at a time (a diode's receiver, ssh). */
static void
test_stream_big_block(void **state)
{
    struct ferry_bundle_reader *rd = NULL;
    struct ferry_error *err = NULL;
    struct member m[2] = {{"a", NULL, 40000, 0}, {"blob", NULL, 4u << 20, 0}};
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    unsigned char *data;
    size_t len;
    int p[2], r;
    pid_t pid;

    (void)state;
    srand(1);
    for (size_t i = 0; i < 2; i++) {
        m[i].data = malloc(m[i].len);
        assert_non_null(m[i].data);
        for (size_t k = 0; k < m[i].len; k++)
            m[i].data[k] = (unsigned char)(i == 0 ? rand() : rand() & 0x3f); /* 6 bits */
    }
    write_bundle(path, m, 2, 0, 0, NULL);
    data = slurp(path, &len);
    FERRY_ASSERT_OK(drain_stream(data, len, &err), &err);
    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        for (size_t o = 0; o < len; o += 4096) {
            size_t k = len - o < 4096 ? len - o : 4096;
            if (write(p[1], data + o, k) != (ssize_t)k)
                _exit(1);
        }
        _exit(0);
    }
    close(p[1]);
    r = ferry_bundle_reader_open_stream(p[0], -1, "<pipe>", &rd, &err);
    close(p[0]);
    FERRY_ASSERT_OK(drain_reader(rd, r, &err), &err);
    assert_int_equal(waitpid(pid, &r, 0), pid);
    free(data);
    free(m[0].data);
    free(m[1].data);
    free(path);
    rmscratch(dir);
}

/* ---- round trips ------------------------------------------------------------ */

static void
test_roundtrip(void **state)
{
    struct ferry_bundle_reader *rd = NULL;
    struct ferry_error *err = NULL;
    size_t n;
    struct member *m = std_members(&n);
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    static const size_t chunks[] = {1 << 16, 4096, 7};

    (void)state;
    write_bundle(path, m, n, SMALL_FRAME, 0, NULL);
    assert_int_equal(count_entries(dir), 1); /* no temporary left, no .minisig */
    for (size_t c = 0; c < 3; c++) {
        FERRY_ASSERT_OK(ferry_bundle_reader_open(path, &rd, &err), &err);
        check_bundle(rd, m, n, chunks[c]);
        ferry_bundle_reader_free(rd);
        rd = NULL;
    }
    free_members(m, n);
    free(path);
    rmscratch(dir);
}

static void
test_roundtrip_memory(void **state)
{
    struct ferry_bundle_reader *rd = NULL;
    struct ferry_error *err = NULL;
    size_t n, len;
    struct member *m = std_members(&n);
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    unsigned char *data;

    (void)state;
    write_bundle(path, m, n, 0, 0, NULL);
    data = slurp(path, &len);
    FERRY_ASSERT_OK(ferry_bundle_reader_open_memory(data, len, &rd, &err), &err);
    check_bundle(rd, m, n, 65536);
    ferry_bundle_reader_free(rd);
    free(data);
    free_members(m, n);
    free(path);
    rmscratch(dir);
}

/* A stream (read once, front to back) yields what the file does; written
 * onto a descriptor, the bundle is the same bytes as a file; cut anywhere, or
 * followed by a byte, the stream is refused, never accepted short. */
static void
test_stream(void **state)
{
    struct ferry_bundle_reader *rd = NULL;
    struct ferry_bundle_writer *w = NULL;
    struct ferry_error *err = NULL;
    size_t n, len, len2;
    struct member *m = std_members(&n);
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst"), *path2 = pathjoin(dir, "s");
    unsigned char *data, *data2, *more;
    int fd;

    (void)state;
    write_bundle(path, m, n, SMALL_FRAME, 0, NULL);
    data = slurp(path, &len);
    FERRY_ASSERT_OK(bundle_reader_open_stream_mem(data, len, &rd, &err), &err);
    check_bundle(rd, m, n, 4096);
    ferry_bundle_reader_free(rd);
    rd = NULL;
    /* the same members onto a descriptor: the same bytes */
    fd = open(path2, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    FERRY_ASSERT_OK(ferry_bundle_writer_open_fd(fd, "<fd>", NULL, &w, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_set_frame_size(w, SMALL_FRAME, &err), &err);
    for (size_t i = 0; i < n; i++)
        FERRY_ASSERT_OK(ferry_bundle_writer_add(w, m[i].name, m[i].data, m[i].len, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_commit(w, NULL, NULL, &err), &err);
    ferry_bundle_writer_free(w);
    assert_int_equal(close(fd), 0);
    data2 = slurp(path2, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(data2, data, len);
    fd = open(path2, O_RDONLY);
    assert_true(fd >= 0);
    FERRY_ASSERT_OK(ferry_bundle_reader_open_stream(fd, -1, "<fd>", &rd, &err), &err);
    close(fd); /* the reader has its own descriptor */
    check_bundle(rd, m, n, 65536);
    ferry_bundle_reader_free(rd);
    rd = NULL;
    /* cut short anywhere, or one byte more: refused */
    for (size_t cut = 1; cut < len; cut += 997) {
        assert_true(drain_stream(data, cut, &err) < 0);
        assert_non_null(err);
        ferry_error_clear(&err);
    }
    assert_true(drain_stream(data, len - 1, &err) < 0);
    ferry_error_clear(&err);
    more = malloc(len + 1);
    assert_non_null(more);
    memcpy(more, data, len);
    more[len] = 0;
    assert_true(drain_stream(more, len + 1, &err) < 0);
    assert_non_null(strstr(err->msg, "after the seek table"));
    ferry_error_clear(&err);
    free(more);
    free(data);
    free(data2);
    free_members(m, n);
    free(path);
    free(path2);
    rmscratch(dir);
}

static void
test_roundtrip_threads(void **state)
{
    struct ferry_bundle_reader *rd = NULL;
    struct ferry_error *err = NULL;
    size_t n;
    struct member *m = std_members(&n);
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");

    (void)state;
    write_bundle(path, m, n, SMALL_FRAME, 2, NULL);
    FERRY_ASSERT_OK(ferry_bundle_reader_open(path, &rd, &err), &err);
    check_bundle(rd, m, n, 65536);
    ferry_bundle_reader_free(rd);
    free_members(m, n);
    free(path);
    rmscratch(dir);
}

static void
test_empty_bundle(void **state)
{
    struct ferry_error *err = NULL;
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    struct ferry_seek_entry *t = NULL;
    size_t nt = 0;

    (void)state;
    write_bundle(path, NULL, 0, 0, 0, NULL);
    FERRY_ASSERT_OK(drain(path, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_seek_table(path, &t, &nt, &err), &err);
    assert_int_equal(nt, 1); /* the end-of-archive blocks */
    assert_int_equal(t[0].dsize, 1024);
    ferry_free(t);
    free(path);
    rmscratch(dir);
}

static void
test_deterministic(void **state)
{
    size_t n, la, lb;
    struct member *m = std_members(&n);
    char *dir = mkscratch(), *a = pathjoin(dir, "a.tar.zst"), *b = pathjoin(dir, "b.tar.zst");
    unsigned char *da, *db;

    (void)state;
    write_bundle(a, m, n, SMALL_FRAME, 0, NULL);
    write_bundle(b, m, n, SMALL_FRAME, 0, NULL);
    da = slurp(a, &la);
    db = slurp(b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
    free(da);
    free(db);
    free_members(m, n);
    free(a);
    free(b);
    rmscratch(dir);
}

/* With zstd workers the bytes differ from single-threaded output but depend
 * neither on the worker count nor on timing. */
static void
test_deterministic_threads(void **state)
{
    size_t n, la, lb;
    struct member *m = std_members(&n);
    char *dir = mkscratch(), *a = pathjoin(dir, "a.tar.zst"), *b = pathjoin(dir, "b.tar.zst");
    unsigned char *da, *db;
    static const int threads[] = {2, 1, 3, 2};

    (void)state;
    write_bundle(a, m, n, 0, threads[0], NULL);
    da = slurp(a, &la);
    for (size_t i = 1; i < sizeof threads / sizeof threads[0]; i++) {
        write_bundle(b, m, n, 0, threads[i], NULL);
        db = slurp(b, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(da, db, la);
        free(db);
    }
    free(da);
    free_members(m, n);
    free(a);
    free(b);
    rmscratch(dir);
}

/* ---- seek table ------------------------------------------------------------- */

static bool
tar_header_ok(const unsigned char *h)
{
    unsigned long want = strtoul((const char *)h + 148, NULL, 8), sum = 0;

    for (size_t i = 0; i < 512; i++)
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    return sum == want && memcmp(h + 257, "ustar", 5) == 0;
}

static void
test_seek_table(void **state)
{
    struct ferry_bundle_reader *rd = NULL;
    struct ferry_error *err = NULL;
    struct ferry_seek_entry *t = NULL;
    size_t n, nt = 0, flen, big_frames = 0;
    struct member *m = std_members(&n);
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    unsigned char *file, *out;
    uint64_t sum = 0;
    const char *name;
    uint64_t size;

    (void)state;
    write_bundle(path, m, n, SMALL_FRAME, 0, NULL);
    file = slurp(path, &flen);
    FERRY_ASSERT_OK(ferry_bundle_seek_table(path, &t, &nt, &err), &err);
    /* Entries tile the file up to the table; 8-byte entries, descriptor 0. */
    for (size_t i = 0; i < nt; i++) {
        assert_int_equal(t[i].coffset, sum);
        assert_true(t[i].dsize <= SMALL_FRAME);
        sum += t[i].csize;
    }
    assert_int_equal(flen - sum, 8 + nt * 8 + 9);
    assert_int_equal(bundle_le32(file + sum), 0x184D2A5E);
    assert_int_equal(bundle_le32(file + flen - 4), 0x8F92EAB1);
    assert_int_equal(file[flen - 5], 0);
    assert_int_equal(bundle_le32(file + flen - 9), nt);
    /* Every frame decompresses on its own. */
    out = malloc(SMALL_FRAME);
    for (size_t i = 0; i < nt; i++) {
        size_t d = ZSTD_decompress(out, SMALL_FRAME, file + t[i].coffset, t[i].csize);
        assert_false(ZSTD_isError(d));
        assert_int_equal(d, t[i].dsize);
        if (t[i].dsize == SMALL_FRAME)
            big_frames++;
    }
    assert_true(big_frames >= 4); /* the 5 MB member was split */
    /* Each member starts a frame, which starts with its tar header. */
    FERRY_ASSERT_OK(ferry_bundle_reader_open(path, &rd, &err), &err);
    for (size_t i = 0; i < n; i++) {
        uint64_t off;
        size_t k = 0, d;
        FERRY_ASSERT_OK(ferry_bundle_reader_next(rd, &name, &size, &err), &err);
        off = ferry_bundle_reader_member_offset(rd);
        while (k < nt && t[k].coffset != off)
            k++;
        assert_true(k < nt);
        d = ZSTD_decompress(out, SMALL_FRAME, file + off, t[k].csize);
        assert_false(ZSTD_isError(d));
        assert_true(d >= 512);
        assert_true(tar_header_ok(out));
        if (strlen(m[i].name) <= 100) {
            assert_int_equal(out[156], '0');
            assert_string_equal((const char *)out, m[i].name);
        } else {
            assert_int_equal(out[156], 'x'); /* pax header carrying the long path */
        }
    }
    ferry_bundle_reader_free(rd);
    free(out);
    free(file);
    ferry_free(t);
    free_members(m, n);
    free(path);
    rmscratch(dir);
}

/* ---- stored frames ---------------------------------------------------------- */

static void
test_looks_compressed(void **state)
{
    (void)state;
    assert_true(bundle_looks_compressed((const unsigned char *)"\x1f\x8b\x08\x00", 4));
    assert_false(bundle_looks_compressed((const unsigned char *)"\x1f\x8b", 2)); /* too short */
    assert_false(bundle_looks_compressed((const unsigned char *)"\x1f\x8b\x07", 3));
    assert_true(bundle_looks_compressed((const unsigned char *)"\x28\xb5\x2f\xfd", 4));
    assert_true(bundle_looks_compressed((const unsigned char *)"\x04\x22\x4d\x18", 4));
    assert_true(bundle_looks_compressed((const unsigned char *)"\x02\x21\x4c\x18", 4));
    assert_true(bundle_looks_compressed((const unsigned char *)"\x5e\x2a\x4d\x18", 4));
    assert_true(bundle_looks_compressed((const unsigned char *)"\xfd"
                                                               "7zXZ\0",
                                        6));
    assert_true(bundle_looks_compressed((const unsigned char *)"BZh9", 4));
    assert_false(bundle_looks_compressed((const unsigned char *)"BZh0", 4));
    assert_false(bundle_looks_compressed((const unsigned char *)"{\"schemaVersion\"", 16));
    assert_false(bundle_looks_compressed((const unsigned char *)"ustar", 5));
}

/* Walk a stored frame (our header, raw blocks, checksum) and return its
 * content size, or -1 if it is not one. The content checksum must match. */
static long
stored_frame_size(const unsigned char *f, size_t len)
{
    size_t off = 6, total = 0;
    struct ferry_xxh64 x;

    if (len < 6 + 3 + 4 || bundle_le32(f) != 0xFD2FB528u || f[4] != 0x04 || f[5] != 0x38)
        return -1;
    ferry_xxh64_init(&x, 0);
    for (;;) {
        uint32_t h, size;
        assert_true(off + 3 <= len);
        h = (uint32_t)f[off] | (uint32_t)f[off + 1] << 8 | (uint32_t)f[off + 2] << 16;
        size = h >> 3;
        assert_int_equal((h >> 1) & 3, 0); /* raw */
        assert_true(size <= 128u << 10);
        off += 3;
        assert_true(off + size <= len);
        ferry_xxh64_update(&x, f + off, size);
        off += size;
        total += size;
        if (h & 1)
            break;
    }
    assert_int_equal(off + 4, len);
    assert_int_equal(bundle_le32(f + off), (uint32_t)ferry_xxh64_digest(&x));
    return (long)total;
}

static size_t
padded(size_t n)
{
    return (n + 511) / 512 * 512;
}

/* Members whose data starts like gzip, zstd (and so on) and are large enough
 * go into stored frames: raw blocks, no second compression; others, and small
 * ones, are compressed. Every zstd decoder reads the result. */
static void
test_stored_frames(void **state)
{
    static const char *const names[] = {"gz/big", "gz/compressible", "zst/sevens", "text",
                                        "gz/small"};
    static const size_t lens[] = {3000123, 500000, 200001, 2000000, 1000};
    static const size_t chunks[] = {65536, 100000, 7, 65536, 0};
    struct member m[5];
    struct ferry_seek_entry *t = NULL;
    struct ferry_bundle_reader *rd = NULL;
    struct ferry_error *err = NULL;
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst"), cmd[1024];
    size_t nt = 0, flen, stored_bytes = 0;
    unsigned char *file;
    int stored = 0;

    (void)state;
    for (size_t i = 0; i < 5; i++) {
        m[i].name = names[i];
        m[i].len = lens[i];
        m[i].chunk = chunks[i];
        m[i].data = malloc(lens[i]);
        assert_non_null(m[i].data);
        if (i == 1 || i == 3)
            for (size_t k = 0; k < lens[i]; k++)
                m[i].data[k] = (unsigned char)"the quick brown fox jumps over a lazy dog\n"[k % 42];
        else
            ferry_test_fill(m[i].data, lens[i], i + 40);
    }
    memcpy(m[0].data, "\x1f\x8b\x08", 3);
    memcpy(m[1].data, "\x1f\x8b\x08", 3);
    memcpy(m[2].data, "\x28\xb5\x2f\xfd", 4);
    memcpy(m[4].data, "\x1f\x8b\x08", 3);
    for (int threads = 0; threads <= 1; threads++) {
        write_bundle(path, m, 5, SMALL_FRAME, threads, NULL);
        FERRY_ASSERT_OK(ferry_bundle_reader_open(path, &rd, &err), &err);
        check_bundle(rd, m, 5, 4096);
        ferry_bundle_reader_free(rd);
        rd = NULL;
        file = slurp(path, &flen);
        FERRY_ASSERT_OK(ferry_bundle_seek_table(path, &t, &nt, &err), &err);
        stored = 0;
        stored_bytes = 0;
        for (size_t i = 0; i < nt; i++) {
            long d = stored_frame_size(file + t[i].coffset, t[i].csize);
            if (d >= 0) {
                assert_int_equal((uint64_t)d, t[i].dsize);
                stored++;
                stored_bytes += (size_t)d;
            }
        }
        /* gz/big in 3 frames of at most 1 MiB, the compressible gzip-looking
         * member and the zstd one in one each; their tar headers are in
         * compressed frames, their data and padding stored. */
        assert_int_equal(stored, 5);
        assert_int_equal(stored_bytes, padded(3000123) + padded(500000) + padded(200001));
        /* the text member still compresses: the file is far smaller than the
         * sum of the members */
        assert_true(flen < 3000123 + 500000 + 200001 + 100000);
        free(file);
        ferry_free(t);
        t = NULL;
        if (have_tool("zstd")) {
            snprintf(cmd, sizeof cmd, "zstd -qt '%s'", path);
            assert_int_equal(system(cmd), 0);
        }
        assert_int_equal(unlink(path), 0);
    }
    for (size_t i = 0; i < 5; i++)
        free(m[i].data);
    free(path);
    rmscratch(dir);
}

/* Whether a member is stored depends on its bytes only: the same members
 * written in pieces of 1, 2, 3, 5, 4096 bytes or at once give the same file. */
static void
test_stored_split_independent(void **state)
{
    static const size_t chunks[] = {0, 1, 2, 3, 5, 4096};
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    unsigned char *first = NULL;
    size_t first_len = 0;
    struct member m[2];

    (void)state;
    m[0].name = "gz";
    m[1].name = "plain";
    for (size_t i = 0; i < 2; i++) {
        m[i].len = 100000 + i;
        m[i].data = malloc(m[i].len);
        assert_non_null(m[i].data);
        ferry_test_fill(m[i].data, m[i].len, 70 + i);
    }
    memcpy(m[0].data, "\x1f\x8b\x08", 3);
    m[1].data[0] = 'x';
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        unsigned char *file;
        size_t flen;
        m[0].chunk = m[1].chunk = chunks[c];
        write_bundle(path, m, 2, 0, 0, NULL);
        file = slurp(path, &flen);
        if (first == NULL) {
            struct ferry_seek_entry *t = NULL;
            struct ferry_error *err = NULL;
            size_t nt = 0, stored = 0;
            first = file;
            first_len = flen;
            FERRY_ASSERT_OK(ferry_bundle_seek_table(path, &t, &nt, &err), &err);
            for (size_t i = 0; i < nt; i++)
                if (stored_frame_size(file + t[i].coffset, t[i].csize) >= 0)
                    stored++;
            assert_int_equal(stored, 1); /* the gzip-looking member's data */
            ferry_free(t);
        } else {
            assert_int_equal(flen, first_len);
            assert_memory_equal(file, first, flen);
            free(file);
        }
        assert_int_equal(unlink(path), 0);
    }
    free(first);
    for (size_t i = 0; i < 2; i++)
        free(m[i].data);
    free(path);
    rmscratch(dir);
}

static void
test_open_at(void **state)
{
    struct ferry_bundle_reader *rd = NULL;
    struct ferry_error *err = NULL;
    size_t n;
    struct member *m = std_members(&n);
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    uint64_t offs[8];
    const char *name;
    uint64_t size;

    (void)state;
    write_bundle(path, m, n, SMALL_FRAME, 0, NULL);
    FERRY_ASSERT_OK(ferry_bundle_reader_open(path, &rd, &err), &err);
    for (size_t i = 0; i < n; i++) {
        FERRY_ASSERT_OK(ferry_bundle_reader_next(rd, &name, &size, &err), &err);
        offs[i] = ferry_bundle_reader_member_offset(rd);
        if (i > 0)
            assert_true(offs[i] > offs[i - 1]);
    }
    ferry_bundle_reader_free(rd);
    /* Backwards, each member alone, then to the end from there. */
    for (size_t i = n; i-- > 0;) {
        FERRY_ASSERT_OK(ferry_bundle_reader_open_at(path, offs[i], &rd, &err), &err);
        check_bundle(rd, m + i, n - i, 65536);
        ferry_bundle_reader_free(rd);
        rd = NULL;
    }
    ASSERT_ERR(ferry_bundle_reader_open_at(path, offs[1] + 1, &rd, &err), FERRY_E_INVALID, &err);
    assert_null(rd);
    ferry_error_free(err);
    free_members(m, n);
    free(path);
    rmscratch(dir);
}

/* Readers opened from a shared index read the file the first reader opened,
 * even after that reader is gone and the path names another file: push
 * reads exactly what verify read, and parses the seek table once. */
static void
test_open_index(void **state)
{
    struct ferry_bundle_reader *rd = NULL;
    struct ferry_bundle_index *ix;
    struct ferry_error *err = NULL;
    size_t n;
    struct member *m = std_members(&n);
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    uint64_t offs[8];
    const char *name;
    uint64_t size;

    (void)state;
    write_bundle(path, m, n, SMALL_FRAME, 0, NULL);
    FERRY_ASSERT_OK(ferry_bundle_reader_open(path, &rd, &err), &err);
    for (size_t i = 0; i < n; i++) {
        FERRY_ASSERT_OK(ferry_bundle_reader_next(rd, &name, &size, &err), &err);
        offs[i] = ferry_bundle_reader_member_offset(rd);
    }
    assert_non_null(ix = ferry_bundle_reader_index(rd));
    ferry_bundle_reader_free(rd);
    assert_int_equal(unlink(path), 0);
    spit(path, "not a bundle", 12);
    for (size_t i = n; i-- > 0;) {
        FERRY_ASSERT_OK(ferry_bundle_reader_open_index(ix, offs[i], &rd, &err), &err);
        check_bundle(rd, m + i, n - i, 65536);
        ferry_bundle_reader_free(rd);
        rd = NULL;
    }
    ASSERT_ERR(ferry_bundle_reader_open_index(ix, offs[1] + 1, &rd, &err), FERRY_E_INVALID, &err);
    assert_null(rd);
    ferry_error_clear(&err);
    ferry_bundle_index_free(ix);
    assert_null(ferry_bundle_reader_index(NULL));
    free_members(m, n);
    free(path);
    rmscratch(dir);
}

static void
test_seek_table_missing(void **state)
{
    struct ferry_error *err = NULL;
    char *dir = mkscratch(), *path = pathjoin(dir, "x"), *none = pathjoin(dir, "none");
    struct ferry_seek_entry *t = NULL;
    unsigned char junk[4000];
    size_t nt = 0;

    (void)state;
    ferry_test_fill(junk, sizeof junk, 9);
    spit(path, junk, sizeof junk);
    ASSERT_ERR(ferry_bundle_seek_table(path, &t, &nt, &err), FERRY_E_BUNDLE, &err);
    assert_non_null(strstr(err->msg, "no seek table"));
    ferry_error_clear(&err);
    spit(path, junk, 3);
    ASSERT_ERR(ferry_bundle_seek_table(path, &t, &nt, &err), FERRY_E_BUNDLE, &err);
    ferry_error_clear(&err);
    ASSERT_ERR(ferry_bundle_seek_table(none, &t, &nt, &err), FERRY_E_NOT_FOUND, &err);
    ferry_error_clear(&err);
    /* not a regular file: an operational error (exit 2), not a bad bundle */
    ASSERT_ERR(ferry_bundle_seek_table(dir, &t, &nt, &err), FERRY_E_IO, &err);
    assert_non_null(strstr(err->msg, "is a directory, not a regular file"));
    ferry_error_clear(&err);
    assert_null(t);
    free(none);
    free(path);
    rmscratch(dir);
}

/* ---- interop with zstd, tar and libarchive ---------------------------------- */

static void
test_zstd_cli_extract(void **state)
{
    size_t n, len;
    struct member *m;
    char *dir, *path, *out, *list, cmd[1024];
    unsigned char *data;
    FILE *f;
    char line[1024];
    size_t i = 0;

    (void)state;
    if (!have_tool("zstd") || !have_tool("tar"))
        FERRY_SKIP("zstd or tar not installed");
    m = std_members(&n);
    dir = mkscratch();
    path = pathjoin(dir, "b.tar.zst");
    out = pathjoin(dir, "out");
    list = pathjoin(dir, "list");
    write_bundle(path, m, n, SMALL_FRAME, 0, NULL);
    /* zstd skips the seek table (a skippable frame); tar sees a plain archive. */
    snprintf(cmd, sizeof cmd, "mkdir '%s' && zstd -qdc < '%s' | tar -xf - -C '%s'", out, path, out);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "zstd -qd < '%s' | tar -tf - > '%s'", path, list);
    assert_int_equal(system(cmd), 0);
    f = fopen(list, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        assert_true(i < n);
        assert_string_equal(line, m[i].name);
        i++;
    }
    fclose(f);
    assert_int_equal(i, n);
    for (i = 0; i < n; i++) {
        char *p = pathjoin(out, m[i].name);
        struct stat st;
        data = slurp(p, &len);
        assert_int_equal(len, m[i].len);
        assert_memory_equal(data, m[i].data, len);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mtime, 0);
        free(data);
        free(p);
    }
    /* zstd -t checks every frame's checksum and accepts the trailing table. */
    snprintf(cmd, sizeof cmd, "zstd -qt '%s'", path);
    assert_int_equal(system(cmd), 0);
    free_members(m, n);
    free(list);
    free(out);
    free(path);
    rmscratch(dir);
}

static void
test_libarchive_zstd_filter(void **state)
{
    size_t n;
    struct member *m = std_members(&n);
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    struct archive *a = archive_read_new();
    struct archive_entry *ae;
    unsigned char *buf = malloc(BIG_LEN);
    size_t i = 0;
    int r;

    (void)state;
    write_bundle(path, m, n, SMALL_FRAME, 0, NULL);
    assert_int_equal(archive_read_support_filter_zstd(a), ARCHIVE_OK);
    assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
    assert_int_equal(archive_read_open_filename(a, path, 65536), ARCHIVE_OK);
    while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
        la_ssize_t k, got = 0;
        assert_true(i < n);
        assert_string_equal(archive_entry_pathname(ae), m[i].name);
        assert_int_equal(archive_entry_size(ae), m[i].len);
        assert_int_equal(archive_entry_perm(ae), 0644);
        assert_int_equal(archive_entry_uid(ae), 0);
        assert_int_equal(archive_entry_mtime(ae), 0);
        while ((k = archive_read_data(a, buf + got, BIG_LEN - (size_t)got)) > 0)
            got += k;
        assert_int_equal(k, 0);
        assert_int_equal(got, m[i].len);
        assert_memory_equal(buf, m[i].data, m[i].len);
        i++;
    }
    assert_int_equal(r, ARCHIVE_EOF);
    assert_int_equal(i, n);
    assert_int_equal(archive_read_close(a), ARCHIVE_OK);
    archive_read_free(a);
    free(buf);
    free_members(m, n);
    free(path);
    rmscratch(dir);
}

/* ---- writer failures --------------------------------------------------------- */

static void
test_size_short(void **state)
{
    struct ferry_bundle_writer *w = NULL;
    struct ferry_error *err = NULL;
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");

    (void)state;
    FERRY_ASSERT_OK(ferry_bundle_writer_open(path, NULL, &w, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_add(w, "a", "x", 1, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_begin(w, "b", 100, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_write(w, "0123456789", 10, &err), &err);
    ASSERT_ERR(ferry_bundle_writer_end(w, &err), FERRY_E_SIZE_MISMATCH, &err);
    assert_non_null(strstr(err->msg, "member b: 10 of the declared 100 bytes"));
    ferry_error_clear(&err);
    /* sticky: commit reports the same failure and nothing appears at path */
    ASSERT_ERR(ferry_bundle_writer_commit(w, NULL, NULL, &err), FERRY_E_SIZE_MISMATCH, &err);
    assert_non_null(strstr(err->msg, "member b: 10 of the declared 100 bytes"));
    ferry_error_clear(&err);
    assert_int_equal(access(path, F_OK), -1);
    ferry_bundle_writer_free(w);
    assert_int_equal(count_entries(dir), 0);
    free(path);
    rmscratch(dir);
}

static void
test_size_long(void **state)
{
    struct ferry_bundle_writer *w = NULL;
    struct ferry_error *err = NULL;
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");

    (void)state;
    FERRY_ASSERT_OK(ferry_bundle_writer_open(path, NULL, &w, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_begin(w, "b", 10, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_write(w, "01234", 5, &err), &err);
    ASSERT_ERR(ferry_bundle_writer_write(w, "0123456789", 6, &err), FERRY_E_SIZE_MISMATCH, &err);
    ferry_error_clear(&err);
    ASSERT_ERR(ferry_bundle_writer_write(w, "0", 1, &err), FERRY_E_SIZE_MISMATCH, &err);
    ferry_error_clear(&err);
    ASSERT_ERR(ferry_bundle_writer_add(w, "a", "x", 1, NULL), FERRY_E_SIZE_MISMATCH, &err);
    ASSERT_ERR(ferry_bundle_writer_commit(w, NULL, NULL, &err), FERRY_E_SIZE_MISMATCH, &err);
    ferry_error_clear(&err);
    ferry_bundle_writer_free(w);
    assert_int_equal(count_entries(dir), 0);
    free(path);
    rmscratch(dir);
}

static void
test_abort_removes_temp(void **state)
{
    struct ferry_bundle_writer *w = NULL;
    struct ferry_error *err = NULL;
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    unsigned char big[100000];

    (void)state;
    ferry_test_fill(big, sizeof big, 3);
    FERRY_ASSERT_OK(ferry_bundle_writer_open(path, NULL, &w, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_add(w, "a", big, sizeof big, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_begin(w, "b", 10, &err), &err);
    assert_true(ferry_bundle_writer_bytes(w) > 100000);
    assert_int_equal(count_entries(dir), 1); /* the temporary */
    ferry_bundle_writer_free(w);
    assert_int_equal(count_entries(dir), 0);
    ferry_bundle_writer_free(NULL);
    free(path);
    rmscratch(dir);
}

static void
test_writer_misuse(void **state)
{
    struct ferry_bundle_writer *w = NULL;
    struct ferry_error *err = NULL;
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    struct ferry_bundle_writer_opts bad = {99, 0};

    (void)state;
    ASSERT_ERR(ferry_bundle_writer_open(path, &bad, &w, &err), FERRY_E_INVALID, &err);
    ferry_error_clear(&err);
    FERRY_ASSERT_OK(ferry_bundle_writer_open(path, NULL, &w, &err), &err);
    ASSERT_ERR(ferry_bundle_writer_write(w, "x", 1, &err), FERRY_E_INTERNAL, &err);
    assert_non_null(strstr(err->msg, "write: writer is open"));
    ferry_error_clear(&err);
    ASSERT_ERR(ferry_bundle_writer_add(w, "a", "x", 1, &err), FERRY_E_INTERNAL, &err);
    assert_non_null(strstr(err->msg, "write: writer is open")); /* the first error */
    ferry_error_clear(&err);
    ferry_bundle_writer_free(w);
    assert_int_equal(count_entries(dir), 0);
    /* after commit, nothing more */
    FERRY_ASSERT_OK(ferry_bundle_writer_open(path, NULL, &w, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_add(w, "a", "x", 1, &err), &err);
    ASSERT_ERR(ferry_bundle_writer_set_frame_size(w, 4096, &err), FERRY_E_INVALID, &err);
    ferry_error_clear(&err);
    ferry_bundle_writer_free(w);
    FERRY_ASSERT_OK(ferry_bundle_writer_open(path, NULL, &w, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_commit(w, NULL, NULL, &err), &err);
    ASSERT_ERR(ferry_bundle_writer_add(w, "a", "x", 1, &err), FERRY_E_INTERNAL, &err);
    ferry_error_clear(&err);
    ferry_bundle_writer_free(w);
    assert_int_equal(count_entries(dir), 1);
    free(path);
    rmscratch(dir);
}

/* The writer thread's write() fails (ENOSPC) while the caller is blocked on a
 * full queue: the caller wakes up with the error, which names the file and the
 * offset, and keeps returning it; nothing is left behind. */
static void
test_writer_thread_fails(void **state)
{
    struct ferry_bundle_writer *w = NULL;
    struct ferry_error *err = NULL;
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    size_t len = (BUNDLE_OUT_BUFS + 4) * BUNDLE_OUT_BUFSIZE, off = 0;
    unsigned char *big = malloc(len);
    char want[64];
    int r = 0;

    (void)state;
    assert_non_null(big);
    ferry_test_fill(big, len, 5); /* incompressible: fills the queue */
    FERRY_ASSERT_OK(ferry_bundle_writer_open(path, NULL, &w, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_fail_write(w, 2, ENOSPC, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_begin(w, "a", len, &err), &err);
    for (off = 0; r == 0 && off < len; off += 65536)
        r = ferry_bundle_writer_write(w, big + off, 65536, &err);
    assert_int_equal(r, -FERRY_E_IO);
    assert_true(off < len); /* failed while streaming, not at the end */
    snprintf(want, sizeof want, "at offset %u: ", BUNDLE_OUT_BUFSIZE);
    assert_non_null(strstr(err->msg, path)); /* names the temporary next to path */
    assert_non_null(strstr(err->msg, ".tmp."));
    assert_non_null(strstr(err->msg, want));
    assert_non_null(strstr(err->msg, strerror(ENOSPC)));
    assert_int_equal(err->sys_errno, ENOSPC);
    ferry_error_clear(&err);
    /* sticky, through every later call */
    ASSERT_ERR(ferry_bundle_writer_write(w, big, 1, &err), FERRY_E_IO, &err);
    assert_non_null(strstr(err->msg, want));
    ferry_error_clear(&err);
    ASSERT_ERR(ferry_bundle_writer_end(w, &err), FERRY_E_IO, &err);
    ferry_error_clear(&err);
    ASSERT_ERR(ferry_bundle_writer_commit(w, NULL, NULL, &err), FERRY_E_IO, &err);
    assert_non_null(strstr(err->msg, strerror(ENOSPC)));
    ferry_error_clear(&err);
    assert_int_equal(access(path, F_OK), -1);
    ferry_bundle_writer_free(w);
    assert_int_equal(count_entries(dir), 0);
    free(big);
    free(path);
    rmscratch(dir);
}

/* The only write() happens at commit, when the queue drains: commit fails
 * with the writer thread's error, and neither bundle nor signature appears. */
static void
test_writer_thread_fails_at_commit(void **state)
{
    struct ferry_bundle_writer *w = NULL;
    struct ferry_error *err = NULL;
    struct ferry_seckey *sk = NULL;
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst"), *pub = pathjoin(dir, "k.pub"),
         *sec = pathjoin(dir, "k.key");

    (void)state;
    FERRY_ASSERT_OK(ferry_keygen(pub, sec, NULL, false, &err), &err);
    FERRY_ASSERT_OK(ferry_seckey_load(sec, NULL, NULL, &sk, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_open(path, NULL, &w, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_fail_write(w, 1, EIO, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_add(w, "a", "hello", 5, &err), &err);
    ASSERT_ERR(ferry_bundle_writer_commit(w, sk, NULL, &err), FERRY_E_IO, &err);
    assert_non_null(strstr(err->msg, "at offset 0: "));
    assert_non_null(strstr(err->msg, strerror(EIO)));
    ferry_error_clear(&err);
    ASSERT_ERR(ferry_bundle_writer_commit(w, sk, NULL, &err), FERRY_E_IO, &err);
    ferry_error_clear(&err);
    ferry_bundle_writer_free(w);
    assert_int_equal(count_entries(dir), 2); /* the keys only */
    ferry_seckey_free(sk);
    free(sec);
    free(pub);
    free(path);
    rmscratch(dir);
}

/* Wait (up to 10 s) until the flusher thread has made a flush: it runs on its
 * own, and a commit that comes first stops it before it starts. */
static void
wait_flush(struct ferry_bundle_writer *w)
{
    const struct timespec tick = {0, 10 * 1000 * 1000};

    for (int i = 0; i < 1000 && ferry_bundle_writer_flushes(w) == 0; i++)
        nanosleep(&tick, NULL);
    assert_true(ferry_bundle_writer_flushes(w) >= 1);
}

/* The flusher thread fdatasyncs while the bundle is written (here every
 * 256 KiB), and the result is the same bundle. */
static void
test_flusher_flushes(void **state)
{
    struct ferry_bundle_writer *w = NULL;
    struct ferry_bundle_reader *rd = NULL;
    struct ferry_error *err = NULL;
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    size_t n;
    struct member *m = std_members(&n);

    (void)state;
    FERRY_ASSERT_OK(ferry_bundle_writer_open(path, NULL, &w, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_set_flush(w, 256u << 10, 0, &err), &err);
    for (size_t i = 0; i < n; i++)
        FERRY_ASSERT_OK(ferry_bundle_writer_add(w, m[i].name, m[i].data, m[i].len, &err), &err);
    wait_flush(w); /* about 7 MB are queued: the writer thread publishes them */
    FERRY_ASSERT_OK(ferry_bundle_writer_commit(w, NULL, NULL, &err), &err);
    ferry_bundle_writer_free(w);
    FERRY_ASSERT_OK(ferry_bundle_reader_open(path, &rd, &err), &err);
    check_bundle(rd, m, n, 65536);
    ferry_bundle_reader_free(rd);
    free_members(m, n);
    free(path);
    rmscratch(dir);
}

/* A failed flush while writing fails the commit with its errno, even though
 * the final fsync would succeed (the kernel reports a writeback error to one
 * fsync caller only), and leaves nothing behind. */
static void
test_flusher_fails(void **state)
{
    struct ferry_bundle_writer *w = NULL;
    struct ferry_error *err = NULL;
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    size_t n;
    struct member *m = std_members(&n);

    (void)state;
    FERRY_ASSERT_OK(ferry_bundle_writer_open(path, NULL, &w, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_set_flush(w, 256u << 10, EIO, &err), &err);
    for (size_t i = 0; i < n; i++)
        FERRY_ASSERT_OK(ferry_bundle_writer_add(w, m[i].name, m[i].data, m[i].len, &err), &err);
    wait_flush(w);
    ASSERT_ERR(ferry_bundle_writer_commit(w, NULL, NULL, &err), FERRY_E_IO, &err);
    assert_non_null(strstr(err->msg, "fsync "));
    assert_non_null(strstr(err->msg, ".tmp."));
    assert_non_null(strstr(err->msg, strerror(EIO)));
    ferry_error_clear(&err);
    ferry_bundle_writer_free(w);
    assert_int_equal(count_entries(dir), 0);
    /* the hook is refused once data is written */
    FERRY_ASSERT_OK(ferry_bundle_writer_open(path, NULL, &w, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_add(w, "a", "hello", 5, &err), &err);
    ASSERT_ERR(ferry_bundle_writer_set_flush(w, 1, 0, &err), FERRY_E_INVALID, &err);
    ferry_error_clear(&err);
    ferry_bundle_writer_free(w);
    free_members(m, n);
    free(path);
    rmscratch(dir);
}

/* Free without commit while buffers are queued, with the writer thread idle
 * or held by the test hook (it waits for a full queue that never comes): no
 * hang, no leak, no file. */
static void
test_writer_thread_free_queued(void **state)
{
    struct ferry_bundle_writer *w = NULL;
    struct ferry_error *err = NULL;
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    size_t len = (BUNDLE_OUT_BUFS - 1) * BUNDLE_OUT_BUFSIZE + 4096;
    unsigned char *big = malloc(len);

    (void)state;
    assert_non_null(big);
    ferry_test_fill(big, len, 6);
    for (int run = 0; run < 2; run++) {
        FERRY_ASSERT_OK(ferry_bundle_writer_open(path, NULL, &w, &err), &err);
        if (run == 0) /* held: only BUNDLE_OUT_BUFS - 1 buffers get queued */
            FERRY_ASSERT_OK(ferry_bundle_writer_fail_write(w, 1, EIO, &err), &err);
        FERRY_ASSERT_OK(ferry_bundle_writer_begin(w, "a", len, &err), &err);
        FERRY_ASSERT_OK(ferry_bundle_writer_write(w, big, len, &err), &err);
        ferry_bundle_writer_free(w);
        w = NULL;
        assert_int_equal(count_entries(dir), 0);
    }
    free(big);
    free(path);
    rmscratch(dir);
}

static void
test_writer_bad_names(void **state)
{
    static const char *const bad[] = {"",     "/abs", "../x", "a/../b", "./a",        "a/.",
                                      "a//b", "a/",   ".",    "a\nb",   "caf\xc3\xa9"};
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    char toolong[FERRY_MAX_MEMBER_NAME + 2];

    (void)state;
    memset(toolong, 'a', sizeof toolong - 1);
    toolong[sizeof toolong - 1] = '\0';
    for (size_t i = 0; i <= sizeof bad / sizeof bad[0]; i++) {
        const char *name = i < sizeof bad / sizeof bad[0] ? bad[i] : toolong;
        struct ferry_bundle_writer *w = NULL;
        struct ferry_error *err = NULL;
        FERRY_ASSERT_OK(ferry_bundle_writer_open(path, NULL, &w, &err), &err);
        ASSERT_ERR(ferry_bundle_writer_add(w, name, "x", 1, &err), FERRY_E_INVALID, &err);
        assert_null(strchr(err->msg, '\n'));
        ferry_error_free(err);
        ferry_bundle_writer_free(w);
    }
    toolong[FERRY_MAX_MEMBER_NAME] = '\0'; /* exactly at the limit is fine */
    {
        struct member m = {toolong, (unsigned char *)"x", 1, 0};
        struct ferry_error *err = NULL;
        write_bundle(path, &m, 1, 0, 0, NULL);
        FERRY_ASSERT_OK(drain(path, &err), &err);
    }
    free(path);
    rmscratch(dir);
}

static void
test_alloc_failures(void **state)
{
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    size_t base = ferry_alloc_current();
    bool done = false;

    (void)state;
    /* Fail each allocation in turn: every run ends in success or NOMEM, never
     * a crash or a leak, and leaves nothing behind on failure. */
    for (unsigned long k = 1; !done && k < 200; k++) {
        struct ferry_bundle_writer *w = NULL;
        struct ferry_error *err = NULL;
        int r;
        ferry_alloc_fail_after(k);
        r = ferry_bundle_writer_open(path, NULL, &w, &err);
        if (r == 0)
            r = ferry_bundle_writer_add(w, "a", "hello", 5, &err);
        if (r == 0)
            r = ferry_bundle_writer_commit(w, NULL, NULL, &err);
        ferry_alloc_fail_after(0);
        ferry_bundle_writer_free(w);
        if (r < 0) {
            if (r != -FERRY_E_NOMEM || count_entries(dir) != 0)
                fail_msg("allocation %lu failed: %d, %d files: %s", k, r, count_entries(dir),
                         err ? err->msg : "no error");
        } else {
            done = true;
        }
        ferry_error_free(err);
        assert_int_equal(ferry_alloc_current(), base);
    }
    assert_true(done);
    done = false;
    for (unsigned long k = 1; !done && k < 200; k++) {
        struct ferry_error *err = NULL;
        int r;
        ferry_alloc_fail_after(k);
        r = drain(path, &err);
        ferry_alloc_fail_after(0);
        if (r < 0)
            assert_int_equal(r, -FERRY_E_NOMEM);
        else
            done = true;
        ferry_error_free(err);
        assert_int_equal(ferry_alloc_current(), base);
    }
    assert_true(done);
    free(path);
    rmscratch(dir);
}

/* ---- hostile archives ----------------------------------------------------------- */

struct membuf {
    unsigned char *p;
    size_t len, cap;
};

static la_ssize_t
membuf_write(struct archive *a, void *ud, const void *buf, size_t len)
{
    struct membuf *b = ud;

    (void)a;
    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, buf, len);
    b->len += len;
    return (la_ssize_t)len;
}

static void
put_le32(FILE *f, uint32_t v)
{
    unsigned char b[4];

    bundle_put_le32(b, v);
    assert_int_equal(fwrite(b, 1, 4, f), 4);
}

/* Compress the pieces of a tar stream (cut at `cuts`), one zstd frame each,
 * and append a seek table: a well-formed container around any tar content. */
static void
wrap_tar(const char *path, const unsigned char *tar, const size_t *cuts, size_t ncuts)
{
    FILE *f = fopen(path, "wb");
    uint32_t cs[64], ds[64];
    ZSTD_CCtx *cc = ZSTD_createCCtx();

    assert_non_null(f);
    assert_true(ncuts < 64);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    for (size_t i = 0; i + 1 < ncuts; i++) {
        size_t len = cuts[i + 1] - cuts[i], bound = ZSTD_compressBound(len);
        unsigned char *z = malloc(bound);
        size_t c = ZSTD_compress2(cc, z, bound, tar + cuts[i], len);
        assert_false(ZSTD_isError(c));
        assert_int_equal(fwrite(z, 1, c, f), c);
        cs[i] = (uint32_t)c;
        ds[i] = (uint32_t)len;
        free(z);
    }
    put_le32(f, 0x184D2A5E);
    put_le32(f, (uint32_t)((ncuts - 1) * 8 + 9));
    for (size_t i = 0; i + 1 < ncuts; i++) {
        put_le32(f, cs[i]);
        put_le32(f, ds[i]);
    }
    put_le32(f, (uint32_t)(ncuts - 1));
    fputc(0, f);
    put_le32(f, 0x8F92EAB1);
    assert_int_equal(fclose(f), 0);
    ZSTD_freeCCtx(cc);
}

enum hostile {
    H_SYMLINK,
    H_DOTDOT,
    H_ABS,
    H_HARDLINK,
    H_DIR,
    H_DOT,
    H_EMPTY,
    H_LONG,
    H_CHR,
    H_FIFO
};

/* A bundle whose first member is fine and whose second is the hostile one. */
static void
make_hostile(const char *path, enum hostile h)
{
    struct archive *a = archive_write_new();
    struct archive_entry *ae;
    struct membuf b = {NULL, 0, 0};
    size_t cuts[4] = {0};
    char longn[700];

    assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    archive_write_set_bytes_per_block(a, 0);
    assert_int_equal(archive_write_open2(a, &b, NULL, membuf_write, NULL, NULL), ARCHIVE_OK);
    ae = archive_entry_new();
    archive_entry_set_pathname(ae, "ok");
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_perm(ae, 0644);
    archive_entry_set_size(ae, 2);
    assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
    assert_int_equal(archive_write_data(a, "ok", 2), 2);
    assert_int_equal(archive_write_finish_entry(a), ARCHIVE_OK);
    cuts[1] = b.len;
    archive_entry_clear(ae);
    archive_entry_set_perm(ae, 0644);
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_size(ae, 0);
    switch (h) {
    case H_SYMLINK:
        archive_entry_set_pathname(ae, "link");
        archive_entry_set_filetype(ae, AE_IFLNK);
        archive_entry_set_symlink(ae, "/etc/passwd");
        break;
    case H_DOTDOT:
        archive_entry_set_pathname(ae, "../x");
        break;
    case H_ABS:
        archive_entry_set_pathname(ae, "/abs");
        break;
    case H_HARDLINK:
        archive_entry_set_pathname(ae, "hl");
        archive_entry_set_hardlink(ae, "ok");
        break;
    case H_DIR:
        archive_entry_set_pathname(ae, "dir/");
        archive_entry_set_filetype(ae, AE_IFDIR);
        archive_entry_set_perm(ae, 0755);
        break;
    case H_DOT:
        archive_entry_set_pathname(ae, "blobs/./x");
        break;
    case H_EMPTY:
        archive_entry_set_pathname(ae, "blobs//x");
        break;
    case H_LONG:
        memset(longn, 'a', sizeof longn - 1);
        longn[sizeof longn - 1] = '\0';
        archive_entry_set_pathname(ae, longn);
        break;
    case H_CHR:
        archive_entry_set_pathname(ae, "null");
        archive_entry_set_filetype(ae, AE_IFCHR);
        archive_entry_set_rdev(ae, 0x103);
        break;
    case H_FIFO:
        archive_entry_set_pathname(ae, "fifo");
        archive_entry_set_filetype(ae, AE_IFIFO);
        break;
    }
    assert_true(archive_write_header(a, ae) >= ARCHIVE_WARN);
    assert_int_equal(archive_write_finish_entry(a), ARCHIVE_OK);
    cuts[2] = b.len;
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    cuts[3] = b.len;
    archive_entry_free(ae);
    archive_write_free(a);
    wrap_tar(path, b.p, cuts, 4);
    free(b.p);
}

static void
expect_hostile(enum hostile h, const char *want)
{
    struct ferry_bundle_reader *rd = NULL;
    struct ferry_error *err = NULL;
    char *dir = mkscratch(), *path = pathjoin(dir, "h.tar.zst");
    const char *name;
    uint64_t size;

    make_hostile(path, h);
    FERRY_ASSERT_OK(ferry_bundle_reader_open(path, &rd, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_reader_next(rd, &name, &size, &err), &err);
    assert_string_equal(name, "ok");
    ASSERT_ERR(ferry_bundle_reader_next(rd, &name, &size, &err), FERRY_E_BUNDLE, &err);
    if (strstr(err->msg, want) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\"", err->msg, want);
    ferry_error_clear(&err);
    /* sticky */
    ASSERT_ERR(ferry_bundle_reader_next(rd, &name, &size, &err), FERRY_E_BUNDLE, &err);
    assert_non_null(strstr(err->msg, want));
    ferry_error_clear(&err);
    ferry_bundle_reader_free(rd);
    free(path);
    rmscratch(dir);
}

static void
test_reject_symlink(void **state)
{
    (void)state;
    expect_hostile(H_SYMLINK, "member \"link\": symbolic link");
}

static void
test_reject_dotdot(void **state)
{
    (void)state;
    expect_hostile(H_DOTDOT, "member \"../x\": \"..\" component");
}

static void
test_reject_absolute(void **state)
{
    (void)state;
    expect_hostile(H_ABS, "member \"/abs\": absolute name");
}

static void
test_reject_hardlink(void **state)
{
    (void)state;
    expect_hostile(H_HARDLINK, "member \"hl\": hard link");
}

static void
test_reject_directory(void **state)
{
    (void)state;
    expect_hostile(H_DIR, "member \"dir/\": trailing slash");
}

static void
test_reject_dot_component(void **state)
{
    (void)state;
    expect_hostile(H_DOT, "member \"blobs/./x\": \".\" component");
}

static void
test_reject_empty_component(void **state)
{
    (void)state;
    expect_hostile(H_EMPTY, "member \"blobs//x\": empty component");
}

static void
test_reject_long_name(void **state)
{
    (void)state;
    expect_hostile(H_LONG, "name longer than 512 bytes");
}

static void
test_reject_device(void **state)
{
    (void)state;
    expect_hostile(H_CHR, "member \"null\": character device");
}

static void
test_reject_fifo(void **state)
{
    (void)state;
    expect_hostile(H_FIFO, "member \"fifo\": fifo");
}

/* A ustar header made by hand, for entries libarchive would not write. */
static void
raw_header(unsigned char *h, const char *name, char type, const char *size_octal)
{
    unsigned long sum = 0;

    memset(h, 0, 512);
    memcpy(h, name, strlen(name));
    memcpy(h + 100, "0000644", 7);
    memcpy(h + 108, "0000000", 7);
    memcpy(h + 116, "0000000", 7);
    memcpy(h + 124, size_octal, strlen(size_octal));
    memcpy(h + 136, "00000000000", 11);
    h[156] = (unsigned char)type;
    memcpy(h + 257,
           "ustar\0"
           "00",
           8);
    memset(h + 148, ' ', 8);
    for (size_t i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06lo", sum);
}

/* A directory entry without the trailing slash is still a directory. */
static void
test_reject_directory_type(void **state)
{
    struct ferry_error *err = NULL;
    char *dir = mkscratch(), *path = pathjoin(dir, "h.tar.zst");
    unsigned char tar[512 * 3];
    size_t cuts[3] = {0, 512, sizeof tar};

    (void)state;
    memset(tar, 0, sizeof tar);
    raw_header(tar, "d", '5', "00000000000");
    wrap_tar(path, tar, cuts, 3);
    ASSERT_ERR(drain(path, &err), FERRY_E_BUNDLE, &err);
    if (strstr(err->msg, "member \"d\": directory") == NULL)
        fail_msg("%s", err->msg);
    ferry_error_free(err);
    free(path);
    rmscratch(dir);
}

/* A header claiming more data than the archive holds. */
static void
test_reject_size_overrun(void **state)
{
    struct ferry_error *err = NULL;
    char *dir = mkscratch(), *path = pathjoin(dir, "h.tar.zst");
    unsigned char tar[512 * 4];
    size_t cuts[3] = {0, 512, sizeof tar};

    (void)state;
    memset(tar, 0, sizeof tar);
    raw_header(tar, "big", '0', "77777777777");
    wrap_tar(path, tar, cuts, 3);
    ASSERT_ERR(drain(path, &err), FERRY_E_BUNDLE, &err);
    assert_non_null(strstr(err->msg, "member \"big\": size 8589934591 exceeds"));
    ferry_error_free(err);
    free(path);
    rmscratch(dir);
}

/* Tar content not cut at member boundaries: members must start frames. */
static void
test_reject_unaligned_member(void **state)
{
    struct ferry_error *err = NULL;
    size_t n, len;
    struct member *m = std_members(&n);
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst"), *out = pathjoin(dir, "u.tar.zst");
    unsigned char *tar, *z;
    size_t cuts[2] = {0, 0};
    char cmd[512];

    (void)state;
    if (!have_tool("zstd"))
        FERRY_SKIP("zstd not installed");
    write_bundle(path, m, 3, 0, 0, NULL);
    snprintf(cmd, sizeof cmd, "zstd -qdf '%s' -o '%s/plain.tar'", path, dir);
    assert_int_equal(system(cmd), 0);
    free(z = NULL);
    {
        char *plain = pathjoin(dir, "plain.tar");
        tar = slurp(plain, &len);
        free(plain);
    }
    cuts[1] = len;
    wrap_tar(out, tar, cuts, 2); /* one frame for everything */
    ASSERT_ERR(drain(out, &err), FERRY_E_BUNDLE, &err);
    assert_non_null(strstr(err->msg, "member \"stream/one\" at tar offset 1024 does not start"));
    ferry_error_free(err);
    free(tar);
    free_members(m, n);
    free(out);
    free(path);
    rmscratch(dir);
}

/* ---- damaged files -------------------------------------------------------------- */

static void
test_truncated(void **state)
{
    size_t n, len;
    struct member *m = std_members(&n);
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst"), *cut = pathjoin(dir, "c");
    unsigned char *data;

    (void)state;
    write_bundle(path, m, n, SMALL_FRAME, 0, NULL);
    data = slurp(path, &len);
    for (size_t k = 1; k < len; k += k < 64 ? 1 : len / 37) {
        struct ferry_error *err = NULL;
        spit(cut, data, len - k);
        ASSERT_ERR(drain(cut, &err), FERRY_E_BUNDLE, &err);
        ferry_error_free(err);
    }
    free(data);
    free_members(m, n);
    free(cut);
    free(path);
    rmscratch(dir);
}

/* Rebuild a bundle from some of its frames plus extra frames, with a seek table
 * that agrees: the container is consistent, the tar inside is not. */
static void
rebuild(const char *src, const char *dst, size_t keep, const void *extra, size_t extra_len)
{
    struct ferry_error *err = NULL;
    struct ferry_seek_entry *t = NULL;
    size_t nt = 0, len;
    unsigned char *data = slurp(src, &len);
    FILE *f = fopen(dst, "wb");
    uint32_t ecs = 0;
    unsigned char z[4096];

    FERRY_ASSERT_OK(ferry_bundle_seek_table(src, &t, &nt, &err), &err);
    assert_true(keep <= nt);
    for (size_t i = 0; i < keep; i++)
        assert_int_equal(fwrite(data + t[i].coffset, 1, t[i].csize, f), t[i].csize);
    if (extra != NULL) {
        ZSTD_CCtx *cc = ZSTD_createCCtx();
        size_t c;
        ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
        c = ZSTD_compress2(cc, z, sizeof z, extra, extra_len);
        assert_false(ZSTD_isError(c));
        assert_int_equal(fwrite(z, 1, c, f), c);
        ecs = (uint32_t)c;
        ZSTD_freeCCtx(cc);
    }
    put_le32(f, 0x184D2A5E);
    put_le32(f, (uint32_t)((keep + (extra != NULL)) * 8 + 9));
    for (size_t i = 0; i < keep; i++) {
        put_le32(f, t[i].csize);
        put_le32(f, t[i].dsize);
    }
    if (extra != NULL) {
        put_le32(f, ecs);
        put_le32(f, (uint32_t)extra_len);
    }
    put_le32(f, (uint32_t)(keep + (extra != NULL)));
    fputc(0, f);
    put_le32(f, 0x8F92EAB1);
    assert_int_equal(fclose(f), 0);
    ferry_free(t);
    free(data);
}

static void
test_missing_end_of_archive(void **state)
{
    struct ferry_error *err = NULL;
    struct ferry_seek_entry *t = NULL;
    size_t n, nt = 0;
    struct member *m = std_members(&n);
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst"), *out = pathjoin(dir, "o");
    static const unsigned char zero[512];

    (void)state;
    write_bundle(path, m, 3, 0, 0, NULL);
    FERRY_ASSERT_OK(ferry_bundle_seek_table(path, &t, &nt, &err), &err);
    /* without the last frame (the two zero blocks) */
    rebuild(path, out, nt - 1, NULL, 0);
    ASSERT_ERR(drain(out, &err), FERRY_E_BUNDLE, &err);
    assert_non_null(strstr(err->msg, "end-of-archive"));
    ferry_error_clear(&err);
    /* with only one zero block */
    rebuild(path, out, nt - 1, zero, sizeof zero);
    ASSERT_ERR(drain(out, &err), FERRY_E_BUNDLE, &err);
    assert_non_null(strstr(err->msg, "end-of-archive"));
    ferry_error_clear(&err);
    ferry_free(t);
    free_members(m, n);
    free(out);
    free(path);
    rmscratch(dir);
}

static void
test_data_after_tar_end(void **state)
{
    struct ferry_error *err = NULL;
    struct ferry_seek_entry *t = NULL;
    size_t n, nt = 0;
    struct member *m = std_members(&n);
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst"), *out = pathjoin(dir, "o");
    unsigned char zeros[10240];

    (void)state;
    write_bundle(path, m, 3, 0, 0, NULL);
    FERRY_ASSERT_OK(ferry_bundle_seek_table(path, &t, &nt, &err), &err);
    rebuild(path, out, nt, "hello, I am not part of the archive", 35);
    ASSERT_ERR(drain(out, &err), FERRY_E_BUNDLE, &err);
    assert_non_null(strstr(err->msg, "35 bytes after the end of the tar archive"));
    ferry_error_clear(&err);
    /* even zeros (GNU tar's record padding) are not part of a ferry bundle */
    memset(zeros, 0, sizeof zeros);
    rebuild(path, out, nt, zeros, sizeof zeros);
    ASSERT_ERR(drain(out, &err), FERRY_E_BUNDLE, &err);
    assert_non_null(strstr(err->msg, "after the end of the tar archive"));
    ferry_error_clear(&err);
    ferry_free(t);
    free_members(m, n);
    free(out);
    free(path);
    rmscratch(dir);
}

static void
test_trailing_garbage(void **state)
{
    struct ferry_error *err = NULL;
    struct ferry_seek_entry *t = NULL;
    size_t n, nt = 0, len;
    struct member *m = std_members(&n);
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    unsigned char *data;
    FILE *f;

    (void)state;
    write_bundle(path, m, 3, 0, 0, NULL);
    data = slurp(path, &len);
    f = fopen(path, "ab");
    assert_non_null(f);
    fputs("trailing garbage", f);
    fclose(f);
    ASSERT_ERR(drain(path, &err), FERRY_E_BUNDLE, &err);
    assert_non_null(strstr(err->msg, "no seek table at end of file"));
    ferry_error_clear(&err);
    ASSERT_ERR(ferry_bundle_seek_table(path, &t, &nt, &err), FERRY_E_BUNDLE, &err);
    ferry_error_clear(&err);
    /* a second copy of the whole bundle appended: the tables disagree */
    f = fopen(path, "wb");
    fwrite(data, 1, len, f);
    fwrite(data, 1, len, f);
    fclose(f);
    ASSERT_ERR(drain(path, &err), FERRY_E_BUNDLE, &err);
    ferry_error_clear(&err);
    free(data);
    free_members(m, n);
    free(path);
    rmscratch(dir);
}

/* Every single-byte change anywhere in a small bundle is rejected. */
static void
test_flipped_byte(void **state)
{
    size_t len;
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst"), *bad = pathjoin(dir, "bad");
    struct member m[2] = {{"oci-layout", NULL, 0, 0}, {"blobs/sha256/x", NULL, 3000, 0}};
    unsigned char *data, payload[3000];

    (void)state;
    m[0].data = (unsigned char *)"{\"imageLayoutVersion\":\"1.0.0\"}";
    m[0].len = 30;
    ferry_test_fill(payload, sizeof payload, 5);
    m[1].data = payload;
    write_bundle(path, m, 2, 0, 0, NULL);
    data = slurp(path, &len);
    for (size_t i = 0; i < len; i++) {
        struct ferry_error *err = NULL;
        int r;
        data[i] ^= 0xff;
        spit(bad, data, len);
        data[i] ^= 0xff;
        r = drain(bad, &err);
        if (r != -FERRY_E_BUNDLE)
            fail_msg("byte %zu of %zu flipped: got %d (%s)", i, len, r,
                     err ? err->msg : "no error");
        assert_null(strchr(err->msg, '\n'));
        ferry_error_free(err);
    }
    free(data);
    free(bad);
    free(path);
    rmscratch(dir);
}

/* A flipped byte inside raw (incompressible) data only zstd's checksum sees. */
static void
test_flipped_byte_checksum(void **state)
{
    struct ferry_error *err = NULL;
    size_t n, len;
    struct member *m = std_members(&n);
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    unsigned char *data;

    (void)state;
    write_bundle(path, m, n, SMALL_FRAME, 0, NULL);
    data = slurp(path, &len);
    data[len / 2] ^= 0x01;
    spit(path, data, len);
    ASSERT_ERR(drain(path, &err), FERRY_E_BUNDLE, &err);
    assert_non_null(strstr(err->msg, "corrupt zstd frame"));
    ferry_error_free(err);
    free(data);
    free_members(m, n);
    free(path);
    rmscratch(dir);
}

/* Members whose data is left unread are passed over frame by frame, without
 * being decompressed: the headers alone come back with the offsets a full
 * read gives, members read after skipped ones are whole, and a byte flipped
 * inside a skipped member's frames goes unseen (whoever uses a member reads
 * it, and then the checksum and the digest see it). */
static void
test_skip_unread(void **state)
{
    struct ferry_bundle_reader *rd = NULL;
    struct ferry_error *err = NULL;
    size_t n, len, i;
    struct member *m = std_members(&n);
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst");
    uint64_t offs[8], size;
    unsigned char *data, buf[4096];
    const char *name;

    (void)state;
    write_bundle(path, m, n, SMALL_FRAME, 0, NULL);
    FERRY_ASSERT_OK(ferry_bundle_reader_open(path, &rd, &err), &err);
    for (i = 0; i < n; i++) {
        FERRY_ASSERT_OK(ferry_bundle_reader_next(rd, &name, &size, &err), &err);
        offs[i] = ferry_bundle_reader_member_offset(rd);
        while (ferry_bundle_reader_read(rd, buf, sizeof buf, &err) > 0)
            ;
        assert_null(err);
    }
    ferry_bundle_reader_free(rd);
    /* every other member skipped; the others read whole and compared */
    FERRY_ASSERT_OK(ferry_bundle_reader_open(path, &rd, &err), &err);
    for (i = 0; i < n; i++) {
        size_t got = 0;
        int64_t k;
        FERRY_ASSERT_OK(ferry_bundle_reader_next(rd, &name, &size, &err), &err);
        assert_string_equal(name, m[i].name);
        assert_int_equal(size, m[i].len);
        assert_int_equal(ferry_bundle_reader_member_offset(rd), offs[i]);
        if (i % 2 == 1)
            continue;
        while ((k = ferry_bundle_reader_read(rd, buf, sizeof buf, &err)) > 0) {
            assert_memory_equal(buf, m[i].data + got, (size_t)k);
            got += (size_t)k;
        }
        assert_int_equal(got, m[i].len);
    }
    assert_int_equal(ferry_bundle_reader_next(rd, &name, &size, &err), 0);
    assert_null(err);
    ferry_bundle_reader_free(rd);
    /* the big member's frames are not decompressed when it is skipped */
    data = slurp(path, &len);
    data[offs[6] + (offs[7] - offs[6]) / 2] ^= 0x01;
    spit(path, data, len);
    ASSERT_ERR(drain(path, &err), FERRY_E_BUNDLE, &err);
    ferry_error_clear(&err);
    FERRY_ASSERT_OK(ferry_bundle_reader_open(path, &rd, &err), &err);
    for (i = 0; i < n; i++) {
        FERRY_ASSERT_OK(ferry_bundle_reader_next(rd, &name, &size, &err), &err);
        assert_string_equal(name, m[i].name);
    }
    assert_int_equal(ferry_bundle_reader_next(rd, &name, &size, &err), 0);
    assert_null(err);
    ferry_bundle_reader_free(rd);
    free(data);
    free_members(m, n);
    free(path);
    rmscratch(dir);
}

/* ---- signatures ------------------------------------------------------------------ */

static void
test_commit_signs(void **state)
{
    struct ferry_error *err = NULL;
    struct ferry_seckey *sk = NULL;
    struct ferry_pubkey *pk = NULL;
    struct ferry_signer *s = NULL;
    struct ferry_buf sig;
    size_t n, len;
    struct member *m = std_members(&n);
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst"), *pub = pathjoin(dir, "k.pub"),
         *sec = pathjoin(dir, "k.key"), *sigpath = pathjoin(dir, "b.tar.zst.minisig");
    char *tc = NULL, cmd[1024];
    unsigned char *data;

    (void)state;
    FERRY_ASSERT_OK(ferry_keygen(pub, sec, NULL, false, &err), &err);
    FERRY_ASSERT_OK(ferry_seckey_load(sec, NULL, NULL, &sk, &err), &err);
    FERRY_ASSERT_OK(ferry_pubkey_load(pub, &pk, &err), &err);
    write_bundle(path, m, n, SMALL_FRAME, 0, sk);
    assert_int_equal(count_entries(dir), 4); /* keys, bundle, .minisig; no temporaries */
    /* ferry_verify_stream over the file as written */
    data = slurp(path, &len);
    s = ferry_signer_new();
    ferry_signer_update(s, data, len);
    ferry_buf_init(&sig, FERRY_MAX_SIGNATURE);
    FERRY_ASSERT_OK(ferry_read_file(sigpath, &sig, &err), &err);
    FERRY_ASSERT_OK(ferry_verify_stream(&pk, 1, sig.data, sig.len, s, sigpath, &tc, NULL, &err),
                    &err);
    assert_non_null(strstr(tc, "\tfile:b.tar.zst\thashed"));
    assert_memory_equal(tc, "timestamp:", 10);
    ferry_free(tc);
    tc = NULL;
    ferry_signer_free(s);
    FERRY_ASSERT_OK(ferry_bundle_verify_signature(path, &pk, 1, NULL, &err), &err);
    if (have_tool("minisign")) {
        snprintf(cmd, sizeof cmd, "minisign -Vqm '%s' -p '%s'", path, pub);
        assert_int_equal(system(cmd), 0);
    }
    /* any change to the file breaks it */
    data[len - 20] ^= 1;
    spit(path, data, len);
    ASSERT_ERR(ferry_bundle_verify_signature(path, &pk, 1, NULL, &err), FERRY_E_SIGNATURE, &err);
    ferry_error_free(err);
    free(data);
    ferry_buf_free(&sig);
    ferry_pubkey_free(pk);
    ferry_seckey_free(sk);
    free_members(m, n);
    free(sigpath);
    free(sec);
    free(pub);
    free(path);
    rmscratch(dir);
}

static void
test_commit_trusted_comment(void **state)
{
    struct ferry_error *err = NULL;
    struct ferry_seckey *sk = NULL;
    struct ferry_pubkey *pk = NULL;
    struct ferry_bundle_writer *w = NULL;
    char *dir = mkscratch(), *path = pathjoin(dir, "b.tar.zst"), *pub = pathjoin(dir, "k.pub"),
         *sec = pathjoin(dir, "k.key");
    char *tc = NULL;

    (void)state;
    FERRY_ASSERT_OK(ferry_keygen(pub, sec, NULL, false, &err), &err);
    FERRY_ASSERT_OK(ferry_seckey_load(sec, NULL, NULL, &sk, &err), &err);
    FERRY_ASSERT_OK(ferry_pubkey_load(pub, &pk, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_open(path, NULL, &w, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_add(w, "a", "x", 1, &err), &err);
    FERRY_ASSERT_OK(ferry_bundle_writer_commit(w, sk, "volume 1 of 1", &err), &err);
    ferry_bundle_writer_free(w);
    FERRY_ASSERT_OK(ferry_bundle_verify_signature(path, &pk, 1, &tc, &err), &err);
    assert_string_equal(tc, "volume 1 of 1");
    ferry_free(tc);
    ferry_pubkey_free(pk);
    ferry_seckey_free(sk);
    free(sec);
    free(pub);
    free(path);
    rmscratch(dir);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_roundtrip),
    cmocka_unit_test(test_roundtrip_memory),
    cmocka_unit_test(test_stream),
    cmocka_unit_test(test_stream_big_block),
    cmocka_unit_test(test_roundtrip_threads),
    cmocka_unit_test(test_empty_bundle),
    cmocka_unit_test(test_deterministic),
    cmocka_unit_test(test_deterministic_threads),
    cmocka_unit_test(test_seek_table),
    cmocka_unit_test(test_looks_compressed),
    cmocka_unit_test(test_stored_frames),
    cmocka_unit_test(test_stored_split_independent),
    cmocka_unit_test(test_open_at),
    cmocka_unit_test(test_open_index),
    cmocka_unit_test(test_seek_table_missing),
    cmocka_unit_test(test_zstd_cli_extract),
    cmocka_unit_test(test_libarchive_zstd_filter),
    cmocka_unit_test(test_size_short),
    cmocka_unit_test(test_size_long),
    cmocka_unit_test(test_abort_removes_temp),
    cmocka_unit_test(test_writer_misuse),
    cmocka_unit_test(test_writer_thread_fails),
    cmocka_unit_test(test_writer_thread_fails_at_commit),
    cmocka_unit_test(test_flusher_flushes),
    cmocka_unit_test(test_flusher_fails),
    cmocka_unit_test(test_writer_thread_free_queued),
    cmocka_unit_test(test_writer_bad_names),
    cmocka_unit_test(test_alloc_failures),
    cmocka_unit_test(test_reject_symlink),
    cmocka_unit_test(test_reject_dotdot),
    cmocka_unit_test(test_reject_absolute),
    cmocka_unit_test(test_reject_hardlink),
    cmocka_unit_test(test_reject_directory),
    cmocka_unit_test(test_reject_directory_type),
    cmocka_unit_test(test_reject_dot_component),
    cmocka_unit_test(test_reject_empty_component),
    cmocka_unit_test(test_reject_long_name),
    cmocka_unit_test(test_reject_device),
    cmocka_unit_test(test_reject_fifo),
    cmocka_unit_test(test_reject_size_overrun),
    cmocka_unit_test(test_reject_unaligned_member),
    cmocka_unit_test(test_truncated),
    cmocka_unit_test(test_missing_end_of_archive),
    cmocka_unit_test(test_data_after_tar_end),
    cmocka_unit_test(test_trailing_garbage),
    cmocka_unit_test(test_flipped_byte),
    cmocka_unit_test(test_flipped_byte_checksum),
    cmocka_unit_test(test_skip_unread),
    cmocka_unit_test(test_commit_signs),
    cmocka_unit_test(test_commit_trusted_comment),
};

FERRY_UNIT_MAIN(tests)
