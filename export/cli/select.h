/* ferry-export: what to export, from references or a sync config; shared by
 * the export and plan commands. */
#ifndef FERRY_EXPORT_SELECT_H
#define FERRY_EXPORT_SELECT_H

#include <getopt.h>

#include "cli.h"
#include "ferry/export.h"
#include "ferry/syncconfig.h"

#define SELECT_MAX_TYPES 32

enum {
    SEL_OPT_NO_REFERRERS = CLI_OPT_FIRST_FREE,
    SEL_OPT_ARTIFACT_TYPE,
    SEL_OPT_REFERRERS_SRC,
    SEL_OPT_REFERRERS_TGT,
    SEL_OPT_PLATFORM,
    SEL_OPT_BASE,
    SEL_OPT_SKIP_UNSIGNED,
    SEL_OPT_FIRST_FREE,
};

#define SELECT_LONGOPTS                                                                            \
    {"config", required_argument, NULL, 'c'},                                                      \
        {"no-referrers", no_argument, NULL, SEL_OPT_NO_REFERRERS},                                 \
        {"referrers-artifact-type", required_argument, NULL, SEL_OPT_ARTIFACT_TYPE},               \
        {"referrers-src", required_argument, NULL, SEL_OPT_REFERRERS_SRC},                         \
        {"referrers-tgt", required_argument, NULL, SEL_OPT_REFERRERS_TGT},                         \
        {"base", required_argument, NULL, SEL_OPT_BASE}, {"pubkey", required_argument, NULL, 'p'}, \
        {"skip-unsigned", no_argument, NULL, SEL_OPT_SKIP_UNSIGNED}, CLI_SIG_LONGOPTS,             \
    {                                                                                              \
        "platform", required_argument, NULL, SEL_OPT_PLATFORM                                      \
    }

#define SELECT_HELP                                                                                \
    "  -c, --config FILE        regsync-style sync config selecting what to export\n"              \
    "  --platform OS/ARCH       keep only this platform of an index (repeatable; the\n"            \
    "                           index is rewritten and gets a new digest)\n"                       \
    "  --no-referrers           do not export referrers (signatures, SBOMs, ...)\n"                \
    "  --referrers-artifact-type TYPE  keep only referrers of this artifactType\n"                 \
    "                           (repeatable)\n"                                                    \
    "  --referrers-src HOST/REPO  read referrers from this repository\n"                           \
    "  --referrers-tgt HOST/REPO  record this repository as their import target\n"                 \
    "  --base FILE              a receipt of the far side (ferry-import push --receipt,\n"         \
    "                           inventory) or an earlier bundle (repeatable): blobs it\n"          \
    "                           holds are left out and recorded as expected there\n"               \
    "  -p, --pubkey FILE        key a --base must be signed with (repeatable)\n"                   \
    "REF may be SRC=TARGET (as regctl image copy SRC TARGET): TARGET, HOST[:PORT]/REPO\n"          \
    "[:TAG], is recorded as the image's import target (without a tag, the source's)\n"

/* The signature gate's part of the help: a string of its own (C99's limit
 * on a literal's length). */
#define SELECT_SIG_HELP                                                                            \
    CLI_SIG_HELP                                                                                   \
    "  --skip-unsigned          leave out the images the gate refuses (their referrers\n"          \
    "                           too) instead of failing the export (exit 3)\n"

struct selection {
    const char *config;
    bool no_referrers;
    const char *types[SELECT_MAX_TYPES];
    size_t ntypes;
    const char *platforms[SELECT_MAX_TYPES];
    size_t nplatforms;
    const char *referrers_src, *referrers_tgt;
    struct ferry_sync_config *cfg;
    struct ferry_export_sync *sync;
    struct ferry_export_item *items; /* from references (owned) */
    size_t nitems;
    char **strs; /* SRC and TARGET of SRC=TARGET references, nitems * 2 (owned) */
    const char *base_paths[SELECT_MAX_TYPES];
    size_t nbases;
    const char *key_paths[SELECT_MAX_TYPES];
    size_t nkeys;
    struct ferry_export_base *bases[SELECT_MAX_TYPES];
    struct cli_sig sig; /* the signature gate's options */
    bool skip_unsigned;
};

/* 1 handled, 0 not a selection option, or an exit code (> 1) for a usage
 * error (the signature gate's options included). */
int selection_option(struct selection *s, int opt, const char *arg);
/* Load the bases (checked with the -p keys), then build the items from refs
 * or the config (tags are listed here, so this talks to registries); sets
 * eo->hosts and eo->bases. 0 or negative with *err. */
int selection_finish(struct selection *s, char **refs, size_t nrefs, struct ferry_export_opts *eo,
                     const struct ferry_export_item **items, size_t *nitems,
                     struct ferry_error **err);
void selection_clear(struct selection *s);
/* The signature gate of the options given (cli_sig_finish) into eo->gate:
 * 0, or an exit code (message printed). Before selection_finish. */
int selection_gate(struct selection *s, struct ferry_export_opts *eo);

#endif
