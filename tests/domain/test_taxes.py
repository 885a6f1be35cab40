"""The item tax registry and the store's regime (issue 14 items 1, 2, 5), pure: what each
CRT requires, the store's defaults, the values computed with Decimal as the NF-e rounds,
and the Lei 12.741 approximation per origin."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from posapp.config import Config
from posapp.domain.errors import InvalidSale
from posapp.domain.sale import Sale
from posapp.domain.sale_taxes import item_approx_taxes, sale_approx_taxes, with_store_taxes
from posapp.domain.taxes import (
    Crt,
    IbptRates,
    ItemTax,
    approx_taxes,
    contribution,
    icms_values,
    retained_st,
    store_defaults,
    tax_problems,
)

BEER_ST = {
    "csosn": "500",
    "st_base_unit": "4.50",
    "st_rate": "18",
    "st_icms_unit": "0.45",
    "pis_cst": "04",
    "cofins_cst": "04",
}


def item(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": "14600",
        "gtin": "7891000315507",
        "description": "Cerveja Pilsen 350ml",
        "ncm": "22030000",
        "cfop": "5405",
        "cest": "0302100",
        "quantity": "6",
        "unit_price": "4.99",
    }
    data.update(overrides)
    return data


def sale_with(*items: dict[str, Any]) -> Sale:
    return Sale.from_mapping({"items": list(items), "payments": [{"method": "dinheiro", "amount": "500.00"}]})


def fields(problems: list[Any]) -> list[str]:
    return [p.field for p in problems]


# -- the regime decides CST or CSOSN (590 / 591 at SEFAZ) --------------------------------------


@pytest.mark.parametrize("crt", [Crt.SIMPLES, Crt.MEI])
def test_a_simples_store_needs_a_csosn_and_refuses_a_cst(crt: Crt) -> None:
    cst = ItemTax(icms_cst="00", icms_rate="18", pis_cst="49", cofins_cst="49")
    problems = tax_problems(cst, crt=crt, cfop="5102", cest=None)
    assert fields(problems) == ["csosn"] and "informa CSOSN, não CST" in problems[0].message
    assert fields(tax_problems(ItemTax(pis_cst="49", cofins_cst="49"), crt=crt, cfop="5102", cest=None)) == [
        "csosn"
    ]
    assert (
        tax_problems(ItemTax(csosn="102", pis_cst="49", cofins_cst="49"), crt=crt, cfop="5102", cest=None)
        == []
    )


@pytest.mark.parametrize("crt", [Crt.SIMPLES_EXCESSO, Crt.NORMAL])
def test_a_store_outside_the_simples_needs_a_cst_and_refuses_a_csosn(crt: Crt) -> None:
    problems = tax_problems(
        ItemTax(csosn="102", pis_cst="49", cofins_cst="49"), crt=crt, cfop="5102", cest=None
    )
    assert fields(problems)[0] == "icms_cst" and "não CSOSN" in problems[0].message
    good = ItemTax(
        icms_cst="00",
        icms_rate="18",
        pis_cst="01",
        pis_rate="1.65",
        cofins_cst="01",
        cofins_rate="7.6",
        ibs_cbs_cst="000",
        cclass_trib="000001",
    )
    assert tax_problems(good, crt=crt, cfop="5102", cest=None) == []


def test_rates_and_reductions_the_codes_need() -> None:
    problems = tax_problems(
        ItemTax(icms_cst="20", pis_cst="01", cofins_cst="02"), crt=Crt.SIMPLES_EXCESSO, cfop="5102", cest=None
    )
    assert fields(problems) == ["icms_rate", "icms_base_reduction", "pis_rate", "cofins_rate"]


def test_st_goods_need_cest_the_retained_values_and_cfop_5405() -> None:
    bare = ItemTax(csosn="500", pis_cst="04", cofins_cst="04")
    problems = tax_problems(bare, crt=Crt.SIMPLES, cfop="5102", cest=None)
    assert fields(problems) == ["cest", "st_base_unit", "st_rate", "st_icms_unit", "cfop"]
    assert tax_problems(ItemTax(**BEER_ST), crt=Crt.SIMPLES, cfop="5405", cest="0302100") == []
    # and 5405 is only for goods whose ICMS was retained before
    plain = ItemTax(csosn="102", pis_cst="49", cofins_cst="49")
    assert fields(tax_problems(plain, crt=Crt.SIMPLES, cfop="5405", cest=None)) == ["cfop"]


def test_ibs_cbs_required_outside_the_simples_and_cclasstrib_must_belong_to_the_cst() -> None:
    base = {"icms_cst": "40", "pis_cst": "07", "cofins_cst": "07"}
    assert fields(tax_problems(ItemTax(**base), crt=Crt.NORMAL, cfop="5102", cest=None)) == [
        "ibs_cbs_cst",
        "cclass_trib",
    ]
    wrong = ItemTax(**base, ibs_cbs_cst="200", cclass_trib="000001")
    assert fields(tax_problems(wrong, crt=Crt.NORMAL, cfop="5102", cest=None)) == ["cclass_trib"]
    # optional for the Simples, but the pair goes together
    half = ItemTax(csosn="102", pis_cst="49", cofins_cst="49", ibs_cbs_cst="000")
    assert fields(tax_problems(half, crt=Crt.SIMPLES, cfop="5102", cest=None)) == ["cclass_trib"]


def test_one_registry_for_stores_of_both_regimes_sends_the_regimes_code() -> None:
    both = ItemTax(
        icms_cst="60",
        csosn="500",
        st_base_unit="4.5",
        st_rate="18",
        st_icms_unit="0.45",
        pis_cst="04",
        cofins_cst="04",
    )
    assert both.icms_code_for(Crt.SIMPLES) == "500" and both.icms_code_for(Crt.NORMAL) == "60"
    assert tax_problems(both, crt=Crt.SIMPLES, cfop="5405", cest="0302100") == []
    assert fields(tax_problems(both, crt=Crt.NORMAL, cfop="5405", cest="0302100")) == [
        "ibs_cbs_cst",
        "cclass_trib",
    ]


def test_codes_outside_the_nfce_tables_are_refused_in_portuguese() -> None:
    with pytest.raises(InvalidSale) as caught:
        sale_with(item(tax={"csosn": "101"}))
    assert caught.value.user_message.startswith("itens[1].tributos.csosn: CSOSN '101' não aceito")
    with pytest.raises(InvalidSale) as caught:
        sale_with(item(tax={"pis_cst": "50"}))
    assert "itens[1].tributos.pis_cst" in caught.value.user_message
    with pytest.raises(InvalidSale) as caught:
        sale_with(item(tax={"icms_rate": "120"}))
    assert "de 0 a 100" in caught.value.user_message
    with pytest.raises(InvalidSale) as caught:
        sale_with(item(tax={"cst": "00"}))
    assert 'campo "cst" desconhecido' in caught.value.user_message
    # the CST may be written with its origin digit in front, as ERPs print it
    assert sale_with(item(tax={"icms_cst": "060"})).items[0].tax == ItemTax(icms_cst="60")


# -- the store's defaults and the sale under its regime -------------------------------------------


def test_simples_defaults_are_csosn_102_and_pis_cofins_49_normal_regime_has_none() -> None:
    assert store_defaults(Crt.SIMPLES) == ItemTax(csosn="102", pis_cst="49", cofins_cst="49")
    assert store_defaults(Crt.NORMAL) == ItemTax()
    configured = Config.model_validate(
        {"store": {"crt": 3}, "taxes": {"icms_cst": "00", "icms_rate": 18, "pis_cst": "01", "pis_rate": 1.65}}
    )
    assert configured.tax_defaults.icms_rate == Decimal("18") and configured.tax_defaults.pis_rate == Decimal(
        "1.65"
    )


def test_an_item_with_its_own_icms_code_keeps_it_and_never_inherits_per_unit_st_values() -> None:
    defaults = ItemTax(
        icms_cst="60", st_base_unit="4.5", st_rate="18", st_icms_unit="0.45", pis_cst="01", pis_rate="1.65"
    )
    merged = ItemTax(csosn="102", icms_cst="00", cofins_cst="01", cofins_rate="7.6").merged_over(defaults)
    assert (merged.icms_cst, merged.csosn) == ("00", "102")
    assert merged.st_base_unit is None and merged.st_icms_unit is None  # another product's purchase
    assert merged.st_rate == Decimal("18") and merged.pis_cst == "01"  # the store's rates
    # a product without its own code takes the store's, values and all
    assert ItemTax().merged_over(defaults).st_icms_unit == Decimal("0.45")


def test_a_merged_registry_is_what_validating_the_merge_would_give() -> None:
    """merged_over builds the merge without validating it again (every sale's items go
    through it): right only while ItemTax has no rule across fields."""
    assert not ItemTax.__pydantic_decorators__.model_validators
    defaults = ItemTax(icms_cst="60", st_base_unit="4.5", st_rate="18", pis_cst="01", pis_rate="1.65")
    for own in (
        ItemTax(),
        ItemTax(csosn="102"),
        ItemTax(icms_cst="00", icms_rate="18"),
        ItemTax(cofins_cst="01", cofins_rate="7.6", ibpt_source="IBPT 26.1"),
        ItemTax(pis_cst="02", pis_rate="0.65"),  # both say it: the item's own wins
    ):
        merged = own.merged_over(defaults)
        validated = ItemTax.model_validate(merged.model_dump())
        assert merged == validated and merged.model_dump() == validated.model_dump()
        assert hash(merged) == hash(validated)
    assert ItemTax(pis_cst="02", pis_rate="0.65").merged_over(defaults).pis_rate == Decimal("0.65")


def test_a_sale_lacking_what_the_regime_requires_is_refused_naming_item_and_field() -> None:
    sale = sale_with(item(code="1", cfop="5102", cest=None), item(code="2", tax=BEER_ST))
    config = Config.model_validate({"store": {"crt": 3}})
    with pytest.raises(InvalidSale) as caught:
        with_store_taxes(sale, crt=config.store.regime, defaults=config.tax_defaults)
    lines = caught.value.user_message.splitlines()
    assert lines[0].startswith("itens[1].tributos.icms_cst: obrigatório para loja do regime normal (CRT 3)")
    assert "mais" in lines[-1]
    # the same sale from a Simples store: item 1 takes the defaults, item 2 keeps its own
    done = with_store_taxes(sale, crt=Crt.SIMPLES, defaults=store_defaults(Crt.SIMPLES))
    assert done.items[0].tax == ItemTax(csosn="102", pis_cst="49", cofins_cst="49")
    assert done.items[1].tax is not None and done.items[1].tax.csosn == "500"


def test_completing_a_sale_copies_only_what_changed() -> None:
    """with_store_taxes is one pass that copies an item only when its registry changed and
    the sale only when an item did; what it builds is what validating it would give."""
    own = ItemTax(**BEER_ST)
    complete = sale_with(item(code="1", tax=BEER_ST), item(code="2", tax=BEER_ST))
    assert with_store_taxes(complete, crt=Crt.SIMPLES) is complete  # no defaults: nothing to add
    # defaults the registries already cover: equal, so neither the items nor the sale are copied
    assert with_store_taxes(complete, crt=Crt.SIMPLES, defaults=own) is complete
    mixed = sale_with(item(code="1", cfop="5102", cest=None), item(code="2", tax=BEER_ST))
    done = with_store_taxes(mixed, crt=Crt.SIMPLES, defaults=store_defaults(Crt.SIMPLES))
    assert done is not mixed and done.items[1] is mixed.items[1]  # item 2 kept as it was
    assert done.items[0].tax == store_defaults(Crt.SIMPLES)
    again = Sale.from_stored_json(done.model_dump_json())
    assert again == done
    assert mixed.items[0].tax is None  # the sale it was given is unchanged (frozen)


def test_replaced_is_model_copy_with_the_changes() -> None:
    """Item.replaced / Sale.replaced, the lean copy of the queued path, against pydantic's own."""
    sale = sale_with(item(code="1", cfop="5102", cest=None), item(code="2", tax=BEER_ST))
    tax = ItemTax(csosn="102")
    for original, changes in (
        (sale.items[0], {"tax": tax}),
        (sale, {"items": (sale.items[1],)}),
        (sale, {}),
    ):
        lean, stock = original.replaced(**changes), original.model_copy(update=changes)
        assert lean == stock and lean is not original
        assert lean.model_fields_set == stock.model_fields_set
        assert lean.model_dump_json() == stock.model_dump_json()
        assert hash(lean.model_dump_json()) == hash(stock.model_dump_json())
        assert lean.__pydantic_extra__ is None and lean.__pydantic_private__ is None
        with pytest.raises(ValidationError):  # still frozen
            setattr(lean, next(iter(type(lean).model_fields)), "x")


def test_the_stored_sale_reads_back_with_its_registry() -> None:
    sale = with_store_taxes(sale_with(item(tax=BEER_ST)), crt=Crt.SIMPLES)
    again = Sale.from_stored_json(sale.model_dump_json())
    assert again.items[0].tax == sale.items[0].tax


# -- values, with Decimal, rounded half up to the centavo -----------------------------------------


def test_icms_00_and_20_values() -> None:
    tax = ItemTax(icms_cst="00", icms_rate="18")
    values = icms_values(tax, Decimal("29.94"), Crt.NORMAL)
    assert values is not None and (values.base, values.value) == (Decimal("29.94"), Decimal("5.39"))
    reduced = icms_values(
        ItemTax(icms_cst="20", icms_rate="18", icms_base_reduction="33.33"), Decimal("100.00"), Crt.NORMAL
    )
    assert reduced is not None and (reduced.base, reduced.value) == (Decimal("66.67"), Decimal("12.00"))
    assert icms_values(ItemTax(icms_cst="40"), Decimal("10"), Crt.NORMAL) is None
    assert icms_values(tax, Decimal("29.94"), Crt.SIMPLES) is None  # a Simples store sends its CSOSN


def test_retained_st_per_unit_times_quantity() -> None:
    st_values = retained_st(ItemTax(**BEER_ST), Decimal("6"), Crt.SIMPLES)
    assert st_values is not None
    assert (st_values.base, st_values.rate, st_values.value) == (
        Decimal("27.00"),
        Decimal("18"),
        Decimal("2.70"),
    )


def test_pis_cofins_by_rate() -> None:
    pis = contribution("01", Decimal("1.65"), Decimal("29.94"))
    assert pis is not None and pis.value == Decimal("0.49")
    assert contribution("04", None, Decimal("29.94")) is None


def test_lei_12741_on_the_net_value_federal_rate_by_origin() -> None:
    rates = IbptRates(
        "22030000", Decimal("24.71"), Decimal("32.10"), Decimal("18.00"), Decimal("0"), "IBPT 26.1.A x9Y"
    )
    national, imported = rates.for_origin(0), rates.for_origin(1)
    assert national.ibpt_federal == Decimal("24.71") and imported.ibpt_federal == Decimal("32.10")
    assert rates.for_origin(5).ibpt_federal == Decimal("24.71")  # national with import content
    beer = sale_with(item(discount="0.94", tax={**BEER_ST, **national.model_dump(exclude_none=True)}))
    taxes = item_approx_taxes(beer.items[0])
    assert taxes is not None
    # net 29.94 - 0.94 = 29.00: 7.1659 -> 7.17; 5.22; 0.00
    assert (taxes.federal, taxes.state, taxes.municipal) == (
        Decimal("7.17"),
        Decimal("5.22"),
        Decimal("0.00"),
    )
    assert taxes.total == Decimal("12.39") and taxes.source == "IBPT 26.1.A x9Y"
    assert sale_approx_taxes(sale_with(item())) is None


@given(
    net=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2),
    federal=st.decimals(min_value=0, max_value=100, places=2),
)
def test_approximate_taxes_are_exact_centavos(net: Decimal, federal: Decimal) -> None:
    taxes = approx_taxes(ItemTax(ibpt_federal=federal), net)
    assert taxes is not None
    assert taxes.federal == (net * federal / 100).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert taxes.federal.as_tuple().exponent == -2
