#!/usr/bin/env python3
"""Copy web/package-lock.json into the shoebox-web recipe as its shrinkwrap.

Yocto's npmsw:// fetcher reads the lock file when the recipe is parsed, long
before the source tree is fetched, so the recipe needs its own copy:
yocto/meta-shoebox/recipes-shoebox/shoebox-web/files/npm-shrinkwrap.json.

    python3 yocto/scripts/gen-npm-shrinkwrap.py            # refresh the copy
    python3 yocto/scripts/gen-npm-shrinkwrap.py --check    # exit 1 if stale

While web/ has no package.json yet, the copy is a lock file with no
dependencies. Once web/package.json exists, web/package-lock.json must be
committed too: the appliance build installs exactly what it pins.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
WEB = os.path.join(REPO, "web")
OUT = os.path.join(
    REPO, "yocto", "meta-shoebox", "recipes-shoebox", "shoebox-web", "files", "npm-shrinkwrap.json"
)
EMPTY = {
    "name": "shoebox-web",
    "lockfileVersion": 3,
    "requires": True,
    "packages": {"": {"name": "shoebox-web"}},
}


def wanted() -> tuple[str | None, str]:
    """Return (error, expected text of the shrinkwrap copy)."""
    manifest = os.path.join(WEB, "package.json")
    lock = os.path.join(WEB, "package-lock.json")
    if not os.path.exists(lock):
        if os.path.exists(manifest):
            return ("web/package.json exists but web/package-lock.json does not: "
                    "run `npm install` in web/ and commit the lock file"), ""
        return None, json.dumps(EMPTY, indent=2) + "\n"
    with open(lock, encoding="utf-8") as f:
        text = f.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return f"web/package-lock.json is not valid JSON: {e}", ""
    if data.get("lockfileVersion") not in (2, 3):
        return (f"web/package-lock.json has lockfileVersion {data.get('lockfileVersion')!r}; "
                "npm 7 or newer writes 2 or 3, which bitbake's npmsw fetcher reads"), ""
    return None, text


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="do not write; exit 1 if the copy is stale")
    args = ap.parse_args(argv)

    err, text = wanted()
    if err:
        print(f"gen-npm-shrinkwrap: {err}", file=sys.stderr)
        return 2
    try:
        with open(OUT, encoding="utf-8") as f:
            current = f.read()
    except FileNotFoundError:
        current = None
    rel = os.path.relpath(OUT, REPO)
    if args.check:
        if current == text:
            print(f"gen-npm-shrinkwrap: {rel} matches web/package-lock.json"
                  if os.path.exists(os.path.join(WEB, "package-lock.json"))
                  else f"gen-npm-shrinkwrap: {rel} is the empty lock (web/ has no package.json yet)")
            return 0
        print(f"gen-npm-shrinkwrap: {rel} is out of date; run: python3 yocto/scripts/gen-npm-shrinkwrap.py",
              file=sys.stderr)
        return 1
    if current != text:
        os.makedirs(os.path.dirname(OUT), exist_ok=True)
        with open(OUT, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"gen-npm-shrinkwrap: wrote {rel}")
    else:
        print(f"gen-npm-shrinkwrap: {rel} already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
