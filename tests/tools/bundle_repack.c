/* Test tool: write files from a directory into a bundle container with
 * ferry's own writer (frames per member, seek table), in the order given,
 * unsigned. Tamper tests use it to build well-formed bundles with a chosen
 * content, as an attacker with ferry's code could.
 *
 *   bundle_repack OUT DIR MEMBER...
 */
#include <stdio.h>
#include <string.h>

#include "ferry/bundle.h"
#include "ferry/util.h"

int
main(int argc, char **argv)
{
    struct ferry_bundle_writer *w = NULL;
    struct ferry_error *err = NULL;
    int i, r = 0;

    if (argc < 4) {
        fprintf(stderr, "usage: bundle_repack OUT DIR MEMBER...\n");
        return 64;
    }
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
