/* Fuzz reg_token_parse, the bearer token response reader (token, access_token,
 * expires_in, issued_at, refresh_token).
 *
 * Checked: a failure has no header and a message that never quotes the body
 * (it holds the token); a success is "Bearer " plus visible ASCII, with a
 * lifetime clamped to [REG_TOKEN_MIN_LIFETIME, REG_TOKEN_MAX_LIFETIME]; parsing
 * is deterministic. Nothing here prints the input. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/util.h"
#include "registry_int.h"

#define WHAT "token request to https://auth.example/token for r.example"

static bool
known_error(const char *msg)
{
    static const char *const tails[] = {"response has no token", "token has invalid characters",
                                        "out of memory storing the token"};
    const char *t;
    int line, col, n = 0;

    if (strncmp(msg, WHAT ": ", strlen(WHAT ": ")) != 0)
        return false;
    t = msg + strlen(WHAT ": ");
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++)
        if (strcmp(t, tails[i]) == 0)
            return true;
    return sscanf(t, "invalid json at line %d column %d%n", &line, &col, &n) == 2 && t[n] == '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ferry_error *err = NULL;
    char *header = NULL, *header2 = NULL;
    long long exp = -1, exp2 = -1;
    int rc, rc2;

    rc = reg_token_parse((const char *)data, size, WHAT, &header, &exp, &err);
    if (rc < 0) {
        if (header != NULL || err == NULL || !known_error(err->msg))
            abort();
    } else {
        if (rc != 0 || err != NULL || header == NULL || strncmp(header, "Bearer ", 7) != 0 ||
            header[7] == '\0')
            abort();
        for (const char *p = header + 7; *p; p++)
            if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
                abort();
        if (exp < REG_TOKEN_MIN_LIFETIME || exp > REG_TOKEN_MAX_LIFETIME)
            abort();
    }
    ferry_error_clear(&err);
    rc2 = reg_token_parse((const char *)data, size, WHAT, &header2, &exp2, &err);
    if (rc2 != rc || (rc == 0 && (strcmp(header, header2) != 0 || exp != exp2)))
        abort();
    ferry_secret_free(header);
    ferry_secret_free(header2);
    ferry_error_free(err);
    return 0;
}
