/* ferry: bundle module internals shared by bundle_write.c, bundle_read.c and
 * bundle_seek.c, and reachable from tests (STYLE.md 7: FERRY_UNITTEST). Not a
 * public header. docs/internals/bundle.md explains the layout. */
#ifndef FERRY_BUNDLE_INT_H
#define FERRY_BUNDLE_INT_H

#include <stdatomic.h>

#include "ferry/bundle.h"

/* zstd seekable format (facebook/zstd contrib/seekable_format/
 * zstd_seekable_compression_format.md). */
#define BUNDLE_SKIPPABLE_MAGIC 0x184D2A5Eu
#define BUNDLE_SEEKABLE_MAGIC 0x8F92EAB1u
#define BUNDLE_SEEK_FOOTER_SIZE 9u
#define BUNDLE_SEEK_HEADER_SIZE 8u /* skippable magic + frame size */
#define BUNDLE_SEEK_CHECKSUM_FLAG 0x80u
#define BUNDLE_SEEK_RESERVED_BITS 0x7Cu

/* Decompressed bytes after which the writer ends a frame inside a member. The
 * seekable format stores sizes as uint32 and zstd's contrib reader refuses
 * frames over 1 GiB, so the settable value is capped there. */
#define BUNDLE_FRAME_SIZE_DEFAULT (64u << 20)
#define BUNDLE_FRAME_SIZE_MAX (1u << 30)
/* The smallest frame limit a bundle that verifies may have been written with:
 * frames beyond what it allows are refused before any work
 * (ferry_bundle_member_frame_bound). Only tests write smaller frames. */
#define BUNDLE_FRAME_SIZE_MIN (1u << 20)
/* The largest zstd window a reader accepts: what the writer's highest level
 * (19) uses, 8 MiB. A frame asking for more (zstd allows up to 2 GiB, and
 * decoders default to 128 MiB) is refused, so a re-compressed bundle cannot
 * make each reader hold a 128 MiB window. */
#define BUNDLE_WINDOW_LOG_MAX 23

/* Output queue between the caller's thread (tar, zstd) and the writer thread
 * (write(), BLAKE2b): this many buffers of this size, allocated at open, 2 MiB
 * in all. 4 x 1 MiB, 8 x 1 MiB and 16 x 64 KiB measured the same speed, so
 * the queue is kept small. */
#define BUNDLE_OUT_BUFS 8u
#define BUNDLE_OUT_BUFSIZE (256u << 10)
/* The writer thread starts writeback of the file every this many bytes, so
 * the fsync at commit does not wait for the whole file to reach the disk. */
#define BUNDLE_WRITEBACK_CHUNK (8u << 20)
/* A flusher thread fdatasyncs the file after every this many bytes written,
 * so the device takes the data while the export is still downloading and the
 * fsync at commit waits only for the rest (docs/internals/bundle.md). */
#define BUNDLE_FLUSH_CHUNK (64u << 20)
/* zstd job size with worker threads (ZSTD_c_jobSize). zstd's default at level 3
 * is 8 MiB, and its buffers for nbWorkers + 3 jobs plus their output measured
 * 63 MiB of peak RSS with 2 workers; 1 MiB jobs, 8 MiB. */
#define BUNDLE_ZSTD_JOB_SIZE (1u << 20)

/* Members of at least this size whose data starts with the magic number of a
 * compressed format are written as stored frames (raw blocks) instead of
 * compressed again (bundle_write.c, docs/FORMAT.md "Stored frames"). */
#define BUNDLE_STORE_MIN (64u << 10)

/* Does data start like a gzip, zstd, xz, bzip2 or lz4 stream? It looks at
 * up to BUNDLE_SNIFF_LEN bytes. */
#define BUNDLE_SNIFF_LEN 6u
bool bundle_looks_compressed(const unsigned char *p, size_t len);

/* One seek table entry with its position in both streams. */
struct bundle_frame {
    uint64_t coffset; /* offset of the frame in the file */
    uint64_t doffset; /* offset of its content in the tar stream */
    uint32_t csize;
    uint32_t dsize;
    uint32_t checksum; /* low 32 bits of XXH64 of the content (when has_checksums) */
};

/* A bundle file or an in-memory image of one, read with pread semantics. */
struct bundle_src {
    int fd;                   /* -1 for memory */
    const unsigned char *mem; /* when fd == -1 */
    uint64_t size;            /* file size */
    const char *what;         /* path or "<memory>" for messages */
};

/* The open file and its parsed seek table: made once, shared read-only by
 * every reader opened from it (the push threads), freed with the last. */
struct ferry_bundle_index {
    atomic_uint refs;
    char *what;
    struct bundle_src src; /* its fd is the index's */
    struct bundle_frame *frames;
    size_t nframes;
    bool sums;
    uint64_t data_end;    /* where the seek table frame starts */
    uint64_t total_dsize; /* length of the tar stream */
    /* A stream (a pipe): read once, front to back. frames grow as they are
     * met (csize and dsize set when each ends) and the seek table, last, is
     * compared with them; until the signed statement bounds them
     * (ferry_bundle_reader_limit) only the fixed caps apply. */
    bool stream;
    size_t capframes;
    uint64_t max_tar, max_frames;
    bool ended; /* the seek table was read and checked, and nothing followed */
    int tee_fd; /* a stream: every byte read is also written here (a spool), or -1 */
};

/* A stream reader over data in memory (the fuzzers, the unit tests). */
int bundle_reader_open_stream_mem(const void *data, size_t len, struct ferry_bundle_reader **out,
                                  struct ferry_error **err);

/* Read exactly len bytes at off; FERRY_E_IO, or FERRY_E_BUNDLE past the end. */
int bundle_src_pread(const struct bundle_src *s, uint64_t off, void *buf, size_t len,
                     struct ferry_error **err);

/* Parse and check the seek table at the end of s: footer, skippable frame
 * header, entries whose compressed sizes add up to everything before the table.
 * On success *frames (ferry_free) has *n entries, *data_end is where the seek
 * table frame starts and *has_checksums tells whether entries carry checksums.
 * FERRY_E_BUNDLE on anything missing or inconsistent. */
int bundle_seek_parse(const struct bundle_src *s, struct bundle_frame **frames, size_t *n,
                      uint64_t *data_end, bool *has_checksums, struct ferry_error **err);

/* Member name rules shared by writer and reader: non-empty, at most
 * FERRY_MAX_MEMBER_NAME bytes, relative, no empty, "." or ".." component, no
 * trailing slash, no control characters. NULL if fine, else a static reason. */
const char *bundle_name_problem(const char *name, size_t len);

/* Room for a member name quoted for a message (ferry_quote). */
#define BUNDLE_QUOTE_BUFSIZE 256

/* Little-endian helpers. */
uint32_t bundle_le32(const unsigned char *p);
void bundle_put_le32(unsigned char *p, uint32_t v);

/* ---- test hooks ------------------------------------------------------------
 * Reached by the unit tests and fuzzers only. The fault-injecting ones keep
 * their state in a struct bundle_faults that the writer makes when one of them
 * is first called; a writer no test touched has none. */
struct bundle_faults {
    unsigned long write_nth; /* the writer thread's write_nth write() fails... */
    int write_errno;         /* ...with this errno, once the queue is full */
    int flush_errno;         /* the first fdatasync "fails" with this errno */
};

/* Test hook: end a zstd frame after every `size` decompressed bytes instead of
 * BUNDLE_FRAME_SIZE_DEFAULT (1 .. BUNDLE_FRAME_SIZE_MAX). Call before the first
 * member. FERRY_E_INVALID otherwise. */
int ferry_bundle_writer_set_frame_size(struct ferry_bundle_writer *w, uint32_t size,
                                       struct ferry_error **err);

/* Test hook: store members of at least `size` bytes whose data looks
 * compressed, instead of BUNDLE_STORE_MIN (fuzzing reaches the stored-frame
 * code with small inputs). */
int ferry_bundle_writer_set_store_min(struct ferry_bundle_writer *w, uint64_t size,
                                      struct ferry_error **err);

/* Test hook: flush after every `chunk` bytes instead of BUNDLE_FLUSH_CHUNK,
 * and with fail_with > 0 make the first flush fail with that errno. Call
 * before the first member. FERRY_E_INVALID otherwise. */
int ferry_bundle_writer_set_flush(struct ferry_bundle_writer *w, uint64_t chunk, int fail_with,
                                  struct ferry_error **err);
/* Test accessor: fdatasync calls the flusher thread made so far. */
unsigned long ferry_bundle_writer_flushes(struct ferry_bundle_writer *w);

/* Test hook: the writer thread's nth write() (counting from 1) fails with
 * errnum instead of writing, after the thread has waited for the queue to fill
 * up (or for commit), so the caller is blocked on a full queue or committing
 * when it happens. Call before the first member. FERRY_E_INVALID otherwise. */
int ferry_bundle_writer_fail_write(struct ferry_bundle_writer *w, unsigned long nth, int errnum,
                                   struct ferry_error **err);

#endif
