"""Requests built from sales validate against the vendor's CREATE_NFCE request schema.

The schema (``tests/fixtures/emites/create_nfce_request_schema.yaml``, unchanged from the
vendor) is not JSON Schema but its own YAML vocabulary. The validator below implements
the part of it our requests touch: ``type`` (``string``, ``integer``, ``number``,
``object``, ``array[...]``, ``enum[...]``, ``date``), ``required`` (``true``, or a
condition such as ``if tipo_de_pagamento in ("03", "04")`` or ``if uf == CE and
tipo_integracao == 1``), ``pattern`` (``/.../``), ``item_pattern``, ``enum``,
``min_length``/``max_length``, ``min_items``/``max_items``, ``fields`` and
``item_fields``. Quirks of the published file, handled on purpose:

* ``type: intenger`` (``codigo_pais``) is read as ``integer``;
* ``max_length:`` with a nested ``examples`` map (``merchant_id``) is no limit;
* ``item_pattern`` on the string ``codigo_natureza_operacao`` applies to the string;
* patterns are searched, not anchored, as written: the ``document_id`` pattern
  ``^([0-9]{11,14})|([0-9A-Z]{5,20})$`` anchors each alternative on one side only;
* the ``<< *t_document_id`` typo (a missing ``:``) is in the *response* schema only,
  which we do not validate against; YAML merge keys (``<<:``) are PyYAML's own.

A field we send that the schema does not know is a violation too: we only send what it
documents.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from posapp.protocol.messages import build_create_nfce
from tests.protocol.emites_samples import FIXTURES, context, profile

SCHEMA_PATH: Path = FIXTURES / "create_nfce_request_schema.yaml"


@functools.cache
def load_schema() -> dict[str, Any]:
    schema = yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))
    root: dict[str, Any] = schema["root"]
    return root


_CLAUSE = re.compile(r"^\s*(\w+)\s*(==|in)\s*(.+?)\s*$")


def condition_holds(
    condition: str, siblings: Mapping[str, Any], sibling_names: Any, context: Mapping[str, Any]
) -> bool:
    """``if a in (X, "Y") and b == 1``: a name is a sibling field (absent: the clause is
    false) or comes from the context (the emitter's ``uf``)."""
    text = condition.strip()
    assert text.startswith("if "), f"unsupported required: {condition!r}"
    for clause in text[3:].split(" and "):
        match = _CLAUSE.match(clause)
        assert match, f"unsupported condition {clause!r}"
        name, op, raw = match.groups()
        if name in sibling_names:
            if name not in siblings:
                return False
            value = siblings[name]
        else:
            assert name in context, f"condition on unknown name {name!r}"
            value = context[name]
        options = raw.strip("()").split(",") if op == "in" else [raw]
        wanted = {o.strip().strip("\"'") for o in options}
        if str(value) not in wanted:
            return False
    return True


def type_ok(kind: str, value: Any) -> bool:
    base = kind.split("[", 1)[0]
    if base in ("string", "date"):
        return isinstance(value, str)
    if base in ("integer", "intenger"):
        return isinstance(value, int) and not isinstance(value, bool)
    if base == "number":
        return isinstance(value, int | Decimal) and not isinstance(value, bool)
    if base == "object":
        return isinstance(value, Mapping)
    if base == "array":
        return isinstance(value, list)
    if base == "enum":
        inner = kind[5:-1]
        return type_ok(inner, value)
    raise AssertionError(f"schema type {kind!r} not understood by the test validator")


def pattern_of(spec: Mapping[str, Any], key: str) -> re.Pattern[str] | None:
    raw = spec.get(key)
    if raw is None:
        return None
    assert isinstance(raw, str) and raw.startswith("/") and raw.endswith("/"), raw
    return re.compile(raw[1:-1])


def validate(
    value: Any, spec: Mapping[str, Any], path: str = "", context: Mapping[str, Any] | None = None
) -> list[str]:
    """Violations of ``spec`` by ``value`` as ``"path: problem"`` strings."""
    context = context or {}
    problems: list[str] = []
    kind = spec.get("type", "object" if "fields" in spec else None)
    if kind is not None and not type_ok(str(kind), value):
        return [f"{path}: {type(value).__name__} is not {kind}"]
    if "enum" in spec and value not in spec["enum"]:
        problems.append(f"{path}: {value!r} not in enum {spec['enum']}")
    if isinstance(value, str):
        for key in ("pattern", "item_pattern"):
            pattern = pattern_of(spec, key)
            if pattern is not None and not pattern.search(value):
                problems.append(f"{path}: {value!r} does not match {pattern.pattern}")
        low, high = spec.get("min_length"), spec.get("max_length")
        if isinstance(low, int) and len(value) < low:
            problems.append(f"{path}: shorter than {low}")
        if isinstance(high, int) and len(value) > high:
            problems.append(f"{path}: longer than {high}")
    if isinstance(value, list):
        low, high = spec.get("min_items"), spec.get("max_items")
        if isinstance(low, int) and len(value) < low:
            problems.append(f"{path}: fewer than {low} items")
        if isinstance(high, int) and len(value) > high:
            problems.append(f"{path}: more than {high} items")
        item_pattern = pattern_of(spec, "item_pattern")
        for i, item in enumerate(value):
            if "item_fields" in spec:
                problems += validate(item, {"fields": spec["item_fields"]}, f"{path}[{i}]", context)
            elif item_pattern is not None and not (isinstance(item, str) and item_pattern.search(item)):
                problems.append(f"{path}[{i}]: {item!r} does not match {item_pattern.pattern}")
    if isinstance(value, Mapping) and "fields" in spec:
        fields: Mapping[str, Any] = spec["fields"]
        for name in value:
            if name not in fields:
                problems.append(f"{path}.{name}: not in the schema".lstrip("."))
        for name, field_spec in fields.items():
            where = f"{path}.{name}".lstrip(".")
            required = field_spec.get("required", False)
            needed = required is True or (
                isinstance(required, str) and condition_holds(required, value, fields, context)
            )
            if name not in value:
                if needed:
                    problems.append(f"{where}: required")
                continue
            problems += validate(value[name], field_spec, where, context)
    return problems


def violations(payload: dict[str, Any], uf: str = "DF") -> list[str]:
    return validate(payload, load_schema(), context={"uf": uf})


SALES: dict[str, dict[str, Any]] = {
    "sample": {},
    "anonymous": {"customer": None},
    "company": {"customer": {"document": "11.222.333/0001-81", "name": "Mercadinho Ltda"}},
    "cards": {
        "payments": [
            {"method": "credito", "amount": "20.00"},
            {
                "method": "debito",
                "amount": "15.90",
                "card": {
                    "integration": 1,
                    "acquirer_cnpj": "11375787000192",
                    "brand": "06",
                    "authorization": "X1",
                },
            },
        ]
    },
    "vale": {"payments": [{"method": "vale_refeicao", "amount": "35.90"}]},
}


@pytest.mark.parametrize("sale", SALES)
@pytest.mark.parametrize("environment", ["homologacao", "producao"])
@pytest.mark.parametrize("policy", ["latin1", "ascii"])
def test_request_validates_against_the_vendor_schema(sale: str, environment: str, policy: str) -> None:
    payload = build_create_nfce(context(**SALES[sale]), profile(environment=environment, text_policy=policy))
    assert violations(payload) == []


def test_discount_cest_and_fractions_validate() -> None:
    items = context().sale.model_dump()["items"]
    items[0].update(discount=Decimal("0.94"), cest="0300700", quantity=Decimal("1.2345"))
    assert violations(build_create_nfce(context(items=items), profile())) == []


def test_pix_is_the_one_deliberate_deviation() -> None:
    """The vendor enum predates PIX (tPag 17/20); SEFAZ requires those codes, so we send them."""
    payload = build_create_nfce(context(payments=[{"method": "pix", "amount": "35.90"}]), profile())
    assert violations(payload) == [
        "forma_de_pagamento[0].tipo_de_pagamento: '17' not in enum "
        + str(load_schema()["fields"]["forma_de_pagamento"]["item_fields"]["tipo_de_pagamento"]["enum"])
    ]


def test_xpag_is_the_other_deliberate_deviation() -> None:
    """tPag 99 without its description is SEFAZ's rejection 441, and the vendor schema names
    no field for xPag: we send ``descricao_do_pagamento`` (issue 14 item 3)."""
    payments = [{"method": "outros", "amount": "35.90", "description": "Cashback do app"}]
    payload = build_create_nfce(context(payments=payments), profile())
    assert payload["forma_de_pagamento"][0]["descricao_do_pagamento"] == "Cashback do app"
    assert violations(payload) == ["forma_de_pagamento[0].descricao_do_pagamento: not in the schema"]


@pytest.mark.parametrize(
    "overrides",
    [
        {
            "customer": {
                "document": "12.ABC.345/01DE-35",
                "name": "Mercado Exemplo",
                "address": {
                    "street": "Rua A",
                    "number": "1",
                    "complement": "ap 2",
                    "district": "Centro",
                    "city_code": "5300108",
                    "city": "Brasília",
                    "uf": "DF",
                    "cep": "70040-010",
                    "phone": "(61) 3333-4444",
                },
            },
            "delivery": True,
        },
        {"customer": {"foreign_id": "AB123456", "name": "John Smith"}},
        {"payments": [{"method": "sem_pagamento", "amount": "0"}]},
    ],
)
def test_consumer_address_delivery_foreign_and_no_payment_validate(overrides: dict[str, Any]) -> None:
    assert violations(build_create_nfce(context(**overrides), profile(environment="producao"))) == []


def test_card_details_become_required_in_states_that_demand_them() -> None:
    # In CE, PE, BA... the card group must carry the acquirer, brand and authorization.
    payload = build_create_nfce(context(**SALES["cards"]), profile(uf="BA"))
    problems = violations(payload, uf="BA")
    assert "forma_de_pagamento[0].cartao.cnpj_credenciadora: required" in problems
    assert not any(p.startswith("forma_de_pagamento[1]") for p in problems)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda p: p.pop("natureza_operacao"), "natureza_operacao: required"),
        (lambda p: p.pop("transporte"), "transporte: required"),
        (lambda p: p["produtos"][0].update(ncm="2203"), "produtos[0].ncm: '2203' does not match"),
        (lambda p: p["produtos"][0].update(descricao="x" * 121), "produtos[0].descricao: longer than 120"),
        (
            lambda p: p["produtos"][0].update(unidade_comercial="UNIDADE"),
            "produtos[0].unidade_comercial: longer",
        ),
        (lambda p: p.update(finalidade_nfe=7), "finalidade_nfe: 7 not in enum"),
        (lambda p: p.update(troco=Decimal("1.00")), "troco: not in the schema"),
        (
            lambda p: p["produtos"][0].update(quantidade_comercial="6"),
            "produtos[0].quantidade_comercial: str",
        ),
        (
            lambda p: p["produtos"][0].update(quantidade_comercial=6.0),
            "produtos[0].quantidade_comercial: float",
        ),
        (lambda p: p.update(forma_de_pagamento=[]), "forma_de_pagamento: fewer than 1 items"),
        (lambda p: p.update(codigo_natureza_operacao="1"), "codigo_natureza_operacao: '1' does not match"),
        (lambda p: p["cliente"].update(nome="X"), "cliente.nome: shorter than 2"),
        (lambda p: p["cliente"].pop("pessoa_fisica_juridica"), "cliente.pessoa_fisica_juridica: required"),
        (
            lambda p: p["forma_de_pagamento"][0].update(tipo_de_pagamento="03"),
            "forma_de_pagamento[0].cartao: required",
        ),
    ],
)
def test_the_validator_catches_what_it_should(mutate: Any, expected: str) -> None:
    payload = build_create_nfce(context(), profile())
    assert violations(payload) == []
    mutate(payload)
    problems = violations(payload)
    assert any(p.startswith(expected) for p in problems), problems


def test_schema_quirks_are_where_the_validator_expects_them() -> None:
    root = load_schema()
    endereco = root["fields"]["cliente"]["fields"]["endereco"]["fields"]
    assert endereco["codigo_pais"]["type"] == "intenger"
    assert endereco["uf"]["pattern"] == "/^[A-Z]{2}$/"  # merged from &t_uf
    cartao = root["fields"]["forma_de_pagamento"]["item_fields"]["cartao"]["fields"]
    assert isinstance(cartao["merchant_id"]["max_length"], dict)
    assert root["fields"]["codigo_natureza_operacao"]["item_pattern"] == "/^[0-9]{3}$/"
    assert root["fields"]["transporte"]["required"] is True
