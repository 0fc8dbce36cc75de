/* ferry: XXH64, the checksum zstd puts at the end of a frame (its low 32 bits),
 * for the stored frames the bundle writer builds itself. Streaming only; the
 * algorithm is Yann Collet's (github.com/Cyan4973/xxHash, doc/xxhash_spec.md).
 * Not a public header. */
#ifndef FERRY_XXH64_H
#define FERRY_XXH64_H

#include <stddef.h>
#include <stdint.h>

struct ferry_xxh64 {
    uint64_t v[4];
    uint64_t total;
    unsigned char mem[32];
    size_t memsize;
    uint64_t seed;
};

void ferry_xxh64_init(struct ferry_xxh64 *s, uint64_t seed);
void ferry_xxh64_update(struct ferry_xxh64 *s, const void *data, size_t len);
uint64_t ferry_xxh64_digest(const struct ferry_xxh64 *s);

#endif
