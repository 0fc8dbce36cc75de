/* Fuzz reg_helper_output_parse: what "docker-credential-<name> get" printed.
 * The first byte is the exit status (even: 0, odd: the byte itself), the rest
 * is stdout.
 *
 * Checked: a failure leaves no credentials; a success is all fields or none,
 * with the identity kind exactly for Username "<token>"; with exit 0 an error
 * never quotes the output; with another exit the output is quoted only when
 * it cannot be (part of) a JSON answer holding the secret. Nothing here prints
 * the input. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ferry/util.h"
#include "registry_int.h"

#define HELPER "fake"
#define SERVER "https://index.docker.io/v1/"
#define HOST "docker.io"
#define PREFIX "credential helper docker-credential-" HELPER " for " HOST ": "

static bool
may_hold_secret(const char *text)
{
    const char *p = text;

    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return *p == '{' || strstr(text, "Secret") != NULL;
}

/* "invalid json output at line N column M" with N and M integers. */
static bool
is_json_error(const char *tail)
{
    int line, col, n = 0;

    return sscanf(tail, "invalid json output at line %d column %d%n", &line, &col, &n) == 2 &&
           tail[n] == '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reg_creds c = {0};
    struct ferry_error *err = NULL;
    char *text, want[64];
    int status, rc;

    if (size < 1)
        return 0;
    status = (data[0] & 1) ? data[0] : 0;
    text = ferry_strndup((const char *)data + 1, size - 1); /* NUL-terminated, as helper_exec */
    if (text == NULL)
        return 0;

    rc = reg_helper_output_parse(HELPER, SERVER, HOST, text, size - 1, status, &c, &err);
    if (rc < 0) {
        if (err == NULL || c.kind != REG_CRED_NONE || c.username != NULL || c.secret != NULL ||
            c.source != NULL)
            abort();
        if (strncmp(err->msg, PREFIX, strlen(PREFIX)) != 0)
            abort();
        if (status == 0) {
            if (!is_json_error(err->msg + strlen(PREFIX)))
                abort();
        } else {
            snprintf(want, sizeof want, "exit %d", status);
            if (strncmp(err->msg + strlen(PREFIX), want, strlen(want)) != 0)
                abort();
            /* output that may be the answer is never quoted */
            if (may_hold_secret(text) && err->msg[strlen(PREFIX) + strlen(want)] != '\0')
                abort();
            if (strstr(text, "credentials not found") != NULL)
                abort();
        }
    } else {
        if (rc != 0 || err != NULL)
            abort();
        if (c.kind == REG_CRED_NONE) {
            if (c.username != NULL || c.secret != NULL || c.source != NULL)
                abort();
        } else {
            if (status != 0 || c.username == NULL || c.secret == NULL || c.secret[0] == '\0' ||
                c.source == NULL || strcmp(c.source, "docker-credential-" HELPER) != 0)
                abort();
            if ((c.kind == REG_CRED_IDENTITY) != (strcmp(c.username, "<token>") == 0))
                abort();
            if (c.kind != REG_CRED_IDENTITY && c.kind != REG_CRED_BASIC)
                abort();
        }
    }
    reg_creds_clear(&c);
    ferry_error_free(err);
    ferry_free(text);
    return 0;
}
