/* ferry-import: command dispatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "import_cmds.h"

static const char usage[] =
    "usage: ferry-import COMMAND [options] BUNDLE\n"
    "\n"
    "  verify -p PUBKEY BUNDLE                      check signature and every digest\n"
    "  list [--json] [-p PUBKEY] BUNDLE             images, digests, platforms, sizes\n"
    "  push -p PUBKEY [--to HOST[:PORT][/PREFIX]] BUNDLE  verify, then push into a registry\n"
    "  referrers HOST[:PORT]/REPO[:TAG|@DIGEST]     referrers a registry holds for an image\n"
    "  inventory --to HOST[:PORT][/PREFIX] [REPO...]  what a registry holds, as a receipt\n"
    "\n"
    "  login -u USER [--password-stdin] HOST        check and store registry credentials\n"
    "  logout HOST                                  remove them\n"
    "  version, --version                           versions of ferry and its libraries\n"
    "\n"
    "Run 'ferry-import COMMAND --help' for the options of a command.\n"
    "Exit codes: 0 ok, 1 verification failed, 2 error, 3 refused (older than the\n"
    "bundle that set a tag, or than --max-age), 4 a delta's base blobs are missing\n"
    "in the target, 64 usage.\n";

static int
cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs(usage, stdout);
    return 0;
}

static int
cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_version(NULL);
}

static const struct cli_cmd commands[] = {
    {"verify", cmd_verify, "verify a bundle"},
    {"list", cmd_list, "list a bundle"},
    {"push", cmd_push, "push a bundle into a registry"},
    {"referrers", cmd_referrers, "list what a registry holds for a digest"},
    {"inventory", cmd_inventory, "write what a registry holds as a receipt"},
    {"login", cli_cmd_login, "store credentials for a registry"},
    {"logout", cli_cmd_logout, "remove stored credentials"},
    {"--help", cmd_help, NULL},
    {"-h", cmd_help, NULL},
    {"help", cmd_help, NULL},
    {"--version", cmd_version, NULL},
    {"version", cmd_version, NULL},
    {NULL, NULL, NULL},
};

int
keyset_add(struct keyset *ks, const char *path)
{
    struct ferry_error *err = NULL;
    struct ferry_pubkey **n, *pk = NULL;

    if (ferry_pubkey_load(path, &pk, &err) < 0)
        return cli_fail(err);
    n = ferry_realloc(ks->keys, (ks->n + 1) * sizeof *n);
    if (n == NULL) {
        ferry_pubkey_free(pk);
        cli_error("out of memory");
        return FERRY_EXIT_ERROR;
    }
    ks->keys = n;
    ks->keys[ks->n++] = pk;
    return 0;
}

void
keyset_free(struct keyset *ks)
{
    size_t i;

    for (i = 0; i < ks->n; i++)
        ferry_pubkey_free(ks->keys[i]);
    ferry_free(ks->keys);
    ks->keys = NULL;
    ks->n = 0;
}

int
import_common_option(struct keyset *ks, bool *progress, int c, const char *arg)
{
    int r;

    switch (c) {
    case 'p':
        if ((r = keyset_add(ks, arg)) != 0)
            return -r;
        return 1;
    case CLI_OPT_PROGRESS:
        *progress = true;
        return 1;
    case 'q':
        cli_verbosity = 0;
        return 1;
    case 'v':
        cli_verbosity++;
        return 1;
    default:
        return 0;
    }
}

int
main(int argc, char **argv)
{
    cli_prog = "ferry-import";
    return cli_dispatch(commands, NULL, argc, argv);
}
