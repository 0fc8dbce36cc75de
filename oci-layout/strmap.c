/* ferry: a string map with owned keys and borrowed values: open addressing,
 * FNV-1a, linear probing. */
#include <string.h>

#include "ferry/util.h"

struct ferry_strmap {
    char **keys;
    void **values;
    size_t cap; /* power of two */
    size_t count;
};

static size_t
hash_str(const char *s)
{
    size_t h = 1469598103934665603ull; /* FNV-1a */
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ull;
    }
    return h;
}

struct ferry_strmap *
ferry_strmap_new(void)
{
    struct ferry_strmap *m = ferry_calloc(1, sizeof *m);

    if (m == NULL)
        return NULL;
    m->cap = 64;
    m->keys = ferry_calloc(m->cap, sizeof *m->keys);
    m->values = ferry_calloc(m->cap, sizeof *m->values);
    if (m->keys == NULL || m->values == NULL) {
        ferry_free(m->keys);
        ferry_free(m->values);
        ferry_free(m);
        return NULL;
    }
    return m;
}

void
ferry_strmap_free(struct ferry_strmap *m)
{
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < m->cap; i++)
        ferry_free(m->keys[i]);
    ferry_free(m->keys);
    ferry_free(m->values);
    ferry_free(m);
}

static size_t
slot_of(char *const *keys, size_t cap, const char *key)
{
    size_t i = hash_str(key) & (cap - 1);
    while (keys[i] != NULL && strcmp(keys[i], key) != 0)
        i = (i + 1) & (cap - 1);
    return i;
}

static int
grow(struct ferry_strmap *m)
{
    size_t ncap = m->cap * 2, i;
    char **nk = ferry_calloc(ncap, sizeof *nk);
    void **nv = ferry_calloc(ncap, sizeof *nv);

    if (nk == NULL || nv == NULL) {
        ferry_free(nk);
        ferry_free(nv);
        return -1;
    }
    for (i = 0; i < m->cap; i++) {
        if (m->keys[i] != NULL) {
            size_t s = slot_of(nk, ncap, m->keys[i]);
            nk[s] = m->keys[i];
            nv[s] = m->values[i];
        }
    }
    ferry_free(m->keys);
    ferry_free(m->values);
    m->keys = nk;
    m->values = nv;
    m->cap = ncap;
    return 0;
}

int
ferry_strmap_put(struct ferry_strmap *m, const char *key, void *value)
{
    size_t s;

    if ((m->count + 1) * 2 > m->cap && grow(m) < 0)
        return -FERRY_E_NOMEM;
    s = slot_of(m->keys, m->cap, key);
    if (m->keys[s] != NULL)
        return 0;
    m->keys[s] = ferry_strdup(key);
    if (m->keys[s] == NULL)
        return -FERRY_E_NOMEM;
    m->values[s] = value;
    m->count++;
    return 1;
}

void *
ferry_strmap_get(const struct ferry_strmap *m, const char *key)
{
    size_t s = slot_of(m->keys, m->cap, key);
    return m->keys[s] ? m->values[s] : NULL;
}

size_t
ferry_strmap_count(const struct ferry_strmap *m)
{
    return m->count;
}
