/* ferry: allocation, growable buffers with caps, logging and progress hooks. */
#ifndef FERRY_UTIL_H
#define FERRY_UTIL_H

#include "common.h"
#include "error.h"

/* All allocation goes through these (curl: curlx_malloc). The counters behind
 * them let the unit tests pin the high-water mark and fail the Nth
 * allocation (oci-layout/util_int.h). Thread-safe. */
FERRY_API void *ferry_malloc(size_t n);
FERRY_API void *ferry_calloc(size_t n, size_t size);
FERRY_API void *ferry_realloc(void *p, size_t n);
FERRY_API char *ferry_strdup(const char *s);
FERRY_API char *ferry_strndup(const char *s, size_t n);
FERRY_API void ferry_free(void *p);
/* printf into a new string; caller frees with ferry_free. NULL on failure. */
FERRY_API char *ferry_asprintf(const char *fmt, ...) FERRY_PRINTF(1, 2);
#define ferry_safefree(p)                                                                          \
    do {                                                                                           \
        ferry_free(p);                                                                             \
        (p) = NULL;                                                                                \
    } while (0)

/* Growable byte buffer with a hard cap (curl: dynbuf). Always NUL-terminated
 * after a successful append so text can be read as a C string. */
struct ferry_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* going over is FERRY_E_TOO_LARGE */
};
FERRY_API void ferry_buf_init(struct ferry_buf *b, size_t max);
FERRY_API int ferry_buf_append(struct ferry_buf *b, const void *data, size_t len,
                               struct ferry_error **err);
FERRY_API int ferry_buf_appendf(struct ferry_buf *b, struct ferry_error **err, const char *fmt, ...)
    FERRY_PRINTF(3, 4);
FERRY_API void ferry_buf_reset(struct ferry_buf *b);
/* Take ownership of the data (free with ferry_free); buffer becomes empty. */
FERRY_API char *ferry_buf_take(struct ferry_buf *b, size_t *len);
FERRY_API void ferry_buf_free(struct ferry_buf *b);

/* String map with owned keys and borrowed values (open addressing). Not
 * thread-safe; NULL from _new when out of memory; _free(NULL) is a no-op. */
struct ferry_strmap;
FERRY_API struct ferry_strmap *ferry_strmap_new(void);
FERRY_API void ferry_strmap_free(struct ferry_strmap *m);
/* 1 if inserted, 0 if the key existed (value untouched), negative on OOM. */
FERRY_API int ferry_strmap_put(struct ferry_strmap *m, const char *key, void *value);
FERRY_API void *ferry_strmap_get(const struct ferry_strmap *m, const char *key);
FERRY_API size_t ferry_strmap_count(const struct ferry_strmap *m);

/* Open path read-only if it is a regular file, without blocking on a FIFO
 * (it is opened with O_NONBLOCK, checked with fstat, then set blocking again).
 * A FIFO, device, socket or directory is refused with FERRY_E_IO naming what
 * it is; `what` (may be NULL) is put before the path in messages ("secret key
 * PATH: ..."). *fd is the open descriptor; *size (if not NULL) its size. */
FERRY_API int ferry_open_regular(const char *path, const char *what, int *fd, uint64_t *size,
                                 struct ferry_error **err);

/* "libarchive 3.6.2, libzstd 1.5.4, jansson 2.14, libsodium 1.0.18, OpenSSL
 * 3.0.x ...": the core's libraries as loaded. Static storage. */
FERRY_API const char *ferry_core_versions(void);

/* Sleep ms milliseconds, again after EINTR. */
FERRY_API void ferry_sleep_ms(long ms);
/* The monotonic clock, for durations: in milliseconds, and in seconds with
 * its full resolution. */
FERRY_API long ferry_monotonic_ms(void);
FERRY_API double ferry_monotonic_s(void);

/* Write all of data to fd, again after EINTR and short writes: 0, or -1 with
 * write(2)'s errno. */
FERRY_API int ferry_write_all(int fd, const void *data, size_t len);

/* Read a whole regular file into b (cap b->max, FERRY_E_TOO_LARGE past it);
 * anything else is refused as ferry_open_regular does. */
FERRY_API int ferry_read_file(const char *path, struct ferry_buf *b, struct ferry_error **err);

/* Logging: the library never prints; it calls the installed handler. The
 * handler may be called from the library's own threads (export's prefetch and
 * download threads, import's push workers, the bundle writer's threads), and
 * from several at once: it must be thread-safe. Install it before any other
 * call, from one thread. */
enum ferry_log_level {
    FERRY_LOG_ERROR = 0,
    FERRY_LOG_WARN = 1,
    FERRY_LOG_INFO = 2,
    FERRY_LOG_DEBUG = 3
};
typedef void (*ferry_log_fn)(enum ferry_log_level level, const char *msg, void *ud);
FERRY_API void ferry_log_set_handler(ferry_log_fn fn, void *ud);
FERRY_API void ferry_log(enum ferry_log_level level, const char *fmt, ...) FERRY_PRINTF(2, 3);

/* Progress: called with the phase name, the object and byte counts. Like the
 * log handler it may be called from the library's own threads, several at
 * once (each download thread reports its blob), so it must be thread-safe. */
typedef void (*ferry_progress_fn)(const char *phase, const char *object, uint64_t done,
                                  uint64_t total, void *ud);
FERRY_API void ferry_progress_set_handler(ferry_progress_fn fn, void *ud);
FERRY_API void ferry_progress(const char *phase, const char *object, uint64_t done, uint64_t total);

/* ---- shared helpers (oci-layout/strings.c) -------------------------------- */

/* Write s[0..len) into dst for a message, so untrusted text (a tag, a path,
 * a YAML scalar) cannot forge lines or terminal escapes: printable ASCII as
 * is, '"' and '\\' escaped with a backslash, any other byte as \xHH. Text
 * that does not fit is cut and ends in "..." (give dstsz >= 8). dst is always
 * NUL-terminated when dstsz > 0. Returns dst. Thread-safe. */
FERRY_API const char *ferry_quote(char *dst, size_t dstsz, const char *s, size_t len);

/* Append s (ferry_malloc) to the vector *v of *n strings, which then owns it.
 * 0, or -FERRY_E_NOMEM with *v, *n and s unchanged (s still the caller's). */
FERRY_API int ferry_strv_push(char ***v, size_t *n, char *s);

/* Free the n strings of v (each from ferry_malloc) and v itself. NULL is a
 * no-op. */
FERRY_API void ferry_strv_free(char **v, size_t n);
/* Replace path with data: a temporary file beside it (mode 0644), written,
 * fsync'd and renamed over it, so readers see the old file or the new one. */
/* Bytes free to an unprivileged writer on the file system of fd (>= 0),
 * else of the directory a file at path would go to. For checking room
 * before work; errors name the directory (or `what` for an fd). */
FERRY_API int ferry_fs_free(const char *path, int fd, const char *what, uint64_t *avail,
                            struct ferry_error **err);
FERRY_API int ferry_write_file_atomic(const char *path, const void *data, size_t len,
                                      struct ferry_error **err);

/* RFC 3339 times as ferry writes them ("2026-12-04T10:00:00Z"). format:
 * buf of at least 21 bytes (32 for a time out of the calendar, written as
 * "N seconds"). parse: that form, with fractional seconds or a
 * numeric offset accepted; false if s is none. */
FERRY_API void ferry_time_format(int64_t t, char *buf, size_t n);
FERRY_API bool ferry_time_parse(const char *s, int64_t *out);
/* The same, with the fraction's nanoseconds (nsec may be NULL); the date
 * must exist (February 29 only in leap years). */
FERRY_API bool ferry_time_parse_ns(const char *s, int64_t *sec, int32_t *nsec);

/* Is the slash-separated path dir itself or below it ("a/b" is under "a",
 * "ab" is not)? */
FERRY_API bool ferry_path_under(const char *path, const char *dir);

/* ---- secrets (oci-layout/secret.c) -------------------------------------- */

/* Passwords, tokens, keys and files that may hold them live in sodium_malloc
 * memory: guard pages, kept out of swap and core dumps, filled with zeros
 * when freed (STYLE.md, "Who owns what"). Thread-safe. */

/* n + 1 zeroed bytes of secret memory (so n bytes of text stay
 * NUL-terminated), or NULL when out of memory or libsodium cannot start.
 * Free with ferry_secret_free. For text and bytes only: sodium_malloc puts
 * the end of a block against a guard page, so the start of n + 1 bytes is not
 * aligned for a struct (use sodium_malloc(sizeof *p) for those). */
FERRY_API void *ferry_secret_alloc(size_t n);
/* s[0..len) copied into secret memory and NUL-terminated, or NULL. Free with
 * ferry_secret_free. */
FERRY_API char *ferry_secret_dup(const char *s, size_t len);
/* Wipe and free secret memory from this API or sodium_malloc. NULL is a
 * no-op. */
FERRY_API void ferry_secret_free(void *p);

/* A growable buffer of secret memory with a hard cap. Growing copies into a
 * new block and wipes the old one, so no stale copy stays behind. Set it up
 * with ferry_secbuf_init; data is NULL until the first reserve or append, and
 * NUL-terminated after it. Callers may shorten len (keeping data[len] NUL). */
struct ferry_secbuf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* bytes of content allowed; going over is EFBIG */
};
FERRY_API void ferry_secbuf_init(struct ferry_secbuf *b, size_t max);
/* Make room for extra more bytes (allocating data even for 0). 0, or -1 with
 * errno EFBIG (len + extra over max) or ENOMEM; b is unchanged on failure. */
FERRY_API int ferry_secbuf_reserve(struct ferry_secbuf *b, size_t extra);
/* Append s[0..n). 0, or -1 with errno EFBIG or ENOMEM (b unchanged). */
FERRY_API int ferry_secbuf_append(struct ferry_secbuf *b, const void *s, size_t n);
/* Take the text (an empty one if nothing was appended) and its length; free
 * it with ferry_secret_free. The buffer becomes empty. NULL when out of
 * memory (b unchanged). */
FERRY_API char *ferry_secbuf_take(struct ferry_secbuf *b, size_t *len);
/* Wipe and free the data; b can be used again with the same max. */
FERRY_API void ferry_secbuf_free(struct ferry_secbuf *b);

/* Read fd to its end, appending to b; the bounce buffer on the stack is
 * wiped. 0, or -1 with errno: EFBIG (more than b->max bytes in all), ENOMEM,
 * or read(2)'s. What was read stays in b either way. */
FERRY_API int ferry_secret_read_fd(int fd, struct ferry_secbuf *b);
/* Open path and read it whole into b, as ferry_secret_read_fd; -1 with
 * open(2)'s errno when it cannot be opened. */
FERRY_API int ferry_secret_read_file(const char *path, struct ferry_secbuf *b);

#endif
