/* regtool: a test-only command line over the public registry API
 * (include/ferry/registry.h), so shell tests can drive the client.
 *
 *   regtool [options] HOST COMMAND ARGS...
 *
 * Exit status: 0 ok, 1 absent (head-*), 2 error ("regtool: FERRY_E_<CODE>: msg"
 * on stderr), 3 no referrers API, 64 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "ferry/digest.h"
#include "ferry/limits.h"
#include "ferry/registry.h"
#include "ferry/util.h"

#define EXIT_ABSENT 1
#define EXIT_ERR 2
#define EXIT_NO_API 3
#define EXIT_USAGE 64

static const char usage_text[] =
    "usage: regtool [--plain-http] [--insecure] [--ca-file F] [--user U --password-file F]\n"
    "               [--auth-file F] [--retries N] [--chunk MIN[:SIZE]] [-v] HOST COMMAND ARGS...\n"
    "commands:\n"
    "  ping\n"
    "  get-manifest REPO REF            body to stdout\n"
    "  head-manifest REPO REF           \"DIGEST MEDIATYPE SIZE\"; exit 1 if absent\n"
    "  put-manifest REPO REF MEDIATYPE FILE   prints the OCI-Subject header if any\n"
    "  get-blob REPO DIGEST [SIZE]      body to stdout (SIZE from HEAD if omitted)\n"
    "  head-blob REPO DIGEST            prints the size; exit 1 if absent\n"
    "  put-blob REPO FILE               prints the digest\n"
    "  mount REPO DIGEST FROM           prints \"mounted\" or \"not mounted\"\n"
    "  tags REPO                        one tag per line\n"
    "  referrers REPO DIGEST [TYPE]     index to stdout; exit 3 if there is no API\n";

static int verbose;

static const char *
code_name(enum ferry_status c)
{
    static const char *const names[] = {
        "FERRY_OK",
        "FERRY_E_NOMEM",
        "FERRY_E_IO",
        "FERRY_E_INVALID",
        "FERRY_E_TOO_LARGE",
        "FERRY_E_DIGEST_MISMATCH",
        "FERRY_E_SIZE_MISMATCH",
        "FERRY_E_SIGNATURE",
        "FERRY_E_UNTRUSTED_KEY",
        "FERRY_E_BUNDLE",
        "FERRY_E_HTTP",
        "FERRY_E_AUTH",
        "FERRY_E_NOT_FOUND",
        "FERRY_E_NETWORK",
        "FERRY_E_USAGE",
        "FERRY_E_UNSUPPORTED",
        "FERRY_E_CRYPTO",
        "FERRY_E_INTERNAL",
    };
    return (size_t)c < sizeof names / sizeof names[0] ? names[c] : "FERRY_E_?";
}

static void
log_cb(enum ferry_log_level level, const char *msg, void *ud)
{
    static const char *const lv[] = {"error", "warning", "info", "debug"};

    (void)ud;
    if ((int)level <= FERRY_LOG_WARN || verbose)
        fprintf(stderr, "regtool: %s: %s\n", lv[level], msg);
}

static int
file_sink(const void *data, size_t len, void *ud, struct ferry_error **err)
{
    if (len > 0 && fwrite(data, 1, len, ud) != len)
        return ferry_error_sys(err, errno, "write output");
    return 0;
}

static int64_t
file_source(void *buf, size_t len, void *ud, struct ferry_error **err)
{
    size_t n = fread(buf, 1, len, ud);

    if (n == 0 && ferror((FILE *)ud))
        return ferry_error_sys(err, errno, "read input");
    return (int64_t)n;
}

static int
file_seek(void *ud, uint64_t offset, struct ferry_error **err)
{
    if (offset > INT64_MAX || fseeko(ud, (off_t)offset, SEEK_SET) != 0)
        return ferry_error_sys(err, errno, "seek input to %llu", (unsigned long long)offset);
    return 0;
}

static char *
read_password(const char *path)
{
    char buf[4096];
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL)
        return NULL;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    return strdup(buf);
}

/* Digest and size of a file, streamed. */
static int
digest_file(FILE *f, struct ferry_digest *d, int64_t *size, struct ferry_error **err)
{
    struct ferry_hasher *h = ferry_hasher_new(FERRY_DIGEST_SHA256);
    char *buf = ferry_malloc(FERRY_IO_BUFSIZE);
    size_t n;
    int rc = 0;

    *size = 0;
    if (h == NULL || buf == NULL) {
        rc = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    while ((n = fread(buf, 1, FERRY_IO_BUFSIZE, f)) > 0) {
        ferry_hasher_update(h, buf, n);
        *size += (int64_t)n;
    }
    if (ferror(f)) {
        rc = ferry_error_sys(err, errno, "read input");
        goto out;
    }
    ferry_hasher_final(h, d);
    rc = file_seek(f, 0, err);
out:
    ferry_hasher_free(h);
    ferry_free(buf);
    return rc;
}

static int
run(struct ferry_registry *r, const char *cmd, int argc, char **argv, struct ferry_error **err)
{
    struct ferry_buf b;
    struct ferry_manifest_info mi = {0};
    int rc = 0;

    ferry_buf_init(&b, FERRY_MAX_MANIFEST);
#define NEED(n)                                                                                    \
    do {                                                                                           \
        if (argc != (n)) {                                                                         \
            rc = -FERRY_E_USAGE;                                                                   \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)
    if (strcmp(cmd, "ping") == 0) {
        NEED(0);
        rc = ferry_registry_ping(r, err);
    } else if (strcmp(cmd, "get-manifest") == 0) {
        NEED(2);
        rc = ferry_registry_get_manifest(r, argv[0], argv[1], &b, &mi, err);
        if (rc == 0) {
            fwrite(b.data, 1, b.len, stdout);
            if (verbose)
                fprintf(stderr, "regtool: %s %s %lld\n", mi.digest, mi.media_type,
                        (long long)mi.size);
        }
    } else if (strcmp(cmd, "head-manifest") == 0) {
        NEED(2);
        rc = ferry_registry_head_manifest(r, argv[0], argv[1], &mi, err);
        if (rc == 1)
            printf("%s %s %lld\n", mi.digest, mi.media_type, (long long)mi.size);
        rc = rc == 0 ? EXIT_ABSENT : rc < 0 ? rc : 0;
    } else if (strcmp(cmd, "put-manifest") == 0) {
        char *subject = NULL;
        NEED(4);
        rc = ferry_read_file(argv[3], &b, err);
        if (rc == 0)
            rc = ferry_registry_put_manifest(r, argv[0], argv[1], argv[2], b.data ? b.data : "",
                                             b.len, &subject, err);
        if (rc == 0 && subject != NULL)
            printf("%s\n", subject);
        ferry_free(subject);
    } else if (strcmp(cmd, "get-blob") == 0) {
        int64_t size = -1;
        if (argc != 2 && argc != 3) {
            rc = -FERRY_E_USAGE;
            goto out;
        }
        if (argc == 3) {
            size = strtoll(argv[2], NULL, 10);
        } else {
            rc = ferry_registry_head_blob(r, argv[0], argv[1], &size, err);
            if (rc == 0)
                rc = ferry_error_new(err, FERRY_E_NOT_FOUND, "blob %s not found", argv[1]);
            if (rc < 0)
                goto out;
        }
        rc = ferry_registry_get_blob(r, argv[0], argv[1], size, file_sink, stdout, err);
    } else if (strcmp(cmd, "head-blob") == 0) {
        int64_t size = -1;
        NEED(2);
        rc = ferry_registry_head_blob(r, argv[0], argv[1], &size, err);
        if (rc == 1)
            printf("%lld\n", (long long)size);
        rc = rc == 0 ? EXIT_ABSENT : rc < 0 ? rc : 0;
    } else if (strcmp(cmd, "put-blob") == 0) {
        struct ferry_digest d;
        int64_t size;
        FILE *f;
        NEED(2);
        f = fopen(argv[1], "rb");
        if (f == NULL) {
            rc = ferry_error_sys(err, errno, "open %s", argv[1]);
            goto out;
        }
        rc = digest_file(f, &d, &size, err);
        if (rc == 0)
            rc = ferry_registry_put_blob(r, argv[0], d.str, size, file_source, file_seek, f, err);
        if (rc == 0)
            printf("%s\n", d.str);
        fclose(f);
    } else if (strcmp(cmd, "mount") == 0) {
        NEED(3);
        rc = ferry_registry_mount_blob(r, argv[0], argv[1], argv[2], err);
        if (rc >= 0)
            printf("%s\n", rc == 1 ? "mounted" : "not mounted");
        rc = rc < 0 ? rc : 0;
    } else if (strcmp(cmd, "tags") == 0) {
        char **tags = NULL;
        size_t n = 0;
        NEED(1);
        rc = ferry_registry_list_tags(r, argv[0], &tags, &n, err);
        for (size_t i = 0; rc == 0 && i < n; i++)
            printf("%s\n", tags[i]);
        ferry_strv_free(tags, n);
    } else if (strcmp(cmd, "referrers") == 0) {
        bool filtered = false;
        if (argc != 2 && argc != 3) {
            rc = -FERRY_E_USAGE;
            goto out;
        }
        b.max = FERRY_MAX_INDEX_JSON;
        rc = ferry_registry_get_referrers(r, argv[0], argv[1], argc == 3 ? argv[2] : NULL, &b,
                                          &filtered, err);
        if (rc == 1) {
            fwrite(b.data, 1, b.len, stdout);
            if (verbose)
                fprintf(stderr, "regtool: filtered: %s\n", filtered ? "yes" : "no");
        }
        rc = rc == 0 ? EXIT_NO_API : rc < 0 ? rc : 0;
    } else {
        rc = -FERRY_E_USAGE;
    }
#undef NEED
out:
    ferry_manifest_info_clear(&mi);
    ferry_buf_free(&b);
    return rc;
}

int
main(int argc, char **argv)
{
    struct ferry_registry_opts o = {0};
    struct ferry_registry *r = NULL;
    struct ferry_error *err = NULL;
    char *password = NULL;
    int i, rc;

    ferry_log_set_handler(log_cb, NULL);
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        if (strcmp(a, "--plain-http") == 0) {
            o.plain_http = true;
        } else if (strcmp(a, "--insecure") == 0) {
            o.insecure_tls = true;
        } else if (strcmp(a, "-v") == 0) {
            verbose = 1;
        } else if (strcmp(a, "--ca-file") == 0 && more) {
            o.ca_file = argv[++i];
        } else if (strcmp(a, "--user") == 0 && more) {
            o.username = argv[++i];
        } else if (strcmp(a, "--password-file") == 0 && more) {
            password = read_password(argv[++i]);
            if (password == NULL) {
                fprintf(stderr, "regtool: cannot read %s\n", argv[i]);
                return EXIT_USAGE;
            }
        } else if (strcmp(a, "--auth-file") == 0 && more) {
            o.auth_file = argv[++i];
        } else if (strcmp(a, "--retries") == 0 && more) {
            o.max_retries = (int)strtol(argv[++i], NULL, 10);
        } else if (strcmp(a, "--chunk") == 0 && more) {
            char *end = NULL;
            o.chunk_min = strtoll(argv[++i], &end, 10);
            if (*end == ':')
                o.chunk_size = strtoll(end + 1, &end, 10);
            if (*end != '\0') {
                fputs(usage_text, stderr);
                return EXIT_USAGE;
            }
        } else {
            fputs(usage_text, stderr);
            return EXIT_USAGE;
        }
    }
    if (argc - i < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    o.password = password;
    rc = ferry_registry_new(argv[i], &o, &r, &err);
    if (rc == 0)
        rc = run(r, argv[i + 1], argc - i - 2, argv + i + 2, &err);
    if (password != NULL) {
        memset(password, 0, strlen(password));
        free(password);
    }
    ferry_registry_free(r);
    if (rc == -FERRY_E_USAGE && err == NULL) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (rc < 0) {
        fprintf(stderr, "regtool: %s: %s\n", code_name(err ? err->code : FERRY_E_INTERNAL),
                err ? err->msg : "failed without an error");
        ferry_error_free(err);
        return EXIT_ERR;
    }
    fflush(stdout);
    return rc;
}
