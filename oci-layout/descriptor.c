/* ferry: the descriptor, image manifest and image index model. */
#include <stdlib.h>
#include <string.h>

#include "ferry/digest.h"
#include "ferry/limits.h"
#include "ferry/manifest.h"
#include "ferry/util.h"
#include "json_int.h"

bool
ferry_media_type_is_index(const char *mt)
{
    return mt != NULL &&
           (strcmp(mt, FERRY_MT_OCI_INDEX) == 0 || strcmp(mt, FERRY_MT_DOCKER_LIST) == 0);
}

bool
ferry_media_type_is_manifest(const char *mt)
{
    return mt != NULL &&
           (strcmp(mt, FERRY_MT_OCI_MANIFEST) == 0 || strcmp(mt, FERRY_MT_DOCKER_MANIFEST) == 0);
}

void
ferry_descriptor_clear(struct ferry_descriptor *d)
{
    if (d == NULL)
        return;
    ferry_safefree(d->media_type);
    ferry_safefree(d->digest);
    ferry_safefree(d->artifact_type);
    ferry_safefree(d->platform);
    d->annotations = NULL;
    d->size = 0;
}

int
ferry_descriptor_parse(json_t *obj, const char *what, struct ferry_descriptor *d,
                       struct ferry_error **err)
{
    struct ferry_digest dg;
    json_t *v, *plat;
    int r;

    memset(d, 0, sizeof *d);
    if (!json_is_object(obj))
        return ferry_error_new(err, FERRY_E_INVALID, "%s: descriptor is not an object", what);
    if ((r = ferry_json_str(FERRY_E_INVALID, obj, "mediaType", true, what, &d->media_type, err)) <
        0)
        goto fail;
    if ((r = ferry_json_str(FERRY_E_INVALID, obj, "digest", true, what, &d->digest, err)) < 0)
        goto fail;
    if ((r = ferry_digest_parse(d->digest, &dg, err)) < 0) {
        ferry_error_wrap(err, "%s", what);
        goto fail;
    }
    v = json_object_get(obj, "size");
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        r = ferry_error_new(err, FERRY_E_INVALID, "%s: descriptor %s has no valid \"size\"", what,
                            d->digest);
        goto fail;
    }
    d->size = (int64_t)json_integer_value(v);
    if ((r = ferry_json_str(FERRY_E_INVALID, obj, "artifactType", false, what, &d->artifact_type,
                            err)) < 0)
        goto fail;
    v = json_object_get(obj, "annotations");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_object(v)) {
            r = ferry_error_new(err, FERRY_E_INVALID, "%s: annotations of %s are not an object",
                                what, d->digest);
            goto fail;
        }
        d->annotations = v;
    }
    plat = json_object_get(obj, "platform");
    if (json_is_object(plat)) {
        const char *os = json_string_value(json_object_get(plat, "os"));
        const char *arch = json_string_value(json_object_get(plat, "architecture"));
        const char *var = json_string_value(json_object_get(plat, "variant"));
        if (os && arch) {
            d->platform =
                var ? ferry_asprintf("%s/%s/%s", os, arch, var) : ferry_asprintf("%s/%s", os, arch);
            if (d->platform == NULL) {
                r = ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
                goto fail;
            }
        }
    }
    return 0;
fail:
    ferry_descriptor_clear(d);
    return r;
}

static int
parse_descriptor_array(json_t *arr, const char *field, const char *what,
                       struct ferry_descriptor **out, size_t *n, struct ferry_error **err)
{
    struct ferry_descriptor *ds;
    size_t i, cnt;
    int r;

    *out = NULL;
    *n = 0;
    if (arr == NULL || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return ferry_error_new(err, FERRY_E_INVALID, "%s: \"%s\" is not an array", what, field);
    cnt = json_array_size(arr);
    if (cnt == 0)
        return 0;
    ds = ferry_calloc(cnt, sizeof *ds);
    if (ds == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
    for (i = 0; i < cnt; i++) {
        r = ferry_descriptor_parse(json_array_get(arr, i), what, &ds[i], err);
        if (r < 0) {
            ferry_error_wrap(err, "%s[%zu]", field, i);
            while (i-- > 0)
                ferry_descriptor_clear(&ds[i]);
            ferry_free(ds);
            return r;
        }
    }
    *out = ds;
    *n = cnt;
    return 0;
}

void
ferry_manifest_free(struct ferry_manifest *m)
{
    size_t i;

    if (m == NULL)
        return;
    ferry_free(m->media_type);
    ferry_free(m->artifact_type);
    ferry_descriptor_clear(&m->config);
    for (i = 0; i < m->nlayers; i++)
        ferry_descriptor_clear(&m->layers[i]);
    ferry_free(m->layers);
    for (i = 0; i < m->nmanifests; i++)
        ferry_descriptor_clear(&m->manifests[i]);
    ferry_free(m->manifests);
    if (m->subject) {
        ferry_descriptor_clear(m->subject);
        ferry_free(m->subject);
    }
    json_decref(m->root);
    ferry_free(m);
}

int
ferry_json_dump(const json_t *root, char **out, size_t *len, struct ferry_error **err)
{
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t n;

    if (text == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    n = strlen(text);
    *out = ferry_strndup(text, n);
    free(text);
    if (*out == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    if (len != NULL)
        *len = n;
    return 0;
}

const char *
ferry_manifest_artifact_type(const struct ferry_manifest *m)
{
    if (m->artifact_type != NULL)
        return m->artifact_type;
    return m->kind == FERRY_KIND_IMAGE ? m->config.media_type : NULL;
}

static json_t *
load_json(const void *data, size_t len, size_t cap, const char *what, struct ferry_error **err)
{
    json_error_t jerr;
    json_t *root;

    if (len > cap) {
        ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: %zu bytes, more than the %zu allowed", what,
                        len, cap);
        return NULL;
    }
    root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        ferry_error_new(err, FERRY_E_INVALID, "%s: invalid json at line %d column %d: %s", what,
                        jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        ferry_error_new(err, FERRY_E_INVALID, "%s: not a json object", what);
        return NULL;
    }
    return root;
}

int
ferry_manifest_parse(const void *data, size_t len, const char *hint, const char *what,
                     struct ferry_manifest **out, struct ferry_error **err)
{
    struct ferry_manifest *m = NULL;
    json_t *root, *v, *man, *cfg, *lay;
    int r = 0;

    root = load_json(data, len, FERRY_MAX_MANIFEST, what, err);
    if (root == NULL)
        return -(int)(*err)->code;
    m = ferry_calloc(1, sizeof *m);
    if (m == NULL) {
        json_decref(root);
        return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
    }
    m->root = root;
    v = json_object_get(root, "schemaVersion");
    if (!json_is_integer(v) || json_integer_value(v) != 2) {
        r = ferry_error_new(err, FERRY_E_INVALID, "%s: schemaVersion is not 2", what);
        goto out;
    }
    if ((r = ferry_json_str(FERRY_E_INVALID, root, "mediaType", false, what, &m->media_type, err)) <
        0)
        goto out;
    if (m->media_type && hint && *hint && strcmp(m->media_type, hint) != 0) {
        r = ferry_error_new(err, FERRY_E_INVALID, "%s: mediaType %s differs from %s", what,
                            m->media_type, hint);
        goto out;
    }
    if (m->media_type == NULL && hint != NULL && *hint) {
        if ((m->media_type = ferry_strdup(hint)) == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
            goto out;
        }
    }
    man = json_object_get(root, "manifests");
    cfg = json_object_get(root, "config");
    lay = json_object_get(root, "layers");
    if (man != NULL && (cfg != NULL || lay != NULL)) {
        r = ferry_error_new(err, FERRY_E_INVALID, "%s: has both manifests and config/layers", what);
        goto out;
    }
    if (man != NULL) {
        m->kind = FERRY_KIND_INDEX;
        if (m->media_type && !ferry_media_type_is_index(m->media_type)) {
            r = ferry_error_new(err, FERRY_E_INVALID, "%s: index with mediaType %s", what,
                                m->media_type);
            goto out;
        }
        if ((r = parse_descriptor_array(man, "manifests", what, &m->manifests, &m->nmanifests,
                                        err)) < 0)
            goto out;
    } else if (cfg != NULL) {
        m->kind = FERRY_KIND_IMAGE;
        if (m->media_type && !ferry_media_type_is_manifest(m->media_type)) {
            r = ferry_error_new(err, FERRY_E_INVALID, "%s: manifest with mediaType %s", what,
                                m->media_type);
            goto out;
        }
        if ((r = ferry_descriptor_parse(cfg, what, &m->config, err)) < 0) {
            ferry_error_wrap(err, "config");
            goto out;
        }
        if ((r = parse_descriptor_array(lay, "layers", what, &m->layers, &m->nlayers, err)) < 0)
            goto out;
    } else {
        r = ferry_error_new(err, FERRY_E_INVALID, "%s: neither an image manifest nor an index",
                            what);
        goto out;
    }
    if (m->media_type == NULL) {
        /* OCI allows an absent mediaType; infer it from the shape. */
        m->media_type =
            ferry_strdup(m->kind == FERRY_KIND_INDEX ? FERRY_MT_OCI_INDEX : FERRY_MT_OCI_MANIFEST);
        if (m->media_type == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
            goto out;
        }
    }
    if ((r = ferry_json_str(FERRY_E_INVALID, root, "artifactType", false, what, &m->artifact_type,
                            err)) < 0)
        goto out;
    v = json_object_get(root, "subject");
    if (v != NULL && !json_is_null(v)) {
        m->subject = ferry_calloc(1, sizeof *m->subject);
        if (m->subject == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
            goto out;
        }
        if ((r = ferry_descriptor_parse(v, what, m->subject, err)) < 0) {
            ferry_free(m->subject);
            m->subject = NULL;
            ferry_error_wrap(err, "subject");
            goto out;
        }
    }
    v = json_object_get(root, "annotations");
    if (json_is_object(v))
        m->annotations = v;
    *out = m;
    m = NULL;
out:
    ferry_manifest_free(m);
    return r;
}

int
ferry_config_platform(const void *data, size_t len, const char *what, char **out,
                      struct ferry_error **err)
{
    json_t *root = load_json(data, len, FERRY_MAX_MANIFEST, what, err);
    const char *os, *arch, *var;

    *out = NULL;
    if (root == NULL)
        return -(int)(*err)->code;
    os = json_string_value(json_object_get(root, "os"));
    arch = json_string_value(json_object_get(root, "architecture"));
    var = json_string_value(json_object_get(root, "variant"));
    if (os && arch) {
        *out = var ? ferry_asprintf("%s/%s/%s", os, arch, var) : ferry_asprintf("%s/%s", os, arch);
        if (*out == NULL) {
            json_decref(root);
            return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
        }
    }
    json_decref(root);
    return 0;
}

bool
ferry_platform_match(const char *have, const char *want)
{
    size_t n = strlen(want);
    const char *slash = strchr(want, '/');
    bool has_variant = slash != NULL && strchr(slash + 1, '/') != NULL;

    if (have == NULL || strncmp(have, want, n) != 0)
        return false;
    return have[n] == '\0' || (have[n] == '/' && !has_variant);
}
