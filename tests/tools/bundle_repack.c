/* Test tool: write files from a directory into a bundle container with
 * ferry's own writer (frames per member, seek table), in the order given,
 * unsigned. Tamper tests use it to build well-formed bundles with a chosen
 * content, as an attacker with ferry's code could.
 *
 *   bundle_repack [-s SECKEY] OUT DIR MEMBER...
 *
 * With -s, DIR/ferry.json is first signed with the (unencrypted, -W) minisign
 * key SECKEY into DIR/ferry.json.minisig: hostile-bundle tests build bundles
 * that a trusted but careless or compromised exporter could have signed.
 */
#include <stdio.h>
#include <string.h>

#include "ferry/bundle.h"
#include "ferry/sign.h"
#include "ferry/util.h"

static int
sign_statement(const char *key, const char *dir, struct ferry_error **err)
{
    struct ferry_seckey *sk = NULL;
    struct ferry_buf b;
    char path[4096], *sig = NULL;
    FILE *f;
    int r;

    ferry_buf_init(&b, (size_t)1 << 31);
    snprintf(path, sizeof path, "%s/ferry.json", dir);
    r = ferry_seckey_load(key, NULL, NULL, &sk, err);
    if (r == 0)
        r = ferry_read_file(path, &b, err);
    if (r == 0)
        r = ferry_sign_buffer(sk, b.data ? b.data : "", b.len, NULL, NULL, &sig, err);
    if (r == 0) {
        snprintf(path, sizeof path, "%s/ferry.json.minisig", dir);
        f = fopen(path, "w");
        if (f == NULL || fputs(sig, f) < 0 || fclose(f) != 0)
            r = ferry_error_new(err, FERRY_E_IO, "write %s", path);
    }
    ferry_free(sig);
    ferry_buf_free(&b);
    ferry_seckey_free(sk);
    return r;
}

int
main(int argc, char **argv)
{
    struct ferry_bundle_writer *w = NULL;
    struct ferry_error *err = NULL;
    const char *key = NULL;
    int i, r = 0;

    if (argc > 2 && strcmp(argv[1], "-s") == 0) {
        key = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc < 4) {
        fprintf(stderr, "usage: bundle_repack [-s SECKEY] OUT DIR MEMBER...\n");
        return 64;
    }
    if (key != NULL && sign_statement(key, argv[2], &err) < 0)
        goto fail;
    if (ferry_bundle_writer_open(argv[1], NULL, &w, &err) < 0)
        goto fail;
    for (i = 3; i < argc; i++) {
        struct ferry_buf b;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[2], argv[i]);
        ferry_buf_init(&b, (size_t)1 << 31);
        r = ferry_read_file(path, &b, &err);
        if (r == 0)
            r = ferry_bundle_writer_add(w, argv[i], b.data ? b.data : "", b.len, &err);
        ferry_buf_free(&b);
        if (r < 0)
            goto fail;
    }
    if (ferry_bundle_writer_commit(w, NULL, NULL, &err) < 0)
        goto fail;
    ferry_bundle_writer_free(w);
    return 0;
fail:
    fprintf(stderr, "bundle_repack: %s\n", err ? err->msg : "failed");
    ferry_error_free(err);
    ferry_bundle_writer_free(w);
    return 2;
}
