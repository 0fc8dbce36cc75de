/* ferry-export: command dispatch (crun: src/crun.c commands[]). */
#include <string.h>

#include "cli.h"
#include "export_cmds.h"

static const struct cli_cmd commands[] = {
    {"keygen", cmd_keygen, "create a minisign-compatible key pair"},
    {"plan", cmd_plan, "show what an export would carry"},
    {NULL, NULL, NULL},
};

static const struct cli_cmd export_cmd = {"export", cmd_export, "export images into a bundle"};

int
main(int argc, char **argv)
{
    cli_prog = "ferry-export";
    return cli_dispatch(commands, &export_cmd, argc, argv);
}
