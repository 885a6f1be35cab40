"""Suite-wide settings: offscreen Qt, Hypothesis profiles, and a sample sale."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Subprocesses started by tests (``python -m posapp ...``) log here, not in the user's folder.
os.environ.setdefault("POSAPP_LOG_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "posapp-test-logs"))

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.support.emites_thread import EmitesInThread

settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def sale_mapping(**overrides: Any) -> dict[str, Any]:
    """The README's example sale, as SALE.json would carry it."""
    data: dict[str, Any] = {
        "items": [
            {
                "code": "14600",
                "gtin": "7891000315507",
                "description": "Cerveja Pilsen 350ml",
                "ncm": "22030000",
                "cfop": "5102",
                "unit": "UN",
                "quantity": "6",
                "unit_price": "4.99",
                "origin": 0,
                "discount": "0.00",
            },
            {
                "code": "200",
                "gtin": "SEM GTIN",
                "description": "Pão de Açúcar francês (kg)",
                "ncm": "19059090",
                "cfop": "5102",
                "unit": "KG",
                "quantity": "0.375",
                "unit_price": "15.90",
                "origin": 0,
            },
        ],
        "payments": [{"method": "dinheiro", "amount": "50.00"}],
        "customer": {"document": "529.982.247-25"},
    }
    data.update(overrides)
    return data


@pytest.fixture
def sale_data() -> dict[str, Any]:
    return sale_mapping()


@pytest.fixture
def sale_file(tmp_path: Path) -> Path:
    """The sample sale as a SALE.json file."""
    path = tmp_path / "sale.json"
    path.write_text(json.dumps(sale_mapping()), encoding="utf-8")
    return path


@pytest.fixture
def emites() -> Iterator[EmitesInThread]:
    """The Emites-Client simulator on loopback, in a thread of its own (for synchronous
    callers such as the command line)."""
    with EmitesInThread() as sim:
        yield sim


TOTAL_OF_SAMPLE = Decimal("35.90")  # 6 x 4.99 = 29.94; 0.375 x 15.90 = 5.9625 -> 5.96
