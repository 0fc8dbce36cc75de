#!/usr/bin/python3
"""A read-only registry double that serves what a directory holds, for
content a real registry would refuse to store.

  static_registry.py --port PORT --root DIR

Serves anonymously over plain HTTP, from DIR:
  GET|HEAD /v2/                                200 {}
  GET|HEAD /v2/<repo>/manifests/<ref>          DIR/<repo>/manifests/<ref> (a tag or a
                                               digest), Content-Type from its mediaType,
                                               Docker-Content-Digest its sha256
  GET|HEAD /v2/<repo>/blobs/<digest>           DIR/<repo>/blobs/<digest>
  GET /v2/<repo>/tags/list                     the manifest names that are not digests
Anything else (the referrers API included) is 404. Standard library only.
"""
import argparse
import hashlib
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def handler(root):
    class H(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            pass

        def send(self, code, data=b"", ctype="application/json", extra=None):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/v2/":
                return self.send(200, b"{}")
            parts = path.split("/")
            for kind in ("manifests", "blobs"):
                if kind in parts[2:-1]:
                    i = parts.index(kind, 2)
                    repo, ref = "/".join(parts[2:i]), "/".join(parts[i + 1:])
                    f = os.path.join(root, repo, kind, ref)
                    if ".." in f.split(os.sep) or not os.path.isfile(f):
                        break
                    data = open(f, "rb").read()
                    if kind == "blobs":
                        return self.send(200, data, "application/octet-stream")
                    mt = json.loads(data).get("mediaType", "application/json")
                    return self.send(200, data, mt, {
                        "Docker-Content-Digest": "sha256:" + hashlib.sha256(data).hexdigest()})
            if len(parts) >= 4 and parts[-2:] == ["tags", "list"]:
                repo = "/".join(parts[2:-2])
                d = os.path.join(root, repo, "manifests")
                tags = sorted(t for t in os.listdir(d) if ":" not in t) if os.path.isdir(d) else []
                return self.send(200, json.dumps({"name": repo, "tags": tags}).encode())
            return self.send(404, b'{"errors":[{"code":"NOT_FOUND"}]}')
    return H


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--root", required=True)
    a = ap.parse_args()
    ThreadingHTTPServer(("127.0.0.1", a.port), handler(os.path.abspath(a.root))).serve_forever()


if __name__ == "__main__":
    main()
