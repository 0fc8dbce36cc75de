/* ferry: check the detached `<bundle>.minisig` against the whole bundle file. */
#include <errno.h>
#include <unistd.h>

#include "bundle_int.h"
#include "ferry/limits.h"
#include "ferry/sign.h"
#include "ferry/util.h"

int
ferry_bundle_verify_signature(const char *path, struct ferry_pubkey *const *keys, size_t nkeys,
                              char **trusted_comment, struct ferry_error **err)
{
    struct ferry_buf sig;
    struct ferry_signer *s = NULL;
    unsigned char *buf = NULL;
    char *sigpath = NULL;
    int fd = -1, r;

    ferry_buf_init(&sig, FERRY_MAX_SIGNATURE);
    sigpath = ferry_asprintf("%s.minisig", path);
    s = ferry_signer_new();
    buf = ferry_malloc(FERRY_IO_BUFSIZE);
    if (sigpath == NULL || s == NULL || buf == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    r = ferry_read_file(sigpath, &sig, err);
    if (r == -FERRY_E_TOO_LARGE) /* not a minisign signature: the medium's fault */
        r = ferry_error_recode(err, FERRY_E_SIGNATURE);
    if (r < 0)
        goto out;
    if ((r = ferry_open_regular(path, "bundle", &fd, NULL, err)) < 0)
        goto out;
    for (;;) {
        ssize_t n = read(fd, buf, FERRY_IO_BUFSIZE);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = ferry_error_sys(err, errno, "read %s", path);
            goto out;
        }
        if (n == 0)
            break;
        ferry_signer_update(s, buf, (size_t)n);
    }
    r = ferry_verify_stream(keys, nkeys, sig.data, sig.len, s, sigpath, trusted_comment, NULL, err);
    if (r < 0)
        ferry_error_wrap(err, "verify %s", path);
out:
    if (fd >= 0)
        close(fd);
    ferry_signer_free(s);
    ferry_free(buf);
    ferry_free(sigpath);
    ferry_buf_free(&sig);
    return r;
}
