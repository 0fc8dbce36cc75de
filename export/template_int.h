/* ferry: the Go-template subset regsync configs use (export/template.c):
 * {{file "PATH"}} and {{env "NAME"}} in a YAML scalar.
 *
 * Depends on the YAML tree for the scalar and its position, nothing else of
 * the sync config.
 */
#ifndef FERRY_TEMPLATE_INT_H
#define FERRY_TEMPLATE_INT_H

#include "yamltree_int.h"

/* The value of scalar n with its actions expanded: {{file "PATH"}} (the
 * file's contents, at most FERRY_MAX_CONFIG_FILE bytes, white space trimmed
 * as Go's strings.TrimSpace does; PATH relative to the working directory)
 * and {{env "NAME"}} (an unset variable is an error), with "{{-"/"-}}"
 * trimming and {{/ * comments * /}}. PATH and NAME are Go string literals.
 * what names the field in messages. *out is NULL for null; a secret value is
 * in secret memory (ferry_secret_free) and its text is never quoted in a
 * message, any other in ferry_malloc memory (ferry_free). Errors, at n's
 * position: FERRY_E_INVALID (not a string, a NUL byte, an unknown function,
 * a malformed action, an unset variable), FERRY_E_TOO_LARGE (file or result
 * over FERRY_MAX_CONFIG_FILE), the errno of a file that cannot be read
 * (FERRY_E_NOT_FOUND, FERRY_E_IO), FERRY_E_NOMEM. */
int template_expand(struct yctx *c, const struct ynode *n, const char *what, bool secret,
                    char **out);

#endif
