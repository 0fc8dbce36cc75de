/* ferry registry client: writing the auth file credentials are read from
 * (`login`, `logout`): the docker config.json / containers auth.json
 * convention, {"auths": {"HOST": {"auth": base64(user:password)}}}. Every
 * other key and entry of the file is kept as it is; the file is replaced
 * atomically (a temporary file beside it, fsync, rename) with mode 0600. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ferry/limits.h"
#include "registry_int.h"

/* The file login writes: the first one credentials are read from. */
static int
store_path(const char *auth_file, char **out, struct ferry_error **err)
{
    const char *paths[2];
    char *docker = NULL;
    int r = reg_auth_files(auth_file, paths, &docker, err);

    if (r < 0)
        return r;
    if (paths[0] == NULL)
        r = ferry_error_new(err, FERRY_E_USAGE,
                            "no auth file to write: give --authfile FILE (or set HOME, "
                            "DOCKER_CONFIG or REGISTRY_AUTH_FILE)");
    else if ((*out = ferry_strdup(paths[0])) == NULL)
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    ferry_free(docker);
    return r;
}

/* The file's JSON, or an empty object when it does not exist yet. */
static int
load(const char *path, json_t **out, struct ferry_error **err)
{
    struct ferry_buf b;
    json_error_t jerr;
    int r;

    ferry_buf_init(&b, FERRY_MAX_CONFIG_FILE);
    r = ferry_read_file(path, &b, err);
    if (r < 0 && (*err)->sys_errno == ENOENT) {
        ferry_error_clear(err);
        ferry_buf_free(&b);
        *out = json_object();
        return *out ? 0 : ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    }
    if (r == 0) {
        *out = json_loadb(b.data ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &jerr);
        if (*out == NULL || !json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            r = ferry_error_new(err, FERRY_E_INVALID,
                                "auth file %s is not a JSON object (line %d): left unchanged", path,
                                jerr.line);
        }
    }
    if (b.data != NULL)
        sodium_memzero(b.data, b.len);
    ferry_buf_free(&b);
    return r;
}

/* mkdir -p for the file's directory; new directories get mode 0700. */
static int
make_parent(const char *path, struct ferry_error **err)
{
    char *dir = ferry_strdup(path), *p;
    int r = 0;

    if (dir == NULL)
        return ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
    for (p = dir + 1; r == 0 && (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            r = ferry_error_sys(err, errno, "create directory %s", dir);
        *p = '/';
    }
    ferry_free(dir);
    return r;
}

/* Replace path with root's text: a temporary file beside it, fsync, rename. */
static int
save(const char *path, json_t *root, struct ferry_error **err)
{
    char *text = NULL, *tmp = NULL;
    size_t len;
    int fd = -1, r;

    if ((r = make_parent(path, err)) < 0)
        return r;
    text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    tmp = ferry_asprintf("%s.ferry-XXXXXX", path);
    if (text == NULL || tmp == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    len = strlen(text);
    if ((fd = mkstemp(tmp)) < 0) {
        r = ferry_error_sys(err, errno, "create %s", tmp);
        goto out;
    }
    if (fchmod(fd, 0600) < 0) {
        r = ferry_error_sys(err, errno, "chmod %s", tmp);
        goto out;
    }
    if (ferry_write_all(fd, text, len) < 0 || ferry_write_all(fd, "\n", 1) < 0 || fsync(fd) < 0) {
        r = ferry_error_sys(err, errno, "write %s", tmp);
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        r = ferry_error_sys(err, errno, "close %s", tmp);
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        r = ferry_error_sys(err, errno, "rename %s to %s", tmp, path);
        goto out;
    }
    ferry_safefree(tmp);
out:
    if (fd >= 0)
        close(fd);
    if (tmp != NULL)
        unlink(tmp);
    if (text != NULL) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
    ferry_free(tmp);
    return r;
}

int
ferry_registry_login_store(const char *auth_file, const char *host, const char *user,
                           const char *password, char **path_out, struct ferry_error **err)
{
    json_t *root = NULL, *auths, *entry;
    char *path = NULL, *plain = NULL, *b64 = NULL;
    size_t plen, blen;
    int r;

    if (strchr(user, ':') != NULL)
        return ferry_error_new(err, FERRY_E_USAGE, "a user name holds no ':' (user:password)");
    if ((r = store_path(auth_file, &path, err)) < 0 || (r = load(path, &root, err)) < 0)
        goto out;
    auths = json_object_get(root, "auths");
    if (auths == NULL) {
        auths = json_object();
        if (auths == NULL || json_object_set_new(root, "auths", auths) < 0) {
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
    } else if (!json_is_object(auths)) {
        r = ferry_error_new(err, FERRY_E_INVALID,
                            "auth file %s: auths is not an object: left unchanged", path);
        goto out;
    }
    if (json_is_object(json_object_get(json_object_get(root, "credHelpers"), host)) ||
        json_is_string(json_object_get(json_object_get(root, "credHelpers"), host)) ||
        json_is_string(json_object_get(root, "credsStore")))
        ferry_log(FERRY_LOG_WARN,
                  "%s names a credential helper; it is asked before the entry written here", path);
    plen = strlen(user) + 1 + strlen(password);
    blen = sodium_base64_ENCODED_LEN(plen, sodium_base64_VARIANT_ORIGINAL);
    plain = sodium_malloc(plen + 1);
    b64 = sodium_malloc(blen);
    if (plain == NULL || b64 == NULL) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    snprintf(plain, plen + 1, "%s:%s", user, password);
    sodium_bin2base64(b64, blen, (const unsigned char *)plain, plen,
                      sodium_base64_VARIANT_ORIGINAL);
    entry = json_pack("{s:s}", "auth", b64);
    if (entry == NULL || json_object_set_new(auths, reg_store_key(host), entry) < 0) {
        r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
        goto out;
    }
    if ((r = save(path, root, err)) < 0)
        goto out;
    if (path_out != NULL) {
        *path_out = path;
        path = NULL;
    }
out:
    if (root != NULL) {
        reg_wipe_config(root);
        json_decref(root);
    }
    sodium_free(plain);
    sodium_free(b64);
    ferry_free(path);
    return r;
}

int
ferry_registry_logout_store(const char *auth_file, const char *host, char **path_out,
                            struct ferry_error **err)
{
    json_t *root = NULL, *auths;
    char *path = NULL;
    int r, removed = 0;

    if ((r = store_path(auth_file, &path, err)) < 0 || (r = load(path, &root, err)) < 0)
        goto out;
    auths = json_object_get(root, "auths");
    if (json_is_object(auths)) {
        const char *k;
        json_t *e, *gone = json_object(), *wrap = json_object();
        void *it;
        if (gone == NULL || wrap == NULL || json_object_set(wrap, "auths", gone) < 0) {
            json_decref(gone);
            json_decref(wrap);
            r = ferry_error_new(err, FERRY_E_NOMEM, "out of memory");
            goto out;
        }
        /* every key the lookup would read for host, not only the one login writes */
        json_object_foreach_safe(auths, it, k, e)
        {
            if (!reg_key_is_for(k, host))
                continue;
            json_object_set(gone, k, e); /* kept alive to be wiped */
            json_object_del(auths, k);
            removed = 1;
        }
        reg_wipe_config(wrap);
        json_decref(gone);
        json_decref(wrap);
        if (removed && (r = save(path, root, err)) < 0)
            goto out;
    }
    if (path_out != NULL) {
        *path_out = path;
        path = NULL;
    }
out:
    if (root != NULL) {
        reg_wipe_config(root);
        json_decref(root);
    }
    ferry_free(path);
    return r < 0 ? r : removed;
}
