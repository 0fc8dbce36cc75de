/* The signature gate's command-line options (cli.h: CLI_SIG_LONGOPTS), for
 * ferry-export and ferry-import alike, and how a verdict is printed. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "ferry/util.h"

static int
add_key(struct ferry_sig_key ***keys, size_t *n, const char *path)
{
    struct ferry_error *err = NULL;
    struct ferry_sig_key **nk, *k = NULL;

    if (*n >= FERRY_SIGSTORE_MAX_GATE_KEYS)
        return -cli_usage("at most %d keys of each kind", FERRY_SIGSTORE_MAX_GATE_KEYS);
    if (ferry_sig_key_load_file(path, &k, &err) < 0)
        return -cli_fail(err);
    if ((nk = ferry_realloc(*keys, (*n + 1) * sizeof *nk)) == NULL) {
        ferry_sig_key_free(k);
        cli_error("out of memory");
        return -FERRY_EXIT_ERROR;
    }
    *keys = nk;
    nk[(*n)++] = k;
    return 1;
}

/* An identity option given once. */
static int
set_once(const char **slot, const char *name, const char *arg)
{
    if (*slot != NULL)
        return -cli_usage("%s is given once", name);
    if (*arg == '\0')
        return -cli_usage("%s needs a value", name);
    *slot = arg;
    return 1;
}

int
cli_sig_option(struct cli_sig *s, int opt, const char *arg)
{
    struct ferry_error *err = NULL;

    switch (opt) {
    case CLI_OPT_REQUIRE_SIGNATURE:
        return add_key(&s->keys, &s->nkeys, arg);
    case CLI_OPT_REKOR_KEY:
        return add_key(&s->tlog_keys, &s->ntlog_keys, arg);
    case CLI_OPT_TRUSTED_ROOT:
        if (s->root != NULL)
            return -cli_usage("--trusted-root is given once");
        if (ferry_sig_root_load_file(arg, &s->root, &err) < 0)
            return -cli_fail(err);
        return 1;
    case CLI_OPT_CERT_IDENTITY:
        return set_once(&s->id.subject, "--certificate-identity", arg);
    case CLI_OPT_CERT_IDENTITY_RE:
        return set_once(&s->id.subject_regexp, "--certificate-identity-regexp", arg);
    case CLI_OPT_CERT_ISSUER:
        return set_once(&s->id.issuer, "--certificate-oidc-issuer", arg);
    case CLI_OPT_CERT_ISSUER_RE:
        return set_once(&s->id.issuer_regexp, "--certificate-oidc-issuer-regexp", arg);
    case CLI_OPT_POLICY:
        if (s->policy != NULL)
            return -cli_usage("--policy is given once");
        if (ferry_policy_load_file(arg, &s->policy, &err) < 0 ||
            ferry_sig_policy_cache_new(s->policy, &s->pcache, &err) < 0)
            return -cli_fail(err);
        return 1;
    default:
        return 0;
    }
}

int
cli_sig_finish(struct cli_sig *s, const struct ferry_sig_gate **gate)
{
    struct ferry_error *err = NULL;
    bool ids = s->id.subject || s->id.subject_regexp || s->id.issuer || s->id.issuer_regexp;

    *gate = NULL;
    if (s->policy != NULL) {
        if (s->nkeys > 0 || s->root != NULL || ids || s->ntlog_keys > 0)
            return cli_usage("--policy says what to require: not with --require-signature, "
                             "--rekor-key, --trusted-root or --certificate-*");
        s->gate.policy = s->pcache;
        *gate = &s->gate;
        return 0;
    }
    if (ids && s->root == NULL)
        return cli_usage("--certificate-identity and --certificate-oidc-issuer need "
                         "--trusted-root");
    if (s->root != NULL) {
        if (!(s->id.subject || s->id.subject_regexp) || !(s->id.issuer || s->id.issuer_regexp))
            return cli_usage("--trusted-root needs --certificate-identity[-regexp] and "
                             "--certificate-oidc-issuer[-regexp]: whose signatures to accept");
        if ((s->id.subject && s->id.subject_regexp) || (s->id.issuer && s->id.issuer_regexp))
            return cli_usage("give --certificate-identity or its -regexp form, not both (the "
                             "same for --certificate-oidc-issuer)");
        if (ferry_sig_identity_check(&s->id, &err) < 0)
            return cli_fail(err);
    }
    if (s->nkeys == 0 && s->root == NULL) {
        if (s->ntlog_keys > 0)
            return cli_usage("--rekor-key checks the log entries of signatures: give "
                             "--require-signature or --trusted-root too");
        return 0;
    }
    s->trust.keys = s->keys;
    s->trust.nkeys = s->nkeys;
    s->trust.tlog_keys = s->tlog_keys;
    s->trust.ntlog_keys = s->ntlog_keys;
    s->trust.root = s->root;
    s->trust.identities = s->root ? &s->id : NULL;
    s->trust.nidentities = s->root ? 1 : 0;
    s->gate.trust = &s->trust;
    *gate = &s->gate;
    return 0;
}

void
cli_sig_free(struct cli_sig *s)
{
    for (size_t i = 0; i < s->nkeys; i++)
        ferry_sig_key_free(s->keys[i]);
    for (size_t i = 0; i < s->ntlog_keys; i++)
        ferry_sig_key_free(s->tlog_keys[i]);
    ferry_free(s->keys);
    ferry_free(s->tlog_keys);
    ferry_sig_root_free(s->root);
    ferry_sig_policy_cache_free(s->pcache);
    ferry_policy_free(s->policy);
    memset(s, 0, sizeof *s);
}

void
cli_sig_print(FILE *f, const char *source, const struct ferry_sig_verdict *vd)
{
    if (!vd->ok)
        fprintf(f, "unsigned  %s: %s\n", source, vd->why);
    else if (vd->identity[0] != '\0') /* keyless: who, not the certificate's key */
        fprintf(f, "signed    %s by %s (%s)\n", source, vd->identity,
                ferry_tlog_status_name(vd->tlog));
    else if (vd->key_id[0] != '\0')
        fprintf(f, "signed    %s by key %.16s (%s)\n", source, vd->key_id,
                ferry_tlog_status_name(vd->tlog));
    else
        fprintf(f, "accepted  %s: policy scope \"%s\" accepts anything\n", source, vd->scope);
}

void *
cli_sig_json(const char *source, const struct ferry_sig_verdict *vd)
{
    json_t *o = json_pack("{s:s, s:b}", "source", source, "signed", vd->ok);

    if (o == NULL)
        return NULL;
    if (vd->ok && vd->key_id[0] != '\0')
        json_object_set_new(o, "keyId", json_string(vd->key_id));
    if (vd->ok && vd->identity[0] != '\0')
        json_object_set_new(o, "identity", json_string(vd->identity));
    if (vd->ok && (vd->key_id[0] != '\0' || vd->identity[0] != '\0'))
        json_object_set_new(o, "tlog", json_string(ferry_tlog_status_name(vd->tlog)));
    if (!vd->ok) {
        json_object_set_new(o, "reason", json_string(vd->why));
        json_object_set_new(o, "reasonCode", json_string(ferry_sig_reason_name(vd->reason)));
    }
    if (vd->scope[0] != '\0')
        json_object_set_new(o, "policyScope", json_string(vd->scope));
    return o;
}
