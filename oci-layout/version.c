/* ferry: the versions of the libraries the core runs with (ferry-export
 * --version, ferry-import --version): what was loaded, not what was built
 * against, where the library can say. */
#include <stdio.h>

#include <archive.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <sodium.h>
#include <zstd.h>

#include "ferry/util.h"

const char *
ferry_core_versions(void)
{
    static char buf[256];

    snprintf(buf, sizeof buf, "%s, libzstd %s, jansson %s, libsodium %s, %s",
             archive_version_string(), ZSTD_versionString(), jansson_version_str(),
             sodium_version_string(), OpenSSL_version(OPENSSL_VERSION));
    return buf;
}
