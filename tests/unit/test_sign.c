#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "unit.h"
#include "ferry/limits.h"
#include "ferry/sign.h"
#include "ferry/util.h"
#include "sign_int.h"

#define MINISIGN "/usr/bin/minisign"
#define FAST_OPS crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_MIN
#define FAST_MEM crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_MIN

static const char message[] = "ferry carries images across the gap\n";

/* ---- helpers ------------------------------------------------------------- */

struct tmp {
    char dir[64];
    char pub[128];
    char sec[128];
    char msg[128];
    char sig[128];
};

static void
tmp_init(struct tmp *t)
{
    strcpy(t->dir, "/tmp/ferry-test-sign-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->pub, sizeof t->pub, "%s/key.pub", t->dir);
    snprintf(t->sec, sizeof t->sec, "%s/key.sec", t->dir);
    snprintf(t->msg, sizeof t->msg, "%s/message.txt", t->dir);
    snprintf(t->sig, sizeof t->sig, "%s/message.txt.minisig", t->dir);
}

static void
tmp_cleanup(struct tmp *t)
{
    DIR *d = opendir(t->dir);
    struct dirent *de;

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        char path[512];
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", t->dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(t->dir);
}

static void
write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Whole file as a NUL-terminated string (ferry_free). */
static char *
slurp(const char *path, size_t *len)
{
    struct ferry_buf b;
    struct ferry_error *err = NULL;
    char *p;

    ferry_buf_init(&b, 1u << 20);
    FERRY_ASSERT_OK(ferry_read_file(path, &b, &err), &err);
    p = ferry_buf_take(&b, len);
    return p;
}

static int
password_cb(char *buf, size_t buflen, void *ud)
{
    const char *pw = ud;

    if (pw == NULL)
        return -1;
    if (strlen(pw) >= buflen)
        return -1;
    memcpy(buf, pw, strlen(pw) + 1);
    return 0;
}

static struct ferry_pubkey *
load_pub(const char *path)
{
    struct ferry_pubkey *pk = NULL;
    struct ferry_error *err = NULL;

    FERRY_ASSERT_OK(ferry_pubkey_load(path, &pk, &err), &err);
    return pk;
}

static struct ferry_seckey *
load_sec(const char *path, const char *password)
{
    struct ferry_seckey *sk = NULL;
    struct ferry_error *err = NULL;

    FERRY_ASSERT_OK(ferry_seckey_load(path, password_cb, (void *)password, &sk, &err), &err);
    return sk;
}

/* A fresh unencrypted key pair in t. */
static void
make_keys(struct tmp *t, struct ferry_pubkey **pk, struct ferry_seckey **sk)
{
    struct ferry_error *err = NULL;

    FERRY_ASSERT_OK(ferry_keygen(t->pub, t->sec, NULL, false, &err), &err);
    *pk = load_pub(t->pub);
    *sk = load_sec(t->sec, NULL);
}

static char *
sign_message(const struct ferry_seckey *sk, const char *tc)
{
    char *sig = NULL;
    struct ferry_error *err = NULL;

    FERRY_ASSERT_OK(ferry_sign_buffer(sk, message, strlen(message), NULL, tc, &sig, &err), &err);
    return sig;
}

/* Expect verification of sig over message with pk to fail with code. */
static void
expect_verify_fail(struct ferry_pubkey *pk, const char *sig, size_t siglen, const char *data,
                   size_t len, enum ferry_status code)
{
    struct ferry_error *err = NULL;
    char *tc = NULL;
    size_t which = 99;
    int r = ferry_verify_buffer(&pk, 1, sig, siglen, data, len, "test.minisig", &tc, &which, &err);

    if (r != -(int)code)
        fail_msg("verify returned %d (%s), want %d", r, err ? err->msg : "no error", -(int)code);
    assert_non_null(err);
    print_message("  error: %s\n", err->msg);
    assert_int_equal(err->code, code);
    assert_non_null(strstr(err->msg, "test.minisig"));
    assert_null(tc);
    assert_int_equal(which, 99);
    ferry_error_free(err);
}

static bool
have_minisign(void)
{
    return access(MINISIGN, X_OK) == 0;
}

/* Run argv with stdin fed from input (may be NULL); returns the exit status. */
static int
run(const char *const argv[], const char *input)
{
    int in[2];
    pid_t pid;
    int status;

    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(pipe(in), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(in[0], 0);
        dup2(devnull, 1);
        if (getenv("FERRY_TEST_VERBOSE") == NULL)
            dup2(devnull, 2);
        close(in[0]);
        close(in[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    if (input != NULL && write(in[1], input, strlen(input)) < 0)
        print_message("write to %s: %s\n", argv[0], strerror(errno));
    close(in[1]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- sign and verify ------------------------------------------------------- */

static void
test_sign_roundtrip(void **state)
{
    struct tmp t;
    struct ferry_pubkey *pk;
    struct ferry_seckey *sk;
    struct ferry_error *err = NULL;
    char id1[17], id2[17];
    char *sig, *tc = NULL;
    size_t which = 99;

    (void)state;
    tmp_init(&t);
    make_keys(&t, &pk, &sk);
    ferry_pubkey_id(pk, id1, sizeof id1);
    ferry_seckey_id(sk, id2, sizeof id2);
    assert_int_equal(strlen(id1), 16);
    assert_string_equal(id1, id2);
    sig = sign_message(sk, "bundle:test\tsha256:abc");
    FERRY_ASSERT_OK(ferry_verify_buffer(&pk, 1, sig, strlen(sig), message, strlen(message),
                                        "test.minisig", &tc, &which, &err),
                    &err);
    assert_string_equal(tc, "bundle:test\tsha256:abc");
    assert_int_equal(which, 0);
    /* outputs are optional */
    FERRY_ASSERT_OK(ferry_verify_buffer(&pk, 1, sig, strlen(sig), message, strlen(message), NULL,
                                        NULL, NULL, &err),
                    &err);
    ferry_free(tc);
    ferry_free(sig);
    ferry_pubkey_free(pk);
    ferry_seckey_free(sk);
    tmp_cleanup(&t);
}

static void
test_sign_stream(void **state)
{
    static const size_t blocks[] = {1, 7, 4096};
    unsigned char data[20000];
    struct tmp t;
    struct ferry_pubkey *pk;
    struct ferry_seckey *sk;
    struct ferry_error *err = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 13 + 1);
    tmp_init(&t);
    make_keys(&t, &pk, &sk);
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
        struct ferry_signer *s = ferry_signer_new();
        char *sig = NULL, *tc = NULL;

        assert_non_null(s);
        for (size_t off = 0; off < sizeof data; off += blocks[b])
            ferry_signer_update(s, data + off,
                                sizeof data - off < blocks[b] ? sizeof data - off : blocks[b]);
        FERRY_ASSERT_OK(ferry_signer_final(s, sk, "c", "stream", &sig, &err), &err);
        /* the signer keeps its state: verify through it and through a buffer */
        FERRY_ASSERT_OK(ferry_verify_stream(&pk, 1, sig, strlen(sig), s, "s", &tc, NULL, &err),
                        &err);
        assert_string_equal(tc, "stream");
        FERRY_ASSERT_OK(
            ferry_verify_buffer(&pk, 1, sig, strlen(sig), data, sizeof data, "s", NULL, NULL, &err),
            &err);
        /* more data changes the hash */
        ferry_signer_update(s, "x", 1);
        assert_int_equal(ferry_verify_stream(&pk, 1, sig, strlen(sig), s, "s", NULL, NULL, &err),
                         -FERRY_E_SIGNATURE);
        ferry_error_clear(&err);
        ferry_free(tc);
        ferry_free(sig);
        ferry_signer_free(s);
    }
    ferry_signer_free(NULL);
    ferry_pubkey_free(pk);
    ferry_seckey_free(sk);
    tmp_cleanup(&t);
}

static void
test_sign_tampered_message(void **state)
{
    struct tmp t;
    struct ferry_pubkey *pk;
    struct ferry_seckey *sk;
    char *sig, *msg2 = ferry_strdup(message);

    (void)state;
    tmp_init(&t);
    make_keys(&t, &pk, &sk);
    sig = sign_message(sk, "t");
    msg2[0] ^= 1;
    expect_verify_fail(pk, sig, strlen(sig), msg2, strlen(msg2), FERRY_E_SIGNATURE);
    expect_verify_fail(pk, sig, strlen(sig), message, strlen(message) - 1, FERRY_E_SIGNATURE);
    expect_verify_fail(pk, sig, strlen(sig), "", 0, FERRY_E_SIGNATURE);
    ferry_free(msg2);
    ferry_free(sig);
    ferry_pubkey_free(pk);
    ferry_seckey_free(sk);
    tmp_cleanup(&t);
}

static void
test_sign_tampered_trusted_comment(void **state)
{
    struct tmp t;
    struct ferry_pubkey *pk;
    struct ferry_seckey *sk;
    char *sig, *p;

    (void)state;
    tmp_init(&t);
    make_keys(&t, &pk, &sk);
    sig = sign_message(sk, "timestamp:1700000000\tfile:a");
    p = strstr(sig, "file:a");
    assert_non_null(p);
    p[5] = 'b';
    expect_verify_fail(pk, sig, strlen(sig), message, strlen(message), FERRY_E_SIGNATURE);
    ferry_free(sig);
    ferry_pubkey_free(pk);
    ferry_seckey_free(sk);
    tmp_cleanup(&t);
}

static void
test_sign_untrusted_comment_not_signed(void **state)
{
    struct tmp t;
    struct ferry_pubkey *pk;
    struct ferry_seckey *sk;
    struct ferry_error *err = NULL;
    char *sig, *nl, *sig2;

    (void)state;
    tmp_init(&t);
    make_keys(&t, &pk, &sk);
    sig = sign_message(sk, "t");
    nl = strchr(sig, '\n');
    sig2 = ferry_asprintf("untrusted comment: anything at all%s", nl);
    FERRY_ASSERT_OK(ferry_verify_buffer(&pk, 1, sig2, strlen(sig2), message, strlen(message), "s",
                                        NULL, NULL, &err),
                    &err);
    ferry_free(sig2);
    ferry_free(sig);
    ferry_pubkey_free(pk);
    ferry_seckey_free(sk);
    tmp_cleanup(&t);
}

static void
test_sign_wrong_key(void **state)
{
    struct tmp t1, t2;
    struct ferry_pubkey *pk1, *pk2;
    struct ferry_seckey *sk1, *sk2;
    struct ferry_error *err = NULL;
    char id[17], *sig;

    (void)state;
    tmp_init(&t1);
    tmp_init(&t2);
    make_keys(&t1, &pk1, &sk1);
    make_keys(&t2, &pk2, &sk2);
    sig = sign_message(sk1, "t");
    expect_verify_fail(pk2, sig, strlen(sig), message, strlen(message), FERRY_E_UNTRUSTED_KEY);
    /* the message names the signing key id */
    ferry_seckey_id(sk1, id, sizeof id);
    assert_int_equal(ferry_verify_buffer(&pk2, 1, sig, strlen(sig), message, strlen(message), "s",
                                         NULL, NULL, &err),
                     -FERRY_E_UNTRUSTED_KEY);
    assert_non_null(strstr(err->msg, id));
    ferry_error_clear(&err);
    /* no keys at all */
    assert_int_equal(ferry_verify_buffer(NULL, 0, sig, strlen(sig), message, strlen(message), "s",
                                         NULL, NULL, &err),
                     -FERRY_E_UNTRUSTED_KEY);
    ferry_error_free(err);
    ferry_free(sig);
    ferry_pubkey_free(pk1);
    ferry_pubkey_free(pk2);
    ferry_seckey_free(sk1);
    ferry_seckey_free(sk2);
    tmp_cleanup(&t1);
    tmp_cleanup(&t2);
}

static void
test_sign_which_key(void **state)
{
    struct tmp t1, t2;
    struct ferry_pubkey *keys[3];
    struct ferry_seckey *sk1, *sk2;
    struct ferry_error *err = NULL;
    char *sig;
    size_t which = 99;

    (void)state;
    tmp_init(&t1);
    tmp_init(&t2);
    make_keys(&t1, &keys[0], &sk1);
    make_keys(&t2, &keys[2], &sk2);
    keys[1] = NULL; /* NULL entries are skipped */
    sig = sign_message(sk2, "t");
    FERRY_ASSERT_OK(ferry_verify_buffer(keys, 3, sig, strlen(sig), message, strlen(message), "s",
                                        NULL, &which, &err),
                    &err);
    assert_int_equal(which, 2);
    ferry_free(sig);
    ferry_pubkey_free(keys[0]);
    ferry_pubkey_free(keys[2]);
    ferry_seckey_free(sk1);
    ferry_seckey_free(sk2);
    tmp_cleanup(&t1);
    tmp_cleanup(&t2);
}

/* Replace the first occurrence of from in s by to (ferry_free). */
static char *
replace(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);

    assert_non_null(p);
    return ferry_asprintf("%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
}

static void
test_sign_malformed(void **state)
{
    struct tmp t;
    struct ferry_pubkey *pk;
    struct ferry_seckey *sk;
    char *sig, *lines[4], *bad[32], *big;
    size_t nbad = 0;

    (void)state;
    tmp_init(&t);
    make_keys(&t, &pk, &sk);
    sig = sign_message(sk, "t");
    {
        char *copy = ferry_strdup(sig), *p = copy;
        for (int i = 0; i < 4; i++) {
            char *nl = strchr(p, '\n');
            *nl = '\0';
            lines[i] = ferry_strdup(p);
            p = nl + 1;
        }
        ferry_free(copy);
    }
    bad[nbad++] = ferry_strdup("");
    bad[nbad++] = ferry_strdup("\n\n\n\n");
    bad[nbad++] = ferry_asprintf("%s\n%s\n%s\n", lines[0], lines[1], lines[2]);
    bad[nbad++] = ferry_asprintf("%s\n%s\n", lines[0], lines[1]);
    bad[nbad++] = ferry_asprintf("%s\n%s\n%s\n%s\nextra\n", lines[0], lines[1], lines[2], lines[3]);
    bad[nbad++] = ferry_asprintf("%s\n%s\n%s\n%s\n\n", lines[0], lines[1], lines[2], lines[3]);
    bad[nbad++] = ferry_asprintf("comment\n%s\n%s\n%s\n", lines[1], lines[2], lines[3]);
    bad[nbad++] = ferry_asprintf("%s\n%s\ncomment: x\n%s\n", lines[0], lines[1], lines[3]);
    bad[nbad++] = ferry_asprintf("%s\n%s\n%s\n%s\n", lines[0], lines[3], lines[2], lines[3]);
    bad[nbad++] = ferry_asprintf("%s\n%s\n%s\n%s\n", lines[0], lines[1], lines[2], lines[1]);
    bad[nbad++] = ferry_asprintf("%s\n%.99s\n%s\n%s\n", lines[0], lines[1], lines[2], lines[3]);
    bad[nbad++] = ferry_asprintf("%s\n%s=\n%s\n%s\n", lines[0], lines[1], lines[2], lines[3]);
    bad[nbad++] = ferry_asprintf("%s\n %s\n%s\n%s\n", lines[0], lines[1], lines[2], lines[3]);
    bad[nbad++] = ferry_asprintf("%s\n%s\n%s\n%s\r\r\n", lines[0], lines[1], lines[2], lines[3]);
    bad[nbad++] =
        ferry_asprintf("%s\r\n%s\r\n%s\r\n%s\r\n\r\n", lines[0], lines[1], lines[2], lines[3]);
    bad[nbad++] = ferry_asprintf("%s\n%s\n%s\r \n%s\n", lines[0], lines[1], lines[2], lines[3]);
    /* a character outside the base64 alphabet, and an algorithm other than Ed/ED */
    bad[nbad] = ferry_strdup(sig);
    bad[nbad++][strlen(lines[0]) + 1 + 10] = '*';
    bad[nbad++] = replace(sig, "\nRU", "\nRV");
    /* trusted comment with a control character */
    bad[nbad++] = replace(sig, "trusted comment: t", "trusted comment: t\x01");
    for (size_t i = 0; i < nbad; i++) {
        print_message("malformed case %zu\n", i);
        expect_verify_fail(pk, bad[i], strlen(bad[i]), message, strlen(message), FERRY_E_SIGNATURE);
    }
    /* an embedded NUL */
    expect_verify_fail(pk, sig, strlen(sig) + 1, message, strlen(message), FERRY_E_SIGNATURE);
    /* over the cap */
    big = ferry_malloc(FERRY_MAX_SIGNATURE + 2);
    memset(big, 'a', FERRY_MAX_SIGNATURE + 1);
    big[FERRY_MAX_SIGNATURE + 1] = '\0';
    expect_verify_fail(pk, big, FERRY_MAX_SIGNATURE + 1, message, strlen(message),
                       FERRY_E_TOO_LARGE);
    ferry_free(big);
    for (size_t i = 0; i < nbad; i++)
        ferry_free(bad[i]);
    for (int i = 0; i < 4; i++)
        ferry_free(lines[i]);
    ferry_free(sig);
    ferry_pubkey_free(pk);
    ferry_seckey_free(sk);
    tmp_cleanup(&t);
}

static void
test_sign_crlf_and_last_newline(void **state)
{
    struct tmp t;
    struct ferry_pubkey *pk;
    struct ferry_seckey *sk;
    struct ferry_error *err = NULL;
    char *sig, *crlf, *tc = NULL;
    size_t n = 0;

    (void)state;
    tmp_init(&t);
    make_keys(&t, &pk, &sk);
    sig = sign_message(sk, "crlf test");
    crlf = ferry_malloc(strlen(sig) * 2 + 1);
    for (const char *p = sig; *p; p++) {
        if (*p == '\n')
            crlf[n++] = '\r';
        crlf[n++] = *p;
    }
    crlf[n] = '\0';
    FERRY_ASSERT_OK(
        ferry_verify_buffer(&pk, 1, crlf, n, message, strlen(message), "s", &tc, NULL, &err), &err);
    assert_string_equal(tc, "crlf test");
    ferry_free(tc);
    /* without the final newline (as minisign's fgets tolerates) */
    FERRY_ASSERT_OK(ferry_verify_buffer(&pk, 1, sig, strlen(sig) - 1, message, strlen(message), "s",
                                        NULL, NULL, &err),
                    &err);
    FERRY_ASSERT_OK(
        ferry_verify_buffer(&pk, 1, crlf, n - 2, message, strlen(message), "s", NULL, NULL, &err),
        &err);
    ferry_free(crlf);
    ferry_free(sig);
    ferry_pubkey_free(pk);
    ferry_seckey_free(sk);
    tmp_cleanup(&t);
}

static void
test_sign_comments(void **state)
{
    struct tmp t;
    struct ferry_pubkey *pk;
    struct ferry_seckey *sk;
    struct ferry_error *err = NULL;
    char *sig = NULL, *tc = NULL, *long_tc;

    (void)state;
    tmp_init(&t);
    make_keys(&t, &pk, &sk);
    /* defaults */
    FERRY_ASSERT_OK(ferry_sign_buffer(sk, message, strlen(message), NULL, NULL, &sig, &err), &err);
    assert_true(strncmp(sig, "untrusted comment: signature from minisign secret key\nRU", 56) == 0);
    FERRY_ASSERT_OK(ferry_verify_buffer(&pk, 1, sig, strlen(sig), message, strlen(message), "s",
                                        &tc, NULL, &err),
                    &err);
    assert_true(strncmp(tc, "timestamp:", 10) == 0);
    assert_string_equal(tc + strlen(tc) - 7, "\thashed");
    ferry_free(tc);
    ferry_safefree(sig);
    /* UTF-8 and TAB are fine */
    FERRY_ASSERT_OK(
        ferry_sign_buffer(sk, message, strlen(message), "c", "f\xc3\xa4hre\tx", &sig, &err), &err);
    ferry_safefree(sig);
    /* refused: newline, CR, control character, bad UTF-8, too long */
    assert_int_equal(ferry_sign_buffer(sk, message, 1, NULL, "a\nb", &sig, &err), -FERRY_E_INVALID);
    ferry_error_clear(&err);
    assert_int_equal(ferry_sign_buffer(sk, message, 1, NULL, "a\rb", &sig, &err), -FERRY_E_INVALID);
    ferry_error_clear(&err);
    assert_int_equal(ferry_sign_buffer(sk, message, 1, NULL, "a\x1b", &sig, &err),
                     -FERRY_E_INVALID);
    ferry_error_clear(&err);
    assert_int_equal(ferry_sign_buffer(sk, message, 1, NULL, "\xc3(", &sig, &err),
                     -FERRY_E_INVALID);
    ferry_error_clear(&err);
    assert_int_equal(ferry_sign_buffer(sk, message, 1, "a\nb", "t", &sig, &err), -FERRY_E_INVALID);
    ferry_error_clear(&err);
    long_tc = ferry_malloc(8175);
    memset(long_tc, 'x', 8174);
    long_tc[8174] = '\0';
    assert_int_equal(ferry_sign_buffer(sk, message, 1, NULL, long_tc, &sig, &err),
                     -FERRY_E_INVALID);
    ferry_error_clear(&err);
    /* the longest minisign accepts */
    long_tc[8173] = '\0';
    FERRY_ASSERT_OK(ferry_sign_buffer(sk, message, 1, NULL, long_tc, &sig, &err), &err);
    FERRY_ASSERT_OK(ferry_verify_buffer(&pk, 1, sig, strlen(sig), message, 1, "s", &tc, NULL, &err),
                    &err);
    assert_int_equal(strlen(tc), 8173);
    ferry_free(tc);
    ferry_free(sig);
    ferry_free(long_tc);
    ferry_pubkey_free(pk);
    ferry_seckey_free(sk);
    tmp_cleanup(&t);
}

/* ---- keys --------------------------------------------------------------------- */

static void
test_pubkey_parse(void **state)
{
    static const char b64[] = "RWTdv2dzIryVY23xyTq4c0/Juv3Ks+YqiZv9+k/i/DH872DHUU06voIx";
    static const char *const good[] = {
        "untrusted comment: minisign public key 6395BC227367BFDD\n"
        "RWTdv2dzIryVY23xyTq4c0/Juv3Ks+YqiZv9+k/i/DH872DHUU06voIx\n",
        "untrusted comment: x\r\nRWTdv2dzIryVY23xyTq4c0/Juv3Ks+YqiZv9+k/i/DH872DHUU06voIx\r\n",
        "RWTdv2dzIryVY23xyTq4c0/Juv3Ks+YqiZv9+k/i/DH872DHUU06voIx",
        "RWTdv2dzIryVY23xyTq4c0/Juv3Ks+YqiZv9+k/i/DH872DHUU06voIx\n",
    };
    static const char *const bad[] = {
        "",
        "\n",
        "untrusted comment: x\n",
        "untrusted comment: x",
        "RWTdv2dzIryVY23xyTq4c0/Juv3Ks+YqiZv9+k/i/DH872DHUU06voI",
        "RWTdv2dzIryVY23xyTq4c0/Juv3Ks+YqiZv9+k/i/DH872DHUU06voIx\n\n",
        "RWTdv2dzIryVY23xyTq4c0/Juv3Ks+YqiZv9+k/i/DH872DHUU06voIx\nmore",
        " RWTdv2dzIryVY23xyTq4c0/Juv3Ks+YqiZv9+k/i/DH872DHUU06voIx",
        "RUTdv2dzIryVY23xyTq4c0/Juv3Ks+YqiZv9+k/i/DH872DHUU06voIx",
        "comment: x\nRWTdv2dzIryVY23xyTq4c0/Juv3Ks+YqiZv9+k/i/DH872DHUU06voIx\n",
        "untrusted comment: x\rz\nRWTdv2dzIryVY23xyTq4c0/Juv3Ks+YqiZv9+k/i/DH872DHUU06voIx\n",
    };
    struct ferry_error *err = NULL;
    char id[17];

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct ferry_pubkey *pk = NULL;
        FERRY_ASSERT_OK(ferry_pubkey_parse(good[i], strlen(good[i]), "k.pub", &pk, &err), &err);
        ferry_pubkey_id(pk, id, sizeof id);
        assert_string_equal(id, "6395BC227367BFDD");
        ferry_pubkey_free(pk);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ferry_pubkey *pk = NULL;
        print_message("bad public key %zu\n", i);
        assert_int_equal(ferry_pubkey_parse(bad[i], strlen(bad[i]), "k.pub", &pk, &err),
                         -FERRY_E_INVALID);
        assert_null(pk);
        assert_non_null(strstr(err->msg, "k.pub"));
        ferry_error_clear(&err);
    }
    /* the id is truncated to the buffer, never overflowing */
    {
        struct ferry_pubkey *pk = NULL;
        char small[5];
        FERRY_ASSERT_OK(ferry_pubkey_parse(b64, strlen(b64), NULL, &pk, &err), &err);
        ferry_pubkey_id(pk, small, sizeof small);
        assert_string_equal(small, "6395");
        ferry_pubkey_free(pk);
    }
    ferry_pubkey_free(NULL);
}

static void
test_keygen_files(void **state)
{
    struct tmp t;
    struct ferry_error *err = NULL;
    struct ferry_pubkey *pk;
    struct stat st;
    char *pub, *sec, id[17], *want;
    const char *want2;
    size_t publen, seclen;

    (void)state;
    tmp_init(&t);
    FERRY_ASSERT_OK(ferry_keygen(t.pub, t.sec, NULL, false, &err), &err);
    assert_int_equal(stat(t.sec, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    pub = slurp(t.pub, &publen);
    sec = slurp(t.sec, &seclen);
    pk = load_pub(t.pub);
    ferry_pubkey_id(pk, id, sizeof id);
    want = ferry_asprintf("untrusted comment: minisign public key %s\n", id);
    assert_true(strncmp(pub, want, strlen(want)) == 0);
    assert_int_equal(publen, strlen(want) + 56 + 1);
    assert_true(strncmp(pub + strlen(want), "RW", 2) == 0);
    assert_int_equal(pub[publen - 1], '\n');
    /* -W keys: kdf 00 00 and minisign's (misleading) comment */
    want2 = "untrusted comment: minisign encrypted secret key\nRWQAAEIy";
    assert_true(strncmp(sec, want2, strlen(want2)) == 0);
    assert_int_equal(seclen, strlen("untrusted comment: minisign encrypted secret key\n") + 213);
    ferry_free(want);
    ferry_free(pub);
    ferry_free(sec);
    ferry_pubkey_free(pk);
    tmp_cleanup(&t);
}

static void
test_keygen_no_overwrite(void **state)
{
    struct tmp t;
    struct ferry_error *err = NULL;
    struct stat st;
    char *pub1, *sec1, *pub2, *sec2;

    (void)state;
    tmp_init(&t);
    FERRY_ASSERT_OK(ferry_keygen(t.pub, t.sec, NULL, false, &err), &err);
    pub1 = slurp(t.pub, NULL);
    sec1 = slurp(t.sec, NULL);
    assert_true(ferry_keygen(t.pub, t.sec, NULL, false, &err) < 0);
    assert_non_null(strstr(err->msg, t.pub));
    assert_int_equal(err->sys_errno, EEXIST);
    ferry_error_clear(&err);
    /* only the secret key exists: still refused, nothing written */
    unlink(t.pub);
    assert_true(ferry_keygen(t.pub, t.sec, NULL, false, &err) < 0);
    assert_non_null(strstr(err->msg, t.sec));
    ferry_error_clear(&err);
    assert_int_equal(access(t.pub, F_OK), -1);
    pub2 = slurp(t.sec, NULL);
    assert_string_equal(pub2, sec1);
    ferry_free(pub2);
    /* force replaces both, and the secret key is 0600 even if the old one was not */
    write_file(t.pub, pub1, strlen(pub1));
    assert_int_equal(chmod(t.sec, 0644), 0);
    FERRY_ASSERT_OK(ferry_keygen(t.pub, t.sec, NULL, true, &err), &err);
    assert_int_equal(stat(t.sec, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    pub2 = slurp(t.pub, NULL);
    sec2 = slurp(t.sec, NULL);
    assert_string_not_equal(pub1, pub2);
    assert_string_not_equal(sec1, sec2);
    ferry_free(pub1);
    ferry_free(sec1);
    ferry_free(pub2);
    ferry_free(sec2);
    tmp_cleanup(&t);
}

static void
test_keygen_encrypted(void **state)
{
    struct tmp t;
    struct ferry_error *err = NULL;
    struct ferry_seckey *sk = NULL;
    struct ferry_pubkey *pk;
    char *sec, *sig, id1[17], id2[17];

    (void)state;
    tmp_init(&t);
    FERRY_ASSERT_OK(ferry_keygen_limits(t.pub, t.sec, "s3cret pw", false, FAST_OPS, FAST_MEM, &err),
                    &err);
    sec = slurp(t.sec, NULL);
    /* "Ed" "Sc" "B2" */
    assert_non_null(strstr(sec, "\nRWRTY0Iy"));
    ferry_free(sec);
    sk = load_sec(t.sec, "s3cret pw");
    pk = load_pub(t.pub);
    ferry_pubkey_id(pk, id1, sizeof id1);
    ferry_seckey_id(sk, id2, sizeof id2);
    assert_string_equal(id1, id2);
    sig = sign_message(sk, "enc");
    FERRY_ASSERT_OK(ferry_verify_buffer(&pk, 1, sig, strlen(sig), message, strlen(message), "s",
                                        NULL, NULL, &err),
                    &err);
    ferry_free(sig);
    ferry_seckey_free(sk);
    sk = NULL;

    /* wrong password */
    assert_int_equal(ferry_seckey_load(t.sec, password_cb, (void *)"s3cret pW", &sk, &err),
                     -FERRY_E_CRYPTO);
    assert_null(sk);
    assert_non_null(strstr(err->msg, "wrong password"));
    assert_non_null(strstr(err->msg, t.sec));
    ferry_error_clear(&err);
    /* cancelled, and no callback */
    assert_int_equal(ferry_seckey_load(t.sec, password_cb, NULL, &sk, &err), -FERRY_E_CRYPTO);
    ferry_error_clear(&err);
    assert_int_equal(ferry_seckey_load(t.sec, NULL, NULL, &sk, &err), -FERRY_E_CRYPTO);
    ferry_error_clear(&err);
    assert_null(sk);
    ferry_pubkey_free(pk);
    tmp_cleanup(&t);
}

/* Rewrite the secret key file of t with edit applied to its decoded bytes. */
static void
edit_seckey(const struct tmp *t, void (*edit)(unsigned char *bin))
{
    unsigned char bin[158];
    char b64[213], *text, *nl, *out;
    size_t binlen = 0;

    text = slurp(t->sec, NULL);
    nl = strchr(text, '\n');
    assert_int_equal(sodium_base642bin(bin, sizeof bin, nl + 1, 212, NULL, &binlen, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(binlen, 158);
    edit(bin);
    sodium_bin2base64(b64, sizeof b64, bin, sizeof bin, sodium_base64_VARIANT_ORIGINAL);
    out = ferry_asprintf("%.*s\n%s\n", (int)(nl - text), text, b64);
    write_file(t->sec, out, strlen(out));
    ferry_free(out);
    ferry_free(text);
}

static void
raise_opslimit(unsigned char *bin)
{
    bin[38 + 4] = 0x10; /* opslimit little-endian at offset 38: 2^36 */
}

static void
flip_seed(unsigned char *bin)
{
    bin[62] ^= 1; /* first seed byte of sk */
}

static void
bad_kdf(unsigned char *bin)
{
    bin[2] = 'X';
}

static void
test_seckey_rejects(void **state)
{
    struct tmp t;
    struct ferry_error *err = NULL;
    struct ferry_seckey *sk = NULL;

    (void)state;
    tmp_init(&t);
    /* scrypt limits above minisign's are refused before any work */
    FERRY_ASSERT_OK(ferry_keygen_limits(t.pub, t.sec, "pw", false, FAST_OPS, FAST_MEM, &err), &err);
    edit_seckey(&t, raise_opslimit);
    assert_int_equal(ferry_seckey_load(t.sec, password_cb, (void *)"pw", &sk, &err),
                     -FERRY_E_UNSUPPORTED);
    ferry_error_clear(&err);
    /* an unencrypted key whose seed does not give its public half */
    FERRY_ASSERT_OK(ferry_keygen(t.pub, t.sec, NULL, true, &err), &err);
    edit_seckey(&t, flip_seed);
    assert_int_equal(ferry_seckey_load(t.sec, NULL, NULL, &sk, &err), -FERRY_E_CRYPTO);
    ferry_error_clear(&err);
    /* unknown kdf */
    FERRY_ASSERT_OK(ferry_keygen(t.pub, t.sec, NULL, true, &err), &err);
    edit_seckey(&t, bad_kdf);
    assert_int_equal(ferry_seckey_load(t.sec, NULL, NULL, &sk, &err), -FERRY_E_UNSUPPORTED);
    ferry_error_clear(&err);
    /* text damage */
    write_file(t.sec, "untrusted comment: x\nRWQAAEIy\n", 30);
    assert_int_equal(ferry_seckey_load(t.sec, NULL, NULL, &sk, &err), -FERRY_E_INVALID);
    ferry_error_clear(&err);
    /* missing file */
    unlink(t.sec);
    assert_int_equal(ferry_seckey_load(t.sec, NULL, NULL, &sk, &err), -FERRY_E_NOT_FOUND);
    assert_non_null(strstr(err->msg, t.sec));
    ferry_error_clear(&err);
    assert_null(sk);
    ferry_seckey_free(NULL);
    tmp_cleanup(&t);
}

static void
test_sign_no_leak(void **state)
{
    struct tmp t;
    struct ferry_pubkey *pk;
    struct ferry_seckey *sk;
    struct ferry_error *err = NULL;
    size_t before;
    char *sig;

    (void)state;
    tmp_init(&t);
    before = ferry_alloc_current();
    make_keys(&t, &pk, &sk);
    sig = sign_message(sk, "t");
    FERRY_ASSERT_OK(ferry_verify_buffer(&pk, 1, sig, strlen(sig), message, strlen(message), "s",
                                        NULL, NULL, &err),
                    &err);
    ferry_free(sig);
    ferry_pubkey_free(pk);
    ferry_seckey_free(sk);
    assert_int_equal(ferry_alloc_current(), before);
    tmp_cleanup(&t);
}

/* ---- shared vectors (minisign 0.11) ----------------------------------------- */

static const char *
vec(const char *name, char *buf, size_t buflen)
{
    char rel[128];
    const char *p;

    snprintf(rel, sizeof rel, "minisign-vectors/%s", name);
    p = ferry_test_shared(rel);
    if (p == NULL)
        return NULL;
    snprintf(buf, buflen, "%s", p);
    return buf;
}

#define NEED_VECTOR(var, name)                                                                     \
    char var##_buf[4096];                                                                          \
    const char *var = vec(name, var##_buf, sizeof var##_buf);                                      \
    if (var == NULL) {                                                                             \
        FERRY_SKIP("shared minisign vectors not present");                                         \
        return;                                                                                    \
    }

static void
verify_vector(const char *pub_name, const char *msg_name, const char *sig_name, const char *want_tc)
{
    NEED_VECTOR(pubp, pub_name);
    NEED_VECTOR(msgp, msg_name);
    NEED_VECTOR(sigp, sig_name);
    struct ferry_pubkey *pk = load_pub(pubp);
    struct ferry_error *err = NULL;
    size_t msglen, siglen;
    char *msg = slurp(msgp, &msglen), *sig = slurp(sigp, &siglen), *tc = NULL;

    FERRY_ASSERT_OK(ferry_verify_buffer(&pk, 1, sig, siglen, msg, msglen, sigp, &tc, NULL, &err),
                    &err);
    assert_string_equal(tc, want_tc);
    ferry_free(tc);
    ferry_free(msg);
    ferry_free(sig);
    ferry_pubkey_free(pk);
}

static void
test_vectors_prehashed(void **state)
{
    (void)state;
    verify_vector("test.pub", "message.txt", "message.txt.minisig",
                  "timestamp:1700000000\tfile:message.txt\thashed");
}

static void
test_vectors_legacy(void **state)
{
    NEED_VECTOR(pubp, "test.pub");
    NEED_VECTOR(msgp, "message.txt");
    NEED_VECTOR(sigp, "message.txt.legacy.minisig");
    struct ferry_pubkey *pk;
    struct ferry_signer *s;
    struct ferry_error *err = NULL;
    size_t msglen, siglen;
    char *msg, *sig;

    (void)state;
    verify_vector("test.pub", "message.txt", "message.txt.legacy.minisig", "legacy test");
    /* a stream has no message for a legacy signature */
    pk = load_pub(pubp);
    msg = slurp(msgp, &msglen);
    sig = slurp(sigp, &siglen);
    s = ferry_signer_new();
    ferry_signer_update(s, msg, msglen);
    assert_int_equal(ferry_verify_stream(&pk, 1, sig, siglen, s, "legacy", NULL, NULL, &err),
                     -FERRY_E_SIGNATURE);
    assert_non_null(strstr(err->msg, "legacy"));
    ferry_error_free(err);
    ferry_signer_free(s);
    ferry_free(msg);
    ferry_free(sig);
    ferry_pubkey_free(pk);
}

static void
test_vectors_empty(void **state)
{
    (void)state;
    verify_vector("test.pub", "empty.bin", "empty.bin.minisig", "empty file");
}

static void
test_vectors_python(void **state)
{
    (void)state;
    verify_vector("test.pub", "message.txt", "python-signed.minisig",
                  "timestamp:1700000001\tfile:message.txt\thashed");
}

static void
test_vectors_wrong_pub(void **state)
{
    NEED_VECTOR(pubp, "enc.pub");
    NEED_VECTOR(msgp, "message.txt");
    NEED_VECTOR(sigp, "message.txt.minisig");
    struct ferry_pubkey *pk = load_pub(pubp);
    size_t msglen, siglen;
    char *msg = slurp(msgp, &msglen), *sig = slurp(sigp, &siglen);

    (void)state;
    expect_verify_fail(pk, sig, siglen, msg, msglen, FERRY_E_UNTRUSTED_KEY);
    ferry_free(msg);
    ferry_free(sig);
    ferry_pubkey_free(pk);
}

/* Ed25519 is deterministic: signing message.txt with test.key and the same
 * comments reproduces minisign's file byte for byte. */
static void
test_vectors_sign_identical(void **state)
{
    NEED_VECTOR(keyp, "test.key");
    NEED_VECTOR(msgp, "message.txt");
    NEED_VECTOR(sigp, "message.txt.minisig");
    struct ferry_seckey *sk;
    struct ferry_error *err = NULL;
    size_t msglen;
    char *msg = slurp(msgp, &msglen), *want = slurp(sigp, NULL), *got = NULL, id[17];

    (void)state;
    sk = load_sec(keyp, NULL);
    ferry_seckey_id(sk, id, sizeof id);
    assert_string_equal(id, "6395BC227367BFDD");
    FERRY_ASSERT_OK(ferry_sign_buffer(sk, msg, msglen, "untrusted test comment",
                                      "timestamp:1700000000\tfile:message.txt\thashed", &got, &err),
                    &err);
    assert_string_equal(got, want);
    ferry_free(got);
    ferry_free(msg);
    ferry_free(want);
    ferry_seckey_free(sk);
}

/* scrypt with minisign's sensitive limits: about 1 GiB and a few seconds. */
static void
test_vectors_encrypted_key(void **state)
{
    NEED_VECTOR(keyp, "enc.key");
    NEED_VECTOR(pubp, "enc.pub");
    struct ferry_seckey *sk;
    struct ferry_pubkey *pk;
    struct ferry_error *err = NULL;
    char id1[17], id2[17], *sig;

    (void)state;
    sk = load_sec(keyp, "correct horse");
    pk = load_pub(pubp);
    ferry_seckey_id(sk, id1, sizeof id1);
    ferry_pubkey_id(pk, id2, sizeof id2);
    assert_string_equal(id1, "4F4E18D68D45463E");
    assert_string_equal(id1, id2);
    sig = sign_message(sk, "enc vector");
    FERRY_ASSERT_OK(ferry_verify_buffer(&pk, 1, sig, strlen(sig), message, strlen(message), "s",
                                        NULL, NULL, &err),
                    &err);
    ferry_free(sig);
    ferry_pubkey_free(pk);
    ferry_seckey_free(sk);
}

/* ---- interoperability with the minisign binary ------------------------------- */

#define NEED_MINISIGN()                                                                            \
    do {                                                                                           \
        if (!have_minisign()) {                                                                    \
            FERRY_SKIP(MINISIGN " not installed");                                                 \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static void
write_sig_for(const struct tmp *t, const struct ferry_seckey *sk)
{
    char *sig = NULL;
    struct ferry_error *err = NULL;

    write_file(t->msg, message, strlen(message));
    FERRY_ASSERT_OK(ferry_sign_buffer(sk, message, strlen(message), NULL,
                                      "timestamp:1\tfile:message.txt\thashed", &sig, &err),
                    &err);
    write_file(t->sig, sig, strlen(sig));
    ferry_free(sig);
}

static void
test_interop_minisign_verifies_ferry(void **state)
{
    struct tmp t;
    struct ferry_pubkey *pk;
    struct ferry_seckey *sk;

    (void)state;
    NEED_MINISIGN();
    tmp_init(&t);
    make_keys(&t, &pk, &sk);
    write_sig_for(&t, sk);
    {
        const char *argv[] = {MINISIGN, "-Vm", t.msg, "-p", t.pub, "-x", t.sig, NULL};
        assert_int_equal(run(argv, NULL), 0);
    }
    {
        const char *argv[] = {MINISIGN, "-V", "-H", "-m", t.msg, "-p", t.pub, "-x", t.sig, NULL};
        assert_int_equal(run(argv, NULL), 0);
    }
    /* and minisign notices a changed message */
    write_file(t.msg, "other\n", 6);
    {
        const char *argv[] = {MINISIGN, "-Vm", t.msg, "-p", t.pub, "-x", t.sig, NULL};
        assert_int_equal(run(argv, NULL), 1);
    }
    ferry_pubkey_free(pk);
    ferry_seckey_free(sk);
    tmp_cleanup(&t);
}

static void
test_interop_ferry_uses_minisign_key(void **state)
{
    struct tmp t;
    struct ferry_pubkey *pk;
    struct ferry_seckey *sk;
    struct ferry_error *err = NULL;
    char id1[17], id2[17], *sig;

    (void)state;
    NEED_MINISIGN();
    tmp_init(&t);
    {
        const char *argv[] = {MINISIGN, "-G", "-W", "-p", t.pub, "-s", t.sec, NULL};
        assert_int_equal(run(argv, NULL), 0);
    }
    pk = load_pub(t.pub);
    sk = load_sec(t.sec, NULL);
    ferry_pubkey_id(pk, id1, sizeof id1);
    ferry_seckey_id(sk, id2, sizeof id2);
    assert_string_equal(id1, id2);
    sig = sign_message(sk, "t");
    FERRY_ASSERT_OK(ferry_verify_buffer(&pk, 1, sig, strlen(sig), message, strlen(message), "s",
                                        NULL, NULL, &err),
                    &err);
    ferry_free(sig);
    write_sig_for(&t, sk);
    {
        const char *argv[] = {MINISIGN, "-Vm", t.msg, "-p", t.pub, "-x", t.sig, NULL};
        assert_int_equal(run(argv, NULL), 0);
    }
    ferry_pubkey_free(pk);
    ferry_seckey_free(sk);
    tmp_cleanup(&t);
}

static void
verify_minisign_sig(const struct tmp *t, const char *want_tc)
{
    struct ferry_pubkey *pk = load_pub(t->pub);
    struct ferry_error *err = NULL;
    size_t siglen;
    char *sig = slurp(t->sig, &siglen), *tc = NULL;

    FERRY_ASSERT_OK(
        ferry_verify_buffer(&pk, 1, sig, siglen, message, strlen(message), t->sig, &tc, NULL, &err),
        &err);
    assert_string_equal(tc, want_tc);
    ferry_free(tc);
    ferry_free(sig);
    ferry_pubkey_free(pk);
}

static void
test_interop_minisign_signs_with_ferry_key(void **state)
{
    struct tmp t;
    struct ferry_error *err = NULL;

    (void)state;
    NEED_MINISIGN();
    tmp_init(&t);
    FERRY_ASSERT_OK(ferry_keygen(t.pub, t.sec, NULL, false, &err), &err);
    write_file(t.msg, message, strlen(message));
    {
        const char *argv[] = {MINISIGN, "-S",  "-s", t.sec,           "-m", t.msg,
                              "-x",     t.sig, "-t", "from minisign", NULL};
        assert_int_equal(run(argv, NULL), 0);
    }
    verify_minisign_sig(&t, "from minisign");
    /* legacy signatures verify from a buffer */
    {
        const char *argv[] = {MINISIGN, "-S", "-l",  "-s", t.sec,    "-m",
                              t.msg,    "-x", t.sig, "-t", "legacy", NULL};
        assert_int_equal(run(argv, NULL), 0);
    }
    verify_minisign_sig(&t, "legacy");
    tmp_cleanup(&t);
}

/* minisign decrypts a key ferry encrypted (password on stdin; fast limits,
 * which minisign reads from the file). */
static void
test_interop_minisign_decrypts_ferry_key(void **state)
{
    struct tmp t;
    struct ferry_error *err = NULL;

    (void)state;
    NEED_MINISIGN();
    tmp_init(&t);
    FERRY_ASSERT_OK(
        ferry_keygen_limits(t.pub, t.sec, "pass phrase", false, FAST_OPS, FAST_MEM, &err), &err);
    write_file(t.msg, message, strlen(message));
    {
        const char *argv[] = {MINISIGN, "-S",  "-s", t.sec,       "-m", t.msg,
                              "-x",     t.sig, "-t", "encrypted", NULL};
        assert_int_equal(run(argv, "pass phrase\n"), 0);
    }
    verify_minisign_sig(&t, "encrypted");
    {
        const char *argv[] = {MINISIGN, "-S", "-s", t.sec, "-m", t.msg, "-x", t.sig, NULL};
        assert_int_not_equal(run(argv, "wrong\n"), 0);
    }
    tmp_cleanup(&t);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sign_roundtrip),
    cmocka_unit_test(test_sign_stream),
    cmocka_unit_test(test_sign_tampered_message),
    cmocka_unit_test(test_sign_tampered_trusted_comment),
    cmocka_unit_test(test_sign_untrusted_comment_not_signed),
    cmocka_unit_test(test_sign_wrong_key),
    cmocka_unit_test(test_sign_which_key),
    cmocka_unit_test(test_sign_malformed),
    cmocka_unit_test(test_sign_crlf_and_last_newline),
    cmocka_unit_test(test_sign_comments),
    cmocka_unit_test(test_pubkey_parse),
    cmocka_unit_test(test_keygen_files),
    cmocka_unit_test(test_keygen_no_overwrite),
    cmocka_unit_test(test_keygen_encrypted),
    cmocka_unit_test(test_seckey_rejects),
    cmocka_unit_test(test_sign_no_leak),
    cmocka_unit_test(test_vectors_prehashed),
    cmocka_unit_test(test_vectors_legacy),
    cmocka_unit_test(test_vectors_empty),
    cmocka_unit_test(test_vectors_python),
    cmocka_unit_test(test_vectors_wrong_pub),
    cmocka_unit_test(test_vectors_sign_identical),
    cmocka_unit_test(test_vectors_encrypted_key),
    cmocka_unit_test(test_interop_minisign_verifies_ferry),
    cmocka_unit_test(test_interop_ferry_uses_minisign_key),
    cmocka_unit_test(test_interop_minisign_signs_with_ferry_key),
    cmocka_unit_test(test_interop_minisign_decrypts_ferry_key),
};
FERRY_UNIT_MAIN(tests)
