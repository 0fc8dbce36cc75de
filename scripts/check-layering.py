#!/usr/bin/python3
"""Check that no folder includes or calls what docs/internals/README.md says
it must not.

  scripts/check-layering.py [--root DIR] [--rules FILE]

The rules are the ```layering block of the rules file (default
docs/internals/README.md under the root): one rule per line,

  PLACE  include  TEXT     no #include in PLACE names TEXT: the path itself
                           or a path ending in /TEXT; TEXT ending in '/' is a
                           folder, starting with '_' the end of a file name,
                           and a bare word (no '.' or '/') the start of one
  PLACE  call     PREFIX   no code in PLACE calls a function whose name
                           starts with PREFIX

PLACE is a folder (ending in '/', covering everything under it) or a file.
'#' starts a comment. The C and header files checked are those under the root
(build directories and tests/ excluded); comments and string literals are
ignored when looking for calls. Each violation is printed as
FILE:LINE: ... and the exit status is 1 if there is any, 2 if the rules
cannot be read, 0 otherwise. Standard library only.
"""
import argparse
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')
CALL = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")
SKIP_DIRS = {".git", "tests", "build", "demo", "bench"}


def read_rules(path):
    """The rules of the ```layering block: (place, kind, text, line)."""
    rules, inside, found = [], False, False
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            s = line.strip()
            if not inside:
                if s == "```layering":
                    inside = found = True
                continue
            if s.startswith("```"):
                inside = False
                continue
            s = s.split("#", 1)[0].strip()
            if not s:
                continue
            parts = s.split()
            if len(parts) != 3 or parts[1] not in ("include", "call"):
                raise ValueError(f"{path}:{n}: want PLACE include|call TEXT, got {s!r}")
            rules.append((parts[0], parts[1], parts[2], n))
    if not found:
        raise ValueError(f"{path}: no ```layering block")
    if inside:
        raise ValueError(f"{path}: the ```layering block is not closed")
    return rules


def strip_code(text):
    """The text with comments and string and character literals blanked out,
    line breaks kept (so line numbers stay)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + (c if j - i >= 2 else ""))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def sources(root):
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        dirs[:] = sorted(x for x in dirs
                         if not (rel == "." and (x in SKIP_DIRS or x.startswith("build"))))
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.normpath(os.path.join(rel, f)).replace(os.sep, "/")


def include_matches(text, path):
    """Does the #include'd path name what the rule's TEXT names?"""
    base = path.rsplit("/", 1)[-1]
    if text.endswith("/"):
        return path.startswith(text) or ("/" + text) in path
    if text.startswith("_"):
        return base.endswith(text)
    if "." not in text and "/" not in text:
        return base.startswith(text)
    return path == text or path.endswith("/" + text)


def applies(place, path):
    return path.startswith(place) if place.endswith("/") else path == place


def check(root, rules):
    """(violations, files checked)."""
    bad, nfiles = [], 0
    for path in sources(root):
        mine = [r for r in rules if applies(r[0], path)]
        if not mine:
            continue
        nfiles += 1
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            text = f.read()
        lines = text.split("\n")
        code = strip_code(text).split("\n")
        for no, line in enumerate(lines, 1):
            m = INCLUDE.match(line)
            if m:
                for place, kind, what, rno in mine:
                    if kind == "include" and include_matches(what, m.group(1)):
                        bad.append(f"{path}:{no}: includes {m.group(1)}, which {place} must "
                                   f"not (rule at line {rno})")
                continue
            for m in CALL.finditer(code[no - 1]):
                name = m.group(1)
                for place, kind, what, rno in mine:
                    if kind == "call" and name.startswith(what):
                        bad.append(f"{path}:{no}: calls {name}, which {place} must not "
                                   f"(rule at line {rno})")
    return bad, nfiles


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--root", default=os.path.dirname(here))
    ap.add_argument("--rules", help="default: ROOT/docs/internals/README.md")
    a = ap.parse_args()
    rules_path = a.rules or os.path.join(a.root, "docs", "internals", "README.md")
    try:
        rules = read_rules(rules_path)
    except (OSError, ValueError) as e:
        print(f"check-layering: {e}", file=sys.stderr)
        return 2
    bad, nfiles = check(a.root, rules)
    for b in bad:
        print(b, file=sys.stderr)
    if bad:
        print(f"check-layering: {len(bad)} violations of {len(rules)} rules in {rules_path}",
              file=sys.stderr)
        return 1
    if nfiles == 0:
        print(f"check-layering: no file under {a.root} is covered by a rule", file=sys.stderr)
        return 2
    print(f"check-layering: {len(rules)} rules hold in {nfiles} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
