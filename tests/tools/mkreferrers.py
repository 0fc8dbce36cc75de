#!/usr/bin/python3
"""Push OCI 1.1 referrer artifacts (signatures, SBOMs, ...) for a subject into a registry.

  mkreferrers.py --registry HOST:PORT --subject-repo REPO --subject TAG|DIGEST
                 [--repo REPO] [--creds USER:PASS] [--seed S] SPEC...

The subject's digest, media type and size are read from SUBJECT-REPO (GET manifest
with every OCI and Docker media type in Accept; the digest is the sha256 of the
body). Each SPEC becomes one OCI image manifest in REPO (default: SUBJECT-REPO)
pushed by digest:

  artifactType  per kind (below); config = the empty descriptor ({} is uploaded);
  layers        one small blob of that type, pseudo-random from --seed and the name;
  annotations   org.opencontainers.image.created (--created) and
                dev.ferry.test.name = NAME, plus --annotation KEY=VALUE;
  subject       the subject's descriptor.

SPEC is KIND[,name=NAME][,type=ARTIFACT_TYPE] with KIND one of
  signature   application/vnd.dev.cosign.artifact.sig.v1+json (fake cosign signature;
              a real one with --sign-key)
  sbom        application/spdx+json
  provenance  application/vnd.in-toto+json (SLSA provenance statement)
  vex         application/vnd.openvex+json
  scan        application/sarif+json
  sig-on:REF  a signature whose subject is REF: the NAME of an artifact made earlier
              in this run (e.g. sig-on:sbom) or a digest of a manifest in REPO
or a generic artifact `type=MEDIA_TYPE,name=NAME` (the layer has that media type).
NAME defaults to the kind (sig-on:sbom -> sig-on-sbom, sig-on:sha256:HEX -> sig-on-<12 hex>),
with -2, -3, ... when repeated.

With --fallback-tag (the default; distribution 2.8 has no referrers API) the
referrers tag <alg>-<hex of subject digest> in REPO is kept up to date as the
distribution-spec asks clients to: GET it (404 -> empty OCI index), append the
artifact's descriptor (mediaType, digest, size, artifactType, all its annotations)
unless the digest is listed already, PUT it back. --fallback-tag-auto does that
only when the manifest PUT is answered without OCI-Subject; --no-fallback-tag never.

stdout: one JSON object per artifact and line, in SPEC order:
  {"name", "digest", "artifactType", "subject", "repo", "mediaType", "size",
   "fallbackTag" (the tag updated, or null), "ociSubject" (header seen: bool)}

Same seed, name, subject, repositories and options -> the same manifest digest on every
run and registry (no host or port goes into the content).
Exit status: 0 ok, 1 registry or HTTP error (status and body on stderr), 64 usage.
Standard library only; plain HTTP; anonymous, Basic, or Docker token auth (--creds).
"""
import argparse
import base64
import subprocess
import hashlib
import http.client
import json
import re
import sys
import urllib.parse

PROG = "mkreferrers"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST])
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_BLOB = b"{}"

SIG_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json"
KINDS = {
    # kind: (artifactType, layer media type)
    "signature": (SIG_TYPE, "application/vnd.dev.cosign.simplesigning.v1+json"),
    "sbom": ("application/spdx+json", "application/spdx+json"),
    "provenance": ("application/vnd.in-toto+json", "application/vnd.in-toto+json"),
    "vex": ("application/vnd.openvex+json", "application/vnd.openvex+json"),
    "scan": ("application/sarif+json", "application/sarif+json"),
}
DIGEST_RE = re.compile(r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")
REPO_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


class Fail(Exception):
    """A registry or HTTP error: printed on stderr, exit status 1."""


def usage(msg):
    sys.stderr.write("%s: %s\n" % (PROG, msg))
    sys.exit(64)


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def fallback_tag(digest):
    # distribution-spec: truncated algorithm + "-" + truncated encoded, bad chars -> "-"
    alg, _, enc = digest.partition(":")
    return re.sub(r"[^a-zA-Z0-9._-]", "-", "%s-%s" % (alg[:32], enc[:64]))


def prng(*parts, n=32):
    """n pseudo-random bytes, a function of parts only (sha256 in counter mode)."""
    key = "\0".join(parts).encode()
    out, i = b"", 0
    while len(out) < n:
        out += hashlib.sha256(key + b"\0" + str(i).encode()).digest()
        i += 1
    return out[:n]


# ---------------------------------------------------------------- HTTP + auth

class Registry:
    """A plain-HTTP distribution client: anonymous, Basic, or Bearer from a token realm."""

    def __init__(self, hostport, creds=None):
        self.hostport = hostport
        self.creds = creds
        self.auth = None  # the Authorization value that worked last

    def url(self, path):
        return "http://%s%s" % (self.hostport, path)

    def _send(self, method, url, headers, body):
        u = urllib.parse.urlsplit(url)
        if u.scheme != "http":
            raise Fail("%s %s: only plain http is supported" % (method, url))
        conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=60)
        path = u.path + ("?" + u.query if u.query else "")
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except OSError as e:
            raise Fail("%s %s: %s" % (method, url, e))
        finally:
            conn.close()
        return resp, data

    def _basic(self):
        return "Basic " + base64.b64encode(self.creds.encode()).decode()

    def _login(self, challenge, url):
        scheme, _, params = challenge.partition(" ")
        if scheme.lower() == "basic":
            if not self.creds:
                raise Fail("%s wants Basic credentials: use --creds USER:PASS" % url)
            return self._basic()
        if scheme.lower() != "bearer":
            raise Fail("%s: unsupported auth challenge %r" % (url, challenge))
        p = dict(re.findall(r'(\w+)="([^"]*)"', params))
        if "realm" not in p:
            raise Fail("%s: Bearer challenge without realm: %r" % (url, challenge))
        q = [("service", p["service"])] if "service" in p else []
        q += [("scope", s) for s in p.get("scope", "").split(" ") if s]
        turl = p["realm"] + ("&" if "?" in p["realm"] else "?") + urllib.parse.urlencode(q)
        h = {"Authorization": self._basic()} if self.creds else {}
        resp, data = self._send("GET", turl, h, None)
        if resp.status != 200:
            raise Fail("token %s: %d %s: %s" % (turl, resp.status, resp.reason, data[:500]))
        doc = json.loads(data)
        tok = doc.get("token") or doc.get("access_token")
        if not tok:
            raise Fail("token %s: no token in the answer" % turl)
        return "Bearer " + tok

    def request(self, method, url, headers=None, body=None, ok=(200,)):
        """Send once; on 401 log in from the challenge and send again. Returns (resp, data);
        statuses outside ok raise Fail with the status and body."""
        if url.startswith("/"):
            url = self.url(url)
        headers = dict(headers or {})
        if body is not None:
            headers["Content-Length"] = str(len(body))
        if self.auth:
            headers["Authorization"] = self.auth
        resp, data = self._send(method, url, headers, body)
        if resp.status == 401:
            challenge = resp.getheader("WWW-Authenticate") or ""
            headers["Authorization"] = self.auth = self._login(challenge, url)
            resp, data = self._send(method, url, headers, body)
        if resp.status not in ok:
            raise Fail("%s %s: %d %s: %s" % (method, url, resp.status, resp.reason,
                                             data[:2000].decode("utf-8", "replace").strip()))
        return resp, data

    def get_manifest(self, repo, ref, accept=MANIFEST_ACCEPT, missing_ok=False):
        """(bytes, media type) or None when missing_ok and the registry says 404."""
        ok = (200, 404) if missing_ok else (200,)
        resp, data = self.request("GET", "/v2/%s/manifests/%s" % (repo, ref),
                                  {"Accept": accept}, ok=ok)
        if resp.status == 404:
            return None
        ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip()
        try:
            mtype = json.loads(data).get("mediaType") or ctype
        except (ValueError, AttributeError):
            raise Fail("%s@%s: the manifest is not a JSON object" % (repo, ref))
        dcd = resp.getheader("Docker-Content-Digest")
        if dcd and dcd.startswith("sha256:") and dcd != sha256(data):
            raise Fail("%s@%s: Docker-Content-Digest %s but the body hashes to %s"
                       % (repo, ref, dcd, sha256(data)))
        return data, mtype

    def push_blob(self, repo, data):
        digest = sha256(data)
        resp, _ = self.request("HEAD", "/v2/%s/blobs/%s" % (repo, digest), ok=(200, 404))
        if resp.status == 200:
            return digest
        resp, _ = self.request("POST", "/v2/%s/blobs/uploads/" % repo, body=b"", ok=(202,))
        loc = resp.getheader("Location")
        if not loc:
            raise Fail("POST /v2/%s/blobs/uploads/: 202 without Location" % repo)
        loc = urllib.parse.urljoin(self.url("/v2/%s/blobs/uploads/" % repo), loc)
        loc += ("&" if urllib.parse.urlsplit(loc).query else "?") + "digest=" + digest
        self.request("PUT", loc, {"Content-Type": "application/octet-stream"}, data, ok=(201,))
        return digest

    def put_manifest(self, repo, ref, mtype, data):
        resp, _ = self.request("PUT", "/v2/%s/manifests/%s" % (repo, ref),
                               {"Content-Type": mtype}, data, ok=(201,))
        dcd = resp.getheader("Docker-Content-Digest")
        if dcd and dcd != sha256(data):
            raise Fail("PUT %s:%s: registry says digest %s, body is %s" % (repo, ref, dcd, sha256(data)))
        return resp


# ---------------------------------------------------------------- artifacts

def layer_content(kind, name, art_type, subject, seed, subject_ref):
    """Small JSON of the artifact's type, pseudo-random but fixed for (seed, name, subject)."""
    nonce = prng(seed, name, subject["digest"]).hex()
    sd = subject["digest"]
    alg, _, hexd = sd.partition(":")
    if kind == "signature":
        doc = {"critical": {"identity": {"docker-reference": subject_ref},
                            "image": {"docker-manifest-digest": sd},
                            "type": "cosign container image signature"},
               "optional": {"dev.ferry.test.nonce": nonce}}
    elif kind == "sbom":
        doc = {"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
               "name": name, "documentNamespace": "https://ferry.invalid/spdx/%s" % nonce,
               "creationInfo": {"created": "2024-01-01T00:00:00Z", "creators": ["Tool: mkreferrers"]},
               "packages": [{"SPDXID": "SPDXRef-Package-%s" % nonce[:8], "name": "pkg-%s" % nonce[:8],
                             "versionInfo": "1.%d" % prng(seed, name, "v")[0],
                             "downloadLocation": "NOASSERTION"}]}
    elif kind == "provenance":
        doc = {"_type": "https://in-toto.io/Statement/v1",
               "subject": [{"name": subject_ref, "digest": {alg: hexd}}],
               "predicateType": "https://slsa.dev/provenance/v1",
               "predicate": {"buildDefinition": {"buildType": "https://ferry.invalid/test@v1",
                                                 "externalParameters": {"nonce": nonce}},
                             "runDetails": {"builder": {"id": "https://ferry.invalid/builder"}}}}
    elif kind == "vex":
        doc = {"@context": "https://openvex.dev/ns/v0.2.0",
               "@id": "https://ferry.invalid/vex/%s" % nonce, "author": "mkreferrers",
               "timestamp": "2024-01-01T00:00:00Z", "version": 1,
               "statements": [{"vulnerability": {"name": "CVE-2024-%05d" % (int(nonce[:4], 16) % 100000)},
                               "products": [{"@id": "%s@%s" % (subject_ref.split("@")[0], sd)}],
                               "status": "not_affected", "justification": "component_not_present"}]}
    elif kind == "scan":
        doc = {"version": "2.1.0",
               "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
               "runs": [{"tool": {"driver": {"name": "mkreferrers", "version": "1"}},
                         "results": [], "properties": {"nonce": nonce, "target": sd}}]}
    else:
        doc = {"name": name, "artifactType": art_type, "subject": sd, "nonce": nonce}
    return canonical(doc)


def parse_spec(spec):
    """SPEC -> dict(kind, name, type, on)."""
    fields = spec.split(",")
    out = {"kind": None, "name": None, "type": None, "on": None}
    for i, f in enumerate(fields):
        k, eq, v = f.partition("=")
        if eq:
            if k not in ("name", "type") or not v:
                usage("bad SPEC %r: unknown or empty field %r (want name= or type=)" % (spec, k))
            out[k] = v
        elif i == 0 and f in KINDS:
            out["kind"] = f
        elif i == 0 and f.startswith("sig-on:") and len(f) > 7:
            out["kind"], out["on"] = "signature", f[7:]
        else:
            usage("bad SPEC %r: want KIND[,name=N][,type=T] with KIND one of %s, sig-on:REF, "
                  "or type=T,name=N" % (spec, ", ".join(KINDS)))
    if out["kind"] is None and out["type"] is None:
        usage("bad SPEC %r: a generic artifact needs type=MEDIA_TYPE" % spec)
    if out["name"] is not None and not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", out["name"]):
        usage("bad SPEC %r: name may hold letters, digits, '.', '_', '-'" % spec)
    if out["type"] is not None and not re.match(r"^[A-Za-z0-9][\w.+-]*/[\w.+-]+$", out["type"]):
        usage("bad SPEC %r: type %r is not a media type" % (spec, out["type"]))
    return out


def descriptor_of(reg, repo, ref):
    got = reg.get_manifest(repo, ref)
    data, mtype = got
    return {"mediaType": mtype, "digest": sha256(data), "size": len(data)}


def main():
    ap = argparse.ArgumentParser(
        prog="mkreferrers.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--registry", required=True, help="HOST:PORT to push to (plain http)")
    ap.add_argument("--repo", help="repository for the artifacts (default: --subject-repo)")
    ap.add_argument("--subject-repo", required=True, help="repository holding the subject")
    ap.add_argument("--subject", required=True, help="tag or digest of the subject")
    ap.add_argument("--subject-registry",
                    help="HOST:PORT to read the subject from (default: --registry); lets a test "
                         "seed referrers in a target before the subject is imported there")
    ap.add_argument("--creds", help="USER:PASS for --registry (Basic, or for a token realm)")
    ap.add_argument("--subject-creds", help="USER:PASS for --subject-registry (default: --creds)")
    ap.add_argument("--seed", default="ferry-referrers", help="content seed (default %(default)s)")
    ap.add_argument("--sign-key", metavar="PEM",
                    help="sign the signature artifacts for real with this private key (openssl)")
    ap.add_argument("--created", default="2024-01-01T00:00:00Z",
                    help="org.opencontainers.image.created value (default %(default)s)")
    ap.add_argument("--annotation", action="append", default=[], metavar="KEY=VALUE",
                    help="extra manifest annotation on every artifact (repeatable)")
    ap.add_argument("--fallback-tag", dest="fallback_tag", action="store_const", const="always",
                    default="always", help="maintain the sha256-<hex> referrers tag (default)")
    ap.add_argument("--fallback-tag-auto", dest="fallback_tag", action="store_const", const="auto",
                    help="only when the manifest PUT is answered without OCI-Subject")
    ap.add_argument("--no-fallback-tag", dest="fallback_tag", action="store_const", const="never",
                    help="never touch the referrers tag")
    ap.add_argument("specs", nargs="+", metavar="SPEC")
    args = ap.parse_args()

    repo = args.repo or args.subject_repo
    for r in (repo, args.subject_repo):
        if not REPO_RE.match(r):
            usage("bad repository name %r" % r)
    if not (DIGEST_RE.match(args.subject) or TAG_RE.match(args.subject)):
        usage("bad --subject %r: want a tag or sha256:<64 hex>" % args.subject)
    extra = {}
    for a in args.annotation:
        k, eq, v = a.partition("=")
        if not eq or not k:
            usage("bad --annotation %r: want KEY=VALUE" % a)
        extra[k] = v
    for c in (args.creds, args.subject_creds):
        if c is not None and ":" not in c:
            usage("bad credentials: want USER:PASS")
    specs = [parse_spec(s) for s in args.specs]
    # names first, so that a bad SPEC list fails before anything is pushed
    counts, names = {}, set()
    for sp in specs:
        if sp["name"] is None:
            on = sp["on"] and (sp["on"].split(":")[1][:12] if DIGEST_RE.match(sp["on"]) else sp["on"])
            base = "sig-on-" + on if on else (sp["kind"] or "artifact")
            counts[base] = counts.get(base, 0) + 1
            sp["name"] = base if counts[base] == 1 else "%s-%d" % (base, counts[base])
        if sp["name"] in names:
            usage("two artifacts are named %r: give one a name=" % sp["name"])
        if sp["on"] and sp["on"] not in names and not DIGEST_RE.match(sp["on"]):
            usage("sig-on:%s: no artifact of that name comes before it (order matters)" % sp["on"])
        names.add(sp["name"])

    reg = Registry(args.registry, args.creds)
    sreg = reg
    if args.subject_registry and args.subject_registry != args.registry:
        sreg = Registry(args.subject_registry, args.subject_creds or args.creds)
    try:
        subject = descriptor_of(sreg, args.subject_repo, args.subject)
        if DIGEST_RE.match(args.subject) and subject["digest"] != args.subject:
            raise Fail("subject %s@%s: the registry served bytes with digest %s"
                       % (args.subject_repo, args.subject, subject["digest"]))
        # no host:port in content: test registries get random ports, digests must not change
        subject_ref = "%s@%s" % (args.subject_repo, subject["digest"])
        empty = reg.push_blob(repo, EMPTY_BLOB)
        made = {}  # name -> descriptor of the artifact manifest
        for sp in specs:
            kind = sp["kind"]
            if kind is not None:
                art_type, layer_type = KINDS[kind]
            else:
                art_type = layer_type = sp["type"]
            if kind is not None and sp["type"]:
                art_type = sp["type"]
            name = sp["name"]
            # the subject of this artifact
            subj, sref = subject, subject_ref
            if sp["on"]:
                if sp["on"] in made:
                    subj = made[sp["on"]]
                else:
                    subj = descriptor_of(reg, repo, sp["on"])
                sref = "%s@%s" % (repo, subj["digest"])
            layer = layer_content(kind, name, art_type, subj, args.seed, sref)
            ldigest = reg.push_blob(repo, layer)
            ldesc = {"mediaType": layer_type, "digest": ldigest, "size": len(layer)}
            if kind == "signature" and args.sign_key:
                # a real cosign signature: ECDSA (or what the key is) over the
                # payload's SHA-256, DER, base64, as `cosign sign --key` writes
                sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", args.sign_key],
                                     input=layer, capture_output=True, check=True).stdout
                ldesc["annotations"] = {
                    "dev.cosignproject.cosign/signature": base64.b64encode(sig).decode()}
            elif kind == "signature":
                # a stand-in for cosign's signature annotation: random, NOT a real signature
                ldesc["annotations"] = {"dev.cosignproject.cosign/signature": base64.b64encode(
                    prng(args.seed, name, subj["digest"], "sig", n=64)).decode()}
            annotations = {"org.opencontainers.image.created": args.created,
                           "dev.ferry.test.name": name}
            annotations.update(extra)
            manifest = {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "artifactType": art_type,
                "config": {"mediaType": EMPTY_TYPE, "digest": empty, "size": len(EMPTY_BLOB),
                           "data": base64.b64encode(EMPTY_BLOB).decode()},
                "layers": [ldesc],
                "subject": subj,
                "annotations": annotations,
            }
            body = json.dumps(manifest, indent=2).encode() + b"\n"
            digest = sha256(body)
            resp = reg.put_manifest(repo, digest, OCI_MANIFEST, body)
            oci_subject = resp.getheader("OCI-Subject")
            desc = {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body),
                    "artifactType": art_type, "annotations": annotations}
            made[name] = {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body)}
            tag = None
            if args.fallback_tag == "always" or (args.fallback_tag == "auto" and not oci_subject):
                tag = update_fallback(reg, repo, subj["digest"], desc)
            print(json.dumps({"name": name, "digest": digest, "artifactType": art_type,
                              "subject": subj["digest"], "repo": repo, "mediaType": OCI_MANIFEST,
                              "size": len(body), "fallbackTag": tag,
                              "ociSubject": bool(oci_subject)}, separators=(",", ":")),
                  flush=True)
    except Fail as e:
        sys.stderr.write("%s: %s\n" % (PROG, e))
        sys.exit(1)


def update_fallback(reg, repo, subject_digest, desc):
    """Read-modify-write the referrers tag of subject_digest in repo; returns the tag."""
    tag = fallback_tag(subject_digest)
    got = reg.get_manifest(repo, tag, accept=OCI_INDEX, missing_ok=True)
    if got is None:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    else:
        data, mtype = got
        index = json.loads(data)
        if mtype != OCI_INDEX or not isinstance(index.get("manifests"), list):
            raise Fail("%s:%s exists but is not an OCI image index (%s): not touching it"
                       % (repo, tag, mtype))
    if any(isinstance(m, dict) and m.get("digest") == desc["digest"] for m in index["manifests"]):
        return tag
    index["manifests"].append(desc)
    reg.put_manifest(repo, tag, OCI_INDEX, json.dumps(index, indent=2).encode() + b"\n")
    return tag


if __name__ == "__main__":
    main()
