/* ferry: small string helpers every module shares. */
#include "ferry/util.h"

void
ferry_strv_free(char **v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        ferry_free(v[i]);
    ferry_free(v);
}
