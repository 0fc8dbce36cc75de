#!/usr/bin/python3
"""A registry double that pages its answers, for the client's Link handling.

  pages_server.py --port PORT

Serves, anonymously over plain HTTP:
  GET /v2/                                   200 {}
  GET /v2/<repo>/tags/list                   the tags t0..t5 two per page, with
                                             Link: <...?last=tN&n=2>; rel="next"
                                             (relative, as distribution 3 sends it);
                                             repository "loop" links every page to
                                             itself; "absolute" gives absolute links
  GET /v2/<repo>/referrers/<digest>          an OCI image index of three referrers,
                                             two per page, with a relative next
                                             Link; "loop" links to the same page
Anything else is 404. Standard library only.
"""
import argparse
import json
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TAGS = ["t%d" % i for i in range(6)]
INDEX = "application/vnd.oci.image.index.v1+json"
REFS = [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
         "digest": "sha256:" + ("%d" % i) * 64, "size": 100 + i,
         "artifactType": "application/x-test"} for i in range(1, 4)]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def answer(self, body, ctype, link=None):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if link:
            self.send_header("Link", link)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        parts = u.path.split("/")
        if u.path == "/v2/":
            return self.answer({}, "application/json")
        if len(parts) >= 4 and parts[-2] == "tags" and parts[-1] == "list":
            repo = "/".join(parts[2:-2])
            start = TAGS.index(q["last"][0]) + 1 if "last" in q else 0
            page = TAGS[start:start + 2]
            link = None
            if start + 2 < len(TAGS):
                nxt = "/v2/%s/tags/list?last=%s&n=2" % (repo, page[-1])
                if repo == "loop":
                    nxt = self.path
                elif repo == "absolute":
                    nxt = "http://%s%s" % (self.headers["Host"], nxt)
                link = '<%s>; rel="next"' % nxt
            return self.answer({"name": repo, "tags": page}, "application/json", link)
        if len(parts) >= 5 and parts[-2] == "referrers":
            repo = "/".join(parts[2:-2])
            start = int(q["page"][0]) if "page" in q else 0
            link = None
            if start + 2 < len(REFS):
                nxt = self.path if repo == "loop" else "%s?page=%d" % (u.path, start + 2)
                link = '<%s>; rel="next"' % nxt
            return self.answer({"schemaVersion": 2, "mediaType": INDEX,
                                "manifests": REFS[start:start + 2]}, INDEX, link)
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    a = ap.parse_args()
    ThreadingHTTPServer(("127.0.0.1", a.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
