"""Vector arithmetic on the embedder's unit vectors, in one place: the cosine of two, and of
one against many. Plain Python over sequences (a handful of vectors per answer)."""

from __future__ import annotations

from collections.abc import Sequence


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """The dot product of two unit vectors, which is their cosine."""
    return sum(x * y for x, y in zip(a, b))


def best_cosine(v: Sequence[float], others: Sequence[Sequence[float]]) -> float:
    """The highest cosine of ``v`` with any of ``others`` (-1.0 when there are none)."""
    return max((cosine(v, o) for o in others), default=-1.0)
