/* ferry-import push -p PUB [--to HOST[:PORT][/PREFIX]] BUNDLE */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "import_cmds.h"
#include "ferry/import.h"

static const char usage[] =
    "usage: ferry-import push -p PUBKEY [--to HOST[:PORT][/PREFIX]] [options] BUNDLE\n"
    "\n"
    "Verify the bundle completely, then push it: blobs (skipped when present,\n"
    "mounted across repositories when possible), manifests, indexes, tags last.\n"
    "REPO:TAG from the source lands at HOST[:PORT]/PREFIX/REPO:TAG.\n"
    "  -p, --pubkey FILE     trusted minisign public key (repeatable)\n"
    "  --to HOST[/PREFIX]    target registry and optional repository prefix; without it\n"
    "                        the targets recorded in the bundle (sync configs) are used\n"
    "  -j, --jobs N          parallel uploads (default 4)\n"
    "  --json                what was pushed, per image and referrer, as JSON on "
    "stdout\n" CLI_REGISTRY_HELP
    "  --progress            show progress even when stderr is not a terminal\n"
    "  -q, --quiet           only errors\n"
    "  -v, --verbose         more detail (twice for debug)\n";

static const char *
result_name(enum ferry_push_result r)
{
    return r == FERRY_PUSH_PUSHED ? "pushed" : r == FERRY_PUSH_MOVED ? "moved" : "unchanged";
}

/* Text: one line per image ("pushed", "unchanged", "moved ... (was ...)");
 * JSON: every image and referrer into the arrays of ud. */
static void
pushed(const struct ferry_pushed *w, void *ud)
{
    json_t *out = ud, *o;

    if (out != NULL) {
        o = json_pack("{s:s, s:s, s:s, s:s}", "source", w->source, "target", w->target, "digest",
                      w->digest, "result", result_name(w->result));
        if (o == NULL)
            return;
        json_object_set_new(o, "previous", w->previous ? json_string(w->previous) : json_null());
        if (w->subject != NULL) {
            json_object_del(o, "previous");
            json_object_set_new(o, "subject", json_string(w->subject));
            json_object_set_new(o, "artifactType",
                                w->artifact_type ? json_string(w->artifact_type) : json_null());
        }
        json_array_append_new(json_object_get(out, w->subject ? "referrers" : "images"), o);
        return;
    }
    if (w->subject != NULL)
        return; /* referrers are counted in the summary; --json lists them */
    cli_progress_done();
    if (w->result == FERRY_PUSH_MOVED)
        printf("moved     %s %s (was %s)\n", w->target, w->digest, w->previous);
    else
        printf("%s %s %s\n", w->result == FERRY_PUSH_PUSHED ? "pushed   " : "unchanged", w->target,
               w->digest);
}

int
cmd_push(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"pubkey", required_argument, NULL, 'p'},
        {"to", required_argument, NULL, CLI_OPT_TO},
        {"jobs", required_argument, NULL, 'j'},
        {"progress", no_argument, NULL, CLI_OPT_PROGRESS},
        {"json", no_argument, NULL, CLI_OPT_JSON},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        CLI_REGISTRY_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct keyset ks = {0};
    struct cli_reg cr;
    struct ferry_push_opts po;
    struct ferry_push_report rep;
    struct ferry_verified *v = NULL;
    struct ferry_error *err = NULL;
    bool progress = false, json = false;
    json_t *out = NULL;
    char sz[32];
    int c, r;

    memset(&cr, 0, sizeof cr);
    memset(&po, 0, sizeof po);
    while ((c = getopt_long(argc, argv, "p:j:qvh", longopts, NULL)) != -1) {
        if (cli_reg_option(&cr, c, optarg))
            continue;
        if ((r = import_common_option(&ks, &progress, c, optarg)) == 1)
            continue;
        if (r < 0) {
            keyset_free(&ks);
            return -r;
        }
        switch (c) {
        case CLI_OPT_TO:
            po.to = optarg;
            break;
        case CLI_OPT_JSON:
            json = true;
            break;
        case 'j':
            if (!cli_parse_int(optarg, 1, 32, &po.jobs)) {
                keyset_free(&ks);
                return cli_usage("--jobs must be 1..32");
            }
            break;
        case 'h':
            fputs(usage, stdout);
            keyset_free(&ks);
            return 0;
        default:
            keyset_free(&ks);
            return cli_bad_option("p:j:qvh", argv);
        }
    }
    if (ks.n == 0) {
        keyset_free(&ks);
        return cli_usage("missing -p PUBKEY: nothing is pushed without verification");
    }
    if (optind + 1 != argc) {
        keyset_free(&ks);
        return cli_usage("push takes exactly one BUNDLE");
    }
    cli_setup(progress);
    cli_verifying = true;
    if ((r = cli_reg_finish(&cr)) != 0) {
        keyset_free(&ks);
        return r;
    }
    r = ferry_import_verify(argv[optind], ks.keys, ks.n, &v, &err);
    keyset_free(&ks);
    if (r < 0) {
        cli_reg_clear(&cr);
        return cli_fail(err);
    }
    cli_progress_done();
    cli_info("verified %s: signed by key %s", argv[optind], ferry_verified_key_id(v));
    po.reg = cr.o;
    cli_pushing = true;
    if (json && (out = json_pack("{s:s, s:s, s:[], s:[]}", "bundle", argv[optind], "keyId",
                                 ferry_verified_key_id(v), "images", "referrers")) == NULL) {
        ferry_verified_free(v);
        cli_reg_clear(&cr);
        cli_error("out of memory");
        return FERRY_EXIT_ERROR;
    }
    r = ferry_import_push(argv[optind], v, &po, pushed, out, &rep, &err);
    ferry_verified_free(v);
    cli_reg_clear(&cr);
    if (r < 0 && out != NULL) {
        /* what was done before the failure: the tags already set are listed */
        char *text;
        json_object_set_new(out, "ok", json_false());
        json_object_set_new(out, "exitCode", json_integer(cli_exit_code(err)));
        json_object_set_new(out, "error", json_string(err && err->msg ? err->msg : ""));
        text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text != NULL)
            puts(text);
        free(text);
    }
    if (r < 0) {
        json_decref(out);
        return cli_fail(err);
    }
    if (out != NULL)
        json_object_set_new(out, "ok", json_true());
    cli_progress_done();
    if (out != NULL) {
        char *text;
        json_object_set_new(
            out, "report",
            json_pack(
                "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "blobsUploaded",
                (json_int_t)rep.blobs_uploaded, "bytesUploaded", (json_int_t)rep.bytes_uploaded,
                "blobsMounted", (json_int_t)rep.blobs_mounted, "blobsPresent",
                (json_int_t)rep.blobs_present, "manifestsPushed", (json_int_t)rep.manifests_pushed,
                "manifestsPresent", (json_int_t)rep.manifests_present, "tagsSet",
                (json_int_t)rep.tags_set, "tagsUnchanged", (json_int_t)rep.tags_unchanged,
                "fallbackTagsWritten", (json_int_t)rep.fallback_set, "fallbackTagsComplete",
                (json_int_t)rep.fallback_unchanged, "referrersApi", (json_int_t)rep.referrers_api));
        text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(out);
        if (text == NULL) {
            cli_error("out of memory");
            return FERRY_EXIT_ERROR;
        }
        puts(text);
        free(text);
    }
    cli_info("blobs: %zu uploaded (%s), %zu mounted, %zu already present; manifests: %zu pushed, "
             "%zu already present; tags: %zu set, %zu unchanged",
             rep.blobs_uploaded, cli_size(sz, sizeof sz, rep.bytes_uploaded), rep.blobs_mounted,
             rep.blobs_present, rep.manifests_pushed, rep.manifests_present, rep.tags_set,
             rep.tags_unchanged);
    if (rep.referrers > 0)
        cli_info("referrers: %zu; fallback tags: %zu written, %zu already complete; %zu served by "
                 "the referrers API",
                 rep.referrers, rep.fallback_set, rep.fallback_unchanged, rep.referrers_api);
    return 0;
}
