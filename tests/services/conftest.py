"""Fixtures shared by the service tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.issuers import Issuers


@pytest.fixture
def issuers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Issuers]:
    """The three issuer simulators on loopback, their tokens in the environment (for services
    built in this process), closed after the test."""
    for key, value in Issuers.token_env().items():
        monkeypatch.setenv(key, value)
    bundle = Issuers()
    yield bundle
    bundle.close()
