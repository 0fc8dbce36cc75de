/* Fuzz the manifest/index parser; the first byte picks the media type hint. */
#include "fuzz.h"
#include "ferry/manifest.h"
#include "ferry/util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *hints[] = {NULL, FERRY_MT_OCI_INDEX, FERRY_MT_OCI_MANIFEST,
                                  FERRY_MT_DOCKER_LIST, FERRY_MT_DOCKER_MANIFEST};
    struct ferry_manifest *m = NULL;
    struct ferry_error *err = NULL;
    char *plat = NULL;

    if (size < 1)
        return 0;
    if (ferry_manifest_parse(data + 1, size - 1, hints[data[0] % 5], "fuzz", &m, &err) == 0)
        ferry_manifest_free(m);
    ferry_error_clear(&err);
    if (ferry_config_platform(data + 1, size - 1, "fuzz", &plat, &err) == 0)
        ferry_free(plat);
    ferry_error_clear(&err);
    return 0;
}
