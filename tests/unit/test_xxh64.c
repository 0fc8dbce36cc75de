/* XXH64: published vectors, streaming in odd pieces, and agreement with the
 * checksum libzstd writes at the end of a frame (low 32 bits, seed 0). */
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "unit.h"
#include "xxh64.h"

static uint64_t
xxh64(const void *p, size_t len, uint64_t seed)
{
    struct ferry_xxh64 s;

    ferry_xxh64_init(&s, seed);
    ferry_xxh64_update(&s, p, len);
    return ferry_xxh64_digest(&s);
}

/* Vectors from the xxHash reference (xxhsum, python-xxhash's README). */
static void
test_xxh64_vectors(void **state)
{
    static const char spam[] = "Nobody inspects the spammish repetition";

    (void)state;
    assert_true(xxh64("", 0, 0) == 0xEF46DB3751D8E999ull);
    assert_true(xxh64("a", 1, 0) == 0xD24EC4F1A98C6E5Bull);
    assert_true(xxh64("abc", 3, 0) == 0x44BC2CF5AD770999ull);
    assert_true(xxh64(spam, strlen(spam), 0) == 0xFBCEA83C8A378BF1ull);
}

/* Any split of the input gives the one-shot digest, across the 32-byte
 * stripe and the 8/4/1-byte tail paths. */
static void
test_xxh64_streaming(void **state)
{
    enum { N = 1000 };
    unsigned char buf[N];
    static const size_t pieces[] = {1, 3, 7, 31, 32, 33, 100};

    (void)state;
    ferry_test_fill(buf, N, 7);
    for (size_t len = 0; len <= N; len += len < 80 ? 1 : 97) {
        uint64_t want = xxh64(buf, len, 5);
        for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
            struct ferry_xxh64 s;
            size_t off = 0;
            ferry_xxh64_init(&s, 5);
            while (off < len) {
                size_t n = len - off < pieces[k] ? len - off : pieces[k];
                ferry_xxh64_update(&s, buf + off, n);
                off += n;
            }
            assert_true(ferry_xxh64_digest(&s) == want);
        }
    }
}

/* libzstd's frame checksum is our digest's low 32 bits, for lengths around
 * every boundary of the algorithm and a large block. */
static void
test_xxh64_matches_zstd(void **state)
{
    static const size_t lens[] = {0, 1, 3, 4, 7, 8, 31, 32, 33, 63, 64, 65, 1000, 131072, 300001};
    unsigned char *src = malloc(300001), *dst;
    size_t cap = ZSTD_compressBound(300001);
    ZSTD_CCtx *cctx = ZSTD_createCCtx();

    (void)state;
    dst = malloc(cap);
    assert_non_null(src);
    assert_non_null(dst);
    assert_non_null(cctx);
    ferry_test_fill(src, 300001, 11);
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)));
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t n = ZSTD_compress2(cctx, dst, cap, src, lens[i]);
        uint32_t sum;
        assert_false(ZSTD_isError(n));
        sum = (uint32_t)dst[n - 4] | (uint32_t)dst[n - 3] << 8 | (uint32_t)dst[n - 2] << 16 |
              (uint32_t)dst[n - 1] << 24;
        assert_int_equal(sum, (uint32_t)xxh64(src, lens[i], 0));
    }
    ZSTD_freeCCtx(cctx);
    free(dst);
    free(src);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_xxh64_vectors),
    cmocka_unit_test(test_xxh64_streaming),
    cmocka_unit_test(test_xxh64_matches_zstd),
};

FERRY_UNIT_MAIN(tests)
