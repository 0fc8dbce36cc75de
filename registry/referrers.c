/* ferry registry client: the referrers API (distribution-spec v1.1). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ferry/layout.h"
#include "ferry/limits.h"
#include "registry_int.h"

#define OCI_INDEX "application/vnd.oci.image.index.v1+json"

/* Does a comma-separated OCI-Filters-Applied value list artifactType? */
static bool
filters_have_artifact_type(const char *v)
{
    const char *p = v;

    while (p != NULL && *p != '\0') {
        size_t n;
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        n = strcspn(p, ", \t");
        if (n == 12 && strncasecmp(p, "artifactType", 12) == 0)
            return true;
        p += n;
    }
    return false;
}

int
reg_referrers_page_parse(const char *data, size_t len, const char *what, int page, json_t **root,
                         struct ferry_error **err)
{
    json_error_t jerr;
    json_t *m;

    *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    m = *root ? json_object_get(*root, "manifests") : NULL;
    if (!json_is_object(*root) || !json_is_array(m)) {
        json_decref(*root);
        *root = NULL;
        return ferry_error_new(err, FERRY_E_INVALID,
                               "%s: page %d is not an image index (line %d column %d)", what, page,
                               jerr.line, jerr.column);
    }
    return 0;
}

/* The pages of a referrers answer, merged. */
struct refpages {
    struct ferry_buf *body;
    json_t *first; /* the first page's tree; later pages' manifests join it */
    int pages;
    bool all_filtered;
    bool no_api;
};

static int
referrers_page(struct reg_call *c, int page, void *ud, struct ferry_error **err)
{
    struct refpages *rp = ud;
    const struct ferry_buf *b = c->q.out;
    char *code = NULL;
    json_t *root = NULL;
    int rc;

    rp->pages = page;
    if (c->rs.status == 404 && page == 1) {
        /* an API that exists never answers 404; NAME_UNKNOWN is the repo */
        ferry_free(reg_error_summary(c->rs.errbody.data, c->rs.errbody.len, &code));
        if (code != NULL && strcmp(code, "NAME_UNKNOWN") == 0) {
            ferry_free(code);
            return reg_status_error(c->what, &c->rs, err);
        }
        ferry_free(code);
        ferry_log(FERRY_LOG_DEBUG, "%s: http 404: no referrers api", c->what);
        rp->no_api = true;
        return 1;
    }
    if (c->rs.status != 200)
        return reg_status_error(c->what, &c->rs, err);
    if (page == 1 && c->rs.content_type != NULL &&
        strncasecmp(c->rs.content_type, OCI_INDEX, strlen(OCI_INDEX)) != 0) {
        ferry_log(FERRY_LOG_DEBUG, "%s: content-type %.100s: not the referrers api", c->what,
                  c->rs.content_type);
        rp->no_api = true;
        return 1;
    }
    rc = reg_referrers_page_parse(b->data ? b->data : "", b->len, c->what, page, &root, err);
    if (rc < 0)
        return rc;
    if (!filters_have_artifact_type(c->rs.oci_filters))
        rp->all_filtered = false;
    if (rp->first == NULL) {
        /* keep the first page's bytes as they are unless more pages follow */
        rp->first = root;
        rc = ferry_buf_append(rp->body, b->data ? b->data : "", b->len, err);
        return rc < 0 ? ferry_error_wrap(err, "%s", c->what) : 0;
    }
    rc = json_array_extend(json_object_get(rp->first, "manifests"),
                           json_object_get(root, "manifests"));
    json_decref(root);
    return rc < 0 ? ferry_error_new(err, FERRY_E_NOMEM, "out of memory") : 0;
}

int
ferry_registry_get_referrers(struct ferry_registry *r, const char *repo, const char *digest,
                             const char *artifact_type, struct ferry_buf *body, bool *filtered,
                             struct ferry_error **err)
{
    struct reg_call c = {0};
    struct ferry_digest d;
    struct ferry_buf page;
    struct refpages rp = {body, NULL, 0, artifact_type != NULL, false};
    char *esc = NULL, *merged = NULL;
    int rc;

    ferry_buf_init(&page, FERRY_MAX_MANIFEST);
    if ((rc = reg_check(r, err)) < 0 || (rc = reg_check_repo(repo, err)) < 0 ||
        (rc = ferry_digest_parse(digest, &d, err)) < 0)
        return rc;
    esc = artifact_type ? reg_url_escape(artifact_type) : NULL;
    if (artifact_type && esc == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    rc = reg_call_init(&c, r, "get referrers of", repo, d.str, "pull", err,
                       "/v2/%s/referrers/%s%s%s", repo, d.str, esc ? "?artifactType=" : "",
                       esc ? esc : "");
    if (rc < 0)
        goto out;
    ferry_buf_reset(body);
    if (body->max == 0)
        body->max = FERRY_MAX_MANIFEST;
    c.q.method = "GET";
    c.q.accept = OCI_INDEX;
    c.q.out = &page;
    c.q.follow = true;
    if ((rc = reg_call_pages(&c, r, 0, referrers_page, &rp, err)) < 0)
        goto out;
    if (rp.no_api) {
        rc = 0;
        goto out;
    }
    if (rp.pages > 1) {
        merged = json_dumps(rp.first, JSON_COMPACT);
        if (merged == NULL) {
            rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        ferry_buf_reset(body);
        rc = ferry_buf_append(body, merged, strlen(merged), err);
        if (rc < 0) {
            ferry_error_wrap(err, "%s: merged index", c.what);
            goto out;
        }
    }
    if (filtered != NULL)
        *filtered = rp.all_filtered;
    rc = 1;
out:
    if (rc <= 0)
        ferry_buf_reset(body);
    free(merged);
    json_decref(rp.first);
    ferry_buf_free(&page);
    reg_call_clear(&c);
    ferry_free(esc);
    return rc;
}

void
ferry_referrers_clear(struct ferry_referrers *rs)
{
    if (rs == NULL)
        return;
    ferry_free(rs->tag);
    ferry_free(rs->media_type);
    ferry_buf_free(&rs->index);
    memset(rs, 0, sizeof *rs);
}

int
ferry_registry_list_referrers(struct ferry_registry *r, const char *repo, const char *digest,
                              const struct ferry_referrers_query *q, struct ferry_referrers *out,
                              struct ferry_error **err)
{
    static const struct ferry_referrers_query none = {0};
    struct ferry_referrers rs = {0};
    struct ferry_manifest_info info = {0};
    int rc = 0;

    if (q == NULL)
        q = &none;
    ferry_buf_init(&rs.index, FERRY_MAX_MANIFEST);
    if (!q->no_api) {
        rc = ferry_registry_get_referrers(r, repo, digest, q->artifact_type, &rs.index,
                                          &rs.filtered, err);
        if (rc < 0)
            goto out;
        if (rc == 1) {
            rs.via = FERRY_REFERRERS_VIA_API;
            goto done;
        }
    }
    rs.via = FERRY_REFERRERS_VIA_TAG;
    rs.filtered = false;
    if ((rs.tag = ferry_layout_referrers_tag(digest)) == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    if (q->tag_known != NULL && (rc = q->tag_known(rs.tag, q->ud, err)) <= 0) {
        if (rc < 0)
            goto out;
        goto done; /* the caller knows there is no such tag */
    }
    ferry_buf_reset(&rs.index);
    rc = ferry_registry_get_manifest(r, repo, rs.tag, &rs.index, &info, err);
    if (rc == -FERRY_E_NOT_FOUND) {
        ferry_error_clear(err);
        ferry_buf_reset(&rs.index);
        goto done;
    }
    if (rc < 0)
        goto out;
    rs.found = true;
    rs.media_type = info.media_type;
    info.media_type = NULL;
done:
    *out = rs;
    memset(&rs, 0, sizeof rs);
    rc = 0;
out:
    ferry_manifest_info_clear(&info);
    ferry_referrers_clear(&rs);
    return rc;
}
