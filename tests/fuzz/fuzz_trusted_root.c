/* Fuzz the trusted-root side of keyless verification: Sigstore
 * trusted_root.json, PEM CA chains, identity regexps, RFC 3339 times.
 *
 * Byte 0 picks the parser (bits 0-1; cmark: fuzz/cmark-fuzz.c):
 *   0  ferry_sig_root_load on the rest
 *   1  ferry_sig_root_add_ca_pem on the rest
 *   2  "<subject regexp>\n<issuer regexp>\n<name>": ferry_sig_identity_check,
 *      then both regexps matched against the name
 *   3  ferry_sig_time_parse on the rest (as a string)
 * Seeds: tests/fuzz/corpus/trusted_root/, made from tests/data/cosign-vectors/. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/limits.h"
#include "ferry/sigstore.h"
#include "ferry/util.h"
#include "sigstore_int.h"

/* The next '\n'-terminated field (ferry_malloc'd), or NULL at the end. */
static char *
field(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    char *s;

    if (nl == NULL)
        return NULL;
    s = ferry_strndup((const char *)*p, (size_t)(nl - *p));
    *p = nl + 1;
    return s;
}

static void
expect_error(int r, struct ferry_error *err)
{
    if (r == 0)
        return;
    if (err == NULL || err->msg[0] == '\0')
        abort();
    switch ((enum ferry_status)(-r)) {
    case FERRY_E_INVALID:
    case FERRY_E_TOO_LARGE:
    case FERRY_E_UNSUPPORTED:
    case FERRY_E_NOMEM:
    case FERRY_E_USAGE:
        break;
    default:
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ferry_sig_root *root = NULL;
    struct ferry_error *err = NULL;
    const uint8_t *p, *end = data + size;
    char *a = NULL, *b = NULL, *text = NULL;
    int r = 0;

    if (size < 1)
        return 0;
    p = data + 1;
    switch (data[0] & 3) {
    case 0:
        r = ferry_sig_root_load(p, (size_t)(end - p), &root, &err);
        expect_error(r, err);
        if (r == 0) {
            if (root == NULL || root->ncas > FERRY_SIGSTORE_MAX_CAS ||
                root->ntlogs > FERRY_SIGSTORE_MAX_ROOT_TLOGS)
                abort();
            for (size_t i = 0; i < root->ncas; i++)
                if (sk_X509_num(root->cas[i].anchors) != 1)
                    abort();
        } else if (root != NULL) {
            abort();
        }
        break;
    case 1:
        if (ferry_sig_root_new(&root, &err) < 0)
            break;
        r = ferry_sig_root_add_ca_pem(root, p, (size_t)(end - p), &err);
        expect_error(r, err);
        if ((r == 0) != (root->ncas == 1))
            abort();
        break;
    case 2: {
        struct ferry_sig_identity id = {0};
        if ((a = field(&p, end)) == NULL || (b = field(&p, end)) == NULL)
            break;
        id.subject_regexp = a;
        id.issuer_regexp = b;
        r = ferry_sig_identity_check(&id, &err);
        expect_error(r, err);
        if (r == 0) {
            ferry_error_clear(&err);
            r = ferry_sig_regexp_match(a, (const char *)p, (size_t)(end - p), &err);
            if (r < 0 && r != -FERRY_E_TOO_LARGE && r != -FERRY_E_NOMEM)
                abort();
            ferry_error_clear(&err);
            r = ferry_sig_regexp_match(b, (const char *)p, (size_t)(end - p), &err);
            if (r < 0 && r != -FERRY_E_TOO_LARGE && r != -FERRY_E_NOMEM)
                abort();
        }
        break;
    }
    case 3: {
        struct ferry_sig_time t;
        char buf[64];
        text = ferry_strndup((const char *)p, (size_t)(end - p));
        if (text != NULL && ferry_sig_time_parse(text, &t) == 0) {
            if (t.nsec < 0 || t.nsec > 999999999)
                abort();
            ferry_time_format(t.sec, buf, sizeof buf);
        }
        break;
    }
    }
    ferry_error_clear(&err);
    ferry_sig_root_free(root);
    ferry_free(a);
    ferry_free(b);
    ferry_free(text);
    return 0;
}
