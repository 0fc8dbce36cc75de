/* ferry: what both command-line programs share: messages, progress, secrets.
 * Only public headers are used here (STYLE.md 1). */
#ifndef FERRY_CLI_H
#define FERRY_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "ferry/error.h"
#include "ferry/util.h"

struct cli_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

extern const char *cli_prog; /* "ferry-export" */
extern int cli_verbosity;    /* 0 quiet, 1 normal, 2 verbose, 3 debug */

/* Install log and progress handlers; progress shows on a TTY or when forced. */
void cli_setup(bool force_progress);
void cli_progress_done(void);
/* "ferry-export: <msg>" on stderr. */
void cli_error(const char *fmt, ...) FERRY_PRINTF(1, 2);
void cli_warn(const char *fmt, ...) FERRY_PRINTF(1, 2);
void cli_info(const char *fmt, ...) FERRY_PRINTF(1, 2);
/* Exit codes (docs/CLI.md): 0 ok, 1 verification failed, 2 operational
 * error, 3 refused (an image older than the bundle that set its tag, or a
 * bundle older than --max-age), 4 a delta's base blobs are missing in the
 * target, 64 usage. */
#define FERRY_EXIT_OK 0
#define FERRY_EXIT_VERIFY 1
#define FERRY_EXIT_ERROR 2
#define FERRY_EXIT_REFUSED 3
#define FERRY_EXIT_BASE_MISSING 4
#define FERRY_EXIT_WAITING 5 /* volumes of a set: images wait on volumes not given yet */
#define FERRY_EXIT_USAGE 64
/* The exit code for an error (NULL: 0): digest, size, signature, key and
 * bundle errors are 1, usage errors 64, anything else 2. */
int cli_exit_code(const struct ferry_error *e);
/* Print the error (and free it) and return the exit code for it. */
int cli_fail(struct ferry_error *err);
/* Usage error: one line, then a hint to --help (of the subcommand running),
 * exit 64. */
int cli_usage(const char *fmt, ...) FERRY_PRINTF(1, 2);
/* The subcommand running ("push"), set by cli_dispatch; NULL for the default. */
extern const char *cli_cmd_name;
/* getopt_long returned '?' (cli_dispatch turns getopt's own messages off):
 * the usage error naming the unknown option or the option missing its value. */
int cli_bad_option(const char *optstring, char **argv);
/* --version: program and version, bundle format, the libraries as loaded
 * (extra: the program's own beyond the core's and the registry client's). */
int cli_version(const char *extra);

/* Read one line (without newline) from fd 0 into sodium_malloc'd memory, for
 * --password-stdin. NULL on failure. Free with cli_secret_free. */
char *cli_read_secret_stdin(void);
/* Read the first line of a file as a secret. */
char *cli_read_secret_file(const char *path);
/* Prompt on /dev/tty without echo. */
char *cli_prompt_secret(const char *prompt);
void cli_secret_free(char *s);

/* Password callback for ferry_seckey_load: ud is a const char * file path or NULL (prompt). */
int cli_key_password(char *buf, size_t buflen, void *ud);

/* `login` and `logout`, the same in both programs (cmd_login.c). */
int cli_cmd_login(int argc, char **argv);
int cli_cmd_logout(int argc, char **argv);

/* Dispatch argv[1] over cmds; default_cmd runs when argv[1] is not a command. */
int cli_dispatch(const struct cli_cmd *cmds, const struct cli_cmd *default_cmd, int argc,
                 char **argv);
/* Set once a push has started: a later exit-1 error is not "nothing changed". */
extern bool cli_pushing;
/* Set by commands that verify before they act (verify, push). */
extern bool cli_verifying;
/* Warn, once per image, when its referrers land in another repository
 * (ferry_stmt_referrer_apart): plan and list. */
struct ferry_statement;
void cli_warn_apart(const struct ferry_statement *st);
/* A delta bundle (version 2): one line saying how many blobs it expects in
 * the target and which bases it was made against; nothing for a full
 * bundle. And the same as JSON members added to obj (bases, externalBlobs,
 * externalBytes). */
void cli_print_delta(const struct ferry_statement *st);
void cli_delta_json(const struct ferry_statement *st, void *obj);
/* "1 image", "3 images": count and noun, plural with "s", into buf. */
const char *cli_count(char *buf, size_t n, size_t count, const char *noun);
/* Human size "12.3 MiB" into buf. */
const char *cli_size(char *buf, size_t n, unsigned long long bytes);

/* Registry options shared by export and import: --plain-http, --ca-file,
 * --username, --password-stdin, --authfile, --insecure-tls. */
#include "ferry/registry.h"
enum {
    CLI_OPT_PLAIN_HTTP = 1000,
    CLI_OPT_CA_FILE,
    CLI_OPT_USERNAME,
    CLI_OPT_PASSWORD_STDIN,
    CLI_OPT_AUTHFILE,
    CLI_OPT_INSECURE_TLS,
    CLI_OPT_PROGRESS,
    CLI_OPT_JSON,
    CLI_OPT_LEVEL,
    CLI_OPT_THREADS,
    CLI_OPT_KEY_PASSWORD_FILE,
    CLI_OPT_TO,
    CLI_OPT_REQUIRE_SIGNATURE,
    CLI_OPT_REKOR_KEY,
    CLI_OPT_TRUSTED_ROOT,
    CLI_OPT_CERT_IDENTITY,
    CLI_OPT_CERT_IDENTITY_RE,
    CLI_OPT_CERT_ISSUER,
    CLI_OPT_CERT_ISSUER_RE,
    CLI_OPT_POLICY,
    CLI_OPT_FIRST_FREE,
};
#define CLI_REGISTRY_LONGOPTS                                                                      \
    {"plain-http", no_argument, NULL, CLI_OPT_PLAIN_HTTP},                                         \
        {"ca-file", required_argument, NULL, CLI_OPT_CA_FILE},                                     \
        {"username", required_argument, NULL, CLI_OPT_USERNAME},                                   \
        {"password-stdin", no_argument, NULL, CLI_OPT_PASSWORD_STDIN},                             \
        {"authfile", required_argument, NULL, CLI_OPT_AUTHFILE},                                   \
    {                                                                                              \
        "insecure-tls", no_argument, NULL, CLI_OPT_INSECURE_TLS                                    \
    }

struct cli_reg {
    struct ferry_registry_opts o;
    bool password_stdin;
    char *password; /* sodium_malloc'd */
};
/* Handle a registry option: 1 handled, 0 not a registry option. */
int cli_reg_option(struct cli_reg *cr, int opt, const char *arg);
/* Finish: read the password if asked; 0 ok, else an exit code. */
int cli_reg_finish(struct cli_reg *cr);
void cli_reg_clear(struct cli_reg *cr);
#define CLI_REGISTRY_HELP                                                                          \
    "  --plain-http          talk http:// (loopback or lab registries only)\n"                     \
    "  --ca-file FILE        trust the CA certificates in FILE as well\n"                          \
    "  --insecure-tls        do not verify TLS certificates\n"                                     \
    "  --username USER       log in as USER; the password is read with --password-stdin\n"         \
    "  --password-stdin      read the registry password from the first line of stdin\n"            \
    "  --authfile FILE       docker/containers auth file (default: REGISTRY_AUTH_FILE,\n"          \
    "                        then $DOCKER_CONFIG/config.json or ~/.docker/config.json)\n"
/* Parse a decimal integer in [min, max]; false on garbage. */
bool cli_parse_int(const char *s, long min, long max, int *out);
/* A duration: numbers with units s, m, h, d, w, summed ("30d", "1w2d",
 * "90m"); positive. */
bool cli_parse_duration(const char *s, int64_t *out);
/* A size in bytes with an optional binary suffix: K, M, G, T (also KiB,
 * MiB, ...; "4095M" is 4095 * 2^20); positive. */
bool cli_parse_size(const char *s, uint64_t *out);

/* The signature gate's options, shared by ferry-export (export, plan) and
 * ferry-import (verify, push): --require-signature KEY.pub (repeatable),
 * --rekor-key KEY.pub (repeatable), --trusted-root FILE with
 * --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp],
 * or --policy policy.json. */
#include "ferry/policy.h"
#include "ferry/sigcheck.h"
#include "ferry/sigstore.h"
#define CLI_SIG_LONGOPTS                                                                           \
    {"require-signature", required_argument, NULL, CLI_OPT_REQUIRE_SIGNATURE},                     \
        {"rekor-key", required_argument, NULL, CLI_OPT_REKOR_KEY},                                 \
        {"trusted-root", required_argument, NULL, CLI_OPT_TRUSTED_ROOT},                           \
        {"certificate-identity", required_argument, NULL, CLI_OPT_CERT_IDENTITY},                  \
        {"certificate-identity-regexp", required_argument, NULL, CLI_OPT_CERT_IDENTITY_RE},        \
        {"certificate-oidc-issuer", required_argument, NULL, CLI_OPT_CERT_ISSUER},                 \
        {"certificate-oidc-issuer-regexp", required_argument, NULL, CLI_OPT_CERT_ISSUER_RE},       \
    {                                                                                              \
        "policy", required_argument, NULL, CLI_OPT_POLICY                                          \
    }
#define CLI_SIG_HELP                                                                               \
    "signature gate (docs/signatures.md):\n"                                                       \
    "  --require-signature KEY.pub  a cosign signature or Sigstore bundle by this PEM\n"           \
    "                        key (repeatable: any one key suffices)\n"                             \
    "  --rekor-key KEY.pub   check Rekor entries (SETs) with this log key (repeatable)\n"          \
    "  --trusted-root FILE   Sigstore trusted_root.json: accept keyless (Fulcio)\n"                \
    "                        signatures by the identity below, and check Rekor SETs\n"             \
    "  --certificate-identity NAME, --certificate-identity-regexp RE\n"                            \
    "                        the certificate's e-mail or URI (RE: unanchored)\n"                   \
    "  --certificate-oidc-issuer URL, --certificate-oidc-issuer-regexp RE\n"                       \
    "                        the OIDC issuer that vouched for it\n"                                \
    "  --policy FILE         containers-policy.json (sigstoreSigned, reject,\n"                    \
    "                        insecureAcceptAnything per scope of the source reference)\n"
struct cli_sig {
    struct ferry_sig_key **keys, **tlog_keys;
    size_t nkeys, ntlog_keys;
    struct ferry_sig_root *root;
    struct ferry_sig_identity id;
    struct ferry_policy *policy;
    struct ferry_sig_policy_cache *pcache;
    struct ferry_sig_trust trust;
    struct ferry_sig_gate gate;
};
/* Handle a gate option (keys, roots and policies are loaded at once): 1
 * handled, 0 not one of them, negative: exit with -r (message printed). */
int cli_sig_option(struct cli_sig *s, int opt, const char *arg);
/* Check the combination; *gate is NULL when no gate was asked for. 0 ok,
 * else an exit code (message printed). */
int cli_sig_finish(struct cli_sig *s, const struct ferry_sig_gate **gate);
void cli_sig_free(struct cli_sig *s);
/* The verdict on one image as text: "signed    SOURCE by key ID" or
 * "unsigned  SOURCE: WHY", and as JSON {source, signed, keyId|identity|reason,
 * scope}. */
void cli_sig_print(FILE *f, const char *source, const struct ferry_sig_verdict *vd);
void *cli_sig_json(const char *source, const struct ferry_sig_verdict *vd);

#endif
