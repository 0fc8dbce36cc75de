/* ferry: regsync-style sync configs: the schema.
 *
 * The file is read into secret memory (it may hold passwords) and parsed into
 * a YAML tree (yamltree.c caps nesting, anchors and the size an alias expands
 * to while parsing, and wipes every scalar). Each mapping is walked against a
 * table of keys: known keys are decoded here, keys that only make sense
 * online become notices, `x-` keys are skipped as regsync skips them,
 * anything else is an error at its line:column. Templates are expanded
 * (template.c) where regsync expands them, into secret memory for secret
 * fields. Tag patterns are compiled into tagfilter.c's matcher.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "ferry/limits.h"
#include "ferry/reference.h"
#include "ferry/syncconfig.h"
#include "ferry/util.h"
#include "tagfilter_int.h"
#include "template_int.h"
#include "yamltree_int.h"

/* Parsing state shared by the whole load. */
struct pending_notice {
    char *text;
    unsigned line, col;
    size_t more;
};

struct defaults {
    int referrers; /* -1 unset */
    bool filters_set;
    struct ferry_sync_referrer_filter *filters;
    size_t nfilters;
    char *rsrc, *rtgt;
};

struct ctx {
    struct yctx y; /* path and err, for the tree, the templates and the schema */
    struct ferry_sync_config *cfg;
    struct defaults d;
    struct pending_notice notices[FERRY_SYNC_MAX_NOTICES];
    size_t nnotices, dropped;
};

/* ---- notices ------------------------------------------------------------------- */

static int notice(struct ctx *c, const struct ynode *n, const char *fmt, ...) FERRY_PRINTF(3, 4);

static int
notice(struct ctx *c, const struct ynode *n, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < c->nnotices; i++)
        if (strcmp(c->notices[i].text, text) == 0) {
            c->notices[i].more++;
            return 0;
        }
    if (c->nnotices == FERRY_SYNC_MAX_NOTICES) {
        c->dropped++;
        return 0;
    }
    if ((c->notices[c->nnotices].text = ferry_strdup(text)) == NULL)
        return ytree_nomem(&c->y);
    c->notices[c->nnotices].line = n->line;
    c->notices[c->nnotices].col = n->col;
    c->notices[c->nnotices].more = 0;
    c->nnotices++;
    return 0;
}

/* The tree walker's hook for keys a table accepts without using them. */
static int
key_notice(void *ud, const struct ynode *key, const char *name, const char *text)
{
    return notice(ud, key, "%s: %s", name, text);
}

static int
notices_finish(struct ctx *c)
{
    size_t n = c->nnotices + (c->dropped ? 1 : 0);
    char **v;

    if (n == 0)
        return 0;
    if ((v = ferry_calloc(n, sizeof *v)) == NULL)
        return ytree_nomem(&c->y);
    c->cfg->notices = v;
    for (size_t i = 0; i < c->nnotices; i++) {
        const struct pending_notice *pn = &c->notices[i];
        if (pn->more > 0)
            v[i] = ferry_asprintf("%s:%u:%u: %s (and %zu more %s)", c->y.path, pn->line, pn->col,
                                  pn->text, pn->more, pn->more == 1 ? "place" : "places");
        else
            v[i] = ferry_asprintf("%s:%u:%u: %s", c->y.path, pn->line, pn->col, pn->text);
        if (v[i] == NULL)
            return ytree_nomem(&c->y);
        c->cfg->nnotices++;
    }
    if (c->dropped) {
        if ((v[c->nnotices] =
                 ferry_asprintf("%s: %zu more notices not shown", c->y.path, c->dropped)) == NULL)
            return ytree_nomem(&c->y);
        c->cfg->nnotices++;
    }
    return 0;
}

/* ---- references and platforms ---------------------------------------------------- */

static bool
has_tag_or_digest(const char *s)
{
    const char *slash = strrchr(s, '/');

    return strchr(s, '@') != NULL || strchr(slash ? slash : s, ':') != NULL;
}

static int
check_ref(struct ctx *c, const struct ynode *n, const char *what, const char *s, bool repo_only)
{
    struct ferry_ref *ref = NULL;
    struct ferry_error *e2 = NULL;
    char q[300];
    int r;

    ferry_quote(q, sizeof q, s, strlen(s));
    if (repo_only && has_tag_or_digest(s))
        return ytree_fail(&c->y, n, FERRY_E_INVALID,
                          "%s \"%s\" must name a repository, without tag or digest", what, q);
    if (ferry_ref_parse(s, true, &ref, &e2) < 0) {
        if (e2 != NULL && e2->code == FERRY_E_NOMEM)
            r = ytree_nomem(&c->y);
        else
            r = ytree_fail(&c->y, n, FERRY_E_INVALID, "%s \"%s\" is not a valid reference: %s",
                           what, q, e2 ? e2->msg : "malformed");
        ferry_error_free(e2);
        return r;
    }
    ferry_ref_free(ref);
    return 0;
}

/* referrerSource or referrerTarget: expanded, "" means unset (*out NULL),
 * anything else must name a repository. */
static int
get_referrer_repo(struct ctx *c, const struct ynode *v, const char *what, char **out)
{
    int r = template_expand(&c->y, v, what, false, out);

    if (r < 0)
        return r;
    if (*out != NULL && (*out)[0] == '\0')
        ferry_safefree(*out);
    return *out ? check_ref(c, v, what, *out, true) : 0;
}

/* os/arch[/variant], as regsync's platform strings (a Windows os.version may
 * follow the arch after ':'). */
static int
check_platform(struct ctx *c, const struct ynode *n, const char *s)
{
    size_t parts = 1, plen = 0;
    char q[160];

    for (const char *p = s;; p++) {
        if (*p == '/' || *p == '\0') {
            if (plen == 0)
                break;
            if (*p == '\0') {
                if (parts >= 2 && parts <= 3)
                    return 0;
                break;
            }
            parts++;
            plen = 0;
            continue;
        }
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-' || *p == ':'))
            break;
        plen++;
    }
    ferry_quote(q, sizeof q, s, strlen(s));
    return ytree_fail(&c->y, n, FERRY_E_INVALID,
                      "platform \"%s\" is not OS/ARCH or OS/ARCH/VARIANT", q);
}

/* ---- creds ------------------------------------------------------------------- */

#define N_MIRROR "ferry reads each image from the registry its source names; mirrors are not used"
#define N_UPLOAD "ferry-export only reads; ferry-import uploads each blob in one streamed PUT"
#define N_PACE "ferry does not throttle requests; it retries 429 responses after Retry-After"

enum {
    C_REGISTRY,
    C_HOSTNAME,
    C_USER,
    C_PASS,
    C_TLS,
    C_REGCERT,
    C_CLIENTCERT,
    C_CLIENTKEY,
    C_CREDHELPER,
};

static const struct ytree_key cred_keys[] = {
    [C_REGISTRY] = {"registry", NULL},
    [C_HOSTNAME] = {"hostname", NULL},
    [C_USER] = {"user", NULL},
    [C_PASS] = {"pass", NULL},
    [C_TLS] = {"tls", NULL},
    [C_REGCERT] = {"regcert", NULL},
    [C_CLIENTCERT] = {"clientcert", NULL},
    [C_CLIENTKEY] = {"clientkey", NULL},
    [C_CREDHELPER] = {"credHelper", NULL},
    {"credExpire", "ferry asks the credential helper once per run"},
    {"credHost", "ferry asks the credential helper for the registry name"},
    {"token", "ferry does not use tokens from the sync config; give user and pass"},
    {"scheme", "deprecated in regsync and ignored: set tls: disabled for plain http"},
    {"dns", "deprecated in regsync and ignored: use hostname"},
    {"pathPrefix", N_MIRROR},
    {"mirrors", N_MIRROR},
    {"priority", N_MIRROR},
    {"repoAuth", "ferry already asks for a token per repository scope"},
    {"api", "ferry speaks only the OCI distribution API"},
    {"apiOpts", "ferry speaks only the OCI distribution API"},
    {"blobChunk", N_UPLOAD},
    {"blobMax", N_UPLOAD},
    {"reqPerSec", N_PACE},
    {"reqConcurrent", N_PACE},
};

struct cred_ud {
    struct ctx *c;
    struct ferry_sync_cred *cr;
    bool tls_set;
    const struct ynode *registry_node;
};

static int
cred_key(void *ud, size_t id, const struct ynode *k, const struct ynode *v)
{
    struct cred_ud *u = ud;
    struct ctx *c = u->c;
    struct ferry_sync_cred *cr = u->cr;
    char *tls = NULL;
    int r = 0;

    (void)k;
    switch (id) {
    case C_REGISTRY:
        u->registry_node = v;
        return template_expand(&c->y, v, "registry", false, &cr->registry);
    case C_HOSTNAME:
        return ytree_get_string(&c->y, v, "hostname", &cr->hostname);
    case C_USER:
        return template_expand(&c->y, v, "user", false, &cr->user);
    case C_PASS:
        return template_expand(&c->y, v, "pass", true, &cr->pass);
    case C_REGCERT:
        return template_expand(&c->y, v, "regcert", false, &cr->regcert);
    case C_CLIENTCERT:
        return template_expand(&c->y, v, "clientcert", false, &cr->client_cert);
    case C_CLIENTKEY:
        return template_expand(&c->y, v, "clientkey", true, &cr->client_key);
    case C_CREDHELPER:
        return ytree_get_string(&c->y, v, "credHelper", &cr->cred_helper);
    case C_TLS:
        if ((r = ytree_get_string(&c->y, v, "tls", &tls)) < 0)
            return r;
        if (tls == NULL || tls[0] == '\0')
            ;
        else if (strcasecmp(tls, "enabled") == 0)
            cr->tls = FERRY_SYNC_TLS_ENABLED;
        else if (strcasecmp(tls, "insecure") == 0)
            cr->tls = FERRY_SYNC_TLS_INSECURE;
        else if (strcasecmp(tls, "disabled") == 0)
            cr->tls = FERRY_SYNC_TLS_DISABLED;
        else
            r = ytree_fail(&c->y, v, FERRY_E_INVALID, "tls must be enabled, insecure or disabled");
        u->tls_set = tls != NULL && tls[0] != '\0';
        ferry_free(tls);
        return r;
    }
    return 0;
}

static bool
is_hub(const char *h, size_t n)
{
    return (n == 9 && strncasecmp(h, "docker.io", n) == 0) ||
           (n == 15 && strncasecmp(h, "index.docker.io", n) == 0) ||
           (n == 20 && strncasecmp(h, "registry-1.docker.io", n) == 0);
}

/* The registry part of a creds name the way regclient reads it: an
 * "http://" prefix means plain http, a path is dropped, Docker Hub's names
 * become "docker.io". *start and *n delimit the host. */
static void
registry_name(const char *s, const char **start, size_t *n, bool *http)
{
    const char *p = strstr(s, "://"), *slash;

    *http = false;
    if (p != NULL && p > s) {
        *http = (size_t)(p - s) == 4 && strncasecmp(s, "http", 4) == 0;
        s = p + 3;
    }
    slash = strchr(s, '/');
    *start = s;
    *n = slash ? (size_t)(slash - s) : strlen(s);
    if (is_hub(*start, *n)) {
        *start = "docker.io";
        *n = 9;
    }
}

static int
parse_cred(struct ctx *c, const struct ynode *item, struct ferry_sync_cred *cr)
{
    static const struct ytree_map spec = {"creds entry", cred_keys,
                                          sizeof cred_keys / sizeof cred_keys[0], cred_key};
    struct cred_ud u = {c, cr, false, NULL};
    const char *h;
    char *name, q[160];
    size_t hn;
    bool http;
    int r;

    cr->line = item->line;
    cr->column = item->col;
    if (item->kind != Y_MAP)
        return ytree_fail(&c->y, item, FERRY_E_INVALID, "creds entries must be mappings");
    if ((r = ytree_walk_map(&c->y, item, &spec, &u)) < 0)
        return r;
    if (cr->registry == NULL || cr->registry[0] == '\0')
        return ytree_fail(&c->y, u.registry_node ? u.registry_node : item, FERRY_E_INVALID,
                          "creds entry has no registry");
    registry_name(cr->registry, &h, &hn, &http);
    if (hn == 0)
        return ytree_fail(&c->y, u.registry_node, FERRY_E_INVALID,
                          "creds entry has no registry host");
    if (http && !u.tls_set)
        cr->tls = FERRY_SYNC_TLS_DISABLED;
    cr->tls_set = u.tls_set || http;
    if ((name = ferry_strndup(h, hn)) == NULL)
        return ytree_nomem(&c->y);
    ferry_free(cr->registry);
    cr->registry = name;
    for (size_t i = 0; i < c->cfg->ncreds; i++) {
        if (strcasecmp(c->cfg->creds[i].registry, name) == 0) {
            ferry_quote(q, sizeof q, name, strlen(name));
            return ytree_fail(&c->y, u.registry_node, FERRY_E_INVALID,
                              "creds for \"%s\" already given at line %u", q,
                              c->cfg->creds[i].line);
        }
    }
    if (cr->regcert != NULL && cr->regcert[0] == '\0')
        ferry_safefree(cr->regcert);
    if (cr->regcert != NULL && strstr(cr->regcert, "-----BEGIN ") == NULL)
        return ytree_fail(&c->y, item, FERRY_E_INVALID,
                          "regcert is not PEM text (to read a file, write {{file \"PATH\"}})");
    if (cr->client_cert != NULL && cr->client_cert[0] == '\0')
        ferry_safefree(cr->client_cert);
    if (cr->client_key != NULL && cr->client_key[0] == '\0') {
        ferry_secret_free(cr->client_key);
        cr->client_key = NULL;
    }
    return 0;
}

static void
cred_clear(struct ferry_sync_cred *cr)
{
    ferry_free(cr->registry);
    ferry_free(cr->hostname);
    ferry_free(cr->user);
    ferry_secret_free(cr->pass);
    ferry_free(cr->cred_helper);
    ferry_free(cr->regcert);
    ferry_free(cr->client_cert);
    ferry_secret_free(cr->client_key);
    memset(cr, 0, sizeof *cr);
}

/* ---- referrer filters and tag sets ------------------------------------------------ */

static void
filters_free(struct ferry_sync_referrer_filter *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ferry_free(f[i].artifact_type);
        ferry_strv_free(f[i].annotation_keys, f[i].nannotations);
        ferry_strv_free(f[i].annotation_values, f[i].nannotations);
    }
    ferry_free(f);
}

static int
cmp_node_key(const void *a, const void *b)
{
    const struct ynode *x = *(const struct ynode *const *)a, *y = *(const struct ynode *const *)b;
    int r = memcmp(x->value, y->value, x->len < y->len ? x->len : y->len);

    return r != 0 ? r : (x->len > y->len) - (x->len < y->len);
}

static int
parse_annotations(struct ctx *c, const struct ynode *m, struct ferry_sync_referrer_filter *f)
{
    const struct ynode **keys = NULL;
    size_t nk = 0;
    char q[96];
    int r = 0;

    if (ytree_is_null(m))
        return 0;
    if (m->kind != Y_MAP)
        return ytree_fail(&c->y, m, FERRY_E_INVALID, "annotations must be a mapping");
    if (m->n / 2 > 0 && (keys = ferry_calloc(m->n / 2, sizeof *keys)) == NULL)
        return ytree_nomem(&c->y);
    if ((f->annotation_keys = ferry_calloc(m->n / 2 + 1, sizeof(char *))) == NULL ||
        (f->annotation_values = ferry_calloc(m->n / 2 + 1, sizeof(char *))) == NULL) {
        r = ytree_nomem(&c->y);
        goto out;
    }
    for (size_t i = 0; i + 1 < m->n; i += 2) {
        char *k = NULL, *v = NULL;
        if ((r = ytree_get_string(&c->y, m->items[i], "annotation name", &k)) < 0)
            goto out;
        if (k == NULL || k[0] == '\0') {
            ferry_free(k);
            r = ytree_fail(&c->y, m->items[i], FERRY_E_INVALID, "empty annotation name");
            goto out;
        }
        f->annotation_keys[f->nannotations] = k;
        if ((r = ytree_get_string(&c->y, m->items[i + 1], "annotation value", &v)) < 0) {
            f->annotation_values[f->nannotations++] = NULL;
            goto out;
        }
        if (v == NULL && (v = ferry_strdup("")) == NULL) {
            f->annotation_values[f->nannotations++] = NULL;
            r = ytree_nomem(&c->y);
            goto out;
        }
        f->annotation_values[f->nannotations++] = v;
        keys[nk++] = m->items[i];
    }
    qsort(keys, nk, sizeof *keys, cmp_node_key);
    for (size_t i = 1; i < nk; i++)
        if (cmp_node_key(&keys[i - 1], &keys[i]) == 0) {
            const struct ynode *later = keys[i]->line > keys[i - 1]->line ? keys[i] : keys[i - 1];
            ferry_quote(q, sizeof q, later->value, later->len);
            r = ytree_fail(&c->y, later, FERRY_E_INVALID, "duplicate annotation \"%s\"", q);
            goto out;
        }
out:
    ferry_free(keys);
    return r;
}

enum { F_ARTIFACT, F_ANNOTATIONS };
static const struct ytree_key filter_keys[] = {
    [F_ARTIFACT] = {"artifactType", NULL},
    [F_ANNOTATIONS] = {"annotations", NULL},
};

struct filter_ud {
    struct ctx *c;
    struct ferry_sync_referrer_filter *f;
};

static int
filter_key(void *ud, size_t id, const struct ynode *k, const struct ynode *v)
{
    struct filter_ud *u = ud;
    struct ctx *c = u->c;
    struct ferry_sync_referrer_filter *f = u->f;

    (void)k;
    if (id == F_ARTIFACT) {
        int r = ytree_get_string(&c->y, v, "artifactType", &f->artifact_type);
        if (r == 0 && f->artifact_type != NULL && f->artifact_type[0] == '\0')
            ferry_safefree(f->artifact_type);
        return r;
    }
    return parse_annotations(c, v, f);
}

static int
parse_filters(struct ctx *c, const struct ynode *n, struct ferry_sync_referrer_filter **out,
              size_t *nout)
{
    static const struct ytree_map spec = {"referrerFilters entry", filter_keys,
                                          sizeof filter_keys / sizeof filter_keys[0], filter_key};
    struct ynode *const *items;
    size_t count;
    int r;

    if ((r = ytree_get_list(&c->y, n, "referrerFilters", &items, &count)) < 0)
        return r;
    if (count == 0)
        return 0;
    if ((*out = ferry_calloc(count, sizeof **out)) == NULL)
        return ytree_nomem(&c->y);
    for (size_t i = 0; i < count; i++) {
        struct filter_ud u = {c, &(*out)[i]};
        (*nout)++;
        if (items[i]->kind != Y_MAP)
            return ytree_fail(&c->y, items[i], FERRY_E_INVALID,
                              "referrerFilters entries must be mappings");
        if ((r = ytree_walk_map(&c->y, items[i], &spec, &u)) < 0)
            return r;
    }
    return 0;
}

static int
copy_filters(struct ctx *c, const struct ferry_sync_referrer_filter *src, size_t n,
             struct ferry_sync_referrer_filter **out, size_t *nout)
{
    if (n == 0)
        return 0;
    if ((*out = ferry_calloc(n, sizeof **out)) == NULL)
        return ytree_nomem(&c->y);
    for (size_t i = 0; i < n; i++) {
        struct ferry_sync_referrer_filter *d = &(*out)[i];
        (*nout)++;
        if (src[i].artifact_type && (d->artifact_type = ferry_strdup(src[i].artifact_type)) == NULL)
            return ytree_nomem(&c->y);
        if (src[i].nannotations == 0)
            continue;
        if ((d->annotation_keys = ferry_calloc(src[i].nannotations, sizeof(char *))) == NULL ||
            (d->annotation_values = ferry_calloc(src[i].nannotations, sizeof(char *))) == NULL)
            return ytree_nomem(&c->y);
        for (size_t j = 0; j < src[i].nannotations; j++) {
            d->nannotations++;
            d->annotation_keys[j] = ferry_strdup(src[i].annotation_keys[j]);
            d->annotation_values[j] = ferry_strdup(src[i].annotation_values[j]);
            if (d->annotation_keys[j] == NULL || d->annotation_values[j] == NULL)
                return ytree_nomem(&c->y);
        }
    }
    return 0;
}

static void
tagset_clear(struct ferry_sync_tagset *t)
{
    ferry_strv_free(t->allow, t->nallow);
    ferry_strv_free(t->deny, t->ndeny);
    memset(t, 0, sizeof *t);
}

enum { G_ALLOW, G_DENY, G_SEMVER };
static const struct ytree_key tag_keys[] = {
    [G_ALLOW] = {"allow", NULL},
    [G_DENY] = {"deny", NULL},
    [G_SEMVER] = {"semverRange", NULL},
};

struct tagset_ud {
    struct ctx *c;
    struct ferry_sync_tagset *set;
    struct ferry_sync_matcher *m;
};

static int
tag_key(void *ud, size_t id, const struct ynode *k, const struct ynode *v)
{
    struct tagset_ud *u = ud;
    struct ctx *c = u->c;
    bool deny = id == G_DENY;
    const char *what = deny ? "tags.deny" : "tags.allow";
    struct ynode *const *items;
    size_t count;
    int r;

    if (id == G_SEMVER)
        return ytree_fail(
            &c->y, k, FERRY_E_UNSUPPORTED,
            "semverRange is not supported by ferry; select versions with allow and deny "
            "patterns");
    if ((r = ytree_get_list(&c->y, v, what, &items, &count)) < 0)
        return r;
    for (size_t i = 0; i < count; i++) {
        const struct ynode *pn = items[i];
        char emsg[256], q[200], *s = NULL;
        size_t off = 0;
        if ((r = ytree_get_string(&c->y, pn, what, &s)) < 0)
            return r;
        if (s == NULL && (s = ferry_strdup("")) == NULL)
            return ytree_nomem(&c->y);
        if (ferry_strv_push(deny ? &u->set->deny : &u->set->allow,
                            deny ? &u->set->ndeny : &u->set->nallow, s) < 0) {
            ferry_free(s);
            return ytree_nomem(&c->y);
        }
        r = sync_matcher_add_pattern(u->m, deny, s, strlen(s), pn->line, pn->col, emsg, sizeof emsg,
                                     &off);
        if (r == -FERRY_E_NOMEM)
            return ytree_nomem(&c->y);
        ferry_quote(q, sizeof q, s, strlen(s));
        if (r < 0)
            return ytree_fail(&c->y, pn, FERRY_E_INVALID,
                              "bad pattern \"%s\" in %s: %s at offset %zu", q, what, emsg, off);
        if (sync_pattern_top_alternation(s, strlen(s)) &&
            (r = notice(c, pn,
                        "pattern \"%s\": ferry matches each '|' alternative against the whole tag "
                        "(regsync anchors only the first and the last)",
                        q)) < 0)
            return r;
    }
    return 0;
}

/* Parse a `tags` or `tagSets` item into set and a new matcher set. */
static int
parse_tagset(struct ctx *c, const struct ynode *n, const char *what, struct ferry_sync_tagset *set,
             struct ferry_sync_matcher *m)
{
    const struct ytree_map spec = {what, tag_keys, sizeof tag_keys / sizeof tag_keys[0], tag_key};
    struct tagset_ud u = {c, set, m};

    if (sync_matcher_add_set(m) < 0)
        return ytree_nomem(&c->y);
    return ytree_walk_map(&c->y, n, &spec, &u);
}

/* ---- defaults and sync entries ------------------------------------------------------ */

#define N_ONCE "ferry-export runs once per invocation; schedule it with cron or a systemd timer"
#define N_ALLBLOBS "ferry always copies every manifest and blob into the bundle"
#define N_FASTCOPY                                                                                 \
    "not a regsync key (regsync ignores it); ferry always copies every manifest and blob into "    \
    "the bundle"
#define N_BACKUP                                                                                   \
    "ferry-export overwrites nothing, and ferry-import keeps no backup of tags it replaces"
#define N_RATELIMIT                                                                                \
    "ferry-export does not wait for a pull budget; it retries 429 responses after Retry-After"
#define N_MEDIATYPES                                                                               \
    "ferry carries OCI and Docker schema 2 manifests and indexes; the list is not used"
#define N_DIGESTTAGS                                                                               \
    "ferry never selects digest tags (sha256-...); referrers travel with referrers: true"
#define N_EXTERNAL "ferry carries only blobs the source registry serves"
#define N_SLOW                                                                                     \
    "ferry lists referrers with the referrers API, or the fallback tag where there is none"
#define N_FASTCHECK                                                                                \
    "ferry-export always reads the source; ferry-import skips what the target already has"
#define N_HOOKS "ferry runs no hooks; run commands before or after ferry-export"

enum { D_REFERRERS, D_FILTERS, D_RSRC, D_RTGT, D_SKIPDOCKER };
static const struct ytree_key default_keys[] = {
    [D_REFERRERS] = {"referrers", NULL},
    [D_FILTERS] = {"referrerFilters", NULL},
    [D_RSRC] = {"referrerSource", NULL},
    [D_RTGT] = {"referrerTarget", NULL},
    [D_SKIPDOCKER] = {"skipDockerConfig", NULL},
    {"backup", N_BACKUP},
    {"interval", N_ONCE},
    {"schedule", N_ONCE},
    {"ratelimit", N_RATELIMIT},
    {"parallel", "ferry-export reads the sync entries one after another, in file order"},
    {"digestTags", N_DIGESTTAGS},
    {"referrerSlow", N_SLOW},
    {"fastCheck", N_FASTCHECK},
    {"fastCopy", N_FASTCOPY},
    {"forceRecursive", N_ALLBLOBS},
    {"includeExternal", N_EXTERNAL},
    {"mediaTypes", N_MEDIATYPES},
    {"hooks", N_HOOKS},
    {"blobLimit", "ferry has no blob size limit; blobs of any size stream into the bundle"},
    {"cacheCount", "ferry keeps no manifest cache"},
    {"cacheTime", "ferry keeps no manifest cache"},
    {"userAgent", "ferry-export sends its own User-Agent"},
};

static int
default_key(void *ud, size_t id, const struct ynode *k, const struct ynode *v)
{
    struct ctx *c = ud;
    struct defaults *d = &c->d;
    bool b = false;
    int r;

    (void)k;
    switch (id) {
    case D_REFERRERS:
        if ((r = ytree_get_bool(&c->y, v, "referrers", &b)) < 0)
            return r;
        d->referrers = b ? 1 : 0;
        return 0;
    case D_FILTERS:
        d->filters_set = !ytree_is_null(v);
        return parse_filters(c, v, &d->filters, &d->nfilters);
    case D_RSRC:
        return get_referrer_repo(c, v, "referrerSource", &d->rsrc);
    case D_RTGT:
        return get_referrer_repo(c, v, "referrerTarget", &d->rtgt);
    case D_SKIPDOCKER:
        return ytree_get_bool(&c->y, v, "skipDockerConfig", &c->cfg->skip_docker_config);
    }
    return 0;
}

enum {
    S_SOURCE,
    S_TARGET,
    S_TYPE,
    S_TAGS,
    S_TAGSETS,
    S_PLATFORM,
    S_PLATFORMS,
    S_REFERRERS,
    S_FILTERS,
    S_RSRC,
    S_RTGT,
};

static const struct ytree_key sync_keys[] = {
    [S_SOURCE] = {"source", NULL},
    [S_TARGET] = {"target", NULL},
    [S_TYPE] = {"type", NULL},
    [S_TAGS] = {"tags", NULL},
    [S_TAGSETS] = {"tagSets", NULL},
    [S_PLATFORM] = {"platform", NULL},
    [S_PLATFORMS] = {"platforms", NULL},
    [S_REFERRERS] = {"referrers", NULL},
    [S_FILTERS] = {"referrerFilters", NULL},
    [S_RSRC] = {"referrerSource", NULL},
    [S_RTGT] = {"referrerTarget", NULL},
    {"repos", "only used with type: registry, which ferry does not support"},
    {"digestTags", N_DIGESTTAGS},
    {"referrerSlow", N_SLOW},
    {"fastCheck", N_FASTCHECK},
    {"fastCopy", N_FASTCOPY},
    {"forceRecursive", N_ALLBLOBS},
    {"includeExternal", N_EXTERNAL},
    {"backup", N_BACKUP},
    {"interval", N_ONCE},
    {"schedule", N_ONCE},
    {"ratelimit", N_RATELIMIT},
    {"mediaTypes", N_MEDIATYPES},
    {"hooks", N_HOOKS},
};

struct entry_ud {
    struct ctx *c;
    struct ferry_sync_entry *e;
    int referrers; /* -1 unset */
    bool filters_set;
    const struct ynode *type_node, *source_node, *target_node, *tags_node, *tagsets_node;
};

static int
entry_key(void *ud, size_t id, const struct ynode *k, const struct ynode *v)
{
    struct entry_ud *u = ud;
    struct ctx *c = u->c;
    struct ferry_sync_entry *e = u->e;
    struct ynode *const *items;
    size_t count;
    char *s = NULL, q[80];
    bool b = false;
    int r;

    (void)k;
    switch (id) {
    case S_SOURCE:
        u->source_node = v;
        return template_expand(&c->y, v, "source", false, &e->source);
    case S_TARGET:
        u->target_node = v;
        return template_expand(&c->y, v, "target", false, &e->target);
    case S_TYPE:
        u->type_node = v;
        if ((r = ytree_get_string(&c->y, v, "type", &s)) < 0)
            return r;
        if (s != NULL && strcmp(s, "repository") == 0)
            e->type = FERRY_SYNC_REPOSITORY;
        else if (s != NULL && strcmp(s, "image") == 0)
            e->type = FERRY_SYNC_IMAGE;
        else if (s != NULL && strcmp(s, "registry") == 0)
            r = ytree_fail(&c->y, v, FERRY_E_UNSUPPORTED,
                           "type registry is not supported: ferry does not list a registry's "
                           "repositories; write a type: repository entry for each");
        else if (s != NULL) {
            ferry_quote(q, sizeof q, s, strlen(s));
            r = ytree_fail(&c->y, v, FERRY_E_INVALID, "type \"%s\" is not repository or image", q);
        }
        ferry_free(s);
        return r;
    case S_TAGS:
        u->tags_node = v;
        if ((r = parse_tagset(c, v, "tags", &e->tags, e->matcher)) < 0)
            return r;
        /* regsync only uses `tags` when it holds a pattern */
        if (e->tags.nallow + e->tags.ndeny == 0)
            sync_matcher_drop_last_set(e->matcher);
        return 0;
    case S_TAGSETS:
        u->tagsets_node = v;
        if ((r = ytree_get_list(&c->y, v, "tagSets", &items, &count)) < 0)
            return r;
        if (count == 0)
            return 0;
        if ((e->tag_sets = ferry_calloc(count, sizeof *e->tag_sets)) == NULL)
            return ytree_nomem(&c->y);
        for (size_t i = 0; i < count; i++) {
            e->ntag_sets++;
            if (items[i]->kind != Y_MAP)
                return ytree_fail(&c->y, items[i], FERRY_E_INVALID,
                                  "tagSets entries must be mappings");
            if ((r = parse_tagset(c, items[i], "tagSets entry", &e->tag_sets[i], e->matcher)) < 0)
                return r;
        }
        return 0;
    case S_PLATFORM:
        if ((r = ytree_get_string(&c->y, v, "platform", &e->platform)) < 0)
            return r;
        if (e->platform != NULL && e->platform[0] == '\0')
            ferry_safefree(e->platform);
        return e->platform ? check_platform(c, v, e->platform) : 0;
    case S_PLATFORMS:
        if ((r = ytree_get_strlist(&c->y, v, "platforms", &e->platforms, &e->nplatforms)) < 0)
            return r;
        for (size_t i = 0; i < e->nplatforms; i++)
            if ((r = check_platform(c, v->items[i], e->platforms[i])) < 0)
                return r;
        return 0;
    case S_REFERRERS:
        if ((r = ytree_get_bool(&c->y, v, "referrers", &b)) < 0)
            return r;
        u->referrers = b ? 1 : 0;
        return 0;
    case S_FILTERS:
        u->filters_set = !ytree_is_null(v);
        return parse_filters(c, v, &e->referrer_filters, &e->nreferrer_filters);
    case S_RSRC:
        return get_referrer_repo(c, v, "referrerSource", &e->referrer_source);
    case S_RTGT:
        return get_referrer_repo(c, v, "referrerTarget", &e->referrer_target);
    }
    return 0;
}

static void
entry_clear(struct ferry_sync_entry *e)
{
    ferry_free(e->source);
    ferry_free(e->target);
    tagset_clear(&e->tags);
    for (size_t i = 0; i < e->ntag_sets; i++)
        tagset_clear(&e->tag_sets[i]);
    ferry_free(e->tag_sets);
    ferry_free(e->platform);
    ferry_strv_free(e->platforms, e->nplatforms);
    ferry_free(e->referrer_source);
    ferry_free(e->referrer_target);
    filters_free(e->referrer_filters, e->nreferrer_filters);
    sync_matcher_free(e->matcher);
    memset(e, 0, sizeof *e);
}

static int
parse_entry(struct ctx *c, const struct ynode *item, struct ferry_sync_entry *e)
{
    static const struct ytree_map spec = {"sync entry", sync_keys,
                                          sizeof sync_keys / sizeof sync_keys[0], entry_key};
    struct entry_ud u = {c, e, -1, false, NULL, NULL, NULL, NULL, NULL};
    const struct defaults *d = &c->d;
    bool repo;
    int r;

    e->line = item->line;
    e->column = item->col;
    if (item->kind != Y_MAP)
        return ytree_fail(&c->y, item, FERRY_E_INVALID, "sync entries must be mappings");
    if ((e->matcher = sync_matcher_new(c->y.path)) == NULL)
        return ytree_nomem(&c->y);
    if ((r = ytree_walk_map(&c->y, item, &spec, &u)) < 0)
        return r;
    if (u.type_node == NULL || e->type == 0)
        return ytree_fail(&c->y, u.type_node ? u.type_node : item, FERRY_E_INVALID,
                          "sync entry has no type (repository or image)");
    if (e->source == NULL || e->source[0] == '\0')
        return ytree_fail(&c->y, u.source_node ? u.source_node : item, FERRY_E_INVALID,
                          "sync entry has no source");
    if (e->target == NULL || e->target[0] == '\0')
        return ytree_fail(&c->y, u.target_node ? u.target_node : item, FERRY_E_INVALID,
                          "sync entry has no target");
    repo = e->type == FERRY_SYNC_REPOSITORY;
    if ((r = check_ref(c, u.source_node, "source", e->source, repo)) < 0 ||
        (r = check_ref(c, u.target_node, "target", e->target, repo)) < 0)
        return r;
    if (!repo && (u.tags_node != NULL || u.tagsets_node != NULL) &&
        (r = notice(c, u.tags_node ? u.tags_node : u.tagsets_node,
                    "tags: not used with type: image, which copies the one image named")) < 0)
        return r;
    /* defaults, as regsync's syncSetDefaults merges them */
    e->referrers = u.referrers >= 0 ? u.referrers == 1 : d->referrers == 1;
    if (!u.filters_set && d->filters_set &&
        (r = copy_filters(c, d->filters, d->nfilters, &e->referrer_filters,
                          &e->nreferrer_filters)) < 0)
        return r;
    if (e->referrer_source == NULL && d->rsrc != NULL &&
        (e->referrer_source = ferry_strdup(d->rsrc)) == NULL)
        return ytree_nomem(&c->y);
    if (e->referrer_target == NULL && d->rtgt != NULL &&
        (e->referrer_target = ferry_strdup(d->rtgt)) == NULL)
        return ytree_nomem(&c->y);
    return 0;
}

/* ---- top level ------------------------------------------------------------------- */

enum { T_VERSION, T_CREDS, T_DEFAULTS, T_SYNC };
static const struct ytree_key top_keys[] = {
    [T_VERSION] = {"version", NULL},
    [T_CREDS] = {"creds", NULL},
    [T_DEFAULTS] = {"defaults", NULL},
    [T_SYNC] = {"sync", NULL},
};

static int
top_key(void *ud, size_t id, const struct ynode *k, const struct ynode *v)
{
    const struct ynode **nodes = ud;

    (void)k;
    nodes[id] = v;
    return 0;
}

static int
parse_root(struct ctx *c, const struct ynode *root)
{
    static const struct ytree_map spec = {"the top level", top_keys,
                                          sizeof top_keys / sizeof top_keys[0], top_key};
    static const struct ytree_map dspec = {
        "defaults", default_keys, sizeof default_keys / sizeof default_keys[0], default_key};
    const struct ynode *nodes[4] = {0};
    struct ferry_sync_config *cfg = c->cfg;
    struct ynode *const *items;
    size_t count;
    char q[40];
    int r;

    if (ytree_is_null(root))
        return ferry_error_new(c->y.err, FERRY_E_INVALID, "%s: no sync entries", c->y.path);
    if (root->kind != Y_MAP)
        return ytree_fail(&c->y, root, FERRY_E_INVALID, "the top level must be a mapping");
    if ((r = ytree_walk_map(&c->y, root, &spec, nodes)) < 0)
        return r;

    if (!ytree_is_null(nodes[T_VERSION])) {
        const struct ynode *v = nodes[T_VERSION];
        size_t sign = v->kind == Y_SCALAR && v->len > 1 && v->value[0] == '-' ? 1 : 0;
        if (v->kind != Y_SCALAR || v->len == sign ||
            strspn(v->value + sign, "0123456789") != v->len - sign)
            return ytree_fail(&c->y, v, FERRY_E_INVALID, "version must be a number");
        if (strcmp(v->value, "1") != 0) {
            ferry_quote(q, sizeof q, v->value, v->len);
            return ytree_fail(&c->y, v, FERRY_E_UNSUPPORTED,
                              "version %s is not supported: ferry reads version 1", q);
        }
    }

    if ((r = ytree_get_list(&c->y, nodes[T_CREDS], "creds", &items, &count)) < 0)
        return r;
    if (count > 0 && (cfg->creds = ferry_calloc(count, sizeof *cfg->creds)) == NULL)
        return ytree_nomem(&c->y);
    for (size_t i = 0; i < count; i++) {
        struct ferry_sync_cred cr = {0};
        if ((r = parse_cred(c, items[i], &cr)) < 0) {
            cred_clear(&cr);
            return r;
        }
        cfg->creds[cfg->ncreds++] = cr;
    }

    if ((r = ytree_walk_map(&c->y, nodes[T_DEFAULTS], &dspec, c)) < 0)
        return r;

    if ((r = ytree_get_list(&c->y, nodes[T_SYNC], "sync", &items, &count)) < 0)
        return r;
    if (count == 0) {
        if (nodes[T_SYNC] != NULL)
            return ytree_fail(&c->y, nodes[T_SYNC], FERRY_E_INVALID, "no sync entries");
        return ferry_error_new(c->y.err, FERRY_E_INVALID, "%s: no sync entries", c->y.path);
    }
    if ((cfg->entries = ferry_calloc(count, sizeof *cfg->entries)) == NULL)
        return ytree_nomem(&c->y);
    for (size_t i = 0; i < count; i++) {
        cfg->nentries++;
        if ((r = parse_entry(c, items[i], &cfg->entries[i])) < 0)
            return r;
    }
    return 0;
}

/* ---- public API -------------------------------------------------------------------- */

void
ferry_sync_config_free(struct ferry_sync_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->ncreds; i++)
        cred_clear(&cfg->creds[i]);
    ferry_free(cfg->creds);
    for (size_t i = 0; i < cfg->nentries; i++)
        entry_clear(&cfg->entries[i]);
    ferry_free(cfg->entries);
    ferry_strv_free(cfg->notices, cfg->nnotices);
    ferry_free(cfg->path);
    ferry_free(cfg);
}

int
ferry_sync_config_parse(const char *name, const void *data, size_t len,
                        struct ferry_sync_config **out, struct ferry_error **err)
{
    struct ctx c;
    struct ytree *t = NULL;
    struct ferry_sync_config *cfg = NULL;
    int rc;

    memset(&c, 0, sizeof c);
    c.y.err = err;
    c.y.notice = key_notice;
    c.y.notice_ud = &c;
    c.d.referrers = -1;
    if (name == NULL || (data == NULL && len > 0) || out == NULL)
        return ferry_error_new(err, FERRY_E_INTERNAL, "ferry_sync_config_parse: bad arguments");
    if (len > FERRY_MAX_CONFIG_FILE)
        return ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: larger than %u bytes", name,
                               (unsigned)FERRY_MAX_CONFIG_FILE);
    if (sodium_init() < 0)
        return ferry_error_new(err, FERRY_E_CRYPTO, "%s: libsodium failed to initialise", name);
    if ((cfg = ferry_calloc(1, sizeof *cfg)) == NULL || (cfg->path = ferry_strdup(name)) == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", name);
        goto out;
    }
    c.cfg = cfg;
    c.y.path = cfg->path;
    if ((rc = ytree_load(&c.y, data != NULL ? data : "", len, &t)) < 0)
        goto out;
    if ((rc = parse_root(&c, ytree_root(t))) < 0)
        goto out;
    if ((rc = notices_finish(&c)) < 0)
        goto out;
    *out = cfg;
    cfg = NULL;
    rc = 0;
out:
    for (size_t i = 0; i < c.nnotices; i++)
        ferry_free(c.notices[i].text);
    filters_free(c.d.filters, c.d.nfilters);
    ferry_free(c.d.rsrc);
    ferry_free(c.d.rtgt);
    ytree_free(t);
    ferry_sync_config_free(cfg);
    return rc;
}

int
ferry_sync_config_load(const char *path, struct ferry_sync_config **out, struct ferry_error **err)
{
    struct ferry_secbuf b;
    int rc;

    if (path == NULL || out == NULL)
        return ferry_error_new(err, FERRY_E_INTERNAL, "ferry_sync_config_load: bad arguments");
    if (sodium_init() < 0)
        return ferry_error_new(err, FERRY_E_CRYPTO, "%s: libsodium failed to initialise", path);
    ferry_secbuf_init(&b, FERRY_MAX_CONFIG_FILE);
    if (ferry_secret_read_file(path, &b) < 0) {
        if (errno == EFBIG)
            rc = ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: larger than %u bytes", path,
                                 (unsigned)FERRY_MAX_CONFIG_FILE);
        else
            rc = ferry_error_sys(err, errno, "read sync config %s", path);
        goto out;
    }
    rc = ferry_sync_config_parse(path, b.data, b.len, out, err);
out:
    ferry_secbuf_free(&b);
    return rc;
}

const struct ferry_sync_cred *
ferry_sync_config_creds(const struct ferry_sync_config *cfg, const char *registry)
{
    const char *h;
    size_t n;
    bool http;

    if (cfg == NULL || registry == NULL)
        return NULL;
    registry_name(registry, &h, &n, &http);
    for (size_t i = 0; i < cfg->ncreds; i++) {
        const char *r = cfg->creds[i].registry;
        if (strlen(r) == n && strncasecmp(r, h, n) == 0)
            return &cfg->creds[i];
    }
    return NULL;
}
