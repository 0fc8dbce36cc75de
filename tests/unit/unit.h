/* ferry unit tests: cmocka plus a case filter so ctest runs one case each. */
#ifndef FERRY_UNIT_H
#define FERRY_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ferry/error.h"
#include "util_int.h" /* the allocator's test hooks */

/* Set by FERRY_SKIP so main() can return 77 (ctest SKIP_RETURN_CODE). */
extern int ferry_test_skipped;
#define FERRY_SKIP(why)                                                                            \
    do {                                                                                           \
        print_message("skip: %s\n", why);                                                          \
        ferry_test_skipped = 1;                                                                    \
        skip();                                                                                    \
    } while (0)

/* Assert a ferry call succeeded; on failure print the error text. */
#define FERRY_ASSERT_OK(call, errp)                                                                \
    do {                                                                                           \
        int r_ = (call);                                                                           \
        if (r_ < 0)                                                                                \
            fail_msg("%s failed: %s", #call, *(errp) ? (*(errp))->msg : "(no error set)");         \
    } while (0)

/* Each test file defines this and uses FERRY_UNIT_MAIN(tests). */
int ferry_unit_run(const struct CMUnitTest *tests, size_t n, const char *group, int argc,
                   char **argv);
#define FERRY_UNIT_MAIN(tests)                                                                     \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        return ferry_unit_run(tests, sizeof(tests) / sizeof(tests[0]), __FILE__, argc, argv);      \
    }

/* Fill p with n pseudo-random (incompressible) bytes, the same for a seed. */
void ferry_test_fill(unsigned char *p, size_t n, uint64_t seed);

/* Path to ../shared/reference/<rel> if shared/ is present, else NULL (skip). */
const char *ferry_test_shared(const char *rel);

#endif
