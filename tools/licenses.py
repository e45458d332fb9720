"""The licence of every dependency in requirements.lock, as docs/licenses.md (``make licenses``).

Runtime dependencies are the distributions that pyproject.toml's ``[project] dependencies``
pull in, followed through each installed distribution's ``Requires-Dist`` (markers and
extras evaluated here), at the versions requirements.lock pins; the rest of the lock (pytest,
ruff, mypy, playwright, …) is development tooling and is listed apart. A runtime
dependency outside the lock (llama-cpp-python, which ``make setup`` builds from source) is
listed with a note. Each licence is read from the installed metadata: the PEP 639
``License-Expression``, else the ``License ::`` classifiers, else a short ``License`` field;
``REVIEWED`` holds what was read by hand where the metadata says nothing usable.

``verdict`` sorts a licence into allowed (permissive, weak copyleft: LGPL, MPL), copyleft
(GPL, AGPL: not allowed for a runtime dependency) and unknown (neither in ``ALLOWED`` nor
reviewed); tests/unit/test_licenses.py fails on anything but allowed, and when
docs/licenses.md is not what this script writes now.

    python -m tools.licenses           # write docs/licenses.md
    python -m tools.licenses --check   # exit 1 if docs/licenses.md is out of date
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import re
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "licenses.md"

# SPDX identifiers a runtime dependency may carry: permissive licences; the weak copyleft
# ones (LGPL, MPL) that bind only changes to the library itself; and the GCC runtime library
# (libgfortran in numpy's and scipy's wheels), GPL with the exception that lets any program
# link it.
ALLOWED = frozenset({
    "0BSD", "Apache-2.0", "Apache-2.0 WITH LLVM-exception", "BSD-2-Clause", "BSD-2-Clause-Views", "BSD-3-Clause",
    "BSD-3-Clause-Open-MPI", "BSL-1.0", "CC0-1.0", "CNRI-Python", "HPND", "ISC", "MIT", "MIT-CMU", "MPL-1.1",
    "MPL-2.0", "PSF-2.0", "Python-2.0", "Unlicense", "Zlib",
    "LGPL-2.0-only", "LGPL-2.0-or-later", "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0-only", "LGPL-3.0-or-later",
    "GPL-3.0-or-later WITH GCC-exception-3.1",
})
# Trove classifiers and free-text License fields → SPDX.
NAMES = {
    "Apache Software License": "Apache-2.0", "Apache 2.0": "Apache-2.0", "Apache": "Apache-2.0",
    "Apache License, Version 2.0": "Apache-2.0", "Apache License Version 2.0": "Apache-2.0",
    "Apache 2.0 License": "Apache-2.0", "MIT License": "MIT", "BSD 2-Clause License": "BSD-2-Clause",
    "The BSD 2-Clause License": "BSD-2-Clause", "3-Clause BSD License": "BSD-3-Clause",
    "Python Software Foundation License": "PSF-2.0", "PSFL": "PSF-2.0", "ISC License (ISCL)": "ISC",
    "ISC License": "ISC", "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
}
# Read by hand where the metadata is a bare "BSD", a whole licence text or several licences
# at once: what the distribution's own licence files say.
REVIEWED = {
    "colorama": ("BSD-3-Clause", "classifier says only BSD; LICENSE.txt is BSD-3-Clause"),
    "jinja2": ("BSD-3-Clause", "classifier says only BSD; LICENSE.txt is BSD-3-Clause"),
    "mpmath": ("BSD-3-Clause", "field says only BSD; LICENSE is BSD-3-Clause"),
    "nest-asyncio": ("BSD-2-Clause", "field says only BSD; LICENSE is BSD-2-Clause"),
    "pypdfium2": ("BSD-3-Clause AND Apache-2.0",
                  "the field says BSD-3-Clause, Apache-2.0 and dependency licences: the bundled PDFium's "
                  "third-party parts (FreeType under the FTL, ICU, libjpeg-turbo, libpng, zlib, lcms2, OpenJPEG, "
                  "libtiff, abseil), each permissive; their texts are in the wheel's BUILD_LICENSES/"),
    "pystemmer": ("MIT AND BSD-3-Clause", "the wrapper MIT, the Snowball stemmers BSD-3-Clause"),
    "scipy": ("BSD-3-Clause", "the License field is the whole licence text: BSD-3-Clause"),
    "semantic-version": ("BSD-2-Clause", "field says only BSD; LICENSE is BSD-2-Clause"),
    "sympy": ("BSD-3-Clause", "field says only BSD; LICENSE is BSD-3-Clause"),
    "dirtyjson": ("MIT OR AFL-2.1", "LICENSE.txt: either, at the user's choice"),
}


@dataclass(frozen=True)
class Row:
    name: str
    version: str
    licence: str
    note: str = ""
    bundled: str = ""  # the licences of libraries its wheel bundles, where its licence files name them


def lock(path: Path = REPO / "requirements.lock") -> dict[str, tuple[str, str]]:
    """Canonical name → (name as written, version) for every pin in the lock."""
    pins: dict[str, tuple[str, str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonicalize_name(name)] = (name.strip(), version.strip())
    return pins


def runtime() -> set[str]:
    """Canonical names of the distributions pyproject.toml's dependencies pull in."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    todo = [(Requirement(r), "") for r in project["dependencies"]]
    seen: set[str] = set()
    done: set[tuple[str, str]] = set()
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(req.name)
        seen.add(name)
        for wanted in ["", *sorted(req.extras)]:
            if (name, wanted) in done:
                continue
            done.add((name, wanted))
            try:
                requires = md.distribution(name).requires or []
            except md.PackageNotFoundError:
                continue
            todo += [(Requirement(r), wanted) for r in requires]
    return seen


def licence(name: str) -> tuple[str, str]:
    """(licence, note) from the installed metadata, else ("unknown", why)."""
    if name in REVIEWED:
        return REVIEWED[name]
    try:
        meta: Any = md.distribution(name).metadata  # an email.message.Message
    except md.PackageNotFoundError:
        return "unknown", "not installed: run `make setup`"
    if meta.get("License-Expression"):
        return str(meta["License-Expression"]).strip(), ""
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    spdx = [NAMES.get(c, c) for c in classifiers if c != "OSI Approved"]
    field = " ".join(str(meta.get("License") or "").split())
    if field and len(field) <= 60:
        return NAMES.get(field, field), ""
    first = str(meta.get("License") or "").strip().split("\n", 1)[0].strip()
    if NAMES.get(first, first) in ALLOWED:  # the whole licence text, under its name
        return NAMES.get(first, first), "the License field is the licence's text"
    if spdx:
        return " AND ".join(dict.fromkeys(spdx)), "from the classifiers"
    return "unknown", "no licence in the metadata"


def bundled(name: str) -> str:
    """The ``License:`` lines of a distribution's licence files (numpy and scipy list the
    libraries their wheels bundle that way), joined with AND; "" where there are none."""
    try:
        files = md.distribution(name).files or []
    except md.PackageNotFoundError:
        return ""
    found: dict[str, None] = {}
    for f in files:
        if ".dist-info/" in str(f) and re.search(r"(?i)licen[cs]e|copying|notice", f.name):
            text = Path(str(f.locate())).read_text(encoding="utf-8", errors="replace")
            for m in re.finditer(r"(?m)^License: (.+?)\s*(?:\(.*\))?$", text):
                found[m.group(1)] = None
    return " AND ".join(f"({t})" if " OR " in t else t for t in found)


_RANK = {"allowed": 0, "unknown": 1, "copyleft": 2}


def verdict(expression: str) -> str:
    """"allowed", "copyleft" (GPL, AGPL) or "unknown" for an SPDX expression: one allowed
    alternative of an OR will do; every part of an AND must be allowed."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expression)
    at = 0

    def term() -> str:  # an identifier, WITH an exception if it has one
        nonlocal at
        words = [tokens[at]]
        at += 1
        if at + 1 < len(tokens) and tokens[at] == "WITH":
            words += tokens[at:at + 2]
            at += 2
        licence = " ".join(words)
        if licence in ALLOWED:
            return "allowed"
        return "copyleft" if re.search(r"(?<![L])GPL", licence) else "unknown"

    def factor() -> str:
        nonlocal at
        if at < len(tokens) and tokens[at] == "(":
            at += 1
            result = either()
            at += 1  # ")"
            return result
        return term() if at < len(tokens) else "unknown"

    def joined(op: str, part: Callable[[], str], pick: Callable[..., str]) -> str:
        # "A AND B" needs both licences (the stricter counts); "A OR B" lets us pick (the freer).
        nonlocal at
        result = part()
        while at < len(tokens) and tokens[at] == op:
            at += 1
            result = pick(result, part(), key=_RANK.__getitem__)
        return result

    def both() -> str:
        return joined("AND", factor, max)

    def either() -> str:
        return joined("OR", both, min)

    result = either()
    if at != len(tokens):  # free text, not an expression
        return "copyleft" if re.search(r"(?<![L])GPL", expression) else "unknown"
    return result


def allowed(row: Row) -> bool:
    """A runtime dependency's licence, and every licence its wheel bundles, allowed."""
    return all(verdict(x) == "allowed" for x in (row.licence, row.bundled) if x)


def rows() -> tuple[list[Row], list[Row]]:
    """The runtime dependencies and the development ones, each sorted by name."""
    pins = lock()
    needed = runtime() - {"akhbar"}
    run: list[Row] = []
    dev: list[Row] = []
    for name in sorted(needed | set(pins)):
        written, version = pins.get(name, (name, ""))
        text, note = licence(name)
        if name == "llama-cpp-python":  # built from source by `make setup`, its version in the Makefile
            m = re.search(r"(?m)^LLAMA_VERSION := (\S+)", (REPO / "Makefile").read_text(encoding="utf-8"))
            version, note = (m.group(1) if m else "?"), "built from source by `make setup` (LLAMA_VERSION)"
        elif not version:  # the installed version would differ from machine to machine
            version = "not pinned"
            note = "; ".join(filter(None, ["not in the lock: `make setup` installs it", note]))
        (run if name in needed else dev).append(Row(written, version, text, note, bundled(name)))
    return run, dev


def render() -> str:
    run, dev = rows()
    counts: dict[str, int] = {}
    for row in run:
        counts[row.licence] = counts.get(row.licence, 0) + 1
    summary = "; ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    lines = [
        "# Dependency licences",
        "",
        "Generated by `make licenses` (`tools/licenses.py`) from `requirements.lock` and the installed",
        "packages' metadata; do not edit by hand. `tests/unit/test_licenses.py` fails when a runtime",
        "dependency carries the GPL or AGPL (the LGPL is allowed) or a licence nobody has reviewed, and",
        "when this page is out of date. Models and data have their own licences: README, \"Models and",
        "licences\".",
        "",
        f"## Runtime ({len(run)} distributions)",
        "",
        f"How many carry each licence: {summary}.",
        "",
        "| package | version | licence | bundled in its wheel | note |",
        "|---|---|---|---|---|",
        *(f"| {r.name} | {r.version} | {r.licence} | {r.bundled} | {r.note} |" for r in run),
        "",
        f"## Development only ({len(dev)} distributions; not installed with Akhbar's package)",
        "",
        "| package | version | licence | note |",
        "|---|---|---|---|",
        *(f"| {r.name} | {r.version} | {r.licence} | {r.note} |" for r in dev),
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if docs/licenses.md is out of date")
    args = ap.parse_args()
    text = render()
    run, _ = rows()
    bad = [f"{r.name} {r.version}: {r.licence}" + (f" (bundles {r.bundled})" if r.bundled else "")
           for r in run if not allowed(r)]
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT.relative_to(REPO)} is out of date: run `make licenses`", file=sys.stderr)
            return 1
    else:
        OUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUT.relative_to(REPO)}: {len(run)} runtime dependencies")
    for line in bad:
        print(f"not allowed for a runtime dependency: {line}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
