"""The evaluation data beside the repository (../shared/eval: ARCD, SaudiNewsNet), and a mark
that skips a test on a machine without it (test_teach.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared" / "eval"
needs_shared = pytest.mark.skipif(not (SHARED / "arcd" / "arcd-train.json").exists(),
                                  reason="../shared/eval is not on this machine")
