#ifndef FERRY_IMPORT_CMDS_H
#define FERRY_IMPORT_CMDS_H
#include <stdbool.h>

#include "cli.h"
#include "ferry/sign.h"
int cmd_verify(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_referrers(int argc, char **argv);
int cmd_inventory(int argc, char **argv);

/* Options of push and inventory. */
enum {
    CLI_OPT_RECEIPT = CLI_OPT_FIRST_FREE,
    CLI_OPT_RECEIPT_KEY,
    CLI_OPT_DRY_RUN,
    CLI_OPT_ALLOW_DOWNGRADE,
    CLI_OPT_MAX_AGE,
    CLI_OPT_VERIFY_FIRST,
};

/* Write rc to path ("-" or NULL: stdout), replacing the file atomically;
 * with sk, sign it into path.minisig (minisign, trusted comment
 * "timestamp:...\tfile:NAME\thashed"). */
struct ferry_receipt;
int receipt_write(const struct ferry_receipt *rc, const char *path, const struct ferry_seckey *sk,
                  struct ferry_error **err);
/* Load the receipt key (NULL keypath: *sk NULL), before any work. */
int receipt_key_load(const char *keypath, const char *pwfile, struct ferry_seckey **sk,
                     struct ferry_error **err);

/* Trusted keys from repeated -p options. */
struct keyset {
    struct ferry_pubkey **keys;
    size_t n;
};
/* Load one public key file into ks; exit code on failure, 0 on success. */
int keyset_add(struct keyset *ks, const char *path);
void keyset_free(struct keyset *ks);
/* Options shared by verify, list and push: -p, --progress, -q, -v.
 * 1 handled, 0 not one of them, negative: exit with -r (message printed). */
int import_common_option(struct keyset *ks, bool *progress, int c, const char *arg);
#endif
