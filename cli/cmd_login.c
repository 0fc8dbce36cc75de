/* PROG login HOST -u USER --password-stdin / PROG logout HOST: the same
 * commands in both programs (the disconnected host often has no docker to log
 * in with). Credentials are checked against the registry, then stored where
 * both tools read them (ferry_registry_login_store). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ferry/reference.h"
#include "ferry/registry.h"

static const char login_usage[] =
    "usage: %s login [options] HOST[:PORT]\n"
    "\n"
    "Check a user name and password against a registry, then store them in the\n"
    "auth file ferry reads (as docker login does): --authfile FILE, else\n"
    "REGISTRY_AUTH_FILE, else $DOCKER_CONFIG/config.json or ~/.docker/config.json;\n"
    "other entries are kept; the file is written with mode 0600.\n"
    "  -u, --username USER   the user name\n"
    "  --password-stdin      read the password from the first line of stdin (else it\n"
    "                        is asked on the terminal; never give it in argv)\n"
    "  --authfile FILE       the auth file to write\n"
    "  --plain-http          talk http:// (loopback or lab registries only)\n"
    "  --ca-file FILE        trust the CA certificates in FILE as well\n"
    "  --insecure-tls        do not verify TLS certificates\n";

static const char logout_usage[] =
    "usage: %s logout [--authfile FILE] HOST[:PORT]\n"
    "\n"
    "Remove the credentials stored for HOST from the auth file ferry reads.\n";

/* HOST[:PORT] as in references ("docker.io" for Docker Hub); usage error else. */
static int
parse_host(const char *arg, struct ferry_ref **ref)
{
    char text[320], q[256];
    struct ferry_error *err = NULL;

    if (strchr(arg, '/') != NULL || strlen(arg) > 255 ||
        snprintf(text, sizeof text, "%s/x/y:1", arg) >= (int)sizeof text ||
        ferry_ref_parse(text, false, ref, &err) < 0 ||
        (strcmp((*ref)->registry, arg) != 0 && strcmp(arg, "index.docker.io") != 0 &&
         strcmp(arg, "registry-1.docker.io") != 0)) {
        ferry_error_free(err);
        ferry_ref_free(*ref);
        *ref = NULL;
        return cli_usage("\"%s\" is not a registry host: give HOST[:PORT] (no scheme, no path)",
                         ferry_quote(q, sizeof q, arg, strlen(arg)));
    }
    return 0;
}

int
cli_cmd_login(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"username", required_argument, NULL, 'u'},
        {"password-stdin", no_argument, NULL, CLI_OPT_PASSWORD_STDIN},
        {"authfile", required_argument, NULL, CLI_OPT_AUTHFILE},
        {"plain-http", no_argument, NULL, CLI_OPT_PLAIN_HTTP},
        {"ca-file", required_argument, NULL, CLI_OPT_CA_FILE},
        {"insecure-tls", no_argument, NULL, CLI_OPT_INSECURE_TLS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct ferry_registry_opts o = {0};
    struct ferry_registry *reg = NULL;
    struct ferry_ref *ref = NULL;
    struct ferry_error *err = NULL;
    const char *user = NULL;
    char *password = NULL, *path = NULL;
    bool from_stdin = false;
    int c, r;

    while ((c = getopt_long(argc, argv, "u:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'u':
            user = optarg;
            break;
        case CLI_OPT_PASSWORD_STDIN:
            from_stdin = true;
            break;
        case CLI_OPT_AUTHFILE:
            o.auth_file = optarg;
            break;
        case CLI_OPT_PLAIN_HTTP:
            o.plain_http = true;
            break;
        case CLI_OPT_CA_FILE:
            o.ca_file = optarg;
            break;
        case CLI_OPT_INSECURE_TLS:
            o.insecure_tls = true;
            break;
        case 'h':
            printf(login_usage, cli_prog);
            return 0;
        default:
            return cli_bad_option("u:h", argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage("login takes exactly one HOST[:PORT]");
    if (user == NULL || user[0] == '\0')
        return cli_usage("login needs -u USER");
    if (strchr(user, ':') != NULL)
        return cli_usage("a user name holds no ':' (it is stored as user:password)");
    if ((r = parse_host(argv[optind], &ref)) != 0)
        return r;
    cli_setup(false);
    password = from_stdin ? cli_read_secret_stdin() : cli_prompt_secret("Password: ");
    if (password != NULL && password[0] == '\0') {
        cli_secret_free(password);
        ferry_ref_free(ref);
        return cli_usage("empty password: nothing to log in with");
    }
    if (password == NULL) {
        ferry_ref_free(ref);
        cli_error("%s", from_stdin ? "cannot read the password from stdin"
                                   : "no terminal to ask the password on: use --password-stdin");
        return FERRY_EXIT_ERROR;
    }
    o.username = user;
    o.password = password;
    /* checked first, as docker login does: a typo is not stored */
    if ((r = ferry_registry_new(ref->api_host, &o, &reg, &err)) < 0 ||
        (r = ferry_registry_ping(reg, &err)) < 0) {
        ferry_error_wrap(&err, "login to %s", ref->registry);
        goto out;
    }
    if ((r = ferry_registry_login_store(o.auth_file, ref->registry, user, password, &path, &err)) <
        0)
        goto out;
    cli_info("logged in to %s as %s; credentials stored in %s", ref->registry, user, path);
out:
    cli_secret_free(password);
    ferry_registry_free(reg);
    ferry_ref_free(ref);
    ferry_free(path);
    return r < 0 ? cli_fail(err) : 0;
}

int
cli_cmd_logout(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"authfile", required_argument, NULL, CLI_OPT_AUTHFILE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct ferry_ref *ref = NULL;
    struct ferry_error *err = NULL;
    const char *auth_file = NULL;
    char *path = NULL;
    int c, r;

    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case CLI_OPT_AUTHFILE:
            auth_file = optarg;
            break;
        case 'h':
            printf(logout_usage, cli_prog);
            return 0;
        default:
            return cli_bad_option("h", argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage("logout takes exactly one HOST[:PORT]");
    if ((r = parse_host(argv[optind], &ref)) != 0)
        return r;
    cli_setup(false);
    r = ferry_registry_logout_store(auth_file, ref->registry, &path, &err);
    if (r == 1)
        cli_info("removed the credentials for %s from %s", ref->registry, path);
    else if (r == 0)
        cli_info("no credentials for %s in %s", ref->registry, path);
    ferry_ref_free(ref);
    ferry_free(path);
    return r < 0 ? cli_fail(err) : 0;
}
