/* ferry export: the bases of a delta bundle (--base): what the far side holds,
 * from a receipt (what a registry held after an import, or an inventory) or
 * from an earlier bundle (its statement only), and which blobs of a plan
 * they let the bundle leave out. */
#include <string.h>
#include <unistd.h>

#include "export_int.h"
#include "ferry/bundle.h"
#include "ferry/digest.h"
#include "ferry/layout.h"
#include "ferry/limits.h"
#include "ferry/manifest.h"
#include "ferry/receipt.h"
#include "ferry/reference.h"
#include "ferry/util.h"

/* A blob the base says the far side holds. */
struct held {
    int64_t size;
    const char *media_type; /* borrowed from the base's receipt or statement */
    const char *repo;       /* receipts: the first repository listing it; bundles: NULL */
};

struct ferry_export_base {
    struct ferry_stmt_base id;
    struct ferry_receipt *receipt; /* or NULL */
    struct ferry_statement *st;    /* or NULL */
    struct ferry_strmap *held;     /* digest -> struct held */
    struct ferry_strmap *where;    /* receipts: "repo\ndigest" -> 1 */
    struct held *items;
    size_t nitems;
};

void
ferry_export_base_free(struct ferry_export_base *b)
{
    if (b == NULL)
        return;
    ferry_stmt_base_clear(&b->id);
    ferry_receipt_free(b->receipt);
    ferry_statement_free(b->st);
    ferry_strmap_free(b->held);
    ferry_strmap_free(b->where);
    ferry_free(b->items);
    ferry_free(b);
}

const struct ferry_stmt_base *
ferry_export_base_id(const struct ferry_export_base *b)
{
    return &b->id;
}

size_t
ferry_export_base_blobs(const struct ferry_export_base *b)
{
    return ferry_strmap_count(b->held);
}

static int
hold(struct ferry_export_base *b, const char *digest, int64_t size, const char *media_type,
     const char *repo, struct ferry_error **err)
{
    struct held *h;

    if (ferry_media_type_is_index(media_type) || ferry_media_type_is_manifest(media_type))
        return 0; /* manifests always travel */
    if (ferry_strmap_get(b->held, digest) != NULL)
        return 0;
    h = &b->items[b->nitems++];
    h->size = size;
    h->media_type = media_type;
    h->repo = repo;
    if (ferry_strmap_put(b->held, digest, h) < 0)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    return 0;
}

static const char *
base_name(const char *path)
{
    const char *s = strrchr(path, '/');

    return s ? s + 1 : path;
}

/* A receipt and, with keys, its detached signature FILE.minisig. */
static int
load_receipt(struct ferry_export_base *b, const char *path, const struct ferry_buf *text,
             struct ferry_pubkey *const *keys, size_t nkeys, struct ferry_error **err)
{
    struct ferry_digest d;
    size_t n = 0, i, j, which = 0;
    int r;

    if (nkeys > 0) {
        struct ferry_buf sig;
        char *sigpath = ferry_asprintf("%s.minisig", path);
        if (sigpath == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        ferry_buf_init(&sig, FERRY_MAX_SIGNATURE);
        r = ferry_read_file(sigpath, &sig, err);
        if (r == -FERRY_E_NOT_FOUND)
            ferry_error_wrap(err, "receipt %s is not signed, but -p asks for a signature", path);
        if (r >= 0)
            r = ferry_verify_buffer(keys, nkeys, sig.data ? sig.data : "", sig.len, text->data,
                                    text->len, path, NULL, &which, err);
        ferry_buf_free(&sig);
        ferry_free(sigpath);
        if (r < 0)
            return r;
        if ((b->id.key_id = ferry_malloc(17)) == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        ferry_pubkey_id(keys[which], b->id.key_id, 17);
    }
    if ((r = ferry_receipt_parse(text->data, text->len, &b->receipt, err)) < 0)
        return ferry_error_wrap(err, "base %s", path);
    ferry_digest_buffer(FERRY_DIGEST_SHA256, text->data, text->len, &d);
    if ((b->id.kind = ferry_strdup("receipt")) == NULL ||
        (b->id.digest = ferry_strdup(d.str)) == NULL ||
        (b->id.created = ferry_strdup(b->receipt->created)) == NULL ||
        (b->id.registry = ferry_strdup(b->receipt->registry)) == NULL ||
        (b->receipt->bundle_statement != NULL &&
         (b->id.bundle = ferry_strdup(b->receipt->bundle_statement)) == NULL))
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    for (i = 0; i < b->receipt->nrepos; i++)
        n += b->receipt->repos[i].nblobs;
    if ((b->items = ferry_calloc(n ? n : 1, sizeof *b->items)) == NULL ||
        (b->where = ferry_strmap_new()) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    for (i = 0; i < b->receipt->nrepos; i++) {
        const struct ferry_receipt_repo *rp = &b->receipt->repos[i];
        for (j = 0; j < rp->nblobs; j++) {
            const struct ferry_receipt_blob *bl = &rp->blobs[j];
            char *key = ferry_asprintf("%s\n%s", rp->name, bl->digest);
            r = key ? ferry_strmap_put(b->where, key, (void *)1) : -1;
            ferry_free(key);
            if (r < 0)
                return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            if ((r = hold(b, bl->digest, bl->size, bl->media_type, rp->name, err)) < 0)
                return r;
        }
    }
    return 0;
}

/* An earlier bundle: its members (and the blobs it expected, when it was a
 * delta itself: a push of it needed them there). */
static int
load_bundle(struct ferry_export_base *b, const char *path, struct ferry_pubkey *const *keys,
            size_t nkeys, struct ferry_error **err)
{
    struct ferry_bundle_id id;
    size_t i;
    int r;

    memset(&id, 0, sizeof id);
    if ((r = ferry_bundle_open_statement(path, keys, nkeys, NULL, &b->st, &id, err)) < 0)
        return ferry_error_wrap(err, "base");
    {
        int64_t t;
        char q[64];
        if (!ferry_time_parse(b->st->created, &t))
            return ferry_error_new(
                err, FERRY_E_BUNDLE, "base %s: created \"%s\" is not an RFC 3339 time", path,
                ferry_quote(q, sizeof q, b->st->created, strlen(b->st->created)));
    }
    if ((b->id.kind = ferry_strdup("bundle")) == NULL ||
        (b->id.digest = ferry_strdup(id.statement)) == NULL ||
        (b->id.created = ferry_strdup(b->st->created)) == NULL ||
        (nkeys > 0 && (b->id.key_id = ferry_strdup(id.key_id)) == NULL))
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    b->items = ferry_calloc(b->st->nmembers + b->st->nexternals + 1, sizeof *b->items);
    if (b->items == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    for (i = 0; i < b->st->nmembers; i++) {
        const struct ferry_stmt_member *m = &b->st->members[i];
        if (strcmp(m->path, FERRY_LAYOUT_VERSION_FILE) == 0 ||
            strcmp(m->path, FERRY_LAYOUT_INDEX_FILE) == 0)
            continue;
        if ((r = hold(b, m->digest, m->size, m->media_type, NULL, err)) < 0)
            return r;
    }
    for (i = 0; i < b->st->nexternals; i++) {
        const struct ferry_stmt_external *x = &b->st->externals[i];
        if ((r = hold(b, x->digest, x->size, x->media_type, NULL, err)) < 0)
            return r;
    }
    return 0;
}

int
ferry_export_base_load(const char *path, struct ferry_pubkey *const *keys, size_t nkeys,
                       struct ferry_export_base **out, struct ferry_error **err)
{
    static const unsigned char zstd_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    struct ferry_export_base *b = ferry_calloc(1, sizeof *b);
    struct ferry_buf text;
    int r;

    ferry_buf_init(&text, FERRY_MAX_RECEIPT);
    if (b == NULL || (b->held = ferry_strmap_new()) == NULL) {
        ferry_export_base_free(b);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    /* A bundle starts with a zstd frame; anything else is read as a receipt
     * (whole, under its cap: a bundle is never read that way). */
    {
        int fd;
        uint64_t size;
        unsigned char head[4] = {0};
        if ((r = ferry_open_regular(path, "base", &fd, &size, err)) < 0)
            goto out;
        r = size >= 4 && pread(fd, head, 4, 0) == 4 && memcmp(head, zstd_magic, 4) == 0;
        close(fd);
    }
    if (r == 1) {
        r = load_bundle(b, path, keys, nkeys, err);
    } else {
        if ((r = ferry_read_file(path, &text, err)) == 0)
            r = load_receipt(b, path, &text, keys, nkeys, err);
        if (r == -FERRY_E_TOO_LARGE)
            ferry_error_wrap(err, "base %s: neither a bundle nor a receipt", path);
    }
    if (r == 0 && (b->id.name = ferry_strdup(base_name(path))) == NULL)
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
out:
    ferry_buf_free(&text);
    if (r < 0) {
        ferry_export_base_free(b);
        return r;
    }
    *out = b;
    return 0;
}

/* The repository an object lands in (before any --to prefix): the target of
 * the first image read from the object's repository, else that repository. */
static const char *
landing_repo(const struct export_plan *p, const struct export_obj *ob, char **owned)
{
    *owned = NULL;
    for (size_t i = 0; i < p->nimages; i++) {
        const struct ferry_stmt_image *im = &p->images[i];
        struct ferry_ref *ref = NULL;
        if (strcmp(im->repository, ob->repo) != 0)
            continue;
        if (im->target == NULL || ferry_ref_parse(im->target, true, &ref, NULL) < 0)
            return im->repository;
        *owned = ferry_strdup(ref->repository);
        ferry_ref_free(ref);
        return *owned ? *owned : im->repository;
    }
    return ob->repo;
}

/* *out: repo under the receipt's prefix (put in front once, as push does)
 * if the receipt lists digest there, else NULL. */
static int
listed_at(const struct ferry_export_base *b, const char *repo, const char *digest, char **out,
          struct ferry_error **err)
{
    const char *prefix = b->receipt->prefix;
    char *name, *key;

    *out = NULL;
    if (prefix != NULL && !ferry_path_under(repo, prefix))
        name = ferry_asprintf("%s/%s", prefix, repo);
    else
        name = ferry_strdup(repo);
    key = name ? ferry_asprintf("%s\n%s", name, digest) : NULL;
    if (key == NULL) {
        ferry_free(name);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    if (ferry_strmap_get(b->where, key) != NULL)
        *out = name;
    else
        ferry_free(name);
    ferry_free(key);
    return 0;
}

/* Where the far side holds what base b holds of ob: for a receipt, the
 * repository ob lands in when the receipt lists it there, else the one its
 * source repository maps to, else the first that lists it; for a bundle,
 * where ob lands. */
static int
held_repo(const struct export_plan *p, const struct ferry_export_base *b, const struct held *h,
          const struct export_obj *ob, char **out, struct ferry_error **err)
{
    char *owned;
    const char *land = landing_repo(p, ob, &owned);
    int r = 0;

    *out = NULL;
    if (b->receipt != NULL && (r = listed_at(b, land, ob->digest, out, err)) == 0 && *out == NULL)
        r = listed_at(b, ob->repo, ob->digest, out, err);
    if (r == 0 && *out == NULL &&
        (*out = ferry_strdup(b->receipt != NULL ? h->repo : land)) == NULL)
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    ferry_free(owned);
    return r;
}

int
export_plan_apply_bases(struct export_plan *p, struct ferry_export_base *const *bases,
                        size_t nbases, struct ferry_error **err)
{
    size_t i, k, j;
    int r = 0;

    if (nbases == 0)
        return 0;
    if ((p->bases = ferry_calloc(nbases, sizeof *p->bases)) == NULL ||
        (p->externals = ferry_calloc(p->nobjs ? p->nobjs : 1, sizeof *p->externals)) == NULL ||
        (p->away = ferry_calloc(p->nobjs ? p->nobjs : 1, sizeof *p->away)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    for (i = 0; i < nbases; i++) {
        const struct ferry_stmt_base *s = &bases[i]->id;
        struct ferry_stmt_base *d = &p->bases[p->nbases++];
        if ((d->kind = ferry_strdup(s->kind)) == NULL ||
            (d->digest = ferry_strdup(s->digest)) == NULL ||
            (d->created = ferry_strdup(s->created)) == NULL ||
            (s->key_id && (d->key_id = ferry_strdup(s->key_id)) == NULL) ||
            (s->name && (d->name = ferry_strdup(s->name)) == NULL) ||
            (s->registry && (d->registry = ferry_strdup(s->registry)) == NULL) ||
            (s->bundle && (d->bundle = ferry_strdup(s->bundle)) == NULL))
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    /* Blobs (never manifests) a base holds with the same size leave the
     * plan's objects for its external list; the rest keep their order. On
     * failure the list is still made whole (every object in objs or away
     * once), so the plan frees each once. */
    for (i = 0, k = 0; i < p->nobjs; i++) {
        struct export_obj *ob = p->objs[i];
        const struct held *h = NULL;
        struct ferry_stmt_external *x;
        if (r == 0 && ob->conn != NULL && !ferry_media_type_is_index(ob->media_type) &&
            !ferry_media_type_is_manifest(ob->media_type)) {
            for (j = 0; j < nbases && h == NULL; j++) {
                h = ferry_strmap_get(bases[j]->held, ob->digest);
                if (h != NULL && h->size != ob->size)
                    h = NULL;
            }
        }
        if (h == NULL) {
            p->objs[k++] = ob;
            continue;
        }
        x = &p->externals[p->nexternals++];
        x->base = j - 1;
        x->size = ob->size;
        if ((x->digest = ferry_strdup(ob->digest)) == NULL ||
            (ob->media_type && (x->media_type = ferry_strdup(ob->media_type)) == NULL))
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        else
            r = held_repo(p, bases[j - 1], h, ob, &x->repository, err);
        if (r < 0) {
            p->objs[k++] = ob; /* kept: away holds only what moved */
            continue;
        }
        p->away[p->naway++] = ob;
        p->away_bytes += (uint64_t)ob->size;
    }
    p->nobjs = k;
    return r;
}
