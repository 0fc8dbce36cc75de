/* ferry-import list [--json] [-p PUB] BUNDLE */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "import_cmds.h"
#include "ferry/import.h"
#include "ferry/limits.h"

static const char usage[] =
    "usage: ferry-import list [--json] [--referrers] [-p PUBKEY] BUNDLE\n"
    "\n"
    "List the images of a bundle: source reference, digest, platforms, size.\n"
    "Only the signed statement is read. With -p its signature is checked; without,\n"
    "the listing is marked unverified (run 'verify' to check every digest).\n"
    "  --json              machine-readable output on stdout\n"
    "  -r, --referrers     show each image's referrers as a tree\n"
    "  -p, --pubkey FILE   trusted minisign public key (repeatable)\n";

/* The referrer tree of a statement, walked once: each referrer is printed
 * at most once (a hostile statement cannot make the walk exponential), and
 * children are found through a map, not by scanning every referrer. */
struct tree {
    const struct ferry_statement *st;
    struct ferry_strmap *heads; /* "image|subject" -> first referrer + 1 */
    struct ferry_strmap *refs;  /* "image|digest" of every referrer */
    size_t *next;               /* next referrer with the same image and subject */
    bool *printed;
};

static char *
tree_key(size_t image, const char *digest)
{
    return ferry_asprintf("%zu|%s", image, digest);
}

static void
tree_free(struct tree *t)
{
    ferry_strmap_free(t->heads);
    ferry_strmap_free(t->refs);
    ferry_free(t->next);
    ferry_free(t->printed);
}

static int
tree_init(struct tree *t, const struct ferry_statement *st)
{
    size_t n = st->nreferrers ? st->nreferrers : 1, *tail = ferry_calloc(n, sizeof *tail);
    int r = 0;

    t->st = st;
    t->heads = ferry_strmap_new();
    t->refs = ferry_strmap_new();
    t->next = ferry_calloc(n, sizeof *t->next);
    t->printed = ferry_calloc(n, sizeof *t->printed);
    if (!t->heads || !t->refs || !t->next || !t->printed || !tail)
        r = -1;
    /* tail[h]: the last referrer so far of the list that starts at h */
    for (size_t i = 0; i < st->nreferrers && r >= 0; i++) {
        const struct ferry_stmt_referrer *rf = &st->referrers[i];
        char *k = tree_key(rf->image, rf->subject), *d = tree_key(rf->image, rf->digest);
        uintptr_t head = k ? (uintptr_t)ferry_strmap_get(t->heads, k) : 0;
        t->next[i] = SIZE_MAX;
        if (k == NULL || d == NULL) {
            r = -1;
        } else if (head == 0) {
            tail[i] = i;
            r = ferry_strmap_put(t->heads, k, (void *)(uintptr_t)(i + 1));
        } else {
            t->next[tail[head - 1]] = i;
            tail[head - 1] = i;
        }
        if (r >= 0)
            r = ferry_strmap_put(t->refs, d, (void *)1);
        ferry_free(k);
        ferry_free(d);
    }
    ferry_free(tail);
    return r < 0 ? -1 : 0;
}

static size_t
tree_first(const struct tree *t, size_t image, const char *subject)
{
    char *k = tree_key(image, subject);
    uintptr_t head = k ? (uintptr_t)ferry_strmap_get(t->heads, k) : 0;

    ferry_free(k);
    return head ? head - 1 : SIZE_MAX;
}

/* Tree of the referrers of `subject` (like regctl artifact tree). */
static void
print_tree(struct tree *t, size_t image, const char *subject, const char *indent, int depth)
{
    const struct ferry_statement *st = t->st;
    char sz[32], next[256], at[256], tg[512];
    size_t i, nx;

    if (depth > FERRY_MAX_REFERRER_DEPTH)
        return;
    for (i = tree_first(t, image, subject); i != SIZE_MAX; i = nx) {
        const struct ferry_stmt_referrer *rf = &st->referrers[i];
        bool last;
        for (nx = t->next[i]; nx != SIZE_MAX && t->printed[nx]; nx = t->next[nx])
            ;
        if (t->printed[i])
            continue;
        t->printed[i] = true;
        last = nx == SIZE_MAX;
        printf("%s%s %s%s  %.19s  %s%s%s\n", indent, last ? "└──" : "├──",
               rf->tag ? "cosign attachment " : "",
               rf->tag ? rf->tag
               : rf->artifact_type
                   ? ferry_quote(at, sizeof at, rf->artifact_type, strlen(rf->artifact_type))
                   : "(no artifactType)",
               rf->digest, cli_size(sz, sizeof sz, (unsigned long long)rf->size),
               rf->target ? "  -> " : "",
               rf->target ? ferry_quote(tg, sizeof tg, rf->target, strlen(rf->target)) : "");
        /* depth is bounded, so the indent always fits; were it cut, stop there */
        if (snprintf(next, sizeof next, "%s%s", indent, last ? "    " : "│   ") < (int)sizeof next)
            print_tree(t, image, rf->digest, next, depth + 1);
    }
}

static void
print_referrers(struct tree *t, size_t image)
{
    const struct ferry_statement *st = t->st;
    const struct ferry_stmt_image *im = &st->images[image];
    size_t i;

    print_tree(t, image, im->digest, "  ", 0);
    /* Referrers of platform manifests: subjects that are neither the image's
     * top manifest nor a referrer. Each is shown once, at its first referrer. */
    for (i = 0; i < st->nreferrers; i++) {
        const char *subject = st->referrers[i].subject;
        char *k;
        bool is_ref;
        if (st->referrers[i].image != image || t->printed[i] || strcmp(subject, im->digest) == 0)
            continue;
        k = tree_key(image, subject);
        is_ref = k == NULL || ferry_strmap_get(t->refs, k) != NULL;
        ferry_free(k);
        if (is_ref)
            continue;
        printf("  child manifest %.19s\n", subject);
        print_tree(t, image, subject, "    ", 0);
    }
}

/* The members' sizes added up; an unsigned statement may list sizes whose
 * sum overflows, so it saturates. */
static int64_t
content_bytes(const struct ferry_statement *st)
{
    uint64_t t = 0;

    for (size_t i = 0; i < st->nmembers; i++) {
        uint64_t s = (uint64_t)st->members[i].size;
        t = s > (uint64_t)INT64_MAX - t ? (uint64_t)INT64_MAX : t + s;
    }
    return (int64_t)t;
}

static int
print_json(const char *path, const struct ferry_statement *st, bool verified, bool refs)
{
    json_t *root = json_object(), *images = json_array();
    size_t i, j;
    char *text;
    int64_t total = 0;

    total = content_bytes(st);
    json_object_set_new(root, "bundle", json_string(path));
    json_object_set_new(root, "signatureChecked", json_boolean(verified));
    json_object_set_new(root, "creator", json_string(st->creator));
    json_object_set_new(root, "created", json_string(st->created));
    json_object_set_new(root, "members", json_integer((json_int_t)st->nmembers));
    json_object_set_new(root, "referrers", json_integer((json_int_t)st->nreferrers));
    json_object_set_new(root, "contentBytes", json_integer(total));
    cli_delta_json(st, root);
    for (i = 0; i < st->nimages; i++) {
        const struct ferry_stmt_image *im = &st->images[i];
        json_t *o = json_object(), *pl = json_array();
        json_object_set_new(o, "source", json_string(im->source));
        json_object_set_new(o, "target", im->target ? json_string(im->target) : json_null());
        json_object_set_new(o, "sourceDigest",
                            json_string(im->source_digest ? im->source_digest : im->digest));
        json_object_set_new(o, "registry", json_string(im->registry));
        json_object_set_new(o, "repository", json_string(im->repository));
        json_object_set_new(o, "tag", im->tag ? json_string(im->tag) : json_null());
        json_object_set_new(o, "digest", json_string(im->digest));
        json_object_set_new(o, "mediaType", json_string(im->media_type));
        for (j = 0; j < im->nplatforms; j++)
            json_array_append_new(pl, json_string(im->platforms[j]));
        json_object_set_new(o, "platforms", pl);
        json_object_set_new(o, "size", json_integer(im->total));
        if (refs)
            json_object_set_new(o, "referrers", json_array());
        json_array_append_new(images, o);
    }
    /* one pass over the referrers, each into its image's array */
    for (j = 0; refs && j < st->nreferrers; j++) {
        const struct ferry_stmt_referrer *rf = &st->referrers[j];
        json_t *ro = json_object();
        json_object_set_new(ro, "subject", json_string(rf->subject));
        json_object_set_new(ro, "digest", json_string(rf->digest));
        json_object_set_new(ro, "mediaType", json_string(rf->media_type));
        json_object_set_new(ro, "artifactType",
                            rf->artifact_type ? json_string(rf->artifact_type) : json_null());
        json_object_set_new(ro, "size", json_integer(rf->size));
        json_object_set_new(ro, "annotations",
                            rf->annotations ? json_incref(rf->annotations) : json_object());
        json_object_set_new(ro, "source", json_string(rf->source));
        json_object_set_new(ro, "target", rf->target ? json_string(rf->target) : json_null());
        if (rf->tag != NULL)
            json_object_set_new(ro, "tag", json_string(rf->tag));
        json_array_append_new(json_object_get(json_array_get(images, rf->image), "referrers"), ro);
    }
    json_object_set_new(root, "images", images);
    text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text == NULL)
        return FERRY_EXIT_ERROR;
    puts(text);
    free(text);
    return 0;
}

static int
print_table(const char *path, const struct ferry_statement *st, bool verified, bool refs)
{
    struct tree t = {0};
    size_t i, j, w = 5;
    char sz[32], safe[512], created[128], creator[128], n1[48], n2[48], n3[48];
    int64_t total = 0;

    if (refs && tree_init(&t, st) < 0) {
        struct ferry_error *e = NULL;
        tree_free(&t);
        ferry_error_new(&e, FERRY_E_NOMEM, "out of memory");
        return cli_fail(e);
    }
    total = content_bytes(st);
    printf("bundle %s (%s, created %s by %s)\n", ferry_quote(safe, sizeof safe, path, strlen(path)),
           verified ? "signature checked" : "UNVERIFIED: signature not checked, use -p",
           ferry_quote(created, sizeof created, st->created, strlen(st->created)),
           ferry_quote(creator, sizeof creator, st->creator, strlen(st->creator)));
    if (st->volumes > 0) {
        /* a volume lists the whole set: say which part of it this file is */
        size_t here = 0, split = 0;
        for (i = 0; i < st->nmembers; i++)
            here += ferry_stmt_member_here(st, &st->members[i]) && st->members[i].volume != 0;
        split = st->nsplits;
        printf("volume %u of %u of set %s: %zu of the set's blobs and parts are in this file%s%s\n",
               st->volume, st->volumes, st->volume_set, here, split ? "; blobs in parts: " : "",
               split ? cli_count(n1, sizeof n1, split, "blob") : "");
    }
    for (i = 0; i < st->nimages; i++) {
        const char *q =
            ferry_quote(safe, sizeof safe, st->images[i].source, strlen(st->images[i].source));
        if (strlen(q) > w)
            w = strlen(q);
    }
    printf("%-*s  %-19s  %-10s  %s\n", (int)w, "IMAGE", "DIGEST", "SIZE", "PLATFORMS");
    for (i = 0; i < st->nimages; i++) {
        const struct ferry_stmt_image *im = &st->images[i];
        printf("%-*s  %-19.19s  %-10s  ", (int)w,
               ferry_quote(safe, sizeof safe, im->source, strlen(im->source)), im->digest,
               cli_size(sz, sizeof sz, (unsigned long long)im->total));
        for (j = 0; j < im->nplatforms; j++)
            printf("%s%s", j ? "," : "",
                   ferry_quote(safe, sizeof safe, im->platforms[j], strlen(im->platforms[j])));
        printf("%s\n", im->nplatforms ? "" : "-");
        if (im->target != NULL)
            printf("  -> %s\n", ferry_quote(safe, sizeof safe, im->target, strlen(im->target)));
        if (refs)
            print_referrers(&t, i);
    }
    printf("%s, %s, %s, %s of distinct content\n", cli_count(n1, sizeof n1, st->nimages, "image"),
           cli_count(n2, sizeof n2, st->nreferrers, "referrer"),
           cli_count(n3, sizeof n3, st->nmembers, "member"),
           cli_size(sz, sizeof sz, (unsigned long long)total));
    cli_print_delta(st);
    tree_free(&t);
    return 0;
}

int
cmd_list(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, CLI_OPT_JSON},
        {"referrers", no_argument, NULL, 'r'},
        {"pubkey", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct keyset ks = {0};
    struct ferry_statement *st = NULL;
    struct ferry_error *err = NULL;
    bool json = false, refs = false;
    int c, r;

    while ((c = getopt_long(argc, argv, "p:rh", longopts, NULL)) != -1) {
        switch (c) {
        case CLI_OPT_JSON:
            json = true;
            break;
        case 'r':
            refs = true;
            break;
        case 'p':
            if ((r = keyset_add(&ks, optarg)) != 0) {
                keyset_free(&ks);
                return r;
            }
            break;
        case 'h':
            fputs(usage, stdout);
            keyset_free(&ks);
            return 0;
        default:
            keyset_free(&ks);
            return cli_bad_option("p:rh", argv);
        }
    }
    if (optind + 1 != argc) {
        keyset_free(&ks);
        return cli_usage("list takes exactly one BUNDLE");
    }
    cli_setup(false);
    r = ferry_import_read_statement(argv[optind], ks.keys, ks.n, &st, &err);
    if (r < 0) {
        keyset_free(&ks);
        return cli_fail(err);
    }
    if (json)
        r = print_json(argv[optind], st, ks.n > 0, refs);
    else
        r = print_table(argv[optind], st, ks.n > 0, refs);
    cli_warn_apart(st);
    keyset_free(&ks);
    ferry_statement_free(st);
    return r;
}
