"""The licences of Akhbar's dependencies (tools/licenses.py, docs/licenses.md): no runtime
dependency in requirements.lock carries the GPL or AGPL (the LGPL is allowed) or a licence
nobody has reviewed, and docs/licenses.md is what `make licenses` writes now. Read from the
installed packages' metadata: no network, no model."""

from __future__ import annotations

import pytest

from tools import licenses


def test_the_licence_rule() -> None:
    verdict = licenses.verdict
    assert verdict("MIT") == verdict("Apache-2.0 AND (BSD-3-Clause OR MIT)") == "allowed"
    assert verdict("LGPL-2.1-or-later") == verdict("MPL-1.1 OR GPL-2.0-only OR LGPL-2.1-or-later") == "allowed"
    assert verdict("GPL-3.0-or-later WITH GCC-exception-3.1") == "allowed"  # the GCC runtime library
    assert verdict("AGPL-3.0-only") == verdict("GPL-2.0-or-later") == verdict("MIT AND GPL-3.0-only") == "copyleft"
    assert verdict("Dual Licensed - GNU AFFERO GPL 3.0 or Artifex Commercial License") == "copyleft"  # PyMuPDF's
    assert verdict("Some Custom Licence") == verdict("MIT, BSD") == verdict("") == "unknown"


def test_no_runtime_dependency_is_gpl_or_unreviewed() -> None:
    run, dev = licenses.rows()
    names = {licenses.canonicalize_name(r.name) for r in run}
    assert {"pypdfium2", "python-docx", "chromadb", "llama-cpp-python"} <= names
    assert "pymupdf" not in names and "pypdf" not in names and "pytest" in {r.name for r in dev}
    unknown = [r for r in run if r.licence == "unknown" and "not installed" in r.note]
    if unknown:
        pytest.fail(f"not installed here, so their licences cannot be read (run `make setup`): {unknown}")
    bad = [f"{r.name} {r.version}: {r.licence} {r.bundled}".strip() for r in run if not licenses.allowed(r)]
    assert not bad, ("runtime dependencies with a GPL/AGPL or unreviewed licence (review it into "
                     f"tools/licenses.py REVIEWED, or drop the dependency): {bad}")


def test_docs_licenses_is_current() -> None:
    assert licenses.OUT.read_text(encoding="utf-8") == licenses.render(), "run `make licenses`"
