/* ferry core: strict JSON field reading shared by the core's formats. */
#include <string.h>

#include "ferry/util.h"
#include "json_int.h"

int
ferry_json_keys(enum ferry_status code, json_t *obj, const char *const *allowed, const char *what,
                struct ferry_error **err)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        bool ok = false;
        (void)v;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(allowed[i], key) == 0;
        if (!ok) {
            char q[96];
            return ferry_error_new(err, code, "%s: unknown key \"%s\"", what,
                                   ferry_quote(q, sizeof q, key, strlen(key)));
        }
    }
    return 0;
}

int
ferry_json_str(enum ferry_status code, json_t *obj, const char *key, bool required,
               const char *what, char **out, struct ferry_error **err)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        if (required)
            return ferry_error_new(err, code, "%s: missing \"%s\"", what, key);
        return 0;
    }
    if (!json_is_string(v))
        return ferry_error_new(err, code, "%s: \"%s\" is not a string", what, key);
    if ((*out = ferry_strdup(json_string_value(v))) == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "%s: out of memory", what);
    return 0;
}

int
ferry_json_size(enum ferry_status code, json_t *obj, const char *key, const char *what,
                int64_t *out, struct ferry_error **err)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return ferry_error_new(err, code, "%s: \"%s\" is not a non-negative integer", what, key);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

int
ferry_json_text(enum ferry_status code, const char *what, const char *key, const char *v,
                struct ferry_error **err)
{
    for (const unsigned char *p = (const unsigned char *)v; v != NULL && *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return ferry_error_new(err, code, "%s: \"%s\" holds a control character", what, key);
    return 0;
}
