/* ferry: tag selection for sync entries: allow/deny regexes compiled with
 * PCRE2, matched against the whole tag, as regsync does with Go's RE2.
 *
 * regsync compiles "^" + pattern + "$". PCRE2_ANCHORED | PCRE2_ENDANCHORED
 * asks for the same whole-tag match without rewriting the pattern, so error
 * offsets point into what the user wrote; PCRE2_DOLLAR_ENDONLY gives '$' RE2's
 * meaning. PCRE2 accepts everything RE2 does that people write in tag filters
 * (\d, (?:...), (?i), classes, \pL with PCRE2_UTF) and more (look-around,
 * back-references), so the match limits below bound what RE2 would not allow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <yaml.h>

#include "ferry/reference.h"
#include "ferry/syncconfig.h"
#include "ferry/util.h"
#include "tagfilter_int.h"

struct sync_pattern {
    pcre2_code *re;
    char *text;
    unsigned line, column;
};

struct sync_set {
    struct sync_pattern *allow;
    size_t nallow;
    struct sync_pattern *deny;
    size_t ndeny;
};

struct ferry_sync_matcher {
    const char *path;
    struct sync_set *sets;
    size_t nsets;
};

/* PCRE2 allocates through ferry_malloc, so tests see its memory too. */
static void *
re_malloc(PCRE2_SIZE n, void *ud)
{
    (void)ud;
    return ferry_malloc(n);
}

static void
re_free(void *p, void *ud)
{
    (void)ud;
    ferry_free(p);
}

struct ferry_sync_matcher *
sync_matcher_new(const char *path)
{
    struct ferry_sync_matcher *m = ferry_calloc(1, sizeof *m);

    if (m != NULL)
        m->path = path;
    return m;
}

static void
patterns_free(struct sync_pattern *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pcre2_code_free(p[i].re);
        ferry_free(p[i].text);
    }
    ferry_free(p);
}

void
sync_matcher_free(struct ferry_sync_matcher *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nsets; i++) {
        patterns_free(m->sets[i].allow, m->sets[i].nallow);
        patterns_free(m->sets[i].deny, m->sets[i].ndeny);
    }
    ferry_free(m->sets);
    ferry_free(m);
}

int
sync_matcher_add_set(struct ferry_sync_matcher *m)
{
    struct sync_set *s = ferry_realloc(m->sets, (m->nsets + 1) * sizeof *s);

    if (s == NULL)
        return -FERRY_E_NOMEM;
    m->sets = s;
    memset(&s[m->nsets], 0, sizeof *s);
    m->nsets++;
    return 0;
}

void
sync_matcher_drop_last_set(struct ferry_sync_matcher *m)
{
    if (m->nsets > 0 && m->sets[m->nsets - 1].nallow == 0 && m->sets[m->nsets - 1].ndeny == 0)
        m->nsets--;
}

int
sync_matcher_add_pattern(struct ferry_sync_matcher *m, bool deny, const char *pattern, size_t len,
                         unsigned line, unsigned column, char *emsg, size_t emsgsz, size_t *eoffset)
{
    pcre2_general_context *gctx = NULL;
    pcre2_compile_context *cctx = NULL;
    pcre2_code *re = NULL;
    struct sync_set *set;
    struct sync_pattern *arr, **listp;
    size_t *np;
    char *text = NULL;
    int errcode = 0, rc = -FERRY_E_NOMEM;
    PCRE2_SIZE off = 0;

    if (m->nsets == 0)
        return -FERRY_E_INTERNAL;
    set = &m->sets[m->nsets - 1];
    listp = deny ? &set->deny : &set->allow;
    np = deny ? &set->ndeny : &set->nallow;

    gctx = pcre2_general_context_create(re_malloc, re_free, NULL);
    if (gctx == NULL)
        goto out;
    cctx = pcre2_compile_context_create(gctx);
    if (cctx == NULL)
        goto out;
    re = pcre2_compile((PCRE2_SPTR)pattern, len,
                       PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOLLAR_ENDONLY |
                           PCRE2_NEVER_BACKSLASH_C,
                       &errcode, &off, cctx);
    if (re == NULL) {
        if (errcode == PCRE2_ERROR_NOMEMORY || errcode == PCRE2_ERROR_HEAP_FAILED)
            goto out;
        if (pcre2_get_error_message(errcode, (PCRE2_UCHAR *)emsg, emsgsz) < 0 && emsgsz > 0)
            snprintf(emsg, emsgsz, "pcre2 error %d", errcode);
        *eoffset = (size_t)off;
        rc = -FERRY_E_INVALID;
        goto out;
    }
    text = ferry_strndup(pattern, len);
    if (text == NULL)
        goto out;
    arr = ferry_realloc(*listp, (*np + 1) * sizeof *arr);
    if (arr == NULL)
        goto out;
    *listp = arr;
    arr[*np].re = re;
    arr[*np].text = text;
    arr[*np].line = line;
    arr[*np].column = column;
    (*np)++;
    re = NULL;
    text = NULL;
    rc = 0;
out:
    ferry_free(text);
    pcre2_code_free(re);
    pcre2_compile_context_free(cctx);
    pcre2_general_context_free(gctx);
    return rc;
}

bool
sync_pattern_top_alternation(const char *p, size_t len)
{
    size_t depth = 0;
    bool in_class = false;

    for (size_t i = 0; i < len; i++) {
        char ch = p[i];
        if (ch == '\\') {
            if (i + 1 < len && p[i + 1] == 'Q') {
                /* \Q...\E quotes everything up to \E (or the end) */
                const char *e = NULL;
                for (size_t j = i + 2; j + 1 < len; j++)
                    if (p[j] == '\\' && p[j + 1] == 'E') {
                        e = p + j;
                        break;
                    }
                if (e == NULL)
                    return false;
                i = (size_t)(e - p) + 1;
                continue;
            }
            i++;
            continue;
        }
        if (in_class) {
            if (ch == ']')
                in_class = false;
            continue;
        }
        if (ch == '[') {
            in_class = true;
            /* a ']' right after '[' or '[^' is a literal */
            if (i + 1 < len && p[i + 1] == '^')
                i++;
            if (i + 1 < len && p[i + 1] == ']')
                i++;
            continue;
        }
        if (ch == '(')
            depth++;
        else if (ch == ')' && depth > 0)
            depth--;
        else if (ch == '|' && depth == 0)
            return true;
    }
    return false;
}

bool
ferry_sync_is_digest_tag(const char *tag)
{
    static const struct {
        const char *alg;
        size_t hexlen;
    } algs[] = {{"sha256", 64}, {"sha384", 96}, {"sha512", 128}, {"blake3", 64}};

    if (tag == NULL)
        return false;
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        size_t al = strlen(algs[i].alg), j;
        const char *h;
        if (strncmp(tag, algs[i].alg, al) != 0 || tag[al] != '-')
            continue;
        h = tag + al + 1;
        for (j = 0; j < algs[i].hexlen; j++)
            if (!((h[j] >= '0' && h[j] <= '9') || (h[j] >= 'a' && h[j] <= 'f')))
                break;
        if (j == algs[i].hexlen && (h[j] == '\0' || h[j] == '.'))
            return true;
    }
    return false;
}

struct match_env {
    pcre2_general_context *gctx;
    pcre2_match_context *mctx;
    pcre2_match_data *md;
};

static void
match_env_clear(struct match_env *env)
{
    pcre2_match_data_free(env->md);
    pcre2_match_context_free(env->mctx);
    pcre2_general_context_free(env->gctx);
    memset(env, 0, sizeof *env);
}

static int
match_env_init(struct match_env *env, struct ferry_error **err)
{
    memset(env, 0, sizeof *env);
    env->gctx = pcre2_general_context_create(re_malloc, re_free, NULL);
    if (env->gctx != NULL)
        env->mctx = pcre2_match_context_create(env->gctx);
    /* one pair of ovector slots is all a yes/no match needs */
    if (env->mctx != NULL)
        env->md = pcre2_match_data_create(1, env->gctx);
    if (env->md == NULL) {
        match_env_clear(env);
        return ferry_error_new(err, FERRY_E_NOMEM, "tag filter: out of memory");
    }
    pcre2_set_match_limit(env->mctx, FERRY_SYNC_MATCH_LIMIT);
    pcre2_set_depth_limit(env->mctx, FERRY_SYNC_MATCH_DEPTH);
    pcre2_set_heap_limit(env->mctx, FERRY_SYNC_MATCH_HEAP_KIB);
    return 0;
}

/* 1 match, 0 no match, negative on a match failure. */
static int
match_one(const struct ferry_sync_matcher *m, const struct sync_pattern *p, bool deny,
          const char *tag, struct match_env *env, struct ferry_error **err)
{
    char q[160];
    int rc = pcre2_match(p->re, (PCRE2_SPTR)tag, strlen(tag), 0, 0, env->md, env->mctx);

    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    ferry_quote(q, sizeof q, p->text, strlen(p->text));
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT)
        return ferry_error_new(err, FERRY_E_TOO_LARGE,
                               "%s:%u:%u: %s pattern \"%s\" gives up on tag \"%s\": too much "
                               "backtracking (limit %u)",
                               m->path, p->line, p->column, deny ? "deny" : "allow", q, tag,
                               (unsigned)FERRY_SYNC_MATCH_LIMIT);
    if (rc == PCRE2_ERROR_NOMEMORY)
        return ferry_error_new(err, FERRY_E_NOMEM, "%s:%u:%u: pattern \"%s\": out of memory",
                               m->path, p->line, p->column, q);
    {
        char emsg[128];
        if (pcre2_get_error_message(rc, (PCRE2_UCHAR *)emsg, sizeof emsg) < 0)
            snprintf(emsg, sizeof emsg, "pcre2 error %d", rc);
        return ferry_error_new(err, FERRY_E_INVALID, "%s:%u:%u: pattern \"%s\" on tag \"%s\": %s",
                               m->path, p->line, p->column, q, tag, emsg);
    }
}

/* 1 if set selects tag, 0 if not, negative on failure. */
static int
set_selects(const struct ferry_sync_matcher *m, const struct sync_set *s, const char *tag,
            struct match_env *env, struct ferry_error **err)
{
    int r;

    if (s->nallow > 0) {
        bool allowed = false;
        for (size_t i = 0; i < s->nallow && !allowed; i++) {
            if ((r = match_one(m, &s->allow[i], false, tag, env, err)) < 0)
                return r;
            allowed = r == 1;
        }
        if (!allowed)
            return 0;
    }
    for (size_t i = 0; i < s->ndeny; i++) {
        if ((r = match_one(m, &s->deny[i], true, tag, env, err)) < 0)
            return r;
        if (r == 1)
            return 0;
    }
    return 1;
}

static int
selected(const struct ferry_sync_entry *e, const char *tag, struct match_env *env,
         struct ferry_error **err)
{
    const struct ferry_sync_matcher *m = e->matcher;

    if (!ferry_tag_valid(tag) || ferry_sync_is_digest_tag(tag))
        return 0;
    if (m == NULL || m->nsets == 0)
        return 1;
    for (size_t i = 0; i < m->nsets; i++) {
        int r = set_selects(m, &m->sets[i], tag, env, err);
        if (r != 0)
            return r;
    }
    return 0;
}

int
ferry_sync_tag_selected(const struct ferry_sync_entry *e, const char *tag, struct ferry_error **err)
{
    struct match_env env;
    int r;

    if (e == NULL || tag == NULL)
        return ferry_error_new(err, FERRY_E_INTERNAL, "ferry_sync_tag_selected: no entry or tag");
    if ((r = match_env_init(&env, err)) < 0)
        return r;
    r = selected(e, tag, &env, err);
    match_env_clear(&env);
    return r;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
ferry_sync_select_tags(const struct ferry_sync_entry *e, const char *const *tags, size_t n,
                       char ***out, size_t *nout, struct ferry_error **err)
{
    struct match_env env = {0};
    const char **pick = NULL;
    char **res = NULL;
    size_t npick = 0, nres = 0;
    int rc;

    if (e == NULL || out == NULL || nout == NULL || (tags == NULL && n > 0))
        return ferry_error_new(err, FERRY_E_INTERNAL, "ferry_sync_select_tags: bad arguments");
    if ((rc = match_env_init(&env, err)) < 0)
        return rc;
    if (n > 0 && (pick = ferry_calloc(n, sizeof *pick)) == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "select tags of %s: out of memory", e->source);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int r = selected(e, tags[i], &env, err);
        if (r < 0) {
            rc = ferry_error_wrap(err, "select tags of %s", e->source);
            goto out;
        }
        if (r == 1)
            pick[npick++] = tags[i];
    }
    if (npick > 0) {
        qsort(pick, npick, sizeof *pick, cmp_str);
        if ((res = ferry_calloc(npick, sizeof *res)) == NULL) {
            rc = ferry_error_new(err, FERRY_E_NOMEM, "select tags of %s: out of memory", e->source);
            goto out;
        }
        for (size_t i = 0; i < npick; i++) {
            if (nres > 0 && strcmp(res[nres - 1], pick[i]) == 0)
                continue;
            if ((res[nres] = ferry_strdup(pick[i])) == NULL) {
                rc = ferry_error_new(err, FERRY_E_NOMEM, "select tags of %s: out of memory",
                                     e->source);
                goto out;
            }
            nres++;
        }
    }
    *out = res;
    *nout = nres;
    res = NULL;
    nres = 0;
    rc = 0;
out:
    ferry_strv_free(res, nres);
    ferry_free(pick);
    match_env_clear(&env);
    return rc;
}

const char *
ferry_sync_versions(void)
{
    static char buf[128];
    char pcre[32] = "?";

    pcre2_config(PCRE2_CONFIG_VERSION, pcre);
    snprintf(buf, sizeof buf, "libyaml %s, PCRE2 %s", yaml_get_version_string(), pcre);
    return buf;
}
