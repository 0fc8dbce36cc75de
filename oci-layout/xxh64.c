/* ferry: XXH64 (doc/xxhash_spec.md of github.com/Cyan4973/xxHash), streaming.
 * Written from the specification; zstd's frame checksum is its low 32 bits
 * with seed 0. Reads are little-endian and unaligned-safe (memcpy). */
#include <string.h>

#include "xxh64.h"

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

static inline uint64_t
rotl(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t
read64(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

static inline uint64_t
read32(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
}

static inline uint64_t
round64(uint64_t acc, uint64_t lane)
{
    acc += lane * P2;
    acc = rotl(acc, 31);
    return acc * P1;
}

static inline uint64_t
merge(uint64_t acc, uint64_t v)
{
    acc ^= round64(0, v);
    return acc * P1 + P4;
}

/* Consume 32-byte stripes; returns the bytes consumed. */
static size_t
stripes(uint64_t v[4], const unsigned char *p, size_t len)
{
    uint64_t a = v[0], b = v[1], c = v[2], d = v[3];
    size_t done = 0;

    while (len - done >= 32) {
        a = round64(a, read64(p + done));
        b = round64(b, read64(p + done + 8));
        c = round64(c, read64(p + done + 16));
        d = round64(d, read64(p + done + 24));
        done += 32;
    }
    v[0] = a;
    v[1] = b;
    v[2] = c;
    v[3] = d;
    return done;
}

void
ferry_xxh64_init(struct ferry_xxh64 *s, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->seed = seed;
    s->v[0] = seed + P1 + P2;
    s->v[1] = seed + P2;
    s->v[2] = seed;
    s->v[3] = seed - P1;
}

void
ferry_xxh64_update(struct ferry_xxh64 *s, const void *data, size_t len)
{
    const unsigned char *p = data;

    if (len == 0)
        return;
    s->total += len;
    if (s->memsize + len < 32) {
        memcpy(s->mem + s->memsize, p, len);
        s->memsize += len;
        return;
    }
    if (s->memsize > 0) {
        size_t k = 32 - s->memsize;
        memcpy(s->mem + s->memsize, p, k);
        (void)stripes(s->v, s->mem, 32);
        p += k;
        len -= k;
        s->memsize = 0;
    }
    {
        size_t done = stripes(s->v, p, len);
        memcpy(s->mem, p + done, len - done);
        s->memsize = len - done;
    }
}

uint64_t
ferry_xxh64_digest(const struct ferry_xxh64 *s)
{
    const unsigned char *p = s->mem;
    size_t left = s->memsize;
    uint64_t h;

    if (s->total >= 32) {
        h = rotl(s->v[0], 1) + rotl(s->v[1], 7) + rotl(s->v[2], 12) + rotl(s->v[3], 18);
        for (int i = 0; i < 4; i++)
            h = merge(h, s->v[i]);
    } else {
        h = s->seed + P5;
    }
    h += s->total;
    for (; left >= 8; p += 8, left -= 8) {
        h ^= round64(0, read64(p));
        h = rotl(h, 27) * P1 + P4;
    }
    if (left >= 4) {
        h ^= read32(p) * P1;
        h = rotl(h, 23) * P2 + P3;
        p += 4;
        left -= 4;
    }
    for (; left > 0; p++, left--) {
        h ^= *p * P5;
        h = rotl(h, 11) * P1;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}
