#ifndef FERRY_FUZZ_H
#define FERRY_FUZZ_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether data names /dev/, /proc/ or /sys/: inputs that reach {{file}} must
 * not make the fuzzer read a device or a pseudo file. */
static inline bool
fuzz_names_device(const uint8_t *data, size_t size)
{
    static const char *const dirs[] = {"/dev/", "/proc/", "/sys/"};

    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        size_t n = strlen(dirs[d]);
        for (size_t i = 0; i + n <= size; i++)
            if (memcmp(data + i, dirs[d], n) == 0)
                return true;
    }
    return false;
}
#endif
