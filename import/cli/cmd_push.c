/* ferry-import push -p PUB [--to HOST[:PORT][/PREFIX]] BUNDLE */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "import_cmds.h"
#include "ferry/import.h"
#include "ferry/receipt.h"
#include "ferry/util.h"

static const char usage[] =
    "usage: ferry-import push -p PUBKEY [--to HOST[:PORT][/PREFIX]] [options] BUNDLE\n"
    "       ferry-import push -p PUBKEY [--to ...] [options] VOLUME...\n"
    "\n"
    "Check the bundle's signed statement and every manifest, then push it: blobs\n"
    "(skipped when present, mounted across repositories when possible, else\n"
    "uploaded, each digest checked before its upload commits), manifests,\n"
    "indexes, tags last: nothing is set that was not verified.\n"
    "REPO:TAG from the source lands at HOST[:PORT]/PREFIX/REPO:TAG. A tag set by a\n"
    "newer bundle is never moved back (its record is kept in the registry).\n"
    "Volumes of a set (ferry-export --volume-size) go in any order, one or several\n"
    "per run: an image is set once everything it needs is in the target.\n"
    "  -p, --pubkey FILE     trusted minisign public key (repeatable)\n"
    "  --to HOST[/PREFIX]    target registry and optional repository prefix; without it\n"
    "                        the targets recorded in the bundle (sync configs) are used\n"
    "  -j, --jobs N          parallel uploads (default 4)\n"
    "  --verify-first        verify every blob (and BUNDLE.minisig) before uploading\n"
    "                        anything, as ferry-import verify does: a second pass\n"
    "  --dry-run             verify and show per image what a push would do (new,\n"
    "                        unchanged, moved, refused, missing base blobs); write nothing\n"
    "  --allow-downgrade     move tags set by a newer bundle back to this one's images\n"
    "  --max-age DURATION    refuse a bundle created longer ago than this (30d, 2w, 12h)\n"
    "  --receipt FILE        write what the target holds afterwards, for ferry-export --base\n"
    "  --receipt-key FILE    sign the receipt with this minisign secret key (FILE.minisig)\n"
    "  --key-password-file FILE  read that key's password from FILE\n"
    "  --json                what was pushed, per image and referrer, as JSON on "
    "stdout\n" CLI_REGISTRY_HELP CLI_SIG_HELP
    "  an image the gate refuses is not pushed and its tags stay as they are (exit 3)\n"
    "  --progress            show progress even when stderr is not a terminal\n"
    "  -q, --quiet           only errors\n"
    "  -v, --verbose         more detail (twice for debug)\n"
    "\n"
    "Exit codes: 0 ok, 1 verification failed, 2 error, 3 an image or the bundle was\n"
    "refused (older than the bundle that set a tag, or than --max-age), 4 a delta's\n"
    "base blobs are missing in the target (nothing pushed), 5 images wait on volumes\n"
    "of the set not pushed yet, 64 usage.\n";

/* What the push reported, for --json and the receipt. */
struct outcome {
    json_t *json; /* --json: the document */
    struct ferry_receipt_result *res;
    size_t nres;
    bool oom;
};

static const char *
result_name(const struct ferry_pushed *w)
{
    switch (w->result) {
    case FERRY_PUSH_PUSHED:
        return w->dry_run ? "new" : "pushed";
    case FERRY_PUSH_MOVED:
        return "moved";
    case FERRY_PUSH_REFUSED:
        return "refused";
    case FERRY_PUSH_MISSING:
        return "missing";
    case FERRY_PUSH_WAITING:
        return "waiting";
    default:
        return "unchanged";
    }
}

static void
keep_result(struct outcome *oc, const struct ferry_pushed *w)
{
    struct ferry_receipt_result *n, *e;

    n = ferry_realloc(oc->res, (oc->nres + 1) * sizeof *n);
    if (n == NULL) {
        oc->oom = true;
        return;
    }
    oc->res = n;
    e = &n[oc->nres];
    memset(e, 0, sizeof *e);
    e->source = ferry_strdup(w->source);
    e->target = ferry_strdup(w->target);
    e->digest = ferry_strdup(w->digest);
    e->result = ferry_strdup(result_name(w));
    e->previous = w->previous ? ferry_strdup(w->previous) : NULL;
    e->reason = w->reason ? ferry_strdup(w->reason) : NULL;
    oc->nres++;
    if (!e->source || !e->target || !e->digest || !e->result || (w->previous && !e->previous) ||
        (w->reason && !e->reason))
        oc->oom = true;
}

/* Text: one line per image; JSON: every image and referrer into the arrays
 * of the document; the receipt: every image. */
static void
pushed(const struct ferry_pushed *w, void *ud)
{
    struct outcome *oc = ud;
    json_t *o;

    if (w->subject == NULL)
        keep_result(oc, w);
    if (oc->json != NULL) {
        o = json_pack("{s:s, s:s, s:s, s:s}", "source", w->source, "target", w->target, "digest",
                      w->digest, "result", result_name(w));
        if (o == NULL)
            return;
        json_object_set_new(o, "previous", w->previous ? json_string(w->previous) : json_null());
        if (w->reason != NULL)
            json_object_set_new(o, "reason", json_string(w->reason));
        if (w->downgrade)
            json_object_set_new(o, "downgrade", json_true());
        if (w->subject != NULL) {
            if (w->previous == NULL) /* only a moved attachment tag has one */
                json_object_del(o, "previous");
            json_object_set_new(o, "subject", json_string(w->subject));
            json_object_set_new(o, "artifactType",
                                w->artifact_type ? json_string(w->artifact_type) : json_null());
        }
        json_array_append_new(json_object_get(oc->json, w->subject ? "referrers" : "images"), o);
        return;
    }
    if (w->subject != NULL)
        return; /* referrers are counted in the summary; --json lists them */
    cli_progress_done();
    switch (w->result) {
    case FERRY_PUSH_MOVED:
        printf("moved     %s %s -> %s\n", w->target, w->previous, w->digest);
        if (w->downgrade)
            cli_warn("%s: %s", w->target, w->reason);
        break;
    case FERRY_PUSH_REFUSED:
    case FERRY_PUSH_MISSING:
    case FERRY_PUSH_WAITING:
        printf("%-9s %s %s: %s\n", result_name(w), w->target, w->digest, w->reason);
        break;
    default:
        printf("%-9s %s %s\n", result_name(w), w->target, w->digest);
        break;
    }
}

static void
outcome_clear(struct outcome *oc)
{
    for (size_t i = 0; i < oc->nres; i++) {
        ferry_free(oc->res[i].source);
        ferry_free(oc->res[i].target);
        ferry_free(oc->res[i].digest);
        ferry_free(oc->res[i].result);
        ferry_free(oc->res[i].previous);
        ferry_free(oc->res[i].reason);
    }
    ferry_free(oc->res);
    json_decref(oc->json);
    memset(oc, 0, sizeof *oc);
}

/* The receipt: an inventory of the repositories the push touched, with the
 * bundle's identity and the per-image results. */
static int
write_receipt(const char *path, const struct ferry_seckey *sk, const struct ferry_push_opts *po,
              const struct ferry_push_report *rep, const struct ferry_verified *v,
              struct outcome *oc, struct ferry_error **err)
{
    struct ferry_receipt *rc = NULL;
    char *prefix = NULL, *host = NULL;
    int r;

    if (po->to != NULL && (r = ferry_target_parse(po->to, &host, &prefix, err)) < 0)
        return r;
    ferry_free(host);
    r = ferry_import_inventory(rep->host, &po->reg, (const char *const *)rep->repos, rep->nrepos,
                               false, &rc, err);
    if (r < 0) {
        ferry_free(prefix);
        return ferry_error_wrap(err, "receipt %s", path);
    }
    rc->prefix = prefix;
    rc->bundle_statement = ferry_strdup(ferry_verified_statement_digest(v));
    rc->bundle_key_id = ferry_strdup(ferry_verified_key_id(v));
    rc->bundle_created = ferry_strdup(ferry_verified_statement(v)->created);
    rc->results = oc->res;
    rc->nresults = oc->nres;
    if (rc->bundle_statement == NULL || rc->bundle_key_id == NULL || rc->bundle_created == NULL ||
        oc->oom)
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    else
        r = receipt_write(rc, path, sk, err);
    rc->results = NULL; /* still oc's */
    rc->nresults = 0;
    ferry_receipt_free(rc);
    return r;
}

static void
print_json(json_t *out, const struct ferry_push_report *rep, struct ferry_error *err)
{
    char *text;

    if (err != NULL) {
        /* what was done before the failure: the tags already set are listed */
        json_object_set_new(out, "ok", json_false());
        json_object_set_new(out, "exitCode", json_integer(cli_exit_code(err)));
        json_object_set_new(out, "error", json_string(err->msg ? err->msg : ""));
    } else {
        int code = rep->missing > 0   ? FERRY_EXIT_BASE_MISSING
                   : rep->refused > 0 ? FERRY_EXIT_REFUSED
                   : rep->waiting > 0 ? FERRY_EXIT_WAITING
                                      : FERRY_EXIT_OK;
        /* the push ran; ok says whether it did all the bundle asks */
        json_object_set_new(out, "ok", json_boolean(code == FERRY_EXIT_OK));
        if (code != FERRY_EXIT_OK)
            json_object_set_new(out, "exitCode", json_integer(code));
        json_object_set_new(
            out, "report",
            json_pack(
                "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                "blobsUploaded", (json_int_t)rep->blobs_uploaded, "bytesUploaded",
                (json_int_t)rep->bytes_uploaded, "blobsMounted", (json_int_t)rep->blobs_mounted,
                "blobsPresent", (json_int_t)rep->blobs_present, "manifestsPushed",
                (json_int_t)rep->manifests_pushed, "manifestsPresent",
                (json_int_t)rep->manifests_present, "tagsSet", (json_int_t)rep->tags_set,
                "tagsUnchanged", (json_int_t)rep->tags_unchanged, "fallbackTagsWritten",
                (json_int_t)rep->fallback_set, "fallbackTagsComplete",
                (json_int_t)rep->fallback_unchanged, "referrersApi", (json_int_t)rep->referrers_api,
                "refused", (json_int_t)rep->refused, "baseBlobsMissing", (json_int_t)rep->missing));
        json_object_set_new(json_object_get(out, "report"), "attachmentTagsSet",
                            json_integer((json_int_t)rep->attachment_tags_set));
        json_object_set_new(json_object_get(out, "report"), "attachmentTagsUnchanged",
                            json_integer((json_int_t)rep->attachment_tags_unchanged));
        if (json_is_true(json_object_get(out, "dryRun")))
            json_object_set_new(json_object_get(out, "report"), "referrersNew",
                                json_integer((json_int_t)rep->referrers_new));
        if (rep->nvolumes_missing > 0 || rep->waiting > 0) {
            json_t *a = json_array();
            for (size_t i = 0; i < rep->nvolumes_missing; i++)
                json_array_append_new(a, json_integer((json_int_t)rep->volumes_missing[i]));
            json_object_set_new(out, "waiting", json_integer((json_int_t)rep->waiting));
            json_object_set_new(out, "volumesMissing", a);
        }
    }
    text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text != NULL)
        puts(text);
    free(text);
}

/* The verified volumes, the last first: the later ones borrow the first's
 * statement. */
static void
vols_free(struct ferry_verified **vols, size_t n)
{
    while (n-- > 0)
        ferry_verified_free(vols[n]);
    ferry_free(vols);
}

int
cmd_push(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"pubkey", required_argument, NULL, 'p'},
        {"to", required_argument, NULL, CLI_OPT_TO},
        {"jobs", required_argument, NULL, 'j'},
        {"dry-run", no_argument, NULL, CLI_OPT_DRY_RUN},
        {"verify-first", no_argument, NULL, CLI_OPT_VERIFY_FIRST},
        CLI_SIG_LONGOPTS,
        {"allow-downgrade", no_argument, NULL, CLI_OPT_ALLOW_DOWNGRADE},
        {"max-age", required_argument, NULL, CLI_OPT_MAX_AGE},
        {"receipt", required_argument, NULL, CLI_OPT_RECEIPT},
        {"receipt-key", required_argument, NULL, CLI_OPT_RECEIPT_KEY},
        {"key-password-file", required_argument, NULL, CLI_OPT_KEY_PASSWORD_FILE},
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
    struct ferry_verified *v = NULL, **vols = NULL;
    struct ferry_error *err = NULL;
    struct outcome oc;
    size_t nvols = 0, i;
    struct ferry_seckey *rsk = NULL;
    const char *receipt = NULL, *rkey = NULL, *pwfile = NULL;
    bool verify_first = false;
    struct cli_sig sigk = {0};
    const struct ferry_sig_gate *gate = NULL;
    bool progress = false, json = false;
    char sz[32];
    int c, r;

    memset(&cr, 0, sizeof cr);
    memset(&po, 0, sizeof po);
    memset(&rep, 0, sizeof rep);
    memset(&oc, 0, sizeof oc);
    while ((c = getopt_long(argc, argv, "p:j:qvh", longopts, NULL)) != -1) {
        if (cli_reg_option(&cr, c, optarg))
            continue;
        if ((r = import_common_option(&ks, &progress, c, optarg)) == 1)
            continue;
        if (r == 0 && (r = cli_sig_option(&sigk, c, optarg)) == 1)
            continue;
        if (r < 0) {
            keyset_free(&ks);
            cli_sig_free(&sigk);
            return -r;
        }
        switch (c) {
        case CLI_OPT_TO:
            po.to = optarg;
            break;
        case CLI_OPT_JSON:
            json = true;
            break;
        case CLI_OPT_DRY_RUN:
            po.dry_run = true;
            break;
        case CLI_OPT_VERIFY_FIRST:
            verify_first = true;
            break;
        case CLI_OPT_ALLOW_DOWNGRADE:
            po.allow_downgrade = true;
            break;
        case CLI_OPT_MAX_AGE:
            if (!cli_parse_duration(optarg, &po.max_age)) {
                keyset_free(&ks);
                cli_sig_free(&sigk);
                return cli_usage("--max-age takes a duration such as 30d, 2w, 12h or 90m");
            }
            break;
        case CLI_OPT_RECEIPT:
            receipt = optarg;
            break;
        case CLI_OPT_RECEIPT_KEY:
            rkey = optarg;
            break;
        case CLI_OPT_KEY_PASSWORD_FILE:
            pwfile = optarg;
            break;
        case 'j':
            if (!cli_parse_int(optarg, 1, 32, &po.jobs)) {
                keyset_free(&ks);
                cli_sig_free(&sigk);
                return cli_usage("--jobs must be 1..32");
            }
            break;
        case 'h':
            fputs(usage, stdout);
            keyset_free(&ks);
            cli_sig_free(&sigk);
            return 0;
        default:
            keyset_free(&ks);
            cli_sig_free(&sigk);
            return cli_bad_option("p:j:qvh", argv);
        }
    }
    if (ks.n == 0) {
        keyset_free(&ks);
        cli_sig_free(&sigk);
        return cli_usage("missing -p PUBKEY: nothing is pushed without verification");
    }
    if ((r = cli_sig_finish(&sigk, &gate)) != 0) {
        keyset_free(&ks);
        cli_sig_free(&sigk);
        return r;
    }
    if (optind >= argc) {
        keyset_free(&ks);
        cli_sig_free(&sigk);
        return cli_usage("push takes a BUNDLE, or VOLUMEs of one set");
    }
    for (i = (size_t)optind; i < (size_t)argc; i++)
        if (strcmp(argv[i], "-") == 0 && argc - optind > 1) {
            keyset_free(&ks);
            cli_sig_free(&sigk);
            return cli_usage("push -: the stream is the only bundle of the run");
        }
    if (strcmp(argv[optind], "-") == 0 && cr.password_stdin) {
        keyset_free(&ks);
        cli_sig_free(&sigk);
        return cli_usage("push -: the bundle is on stdin; give the password another way "
                         "(ferry-import login, --authfile)");
    }
    if ((rkey != NULL && (receipt == NULL || strcmp(receipt, "-") == 0)) ||
        (receipt != NULL && po.dry_run)) {
        keyset_free(&ks);
        cli_sig_free(&sigk);
        return cli_usage(receipt != NULL && po.dry_run
                             ? "a dry run changes nothing to write a receipt of"
                             : "--receipt-key signs a receipt file: give --receipt FILE");
    }
    if (po.dry_run) /* a pre-flight check reads everything: it uploads nothing to check it by */
        verify_first = true;
    cli_setup(progress);
    cli_verifying = true;
    if ((r = cli_reg_finish(&cr)) != 0) {
        keyset_free(&ks);
        cli_sig_free(&sigk);
        return r;
    }
    /* the receipt key before anything: a wrong password must not come up
     * after the push */
    if ((r = receipt_key_load(rkey, pwfile, &rsk, &err)) == 0 &&
        (vols = ferry_calloc((size_t)(argc - optind), sizeof *vols)) == NULL)
        r = ferry_error_new(&err, FERRY_E_NOMEM, "out of memory");
    /* every volume verified before anything is pushed */
    for (i = (size_t)optind; r == 0 && i < (size_t)argc; i++) {
        r = strcmp(argv[i], "-") == 0
                ? ferry_import_verify_stream(STDIN_FILENO, ks.keys, ks.n, &vols[nvols], &err)
            : verify_first ? ferry_import_verify(argv[i], ks.keys, ks.n, &vols[nvols], &err)
                           : ferry_import_open(argv[i], ks.keys, ks.n, &vols[nvols], &err);
        if (r == 0) {
            const char *set = NULL, *set0 = NULL;
            unsigned count, k = ferry_verified_volume(vols[nvols], &count, &set);
            cli_progress_done();
            char vol[64] = "";
            if (k > 0)
                snprintf(vol, sizeof vol, "volume %u of %u, ", k, count);
            cli_info("%s %s: %ssigned by key %s, created %s",
                     verify_first || strcmp(argv[i], "-") == 0
                         ? "verified"
                         : "checked the statement and manifests of",
                     argv[i], vol, ferry_verified_key_id(vols[nvols]),
                     ferry_verified_statement(vols[nvols])->created);
            /* one statement and graph in memory, however many volumes */
            if (nvols > 0 && k > 0 && ferry_verified_volume(vols[0], NULL, &set0) > 0 &&
                strcmp(set, set0) == 0)
                r = ferry_verified_share(vols[nvols], vols[0], &err);
            nvols++;
        }
    }
    keyset_free(&ks);
    if (r < 0) {
        cli_sig_free(&sigk);
        vols_free(vols, nvols);
        ferry_seckey_free(rsk);
        cli_reg_clear(&cr);
        return cli_fail(err);
    }
    v = vols[0];
    if (po.allow_downgrade)
        cli_warn("--allow-downgrade: tags set by newer bundles may move back to this bundle's "
                 "images");
    po.reg = cr.o;
    po.require = gate;
    cli_pushing = !po.dry_run;
    if (json && (oc.json = json_pack("{s:s, s:s, s:s, s:b, s:[], s:[]}", "bundle", argv[optind],
                                     "keyId", ferry_verified_key_id(v), "statement",
                                     ferry_verified_statement_digest(v), "dryRun", po.dry_run,
                                     "images", "referrers")) == NULL) {
        ferry_seckey_free(rsk);
        cli_sig_free(&sigk);
        vols_free(vols, nvols);
        cli_reg_clear(&cr);
        cli_error("out of memory");
        return FERRY_EXIT_ERROR;
    }
    r = ferry_import_push_set((const struct ferry_verified *const *)vols, nvols, &po, pushed, &oc,
                              &rep, &err);
    po.require = NULL;
    cli_sig_free(&sigk);
    if (r == 0 && receipt != NULL) {
        r = write_receipt(receipt, rsk, &po, &rep, v, &oc, &err);
        if (r == 0)
            cli_info("wrote receipt %s%s", receipt, rkey ? " (signed)" : "");
    }
    ferry_seckey_free(rsk);
    vols_free(vols, nvols);
    v = NULL;
    cli_reg_clear(&cr);
    cli_progress_done();
    if (oc.json != NULL)
        print_json(oc.json, &rep, r < 0 ? err : NULL);
    outcome_clear(&oc);
    if (r < 0) {
        if (rep.refused > 0) /* said before the error, which sets the exit code */
            cli_error("%zu image%s refused (see above)", rep.refused, rep.refused == 1 ? "" : "s");
        ferry_push_report_clear(&rep);
        return cli_fail(err);
    }
    if (po.dry_run) {
        cli_info("dry run: %zu blobs to upload (%s), %zu to mount, %zu already present; nothing "
                 "was written",
                 rep.blobs_missing, cli_size(sz, sizeof sz, rep.bytes_missing), rep.blobs_mounted,
                 rep.blobs_present);
        if (rep.referrers > 0)
            cli_info("dry run: referrers: %zu, %zu of them to push", rep.referrers,
                     rep.referrers_new);
        if (rep.attachment_tags_set + rep.attachment_tags_unchanged > 0)
            cli_info("dry run: cosign attachment tags: %zu to set, %zu unchanged",
                     rep.attachment_tags_set, rep.attachment_tags_unchanged);
    } else {
        cli_info("blobs: %zu uploaded (%s), %zu mounted, %zu already present; manifests: %zu "
                 "pushed, %zu already present; tags: %zu set, %zu unchanged",
                 rep.blobs_uploaded, cli_size(sz, sizeof sz, rep.bytes_uploaded), rep.blobs_mounted,
                 rep.blobs_present, rep.manifests_pushed, rep.manifests_present, rep.tags_set,
                 rep.tags_unchanged);
        if (rep.referrers > 0)
            cli_info("referrers: %zu; fallback tags: %zu written, %zu already complete; %zu "
                     "served by the referrers API",
                     rep.referrers, rep.fallback_set, rep.fallback_unchanged, rep.referrers_api);
        if (rep.attachment_tags_set + rep.attachment_tags_unchanged > 0)
            cli_info("cosign attachment tags: %zu set, %zu unchanged", rep.attachment_tags_set,
                     rep.attachment_tags_unchanged);
    }
    if (rep.parts_parked > 0)
        cli_info("parked %zu part%s of blobs larger than a volume in the registry, for the "
                 "volumes still to come",
                 rep.parts_parked, rep.parts_parked == 1 ? "" : "s");
    if (rep.waiting > 0 && rep.missing == 0 && rep.refused == 0) {
        char list[256] = "";
        size_t at = 0;
        for (i = 0; i < rep.nvolumes_missing && at + 16 < sizeof list; i++)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%u", i ? ", " : "",
                                   rep.volumes_missing[i]);
        cli_error("%zu image%s wait%s on volume%s %s of the set: push %s next (what is here is "
                  "in the target already)",
                  rep.waiting, rep.waiting == 1 ? "" : "s", rep.waiting == 1 ? "s" : "",
                  rep.nvolumes_missing == 1 ? "" : "s", list[0] ? list : "?",
                  rep.nvolumes_missing == 1 ? "it" : "them");
        ferry_push_report_clear(&rep);
        return FERRY_EXIT_WAITING;
    }
    ferry_push_report_clear(&rep);
    if (rep.missing > 0) {
        cli_error("dry run: the target lacks %zu blob%s this delta expects there: import its "
                  "base first",
                  rep.missing, rep.missing == 1 ? "" : "s");
        return FERRY_EXIT_BASE_MISSING;
    }
    if (rep.unsigned_images > 0)
        cli_error("%zu image%s refused: not signed as the signature gate requires",
                  rep.unsigned_images, rep.unsigned_images == 1 ? "" : "s");
    if (rep.refused > rep.unsigned_images) {
        size_t n = rep.refused - rep.unsigned_images;
        cli_error("%zu image%s refused: older than the bundle that set %s tag%s (push with "
                  "--allow-downgrade to move %s back)",
                  n, n == 1 ? "" : "s", n == 1 ? "its" : "their", n == 1 ? "" : "s",
                  n == 1 ? "it" : "them");
    }
    if (rep.refused > 0)
        return FERRY_EXIT_REFUSED;
    return 0;
}
