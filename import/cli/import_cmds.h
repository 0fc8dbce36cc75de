#ifndef FERRY_IMPORT_CMDS_H
#define FERRY_IMPORT_CMDS_H
#include <stdbool.h>

#include "ferry/sign.h"
int cmd_verify(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_referrers(int argc, char **argv);

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
