/* ferry-export: command dispatch (crun: src/crun.c commands[]). */
#include <string.h>

#include "cli.h"
#include "export_cmds.h"
#include "ferry/syncconfig.h"

static int
cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cli_version(ferry_sync_versions());
}

/* "ferry-export help": the export's own help, which lists the commands */
static int
cmd_help(int argc, char **argv)
{
    static char help[] = "--help";
    char *av[] = {argv[0], help, NULL};

    (void)argc;
    return cmd_export(2, av);
}

static const struct cli_cmd commands[] = {
    {"keygen", cmd_keygen, "create a minisign-compatible key pair"},
    {"plan", cmd_plan, "show what an export would carry"},
    {"login", cli_cmd_login, "store credentials for a registry"},
    {"logout", cli_cmd_logout, "remove stored credentials"},
    {"help", cmd_help, NULL},
    {"--version", cmd_version, NULL},
    {"version", cmd_version, NULL},
    {NULL, NULL, NULL},
};

static const struct cli_cmd export_cmd = {"export", cmd_export, "export images into a bundle"};

int
main(int argc, char **argv)
{
    cli_prog = "ferry-export";
    return cli_dispatch(commands, &export_cmd, argc, argv);
}
