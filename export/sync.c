/* ferry: turn a regsync-style sync config into export items. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/export.h"
#include "ferry/reference.h"
#include "ferry/registry.h"
#include "ferry/syncconfig.h"
#include "ferry/util.h"

struct ferry_export_sync {
    struct ferry_export_item *items;
    size_t nitems;
    struct ferry_export_host *hosts;
    size_t nhosts;
    char **strings; /* everything the items and hosts point at */
    size_t nstrings;
    char **cafiles; /* temporary regcert files */
    size_t ncafiles;
};

/* Keep s alive as long as the sync object; returns s or NULL. */
static char *
keep(struct ferry_export_sync *s, char *str)
{
    char **n;

    if (str == NULL)
        return NULL;
    n = ferry_realloc(s->strings, (s->nstrings + 1) * sizeof *n);
    if (n == NULL) {
        ferry_free(str);
        return NULL;
    }
    s->strings = n;
    s->strings[s->nstrings++] = str;
    return str;
}

void
ferry_export_sync_free(struct ferry_export_sync *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->ncafiles; i++) {
        unlink(s->cafiles[i]);
        ferry_free(s->cafiles[i]);
    }
    ferry_free(s->cafiles);
    for (i = 0; i < s->nitems; i++) {
        ferry_free((void *)s->items[i].platforms);
        ferry_free((void *)s->items[i].filters);
    }
    ferry_free(s->items);
    ferry_free(s->hosts);
    for (i = 0; i < s->nstrings; i++)
        ferry_free(s->strings[i]);
    ferry_free(s->strings);
    ferry_free(s);
}

const struct ferry_export_item *
ferry_export_sync_items(const struct ferry_export_sync *s, size_t *n)
{
    *n = s->nitems;
    return s->items;
}

const struct ferry_export_host *
ferry_export_sync_hosts(const struct ferry_export_sync *s, size_t *n)
{
    *n = s->nhosts;
    return s->hosts;
}

/* regcert is PEM text; libcurl wants a file. Written 0600 under TMPDIR and
 * removed when the sync object is freed. */
static int
write_cafile(struct ferry_export_sync *s, const char *pem, const char *registry, char **path,
             struct ferry_error **err)
{
    const char *dir = getenv("TMPDIR");
    char *p, **n;
    size_t len = strlen(pem);
    int fd;

    p = ferry_asprintf("%s/ferry-regcert-XXXXXX", dir && *dir ? dir : "/tmp");
    if (p == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    fd = mkstemp(p);
    if (fd < 0) {
        int e = errno;
        ferry_free(p);
        return ferry_error_sys(err, e, "regcert of %s: cannot create a temporary file", registry);
    }
    if (write(fd, pem, len) != (ssize_t)len) {
        int e = errno;
        close(fd);
        unlink(p);
        ferry_free(p);
        return ferry_error_sys(err, e, "regcert of %s: cannot write a temporary file", registry);
    }
    close(fd);
    n = ferry_realloc(s->cafiles, (s->ncafiles + 1) * sizeof *n);
    if (n == NULL) {
        unlink(p);
        ferry_free(p);
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    s->cafiles = n;
    s->cafiles[s->ncafiles++] = p;
    *path = p;
    return 0;
}

static int
add_hosts(struct ferry_export_sync *s, const struct ferry_sync_config *cfg,
          const struct ferry_registry_opts *base, struct ferry_error **err)
{
    size_t i;
    int r;

    if (cfg->ncreds == 0)
        return 0;
    s->hosts = ferry_calloc(cfg->ncreds, sizeof *s->hosts);
    if (s->hosts == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    for (i = 0; i < cfg->ncreds; i++) {
        const struct ferry_sync_cred *c = &cfg->creds[i];
        struct ferry_export_host *h = &s->hosts[s->nhosts];
        if (c->client_cert || c->client_key)
            return ferry_error_new(err, FERRY_E_UNSUPPORTED,
                                   "%s:%u:%u: creds for %s: client certificates are not supported",
                                   cfg->path, c->line, c->column, c->registry);
        if (c->hostname)
            ferry_log(FERRY_LOG_WARN,
                      "%s:%u:%u: creds for %s: hostname is ignored; ferry connects to %s",
                      cfg->path, c->line, c->column, c->registry, c->registry);
        if (c->cred_helper)
            ferry_log(FERRY_LOG_WARN,
                      "%s:%u:%u: creds for %s: credHelper is ignored; configure it in docker's "
                      "config.json",
                      cfg->path, c->line, c->column, c->registry);
        h->host = c->registry;
        h->reg = *base;
        if (c->user) {
            h->reg.username = c->user;
            h->reg.password = c->pass ? c->pass : "";
        }
        /* --plain-http and --insecure-tls (in base) hold for every host
         * whose entry does not set `tls` itself (an entry with credentials
         * only must not turn a plain-http registry into an https one) */
        if (c->tls_set) {
            h->reg.plain_http = c->tls == FERRY_SYNC_TLS_DISABLED;
            h->reg.insecure_tls = c->tls == FERRY_SYNC_TLS_INSECURE;
        }
        if (c->regcert) {
            char *path = NULL;
            if ((r = write_cafile(s, c->regcert, c->registry, &path, err)) < 0)
                return r;
            h->reg.ca_file = path;
        }
        s->nhosts++;
    }
    return 0;
}

static const struct ferry_registry_opts *
opts_for(const struct ferry_export_sync *s, const struct ferry_registry_opts *base,
         const struct ferry_ref *ref)
{
    size_t i;

    for (i = 0; i < s->nhosts; i++)
        if (strcmp(s->hosts[i].host, ref->registry) == 0 ||
            strcmp(s->hosts[i].host, ref->api_host) == 0)
            return &s->hosts[i].reg;
    return base;
}

static int
add_item(struct ferry_export_sync *s, const struct ferry_sync_entry *e, char *ref, char *target,
         struct ferry_error **err)
{
    struct ferry_export_item *it, *n;
    size_t i;

    if (keep(s, ref) == NULL || keep(s, target) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    n = ferry_realloc(s->items, (s->nitems + 1) * sizeof *n);
    if (n == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    s->items = n;
    it = &s->items[s->nitems++];
    memset(it, 0, sizeof *it);
    it->ref = ref;
    it->target = target;
    it->platform = e->platform;
    if (e->nplatforms > 0) {
        const char **pl = ferry_calloc(e->nplatforms, sizeof *pl);
        if (pl == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        for (i = 0; i < e->nplatforms; i++)
            pl[i] = e->platforms[i];
        it->platforms = pl;
        it->nplatforms = e->nplatforms;
    }
    it->no_referrers = !e->referrers;
    it->referrers_src = e->referrer_source;
    it->referrers_tgt = e->referrer_target;
    if (e->nreferrer_filters > 0) {
        struct ferry_referrer_filter *fs = ferry_calloc(e->nreferrer_filters, sizeof *fs);
        if (fs == NULL)
            return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        for (i = 0; i < e->nreferrer_filters; i++) {
            const struct ferry_sync_referrer_filter *f = &e->referrer_filters[i];
            fs[i].artifact_type = f->artifact_type;
            fs[i].keys = (const char *const *)f->annotation_keys;
            fs[i].values = (const char *const *)f->annotation_values;
            fs[i].nannotations = f->nannotations;
        }
        it->filters = fs;
        it->nfilters = e->nreferrer_filters;
    }
    return 0;
}

/* The source repository's tags, selected by the entry's allow/deny. */
static int
entry_repository(struct ferry_export_sync *s, const struct ferry_sync_config *cfg,
                 const struct ferry_sync_entry *e, const struct ferry_registry_opts *base,
                 struct ferry_error **err)
{
    struct ferry_ref *src = NULL;
    struct ferry_registry *reg = NULL;
    char **tags = NULL, **sel = NULL;
    size_t ntags = 0, nsel = 0, i;
    int r;

    if ((r = ferry_ref_parse(e->source, true, &src, err)) < 0) {
        ferry_error_wrap(err, "%s:%u:%u: source", cfg->path, e->line, e->column);
        goto out;
    }
    if ((r = ferry_registry_new(src->api_host, opts_for(s, base, src), &reg, err)) < 0)
        goto out;
    if ((r = ferry_registry_list_tags(reg, src->repository, &tags, &ntags, err)) < 0) {
        ferry_error_wrap(err, "%s:%u:%u: list tags of %s", cfg->path, e->line, e->column,
                         e->source);
        goto out;
    }
    if ((r = ferry_sync_select_tags(e, (const char *const *)tags, ntags, &sel, &nsel, err)) < 0)
        goto out;
    if (nsel == 0)
        ferry_log(FERRY_LOG_WARN, "%s:%u:%u: no tag of %s is selected (%zu listed)", cfg->path,
                  e->line, e->column, e->source, ntags);
    for (i = 0; i < nsel; i++) {
        char *ref = ferry_asprintf("%s/%s:%s", src->registry, src->repository, sel[i]);
        char *target = ferry_asprintf("%s:%s", e->target, sel[i]);
        if ((r = add_item(s, e, ref, target, err)) < 0)
            goto out;
    }
out:
    ferry_strv_free(sel, nsel);
    ferry_strv_free(tags, ntags);
    ferry_registry_free(reg);
    ferry_ref_free(src);
    return r;
}

char *
ferry_export_target(const char *source, const char *target, struct ferry_error **err)
{
    struct ferry_ref *src = NULL, *tgt = NULL;
    const char *last = strrchr(target, '/');
    char *out = NULL;

    if (ferry_ref_parse(source, true, &src, err) < 0)
        return NULL;
    if (ferry_ref_parse(target, true, &tgt, err) < 0) {
        ferry_error_wrap(err, "target");
        goto done;
    }
    /* A target without a tag keeps the source's tag, or its digest (no tag
     * is set then). */
    if (strpbrk(last ? last : target, ":@"))
        out = ferry_strdup(target);
    else if (src->tag != NULL)
        out = ferry_asprintf("%s:%s", target, src->tag);
    else
        out = ferry_asprintf("%s@%s", target, src->digest);
    if (out == NULL)
        ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
done:
    ferry_ref_free(src);
    ferry_ref_free(tgt);
    return out;
}

static int
entry_image(struct ferry_export_sync *s, const struct ferry_sync_config *cfg,
            const struct ferry_sync_entry *e, struct ferry_error **err)
{
    char *target = ferry_export_target(e->source, e->target, err);

    if (target == NULL)
        return ferry_error_wrap(err, "%s:%u:%u", cfg->path, e->line, e->column);
    return add_item(s, e, ferry_strdup(e->source), target, err);
}

int
ferry_export_sync_prepare(const struct ferry_sync_config *cfg,
                          const struct ferry_registry_opts *base, struct ferry_export_sync **out,
                          struct ferry_error **err)
{
    struct ferry_export_sync *s = ferry_calloc(1, sizeof *s);
    size_t i;
    int r = 0;

    if (s == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    for (i = 0; i < cfg->nnotices; i++)
        ferry_log(FERRY_LOG_WARN, "%s", cfg->notices[i]);
    if ((r = add_hosts(s, cfg, base, err)) < 0)
        goto out;
    for (i = 0; i < cfg->nentries && r == 0; i++) {
        const struct ferry_sync_entry *e = &cfg->entries[i];
        r = e->type == FERRY_SYNC_REPOSITORY ? entry_repository(s, cfg, e, base, err)
                                             : entry_image(s, cfg, e, err);
    }
    if (r == 0 && s->nitems == 0)
        r = ferry_error_new(err, FERRY_E_NOT_FOUND, "%s: no image selected", cfg->path);
    if (r == 0) {
        *out = s;
        s = NULL;
    }
out:
    ferry_export_sync_free(s);
    return r;
}
