#!/usr/bin/python3
"""Helpers for bench/run.sh, bench/wan.sh and bench/same-bundle.sh: corpus spec, free ports, measuring, checking, report.

Standard library only.
"""

import argparse
import hashlib
import json
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

MANIFEST_ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])
MIB = 1 << 20


def cmd_spec(a):
    """The benchmark corpus: repos x tags, two platforms, shared bases.

    Distinct bytes at scale 1: two base layers (32 and 24 MiB) per platform,
    one 10 MiB runtime layer per repository and platform shared by its tags,
    one 0.7 MiB app layer per tag and platform: about 400 MiB for 12 x 3.
    """
    s = a.scale
    spec = {
        "seed": "ferry-bench-1",
        "layers": {"base-a": {"size": int(32 * MIB * s)}, "base-b": {"size": int(24 * MIB * s)}},
        "images": [],
    }
    for i in range(a.repos):
        docker = i >= a.repos - a.docker
        spec["images"].append({
            "repo": f"bench/app{i:02d}",
            "kind": "docker-list" if docker else "oci-index",
            "platforms": ["linux/amd64", "linux/arm64"],
            "tags": [f"1.{t}" for t in range(a.tags)],
            "layers": ["base-a" if i % 2 == 0 else "base-b",
                       {"size": int(10 * MIB * s), "per_tag": False},
                       int(0.7 * MIB * s)],
        })
    json.dump(spec, sys.stdout, indent=1)
    print()


def cmd_freeport(a):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def cmd_measure(a):
    """Stand-in for `/usr/bin/time -f '%e %M' -o OUT`: elapsed seconds, peak RSS KiB."""
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    t = time.monotonic()
    rc = subprocess.call(cmd)
    el = time.monotonic() - t
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    with open(a.out, "w") as f:
        f.write(f"{el:.2f} {rss}\n")
    return rc


def manifest_digest(host, ref):
    repo, tag = ref.rsplit(":", 1)
    req = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{tag}",
                                 headers={"Accept": MANIFEST_ACCEPT})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return "sha256:" + hashlib.sha256(r.read()).hexdigest()
    except (urllib.error.URLError, OSError):
        return "-"


def cmd_same(a):
    """Count refs that `want` (REF DIGEST lines) and registry HOST agree on."""
    n = ok = 0
    for line in open(a.want):
        ref, want = line.split()
        n += 1
        got = manifest_digest(a.host, ref)
        ok += got == want
        if got != want and a.label and n - ok <= 3:
            print(f"{a.label}: {a.host}/{ref}: want {want}, got {got}", file=sys.stderr)
    if n - ok > 3 and a.label:
        print(f"{a.label}: {n - ok - 3} more tags differ", file=sys.stderr)
    print(f"{ok}/{n}")


def cmd_dump(a):
    """Every repository:tag of registry HOST with the sha256 of its manifest
    bytes, sorted: two registries that print the same hold the same tags."""
    def get(path):
        req = urllib.request.Request(f"http://{a.host}{path}", headers={"Accept": MANIFEST_ACCEPT})
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.read()
    lines = []
    for repo in json.loads(get("/v2/_catalog?n=1000"))["repositories"] or []:
        for tag in json.loads(get(f"/v2/{repo}/tags/list?n=1000"))["tags"] or []:
            body = get(f"/v2/{repo}/manifests/{tag}")
            lines.append(f"{repo}:{tag} sha256:{hashlib.sha256(body).hexdigest()}")
    print("\n".join(sorted(lines)))


# --------------------------------------------------------------------------- report


def load(path):
    vals = {}
    meta = {}
    for line in open(path):
        line = line.rstrip("\n")
        if not line:
            continue
        k, _, v = line.partition(" ")
        if k.startswith("meta_"):
            meta[k[5:]] = v
        else:
            vals.setdefault(k, []).append(v)
    return vals, meta


def num(vals, k):
    """Median of the numeric values of k, None when absent or not numeric."""
    try:
        xs = [float(v) for v in vals.get(k, [])]
    except ValueError:
        return None
    return statistics.median(xs) if xs else None


def text(vals, k, default="n/a"):
    v = vals.get(k)
    return v[-1] if v else default


def f_s(x):
    return "n/a" if x is None else f"{x:.2f} s"


def f_mib(b):
    if b is None:
        return "n/a"
    return f"{b / 2**30:.2f} GiB" if b >= 2**30 else f"{b / MIB:.1f} MiB"


def cmd_report(a):
    vals, m = load(a.results)
    have_ferry = m.get("ferry") == "yes"
    distinct = num(vals, "distinct_bytes")
    tags = m.get("tags")
    rss_cap = 64 * MIB

    def ran(step):
        """Did the ferry step run and succeed? Else the text for its cells."""
        if not have_ferry:
            return False, "n/a"
        for status in vals.get(step + "_status", []):
            if status == "skipped":
                return False, "skipped"
            if status != "0":
                return False, f"failed (exit {status})"
        return True, ""

    def verdict(ok, x, good):
        if not ok or x is None:
            return ""
        return "yes" if good(x) else "**no**"

    def kib(k):
        x = num(vals, k)
        return None if x is None else x * 1024

    rows = []
    for step, target in (("export", 3), ("import", 2)):
        ok, why = ran(f"ferry_{step}")
        f, s = num(vals, f"ferry_{step}_s"), num(vals, f"skopeo_{step}_s")
        r = s / f if ok and f and s else None
        rows.append([f"{step} {tags} tags (time)", f_s(f) if ok else why, f_s(s),
                     "n/a" if r is None else f"{r:.2f}x", f">= {target}x",
                     verdict(ok, r, lambda x: x >= target)])

    # ferry-export fsyncs the bundle before it renames it into place; the
    # skopeo pipeline leaves its output in the page cache. Same durability:
    ok, why = ran("ferry_export")
    f, s = num(vals, "ferry_export_s"), num(vals, "skopeo_export_durable_s")
    if s is not None:
        r = s / f if ok and f else None
        rows.append(["export, output flushed to disk (skopeo pipeline + sync)",
                     f_s(f) if ok else why, f_s(s), "n/a" if r is None else f"{r:.2f}x", "", ""])

    def per_distinct(k):
        b = num(vals, k)
        return b / distinct if b is not None and distinct else None

    ok, why = ran("ferry_export")
    fr, sr = per_distinct("ferry_bundle_bytes"), per_distinct("skopeo_bundle_bytes")
    rows.append(["bundle bytes / distinct blob bytes", f"{fr:.4f}" if ok and fr else why or "n/a",
                 "n/a" if sr is None else f"{sr:.4f}", "", "<= 1.01",
                 verdict(ok, fr, lambda x: x <= 1.01)])
    for step in ("export", "import"):
        ok, why = ran(f"ferry_{step}")
        v = kib(f"ferry_{step}_rss_kib")
        rows.append([f"peak RSS, {step}", f_mib(v) if ok else why,
                     f_mib(kib(f"skopeo_{step}_rss_kib")) + " (largest skopeo copy)", "",
                     "< 64 MiB", verdict(ok, v, lambda x: x < rss_cap)])
    same = text(vals, "ferry_same") if have_ferry else "n/a"
    rows.append(["tags served with the source digest after the round trip", same,
                 text(vals, "skopeo_same"), "", f"{tags}/{tags}",
                 verdict(same != "n/a", same, lambda x: x == f"{tags}/{tags}")])
    if "big_bytes" in vals:
        size = f_mib(num(vals, "big_bytes"))
        for step in ("export", "import"):
            ok, why = ran(f"big_{step}")
            v = kib(f"big_{step}_rss_kib")
            rows.append([f"one {size} layer, {step}: time / peak RSS",
                         f"{f_s(num(vals, f'big_{step}_s'))} / {f_mib(v)}" if ok else why,
                         "", "", "< 64 MiB", verdict(ok, v, lambda x: x < rss_cap)])

    mode = f"; {m['mode']}" if m.get("mode") else ""
    out = [f"# ferry benchmark, {m.get('date')}", "",
           f"- host: {m.get('host')}",
           f"- tools: {m.get('tools')}",
           f"- ferry: {m.get('ferry_desc')}",
           f"- corpus: {m.get('corpus')}; distinct blob bytes {int(distinct or 0)} ({f_mib(distinct or 0)})",
           f"- runs: {m.get('runs')} (median of each figure){mode}", ""]
    hdr = ["measure", "ferry", "skopeo pipeline", "skopeo / ferry", "target", "met"]
    for r in [hdr, ["---"] * len(hdr)] + rows:
        out.append("| " + " | ".join(r) + " |")
    parts = []
    for k, label in (("skopeo_export_copy_s", "skopeo export: copy"),
                     ("skopeo_export_pack_s", "tar | zstd"),
                     ("skopeo_import_unpack_s", "skopeo import: zstd -d | tar -x"),
                     ("skopeo_import_copy_s", "copy")):
        if num(vals, k) is not None:
            parts.append(f"{label} {f_s(num(vals, k))}")
    if parts:
        out += ["", "skopeo pipeline parts: " + ", ".join(parts) + "."]
    for note in vals.get("note", []):
        out += ["", note]
    print("\n".join(out))


# --------------------------------------------------------------------------- wan report


def cmd_wan_report(a):
    """The table of bench/wan.sh: times against the bandwidth bound and skopeo."""
    vals, m = load(a.results)
    distinct = num(vals, "distinct_bytes") or 0
    largest = num(vals, "largest_blob") or 0
    rate, shared = num(vals, "rate_mbit") or 0, num(vals, "shared_mbit") or 0
    # the link cannot carry the corpus faster than the shared rate, nor the
    # largest blob faster than one connection's rate
    parts = []
    if shared:
        parts.append(distinct * 8 / (shared * 1e6))
    if rate:
        parts.append(largest * 8 / (rate * 1e6))
    bound = max(parts) if parts else None

    def ok(step):
        sts = vals.get(step + "_status", [])
        bad = [s for s in sts if s != "0"]
        return (not bad, f"failed (exit {bad[0]})" if bad else "")

    def ratio(x, y):
        return f"{x / y:.2f}x" if x is not None and y else "n/a"

    def cpu(k):
        x = num(vals, k + "_relay_cpu_s")
        return "" if x is None else f"{x:.1f} s"

    def conns(k):
        x = num(vals, k + "_conns")
        return "" if x is None else f"{x:.0f}"

    sk_all = num(vals, "skopeo_s")
    sk_tags = None
    if sk_all is not None and num(vals, "skopeo_referrers_s") is not None:
        sk_tags = sk_all - num(vals, "skopeo_referrers_s")
    rows = [["bandwidth bound: max(distinct bytes / shared rate, largest blob / connection rate)",
             f_s(bound), "1.00x", "", "", ""]]
    for key, label, sk in (("ferry_refs", "ferry-export, tags + referrers", sk_all),
                           ("ferry_norefs", "ferry-export --no-referrers", sk_tags)):
        good, why = ok(key)
        t = num(vals, key + "_s") if good else None
        rows.append([label, f_s(t) if good else why, ratio(t, bound), ratio(sk, t),
                     conns(key), cpu(key)])
    rows.append(["skopeo pipeline, tags + referrers (copy, copy by digest, tar \\| zstd)",
                 f_s(sk_all), ratio(sk_all, bound), "", conns("skopeo"), cpu("skopeo")])
    rows.append(["skopeo pipeline, tags only (the above less its referrer copies)",
                 f_s(sk_tags), ratio(sk_tags, bound), "", "", ""])
    good, why = ok("ferry_refs")
    rss = num(vals, "ferry_refs_rss_kib")
    extra = [f"- peak RSS of ferry-export (tags + referrers): "
             f"{f_mib(rss * 1024) if good and rss else why or 'n/a'}"
             f"; --no-referrers: {f_mib((num(vals, 'ferry_norefs_rss_kib') or 0) * 1024)}"
             f"; largest skopeo copy: {f_mib((num(vals, 'skopeo_rss_kib') or 0) * 1024)}"]
    fb, sb = num(vals, "ferry_refs_bundle_bytes"), num(vals, "skopeo_bundle_bytes")
    if distinct:
        extra.append(f"- bundle bytes / distinct blob bytes: ferry {fb / distinct:.4f}"
                     if fb else "- bundle bytes: n/a")
        if sb:
            extra[-1] += f", skopeo pipeline {sb / distinct:.4f}"
    sp = [f"{label} {f_s(num(vals, k))}" for k, label in
          (("skopeo_tags_s", "copy of the tags"), ("skopeo_referrers_s", "copy of the referrers"),
           ("skopeo_pack_s", "tar | zstd")) if num(vals, k) is not None]
    if sp:
        extra.append("- skopeo pipeline parts: " + ", ".join(sp))

    mode = f"; {m['mode']}" if m.get("mode") else ""
    out = [f"# ferry WAN benchmark, {m.get('date')}", "",
           f"- host: {m.get('host')}",
           f"- tools: {m.get('tools')}",
           f"- ferry: {m.get('ferry_desc')}",
           f"- link (bench/wanrelay.py): {m.get('link')}",
           f"- corpus: {m.get('corpus')}; distinct blob bytes {int(distinct)} ({f_mib(distinct)}),"
           f" largest blob {f_mib(largest)}",
           f"- runs: {m.get('runs')} (median of each figure; the order of the tools alternates){mode}",
           ""]
    hdr = ["measure", "time", "/ bound", "skopeo / ferry", "connections", "relay CPU"]
    for r in [hdr, ["---"] * len(hdr)] + rows:
        out.append("| " + " | ".join(r) + " |")
    out += [""] + extra
    print("\n".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("spec")
    p.add_argument("--repos", type=int, default=12)
    p.add_argument("--tags", type=int, default=3)
    p.add_argument("--docker", type=int, default=2, help="how many repositories are Docker lists")
    p.add_argument("--scale", type=float, default=1.0)
    p.set_defaults(f=cmd_spec)
    p = sub.add_parser("freeport")
    p.set_defaults(f=cmd_freeport)
    p = sub.add_parser("measure")
    p.add_argument("out")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.set_defaults(f=cmd_measure)
    p = sub.add_parser("same")
    p.add_argument("host")
    p.add_argument("want")
    p.add_argument("--label", help="report each mismatch on stderr with this prefix")
    p.set_defaults(f=cmd_same)
    p = sub.add_parser("dump")
    p.add_argument("host")
    p.set_defaults(f=cmd_dump)
    p = sub.add_parser("report")
    p.add_argument("results")
    p.set_defaults(f=cmd_report)
    p = sub.add_parser("wan-report")
    p.add_argument("results")
    p.set_defaults(f=cmd_wan_report)
    a = ap.parse_args()
    return a.f(a) or 0


if __name__ == "__main__":
    sys.exit(main())
