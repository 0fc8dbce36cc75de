/* ferry core: containers-policy.json parsing, as strict as containers/image's
 * signature/policy_config.go and policy_config_sigstore.go (unknown keys,
 * duplicate keys and invalid combinations refused), with key material read
 * at load. Lookups are in policy_match.c; what is accepted is in
 * include/ferry/policy.h. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "ferry/limits.h"
#include "json_int.h"
#include "policy_int.h"

#define WHAT_SIZE 512 /* "NAME: transports.docker[\"SCOPE\"][N]: fulcio", cut */
#define SHOWN_SIZE 160

/* Base64 text of a *Data value: the largest file, encoded, with line breaks. */
#define MAX_DATA_TEXT ((size_t)FERRY_POLICY_MAX_KEY_FILE / 3 * 4 * 2 + 8)

struct pctx {
    const char *name;
    const char *base_dir;
    size_t key_bytes; /* key material read so far, FERRY_POLICY_MAX_KEY_TOTAL */
    struct ferry_error **err;
};

/* The requirement types (policy_types.go prType*). */
static const char REQ_ACCEPT[] = "insecureAcceptAnything";
static const char REQ_REJECT[] = "reject";
static const char REQ_SIGNED_BY[] = "signedBy";
static const char REQ_BASE_LAYER[] = "signedBaseLayer";
static const char REQ_SIGSTORE[] = "sigstoreSigned";

static int fail(struct pctx *c, enum ferry_status code, const char *what, const char *fmt, ...)
    FERRY_PRINTF(4, 5);

static int
fail(struct pctx *c, enum ferry_status code, const char *what, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ferry_error_new(c->err, code, "%s: %s", what, msg);
}

static int
nomem(struct pctx *c, const char *what)
{
    return ferry_error_new(c->err, FERRY_E_NOMEM, "%s: out of memory", what);
}

static const char *
quote(char *dst, size_t n, const char *s)
{
    return ferry_quote(dst, n, s, strlen(s));
}

/* ---- freeing ------------------------------------------------------------------- */

static void
blob_clear(struct ferry_policy_blob *b)
{
    ferry_free(b->data);
    ferry_free(b->origin);
    b->data = b->origin = NULL;
    b->len = 0;
}

static void
blobs_free(struct ferry_policy_blob *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        blob_clear(&v[i]);
    ferry_free(v);
}

static void
identity_clear(struct ferry_policy_identity *id)
{
    ferry_free(id->reference);
    ferry_free(id->repository);
    ferry_free(id->prefix);
    ferry_free(id->signed_prefix);
    memset(id, 0, sizeof *id);
}

static void
req_clear(struct ferry_policy_req *r)
{
    ferry_free(r->type_name);
    blobs_free(r->keys, r->nkeys);
    blobs_free(r->fulcio_ca, r->fulcio_ca ? 1 : 0);
    ferry_free(r->fulcio_issuer);
    ferry_free(r->fulcio_email);
    blobs_free(r->rekor_keys, r->nrekor_keys);
    identity_clear(&r->identity);
    memset(r, 0, sizeof *r);
}

static void
reqs_free(struct ferry_policy_req *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        req_clear(&v[i]);
    ferry_free(v);
}

void
ferry_policy_free(struct ferry_policy *p)
{
    if (p == NULL)
        return;
    reqs_free(p->def, p->ndef);
    for (size_t i = 0; i < p->ndocker; i++) {
        ferry_free(p->docker[i].scope);
        reqs_free(p->docker[i].reqs, p->docker[i].n);
    }
    ferry_free(p->docker);
    ferry_strmap_free(p->index);
    ferry_free(p->name);
    ferry_free(p);
}

/* ---- fields ------------------------------------------------------------------------ */

/* v as text: a string of 1..max bytes without control characters (every
 * string of the format means something only when non-empty; containers/image
 * treats "" as not given and then fails on it). */
static int
text(struct pctx *c, const char *what, const char *field, json_t *v, size_t max, const char **out)
{
    const char *s;

    if (!json_is_string(v))
        return fail(c, FERRY_E_INVALID, what, "\"%s\" is not a string", field);
    if (json_string_length(v) > max)
        return fail(c, FERRY_E_TOO_LARGE, what, "\"%s\" is longer than %zu bytes", field, max);
    if (json_string_length(v) == 0)
        return fail(c, FERRY_E_INVALID, what, "\"%s\" is empty", field);
    s = json_string_value(v);
    if (ferry_json_text(FERRY_E_INVALID, what, field, s, c->err) < 0)
        return -FERRY_E_INVALID;
    *out = s;
    return 0;
}

/* Member key as text: *out NULL when absent, an error then when required. */
static int
member(struct pctx *c, json_t *o, const char *what, const char *key, bool required,
       const char **out)
{
    json_t *v = json_object_get(o, key);

    *out = NULL;
    if (v == NULL)
        return required ? fail(c, FERRY_E_INVALID, what, "\"%s\" is missing", key) : 0;
    return text(c, what, key, v, FERRY_POLICY_MAX_STRING, out);
}

static int
dup_member(struct pctx *c, json_t *o, const char *what, const char *key, bool required, char **out)
{
    const char *s;
    int r;

    if ((r = member(c, o, what, key, required, &s)) < 0 || s == NULL)
        return r;
    if ((*out = ferry_strdup(s)) == NULL)
        return nomem(c, what);
    return 0;
}

/* Which of names[0..n) o has: the count, the first two in *a and *b. */
static size_t
present(json_t *o, const char *const *names, size_t n, const char **a, const char **b)
{
    size_t k = 0;

    *a = *b = NULL;
    for (size_t i = 0; i < n; i++) {
        if (json_object_get(o, names[i]) == NULL)
            continue;
        if (k == 0)
            *a = names[i];
        else if (k == 1)
            *b = names[i];
        k++;
    }
    return k;
}

/* ---- key material ----------------------------------------------------------------- */

static int
charge(struct pctx *c, const char *what, size_t n)
{
    if (n > FERRY_POLICY_MAX_KEY_TOTAL - c->key_bytes)
        return fail(c, FERRY_E_TOO_LARGE, what, "key material of the policy is over %u bytes",
                    (unsigned)FERRY_POLICY_MAX_KEY_TOTAL);
    c->key_bytes += n;
    return 0;
}

/* A key or CA file: path resolved against base_dir when relative (policy.h
 * says why), a regular file of 1..FERRY_POLICY_MAX_KEY_FILE bytes. */
static int
read_blob(struct pctx *c, const char *what, const char *field, const char *path,
          struct ferry_policy_blob *b)
{
    struct ferry_buf buf;
    char *full = NULL;
    int r;

    ferry_buf_init(&buf, FERRY_POLICY_MAX_KEY_FILE);
    if (path[0] != '/' && c->base_dir != NULL && c->base_dir[0] != '\0')
        full = ferry_asprintf("%s/%s", c->base_dir, path);
    else
        full = ferry_strdup(path);
    if (full == NULL)
        return nomem(c, what);
    if ((r = ferry_read_file(full, &buf, c->err)) < 0) {
        ferry_error_wrap(c->err, "%s: %s", what, field);
        goto out;
    }
    if (buf.len == 0) {
        r = fail(c, FERRY_E_INVALID, what, "%s %s is empty", field, full);
        goto out;
    }
    if ((r = charge(c, what, buf.len)) < 0)
        goto out;
    if ((b->origin = ferry_asprintf("%s %s", field, full)) == NULL) {
        r = nomem(c, what);
        goto out;
    }
    b->data = ferry_buf_take(&buf, &b->len);
out:
    ferry_buf_free(&buf);
    ferry_free(full);
    return r;
}

/* A *Data value: standard padded base64, CR and LF ignored (Go's
 * encoding/json []byte), of 1..FERRY_POLICY_MAX_KEY_FILE bytes. b may be
 * NULL: checked, then dropped. */
static int
decode_blob(struct pctx *c, const char *what, const char *field, json_t *v,
            struct ferry_policy_blob *b)
{
    unsigned char *bin = NULL;
    const char *s;
    size_t n, cap, got = 0;
    int r = 0;

    /* not text(): line breaks belong in base64, other bytes fail to decode */
    if (!json_is_string(v))
        return fail(c, FERRY_E_INVALID, what, "\"%s\" is not a string", field);
    if ((n = json_string_length(v)) > MAX_DATA_TEXT)
        return fail(c, FERRY_E_TOO_LARGE, what, "\"%s\" is longer than %zu bytes", field,
                    MAX_DATA_TEXT);
    s = json_string_value(v);
    cap = n / 4 * 3 + 3;
    if ((bin = ferry_malloc(cap + 1)) == NULL)
        return nomem(c, what);
    if (sodium_base642bin(bin, cap, s, n, "\r\n", &got, NULL, sodium_base64_VARIANT_ORIGINAL) !=
        0) {
        r = fail(c, FERRY_E_INVALID, what, "\"%s\" is not valid base64", field);
        goto out;
    }
    if (got == 0) {
        r = fail(c, FERRY_E_INVALID, what, "\"%s\" is empty", field);
        goto out;
    }
    if (got > FERRY_POLICY_MAX_KEY_FILE) {
        r = fail(c, FERRY_E_TOO_LARGE, what, "\"%s\" is over %u bytes", field,
                 (unsigned)FERRY_POLICY_MAX_KEY_FILE);
        goto out;
    }
    bin[got] = '\0';
    if (b == NULL)
        goto out;
    if ((r = charge(c, what, got)) < 0)
        goto out;
    if ((b->origin = ferry_strdup(field)) == NULL) {
        r = nomem(c, what);
        goto out;
    }
    b->data = (char *)bin;
    b->len = got;
    bin = NULL;
out:
    ferry_free(bin);
    return r;
}

/* The one present of names[] = {path, paths, data, datas} (the caller made
 * sure there is at most one) into *out, *n: the blobs (NULL, 0 when none).
 * read false: checked, not read (signedBy keyrings, which ferry never
 * uses). */
static int
keyset(struct pctx *c, json_t *o, const char *what, const char *const names[4], bool read,
       struct ferry_policy_blob **out, size_t *n)
{
    struct ferry_policy_blob *v = NULL;
    size_t count = 0, want = 1;
    json_t *val = NULL, *arr = NULL;
    const char *name = NULL;
    char field[128];
    int r = 0;

    for (size_t i = 0; i < 4 && val == NULL; i++)
        if (names[i] != NULL && (val = json_object_get(o, names[i])) != NULL)
            name = names[i];
    if (val == NULL)
        return 0;
    if (name == names[1] || name == names[3]) {
        if (!json_is_array(val))
            return fail(c, FERRY_E_INVALID, what, "\"%s\" is not an array", name);
        if ((want = json_array_size(val)) == 0)
            return fail(c, FERRY_E_INVALID, what, "\"%s\" contains no entries", name);
        if (want > FERRY_POLICY_MAX_KEYS)
            return fail(c, FERRY_E_TOO_LARGE, what, "\"%s\" has more than %d entries", name,
                        FERRY_POLICY_MAX_KEYS);
        arr = val;
    }
    if ((v = ferry_calloc(want, sizeof *v)) == NULL)
        return nomem(c, what);
    for (count = 0; count < want; count++) {
        json_t *item = arr ? json_array_get(arr, count) : val;
        struct ferry_policy_blob *b = &v[count];
        const char *path = NULL;

        if (arr != NULL)
            snprintf(field, sizeof field, "%s[%zu]", name, count);
        else
            snprintf(field, sizeof field, "%s", name);
        if (name == names[0] || name == names[1]) {
            if ((r = text(c, what, field, item, FERRY_POLICY_MAX_STRING, &path)) < 0)
                goto out;
            if (read && (r = read_blob(c, what, field, path, b)) < 0)
                goto out;
        } else if ((r = decode_blob(c, what, field, item, read ? b : NULL)) < 0) {
            goto out;
        }
    }
    if (read) {
        *out = v;
        *n = want;
        v = NULL;
    }
out:
    blobs_free(v, count);
    return r;
}

/* ---- signedIdentity ---------------------------------------------------------------- */

/* policy_config.go newPolicyReferenceMatchFromJSON; what names the member. */
static int
parse_identity(struct pctx *c, json_t *o, const char *what, struct ferry_policy_identity *id)
{
    static const char *const only_type[] = {"type", NULL};
    static const char *const exact_ref[] = {"type", "dockerReference", NULL};
    static const char *const exact_repo[] = {"type", "dockerRepository", NULL};
    static const char *const remap[] = {"type", "prefix", "signedPrefix", NULL};
    static const struct {
        const char *name;
        enum ferry_policy_identity_type type;
        const char *const *keys;
    } types[] = {
        {"matchExact", FERRY_POLICY_ID_MATCH_EXACT, only_type},
        {"matchRepoDigestOrExact", FERRY_POLICY_ID_MATCH_REPO_DIGEST_OR_EXACT, only_type},
        {"matchRepository", FERRY_POLICY_ID_MATCH_REPOSITORY, only_type},
        {"exactReference", FERRY_POLICY_ID_EXACT_REFERENCE, exact_ref},
        {"exactRepository", FERRY_POLICY_ID_EXACT_REPOSITORY, exact_repo},
        {"remapIdentity", FERRY_POLICY_ID_REMAP_IDENTITY, remap},
    };
    struct ferry_ref *ref = NULL;
    char q[SHOWN_SIZE];
    const char *type;
    size_t i;
    bool bare;
    int r;

    if (!json_is_object(o))
        return fail(c, FERRY_E_INVALID, what, "not an object");
    if ((r = member(c, o, what, "type", true, &type)) < 0)
        return r;
    for (i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i].name, type) == 0)
            break;
    if (i == sizeof types / sizeof types[0])
        return fail(c, FERRY_E_INVALID, what, "unknown type \"%s\"", quote(q, sizeof q, type));
    id->type = types[i].type;
    if ((r = ferry_json_keys(FERRY_E_INVALID, o, types[i].keys, what, c->err)) < 0)
        return r;

    switch (id->type) {
    case FERRY_POLICY_ID_EXACT_REFERENCE:
        if ((r = dup_member(c, o, what, "dockerReference", true, &id->reference)) < 0)
            return r;
        if ((r = ferry_policy_parse_named(id->reference, &ref, &bare, c->err)) < 0)
            return ferry_error_wrap(c->err, "%s: \"dockerReference\"", what);
        ferry_ref_free(ref);
        if (bare)
            return fail(c, FERRY_E_INVALID, what,
                        "\"dockerReference\" \"%s\" contains neither a tag nor a digest",
                        quote(q, sizeof q, id->reference));
        return 0;
    case FERRY_POLICY_ID_EXACT_REPOSITORY:
        if ((r = dup_member(c, o, what, "dockerRepository", true, &id->repository)) < 0)
            return r;
        if ((r = ferry_policy_parse_named(id->repository, &ref, &bare, c->err)) < 0)
            return ferry_error_wrap(c->err, "%s: \"dockerRepository\"", what);
        ferry_ref_free(ref);
        return 0;
    case FERRY_POLICY_ID_REMAP_IDENTITY:
        if ((r = dup_member(c, o, what, "prefix", true, &id->prefix)) < 0 ||
            (r = dup_member(c, o, what, "signedPrefix", true, &id->signed_prefix)) < 0)
            return r;
        /* validateIdentityRemappingPrefix */
        if (!ferry_policy_prefix_valid(id->prefix))
            return fail(c, FERRY_E_INVALID, what, "\"prefix\" \"%s\" is not valid",
                        quote(q, sizeof q, id->prefix));
        if (!ferry_policy_prefix_valid(id->signed_prefix))
            return fail(c, FERRY_E_INVALID, what, "\"signedPrefix\" \"%s\" is not valid",
                        quote(q, sizeof q, id->signed_prefix));
        return 0;
    default:
        return 0;
    }
}

/* An optional signedIdentity; the default is matchRepoDigestOrExact. */
static int
signed_identity(struct pctx *c, json_t *o, const char *what, struct ferry_policy_identity *id)
{
    json_t *v = json_object_get(o, "signedIdentity");
    char w[WHAT_SIZE];

    id->type = FERRY_POLICY_ID_MATCH_REPO_DIGEST_OR_EXACT;
    if (v == NULL)
        return 0;
    snprintf(w, sizeof w, "%.400s: signedIdentity", what);
    return parse_identity(c, v, w, id);
}

/* ---- requirements ----------------------------------------------------------------- */

/* policy_config_sigstore.go newPRSigstoreSignedFulcio */
static int
parse_fulcio(struct pctx *c, json_t *o, const char *what, struct ferry_policy_req *req)
{
    static const char *const keys[] = {"caPath", "caData", "oidcIssuer", "subjectEmail", NULL};
    static const char *const ca[] = {"caPath", NULL, "caData", NULL};
    struct ferry_policy_blob *blob = NULL;
    const char *a, *b;
    size_t n = 0;
    char w[WHAT_SIZE];
    int r;

    snprintf(w, sizeof w, "%.400s: fulcio", what);
    if (!json_is_object(o))
        return fail(c, FERRY_E_INVALID, w, "not an object");
    if ((r = ferry_json_keys(FERRY_E_INVALID, o, keys, w, c->err)) < 0)
        return r;
    if (present(o, (const char *const[]){"caPath", "caData"}, 2, &a, &b) != 1)
        return fail(c, FERRY_E_INVALID, w, "%s",
                    a ? "\"caPath\" and \"caData\" cannot be used together"
                      : "one of \"caPath\" and \"caData\" must be given");
    if ((r = dup_member(c, o, w, "oidcIssuer", true, &req->fulcio_issuer)) < 0 ||
        (r = dup_member(c, o, w, "subjectEmail", true, &req->fulcio_email)) < 0)
        return r;
    if ((r = keyset(c, o, w, ca, true, &blob, &n)) < 0)
        return r;
    assert(n == 1);
    req->fulcio_ca = blob;
    return 0;
}

/* policy_config_sigstore.go newPRSigstoreSignedPKI: checked, not used. */
static int
parse_pki(struct pctx *c, json_t *o, const char *what)
{
    static const char *const keys[] = {"caRootsPath",
                                       "caRootsData",
                                       "caIntermediatesPath",
                                       "caIntermediatesData",
                                       "subjectEmail",
                                       "subjectHostname",
                                       NULL};
    const char *a, *b, *s;
    char w[WHAT_SIZE];
    int r;

    snprintf(w, sizeof w, "%.400s: pki", what);
    if (!json_is_object(o))
        return fail(c, FERRY_E_INVALID, w, "not an object");
    if ((r = ferry_json_keys(FERRY_E_INVALID, o, keys, w, c->err)) < 0)
        return r;
    for (size_t i = 0; keys[i] != NULL; i++)
        if ((r = member(c, o, w, keys[i], false, &s)) < 0)
            return r;
    if (present(o, (const char *const[]){"caRootsPath", "caRootsData"}, 2, &a, &b) != 1)
        return fail(c, FERRY_E_INVALID, w, "%s",
                    a ? "\"caRootsPath\" and \"caRootsData\" cannot be used together"
                      : "one of \"caRootsPath\" and \"caRootsData\" must be given");
    if (present(o, (const char *const[]){"caIntermediatesPath", "caIntermediatesData"}, 2, &a, &b) >
        1)
        return fail(c, FERRY_E_INVALID, w,
                    "\"caIntermediatesPath\" and \"caIntermediatesData\" cannot be used together");
    if (present(o, (const char *const[]){"subjectEmail", "subjectHostname"}, 2, &a, &b) == 0)
        return fail(c, FERRY_E_INVALID, w,
                    "one of \"subjectEmail\" and \"subjectHostname\" must be given");
    return 0;
}

/* policy_config_sigstore.go prSigstoreSigned.UnmarshalJSON, newPRSigstoreSigned */
static int
parse_sigstore(struct pctx *c, json_t *o, const char *what, struct ferry_policy_req *req)
{
    static const char *const keys[] = {"type",
                                       "keyPath",
                                       "keyPaths",
                                       "keyData",
                                       "keyDatas",
                                       "fulcio",
                                       "pki",
                                       "rekorPublicKeyPath",
                                       "rekorPublicKeyPaths",
                                       "rekorPublicKeyData",
                                       "rekorPublicKeyDatas",
                                       "signedIdentity",
                                       NULL};
    static const char *const sources[] = {"keyPath",  "keyPaths", "keyData",
                                          "keyDatas", "fulcio",   "pki"};
    static const char *const rekor[] = {"rekorPublicKeyPath", "rekorPublicKeyPaths",
                                        "rekorPublicKeyData", "rekorPublicKeyDatas"};
    const char *a, *b;
    size_t k;
    int r;

    if ((r = ferry_json_keys(FERRY_E_INVALID, o, keys, what, c->err)) < 0)
        return r;
    k = present(o, sources, 6, &a, &b);
    if (k == 0)
        return fail(c, FERRY_E_INVALID, what,
                    "one of \"keyPath\", \"keyPaths\", \"keyData\", \"keyDatas\", \"fulcio\" "
                    "and \"pki\" must be given");
    if (k > 1)
        return fail(c, FERRY_E_INVALID, what,
                    "\"%s\" and \"%s\" cannot be used together (exactly one of keyPath, keyPaths, "
                    "keyData, keyDatas, fulcio and pki)",
                    a, b);
    k = present(o, rekor, 4, &a, &b);
    if (k > 1)
        return fail(c, FERRY_E_INVALID, what,
                    "\"%s\" and \"%s\" cannot be used together (at most one of "
                    "rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and "
                    "rekorPublicKeyDatas)",
                    a, b);
    if (k == 0 && json_object_get(o, "fulcio") != NULL)
        return fail(c, FERRY_E_INVALID, what,
                    "\"fulcio\" needs one of \"rekorPublicKeyPath\", \"rekorPublicKeyPaths\", "
                    "\"rekorPublicKeyData\" and \"rekorPublicKeyDatas\"");
    if ((r = signed_identity(c, o, what, &req->identity)) < 0)
        return r;
    req->type = FERRY_POLICY_SIGSTORE;
    if (json_object_get(o, "pki") != NULL) {
        if ((r = parse_pki(c, json_object_get(o, "pki"), what)) < 0)
            return r;
        req->type = FERRY_POLICY_UNSUPPORTED;
        req->reason = "sigstoreSigned with \"pki\" (X.509 roots) is not supported";
    } else if (json_object_get(o, "fulcio") != NULL) {
        if ((r = parse_fulcio(c, json_object_get(o, "fulcio"), what, req)) < 0)
            return r;
    } else if ((r = keyset(c, o, what, sources, true, &req->keys, &req->nkeys)) < 0) {
        return r;
    }
    return keyset(c, o, what, rekor, true, &req->rekor_keys, &req->nrekor_keys);
}

/* policy_config.go prSignedBy.UnmarshalJSON: checked, kept as unsupported. */
static int
parse_signed_by(struct pctx *c, json_t *o, const char *what, struct ferry_policy_req *req)
{
    static const char *const keys[] = {"type",    "keyType",        "keyPath", "keyPaths",
                                       "keyData", "signedIdentity", NULL};
    static const char *const key_types[] = {"GPGKeys", "signedByGPGKeys", "X509Certificates",
                                            "signedByX509CAs"};
    static const char *const sources[] = {"keyPath", "keyPaths", "keyData", "keyDatas"};
    const char *a, *b, *kt;
    char q[SHOWN_SIZE];
    size_t k, i;
    int r;

    if ((r = ferry_json_keys(FERRY_E_INVALID, o, keys, what, c->err)) < 0 ||
        (r = member(c, o, what, "keyType", true, &kt)) < 0)
        return r;
    for (i = 0; i < sizeof key_types / sizeof key_types[0]; i++)
        if (strcmp(key_types[i], kt) == 0)
            break;
    if (i == sizeof key_types / sizeof key_types[0])
        return fail(c, FERRY_E_INVALID, what, "unknown \"keyType\" \"%s\"", quote(q, sizeof q, kt));
    k = present(o, sources, 3, &a, &b);
    if (k == 0)
        return fail(c, FERRY_E_INVALID, what,
                    "one of \"keyPath\", \"keyPaths\" and \"keyData\" must be given");
    if (k > 1)
        return fail(c, FERRY_E_INVALID, what,
                    "\"%s\" and \"%s\" cannot be used together (exactly one of keyPath, keyPaths "
                    "and keyData)",
                    a, b);
    if ((r = keyset(c, o, what, sources, false, NULL, NULL)) < 0 ||
        (r = signed_identity(c, o, what, &req->identity)) < 0)
        return r;
    req->type = FERRY_POLICY_UNSUPPORTED;
    req->reason = "signedBy (GPG or X.509 simple signing) is not supported";
    return 0;
}

/* policy_config.go newPolicyRequirementFromJSON */
static int
parse_req(struct pctx *c, json_t *o, const char *what, struct ferry_policy_req *req)
{
    static const char *const only_type[] = {"type", NULL};
    static const char *const base_layer[] = {"type", "baseLayerIdentity", NULL};
    struct ferry_policy_identity tmp = {0};
    const char *type;
    char w[WHAT_SIZE];
    int r;

    if (!json_is_object(o))
        return fail(c, FERRY_E_INVALID, what, "not an object");
    if ((r = member(c, o, what, "type", true, &type)) < 0)
        return r;
    if ((req->type_name = ferry_strdup(type)) == NULL)
        return nomem(c, what);
    req->identity.type = FERRY_POLICY_ID_MATCH_REPO_DIGEST_OR_EXACT;
    if (strcmp(type, REQ_ACCEPT) == 0 || strcmp(type, REQ_REJECT) == 0) {
        req->type = type[0] == 'r' ? FERRY_POLICY_REJECT : FERRY_POLICY_ACCEPT;
        return ferry_json_keys(FERRY_E_INVALID, o, only_type, what, c->err);
    }
    if (strcmp(type, REQ_SIGSTORE) == 0)
        return parse_sigstore(c, o, what, req);
    if (strcmp(type, REQ_SIGNED_BY) == 0)
        return parse_signed_by(c, o, what, req);
    req->type = FERRY_POLICY_UNSUPPORTED;
    if (strcmp(type, REQ_BASE_LAYER) == 0) {
        /* containers/image refuses every image under it (policy_eval_baselayer.go) */
        req->reason = "signedBaseLayer is not supported";
        if ((r = ferry_json_keys(FERRY_E_INVALID, o, base_layer, what, c->err)) < 0)
            return r;
        if (json_object_get(o, "baseLayerIdentity") == NULL)
            return fail(c, FERRY_E_INVALID, what, "\"baseLayerIdentity\" is missing");
        snprintf(w, sizeof w, "%.400s: baseLayerIdentity", what);
        r = parse_identity(c, json_object_get(o, "baseLayerIdentity"), w, &tmp);
        identity_clear(&tmp);
        return r;
    }
    /* containers/image refuses the file; ferry refuses the images it covers */
    req->reason = "unknown requirement type";
    return 0;
}

/* A non-empty array of requirements. */
static int
parse_reqs(struct pctx *c, json_t *v, const char *what, struct ferry_policy_req **out, size_t *n)
{
    struct ferry_policy_req *reqs;
    size_t count = json_array_size(v);
    char w[WHAT_SIZE];
    int r = 0;

    if (!json_is_array(v))
        return fail(c, FERRY_E_INVALID, what, "not an array of requirements");
    if (count == 0)
        return fail(c, FERRY_E_INVALID, what, "the list of requirements must not be empty");
    if (count > FERRY_POLICY_MAX_REQS)
        return fail(c, FERRY_E_TOO_LARGE, what, "more than %d requirements", FERRY_POLICY_MAX_REQS);
    if ((reqs = ferry_calloc(count, sizeof *reqs)) == NULL)
        return nomem(c, what);
    for (size_t i = 0; i < count && r == 0; i++) {
        snprintf(w, sizeof w, "%s[%zu]", what, i);
        r = parse_req(c, json_array_get(v, i), w, &reqs[i]);
    }
    if (r < 0) {
        reqs_free(reqs, count);
        return r;
    }
    *out = reqs;
    *n = count;
    return 0;
}

/* ---- the file ----------------------------------------------------------------------- */

/* Nesting of arrays and objects outside strings over max (malformed text is
 * left to the parser), so jansson never recurses deep. */
static bool
too_deep(const char *s, size_t len, int max)
{
    bool in_string = false;
    int depth = 0;

    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (in_string) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '{' || ch == '[') {
            if (++depth > max)
                return true;
        } else if (ch == '}' || ch == ']') {
            depth--;
        }
    }
    return false;
}

static int
parse_transports(struct pctx *c, json_t *transports, struct ferry_policy *p)
{
    char what[WHAT_SIZE], qt[64], qs[SHOWN_SIZE];
    size_t nscopes = 0;
    const char *tname, *scope;
    json_t *scopes, *v;
    int r;

    if (!json_is_object(transports))
        return fail(c, FERRY_E_INVALID, c->name, "\"transports\" is not an object");
    json_object_foreach(transports, tname, scopes)
    {
        bool docker = strcmp(tname, "docker") == 0;

        quote(qt, sizeof qt, tname);
        if (!json_is_object(scopes))
            return ferry_error_new(c->err, FERRY_E_INVALID, "%s: transports.%s is not an object",
                                   c->name, qt);
        if (json_object_size(scopes) > FERRY_POLICY_MAX_SCOPES - nscopes)
            return ferry_error_new(c->err, FERRY_E_TOO_LARGE, "%s: more than %d scopes", c->name,
                                   FERRY_POLICY_MAX_SCOPES);
        nscopes += json_object_size(scopes);
        if (docker) {
            if ((p->docker = ferry_calloc(json_object_size(scopes) + 1, sizeof *p->docker)) == NULL)
                return nomem(c, c->name);
        }
        json_object_foreach(scopes, scope, v)
        {
            struct ferry_policy_req *reqs = NULL;
            size_t n = 0;

            quote(qs, sizeof qs, scope);
            snprintf(what, sizeof what, "%s: transports.%s[\"%s\"]", c->name, qt, qs);
            if (strlen(scope) > FERRY_POLICY_MAX_STRING)
                return fail(c, FERRY_E_TOO_LARGE, what, "scope longer than %d bytes",
                            FERRY_POLICY_MAX_STRING);
            /* docker_transport.go accepts any scope; ferry refuses what
             * naming.go can never produce */
            if (docker && scope[0] != '\0' && !ferry_policy_scope_valid(scope))
                return fail(c, FERRY_E_INVALID, what,
                            "not a valid docker scope (want HOST[:PORT][/PATH[:TAG|@DIGEST]] "
                            "or *.DOMAIN)");
            if ((r = parse_reqs(c, v, what, &reqs, &n)) < 0)
                return r;
            if (!docker) { /* checked, not used: ferry copies registry images only */
                reqs_free(reqs, n);
                continue;
            }
            struct ferry_policy_scope *s = &p->docker[p->ndocker];
            s->reqs = reqs;
            s->n = n;
            p->ndocker++; /* owned by p from here */
            if ((s->scope = ferry_strdup(scope)) == NULL)
                return nomem(c, what);
            if (ferry_strmap_put(p->index, s->scope, s) < 0)
                return nomem(c, what);
        }
    }
    return 0;
}

int
ferry_policy_parse(const void *json, size_t len, const char *base_dir, const char *name,
                   struct ferry_policy **out, struct ferry_error **err)
{
    static const char *const keys[] = {"default", "transports", NULL};
    struct pctx c = {.name = name ? name : "policy", .base_dir = base_dir, .err = err};
    struct ferry_policy *p = NULL;
    json_t *root = NULL, *v;
    json_error_t jerr;
    char what[WHAT_SIZE];
    int r;

    if (len > FERRY_POLICY_MAX_FILE)
        return ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: more than %u bytes", c.name,
                               (unsigned)FERRY_POLICY_MAX_FILE);
    if (json == NULL && len > 0)
        return ferry_error_new(err, FERRY_E_INTERNAL, "%s: no text", c.name);
    if (too_deep(json, len, FERRY_POLICY_MAX_DEPTH))
        return ferry_error_new(err, FERRY_E_TOO_LARGE, "%s: nested deeper than %d levels", c.name,
                               FERRY_POLICY_MAX_DEPTH);
    root = json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return ferry_error_new(err, FERRY_E_INVALID, "%s: line %d column %d: %s", c.name, jerr.line,
                               jerr.column, jerr.text);
    if ((p = ferry_calloc(1, sizeof *p)) == NULL || (p->name = ferry_strdup(c.name)) == NULL ||
        (p->index = ferry_strmap_new()) == NULL) {
        r = nomem(&c, c.name);
        goto out;
    }
    if (!json_is_object(root)) {
        r = fail(&c, FERRY_E_INVALID, c.name, "the top level is not an object");
        goto out;
    }
    if ((r = ferry_json_keys(FERRY_E_INVALID, root, keys, c.name, err)) < 0)
        goto out;
    /* policy_config.go: "Default policy is missing" */
    if ((v = json_object_get(root, "default")) == NULL) {
        r = fail(&c, FERRY_E_INVALID, c.name, "\"default\" is missing");
        goto out;
    }
    snprintf(what, sizeof what, "%s: default", c.name);
    if ((r = parse_reqs(&c, v, what, &p->def, &p->ndef)) < 0)
        goto out;
    if ((v = json_object_get(root, "transports")) != NULL && (r = parse_transports(&c, v, p)) < 0)
        goto out;
    *out = p;
    p = NULL;
out:
    ferry_policy_free(p);
    json_decref(root);
    return r;
}

int
ferry_policy_load_file(const char *path, struct ferry_policy **out, struct ferry_error **err)
{
    struct ferry_buf buf;
    const char *slash;
    char *dir = NULL;
    int r;

    ferry_buf_init(&buf, FERRY_POLICY_MAX_FILE);
    if ((r = ferry_read_file(path, &buf, err)) < 0) {
        ferry_error_wrap(err, "policy");
        goto out;
    }
    slash = strrchr(path, '/');
    if (slash == NULL)
        dir = ferry_strdup(".");
    else
        dir = ferry_strndup(path, slash == path ? 1 : (size_t)(slash - path));
    if (dir == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "policy %s: out of memory", path);
        goto out;
    }
    r = ferry_policy_parse(buf.data, buf.len, dir, path, out, err);
out:
    ferry_free(dir);
    ferry_buf_free(&buf);
    return r;
}
