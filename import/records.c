/* ferry import: tag records. Each tag an import sets remembers the signed
 * creation time of the bundle that set it, so that an older bundle cannot
 * move it back, whichever host imports next. The records live in the
 * registry itself (docs/SECURITY.md, "Rollback"): in the repository
 * FIRST/ferry-state, FIRST being the first path component of the tag's
 * repository (the project on Harbor, the --to prefix's first component
 * usually), or ferry-state for a repository of one component. One small OCI
 * artifact per tag, tagged "tag-" + the sha256 hex of "REPO:TAG", its
 * annotations holding the record. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ferry/digest.h"
#include "ferry/limits.h"
#include "ferry/manifest.h"
#include "ferry/util.h"
#include "import_int.h"

#define RECORD_ARTIFACT_TYPE "application/vnd.ferry.tag-record.v1"
#define RECORD_EMPTY "{}"
#define RECORD_EMPTY_DIGEST                                                                        \
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define ANN_REPO "dev.ferry.record.repository"
#define ANN_TAG "dev.ferry.record.tag"
#define ANN_DIGEST "dev.ferry.record.digest"
#define ANN_CREATED "dev.ferry.record.bundle-created"
#define ANN_STATEMENT "dev.ferry.record.bundle"
#define ANN_KEY "dev.ferry.record.key-id"
#define ANN_SET "org.opencontainers.image.created"
#define RECORD_PUT_ATTEMPTS 4

void
record_clear(struct tag_record *rec)
{
    ferry_free(rec->digest);
    ferry_free(rec->created);
    ferry_free(rec->statement);
    ferry_free(rec->key_id);
    memset(rec, 0, sizeof *rec);
}

char *
record_repo(const char *repo)
{
    const char *slash = strchr(repo, '/');

    if (slash == NULL)
        return ferry_strdup(FERRY_RECORD_REPO);
    return ferry_asprintf("%.*s/%s", (int)(slash - repo), repo, FERRY_RECORD_REPO);
}

bool
record_is_state_repo(const char *repo)
{
    const char *slash = strchr(repo, '/');

    return strcmp(slash ? slash + 1 : repo, FERRY_RECORD_REPO) == 0;
}

/* The record's tag: "tag-" and the sha256 hex of "REPO:TAG". */
static void
record_tag(const char *repo, const char *tag, char *out, size_t n)
{
    struct ferry_digest d;
    char *key = ferry_asprintf("%s:%s", repo, tag);

    ferry_digest_buffer(FERRY_DIGEST_SHA256, key ? key : "", key ? strlen(key) : 0, &d);
    ferry_free(key);
    snprintf(out, n, "tag-%s", ferry_digest_hex(&d));
}

static const char *
ann(const struct ferry_manifest *m, const char *key)
{
    json_t *v = m->annotations ? json_object_get(m->annotations, key) : NULL;

    return json_is_string(v) ? json_string_value(v) : NULL;
}

int
record_get(struct ferry_registry *reg, const char *repo, const char *tag, struct tag_record *rec,
           struct ferry_error **err)
{
    struct ferry_manifest_info info = {0};
    struct ferry_manifest *m = NULL;
    struct ferry_buf body;
    struct ferry_digest d;
    char rtag[80], *state = record_repo(repo);
    const char *v;
    int r;

    memset(rec, 0, sizeof *rec);
    ferry_buf_init(&body, FERRY_MAX_MANIFEST);
    if (state == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    record_tag(repo, tag, rtag, sizeof rtag);
    r = ferry_registry_get_manifest(reg, state, rtag, &body, &info, err);
    if (r == -FERRY_E_NOT_FOUND) {
        ferry_error_clear(err);
        r = 0;
        goto out;
    }
    if (r < 0)
        goto out;
    if ((r = ferry_manifest_parse(body.data, body.len, info.media_type, "tag record", &m, err)) < 0)
        goto out;
    /* A record names its tag: one for another tag, or one without a valid
     * time, is not trusted to allow anything; it is an error to look at. */
    if ((v = ann(m, ANN_REPO)) == NULL || strcmp(v, repo) != 0 || (v = ann(m, ANN_TAG)) == NULL ||
        strcmp(v, tag) != 0 || (v = ann(m, ANN_CREATED)) == NULL ||
        !ferry_time_parse(v, &rec->created_t) || (v = ann(m, ANN_DIGEST)) == NULL ||
        ferry_digest_parse(v, &d, NULL) < 0) {
        r = ferry_error_new(err, FERRY_E_INVALID,
                            "tag record %s:%s for %s:%s is not one ferry wrote: remove it, or "
                            "push with --allow-downgrade to replace it",
                            state, rtag, repo, tag);
        goto out;
    }
    rec->found = true;
    if ((rec->digest = ferry_strdup(d.str)) == NULL ||
        (rec->created = ferry_strdup(ann(m, ANN_CREATED))) == NULL ||
        ((v = ann(m, ANN_STATEMENT)) != NULL && (rec->statement = ferry_strdup(v)) == NULL) ||
        ((v = ann(m, ANN_KEY)) != NULL && (rec->key_id = ferry_strdup(v)) == NULL))
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
out:
    if (r < 0) {
        record_clear(rec);
        ferry_error_wrap(err, "read the tag record of %s:%s", repo, tag);
    }
    ferry_manifest_free(m);
    ferry_manifest_info_clear(&info);
    ferry_buf_free(&body);
    ferry_free(state);
    return r;
}

struct memsrc {
    const char *data;
    size_t len, off;
};

static int64_t
mem_read(void *buf, size_t len, void *ud, struct ferry_error **err)
{
    struct memsrc *s = ud;
    size_t n = s->len - s->off < len ? s->len - s->off : len;

    (void)err;
    memcpy(buf, s->data + s->off, n);
    s->off += n;
    return (int64_t)n;
}

static int
mem_seek(void *ud, uint64_t off, struct ferry_error **err)
{
    struct memsrc *s = ud;

    (void)err;
    s->off = off <= s->len ? (size_t)off : s->len;
    return 0;
}

int
record_put(struct ferry_registry *reg, const char *repo, const char *tag, const char *digest,
           const struct ferry_verified *v, struct ferry_error **err)
{
    struct memsrc src = {RECORD_EMPTY, sizeof RECORD_EMPTY - 1, 0};
    char rtag[80], now[32], *state = record_repo(repo), *text = NULL;
    json_t *root = NULL;
    size_t len = 0;
    int r;

    if (state == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    record_tag(repo, tag, rtag, sizeof rtag);
    ferry_time_format((int64_t)time(NULL), now, sizeof now);
    root = json_pack("{s:i, s:s, s:s, s:{s:s, s:s, s:i}, s:[{s:s, s:s, s:i}], "
                     "s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s}}",
                     "schemaVersion", 2, "mediaType", FERRY_MT_OCI_MANIFEST, "artifactType",
                     RECORD_ARTIFACT_TYPE, "config", "mediaType", FERRY_MT_OCI_EMPTY, "digest",
                     RECORD_EMPTY_DIGEST, "size", 2, "layers", "mediaType", FERRY_MT_OCI_EMPTY,
                     "digest", RECORD_EMPTY_DIGEST, "size", 2, "annotations", ANN_REPO, repo,
                     ANN_TAG, tag, ANN_DIGEST, digest, ANN_CREATED, v->st->created, ANN_STATEMENT,
                     v->id.statement, ANN_KEY, v->id.key_id, ANN_SET, now);
    if (root == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    if ((r = ferry_json_dump(root, &text, &len, err)) < 0)
        goto out;
    /* Two imports setting the same tag write its record at once, each
     * uploading the empty blob first; distribution may refuse a manifest
     * PUT (BLOB_UNKNOWN) while the other's upload of that blob is linked:
     * then the blob is made sure of and the PUT tried again. */
    for (int attempt = 1;; attempt++) {
        src.off = 0;
        if ((r = ferry_registry_head_blob(reg, state, RECORD_EMPTY_DIGEST, NULL, err)) == 0)
            r = ferry_registry_put_blob(reg, state, RECORD_EMPTY_DIGEST, (int64_t)src.len, mem_read,
                                        mem_seek, &src, err);
        if (r >= 0)
            r = ferry_registry_put_manifest(reg, state, rtag, FERRY_MT_OCI_MANIFEST, text, len,
                                            NULL, err);
        if (r >= 0 || attempt == RECORD_PUT_ATTEMPTS || err == NULL || *err == NULL ||
            (*err)->code != FERRY_E_HTTP || (*err)->http_status != 400 || (*err)->msg == NULL ||
            strstr((*err)->msg, "BLOB_UNKNOWN") == NULL)
            break;
        ferry_log(FERRY_LOG_WARN, "%s; writing the tag record again (attempt %d of %d)",
                  (*err)->msg, attempt + 1, RECORD_PUT_ATTEMPTS);
        ferry_error_clear(err);
        ferry_sleep_ms(100L * attempt);
    }
out:
    if (r < 0)
        ferry_error_wrap(err, "write the tag record of %s:%s into %s", repo, tag, state);
    json_decref(root);
    ferry_free(text);
    ferry_free(state);
    return r < 0 ? r : 0;
}
