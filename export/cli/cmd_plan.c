/* ferry-export plan: the dry run (regsync check): resolve tags, platforms and
 * referrers, list images and sizes; write nothing, download no layer. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "export_cmds.h"
#include "ferry/export.h"
#include "ferry/statement.h"
#include "select.h"

static const char usage[] =
    "usage: ferry-export plan [-c SYNC.yaml | REF...] [--json] [options]\n"
    "\n"
    "Resolve what an export would carry: tags selected by the sync config,\n"
    "platforms, referrers, sizes in total and after deduplication. Reads\n"
    "manifests and configs only; writes nothing.\n"
    "  --json                   machine-readable output on stdout\n" SELECT_HELP CLI_REGISTRY_HELP;

static int64_t
dedup_bytes(const struct ferry_statement *st)
{
    int64_t t = 0;
    size_t i;

    for (i = 0; i < st->nmembers; i++)
        t += st->members[i].size;
    return t;
}

static int64_t
external_bytes(const struct ferry_statement *st)
{
    int64_t t = 0;

    for (size_t i = 0; i < st->nexternals; i++)
        t += st->externals[i].size;
    return t;
}

/* The signature gate's verdicts: lines on stdout before the plan, or a
 * "signatures" array in its JSON. */
struct sigverdicts {
    json_t *json;
    size_t unsigned_images;
};

static void
plan_verdict(const char *source, const struct ferry_sig_verdict *vd, void *ud)
{
    struct sigverdicts *sv = ud;

    if (!vd->ok)
        sv->unsigned_images++;
    if (sv->json != NULL)
        json_array_append_new(sv->json, cli_sig_json(source, vd));
    else
        cli_sig_print(stdout, source, vd);
}

static int
print_json(const struct ferry_statement *st, json_t *verdicts)
{
    json_t *root = json_object(), *images = json_array();
    int64_t total = 0;
    size_t i, j;
    char *text;

    for (i = 0; i < st->nimages; i++) {
        const struct ferry_stmt_image *im = &st->images[i];
        json_t *o = json_object(), *pl = json_array(), *ra = json_array();
        total += im->total;
        json_object_set_new(o, "source", json_string(im->source));
        json_object_set_new(o, "target", im->target ? json_string(im->target) : json_null());
        json_object_set_new(o, "digest", json_string(im->digest));
        json_object_set_new(o, "sourceDigest",
                            json_string(im->source_digest ? im->source_digest : im->digest));
        json_object_set_new(o, "mediaType", json_string(im->media_type));
        for (j = 0; j < im->nplatforms; j++)
            json_array_append_new(pl, json_string(im->platforms[j]));
        json_object_set_new(o, "platforms", pl);
        json_object_set_new(o, "size", json_integer(im->total));
        for (j = 0; j < st->nreferrers; j++) {
            const struct ferry_stmt_referrer *rf = &st->referrers[j];
            if (rf->image != i)
                continue;
            json_array_append_new(ra,
                                  json_pack("{s:s, s:s, s:s?, s:I, s:s?}", "subject", rf->subject,
                                            "digest", rf->digest, "artifactType", rf->artifact_type,
                                            "size", (json_int_t)rf->size, "tag", rf->tag));
        }
        json_object_set_new(o, "referrers", ra);
        json_array_append_new(images, o);
    }
    json_object_set_new(root, "images", images);
    if (verdicts != NULL)
        json_object_set(root, "signatures", verdicts);
    json_object_set_new(root, "referrers", json_integer((json_int_t)st->nreferrers));
    json_object_set_new(root, "members", json_integer((json_int_t)st->nmembers));
    json_object_set_new(root, "totalBytes", json_integer(total));
    json_object_set_new(root, "dedupedBytes", json_integer(dedup_bytes(st)));
    if (st->nbases > 0) {
        json_t *bases = json_array();
        for (i = 0; i < st->nbases; i++)
            json_array_append_new(bases, json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "kind",
                                                   st->bases[i].kind, "digest", st->bases[i].digest,
                                                   "created", st->bases[i].created, "keyId",
                                                   st->bases[i].key_id, "name", st->bases[i].name));
        json_object_set_new(root, "bases", bases);
        json_object_set_new(root, "externalBlobs", json_integer((json_int_t)st->nexternals));
        json_object_set_new(root, "externalBytes", json_integer(external_bytes(st)));
    }
    text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text == NULL)
        return FERRY_EXIT_ERROR;
    puts(text);
    free(text);
    return 0;
}

static void
print_text(const struct ferry_statement *st)
{
    int64_t total = 0;
    size_t i, j;
    char a[32], b[32], q[256], n1[48], n2[48], n3[48];

    for (i = 0; i < st->nimages; i++) {
        const struct ferry_stmt_image *im = &st->images[i];
        total += im->total;
        printf("%s", im->source);
        if (im->target)
            printf(" -> %s", im->target);
        printf("\n  %s  %s  ", im->digest, cli_size(a, sizeof a, (unsigned long long)im->total));
        for (j = 0; j < im->nplatforms; j++)
            printf("%s%s", j ? "," : "",
                   ferry_quote(q, sizeof q, im->platforms[j], strlen(im->platforms[j])));
        putchar('\n');
        if (im->source_digest)
            printf("  platforms filtered: index rewritten from %s; signatures over that index "
                   "do not match the new one\n",
                   im->source_digest);
        for (j = 0; j < st->nreferrers; j++) {
            const struct ferry_stmt_referrer *rf = &st->referrers[j];
            if (rf->image != i)
                continue;
            if (rf->tag != NULL)
                printf("  cosign attachment %s %.19s\n", rf->tag, rf->digest);
            else
                printf("  referrer %s %.19s (of %.19s)\n",
                       rf->artifact_type
                           ? ferry_quote(q, sizeof q, rf->artifact_type, strlen(rf->artifact_type))
                           : "(no artifactType)",
                       rf->digest, rf->subject);
        }
    }
    printf("%s, %s, %s; %s in total, %s after deduplication\n",
           cli_count(n1, sizeof n1, st->nimages, "image"),
           cli_count(n2, sizeof n2, st->nreferrers, "referrer"),
           cli_count(n3, sizeof n3, st->nmembers, "member"),
           cli_size(a, sizeof a, (unsigned long long)total),
           cli_size(b, sizeof b, (unsigned long long)dedup_bytes(st)));
    if (st->nbases > 0)
        printf("delta against %s: %s (%s) left out, the far side holds them; the bundle carries "
               "%s\n",
               cli_count(n1, sizeof n1, st->nbases, "base"),
               cli_count(n2, sizeof n2, st->nexternals, "blob"),
               cli_size(a, sizeof a, (unsigned long long)external_bytes(st)),
               cli_size(b, sizeof b, (unsigned long long)dedup_bytes(st)));
}

int
cmd_plan(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, CLI_OPT_JSON},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        SELECT_LONGOPTS,
        CLI_REGISTRY_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct ferry_export_opts eo;
    struct selection sel;
    struct cli_reg cr;
    struct ferry_statement *st = NULL;
    struct ferry_error *err = NULL;
    const struct ferry_export_item *items = NULL;
    size_t nitems = 0;
    bool json = false;
    struct sigverdicts sv = {NULL, 0};
    int c, r;

    memset(&eo, 0, sizeof eo);
    memset(&cr, 0, sizeof cr);
    memset(&sel, 0, sizeof sel);
    while ((c = getopt_long(argc, argv, "c:p:qvh", longopts, NULL)) != -1) {
        if (cli_reg_option(&cr, c, optarg))
            continue;
        if ((r = selection_option(&sel, c, optarg)) == 1)
            continue;
        if (r > 1)
            return r;
        switch (c) {
        case CLI_OPT_JSON:
            json = true;
            break;
        case 'q':
            cli_verbosity = 0;
            break;
        case 'v':
            cli_verbosity++;
            break;
        case 'h':
            fputs(usage, stdout);
            fputs(SELECT_SIG_HELP, stdout);
            return 0;
        default:
            return cli_bad_option("c:p:qvh", argv);
        }
    }
    cli_setup(false);
    if ((r = cli_reg_finish(&cr)) != 0 || (r = selection_gate(&sel, &eo)) != 0) {
        selection_clear(&sel);
        cli_reg_clear(&cr);
        return r;
    }
    eo.reg = cr.o;
    if (eo.gate != NULL) {
        sv.json = json ? json_array() : NULL;
        eo.on_verdict = plan_verdict;
        eo.verdict_ud = &sv;
    }
    if ((r = selection_finish(&sel, argv + optind, (size_t)(argc - optind), &eo, &items, &nitems,
                              &err)) < 0)
        goto out;
    if ((r = ferry_export_plan(items, nitems, &eo, &st, &err)) < 0)
        goto out;
    if (json && print_json(st, sv.json) != 0)
        r = ferry_error_new(&err, FERRY_E_NOMEM, "out of memory printing the plan");
    else if (!json)
        print_text(st);
    if (r == 0)
        cli_warn_apart(st);
out:
    ferry_statement_free(st);
    selection_clear(&sel);
    cli_reg_clear(&cr);
    json_decref(sv.json);
    if (r < 0)
        return cli_fail(err);
    if (sv.unsigned_images > 0 && !eo.skip_unsigned) {
        cli_error("%zu image%s not signed as the signature gate requires: an export would stop "
                  "(or leave %s out with --skip-unsigned)",
                  sv.unsigned_images, sv.unsigned_images == 1 ? "" : "s",
                  sv.unsigned_images == 1 ? "it" : "them");
        return FERRY_EXIT_REFUSED;
    }
    return 0;
}
