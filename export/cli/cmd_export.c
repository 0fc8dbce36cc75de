/* ferry-export [options] REF...: write a signed bundle. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"
#include "ferry/export.h"
#include "ferry/sign.h"

static const char usage[] =
    "usage: ferry-export -k SECKEY -o BUNDLE [options] REF...\n"
    "       ferry-export keygen [-W] -p PUBKEY -s SECKEY\n"
    "\n"
    "Export images (every platform of an index) into a signed, zstd-compressed OCI\n"
    "layout tarball. REF is HOST[:PORT]/REPO:TAG or HOST[:PORT]/REPO@sha256:...\n"
    "\n"
    "  -k, --key FILE           minisign secret key that signs the bundle\n"
    "  -o, --output FILE        bundle to write (FILE.minisig is written beside it)\n"
    "  --key-password-file FILE read the secret key's password from FILE\n"
    "  --level N                zstd level (default 3)\n"
    "  --threads N              zstd worker threads (default 2)\n"
    "  --no-referrers           do not export referrers (signatures, SBOMs, ...)\n"
    "  --referrers-artifact-type TYPE  keep only referrers of this artifactType\n"
    "                           (repeatable)\n"
    "  --referrers-src HOST/REPO  read referrers from this repository\n"
    "  --referrers-tgt HOST/REPO  record this repository as their import target\n" CLI_REGISTRY_HELP
    "  --progress               show progress even when stderr is not a terminal\n"
    "  -q, --quiet              only errors\n"
    "  -v, --verbose            more detail (twice for debug)\n"
    "\n"
    "Exit codes: 0 ok, 1 verification failed, 2 error, 64 usage.\n";

enum {
    OPT_NO_REFERRERS = CLI_OPT_FIRST_FREE,
    OPT_ARTIFACT_TYPE,
    OPT_REFERRERS_SRC,
    OPT_REFERRERS_TGT,
};

#define MAX_ARTIFACT_TYPES 32

int
cmd_export(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"key", required_argument, NULL, 'k'},
        {"output", required_argument, NULL, 'o'},
        {"key-password-file", required_argument, NULL, CLI_OPT_KEY_PASSWORD_FILE},
        {"level", required_argument, NULL, CLI_OPT_LEVEL},
        {"threads", required_argument, NULL, CLI_OPT_THREADS},
        {"progress", no_argument, NULL, CLI_OPT_PROGRESS},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"no-referrers", no_argument, NULL, OPT_NO_REFERRERS},
        {"referrers-artifact-type", required_argument, NULL, OPT_ARTIFACT_TYPE},
        {"referrers-src", required_argument, NULL, OPT_REFERRERS_SRC},
        {"referrers-tgt", required_argument, NULL, OPT_REFERRERS_TGT},
        CLI_REGISTRY_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct ferry_export_opts eo;
    struct ferry_export_report rep;
    struct cli_reg cr;
    struct ferry_seckey *sk = NULL;
    struct ferry_error *err = NULL;
    const char *key = NULL, *pwfile = NULL;
    bool progress = false;
    const char *types[MAX_ARTIFACT_TYPES];
    size_t ntypes = 0;
    char a[32], b[32];
    int c, r;

    memset(&eo, 0, sizeof eo);
    memset(&cr, 0, sizeof cr);
    eo.threads = 2;
    while ((c = getopt_long(argc, argv, "k:o:qvh", longopts, NULL)) != -1) {
        if (cli_reg_option(&cr, c, optarg))
            continue;
        switch (c) {
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
        case OPT_NO_REFERRERS:
            eo.no_referrers = true;
            break;
        case OPT_ARTIFACT_TYPE:
            if (ntypes == MAX_ARTIFACT_TYPES)
                return cli_usage("at most %d --referrers-artifact-type", MAX_ARTIFACT_TYPES);
            types[ntypes++] = optarg;
            break;
        case OPT_REFERRERS_SRC:
            eo.referrers_src = optarg;
            break;
        case OPT_REFERRERS_TGT:
            eo.referrers_tgt = optarg;
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
            return 0;
        default:
            return cli_usage("invalid option");
        }
    }
    eo.artifact_types = types;
    eo.nartifact_types = ntypes;
    if (eo.no_referrers && (ntypes || eo.referrers_src || eo.referrers_tgt))
        return cli_usage("--no-referrers conflicts with the other --referrers options");
    if (key == NULL)
        return cli_usage("missing -k SECKEY (create one with: ferry-export keygen -p PUB -s SEC)");
    if (eo.output == NULL)
        return cli_usage("missing -o BUNDLE");
    if (optind >= argc)
        return cli_usage("no image reference given");
    cli_setup(progress);
    if ((r = cli_reg_finish(&cr)) != 0)
        return r;
    if (ferry_seckey_load(key, cli_key_password, (void *)pwfile, &sk, &err) < 0) {
        cli_reg_clear(&cr);
        return cli_fail(err);
    }
    eo.key = sk;
    eo.reg = cr.o;
    r = ferry_export_run((const char *const *)argv + optind, (size_t)(argc - optind), &eo, &rep,
                         &err);
    ferry_seckey_free(sk);
    cli_reg_clear(&cr);
    if (r < 0)
        return cli_fail(err);
    cli_progress_done();
    cli_info("wrote %s: %zu images, %zu referrers, %zu manifests, %zu blobs, %s of content in %s",
             eo.output, rep.images, rep.referrers, rep.manifests, rep.blobs,
             cli_size(a, sizeof a, rep.content_bytes), cli_size(b, sizeof b, rep.bundle_bytes));
    return 0;
}
