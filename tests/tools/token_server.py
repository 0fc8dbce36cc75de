#!/usr/bin/python3
"""Test token server for docker-registry (distribution 2.8) Bearer auth.

Implements the Docker token spec (distribution docs/spec/auth/token.md) and the
OAuth2 POST variant (oauth.md) well enough for tests, with the Python standard
library and the openssl command line only:

  GET  /token?service=S&scope=A&scope=B[&account=U]   HTTP Basic for user USER
  POST /token  grant_type=password|refresh_token (form), scope space-separated

Tokens are RS256 JWTs signed with `openssl dgst -sha256 -sign KEY`; the header
carries the certificate in x5c, which the registry trusts through
auth.token.rootcertbundle. Claims: iss, sub, aud, exp, nbf, iat, jti, access.

Valid credentials get every action they ask for; no credentials get a token
with an empty access list (the registry then answers insufficient_scope);
wrong credentials get 401. Each request is logged on stderr as one line
without secrets: "token-server: GET scopes=[...] user=ferry -> 200".
"""
import argparse
import base64
import hmac
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def parse_scope(s):
    # resourcetype ":" resourcename ":" actions; the name may hold host:port
    # (scope.md): split the type at the first colon, the actions at the last.
    typ, sep, rest = s.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not typ or not name:
        return None
    return {"type": typ, "name": name, "actions": [a for a in actions.split(",") if a]}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_handler(cfg):
    lock = threading.Lock()
    counter = {"n": 0}

    def sign(claims):
        header = {"typ": "JWT", "alg": "RS256", "x5c": [cfg["x5c"]]}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", cfg["key"]],
                             input=signing_input.encode(), capture_output=True, check=True).stdout
        return signing_input + "." + b64url(sig)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "ferry-token-server/1"

        def log_message(self, fmt, *args):
            pass

        def note(self, what):
            sys.stderr.write("token-server: %s\n" % what)
            sys.stderr.flush()

        def reply(self, status, obj):
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="ferry-token-server"')
            self.end_headers()
            self.wfile.write(body)

        def basic_user(self):
            """None: no credentials; False: wrong ones; else the user name."""
            h = self.headers.get("Authorization")
            if not h:
                return None
            scheme, _, data = h.partition(" ")
            if scheme.lower() != "basic":
                return False
            try:
                user, _, pw = base64.b64decode(data.strip(), validate=True).decode().partition(":")
            except Exception:
                return False
            return user if self.check(user, pw) else False

        def check(self, user, pw):
            return (hmac.compare_digest(user, cfg["user"]) and
                    hmac.compare_digest(pw.encode(), cfg["password"].encode()))

        def issue(self, user, scopes, oauth):
            now = int(time.time())
            with lock:
                counter["n"] += 1
                jti = "%d-%d" % (now, counter["n"])
            access = []
            if user:
                for s in scopes:
                    a = parse_scope(s)
                    if a:
                        access.append(a)
            claims = {"iss": cfg["issuer"], "sub": user or "", "aud": cfg["service"],
                      "exp": now + cfg["lifetime"], "nbf": now - 10, "iat": now, "jti": jti,
                      "access": access}
            tok = sign(claims)
            out = {"access_token": tok, "expires_in": cfg["expires_in"],
                   "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}
            if not oauth:
                out["token"] = tok
            return out

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            if u.path != "/token":
                return self.reply(404, {"errors": [{"code": "NOT_FOUND"}]})
            q = urllib.parse.parse_qs(u.query)
            scopes = q.get("scope", [])
            user = self.basic_user()
            if user is False:
                self.note("GET scopes=%s user=? -> 401" % scopes)
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                                    "message": "invalid username or password"}]})
            if q.get("service", [""])[0] != cfg["service"]:
                self.note("GET wrong service %s -> 400" % q.get("service"))
                return self.reply(400, {"errors": [{"code": "INVALID_SERVICE"}]})
            self.note("GET scopes=%s user=%s -> 200" % (scopes, user or "-"))
            self.reply(200, self.issue(user, scopes, False))

        def do_POST(self):
            u = urllib.parse.urlsplit(self.path)
            n = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(n).decode())
            if u.path != "/token":
                return self.reply(404, {"errors": [{"code": "NOT_FOUND"}]})
            f = {k: v[0] for k, v in form.items()}
            scopes = f.get("scope", "").split()
            grant = f.get("grant_type")
            user = None
            if grant == "refresh_token":
                rt = cfg.get("refresh_token")
                if rt and hmac.compare_digest(f.get("refresh_token", "").encode(), rt.encode()):
                    user = cfg["user"]
            elif grant == "password":
                if self.check(f.get("username", ""), f.get("password", "")):
                    user = f["username"]
            if user is None or f.get("service") != cfg["service"] or not f.get("client_id"):
                self.note("POST grant=%s scopes=%s -> 401" % (grant, scopes))
                return self.reply(401, {"errors": [{"code": "UNAUTHORIZED",
                                                    "message": "invalid grant"}]})
            self.note("POST grant=%s scopes=%s user=%s -> 200" % (grant, scopes, user))
            self.reply(200, self.issue(user, scopes, True))

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True, help="RSA private key (PEM)")
    ap.add_argument("--cert", required=True, help="certificate of the key (PEM), sent in x5c")
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--service", required=True)
    ap.add_argument("--user", default="ferry")
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--refresh-token-file", help="accepted OAuth2 refresh token (identitytoken)")
    ap.add_argument("--expires-in", type=int, default=300, help="expires_in sent to clients")
    args = ap.parse_args()

    pem = open(args.cert).read()
    der_b64 = "".join(l for l in pem.splitlines() if l and not l.startswith("-----"))
    cfg = {
        "key": args.key, "x5c": der_b64, "issuer": args.issuer, "service": args.service,
        "user": args.user, "password": open(args.password_file).read().strip(),
        "refresh_token": (open(args.refresh_token_file).read().strip()
                          if args.refresh_token_file else None),
        "expires_in": args.expires_in, "lifetime": max(args.expires_in, 60) + 60,
    }
    srv = Server(("127.0.0.1", args.port), make_handler(cfg))
    sys.stderr.write("token-server: listening on 127.0.0.1:%d pid %d\n" % (args.port, os.getpid()))
    sys.stderr.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
