#!/usr/bin/python3
"""What a registry holds, and whether every tag points at complete content.

  regcheck.py HOST:PORT            JSON on stdout: {repo: {tag: digest}} for
                                   every repository of the catalog; exit 1 (with
                                   the reasons on stderr) if a tag points at a
                                   manifest whose config, layers or children are
                                   missing from its repository
  regcheck.py HOST:PORT REPO TAG   the digests of the entries of the referrers
                                   index under TAG, one per line

Plain HTTP, no auth: for the integration tests' local registries. Standard
library only. ferry's tag records (repositories named ferry-state) are left
out.
"""
import hashlib
import json
import sys
import urllib.error
import urllib.request

ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])


def get(host, path, method="GET"):
    req = urllib.request.Request("http://%s%s" % (host, path), method=method,
                                 headers={"Accept": ACCEPT})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


def manifest(host, repo, ref):
    st, body = get(host, "/v2/%s/manifests/%s" % (repo, ref))
    return (json.loads(body), body) if st == 200 else (None, None)


def check(host, repo, digest, problems, seen):
    if digest in seen:
        return
    seen.add(digest)
    m, body = manifest(host, repo, digest)
    if m is None:
        problems.append("%s@%s: manifest missing" % (repo, digest))
        return
    if "sha256:" + hashlib.sha256(body).hexdigest() != digest:
        problems.append("%s@%s: served bytes have another digest" % (repo, digest))
    for d in m.get("manifests", []):
        check(host, repo, d["digest"], problems, seen)
    for d in ([m["config"]] if "config" in m else []) + m.get("layers", []):
        st, _ = get(host, "/v2/%s/blobs/%s" % (repo, d["digest"]), "HEAD")
        if st != 200:
            problems.append("%s: blob %s missing (http %d)" % (repo, d["digest"], st))


def main():
    host = sys.argv[1]
    if len(sys.argv) == 4:
        m, _ = manifest(host, sys.argv[2], sys.argv[3])
        for d in (m or {}).get("manifests", []):
            print(d["digest"])
        return 0 if m else 1
    st, body = get(host, "/v2/_catalog")
    # ferry's own tag records (docs/SECURITY.md) are not images
    repos = [r for r in json.loads(body)["repositories"] or []
             if r != "ferry-state" and not r.endswith("/ferry-state")]
    out, problems = {}, []
    for repo in repos:
        st, body = get(host, "/v2/%s/tags/list" % repo)
        tags = (json.loads(body).get("tags") or []) if st == 200 else []
        out[repo] = {}
        for tag in sorted(tags):
            st, body = get(host, "/v2/%s/manifests/%s" % (repo, tag))
            if st != 200:
                problems.append("%s:%s: tag listed, manifest http %d" % (repo, tag, st))
                continue
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
            out[repo][tag] = digest
            check(host, repo, digest, problems, set())
    print(json.dumps(out, sort_keys=True, indent=1))
    for p in problems:
        print("regcheck: " + p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
