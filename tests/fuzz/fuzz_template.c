/* Fuzz the Go-template subset of the sync config (export/template.c):
 * {{file "PATH"}}, {{env "NAME"}}, Go string literals, trimming, comments.
 *
 * The first byte picks the field: bit 0 a secret field, bit 1 a plain
 * scalar (which may read as null). The rest is the scalar's text.
 *
 * Checked: a failure leaves *out NULL and a one-line message at the
 * scalar's position; a success gives a string (NULL only for null) and the
 * same result twice. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/util.h"
#include "template_int.h"

#define NAME "fuzz.yaml"

static void
release(char *s, bool secret)
{
    if (secret)
        ferry_secret_free(s);
    else
        ferry_free(s);
}

static int
expand(struct ynode *n, bool secret, char **out, struct ferry_error **err)
{
    struct yctx c = {NAME, err, NULL, NULL};

    return template_expand(&c, n, secret ? "pass" : "source", secret, out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ferry_error *err = NULL;
    struct ynode n;
    char *out = NULL, *again = NULL;
    bool secret;
    int r;

    /* {{file}} reads what it names: keep the fuzzer off devices and pipes */
    if (size == 0 || fuzz_names_device(data, size))
        return 0;
    setenv("FERRY_FUZZ_T", " v a l ", 0);
    memset(&n, 0, sizeof n);
    secret = data[0] & 1;
    n.kind = Y_SCALAR;
    n.line = 3;
    n.col = 7;
    n.plain = (data[0] & 2) != 0;
    n.len = size - 1;
    if ((n.value = malloc(n.len + 1)) == NULL)
        return 0;
    memcpy(n.value, data + 1, n.len);
    n.value[n.len] = '\0';

    r = expand(&n, secret, &out, &err);
    if (r < 0) {
        if (out != NULL || err == NULL || strncmp(err->msg, NAME ":3:7: ", 13) != 0 ||
            strchr(err->msg, '\n') != NULL)
            abort();
    } else {
        if (out == NULL && !ytree_is_null(&n))
            abort();
        if (expand(&n, secret, &again, &err) != 0 || (out == NULL) != (again == NULL) ||
            (out != NULL && strcmp(out, again) != 0))
            abort();
    }
    release(out, secret);
    release(again, secret);
    ferry_error_free(err);
    free(n.value);
    return 0;
}
