/* ferry import: push a verified bundle into a registry. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/bundle.h"
#include "ferry/digest.h"
#include "ferry/limits.h"
#include "ferry/reference.h"
#include "ferry/util.h"
#include "ferry/sigcheck.h"
#include "import_int.h"

int
ferry_target_parse(const char *to, char **host, char **prefix, struct ferry_error **err)
{
    const char *slash;
    char *h = NULL, *p = NULL;
    size_t plen;

    if (to == NULL || *to == '\0')
        return ferry_error_new(err, FERRY_E_USAGE,
                               "no target registry given (--to HOST[:PORT][/PREFIX])");
    if (strstr(to, "://") != NULL)
        return ferry_error_new(err, FERRY_E_USAGE,
                               "target %s: give HOST[:PORT][/PREFIX] without a scheme", to);
    slash = strchr(to, '/');
    h = slash ? ferry_strndup(to, (size_t)(slash - to)) : ferry_strdup(to);
    if (h == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    if (*h == '\0') {
        ferry_free(h);
        return ferry_error_new(err, FERRY_E_USAGE, "target %s has no host", to);
    }
    if (slash) {
        plen = strlen(slash + 1);
        while (plen > 0 && slash[plen] == '/')
            plen--;
        if (plen > 0) {
            p = ferry_strndup(slash + 1, plen);
            if (p == NULL) {
                ferry_free(h);
                return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            }
            if (!ferry_repository_valid(p)) {
                ferry_free(h);
                ferry_free(p);
                return ferry_error_new(err, FERRY_E_USAGE, "target %s: invalid repository prefix",
                                       to);
            }
        }
    }
    *host = h;
    *prefix = p;
    return 0;
}

struct worker;

/* What one target repository needs. */
struct trepo {
    char *name;
    struct ferry_layout_manifest **manifests; /* children before parents, images then referrers */
    size_t nmanifests;
    size_t nimage;                /* manifests[0..nimage) are the images' */
    struct ferry_strmap *planned; /* digests of manifests[] */
    struct ferry_strmap *fresh;   /* digests of manifests[] this push wrote (one worker per repo) */
};

/* Repositories that still need a blob; `have` is where it already is. */
struct need {
    char *digest;
    struct trepo **repos;
    size_t nrepos;
    bool *done;
    const struct ferry_stmt_external *x;  /* a delta's blob the target must hold, or NULL */
    char *from;                           /* x: a repository holding it, to mount from */
    const struct ferry_stmt_split *split; /* a volume set's blob carried in parts, or NULL */
    bool absent;                          /* in no volume of this run, nor in the target */
    unsigned *wait;                       /* absent: the volumes that would bring it */
    size_t nwait;
};

struct plan {
    const struct ferry_verified *v;           /* the bundle, or the first volume given */
    const struct ferry_verified *const *vols; /* volumes of one set (v among them) */
    size_t nvols;
    char **waiting; /* per image: the volumes its content waits on, or NULL */
    /* per image: the volumes (0-terminated) holding signature blobs the gate
     * could not read, or NULL; it waits on them once its blobs are up */
    unsigned **sigwait;
    size_t nsigwait;  /* images with one */
    bool *rwaiting;   /* per referrer of the statement: waits on a volume */
    size_t nwaiting;  /* images waiting */
    char *parts_repo; /* where parts of split blobs are parked: stable across runs */
    struct trepo **repos;
    size_t nrepos;
    struct ferry_strmap *repomap; /* name -> struct trepo */
    struct ferry_strmap *tagmap;  /* "repo:tag" -> image index + 1 */
    struct ferry_strmap *needs;   /* blob digest -> struct need */
    struct need **needlist;
    size_t nneeds;
    char **targets;             /* per image: repo name (borrowed from its trepo) */
    char **tags;                /* per image: tag to set, or NULL (owned) */
    char *host;                 /* the registry pushed to, from recorded targets */
    struct ferry_strmap *homes; /* manifest digest -> first struct trepo it goes to */
    struct rplan *rplans;       /* referrers, parents first */
    size_t nrplans;
    char *prefix;            /* --to's prefix, or NULL */
    int64_t created;         /* the bundle's signed creation time */
    struct tag_record *recs; /* per image: its tag's record */
    char **refused;          /* per image: why it is refused, or NULL */
    bool *downgrade;         /* per image: moves its tag back past a newer record */
    size_t nmissing;         /* externals the target lacks */
};

/* A referrer and the repository it lands in. */
struct rplan {
    struct trepo *t;
    const struct ferry_stmt_referrer *rf;
    /* a cosign attachment: what setting its tag did, and the digest the
     * tag had before when it moved */
    enum ferry_push_result tag_result;
    char *tag_previous;
};

static void
plan_clear(struct plan *p)
{
    size_t i;

    for (i = 0; i < p->nrepos; i++) {
        ferry_free(p->repos[i]->name);
        ferry_free(p->repos[i]->manifests);
        ferry_strmap_free(p->repos[i]->planned);
        ferry_strmap_free(p->repos[i]->fresh);
        ferry_free(p->repos[i]);
    }
    ferry_free(p->repos);
    ferry_strmap_free(p->repomap);
    ferry_strmap_free(p->tagmap);
    for (i = 0; i < p->nneeds; i++) {
        ferry_free(p->needlist[i]->digest);
        ferry_free(p->needlist[i]->repos);
        ferry_free(p->needlist[i]->done);
        ferry_free(p->needlist[i]->from);
        ferry_free(p->needlist[i]->wait);
        ferry_free(p->needlist[i]);
    }
    ferry_free(p->needlist);
    ferry_strmap_free(p->needs);
    ferry_strmap_free(p->homes);
    for (i = 0; p->rplans != NULL && i < p->nrplans; i++)
        ferry_free(p->rplans[i].tag_previous);
    ferry_free(p->rplans);
    ferry_free(p->targets);
    if (p->tags != NULL)
        for (i = 0; i < p->v->st->nimages; i++)
            ferry_free(p->tags[i]);
    ferry_free(p->tags);
    ferry_free(p->host);
    if (p->recs != NULL)
        for (i = 0; i < p->v->st->nimages; i++)
            record_clear(&p->recs[i]);
    ferry_free(p->recs);
    if (p->refused != NULL)
        for (i = 0; i < p->v->st->nimages; i++)
            ferry_free(p->refused[i]);
    ferry_free(p->refused);
    ferry_free(p->downgrade);
    if (p->waiting != NULL)
        for (i = 0; i < p->v->st->nimages; i++)
            ferry_free(p->waiting[i]);
    ferry_free(p->waiting);
    ferry_free(p->rwaiting);
    if (p->sigwait != NULL)
        for (i = 0; i < p->v->st->nimages; i++)
            ferry_free(p->sigwait[i]);
    ferry_free(p->sigwait);
    ferry_free(p->parts_repo);
}

static int
plan_repo(struct plan *p, const char *name, struct trepo **out, struct ferry_error **err)
{
    struct trepo *t, **n;

    if (p->repomap == NULL && (p->repomap = ferry_strmap_new()) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    if ((t = ferry_strmap_get(p->repomap, name)) != NULL) {
        *out = t;
        return 0;
    }
    n = ferry_realloc(p->repos, (p->nrepos + 1) * sizeof *n);
    if (n == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    p->repos = n;
    t = ferry_calloc(1, sizeof *t);
    if (t == NULL || (t->name = ferry_strdup(name)) == NULL ||
        (t->planned = ferry_strmap_new()) == NULL || (t->fresh = ferry_strmap_new()) == NULL) {
        if (t != NULL) {
            ferry_free(t->name);
            ferry_strmap_free(t->planned);
            ferry_free(t);
        }
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    p->repos[p->nrepos++] = t;
    if (ferry_strmap_put(p->repomap, t->name, t) < 0)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    *out = t;
    return 0;
}

static int
plan_blob(struct plan *p, struct trepo *t, const char *digest, struct ferry_error **err)
{
    struct need *nd = ferry_strmap_get(p->needs, digest), **nl;
    struct trepo **nr;
    bool *nb;
    size_t i;

    if (nd == NULL) {
        nl = ferry_realloc(p->needlist, (p->nneeds + 1) * sizeof *nl);
        if (nl == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        p->needlist = nl;
        nd = ferry_calloc(1, sizeof *nd);
        if (nd == NULL || (nd->digest = ferry_strdup(digest)) == NULL ||
            ferry_strmap_put(p->needs, digest, nd) < 0) {
            if (nd)
                ferry_free(nd->digest);
            ferry_free(nd);
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        }
        p->needlist[p->nneeds++] = nd;
        nd->x = ferry_strmap_get(p->v->externals, digest);
        nd->split = ferry_strmap_get(p->v->splits, digest);
    }
    for (i = 0; i < nd->nrepos; i++)
        if (nd->repos[i] == t)
            return 0;
    nr = ferry_realloc(nd->repos, (nd->nrepos + 1) * sizeof *nr);
    if (nr == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    nd->repos = nr;
    nb = ferry_realloc(nd->done, (nd->nrepos + 1) * sizeof *nb);
    if (nb == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    nd->done = nb;
    nd->repos[nd->nrepos] = t;
    nd->done[nd->nrepos] = false;
    nd->nrepos++;
    return 0;
}

/* Post-order walk: blobs needed, then children, then the manifest itself. */
static int
plan_manifest(struct plan *p, struct trepo *t, const char *digest, int depth,
              struct ferry_error **err)
{
    struct ferry_layout_manifest *vm = ferry_layout_get_manifest(p->v->layout, digest), **nm;
    size_t i;
    int r;

    if (vm == NULL || vm->m == NULL)
        return ferry_error_new(err, FERRY_E_BUNDLE, "manifest %s was not verified", digest);
    if (depth > FERRY_MAX_INDEX_DEPTH)
        return ferry_error_new(err, FERRY_E_BUNDLE, "%s: nested too deep", digest);
    if (ferry_strmap_get(t->planned, digest) != NULL)
        return 0;
    if (vm->m->kind == FERRY_KIND_INDEX) {
        for (i = 0; i < vm->m->nmanifests; i++) {
            const struct ferry_descriptor *d = &vm->m->manifests[i];
            if (ferry_media_type_is_index(d->media_type) ||
                ferry_media_type_is_manifest(d->media_type))
                r = plan_manifest(p, t, d->digest, depth + 1, err);
            else
                r = plan_blob(p, t, d->digest, err);
            if (r < 0)
                return r;
        }
    } else {
        if ((r = plan_blob(p, t, vm->m->config.digest, err)) < 0)
            return r;
        for (i = 0; i < vm->m->nlayers; i++)
            if ((r = plan_blob(p, t, vm->m->layers[i].digest, err)) < 0)
                return r;
    }
    nm = ferry_realloc(t->manifests, (t->nmanifests + 1) * sizeof *nm);
    if (nm == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    t->manifests = nm;
    t->manifests[t->nmanifests++] = vm;
    if (ferry_strmap_put(t->planned, vm->digest, vm) < 0)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    if (ferry_strmap_put(p->homes, digest, t) < 0)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    return 0;
}

/* Where one recorded target lands: its repository path (prefix added) and
 * registry host; the host is checked against the others of the run. */
static int
map_target(struct plan *p, const char *target, const char *prefix, bool have_to, char **repo,
           char **tag, struct ferry_error **err)
{
    struct ferry_ref *ref = NULL;
    char *name = NULL, *t = NULL;
    int r;

    if ((r = ferry_ref_parse(target, true, &ref, err)) < 0)
        return ferry_error_wrap(err, "target");
    if (!have_to) {
        if (p->host == NULL && (p->host = ferry_strdup(ref->api_host)) == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        if (strcmp(p->host, ref->api_host) != 0) {
            r = ferry_error_new(err, FERRY_E_USAGE,
                                "targets name two registries, %s and %s: push each with --to",
                                p->host, ref->api_host);
            goto out;
        }
    }
    /* the prefix goes in front once: a target already under it stays there */
    if (prefix != NULL && !ferry_path_under(ref->repository, prefix))
        name = ferry_asprintf("%s/%s", prefix, ref->repository);
    else
        name = ferry_strdup(ref->repository);
    if (name == NULL || (tag != NULL && ref->tag != NULL && (t = ferry_strdup(ref->tag)) == NULL)) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    *repo = name;
    name = NULL;
    if (tag != NULL) {
        *tag = t;
        t = NULL;
    }
out:
    ferry_free(name);
    ferry_free(t);
    ferry_ref_free(ref);
    return r;
}

/* Two images may not land on one repo:tag with different digests (targets
 * can meet: the prefix rule keeps a target already under --to's prefix
 * where it is): the later would silently replace the earlier. */
static int
one_image_per_tag(struct plan *p, size_t i, struct ferry_error **err)
{
    const struct ferry_stmt_image *im = &p->v->st->images[i], *other;
    char *key;
    uintptr_t seen;
    int r = 0;

    if (p->tags[i] == NULL)
        return 0;
    if (p->tagmap == NULL && (p->tagmap = ferry_strmap_new()) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    if ((key = ferry_asprintf("%s:%s", p->targets[i], p->tags[i])) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    seen = (uintptr_t)ferry_strmap_get(p->tagmap, key);
    if (seen == 0) {
        if (ferry_strmap_put(p->tagmap, key, (void *)(uintptr_t)(i + 1)) < 0)
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    } else if (strcmp((other = &p->v->st->images[seen - 1])->digest, im->digest) != 0) {
        r = ferry_error_new(err, FERRY_E_USAGE,
                            "images %s and %s would both land at %s with different digests: "
                            "push them with different targets or --to prefixes",
                            other->source, im->source, key);
    }
    ferry_free(key);
    return r;
}

/* Target of each image: a recorded target (sync config) with its host
 * replaced by --to's and --to's prefix added; without a recorded target the
 * source repository path under --to. */
static int
make_targets(struct plan *p, const char *prefix, bool have_to, struct ferry_error **err)
{
    const struct ferry_statement *st = p->v->st;
    size_t i, n = st->nimages ? st->nimages : 1;
    int r;

    p->needs = ferry_strmap_new();
    p->homes = ferry_strmap_new();
    p->targets = ferry_calloc(n, sizeof *p->targets);
    p->tags = ferry_calloc(n, sizeof *p->tags);
    p->recs = ferry_calloc(n, sizeof *p->recs);
    p->refused = ferry_calloc(n, sizeof *p->refused);
    p->downgrade = ferry_calloc(n, sizeof *p->downgrade);
    p->waiting = ferry_calloc(n, sizeof *p->waiting);
    p->rplans = ferry_calloc(st->nreferrers ? st->nreferrers : 1, sizeof *p->rplans);
    p->rwaiting = ferry_calloc(st->nreferrers ? st->nreferrers : 1, sizeof *p->rwaiting);
    if (p->needs == NULL || p->homes == NULL || p->targets == NULL || p->tags == NULL ||
        p->recs == NULL || p->refused == NULL || p->downgrade == NULL || p->rplans == NULL ||
        p->waiting == NULL || p->rwaiting == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    for (i = 0; i < st->nimages; i++) {
        const struct ferry_stmt_image *im = &st->images[i];
        struct trepo *t = NULL;
        char *name = NULL;
        if (im->target != NULL) {
            if ((r = map_target(p, im->target, prefix, have_to, &name, &p->tags[i], err)) < 0)
                return ferry_error_wrap(err, "image %s", im->source);
        } else if (!have_to) {
            return ferry_error_new(
                err, FERRY_E_USAGE,
                "image %s has no recorded target: give --to HOST[:PORT][/PREFIX]", im->source);
        } else {
            name = prefix ? ferry_asprintf("%s/%s", prefix, im->repository)
                          : ferry_strdup(im->repository);
            if (name == NULL)
                return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        }
        if (p->tags[i] == NULL && im->tag != NULL && (p->tags[i] = ferry_strdup(im->tag)) == NULL) {
            ferry_free(name);
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        }
        if (!ferry_repository_valid(name) || record_is_state_repo(name)) {
            /* said before anything is written, naming why */
            r = ferry_error_new(
                err, FERRY_E_INVALID, "image %s: target repository %.300s is not valid%s",
                im->source, name,
                record_is_state_repo(name) ? " (ferry keeps tag records there)"
                : strlen(name) > 255       ? " (longer than the 255 characters registries accept: "
                                             "use a shorter --to prefix or target)"
                                           : "");
            ferry_free(name);
            return r;
        }
        r = plan_repo(p, name, &t, err);
        ferry_free(name);
        if (r < 0)
            return r;
        p->targets[i] = t->name;
        if ((r = one_image_per_tag(p, i, err)) < 0)
            return r;
    }
    if (st->nsplits > 0) {
        /* parked parts go to the records repository of the first image
         * target in name order: the same whichever images a run refuses */
        const char *first = NULL;
        for (i = 0; i < st->nimages; i++)
            if (first == NULL || strcmp(p->targets[i], first) < 0)
                first = p->targets[i];
        if (first != NULL && (p->parts_repo = record_repo(first)) == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    return 0;
}

/* The graph of every image not refused, then the referrers of those:
 * into --referrers-tgt as recorded (its host replaced by the target
 * registry), else the subject's repository. */
static int
make_plan(struct plan *p, const char *prefix, bool have_to, struct ferry_error **err)
{
    const struct ferry_statement *st = p->v->st;
    size_t i;
    int r;

    for (i = 0; i < st->nimages; i++) {
        struct trepo *t = ferry_strmap_get(p->repomap, p->targets[i]);
        if (p->refused[i] != NULL || p->waiting[i] != NULL)
            continue;
        if ((r = plan_manifest(p, t, st->images[i].digest, 0, err)) < 0)
            return ferry_error_wrap(err, "image %s", st->images[i].source);
    }
    for (i = 0; i < p->nrepos; i++)
        p->repos[i]->nimage = p->repos[i]->nmanifests;
    for (i = 0; i < st->nreferrers; i++) {
        const struct ferry_stmt_referrer *rf = &st->referrers[i];
        struct trepo *t = NULL;
        if (p->refused[rf->image] != NULL || p->waiting[rf->image] != NULL || p->rwaiting[i])
            continue;
        if (rf->target != NULL) {
            char *name = NULL;
            if ((r = map_target(p, rf->target, prefix, have_to, &name, NULL, err)) < 0)
                return ferry_error_wrap(err, "referrer %s", rf->digest);
            if (record_is_state_repo(name)) {
                r = ferry_error_new(err, FERRY_E_INVALID,
                                    "referrer %s: target repository %.300s is where ferry keeps "
                                    "tag records",
                                    rf->digest, name);
                ferry_free(name);
                return r;
            }
            r = plan_repo(p, name, &t, err);
            ferry_free(name);
            if (r < 0)
                return r;
        } else if ((r = plan_repo(p, p->targets[rf->image], &t, err)) < 0) {
            /* with its image: every manifest of an image lands in its repository */
            return r;
        }
        if ((r = plan_manifest(p, t, rf->digest, 0, err)) < 0)
            return ferry_error_wrap(err, "referrer %s", rf->digest);
        p->rplans[p->nrplans].t = t;
        p->rplans[p->nrplans].rf = rf;
        p->nrplans++;
    }
    return 0;
}

/* No silent rollback: an image whose tag's record says a newer bundle set it
 * is refused (its tag would move back), unless allow_downgrade. A tag that
 * already holds the image's digest moves nowhere and is not refused. */
static int
check_records(struct plan *p, struct ferry_registry *reg, bool allow_downgrade,
              struct ferry_error **err)
{
    const struct ferry_statement *st = p->v->st;
    int r;

    for (size_t i = 0; i < st->nimages; i++) {
        struct ferry_manifest_info info = {0};
        struct tag_record *rec = &p->recs[i];
        if (p->tags[i] == NULL || p->refused[i] != NULL)
            continue;
        r = record_get(reg, p->targets[i], p->tags[i], rec, err);
        if (r == -FERRY_E_INVALID && allow_downgrade) {
            /* a record ferry did not write allows nothing, but the operator
             * said to move tags regardless: it is replaced */
            ferry_log(FERRY_LOG_WARN, "%s; replacing it (--allow-downgrade)",
                      err != NULL && *err != NULL ? (*err)->msg : "an invalid tag record");
            ferry_error_clear(err);
            p->downgrade[i] = true;
            continue;
        }
        if (r < 0)
            return r;
        if (!rec->found || rec->created_t <= p->created)
            continue;
        r = ferry_registry_head_manifest(reg, p->targets[i], p->tags[i], &info, err);
        if (r < 0)
            return r;
        if (r == 1 && info.digest != NULL && strcmp(info.digest, st->images[i].digest) == 0) {
            /* nothing moves; with allow_downgrade the record is set back to
             * this bundle too (a record from the future stops pinning it) */
            ferry_manifest_info_clear(&info);
            p->downgrade[i] = allow_downgrade;
            continue;
        }
        ferry_manifest_info_clear(&info);
        if (allow_downgrade) {
            p->downgrade[i] = true;
            continue;
        }
        p->refused[i] = ferry_asprintf("older than the bundle that set it (%s)", rec->created);
        if (p->refused[i] == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    return 0;
}

/* A delta: every expected blob must be in each repository that needs it,
 * or mountable from the repository the statement records (mapped like a
 * target) or from another repository of this push that holds it. Only
 * reads; where to mount from is remembered for the blob job. */
static int
check_externals(struct plan *p, struct ferry_registry *reg, const char *host, bool dry_run,
                struct ferry_error **err)
{
    const struct ferry_statement *st = p->v->st;
    struct ferry_buf msg;
    size_t shown = 0, i, j;
    bool *bases = NULL;
    int r = 0;

    ferry_buf_init(&msg, 64u << 10);
    for (i = 0; i < p->nneeds && r >= 0; i++) {
        struct need *nd = p->needlist[i];
        bool all = true;
        if (nd->x == NULL)
            continue;
        for (j = 0; j < nd->nrepos && r >= 0; j++) {
            r = ferry_registry_head_blob(reg, nd->repos[j]->name, nd->digest, NULL, err);
            nd->done[j] = r == 1;
            if (r == 1 && nd->from == NULL && (nd->from = ferry_strdup(nd->repos[j]->name)) == NULL)
                r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            if (r == 0)
                all = false;
        }
        if (r < 0 || all || nd->from != NULL)
            continue;
        {
            const char *rec = nd->x->repository;
            char *name = p->prefix != NULL && !ferry_path_under(rec, p->prefix)
                             ? ferry_asprintf("%s/%s", p->prefix, rec)
                             : ferry_strdup(rec);
            if (name == NULL) {
                r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
                break;
            }
            r = ferry_registry_head_blob(reg, name, nd->digest, NULL, err);
            if (r == 0 && strcmp(name, rec) != 0) {
                ferry_free(name);
                name = ferry_strdup(rec);
                r = name ? ferry_registry_head_blob(reg, name, nd->digest, NULL, err)
                         : ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            }
            if (r == 1) {
                nd->from = name;
                continue;
            }
            ferry_free(name);
        }
        if (r < 0)
            break;
        /* missing */
        p->nmissing++;
        if (bases == NULL && (bases = ferry_calloc(st->nbases, sizeof *bases)) == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            break;
        }
        bases[nd->x->base] = true;
        if (shown++ < 8)
            r = ferry_buf_appendf(&msg, err, "%s%s (%lld bytes, %s)", shown > 1 ? ", " : "",
                                  nd->digest, (long long)nd->x->size, nd->x->repository);
    }
    if (r >= 0 && p->nmissing > 0 && !dry_run) {
        if (shown < p->nmissing)
            r = ferry_buf_appendf(&msg, err, " and %zu more", p->nmissing - shown);
        for (i = 0, shown = 0; r >= 0 && i < st->nbases; i++) {
            const struct ferry_stmt_base *b = &st->bases[i];
            char q[256];
            if (!bases[i])
                continue;
            if (shown++ == 4) { /* a message, not a listing of the statement */
                r = ferry_buf_appendf(&msg, err, "; and more bases (see ferry-import list)");
                break;
            }
            if (strcmp(b->kind, "receipt") == 0 && b->bundle != NULL)
                r = ferry_buf_appendf(&msg, err,
                                      "; import first the bundle %s (recorded by receipt %s of %s, "
                                      "created %s)",
                                      b->bundle,
                                      b->name ? ferry_quote(q, sizeof q, b->name, strlen(b->name))
                                              : b->digest,
                                      b->registry ? b->registry : "?", b->created);
            else if (strcmp(b->kind, "receipt") == 0)
                r = ferry_buf_appendf(&msg, err,
                                      "; the inventory %s (%s, created %s) said %s held them: "
                                      "push into that registry, or export against a current "
                                      "inventory",
                                      b->name ? ferry_quote(q, sizeof q, b->name, strlen(b->name))
                                              : "",
                                      b->digest, b->created, b->registry ? b->registry : "?");
            else
                r = ferry_buf_appendf(
                    &msg, err, "; import first the base bundle %s (%s, created %s)",
                    b->name ? ferry_quote(q, sizeof q, b->name, strlen(b->name)) : "", b->digest,
                    b->created);
        }
        if (r >= 0)
            r = ferry_error_new(err, FERRY_E_BASE_MISSING,
                                "delta bundle: %s lacks %zu blob%s the bundle expects there, so "
                                "nothing was pushed: %s",
                                host, p->nmissing, p->nmissing == 1 ? "" : "s",
                                msg.data ? msg.data : "");
    }
    ferry_free(bases);
    ferry_buf_free(&msg);
    return r < 0 ? r : 0;
}

/* Does image i need an expected blob the target lacks? A walk of its graph
 * (verified: bounded depth), each manifest once. */
static bool
image_missing(struct plan *p, const char *digest, int depth, struct ferry_strmap *seen)
{
    struct ferry_layout_manifest *vm = ferry_layout_get_manifest(p->v->layout, digest);
    struct need *nd;
    size_t i;

    if (vm == NULL || vm->m == NULL || depth > FERRY_MAX_INDEX_DEPTH ||
        ferry_strmap_get(seen, digest) != NULL || ferry_strmap_put(seen, digest, (void *)1) < 0)
        return false;
    if (vm->m->kind == FERRY_KIND_INDEX) {
        for (i = 0; i < vm->m->nmanifests; i++)
            if (image_missing(p, vm->m->manifests[i].digest, depth + 1, seen))
                return true;
        return false;
    }
    for (i = 0; i <= vm->m->nlayers; i++) {
        const char *d = i == 0 ? vm->m->config.digest : vm->m->layers[i - 1].digest;
        nd = ferry_strmap_get(p->needs, d);
        if (nd != NULL && nd->x != NULL && nd->from == NULL) {
            bool all = true;
            for (size_t j = 0; j < nd->nrepos; j++)
                all = all && nd->done[j];
            if (!all)
                return true;
        }
    }
    return false;
}

/* The volumes one image waits on: stamped with the walk's number, so no
 * array of the set's size is cleared per image, and listed as met. */
struct vmarks {
    unsigned *stamp; /* [1..count]: the walk that last marked it */
    unsigned walk;
    unsigned *list; /* the volumes this walk marked */
    size_t n;
};

static void
vmark(struct vmarks *mk, unsigned v)
{
    if (mk->stamp[v] == mk->walk)
        return;
    mk->stamp[v] = mk->walk;
    mk->list[mk->n++] = v;
}

/* Does the graph of digest reference an absent blob? Marks the volumes
 * that would bring them. A walk of a verified graph: bounded depth, each
 * manifest once. */
static bool
graph_waits(struct plan *p, const char *digest, int depth, struct ferry_strmap *seen,
            struct vmarks *mark)
{
    struct ferry_layout_manifest *vm = ferry_layout_get_manifest(p->v->layout, digest);
    bool waits = false;
    size_t i;

    if (vm == NULL || vm->m == NULL || depth > FERRY_MAX_INDEX_DEPTH ||
        ferry_strmap_get(seen, digest) != NULL || ferry_strmap_put(seen, digest, (void *)1) < 0)
        return false;
    for (i = 0; i < (vm->m->kind == FERRY_KIND_INDEX ? vm->m->nmanifests : vm->m->nlayers + 1);
         i++) {
        const char *d = vm->m->kind == FERRY_KIND_INDEX ? vm->m->manifests[i].digest
                        : i == 0                        ? vm->m->config.digest
                                                        : vm->m->layers[i - 1].digest;
        struct ferry_layout_manifest *cm = ferry_layout_get_manifest(p->v->layout, d);
        struct need *nd;
        if (cm != NULL && cm->m != NULL) { /* a child manifest */
            waits |= graph_waits(p, d, depth + 1, seen, mark);
            continue;
        }
        /* a blob (a plain blob listed in an index counts as one too) */
        nd = ferry_strmap_get(p->needs, d);
        if (nd == NULL || !nd->absent)
            continue;
        waits = true;
        for (size_t k = 0; k < nd->nwait; k++)
            if (nd->wait[k] >= 1 && nd->wait[k] <= p->v->st->volumes)
                vmark(mark, nd->wait[k]);
    }
    return waits;
}

int
import_cmp_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

    return x < y ? -1 : x > y;
}

/* "waiting on volume 3 of 5", "... volumes 2, 4 of 5" (ferry_malloc); list
 * ascending. */
static char *
volumes_text(const unsigned *list, size_t n, unsigned count)
{
    struct ferry_buf b;
    char *out;
    size_t len;

    ferry_buf_init(&b, 64u << 10);
    if (ferry_buf_appendf(&b, NULL, "waiting on volume%s ", n == 1 ? "" : "s") < 0)
        goto fail;
    for (size_t i = 0; i < n; i++)
        if (ferry_buf_appendf(&b, NULL, "%s%u", i ? ", " : "", list[i]) < 0)
            goto fail;
    if (n == 0 && ferry_buf_appendf(&b, NULL, "?") < 0) /* a mount refused, for one */
        goto fail;
    if (ferry_buf_appendf(&b, NULL, " of %u", count) < 0 || ferry_buf_append(&b, "", 1, NULL) < 0)
        goto fail;
    out = ferry_buf_take(&b, &len);
    return out;
fail:
    ferry_buf_free(&b);
    return NULL;
}

/* "waiting on volumes 2, 3 of 5: its signatures are on volume 3" (the gate
 * could not judge the image: ferry_malloc). */
static char *
sig_waiting_text(const unsigned *list, size_t n, const unsigned *sigs, unsigned count)
{
    char *t = volumes_text(list, n, count), *out;
    struct ferry_buf b;
    size_t len, k;

    if (t == NULL)
        return NULL;
    ferry_buf_init(&b, 64u << 10);
    for (k = 0; sigs[k] != 0; k++)
        ;
    if (ferry_buf_appendf(&b, NULL, "%s: its signatures are on volume%s", t, k == 1 ? "" : "s") < 0)
        goto fail;
    for (k = 0; sigs[k] != 0; k++)
        if (ferry_buf_appendf(&b, NULL, "%s%u", k ? ", " : " ", sigs[k]) < 0)
            goto fail;
    if (ferry_buf_append(&b, "", 1, NULL) < 0)
        goto fail;
    ferry_free(t);
    out = ferry_buf_take(&b, &len);
    return out;
fail:
    ferry_free(t);
    ferry_buf_free(&b);
    return NULL;
}

/* A volume set: which images and referrers wait on volumes not given (their
 * content is neither in this run nor in the target), and the volumes that
 * would bring it; then the manifests are planned again without them. */
static int
find_waiting(struct plan *p, const char *prefix, bool have_to, struct ferry_push_report *rep,
             struct ferry_error **err)
{
    const struct ferry_statement *st = p->v->st;
    bool *all = NULL;
    struct vmarks mark = {0};
    struct ferry_strmap *seen = NULL;
    size_t i, nw = 0;
    int r = 0;

    if (st->volumes == 0)
        return 0;
    for (i = 0; i < p->nneeds && !p->needlist[i]->absent; i++)
        ;
    if (i == p->nneeds && p->nsigwait == 0) /* nothing waits (nor for signatures) */
        return 0;
    all = ferry_calloc(st->volumes + 1u, sizeof *all);
    mark.stamp = ferry_calloc(st->volumes + 1u, sizeof *mark.stamp);
    mark.list = ferry_calloc(st->volumes + 1u, sizeof *mark.list);
    if (all == NULL || mark.stamp == NULL || mark.list == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < st->nimages + st->nreferrers && r >= 0; i++) {
        bool image = i < st->nimages;
        size_t j = image ? i : i - st->nimages;
        const char *digest = image ? st->images[j].digest : st->referrers[j].digest;
        size_t owner = image ? j : st->referrers[j].image;
        if (p->refused[owner] != NULL || (!image && p->waiting[owner] != NULL))
            continue;
        ferry_strmap_free(seen);
        mark.walk++;
        mark.n = 0;
        if ((seen = ferry_strmap_new()) == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            break;
        }
        bool sigs = image && p->sigwait != NULL && p->sigwait[j] != NULL;
        if (!graph_waits(p, digest, 0, seen, &mark) && !sigs)
            continue;
        for (const unsigned *w = sigs ? p->sigwait[j] : NULL; w != NULL && *w != 0; w++)
            vmark(&mark, *w);
        for (size_t k = 0; k < mark.n; k++)
            all[mark.list[k]] = true;
        if (!image) {
            p->rwaiting[j] = true;
            continue;
        }
        qsort(mark.list, mark.n, sizeof *mark.list, import_cmp_unsigned);
        if ((p->waiting[j] = sigs ? sig_waiting_text(mark.list, mark.n, p->sigwait[j], st->volumes)
                                  : volumes_text(mark.list, mark.n, st->volumes)) == NULL)
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        p->nwaiting++;
    }
    if (r >= 0) {
        /* a referrer of a referrer that waits (a signature on an SBOM)
         * waits too: parents come before their referrers */
        struct ferry_strmap *w = ferry_strmap_new();
        if (w == NULL)
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        for (i = 0; r >= 0 && i < st->nreferrers; i++) {
            const struct ferry_stmt_referrer *rf = &st->referrers[i];
            if (!p->rwaiting[i] && ferry_strmap_get(w, rf->subject) != NULL)
                p->rwaiting[i] = true;
            if ((p->rwaiting[i] || p->waiting[rf->image] != NULL) &&
                ferry_strmap_put(w, rf->digest, (void *)1) < 0)
                r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        }
        ferry_strmap_free(w);
    }
    for (unsigned k = 1; r >= 0 && k <= st->volumes; k++)
        nw += all[k];
    if (r >= 0 && nw > 0) {
        if ((rep->volumes_missing = ferry_calloc(nw, sizeof *rep->volumes_missing)) == NULL)
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        for (unsigned k = 1; r >= 0 && k <= st->volumes; k++)
            if (all[k])
                rep->volumes_missing[rep->nvolumes_missing++] = k;
    }
    if (r >= 0) {
        /* plan the manifests again, without what waits */
        for (i = 0; i < p->nrepos; i++) {
            struct trepo *t = p->repos[i];
            t->nmanifests = t->nimage = 0;
            ferry_strmap_free(t->planned);
            if ((t->planned = ferry_strmap_new()) == NULL)
                r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        }
        ferry_strmap_free(p->homes);
        p->nrplans = 0;
        if (r >= 0 && (p->homes = ferry_strmap_new()) == NULL)
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        if (r >= 0)
            r = make_plan(p, prefix, have_to, err);
    }
out:
    ferry_strmap_free(seen);
    ferry_free(all);
    ferry_free(mark.stamp);
    ferry_free(mark.list);
    return r;
}

/* Fallback tag indexes are read, merged and written by whoever pushes
 * referrers of a subject, and the registry offers no conditional write: two
 * imports adding different referrers can each write an index without the
 * other's entry. So every index written is read again after a settle time
 * longer than a read-merge-write takes (twice the longest this run measured,
 * at least FALLBACK_SETTLE_MIN_MS), and merged and written again while an
 * entry of ours is missing, for at most FALLBACK_ROUNDS rounds
 * (docs/REFERRERS.md). */
#define FALLBACK_ROUNDS 6
#define FALLBACK_SETTLE_MIN_MS 50
#define FALLBACK_SETTLE_MAX_MS 3000

/* One (repository, subject) whose fallback index this push maintains. */
struct fbgroup {
    struct trepo *t;
    const char *subject;
    size_t *refs; /* indexes into p->rplans */
    size_t nrefs;
    bool pending; /* to be read (and written if an entry is missing) */
    bool written;
};

/* Read g's fallback index, add what is missing, write it if it changed (and
 * `write`). 1 written (or, without `write`, something is missing), 0 nothing
 * was missing, 2 the registry has the referrers API. */
static int
fallback_merge(struct plan *p, struct ferry_registry *reg, const char *host, struct fbgroup *g,
               bool write, struct ferry_error **err)
{
    struct ferry_referrers rs = {0};
    struct ferry_referrers_index *x = NULL;
    bool changed = false;
    char *text = NULL;
    size_t len = 0;
    int r;

    r = ferry_registry_list_referrers(reg, g->t->name, g->subject, NULL, &rs, err);
    if (r < 0)
        goto out;
    if (rs.via == FERRY_REFERRERS_VIA_API) {
        r = 2;
        goto out;
    }
    if (!rs.found) {
        x = ferry_referrers_index_new();
        r = x != NULL ? 0 : ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    } else {
        struct ferry_error *perr = NULL;
        if (rs.media_type != NULL && strcmp(rs.media_type, FERRY_MT_OCI_INDEX) == 0)
            r = ferry_referrers_index_parse(rs.index.data, rs.index.len, rs.tag, &x, &perr);
        if (r == -FERRY_E_NOMEM)
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        else if (x == NULL)
            r = ferry_error_new(err, FERRY_E_INVALID,
                                "%s/%s:%s is not a referrers index (%s); left unchanged", host,
                                g->t->name, rs.tag, rs.media_type ? rs.media_type : "?");
        ferry_error_free(perr);
    }
    for (size_t j = 0; r >= 0 && j < g->nrefs; j++) {
        const struct ferry_stmt_referrer *rf = p->rplans[g->refs[j]].rf;
        const struct ferry_layout_manifest *lm =
            ferry_layout_get_manifest(p->v->layout, rf->digest);
        r = ferry_referrers_index_add(x,
                                      ferry_layout_referrer_descriptor(
                                          lm->m->media_type, lm->digest, (int64_t)lm->len,
                                          ferry_manifest_artifact_type(lm->m), lm->m->annotations),
                                      err);
        if (r == 1)
            changed = true;
    }
    if (r < 0 || !changed || !write) {
        r = r < 0 ? r : changed ? 1 : 0;
        goto out;
    }
    if ((r = ferry_referrers_index_serialize(x, &text, &len, err)) == 0)
        r = ferry_registry_put_manifest(reg, g->t->name, rs.tag, FERRY_MT_OCI_INDEX, text, len,
                                        NULL, err);
    if (r < 0)
        ferry_error_wrap(err, "referrers tag %s/%s:%s", host, g->t->name, rs.tag);
    else
        r = 1;
out:
    ferry_free(text);
    ferry_referrers_index_free(x);
    ferry_referrers_clear(&rs);
    return r;
}

/* For each (repository, subject): nothing when the registry has the referrers
 * API; else merge our entries into the fallback tag index (entries already
 * there are kept as they are), writing it only if it changed, and confirm
 * each write as above. One writer per run: this runs on one thread. */
static int
push_fallbacks(struct plan *p, struct ferry_registry *reg, const char *host,
               struct ferry_push_report *rep, struct ferry_error **err)
{
    struct ferry_strmap *groups = ferry_strmap_new();
    struct fbgroup *g = ferry_calloc(p->nrplans ? p->nrplans : 1, sizeof *g);
    size_t *refs = ferry_calloc(p->nrplans ? p->nrplans : 1, sizeof *refs);
    size_t *gidx = ferry_calloc(p->nrplans ? p->nrplans : 1, sizeof *gidx);
    size_t ng = 0, i, k, pending;
    int r = 0, round;

    if (groups == NULL || g == NULL || refs == NULL || gidx == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    /* groups in first-seen order (gidx: each referrer's group), then each
     * group's slice of refs, in statement order */
    for (i = 0; i < p->nrplans && r >= 0; i++) {
        char *key;
        uintptr_t gi;
        if (p->rplans[i].rf->tag != NULL)
            continue; /* a cosign attachment: found by its own tag */
        key = ferry_asprintf("%s|%s", p->rplans[i].t->name, p->rplans[i].rf->subject);
        gi = key ? (uintptr_t)ferry_strmap_get(groups, key) : 0;
        if (key == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        } else if (gi == 0) {
            g[ng].t = p->rplans[i].t;
            g[ng].subject = p->rplans[i].rf->subject;
            g[ng].pending = true;
            gi = ++ng;
            if (ferry_strmap_put(groups, key, (void *)gi) < 0)
                r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        }
        ferry_free(key);
        if (r < 0)
            break;
        gidx[i] = (size_t)gi - 1;
        g[gidx[i]].nrefs++;
    }
    for (i = 0, k = 0; r >= 0 && i < ng; i++) {
        g[i].refs = refs + k;
        k += g[i].nrefs;
        g[i].nrefs = 0;
    }
    for (i = 0; r >= 0 && i < p->nrplans; i++)
        if (p->rplans[i].rf->tag == NULL)
            g[gidx[i]].refs[g[gidx[i]].nrefs++] = i;
    /* rounds 0 .. FALLBACK_ROUNDS - 1 write; one more only reads back */
    for (round = 0; r >= 0 && round <= FALLBACK_ROUNDS; round++) {
        long longest = 0, settle;
        for (i = 0, pending = 0; r >= 0 && i < ng; i++) {
            long t0 = ferry_monotonic_ms();
            if (!g[i].pending)
                continue;
            r = fallback_merge(p, reg, host, &g[i], round < FALLBACK_ROUNDS, err);
            if (r == 2) {
                rep->referrers_api++;
                g[i].pending = false;
            } else if (r == 0) {
                /* all ours are there: unchanged, or a write confirmed */
                if (!g[i].written)
                    rep->fallback_unchanged++;
                else
                    rep->fallback_set++;
                g[i].pending = false;
            } else if (r == 1) {
                if (g[i].written && round < FALLBACK_ROUNDS)
                    ferry_log(FERRY_LOG_WARN,
                              "%s/%s: referrers tag of %s lost entries to a concurrent push; "
                              "merged and written again",
                              host, g[i].t->name, g[i].subject);
                g[i].written = true;
                pending++;
            }
            if (ferry_monotonic_ms() - t0 > longest)
                longest = ferry_monotonic_ms() - t0;
        }
        if (r < 0 || pending == 0 || round == FALLBACK_ROUNDS)
            break;
        settle = 2 * longest;
        if (settle < FALLBACK_SETTLE_MIN_MS)
            settle = FALLBACK_SETTLE_MIN_MS;
        if (settle > FALLBACK_SETTLE_MAX_MS)
            settle = FALLBACK_SETTLE_MAX_MS;
        ferry_log(FERRY_LOG_DEBUG, "%zu referrers tags written; reading them again in %ld ms",
                  pending, settle);
        ferry_sleep_ms(settle);
    }
    if (r >= 0) {
        for (i = 0; i < ng; i++)
            if (g[i].pending) {
                r = ferry_error_new(err, FERRY_E_HTTP,
                                    "%s/%s: the referrers tag of %s kept losing entries to "
                                    "concurrent writers after %d rounds; push again",
                                    host, g[i].t->name, g[i].subject, FALLBACK_ROUNDS);
                break;
            }
    }
out:
    ferry_strmap_free(groups);
    ferry_free(g);
    ferry_free(refs);
    ferry_free(gidx);
    return r < 0 ? r : 0;
}

/* Upload source: reads one bundle member from its own frame, hashing it; the
 * final bytes are handed over only after the digest matched, so a bad blob
 * never commits. Seeking back reads the member again from its first byte, so
 * the digest always covers every byte that went out. */
struct usrc {
    const struct ferry_verified *v;    /* the bundle as verified (its open file) */
    const struct ferry_stmt_member *m; /* the member uploaded */
    struct ferry_bundle_reader *rd;
    struct ferry_hasher *h;
    struct ferry_digest want;
    uint64_t size, done;
    const char *name;
    struct pool *pool;
    char *skip; /* what a seek reads past (made on first use) */
};

/* Work shared by the push threads: jobs are taken in order under the mutex. */
struct pool {
    struct plan *p;
    pthread_mutex_t mu;
    size_t next, njobs;
    atomic_bool failed;
    _Atomic uint64_t done_bytes;
    uint64_t total_bytes;
    int (*job)(struct pool *pl, struct worker *w, size_t i);
    struct worker *first; /* the worker that failed first (under mu) */
    bool referrers;       /* job_manifests: the referrer phase */
    bool dry_run;         /* job_blob: only HEAD, counting what would go up */
    bool externals;       /* job_blob: this pass mounts a delta's expected blobs only */
    const char *host;     /* the registry, for connections of the pool's own (parked parts) */
    const struct ferry_registry_opts *ropts;
};

struct worker {
    struct pool *pool;
    struct ferry_registry *reg;
    struct ferry_push_report rep;
    struct ferry_error *err;
    int r;
    bool reports_progress; /* only one thread draws progress */
    pthread_t th;
};

static void
pool_progress(struct pool *pl, uint64_t add, const char *repo, bool draw)
{
    uint64_t done = atomic_fetch_add(&pl->done_bytes, add) + add;

    if (draw)
        ferry_progress("push", repo, done, pl->total_bytes);
}

/* (Re)open the member in the file verify read, at its frame offset, and
 * start hashing afresh; it must still be the member that was verified. */
static int
usrc_open(struct usrc *u, struct ferry_error **err)
{
    int r;

    ferry_bundle_reader_free(u->rd);
    u->rd = NULL;
    if ((r = ferry_verified_open_member(u->v, u->m, &u->rd, err)) < 0)
        return r;
    ferry_hasher_reset(u->h);
    u->done = 0;
    return 0;
}

static int64_t
usrc_read(struct usrc *u, void *buf, size_t len, struct ferry_error **err)
{
    struct ferry_digest got;
    uint64_t left = u->size - u->done;
    int64_t n;

    if (left == 0)
        return 0;
    if (atomic_load(&u->pool->failed))
        return ferry_error_new(err, FERRY_E_INTERNAL, "upload of %s cancelled: another push failed",
                               u->name);
    if (len > left)
        len = (size_t)left;
    n = ferry_bundle_reader_read(u->rd, buf, len, err);
    if (n < 0)
        return n;
    if (n == 0)
        return ferry_error_new(err, FERRY_E_SIZE_MISMATCH,
                               "member %s ends after %llu of %llu bytes", u->name,
                               (unsigned long long)u->done, (unsigned long long)u->size);
    ferry_hasher_update(u->h, buf, (size_t)n);
    u->done += (uint64_t)n;
    if (u->done == u->size) {
        ferry_hasher_final(u->h, &got);
        if (strcmp(got.str, u->want.str) != 0)
            return ferry_error_new(err, FERRY_E_DIGEST_MISMATCH,
                                   "member %s has digest %s, the signed statement says %s", u->name,
                                   got.str, u->want.str);
    }
    return n;
}

static int64_t
upload_source(void *buf, size_t len, void *ud, struct ferry_error **err)
{
    return usrc_read(ud, buf, len, err);
}

/* ferry_seek_fn: back means from the start again (the member is read and
 * hashed up to offset); forward reads and hashes the bytes in between. */
static int
upload_seek(void *ud, uint64_t offset, struct ferry_error **err)
{
    struct usrc *u = ud;
    int64_t n;
    int r;

    if (offset > u->size)
        return ferry_error_new(err, FERRY_E_INTERNAL, "member %s: seek to %llu past its %llu bytes",
                               u->name, (unsigned long long)offset, (unsigned long long)u->size);
    if (offset < u->done) {
        ferry_log(FERRY_LOG_DEBUG, "upload %s: reading it again up to byte %llu", u->want.str,
                  (unsigned long long)offset);
        if ((r = usrc_open(u, err)) < 0)
            return r;
    }
    if (u->done < offset && u->skip == NULL && (u->skip = ferry_malloc(FERRY_IO_BUFSIZE)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    while (u->done < offset) {
        uint64_t want = offset - u->done;
        n = usrc_read(u, u->skip, want < FERRY_IO_BUFSIZE ? (size_t)want : FERRY_IO_BUFSIZE, err);
        if (n < 0)
            return (int)n;
    }
    return 0;
}

/* Upload member m of the volume (or bundle) `from` to repo, reading it from
 * its own frame offset. */
static int
upload_one(struct pool *pl, struct worker *w, const struct ferry_verified *from,
           const struct ferry_stmt_member *m, const char *repo, struct ferry_error **err)
{
    struct usrc u = {0};
    int r;

    if ((r = ferry_digest_parse(m->digest, &u.want, err)) < 0)
        return r;
    u.v = from;
    u.m = m;
    u.size = (uint64_t)m->size;
    u.name = m->path;
    u.pool = pl;
    u.h = ferry_hasher_new(u.want.alg);
    if (u.h == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    if ((r = usrc_open(&u, err)) < 0)
        goto out;
    ferry_log(FERRY_LOG_DEBUG, "upload %s to %s", m->digest, repo);
    r = ferry_registry_put_blob(w->reg, repo, m->digest, m->size, upload_source, upload_seek, &u,
                                err);
    if (r < 0) {
        ferry_error_wrap(err, "push %s@%s", repo, m->digest);
        goto out;
    }
    w->rep.blobs_uploaded++;
    w->rep.bytes_uploaded += u.size;
out:
    ferry_free(u.skip);
    ferry_hasher_free(u.h);
    ferry_bundle_reader_free(u.rd);
    return r;
}

/* A delta's expected blob: check_externals found it in the repositories
 * marked done, or in nd->from; the others get it mounted from there. */
static int
job_external(struct pool *pl, struct worker *w, struct need *nd)
{
    int r;

    for (size_t i = 0; i < nd->nrepos; i++) {
        if (nd->done[i]) {
            w->rep.blobs_present++;
            continue;
        }
        if (pl->dry_run) {
            if (nd->from != NULL) /* else it is reported missing */
                w->rep.blobs_mounted++;
            continue;
        }
        r = nd->from != NULL ? ferry_registry_mount_blob(w->reg, nd->repos[i]->name, nd->digest,
                                                         nd->from, &w->err)
                             : 0;
        if (r < 0)
            return r;
        if (r == 0)
            return ferry_error_new(&w->err, FERRY_E_BASE_MISSING,
                                   "delta bundle: %s, expected in %s, could not be mounted from "
                                   "%s: import its base first",
                                   nd->digest, nd->repos[i]->name,
                                   nd->from ? nd->from : "anywhere");
        w->rep.blobs_mounted++;
        nd->done[i] = true;
    }
    return 0;
}

/* One blob into every repository that needs it: HEAD, then mount from a
 * repository that has it, else upload. */
/* Note the volumes that would bring an absent blob: its own, or those of
 * its parts that are neither in this run nor parked. */
static int
wait_on(struct pool *pl, struct worker *w, struct need *nd, const struct part_loc *loc)
{
    const struct ferry_stmt_member *m = ferry_strmap_get(pl->p->v->away, nd->digest);
    size_t n = nd->split ? nd->split->parts : 1;

    nd->absent = true;
    ferry_free(nd->wait);
    nd->nwait = 0;
    if ((nd->wait = ferry_calloc(n, sizeof *nd->wait)) == NULL)
        return ferry_error_new(&w->err, FERRY_E_NOMEM, "out of memory");
    if (nd->split == NULL && m != NULL)
        nd->wait[nd->nwait++] = m->volume;
    for (size_t k = 0; nd->split != NULL && loc != NULL && k < n; k++)
        if (loc[k].from == NULL && !loc[k].parked)
            nd->wait[nd->nwait++] = loc[k].m->volume;
    return 0;
}

/* A blob carried in parts that no repository of the push holds yet: with
 * every part here or parked, it is put together into the first repository
 * (*have); else the parts of this run are parked in the records
 * repository for a later run, and the blob waits on the others. */
static int
job_split(struct pool *pl, struct worker *w, struct need *nd, size_t into, struct trepo **have)
{
    const struct ferry_stmt_split *x = nd->split;
    struct ferry_registry *own = NULL;
    struct parts_src *src = NULL;
    struct part_loc *loc = NULL;
    const char *parts_repo = pl->p->parts_repo, *repo = nd->repos[into]->name;
    bool all = true, parked = false;
    size_t k;
    int r;

    if ((r = parts_locate(pl->p->vols, pl->p->nvols, x, w->reg, parts_repo, &loc, &w->err)) < 0)
        goto out;
    for (k = 0; k < x->parts; k++) {
        all = all && (loc[k].from != NULL || loc[k].parked);
        parked = parked || (loc[k].from == NULL && loc[k].parked);
    }
    if (!all) {
        for (k = 0; k < x->parts && !pl->dry_run; k++) {
            if (loc[k].from == NULL || loc[k].parked)
                continue;
            if ((r = upload_one(pl, w, loc[k].from, loc[k].m, parts_repo, &w->err)) < 0)
                goto out;
            loc[k].parked = true;
            w->rep.parts_parked++;
        }
        r = wait_on(pl, w, nd, loc);
        goto out;
    }
    if (pl->dry_run) {
        w->rep.blobs_missing++;
        w->rep.bytes_missing += (uint64_t)x->size;
        r = 0;
        goto out;
    }
    if (parked && (r = ferry_registry_new(pl->host, pl->ropts, &own, &w->err)) < 0)
        goto out;
    if ((r = parts_src_new(x, loc, own, parts_repo, &pl->failed, &src, &w->err)) < 0)
        goto out;
    ferry_log(FERRY_LOG_INFO, "%s: putting %s together from its %zu parts", repo, x->digest,
              x->parts);
    r = ferry_registry_put_blob(w->reg, repo, x->digest, x->size, parts_src_read, parts_src_seek,
                                src, &w->err);
    if (r < 0) {
        ferry_error_wrap(&w->err, "push %s@%s", repo, x->digest);
        goto out;
    }
    w->rep.blobs_uploaded++;
    w->rep.bytes_uploaded += (uint64_t)x->size;
    nd->done[into] = true;
    *have = nd->repos[into];
out:
    parts_src_free(src);
    ferry_registry_free(own);
    ferry_free(loc);
    return r;
}

/* HEAD the blob in every repository that needs it: done[] says where it is,
 * *have the first of those (or NULL). */
static int
head_all(struct worker *w, struct need *nd, struct trepo **have)
{
    for (size_t i = 0; i < nd->nrepos; i++) {
        int r = ferry_registry_head_blob(w->reg, nd->repos[i]->name, nd->digest, NULL, &w->err);
        if (r < 0)
            return r;
        nd->done[i] = r == 1;
        if (r == 1) {
            w->rep.blobs_present++;
            if (*have == NULL)
                *have = nd->repos[i];
        }
    }
    return 0;
}

/* A volume set's blob that no volume of this run holds: the target may
 * have it already (from an earlier volume), in one repository or another
 * (mounted from there), or it is put together from its parts; else it is
 * absent, and what needs it waits. */
static int
job_away(struct pool *pl, struct worker *w, struct need *nd)
{
    struct trepo *have = NULL;
    size_t i;
    int r;

    if ((r = head_all(w, nd, &have)) < 0)
        return r;
    if (have == NULL && nd->split != NULL && (r = job_split(pl, w, nd, 0, &have)) < 0)
        return r;
    if (have == NULL)
        return nd->absent ? 0 : pl->dry_run && nd->split ? 0 : wait_on(pl, w, nd, NULL);
    for (i = 0; i < nd->nrepos; i++) {
        if (nd->done[i])
            continue;
        if (pl->dry_run) {
            w->rep.blobs_mounted++;
            continue;
        }
        r = ferry_registry_mount_blob(w->reg, nd->repos[i]->name, nd->digest, have->name, &w->err);
        if (r < 0)
            return r;
        if (r == 0 && nd->split != NULL) {
            /* no volume carries it whole: put it together here too */
            struct trepo *also = NULL;
            if ((r = job_split(pl, w, nd, i, &also)) < 0)
                return r;
            if (also == NULL)
                return 0; /* waits, on the volumes job_split named */
            continue;
        }
        if (r == 0) /* the registry would not mount it: its volume brings it */
            return wait_on(pl, w, nd, NULL);
        w->rep.blobs_mounted++;
        nd->done[i] = true;
    }
    return 0;
}

static int
job_blob(struct pool *pl, struct worker *w, size_t idx)
{
    struct need *nd = pl->p->needlist[idx];
    const struct ferry_stmt_member *m;
    const struct ferry_verified *from = NULL;
    struct trepo *have = NULL;
    size_t i;
    int r = 0;

    m = ferry_verified_find_blob(pl->p->vols, pl->p->nvols, nd->digest, &from);
    /* a delta's expected blobs are mounted in a pass of their own, before
     * anything is uploaded: a mount refused stops the push with no upload */
    if (pl->externals != (nd->x != NULL))
        return 0;
    if (m == NULL && nd->x != NULL)
        return job_external(pl, w, nd);
    if (m == NULL && pl->p->v->st->volumes > 0)
        return job_away(pl, w, nd);
    if (m == NULL)
        return ferry_error_new(&w->err, FERRY_E_BUNDLE, "blob %s is not in the bundle", nd->digest);
    if (pl->dry_run) {
        for (i = 0; i < nd->nrepos; i++) {
            if ((r = ferry_registry_head_blob(w->reg, nd->repos[i]->name, nd->digest, NULL,
                                              &w->err)) < 0)
                return r;
            if (r == 1)
                w->rep.blobs_present++;
            else if (have == NULL) {
                w->rep.blobs_missing++;
                w->rep.bytes_missing += (uint64_t)m->size;
                have = nd->repos[i]; /* the rest would be mounted */
            } else {
                w->rep.blobs_mounted++;
            }
        }
        return 0;
    }
    if ((r = head_all(w, nd, &have)) < 0)
        return r;
    for (i = 0; i < nd->nrepos; i++) {
        if (nd->done[i])
            continue;
        if (have != NULL) {
            r = ferry_registry_mount_blob(w->reg, nd->repos[i]->name, nd->digest, have->name,
                                          &w->err);
            if (r < 0)
                return r;
            if (r == 1) {
                w->rep.blobs_mounted++;
                nd->done[i] = true;
                continue;
            }
        }
        if ((r = upload_one(pl, w, from, m, nd->repos[i]->name, &w->err)) < 0)
            return r;
        nd->done[i] = true;
        have = nd->repos[i];
    }
    pool_progress(pl, (uint64_t)m->size, nd->nrepos ? nd->repos[0]->name : "blobs",
                  w->reports_progress);
    return 0;
}

/* A manifest PUT refused because the registry does not know something it
 * references (MANIFEST_BLOB_UNKNOWN, BLOB_UNKNOWN): what this push saw as
 * present was, for a moment, not linked. It happens when another import
 * uploads the same blob into the same repository at the same time
 * (distribution relinks it on commit). Make sure of what vm references
 * (a HEAD each; upload from the bundle, or PUT a child manifest, what is
 * missing), then the PUT is tried again. */
#define PUT_ATTEMPTS 4

static bool
blob_unknown(const struct ferry_error *e)
{
    return e != NULL && e->code == FERRY_E_HTTP && e->http_status == 400 && e->msg != NULL &&
           strstr(e->msg, "BLOB_UNKNOWN") != NULL;
}

static int
ensure_blob(struct pool *pl, struct worker *w, struct trepo *t, const struct ferry_descriptor *d)
{
    const struct ferry_stmt_member *m;
    const struct ferry_verified *from = NULL;
    int r;

    if ((r = ferry_registry_head_blob(w->reg, t->name, d->digest, NULL, &w->err)) != 0)
        return r < 0 ? r : 0;
    m = ferry_verified_find_blob(pl->p->vols, pl->p->nvols, d->digest, &from);
    if (m == NULL && ferry_strmap_get(pl->p->v->externals, d->digest) != NULL)
        return ferry_error_new(&w->err, FERRY_E_BASE_MISSING,
                               "delta bundle: %s, expected in %s, went missing while this push "
                               "ran: import its base again",
                               d->digest, t->name);
    if (m == NULL)
        return ferry_error_new(&w->err, FERRY_E_BUNDLE, "blob %s is not in the bundle", d->digest);
    ferry_log(FERRY_LOG_WARN, "%s: blob %s went missing; uploading it again", t->name, d->digest);
    return upload_one(pl, w, from, m, t->name, &w->err);
}

static int
ensure_children(struct pool *pl, struct worker *w, struct trepo *t,
                const struct ferry_layout_manifest *vm)
{
    int r = 0;

    if (vm->m->kind == FERRY_KIND_INDEX) {
        for (size_t i = 0; i < vm->m->nmanifests && r >= 0; i++) {
            const struct ferry_descriptor *d = &vm->m->manifests[i];
            struct ferry_layout_manifest *cm =
                ferry_layout_get_manifest(pl->p->v->layout, d->digest);
            if (cm == NULL || cm->m == NULL) {
                r = ensure_blob(pl, w, t, d); /* a plain blob listed in an index */
                continue;
            }
            r = ferry_registry_put_manifest(w->reg, t->name, cm->digest, cm->m->media_type,
                                            cm->data, cm->len, NULL, &w->err);
        }
        return r;
    }
    if ((r = ensure_blob(pl, w, t, &vm->m->config)) < 0)
        return r;
    for (size_t i = 0; i < vm->m->nlayers && r >= 0; i++)
        r = ensure_blob(pl, w, t, &vm->m->layers[i]);
    return r;
}

/* The manifests of one repository, children before parents. */
static int
job_manifests(struct pool *pl, struct worker *w, size_t idx)
{
    struct trepo *t = pl->p->repos[idx];
    size_t j = pl->referrers ? t->nimage : 0;
    size_t end = pl->referrers ? t->nmanifests : t->nimage;
    int r;

    for (; j < end && !atomic_load(&pl->failed); j++) {
        struct ferry_layout_manifest *vm = t->manifests[j];
        struct ferry_manifest_info info = {0};
        r = ferry_registry_head_manifest(w->reg, t->name, vm->digest, &info, &w->err);
        ferry_manifest_info_clear(&info);
        if (r < 0)
            return r;
        if (r == 1) {
            w->rep.manifests_present++;
            continue;
        }
        for (int attempt = 1;; attempt++) {
            r = ferry_registry_put_manifest(w->reg, t->name, vm->digest, vm->m->media_type,
                                            vm->data, vm->len, NULL, &w->err);
            if (r >= 0 || !blob_unknown(w->err) || attempt == PUT_ATTEMPTS)
                break;
            ferry_log(FERRY_LOG_WARN, "%s; checking what it references (attempt %d of %d)",
                      w->err->msg, attempt + 1, PUT_ATTEMPTS);
            ferry_error_clear(&w->err);
            ferry_sleep_ms(100L * attempt);
            if ((r = ensure_children(pl, w, t, vm)) < 0)
                break;
        }
        if (r < 0)
            return ferry_error_wrap(&w->err, "push %s@%s", t->name, vm->digest);
        w->rep.manifests_pushed++;
        if (ferry_strmap_put(t->fresh, vm->digest, (void *)1) < 0)
            return ferry_error_new(&w->err, FERRY_E_NOMEM, "out of memory");
    }
    return 0;
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct pool *pl = w->pool;

    for (;;) {
        size_t i;
        pthread_mutex_lock(&pl->mu);
        i = pl->next++;
        pthread_mutex_unlock(&pl->mu);
        if (i >= pl->njobs || atomic_load(&pl->failed))
            break;
        if ((w->r = pl->job(pl, w, i)) < 0) {
            /* Others see `failed` and cancel their uploads; the error to
             * report is this first one, not their cancellations. */
            pthread_mutex_lock(&pl->mu);
            if (pl->first == NULL)
                pl->first = w;
            pthread_mutex_unlock(&pl->mu);
            atomic_store(&pl->failed, true);
            break;
        }
    }
    return NULL;
}

/* Run njobs jobs on the workers (the calling thread is worker 0). The error
 * of the job that failed first is returned. */
static int
run_pool(struct pool *pl, struct worker *ws, size_t nw, size_t njobs,
         int (*job)(struct pool *, struct worker *, size_t), struct ferry_error **err)
{
    size_t i, started = 0;
    int r = 0;

    pl->next = 0;
    pl->njobs = njobs;
    pl->job = job;
    pl->first = NULL;
    atomic_store(&pl->failed, false);
    if (nw > njobs)
        nw = njobs ? njobs : 1;
    for (i = 1; i < nw; i++) {
        ws[i].r = 0;
        if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) != 0)
            break;
        started++;
    }
    ws[0].r = 0;
    worker_main(&ws[0]);
    for (i = 1; i <= started; i++)
        pthread_join(ws[i].th, NULL);
    if (pl->first != NULL) {
        r = pl->first->r;
        *err = pl->first->err;
        pl->first->err = NULL;
    }
    for (i = 0; i <= started; i++)
        ferry_error_clear(&ws[i].err);
    return r;
}

/* Tags last, each after its record: per image, in the bundle's order.
 * Refused images are reported, their tags untouched; a dry run reports what
 * would happen (and what a delta would miss) without writing. */
static int
push_tags(struct plan *p, struct ferry_registry *reg, const char *host, bool dry_run,
          ferry_pushed_fn cb, void *ud, struct ferry_push_report *rep, struct ferry_error **err)
{
    const struct ferry_statement *st = p->v->st;
    size_t i;
    int r;

    for (i = 0; i < st->nimages; i++) {
        const struct ferry_stmt_image *im = &st->images[i];
        struct ferry_layout_manifest *vm = ferry_layout_get_manifest(p->v->layout, im->digest);
        struct trepo *t = ferry_strmap_get(p->repomap, p->targets[i]);
        const struct tag_record *rec = &p->recs[i];
        struct ferry_manifest_info info = {0};
        struct ferry_pushed what = {0};
        char *target, *reason = NULL;
        const char *tag = p->tags[i];
        what.dry_run = dry_run;
        what.result = t != NULL && ferry_strmap_get(t->fresh, im->digest) != NULL
                          ? FERRY_PUSH_PUSHED
                          : FERRY_PUSH_UNCHANGED;
        if (tag != NULL)
            target = ferry_asprintf("%s/%s:%s", host, p->targets[i], tag);
        else
            target = ferry_asprintf("%s/%s@%s", host, p->targets[i], im->digest);
        if (target == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        if (p->refused[i] != NULL) {
            rep->refused++;
            what.result = FERRY_PUSH_REFUSED;
            what.reason = p->refused[i];
        } else if (p->waiting[i] != NULL) {
            rep->waiting++;
            what.result = FERRY_PUSH_WAITING;
            what.reason = p->waiting[i];
        } else if (dry_run && p->nmissing > 0) {
            struct ferry_strmap *seen = ferry_strmap_new();
            if (seen != NULL && image_missing(p, im->digest, 0, seen)) {
                what.result = FERRY_PUSH_MISSING;
                what.reason = "the target lacks blobs this delta expects there";
            }
            ferry_strmap_free(seen);
        }
        if (tag == NULL && dry_run && what.result == FERRY_PUSH_UNCHANGED &&
            p->waiting[i] == NULL) {
            r = ferry_registry_head_manifest(reg, p->targets[i], im->digest, &info, err);
            if (r < 0)
                goto fail;
            what.result = r == 1 ? FERRY_PUSH_UNCHANGED : FERRY_PUSH_PUSHED;
            ferry_manifest_info_clear(&info);
        }
        if (tag != NULL && what.result != FERRY_PUSH_REFUSED && what.result != FERRY_PUSH_WAITING) {
            r = ferry_registry_head_manifest(reg, p->targets[i], tag, &info, err);
            if (r < 0)
                goto fail;
            if (r == 1 && info.digest && strcmp(info.digest, im->digest) == 0) {
                rep->tags_unchanged++;
                what.result = FERRY_PUSH_UNCHANGED;
            } else if (rec->found && rec->created_t > p->created && !p->downgrade[i] &&
                       strcmp(rec->digest, im->digest) != 0) {
                /* let through because the tag held this image, it has moved
                 * since: a newer bundle's record never lets it move back (a
                 * newer record of this very digest is no move back: the
                 * newer bundle sets the tag to it too) */
                rep->refused++;
                what.result = FERRY_PUSH_REFUSED;
                reason = ferry_asprintf("older than the bundle that set it (%s)", rec->created);
                what.reason = reason ? reason : "older than the bundle that set it";
            } else if (what.result != FERRY_PUSH_MISSING) {
                if (!dry_run &&
                    (r = ferry_registry_put_manifest(reg, p->targets[i], tag, vm->m->media_type,
                                                     vm->data, vm->len, NULL, err)) < 0) {
                    /* the record, written first, may be ahead of the tag:
                     * the same bundle pushed again sets it */
                    ferry_error_wrap(err, "tag %s/%s:%s", host, p->targets[i], tag);
                    goto fail;
                }
                rep->tags_set++;
                what.result = info.digest != NULL ? FERRY_PUSH_MOVED : FERRY_PUSH_PUSHED;
                if (p->downgrade[i]) {
                    what.downgrade = true;
                    reason = rec->found ? ferry_asprintf("downgrade allowed: older than the "
                                                         "bundle that set it (%s)",
                                                         rec->created)
                                        : ferry_strdup("downgrade allowed: its tag record was "
                                                       "not one ferry wrote");
                    what.reason = reason;
                }
            }
        }
        if (cb) {
            what.source = im->source;
            what.target = target;
            what.digest = im->digest;
            what.previous = what.result == FERRY_PUSH_MOVED ? info.digest : NULL;
            cb(&what, ud);
        }
        ferry_free(reason);
        ferry_manifest_info_clear(&info);
        ferry_free(target);
        continue;
    fail:
        ferry_free(reason);
        ferry_manifest_info_clear(&info);
        ferry_free(target);
        return r;
    }
    return 0;
}

/* cosign's attachments, under their tag in the repository they landed in
 * (pushed by digest with the other referrers): set when the tag is missing
 * or names another digest. The attachment travelled signed with its
 * subject, so it replaces what the target had; a moved tag is reported
 * with the digest it held. A tag that cannot be set does not stop the
 * images' tags: the first such error goes to *late, the push fails with it
 * at the end. A dry run only reads the tags: what would be set. */
static int
push_attachment_tags(struct plan *p, struct ferry_registry *reg, const char *host, bool dry_run,
                     struct ferry_push_report *rep, struct ferry_error **late)
{
    struct ferry_error *e = NULL, **err = &e;

    for (size_t i = 0; i < p->nrplans; i++) {
        struct rplan *rp = &p->rplans[i];
        const struct ferry_stmt_referrer *rf = rp->rf;
        struct ferry_layout_manifest *vm;
        struct ferry_manifest_info info = {0};
        int r;
        if (rf->tag == NULL)
            continue;
        vm = ferry_layout_get_manifest(p->v->layout, rf->digest);
        if ((r = ferry_registry_head_manifest(reg, rp->t->name, rf->tag, &info, err)) < 0)
            goto failed;
        if (r == 1 && info.digest != NULL && strcmp(info.digest, rf->digest) == 0) {
            rp->tag_result = FERRY_PUSH_UNCHANGED;
            rep->attachment_tags_unchanged++;
            ferry_manifest_info_clear(&info);
            continue;
        }
        if (vm == NULL) {
            ferry_manifest_info_clear(&info);
            r = ferry_error_new(err, FERRY_E_BUNDLE, "attachment %s is not in the bundle",
                                rf->digest);
            goto failed;
        }
        if (!dry_run && (r = ferry_registry_put_manifest(reg, rp->t->name, rf->tag, rf->media_type,
                                                         vm->data, vm->len, NULL, err)) < 0) {
            ferry_manifest_info_clear(&info);
            goto failed;
        }
        rep->attachment_tags_set++;
        rp->tag_result = info.digest != NULL ? FERRY_PUSH_MOVED : FERRY_PUSH_PUSHED;
        rp->tag_previous = info.digest;
        info.digest = NULL;
        ferry_manifest_info_clear(&info);
        continue;
    failed:
        if (r == -FERRY_E_NOMEM) {
            ferry_error_free(e);
            return r;
        }
        ferry_error_wrap(err, "tag %s/%s:%s", host, rp->t->name, rf->tag);
        ferry_log(FERRY_LOG_ERROR, "%s", e->msg);
        if (*late == NULL)
            *late = e;
        else
            ferry_error_free(e);
        e = NULL;
    }
    return 0;
}

/* The record of each tag about to be set (before it moves, so a crash
 * between the two leaves the record ahead, never behind): written when there
 * is none, the bundle is newer than it, or a downgrade is allowed. Each
 * record is read again first: another import may have set the tag from a
 * newer bundle while this one uploaded, and then this image is refused
 * after all (its blobs and manifests are in, its tag untouched). */
static int
write_records(struct plan *p, struct ferry_registry *reg, bool allow_downgrade,
              struct ferry_error **err)
{
    const struct ferry_statement *st = p->v->st;
    int r;

    for (size_t i = 0; i < st->nimages; i++) {
        struct tag_record *rec = &p->recs[i], now;
        if (p->tags[i] == NULL || p->refused[i] != NULL || p->waiting[i] != NULL)
            continue;
        if (!p->downgrade[i]) {
            if ((r = record_get(reg, p->targets[i], p->tags[i], &now, err)) < 0)
                return r;
            /* a newer bundle set it while this push ran */
            bool moved = now.found && now.created_t > p->created &&
                         (!rec->found || now.created_t != rec->created_t ||
                          strcmp(now.digest, rec->digest) != 0) &&
                         strcmp(now.digest, st->images[i].digest) != 0;
            if (moved && !allow_downgrade) {
                ferry_log(FERRY_LOG_WARN,
                          "%s:%s was set by a newer bundle (%s) while this push ran; its image "
                          "is refused",
                          p->targets[i], p->tags[i], now.created);
                p->refused[i] =
                    ferry_asprintf("older than the bundle that set it (%s)", now.created);
                record_clear(&now);
                if (p->refused[i] == NULL)
                    return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
                continue;
            }
            if (moved) { /* --allow-downgrade: it moves back, reported as such */
                ferry_log(FERRY_LOG_WARN,
                          "%s:%s was set by a newer bundle (%s) while this push ran; moving it "
                          "back (--allow-downgrade)",
                          p->targets[i], p->tags[i], now.created);
                p->downgrade[i] = true;
            }
            record_clear(rec);
            *rec = now;
        }
        if (rec->found && rec->created_t >= p->created && !p->downgrade[i] &&
            !(rec->created_t == p->created && strcmp(rec->digest, st->images[i].digest) != 0))
            continue;
        if ((r = record_put(reg, p->targets[i], p->tags[i], st->images[i].digest, p->v, err)) < 0)
            return r;
    }
    return 0;
}

/* A dry run: the referrer manifests the target lacks, which a push would
 * write (marked fresh, so they are reported new). */
static int
dry_referrers(struct plan *p, struct ferry_registry *reg, struct ferry_push_report *rep,
              struct ferry_error **err)
{
    for (size_t i = 0; i < p->nrplans; i++) {
        struct trepo *t = p->rplans[i].t;
        const char *digest = p->rplans[i].rf->digest;
        int r;
        if (ferry_strmap_get(t->fresh, digest) != NULL)
            continue; /* one manifest, two subjects */
        if ((r = ferry_registry_head_manifest(reg, t->name, digest, NULL, err)) < 0)
            return ferry_error_wrap(err, "referrer %s@%s", t->name, digest);
        if (r == 1)
            continue;
        if (ferry_strmap_put(t->fresh, digest, (void *)1) < 0)
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        rep->referrers_new++;
    }
    return 0;
}

/* Each referrer, where it landed and whether this push wrote it (a dry
 * run: would write it). */
static int
report_referrers(struct plan *p, const char *host, bool dry_run, ferry_pushed_fn cb, void *ud,
                 struct ferry_error **err)
{
    const struct ferry_statement *st = p->v->st;

    /* those that wait on volumes (their image's, or their own content) */
    for (size_t i = 0; cb != NULL && i < st->nreferrers; i++) {
        const struct ferry_stmt_referrer *rf = &st->referrers[i];
        struct ferry_pushed what = {.dry_run = dry_run};
        char *target;
        if (p->refused[rf->image] != NULL || (!p->rwaiting[i] && p->waiting[rf->image] == NULL))
            continue;
        /* where it would land: with its image, or its recorded target */
        target = rf->target != NULL
                     ? ferry_asprintf("%s@%s", rf->target, rf->digest)
                     : ferry_asprintf("%s/%s@%s", host, p->targets[rf->image], rf->digest);
        if (target == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        what.source = rf->source;
        what.target = target;
        what.digest = rf->digest;
        what.result = FERRY_PUSH_WAITING;
        what.reason = p->waiting[rf->image] ? p->waiting[rf->image] : "waiting on a volume";
        what.subject = rf->subject;
        what.artifact_type = rf->artifact_type;
        cb(&what, ud);
        ferry_free(target);
    }
    for (size_t i = 0; cb != NULL && i < p->nrplans; i++) {
        const struct ferry_stmt_referrer *rf = p->rplans[i].rf;
        struct trepo *t = p->rplans[i].t;
        struct ferry_pushed what = {.dry_run = dry_run};
        char *target = rf->tag ? ferry_asprintf("%s/%s:%s", host, t->name, rf->tag)
                               : ferry_asprintf("%s/%s@%s", host, t->name, rf->digest);
        if (target == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        what.source = rf->source;
        what.target = target;
        what.digest = rf->digest;
        what.result = ferry_strmap_get(t->fresh, rf->digest) != NULL ? FERRY_PUSH_PUSHED
                                                                     : FERRY_PUSH_UNCHANGED;
        if (rf->tag != NULL && p->rplans[i].tag_result != 0) {
            what.result = p->rplans[i].tag_result;
            what.previous = p->rplans[i].tag_previous;
        }
        what.subject = rf->subject;
        what.artifact_type = rf->artifact_type;
        cb(&what, ud);
        ferry_free(target);
    }
    return 0;
}

void
ferry_push_report_clear(struct ferry_push_report *rep)
{
    if (rep == NULL)
        return;
    ferry_strv_free(rep->repos, rep->nrepos);
    ferry_free(rep->host);
    ferry_free(rep->volumes_missing);
    rep->host = NULL;
    rep->repos = NULL;
    rep->nrepos = 0;
    rep->volumes_missing = NULL;
    rep->nvolumes_missing = 0;
}

int
ferry_import_push(const char *path, const struct ferry_verified *v, const struct ferry_push_opts *o,
                  ferry_pushed_fn cb, void *ud, struct ferry_push_report *rep,
                  struct ferry_error **err)
{
    (void)path; /* blobs are read from the file v holds open: what verify read */
    return ferry_import_push_set(&v, 1, o, cb, ud, rep, err);
}

/* The signature gate: an image without a signature by a required key is
 * refused before anything is written. With a volume set, one whose
 * signature blobs are on no volume given nor in the target waits on them
 * (find_waiting, once its blobs here are up). */
struct gate {
    struct plan *p;
    size_t bad;
    bool oom;
    bool policy; /* the verdicts say "policy: ..." themselves */
};

static void
gate_verdict(size_t image, const struct ferry_sig_verdict *vd, const unsigned *waits, size_t nwaits,
             void *ud)
{
    struct gate *g = ud;

    if (nwaits > 0) { /* judged when those volumes come (find_waiting) */
        unsigned *w = ferry_calloc(nwaits + 1, sizeof *w);
        if (w == NULL) {
            g->oom = true;
            return;
        }
        memcpy(w, waits, nwaits * sizeof *w);
        ferry_free(g->p->sigwait[image]);
        g->p->sigwait[image] = w;
        g->p->nsigwait++;
        return;
    }
    if (vd->ok) {
        ferry_log(FERRY_LOG_INFO, "%s: signed%s%.16s%s%s", g->p->v->st->images[image].source,
                  vd->key_id[0] ? " by key " : "", vd->key_id, vd->identity[0] ? " by " : "",
                  vd->identity);
        return;
    }
    g->bad++;
    ferry_free(g->p->refused[image]);
    g->p->refused[image] = g->policy ? ferry_strdup(vd->why)
                                     : ferry_asprintf("not signed by a required key: %s", vd->why);
    if (g->p->refused[image] == NULL)
        g->oom = true;
}

/* A volume set: a signature blob no volume given holds, from the image's
 * target repository or one its referrers land in (--referrers-tgt), where
 * a run with its volume uploaded it (its digest is checked by the registry
 * client and again by the gate). */
struct gate_remote {
    struct plan *p;
    struct ferry_registry *reg;
    bool have_to;
};

/* 1 read from repo, 0 not there (one GET: a 404 is the answer). */
static int
remote_read(struct gate_remote *gr, const char *repo, const char *digest, int64_t size,
            struct ferry_buf *out, struct ferry_error **err)
{
    int r = ferry_registry_get_blob_buf(gr->reg, repo, digest, size, out, err);

    if (r == -FERRY_E_NOT_FOUND) {
        ferry_error_clear(err);
        return 0;
    }
    if (r < 0)
        return r == -FERRY_E_TOO_LARGE
                   ? r
                   : ferry_error_wrap(err, "signature blob %s in %s", digest, repo);
    return 1;
}

static int
gate_remote_blob(void *ud, size_t image, const char *digest, int64_t size, struct ferry_buf *out,
                 struct ferry_error **err)
{
    struct gate_remote *gr = ud;
    const struct ferry_statement *st = gr->p->v->st;
    int r = remote_read(gr, gr->p->targets[image], digest, size, out, err);

    for (size_t i = 0; r == 0 && i < st->nreferrers; i++) {
        const struct ferry_stmt_referrer *rf = &st->referrers[i];
        char *name = NULL;
        if (rf->image != image || rf->target == NULL)
            continue;
        if ((r = map_target(gr->p, rf->target, gr->p->prefix, gr->have_to, &name, NULL, err)) < 0)
            return r;
        if (strcmp(name, gr->p->targets[image]) != 0)
            r = remote_read(gr, name, digest, size, out, err);
        ferry_free(name);
    }
    return r;
}

static int
signature_gate(struct plan *p, struct ferry_registry *reg, bool have_to,
               const struct ferry_sig_gate *gate, struct ferry_push_report *rep,
               struct ferry_error **err)
{
    struct gate g = {p, 0, false, gate->policy != NULL};
    struct gate_remote gr = {p, reg, have_to};
    struct import_sig_remote remote = {gate_remote_blob, &gr};
    int r;

    if (p->v->st->volumes > 0 &&
        (p->sigwait =
             ferry_calloc(p->v->st->nimages ? p->v->st->nimages : 1, sizeof *p->sigwait)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    r = import_check_signatures(p->vols, p->nvols, p->v->st->volumes > 0 ? &remote : NULL, gate,
                                gate_verdict, &g, NULL, err);
    if (r < 0)
        return r;
    if (g.oom)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    rep->unsigned_images = g.bad;
    return 0;
}

/* Volumes pushed together are of one set, each once. */
static int
check_set(const struct ferry_verified *const *vols, size_t nvols, struct ferry_error **err)
{
    const struct ferry_verified *a = nvols > 0 ? vols[0] : NULL;

    if (nvols == 0)
        return ferry_error_new(err, FERRY_E_USAGE, "no bundle to push");
    if (a->st_borrowed || a->layout == NULL)
        return ferry_error_new(err, FERRY_E_USAGE,
                               "the first volume given must hold its own statement and graph");
    for (size_t i = 1; i < nvols; i++) {
        const struct ferry_verified *b = vols[i];
        if (a->volume == 0 || b->volume == 0)
            return ferry_error_new(err, FERRY_E_USAGE,
                                   "only volumes of one set are pushed together; push bundles one "
                                   "at a time");
        if (strcmp(a->set, b->set) != 0)
            return ferry_error_new(err, FERRY_E_USAGE,
                                   "volume %u is of set %s, volume %u of set %s: push each set on "
                                   "its own",
                                   a->volume, a->set, b->volume, b->set);
        for (size_t j = 0; j < i; j++)
            if (vols[j]->volume == b->volume)
                return ferry_error_new(err, FERRY_E_USAGE, "volume %u is given twice", b->volume);
        if (b->st_borrowed && b->st != a->st)
            return ferry_error_new(err, FERRY_E_USAGE,
                                   "volume %u shares another volume's statement than the first's",
                                   b->volume);
    }
    return 0;
}

int
ferry_import_push_set(const struct ferry_verified *const *vols, size_t nvols,
                      const struct ferry_push_opts *o, ferry_pushed_fn cb, void *ud,
                      struct ferry_push_report *rep, struct ferry_error **err)
{
    const struct ferry_verified *v = nvols > 0 ? vols[0] : NULL;
    struct ferry_push_report dummy;
    struct plan p;
    struct pool pl;
    struct worker *ws = NULL;
    char *host = NULL, *prefix = NULL;
    size_t nw = o->jobs > 0 ? (size_t)o->jobs : 4, i;
    struct ferry_error *late = NULL;
    int r;

    memset(&p, 0, sizeof p);
    if (rep == NULL)
        rep = &dummy;
    memset(rep, 0, sizeof *rep);
    memset(&pl, 0, sizeof pl);
    if ((r = check_set(vols, nvols, err)) < 0)
        return r;
    p.v = v;
    p.vols = vols;
    p.nvols = nvols;
    if (!ferry_time_parse(v->st->created, &p.created)) {
        char q[64];
        r = ferry_error_new(err, FERRY_E_BUNDLE, "bundle created \"%s\" is not an RFC 3339 time",
                            ferry_quote(q, sizeof q, v->st->created, strlen(v->st->created)));
        goto out;
    }
    if (p.created > (int64_t)time(NULL) + 300)
        ferry_log(FERRY_LOG_WARN,
                  "bundle created %s, in the future: its tags' records will refuse every bundle "
                  "created before then (check the export host's clock)",
                  v->st->created);
    if (o->max_age > 0 && (int64_t)time(NULL) - p.created > o->max_age) {
        r = ferry_error_new(err, FERRY_E_REFUSED,
                            "bundle created %s is older than --max-age allows (%lld s): nothing "
                            "was pushed",
                            v->st->created, (long long)o->max_age);
        goto out;
    }
    if (o->to != NULL && (r = ferry_target_parse(o->to, &host, &prefix, err)) < 0)
        goto out;
    p.prefix = prefix;
    if ((r = make_targets(&p, prefix, o->to != NULL, err)) < 0)
        goto out;
    if (host == NULL) {
        host = p.host;
        p.host = NULL;
    }
    if (host == NULL) {
        r = ferry_error_new(err, FERRY_E_USAGE,
                            "nothing to push to: give --to HOST[:PORT][/PREFIX]");
        goto out;
    }
    ws = ferry_calloc(nw, sizeof *ws);
    if (ws == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    /* One registry handle (one connection) per worker, made here: libcurl
     * handles are not shared between threads. */
    for (i = 0; i < nw; i++) {
        ws[i].pool = &pl;
        ws[i].reports_progress = i == 0;
        if ((r = ferry_registry_new(host, &o->reg, &ws[i].reg, err)) < 0)
            goto out;
    }
    /* Nothing is written before these: the signatures required, tag
     * records (refusing images), the plan of what is not refused, a delta's
     * expected blobs. */
    if ((o->require != NULL &&
         (r = signature_gate(&p, ws[0].reg, o->to != NULL, o->require, rep, err)) < 0) ||
        (r = check_records(&p, ws[0].reg, o->allow_downgrade, err)) < 0 ||
        (r = make_plan(&p, prefix, o->to != NULL, err)) < 0 ||
        (r = check_externals(&p, ws[0].reg, host, o->dry_run, err)) < 0)
        goto out;
    if ((rep->host = ferry_strdup(host)) == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < p.nrepos; i++) {
        char *name = ferry_strdup(p.repos[i]->name);
        if (name == NULL || ferry_strv_push(&rep->repos, &rep->nrepos, name) < 0) {
            ferry_free(name);
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
    }
    pl.p = &p;
    pl.dry_run = o->dry_run;
    pl.host = host;
    pl.ropts = &o->reg;
    rep->missing = p.nmissing;
    pthread_mutex_init(&pl.mu, NULL);
    for (i = 0; i < p.nneeds; i++) {
        const struct ferry_stmt_member *m =
            ferry_verified_find_blob(vols, nvols, p.needlist[i]->digest, NULL);
        if (m)
            pl.total_bytes += (uint64_t)m->size;
    }
    /* A delta's expected blobs (mounted), then the bundle's blobs, then
     * manifests per repository, then tags. */
    pl.externals = true;
    r = run_pool(&pl, ws, nw, p.nneeds, job_blob, err);
    pl.externals = false;
    if (r == 0)
        r = run_pool(&pl, ws, nw, p.nneeds, job_blob, err);
    /* a volume set: what waits on volumes not given is left out from here */
    if (r == 0)
        r = find_waiting(&p, prefix, o->to != NULL, rep, err);
    if (r == 0 && !o->dry_run)
        r = run_pool(&pl, ws, nw, p.nrepos, job_manifests, err);
    /* Referrers after every image manifest: a referrer pushed to another
     * repository (--referrers-tgt) must not precede its subject. */
    pl.referrers = true;
    if (r == 0 && !o->dry_run)
        r = run_pool(&pl, ws, nw, p.nrepos, job_manifests, err);
    pthread_mutex_destroy(&pl.mu);
    for (i = 0; i < nw; i++) {
        rep->blobs_uploaded += ws[i].rep.blobs_uploaded;
        rep->blobs_mounted += ws[i].rep.blobs_mounted;
        rep->blobs_present += ws[i].rep.blobs_present;
        rep->bytes_uploaded += ws[i].rep.bytes_uploaded;
        rep->manifests_pushed += ws[i].rep.manifests_pushed;
        rep->manifests_present += ws[i].rep.manifests_present;
        rep->blobs_missing += ws[i].rep.blobs_missing;
        rep->bytes_missing += ws[i].rep.bytes_missing;
        rep->parts_parked += ws[i].rep.parts_parked;
    }
    if (r < 0)
        goto out;
    if (!o->dry_run && (r = push_fallbacks(&p, ws[0].reg, host, rep, err)) < 0)
        goto out;
    if (o->dry_run && (r = dry_referrers(&p, ws[0].reg, rep, err)) < 0)
        goto out;
    if ((r = push_attachment_tags(&p, ws[0].reg, host, o->dry_run, rep, &late)) < 0) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    rep->referrers = p.nrplans;
    if (!o->dry_run && (r = write_records(&p, ws[0].reg, o->allow_downgrade, err)) < 0)
        goto out;
    r = push_tags(&p, ws[0].reg, host, o->dry_run, cb, ud, rep, err);
    if (r == 0)
        r = report_referrers(&p, host, o->dry_run, cb, ud, err);
    if (r == 0 && late != NULL) { /* an attachment tag that could not be set */
        r = -(int)late->code;
        *err = late;
        late = NULL;
    }
out:
    ferry_error_free(late);
    if (ws != NULL)
        for (i = 0; i < nw; i++)
            ferry_registry_free(ws[i].reg);
    ferry_free(ws);
    plan_clear(&p);
    ferry_free(host);
    ferry_free(prefix);
    return r;
}
