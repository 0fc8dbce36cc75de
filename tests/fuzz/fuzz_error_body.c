/* Fuzz reg_error_summary, which turns a registry error body
 * ({"errors":[{"code","message","detail"}]} or plain text) into the text of
 * an error message.
 *
 * Checked: the summary is at most REG_ERROR_SUMMARY_MAX printable ASCII
 * characters without control bytes, doubled or trailing blanks; the first
 * code is a proper string; asking for the code does not change the summary. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/util.h"
#include "registry_int.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *code = NULL;
    char *sum = reg_error_summary((const char *)data, size, &code);
    char *sum2 = reg_error_summary((const char *)data, size, NULL);
    size_t n;

    if (sum == NULL || sum2 == NULL || strcmp(sum, sum2) != 0)
        abort();
    n = strlen(sum);
    if (n > REG_ERROR_SUMMARY_MAX)
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)sum[i];
        if (c < 0x20 || c > 0x7e)
            abort();
        if (c == ' ' && (i + 1 == n || sum[i + 1] == ' '))
            abort();
    }
    if (size == 0 && (n != 0 || code != NULL))
        abort();
    if (code != NULL)
        (void)strlen(code); /* a proper string (ASan checks the read) */
    ferry_free(code);
    ferry_free(sum);
    ferry_free(sum2);
    return 0;
}
