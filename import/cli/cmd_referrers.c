/* ferry-import referrers [--platform P] [--tree] HOST/REPO:TAG|@DIGEST: what a
 * registry holds for an image, through the referrers API or the fallback tag:
 * the operator's check after an import, as the DHI mirroring guide's
 * `regctl manifest head REF --platform P` then `regctl artifact list
 * REF@DIGEST` (or `artifact tree`), in one command. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "import_cmds.h"
#include "ferry/layout.h"
#include "ferry/limits.h"
#include "ferry/manifest.h"
#include "ferry/reference.h"
#include "ferry/registry.h"

static const char usage[] =
    "usage: ferry-import referrers [options] HOST[:PORT]/REPO[:TAG|@DIGEST]\n"
    "\n"
    "List the referrers (signatures, SBOMs, attestations) a registry holds for an\n"
    "image: through the referrers API when the registry has it, else through the\n"
    "sha256-<hex> fallback tag (the output says which). A tag is resolved first.\n"
    "  --platform OS/ARCH[/VARIANT]  the manifest of this platform of an index\n"
    "  --tree                referrers of referrers too (a signature on an SBOM)\n"
    "  --json                machine-readable output on stdout\n"
    "  --artifact-type TYPE  only referrers of this artifactType (the first level)\n"
    "  -q, --quiet           only errors\n"
    "  -v, --verbose         more detail (twice for debug)\n" CLI_REGISTRY_HELP;

enum {
    OPT_ARTIFACT_TYPE = CLI_OPT_FIRST_FREE,
    OPT_PLATFORM,
    OPT_TREE,
};

struct walk {
    struct ferry_registry *reg;
    const char *registry; /* as the user named it, for the header */
    const char *repo;
    const char *artifact_type; /* the first level's filter, or NULL */
    bool tree, json;
    struct ferry_strmap *seen; /* digests listed: each once, however linked */
    size_t shown;
    const char *via; /* of the first lookup */
    char *tag;       /* the fallback tag of the first lookup, or NULL */
};

static const char *
via_name(enum ferry_referrers_via via)
{
    return via == FERRY_REFERRERS_VIA_API ? "referrers API" : "fallback tag";
}

/* Is d listed, given the artifact type asked for and whether the registry
 * applied it already? */
static bool
shown(const struct ferry_referrers_query *q, const struct ferry_referrers *rs,
      const struct ferry_descriptor *d)
{
    return q->artifact_type == NULL || rs->filtered ||
           (d->artifact_type != NULL && strcmp(d->artifact_type, q->artifact_type) == 0);
}

/* The referrers of subject: printed as a tree under indent, or appended to
 * out (JSON); recursively with --tree, each digest once. */
static int
walk_level(struct walk *w, const char *subject, const char *indent, int depth, json_t *out,
           struct ferry_error **err)
{
    static const char none[] = "{\"schemaVersion\":2,\"manifests\":[]}";
    struct ferry_referrers_query q = {0};
    struct ferry_referrers rs = {0};
    struct ferry_manifest *idx = NULL;
    const char *body;
    size_t len, i, last = SIZE_MAX;
    int r;

    q.artifact_type = depth == 0 ? w->artifact_type : NULL;
    if ((r = ferry_registry_list_referrers(w->reg, w->repo, subject, &q, &rs, err)) < 0)
        return ferry_error_wrap(err, "referrers of %s", subject);
    if (depth == 0) {
        w->via = via_name(rs.via);
        if (rs.tag != NULL && (w->tag = ferry_strdup(rs.tag)) == NULL) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        if (!w->json)
            printf("referrers of %s/%s@%s (via %s%s%s)\n", w->registry, w->repo, subject, w->via,
                   rs.tag ? " " : "", rs.tag ? rs.tag : "");
    }
    body = rs.via == FERRY_REFERRERS_VIA_TAG && !rs.found ? none : rs.index.data;
    len = body == none ? sizeof none - 1 : rs.index.len;
    if ((r = ferry_manifest_parse(body, len, NULL, subject, &idx, err)) < 0)
        goto out;
    if (idx->kind != FERRY_KIND_INDEX) {
        r = ferry_error_new(err, FERRY_E_INVALID, "referrers of %s: the answer is not an index",
                            subject);
        goto out;
    }
    for (i = 0; i < idx->nmanifests; i++) {
        const struct ferry_descriptor *d = &idx->manifests[i];
        if (!shown(&q, &rs, d))
            continue;
        if (ferry_strmap_get(w->seen, d->digest) == NULL)
            last = i;
    }
    for (i = 0; i < idx->nmanifests && r >= 0; i++) {
        const struct ferry_descriptor *d = &idx->manifests[i];
        char sz[32], at[256], next[256];
        json_t *o = NULL, *kids = NULL;
        bool recurse;
        if (!shown(&q, &rs, d))
            continue;
        if ((r = ferry_strmap_put(w->seen, d->digest, (void *)1)) <= 0) {
            r = r < 0 ? ferry_error_new(err, FERRY_E_NOMEM, "out of memory") : 0;
            continue; /* listed already: a registry may link a digest twice */
        }
        r = 0;
        w->shown++;
        recurse = w->tree && depth + 1 < FERRY_MAX_REFERRER_DEPTH &&
                  (ferry_media_type_is_manifest(d->media_type) ||
                   ferry_media_type_is_index(d->media_type));
        if (w->json) {
            o = json_pack("{s:s, s:s, s:I}", "mediaType", d->media_type, "digest", d->digest,
                          "size", (json_int_t)d->size);
            if (o == NULL) {
                r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
                break;
            }
            if (d->artifact_type)
                json_object_set_new(o, "artifactType", json_string(d->artifact_type));
            if (d->annotations)
                json_object_set(o, "annotations", d->annotations);
            if (w->tree) {
                kids = json_array();
                json_object_set_new(o, "referrers", kids);
            }
            json_array_append_new(out, o);
        } else {
            printf("%s%s %s  %s  %s\n", indent, w->tree ? (i == last ? "└──" : "├──") : " ",
                   d->artifact_type
                       ? ferry_quote(at, sizeof at, d->artifact_type, strlen(d->artifact_type))
                       : "(no artifactType)",
                   d->digest, cli_size(sz, sizeof sz, (unsigned long long)d->size));
        }
        if (recurse && snprintf(next, sizeof next, "%s%s", indent, i == last ? "    " : "│   ") <
                           (int)sizeof next)
            r = walk_level(w, d->digest, next, depth + 1, kids, err);
    }
out:
    ferry_manifest_free(idx);
    ferry_referrers_clear(&rs);
    return r;
}

/* The manifest ref names, and with a platform the one of that platform in an
 * index: *digest (ferry_free) is what referrers are listed for. */
static int
resolve(struct ferry_registry *reg, const struct ferry_ref *ref, const char *platform,
        char **digest, char **found_platform, struct ferry_error **err)
{
    struct ferry_manifest_info info = {0};
    struct ferry_manifest *m = NULL;
    struct ferry_buf body;
    const char *want = ref->digest ? ref->digest : ref->tag;
    char q[256];
    int r;

    ferry_buf_init(&body, FERRY_MAX_MANIFEST);
    if (platform == NULL && ref->digest != NULL) {
        *digest = ferry_strdup(ref->digest);
        return *digest ? 0 : ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    if ((r = ferry_registry_get_manifest(reg, ref->repository, want, &body, &info, err)) < 0)
        goto out;
    if (platform == NULL) {
        *digest = ferry_strdup(info.digest);
        r = *digest ? 0 : ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    if ((r = ferry_manifest_parse(body.data, body.len, info.media_type, want, &m, err)) < 0)
        goto out;
    if (m->kind != FERRY_KIND_INDEX) {
        r = ferry_error_new(err, FERRY_E_USAGE,
                            "%s/%s:%s is a single-platform image, not an index: give it without "
                            "--platform",
                            ref->registry, ref->repository, want);
        goto out;
    }
    {
        size_t hit = SIZE_MAX, nhits = 0;
        for (size_t i = 0; i < m->nmanifests; i++)
            if (ferry_platform_match(m->manifests[i].platform, platform) &&
                (hit == SIZE_MAX ||
                 strcmp(m->manifests[i].platform, m->manifests[hit].platform) != 0)) {
                nhits++;
                if (hit == SIZE_MAX)
                    hit = i;
            }
        if (nhits > 1) {
            r = ferry_error_new(err, FERRY_E_USAGE,
                                "--platform %s matches several platforms of %s/%s:%s: give the "
                                "variant too (OS/ARCH/VARIANT)",
                                platform, ref->registry, ref->repository, want);
            goto out;
        }
        if (hit != SIZE_MAX) {
            *digest = ferry_strdup(m->manifests[hit].digest);
            *found_platform = ferry_strdup(m->manifests[hit].platform);
            r = *digest && *found_platform ? 0
                                           : ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
    }
    {
        struct ferry_buf have;
        ferry_buf_init(&have, 4096);
        for (size_t i = 0; i < m->nmanifests; i++)
            if (m->manifests[i].platform != NULL)
                ferry_buf_appendf(&have, NULL, "%s%s", have.len ? ", " : "",
                                  ferry_quote(q, sizeof q, m->manifests[i].platform,
                                              strlen(m->manifests[i].platform)));
        r = ferry_error_new(err, FERRY_E_NOT_FOUND, "%s/%s:%s has no platform %s (it has %s)",
                            ref->registry, ref->repository, want, platform,
                            have.len ? have.data : "none named");
        ferry_buf_free(&have);
    }
out:
    ferry_manifest_free(m);
    ferry_manifest_info_clear(&info);
    ferry_buf_free(&body);
    return r;
}

int
cmd_referrers(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, CLI_OPT_JSON},
        {"artifact-type", required_argument, NULL, OPT_ARTIFACT_TYPE},
        {"platform", required_argument, NULL, OPT_PLATFORM},
        {"tree", no_argument, NULL, OPT_TREE},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        CLI_REGISTRY_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    struct cli_reg cr;
    struct walk w = {0};
    struct ferry_ref *ref = NULL;
    struct ferry_error *err = NULL;
    const char *platform = NULL;
    char *digest = NULL, *found_platform = NULL, n1[48];
    json_t *root = NULL, *list = NULL;
    int c, r;

    memset(&cr, 0, sizeof cr);
    while ((c = getopt_long(argc, argv, "qvh", longopts, NULL)) != -1) {
        if (cli_reg_option(&cr, c, optarg))
            continue;
        switch (c) {
        case CLI_OPT_JSON:
            w.json = true;
            break;
        case OPT_ARTIFACT_TYPE:
            w.artifact_type = optarg;
            break;
        case OPT_PLATFORM:
            platform = optarg;
            break;
        case OPT_TREE:
            w.tree = true;
            break;
        case 'q':
            cli_verbosity = 0;
            break;
        case 'v':
            cli_verbosity++;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            return cli_bad_option("qvh", argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage("referrers takes exactly one HOST/REPO:TAG or HOST/REPO@DIGEST");
    if (platform != NULL) {
        const char *s1 = strchr(platform, '/');
        const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
        if (s1 == NULL || s1 == platform || s1[1] == '\0' || s1[1] == '/' ||
            (s2 != NULL && (s2[1] == '\0' || strchr(s2 + 1, '/') != NULL)))
            return cli_usage("--platform %s: give OS/ARCH or OS/ARCH/VARIANT (linux/amd64)",
                             platform);
    }
    cli_setup(false);
    if ((r = cli_reg_finish(&cr)) != 0)
        return r;
    if (ferry_ref_parse(argv[optind], true, &ref, &err) < 0) {
        char q[256];
        ferry_error_clear(&err);
        cli_reg_clear(&cr);
        return cli_usage("reference \"%s\" is not valid: give HOST[:PORT]/REPO:TAG or "
                         "HOST[:PORT]/REPO@sha256:HEX",
                         ferry_quote(q, sizeof q, argv[optind], strlen(argv[optind])));
    }
    w.repo = ref->repository;
    if ((w.seen = ferry_strmap_new()) == NULL) {
        r = ferry_error_new(&err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    if ((r = ferry_registry_new(ref->api_host, &cr.o, &w.reg, &err)) < 0 ||
        (r = resolve(w.reg, ref, platform, &digest, &found_platform, &err)) < 0)
        goto out;
    if (w.json && ((root = json_object()) == NULL || (list = json_array()) == NULL)) {
        r = ferry_error_new(&err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    /* how a tag or a platform resolved, as regctl manifest head shows it */
    if (!w.json && (ref->digest == NULL || found_platform != NULL)) {
        char pq[256]; /* the registry's platform text */
        printf("%s/%s%s%s -> %s%s%s\n", ref->registry, ref->repository, ref->digest ? "@" : ":",
               ref->digest ? ref->digest : ref->tag, digest, found_platform ? " " : "",
               found_platform ? ferry_quote(pq, sizeof pq, found_platform, strlen(found_platform))
                              : "");
    }
    w.registry = ref->registry;
    if ((r = walk_level(&w, digest, "  ", 0, list, &err)) < 0)
        goto out;
    if (w.json) {
        char *text;
        json_object_set_new(root, "reference", json_string(argv[optind]));
        json_object_set_new(root, "registry", json_string(ref->registry));
        json_object_set_new(root, "repository", json_string(ref->repository));
        json_object_set_new(root, "digest", json_string(digest));
        json_object_set_new(root, "platform",
                            found_platform ? json_string(found_platform) : json_null());
        json_object_set_new(root, "via", json_string(w.via));
        json_object_set_new(root, "fallbackTag", w.tag ? json_string(w.tag) : json_null());
        json_object_set_new(root, "schemaVersion", json_integer(2));
        json_object_set_new(root, "mediaType", json_string(FERRY_MT_OCI_INDEX));
        json_object_set(root, "manifests", list);
        text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text == NULL) {
            r = ferry_error_new(&err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        puts(text);
        free(text);
    } else {
        printf("%s\n", cli_count(n1, sizeof n1, w.shown, "referrer"));
    }
out:
    json_decref(root);
    json_decref(list);
    ferry_free(w.tag);
    ferry_strmap_free(w.seen);
    ferry_registry_free(w.reg);
    ferry_free(digest);
    ferry_free(found_platform);
    ferry_ref_free(ref);
    cli_reg_clear(&cr);
    return r < 0 ? cli_fail(err) : 0;
}
