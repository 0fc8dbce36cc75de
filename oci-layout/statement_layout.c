/* ferry: the layout a statement describes: which index.json entries and
 * referrers fallback indexes a bundle carries for its images and referrers,
 * and the check of a verified layout against the signed statement. The
 * layout's own rules are layout.c's. */
#include <string.h>

#include <jansson.h>

#include "ferry/digest.h"
#include "ferry/layout.h"
#include "ferry/manifest.h"
#include "ferry/statement.h"
#include "ferry/util.h"

void
ferry_stmt_fallbacks_free(struct ferry_stmt_fallback *fb, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ferry_free(fb[i].subject);
        ferry_free(fb[i].tag);
        ferry_free(fb[i].digest);
        ferry_free(fb[i].data);
    }
    ferry_free(fb);
}

static json_t *
referrer_descriptor(const struct ferry_stmt_referrer *rf)
{
    return ferry_layout_referrer_descriptor(rf->media_type, rf->digest, rf->size, rf->artifact_type,
                                            rf->annotations);
}

/* The fallback index of the subject of s->referrers[first], its first referrer. */
static int
fallback_of(const struct ferry_statement *s, size_t first, struct ferry_stmt_fallback *fb,
            struct ferry_error **err)
{
    const char *subject = s->referrers[first].subject;
    struct ferry_referrers_index *x = ferry_referrers_index_new();
    struct ferry_digest d;
    int r = 0;

    if (x == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    for (size_t j = first; j < s->nreferrers && r >= 0; j++)
        if (s->referrers[j].tag == NULL && strcmp(s->referrers[j].subject, subject) == 0)
            r = ferry_referrers_index_add(x, referrer_descriptor(&s->referrers[j]), err);
    if (r >= 0)
        r = ferry_referrers_index_serialize(x, &fb->data, &fb->len, err);
    ferry_referrers_index_free(x);
    if (r < 0)
        return r;
    ferry_digest_buffer(FERRY_DIGEST_SHA256, fb->data, fb->len, &d);
    if ((fb->subject = ferry_strdup(subject)) == NULL ||
        (fb->tag = ferry_layout_referrers_tag(subject)) == NULL ||
        (fb->digest = ferry_strdup(d.str)) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    return 0;
}

int
ferry_statement_layout_fallbacks(const struct ferry_statement *s, struct ferry_stmt_fallback **out,
                                 size_t *nout, struct ferry_error **err)
{
    struct ferry_stmt_fallback *fb = NULL;
    struct ferry_strmap *subjects = ferry_strmap_new();
    size_t n = 0;
    int r = 0;

    if (subjects == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    for (size_t i = 0; i < s->nreferrers && r >= 0; i++) {
        struct ferry_stmt_fallback *nf;
        if (s->referrers[i].tag != NULL)
            continue; /* an attachment is found by its own tag */
        if ((r = ferry_strmap_put(subjects, s->referrers[i].subject, (void *)1)) <= 0) {
            if (r < 0)
                r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            continue; /* 0: this subject has its index already */
        }
        if ((nf = ferry_realloc(fb, (n + 1) * sizeof *nf)) == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            break;
        }
        fb = nf;
        memset(&fb[n], 0, sizeof fb[n]);
        r = fallback_of(s, i, &fb[n++], err);
    }
    ferry_strmap_free(subjects);
    if (r < 0) {
        ferry_stmt_fallbacks_free(fb, n);
        return r;
    }
    *out = fb;
    *nout = n;
    return 0;
}

int
ferry_statement_layout_index(const struct ferry_statement *s, const struct ferry_stmt_fallback *fb,
                             size_t nfb, char **out, size_t *len, struct ferry_error **err)
{
    struct ferry_layout_index *x = ferry_layout_index_new();
    struct ferry_strmap *tags = NULL;
    size_t i;
    int r = 0;

    if (x == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    /* ref.name = "repo:tag" (or "repo@digest"), which skopeo and oras read */
    for (i = 0; i < s->nimages && r >= 0; i++) {
        const struct ferry_stmt_image *im = &s->images[i];
        char *name = im->tag ? ferry_asprintf("%s:%s", im->repository, im->tag)
                             : ferry_asprintf("%s@%s", im->repository, im->digest);
        if (name == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            break;
        }
        r = ferry_layout_index_add_tagged(x, im->media_type, im->digest, im->size, name, im->source,
                                          err);
        ferry_free(name);
    }
    /* referrers untagged (oras walks index.json and reads their subject)... */
    for (i = 0; i < s->nreferrers && r >= 0; i++)
        if (s->referrers[i].tag == NULL)
            r = ferry_layout_index_add_untagged(x, referrer_descriptor(&s->referrers[i]), err);
    /* ...cosign's attachments by their tag, each once (two images may share
     * the manifest they are attached to)... */
    for (i = 0; i < s->nreferrers && r >= 0; i++) {
        const struct ferry_stmt_referrer *rf = &s->referrers[i];
        if (rf->tag == NULL)
            continue;
        if (tags == NULL && (tags = ferry_strmap_new()) == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            break;
        }
        if ((r = ferry_strmap_put(tags, rf->tag, (void *)1)) < 0) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            break;
        }
        if (r == 1)
            r = ferry_layout_index_add_tagged(x, rf->media_type, rf->digest, rf->size, rf->tag,
                                              NULL, err);
    }
    ferry_strmap_free(tags);
    /* ...and as fallback tag indexes (regclient reads those) */
    for (i = 0; i < nfb && r >= 0; i++)
        r = ferry_layout_index_add_tagged(x, FERRY_MT_OCI_INDEX, fb[i].digest, (int64_t)fb[i].len,
                                          fb[i].tag, NULL, err);
    if (r >= 0)
        r = ferry_layout_index_serialize(x, out, len, err);
    ferry_layout_index_free(x);
    return r < 0 ? r : 0;
}

int
ferry_statement_layout_check(const struct ferry_statement *s, struct ferry_layout *l,
                             struct ferry_error **err)
{
    size_t i;
    int r;

    for (i = 0; i < s->nimages; i++) {
        const struct ferry_stmt_image *im = &s->images[i];
        if (!ferry_layout_index_has(l, im->digest))
            return ferry_error_new(err, FERRY_E_BUNDLE, "image %s (%s) is not in index.json",
                                   im->source, im->digest);
        if (ferry_layout_get_manifest(l, im->digest) == NULL)
            return ferry_error_new(err, FERRY_E_BUNDLE,
                                   "image %s: manifest %s is not in the bundle", im->source,
                                   im->digest);
    }
    for (i = 0; i < s->nreferrers; i++) {
        const struct ferry_stmt_referrer *rf = &s->referrers[i];
        struct ferry_descriptor d = {0};
        struct ferry_layout_manifest *lm;
        d.media_type = rf->media_type;
        d.digest = rf->digest;
        d.size = rf->size;
        if (!ferry_media_type_is_manifest(rf->media_type) &&
            !ferry_media_type_is_index(rf->media_type))
            return ferry_error_new(err, FERRY_E_BUNDLE, "referrer %s has media type %s", rf->digest,
                                   rf->media_type);
        if ((r = ferry_layout_check_graph(l, &d, "ferry.json referrers", err)) < 0)
            return ferry_error_wrap(err, "referrer %s", rf->digest);
        if (ferry_layout_get_manifest(l, rf->subject) == NULL)
            return ferry_error_new(err, FERRY_E_BUNDLE,
                                   "referrer %s: its subject %s is not a manifest of the bundle",
                                   rf->digest, rf->subject);
        lm = ferry_layout_get_manifest(l, rf->digest);
        if (rf->tag != NULL)
            continue; /* an attachment names its subject by its tag */
        if (lm->m->subject == NULL || strcmp(lm->m->subject->digest, rf->subject) != 0)
            return ferry_error_new(
                err, FERRY_E_BUNDLE,
                "referrer %s: the manifest's subject is %s, the statement says %s", rf->digest,
                lm->m->subject ? lm->m->subject->digest : "none", rf->subject);
    }
    return 0;
}
