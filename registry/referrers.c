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

int
ferry_registry_get_referrers(struct ferry_registry *r, const char *repo, const char *digest,
                             const char *artifact_type, struct ferry_buf *body, bool *filtered,
                             struct ferry_error **err)
{
    struct reg_call c = {0};
    struct ferry_digest d;
    struct ferry_buf page;
    const char *what;
    char *next = NULL, *esc = NULL, *code = NULL, *merged = NULL;
    json_t *first = NULL, *root = NULL;
    bool all_filtered = artifact_type != NULL;
    int rc, pages = 0;

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
    what = c.what;
    ferry_buf_reset(body);
    if (body->max == 0)
        body->max = FERRY_MAX_MANIFEST;
    c.q.method = "GET";
    c.q.accept = OCI_INDEX;
    c.q.out = &page;
    c.q.follow = true;
    for (;;) {
        json_t *m;

        if (pages == FERRY_MAX_TAG_PAGES) {
            rc = ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: more than %d pages", what,
                                 FERRY_MAX_TAG_PAGES);
            goto out;
        }
        pages++;
        ferry_buf_reset(&page);
        rc = reg_call_send(&c, r, 0, err);
        if (rc < 0)
            goto out;
        if (c.rs.status == 404 && pages == 1) {
            /* an API that exists never answers 404; NAME_UNKNOWN is the repo */
            ferry_free(reg_error_summary(c.rs.errbody.data, c.rs.errbody.len, &code));
            if (code != NULL && strcmp(code, "NAME_UNKNOWN") == 0) {
                rc = reg_status_error(what, &c.rs, err);
                goto out;
            }
            ferry_log(FERRY_LOG_DEBUG, "%s: http 404: no referrers api", what);
            rc = 0;
            goto out;
        }
        if (c.rs.status != 200) {
            rc = reg_status_error(what, &c.rs, err);
            goto out;
        }
        if (pages == 1 && c.rs.content_type != NULL &&
            strncasecmp(c.rs.content_type, OCI_INDEX, strlen(OCI_INDEX)) != 0) {
            ferry_log(FERRY_LOG_DEBUG, "%s: content-type %.100s: not the referrers api", what,
                      c.rs.content_type);
            rc = 0;
            goto out;
        }
        rc =
            reg_referrers_page_parse(page.data ? page.data : "", page.len, what, pages, &root, err);
        if (rc < 0)
            goto out;
        m = json_object_get(root, "manifests");
        if (!filters_have_artifact_type(c.rs.oci_filters))
            all_filtered = false;
        if (first == NULL) {
            /* keep the first page's bytes as they are unless more pages follow */
            rc = ferry_buf_append(body, page.data ? page.data : "", page.len, err);
            if (rc < 0) {
                ferry_error_wrap(err, "%s", what);
                goto out;
            }
            first = root;
        } else if (json_array_extend(json_object_get(first, "manifests"), m) < 0) {
            rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        } else {
            json_decref(root);
        }
        root = NULL;
        rc = reg_next_page(&c.rs, c.url, what, &next, err);
        if (rc < 0)
            goto out;
        if (next == NULL)
            break;
        ferry_free(c.url);
        c.url = next;
        next = NULL;
    }
    if (pages > 1) {
        merged = json_dumps(first, JSON_COMPACT);
        if (merged == NULL) {
            rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        ferry_buf_reset(body);
        rc = ferry_buf_append(body, merged, strlen(merged), err);
        if (rc < 0) {
            ferry_error_wrap(err, "%s: merged index", what);
            goto out;
        }
    }
    if (filtered != NULL)
        *filtered = all_filtered;
    rc = 1;
out:
    if (rc <= 0)
        ferry_buf_reset(body);
    free(merged);
    json_decref(first);
    json_decref(root);
    ferry_buf_free(&page);
    reg_call_clear(&c);
    ferry_free(next);
    ferry_free(esc);
    ferry_free(code);
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
