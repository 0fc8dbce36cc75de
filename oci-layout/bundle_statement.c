/* ferry: the first two members of a bundle: the signed statement and its
 * signature, read and checked before anything else (docs/FORMAT.md 2-4). */
#include <string.h>
#include <unistd.h>

#include "ferry/bundle.h"
#include "ferry/digest.h"
#include "ferry/limits.h"
#include "ferry/statement.h"
#include "ferry/util.h"

/* Name the bundle file in an error unless the message already starts with it. */
static void
wrap_path(struct ferry_error **err, const char *path)
{
    if (err && *err && strncmp((*err)->msg, path, strlen(path)) != 0)
        ferry_error_wrap(err, "%s", path);
}

/* Read the current member whole into b (capped by b->max). */
static int
read_member(struct ferry_bundle_reader *rd, const char *name, struct ferry_buf *b,
            struct ferry_error **err)
{
    char chunk[16384];
    int64_t n;
    int r;

    for (;;) {
        n = ferry_bundle_reader_read(rd, chunk, sizeof chunk, err);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return 0;
        if ((r = ferry_buf_append(b, chunk, (size_t)n, err)) < 0)
            return ferry_error_wrap(err, "bundle member %s", name);
    }
}

/* A member over its cap is the bundle's fault (exit 1), not an error of ours. */
static int
member_too_large(struct ferry_error **err, int r, enum ferry_status code)
{
    if (r == -FERRY_E_TOO_LARGE)
        return ferry_error_recode(err, code);
    return r;
}

/* Tar stream and frames the statement's members (and the statement and
 * its signature, of these lengths) can take. */
static void
bounds(const struct ferry_statement *s, size_t stlen, size_t siglen, uint64_t *tar,
       uint64_t *frames)
{
    uint64_t bound = ferry_bundle_member_tar_bound(strlen(FERRY_STATEMENT_NAME), stlen) +
                     ferry_bundle_member_tar_bound(strlen(FERRY_STATEMENT_SIG_NAME), siglen) +
                     FERRY_BUNDLE_TAR_END;
    uint64_t n =
        ferry_bundle_member_frame_bound(stlen) + ferry_bundle_member_frame_bound(siglen) + 1;

    for (size_t i = 0; i < s->nmembers && bound != UINT64_MAX; i++) {
        const struct ferry_stmt_member *m = &s->members[i];
        uint64_t b;
        if (!ferry_stmt_member_here(s, m)) /* another volume's */
            continue;
        b = ferry_bundle_member_tar_bound(strlen(m->path), (uint64_t)m->size);
        bound = b > UINT64_MAX - bound ? UINT64_MAX : bound + b;
        n += ferry_bundle_member_frame_bound((uint64_t)m->size);
    }
    *tar = bound;
    *frames = n;
}

uint64_t
ferry_bundle_file_bound(const struct ferry_statement *s, size_t stmt_len)
{
    uint64_t tar, frames, extra;

    bounds(s, stmt_len, FERRY_MAX_SIGNATURE, &tar, &frames);
    /* zstd frame header and checksum, block headers (3 bytes per 128 KiB, as
     * stored frames and incompressible data take), a seek table entry */
    extra = tar / 32768 + frames * 32 + FERRY_MAX_SIGNATURE;
    return tar > UINT64_MAX - extra ? UINT64_MAX : tar + extra;
}

uint64_t
ferry_bundle_member_file_bound(size_t name_len, uint64_t size)
{
    /* what ferry_bundle_file_bound counts for one member, rounded up */
    uint64_t tar = ferry_bundle_member_tar_bound(name_len, size);
    uint64_t extra = tar / 32768 + 1 + ferry_bundle_member_frame_bound(size) * 32;

    return tar > UINT64_MAX - extra ? UINT64_MAX : tar + extra;
}

/* The first two members from rd (taken over: freed on failure). */
static int
read_statement(struct ferry_bundle_reader *rd, const char *path, struct ferry_pubkey *const *keys,
               size_t nkeys, struct ferry_bundle_reader **rdout, struct ferry_statement **stout,
               struct ferry_bundle_id *id, struct ferry_error **err)
{
    struct ferry_buf st, sig;
    const char *name;
    char safe[128];
    uint64_t size, bound, frames;
    size_t which = 0;
    int r;

    ferry_buf_init(&st, nkeys > 0 ? FERRY_MAX_STATEMENT : FERRY_MAX_UNSIGNED_STATEMENT);
    ferry_buf_init(&sig, FERRY_MAX_SIGNATURE);
    r = ferry_bundle_reader_next(rd, &name, &size, err);
    if (r == 0 || (r > 0 && strcmp(name, FERRY_STATEMENT_NAME) != 0)) {
        r = ferry_error_new(err, FERRY_E_BUNDLE, "first member is %s, not %s: not a ferry bundle",
                            r == 0 ? "missing" : ferry_quote(safe, sizeof safe, name, strlen(name)),
                            FERRY_STATEMENT_NAME);
        goto out;
    }
    if (r < 0)
        goto out;
    if ((r = read_member(rd, name, &st, err)) < 0) {
        r = member_too_large(err, r, FERRY_E_BUNDLE);
        if (r == -FERRY_E_BUNDLE && nkeys == 0)
            ferry_error_wrap(err, "unsigned %s is read up to %u bytes: give -p to list it",
                             FERRY_STATEMENT_NAME, FERRY_MAX_UNSIGNED_STATEMENT);
        goto out;
    }
    r = ferry_bundle_reader_next(rd, &name, &size, err);
    if (r == 0 || (r > 0 && strcmp(name, FERRY_STATEMENT_SIG_NAME) != 0)) {
        r = ferry_error_new(err, FERRY_E_SIGNATURE, "second member is %s, not %s",
                            r == 0 ? "missing" : ferry_quote(safe, sizeof safe, name, strlen(name)),
                            FERRY_STATEMENT_SIG_NAME);
        goto out;
    }
    if (r < 0)
        goto out;
    if ((r = read_member(rd, name, &sig, err)) < 0) {
        r = member_too_large(err, r, FERRY_E_SIGNATURE);
        goto out;
    }
    if (nkeys > 0) {
        r = ferry_verify_buffer(keys, nkeys, sig.data ? sig.data : "", sig.len,
                                st.data ? st.data : "", st.len, FERRY_STATEMENT_NAME, NULL, &which,
                                err);
        if (r < 0)
            goto out;
        if (id != NULL)
            ferry_pubkey_id(keys[which], id->key_id, sizeof id->key_id);
    }
    if ((r = ferry_statement_parse(st.data ? st.data : "", st.len, stout, err)) < 0)
        goto out;
    if (id != NULL) {
        struct ferry_digest d;
        ferry_digest_buffer(FERRY_DIGEST_SHA256, st.data ? st.data : "", st.len, &d);
        memcpy(id->statement, d.str, sizeof id->statement);
        id->statement_len = st.len;
    }
    /* Work from here on is bounded by the signed sizes: the seek table must
     * not list more tar stream than the statement's members take. */
    bounds(*stout, st.len, sig.len, &bound, &frames);
    if (nkeys > 0 && (r = ferry_bundle_reader_limit(rd, bound, frames, err)) < 0) {
        ferry_statement_free(*stout);
        *stout = NULL;
        goto out;
    }
    if (rdout != NULL) {
        *rdout = rd;
        rd = NULL;
    }
out:
    if (r < 0)
        wrap_path(err, path);
    ferry_bundle_reader_free(rd);
    ferry_buf_free(&st);
    ferry_buf_free(&sig);
    return r;
}

int
ferry_bundle_open_statement(const char *path, struct ferry_pubkey *const *keys, size_t nkeys,
                            struct ferry_bundle_reader **rdout, struct ferry_statement **stout,
                            struct ferry_bundle_id *id, struct ferry_error **err)
{
    struct ferry_bundle_reader *rd = NULL;
    int r;

    /* "-": the bundle arrives on stdin, read once front to back */
    r = strcmp(path, "-") == 0
            ? ferry_bundle_reader_open_stream(STDIN_FILENO, -1, "<stdin>", &rd, err)
            : ferry_bundle_reader_open(path, &rd, err);
    if (r < 0) {
        wrap_path(err, path);
        return r;
    }
    return read_statement(rd, path, keys, nkeys, rdout, stout, id, err);
}

int
ferry_bundle_open_statement_stream(int fd, int tee_fd, const char *what,
                                   struct ferry_pubkey *const *keys, size_t nkeys,
                                   struct ferry_bundle_reader **rdout,
                                   struct ferry_statement **stout, struct ferry_bundle_id *id,
                                   struct ferry_error **err)
{
    struct ferry_bundle_reader *rd = NULL;
    int r = ferry_bundle_reader_open_stream(fd, tee_fd, what, &rd, err);

    if (r < 0) {
        wrap_path(err, what);
        return r;
    }
    return read_statement(rd, what, keys, nkeys, rdout, stout, id, err);
}
