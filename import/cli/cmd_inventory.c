/* ferry-import inventory --to HOST[/PREFIX] [REPO...]: what a registry holds,
 * as a receipt (for ferry-export --base when receipts were lost); and the
 * writing of receipts, which push --receipt shares. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "ferry/import.h"
#include "ferry/receipt.h"
#include "ferry/sign.h"
#include "ferry/util.h"
#include "import_cmds.h"

static const char usage[] =
    "usage: ferry-import inventory --to HOST[:PORT][/PREFIX] [options] [REPO...]\n"
    "\n"
    "Write what the registry holds as a receipt: per repository its tags, the\n"
    "manifests they reach (platforms, referrers) and the blobs those reference.\n"
    "ferry-export --base reads it to leave out what the far side holds. REPO is\n"
    "a path under PREFIX; without REPO, every repository the catalog lists under it.\n"
    "  --to HOST[/PREFIX]       the registry (and prefix) to read\n"
    "  -o, --output FILE        write the receipt to FILE (default: stdout)\n"
    "  --receipt-key FILE       sign it with this minisign secret key (FILE.minisig)\n"
    "  --key-password-file FILE read that key's password from FILE\n" CLI_REGISTRY_HELP
    "  -q, --quiet              only errors\n"
    "  -v, --verbose            more detail (twice for debug)\n";

int
receipt_key_load(const char *keypath, const char *pwfile, struct ferry_seckey **sk,
                 struct ferry_error **err)
{
    *sk = NULL;
    if (keypath == NULL)
        return 0;
    if (ferry_seckey_load(keypath, cli_key_password, (void *)pwfile, sk, err) < 0)
        return ferry_error_wrap(err, "receipt key");
    return 0;
}

int
receipt_write(const struct ferry_receipt *rc, const char *path, const struct ferry_seckey *sk,
              struct ferry_error **err)
{
    char *text = NULL, *sig = NULL, *sigpath = NULL;
    size_t len = 0;
    int r;

    if ((r = ferry_receipt_serialize(rc, &text, &len, err)) < 0)
        goto out;
    if (path == NULL || strcmp(path, "-") == 0) {
        r = ferry_write_all(1, text, len) < 0 ? ferry_error_sys(err, errno, "write stdout") : 0;
        goto out;
    }
    if (sk != NULL) {
        const char *base = strrchr(path, '/');
        char *comment;
        base = base ? base + 1 : path;
        comment = ferry_asprintf("timestamp:%lld\tfile:%s\thashed", (long long)time(NULL), base);
        r = comment ? ferry_sign_buffer(sk, text, len, NULL, comment, &sig, err)
                    : ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        ferry_free(comment);
        if (r < 0)
            goto out;
    }
    if ((r = ferry_write_file_atomic(path, text, len, err)) < 0)
        goto out;
    if (sig != NULL) {
        if ((sigpath = ferry_asprintf("%s.minisig", path)) == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        r = ferry_write_file_atomic(sigpath, sig, strlen(sig), err);
    }
out:
    if (r < 0)
        ferry_error_wrap(err, "receipt %s", path ? path : "-");
    ferry_free(text);
    ferry_free(sig);
    ferry_free(sigpath);
    return r;
}

int
cmd_inventory(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"to", required_argument, NULL, CLI_OPT_TO},
        {"output", required_argument, NULL, 'o'},
        {"receipt-key", required_argument, NULL, CLI_OPT_RECEIPT_KEY},
        {"key-password-file", required_argument, NULL, CLI_OPT_KEY_PASSWORD_FILE},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        CLI_REGISTRY_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct ferry_receipt *rc = NULL;
    struct ferry_seckey *sk = NULL;
    struct ferry_error *err = NULL;
    struct cli_reg cr;
    const char *to = NULL, *output = NULL, *key = NULL, *pwfile = NULL;
    char n1[48], n2[48];
    size_t ntags = 0, nblobs = 0;
    int c, r;

    memset(&cr, 0, sizeof cr);
    while ((c = getopt_long(argc, argv, "o:qvh", longopts, NULL)) != -1) {
        if (cli_reg_option(&cr, c, optarg))
            continue;
        switch (c) {
        case CLI_OPT_TO:
            to = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case CLI_OPT_RECEIPT_KEY:
            key = optarg;
            break;
        case CLI_OPT_KEY_PASSWORD_FILE:
            pwfile = optarg;
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
            return cli_bad_option("o:qvh", argv);
        }
    }
    if (to == NULL)
        return cli_usage("missing --to HOST[:PORT][/PREFIX]");
    if (key != NULL && (output == NULL || strcmp(output, "-") == 0))
        return cli_usage("--receipt-key signs a file: give -o FILE");
    cli_setup(false);
    if ((r = cli_reg_finish(&cr)) != 0)
        return r;
    /* the key first: a wrong password should not cost a registry walk */
    if ((r = receipt_key_load(key, pwfile, &sk, &err)) < 0) {
        cli_reg_clear(&cr);
        return cli_fail(err);
    }
    r = ferry_import_inventory(to, &cr.o, (const char *const *)argv + optind,
                               (size_t)(argc - optind), true, &rc, &err);
    cli_reg_clear(&cr);
    if (r == 0)
        r = receipt_write(rc, output, sk, &err);
    ferry_seckey_free(sk);
    if (r < 0) {
        ferry_receipt_free(rc);
        return cli_fail(err);
    }
    for (size_t i = 0; i < rc->nrepos; i++) {
        ntags += rc->repos[i].ntags;
        nblobs += rc->repos[i].nblobs;
    }
    cli_progress_done();
    if (output != NULL && strcmp(output, "-") != 0)
        cli_info("wrote %s: %zu repositories, %s, %s%s", output, rc->nrepos,
                 cli_count(n1, sizeof n1, ntags, "tag"), cli_count(n2, sizeof n2, nblobs, "blob"),
                 key ? ", signed" : "");
    ferry_receipt_free(rc);
    return 0;
}
