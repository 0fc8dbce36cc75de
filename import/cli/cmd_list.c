/* ferry-import list [--json] [-p PUB] BUNDLE */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "import_cmds.h"
#include "ferry/import.h"

static const char usage[] =
    "usage: ferry-import list [--json] [--referrers] [-p PUBKEY] BUNDLE\n"
    "\n"
    "List the images of a bundle: source reference, digest, platforms, size.\n"
    "Only the signed statement is read. With -p its signature is checked; without,\n"
    "the listing is marked unverified (run 'verify' to check every digest).\n"
    "  --json              machine-readable output on stdout\n"
    "  -r, --referrers     show each image's referrers as a tree\n"
    "  -p, --pubkey FILE   trusted minisign public key (repeatable)\n";

static bool
is_referrer(const struct ferry_statement *st, size_t image, const char *digest)
{
    size_t i;

    for (i = 0; i < st->nreferrers; i++)
        if (st->referrers[i].image == image && strcmp(st->referrers[i].digest, digest) == 0)
            return true;
    return false;
}

/* Tree of the referrers of `subject` (like regctl artifact tree). */
static void
print_tree(const struct ferry_statement *st, size_t image, const char *subject, const char *indent,
           int depth)
{
    size_t i, last = SIZE_MAX;
    char sz[32], next[256], at[256], tg[512];

    if (depth > 8)
        return;
    for (i = 0; i < st->nreferrers; i++)
        if (st->referrers[i].image == image && strcmp(st->referrers[i].subject, subject) == 0)
            last = i;
    for (i = 0; i < st->nreferrers; i++) {
        const struct ferry_stmt_referrer *rf = &st->referrers[i];
        if (rf->image != image || strcmp(rf->subject, subject) != 0)
            continue;
        printf("%s%s %s  %.19s  %s%s%s\n", indent, i == last ? "└──" : "├──",
               rf->artifact_type
                   ? ferry_quote(at, sizeof at, rf->artifact_type, strlen(rf->artifact_type))
                   : "(no artifactType)",
               rf->digest, cli_size(sz, sizeof sz, (unsigned long long)rf->size),
               rf->target ? "  -> " : "",
               rf->target ? ferry_quote(tg, sizeof tg, rf->target, strlen(rf->target)) : "");
        snprintf(next, sizeof next, "%s%s", indent, i == last ? "    " : "│   ");
        print_tree(st, image, rf->digest, next, depth + 1);
    }
}

static void
print_referrers(const struct ferry_statement *st, size_t image)
{
    const struct ferry_stmt_image *im = &st->images[image];
    size_t i, j;

    print_tree(st, image, im->digest, "  ", 0);
    /* Referrers of platform manifests: subjects that are neither the image's
     * top manifest nor a referrer. */
    for (i = 0; i < st->nreferrers; i++) {
        const char *subject = st->referrers[i].subject;
        bool done = false;
        if (st->referrers[i].image != image || strcmp(subject, im->digest) == 0 ||
            is_referrer(st, image, subject))
            continue;
        for (j = 0; j < i; j++)
            if (st->referrers[j].image == image && strcmp(st->referrers[j].subject, subject) == 0)
                done = true;
        if (done)
            continue;
        printf("  child manifest %.19s\n", subject);
        print_tree(st, image, subject, "    ", 0);
    }
}

static int
print_json(const char *path, const struct ferry_statement *st, bool verified, bool refs)
{
    json_t *root = json_object(), *images = json_array();
    size_t i, j;
    char *text;
    int64_t total = 0;

    for (i = 0; i < st->nmembers; i++)
        total += st->members[i].size;
    json_object_set_new(root, "bundle", json_string(path));
    json_object_set_new(root, "signatureChecked", json_boolean(verified));
    json_object_set_new(root, "creator", json_string(st->creator));
    json_object_set_new(root, "created", json_string(st->created));
    json_object_set_new(root, "members", json_integer((json_int_t)st->nmembers));
    json_object_set_new(root, "contentBytes", json_integer(total));
    for (i = 0; i < st->nimages; i++) {
        const struct ferry_stmt_image *im = &st->images[i];
        json_t *o = json_object(), *pl = json_array();
        json_object_set_new(o, "source", json_string(im->source));
        json_object_set_new(o, "registry", json_string(im->registry));
        json_object_set_new(o, "repository", json_string(im->repository));
        json_object_set_new(o, "tag", im->tag ? json_string(im->tag) : json_null());
        json_object_set_new(o, "digest", json_string(im->digest));
        json_object_set_new(o, "mediaType", json_string(im->media_type));
        for (j = 0; j < im->nplatforms; j++)
            json_array_append_new(pl, json_string(im->platforms[j]));
        json_object_set_new(o, "platforms", pl);
        json_object_set_new(o, "size", json_integer(im->total));
        if (refs) {
            json_t *ra = json_array();
            for (j = 0; j < st->nreferrers; j++) {
                const struct ferry_stmt_referrer *rf = &st->referrers[j];
                json_t *ro;
                if (rf->image != i)
                    continue;
                ro = json_object();
                json_object_set_new(ro, "subject", json_string(rf->subject));
                json_object_set_new(ro, "digest", json_string(rf->digest));
                json_object_set_new(ro, "mediaType", json_string(rf->media_type));
                json_object_set_new(ro, "artifactType",
                                    rf->artifact_type ? json_string(rf->artifact_type)
                                                      : json_null());
                json_object_set_new(ro, "size", json_integer(rf->size));
                json_object_set_new(ro, "annotations",
                                    rf->annotations ? json_incref(rf->annotations) : json_object());
                json_object_set_new(ro, "source", json_string(rf->source));
                json_object_set_new(ro, "target",
                                    rf->target ? json_string(rf->target) : json_null());
                json_array_append_new(ra, ro);
            }
            json_object_set_new(o, "referrers", ra);
        }
        json_array_append_new(images, o);
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

static void
print_table(const char *path, const struct ferry_statement *st, bool verified, bool refs)
{
    size_t i, j, w = 5;
    char sz[32], safe[512];
    int64_t total = 0;

    for (i = 0; i < st->nmembers; i++)
        total += st->members[i].size;
    printf("bundle %s (%s, created %s by %s)\n", path,
           verified ? "signature checked" : "UNVERIFIED: signature not checked, use -p",
           st->created, st->creator);
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
        if (refs)
            print_referrers(st, i);
    }
    printf("%zu images, %zu referrers, %zu members, %s of distinct content\n", st->nimages,
           st->nreferrers, st->nmembers, cli_size(sz, sizeof sz, (unsigned long long)total));
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
            return cli_usage("invalid option");
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
        print_table(argv[optind], st, ks.n > 0, refs);
    keyset_free(&ks);
    ferry_statement_free(st);
    return r;
}
