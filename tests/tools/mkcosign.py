#!/usr/bin/python3
"""Sign an image in a registry the ways cosign does, with a test key.

  mkcosign.py --registry HOST:PORT --repo REPO --subject TAG|DIGEST
              [--sign-key PEM] [--identity REF] [--attach-repo REPO] [--tamper] FORM...

The subject's digest is read from REPO (the sha256 of the manifest body). Each
FORM writes one signature or attachment (formats: shared/reference/
cosign-formats.md, mirrored in docs/signatures.md):

  sig     cosign's legacy signature: tag sha256-<hex>.sig in ATTACH-REPO (default
          REPO) holding an OCI manifest whose layer is the simple-signing payload
          (application/vnd.dev.cosign.simplesigning.v1+json) with the signature in
          the dev.cosignproject.cosign/signature annotation. An existing .sig tag
          gets the new layer appended, as a second `cosign sign` does.
  att     cosign's legacy attestation: tag sha256-<hex>.att, one layer
          application/vnd.dsse.envelope.v1+json holding a DSSE envelope over an
          in-toto Statement v1 (SLSA provenance predicate) naming the subject.
  sbom    `cosign attach sbom`: tag sha256-<hex>.sbom, one SPDX JSON layer
          (text/spdx+json), unsigned.
  bundle  cosign v3's default: an OCI 1.1 referrer (subject = the image) with
          artifactType application/vnd.dev.sigstore.bundle.v0.3+json and one layer,
          a Sigstore bundle v0.3 with publicKey material and a DSSE envelope over
          the in-toto Statement https://sigstore.dev/cosign/sign/v1. The referrers
          fallback tag sha256-<hex> is updated (distribution 2.8 has no API).

--keyless DIR signs `sig` the way `cosign sign` does without a key: a leaf
certificate for --email/--issuer from the test CA in DIR (mksigstore.py init),
with the certificate, chain and Rekor bundle annotations (its SET made with
DIR's log key, at integratedTime now + --time-offset seconds).

--identity is the docker-reference the simple-signing payload names (default
REPO, what cosign writes without a registry: tests give the full HOST/REPO:TAG
when a policy's signedIdentity matters). --tamper signs the payload and then
stores other bytes (another nonce): the signature no longer verifies, as after
tampering in the source registry. Signatures are ECDSA/RSA/Ed25519 by
`openssl pkeyutl`/`dgst` with --sign-key (SHA-256, DER), as `cosign sign --key`.
Without --sign-key a sig/att/bundle carries random bytes as its signature.

stdout: one JSON object per FORM: {"form", "tag" (or null), "digest", "subject"}.
Exit status: 0 ok, 1 registry or HTTP error, 64 usage. Standard library and
the openssl CLI only.
"""
import argparse
import base64
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkreferrers as mk  # noqa: E402  (the registry client and helpers)
import mksigstore  # noqa: E402  (the test CA and log)

PROG = "mkcosign"
SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
INTOTO = "application/vnd.in-toto+json"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
FORMS = ("sig", "att", "sbom", "bundle")


def usage(msg):
    sys.stderr.write("%s: %s\n" % (PROG, msg))
    sys.exit(64)


def sign(key, data):
    if key is None:
        return os.urandom(71)
    # Ed25519 keys sign the message itself; dgst -sign is ECDSA/RSA over SHA-256
    kind = subprocess.run(["openssl", "pkey", "-in", key, "-noout", "-text"], capture_output=True,
                          check=True).stdout
    if kind.startswith(b"ED25519"):
        with open(os.path.join(os.environ.get("TMPDIR", "/tmp"), "mkcosign.%d" % os.getpid()),
                  "wb") as f:
            f.write(data)
            path = f.name
        try:
            return subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", key, "-rawin", "-in",
                                   path], capture_output=True, check=True).stdout
        finally:
            os.unlink(path)
    return subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=data,
                          capture_output=True, check=True).stdout


def public_key_der(key):
    return subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                          capture_output=True, check=True).stdout


def pae(ptype, body):
    t = ptype.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def go_config(layers):
    """A config like go-containerregistry's empty image with these layers (cosign's)."""
    return json.dumps({"architecture": "", "created": "0001-01-01T00:00:00Z",
                       "history": [{"created": "0001-01-01T00:00:00Z"}] * len(layers),
                       "os": "", "rootfs": {"type": "layers",
                                            "diff_ids": [l["digest"] for l in layers]},
                       "config": {}}, separators=(",", ":")).encode()


def attach(reg, repo, tag, layer_desc):
    """Append layer_desc to the manifest at tag (a new one if none) and PUT it there."""
    old = reg.get_manifest(repo, tag, missing_ok=True)
    layers = json.loads(old[0])["layers"] if old else []
    layers.append(layer_desc)
    cfg = go_config(layers)
    cdigest = reg.push_blob(repo, cfg)
    man = {"schemaVersion": 2, "mediaType": mk.OCI_MANIFEST,
           "config": {"mediaType": OCI_CONFIG, "size": len(cfg), "digest": cdigest},
           "layers": layers}
    body = json.dumps(man, separators=(",", ":")).encode()
    reg.put_manifest(repo, tag, mk.OCI_MANIFEST, body)
    return mk.sha256(body)


def statement(subject_digest, predicate_type, predicate):
    alg, _, hexd = subject_digest.partition(":")
    return json.dumps({"_type": "https://in-toto.io/Statement/v1",
                       "subject": [{"name": "", "digest": {alg: hexd}}],
                       "predicateType": predicate_type, "predicate": predicate},
                      separators=(",", ":")).encode()


def envelope(key, body, tamper_body=None):
    sig = sign(key, pae(INTOTO, body))
    stored = tamper_body if tamper_body is not None else body
    return {"payloadType": INTOTO, "payload": base64.b64encode(stored).decode(),
            "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}]}


def main():
    ap = argparse.ArgumentParser(prog=PROG, description="sign an image the ways cosign does")
    ap.add_argument("--registry", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--subject", required=True)
    ap.add_argument("--attach-repo", help="repository for the attachments (default --repo)")
    ap.add_argument("--sign-key", metavar="PEM")
    ap.add_argument("--identity", help="docker-reference of the simple-signing payload")
    ap.add_argument("--tamper", action="store_true")
    ap.add_argument("--keyless", metavar="DIR", help="sign sig with a certificate of DIR's CA")
    ap.add_argument("--email", default="dev@example.com")
    ap.add_argument("--issuer", default="https://issuer.example")
    ap.add_argument("--time-offset", type=int, default=0)
    ap.add_argument("forms", nargs="+", metavar="FORM")
    a = ap.parse_args()
    for f in a.forms:
        if f not in FORMS:
            usage("unknown FORM %r (want %s)" % (f, ", ".join(FORMS)))
    reg = mk.Registry(a.registry)
    arepo = a.attach_repo or a.repo
    try:
        subj = mk.descriptor_of(reg, a.repo, a.subject)
        sd = subj["digest"]
        base = mk.fallback_tag(sd)
        nonce = base64.b16encode(os.urandom(8)).decode().lower()
        for form in a.forms:
            tag = None
            if form == "sig":
                def payload(n):
                    return json.dumps({"critical": {"identity": {"docker-reference":
                                                                 a.identity or a.repo},
                                                    "image": {"docker-manifest-digest": sd},
                                                    "type": "cosign container image signature"},
                                       "optional": {"nonce": n}},
                                      separators=(",", ":")).encode()
                signed = payload(nonce)
                stored = payload(nonce + "x") if a.tamper else signed
                ldigest = reg.push_blob(arepo, stored)
                if a.keyless:
                    k = mksigstore.sign(a.keyless, a.email, a.issuer, signed, a.time_offset)
                    ann = {"dev.cosignproject.cosign/signature": k["signature"],
                           "dev.sigstore.cosign/certificate": k["certificate"],
                           "dev.sigstore.cosign/chain": k["chain"],
                           "dev.sigstore.cosign/bundle": k["bundle"]}
                else:
                    ann = {"dev.cosignproject.cosign/signature":
                           base64.b64encode(sign(a.sign_key, signed)).decode()}
                desc = {"mediaType": SIMPLESIGNING, "size": len(stored), "digest": ldigest,
                        "annotations": ann}
                tag = base + ".sig"
                digest = attach(reg, arepo, tag, desc)
            elif form == "att":
                body = statement(sd, "https://slsa.dev/provenance/v1",
                                 {"buildDefinition": {"buildType": "https://ferry.invalid/t@v1",
                                                      "externalParameters": {"nonce": nonce}}})
                env = envelope(a.sign_key, body, body.replace(b"t@v1", b"t@v2")
                               if a.tamper else None)
                blob = json.dumps(env, separators=(",", ":")).encode()
                ldigest = reg.push_blob(arepo, blob)
                desc = {"mediaType": DSSE, "size": len(blob), "digest": ldigest,
                        "annotations": {"dev.cosignproject.cosign/signature": "",
                                        "predicateType": "https://slsa.dev/provenance/v1"}}
                tag = base + ".att"
                digest = attach(reg, arepo, tag, desc)
            elif form == "sbom":
                blob = json.dumps({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT",
                                   "name": "sbom-" + nonce, "dataLicense": "CC0-1.0"},
                                  separators=(",", ":")).encode()
                ldigest = reg.push_blob(arepo, blob)
                tag = base + ".sbom"
                digest = attach(reg, arepo, tag, {"mediaType": "text/spdx+json",
                                                  "size": len(blob), "digest": ldigest})
            else:  # bundle
                body = statement(sd, "https://sigstore.dev/cosign/sign/v1", {})
                env = envelope(a.sign_key, body, body.replace(b"{}}", b"{\"x\":1}}")
                               if a.tamper else None)
                hint = base64.b64encode(mk.hashlib.sha256(public_key_der(a.sign_key)).digest()
                                        ).decode() if a.sign_key else "none"
                bundle = json.dumps({"mediaType": BUNDLE,
                                     "verificationMaterial": {"publicKey": {"hint": hint}},
                                     "dsseEnvelope": env}, separators=(",", ":")).encode()
                ldigest = reg.push_blob(arepo, bundle)
                empty = reg.push_blob(arepo, mk.EMPTY_BLOB)
                man = {"schemaVersion": 2, "mediaType": mk.OCI_MANIFEST, "artifactType": BUNDLE,
                       "config": {"mediaType": mk.EMPTY_TYPE, "size": 2, "digest": empty},
                       "layers": [{"mediaType": BUNDLE, "size": len(bundle), "digest": ldigest}],
                       "subject": subj,
                       "annotations": {"dev.sigstore.bundle.content": "dsse-envelope",
                                       "dev.sigstore.bundle.predicateType":
                                       "https://sigstore.dev/cosign/sign/v1"}}
                body = json.dumps(man, separators=(",", ":")).encode()
                digest = mk.sha256(body)
                reg.put_manifest(arepo, digest, mk.OCI_MANIFEST, body)
                mk.update_fallback(reg, arepo, sd, {"mediaType": mk.OCI_MANIFEST,
                                                    "digest": digest, "size": len(body),
                                                    "artifactType": BUNDLE})
            print(json.dumps({"form": form, "tag": tag, "digest": digest, "subject": sd},
                             separators=(",", ":")), flush=True)
    except mk.Fail as e:
        sys.stderr.write("%s: %s\n" % (PROG, e))
        sys.exit(1)
    except subprocess.CalledProcessError as e:
        sys.stderr.write("%s: openssl: %s\n" % (PROG, e.stderr.decode(errors="replace")))
        sys.exit(1)


if __name__ == "__main__":
    main()
