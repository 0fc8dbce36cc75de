/* Fuzz ferry_auth_challenge_parse: a parse either fails with an error and no
 * output, or gives a lowercase scheme; parsing is deterministic. The first
 * byte picks whether the error summary parser also sees the input. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/registry.h"
#include "ferry/util.h"
#include "registry_int.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ferry_auth_challenge c = {0}, c2 = {0};
    struct ferry_error *err = NULL;
    char *s = ferry_strndup((const char *)data, size);
    int rc;

    if (s == NULL)
        return 0;
    rc = ferry_auth_challenge_parse(s, &c, &err);
    if (rc < 0) {
        if (err == NULL || c.scheme != NULL || strchr(err->msg, '\n') != NULL)
            abort();
    } else {
        if (err != NULL || c.scheme == NULL || c.scheme[0] == '\0')
            abort();
        for (const char *p = c.scheme; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                abort();
        if (ferry_auth_challenge_parse(s, &c2, &err) != rc || strcmp(c.scheme, c2.scheme) != 0)
            abort();
        if ((c.realm == NULL) != (c2.realm == NULL) ||
            (c.realm != NULL && strcmp(c.realm, c2.realm) != 0))
            abort();
        if (c.scope != NULL) {
            char *n = reg_scope_normalize(c.scope, NULL);
            if (n == NULL || !reg_scope_covers(n, c.scope))
                abort();
            ferry_free(n);
        }
    }
    if (size > 0 && (data[0] & 1)) {
        char *sum = reg_error_summary(s, strlen(s), NULL);
        if (sum == NULL || strlen(sum) > REG_ERROR_SUMMARY_MAX)
            abort();
        ferry_free(sum);
    }
    ferry_auth_challenge_clear(&c);
    ferry_auth_challenge_clear(&c2);
    ferry_error_free(err);
    ferry_free(s);
    return 0;
}
