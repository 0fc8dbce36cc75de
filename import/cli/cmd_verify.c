/* ferry-import verify -p PUB BUNDLE */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"
#include "import_cmds.h"
#include "ferry/import.h"

static const char usage[] =
    "usage: ferry-import verify -p PUBKEY [-p PUBKEY...] BUNDLE\n"
    "\n"
    "Verify a bundle offline: the signed statement by a trusted key, every member\n"
    "listed and present once, every size and digest, every manifest well formed\n"
    "and referencing only content of the bundle.\n"
    "  -p, --pubkey FILE   trusted minisign public key (repeatable)\n"
    "  --json              the result as JSON on stdout (also when verification fails)\n"
    "  --progress          show progress even when stderr is not a terminal\n"
    "  -q, --quiet         only errors\n"
    "  -v, --verbose       more detail (twice for debug)\n";

/* The result as JSON: ok with what was checked, or the error and exit code. */
static void
print_json(const char *path, const struct ferry_verified *v, const struct ferry_error *e)
{
    json_t *o;
    char *text;

    if (v != NULL) {
        const struct ferry_statement *st = ferry_verified_statement(v);
        o = json_pack("{s:s, s:b, s:s, s:I, s:I, s:I, s:b}", "bundle", path, "ok", 1, "keyId",
                      ferry_verified_key_id(v), "images", (json_int_t)st->nimages, "members",
                      (json_int_t)st->nmembers, "bytes", (json_int_t)ferry_verified_bytes(v),
                      "detachedSignature", ferry_verified_detached(v));
        cli_delta_json(st, o);
    } else {
        o = json_pack("{s:s, s:b, s:i, s:s}", "bundle", path, "ok", 0, "exitCode", cli_exit_code(e),
                      "error", e && e->msg ? e->msg : "");
    }
    text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (text != NULL)
        puts(text);
    free(text);
}

int
cmd_verify(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"pubkey", required_argument, NULL, 'p'},
        {"progress", no_argument, NULL, CLI_OPT_PROGRESS},
        {"json", no_argument, NULL, CLI_OPT_JSON},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct keyset ks = {0};
    struct ferry_verified *v = NULL;
    struct ferry_error *err = NULL;
    const struct ferry_statement *st;
    bool progress = false, json = false;
    char sz[32], n1[48], n2[48];
    int c, r;

    while ((c = getopt_long(argc, argv, "p:qvh", longopts, NULL)) != -1) {
        if ((r = import_common_option(&ks, &progress, c, optarg)) == 1)
            continue;
        if (r < 0) {
            keyset_free(&ks);
            return -r;
        }
        switch (c) {
        case CLI_OPT_JSON:
            json = true;
            break;
        case 'h':
            fputs(usage, stdout);
            keyset_free(&ks);
            return 0;
        default:
            keyset_free(&ks);
            return cli_bad_option("p:qvh", argv);
        }
    }
    if (ks.n == 0) {
        keyset_free(&ks);
        return cli_usage("missing -p PUBKEY: a bundle is only verified against a trusted key");
    }
    if (optind + 1 != argc) {
        keyset_free(&ks);
        return cli_usage("verify takes exactly one BUNDLE");
    }
    cli_setup(progress);
    cli_verifying = true;
    r = ferry_import_verify(argv[optind], ks.keys, ks.n, &v, &err);
    keyset_free(&ks);
    if (r < 0) {
        if (json)
            print_json(argv[optind], NULL, err);
        return cli_fail(err);
    }
    cli_progress_done();
    st = ferry_verified_statement(v);
    if (json)
        print_json(argv[optind], v, NULL);
    else
        printf("%s: ok: signed by key %s, %s, %s, %s verified%s\n", argv[optind],
               ferry_verified_key_id(v), cli_count(n1, sizeof n1, st->nimages, "image"),
               cli_count(n2, sizeof n2, st->nmembers, "member"),
               cli_size(sz, sizeof sz, ferry_verified_bytes(v)),
               ferry_verified_detached(v) ? ", detached signature ok" : "");
    if (!json)
        cli_print_delta(st);
    ferry_verified_free(v);
    return 0;
}
