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
    struct reg_call c = {0};
    struct ferry_digest d;
    const char *what;
    char *media = NULL, *digest = NULL;
    json_t *root = NULL;
    json_error_t jerr;
    const char *body_type;
    bool is_digest;
    int rc;

    if ((rc = reg_check(r, err)) < 0 || (rc = reg_check_repo(repo, err)) < 0 ||
        (rc = reg_check_ref(reference, &is_digest, NULL, err)) < 0)
        return rc;
    rc = reg_call_init(&c, r, "get manifest", repo, reference, "pull", err, "/v2/%s/manifests/%s",
                       repo, reference);
    if (rc < 0)
        goto out;
    what = c.what;
    ferry_buf_reset(body);
    if (body->max == 0 || body->max > FERRY_MAX_MANIFEST)
        body->max = FERRY_MAX_MANIFEST;
    c.q.method = "GET";
    c.q.accept = FERRY_MANIFEST_ACCEPT;
    c.q.out = body;
    c.q.follow = true;
    rc = reg_call_send(&c, r, 200, err);
    if (rc < 0)
        goto out;
    /* the reference digest first, then Docker-Content-Digest */
    if (is_digest) {
        rc = verify_digest(what, "the reference", reference, body->data, body->len, &d, err);
        if (rc < 0)
            goto out;
    }
    /* the same text as a digest reference was just checked */
    if (c.rs.docker_digest != NULL && !(is_digest && strcmp(c.rs.docker_digest, reference) == 0)) {
        rc = verify_digest(what, "docker-content-digest", c.rs.docker_digest, body->data, body->len,
                           &d, err);
        if (rc < 0)
            goto out;
    }
    if (!is_digest && c.rs.docker_digest == NULL)
        ferry_digest_buffer(FERRY_DIGEST_SHA256, body->data, body->len, &d);
    digest = ferry_strdup(is_digest ? reference : d.str);
    media = media_type_of(c.rs.content_type);
    if (digest == NULL || media == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    /* image-spec: a mediaType field must match the Content-Type */
    root = json_loadb(body->data ? body->data : "", body->len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        rc = ferry_error_new(err, FERRY_E_INVALID, "%s: not a json object (line %d column %d: %s)",
                             what, jerr.line, jerr.column, jerr.text);
        goto out;
    }
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
    reg_call_clear(&c);
    ferry_free(media);
    ferry_free(digest);
    return rc;
}

int
ferry_registry_head_manifest(struct ferry_registry *r, const char *repo, const char *reference,
                             struct ferry_manifest_info *info, struct ferry_error **err)
{
    struct reg_call c = {0};
    struct ferry_digest d;
    struct ferry_buf body;
    const char *dd;
    bool is_digest;
    int rc;

    ferry_buf_init(&body, FERRY_MAX_MANIFEST);
    if ((rc = reg_check(r, err)) < 0 || (rc = reg_check_repo(repo, err)) < 0 ||
        (rc = reg_check_ref(reference, &is_digest, NULL, err)) < 0)
        return rc;
    rc = reg_call_init(&c, r, "head manifest", repo, reference, "pull", err, "/v2/%s/manifests/%s",
                       repo, reference);
    if (rc < 0)
        goto out;
    c.q.method = "HEAD";
    c.q.accept = FERRY_MANIFEST_ACCEPT;
    c.q.follow = true;
    rc = reg_call_exists(&c, r, err);
    if (rc <= 0 || info == NULL)
        goto out;
    dd = c.rs.docker_digest;
    if (dd != NULL && ferry_digest_parse(dd, &d, NULL) < 0) {
        rc = ferry_error_new(err, FERRY_E_INVALID, "%s: invalid docker-content-digest \"%.100s\"",
                             c.what, dd);
        goto out;
    }
    if (is_digest && dd != NULL && strcmp(d.str, reference) != 0) {
        rc = ferry_error_new(err, FERRY_E_DIGEST_MISMATCH, "%s: registry reports digest %s", c.what,
                             d.str);
        goto out;
    }
    if ((dd == NULL && !is_digest) || c.rs.content_type == NULL || c.rs.content_length < 0) {
        /* not enough in the headers: fetch the manifest to describe it */
        rc = ferry_registry_get_manifest(r, repo, reference, &body, info, err);
        if (rc == 0)
            rc = 1;
        goto out;
    }
    ferry_manifest_info_clear(info);
    info->media_type = media_type_of(c.rs.content_type);
    info->digest = ferry_strdup(dd ? d.str : reference);
    info->size = c.rs.content_length;
    if (info->media_type == NULL || info->digest == NULL) {
        ferry_manifest_info_clear(info);
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    rc = 1;
out:
    ferry_buf_free(&body);
    reg_call_clear(&c);
    return rc;
}

int
ferry_registry_put_manifest(struct ferry_registry *r, const char *repo, const char *reference,
                            const char *media_type, const void *data, size_t len, char **subject,
                            struct ferry_error **err)
{
    struct reg_call c = {0};
    struct ferry_digest d;
    const char *what;
    char *subj = NULL;
    bool is_digest;
    int rc;

    if ((rc = reg_check(r, err)) < 0 || (rc = reg_check_repo(repo, err)) < 0 ||
        (rc = reg_check_ref(reference, &is_digest, NULL, err)) < 0)
        return rc;
    rc = reg_call_init(&c, r, "put manifest", repo, reference, "pull,push", err,
                       "/v2/%s/manifests/%s", repo, reference);
    if (rc < 0)
        goto out;
    what = c.what;
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
    c.q.method = "PUT";
    c.q.content_type = media_type;
    c.q.body = data;
    c.q.body_len = len;
    rc = reg_call_send(&c, r, 0, err);
    if (rc < 0)
        goto out;
    if (c.rs.status < 200 || c.rs.status > 299) {
        rc = reg_status_error(what, &c.rs, err);
        goto out;
    }
    if (c.rs.docker_digest != NULL && !(is_digest && strcmp(c.rs.docker_digest, reference) == 0)) {
        rc = verify_digest(what, "docker-content-digest", c.rs.docker_digest, data, len, &d, err);
        if (rc < 0)
            goto out;
    }
    if (subject != NULL) {
        if (c.rs.oci_subject != NULL && (subj = ferry_strdup(c.rs.oci_subject)) == NULL) {
            rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        *subject = subj;
    }
out:
    reg_call_clear(&c);
    return rc;
}
