#!/usr/bin/python3
"""Fault-injecting HTTP proxy for registry client tests.

Listens on 127.0.0.1:PORT and forwards every request to UPSTREAM (host:port)
unchanged (the Host header is kept, so distribution builds its Location URLs
with the proxy's address). The first N requests whose method and path match
get a fault instead:

  --mode 429    429 Too Many Requests with Retry-After: S (--retry-after)
  --mode 503    503 Service Unavailable, no Retry-After
  --mode reset  the connection is closed without an answer
  --mode cut    the upstream answer is forwarded, but the connection is reset
                after half of its body (tests resuming downloads with Range)

Every request is logged on stderr as one line:
  "fault-proxy: fault 429 GET /v2/..." or "fault-proxy: pass 200 GET /v2/...".
Standard library only.
"""
import argparse
import http.client
import re
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
       "upgrade", "expect"}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_handler(args):
    lock = threading.Lock()
    state = {"left": args.faults}
    match = re.compile(args.match)
    methods = set(args.method.split(",")) if args.method else None

    def take_fault(method, path):
        if methods is not None and method not in methods:
            return False
        if not match.search(path):
            return False
        with lock:
            if state["left"] <= 0:
                return False
            state["left"] -= 1
            return True

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def note(self, what):
            sys.stderr.write("fault-proxy: %s %s %s\n" % (what, self.command, self.path))
            sys.stderr.flush()

        def read_body(self):
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

        def fault(self):
            if args.mode == "reset":
                self.note("fault reset")
                self.reset()
                return
            status = int(args.mode)
            body = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"injected fault"}]}' \
                if status == 429 else b"injected fault\n"
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", str(args.retry_after))
            self.send_header("Content-Type", "application/json" if status == 429 else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.close_connection = True
            self.note("fault %d" % status)

        def handle_any(self):
            body = self.read_body()
            faulty = take_fault(self.command, self.path)
            if faulty and args.mode != "cut":
                return self.fault()
            host, _, port = args.upstream.rpartition(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=120)
            # Repeated headers (Go clients send one Accept per media type)
            # are joined, not collapsed to the last one.
            headers = {}
            for k, v in self.headers.items():
                if k.lower() in HOP:
                    continue
                headers[k] = headers[k] + ", " + v if k in headers else v
            if body or self.command in ("PUT", "POST", "PATCH"):
                headers["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body if body else None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() in HOP or k.lower() == "content-length":
                    continue
                self.send_header(k, v)
            if self.command == "HEAD":
                cl = resp.getheader("Content-Length")
                if cl is not None:
                    self.send_header("Content-Length", cl)
            else:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            conn.close()
            if faulty:
                self.wfile.write(data[:len(data) // 2])
                self.note("fault cut %d after %d of %d bytes" % (resp.status, len(data) // 2,
                                                                  len(data)))
                return self.reset()
            if self.command != "HEAD":
                self.wfile.write(data)
            self.note("pass %d" % resp.status)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True, help="host:port of the registry")
    ap.add_argument("--faults", type=int, default=0, help="how many requests get a fault")
    ap.add_argument("--mode", choices=["429", "503", "reset", "cut"], default="429")
    ap.add_argument("--retry-after", default="1", help="Retry-After value sent with 429")
    ap.add_argument("--match", default="", help="regex the request path must match")
    ap.add_argument("--method", default="", help="comma-separated methods that get faults")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), make_handler(args))
    sys.stderr.write("fault-proxy: listening on 127.0.0.1:%d -> %s\n" % (args.port, args.upstream))
    sys.stderr.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
