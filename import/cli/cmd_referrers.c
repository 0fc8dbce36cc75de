/* ferry-import referrers HOST/REPO@DIGEST: what a registry holds for a digest,
 * through the referrers API or the fallback tag: the operator's check after
 * an import. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "import_cmds.h"
#include "ferry/layout.h"
#include "ferry/limits.h"
#include "ferry/manifest.h"
#include "ferry/reference.h"
#include "ferry/registry.h"
#include "ferry/statement.h"

static const char usage[] =
    "usage: ferry-import referrers [options] HOST[:PORT]/REPO@DIGEST\n"
    "\n"
    "List the referrers (signatures, SBOMs, attestations) a registry holds for a\n"
    "manifest: through the referrers API when the registry has it, else through\n"
    "the sha256-<hex> fallback tag.\n"
    "  --json                print the referrers index as JSON on stdout\n"
    "  --artifact-type TYPE  only referrers of this artifactType\n" CLI_REGISTRY_HELP;

enum { OPT_ARTIFACT_TYPE = CLI_OPT_FIRST_FREE };

/* The index as JSON on stdout: as it came, or with only the entries of
 * artifact_type when the registry did not filter. */
static int
print_json(const char *body, size_t len, const char *artifact_type, const char *what,
           struct ferry_error **err)
{
    struct ferry_referrers_index *x = NULL;
    char *text = NULL;
    size_t n = 0;
    int r;

    if (artifact_type == NULL) {
        fwrite(body, 1, len, stdout);
        putchar('\n');
        return 0;
    }
    if ((r = ferry_referrers_index_parse(body, len, what, &x, err)) < 0 ||
        (r = ferry_referrers_index_keep_type(x, artifact_type, err)) < 0 ||
        (r = ferry_referrers_index_serialize(x, &text, &n, err)) < 0)
        goto out;
    puts(text);
out:
    ferry_free(text);
    ferry_referrers_index_free(x);
    return r;
}

int
cmd_referrers(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, CLI_OPT_JSON},
        {"artifact-type", required_argument, NULL, OPT_ARTIFACT_TYPE},
        {"help", no_argument, NULL, 'h'},
        CLI_REGISTRY_LONGOPTS,
        {NULL, 0, NULL, 0},
    };
    static const char none[] = "{\"schemaVersion\":2,\"manifests\":[]}";
    struct cli_reg cr;
    struct ferry_ref *ref = NULL;
    struct ferry_registry *reg = NULL;
    struct ferry_manifest *idx = NULL;
    struct ferry_referrers rs = {0};
    struct ferry_referrers_query q = {0};
    struct ferry_error *err = NULL;
    const char *body;
    size_t len;
    bool json = false;
    char sz[32], n1[48], at[256];
    size_t i, shown = 0;
    int c, r;

    memset(&cr, 0, sizeof cr);
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (cli_reg_option(&cr, c, optarg))
            continue;
        switch (c) {
        case CLI_OPT_JSON:
            json = true;
            break;
        case OPT_ARTIFACT_TYPE:
            q.artifact_type = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            return cli_bad_option("h", argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage("referrers takes exactly one HOST/REPO@DIGEST");
    cli_setup(false);
    if ((r = cli_reg_finish(&cr)) != 0)
        return r;
    if ((r = ferry_ref_parse(argv[optind], false, &ref, &err)) < 0)
        goto out;
    if (ref->digest == NULL) {
        r = ferry_error_new(&err, FERRY_E_USAGE, "%s: give the subject by digest (REPO@sha256:...)",
                            argv[optind]);
        goto out;
    }
    if ((r = ferry_registry_new(ref->api_host, &cr.o, &reg, &err)) < 0)
        goto out;
    if ((r = ferry_registry_list_referrers(reg, ref->repository, ref->digest, &q, &rs, &err)) < 0)
        goto out;
    /* no fallback tag: no referrers */
    body = rs.via == FERRY_REFERRERS_VIA_TAG && !rs.found ? none : rs.index.data;
    len = body == none ? sizeof none - 1 : rs.index.len;
    if ((r = ferry_manifest_parse(body, len, NULL, argv[optind], &idx, &err)) < 0)
        goto out;
    if (idx->kind != FERRY_KIND_INDEX) {
        r = ferry_error_new(&err, FERRY_E_INVALID, "%s: the referrers answer is not an index",
                            argv[optind]);
        goto out;
    }
    if (json) {
        r = print_json(body, len, rs.filtered ? NULL : q.artifact_type, argv[optind], &err);
        goto out;
    }
    printf("referrers of %s/%s@%s (via %s%s%s)\n", ref->registry, ref->repository, ref->digest,
           rs.via == FERRY_REFERRERS_VIA_API ? "referrers API" : "fallback tag", rs.tag ? " " : "",
           rs.tag ? rs.tag : "");
    for (i = 0; i < idx->nmanifests; i++) {
        const struct ferry_descriptor *d = &idx->manifests[i];
        if (q.artifact_type && !rs.filtered &&
            (!d->artifact_type || strcmp(d->artifact_type, q.artifact_type) != 0))
            continue;
        printf("  %-45s %s  %s\n",
               d->artifact_type
                   ? ferry_quote(at, sizeof at, d->artifact_type, strlen(d->artifact_type))
                   : "(no artifactType)",
               d->digest, cli_size(sz, sizeof sz, (unsigned long long)d->size));
        shown++;
    }
    printf("%s\n", cli_count(n1, sizeof n1, shown, "referrer"));
out:
    ferry_manifest_free(idx);
    ferry_referrers_clear(&rs);
    ferry_registry_free(reg);
    ferry_ref_free(ref);
    cli_reg_clear(&cr);
    return r < 0 ? cli_fail(err) : 0;
}
