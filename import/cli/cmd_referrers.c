/* ferry-import referrers HOST/REPO@DIGEST: what a registry holds for a digest,
 * through the referrers API or the fallback tag: the operator's check after
 * an import. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cmds.h"
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
    struct cli_reg cr;
    struct ferry_ref *ref = NULL;
    struct ferry_registry *reg = NULL;
    struct ferry_manifest *idx = NULL;
    struct ferry_manifest_info info = {0};
    struct ferry_error *err = NULL;
    struct ferry_buf body;
    const char *atype = NULL, *via = "referrers API";
    bool json = false, filtered = false;
    char *tag = NULL, sz[32];
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
            atype = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            return cli_usage("invalid option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage("referrers takes exactly one HOST/REPO@DIGEST");
    cli_setup(false);
    if ((r = cli_reg_finish(&cr)) != 0)
        return r;
    ferry_buf_init(&body, FERRY_MAX_MANIFEST);
    if ((r = ferry_ref_parse(argv[optind], false, &ref, &err)) < 0)
        goto out;
    if (ref->digest == NULL) {
        r = ferry_error_new(&err, FERRY_E_USAGE, "%s: give the subject by digest (REPO@sha256:...)",
                            argv[optind]);
        goto out;
    }
    if ((r = ferry_registry_new(ref->api_host, &cr.o, &reg, &err)) < 0)
        goto out;
    r = ferry_registry_get_referrers(reg, ref->repository, ref->digest, atype, &body, &filtered,
                                     &err);
    if (r == 0) {
        if ((tag = ferry_layout_referrers_tag(ref->digest)) == NULL) {
            r = ferry_error_new(&err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        via = "fallback tag";
        ferry_buf_reset(&body);
        r = ferry_registry_get_manifest(reg, ref->repository, tag, &body, &info, &err);
        if (r == -FERRY_E_NOT_FOUND) {
            ferry_error_clear(&err);
            ferry_buf_reset(&body);
            r = ferry_buf_append(&body, "{\"schemaVersion\":2,\"manifests\":[]}", 34, &err);
        }
    }
    if (r < 0)
        goto out;
    if ((r = ferry_manifest_parse(body.data, body.len, NULL, argv[optind], &idx, &err)) < 0)
        goto out;
    if (idx->kind != FERRY_KIND_INDEX) {
        r = ferry_error_new(&err, FERRY_E_INVALID, "%s: the referrers answer is not an index",
                            argv[optind]);
        goto out;
    }
    if (json && atype && !filtered) {
        /* the registry did not filter: filter the index before printing it */
        json_error_t jerr;
        json_t *root = json_loadb(body.data, body.len, 0, &jerr), *arr, *keep = json_array();
        char *text = NULL;
        arr = json_object_get(root, "manifests");
        for (i = 0; i < json_array_size(arr); i++) {
            const char *t =
                json_string_value(json_object_get(json_array_get(arr, i), "artifactType"));
            if (t && strcmp(t, atype) == 0)
                json_array_append(keep, json_array_get(arr, i));
        }
        json_object_set_new(root, "manifests", keep);
        text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (text)
            puts(text);
        free(text);
        json_decref(root);
    } else if (json) {
        fwrite(body.data, 1, body.len, stdout);
        putchar('\n');
    } else {
        printf("referrers of %s/%s@%s (via %s%s%s)\n", ref->registry, ref->repository, ref->digest,
               via, tag ? " " : "", tag ? tag : "");
        for (i = 0; i < idx->nmanifests; i++) {
            const struct ferry_descriptor *d = &idx->manifests[i];
            if (atype && !filtered && (!d->artifact_type || strcmp(d->artifact_type, atype) != 0))
                continue;
            printf("  %-45s %s  %s\n", d->artifact_type ? d->artifact_type : "(no artifactType)",
                   d->digest, cli_size(sz, sizeof sz, (unsigned long long)d->size));
            shown++;
        }
        printf("%zu referrers\n", shown);
    }
out:
    ferry_manifest_free(idx);
    ferry_manifest_info_clear(&info);
    ferry_buf_free(&body);
    ferry_free(tag);
    ferry_registry_free(reg);
    ferry_ref_free(ref);
    cli_reg_clear(&cr);
    return r < 0 ? cli_fail(err) : 0;
}
