"""The simulator's decisions without sockets: whatever arrives, a well-formed answer comes back."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from posapp.sim.emites_engine import EmitesEngine
from posapp.sim.jsonwire import dumps_decimal
from tests.sim.emites_wire import example

NOW = datetime(2025, 5, 5, 12, 0, tzinfo=UTC)
STATUSES = {"sucesso", "rejeitada", "erro", "processando", "cancelada", "cancelamento_rejeitado"}
BASE = example("nfce_request.json")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=1000)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


ALL_PATHS = paths(BASE)


def mutate(request: dict[str, Any], path: tuple[Any, ...], value: Any, delete: bool) -> dict[str, Any]:
    changed = copy.deepcopy(request)
    target: Any = changed
    for part in path[:-1]:
        target = target[part]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


def check(answer_body: dict[str, Any]) -> None:
    assert answer_body["status"] in STATUSES
    dumps_decimal(answer_body).encode("iso-8859-1")  # it can always go on the wire


@settings(max_examples=40)
@given(st.binary(max_size=200), st.sampled_from(["CREATE_NFCE", "CANCEL_NFCE", "CALCULATE"]))
def test_any_bytes_get_an_answer(payload: bytes, identifier: str) -> None:
    answer = EmitesEngine(seed=1).handle(identifier, payload, NOW)
    assert answer.identifier == identifier
    check(answer.body)


@settings(max_examples=60)
@given(st.sampled_from(ALL_PATHS), json_values, st.booleans())
def test_mutated_vendor_requests_are_answered_never_crash(
    path: tuple[Any, ...], value: Any, delete: bool
) -> None:
    engine = EmitesEngine(seed=1)
    request = mutate(BASE, path, value, delete)
    answer = engine.handle(
        "CREATE_NFCE", dumps_decimal(request).encode("iso-8859-1", "backslashreplace"), NOW
    )
    check(answer.body)
    if answer.body["status"] == "sucesso":
        assert len(engine.notes) == 1
        chave = answer.body["resposta_emissao"]["chave_acesso"]
        cancel = {"chave_acesso": chave, "motivo": value if isinstance(value, str) else None}
        check(
            engine.handle(
                "CANCEL_NFCE", dumps_decimal(cancel).encode("iso-8859-1", "backslashreplace"), NOW
            ).body
        )
    else:
        assert engine.notes == {}
        assert answer.body["status"] == "rejeitada"
        assert answer.body["erros"]


def test_the_unmutated_request_is_authorized() -> None:
    engine = EmitesEngine(seed=1)
    answer = engine.handle("CREATE_NFCE", dumps_decimal(BASE).encode("iso-8859-1"), NOW)
    assert answer.body["status"] == "sucesso"
    assert answer.body["forma_pagamento"][0]["valor_do_pagamento"] == Decimal("200.00")
