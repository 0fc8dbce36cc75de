/* ferry: shared command-line support. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include <jansson.h>

#include "ferry/statement.h"
#include "ferry/limits.h"

const char *cli_cmd_name;
const char *cli_prog = "ferry";
int cli_verbosity = 1;

static bool progress_on;
static bool progress_drawn;
static bool progress_tty;    /* stderr is a terminal: redraw one line */
static double progress_last; /* ferry_monotonic_s */
/* Messages and progress come from push and download threads too. */
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
bool cli_pushing;
bool cli_verifying;

static void
vmsg(const char *prefix, const char *fmt, va_list ap)
{
    pthread_mutex_lock(&out_mu);
    if (progress_drawn) {
        fputs("\r\033[K", stderr);
        progress_drawn = false;
    }
    fprintf(stderr, "%s: %s", cli_prog, prefix);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&out_mu);
}

void
cli_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

void
cli_warn(const char *fmt, ...)
{
    va_list ap;

    if (cli_verbosity < 1)
        return;
    va_start(ap, fmt);
    vmsg("warning: ", fmt, ap);
    va_end(ap);
}

void
cli_info(const char *fmt, ...)
{
    va_list ap;

    if (cli_verbosity < 1)
        return;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

static void
log_handler(enum ferry_log_level level, const char *msg, void *ud)
{
    (void)ud;
    if (level == FERRY_LOG_ERROR)
        cli_error("%s", msg);
    else if (level == FERRY_LOG_WARN)
        cli_warn("%s", msg);
    else if ((level == FERRY_LOG_INFO && cli_verbosity >= 2) ||
             (level == FERRY_LOG_DEBUG && cli_verbosity >= 3))
        cli_info("%s", msg);
}

const char *
cli_count(char *buf, size_t n, size_t count, const char *noun)
{
    snprintf(buf, n, "%zu %s%s", count, noun, count == 1 ? "" : "s");
    return buf;
}

const char *
cli_size(char *buf, size_t n, unsigned long long bytes)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;

    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, n, "%llu B", bytes);
    else
        snprintf(buf, n, "%.1f %s", v, units[u]);
    return buf;
}

/* The phase being shown, for its rate: bytes and time since it began. */
static struct {
    char name[16];
    double start;
    uint64_t start_done;
} progress_phase;

/* "12 s", "3 min 20 s", "1 h 05 min", or "?" */
static const char *
eta_text(char *buf, size_t n, double s)
{
    if (s < 0 || s > 86400.0 * 7)
        snprintf(buf, n, "?");
    else if (s < 60)
        snprintf(buf, n, "%.0f s", s);
    else if (s < 3600)
        snprintf(buf, n, "%d min %02d s", (int)s / 60, (int)s % 60);
    else
        snprintf(buf, n, "%d h %02d min", (int)s / 3600, ((int)s % 3600) / 60);
    return buf;
}

/* Overall bytes, percent, rate and time left of the phase, and what is being
 * worked on. On a terminal: one line redrawn at most 6 times a second,
 * constant width (zstd: REFRESH_RATE). In a pipe (--progress): a plain line
 * every 2 seconds and at the end, no terminal escapes. */
static void
progress_handler(const char *phase, const char *object, uint64_t done, uint64_t total, void *ud)
{
    char a[32], b[32], rate[48], eta[32], obj[48];
    double now, secs, bps = 0;

    (void)ud;
    /* per-blob download counts would fight the export's overall line */
    if (!progress_on || strcmp(phase, "download") == 0)
        return;
    pthread_mutex_lock(&out_mu);
    now = ferry_monotonic_s();
    if (strcmp(progress_phase.name, phase) != 0) {
        snprintf(progress_phase.name, sizeof progress_phase.name, "%s", phase);
        progress_phase.start = now;
        progress_phase.start_done = done;
    }
    if (now - progress_last >= (progress_tty ? 0.166 : 2.0) || done == total) {
        progress_last = now;
        secs = now - progress_phase.start;
        if (secs >= 0.5 && done > progress_phase.start_done)
            bps = (double)(done - progress_phase.start_done) / secs;
        snprintf(rate, sizeof rate, "%s/s",
                 bps > 0 ? cli_size(a, sizeof a, (unsigned long long)bps) : "-");
        eta_text(eta, sizeof eta,
                 bps > 0 && total > done ? (double)(total - done) / bps
                 : total == done         ? 0
                                         : -1);
        ferry_quote(obj, sizeof obj, object ? object : "", object ? strlen(object) : 0);
        if (progress_tty) {
            fprintf(stderr, "\r\033[K%s: %-7s %10s / %-10s %3d%%  %11s  ETA %-10s %.24s", cli_prog,
                    phase, cli_size(a, sizeof a, done), cli_size(b, sizeof b, total),
                    total ? (int)(done * 100 / total) : 100, rate, eta, obj);
            progress_drawn = true;
        } else {
            fprintf(stderr, "%s: %s %s / %s (%d%%), %s, ETA %s, %s\n", cli_prog, phase,
                    cli_size(a, sizeof a, done), cli_size(b, sizeof b, total),
                    total ? (int)(done * 100 / total) : 100, rate, eta, obj);
        }
    }
    pthread_mutex_unlock(&out_mu);
}

void
cli_setup(bool force_progress)
{
    ferry_log_set_handler(log_handler, NULL);
    progress_tty = isatty(STDERR_FILENO);
    progress_on = cli_verbosity >= 1 && (force_progress || progress_tty);
    ferry_progress_set_handler(progress_handler, NULL);
    if (sodium_init() < 0) {
        cli_error("cannot initialise libsodium");
        exit(FERRY_EXIT_ERROR);
    }
}

void
cli_progress_done(void)
{
    pthread_mutex_lock(&out_mu);
    if (progress_drawn) {
        fputs("\r\033[K", stderr);
        progress_drawn = false;
    }
    pthread_mutex_unlock(&out_mu);
}

int
cli_exit_code(const struct ferry_error *e)
{
    if (e == NULL)
        return FERRY_EXIT_OK;
    switch (e->code) {
    case FERRY_E_DIGEST_MISMATCH:
    case FERRY_E_SIZE_MISMATCH:
    case FERRY_E_SIGNATURE:
    case FERRY_E_UNTRUSTED_KEY:
    case FERRY_E_BUNDLE:
        return FERRY_EXIT_VERIFY;
    case FERRY_E_USAGE:
        return FERRY_EXIT_USAGE;
    case FERRY_E_REFUSED:
        return FERRY_EXIT_REFUSED;
    case FERRY_E_BASE_MISSING:
        return FERRY_EXIT_BASE_MISSING;
    default:
        return FERRY_EXIT_ERROR;
    }
}

int
cli_fail(struct ferry_error *err)
{
    int code = cli_exit_code(err);

    cli_progress_done();
    if (err != NULL) {
        cli_error("%s", err->msg);
        if (code == FERRY_EXIT_USAGE)
            fprintf(stderr, "Try '%s%s%s --help' for more information.\n", cli_prog,
                    cli_cmd_name ? " " : "", cli_cmd_name ? cli_cmd_name : "");
        else if (code == FERRY_EXIT_VERIFY && cli_pushing)
            cli_error(
                "content read while pushing did not match its signed digest; tags not yet set "
                "were left unchanged");
        else if (code == FERRY_EXIT_VERIFY && cli_verifying)
            cli_error("verification failed: nothing was changed");
    }
    ferry_error_free(err);
    return code;
}

int
cli_usage(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s%s%s --help' for more information.\n", cli_prog,
            cli_cmd_name ? " " : "", cli_cmd_name ? cli_cmd_name : "");
    return FERRY_EXIT_USAGE;
}

int
cli_bad_option(const char *optstring, char **argv)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "?";

    if (optopt == 0)
        return cli_usage("unrecognized option '%s'", arg);
    if (optopt < 128 && (strchr(optstring, optopt) == NULL || optopt == ':'))
        return cli_usage("unrecognized option '-%c'", optopt);
    return cli_usage("option '%s' needs a value", arg);
}

int
cli_version(const char *extra)
{
    /* the formats read; the export writes the oldest that holds the bundle */
    printf("%s %s\nbundle format %d to %d\nlibraries: %s, %s%s%s\n", cli_prog, FERRY_VERSION,
           FERRY_STATEMENT_VERSION, FERRY_STATEMENT_VERSION_TAGS, ferry_registry_versions(),
           ferry_core_versions(), extra ? ", " : "", extra ? extra : "");
    return 0;
}

/* One line, read a byte at a time so nothing after it is consumed. */
static char *
read_secret_fd(int fd)
{
    struct ferry_secbuf b;
    ssize_t k;
    char c;

    ferry_secbuf_init(&b, FERRY_MAX_PASSWORD);
    if (ferry_secbuf_reserve(&b, FERRY_MAX_PASSWORD) < 0)
        return NULL;
    for (;;) {
        k = read(fd, &c, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0 || c == '\n')
            break;
        if (ferry_secbuf_append(&b, &c, 1) < 0) {
            ferry_secbuf_free(&b);
            return NULL;
        }
    }
    if (b.len > 0 && b.data[b.len - 1] == '\r')
        b.data[--b.len] = '\0';
    return ferry_secbuf_take(&b, NULL);
}

char *
cli_read_secret_stdin(void)
{
    return read_secret_fd(STDIN_FILENO);
}

char *
cli_read_secret_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *s;

    if (fd < 0)
        return NULL;
    s = read_secret_fd(fd);
    close(fd);
    return s;
}

char *
cli_prompt_secret(const char *prompt)
{
    struct termios old, noecho;
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    char *s;

    if (fd < 0)
        return NULL;
    if (write(fd, prompt, strlen(prompt)) < 0) {
        close(fd);
        return NULL;
    }
    if (tcgetattr(fd, &old) == 0) {
        noecho = old;
        noecho.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &noecho);
    }
    s = read_secret_fd(fd);
    tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0) {
        /* nothing to do: the prompt is cosmetic */
    }
    close(fd);
    return s;
}

void
cli_secret_free(char *s)
{
    ferry_secret_free(s);
}

int
cli_key_password(char *buf, size_t buflen, void *ud)
{
    const char *file = ud;
    char *s =
        file ? cli_read_secret_file(file) : cli_prompt_secret("Password for the secret key: ");
    size_t n;

    if (s == NULL) {
        if (file != NULL)
            cli_error("cannot read the key password from %s", file);
        else
            cli_error("the secret key is encrypted and there is no terminal to ask its password "
                      "on: give --key-password-file FILE");
        return -1;
    }
    n = strlen(s);
    if (n + 1 > buflen) {
        cli_secret_free(s);
        return -1;
    }
    memcpy(buf, s, n + 1);
    cli_secret_free(s);
    return 0;
}

int
cli_dispatch(const struct cli_cmd *cmds, const struct cli_cmd *default_cmd, int argc, char **argv)
{
    const struct cli_cmd *c;

    opterr = 0; /* cli_bad_option words it, with the program's name */
    if (argc >= 2) {
        for (c = cmds; c->name; c++)
            if (strcmp(argv[1], c->name) == 0) {
                if (c->summary != NULL)
                    cli_cmd_name = c->name;
                return c->run(argc - 1, argv + 1);
            }
    }
    if (default_cmd != NULL)
        return default_cmd->run(argc, argv);
    if (argc < 2)
        return cli_usage("missing command");
    return cli_usage("unknown command '%s'", argv[1]);
}

int
cli_reg_option(struct cli_reg *cr, int opt, const char *arg)
{
    switch (opt) {
    case CLI_OPT_PLAIN_HTTP:
        cr->o.plain_http = true;
        return 1;
    case CLI_OPT_CA_FILE:
        cr->o.ca_file = arg;
        return 1;
    case CLI_OPT_USERNAME:
        cr->o.username = arg;
        return 1;
    case CLI_OPT_PASSWORD_STDIN:
        cr->password_stdin = true;
        return 1;
    case CLI_OPT_AUTHFILE:
        cr->o.auth_file = arg;
        return 1;
    case CLI_OPT_INSECURE_TLS:
        cr->o.insecure_tls = true;
        return 1;
    default:
        return 0;
    }
}

/* Test hook: FERRY_TEST_UPLOAD_CHUNK=MIN:SIZE sets the size from which blobs
 * are uploaded in chunks, and the chunk size, so integration tests exercise
 * chunked uploads with small blobs. Not for production use; garbage is
 * ignored. */
static void
test_upload_chunk(struct ferry_registry_opts *o)
{
    const char *v = getenv("FERRY_TEST_UPLOAD_CHUNK");
    char *end = NULL;
    long long min, size;

    if (v == NULL || *v == '\0')
        return;
    errno = 0;
    min = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != ':')
        return;
    v = end + 1;
    size = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || min <= 0 || size <= 0)
        return;
    o->chunk_min = (int64_t)min;
    o->chunk_size = (int64_t)size;
}

int
cli_reg_finish(struct cli_reg *cr)
{
    test_upload_chunk(&cr->o);
    if (cr->password_stdin && cr->o.username == NULL)
        return cli_usage("--password-stdin needs --username");
    if (cr->o.username != NULL && !cr->password_stdin)
        return cli_usage("--username needs --password-stdin (passwords are never taken from argv)");
    if (cr->password_stdin) {
        cr->password = cli_read_secret_stdin();
        if (cr->password == NULL) {
            cli_error("cannot read the registry password from stdin");
            return FERRY_EXIT_ERROR;
        }
        cr->o.password = cr->password;
    }
    return 0;
}

void
cli_reg_clear(struct cli_reg *cr)
{
    cli_secret_free(cr->password);
    cr->password = NULL;
    cr->o.password = NULL;
}

bool
cli_parse_int(const char *s, long min, long max, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return false;
    *out = (int)v;
    return true;
}

bool
cli_parse_size(const char *s, uint64_t *out)
{
    static const char units[] = "KMGT";
    uint64_t v = 0, mul = 1;
    const char *p = s, *u;

    if (s == NULL || *s < '0' || *s > '9')
        return false;
    while (*p >= '0' && *p <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*p++ - '0');
    }
    if (*p != '\0') {
        if ((u = strchr(units, *p)) == NULL || *p == '\0')
            return false;
        mul = (uint64_t)1 << (10 * (u - units + 1));
        p++;
        if (strcmp(p, "iB") == 0 || strcmp(p, "B") == 0)
            p += strlen(p);
        if (*p != '\0')
            return false;
    }
    if (v == 0 || v > UINT64_MAX / mul)
        return false;
    *out = v * mul;
    return true;
}

bool
cli_parse_duration(const char *s, int64_t *out)
{
    int64_t total = 0;
    const char *p = s;

    if (s == NULL || *s == '\0')
        return false;
    while (*p != '\0') {
        int64_t v = 0, unit;
        const char *start = p;
        while (*p >= '0' && *p <= '9') {
            if (v > INT64_MAX / 10 - 10)
                return false;
            v = v * 10 + (*p++ - '0');
        }
        if (p == start)
            return false;
        switch (*p) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        case 'w':
            unit = 7 * 86400;
            break;
        default:
            return false;
        }
        p++;
        if (v > (INT64_MAX - total) / unit)
            return false;
        total += v * unit;
    }
    if (total <= 0)
        return false;
    *out = total;
    return true;
}

void
cli_print_delta(const struct ferry_statement *st)
{
    uint64_t bytes = 0;
    char sz[32], n1[48], q[256], c[64];

    if (st->nbases == 0)
        return;
    for (size_t i = 0; i < st->nexternals; i++)
        bytes = (uint64_t)st->externals[i].size > UINT64_MAX - bytes
                    ? UINT64_MAX
                    : bytes + (uint64_t)st->externals[i].size;
    printf("delta: expects %s (%s) in the target, made against",
           cli_count(n1, sizeof n1, st->nexternals, "blob"), cli_size(sz, sizeof sz, bytes));
    for (size_t i = 0; i < st->nbases; i++) {
        const struct ferry_stmt_base *b = &st->bases[i];
        printf("%s %s %s%s%.19s created %s", i ? ";" : "", b->kind,
               b->name ? ferry_quote(q, sizeof q, b->name, strlen(b->name)) : "",
               b->name ? " " : "", b->digest,
               ferry_quote(c, sizeof c, b->created, strlen(b->created)));
    }
    putchar('\n');
}

void
cli_delta_json(const struct ferry_statement *st, void *obj)
{
    json_t *o = obj, *bases;
    uint64_t bytes = 0;

    if (st->nbases == 0 || o == NULL || (bases = json_array()) == NULL)
        return;
    /* sizes come from the bundle (unsigned with list): saturate, never wrap */
    for (size_t i = 0; i < st->nexternals; i++)
        bytes = (uint64_t)st->externals[i].size > (uint64_t)INT64_MAX - bytes
                    ? (uint64_t)INT64_MAX
                    : bytes + (uint64_t)st->externals[i].size;
    for (size_t i = 0; i < st->nbases; i++) {
        const struct ferry_stmt_base *b = &st->bases[i];
        json_array_append_new(bases, json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?}", "kind",
                                               b->kind, "digest", b->digest, "created", b->created,
                                               "keyId", b->key_id, "name", b->name, "registry",
                                               b->registry, "bundle", b->bundle));
    }
    json_object_set_new(o, "bases", bases);
    json_object_set_new(o, "externalBlobs", json_integer((json_int_t)st->nexternals));
    json_object_set_new(o, "externalBytes", json_integer((json_int_t)bytes));
}

void
cli_warn_apart(const struct ferry_statement *st)
{
    bool *warned = ferry_calloc(st->nimages ? st->nimages : 1, sizeof *warned);
    char q[256], t[256];

    /* one pass over the referrers; each image warned about once */
    for (size_t j = 0; warned != NULL && j < st->nreferrers; j++) {
        const struct ferry_stmt_referrer *rf = &st->referrers[j];
        const struct ferry_stmt_image *im;
        if (rf->image >= st->nimages || warned[rf->image] || !ferry_stmt_referrer_apart(st, rf))
            continue;
        warned[rf->image] = true;
        im = &st->images[rf->image];
        cli_warn("%s: referrers land in %s, apart from the image: a referrers lookup on the "
                 "image will not show them (omit --referrers-tgt to keep them together)",
                 ferry_quote(q, sizeof q, im->source, strlen(im->source)),
                 ferry_quote(t, sizeof t, rf->target, strlen(rf->target)));
    }
    ferry_free(warned);
}
