/* ferry registry client: manifests (GET, HEAD, PUT), byte for byte. */
#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "ferry/limits.h"
#include "registry_int.h"

static const char *const manifest_types[] = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
};

static bool
known_manifest_type(const char *t)
{
    for (size_t i = 0; i < sizeof manifest_types / sizeof manifest_types[0]; i++)
        if (strcmp(t, manifest_types[i]) == 0)
            return true;
    return false;
}

/* Content-Type without parameters, lowercased; ferry_malloc. */
static char *
media_type_of(const char *ct)
{
    size_t n;
    char *m;

    if (ct == NULL)
        return ferry_strdup("");
    n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    m = ferry_strndup(ct, n);
    for (char *p = m; p != NULL && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return m;
}

/* Check a body against a digest text (`label` says where it came from);
 * FERRY_E_DIGEST_MISMATCH names both digests. */
static int
verify_digest(const char *what, const char *label, const char *want_text, const void *data,
              size_t len, struct ferry_digest *computed, struct ferry_error **err)
{
    struct ferry_digest want;
    int rc = ferry_digest_parse(want_text, &want, err);

    if (rc < 0) {
        ferry_error_wrap(err, "%s: %s", what, label);
        return rc;
    }
    ferry_digest_buffer(want.alg, data, len, computed);
    if (strcmp(computed->str, want.str) != 0)
        return ferry_error_new(err, FERRY_E_DIGEST_MISMATCH, "%s: content digests to %s, %s is %s",
                               what, computed->str, label, want.str);
    return 0;
}

int
ferry_registry_get_manifest(struct ferry_registry *r, const char *repo, const char *reference,
                            struct ferry_buf *body, struct ferry_manifest_info *info,
                            struct ferry_error **err)
{
    struct reg_req q = {0};
    struct reg_resp rs = {0};
    struct ferry_digest d;
    char *url = NULL, *what = NULL, *scope = NULL, *media = NULL, *digest = NULL;
    json_t *root = NULL;
    json_error_t jerr;
    const char *body_type;
    bool is_digest;
    int rc;

    if ((rc = reg_check(r, err)) < 0 || (rc = reg_check_repo(repo, err)) < 0 ||
        (rc = reg_check_ref(reference, &is_digest, NULL, err)) < 0)
        return rc;
    url = reg_url(r, "/v2/%s/manifests/%s", repo, reference);
    what = reg_what(r, "get manifest", repo, reference);
    scope = ferry_asprintf("repository:%s:pull", repo);
    if (url == NULL || what == NULL || scope == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    ferry_buf_reset(body);
    if (body->max == 0 || body->max > FERRY_MAX_MANIFEST)
        body->max = FERRY_MAX_MANIFEST;
    q.method = "GET";
    q.url = url;
    q.what = what;
    q.scope = scope;
    q.accept = FERRY_MANIFEST_ACCEPT;
    q.out = body;
    q.follow = true;
    rc = reg_request(r, &q, &rs, err);
    if (rc < 0)
        goto out;
    if (rs.status != 200) {
        rc = reg_status_error(what, &rs, err);
        goto out;
    }
    /* the reference digest first, then Docker-Content-Digest */
    if (is_digest) {
        rc = verify_digest(what, "the reference", reference, body->data, body->len, &d, err);
        if (rc < 0)
            goto out;
    }
    /* the same text as a digest reference was just checked */
    if (rs.docker_digest != NULL && !(is_digest && strcmp(rs.docker_digest, reference) == 0)) {
        rc = verify_digest(what, "docker-content-digest", rs.docker_digest, body->data, body->len,
                           &d, err);
        if (rc < 0)
            goto out;
    }
    if (!is_digest && rs.docker_digest == NULL)
        ferry_digest_buffer(FERRY_DIGEST_SHA256, body->data, body->len, &d);
    digest = ferry_strdup(is_digest ? reference : d.str);
    media = media_type_of(rs.content_type);
    if (digest == NULL || media == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    /* image-spec: a mediaType field must match the Content-Type */
    root = json_loadb(body->data ? body->data : "", body->len, 0, &jerr);
    if (!json_is_object(root)) {
        rc = ferry_error_new(err, FERRY_E_INVALID, "%s: not a json object (line %d column %d)",
                             what, jerr.line, jerr.column);
        goto out;
    }
    body_type = json_string_value(json_object_get(root, "mediaType"));
    if (body_type != NULL && known_manifest_type(media) && strcmp(body_type, media) != 0) {
        rc = ferry_error_new(err, FERRY_E_INVALID,
                             "%s: content-type %s does not match mediaType %.100s", what, media,
                             body_type);
        goto out;
    }
    if (!known_manifest_type(media) && body_type != NULL) {
        ferry_free(media);
        media = ferry_strdup(body_type);
    }
    if (media == NULL || media[0] == '\0') {
        rc = ferry_error_new(err, media ? FERRY_E_INVALID : FERRY_E_NOMEM,
                             "%s: no content-type and no mediaType", what);
        goto out;
    }
    if (info != NULL) {
        ferry_manifest_info_clear(info);
        info->media_type = media;
        info->digest = digest;
        info->size = (int64_t)body->len;
        media = digest = NULL;
    }
out:
    json_decref(root);
    reg_resp_clear(&rs);
    ferry_free(url);
    ferry_free(what);
    ferry_free(scope);
    ferry_free(media);
    ferry_free(digest);
    return rc;
}

int
ferry_registry_head_manifest(struct ferry_registry *r, const char *repo, const char *reference,
                             struct ferry_manifest_info *info, struct ferry_error **err)
{
    struct reg_req q = {0};
    struct reg_resp rs = {0};
    struct ferry_digest d;
    struct ferry_buf body;
    char *url = NULL, *what = NULL, *scope = NULL;
    bool is_digest;
    int rc;

    ferry_buf_init(&body, FERRY_MAX_MANIFEST);
    if ((rc = reg_check(r, err)) < 0 || (rc = reg_check_repo(repo, err)) < 0 ||
        (rc = reg_check_ref(reference, &is_digest, NULL, err)) < 0)
        return rc;
    url = reg_url(r, "/v2/%s/manifests/%s", repo, reference);
    what = reg_what(r, "head manifest", repo, reference);
    scope = ferry_asprintf("repository:%s:pull", repo);
    if (url == NULL || what == NULL || scope == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    q.method = "HEAD";
    q.url = url;
    q.what = what;
    q.scope = scope;
    q.accept = FERRY_MANIFEST_ACCEPT;
    q.follow = true;
    rc = reg_request(r, &q, &rs, err);
    if (rc < 0)
        goto out;
    if (rs.status == 404) {
        rc = 0;
        goto out;
    }
    if (rs.status != 200) {
        rc = reg_status_error(what, &rs, err);
        goto out;
    }
    if (info == NULL) {
        rc = 1;
        goto out;
    }
    if (rs.docker_digest != NULL && ferry_digest_parse(rs.docker_digest, &d, NULL) < 0) {
        rc = ferry_error_new(err, FERRY_E_INVALID, "%s: invalid docker-content-digest \"%.100s\"",
                             what, rs.docker_digest);
        goto out;
    }
    if (is_digest && rs.docker_digest != NULL && strcmp(d.str, reference) != 0) {
        rc = ferry_error_new(err, FERRY_E_DIGEST_MISMATCH, "%s: registry reports digest %s", what,
                             d.str);
        goto out;
    }
    if ((rs.docker_digest == NULL && !is_digest) || rs.content_type == NULL ||
        rs.content_length < 0) {
        /* not enough in the headers: fetch the manifest to describe it */
        rc = ferry_registry_get_manifest(r, repo, reference, &body, info, err);
        if (rc == 0)
            rc = 1;
        goto out;
    }
    ferry_manifest_info_clear(info);
    info->media_type = media_type_of(rs.content_type);
    info->digest = ferry_strdup(rs.docker_digest ? d.str : reference);
    info->size = rs.content_length;
    if (info->media_type == NULL || info->digest == NULL) {
        ferry_manifest_info_clear(info);
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    rc = 1;
out:
    ferry_buf_free(&body);
    reg_resp_clear(&rs);
    ferry_free(url);
    ferry_free(what);
    ferry_free(scope);
    return rc;
}

int
ferry_registry_put_manifest(struct ferry_registry *r, const char *repo, const char *reference,
                            const char *media_type, const void *data, size_t len, char **subject,
                            struct ferry_error **err)
{
    struct reg_req q = {0};
    struct reg_resp rs = {0};
    struct ferry_digest d;
    char *url = NULL, *what = NULL, *scope = NULL, *subj = NULL;
    bool is_digest;
    int rc;

    if ((rc = reg_check(r, err)) < 0 || (rc = reg_check_repo(repo, err)) < 0 ||
        (rc = reg_check_ref(reference, &is_digest, NULL, err)) < 0)
        return rc;
    what = reg_what(r, "put manifest", repo, reference);
    if (what == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    if (media_type == NULL || media_type[0] == '\0' || strpbrk(media_type, "\r\n") != NULL) {
        rc = ferry_error_new(err, FERRY_E_INVALID, "%s: invalid media type", what);
        goto out;
    }
    if (len > FERRY_MAX_MANIFEST) {
        rc = ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: %zu bytes is over the %u byte limit",
                             what, len, FERRY_MAX_MANIFEST);
        goto out;
    }
    if (is_digest) {
        rc = verify_digest(what, "the reference", reference, data, len, &d, err);
        if (rc < 0)
            goto out;
    }
    url = reg_url(r, "/v2/%s/manifests/%s", repo, reference);
    scope = ferry_asprintf("repository:%s:pull,push", repo);
    if (url == NULL || scope == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    q.method = "PUT";
    q.url = url;
    q.what = what;
    q.scope = scope;
    q.content_type = media_type;
    q.body = data;
    q.body_len = len;
    rc = reg_request(r, &q, &rs, err);
    if (rc < 0)
        goto out;
    if (rs.status < 200 || rs.status > 299) {
        rc = reg_status_error(what, &rs, err);
        goto out;
    }
    if (rs.docker_digest != NULL && !(is_digest && strcmp(rs.docker_digest, reference) == 0)) {
        rc = verify_digest(what, "docker-content-digest", rs.docker_digest, data, len, &d, err);
        if (rc < 0)
            goto out;
    }
    if (subject != NULL) {
        if (rs.oci_subject != NULL && (subj = ferry_strdup(rs.oci_subject)) == NULL) {
            rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        *subject = subj;
    }
out:
    reg_resp_clear(&rs);
    ferry_free(url);
    ferry_free(what);
    ferry_free(scope);
    return rc;
}
