/* ferry-import list [--json] [-p PUB] BUNDLE */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cmds.h"
#include "ferry/import.h"

static const char usage[] =
    "usage: ferry-import list [--json] [-p PUBKEY] BUNDLE\n"
    "\n"
    "List the images of a bundle: source reference, digest, platforms, size.\n"
    "Only the signed statement is read. With -p its signature is checked; without,\n"
    "the listing is marked unverified (run 'verify' to check every digest).\n"
    "  --json              machine-readable output on stdout\n"
    "  -p, --pubkey FILE   trusted minisign public key (repeatable)\n";

static int
print_json(const char *path, const struct ferry_statement *st, bool verified)
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
print_table(const char *path, const struct ferry_statement *st, bool verified)
{
    size_t i, j, w = 5;
    char sz[32];
    int64_t total = 0;

    for (i = 0; i < st->nmembers; i++)
        total += st->members[i].size;
    printf("bundle %s (%s, created %s by %s)\n", path,
           verified ? "signature checked" : "UNVERIFIED: signature not checked, use -p",
           st->created, st->creator);
    for (i = 0; i < st->nimages; i++)
        if (strlen(st->images[i].source) > w)
            w = strlen(st->images[i].source);
    printf("%-*s  %-19s  %-10s  %s\n", (int)w, "IMAGE", "DIGEST", "SIZE", "PLATFORMS");
    for (i = 0; i < st->nimages; i++) {
        const struct ferry_stmt_image *im = &st->images[i];
        printf("%-*s  %-19.19s  %-10s  ", (int)w, im->source, im->digest,
               cli_size(sz, sizeof sz, (unsigned long long)im->total));
        for (j = 0; j < im->nplatforms; j++)
            printf("%s%s", j ? "," : "", im->platforms[j]);
        printf("%s\n", im->nplatforms ? "" : "-");
    }
    printf("%zu images, %zu members, %s of distinct content\n", st->nimages, st->nmembers,
           cli_size(sz, sizeof sz, (unsigned long long)total));
}

int
cmd_list(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, CLI_OPT_JSON},
        {"pubkey", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct keyset ks = {0};
    struct ferry_statement *st = NULL;
    struct ferry_error *err = NULL;
    bool json = false;
    int c, r;

    while ((c = getopt_long(argc, argv, "p:h", longopts, NULL)) != -1) {
        switch (c) {
        case CLI_OPT_JSON:
            json = true;
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
        r = print_json(argv[optind], st, ks.n > 0);
    else
        print_table(argv[optind], st, ks.n > 0);
    keyset_free(&ks);
    ferry_statement_free(st);
    return r;
}
