#!/usr/bin/python3
"""Write synthetic container images into one OCI image layout.

Deterministic: the same spec and seed give the same bytes and digests on every
run. Layers are real gzip-compressed tar files whose uncompressed size is the
size asked for, filled with pseudo-random bytes, so compressed sizes are
predictable and no later compressor (zstd in a bundle) can shrink them.
Nothing is held in memory whole: a 1.5 GiB layer streams through 1 MiB chunks.

Standard library only. See tests/tools/README.md for the spec format.
"""

import argparse
import concurrent.futures
import fcntl
import hashlib
import json
import os
import random
import re
import sys
import tarfile
import zlib

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

KINDS = {
    # kind: (top media type or None for single, manifest, config, layer)
    "oci": (None, OCI_MANIFEST, OCI_CONFIG, OCI_LAYER),
    "oci-index": (OCI_INDEX, OCI_MANIFEST, OCI_CONFIG, OCI_LAYER),
    "docker": (None, DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER),
    "docker-list": (DOCKER_LIST, DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER),
}

REF_NAME = "org.opencontainers.image.ref.name"
ANN_REPO = "dev.ferry.mkimages.repository"
ANN_TAG = "dev.ferry.mkimages.tag"
MARKER = ".mkimages.json"  # cache of generated layers, also marks the dir as ours
LOCK = ".mkimages.lock"  # serialises builds sharing an output directory
CHUNK = 1 << 20
BLOCK = 512
DEFAULT_CREATED = "2024-01-01T00:00:00Z"
DEFAULT_MTIME = 1704067200  # DEFAULT_CREATED as a unix time
DEFAULT_FILE_SIZE = 8 << 20
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
REPO_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")


class SpecError(Exception):
    pass


def parse_size(v):
    """1536, "512K", "30M", "1.5G" (binary units), "40MB", "1.5GB" (decimal)."""
    if isinstance(v, bool):
        raise SpecError(f"bad size {v!r}")
    if isinstance(v, int):
        n = v
    else:
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(i?B?)\s*", str(v), re.I)
        if not m:
            raise SpecError(f"bad size {v!r}")
        unit = m.group(2).upper()
        decimal = m.group(3).upper() == "B"
        base = 1000 if decimal else 1024
        n = int(float(m.group(1)) * base ** " KMGT".index(unit or " "))
    if n < 0:
        raise SpecError(f"negative size {v!r}")
    return n


def parse_platform(s):
    parts = s.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise SpecError(f"bad platform {s!r} (want os/arch[/variant])")
    p = {"architecture": parts[1], "os": parts[0]}
    if len(parts) == 3:
        p["variant"] = parts[2]
    return p


def canonical(obj):
    """Stable JSON bytes: what gets hashed is exactly what gets stored."""
    return json.dumps(obj, indent=2, ensure_ascii=False).encode() + b"\n"


# --------------------------------------------------------------------------- layers


class HashingWriter:
    """File object that hashes and counts what passes through to the real file."""

    def __init__(self, f):
        self.f = f
        self.h = hashlib.sha256()
        self.n = 0

    def write(self, b):
        self.h.update(b)
        self.n += len(b)
        self.f.write(b)
        return len(b)


def tar_size(size):
    """The uncompressed tar size actually produced for a requested size."""
    return max(3 * BLOCK, -(-size // BLOCK) * BLOCK)


def tar_files(total, file_size):
    """Split a tar of exactly `total` bytes (multiple of 512) into member sizes.

    Every member is a 512-byte header plus data; data sizes are multiples of 512
    so no padding is needed; the archive ends with two zero blocks.
    """
    file_size = max(BLOCK, file_size // BLOCK * BLOCK)
    left = total - 2 * BLOCK
    sizes = []
    while left > 0:
        data = min(file_size, left - BLOCK)
        sizes.append(data)
        left -= BLOCK + data
    return sizes


def make_layer(job):
    """Write one gzip tar layer into blobs/sha256; return its facts.

    Runs in a worker process: the job is a plain dict.
    """
    blobdir, key, seed, size, level, file_size, mtime = (
        job["blobdir"], job["key"], job["seed"], job["size"], job["level"],
        job["file_size"], job["mtime"])
    rng = random.Random(f"{seed}\0{key}")
    total = tar_size(size)
    tmp = os.path.join(blobdir, f".tmp-{os.getpid()}-{hashlib.sha256(key.encode()).hexdigest()[:16]}")
    diff = hashlib.sha256()
    with open(tmp, "wb") as raw:
        out = HashingWriter(raw)
        comp = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        # zlib's gzip header has mtime 0 and no file name: the same bytes every run.

        def put(b):
            diff.update(b)
            c = comp.compress(b)
            if c:
                out.write(c)

        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("_")[:80] or "layer"
        for i, n in enumerate(tar_files(total, file_size)):
            ti = tarfile.TarInfo(f"mkimages/{stem}/f{i:05d}.bin")
            ti.size = n
            ti.mtime = mtime
            ti.mode = 0o644
            ti.uname = ti.gname = "root"
            put(ti.tobuf(format=tarfile.USTAR_FORMAT))
            while n:
                k = min(n, CHUNK)
                put(rng.randbytes(k))
                n -= k
        put(b"\0" * (2 * BLOCK))
        out.write(comp.flush())
    digest = "sha256:" + out.h.hexdigest()
    final = os.path.join(blobdir, out.h.hexdigest())
    os.replace(tmp, final)
    return {"key": key, "digest": digest, "size": out.n, "diff_id": "sha256:" + diff.hexdigest(),
            "tar_size": total}


# --------------------------------------------------------------------------- spec


class Builder:
    def __init__(self, spec, out, jobs, quiet):
        self.spec = spec
        self.out = out
        self.jobs = jobs
        self.quiet = quiet
        self.seed = str(spec.get("seed", "ferry"))
        self.level = int(spec.get("gzip_level", 0))
        if not 0 <= self.level <= 9:
            raise SpecError("gzip_level must be 0..9")
        self.created = spec.get("created", DEFAULT_CREATED)
        self.file_size = parse_size(spec.get("file_size", DEFAULT_FILE_SIZE))
        self.named = {}
        for name, d in (spec.get("layers") or {}).items():
            if isinstance(d, (int, str)):
                d = {"size": d}
            if "size" not in d:
                raise SpecError(f"layer {name!r}: missing size")
            self.named[name] = {"size": parse_size(d["size"]),
                                "per_platform": bool(d.get("per_platform", True))}
        self.blobdir = os.path.join(out, "blobs", "sha256")
        self.written = set()  # hex digests that belong to this build
        self.layers = {}  # layer key -> facts

    # ---- layers

    def layer_key(self, img, tag, plat, idx, entry):
        """Map a layer entry of an image to (key, size): same key, same bytes."""
        ps = "/".join(plat[k] for k in ("os", "architecture", "variant") if k in plat)
        if isinstance(entry, str) and entry in self.named:
            d = self.named[entry]
            return f"named/{entry}/{ps if d['per_platform'] else 'any'}", d["size"]
        if isinstance(entry, str):
            try:
                parse_size(entry)
            except SpecError:
                raise SpecError(f"{img['repo']}: layer {entry!r} is neither a named layer nor a size")
        if isinstance(entry, (int, str)):
            entry = {"size": entry}
        if not isinstance(entry, dict) or "size" not in entry:
            raise SpecError(f"{img['repo']}: bad layer entry {entry!r} (a size, a named layer, or an object with size)")
        t = tag if entry.get("per_tag", True) else "*"
        p = ps if entry.get("per_platform", True) else "any"
        return f"anon/{img['repo']}/{t}/{p}/{idx}", parse_size(entry["size"])

    def collect_layers(self, plan):
        want = {}
        for img, tag, plat, entries in plan:
            for idx, e in enumerate(entries):
                key, size = self.layer_key(img, tag, plat, idx, e)
                want[key] = size
        return want

    def build_layers(self, want):
        cache = load_cache(self.out)
        params = {"seed": self.seed, "level": self.level, "file_size": self.file_size,
                  "mtime": DEFAULT_MTIME, "version": 1}
        todo = []
        for key, size in sorted(want.items()):
            c = cache.get("layers", {}).get(key)
            if (c and cache.get("params") == params and c["tar_size"] == tar_size(size)
                    and blob_ok(self.blobdir, c["digest"], c["size"], verify=True)):
                self.layers[key] = c
            else:
                todo.append({"blobdir": self.blobdir, "key": key, "seed": self.seed, "size": size,
                             "level": self.level, "file_size": self.file_size, "mtime": DEFAULT_MTIME})
        if todo:
            log(self.quiet, f"mkimages: generating {len(todo)} layers "
                f"({fmt_bytes(sum(tar_size(j['size']) for j in todo))}), {len(want) - len(todo)} cached")
            if self.jobs > 1 and len(todo) > 1:
                with concurrent.futures.ProcessPoolExecutor(self.jobs) as ex:
                    # Biggest first keeps both workers busy to the end.
                    todo.sort(key=lambda j: -j["size"])
                    for r in ex.map(make_layer, todo):
                        self.layers[r["key"]] = r
            else:
                for j in todo:
                    r = make_layer(j)
                    self.layers[r["key"]] = r
        for r in self.layers.values():
            self.written.add(r["digest"].split(":", 1)[1])
        save_cache(self.out, {"params": params, "layers": self.layers})

    # ---- json blobs

    def put_json(self, obj, media_type):
        data = canonical(obj)
        hexd = hashlib.sha256(data).hexdigest()
        path = os.path.join(self.blobdir, hexd)
        if not blob_ok(self.blobdir, "sha256:" + hexd, len(data), verify=True):
            tmp = path + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        self.written.add(hexd)
        return {"mediaType": media_type, "digest": "sha256:" + hexd, "size": len(data)}

    def image_manifest(self, img, tag, plat, entries, kind):
        _, mt_manifest, mt_config, mt_layer = KINDS[kind]
        layers = [self.layers[self.layer_key(img, tag, plat, i, e)[0]] for i, e in enumerate(entries)]
        config = {
            "created": self.created,
            "architecture": plat["architecture"],
            "os": plat["os"],
        }
        if "variant" in plat:
            config["variant"] = plat["variant"]
        config["config"] = {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/sh"],
            "Labels": {"dev.ferry.mkimages.image": f"{img['repo']}:{tag}"},
        }
        config["rootfs"] = {"type": "layers", "diff_ids": [l["diff_id"] for l in layers]}
        config["history"] = [{"created": self.created, "created_by": f"mkimages {l['key']}"} for l in layers]
        cdesc = self.put_json(config, mt_config)
        manifest = {"schemaVersion": 2, "mediaType": mt_manifest, "config": cdesc,
                    "layers": [{"mediaType": mt_layer, "digest": l["digest"], "size": l["size"]}
                               for l in layers]}
        if kind.startswith("oci") and img.get("annotations"):
            manifest["annotations"] = dict(img["annotations"])
        return self.put_json(manifest, mt_manifest)

    def image(self, img, tag):
        kind = img["kind"]
        top = KINDS[kind][0]
        if top is None:
            return self.image_manifest(img, tag, img["_platforms"][0], img["layers"], kind)
        children = []
        for plat in img["_platforms"]:
            children.append(self.image_manifest(img, tag, plat, img["layers"], kind))
            children[-1]["platform"] = plat
        index = {"schemaVersion": 2, "mediaType": top, "manifests": children}
        if kind == "oci-index" and img.get("annotations"):
            index["annotations"] = dict(img["annotations"])
        return self.put_json(index, top)

    # ---- whole build

    def plan(self):
        images = self.spec.get("images")
        if not isinstance(images, list) or not images:
            raise SpecError("spec has no images")
        plan = []
        seen = set()
        for img in images:
            repo = img.get("repo")
            if not isinstance(repo, str) or not REPO_RE.match(repo):
                raise SpecError(f"bad repository name {repo!r}")
            kind = img.setdefault("kind", "oci")
            if kind not in KINDS:
                raise SpecError(f"{repo}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
            tags = img.get("tags") or ["latest"]
            for t in list(tags) + list((img.get("aliases") or {}).keys()):
                if not TAG_RE.match(t):
                    raise SpecError(f"{repo}: bad tag {t!r}")
                if (repo, t) in seen:
                    raise SpecError(f"{repo}:{t} defined twice")
                seen.add((repo, t))
            for a, target in (img.get("aliases") or {}).items():
                if target not in tags:
                    raise SpecError(f"{repo}: alias {a!r} points at unknown tag {target!r}")
            plats = img.get("platforms") or [img.get("platform", "linux/amd64")]
            if KINDS[kind][0] is None and len(plats) != 1:
                raise SpecError(f"{repo}: kind {kind} takes exactly one platform")
            img["_platforms"] = [parse_platform(p) for p in plats]
            img["_tags"] = tags
            if not img.get("layers"):
                raise SpecError(f"{repo}: no layers")
            for tag in tags:
                for plat in img["_platforms"]:
                    plan.append((img, tag, plat, img["layers"]))
        return plan

    def run(self):
        plan = self.plan()
        os.makedirs(self.blobdir, exist_ok=True)
        self.build_layers(self.collect_layers(plan))
        entries = []
        refs = []
        for img in self.spec["images"]:
            by_tag = {}
            for tag in img["_tags"]:
                by_tag[tag] = self.image(img, tag)
            names = [(t, t) for t in img["_tags"]] + list((img.get("aliases") or {}).items())
            for tag, src in names:
                d = dict(by_tag[src])
                d["annotations"] = {REF_NAME: f"{img['repo']}:{tag}", ANN_REPO: img["repo"], ANN_TAG: tag}
                entries.append(d)
                refs.append({"ref": f"{img['repo']}:{tag}", "repository": img["repo"], "tag": tag,
                             "kind": img["kind"], "mediaType": d["mediaType"], "digest": d["digest"]})
        write_atomic(os.path.join(self.out, "oci-layout"), canonical({"imageLayoutVersion": "1.0.0"}))
        write_atomic(os.path.join(self.out, "index.json"),
                     canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}))
        self.prune()
        return summary(self.out, refs)

    def prune(self):
        """Drop blobs of earlier builds so the layout holds exactly this spec."""
        for name in os.listdir(self.blobdir):
            if name not in self.written:
                os.unlink(os.path.join(self.blobdir, name))


def write_dir_view(layout, ref, dest):
    """Write a skopeo `dir:` image of one ref, blobs hard-linked from the layout.

    skopeo's oci: transport only selects index.json entries with OCI media
    types, so Docker manifests and lists are pushed from a dir: view instead.
    """
    blobdir = os.path.join(layout, "blobs", "sha256")
    if os.path.isdir(dest):
        for n in os.listdir(dest):
            os.unlink(os.path.join(dest, n))
    os.makedirs(dest, exist_ok=True)

    def link(hexd, name):
        path = os.path.join(dest, name)
        if os.path.exists(path):
            return
        try:
            os.link(os.path.join(blobdir, hexd), path)
        except OSError:
            with open(os.path.join(blobdir, hexd), "rb") as src, open(path, "wb") as dst:
                while True:
                    b = src.read(CHUNK)
                    if not b:
                        break
                    dst.write(b)

    def read(hexd):
        with open(os.path.join(blobdir, hexd), "rb") as f:
            return json.load(f)

    top = ref["digest"].split(":", 1)[1]
    with open(os.path.join(dest, "version"), "w") as f:
        f.write("Directory Transport Version: 1.1\n")
    link(top, "manifest.json")
    doc = read(top)
    manifests = [top]
    if "manifests" in doc:
        manifests = []
        for m in doc["manifests"]:
            h = m["digest"].split(":", 1)[1]
            link(h, h + ".manifest.json")
            manifests.append(h)
    for h in manifests:
        m = read(h)
        for d in [m["config"]] + m["layers"]:
            link(d["digest"].split(":", 1)[1], d["digest"].split(":", 1)[1])


def write_atomic(path, data):
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)


def blob_ok(blobdir, digest, size, verify=False):
    """Is the blob there with this size (and, with verify, this digest)?"""
    hexd = digest.split(":", 1)[1]
    path = os.path.join(blobdir, hexd)
    try:
        if os.stat(path).st_size != size:
            return False
        if not verify:
            return True
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while True:
                b = f.read(CHUNK)
                if not b:
                    break
                h.update(b)
        return h.hexdigest() == hexd
    except OSError:
        return False


def load_cache(out):
    try:
        with open(os.path.join(out, MARKER)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def save_cache(out, data):
    tmp = os.path.join(out, MARKER + ".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, os.path.join(out, MARKER))


def summary(out, refs):
    blobdir = os.path.join(out, "blobs", "sha256")
    sizes = [os.stat(os.path.join(blobdir, n)).st_size for n in os.listdir(blobdir)]
    return {"layout": os.path.abspath(out), "refs": refs, "blobs": len(sizes), "blob_bytes": sum(sizes)}


def fmt_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return str(n)


def log(quiet, msg):
    if not quiet:
        print(msg, file=sys.stderr)


# --------------------------------------------------------------------------- cli


def image_from_cli(s):
    """REPO:TAG[@KIND][=SIZE[+SIZE...]] -> image spec entry."""
    m = re.fullmatch(r"([^:@=]+):([^@=]+)(?:@([a-z-]+))?(?:=(.+))?", s)
    if not m:
        raise SpecError(f"bad --image {s!r} (want REPO:TAG[@KIND][=SIZE[+SIZE...]])")
    repo, tag, kind, sizes = m.groups()
    kind = kind or "oci"
    img = {"repo": repo, "tags": [tag], "kind": kind,
           "layers": (sizes or "1M").split("+")}
    if KINDS.get(kind, (None,))[0] is not None:
        img["platforms"] = ["linux/amd64", "linux/arm64"]
    return img


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Write deterministic synthetic images into one OCI image layout.",
        epilog="Each tag is one index.json entry with ref.name REPO:TAG. "
               "Example: mkimages.py -o /tmp/big --image big/one:1.0=1.5G")
    ap.add_argument("spec", nargs="?", help="JSON spec file ('-' for stdin)")
    ap.add_argument("-o", "--out", required=True, help="layout directory (created; reused as a cache)")
    ap.add_argument("--image", action="append", default=[], metavar="REPO:TAG[@KIND][=SIZES]",
                    help="add an image from the command line; KIND is oci (default), oci-index, "
                         "docker or docker-list; SIZES like 30M+1M")
    ap.add_argument("--seed", help="override the spec's seed")
    ap.add_argument("--gzip-level", type=int, help="override the spec's gzip_level (default 0)")
    ap.add_argument("-j", "--jobs", type=int, default=min(os.cpu_count() or 1, 4),
                    help="parallel layer writers (default: CPUs, at most 4)")
    ap.add_argument("--summary", metavar="FILE", help="write the JSON summary here instead of stdout")
    ap.add_argument("--list-refs", action="store_true",
                    help="print REPO:TAG, digest and skopeo source name (tab-separated) per line "
                         "instead of the JSON summary")
    ap.add_argument("--dir-views", metavar="DIR",
                    help="also write a skopeo dir: image for each Docker-kind ref to DIR/REPO/TAG "
                         "(skopeo's oci: transport cannot select Docker manifests)")
    ap.add_argument("--force", action="store_true", help="write into a non-empty directory that is not ours")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args(argv)

    try:
        spec = {}
        if a.spec:
            with (sys.stdin if a.spec == "-" else open(a.spec)) as f:
                spec = json.load(f)
        spec.setdefault("images", [])
        spec["images"] = list(spec["images"]) + [image_from_cli(s) for s in a.image]
        if a.seed is not None:
            spec["seed"] = a.seed
        if a.gzip_level is not None:
            spec["gzip_level"] = a.gzip_level
        if os.path.isdir(a.out) and set(os.listdir(a.out)) - {LOCK} and not os.path.exists(
                os.path.join(a.out, MARKER)) and not a.force:
            raise SpecError(f"{a.out}: not empty and not written by mkimages (use --force)")
        os.makedirs(a.out, exist_ok=True)
        lock = open(os.path.join(a.out, LOCK), "w")
        fcntl.flock(lock, fcntl.LOCK_EX)
        res = Builder(spec, a.out, max(1, a.jobs), a.quiet).run()
        if a.dir_views:
            for r in res["refs"]:
                if r["kind"].startswith("docker"):
                    r["dir"] = os.path.abspath(os.path.join(a.dir_views, r["repository"], r["tag"]))
                    write_dir_view(a.out, r, r["dir"])
        for r in res["refs"]:
            # What skopeo copies from: "" when it cannot (Docker kind, no --dir-views).
            if "dir" in r:
                r["source"] = "dir:" + r["dir"]
            else:
                r["source"] = "" if r["kind"].startswith("docker") else f"oci:{res['layout']}:{r['ref']}"
    except SpecError as e:
        print(f"mkimages: {e}", file=sys.stderr)
        return 64
    except (OSError, ValueError) as e:
        print(f"mkimages: {e}", file=sys.stderr)
        return 2
    log(a.quiet, f"mkimages: {len(res['refs'])} refs, {res['blobs']} blobs, "
        f"{fmt_bytes(res['blob_bytes'])} in {res['layout']}")
    if a.list_refs:
        text = "".join(f"{r['ref']}\t{r['digest']}\t{r['source']}\n" for r in res["refs"])
    else:
        text = json.dumps(res, indent=2) + "\n"
    if a.summary:
        with open(a.summary, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
