/* Fuzz ferry.json parsing and the serialise/parse round trip. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/statement.h"
#include "ferry/util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ferry_statement *s = NULL, *s2 = NULL;
    struct ferry_error *err = NULL;
    char *text = NULL;
    size_t len;

    if (ferry_statement_parse(data, size, &s, &err) == 0) {
        if (ferry_statement_serialize(s, &text, &len, &err) == 0) {
            if (ferry_statement_parse(text, len, &s2, &err) != 0)
                abort(); /* what we write we must read */
            if (s2->nmembers != s->nmembers || s2->nimages != s->nimages)
                abort();
            ferry_statement_free(s2);
            ferry_free(text);
        }
        ferry_statement_free(s);
    }
    ferry_error_clear(&err);
    return 0;
}
