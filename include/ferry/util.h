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

/* Read a whole file into b (cap b->max). */
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

/* Progress: called with the phase name, the object and byte counts, always
 * on the thread that called into the library (export, verify and push report
 * from there while their own threads work). */
typedef void (*ferry_progress_fn)(const char *phase, const char *object, uint64_t done,
                                  uint64_t total, void *ud);
FERRY_API void ferry_progress_set_handler(ferry_progress_fn fn, void *ud);
FERRY_API void ferry_progress(const char *phase, const char *object, uint64_t done, uint64_t total);

#endif
