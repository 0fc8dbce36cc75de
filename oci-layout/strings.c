/* ferry: small string helpers every module shares. */
#include <string.h>

#include "ferry/util.h"

const char *
ferry_quote(char *dst, size_t dstsz, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    if (dstsz == 0)
        return dst;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        char tmp[4];
        size_t tl = 0;
        if (ch == '"' || ch == '\\') {
            tmp[tl++] = '\\';
            tmp[tl++] = (char)ch;
        } else if (ch >= 0x20 && ch < 0x7f) {
            tmp[tl++] = (char)ch;
        } else {
            tmp[tl++] = '\\';
            tmp[tl++] = 'x';
            tmp[tl++] = hex[ch >> 4];
            tmp[tl++] = hex[ch & 15];
        }
        /* keep room for "..." and the NUL in case more follows */
        if (o + tl + 4 > dstsz) {
            if (dstsz >= 4) {
                while (o + 4 > dstsz)
                    o--;
                memcpy(dst + o, "...", 3);
                o += 3;
            }
            break;
        }
        memcpy(dst + o, tmp, tl);
        o += tl;
    }
    dst[o] = '\0';
    return dst;
}

int
ferry_strv_push(char ***v, size_t *n, char *s)
{
    char **nv = ferry_realloc(*v, (*n + 1) * sizeof *nv);

    if (nv == NULL)
        return -FERRY_E_NOMEM;
    nv[(*n)++] = s;
    *v = nv;
    return 0;
}

void
ferry_strv_free(char **v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        ferry_free(v[i]);
    ferry_free(v);
}

bool
ferry_path_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);

    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}
