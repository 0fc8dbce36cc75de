/* ferry core: containers-policy.json lookups. Which scope applies to an image
 * (containers/image signature/policy_eval.go requirementsForImageRef,
 * docker/policyconfiguration/naming.go) and whether a signed identity matches
 * (signature/policy_reference_match.go), with references normalised as
 * docker/reference ParseNormalizedNamed does (ferry_ref_parse). */
#include <string.h>

#include "ferry/digest.h"
#include "ferry/limits.h"
#include "ferry/reference.h"
#include "policy_int.h"

/* ---- grammar ----------------------------------------------------------------- */

bool
ferry_policy_scope_valid(const char *scope)
{
    size_t n = strlen(scope);
    const char *slash, *at, *colon;
    struct ferry_digest dg;
    char path[FERRY_MAX_REFERENCE + 1];

    if (n == 0 || n > FERRY_MAX_REFERENCE)
        return false;
    if (n > 2 && scope[0] == '*' && scope[1] == '.') /* naming.go: "*." + a host suffix */
        return memchr(scope + 2, ':', n - 2) == NULL && ferry_ref_domain_valid(scope + 2, n - 2);
    slash = strchr(scope, '/');
    if (slash == NULL)
        return ferry_ref_domain_valid(scope, n);
    if (!ferry_ref_domain_valid(scope, (size_t)(slash - scope)))
        return false;
    /* PATH, then ":" TAG or "@" DIGEST (naming.go DockerReferenceIdentity
     * gives one or the other, never both) */
    at = strchr(slash, '@');
    if (at != NULL) {
        if (ferry_digest_parse(at + 1, &dg, NULL) < 0 || strcmp(dg.str, at + 1) != 0)
            return false;
        n = (size_t)(at - slash - 1);
    } else {
        n = strlen(slash + 1);
        colon = strrchr(slash, ':');
        if (colon != NULL) {
            if (!ferry_tag_valid(colon + 1))
                return false;
            n = (size_t)(colon - slash - 1);
        }
    }
    if (n >= sizeof path)
        return false;
    memcpy(path, slash + 1, n);
    path[n] = '\0';
    return ferry_repository_valid(path);
}

bool
ferry_policy_prefix_valid(const char *s)
{
    const char *slash = strchr(s, '/');
    size_t n = strlen(s);

    if (n == 0 || n > FERRY_MAX_REFERENCE)
        return false;
    if (slash == NULL)
        return ferry_ref_domain_valid(s, n);
    if (!ferry_ref_domain_valid(s, (size_t)(slash - s)))
        return false;
    return ferry_repository_valid(slash + 1);
}

/* ---- references ---------------------------------------------------------------- */

int
ferry_policy_parse_named(const char *s, struct ferry_ref **out, bool *name_only,
                         struct ferry_error **err)
{
    struct ferry_ref *r = NULL;
    size_t n;
    int ret;

    if (s == NULL)
        return ferry_error_new(err, FERRY_E_INVALID, "invalid reference: none");
    /* ferry_ref_parse completes a bare name with ":latest"; tell that apart
     * from a written ":latest" (no digest: the input then ends in it) */
    if ((ret = ferry_ref_parse(s, true, &r, err)) < 0)
        return ret;
    n = strlen(s);
    *name_only = r->digest == NULL && strcmp(r->tag, "latest") == 0 &&
                 !(n > 7 && strcmp(s + n - 7, ":latest") == 0);
    if (*name_only)
        ferry_safefree(r->tag);
    *out = r;
    return 0;
}

/* Parse without an error (matching only says yes or no). */
static struct ferry_ref *
parse_quiet(const char *s, bool *name_only)
{
    struct ferry_ref *r = NULL;

    if (ferry_policy_parse_named(s, &r, name_only, NULL) < 0)
        return NULL;
    return r;
}

/* Name(): "registry/repository"; String(): with ":tag" and "@digest". */
static bool
same_name(const struct ferry_ref *a, const struct ferry_ref *b)
{
    return strcmp(a->registry, b->registry) == 0 && strcmp(a->repository, b->repository) == 0;
}

static bool
str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
same_string(const struct ferry_ref *a, const struct ferry_ref *b)
{
    return same_name(a, b) && str_eq(a->tag, b->tag) && str_eq(a->digest, b->digest);
}

/* matchRepoDigestOrExactReferenceValues: a tagged image (with or without a
 * digest) needs exactly its reference signed; a digest-only one any signed
 * reference of its repository (the signature binds the manifest digest). */
static bool
repo_digest_or_exact(const struct ferry_ref *intended, const struct ferry_ref *sig,
                     bool sig_name_only)
{
    if (sig_name_only)
        return false;
    if (intended->tag != NULL)
        return same_string(intended, sig);
    if (intended->digest != NULL)
        return same_name(intended, sig);
    return false;
}

/* prmRemapIdentity.remapReferencePrefix: a reference whose name is prefix or
 * below it gets signed_prefix instead, and must still be a canonical
 * reference (reference.ParseNamed); any other one is kept. NULL when the
 * rewrite is not valid or memory ran out. */
static struct ferry_ref *
remap(const struct ferry_policy_identity *id, struct ferry_ref *ref, bool *changed)
{
    size_t plen = id->prefix ? strlen(id->prefix) : 0;
    char *name = NULL, *full = NULL, *rewritten = NULL, *again = NULL;
    struct ferry_ref *out = NULL;
    bool name_only, match;

    *changed = false;
    if (id->prefix == NULL || id->signed_prefix == NULL)
        return NULL;
    if ((name = ferry_asprintf("%s/%s", ref->registry, ref->repository)) == NULL)
        return NULL;
    /* only '/' can follow the prefix in a name: '@' and ':' do not occur in
     * Name() but in a port, which must then match whole */
    match = strncmp(name, id->prefix, plen) == 0 && (name[plen] == '\0' || name[plen] == '/');
    if (!match) {
        ferry_free(name);
        return ref;
    }
    full = ferry_ref_string(ref);
    if (full != NULL)
        rewritten = ferry_asprintf("%s%s", id->signed_prefix, full + plen);
    if (rewritten != NULL && (out = parse_quiet(rewritten, &name_only)) != NULL) {
        again = ferry_ref_string(out);
        if (again == NULL || strcmp(again, rewritten) != 0) { /* ErrNameNotCanonical */
            ferry_ref_free(out);
            out = NULL;
        }
    }
    ferry_free(again);
    ferry_free(rewritten);
    ferry_free(full);
    ferry_free(name);
    *changed = out != NULL;
    return out;
}

bool
ferry_policy_identity_match(const struct ferry_policy_identity *id, const char *image_ref,
                            const char *signed_ref)
{
    struct ferry_ref *img = NULL, *sig = NULL, *mapped = NULL;
    bool img_bare = false, sig_bare = false, changed = false, ok = false;
    const char *intended;

    if (id == NULL || signed_ref == NULL)
        return false;
    switch (id->type) {
    case FERRY_POLICY_ID_EXACT_REFERENCE:
        intended = id->reference;
        break;
    case FERRY_POLICY_ID_EXACT_REPOSITORY:
        intended = id->repository;
        break;
    default:
        intended = image_ref;
        break;
    }
    if ((img = parse_quiet(intended, &img_bare)) == NULL ||
        (sig = parse_quiet(signed_ref, &sig_bare)) == NULL)
        goto out;

    switch (id->type) {
    case FERRY_POLICY_ID_MATCH_EXACT:
    case FERRY_POLICY_ID_EXACT_REFERENCE:
        /* neither side gets a default tag: both must be exact */
        ok = !img_bare && !sig_bare && same_string(img, sig);
        break;
    case FERRY_POLICY_ID_MATCH_REPO_DIGEST_OR_EXACT:
        ok = repo_digest_or_exact(img, sig, sig_bare);
        break;
    case FERRY_POLICY_ID_MATCH_REPOSITORY:
    case FERRY_POLICY_ID_EXACT_REPOSITORY:
        ok = same_name(img, sig);
        break;
    case FERRY_POLICY_ID_REMAP_IDENTITY:
        mapped = remap(id, img, &changed);
        ok = mapped != NULL && repo_digest_or_exact(mapped, sig, sig_bare);
        break;
    }
out:
    if (changed)
        ferry_ref_free(mapped);
    ferry_ref_free(img);
    ferry_ref_free(sig);
    return ok;
}

/* ---- scope lookup ------------------------------------------------------------------ */

static const struct ferry_policy_scope *
find(const struct ferry_policy *p, const char *scope)
{
    return ferry_strmap_get(p->index, scope);
}

int
ferry_policy_requirements(const struct ferry_policy *p, const char *reference,
                          const struct ferry_policy_req **reqs, size_t *n, const char **scope,
                          struct ferry_error **err)
{
    const struct ferry_policy_scope *hit = NULL;
    struct ferry_ref *r = NULL;
    char *name = NULL, *cand = NULL, *host;
    int ret;

    if (p == NULL || reference == NULL)
        return ferry_error_new(err, FERRY_E_INTERNAL, "policy lookup without a policy");
    /* docker_transport.go ParseReference: a bare name means ":latest" */
    if ((ret = ferry_ref_parse(reference, true, &r, err)) < 0)
        return ferry_error_wrap(err, "policy %s", p->name);
    if ((name = ferry_asprintf("%s/%s", r->registry, r->repository)) == NULL)
        goto nomem;

    /* PolicyConfigurationIdentity: name:tag or name@digest */
    if (r->tag != NULL) {
        if ((cand = ferry_asprintf("%s:%s", name, r->tag)) == NULL)
            goto nomem;
        hit = find(p, cand);
        ferry_safefree(cand);
    }
    if (hit == NULL && r->digest != NULL) {
        if ((cand = ferry_asprintf("%s@%s", name, r->digest)) == NULL)
            goto nomem;
        hit = find(p, cand);
        ferry_safefree(cand);
    }
    /* PolicyConfigurationNamespaces: the repository, its parents, the host
     * (the last one), then "*." + each suffix of the host after a '.', its
     * port cut at the first ':' */
    for (;;) {
        char *slash;
        if (hit != NULL)
            break;
        hit = find(p, name);
        if ((slash = strrchr(name, '/')) == NULL)
            break;
        *slash = '\0';
    }
    host = name;
    host[strcspn(host, ":")] = '\0';
    while (hit == NULL && (host = strchr(host, '.')) != NULL) {
        host++;
        if ((cand = ferry_asprintf("*.%s", host)) == NULL)
            goto nomem;
        hit = find(p, cand);
        ferry_safefree(cand);
    }
    if (hit == NULL)
        hit = find(p, "");
    if (hit != NULL) {
        *reqs = hit->reqs;
        *n = hit->n;
        *scope = hit->scope;
    } else {
        *reqs = p->def;
        *n = p->ndef;
        *scope = NULL;
    }
    ret = 0;
    goto out;
nomem:
    ret = ferry_error_new(err, FERRY_E_NOMEM, "policy %s: out of memory", p->name);
out:
    ferry_free(name);
    ferry_ref_free(r);
    return ret;
}

size_t
ferry_policy_docker_scope_count(const struct ferry_policy *p)
{
    return p ? p->ndocker : 0;
}

const char *
ferry_policy_docker_scope(const struct ferry_policy *p, size_t i,
                          const struct ferry_policy_req **reqs, size_t *n)
{
    if (p == NULL || i >= p->ndocker)
        return NULL;
    *reqs = p->docker[i].reqs;
    *n = p->docker[i].n;
    return p->docker[i].scope;
}

const char *
ferry_policy_identity_name(enum ferry_policy_identity_type t)
{
    switch (t) {
    case FERRY_POLICY_ID_MATCH_REPO_DIGEST_OR_EXACT:
        return "matchRepoDigestOrExact";
    case FERRY_POLICY_ID_MATCH_REPOSITORY:
        return "matchRepository";
    case FERRY_POLICY_ID_MATCH_EXACT:
        return "matchExact";
    case FERRY_POLICY_ID_EXACT_REFERENCE:
        return "exactReference";
    case FERRY_POLICY_ID_EXACT_REPOSITORY:
        return "exactRepository";
    case FERRY_POLICY_ID_REMAP_IDENTITY:
        return "remapIdentity";
    }
    return "unknown";
}
