/* ferry import: offline verification of a bundle. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ferry/bundle.h"
#include "ferry/digest.h"
#include "ferry/limits.h"
#include "ferry/util.h"
#include "import_int.h"

#define MAX_DEPTH 8

static void
vmanifest_free(struct vmanifest *vm)
{
    if (vm == NULL)
        return;
    ferry_free(vm->digest);
    ferry_free(vm->media_type);
    ferry_free(vm->data);
    ferry_manifest_free(vm->m);
    ferry_free(vm);
}

void
ferry_verified_free(struct ferry_verified *v)
{
    size_t i;

    if (v == NULL)
        return;
    for (i = 0; i < v->nmlist; i++)
        vmanifest_free(v->mlist[i]);
    ferry_free(v->mlist);
    ferry_strmap_free(v->manifests);
    ferry_strmap_free(v->members);
    ferry_strmap_free(v->offsets);
    ferry_statement_free(v->st);
    ferry_free(v);
}

const struct ferry_statement *
ferry_verified_statement(const struct ferry_verified *v)
{
    return v->st;
}

const char *
ferry_verified_key_id(const struct ferry_verified *v)
{
    return v->key_id;
}

bool
ferry_verified_detached(const struct ferry_verified *v)
{
    return v->detached;
}

uint64_t
ferry_verified_bytes(const struct ferry_verified *v)
{
    return v->bytes;
}

bool
ferry_verified_offset(const struct ferry_verified *v, const char *path, uint64_t *off)
{
    uintptr_t o = (uintptr_t)ferry_strmap_get(v->offsets, path);

    if (o == 0)
        return false;
    *off = (uint64_t)(o - 1);
    return true;
}

struct vmanifest *
ferry_verified_manifest(const struct ferry_verified *v, const char *digest)
{
    return ferry_strmap_get(v->manifests, digest);
}

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

/* A name from an unverified bundle, safe to print: control characters and
 * non-ASCII bytes become '?', at most n-1 bytes. */
static const char *
printable(const char *s, char *buf, size_t n)
{
    size_t i;

    for (i = 0; s[i] && i + 1 < n; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    buf[i] = '\0';
    return buf;
}

/* Open the bundle and read + check the statement (first two members). */
static int
open_statement(const char *path, struct ferry_pubkey *const *keys, size_t nkeys,
               struct ferry_bundle_reader **rdout, struct ferry_statement **stout, char *key_id,
               struct ferry_error **err)
{
    struct ferry_bundle_reader *rd = NULL;
    struct ferry_buf st, sig;
    const char *name;
    char safe[128];
    uint64_t size;
    size_t which = 0;
    int r;

    ferry_buf_init(&st, FERRY_MAX_STATEMENT);
    ferry_buf_init(&sig, FERRY_MAX_SIGNATURE);
    if ((r = ferry_bundle_reader_open(path, &rd, err)) < 0)
        goto out;
    r = ferry_bundle_reader_next(rd, &name, &size, err);
    if (r == 0 || (r > 0 && strcmp(name, FERRY_STATEMENT_NAME) != 0)) {
        r = ferry_error_new(err, FERRY_E_BUNDLE, "first member is %s, not %s: not a ferry bundle",
                            r == 0 ? "missing" : printable(name, safe, sizeof safe),
                            FERRY_STATEMENT_NAME);
        goto out;
    }
    if (r < 0)
        goto out;
    if ((r = read_member(rd, name, &st, err)) < 0)
        goto out;
    r = ferry_bundle_reader_next(rd, &name, &size, err);
    if (r == 0 || (r > 0 && strcmp(name, FERRY_STATEMENT_SIG_NAME) != 0)) {
        r = ferry_error_new(err, FERRY_E_SIGNATURE, "second member is %s, not %s",
                            r == 0 ? "missing" : printable(name, safe, sizeof safe),
                            FERRY_STATEMENT_SIG_NAME);
        goto out;
    }
    if (r < 0)
        goto out;
    if ((r = read_member(rd, name, &sig, err)) < 0)
        goto out;
    if (nkeys > 0) {
        r = ferry_verify_buffer(keys, nkeys, sig.data ? sig.data : "", sig.len,
                                st.data ? st.data : "", st.len, FERRY_STATEMENT_NAME, NULL, &which,
                                err);
        if (r < 0)
            goto out;
        if (key_id)
            ferry_pubkey_id(keys[which], key_id, 17);
    }
    if ((r = ferry_statement_parse(st.data ? st.data : "", st.len, stout, err)) < 0)
        goto out;
    *rdout = rd;
    rd = NULL;
out:
    if (r < 0)
        wrap_path(err, path);
    ferry_bundle_reader_free(rd);
    ferry_buf_free(&st);
    ferry_buf_free(&sig);
    return r;
}

int
ferry_import_read_statement(const char *path, struct ferry_pubkey *const *keys, size_t nkeys,
                            struct ferry_statement **out, struct ferry_error **err)
{
    struct ferry_bundle_reader *rd = NULL;
    int r = open_statement(path, keys, nkeys, &rd, out, NULL, err);

    ferry_bundle_reader_free(rd);
    return r;
}

static int
add_manifest(struct ferry_verified *v, const struct ferry_stmt_member *m, struct ferry_buf *b,
             struct ferry_error **err)
{
    struct vmanifest *vm, **nl;

    nl = ferry_realloc(v->mlist, (v->nmlist + 1) * sizeof *nl);
    if (nl == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    v->mlist = nl;
    vm = ferry_calloc(1, sizeof *vm);
    if (vm == NULL || (vm->digest = ferry_strdup(m->digest)) == NULL ||
        (vm->media_type = ferry_strdup(m->media_type)) == NULL) {
        vmanifest_free(vm);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    vm->data = ferry_buf_take(b, &vm->len);
    if (ferry_strmap_put(v->manifests, vm->digest, vm) < 0) {
        vmanifest_free(vm);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    v->mlist[v->nmlist++] = vm;
    return 0;
}

/* Stream one member: length guard + digest; keep manifests' bytes. */
static int
check_member(struct ferry_verified *v, struct ferry_bundle_reader *rd, const char *name,
             uint64_t size, struct ferry_buf *keep, struct ferry_error **err)
{
    const struct ferry_stmt_member *m = ferry_strmap_get(v->members, name);
    char safe[128];
    struct ferry_hasher *h = NULL;
    struct ferry_digest want, got;
    unsigned char *chunk = NULL;
    uint64_t total = 0;
    int64_t n;
    int r = 0;

    if (m == NULL)
        return ferry_error_new(err, FERRY_E_BUNDLE, "member %s is not listed in the signed %s",
                               printable(name, safe, sizeof safe), FERRY_STATEMENT_NAME);
    if (size != (uint64_t)m->size)
        return ferry_error_new(err, FERRY_E_SIZE_MISMATCH,
                               "member %s is %llu bytes, the signed statement says %lld", name,
                               (unsigned long long)size, (long long)m->size);
    if ((r = ferry_digest_parse(m->digest, &want, err)) < 0)
        return r;
    h = ferry_hasher_new(want.alg);
    chunk = ferry_malloc(FERRY_IO_BUFSIZE);
    if (h == NULL || chunk == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    for (;;) {
        n = ferry_bundle_reader_read(rd, chunk, FERRY_IO_BUFSIZE, err);
        if (n < 0) {
            r = (int)n;
            goto out;
        }
        if (n == 0)
            break;
        total += (uint64_t)n;
        ferry_hasher_update(h, chunk, (size_t)n);
        if (keep && (r = ferry_buf_append(keep, chunk, (size_t)n, err)) < 0) {
            ferry_error_wrap(err, "member %s", name);
            goto out;
        }
        ferry_progress("verify", name, total, size);
    }
    if (total != size) {
        r = ferry_error_new(err, FERRY_E_SIZE_MISMATCH, "member %s: read %llu of %llu bytes", name,
                            (unsigned long long)total, (unsigned long long)size);
        goto out;
    }
    ferry_hasher_final(h, &got);
    if (strcmp(got.str, want.str) != 0)
        r = ferry_error_new(err, FERRY_E_DIGEST_MISMATCH,
                            "member %s has digest %s, the signed statement says %s", name, got.str,
                            want.str);
    v->bytes += total;
out:
    ferry_hasher_free(h);
    ferry_free(chunk);
    return r;
}

static bool
keep_in_memory(const struct ferry_stmt_member *m)
{
    return m->size <= (int64_t)FERRY_MAX_MANIFEST && (ferry_media_type_is_index(m->media_type) ||
                                                      ferry_media_type_is_manifest(m->media_type));
}

static int
need_member(const struct ferry_verified *v, const struct ferry_descriptor *d, const char *from,
            struct ferry_error **err)
{
    const struct ferry_stmt_member *m;
    char *p = ferry_blob_path(d->digest);
    int r = 0;

    if (p == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    m = ferry_strmap_get(v->members, p);
    if (m == NULL)
        r = ferry_error_new(err, FERRY_E_BUNDLE, "%s references %s, which is not in the bundle",
                            from, d->digest);
    else if (m->size != d->size)
        r = ferry_error_new(err, FERRY_E_SIZE_MISMATCH,
                            "%s references %s with size %lld, the bundle has %lld bytes", from,
                            d->digest, (long long)d->size, (long long)m->size);
    ferry_free(p);
    return r;
}

/* Parse a manifest (once) and check everything it references is in the bundle. */
static int
check_graph(struct ferry_verified *v, const struct ferry_descriptor *d, const char *from, int depth,
            struct ferry_error **err)
{
    struct vmanifest *vm;
    size_t i;
    int r;

    if ((r = need_member(v, d, from, err)) < 0)
        return r;
    if (!ferry_media_type_is_index(d->media_type) && !ferry_media_type_is_manifest(d->media_type))
        return 0;
    if (depth > MAX_DEPTH)
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: indexes nested more than %d deep",
                               d->digest, MAX_DEPTH);
    vm = ferry_strmap_get(v->manifests, d->digest);
    if (vm == NULL)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "%s is referenced as %s but not declared as a manifest", d->digest,
                               d->media_type);
    if (vm->m == NULL &&
        (r = ferry_manifest_parse(vm->data, vm->len, d->media_type, vm->digest, &vm->m, err)) < 0)
        return r;
    if (vm->m->kind == FERRY_KIND_INDEX) {
        for (i = 0; i < vm->m->nmanifests; i++)
            if ((r = check_graph(v, &vm->m->manifests[i], vm->digest, depth + 1, err)) < 0)
                return ferry_error_wrap(err, "index %s", vm->digest);
        return 0;
    }
    if ((r = need_member(v, &vm->m->config, vm->digest, err)) < 0)
        return r;
    for (i = 0; i < vm->m->nlayers; i++)
        if ((r = need_member(v, &vm->m->layers[i], vm->digest, err)) < 0)
            return r;
    return 0;
}

/* The referrer graph of the statement: every referrer and subject is a
 * manifest of the bundle, and each referrer's own subject field agrees. */
static int
check_referrers(struct ferry_verified *v, struct ferry_error **err)
{
    size_t i;
    int r;

    for (i = 0; i < v->st->nreferrers; i++) {
        const struct ferry_stmt_referrer *rf = &v->st->referrers[i];
        struct ferry_descriptor d = {0};
        struct vmanifest *vm;
        d.media_type = rf->media_type;
        d.digest = rf->digest;
        d.size = rf->size;
        if (!ferry_media_type_is_manifest(rf->media_type) &&
            !ferry_media_type_is_index(rf->media_type))
            return ferry_error_new(err, FERRY_E_BUNDLE, "referrer %s has media type %s", rf->digest,
                                   rf->media_type);
        if ((r = check_graph(v, &d, "ferry.json referrers", 0, err)) < 0)
            return ferry_error_wrap(err, "referrer %s", rf->digest);
        if (ferry_strmap_get(v->manifests, rf->subject) == NULL)
            return ferry_error_new(err, FERRY_E_BUNDLE,
                                   "referrer %s: its subject %s is not a manifest of the bundle",
                                   rf->digest, rf->subject);
        vm = ferry_strmap_get(v->manifests, rf->digest);
        if (vm->m->subject == NULL || strcmp(vm->m->subject->digest, rf->subject) != 0)
            return ferry_error_new(
                err, FERRY_E_BUNDLE,
                "referrer %s: the manifest's subject is %s, the statement says %s", rf->digest,
                vm->m->subject ? vm->m->subject->digest : "none", rf->subject);
    }
    return 0;
}

static int
check_layout(struct ferry_verified *v, const struct ferry_buf *layout,
             const struct ferry_buf *index, struct ferry_error **err)
{
    json_error_t jerr;
    json_t *root = NULL, *arr;
    const char *ver;
    size_t i, j;
    int r = 0;

    root = json_loadb(layout->data ? layout->data : "", layout->len, JSON_REJECT_DUPLICATES, &jerr);
    ver = json_string_value(json_object_get(root, "imageLayoutVersion"));
    if (ver == NULL || strcmp(ver, "1.0.0") != 0) {
        json_decref(root);
        return ferry_error_new(err, FERRY_E_BUNDLE, "oci-layout: imageLayoutVersion is not 1.0.0");
    }
    json_decref(root);
    root = json_loadb(index->data ? index->data : "", index->len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return ferry_error_new(err, FERRY_E_BUNDLE,
                               "index.json: invalid json at line %d column %d: %s", jerr.line,
                               jerr.column, jerr.text);
    arr = json_object_get(root, "manifests");
    if (!json_is_array(arr)) {
        r = ferry_error_new(err, FERRY_E_BUNDLE, "index.json: manifests is not an array");
        goto out;
    }
    for (i = 0; i < json_array_size(arr); i++) {
        struct ferry_descriptor d;
        if ((r = ferry_descriptor_parse(json_array_get(arr, i), "index.json", &d, err)) < 0) {
            ferry_error_recode(err, FERRY_E_BUNDLE);
            goto out;
        }
        r = check_graph(v, &d, "index.json", 0, err);
        ferry_descriptor_clear(&d);
        if (r < 0)
            goto out;
    }
    /* Every image of the statement is in index.json and its graph checks. */
    for (i = 0; i < v->st->nimages; i++) {
        const struct ferry_stmt_image *im = &v->st->images[i];
        bool found = false;
        for (j = 0; j < json_array_size(arr); j++) {
            const char *dg = json_string_value(json_object_get(json_array_get(arr, j), "digest"));
            if (dg && strcmp(dg, im->digest) == 0)
                found = true;
        }
        if (!found) {
            r = ferry_error_new(err, FERRY_E_BUNDLE, "image %s (%s) is not in index.json",
                                im->source, im->digest);
            goto out;
        }
        if (ferry_strmap_get(v->manifests, im->digest) == NULL) {
            r = ferry_error_new(err, FERRY_E_BUNDLE, "image %s: manifest %s is not in the bundle",
                                im->source, im->digest);
            goto out;
        }
    }
out:
    json_decref(root);
    return r;
}

/* BUNDLE.minisig over the whole file, checked beside the member pass. */
struct detached {
    const char *path;
    struct ferry_pubkey *const *keys;
    size_t nkeys;
    pthread_t th;
    bool started, joined;
    int r;
    struct ferry_error *err;
};

static void *
detached_main(void *arg)
{
    struct detached *d = arg;

    d->r = ferry_bundle_verify_signature(d->path, d->keys, d->nkeys, NULL, &d->err);
    return NULL;
}

static void
detached_join(struct detached *d)
{
    if (d->started && !d->joined)
        pthread_join(d->th, NULL);
    d->joined = true;
}

int
ferry_import_verify(const char *path, struct ferry_pubkey *const *keys, size_t nkeys,
                    struct ferry_verified **out, struct ferry_error **err)
{
    struct ferry_verified *v = NULL;
    struct ferry_bundle_reader *rd = NULL;
    struct ferry_strmap *seen = NULL;
    struct detached dj = {0};
    struct ferry_buf layout, index, mbuf;
    const char *name;
    uint64_t size;
    size_t i;
    int r;

    ferry_buf_init(&layout, 4096);
    ferry_buf_init(&index, FERRY_MAX_INDEX_JSON);
    ferry_buf_init(&mbuf, FERRY_MAX_MANIFEST);
    if (nkeys == 0)
        return ferry_error_new(err, FERRY_E_USAGE, "no trusted public key given");
    v = ferry_calloc(1, sizeof *v);
    if (v == NULL || (v->members = ferry_strmap_new()) == NULL ||
        (v->manifests = ferry_strmap_new()) == NULL || (v->offsets = ferry_strmap_new()) == NULL ||
        (seen = ferry_strmap_new()) == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    if ((r = open_statement(path, keys, nkeys, &rd, &v->st, v->key_id, err)) < 0)
        goto out_nowrap;
    /* The reader has checked every frame against the seek table (format
     * v1 requires one); the detached whole-file signature is checked when it
     * travelled along. */
    /* The whole-file hash runs on its own thread while the members are
     * hashed here: two passes over the file, one wall-clock pass. */
    dj.path = path;
    dj.keys = keys;
    dj.nkeys = nkeys;
    if (pthread_create(&dj.th, NULL, detached_main, &dj) == 0)
        dj.started = true;
    else
        detached_main(&dj);
    for (i = 0; i < v->st->nmembers; i++)
        if (ferry_strmap_put(v->members, v->st->members[i].path, &v->st->members[i]) < 0) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
    for (;;) {
        const struct ferry_stmt_member *m;
        struct ferry_buf *keep = NULL;
        r = ferry_bundle_reader_next(rd, &name, &size, err);
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        if ((r = ferry_strmap_put(seen, name, (void *)1)) < 0) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        if (r == 0) {
            char safe[128];
            r = ferry_error_new(err, FERRY_E_BUNDLE, "member %s appears twice",
                                printable(name, safe, sizeof safe));
            goto out;
        }
        /* Where the member starts, so pushes can read blobs in parallel. */
        if (ferry_strmap_put(v->offsets, name,
                             (void *)(uintptr_t)(ferry_bundle_reader_member_offset(rd) + 1)) < 0) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        m = ferry_strmap_get(v->members, name);
        if (m != NULL && strcmp(name, "oci-layout") == 0)
            keep = &layout;
        else if (m != NULL && strcmp(name, "index.json") == 0)
            keep = &index;
        else if (m != NULL && keep_in_memory(m)) {
            ferry_buf_reset(&mbuf);
            keep = &mbuf;
        }
        if ((r = check_member(v, rd, name, size, keep, err)) < 0)
            goto out;
        if (keep == &mbuf && (r = add_manifest(v, m, &mbuf, err)) < 0)
            goto out;
    }
    detached_join(&dj);
    if (dj.r == -FERRY_E_NOT_FOUND) {
        ferry_error_clear(&dj.err);
    } else if (dj.r < 0) {
        *err = dj.err;
        dj.err = NULL;
        r = ferry_error_wrap(err, "detached signature %s.minisig", path);
        goto out_nowrap;
    } else {
        v->detached = true;
    }
    for (i = 0; i < v->st->nmembers; i++) {
        if (ferry_strmap_get(seen, v->st->members[i].path) == NULL) {
            r = ferry_error_new(err, FERRY_E_BUNDLE,
                                "member %s is listed in the signed %s but missing",
                                v->st->members[i].path, FERRY_STATEMENT_NAME);
            goto out;
        }
    }
    if ((r = check_layout(v, &layout, &index, err)) < 0)
        goto out;
    if ((r = check_referrers(v, err)) < 0)
        goto out;
    *out = v;
    v = NULL;
out:
    if (r < 0)
        wrap_path(err, path);
out_nowrap:
    detached_join(&dj);
    ferry_error_free(dj.err);
    ferry_bundle_reader_free(rd);
    ferry_strmap_free(seen);
    ferry_buf_free(&layout);
    ferry_buf_free(&index);
    ferry_buf_free(&mbuf);
    ferry_verified_free(v);
    return r;
}
