/* ferry-export [options] REF...: write a signed bundle. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "export_cmds.h"
#include "ferry/export.h"
#include "ferry/sign.h"
#include "ferry/util.h"
#include "select.h"

static const char usage[] =
    "usage: ferry-export -k SECKEY -o BUNDLE [options] REF...\n"
    "       ferry-export -k SECKEY -o BUNDLE -c SYNC.yaml [options]\n"
    "       ferry-export plan [-c SYNC.yaml | REF...] [--json]\n"
    "       ferry-export keygen [-W] -p PUBKEY -s SECKEY\n"
    "       ferry-export login -u USER [--password-stdin] HOST | logout HOST\n"
    "       ferry-export --version\n"
    "\n"
    "Export images (every platform of an index) and their referrers into a signed,\n"
    "zstd-compressed OCI layout tarball. REF is HOST[:PORT]/REPO:TAG or\n"
    "HOST[:PORT]/REPO@sha256:...\n"
    "\n"
    "  -k, --key FILE           minisign secret key that signs the bundle\n"
    "  -o, --output FILE        bundle to write (FILE.minisig is written beside it);\n"
    "                           - writes it to stdout (its statement is signed inside)\n"
    "  --key-password-file FILE read the secret key's password from FILE\n"
    "  --level N                zstd level (default 3); layers already compressed\n"
    "                           (gzip, zstd) are stored as they are\n"
    "  --threads N              zstd worker threads (default 0)\n"
    "  --connections N          downloads at once per registry (default 12; from a far\n"
    "                           registry blobs over 2 MiB in 2 MiB ranges; 32 MiB ahead)\n"
    "  --volume-size SIZE       cut the bundle into volumes of at most SIZE bytes\n"
    "                           (suffixes K, M, G: 4095M for FAT32): BUNDLE.001.tar.zst,\n"
    "                           ..., each signed, each verifying and importing alone\n" SELECT_HELP
        CLI_REGISTRY_HELP "  --json                   what was written, as JSON on stdout\n"
    "  --progress               show progress even when stderr is not a terminal\n"
    "  -q, --quiet              only errors\n"
    "  -v, --verbose            more detail (twice for debug)\n"
    "\n"
    "Exit codes: 0 ok, 1 verification failed, 2 error, 64 usage.\n";

enum { OPT_VOLUME_SIZE = SEL_OPT_FIRST_FREE, OPT_CONNECTIONS };

/* The signature gate's verdicts, on stderr (stdout may be the bundle). */
static void
print_verdict(const char *source, const struct ferry_sig_verdict *vd, void *ud)
{
    (void)ud;
    if (!vd->ok || cli_verbosity > 0)
        cli_sig_print(stderr, source, vd);
}

int
cmd_export(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"key", required_argument, NULL, 'k'},
        {"output", required_argument, NULL, 'o'},
        {"key-password-file", required_argument, NULL, CLI_OPT_KEY_PASSWORD_FILE},
        {"level", required_argument, NULL, CLI_OPT_LEVEL},
        {"threads", required_argument, NULL, CLI_OPT_THREADS},
        {"volume-size", required_argument, NULL, OPT_VOLUME_SIZE},
        {"connections", required_argument, NULL, OPT_CONNECTIONS},
        {"progress", no_argument, NULL, CLI_OPT_PROGRESS},
        {"json", no_argument, NULL, CLI_OPT_JSON},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        SELECT_LONGOPTS,
        CLI_REGISTRY_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct ferry_export_opts eo;
    struct ferry_export_report rep;
    struct selection sel;
    struct cli_reg cr;
    struct ferry_seckey *sk = NULL;
    struct ferry_error *err = NULL;
    const struct ferry_export_item *items = NULL;
    const char *key = NULL, *pwfile = NULL;
    bool progress = false, json = false;
    size_t nitems = 0;
    char a[32], b[32], n1[48], n2[48], n3[48], n4[48];
    int c, r;

    memset(&eo, 0, sizeof eo);
    memset(&cr, 0, sizeof cr);
    memset(&sel, 0, sizeof sel);
    eo.threads = 0;
    while ((c = getopt_long(argc, argv, "k:o:c:p:qvh", longopts, NULL)) != -1) {
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
        case 'k':
            key = optarg;
            break;
        case 'o':
            eo.output = optarg;
            break;
        case CLI_OPT_KEY_PASSWORD_FILE:
            pwfile = optarg;
            break;
        case CLI_OPT_LEVEL:
            if (!cli_parse_int(optarg, 1, 19, &eo.level))
                return cli_usage("--level must be 1..19");
            break;
        case CLI_OPT_THREADS:
            if (!cli_parse_int(optarg, 0, 64, &eo.threads))
                return cli_usage("--threads must be 0..64");
            break;
        case OPT_CONNECTIONS:
            if (!cli_parse_int(optarg, 1, 32, &eo.connections))
                return cli_usage("--connections must be 1..32");
            break;
        case OPT_VOLUME_SIZE:
            if (!cli_parse_size(optarg, &eo.volume_size))
                return cli_usage("--volume-size: give bytes, or a number with K, M, G or T "
                                 "(4095M)");
            break;
        case CLI_OPT_PROGRESS:
            progress = true;
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
            return cli_bad_option("k:o:c:p:qvh", argv);
        }
    }
    if (key == NULL)
        return cli_usage("missing -k SECKEY (create one with: ferry-export keygen -p PUB -s SEC)");
    if (eo.output == NULL)
        return cli_usage("missing -o BUNDLE");
    if (json && strcmp(eo.output, "-") == 0)
        return cli_usage("-o - writes the bundle to stdout: --json cannot go there too");
    if (optind >= argc && sel.config == NULL)
        return cli_usage("no image reference given (or -c SYNC.yaml)");
    cli_setup(progress);
    if ((r = cli_reg_finish(&cr)) != 0 || (r = selection_gate(&sel, &eo)) != 0) {
        selection_clear(&sel);
        cli_reg_clear(&cr);
        return r;
    }
    eo.reg = cr.o;
    eo.on_verdict = print_verdict;
    /* The key first: a wrong password should not cost a tag listing. */
    if ((r = ferry_seckey_load(key, cli_key_password, (void *)pwfile, &sk, &err)) < 0)
        goto out;
    eo.key = sk;
    if ((r = selection_finish(&sel, argv + optind, (size_t)(argc - optind), &eo, &items, &nitems,
                              &err)) < 0)
        goto out;
    r = ferry_export_run(items, nitems, &eo, &rep, &err);
out:
    ferry_seckey_free(sk);
    selection_clear(&sel);
    cli_reg_clear(&cr);
    if (r < 0)
        return cli_fail(err);
    cli_progress_done();
    if (json) {
        json_t *o = json_pack(
            "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:f, s:f, s:f}}", "bundle",
            eo.output, "images", (json_int_t)rep.images, "referrers", (json_int_t)rep.referrers,
            "manifests", (json_int_t)rep.manifests, "blobs", (json_int_t)rep.blobs, "contentBytes",
            (json_int_t)rep.content_bytes, "bundleBytes", (json_int_t)rep.bundle_bytes,
            "externalBlobs", (json_int_t)rep.external_blobs, "externalBytes",
            (json_int_t)rep.external_bytes, "volumes", (json_int_t)rep.volumes, "seconds",
            "resolve", rep.resolve_s, "write", rep.write_s, "commit", rep.commit_s);
        char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (text == NULL) {
            cli_error("out of memory");
            return FERRY_EXIT_ERROR;
        }
        puts(text);
        free(text);
        return 0;
    }
    {
        char *v1 = rep.volumes ? ferry_export_volume_path(eo.output, 1, rep.volumes) : NULL;
        char *vn =
            rep.volumes ? ferry_export_volume_path(eo.output, rep.volumes, rep.volumes) : NULL;
        char what[1024];
        if (rep.volumes > 1 && v1 && vn)
            snprintf(what, sizeof what, "%s to %s (%u volumes)", v1, vn, rep.volumes);
        else
            snprintf(what, sizeof what, "%s%s", v1 ? v1 : eo.output, v1 ? " (1 volume)" : "");
        cli_info("wrote %s: %s, %s, %s, %s, %s of content in %s", what,
                 cli_count(n1, sizeof n1, rep.images, "image"),
                 cli_count(n2, sizeof n2, rep.referrers, "referrer"),
                 cli_count(n3, sizeof n3, rep.manifests, "manifest"),
                 cli_count(n4, sizeof n4, rep.blobs, "blob"),
                 cli_size(a, sizeof a, rep.content_bytes), cli_size(b, sizeof b, rep.bundle_bytes));
        ferry_free(v1);
        ferry_free(vn);
    }
    if (rep.parts > 0)
        cli_info("blobs larger than a volume: in %s across consecutive volumes",
                 cli_count(n1, sizeof n1, rep.parts, "part"));
    if (rep.external_blobs > 0)
        cli_info("delta: %s (%s) left out, expected in the target",
                 cli_count(n1, sizeof n1, rep.external_blobs, "blob"),
                 cli_size(a, sizeof a, rep.external_bytes));
    if (cli_verbosity >= 2)
        cli_info("time: resolve %.2f s, write %.2f s, commit %.2f s (fsync, signature)",
                 rep.resolve_s, rep.write_s, rep.commit_s);
    return 0;
}
