/* Core secret memory: allocation, the capped secret buffer and file reads
 * (oci-layout/secret.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "ferry/util.h"

static void
test_secret_alloc_dup(void **state)
{
    unsigned char *p;
    char *s;

    (void)state;
    p = ferry_secret_alloc(16);
    assert_non_null(p);
    for (size_t i = 0; i < 17; i++)
        assert_int_equal(p[i], 0);
    ferry_secret_free(p);
    s = ferry_secret_dup("pa\0ss", 5);
    assert_non_null(s);
    assert_memory_equal(s, "pa\0ss", 6);
    ferry_secret_free(s);
    s = ferry_secret_dup(NULL, 0);
    assert_non_null(s);
    assert_string_equal(s, "");
    ferry_secret_free(s);
    ferry_secret_free(NULL);
}

static void
test_secbuf_grow_and_cap(void **state)
{
    struct ferry_secbuf b;
    char block[300], *t;
    size_t len = 99;

    (void)state;
    memset(block, 'k', sizeof block);
    ferry_secbuf_init(&b, 1000);
    assert_null(b.data);
    assert_int_equal(ferry_secbuf_reserve(&b, 0), 0);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    for (int i = 0; i < 3; i++)
        assert_int_equal(ferry_secbuf_append(&b, block, sizeof block), 0);
    assert_int_equal(b.len, 900);
    assert_int_equal(b.data[900], '\0');
    assert_true(b.cap <= 1001);
    /* exactly max fits, one byte more does not and leaves b as it was */
    errno = 0;
    assert_int_equal(ferry_secbuf_append(&b, block, 101), -1);
    assert_int_equal(errno, EFBIG);
    assert_int_equal(b.len, 900);
    assert_int_equal(ferry_secbuf_append(&b, block, 100), 0);
    assert_int_equal(b.len, 1000);
    errno = 0;
    assert_int_equal(ferry_secbuf_reserve(&b, 1), -1);
    assert_int_equal(errno, EFBIG);
    assert_int_equal(ferry_secbuf_reserve(&b, (size_t)-1), -1);
    t = ferry_secbuf_take(&b, &len);
    assert_non_null(t);
    assert_int_equal(len, 1000);
    assert_int_equal(t[999], 'k');
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    ferry_secret_free(t);
    /* taking from an untouched buffer gives an empty text */
    t = ferry_secbuf_take(&b, &len);
    assert_non_null(t);
    assert_string_equal(t, "");
    assert_int_equal(len, 0);
    ferry_secret_free(t);
    ferry_secbuf_free(&b);
    ferry_secbuf_free(&b);
}

static char *
write_temp(const char *text, size_t len)
{
    char *path = strdup("/tmp/ferry-secret-XXXXXX");
    int fd;

    assert_non_null(path);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static void
test_secret_read_file(void **state)
{
    static const char text[] = "line one\nsecond\n";
    struct ferry_secbuf b;
    char *path = write_temp(text, sizeof text - 1);

    (void)state;
    ferry_secbuf_init(&b, sizeof text - 1);
    assert_int_equal(ferry_secret_read_file(path, &b), 0);
    assert_int_equal(b.len, sizeof text - 1);
    assert_string_equal(b.data, text);
    ferry_secbuf_free(&b);

    /* one byte under the file's size is too large */
    ferry_secbuf_init(&b, sizeof text - 2);
    errno = 0;
    assert_int_equal(ferry_secret_read_file(path, &b), -1);
    assert_int_equal(errno, EFBIG);
    ferry_secbuf_free(&b);

    unlink(path);
    ferry_secbuf_init(&b, 100);
    errno = 0;
    assert_int_equal(ferry_secret_read_file(path, &b), -1);
    assert_int_equal(errno, ENOENT);
    assert_null(b.data);
    ferry_secbuf_free(&b);
    free(path);
}

static void
test_secret_read_fd_appends(void **state)
{
    struct ferry_secbuf b;
    int p[2];

    (void)state;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "-tail", 5), 5);
    close(p[1]);
    ferry_secbuf_init(&b, 64);
    assert_int_equal(ferry_secbuf_append(&b, "head", 4), 0);
    assert_int_equal(ferry_secret_read_fd(p[0], &b), 0);
    close(p[0]);
    assert_string_equal(b.data, "head-tail");
    ferry_secbuf_free(&b);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_secret_alloc_dup),
    cmocka_unit_test(test_secbuf_grow_and_cap),
    cmocka_unit_test(test_secret_read_file),
    cmocka_unit_test(test_secret_read_fd_appends),
};

FERRY_UNIT_MAIN(tests)
