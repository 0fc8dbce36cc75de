/* ferry-import verify -p PUB BUNDLE */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "import_cmds.h"
#include "ferry/import.h"

static const char usage[] =
    "usage: ferry-import verify -p PUBKEY [-p PUBKEY...] BUNDLE...\n"
    "\n"
    "Verify bundles offline: the signed statement by a trusted key, every member\n"
    "listed and present once, every size and digest, every manifest well formed\n"
    "and referencing only content of the bundle. Each volume of a set verifies on\n"
    "its own; given volumes of one set, it names those still missing.\n"
    "  -p, --pubkey FILE   trusted minisign public key (repeatable)\n"
    "  --json              the result as JSON on stdout (also when verification fails)\n"
    "  --progress          show progress even when stderr is not a terminal\n"
    "  -q, --quiet         only errors\n"
    "  -v, --verbose       more detail (twice for debug)\n" CLI_SIG_HELP
    "  with a gate, a line per image says whether it passes; exit 3 when one does not\n";

/* Members in this file (a volume holds some of its set's). */
static size_t
members_here(const struct ferry_statement *st)
{
    size_t n = 0;

    for (size_t i = 0; i < st->nmembers; i++)
        n += ferry_stmt_member_here(st, &st->members[i]);
    return n;
}

/* The result as JSON: ok with what was checked, or the error and exit code. */
static json_t *
result_json(const char *path, const struct ferry_verified *v, const struct ferry_error *e)
{
    json_t *o;

    if (v != NULL) {
        const struct ferry_statement *st = ferry_verified_statement(v);
        o = json_pack("{s:s, s:b, s:s, s:I, s:I, s:I, s:b}", "bundle", path, "ok", 1, "keyId",
                      ferry_verified_key_id(v), "images", (json_int_t)st->nimages, "members",
                      (json_int_t)members_here(st), "bytes", (json_int_t)ferry_verified_bytes(v),
                      "detachedSignature", ferry_verified_detached(v));
        cli_delta_json(st, o);
        if (o != NULL && st->volumes > 0)
            json_object_set_new(o, "volume",
                                json_pack("{s:s, s:I, s:I}", "set", st->volume_set, "number",
                                          (json_int_t)st->volume, "count",
                                          (json_int_t)st->volumes));
    } else {
        o = json_pack("{s:s, s:b, s:i, s:s}", "bundle", path, "ok", 0, "exitCode", cli_exit_code(e),
                      "error", e && e->msg ? e->msg : "");
    }
    return o;
}

static void
print_json(json_t *o)
{
    char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

    if (text != NULL)
        puts(text);
    free(text);
}

/* Volumes of one set: which of them were not given. */
struct setseen {
    char set[72];
    unsigned count;
    bool *have;
    bool mixed; /* not all volumes of one set */
};

static void
set_note(struct setseen *ss, const struct ferry_statement *st)
{
    if (ss->mixed)
        return;
    if (st->volumes == 0 || (ss->count > 0 && strcmp(ss->set, st->volume_set) != 0)) {
        ss->mixed = true;
        return;
    }
    if (ss->count == 0) {
        snprintf(ss->set, sizeof ss->set, "%s", st->volume_set);
        ss->count = st->volumes;
        if ((ss->have = calloc(st->volumes + 1u, sizeof *ss->have)) == NULL) {
            ss->mixed = true;
            return;
        }
    }
    ss->have[st->volume] = true;
}

/* The signature gate: a line per image (on stderr with --json). */
struct sigprint {
    const struct ferry_statement *st;
    json_t *json; /* --json: the verdicts, else NULL (lines on stdout) */
};

/* A volume judged alone: an image whose signatures are on other volumes is
 * "waiting" on them (push the volumes together to judge it). */
static void
print_verdict(size_t image, const struct ferry_sig_verdict *vd, const unsigned *waits,
              size_t nwaits, void *ud)
{
    const struct sigprint *sp = ud;
    const char *src = sp->st->images[image].source;

    if (sp->json != NULL) {
        json_t *o = cli_sig_json(src, vd), *a = nwaits > 0 ? json_array() : NULL;
        for (size_t k = 0; a != NULL && k < nwaits; k++)
            json_array_append_new(a, json_integer((json_int_t)waits[k]));
        if (o != NULL && a != NULL) { /* not judged: no reason */
            json_object_del(o, "reason");
            json_object_del(o, "reasonCode");
            json_object_set_new(o, "waiting", json_true());
            json_object_set_new(o, "waitingOnVolumes", a);
        } else {
            json_decref(a);
        }
        if (o != NULL)
            json_array_append_new(sp->json, o);
    } else if (nwaits > 0) {
        printf("waiting   %s: its signatures are on volume%s", src, nwaits == 1 ? "" : "s");
        for (size_t k = 0; k < nwaits; k++)
            printf("%s%u", k ? ", " : " ", waits[k]);
        printf(" of %u\n", sp->st->volumes);
    } else {
        cli_sig_print(stdout, src, vd);
    }
}

int
cmd_verify(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"pubkey", required_argument, NULL, 'p'},
        {"progress", no_argument, NULL, CLI_OPT_PROGRESS},
        {"json", no_argument, NULL, CLI_OPT_JSON},
        CLI_SIG_LONGOPTS,
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cli_sig sigk = {0};
    const struct ferry_sig_gate *gate = NULL;
    size_t unsigned_total = 0;
    json_t *verdicts = NULL;
    struct keyset ks = {0};
    struct ferry_verified *v = NULL;
    struct ferry_error *err = NULL;
    const struct ferry_statement *st;
    struct setseen ss = {0};
    json_t *all = NULL;
    bool progress = false, json = false;
    char sz[32], n1[48], n2[48];
    int c, r, i;

    while ((c = getopt_long(argc, argv, "p:qvh", longopts, NULL)) != -1) {
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
        case CLI_OPT_JSON:
            json = true;
            break;
        case 'h':
            fputs(usage, stdout);
            keyset_free(&ks);
            cli_sig_free(&sigk);
            return 0;
        default:
            keyset_free(&ks);
            cli_sig_free(&sigk);
            return cli_bad_option("p:qvh", argv);
        }
    }
    if (ks.n == 0 || optind >= argc) {
        keyset_free(&ks);
        cli_sig_free(&sigk);
        return cli_usage(ks.n == 0 ? "missing -p PUBKEY: a bundle is only verified against a "
                                     "trusted key"
                                   : "verify takes a BUNDLE (or several)");
    }
    if ((r = cli_sig_finish(&sigk, &gate)) != 0) {
        keyset_free(&ks);
        cli_sig_free(&sigk);
        return r;
    }
    cli_setup(progress);
    cli_verifying = true;
    if (json && argc - optind > 1 && (all = json_array()) == NULL) {
        keyset_free(&ks);
        cli_sig_free(&sigk);
        cli_error("out of memory");
        return FERRY_EXIT_ERROR;
    }
    for (i = optind; i < argc; i++) {
        r = ferry_import_verify(argv[i], ks.keys, ks.n, &v, &err);
        if (r < 0) {
            if (json) {
                json_t *o = result_json(argv[i], NULL, err);
                if (all != NULL)
                    json_array_append_new(all, o);
                print_json(all != NULL ? all : o);
                if (all == NULL)
                    json_decref(o);
            }
            json_decref(all);
            keyset_free(&ks);
            cli_sig_free(&sigk);
            free(ss.have);
            return cli_fail(err);
        }
        cli_progress_done();
        st = ferry_verified_statement(v);
        json_decref(verdicts);
        verdicts = NULL;
        if (gate != NULL) {
            size_t bad = 0;
            struct sigprint sp = {st, json ? (verdicts = json_array()) : NULL};
            const struct ferry_verified *one[1] = {v};
            r = ferry_import_check_signatures(one, 1, gate, print_verdict, &sp, &bad, &err);
            if (r < 0) {
                ferry_verified_free(v);
                json_decref(all);
                json_decref(verdicts);
                keyset_free(&ks);
                cli_sig_free(&sigk);
                free(ss.have);
                return cli_fail(err);
            }
            unsigned_total += bad;
        }
        set_note(&ss, st);
        if (json) {
            json_t *o = result_json(argv[i], v, NULL);
            if (o != NULL && verdicts != NULL) {
                json_object_set_new(o, "signatures", verdicts);
                verdicts = NULL;
            }
            if (all != NULL)
                json_array_append_new(all, o);
            else {
                print_json(o);
                json_decref(o);
            }
        } else {
            char vol[64] = "";
            if (st->volumes > 0)
                snprintf(vol, sizeof vol, "volume %u of %u, ", st->volume, st->volumes);
            printf("%s: ok: %ssigned by key %s, %s, %s, %s verified%s\n", argv[i], vol,
                   ferry_verified_key_id(v), cli_count(n1, sizeof n1, st->nimages, "image"),
                   cli_count(n2, sizeof n2, members_here(st), "member"),
                   cli_size(sz, sizeof sz, ferry_verified_bytes(v)),
                   ferry_verified_detached(v) ? ", detached signature ok" : "");
            cli_print_delta(st);
        }
        ferry_verified_free(v);
        v = NULL;
    }
    keyset_free(&ks);
    if (all != NULL) {
        print_json(all);
        json_decref(all);
    }
    if (!ss.mixed && ss.count > 0) {
        /* what the set still needs, said once */
        char list[256] = "";
        size_t at = 0, missing = 0;
        for (unsigned k = 1; k <= ss.count; k++) {
            if (ss.have[k])
                continue;
            if (missing++ < 24 && at + 16 < sizeof list)
                at += (size_t)snprintf(list + at, sizeof list - at, "%s%u", at ? ", " : "", k);
        }
        if (missing > 24 && at + 8 < sizeof list)
            snprintf(list + at, sizeof list - at, ", ...");
        if (missing > 0)
            cli_info("set %.19s...: %zu of %u volumes still to come: %s", ss.set, missing, ss.count,
                     list);
        else
            cli_info("set %.19s...: all %u volumes verified", ss.set, ss.count);
    }
    free(ss.have);
    cli_sig_free(&sigk);
    json_decref(verdicts);
    if (unsigned_total > 0) {
        cli_error("%zu image%s without a signature the gate accepts", unsigned_total,
                  unsigned_total == 1 ? "" : "s");
        return FERRY_EXIT_REFUSED;
    }
    return 0;
}
