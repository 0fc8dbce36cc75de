/* ferry export: cutting a bundle into a set of volumes (--volume-size),
 * each a bundle of its own (docs/FORMAT.md 3.3). Everything here happens
 * before the first volume is written: where each member goes (at member
 * boundaries, by the most each can take on disk, so no volume can outgrow
 * the size), and the digests of the parts of blobs larger than a volume. */
#include <stdio.h>
#include <string.h>

#include "export_int.h"
#include "ferry/bundle.h"
#include "ferry/digest.h"
#include "ferry/layout.h"
#include "ferry/limits.h"
#include "ferry/manifest.h"
#include "ferry/util.h"

/* A part smaller than this does not start in what is left of a volume: the
 * blob starts in the next one instead. */
#define SPLIT_MIN_PART (1u << 20)

/* Every volume carries these whole: the layout's files and the manifests
 * (so each verifies the whole graph). */
static bool
shared_member(const struct ferry_stmt_member *m)
{
    return strcmp(m->path, FERRY_LAYOUT_VERSION_FILE) == 0 ||
           strcmp(m->path, FERRY_LAYOUT_INDEX_FILE) == 0 ||
           ferry_media_type_is_index(m->media_type) || ferry_media_type_is_manifest(m->media_type);
}

/* Where one member goes: a volume, or parts from volume `volume` on. */
struct place {
    unsigned volume;
    size_t nparts; /* 0: whole */
    int64_t *psize;
    unsigned *pvol;
};

static void
places_free(struct place *pl, size_t n)
{
    for (size_t i = 0; pl != NULL && i < n; i++) {
        ferry_free(pl[i].psize);
        ferry_free(pl[i].pvol);
    }
    ferry_free(pl);
}

/* The largest part whose bound fits room (0 if none). */
static int64_t
part_fit(size_t name_len, uint64_t room, int64_t want)
{
    uint64_t lo = 0, hi = (uint64_t)want;

    if (ferry_bundle_member_file_bound(name_len, hi) <= room)
        return want;
    while (lo < hi) { /* the bound grows with the size */
        uint64_t mid = lo + (hi - lo + 1) / 2;
        if (ferry_bundle_member_file_bound(name_len, mid) <= room)
            lo = mid;
        else
            hi = mid - 1;
    }
    return (int64_t)lo;
}

static int
part_push(struct place *pl, unsigned vol, int64_t size, struct ferry_error **err)
{
    int64_t *ns = ferry_realloc(pl->psize, (pl->nparts + 1) * sizeof *ns);
    unsigned *nv;

    if (ns == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    pl->psize = ns;
    if ((nv = ferry_realloc(pl->pvol, (pl->nparts + 1) * sizeof *nv)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    pl->pvol = nv;
    pl->psize[pl->nparts] = size;
    pl->pvol[pl->nparts] = vol;
    pl->nparts++;
    return 0;
}

/* Fill volumes of `cap` bytes (what is left once the statement and the
 * shared members are counted) in bundle order; *count the volumes used. */
static int
assign(const struct ferry_statement *st, uint64_t cap, struct place *pl, unsigned *count,
       size_t *nparts, struct ferry_error **err)
{
    size_t part_name = strlen("parts/sha256/") + 64 + 6; /* ".<n>" up to 9999 */
    unsigned vol = 1;
    uint64_t used = 0;
    int r;

    *nparts = 0;
    for (size_t i = 0; i < st->nmembers; i++) {
        const struct ferry_stmt_member *m = &st->members[i];
        uint64_t b = ferry_bundle_member_file_bound(strlen(m->path), (uint64_t)m->size);
        int64_t off = 0;
        if (shared_member(m))
            continue;
        if (b <= cap - used) {
            pl[i].volume = vol;
            used += b;
            continue;
        }
        if (b <= cap) { /* the cut falls before it */
            vol++;
            pl[i].volume = vol;
            used = b;
            continue;
        }
        /* larger than a volume: parts across consecutive volumes */
        if (cap - used < SPLIT_MIN_PART && used > 0) {
            vol++;
            used = 0;
        }
        pl[i].volume = vol;
        while (off < m->size) {
            int64_t q = part_fit(part_name, cap - used, m->size - off);
            if (q == 0) {
                if (used == 0)
                    return ferry_error_new(err, FERRY_E_INTERNAL, "no room for a part");
                vol++;
                used = 0;
                continue;
            }
            if ((r = part_push(&pl[i], vol, q, err)) < 0)
                return r;
            used += ferry_bundle_member_file_bound(part_name, (uint64_t)q);
            off += q;
            (*nparts)++;
            if (off < m->size) {
                vol++;
                used = 0;
            }
        }
        if (pl[i].nparts > FERRY_MAX_VOLUMES)
            return ferry_error_new(err, FERRY_E_USAGE, "blob %s would take %zu parts", m->digest,
                                   pl[i].nparts);
    }
    *count = vol;
    return 0;
}

/* Hash the parts of a blob larger than a volume: the signed statements
 * that open the volumes name them, so they are read once before. */
struct phash {
    struct ferry_hasher *h;
    const struct place *pl;
    size_t part;
    int64_t left;
    struct ferry_stmt_member *parts; /* their members, digests filled in */
};

static int
phash_sink(const void *data, size_t len, void *ud, struct ferry_error **err)
{
    struct phash *ph = ud;
    const unsigned char *p = data;

    while (len > 0) {
        size_t n = (int64_t)len < ph->left ? len : (size_t)ph->left;
        struct ferry_digest d;
        if (ph->part >= ph->pl->nparts)
            return ferry_error_new(err, FERRY_E_SIZE_MISMATCH, "blob longer than its parts");
        ferry_hasher_update(ph->h, p, n);
        p += n;
        len -= n;
        ph->left -= (int64_t)n;
        if (ph->left == 0) {
            ferry_hasher_final(ph->h, &d);
            if ((ph->parts[ph->part].digest = ferry_strdup(d.str)) == NULL)
                return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            ferry_hasher_reset(ph->h);
            ph->part++;
            if (ph->part < ph->pl->nparts)
                ph->left = ph->pl->psize[ph->part];
        }
    }
    return 0;
}

/* Turn the places into the set's statement: members with their volumes,
 * split blobs replaced by their parts (digests read from the registry). */
static int
materialise(const struct export_plan *p, struct ferry_statement *st, struct place *pl,
            unsigned count, size_t nparts, size_t *first, struct ferry_error **err)
{
    size_t nsplit = 0, n = 0, i, k;
    struct ferry_stmt_member *nm;
    int r = 0;

    for (i = 0; i < st->nmembers; i++)
        nsplit += pl[i].nparts > 0;
    nm = ferry_calloc(st->nmembers - nsplit + nparts, sizeof *nm);
    st->splits = nsplit ? ferry_calloc(nsplit, sizeof *st->splits) : NULL;
    if (nm == NULL || (nsplit > 0 && st->splits == NULL)) {
        ferry_free(nm);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    for (i = 0; i < st->nmembers; i++) {
        struct ferry_stmt_member *m = &st->members[i];
        if (first != NULL)
            first[i] = n;
        if (pl[i].nparts == 0) {
            nm[n] = *m;
            nm[n].volume = pl[i].volume;
            memset(m, 0, sizeof *m);
            n++;
            continue;
        }
        {
            struct ferry_stmt_split *x = &st->splits[st->nsplits++];
            const struct export_obj *ob = i >= 2 ? p->objs[i - 2] : NULL;
            struct phash ph = {0};
            int64_t off = 0;
            x->digest = m->digest;
            x->media_type = m->media_type;
            x->size = m->size;
            x->parts = pl[i].nparts;
            m->digest = m->media_type = NULL;
            for (k = 0; k < pl[i].nparts; k++) {
                struct ferry_stmt_member *pm = &nm[n + k];
                pm->path = ferry_stmt_part_path(x->digest, k + 1);
                pm->blob = ferry_strdup(x->digest);
                pm->size = pl[i].psize[k];
                pm->offset = off;
                pm->volume = pl[i].pvol[k];
                off += pm->size;
                if (pm->path == NULL || pm->blob == NULL)
                    r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            }
            if (r == 0 && (ob == NULL || ob->conn == NULL || ob->data != NULL))
                r = ferry_error_new(err, FERRY_E_USAGE,
                                    "%s (%lld bytes) would be cut into parts, which only "
                                    "layers can be: give a larger --volume-size",
                                    x->digest, (long long)x->size);
            if (r == 0) {
                ferry_log(FERRY_LOG_INFO,
                          "%s (%lld bytes) is larger than a volume: reading it once to hash "
                          "its %zu parts",
                          x->digest, (long long)x->size, x->parts);
                ph.h = ferry_hasher_new(FERRY_DIGEST_SHA256);
                ph.pl = &pl[i];
                ph.left = pl[i].psize[0];
                ph.parts = &nm[n];
                r = ph.h == NULL ? ferry_error_new(err, FERRY_E_NOMEM, "out of memory")
                                 : ferry_registry_get_blob(ob->conn->reg, ob->repo, x->digest,
                                                           x->size, phash_sink, &ph, err);
                if (r == 0 && ph.part != x->parts)
                    r = ferry_error_new(err, FERRY_E_SIZE_MISMATCH, "%s ended early", x->digest);
                ferry_hasher_free(ph.h);
            }
            ferry_stmt_member_clear(m);
            memset(m, 0, sizeof *m);
            n += pl[i].nparts;
            if (r < 0)
                break;
        }
    }
    for (; i < st->nmembers; i++) /* after a failure: what was not moved */
        ferry_stmt_member_clear(&st->members[i]);
    ferry_free(st->members);
    st->members = nm;
    st->nmembers = n;
    st->volumes = count;
    st->version = FERRY_STATEMENT_VERSION_VOLUME;
    return r;
}

int
export_volumes_cut(const struct export_plan *p, struct ferry_statement *st, uint64_t volume_size,
                   size_t **first, struct ferry_error **err)
{
    struct place *pl = NULL;
    char *text = NULL, a[32], b[32];
    size_t len = 0, nparts = 0, guess = 0, npl = st->nmembers, i;
    unsigned count = 0;
    uint64_t shared = 0, fixed, stlen;
    int r, round;

    *first = NULL;
    if ((r = ferry_statement_serialize(st, &text, &len, err)) < 0)
        return r;
    ferry_free(text);
    for (i = 0; i < st->nmembers; i++)
        if (shared_member(&st->members[i]))
            shared += ferry_bundle_member_file_bound(strlen(st->members[i].path),
                                                     (uint64_t)st->members[i].size);
    for (round = 0;; round++) {
        /* the statement lists the whole set: what the cut adds to it is
         * bounded by the members' volume numbers, the parts and the split
         * entries; a cut that makes more parts than guessed is done again */
        stlen = len + 16 * st->nmembers + 400 * guess + 256;
        fixed =
            shared + ferry_bundle_member_file_bound(strlen(FERRY_STATEMENT_NAME), stlen) +
            ferry_bundle_member_file_bound(strlen(FERRY_STATEMENT_SIG_NAME), FERRY_MAX_SIGNATURE) +
            FERRY_BUNDLE_TAR_END + 32 + FERRY_MAX_SIGNATURE;
        if (fixed + SPLIT_MIN_PART > volume_size) {
            snprintf(a, sizeof a, "%llu", (unsigned long long)volume_size);
            snprintf(b, sizeof b, "%llu", (unsigned long long)(fixed + SPLIT_MIN_PART));
            r = ferry_error_new(err, FERRY_E_USAGE,
                                "--volume-size %s bytes is too small: every volume carries the "
                                "statement and the manifests, and needs at least %s bytes",
                                a, b);
            goto out;
        }
        places_free(pl, npl);
        if ((pl = ferry_calloc(npl, sizeof *pl)) == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        if ((r = assign(st, volume_size - fixed, pl, &count, &nparts, err)) < 0)
            goto out;
        if (nparts <= guess)
            break;
        if (round == 8) {
            r = ferry_error_new(err, FERRY_E_INTERNAL, "volumes: the cut does not settle");
            goto out;
        }
        guess = nparts;
    }
    if (count > FERRY_MAX_VOLUMES) {
        r = ferry_error_new(err, FERRY_E_USAGE,
                            "the bundle would take %u volumes, more than a set holds (%d): give "
                            "a larger --volume-size",
                            count, FERRY_MAX_VOLUMES);
        goto out;
    }
    if ((*first = ferry_calloc(st->nmembers, sizeof **first)) == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    r = materialise(p, st, pl, count, nparts, *first, err);
    if (r == 0)
        r = ferry_statement_serialize(st, &text, &len, err);
    if (r == 0) {
        ferry_free(text);
        /* the set's statement (set and number still to come) outgrew what
         * the cut counted */
        if (len + 128 > stlen)
            r = ferry_error_new(err, FERRY_E_INTERNAL,
                                "volumes: statement of %zu bytes, %llu "
                                "counted",
                                len, (unsigned long long)stlen);
    }
    if (r == 0) {
        char set[72];
        st->volume_set = NULL;
        if ((r = ferry_statement_volume_set(st, set, err)) == 0 &&
            (st->volume_set = ferry_strdup(set)) == NULL)
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
out:
    places_free(pl, npl);
    if (r < 0)
        ferry_safefree(*first);
    return r;
}

char *
ferry_export_volume_path(const char *output, unsigned k, unsigned count)
{
    size_t n = strlen(output), suf = strlen(".tar.zst");
    int width = count >= 1000 ? 4 : 3;

    if (n > suf && strcmp(output + n - suf, ".tar.zst") == 0)
        n -= suf;
    return ferry_asprintf("%.*s.%0*u.tar.zst", (int)n, output, width, k);
}
