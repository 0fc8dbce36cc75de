#!/usr/bin/python3
"""A test Sigstore: a Fulcio-like CA and a Rekor-like log key, and keyless
signing with them, all offline.

  mksigstore.py init DIR
      DIR/ca.pem, ca.key     a self-signed ECDSA P-256 root CA (valid 2 days)
      DIR/rekor.key, .pub    the log's ECDSA P-256 key
      DIR/trusted_root.json  both, as a Sigstore trusted root (mediaType
                             application/vnd.dev.sigstore.trustedroot+json;version=0.1,
                             the shape of sigstore's public-good root)

  mksigstore.py sign DIR --email E --issuer URL --payload FILE [--time-offset S]
      a Fulcio-style leaf for E (an ephemeral P-256 key; e-mail SAN, code-signing
      extended key usage, the OIDC issuer in extension 1.3.6.1.4.1.57264.1.8 as a
      DER UTF8String, valid one day from now), an ECDSA-SHA256 signature over the
      payload, and a hashedrekord entry with its signed entry timestamp (SET) at
      integratedTime now + S. stdout: JSON {"signature": b64, "certificate": PEM,
      "chain": PEM, "bundle": the dev.sigstore.cosign/bundle annotation text}.

The formats are those of shared/reference/cosign-formats.md sections 1 and 3 (a
Rekor bundle annotation; the SET over the canonical JSON of body, integratedTime,
logID, logIndex). Standard library and the openssl CLI only.
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time


def ossl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


def der_of_pem_key(path):
    return ossl("pkey", "-pubin", "-in", path, "-outform", "DER")


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


def init(d):
    os.makedirs(d, exist_ok=True)
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    ossl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ca_key)
    ossl("req", "-new", "-x509", "-key", ca_key, "-out", ca, "-days", "2", "-subj",
         "/O=ferry test/CN=ferry test fulcio", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    rk = os.path.join(d, "rekor.key")
    ossl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", rk)
    ossl("ec", "-in", rk, "-pubout", "-out", os.path.join(d, "rekor.pub"))
    rder = der_of_pem_key(os.path.join(d, "rekor.pub"))
    ca_der = ossl("x509", "-in", ca, "-outform", "DER")
    start = rfc3339(time.time() - 3600)
    root = {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{"baseUrl": "https://rekor.invalid", "hashAlgorithm": "SHA2_256",
                   "publicKey": {"rawBytes": base64.b64encode(rder).decode(),
                                 "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                                 "validFor": {"start": start}},
                   "logId": {"keyId": base64.b64encode(hashlib.sha256(rder).digest()).decode()}}],
        "certificateAuthorities": [{"subject": {"organization": "ferry test",
                                                "commonName": "ferry test fulcio"},
                                    "uri": "https://fulcio.invalid",
                                    "certChain": {"certificates": [
                                        {"rawBytes": base64.b64encode(ca_der).decode()}]},
                                    "validFor": {"start": start}}],
        "ctlogs": [], "timestampAuthorities": []}
    with open(os.path.join(d, "trusted_root.json"), "w") as f:
        json.dump(root, f, indent=2)


def sign(d, email, issuer, payload, offset):
    with tempfile.TemporaryDirectory() as t:
        key, csr, crt, ext = (os.path.join(t, n) for n in ("k.pem", "r.csr", "c.pem", "ext.cnf"))
        ossl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
        ossl("req", "-new", "-key", key, "-out", csr, "-subj", "/")
        with open(ext, "w") as f:
            f.write("keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n"
                    "subjectAltName=critical,email:%s\n"
                    "1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:%s\n" % (email, issuer))
        ossl("x509", "-req", "-in", csr, "-CA", os.path.join(d, "ca.pem"), "-CAkey",
             os.path.join(d, "ca.key"), "-CAcreateserial", "-out", crt, "-days", "1",
             "-extfile", ext)
        sig = ossl("dgst", "-sha256", "-sign", key, data=payload)
        cert = open(crt).read()
    body = json.dumps({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
        "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}},
        "signature": {"content": base64.b64encode(sig).decode(),
                      "publicKey": {"content": base64.b64encode(cert.encode()).decode()}}}},
        separators=(",", ":")).encode()
    b64body = base64.b64encode(body).decode()
    log_id = hashlib.sha256(der_of_pem_key(os.path.join(d, "rekor.pub"))).hexdigest()
    itime, index = int(time.time()) + offset, 4242
    msg = json.dumps({"body": b64body, "integratedTime": itime, "logID": log_id,
                      "logIndex": index}, sort_keys=True, separators=(",", ":")).encode()
    setsig = ossl("dgst", "-sha256", "-sign", os.path.join(d, "rekor.key"), data=msg)
    bundle = {"SignedEntryTimestamp": base64.b64encode(setsig).decode(),
              "Payload": {"body": b64body, "integratedTime": itime, "logIndex": index,
                          "logID": log_id}}
    return {"signature": base64.b64encode(sig).decode(), "certificate": cert,
            "chain": open(os.path.join(d, "ca.pem")).read(),
            "bundle": json.dumps(bundle, separators=(",", ":"))}


def main():
    ap = argparse.ArgumentParser(prog="mksigstore")
    sub = ap.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("init")
    i.add_argument("dir")
    s = sub.add_parser("sign")
    s.add_argument("dir")
    s.add_argument("--email", required=True)
    s.add_argument("--issuer", required=True)
    s.add_argument("--payload", required=True)
    s.add_argument("--time-offset", type=int, default=0)
    a = ap.parse_args()
    try:
        if a.cmd == "init":
            init(a.dir)
        else:
            with open(a.payload, "rb") as f:
                print(json.dumps(sign(a.dir, a.email, a.issuer, f.read(), a.time_offset)))
    except subprocess.CalledProcessError as e:
        sys.stderr.write("mksigstore: openssl %s: %s\n" % (" ".join(e.cmd[1:3]),
                                                           e.stderr.decode(errors="replace")))
        sys.exit(1)


if __name__ == "__main__":
    main()
