#!/usr/bin/python3
"""Hostile-bundle corpus for the importer (tests/integration/test_hostile.sh).

Writes bundles an attacker with write access to the medium could make (no key:
decompression bombs, lying or flooded seek tables, oversized statement or
signature, a malformed pax header, terminal escapes in the unsigned statement)
and bundles a trusted but careless or compromised exporter could sign (an
index fanning out over the same digests, a tag push cannot set, a referrer
that is its own subject). Each case is one file OUT/NAME.tar.zst; the test
knows what each must do.

  mkhostile.py --good GOOD.tar.zst --unpacked DIR --repack BUNDLE_REPACK \\
      --key SECKEY --out OUT

GOOD is a bundle ferry-export wrote, DIR its members (zstd -d | tar -x),
BUNDLE_REPACK the test tool that packs a directory with ferry's writer (and
signs ferry.json with -s SECKEY, an unencrypted minisign key).

Zstd frames are written here by hand (RFC 8878): raw blocks for content, RLE
blocks for bombs (4 bytes per 128 KiB: a 1 GiB frame is 32 KiB on disk), and
the seek table of zstd's seekable format. Standard library only.
"""
import argparse
import hashlib
import json
import os
import shutil
import struct
import subprocess
import tarfile
import io

ZSTD_MAGIC = 0xFD2FB528
SKIPPABLE = 0x184D2A50
SEEK_MAGIC = 0x184D2A5E
SEEKABLE_FOOTER = 0x8F92EAB1
BLOCK = 128 << 10
GIB = 1 << 30

# ---- xxh64 (for the content checksum of small raw frames) ---------------------------
P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)
M64 = (1 << 64) - 1


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def _round(acc, v):
    acc = (acc + v * P2) & M64
    return (_rotl(acc, 31) * P1) & M64


def _merge(acc, v):
    acc ^= _round(0, v)
    return (acc * P1 + P4) & M64


def xxh64(data, seed=0):
    n, i = len(data), 0
    if n >= 32:
        v = [(seed + P1 + P2) & M64, (seed + P2) & M64, seed, (seed - P1) & M64]
        while i + 32 <= n:
            for k in range(4):
                v[k] = _round(v[k], struct.unpack_from("<Q", data, i + 8 * k)[0])
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & M64
        for k in range(4):
            h = _merge(h, v[k])
    else:
        h = (seed + P5) & M64
    h = (h + n) & M64
    while i + 8 <= n:
        h ^= _round(0, struct.unpack_from("<Q", data, i)[0])
        h = (_rotl(h, 27) * P1 + P4) & M64
        i += 8
    if i + 4 <= n:
        h ^= (struct.unpack_from("<I", data, i)[0] * P1) & M64
        h = (_rotl(h, 23) * P2 + P3) & M64
        i += 4
    while i < n:
        h ^= (data[i] * P5) & M64
        h = (_rotl(h, 11) * P1) & M64
        i += 1
    h ^= h >> 33
    h = (h * P2) & M64
    h ^= h >> 29
    h = (h * P3) & M64
    return h ^ (h >> 32)


# ---- frames -------------------------------------------------------------------------
def _header(window=0x38):
    # descriptor 0x04: content checksum, no content size; window 0x38: 128 KiB
    # (Window_Descriptor: exponent << 3, window log = 10 + exponent)
    return struct.pack("<IBB", ZSTD_MAGIC, 0x04, window)


def _block(kind, size, last):
    v = (size << 3) | (kind << 1) | (1 if last else 0)
    return struct.pack("<I", v)[:3]


def raw_frame(content, window=0x38):
    """A zstd frame of raw blocks holding content, with its checksum."""
    out = [_header(window)]
    if not content:
        out.append(_block(0, 0, True))
    for i in range(0, len(content), BLOCK):
        chunk = content[i:i + BLOCK]
        out.append(_block(0, len(chunk), i + BLOCK >= len(content)))
        out.append(chunk)
    out.append(struct.pack("<I", xxh64(content) & 0xFFFFFFFF))
    return b"".join(out)


def rle_frame(size, byte=0):
    """A frame of `size` bytes of `byte` in RLE blocks. Its checksum is not
    computed (nobody may decompress that far): the decoder would find it
    wrong only after producing everything."""
    out = [_header()]
    left = size
    while left > 0:
        n = min(left, BLOCK)
        left -= n
        out.append(_block(1, n, left == 0))
        out.append(bytes([byte]))
    out.append(b"\0\0\0\0")
    return b"".join(out)


def skippable_frame():
    return struct.pack("<II", SKIPPABLE, 0)


def seek_table(entries, nframes=None):
    """entries: [(csize, dsize)]; nframes overrides the footer's count."""
    body = b"".join(struct.pack("<II", c, d) for c, d in entries)
    footer = struct.pack("<IBI", len(entries) if nframes is None else nframes, 0, SEEKABLE_FOOTER)
    return struct.pack("<II", SEEK_MAGIC, len(body) + len(footer)) + body + footer


def write_frames(path, frames):
    """frames: [(bytes, dsize)] -> file with its seek table."""
    with open(path, "wb") as f:
        for data, _ in frames:
            f.write(data)
        f.write(seek_table([(len(d), n) for d, n in frames]))


def read_frames(path):
    """The frames of a bundle as [(bytes, dsize)], from its seek table."""
    data = open(path, "rb").read()
    n, desc, magic = struct.unpack_from("<IBI", data, len(data) - 9)
    assert magic == SEEKABLE_FOOTER, path
    esize = 12 if desc & 0x80 else 8
    start = len(data) - 9 - n * esize - 8
    frames, off = [], 0
    for i in range(n):
        c, d = struct.unpack_from("<II", data, start + 8 + i * esize)
        frames.append((data[off:off + c], d))
        off += c
    return frames


# ---- tar members as ferry writes them (one frame each) ------------------------------
def tar_member(name, content, typeflag=tarfile.REGTYPE):
    ti = tarfile.TarInfo(name)
    ti.size = len(content)
    ti.mode = 0o644
    ti.type = typeflag
    hdr = ti.tobuf(format=tarfile.USTAR_FORMAT)
    pad = (-len(content)) % 512
    return hdr + content + b"\0" * pad


# ---- cases --------------------------------------------------------------------------
def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def repack(args, out, d, sign):
    names = ["ferry.json", "ferry.json.minisig", "oci-layout", "index.json"]
    blobs = sorted(os.listdir(os.path.join(d, "blobs", "sha256")))
    names += ["blobs/sha256/" + b for b in blobs]
    cmd = [args.repack] + (["-s", args.key] if sign else []) + [out, d] + names
    subprocess.run(cmd, check=True)


def copy_unpacked(args, name):
    d = os.path.join(args.out, name + ".d")
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(args.unpacked, d)
    return d


def edit_statement(d, fn):
    p = os.path.join(d, "ferry.json")
    st = json.load(open(p))
    fn(st)
    open(p, "w").write(json.dumps(st, separators=(",", ":")))


def fanout(args):
    """A signed bundle whose image is an index of 20 copies of an index of 20
    copies ... 6 levels over one image manifest: 20^6 paths, 9 blobs."""
    d = os.path.join(args.out, "fanout.d")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "blobs", "sha256"))
    blobs = {}

    def put(b):
        blobs[sha(b)] = b
        return sha(b), len(b)

    cfg = put(json.dumps({"architecture": "amd64", "os": "linux",
                          "rootfs": {"type": "layers", "diff_ids": []}}).encode())
    layer = put(b"fan-out layer\n")
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": cfg[0], "size": cfg[1]},
                      "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                  "digest": layer[0], "size": layer[1]}]}).encode()
    top, mt = put(man), "application/vnd.oci.image.manifest.v1+json"
    manifests = [top[0]]
    for _ in range(6):
        idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": [{"mediaType": mt, "digest": top[0], "size": top[1]}] * 20}
                         ).encode()
        top, mt = put(idx), "application/vnd.oci.image.index.v1+json"
        manifests.append(top[0])
    for dg, b in blobs.items():
        open(os.path.join(d, "blobs", "sha256", dg[7:]), "wb").write(b)
    layout = b'{"imageLayoutVersion":"1.0.0"}'
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{"mediaType": mt, "digest": top[0], "size": top[1],
                                       "annotations": {"org.opencontainers.image.ref.name":
                                                       "hostile/fanout:1"}}]},
                       separators=(",", ":")).encode()
    open(os.path.join(d, "oci-layout"), "wb").write(layout)
    open(os.path.join(d, "index.json"), "wb").write(index)
    members = [{"path": "oci-layout", "digest": sha(layout), "size": len(layout)},
               {"path": "index.json", "digest": sha(index), "size": len(index)}]
    for dg in reversed(manifests):
        members.append({"path": "blobs/sha256/" + dg[7:], "digest": dg, "size": len(blobs[dg]),
                        "mediaType": "application/vnd.oci.image.index.v1+json"
                        if dg != manifests[0] else "application/vnd.oci.image.manifest.v1+json"})
    for dg in (cfg[0], layer[0]):
        members.append({"path": "blobs/sha256/" + dg[7:], "digest": dg, "size": len(blobs[dg])})
    st = {"ferryBundleVersion": 1, "creator": "mkhostile", "created": "2026-01-01T00:00:00Z",
          "images": [{"source": "hostile.example/hostile/fanout:1", "registry": "hostile.example",
                      "repository": "hostile/fanout", "tag": "1", "digest": top[0],
                      "mediaType": mt, "size": top[1], "total": sum(len(b) for b in blobs.values()),
                      "platforms": ["linux/amd64"]}],
          "members": members}
    open(os.path.join(d, "ferry.json"), "w").write(json.dumps(st, separators=(",", ":")))
    repack(args, os.path.join(args.out, "fanout.tar.zst"), d, True)
    return top


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--good", required=True)
    ap.add_argument("--unpacked", required=True)
    ap.add_argument("--repack", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    out = lambda n: os.path.join(args.out, n + ".tar.zst")  # noqa: E731
    good = read_frames(args.good)

    # 1. zero blocks (an "empty archive") over 16 GiB of RLE frames, no statement
    write_frames(out("bomb-first"), [(rle_frame(GIB), GIB)] * 16)
    # 2. a good bundle with 16 GiB of RLE frames after its end-of-archive blocks
    write_frames(out("bomb-last"), good + [(rle_frame(GIB), GIB)] * 16)
    # 3. the end-of-archive frame replaced by 1 GiB of zeros listed as 1024 bytes
    write_frames(out("bomb-lying"), good[:-1] + [(rle_frame(GIB), 1024)])
    # 3b. the end-of-archive frame asking for a 128 MiB window (2^27)
    write_frames(out("big-window"), good[:-1] + [(raw_frame(b"\0" * 1024, window=17 << 3), 1024)])
    # 4. a good bundle with the seek table filled up with empty skippable frames
    flood = (1 << 20) - len(good)
    write_frames(out("frames-flood"), good + [(skippable_frame(), 0)] * flood)
    # 5. a seek table footer counting more frames than any bundle has
    with open(out("frames-over"), "wb") as f:
        f.write(raw_frame(b"\0" * 1024))
        f.write(seek_table([(len(raw_frame(b"\0" * 1024)), 1024)], nframes=(1 << 20) + 1))
    # 6. unsigned statement: terminal escapes in creator and created
    d = copy_unpacked(args, "escape")
    edit_statement(d, lambda st: st.update(
        creator="\x1b[2K\r\x1b[32mferry-export\x1b[0m", created="\x1b]0;owned\x07now"))
    repack(args, out("escape"), d, False)
    # 6b. unsigned statement: escapes in a member path and an unknown key
    d = copy_unpacked(args, "escape-path")

    edit_statement(d, lambda st: st["members"][2].update(path="blobs/\x1b]0;owned\x07"))
    repack(args, out("escape-path"), d, False)
    d = copy_unpacked(args, "escape-key")
    edit_statement(d, lambda st: st.update({"\x1b[2Kkey": 1}))
    repack(args, out("escape-key"), d, False)
    # 7. a statement over the caps: 5 MiB (list without -p), 17 MiB (any)
    for name, size in (("statement-5m", 5 << 20), ("statement-17m", 17 << 20)):
        d = copy_unpacked(args, name)
        p = os.path.join(d, "ferry.json")
        text = open(p, "rb").read()
        open(p, "wb").write(text + b" " * (size - len(text)))
        repack(args, out(name), d, True)
    # 8. a detached-size signature member over its cap
    d = copy_unpacked(args, "minisig-20k")
    open(os.path.join(d, "ferry.json.minisig"), "wb").write(b"untrusted comment: x\n" * 1000)
    repack(args, out("minisig-20k"), d, False)
    # 9. a malformed pax extended header before the first member
    st = open(os.path.join(args.unpacked, "ferry.json"), "rb").read()
    write_frames(out("bad-pax"), [
        (raw_frame(tar_member("PaxHeaders/ferry.json", b"zz garbage\n", tarfile.XHDTYPE) +
                   tar_member("ferry.json", st)),
         len(tar_member("PaxHeaders/ferry.json", b"zz garbage\n", tarfile.XHDTYPE) +
             tar_member("ferry.json", st))),
        (raw_frame(b"\0" * 1024), 1024)])
    # 10. signed: a tag push cannot set
    d = copy_unpacked(args, "bad-tag")
    edit_statement(d, lambda st: st["images"][-1].update(tag="bad tag/../x"))
    repack(args, out("bad-tag"), d, True)
    # 11. signed: a referrer that is its own subject, and one listed twice
    d = copy_unpacked(args, "self-referrer")

    def selfref(st):
        rf = dict(st["referrers"][0])
        rf["subject"] = rf["digest"]
        st["referrers"].append(rf)
    edit_statement(d, selfref)
    repack(args, out("self-referrer"), d, True)
    d = copy_unpacked(args, "twice-referrer")
    edit_statement(d, lambda st: st["referrers"].append(dict(st["referrers"][0])))
    repack(args, out("twice-referrer"), d, True)
    # 12b. signed: a cosign attachment (format version 4) whose tag names
    # another manifest than its subject, and an attachment tag in version 1
    def attach(st, other, version):
        rf = st["referrers"][0]
        hexd = "0" * 64 if other else rf["subject"].split(":")[1]
        rf["tag"] = "sha256-%s.sig" % hexd
        st["ferryBundleVersion"] = version
    d = copy_unpacked(args, "attachment-other")
    edit_statement(d, lambda st: attach(st, True, 4))
    repack(args, out("attachment-other"), d, True)
    d = copy_unpacked(args, "attachment-v1")
    edit_statement(d, lambda st: attach(st, False, 1))
    repack(args, out("attachment-v1"), d, True)
    # 13. signed deltas (format version 2): a layer left out and expected in
    # the target with a size its manifest does not give it; an expected
    # blob that is also a member
    def delta(st, size_delta, keep):
        layer = next(m for m in st["members"] if "layer" in (m.get("mediaType") or ""))
        if not keep:
            st["members"].remove(layer)
        st["ferryBundleVersion"] = 2
        st["bases"] = [{"kind": "receipt", "digest": layer["digest"], "created": st["created"]}]
        st["external"] = [{"digest": layer["digest"], "size": layer["size"] + size_delta,
                           "repository": "corpus/app0", "base": 0}]
        return layer
    d = copy_unpacked(args, "delta-size")
    holder = {}
    edit_statement(d, lambda st: holder.update(layer=delta(st, 1, False)))
    os.remove(os.path.join(d, holder["layer"]["path"]))
    repack(args, out("delta-size"), d, True)
    d = copy_unpacked(args, "delta-member")
    edit_statement(d, lambda st: delta(st, 0, True))
    repack(args, out("delta-member"), d, True)
    # 14. signed volumes of a set (format version 3): a set id that is not
    # the statement's; a member of volume 2 present in volume 1; the parts
    # of a blob with a gap between them
    def volume(st, tweak=None, set_id=None):
        st["ferryBundleVersion"] = 3
        for m in st["members"]:
            mt = m.get("mediaType") or ""
            if m["path"].startswith("blobs/") and "manifest" not in mt and "index" not in mt:
                m["volume"] = 1
        if tweak:
            tweak(st)
        st["volume"] = {"count": 2}
        text = json.dumps(st, separators=(",", ":"), ensure_ascii=False).encode()
        st["volume"] = {"set": set_id or "sha256:" + hashlib.sha256(text).hexdigest(),
                        "number": 1, "count": 2}
    d = copy_unpacked(args, "volume-set")
    edit_statement(d, lambda st: volume(st, set_id="sha256:" + "ab" * 32))
    repack(args, out("volume-set"), d, True)

    def foreign(st):
        next(m for m in st["members"] if m.get("volume") == 1)["volume"] = 2
    d = copy_unpacked(args, "volume-foreign")
    edit_statement(d, lambda st: volume(st, foreign))
    repack(args, out("volume-foreign"), d, True)

    def gap(st):
        layer = next(m for m in st["members"] if "layer" in (m.get("mediaType") or ""))
        i = st["members"].index(layer)
        hexd = layer["digest"].split(":")[1]
        half = layer["size"] // 2
        parts = [{"path": "parts/sha256/%s.%d" % (hexd, n + 1), "digest": layer["digest"],
                  "size": size, "volume": n + 1, "blob": layer["digest"], "offset": off}
                 for n, (size, off) in enumerate([(half, 0), (layer["size"] - half, half + 1)])]
        st["members"][i:i + 1] = parts
        st["split"] = [{"digest": layer["digest"], "size": layer["size"],
                        "mediaType": layer["mediaType"], "parts": 2}]
    d = copy_unpacked(args, "volume-gap")
    edit_statement(d, lambda st: volume(st, gap))
    repack(args, out("volume-gap"), d, True)
    # 12. signed: an index fanning out 20 x 6 levels over the same digests
    top = fanout(args)
    print(json.dumps({"fanout": top[0]}))


if __name__ == "__main__":
    main()
