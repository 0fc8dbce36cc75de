/* ferry: memory for secrets (passwords, tokens, keys, and files that may
 * hold them).
 *
 * Everything lives in sodium_malloc memory: guard pages around it, kept out
 * of swap and core dumps, filled with zeros when freed. A buffer that grows
 * copies into a new block and wipes the old one, so no stale copy of a secret
 * stays behind. The read functions report like read(2), -1 with errno,
 * because each caller words its own messages around the errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "ferry/util.h"

void *
ferry_secret_alloc(size_t n)
{
    char *p;

    if (sodium_init() < 0 || n == SIZE_MAX)
        return NULL;
    p = sodium_malloc(n + 1);
    if (p != NULL)
        memset(p, 0, n + 1);
    return p;
}

char *
ferry_secret_dup(const char *s, size_t len)
{
    char *p = ferry_secret_alloc(len);

    if (p != NULL && len > 0)
        memcpy(p, s, len);
    return p;
}

void
ferry_secret_free(void *p)
{
    sodium_free(p); /* fills the whole block with zeros first; NULL is a no-op */
}

/* ---- growable buffer ---------------------------------------------------- */

static void
wipe_free(char *p, size_t cap)
{
    if (p == NULL)
        return;
    sodium_memzero(p, cap);
    sodium_free(p);
}

void
ferry_secbuf_init(struct ferry_secbuf *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
}

int
ferry_secbuf_reserve(struct ferry_secbuf *b, size_t extra)
{
    size_t need, ncap;
    char *np;

    if (extra > b->max || b->len > b->max - extra) {
        errno = EFBIG;
        return -1;
    }
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    ncap = b->cap < 256 ? 256 : b->cap * 2;
    if (ncap < need)
        ncap = need;
    if (ncap > b->max + 1)
        ncap = b->max + 1;
    if ((np = ferry_secret_alloc(ncap - 1)) == NULL) {
        errno = ENOMEM;
        return -1;
    }
    if (b->len > 0)
        memcpy(np, b->data, b->len);
    wipe_free(b->data, b->cap);
    b->data = np;
    b->cap = ncap;
    return 0;
}

int
ferry_secbuf_append(struct ferry_secbuf *b, const void *s, size_t n)
{
    if (ferry_secbuf_reserve(b, n) < 0)
        return -1;
    if (n > 0)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

char *
ferry_secbuf_take(struct ferry_secbuf *b, size_t *len)
{
    char *p = b->data;

    if (p == NULL)
        p = ferry_secret_alloc(0);
    if (p != NULL && len != NULL)
        *len = b->len;
    if (p != NULL) {
        b->data = NULL;
        b->len = b->cap = 0;
    }
    return p;
}

void
ferry_secbuf_free(struct ferry_secbuf *b)
{
    wipe_free(b->data, b->cap);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ---- reading ------------------------------------------------------------ */

int
ferry_secret_read_fd(int fd, struct ferry_secbuf *b)
{
    char chunk[4096];
    ssize_t n;
    int rc = 0, saved;

    if (ferry_secbuf_reserve(b, 0) < 0)
        return -1;
    for (;;) {
        n = read(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        if (ferry_secbuf_append(b, chunk, (size_t)n) < 0) {
            rc = -1;
            break;
        }
    }
    saved = errno;
    sodium_memzero(chunk, sizeof chunk);
    errno = saved;
    return rc;
}

int
ferry_secret_read_file(const char *path, struct ferry_secbuf *b)
{
    int fd, rc, saved;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = ferry_secret_read_fd(fd, b);
    saved = errno;
    close(fd);
    errno = saved;
    return rc;
}
