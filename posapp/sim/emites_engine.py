"""The simulated Emites-Client's brain: what it answers to a request, without any sockets.

:class:`EmitesEngine` takes ``(identifier, payload bytes, now)`` and returns the answer as
plain data; :mod:`posapp.sim.emites` puts it on the wire (and applies the wire faults).
Keeping the decisions here makes them testable without a server and keeps the server
about bytes only.

What it does, per identifier:

``CREATE_NFCE``
    Validates like the vendor (:mod:`posapp.sim.emites_validation`): schema errors answer
    ``rejeitada`` with ``erros`` as ``{field: [messages]}``, SEFAZ-like refusals as
    ``{"rejeicao": ["NNN - Rejeição: ..."]}``. Otherwise it *issues*: the next number of the
    series (from 1), a valid chave, a protocol, the ``nfeProc`` XML and the DANFE PDF, and
    answers ``sucesso`` with the request echoed (``forma_de_pagamento`` renamed
    ``forma_pagamento`` and ``tributacao`` added per product, as the vendor's response
    example does) plus ``id``, ``nfe_numero``, ``serie``, ``danfe_url``, ``xml_url``,
    ``resposta_emissao``, ``danfe`` (omitted when reportlab is not installed) and ``xml``.
    A resent request is a new note: like the real daemon as far as its documents say, the
    simulator does not deduplicate.
``CANCEL_NFCE``
    ``{"chave_acesso", "motivo"}``. A malformed chave or a *motivo* outside 15-255
    characters: ``cancelamento_rejeitado`` with field errors. A chave it never issued (or
    a contingency note not yet transmitted): ``217 - Rejeição: NF-e não consta na base de
    dados da SEFAZ``. Past the window (``faults.refuse_cancel_after``, 30 min):
    ``501 - Rejeicao: Prazo de Cancelamento Superior ao Previsto na Legislacao`` (spelled
    as in the vendor README). Otherwise ``cancelada`` with ``resposta_cancelamento``,
    ``cancel_xml_url`` and ``xml`` (the cancel event). **Cancelling an already cancelled
    note answers ``cancelada`` again, with the same protocol and event** (idempotent: a
    client that lost the first answer can ask again safely; real SEFAZ would say 218/573,
    which Emites is assumed to fold into the note's current state). A missing *motivo*
    is allowed (the README calls it optional) and a default text is used.
anything else
    ``{"status": "erro", "erros": ["Tipo de mensagem desconhecido: X"]}`` under the same
    identifier. A payload that is not a JSON object answers ``erro`` too.

The :class:`EmitesFaults` knobs that change *decisions* live here (``status_override``,
``contingency``, ``reject_next``, ``refuse_cancel_after``, ``errors_as_list``,
``response_style``, ``lying_chave``, ``status_after_issue``, ``cancel_race``); the wire knobs
are applied by the server. :attr:`EmitesEngine.truth` records every note really issued and
every cancel really registered (:mod:`posapp.sim.truth`), whatever the answers said. Thread-safe: the server
runs :meth:`EmitesEngine.handle` in a worker thread (rendering a PDF takes tens of ms).
"""

from __future__ import annotations

import base64
import copy
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from posapp.domain.documents import UF_CODES, only_digits
from posapp.domain.money import ZERO, round_money
from posapp.sim.danfe_pdf import build_danfe_pdf_or_none
from posapp.sim.emites_validation import (
    BLANK,
    NOT_TEXT,
    chave_problem,
    payments_key,
    sefaz_rejections,
    validate_create,
)
from posapp.sim.errors import SimulatorError
from posapp.sim.jsonwire import ENCODING, loads_decimal
from posapp.sim.lies import LIE_MODES, lie_about
from posapp.sim.nfce_xml import (
    SANDBOX_EMITTER,
    SIM_CSC,
    SIM_CSC_ID,
    SimAddress,
    SimEmitter,
    SimItem,
    SimNote,
    SimPayment,
    build_nfeproc_xml,
    local_timezone,
    make_chave,
    nfe_cancel_event_xml,
    nfe_digest_value,
    qr_code_url,
)
from posapp.sim.truth import GroundTruth, TruthEvent, TruthNote, pdv_reference

CREATE_NFCE = "CREATE_NFCE"
CANCEL_NFCE = "CANCEL_NFCE"

REJEICAO_501 = "501 - Rejeicao: Prazo de Cancelamento Superior ao Previsto na Legislacao"
REJEICAO_217 = "217 - Rejeição: NF-e não consta na base de dados da SEFAZ"
DEFAULT_MOTIVO = "Cancelamento solicitado pelo emitente"
CONTINGENCY_REASON = "Sem comunicacao com a SEFAZ: emissao em contingencia off-line"  # xJust
SIMULATED_ERROR = "Erro simulado: falha de comunicação com a SEFAZ"
MOTIVO_RANGE = (15, 255)
#: What a cancel that lost the race hears (``cancel_race``), by SEFAZ code.
RACE_LOSER = {
    "573": "573 - Rejeição: Duplicidade de evento",
    "218": "218 - Rejeição: NF-e já está cancelada na base de dados da SEFAZ",
}
_AFTER_ISSUE = ("erro", "processando")

#: A flat stand-in for the IBPT table (federal + state) behind the Lei 12.741 value.
APPROX_TAX_RATE = Decimal("0.3145")
_STATUSES_WITH_ERRORS = ("erro", "rejeitada", "cancelamento_rejeitado")


@dataclass
class EmitesFaults:
    """Run-time knobs; tests change them between (or during) requests.

    Wire faults (applied by the server to the *answer*; the request is processed as
    usual, so a note may exist that the client never heard about, which is exactly the
    in-doubt case): ``delay_s``, ``hang``, ``close_mid_answer``, ``garbage``,
    ``invalid_json``. Decision faults (applied here): ``status_override`` (every request
    is answered with this status and nothing is issued or cancelled), ``contingency``
    (issue offline, tpEmis 9, still ``sucesso``), ``reject_next`` (the next CREATE_NFCE is
    rejected with this SEFAZ text, then the knob clears itself), ``refuse_cancel_after``
    (the cancel window), ``errors_as_list`` (``erros`` as a flat list of strings, the
    response schema's shape) and ``response_style`` (``"example"``: ``nfe_numero`` and
    ``forma_pagamento`` as in the vendor's response example; ``"schema"``:
    ``nfce_number``, ``forma_de_pagamento`` and ``client`` as in the response schema).

    The stricter world: ``lying_chave`` (one of :data:`posapp.sim.lies.LIE_MODES`: the note
    is issued, and the answer's chave, número, série, XML and DANFE tell the lie; a cancel of
    the lying chave finds the note), ``status_after_issue`` (``"erro"`` or ``"processando"``:
    the note is issued, then the answer says that), ``cancel_race`` (``"573"`` or ``"218"``:
    a cancel of a note already cancelled is ``cancelamento_rejeitado`` with that SEFAZ code
    instead of the idempotent ``cancelada``; and the server holds the winning cancel's
    answer back until the losing one's has been written, at most ``cancel_race_wait_s``)
    and the wire knob ``huge_numbers`` (the answer's numbers written as ``1e999999``).
    """

    delay_s: float = 0.0
    hang: bool = False
    close_mid_answer: bool = False
    garbage: bool = False
    invalid_json: bool = False
    huge_numbers: bool = False
    status_override: str | None = None
    contingency: bool = False
    refuse_cancel_after: timedelta = timedelta(minutes=30)
    reject_next: str | None = None
    errors_as_list: bool = False
    response_style: Literal["example", "schema"] = "example"
    lying_chave: str | None = None
    status_after_issue: str | None = None
    cancel_race: str | None = None
    cancel_race_wait_s: float = 2.0
    # The vendor's DANFE embeds its fonts (the real one is ~34 KB, ~25 KB deflated); ours is a
    # few KB. At least this many bytes, padded with incompressible comment lines, so size
    # measurements (benchmarks/bench_journal_size.py) see answers the size of the real ones.
    danfe_min_bytes: int = 0

    def __setattr__(self, name: str, value: object) -> None:
        choices = {
            "lying_chave": LIE_MODES,
            "status_after_issue": _AFTER_ISSUE,
            "cancel_race": tuple(RACE_LOSER),
        }
        allowed = choices.get(name)
        if allowed is not None and value is not None and value not in allowed:
            raise SimulatorError(f"{name}={value!r}: one of {', '.join(allowed)} (or None)")
        object.__setattr__(self, name, value)

    def reset(self) -> None:
        """Back to a well-behaved daemon."""
        fresh = EmitesFaults()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))


@dataclass
class IssuedNote:
    """A note the simulator issued, and its cancel once there is one."""

    note: SimNote
    xml: bytes
    answer: dict[str, Any]  # the sucesso answer as first sent (before styling)
    cancel_answer: dict[str, Any] | None = None
    cancel_xml: bytes | None = None
    cancelled_at: datetime | None = None
    told_chave: str | None = None  # the chave the answers told instead (lying_chave)

    @property
    def cancelled(self) -> bool:
        return self.cancel_answer is not None


@dataclass(frozen=True, slots=True)
class Answer:
    identifier: str
    body: dict[str, Any]
    # A cancel with ``cancel_race`` on: ("won" | "lost", the note's real chave).
    race: tuple[str, str] | None = None


@dataclass
class _Counters:
    numbers: dict[int, int] = field(default_factory=dict)  # serie -> last number
    protocol: int = 0
    emites_id: int = 0


class EmitesEngine:
    """Decides every answer. ``emitter`` is the store the daemon is configured for (its UF
    and CNPJ go into every chave); ``serie`` may be changed at run time."""

    def __init__(
        self,
        *,
        emitter: SimEmitter = SANDBOX_EMITTER,
        serie: int = 1,
        environment: int = 2,
        csc_id: str = SIM_CSC_ID,
        csc: str = SIM_CSC,
        strict_schema: bool = False,
        faults: EmitesFaults | None = None,
        seed: int | None = None,
    ) -> None:
        self.emitter = emitter
        self.serie = serie
        self.environment = environment
        self.csc_id = csc_id
        self.csc = csc
        self.strict_schema = strict_schema
        self.faults = faults if faults is not None else EmitesFaults()
        self.notes: dict[str, IssuedNote] = {}
        self.truth = GroundTruth()
        self._told: dict[str, str] = {}  # lying chave -> real chave
        self._race: tuple[str, str] | None = None
        self._counters = _Counters()
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ entry point

    def handle(self, identifier: str, payload: bytes, now: datetime) -> Answer:
        """The answer to one request frame. ``now`` is the (possibly fake) clock, tz-aware."""
        with self._lock:
            self._race = None
            body = self._dispatch(identifier, payload, now.astimezone(UTC).replace(microsecond=0))
            return Answer(identifier, self._styled(body), self._race)

    def _dispatch(self, identifier: str, payload: bytes, now: datetime) -> dict[str, Any]:
        if identifier not in (CREATE_NFCE, CANCEL_NFCE):
            return {"status": "erro", "erros": [f"Tipo de mensagem desconhecido: {identifier}"]}
        try:
            request = loads_decimal(payload.decode(ENCODING))
        except (ValueError, RecursionError) as exc:
            return {"status": "erro", "erros": [f"JSON inválido: {exc}"]}
        if not isinstance(request, dict):
            return {"status": "erro", "erros": ["A mensagem deve ser um objeto JSON"]}
        if identifier == CREATE_NFCE:
            return self._create(request, now)
        return self._cancel(request, now)

    # ------------------------------------------------------------------ create

    def _create(self, request: dict[str, Any], now: datetime) -> dict[str, Any]:
        faults = self.faults
        if faults.status_override is not None:
            return self._overridden(_echo(request), faults.status_override)
        if faults.reject_next is not None:
            reason, faults.reject_next = faults.reject_next, None
            return {**_echo(request), "status": "rejeitada", "erros": {"rejeicao": [reason]}}
        errors = validate_create(request, emitter_uf=self.emitter.uf, strict=self.strict_schema)
        if errors:
            return {**_echo(request), "status": "rejeitada", "erros": errors}
        rejections = sefaz_rejections(request)
        if rejections:
            return {**_echo(request), "status": "rejeitada", "erros": {"rejeicao": rejections}}
        issued = self._issue(request, now, contingency=faults.contingency)
        after = faults.status_after_issue
        if after is not None:  # issued; the answer says otherwise
            body = {**_echo(request), "status": after}
            if after in _STATUSES_WITH_ERRORS:
                body["erros"] = [SIMULATED_ERROR]
            return body
        return copy.deepcopy(issued.answer)

    def _issue(self, request: dict[str, Any], now: datetime, *, contingency: bool) -> IssuedNote:
        serie = self.serie
        numero = self._counters.numbers.get(serie, 0) + 1
        self._counters.numbers[serie] = numero
        tp_emis = 9 if contingency else 1
        code = self._code(numero)
        chave = make_chave(
            emitter=self.emitter, serie=serie, numero=numero, emitted_at=now, code=code, tp_emis=tp_emis
        )
        items = tuple(_item(p) for p in request["produtos"])
        payments = tuple(_payment(p) for p in request[payments_key(request)])
        cliente = request.get("cliente") if isinstance(request.get("cliente"), Mapping) else None
        info = request.get("informacoes_adicionais") or {}
        note = SimNote(
            chave=chave,
            numero=numero,
            serie=serie,
            emitted_at=now,
            authorized_at=now,
            protocolo=None if contingency else self._protocol(now),
            emitter=self.emitter,
            items=items,
            payments=payments,
            environment=self.environment,
            tp_emis=tp_emis,
            contingency_at=now if contingency else None,
            contingency_reason=CONTINGENCY_REASON if contingency else None,
            customer_document=_customer_document(cliente),
            customer_name=cliente.get("nome") if cliente else None,
            customer_address=_customer_address(cliente),
            inf_cpl=info.get("informacoes_contribuinte") or None,
            inf_ad_fisco=info.get("informacoes_fisco") or None,
            csc_id=self.csc_id,
            csc=self.csc,
            nat_op=str(request.get("natureza_operacao") or "VENDA")[:60],
            ind_pres=int(request.get("indicador_presenca", 1)),
        )
        xml = build_nfeproc_xml(note)
        shown, shown_xml = note, xml
        if self.faults.lying_chave is not None:
            lie = lie_about(
                self.faults.lying_chave,
                chave=chave,
                emitter=self.emitter,
                serie=serie,
                numero=numero,
                emitted_at=now,
                tp_emis=tp_emis,
            )
            told = replace(
                note,
                chave=lie.chave,
                emitter=lie.emitter,
                serie=lie.serie,
                numero=lie.numero,
                model=lie.model,
            )
            if lie.consistent:
                shown, shown_xml = told, build_nfeproc_xml(told)
            else:  # no document carries a wrong check digit: the real XML goes with it
                shown = told
        digest = nfe_digest_value(shown_xml) or ""
        pdf_note = shown if shown_xml is not xml else note
        pdf = build_danfe_pdf_or_none(pdf_note, qr_url=qr_code_url(pdf_note, digest))  # None: no reportlab
        if pdf is not None and len(pdf) < self.faults.danfe_min_bytes:
            pdf = _pad_pdf(pdf, self.faults.danfe_min_bytes)
        self._counters.emites_id += 1
        emites_id = self._counters.emites_id
        receipt: dict[str, Any] = {
            "chave_acesso": shown.chave,
            "codigo_verificacao": digest,
            "data_emissao": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if note.protocolo is not None:
            receipt["numero_protocolo"] = note.protocolo
        echo = _echo(request)
        for product, item in zip(echo["produtos"], items, strict=True):
            product["tributacao"] = self._taxes(item)
        answer: dict[str, Any] = {
            **echo,
            "id": emites_id,
            "status": "sucesso",
            "nfe_numero": shown.numero,
            "serie": shown.serie,
            "danfe_url": _url("pdf_files", emites_id, "danfe.pdf"),
            "xml_url": _url("xml_files", emites_id, "nfe.xml"),
            "resposta_emissao": receipt,
        }
        if pdf is not None:  # else omitted, as the README says of a missing optional value
            answer["danfe"] = base64.b64encode(pdf).decode("ascii")
        answer["xml"] = base64.b64encode(shown_xml).decode("ascii")
        told_chave = shown.chave if shown is not note else None
        issued = IssuedNote(note=note, xml=xml, answer=answer, told_chave=told_chave)
        self.notes[chave] = issued
        if told_chave is not None:
            self._told[told_chave] = chave
        self.truth.note(
            TruthNote(
                issuer="emites",
                chave=chave,
                serie=serie,
                numero=numero,
                total=note.total,
                status="contingencia" if contingency else "autorizado",
                issued_at=now,
                reference=pdv_reference(note.inf_cpl),
                told_chave=told_chave,
            )
        )
        return issued

    def _code(self, numero: int) -> str:
        """``cNF``: 8 random digits, never equal to the number (SEFAZ refuses that)."""
        while True:
            code = f"{self._random.randrange(10**8):08d}"
            if int(code) != numero:
                return code

    def _protocol(self, now: datetime) -> str:
        """15 digits like ``353180004134006``: 3, cUF, year, a sequence."""
        self._counters.protocol += 1
        year = now.astimezone(local_timezone(self.emitter.uf)).strftime("%y")
        return f"3{UF_CODES[self.emitter.uf]}{year}{self._counters.protocol:010d}"

    def _taxes(self, item: SimItem) -> dict[str, Any]:
        """The per-product ``tributacao`` Emites adds (a small, consistent subset)."""
        base = item.net_total
        if self.emitter.crt in (1, 2):
            icms: dict[str, Any] = {"situacao_simples_nacional": "102", "codigo_origem_produto": item.origin}
        else:
            icms = {
                "situacao_tributaria": "00",
                "modalidade_base_calculo": 3,
                "aliquota_icms": item.icms_rate,
                "valor_base_calculo": base,
                "valor_icms": round_money(base * item.icms_rate / 100),
            }
        return {"icms": icms, "valor_aproximado_total": item.approx_tax}

    # ------------------------------------------------------------------ cancel

    def _cancel(self, request: dict[str, Any], now: datetime) -> dict[str, Any]:
        chave = request.get("chave_acesso")
        motivo = request.get("motivo")
        echo = {"chave_acesso": chave, "motivo": motivo}
        if self.faults.status_override is not None:
            return self._overridden(echo, self.faults.status_override)
        errors: dict[str, list[str]] = {}
        problem = chave_problem(chave)
        if problem is not None and problem[0] == "validation":
            errors["chave_acesso"] = [problem[1]]
        if motivo is not None:
            if not isinstance(motivo, str):
                errors["motivo"] = [NOT_TEXT]
            elif not MOTIVO_RANGE[0] <= len(motivo) <= MOTIVO_RANGE[1]:
                errors["motivo"] = [f"tamanho deve estar entre {MOTIVO_RANGE[0]} e {MOTIVO_RANGE[1]}"]
            elif not motivo.strip():
                errors["motivo"] = [BLANK]
        if errors:
            return {**echo, "status": "cancelamento_rejeitado", "erros": errors}
        if problem is not None:
            return {**echo, "status": "cancelamento_rejeitado", "erros": {"rejeicao": [problem[1]]}}
        assert isinstance(chave, str)  # chave_problem() accepted it
        issued = self.notes.get(self._told.get(chave, chave))
        if issued is None or issued.note.protocolo is None:
            return {**echo, "status": "cancelamento_rejeitado", "erros": {"rejeicao": [REJEICAO_217]}}
        real = issued.note.chave
        if issued.cancel_answer is not None:
            race = self.faults.cancel_race
            if race is None:
                return copy.deepcopy(issued.cancel_answer)
            self._race = ("lost", real)
            return {**echo, "status": "cancelamento_rejeitado", "erros": {"rejeicao": [RACE_LOSER[race]]}}
        summary = {k: v for k, v in issued.answer.items() if k not in ("danfe", "xml")}
        if now - issued.note.authorized_at > self.faults.refuse_cancel_after:
            return {
                **copy.deepcopy(summary),
                "status": "cancelamento_rejeitado",
                "erros": {"rejeicao": [REJEICAO_501]},
            }
        text = motivo if isinstance(motivo, str) else DEFAULT_MOTIVO
        protocol = self._protocol(now)
        event = nfe_cancel_event_xml(
            chave=chave,  # the one asked for: the real one, or the lie told (a liar keeps lying)
            note_protocolo=issued.note.protocolo,
            cancel_protocolo=protocol,
            motivo=text,
            cancelled_at=now,
            environment=issued.note.environment,
        )
        answer = {
            **copy.deepcopy(summary),
            "status": "cancelada",
            "xml": base64.b64encode(event).decode("ascii"),
            "resposta_cancelamento": {"chave_acesso": chave, "numero_protocolo": protocol},
            "cancel_xml_url": _url("cancel_xml_files", int(summary["id"]), "cancel_nfe.xml"),
        }
        issued.cancel_answer = answer
        issued.cancel_xml = event
        issued.cancelled_at = now
        self.truth.event(TruthEvent("emites", real, "cancelamento", protocol, now))
        if self.faults.cancel_race is not None:
            self._race = ("won", real)
        return copy.deepcopy(answer)

    # ------------------------------------------------------------------ shapes

    @staticmethod
    def _overridden(echo: dict[str, Any], status: str) -> dict[str, Any]:
        body = {**echo, "status": status}
        if status in _STATUSES_WITH_ERRORS:
            body["erros"] = [SIMULATED_ERROR]
        return body

    def _styled(self, body: dict[str, Any]) -> dict[str, Any]:
        """Apply ``errors_as_list`` and ``response_style`` to an answer."""
        faults = self.faults
        if faults.errors_as_list and isinstance(body.get("erros"), Mapping):
            body = {**body, "erros": _flatten(body["erros"])}
        if faults.response_style == "schema":
            renames = {
                "nfe_numero": "nfce_number",
                "forma_pagamento": "forma_de_pagamento",
                "cliente": "client",
            }
            body = {renames.get(k, k): v for k, v in body.items()}
        return body


# --------------------------------------------------------------------------- helpers


def _pad_pdf(pdf: bytes, size: int) -> bytes:
    """``pdf`` grown to at least ``size`` bytes by comment lines of random base64 before
    ``%%EOF``: still a valid PDF (readers skip comments), as incompressible as embedded fonts."""
    count = (size - len(pdf)) // 77 + 1
    filler = base64.b64encode(random.randbytes(count * 57))  # 76 characters per 57 bytes
    lines = b"".join(b"%" + filler[i : i + 76] + b"\n" for i in range(0, len(filler), 76))
    cut = pdf.rfind(b"%%EOF")
    return pdf + lines if cut < 0 else pdf[:cut] + lines + pdf[cut:]


def _echo(request: Mapping[str, Any]) -> dict[str, Any]:
    """The request as the answer repeats it: ``forma_de_pagamento`` becomes ``forma_pagamento``."""
    return {
        ("forma_pagamento" if k == "forma_de_pagamento" else k): copy.deepcopy(v) for k, v in request.items()
    }


def _flatten(errors: Mapping[str, Any]) -> list[str]:
    flat: list[str] = []
    for key, messages in errors.items():
        for message in messages if isinstance(messages, list) else [messages]:
            flat.append(str(message) if key == "rejeicao" else f"{key} {message}")
    return flat


def _url(kind: str, emites_id: int, name: str) -> str:
    digits = f"{emites_id:09d}"
    return f"http://emites-sim.invalid/nfce/{kind}/{digits[:3]}/{digits[3:6]}/{digits[6:]}/original/{name}"


def _decimal(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return ZERO


def _item(product: Mapping[str, Any]) -> SimItem:
    quantity = _decimal(product["quantidade_comercial"])
    gross = round_money(_decimal(product["valor_total_produto"]))
    discount = round_money(_decimal(product.get("valor_desconto")))
    order_item = product.get("num_item_pedido")
    return SimItem(
        code=str(product["codigo_produto"]),
        description=str(product["descricao"]),
        ncm=str(product["ncm"]),
        quantity=quantity,
        unit_price=_decimal(product["valor_unitario_comercial"]),
        gtin=str(product["codigo_ean"]),
        cfop=str(product.get("cfop") or "5102"),
        cest=product.get("cest") or None,
        unit=str(product["unidade_comercial"]),
        gross_total=gross,
        discount=discount,
        origin=int(product.get("codigo_origem_produto") or 0),
        approx_tax=round_money((gross - discount) * APPROX_TAX_RATE),
        order_number=product.get("num_pedido") or None,
        order_item=order_item if isinstance(order_item, int) else None,
        extra_info=product.get("informacoes_adicionais") or None,
    )


def _payment(payment: Mapping[str, Any]) -> SimPayment:
    card = payment.get("cartao") if isinstance(payment.get("cartao"), Mapping) else {}
    integration = card.get("tipo_integracao") if card else None
    return SimPayment(
        tpag=str(payment["tipo_de_pagamento"]),
        amount=round_money(_decimal(payment["valor_do_pagamento"])),
        card_integration=integration if isinstance(integration, int) else None,
        card_cnpj=card.get("cnpj_credenciadora") if card else None,
        card_brand=card.get("bandeira_operadora") if card else None,
        card_authorization=card.get("numero_autorizacao_operacao") if card else None,
        description=payment.get("descricao_do_pagamento") or None,
    )


def _customer_address(cliente: Mapping[str, Any] | None) -> SimAddress | None:
    """``cliente.endereco`` (validated: the required keys are there) as the note's enderDest."""
    address = cliente.get("endereco") if cliente else None
    if not isinstance(address, Mapping):
        return None
    city_code = address.get("codigo_municipal", address.get("codigo_municipio"))
    return SimAddress(
        street=str(address["logradouro"]),
        number=str(address["numero"]),
        district=str(address.get("bairro") or "") or "-",
        city_code=str(city_code),
        city=str(address["nome_municipio"]),
        uf=str(address["uf"]),
        complement=address.get("complemento") or None,
        cep=address.get("cep") or None,
        phone=address.get("telefone") or None,
    )


def _customer_document(cliente: Mapping[str, Any] | None) -> str | None:
    if not cliente:
        return None
    document = str(cliente.get("cpf_cnpj") or "")
    if cliente.get("pessoa_fisica_juridica") == "foreign":
        return document or None
    return only_digits(document) or None
