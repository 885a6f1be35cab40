"""One validator for every way in (issue 12, item 7): malformed or out-of-range SALE.json files
are refused with one or two Portuguese lines naming the field (``itens[1].quantidade: …``),
never with pydantic's English, never with a crash; the cart goes through the same rules.

The table below is the hostile run of the issue (54 files, 29 of which crashed or were sent)
and more: each case is the bytes of a SALE.json, the place its message must start with, and a
word the message must carry.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from posapp.catalog.products import Product
from posapp.domain.cancel import check_motivo
from posapp.domain.documents import validate_cpf_or_cnpj
from posapp.domain.errors import InvalidDocument, InvalidMotivo, InvalidSale
from posapp.domain.money import QCOM, V13_2, VUNCOM, layout_problem, line_total
from posapp.domain.payments import PaymentMethod
from posapp.domain.sale import (
    FIELD_NAMES,
    ISSUABLE_CFOPS,
    NFCE_CFOPS,
    CardDetails,
    Customer,
    Item,
    Payment,
    Sale,
    describe_validation_error,
    gtin_is_valid,
)
from posapp.domain.sale_file import MAX_DEPTH, MAX_SALE_FILE_BYTES, read_sale_json, sale_from_json_bytes
from posapp.ui.cart import Cart
from tests.conftest import sale_mapping

#: pydantic's and Python's English, which must never reach a person.
ENGLISH = re.compile(
    r"Input should|Field required|Extra inputs|not permitted|Value error|should be|String should|"
    r"Expecting|Traceback|Invalid|invalid literal|must |\bis not\b|\bvalid\b|pydantic|errors\.pydantic|"
    r"input_value|input_type|\btype=|\bError\b|Decimal\(|InvalidOperation|RecursionError|"
    r"\bfloat\b|\bnumber\b|\bfield\b|\brequired\b"
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sale.json"
CARD = {"integration": 1, "acquirer_cnpj": "11375787000192", "brand": "06", "authorization": "X1"}


def dump(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def changed(edit: Callable[[dict[str, Any]], object]) -> bytes:
    """The README's sale after ``edit`` (which changes the mapping in place)."""
    data = copy.deepcopy(sale_mapping())
    edit(data)
    return dump(data)


def item(**fields: Any) -> bytes:
    """The sale with its first item's fields changed (``None`` deletes one)."""

    def edit(data: dict[str, Any]) -> None:
        for key, value in fields.items():
            if value is None:
                data["items"][0].pop(key, None)
            else:
                data["items"][0][key] = value

    return changed(edit)


def raw_item(field: str, literal: str) -> bytes:
    """The sale with the first item's ``field`` written as a raw JSON literal."""
    data = sale_mapping()
    data["items"][0][field] = "@@@"
    return dump(data).replace(b'"@@@"', literal.encode())


def payment(**fields: Any) -> bytes:
    def edit(data: dict[str, Any]) -> None:
        data["payments"][0].update(fields)

    return changed(edit)


def nested(depth: int) -> bytes:
    """A description nested ``depth`` objects deep."""
    return raw_item("description", '{"a":' * depth + '"x"' + "}" * depth)


def one_item_sale(quantity: str, unit_price: str, paid: str = "100.00") -> bytes:
    data = sale_mapping(payments=[{"method": "dinheiro", "amount": paid}])
    data["items"] = [{**data["items"][0], "quantity": quantity, "unit_price": unit_price, "discount": "0"}]
    return dump(data)


def big_lines() -> bytes:
    """Two lines of 13 integer digits each: each fits vProd 13v2, their sum does not."""
    line = {**sale_mapping()["items"][0], "quantity": "90000000000", "unit_price": "100", "discount": "0"}
    return dump(
        sale_mapping(
            items=[line, {**line, "code": "2"}],
            payments=[{"method": "dinheiro", "amount": "9999999999999.99"}],
        )
    )


def latin1_file() -> bytes:
    return json.dumps(sale_mapping(), ensure_ascii=False).encode("latin-1")


def duplicate_in_item() -> bytes:
    return dump(sale_mapping()).replace(b'"quantity": "6"', b'"quantity": "6", "quantity": "60"', 1)


def duplicate_top_level() -> bytes:
    return dump(sale_mapping())[:-1] + b', "payments": [{"method": "pix", "amount": "35.90"}]}'


def duplicate_in_customer() -> bytes:
    return dump(sale_mapping()).replace(
        b'"document": "529.982.247-25"', b'"document": "529.982.247-25", "document": "111.444.777-35"'
    )


# (case id, SALE.json bytes, the message starts with, a word the message carries)
CASES: list[tuple[str, bytes | Callable[[], bytes], str, str]] = [
    # CFOP: NFC-e accepts only the I08-150 set (5.xxx), 5933 needs ISSQN
    ("cfop-6102-interstate", item(cfop="6102"), "itens[1].cfop:", "5.xxx"),
    ("cfop-6108", item(cfop="6.108"), "itens[1].cfop:", "6108"),
    ("cfop-5949-other", item(cfop="5949"), "itens[1].cfop:", "5949"),
    ("cfop-1102-purchase", item(cfop="1102"), "itens[1].cfop:", "1102"),
    ("cfop-5933-service", item(cfop="5933"), "itens[1].cfop:", "ISSQN"),
    ("cfop-short", item(cfop="51"), "itens[1].cfop:", "4 dígitos"),
    ("cfop-letters", item(cfop="ABCD"), "itens[1].cfop:", "4 dígitos"),
    ("cfop-list", item(cfop=["5102"]), "itens[1].cfop:", "4 dígitos"),
    # GTIN: GS1 check digit, 8/12/13/14 digits, not all zeros
    ("gtin-13-zeros", item(gtin="0000000000000"), "itens[1].gtin:", "zeros"),
    ("gtin-8-zeros", item(gtin="00000000"), "itens[1].gtin:", "zeros"),
    ("gtin-check-digit", item(gtin="7891000315508"), "itens[1].gtin:", "verificador"),
    ("gtin-11-digits", item(gtin="78910003155"), "itens[1].gtin:", "13 ou 14 dígitos"),
    ("gtin-letters", item(gtin="789100031550X"), "itens[1].gtin:", "SEM GTIN"),
    ("gtin-object", item(gtin={"ean": "7891000315507"}), "itens[1].gtin:", "SEM GTIN"),
    # qCom 11v4, above zero
    ("qcom-12-integer-digits", item(quantity="123456789012"), "itens[1].quantidade:", "11 dígitos"),
    ("qcom-5-decimals", item(quantity="1.23456"), "itens[1].quantidade:", "4 casas"),
    ("qcom-exponent-number", raw_item("quantity", "1e999999"), "itens[1].quantidade:", "expoente"),
    ("qcom-exponent-string", item(quantity="1e999999"), "itens[1].quantidade:", "11 dígitos"),
    ("qcom-tiny-exponent", item(quantity="1e-999999"), "itens[1].quantidade:", "4 casas"),
    ("qcom-zero", item(quantity="0"), "itens[1].quantidade:", "maior que zero"),
    ("qcom-zero-exponent", item(quantity="0e999999"), "itens[1].quantidade:", "maior que zero"),
    ("qcom-negative", item(quantity="-1"), "itens[1].quantidade:", "maior que zero"),
    ("qcom-negative-number", raw_item("quantity", "-6"), "itens[1].quantidade:", "maior que zero"),
    ("qcom-nan", raw_item("quantity", "NaN"), "itens[1].quantidade:", "NaN"),
    ("qcom-infinity", raw_item("quantity", "Infinity"), "itens[1].quantidade:", "Infinity"),
    ("qcom-minus-infinity", raw_item("quantity", "-Infinity"), "itens[1].quantidade:", "Infinity"),
    ("qcom-nan-string", item(quantity="NaN"), "itens[1].quantidade:", "número"),
    ("qcom-infinity-string", item(quantity="Infinity"), "itens[1].quantidade:", "número"),
    ("qcom-100-digits", raw_item("quantity", "1" * 100), "itens[1].quantidade:", "longo"),
    ("qcom-long-string", item(quantity="9" * 5000), "itens[1].quantidade:", "longo"),
    ("qcom-bool", item(quantity=True), "itens[1].quantidade:", "número"),
    ("qcom-words", item(quantity="seis"), "itens[1].quantidade:", "não é um número"),
    ("qcom-missing", item(quantity=None), "itens[1].quantidade:", "obrigatório"),
    # vUnCom 11v10, above zero; the item total at least R$ 0,01
    ("price-0.001", one_item_sale("1", "0.001"), "itens[1].valor_unitario:", "R$ 0,01"),
    ("price-zero", item(unit_price="0"), "itens[1].valor_unitario:", "maior que zero"),
    ("price-negative", item(unit_price="-4.99"), "itens[1].valor_unitario:", "negativo"),
    ("price-12-integer-digits", item(unit_price="123456789012"), "itens[1].valor_unitario:", "11 dígitos"),
    ("price-exponent", raw_item("unit_price", "4.99e300"), "itens[1].valor_unitario:", "expoente"),
    # vProd, vDesc, vPag and the totals 13v2
    ("vprod-over-13v2", one_item_sale("99999999999", "99999"), "itens[1].quantidade:", "vProd"),
    ("vprod-total-over-13v2", big_lines, "itens:", "vProd"),
    ("discount-above-line", item(discount="30.00"), "itens[1].desconto:", "menor que o valor do item"),
    ("discount-whole-line", item(discount="29.94"), "itens[1].desconto:", "menor que o valor do item"),
    ("discount-negative", item(discount="-1"), "itens[1].desconto:", "negativo"),
    ("discount-3-decimals", item(discount="0.001"), "itens[1].desconto:", "2 casas"),
    ("discount-14-digits", item(discount="12345678901234"), "itens[1].desconto:", "13 dígitos"),
    ("vpag-zero", payment(amount="0"), "pagamentos[1].valor:", "maior que zero"),
    ("vpag-negative", payment(amount="-50"), "pagamentos[1].valor:", "maior que zero"),
    ("vpag-3-decimals", payment(amount="50.001"), "pagamentos[1].valor:", "2 casas"),
    ("vpag-14-digits", payment(amount="99999999999999.00"), "pagamentos[1].valor:", "13 dígitos"),
    ("vpag-exponent", payment(amount="5e40"), "pagamentos[1].valor:", "13 dígitos"),
    ("underpaid", payment(amount="10.00"), "pagamentos:", "insuficiente"),
    ("change-from-card", payment(method="credito", amount="40.00"), "pagamentos:", "troco"),
    # card data only on card payments, and valid when there
    ("card-on-cash", payment(card=CARD), "pagamentos[1].cartao:", "Dinheiro"),
    ("card-on-pix", payment(method="pix", amount="35.90", card=CARD), "pagamentos[1].cartao:", "PIX"),
    ("card-empty-on-cash", payment(card={}), "pagamentos[1].cartao:", "cartão"),
    (
        "card-acquirer-cnpj",
        payment(method="credito", amount="35.90", card={**CARD, "acquirer_cnpj": "11375787000193"}),
        "pagamentos[1].cartao.cnpj_credenciadora:",
        "CNPJ",
    ),
    (
        "card-brand-name",
        payment(method="debito", amount="35.90", card={**CARD, "brand": "Visa"}),
        "pagamentos[1].cartao.bandeira:",
        "tBand",
    ),
    (
        "card-integration-3",
        payment(method="debito", amount="35.90", card={**CARD, "integration": 3}),
        "pagamentos[1].cartao.tipo_integracao:",
        "maquininha",
    ),
    ("method-unknown", payment(method="bitcoin"), "pagamentos[1].forma:", "desconhecida"),
    ("method-object", payment(method={"x": 1}), "pagamentos[1].forma:", "dinheiro"),
    # JSON itself: duplicate keys, UTF-8, size, depth, shape
    ("duplicate-item-key", duplicate_in_item, "itens[1].quantidade:", "repetido"),
    ("duplicate-top-key", duplicate_top_level, "pagamentos:", "repetido"),
    ("duplicate-customer-key", duplicate_in_customer, "consumidor.documento:", "repetido"),
    ("latin1-bytes", latin1_file, "SALE.json:", "UTF-8"),
    ("utf16", lambda: json.dumps(sale_mapping()).encode("utf-16"), "SALE.json:", "UTF-16"),
    ("ten-megabytes", lambda: b" " * 10_000_000 + dump(sale_mapping()), "SALE.json:", "grande demais"),
    ("deep-array", lambda: b"[" * 200_000 + b"]" * 200_000, "SALE.json:", "aninhamento"),
    ("deep-object", lambda: b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "SALE.json:", "aninhamento"),
    ("deep-in-item", nested(20), "SALE.json:", "aninhamento"),
    ("unterminated-deep", lambda: b'{"items": "' + b'\\"[' * 100_000, "SALE.json:", "JSON inválido"),
    ("top-level-array", lambda: dump([sale_mapping()]), "SALE.json", "objeto"),
    ("top-level-number", lambda: b"1e999999", "SALE.json", "objeto"),
    ("empty-file", lambda: b"", "SALE.json:", "vazio"),
    ("trailing-comma", lambda: dump(sale_mapping())[:-1] + b",}", "SALE.json:", "linha 1"),
    ("lone-surrogate", raw_item("description", '"P\\ud800o"'), "itens[1].descricao:", "caractere inválido"),
    # NCM and the other item fields
    ("ncm-missing", item(ncm=None), "itens[1].ncm:", "obrigatório"),
    ("ncm-4-digits", item(ncm="2203"), "itens[1].ncm:", "8 dígitos"),
    ("ncm-00", item(ncm="00"), "itens[1].ncm:", "8 dígitos"),
    ("ncm-null", item(ncm=[]), "itens[1].ncm:", "8 dígitos"),
    ("cest-3-digits", item(cest="123"), "itens[1].cest:", "7 dígitos"),
    ("description-blank", item(description="   "), "itens[1].descricao:", "vazio"),
    ("description-121", item(description="x" * 121), "itens[1].descricao:", "120"),
    ("description-number", item(description=5), "itens[1].descricao:", "texto"),
    ("code-61", item(code="1" * 61), "itens[1].codigo:", "60"),
    ("unit-too-long", item(unit="QUILOGRAMA"), "itens[1].unidade:", "6"),
    ("origin-9", item(origin=9), "itens[1].origem:", "0 a 8"),
    ("origin-text", item(origin="nacional"), "itens[1].origem:", "inteiro"),
    ("unknown-item-field", item(quantidade="6"), "itens[1]:", '"quantidade" desconhecido'),
    ("unknown-top-field", changed(lambda d: d.update(total="35.90")), "venda:", '"total" desconhecido'),
    # shape of the sale
    ("items-missing", changed(lambda d: d.pop("items")), "itens:", '"items" no SALE.json'),
    ("items-empty", changed(lambda d: d.update(items=[])), "itens:", "pelo menos um item"),
    ("items-object", changed(lambda d: d.update(items={})), "itens:", "lista"),
    ("item-string", changed(lambda d: d.update(items=["pão"])), "itens[1]:", "objeto"),
    ("payments-empty", changed(lambda d: d.update(payments=[])), "pagamentos:", "pelo menos um pagamento"),
    ("sale-id-spaces", changed(lambda d: d.update(sale_id="a b")), "id_venda:", "64"),
    # the consumer's document
    (
        "cpf-with-letters",
        changed(lambda d: d.update(customer={"document": "529.982.247-AB"})),
        "consumidor.documento:",
        "letras",
    ),
    (
        "cpf-check-digit",
        changed(lambda d: d.update(customer={"document": "529.982.247-24"})),
        "consumidor.documento:",
        "CPF",
    ),
    (
        "document-12-digits",
        changed(lambda d: d.update(customer={"document": "123456789012"})),
        "consumidor.documento:",
        "CNPJ 14",
    ),
    (
        "document-number",
        changed(lambda d: d.update(customer={"document": 52998224725})),
        "consumidor.documento:",
        "texto",
    ),
]


def message_of(data: bytes) -> str:
    with pytest.raises(InvalidSale) as info:
        sale_from_json_bytes(data)
    return info.value.user_message


def assert_portuguese(message: str) -> None:
    assert message.strip(), "an empty message"
    assert not ENGLISH.search(message), f"English reaches a person: {message!r}"
    assert 1 <= len(message.splitlines()) <= 2, message


def test_the_table_is_the_hostile_run_and_more() -> None:
    assert len(CASES) >= 54
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize(("data", "place", "word"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_sale_file_is_refused_naming_the_field(
    data: bytes | Callable[[], bytes], place: str, word: str
) -> None:
    raw = data() if callable(data) else data
    started = time.perf_counter()
    message = message_of(raw)
    elapsed = time.perf_counter() - started
    assert message.startswith(place), message
    assert word in message, message
    assert_portuguese(message)
    assert elapsed < 0.5, f"{elapsed:.2f} s to refuse"


def test_the_readme_example_and_the_sample_are_valid() -> None:
    sale = sale_from_json_bytes(EXAMPLE.read_bytes())
    assert sale.total == Decimal("35.90")
    assert sale_from_json_bytes(dump(sale_mapping())).total == Decimal("35.90")


def test_json_numbers_are_exact_and_the_bom_is_allowed() -> None:
    data = dump(sale_mapping()).replace(b'"quantity": "0.375"', b'"quantity": 0.375')
    sale = sale_from_json_bytes(b"\xef\xbb\xbf" + data)
    assert sale.items[1].quantity == Decimal("0.375")


@pytest.mark.parametrize("cfop", sorted(ISSUABLE_CFOPS))
def test_every_nfce_goods_cfop_is_accepted(cfop: str) -> None:
    assert sale_from_json_bytes(item(cfop=cfop)).items[0].cfop == cfop


def test_the_cfop_set_is_the_moc_rule() -> None:
    assert sorted(NFCE_CFOPS) == ["5101", "5102", "5103", "5104", "5115", "5405", "5656", "5667", "5933"]
    assert sorted(NFCE_CFOPS - ISSUABLE_CFOPS) == ["5933"]


def test_a_price_of_a_tenth_of_a_centavo_makes_a_centavo_line_when_the_quantity_allows() -> None:
    assert sale_from_json_bytes(one_item_sale("6", "0.001")).total == Decimal("0.01")


def test_unit_price_is_carried_with_ten_decimals() -> None:
    sale = sale_from_json_bytes(item(unit_price="4.99000000004"))
    assert sale.items[0].unit_price == Decimal("4.9900000000")


def test_layout_sizes_are_the_nfe_400_ones() -> None:
    assert QCOM.largest == Decimal("99999999999.9999")
    assert VUNCOM.largest == Decimal("99999999999.9999999999")
    assert V13_2.largest == Decimal("9999999999999.99")
    assert layout_problem(QCOM.largest, QCOM) is None
    assert layout_problem(QCOM.largest + QCOM.step, QCOM) is not None
    assert layout_problem(Decimal("1E+999999999"), V13_2) is not None
    assert layout_problem(Decimal("0E+999999999"), V13_2) is None


def test_line_total_rounds_once() -> None:
    """11v4 times 11v10 has up to 36 digits, more than Decimal's default 28: the product is
    exact and rounded once, half up (the 28-digit product would round up here)."""
    quantity, price = Decimal("53923487721.7161"), Decimal("86395570173.2416035803")
    assert line_total(quantity, price) == Decimal("4658750467447455321229.71")


def test_the_largest_item_that_fits() -> None:
    sale = sale_from_json_bytes(one_item_sale("99999.9999", "99999999.9999999999", "9999999999999.99"))
    assert sale.total == Decimal("9999999990000.00")


def test_more_than_two_problems_say_how_many_more() -> None:
    message = message_of(item(quantity="0", unit_price="-1", ncm="1", cfop="6102"))
    lines = message.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("itens[1].ncm:")
    assert lines[1].endswith("(e mais 2 problemas)")
    assert_portuguese(message)


def test_an_item_is_named_by_the_number_the_person_knows() -> None:
    """The cart keeps a voided line's number: its messages use that number, not the index."""
    beer, bread = sale_mapping()["items"]
    data = sale_mapping(items=[beer, {**bread, "quantity": "0"}])
    with pytest.raises(InvalidSale) as info:
        Sale.from_mapping(data, item_numbers=[1, 3])
    assert info.value.user_message.startswith("itens[3].quantidade:")


def test_the_cart_goes_through_the_same_validator() -> None:
    cart = Cart(sale_id="cart0001")
    beer = Product(code="14600", description="Cerveja", ncm="22030000", price=Decimal("4.99"))
    cart.add(beer, Decimal(2))
    cart.add(beer, Decimal(1))
    cart.void(1)
    with pytest.raises(InvalidSale) as info:
        cart.to_sale([Payment(method=PaymentMethod.CREDITO, amount=Decimal("1.00"))], operator="caixa")
    assert info.value.user_message.startswith("pagamentos: pagamento insuficiente: faltam R$ 3,99")
    with pytest.raises(InvalidSale) as info:
        cart.to_sale([Payment(method=PaymentMethod.CREDITO, amount=Decimal("10.00"))], operator="caixa")
    assert "troco" in info.value.user_message
    sale = cart.to_sale([Payment(method=PaymentMethod.DINHEIRO, amount=Decimal("10.00"))], operator="caixa")
    assert (sale.sale_id, sale.total, sale.change) == ("cart0001", Decimal("4.99"), Decimal("5.01"))


def test_the_payment_dialog_cannot_put_card_data_on_cash() -> None:
    with pytest.raises(ValidationError) as info:
        Payment(method=PaymentMethod.DINHEIRO, amount=Decimal("10.00"), card=CardDetails())
    text = describe_validation_error(info.value)
    assert text.startswith("cartao: dados de cartão só em pagamento com cartão")
    assert_portuguese(text)


def test_the_cart_refuses_a_product_priced_below_a_centavo_at_the_scan() -> None:
    cheap = Product(code="1", description="Parafuso", ncm="73181500", price=Decimal("0.001"))
    with pytest.raises(ValidationError) as info:
        Cart().add(cheap, Decimal(1))
    text = describe_validation_error(info.value)
    assert text.startswith("valor_unitario:") and "R$ 0,01" in text
    assert_portuguese(text)


def test_a_stored_sale_stays_readable_under_the_new_rules() -> None:
    """The journal reads back what older rules accepted (CFOP 6102, a R$ 0,00 line)."""
    good = Sale.from_mapping(sale_mapping())
    stored = good.model_dump(mode="json")
    stored["items"][0].update(cfop="6102", unit_price="0.0001", quantity="1")
    text = json.dumps(stored)
    with pytest.raises(ValidationError):  # as a new sale: refused
        Sale.model_validate_json(text)
    old = Sale.from_stored_json(text)
    assert old.items[0].cfop == "6102"


def test_every_field_has_a_portuguese_name() -> None:
    for model in (Sale, Item, Payment, CardDetails, Customer):
        assert set(model.model_fields) <= set(FIELD_NAMES), model


# -- the consumer's document and the motivo (issue 12, item 11) ------------------------------


@pytest.mark.parametrize("text", ["529.982.247-AB", "ABCDEFGHIJKLMN", "12.ABC.345/01DE-3X", "529982247²5"])
def test_a_document_with_letters_says_so(text: str) -> None:
    with pytest.raises(InvalidDocument) as info:
        validate_cpf_or_cnpj(text)
    assert info.value.user_message.startswith("Documento do consumidor com letras ou símbolos")
    assert "CPF deve ter 11 dígitos; CNPJ 14 caracteres" in info.value.user_message


def test_a_motivo_emptied_by_the_text_policy_says_characters_were_removed() -> None:
    typed = "顾客改变主意了顾客改变主意了顾客"
    with pytest.raises(InvalidMotivo) as info:
        check_motivo("", original=typed)
    message = info.value.user_message
    assert "tem 0 depois de removidos 16 caracteres que não podem ser enviados" in message
    with pytest.raises(InvalidMotivo) as info:
        check_motivo("Cliente 😀", original="Cliente 😀")
    assert "(tem 9)" in info.value.user_message  # nothing was dropped from what travels
    with pytest.raises(InvalidMotivo) as info:
        check_motivo("Cliente", original="Cliente 😀")
    assert "removido 1 caractere que não pode ser enviado" in info.value.user_message
    assert check_motivo("Desistencia do comprador", original="Desistência do comprador 😀")


# -- property: nothing but our error ---------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.decimals(allow_nan=False, allow_infinity=False).map(str)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)
FIELDS_BY_PLACE = {
    "item": list(sale_mapping()["items"][0]),
    "payment": ["method", "amount", "card"],
    "customer": ["document", "name"],
    "sale": ["items", "payments", "customer", "sale_id", "operator"],
}


def refused_or_sale(raw: bytes) -> None:
    try:
        sale_from_json_bytes(raw)
    except InvalidSale as exc:
        assert_portuguese(exc.user_message)


@given(JSON_VALUES)
def test_any_json_value_never_crashes_the_reader(value: Any) -> None:
    refused_or_sale(json.dumps(value).encode())


@given(st.binary(max_size=200))
def test_any_bytes_never_crash_the_reader(raw: bytes) -> None:
    refused_or_sale(raw)


@given(st.sampled_from(sorted(FIELDS_BY_PLACE)), st.data())
def test_any_value_in_any_field_is_a_sale_or_a_portuguese_refusal(place: str, data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(FIELDS_BY_PLACE[place]))
    value = data.draw(JSON_VALUES)
    sale = sale_mapping()
    target = {
        "item": sale["items"][0],
        "payment": sale["payments"][0],
        "customer": sale["customer"],
        "sale": sale,
    }[place]
    target[key] = value
    refused_or_sale(json.dumps(sale).encode())


@given(st.text(alphabet="0123456789.eE+-", min_size=1, max_size=30))
def test_any_number_text_in_a_quantity_is_bounded(text: str) -> None:
    started = time.perf_counter()
    refused_or_sale(raw_item("quantity", text))
    refused_or_sale(item(quantity=text))
    assert time.perf_counter() - started < 0.5


def test_bounds_are_what_the_docstring_says() -> None:
    assert MAX_SALE_FILE_BYTES == 1_048_576
    assert MAX_DEPTH == 8
    assert read_sale_json(nested(MAX_DEPTH - 3))["items"][0]["description"]  # sale > items > item > …
    assert gtin_is_valid("7891000315507")
    assert not gtin_is_valid("0000000000000")
