/* ferry-export: selection from references or a sync config. */
#include <string.h>

#include "ferry/reference.h"
#include "ferry/statement.h"
#include "select.h"

int
selection_option(struct selection *s, int opt, const char *arg)
{
    int r = cli_sig_option(&s->sig, opt, arg);

    if (r != 0) /* 1, or an exit code: 1 would read as "handled" */
        return r > 0 ? 1 : -r == FERRY_EXIT_VERIFY ? FERRY_EXIT_ERROR : -r;
    switch (opt) {
    case 'c':
        s->config = arg;
        return 1;
    case SEL_OPT_NO_REFERRERS:
        s->no_referrers = true;
        return 1;
    case SEL_OPT_SKIP_UNSIGNED:
        s->skip_unsigned = true;
        return 1;
    case SEL_OPT_ARTIFACT_TYPE:
        if (s->ntypes == SELECT_MAX_TYPES)
            return cli_usage("at most %d --referrers-artifact-type", SELECT_MAX_TYPES);
        s->types[s->ntypes++] = arg;
        return 1;
    case SEL_OPT_PLATFORM:
        if (s->nplatforms == SELECT_MAX_TYPES)
            return cli_usage("at most %d --platform", SELECT_MAX_TYPES);
        s->platforms[s->nplatforms++] = arg;
        return 1;
    case SEL_OPT_REFERRERS_SRC:
        s->referrers_src = arg;
        return 1;
    case SEL_OPT_REFERRERS_TGT:
        s->referrers_tgt = arg;
        return 1;
    case SEL_OPT_BASE:
        if (s->nbases == SELECT_MAX_TYPES)
            return cli_usage("at most %d --base", SELECT_MAX_TYPES);
        s->base_paths[s->nbases++] = arg;
        return 1;
    case 'p':
        if (s->nkeys == SELECT_MAX_TYPES)
            return cli_usage("at most %d -p", SELECT_MAX_TYPES);
        s->key_paths[s->nkeys++] = arg;
        return 1;
    default:
        return 0;
    }
}

/* A reference given on the command line: a usage error naming the accepted
 * forms if it is none. */
static int
check_reference(const char *text, struct ferry_error **err)
{
    struct ferry_ref *ref = NULL;
    char q[256];

    if (ferry_ref_parse(text, true, &ref, err) == 0) {
        ferry_ref_free(ref);
        return 0;
    }
    ferry_error_clear(err);
    ferry_quote(q, sizeof q, text, strlen(text));
    if (strstr(text, "://") != NULL)
        return ferry_error_new(err, FERRY_E_USAGE,
                               "reference \"%s\": give it without a scheme (for a registry on "
                               "plain HTTP, add --plain-http)",
                               q);
    return ferry_error_new(err, FERRY_E_USAGE,
                           "reference \"%s\" is not valid: give HOST[:PORT]/REPO:TAG, "
                           "HOST[:PORT]/REPO@sha256:HEX or NAME[:TAG] for Docker Hub (SRC=TARGET "
                           "records TARGET as where it lands)",
                           q);
}

/* The bases, each checked with the keys when -p was given. */
static int
load_bases(struct selection *s, struct ferry_export_opts *eo, struct ferry_error **err)
{
    struct ferry_pubkey *keys[SELECT_MAX_TYPES];
    size_t nkeys = 0, i;
    int r = 0;

    if (s->nkeys > 0 && s->nbases == 0)
        return ferry_error_new(err, FERRY_E_USAGE,
                               "-p checks the signatures of --base files: "
                               "give --base too");
    for (i = 0; i < s->nkeys && r == 0; i++)
        if ((r = ferry_pubkey_load(s->key_paths[i], &keys[i], err)) == 0)
            nkeys++;
    for (i = 0; i < s->nbases && r == 0; i++) {
        const struct ferry_stmt_base *id;
        char n1[48], q[64];
        if ((r = ferry_export_base_load(s->base_paths[i], keys, nkeys, &s->bases[i], err)) < 0)
            break;
        id = ferry_export_base_id(s->bases[i]);
        cli_info("base %s: %s %.19s created %s, %s the far side holds%s%s", s->base_paths[i],
                 id->kind, id->digest, ferry_quote(q, sizeof q, id->created, strlen(id->created)),
                 cli_count(n1, sizeof n1, ferry_export_base_blobs(s->bases[i]), "blob"),
                 id->key_id ? ", signed by key " : " (not authenticated: no -p)",
                 id->key_id ? id->key_id : "");
    }
    for (i = 0; i < nkeys; i++)
        ferry_pubkey_free(keys[i]);
    if (r < 0)
        return r;
    eo->bases = s->bases;
    eo->nbases = s->nbases;
    return 0;
}

int
selection_finish(struct selection *s, char **refs, size_t nrefs, struct ferry_export_opts *eo,
                 const struct ferry_export_item **items, size_t *nitems, struct ferry_error **err)
{
    size_t i;
    int r;

    if ((r = load_bases(s, eo, err)) < 0)
        return r;
    if (s->skip_unsigned && eo->gate == NULL)
        return ferry_error_new(err, FERRY_E_USAGE,
                               "--skip-unsigned leaves out what the signature gate refuses: give "
                               "--require-signature, --trusted-root or --policy");
    eo->skip_unsigned = s->skip_unsigned;

    if (s->config != NULL) {
        if (nrefs > 0 || s->no_referrers || s->ntypes || s->nplatforms || s->referrers_src ||
            s->referrers_tgt)
            return ferry_error_new(err, FERRY_E_USAGE,
                                   "with -c, the sync config says what to export: no references "
                                   "or selection options");
        if ((r = ferry_sync_config_load(s->config, &s->cfg, err)) < 0)
            return r;
        if ((r = ferry_export_sync_prepare(s->cfg, &eo->reg, &s->sync, err)) < 0)
            return r;
        *items = ferry_export_sync_items(s->sync, nitems);
        eo->hosts = ferry_export_sync_hosts(s->sync, &eo->nhosts);
        return 0;
    }
    if (nrefs == 0)
        return ferry_error_new(err, FERRY_E_USAGE, "no image reference given (or -c SYNC.yaml)");
    if (s->no_referrers && (s->ntypes || s->referrers_src || s->referrers_tgt))
        return ferry_error_new(err, FERRY_E_USAGE,
                               "--no-referrers conflicts with the other --referrers options");
    s->items = ferry_calloc(nrefs, sizeof *s->items);
    s->strs = ferry_calloc(nrefs * 2, sizeof *s->strs);
    if (s->items == NULL || s->strs == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    s->nitems = nrefs; /* what selection_clear frees, whatever fails below */
    for (i = 0; i < nrefs; i++) {
        struct ferry_export_item *it = &s->items[i];
        const char *eq = strchr(refs[i], '='); /* no reference holds '=' */
        char **src = &s->strs[2 * i], **tgt = &s->strs[2 * i + 1];
        *src = eq ? ferry_strndup(refs[i], (size_t)(eq - refs[i])) : ferry_strdup(refs[i]);
        if (*src == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        if ((r = check_reference(*src, err)) < 0)
            return r;
        if (eq != NULL) {
            if ((r = check_reference(eq + 1, err)) < 0)
                return r;
            if ((*tgt = ferry_export_target(*src, eq + 1, err)) == NULL)
                return -(int)(*err)->code;
        }
        it->ref = *src;
        it->target = *tgt;
        it->no_referrers = s->no_referrers;
        it->artifact_types = s->types;
        it->nartifact_types = s->ntypes;
        it->platforms = s->platforms;
        it->nplatforms = s->nplatforms;
        it->referrers_src = s->referrers_src;
        it->referrers_tgt = s->referrers_tgt;
    }
    s->nitems = nrefs;
    *items = s->items;
    *nitems = nrefs;
    return 0;
}

int
selection_gate(struct selection *s, struct ferry_export_opts *eo)
{
    return cli_sig_finish(&s->sig, &eo->gate);
}

void
selection_clear(struct selection *s)
{
    for (size_t i = 0; i < s->nbases; i++)
        ferry_export_base_free(s->bases[i]);
    cli_sig_free(&s->sig);
    ferry_export_sync_free(s->sync);
    ferry_sync_config_free(s->cfg);
    ferry_free(s->items);
    if (s->strs != NULL)
        ferry_strv_free(s->strs, s->nitems * 2);
    memset(s, 0, sizeof *s);
}
