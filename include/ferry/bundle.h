/* ferry: the bundle container: a POSIX tar stream compressed into zstd frames
 * that end at member boundaries, followed by a zstd seekable-format seek table
 * (contrib/seekable_format/zstd_seekable_compression_format.md) in a skippable
 * frame. Plain `zstd -d | tar -x` reads it. This layer knows nothing about OCI;
 * docs/FORMAT.md describes what the members are. */
#ifndef FERRY_BUNDLE_H
#define FERRY_BUNDLE_H

#include "common.h"
#include "error.h"
#include "sign.h"

struct ferry_bundle_writer;

struct ferry_bundle_writer_opts {
    int level;   /* zstd level, default 3 when 0 */
    int threads; /* zstd workers, 0 = single-threaded */
};

/* Create `path`.tmp.XXXXXX next to path and start the tar stream. Nothing is
 * visible at `path` until ferry_bundle_writer_commit succeeds. */
FERRY_API int ferry_bundle_writer_open(const char *path, const struct ferry_bundle_writer_opts *o,
                                       struct ferry_bundle_writer **out, struct ferry_error **err);
/* The same onto an open descriptor (a pipe, stdout), written sequentially
 * and left open; what names it in messages. Commit writes the seek table and
 * no detached signature (sk must be NULL); a failed stream cannot be taken
 * back, so its reader sees it end early (no seek table, no end of archive)
 * and refuses it. */
FERRY_API int ferry_bundle_writer_open_fd(int fd, const char *what,
                                          const struct ferry_bundle_writer_opts *o,
                                          struct ferry_bundle_writer **out,
                                          struct ferry_error **err);
/* Add a regular file member from memory (mode 0644, mtime 0, uid/gid 0). */
FERRY_API int ferry_bundle_writer_add(struct ferry_bundle_writer *w, const char *name,
                                      const void *data, size_t len, struct ferry_error **err);
/* Streamed member: begin with its exact size, write exactly that many bytes in
 * any number of calls, then end. Fewer or more bytes: FERRY_E_SIZE_MISMATCH. The
 * zstd frame is ended after each member, so members start at frame boundaries. */
FERRY_API int ferry_bundle_writer_begin(struct ferry_bundle_writer *w, const char *name,
                                        uint64_t size, struct ferry_error **err);
FERRY_API int ferry_bundle_writer_write(struct ferry_bundle_writer *w, const void *data, size_t len,
                                        struct ferry_error **err);
FERRY_API int ferry_bundle_writer_end(struct ferry_bundle_writer *w, struct ferry_error **err);
/* Finish tar and zstd, append the seek table, fsync, sign the whole file with sk
 * into `path`.minisig (minisign prehashed, trusted comment given or, when NULL,
 * minisign's default "timestamp:<t>\tfile:<basename>\thashed"), and rename both
 * into place (the .minisig first), then fsync the directory. sk NULL writes no
 * .minisig (unsigned bundle). After any failure the writer is in a failed state:
 * every call returns the first error. */
FERRY_API int ferry_bundle_writer_commit(struct ferry_bundle_writer *w,
                                         const struct ferry_seckey *sk, const char *trusted_comment,
                                         struct ferry_error **err);
/* Free; if not committed, remove the temporary file. NULL is a no-op. */
FERRY_API void ferry_bundle_writer_free(struct ferry_bundle_writer *w);
/* Compressed bytes produced so far (before commit this includes bytes still
 * queued for the writer thread) and members added. */
FERRY_API uint64_t ferry_bundle_writer_bytes(const struct ferry_bundle_writer *w);
FERRY_API uint64_t ferry_bundle_writer_members(const struct ferry_bundle_writer *w);

/* Reader: sequential access to the members of a bundle. Rejects, with
 * FERRY_E_BUNDLE naming the member: anything but regular files, absolute names,
 * "..", "." components, empty components, names longer than 512 bytes, sizes over
 * the remaining data; truncated or corrupt zstd is FERRY_E_BUNDLE too. */
struct ferry_bundle_reader;
FERRY_API int ferry_bundle_reader_open(const char *path, struct ferry_bundle_reader **out,
                                       struct ferry_error **err);
/* Same over a bundle in memory; data must outlive the reader (fuzzing, tests). */
/* A bundle arriving on a descriptor (a pipe, stdin): read once, front to
 * back, each frame checked as it comes (a zstd frame with a content
 * checksum, within the window cap, its compressed size in proportion) and
 * the seek table that ends the stream compared with the frames met; nothing
 * may follow it. The descriptor is duplicated. Until
 * ferry_bundle_reader_limit bounds it by the signed statement, a stream is
 * bounded by the caps of what is read from it (the statement's). Its index
 * cannot open readers at offsets (FERRY_E_UNSUPPORTED). */
FERRY_API int ferry_bundle_reader_open_stream(int fd, int tee_fd, const char *what,
                                              struct ferry_bundle_reader **out,
                                              struct ferry_error **err);
/* tee_fd (>= 0): every byte read from the stream is also written there, so
 * the stream can be read again from that file once it has checked (a
 * spool); -1 for none. The caller keeps tee_fd. */
/* The index (seek table) of an open bundle file; takes fd over. */
struct ferry_bundle_index;
FERRY_API int ferry_bundle_index_open_fd(int fd, const char *what, struct ferry_bundle_index **out,
                                         struct ferry_error **err);
FERRY_API int ferry_bundle_reader_open_memory(const void *data, size_t len,
                                              struct ferry_bundle_reader **out,
                                              struct ferry_error **err);
/* Start reading at coffset, which must be the frame offset of a member as
 * given by ferry_bundle_reader_member_offset: the next ferry_bundle_reader_next
 * returns that member. Lets an importer read members in parallel, one reader
 * per member, after a first sequential pass. FERRY_E_INVALID if coffset is not
 * a frame boundary. */
FERRY_API int ferry_bundle_reader_open_at(const char *path, uint64_t coffset,
                                          struct ferry_bundle_reader **out,
                                          struct ferry_error **err);
/* The open file and parsed seek table of r, as a new reference (free with
 * ferry_bundle_index_free), NULL if r is not a reader. Readers opened from it
 * read the same open file, at member offsets, without parsing the seek table
 * again; an index is read-only and may be used from several threads. */
struct ferry_bundle_index;
FERRY_API struct ferry_bundle_index *ferry_bundle_reader_index(struct ferry_bundle_reader *r);
/* As ferry_bundle_reader_open_at, over an index. */
FERRY_API int ferry_bundle_reader_open_index(struct ferry_bundle_index *ix, uint64_t coffset,
                                             struct ferry_bundle_reader **out,
                                             struct ferry_error **err);
FERRY_API void ferry_bundle_index_free(struct ferry_bundle_index *ix);
/* Advance to the next member: 1 and *name, *size set (valid until the next call),
 * 0 at the end of the archive, negative on error. Unread data is skipped. */
FERRY_API int ferry_bundle_reader_next(struct ferry_bundle_reader *r, const char **name,
                                       uint64_t *size, struct ferry_error **err);
/* Read up to len bytes of the current member; returns bytes read, 0 at its end. */
FERRY_API int64_t ferry_bundle_reader_read(struct ferry_bundle_reader *r, void *buf, size_t len,
                                           struct ferry_error **err);
/* Bound the reader's work by what a signed statement allows: FERRY_E_BUNDLE
 * if the seek table lists more than max_tar_bytes of tar stream or more than
 * max_frames frames. The reader never decompresses more than the seek table
 * lists (every frame is held to its entry), so after this it never does more
 * than the statement allows. */
FERRY_API int ferry_bundle_reader_limit(struct ferry_bundle_reader *r, uint64_t max_tar_bytes,
                                        uint64_t max_frames, struct ferry_error **err);
/* The most frames a member of this size takes in a bundle written by ferry. */
FERRY_API uint64_t ferry_bundle_member_frame_bound(uint64_t size);
/* The most tar stream a member of this name length and size takes in a
 * bundle: its header, a pax extended header, the data padded to 512 bytes.
 * A bundle's stream is at most the sum over its members plus
 * FERRY_BUNDLE_TAR_END. UINT64_MAX for sizes that cannot be. */
FERRY_API uint64_t ferry_bundle_member_tar_bound(size_t name_len, uint64_t size);
#define FERRY_BUNDLE_TAR_END 1024u /* the two zero blocks that end a tar archive */
/* Offset in the file of the zstd frame the current member starts in (its tar
 * header is the first byte of that frame); for ferry_bundle_reader_open_at. */
FERRY_API uint64_t ferry_bundle_reader_member_offset(const struct ferry_bundle_reader *r);
FERRY_API void ferry_bundle_reader_free(struct ferry_bundle_reader *r);

/* Seek table: one entry per zstd frame. */
struct ferry_seek_entry {
    uint64_t coffset; /* offset of the frame in the file */
    uint32_t csize;
    uint32_t dsize;
};
/* Read the seek table at the end of a bundle file. *out is an array (ferry_free).
 * FERRY_E_BUNDLE if there is none or it is inconsistent with the file size. */
FERRY_API int ferry_bundle_seek_table(const char *path, struct ferry_seek_entry **out, size_t *n,
                                      struct ferry_error **err);

/* Check `path`.minisig against the whole file at path with the trusted keys
 * (ferry_verify_stream; one pass over the file in 64 KiB blocks). On success
 * *trusted_comment (if not NULL) receives a copy (ferry_free). Errors:
 * FERRY_E_NOT_FOUND/FERRY_E_IO for the files, FERRY_E_SIGNATURE,
 * FERRY_E_UNTRUSTED_KEY. */
struct ferry_pubkey;
FERRY_API int ferry_bundle_verify_signature(const char *path, struct ferry_pubkey *const *keys,
                                            size_t nkeys, char **trusted_comment,
                                            struct ferry_error **err);
/* The same over the file an index holds open (what its readers read, even if
 * path names another file by now); the signature is path.minisig. Safe to run
 * beside readers of the index. */
FERRY_API int ferry_bundle_index_verify_signature(const struct ferry_bundle_index *ix,
                                                  const char *path,
                                                  struct ferry_pubkey *const *keys, size_t nkeys,
                                                  char **trusted_comment, struct ferry_error **err);

/* Who vouches for a bundle: the key that signed its statement, and the
 * statement's own digest (sha256 of ferry.json), which names the bundle in
 * receipts, tag records and the bases of delta bundles. */
struct ferry_bundle_id {
    char key_id[17];      /* "" when read without keys */
    char statement[72];   /* "sha256:<hex>" */
    size_t statement_len; /* bytes of ferry.json */
};
/* Open the bundle at path ("-": a stream on stdin) and read its first two
 * members: ferry.json (the statement, parsed) and ferry.json.minisig. With keys, the signature must
 * verify with one of them, and the reader's work from here on is bounded by
 * what the signed statement lists (ferry_bundle_reader_limit); without keys
 * (listing only) the statement is read under FERRY_MAX_UNSIGNED_STATEMENT.
 * *rd (if rd is not NULL) is left at the third member. Errors name path. */
struct ferry_statement;
/* The same on a stream (see ferry_bundle_reader_open_stream, tee_fd
 * included); what names it in messages. */
FERRY_API int ferry_bundle_open_statement_stream(int fd, int tee_fd, const char *what,
                                                 struct ferry_pubkey *const *keys, size_t nkeys,
                                                 struct ferry_bundle_reader **rd,
                                                 struct ferry_statement **st,
                                                 struct ferry_bundle_id *id,
                                                 struct ferry_error **err);
/* The most a bundle file with statement st (of stmt_len bytes) can take on
 * disk: its tar stream, a frame's overhead per frame, the seek table and a
 * signature. For checking free space before work. */
FERRY_API uint64_t ferry_bundle_file_bound(const struct ferry_statement *st, size_t stmt_len);
/* One member's share of that bound: the sum over a file's members, plus
 * FERRY_BUNDLE_TAR_END and a signature, is at least the file's bound. For
 * cutting a bundle into volumes before anything is downloaded. */
FERRY_API uint64_t ferry_bundle_member_file_bound(size_t name_len, uint64_t size);
FERRY_API int ferry_bundle_open_statement(const char *path, struct ferry_pubkey *const *keys,
                                          size_t nkeys, struct ferry_bundle_reader **rd,
                                          struct ferry_statement **st, struct ferry_bundle_id *id,
                                          struct ferry_error **err);

#endif
