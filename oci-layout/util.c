/* ferry: errors, allocation accounting, capped buffers, log and progress hooks. */
#include <errno.h>
#include <sys/statvfs.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ferry/error.h"
#include "ferry/limits.h"
#include "ferry/util.h"
#include "util_int.h"

/* ---- allocation ---------------------------------------------------------- */

/* Each block carries its size in front so the current total can be kept. The
 * header is 16 bytes to keep max_align_t alignment on x86_64 and aarch64. */
#define HDR 16

/* Atomic: the importer pushes from several threads. */
static _Atomic size_t alloc_current;
static _Atomic size_t alloc_peak;
static _Atomic unsigned long alloc_fail_countdown;

static int
alloc_should_fail(void)
{
    unsigned long n = atomic_load_explicit(&alloc_fail_countdown, memory_order_relaxed);

    while (n != 0) {
        if (atomic_compare_exchange_weak(&alloc_fail_countdown, &n, n - 1))
            return n == 1;
    }
    return 0;
}

static void
account(size_t add, size_t sub)
{
    size_t cur = atomic_fetch_add(&alloc_current, add) + add;
    size_t peak = atomic_load_explicit(&alloc_peak, memory_order_relaxed);

    cur -= sub;
    if (sub)
        atomic_fetch_sub(&alloc_current, sub);
    while (cur > peak && !atomic_compare_exchange_weak(&alloc_peak, &peak, cur))
        ;
}

void *
ferry_malloc(size_t n)
{
    unsigned char *p;

    if (alloc_should_fail() || n > SIZE_MAX - HDR)
        return NULL;
    p = malloc(n + HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &n, sizeof n);
    account(n, 0);
    return p + HDR;
}

void *
ferry_calloc(size_t n, size_t size)
{
    void *p;

    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    p = ferry_malloc(n * size);
    if (p != NULL)
        memset(p, 0, n * size);
    return p;
}

void *
ferry_realloc(void *ptr, size_t n)
{
    unsigned char *p, *q;
    size_t old;

    if (ptr == NULL)
        return ferry_malloc(n);
    if (alloc_should_fail() || n > SIZE_MAX - HDR)
        return NULL;
    p = (unsigned char *)ptr - HDR;
    memcpy(&old, p, sizeof old);
    q = realloc(p, n + HDR);
    if (q == NULL)
        return NULL;
    memcpy(q, &n, sizeof n);
    account(n, old);
    return q + HDR;
}

void
ferry_free(void *ptr)
{
    unsigned char *p;
    size_t n;

    if (ptr == NULL)
        return;
    p = (unsigned char *)ptr - HDR;
    memcpy(&n, p, sizeof n);
    atomic_fetch_sub(&alloc_current, n);
    free(p);
}

char *
ferry_strndup(const char *s, size_t n)
{
    char *p;

    if (s == NULL)
        return NULL;
    p = ferry_malloc(n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
ferry_strdup(const char *s)
{
    return s == NULL ? NULL : ferry_strndup(s, strlen(s));
}

static char *
vasprintf_alloc(const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    char *p;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    p = ferry_malloc((size_t)n + 1);
    if (p == NULL)
        return NULL;
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *
ferry_asprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;

    va_start(ap, fmt);
    p = vasprintf_alloc(fmt, ap);
    va_end(ap);
    return p;
}

size_t
ferry_alloc_current(void)
{
    return alloc_current;
}

size_t
ferry_alloc_peak(void)
{
    return alloc_peak;
}

void
ferry_alloc_fail_after(unsigned long n)
{
    alloc_fail_countdown = n;
}

/* ---- errors -------------------------------------------------------------- */

/* Returned when even the error could not be allocated. */
static struct ferry_error oom_error = {FERRY_E_NOMEM, 0, 0, (char *)"out of memory"};

static int
error_vnew(struct ferry_error **err, enum ferry_status code, int errnum, int http, const char *fmt,
           va_list ap)
{
    struct ferry_error *e;
    char *msg;

    if (err == NULL || *err != NULL)
        return -(int)code;
    msg = vasprintf_alloc(fmt, ap);
    if (msg != NULL && errnum != 0) {
        char *m2 = ferry_asprintf("%s: %s", msg, strerror(errnum));
        ferry_free(msg);
        msg = m2;
    }
    e = msg ? ferry_calloc(1, sizeof *e) : NULL;
    if (e == NULL) {
        ferry_free(msg);
        *err = &oom_error;
        return -(int)code;
    }
    e->code = code;
    e->sys_errno = errnum;
    e->http_status = http;
    e->msg = msg;
    *err = e;
    return -(int)code;
}

int
ferry_error_new(struct ferry_error **err, enum ferry_status code, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = error_vnew(err, code, 0, 0, fmt, ap);
    va_end(ap);
    return r;
}

int
ferry_error_sys(struct ferry_error **err, int errnum, const char *fmt, ...)
{
    va_list ap;
    int r;
    enum ferry_status code = errnum == ENOENT   ? FERRY_E_NOT_FOUND
                             : errnum == ENOMEM ? FERRY_E_NOMEM
                                                : FERRY_E_IO;

    va_start(ap, fmt);
    r = error_vnew(err, code, errnum, 0, fmt, ap);
    va_end(ap);
    return r;
}

int
ferry_error_http(struct ferry_error **err, enum ferry_status code, int http_status, const char *fmt,
                 ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = error_vnew(err, code, 0, http_status, fmt, ap);
    va_end(ap);
    return r;
}

int
ferry_error_wrap(struct ferry_error **err, const char *fmt, ...)
{
    va_list ap;
    char *prefix, *msg;

    if (err == NULL || *err == NULL)
        return -FERRY_E_INTERNAL;
    if (*err == &oom_error)
        return -FERRY_E_NOMEM;
    va_start(ap, fmt);
    prefix = vasprintf_alloc(fmt, ap);
    va_end(ap);
    if (prefix == NULL)
        return -(int)(*err)->code;
    msg = ferry_asprintf("%s: %s", prefix, (*err)->msg);
    ferry_free(prefix);
    if (msg != NULL) {
        ferry_free((*err)->msg);
        (*err)->msg = msg;
    }
    return -(int)(*err)->code;
}

int
ferry_error_recode(struct ferry_error **err, enum ferry_status code)
{
    /* the shared out-of-memory error keeps its code */
    if (err != NULL && *err != NULL && *err != &oom_error)
        (*err)->code = code;
    return -(int)code;
}

void
ferry_error_free(struct ferry_error *e)
{
    if (e == NULL || e == &oom_error)
        return;
    ferry_free(e->msg);
    ferry_free(e);
}

void
ferry_error_clear(struct ferry_error **err)
{
    if (err == NULL)
        return;
    ferry_error_free(*err);
    *err = NULL;
}

const char *
ferry_strerror(enum ferry_status code)
{
    switch (code) {
    case FERRY_OK:
        return "ok";
    case FERRY_E_NOMEM:
        return "out of memory";
    case FERRY_E_IO:
        return "input/output error";
    case FERRY_E_INVALID:
        return "invalid input";
    case FERRY_E_TOO_LARGE:
        return "too large";
    case FERRY_E_DIGEST_MISMATCH:
        return "digest mismatch";
    case FERRY_E_SIZE_MISMATCH:
        return "size mismatch";
    case FERRY_E_SIGNATURE:
        return "bad signature";
    case FERRY_E_UNTRUSTED_KEY:
        return "untrusted key";
    case FERRY_E_BUNDLE:
        return "malformed bundle";
    case FERRY_E_HTTP:
        return "unexpected http status";
    case FERRY_E_AUTH:
        return "authentication failed";
    case FERRY_E_NOT_FOUND:
        return "not found";
    case FERRY_E_NETWORK:
        return "network error";
    case FERRY_E_USAGE:
        return "usage error";
    case FERRY_E_UNSUPPORTED:
        return "unsupported";
    case FERRY_E_CRYPTO:
        return "cryptographic error";
    case FERRY_E_INTERNAL:
        return "internal error";
    case FERRY_E_REFUSED:
        return "refused";
    case FERRY_E_BASE_MISSING:
        return "base blobs missing";
    }
    return "unknown error";
}

/* ---- buffers ------------------------------------------------------------- */

void
ferry_buf_init(struct ferry_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

int
ferry_buf_append(struct ferry_buf *b, const void *data, size_t len, struct ferry_error **err)
{
    if (len > b->max || b->len > b->max - len)
        return ferry_error_new(err, FERRY_E_TOO_LARGE, "more than %zu bytes", b->max);
    if (b->len + len + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        char *p;
        while (ncap < b->len + len + 1)
            ncap *= 2;
        if (ncap > b->max + 1)
            ncap = b->max + 1;
        p = ferry_realloc(b->data, ncap);
        if (p == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM,
                                   "out of memory growing a buffer to %zu bytes", ncap);
        b->data = p;
        b->cap = ncap;
    }
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int
ferry_buf_appendf(struct ferry_buf *b, struct ferry_error **err, const char *fmt, ...)
{
    va_list ap;
    char *s;
    int r;

    va_start(ap, fmt);
    s = vasprintf_alloc(fmt, ap);
    va_end(ap);
    if (s == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory formatting text");
    r = ferry_buf_append(b, s, strlen(s), err);
    ferry_free(s);
    return r;
}

void
ferry_buf_reset(struct ferry_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *
ferry_buf_take(struct ferry_buf *b, size_t *len)
{
    char *p = b->data;

    if (p == NULL) {
        p = ferry_malloc(1);
        if (p)
            p[0] = '\0';
    }
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void
ferry_buf_free(struct ferry_buf *b)
{
    ferry_safefree(b->data);
    b->len = b->cap = 0;
}

static const char *
file_kind(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFIFO:
        return "a fifo";
    case S_IFCHR:
        return "a character device";
    case S_IFBLK:
        return "a block device";
    case S_IFSOCK:
        return "a socket";
    case S_IFDIR:
        return "a directory";
    default:
        return "of another kind";
    }
}

int
ferry_open_regular(const char *path, const char *what, int *fd, uint64_t *size,
                   struct ferry_error **err)
{
    const char *sp = what ? " " : "";
    struct stat st;
    int f, flags;

    if (what == NULL)
        what = "";
    /* O_NONBLOCK: opening a FIFO with no writer would block forever */
    f = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (f < 0)
        return ferry_error_sys(err, errno, "open %s%s%s", what, sp, path);
    if (fstat(f, &st) < 0) {
        int e = errno;
        close(f);
        return ferry_error_sys(err, e, "stat %s%s%s", what, sp, path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(f);
        return ferry_error_new(err, FERRY_E_IO, "%s%s%s: is %s, not a regular file", what, sp, path,
                               file_kind(st.st_mode));
    }
    flags = fcntl(f, F_GETFL);
    if (flags < 0 || fcntl(f, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        int e = errno;
        close(f);
        return ferry_error_sys(err, e, "fcntl %s%s%s", what, sp, path);
    }
    *fd = f;
    if (size != NULL)
        *size = (uint64_t)st.st_size;
    return 0;
}

void
ferry_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

long
ferry_monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double
ferry_monotonic_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
ferry_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
ferry_read_file(const char *path, struct ferry_buf *b, struct ferry_error **err)
{
    char chunk[8192];
    int fd, r = 0;
    ssize_t n;

    if ((r = ferry_open_regular(path, NULL, &fd, NULL, err)) < 0)
        return r;
    for (;;) {
        n = read(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = ferry_error_sys(err, errno, "read %s", path);
            break;
        }
        if (n == 0)
            break;
        r = ferry_buf_append(b, chunk, (size_t)n, err);
        if (r < 0) {
            ferry_error_wrap(err, "read %s", path);
            break;
        }
    }
    close(fd);
    return r;
}

/* ---- log and progress ---------------------------------------------------- */

static ferry_log_fn log_fn;
static void *log_ud;
static ferry_progress_fn progress_fn;
static void *progress_ud;

void
ferry_log_set_handler(ferry_log_fn fn, void *ud)
{
    log_fn = fn;
    log_ud = ud;
}

void
ferry_log(enum ferry_log_level level, const char *fmt, ...)
{
    va_list ap;
    char buf[1024];

    if (log_fn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_fn(level, buf, log_ud);
}

void
ferry_progress_set_handler(ferry_progress_fn fn, void *ud)
{
    progress_fn = fn;
    progress_ud = ud;
}

void
ferry_progress(const char *phase, const char *object, uint64_t done, uint64_t total)
{
    if (progress_fn != NULL)
        progress_fn(phase, object, done, total, progress_ud);
}

void
ferry_time_format(int64_t t, char *buf, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (n == 0)
        return;
    buf[0] = '\0';
    if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL ||
        strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, n, "%lld seconds", (long long)t); /* no calendar date */
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool
digits(const char *p, size_t n, int *out)
{
    int v = 0;

    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

bool
ferry_time_parse_ns(const char *s, int64_t *sec_out, int32_t *nsec_out)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, se, oh = 0, om = 0, leap;
    int32_t nsec = 0;
    int64_t off = 0;
    const char *p;

    if (s == NULL || strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &se))
        return false;
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 ||
        se > 60)
        return false;
    p = s + 19;
    if (*p == '.') { /* fractional seconds: nanoseconds kept, finer digits dropped */
        int nd = 0;
        if (p[1] < '0' || p[1] > '9')
            return false;
        for (p++; *p >= '0' && *p <= '9'; p++, nd++)
            if (nd < 9)
                nsec = nsec * 10 + (*p - '0');
        for (; nd < 9; nd++)
            nsec *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' && digits(p + 1, 2, &oh) &&
               digits(p + 4, 2, &om) && oh <= 23 && om <= 59) {
        off = (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return false;
    }
    if (*p != '\0')
        return false;
    *sec_out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
    if (nsec_out != NULL)
        *nsec_out = nsec;
    return true;
}

bool
ferry_time_parse(const char *s, int64_t *out)
{
    return ferry_time_parse_ns(s, out, NULL);
}

int
ferry_write_file_atomic(const char *path, const void *data, size_t len, struct ferry_error **err)
{
    char *tmp = ferry_asprintf("%s.ferry-XXXXXX", path);
    int fd = -1, r = 0;

    if (tmp == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    if ((fd = mkstemp(tmp)) < 0) {
        r = ferry_error_sys(err, errno, "create %s", tmp);
        ferry_free(tmp);
        return r;
    }
    if (fchmod(fd, 0644) < 0 || ferry_write_all(fd, data, len) < 0 || fsync(fd) < 0)
        r = ferry_error_sys(err, errno, "write %s", tmp);
    if (close(fd) < 0 && r == 0)
        r = ferry_error_sys(err, errno, "close %s", tmp);
    if (r == 0 && rename(tmp, path) < 0)
        r = ferry_error_sys(err, errno, "rename %s to %s", tmp, path);
    if (r < 0)
        unlink(tmp);
    ferry_free(tmp);
    return r;
}

int
ferry_fs_free(const char *path, int fd, const char *what, uint64_t *avail, struct ferry_error **err)
{
    struct statvfs sv;
    const char *slash;
    char *dir;
    int r;

    if (fd >= 0) {
        if (fstatvfs(fd, &sv) < 0)
            return ferry_error_sys(err, errno, "free space of %s", what ? what : "a file");
    } else {
        slash = strrchr(path, '/');
        dir = slash == NULL   ? ferry_strdup(".")
              : slash == path ? ferry_strdup("/")
                              : ferry_strndup(path, (size_t)(slash - path));
        if (dir == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        r = statvfs(dir, &sv);
        if (r < 0)
            r = ferry_error_sys(err, errno, "free space of %s", dir);
        ferry_free(dir);
        if (r < 0)
            return r;
    }
    *avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    return 0;
}
