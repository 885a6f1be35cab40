"""Fixtures for the packaging tests: a root logger restored after each test."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture
def clean_root_logger() -> Iterator[logging.Logger]:
    """``setup_logging`` rewires the root logger; put pytest's handlers and level back afterwards."""
    root = logging.getLogger()
    saved_handlers = list(root.handlers)
    saved_level = root.level
    yield root
    for handler in list(root.handlers):
        if handler not in saved_handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in saved_handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
        handler.filters = [f for f in handler.filters if type(f).__name__ != "RedactingFilter"]
    root.setLevel(saved_level)
    logging.captureWarnings(False)
