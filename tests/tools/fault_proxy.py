#!/usr/bin/python3
"""Fault-injecting HTTP proxy for registry client tests.

Listens on 127.0.0.1:PORT and forwards every request to UPSTREAM (host:port)
unchanged (the Host header is kept, so distribution builds its Location URLs
with the proxy's address). After the first K (--after) requests whose method
and path match, the next N (--faults) get a fault instead:

  --mode 429    429 Too Many Requests with Retry-After: S (--retry-after)
  --mode 503    503 Service Unavailable, no Retry-After
  --mode reset  the request (and its body) is read, then the connection is
                closed without an answer
  --mode blob-unknown
                400 MANIFEST_BLOB_UNKNOWN, as distribution answers a manifest
                PUT while another client's upload of a blob it references is
                being linked (concurrent imports)
  --mode no-mount
                a cross-repository mount (POST .../blobs/uploads/?mount=...)
                is forwarded without its mount and from parameters, so the
                registry opens an upload session and answers 202, as one that
                refuses mounts does
  --mode cut    the upstream answer is forwarded, but the connection is reset
                after half of its body (tests resuming downloads with Range);
                an answer without a body is cut in its headers
  --mode no-range
                the request is forwarded without its Range header, so the
                upstream answers 200 with the whole body, as a server without
                range requests does
  --mode flip   the upstream answer is forwarded with one byte of its body
                changed (the middle one): content damaged on the way
  --mode redirect --redirect-to HOST:PORT
                307 Temporary Redirect to http://HOST:PORT and the same path
                and query, as a registry sends a blob GET to its storage (a
                CDN, S3)
--delay-ms MS holds every request that long before it is forwarded (or
answered with its fault), as a registry across the internet answers: a far
registry.

Every request is forwarded as it came, except with --upstream-auth FILE
(the first line USER:PASSWORD): the client's Authorization is dropped and
Basic credentials from FILE sent instead, as blob storage answers a
presigned URL; a request that arrived with an Authorization header is then
logged with "client-auth" (credentials where they must not go).

Random mode, --rate P --seed S: instead, every matching request gets a fault
with probability P, drawn from a generator seeded with S, of one of four kinds:
  500     500 Internal Server Error
  429     429 with Retry-After: 0 or 1
  reset   the connection is reset before the answer; a request with a body
          (PUT, PATCH) is reset after part of its body was read, so an upload
          breaks off in the middle (upstream sees nothing of it)
  cut     as --mode cut: the upstream did the work, the answer is lost

Every request is logged on stderr as one line, its path without the query
(an upload session's state token stays out of the log), a chunk's
Content-Range after it:
  "fault-proxy: fault 429 GET /v2/..." or "fault-proxy: pass 200 GET /v2/...",
  "fault-proxy: pass 202 PATCH /v2/app/blobs/uploads/<uuid> range 0-1023".
Standard library only.
"""
import argparse
import base64
import http.client
import random
import re
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
       "upgrade", "expect"}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_handler(args):
    lock = threading.Lock()
    state = {"skip": args.after, "left": args.faults}
    match = re.compile(args.match)
    methods = set(args.method.split(",")) if args.method else None
    rng = random.Random(args.seed)

    def rng_part(n):
        """How much of an n-byte body to read before a reset: 1 .. n-1."""
        with lock:
            return rng.randint(1, n - 1)

    def take_fault(method, path):
        """The fault for this request: None, or (kind, retry_after)."""
        if methods is not None and method not in methods:
            return None
        if not match.search(path):
            return None
        with lock:
            if args.rate > 0:
                if rng.random() >= args.rate:
                    return None
                kind = rng.choice(["500", "429", "reset", "cut"])
                return kind, str(rng.randint(0, 1))
            if state["skip"] > 0:
                state["skip"] -= 1
                return None
            if state["left"] <= 0:
                return None
            state["left"] -= 1
            return args.mode, args.retry_after

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def note(self, what):
            line = "fault-proxy: %s %s %s" % (what, self.command, self.path.split("?")[0])
            if self.headers.get("Content-Range"):
                line += " range " + self.headers.get("Content-Range")
            if self.headers.get("Range"):
                line += " want " + self.headers.get("Range")
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

        def read_body(self, n=None):
            if n is None:
                n = int(self.headers.get("Content-Length") or 0)
            chunks = []
            while n > 0:
                b = self.rfile.read(min(n, 1 << 20))
                if not b:
                    break
                chunks.append(b)
                n -= len(b)
            return b"".join(chunks)

        def reset(self):
            # RST instead of FIN: SO_LINGER with a zero timeout
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def fault(self, kind, retry_after):
            if kind == "reset":
                self.note("fault reset")
                self.reset()
                return
            if kind == "blob-unknown":
                status = 400
                body = (b'{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to '
                        b'registry","detail":"injected fault"}]}')
            else:
                status = int(kind)
                body = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"injected fault"}]}' \
                    if status == 429 else b"injected fault\n"
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Type",
                             "application/json" if status in (400, 429) else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.close_connection = True
            self.note("fault %d" % status)

        def handle_any(self):
            if args.delay_ms > 0:
                time.sleep(args.delay_ms / 1000.0)
            fault = take_fault(self.command, self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if fault and fault[0] == "reset" and args.rate > 0 and length > 1:
                # break off in the middle of the body
                got = len(self.read_body(rng_part(length)))
                self.note("fault reset after %d of %d bytes" % (got, length))
                return self.reset()
            body = self.read_body()
            faulty = fault is not None and fault[0] == "cut"
            path = self.path
            if fault and fault[0] == "no-mount":
                if "mount=" not in path:
                    fault = None
                else:
                    base, _, query = path.partition("?")
                    keep = [q for q in query.split("&")
                            if not q.startswith("mount=") and not q.startswith("from=")]
                    path = base + ("?" + "&".join(keep) if keep else "")
                    self.note("fault no-mount")
                    fault = None
            if fault and fault[0] == "redirect":
                loc = "http://%s%s" % (args.redirect_to, self.path)
                self.send_response(307)
                self.send_header("Location", loc)
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.note("fault redirect 307")
                return
            flip = fault is not None and fault[0] == "flip"
            norange = fault is not None and fault[0] == "no-range"
            if fault and not faulty and not flip and not norange:
                return self.fault(*fault)
            host, _, port = args.upstream.rpartition(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=120)
            # Repeated headers (Go clients send one Accept per media type)
            # are joined, not collapsed to the last one.
            headers = {}
            for k, v in self.headers.items():
                if k.lower() in HOP or (norange and k.lower() == "range"):
                    continue
                if args.upstream_auth and k.lower() == "authorization":
                    self.note("client-auth")
                    continue
                headers[k] = headers[k] + ", " + v if k in headers else v
            if body or self.command in ("PUT", "POST", "PATCH"):
                headers["Content-Length"] = str(len(body))
            if args.upstream_auth:
                with open(args.upstream_auth) as f:
                    cred = f.readline().strip()
                headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
            conn.request(self.command, path, body=body if body else None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
            out = [(k, v) for k, v in resp.getheaders()
                   if k.lower() not in HOP and k.lower() != "content-length"]
            if self.command == "HEAD":
                cl = resp.getheader("Content-Length")
                if cl is not None:
                    out.append(("Content-Length", cl))
            else:
                out.append(("Content-Length", str(len(data))))
            if faulty and (not data or self.command == "HEAD"):
                # no body to cut: cut the headers, after the upstream did the work
                head = "HTTP/1.1 %d %s\r\n" % (resp.status, resp.reason)
                head += "".join("%s: %s\r\n" % kv for kv in out) + "\r\n"
                head = head.encode("latin-1")
                self.wfile.write(head[:len(head) // 2])
                self.note("fault cut %d in its headers" % resp.status)
                return self.reset()
            self.send_response(resp.status, resp.reason)
            for k, v in out:
                self.send_header(k, v)
            self.end_headers()
            if faulty:
                self.wfile.write(data[:len(data) // 2])
                self.note("fault cut %d after %d of %d bytes" % (resp.status, len(data) // 2,
                                                                  len(data)))
                return self.reset()
            if flip and data:
                mid = len(data) // 2
                data = data[:mid] + bytes([data[mid] ^ 0x5a]) + data[mid + 1:]
            if self.command != "HEAD":
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    # the client hung up (it wanted less than this answer)
                    self.note("gone %d" % resp.status)
                    self.close_connection = True
                    return
            self.note("%s %d" % ("fault flip" if flip and data else
                                 "fault no-range" if norange else "pass", resp.status))

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True, help="host:port of the registry")
    ap.add_argument("--faults", type=int, default=0, help="how many requests get a fault")
    ap.add_argument("--after", type=int, default=0,
                    help="matching requests that pass before the faults begin")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="random mode: the probability of a fault for each matching request")
    ap.add_argument("--seed", default="0", help="random mode: seed of the fault generator")
    ap.add_argument("--mode", choices=["429", "503", "reset", "cut", "blob-unknown", "no-mount",
                                       "no-range", "flip", "redirect"],
                    default="429")
    ap.add_argument("--retry-after", default="1", help="Retry-After value sent with 429")
    ap.add_argument("--redirect-to", default="", help="HOST:PORT for --mode redirect")
    ap.add_argument("--upstream-auth", default="",
                    help="file holding USER:PASSWORD sent upstream instead of the client's")
    ap.add_argument("--match", default="", help="regex the request path must match")
    ap.add_argument("--method", default="", help="comma-separated methods that get faults")
    ap.add_argument("--delay-ms", type=int, default=0,
                    help="hold every request this many milliseconds (a far registry)")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), make_handler(args))
    sys.stderr.write("fault-proxy: listening on 127.0.0.1:%d -> %s\n" % (args.port, args.upstream))
    sys.stderr.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
