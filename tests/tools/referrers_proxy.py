#!/usr/bin/python3
"""Referrers API test double: an HTTP proxy that adds the OCI 1.1 referrers API to a registry.

A TEST DOUBLE, not a registry. No Debian registry speaks the referrers API
(distribution 2.8/3.x keeps `subject` bytes but has no /referrers/ route), so
this proxy listens on 127.0.0.1:LISTEN in front of one (UPSTREAM) and:

  * forwards every request unchanged (any method, bodies streamed; the Host header
    is kept, and Location headers naming UPSTREAM are rewritten to the proxy);
  * on a manifest PUT that upstream answers 201 and whose body is JSON with a
    `subject`, records (repository, subject digest) -> the pushed manifest's
    descriptor {mediaType, digest (Docker-Content-Digest, else sha256 of the
    body), size, artifactType (the manifest's, else config.mediaType; none for an
    index without one), annotations} and answers with `OCI-Subject: <digest>`;
    a DELETE of a manifest by digest (202) drops it again;
  * serves GET/HEAD /v2/<name>/referrers/<digest> itself: 200, Content-Type
    application/vnd.oci.image.index.v1+json, an index of the recorded
    descriptors in push order (empty, never 404, when there are none; 400 for a
    bad digest or name); `?artifactType=T` filters and sets
    `OCI-Filters-Applied: artifactType`; more than --page-size entries are
    paginated with `Link: </v2/<name>/referrers/<digest>?n=N&last=D>; rel="next"`
    (relative, `last` = digest of the previous page's last entry).
    Before answering it sends the request's Authorization to upstream's
    /v2/<name>/tags/list and relays a 401/403, so auth behaves like upstream's.

What it does NOT do: it never invents referrers. Only manifests pushed through
this proxy (while it ran, or kept in --state) are listed; manifests already in
the upstream, pushed around the proxy, or listed in a `sha256-<hex>` fallback
tag are not (a real registry enabling the API later must list fallback-tag
entries; this one deliberately does not). Entries are not checked against
upstream later (a garbage-collected manifest stays listed). No TLS.

  referrers_proxy.py --listen PORT --upstream HOST:PORT [--state FILE] [--page-size N]

--listen 0 picks a free port. stderr gets "referrers-proxy: listening on
127.0.0.1:PORT -> UPSTREAM", then one line per request ("METHOD PATH -> STATUS",
"(local)" for referrers answers) and per recorded or dropped referrer.
Standard library only.
"""
import argparse
import hashlib
import http.client
import json
import os
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
       "upgrade", "expect", "proxy-authorization", "proxy-authenticate"}
NAME_RE = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
REFERRERS_RE = re.compile(r"^/v2/(?P<name>.+)/referrers/(?P<digest>[^/]*)$")
MANIFEST_RE = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")
DIGEST_RE = re.compile(r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")
CHUNK = 1 << 20
MAX_MANIFEST = 16 << 20  # bigger manifest PUTs are streamed and not looked at


def log(msg):
    sys.stderr.write("referrers-proxy: %s\n" % msg)
    sys.stderr.flush()


class Store:
    """(repo, subject digest) -> [descriptor, ...] in push order; saved to --state."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.data = {}  # repo -> subject -> [descriptor]
        if path and os.path.exists(path):
            with open(path) as f:
                self.data = json.load(f).get("referrers", {})

    def _save(self):
        if not self.path:
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"version": 1, "referrers": self.data}, f, indent=1)
        os.replace(tmp, self.path)

    def add(self, repo, subject, desc):
        with self.lock:
            lst = self.data.setdefault(repo, {}).setdefault(subject, [])
            for i, d in enumerate(lst):
                if d["digest"] == desc["digest"]:  # pushed again: keep its place
                    lst[i] = desc
                    break
            else:
                lst.append(desc)
            self._save()

    def drop(self, repo, digest):
        """Forget the manifest digest in repo; returns the subjects it was listed under."""
        with self.lock:
            hit = []
            for subject, lst in self.data.get(repo, {}).items():
                if any(d["digest"] == digest for d in lst):
                    lst[:] = [d for d in lst if d["digest"] != digest]
                    hit.append(subject)
            if hit:
                self._save()
            return hit

    def get(self, repo, subject):
        with self.lock:
            return list(self.data.get(repo, {}).get(subject, []))


def referrer_descriptor(body, ctype, dcd):
    """The referrers-API descriptor of a pushed manifest, or None without a subject."""
    try:
        m = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(m, dict) or not isinstance(m.get("subject"), dict):
        return None, None
    subject = m["subject"].get("digest")
    if not isinstance(subject, str) or not DIGEST_RE.match(subject):
        return None, None
    digest = dcd if dcd and DIGEST_RE.match(dcd) else "sha256:" + hashlib.sha256(body).hexdigest()
    desc = {"mediaType": m.get("mediaType") or ctype or OCI_MANIFEST, "digest": digest,
            "size": len(body)}
    art = m.get("artifactType")
    if not art and isinstance(m.get("config"), dict):
        art = m["config"].get("mediaType")
    if art:
        desc["artifactType"] = art
    if isinstance(m.get("annotations"), dict) and m["annotations"]:
        desc["annotations"] = m["annotations"]
    return subject, desc


def make_handler(args, store):
    up_host, _, up_port = args.upstream.rpartition(":")
    up_port = int(up_port)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def note(self, status, extra=""):
            log("%s %s -> %s%s" % (self.command, self.path, status, extra))

        # ------------------------------------------------------------ upstream
        def upstream(self, method, path, headers, body):
            """headers: (name, value) pairs, repeats kept (Go clients send one Accept per type)."""
            conn = http.client.HTTPConnection(up_host, up_port, timeout=300)
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            if not any(k.lower() == "host" for k, _ in headers):
                conn.putheader("Host", args.upstream)
            for k, v in headers:
                conn.putheader(k, v)
            conn.endheaders()
            if isinstance(body, bytes):
                conn.send(body)
            elif body is not None:
                while True:
                    b = body.read(CHUNK)
                    if not b:
                        break
                    conn.send(b)
            return conn, conn.getresponse()

        def request_body(self):
            """bytes (small or chunked bodies), a streaming reader, or None; and its length."""
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                parts = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
                body = b"".join(parts)
                return body, len(body)
            n = int(self.headers.get("Content-Length") or 0)
            if n == 0:
                return None, 0
            if n <= MAX_MANIFEST and MANIFEST_RE.match(urllib.parse.urlsplit(self.path).path):
                return self.rfile.read(n), n
            return Reader(self.rfile, n), n

        def rewrite_location(self, value):
            me = "127.0.0.1:%d" % self.server.server_address[1]
            for old in ("//%s/" % args.upstream, "//%s/" % "localhost:%d" % up_port):
                value = value.replace(old, "//%s/" % me)
            return value

        def forward(self):
            body, n = self.request_body()
            headers = [(k, v) for k, v in self.headers.items()
                       if k.lower() not in HOP and k.lower() != "content-length"]
            if n or self.command in ("PUT", "POST", "PATCH"):
                headers.append(("Content-Length", str(n)))
            try:
                conn, resp = self.upstream(self.command, self.path, headers, body)
            except OSError as e:
                self.close_connection = True  # a request body may be left unread
                return self.answer(502, {"Content-Type": "text/plain"},
                                   ("upstream %s: %s\n" % (args.upstream, e)).encode())
            try:
                extra = {}
                self.after_upstream(resp, body, extra)
                self.relay(resp, extra)
            finally:
                conn.close()

        def after_upstream(self, resp, body, extra):
            """Record or drop referrers; extra gets headers to add to the answer."""
            m = MANIFEST_RE.match(urllib.parse.urlsplit(self.path).path)
            if not m:
                return
            repo = m.group("name")
            if self.command == "PUT" and resp.status == 201 and isinstance(body, bytes):
                subject, desc = referrer_descriptor(
                    body, (self.headers.get("Content-Type") or "").split(";")[0].strip(),
                    resp.getheader("Docker-Content-Digest"))
                if subject:
                    store.add(repo, subject, desc)
                    extra["OCI-Subject"] = subject
                    log("recorded %s@%s (%s) as a referrer of %s" % (
                        repo, desc["digest"], desc.get("artifactType", "-"), subject))
            elif self.command == "DELETE" and resp.status == 202 and DIGEST_RE.match(m.group("ref")):
                for subject in store.drop(repo, m.group("ref")):
                    log("dropped %s@%s from the referrers of %s" % (repo, m.group("ref"), subject))

        def relay(self, resp, extra):
            self.send_response(resp.status, resp.reason)
            length = resp.getheader("Content-Length")
            for k, v in resp.getheaders():
                kl = k.lower()
                if kl in HOP or kl == "content-length":
                    continue
                self.send_header(k, self.rewrite_location(v) if kl == "location" else v)
            for k, v in extra.items():
                self.send_header(k, v)
            no_body = self.command == "HEAD" or resp.status in (204, 304) or resp.status < 200
            if no_body:
                if length is not None:
                    self.send_header("Content-Length", length)
                self.end_headers()
                self.note(resp.status)
                return
            if length is None:  # upstream sent chunked / close-delimited: buffer it
                data = resp.read()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            else:
                self.send_header("Content-Length", length)
                self.end_headers()
                while True:
                    b = resp.read(CHUNK)
                    if not b:
                        break
                    self.wfile.write(b)
            self.note(resp.status)

        # ------------------------------------------------------------ referrers API
        def answer(self, status, headers, body, local=True):
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.note(status, " (local)" if local else "")

        def error(self, status, code, message):
            body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
            self.answer(status, {"Content-Type": "application/json"}, body)

        def auth_gate(self, name):
            """Relay upstream's 401/403 for this repository; True when the client may read."""
            headers = [("Accept", "application/json")]
            if self.headers.get("Authorization"):
                headers.append(("Authorization", self.headers["Authorization"]))
            try:
                conn, resp = self.upstream("GET", "/v2/%s/tags/list" % name, headers, None)
            except OSError as e:
                self.answer(502, {"Content-Type": "text/plain"},
                            ("upstream %s: %s\n" % (args.upstream, e)).encode())
                return False
            try:
                data = resp.read()
                if resp.status not in (401, 403):
                    return True
                h = {k: v for k, v in resp.getheaders()
                     if k.lower() in ("www-authenticate", "content-type",
                                      "docker-distribution-api-version")}
                self.answer(resp.status, h, data, local=False)
                return False
            finally:
                conn.close()

        def referrers(self, m):
            self.rfile_drain()
            u = urllib.parse.urlsplit(self.path)
            name, digest = m.group("name"), m.group("digest")
            if not re.fullmatch(NAME_RE, name):
                return self.error(400, "NAME_INVALID", "invalid repository name")
            if not DIGEST_RE.match(digest):
                return self.error(400, "DIGEST_INVALID", "invalid digest %r" % digest[:200])
            q = urllib.parse.parse_qs(u.query)
            art = q.get("artifactType", [None])[-1]
            n = args.page_size
            if "n" in q:
                try:
                    n = min(int(q["n"][-1]), args.page_size)
                except ValueError:
                    n = -1
                if n < 1:
                    return self.error(400, "PAGINATION_NUMBER_INVALID", "n must be a positive integer")
            if not self.auth_gate(name):
                return
            lst = store.get(name, digest)
            if art is not None:
                lst = [d for d in lst if d.get("artifactType") == art]
            start = 0
            if "last" in q:
                pos = [i for i, d in enumerate(lst) if d["digest"] == q["last"][-1]]
                if not pos:
                    return self.error(400, "PAGINATION_INVALID", "last is not in this list")
                start = pos[0] + 1
            page = lst[start:start + n]
            headers = {"Content-Type": OCI_INDEX, "Docker-Distribution-Api-Version": "registry/2.0"}
            if art is not None:
                headers["OCI-Filters-Applied"] = "artifactType"
            if start + n < len(lst):
                nq = [("n", str(n)), ("last", page[-1]["digest"])]
                if art is not None:
                    nq.append(("artifactType", art))
                headers["Link"] = '<%s?%s>; rel="next"' % (u.path, urllib.parse.urlencode(nq))
            body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": page},
                              indent=2).encode() + b"\n"
            self.answer(200, headers, body)

        def rfile_drain(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)

        def handle_any(self):
            m = REFERRERS_RE.match(urllib.parse.urlsplit(self.path).path)
            if m and self.command in ("GET", "HEAD"):
                return self.referrers(m)
            return self.forward()

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    return Handler


class Reader:
    """Exactly n bytes of the client's request body, for streaming to upstream."""

    def __init__(self, f, n):
        self.f, self.left = f, n

    def read(self, size=-1):
        if self.left <= 0:
            return b""
        size = self.left if size is None or size < 0 else min(size, self.left)
        b = self.f.read(min(size, CHUNK))
        if not b:
            raise ConnectionError("client closed the request body early")
        self.left -= len(b)
        return b


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", "--port", dest="listen", type=int, required=True,
                    help="port on 127.0.0.1 (0: pick a free one)")
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the registry")
    ap.add_argument("--state", help="JSON file keeping the recorded referrers across restarts")
    ap.add_argument("--page-size", type=int, default=100,
                    help="entries per referrers page (default %(default)s)")
    args = ap.parse_args()
    if args.page_size < 1:
        ap.error("--page-size must be at least 1")
    if not re.match(r"^[^:]+:\d+$", args.upstream):
        ap.error("--upstream wants HOST:PORT")
    store = Store(args.state)
    srv = Server(("127.0.0.1", args.listen), make_handler(args, store))
    log("listening on 127.0.0.1:%d -> %s" % (srv.server_address[1], args.upstream))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
