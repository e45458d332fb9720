"""Hostile input, without a model: the chat listens on loopback unless told otherwise."""

from __future__ import annotations


def test_default_host_is_loopback() -> None:
    from rag.cli import build_parser

    assert build_parser().parse_args(["chat"]).host == "127.0.0.1"
