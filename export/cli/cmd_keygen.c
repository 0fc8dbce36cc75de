/* ferry-export keygen: a minisign-compatible key pair. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "export_cmds.h"
#include "ferry/sign.h"

static const char usage[] =
    "usage: ferry-export keygen [-W] [-f] -p PUBKEY -s SECKEY [--password-file FILE]\n"
    "\n"
    "Create a key pair in minisign's format (minisign -G makes the same files).\n"
    "  -p, --pubkey FILE       public key file to write\n"
    "  -s, --seckey FILE       secret key file to write (mode 0600)\n"
    "  -W, --no-password       do not encrypt the secret key\n"
    "  -f, --force             overwrite existing files\n"
    "  --password-file FILE    read the password from FILE instead of asking\n";

int
cmd_keygen(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"pubkey", required_argument, NULL, 'p'},
        {"seckey", required_argument, NULL, 's'},
        {"no-password", no_argument, NULL, 'W'},
        {"force", no_argument, NULL, 'f'},
        {"password-file", required_argument, NULL, CLI_OPT_KEY_PASSWORD_FILE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *pub = NULL, *sec = NULL, *pwfile = NULL;
    bool nopw = false, force = false;
    struct ferry_error *err = NULL;
    char *pw = NULL;
    int c, r;

    while ((c = getopt_long(argc, argv, "p:s:Wfh", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            pub = optarg;
            break;
        case 's':
            sec = optarg;
            break;
        case 'W':
            nopw = true;
            break;
        case 'f':
            force = true;
            break;
        case CLI_OPT_KEY_PASSWORD_FILE:
            pwfile = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            return cli_bad_option("p:s:Wfh", argv);
        }
    }
    if (optind != argc)
        return cli_usage("unexpected argument '%s'", argv[optind]);
    if (pub == NULL || sec == NULL)
        return cli_usage("keygen needs -p PUBKEY and -s SECKEY");
    cli_setup(false);
    if (!nopw) {
        if (pwfile != NULL) {
            pw = cli_read_secret_file(pwfile);
            if (pw == NULL) {
                cli_error("cannot read the password from %s", pwfile);
                return FERRY_EXIT_ERROR;
            }
        } else {
            char *again;
            pw = cli_prompt_secret("Password for the new key: ");
            again = pw ? cli_prompt_secret("Password (one more time): ") : NULL;
            if (pw == NULL || again == NULL) {
                cli_secret_free(pw);
                cli_secret_free(again);
                cli_error("cannot read a password from the terminal (use -W for an unencrypted "
                          "key, or --password-file)");
                return FERRY_EXIT_ERROR;
            }
            if (strcmp(pw, again) != 0) {
                cli_secret_free(pw);
                cli_secret_free(again);
                cli_error("the passwords do not match");
                return FERRY_EXIT_ERROR;
            }
            cli_secret_free(again);
        }
        if (*pw == '\0') {
            cli_secret_free(pw);
            cli_error("empty password (use -W for an unencrypted key)");
            return FERRY_EXIT_USAGE;
        }
    }
    r = ferry_keygen(pub, sec, pw, force, &err);
    cli_secret_free(pw);
    if (r < 0)
        return cli_fail(err);
    cli_info("wrote public key %s and secret key %s", pub, sec);
    return 0;
}
