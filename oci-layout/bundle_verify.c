/* ferry: check the detached `<bundle>.minisig` against the whole bundle file. */
#include <errno.h>
#include <unistd.h>

#include "bundle_int.h"
#include "ferry/limits.h"
#include "ferry/sign.h"
#include "ferry/util.h"

/* Hash src whole (64 KiB at a time, by offset) and check path.minisig. */
static int
verify_src(const struct bundle_src *src, const char *path, struct ferry_pubkey *const *keys,
           size_t nkeys, char **trusted_comment, struct ferry_error **err)
{
    struct ferry_buf sig;
    struct ferry_signer *s = NULL;
    unsigned char *buf = NULL;
    char *sigpath = NULL;
    uint64_t off = 0;
    int r;

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
    while (off < src->size) {
        size_t n =
            src->size - off > FERRY_IO_BUFSIZE ? FERRY_IO_BUFSIZE : (size_t)(src->size - off);
        if ((r = bundle_src_pread(src, off, buf, n, err)) < 0)
            goto out;
        ferry_signer_update(s, buf, n);
        off += n;
    }
    r = ferry_verify_stream(keys, nkeys, sig.data, sig.len, s, sigpath, trusted_comment, NULL, err);
    if (r < 0)
        ferry_error_wrap(err, "verify %s", path);
out:
    ferry_signer_free(s);
    ferry_free(buf);
    ferry_free(sigpath);
    ferry_buf_free(&sig);
    return r;
}

int
ferry_bundle_verify_signature(const char *path, struct ferry_pubkey *const *keys, size_t nkeys,
                              char **trusted_comment, struct ferry_error **err)
{
    struct bundle_src src = {-1, NULL, 0, path};
    int r;

    if ((r = ferry_open_regular(path, "bundle", &src.fd, &src.size, err)) < 0)
        return r;
    r = verify_src(&src, path, keys, nkeys, trusted_comment, err);
    close(src.fd);
    return r;
}

int
ferry_bundle_index_verify_signature(const struct ferry_bundle_index *ix, const char *path,
                                    struct ferry_pubkey *const *keys, size_t nkeys,
                                    char **trusted_comment, struct ferry_error **err)
{
    if (ix == NULL)
        return ferry_error_new(err, FERRY_E_INTERNAL, "verify %s: no index", path);
    return verify_src(&ix->src, path, keys, nkeys, trusted_comment, err);
}
