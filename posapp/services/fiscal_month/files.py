"""The export's files, pure functions of a :class:`~.plan.MonthPlan`: ``resumo.csv``,
``totais.csv``, ``lacunas.csv``, ``pendencias.csv`` and ``LEIAME.txt``.

The CSVs are what a Brazilian spreadsheet opens as is: UTF-8 with a BOM, ``;`` between
fields, decimal comma; times in ISO 8601 with the store's offset.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from decimal import Decimal

from posapp.domain import lifecycle
from posapp.domain.money import ZERO
from posapp.domain.payments import PaymentMethod, net_of_change
from posapp.services.fiscal_month.plan import MonthPlan


def _money(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def _when(moment: datetime | None, tz: tzinfo) -> str:
    return moment.astimezone(tz).isoformat(timespec="seconds") if moment else ""


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


SUMMARY_HEADER = (
    "chave",
    "numero",
    "serie",
    "emissao",
    "autorizacao",
    "total",
    "situacao",
    "emissor",
    "caixa",
    "protocolo",
    "cancelamento_protocolo",
    "venda",
)


def summary_csv(plan: MonthPlan, tz: tzinfo) -> bytes:
    return _csv(
        SUMMARY_HEADER,
        [
            (
                n.chave,
                n.numero,
                n.serie,
                _when(n.emitted_at, tz),
                _when(n.authorized_at, tz),
                _money(n.total),
                n.status,
                n.backend or "",
                plan.till_id,
                n.protocolo or "",
                n.cancel_protocolo or "",
                n.sale_id,
            )
            for n in plan.notes
        ],
    )


def _method_label(code: str) -> str:
    try:
        return PaymentMethod(code).label
    except ValueError:
        return f"Forma {code}"


def totals_csv(plan: MonthPlan, tz: tzinfo) -> bytes:
    """Per day and per payment method (tPag), authorized notes only (a cancelled note's money
    went back); cash net of the change given, as the day close counts it."""
    by_day: dict[date, dict[str, tuple[int, Decimal]]] = {}
    for note in plan.notes:
        if lifecycle.has_cancel_event(note.state):
            continue
        day = note.emitted_at.astimezone(tz).date()
        methods = by_day.setdefault(day, {})
        for code, net in net_of_change(note.payments, note.change):
            count, total = methods.get(code, (0, ZERO))
            methods[code] = (count + 1, total + net)
    rows: list[tuple[object, ...]] = []
    month_methods: dict[str, tuple[int, Decimal]] = {}
    for day in sorted(by_day):
        day_total = ZERO
        for code, (count, amount) in sorted(by_day[day].items()):
            rows.append((day.isoformat(), code, _method_label(code), count, _money(amount)))
            day_total += amount
            month_count, month_amount = month_methods.get(code, (0, ZERO))
            month_methods[code] = (month_count + count, month_amount + amount)
        notes_that_day = sum(
            1
            for n in plan.notes
            if not lifecycle.has_cancel_event(n.state) and n.emitted_at.astimezone(tz).date() == day
        )
        rows.append((day.isoformat(), "", "TOTAL DO DIA", notes_that_day, _money(day_total)))
    for code, (count, amount) in sorted(month_methods.items()):
        rows.append((plan.month.text, code, _method_label(code), count, _money(amount)))
    month_total = sum((amount for _count, amount in month_methods.values()), ZERO)
    rows.append((plan.month.text, "", "TOTAL DO MÊS", plan.authorized_count, _money(month_total)))
    return _csv(("dia", "tpag", "forma_pagamento", "quantidade", "valor"), rows)


def gaps_csv(plan: MonthPlan) -> bytes:
    rows: list[tuple[object, ...]] = []
    for serie in plan.gaps:
        for first, last in serie.gaps:
            rows.append(
                (
                    serie.serie,
                    first,
                    last,
                    last - first + 1,
                    "a inutilizar",
                    ",".join(serie.backends),
                    serie.note(),
                )
            )
        for inut in serie.in_flight:
            rows.append(
                (
                    serie.serie,
                    inut.range.first,
                    inut.range.last,
                    inut.range.size,
                    f"inutilização {inut.state.label} (nº {inut.inut_id})",
                    inut.backend,
                    "consultar o emissor antes de qualquer novo pedido",
                )
            )
        for use in serie.pending:
            rows.append(
                (
                    serie.serie,
                    use.numero,
                    use.numero,
                    1,
                    "reservado (venda pendente)",
                    ",".join(serie.backends),
                    f"venda {use.sale_id} {use.state.label if use.state else ''}".strip(),
                )
            )
    for inut in plan.inutilizacoes:
        rows.append(
            (
                inut.range.serie,
                inut.range.first,
                inut.range.last,
                inut.range.size,
                "inutilizada",
                inut.backend,
                f"protocolo {inut.protocolo or 'não informado'}",
            )
        )
    return _csv(
        ("serie", "numero_inicial", "numero_final", "quantidade", "situacao", "emissor", "observacao"), rows
    )


def pending_csv(plan: MonthPlan, tz: tzinfo) -> bytes:
    return _csv(
        ("venda", "criada_em", "situacao", "total", "emissor", "chave", "o_que_fazer"),
        [
            (
                p.sale_id,
                _when(p.created_at, tz),
                p.state.label,
                _money(p.total),
                p.backend or "",
                p.chave or "",
                p.why,
            )
            for p in plan.pending
        ],
    )


def readme(plan: MonthPlan, tz: tzinfo, generated_at: datetime, warnings: Sequence[str]) -> bytes:
    lines = [
        f"posapp — NFC-e do mês {plan.month.text} (fuso da loja: {plan.tz_name})",
        f"Caixa: {plan.till_id}",
        f"Período: {_when(plan.start, tz)} a {_when(plan.end, tz)} (exclusive)",
        f"Gerado em: {_when(generated_at, tz)}",
        "",
        f"NFC-e autorizadas: {plan.authorized_count} (pasta NFCe/, XML nfeProc como o emissor devolveu)",
        f"NFC-e canceladas: {plan.cancelled_count} (NFCe/ e o evento em Eventos/)",
        f"Inutilizações homologadas no mês: {len(plan.inutilizacoes)} (Inutilizacoes/)",
        f"Vendas pendentes: {len(plan.pending)} (pendencias.csv)",
        "resumo.csv: uma linha por nota; totais.csv: por dia e forma de pagamento;",
        "lacunas.csv: números pulados, inutilizações e reservas pendentes.",
        "CSV: UTF-8, separador ';', vírgula decimal.",
    ]
    if warnings:
        lines += ["", "AVISOS:", *(f"- {w}" for w in warnings)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
