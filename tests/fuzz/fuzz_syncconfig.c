/* Fuzz the sync config parser (YAML, keys, templates, patterns) and tag
 * selection on whatever it accepts. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/syncconfig.h"
#include "ferry/util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const tags[] = {
        "latest",
        "1.0",
        "1.1",
        "3.12-alpine3.20",
        "24.1.0-debian12",
        "v2",
        "A_b-C.d",
        "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"};
    struct ferry_sync_config *cfg = NULL;
    struct ferry_error *err = NULL;

    /* {{file}} reads what it names: keep the fuzzer off devices and pipes */
    if (fuzz_names_device(data, size))
        return 0;
    if (ferry_sync_config_parse("fuzz.yaml", data, size, &cfg, &err) == 0) {
        if (cfg->nentries == 0)
            abort();
        for (size_t i = 0; i < cfg->nentries; i++) {
            const struct ferry_sync_entry *e = &cfg->entries[i];
            char **out = NULL;
            size_t n = 0;
            if (e->source == NULL || e->target == NULL)
                abort();
            if (ferry_sync_select_tags(e, tags, sizeof tags / sizeof tags[0], &out, &n, &err) ==
                0) {
                for (size_t j = 0; j < n; j++)
                    if (ferry_sync_is_digest_tag(out[j]) ||
                        (j > 0 && strcmp(out[j - 1], out[j]) >= 0))
                        abort(); /* digest tags never, sorted and unique always */
                ferry_strv_free(out, n);
            }
            ferry_error_clear(&err);
        }
        for (size_t i = 0; i < cfg->nnotices; i++)
            if (strchr(cfg->notices[i], '\n') != NULL)
                abort();
        (void)ferry_sync_config_creds(cfg, "docker.io");
        ferry_sync_config_free(cfg);
    } else if (err == NULL || strchr(err->msg, '\n') != NULL) {
        abort();
    }
    ferry_error_free(err);
    return 0;
}
