"""A loopback Focus NFe (API v2, NFC-e routes), following the documented contract.

Routes: ``POST /v2/nfce?ref=REF`` (synchronous issue), ``GET /v2/nfce/REF``,
``DELETE /v2/nfce/REF`` with ``{"justificativa"}``, the XML files under ``/arquivos/...``
named by ``caminho_xml_nota_fiscal`` / ``caminho_xml_cancelamento``, and the HTML DANFCe.
HTTP Basic with the token as user. ``ref`` rules as documented: reusable after
``erro_autorizacao``, burned once authorized (422 ``nfe_autorizada``). Every answer carries
``Rate-Limit-Limit``/``-Remaining``/``-Reset`` and over 100 calls a minute gets 429.

What the next issue answers is scripted with :meth:`FocusNfeSimulator.queue_outcome`
(``autorizado`` by default, ``erro_autorizacao``, ``denegado``, ``processando_autorizacao``,
``contingencia``); the fault knobs come from :mod:`posapp.sim.http_sim`. Here they mean:

* ``refuse_query``: ``GET /v2/nfce/REF`` answers 401/403 ``permissao_negada``.
* ``lying_chave``: the note's answers (issue, query, cancel) and its XML file tell the lie.
* ``duplicidade="foreign"``: another till's sale is issued under the ``ref`` first, so the
  POST is answered 422 ``nfe_autorizada`` about *that* note; ``"own"``: this request's note is
  issued and the answer is still 422 ``nfe_autorizada``.
* ``cancel_race``: the losing DELETE gets ``erro_cancelamento`` with ``status_sefaz`` 573
  ("Duplicidade de evento") or 218 ("já está cancelada"), HTTP 200, before the winner's
  ``cancelado`` goes out. Without it, a DELETE of a cancelled note gets 400 ``nfe_cancelada``.

:attr:`HttpSimulator.truth` records every note that consumed a number and every cancel
registered, whatever the answers said.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import itertools
import re
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from posapp.sim.emites_validation import provider_rejection
from posapp.sim.http_sim import (
    ITEM_DECIMAL_FIELDS,
    ITEM_REQUIRED_FIELDS,
    HttpSimulator,
    IssuedNote,
    SimRequest,
    SimResponse,
    cancel_xml,
    documented,
    foreign_items,
    issued_item,
    local_time,
    make_chave,
    note_xml,
    run_until_signal,
    sim_arguments,
    told_note,
    truth_note,
)
from posapp.sim.inutilizacao import InutRecord, InutRegistry
from posapp.sim.sefaz_taxes import TaxedItem, provider_problems, sefaz_rejection, text_of
from posapp.sim.truth import TruthEvent

OUTCOMES = ("autorizado", "erro_autorizacao", "denegado", "processando_autorizacao", "contingencia")
_REF = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_NOTE_PATH = re.compile(r"^/v2/nfce/([^/]+)$")
_FILE_PATH = re.compile(r"^/arquivos/(\d{14})/(\d{6})/XMLs/(\d{44})-(nfe|can)\.xml$")
_INUT_FILE_PATH = re.compile(r"^/arquivos/(\d{14})/\d{6}/XMLs/(\d{41})-inu\.xml$")
_DANFE_PATH = re.compile(r"^/notas_fiscais_consumidor/NFe(\d{44})\.html$")


@dataclass
class FocusNote:
    """One ``ref`` as the simulated Focus keeps it."""

    ref: str
    cnpj: str
    status: str
    note: IssuedNote | None = None
    status_sefaz: str = ""
    mensagem_sefaz: str = ""
    xml: bytes | None = None
    queries_until_done: int = 0
    cancel_protocolo: str | None = None
    cancel_xml: bytes | None = None
    told: IssuedNote | None = None  # what the answers say instead (lying_chave)
    told_xml: bytes | None = None
    foreign: bool = False  # issued for another till's sale (duplicidade="foreign")

    @property
    def shown(self) -> IssuedNote | None:
        """The note as the answers tell it."""
        return self.told or self.note


class FocusNfeSimulator(HttpSimulator):
    """Focus NFe over loopback. ``notes`` maps ``ref`` to what was issued under it."""

    name = "focusnfe"
    outcomes = OUTCOMES

    def __init__(
        self,
        *,
        token: str | None = None,
        clock: Callable[[], float] = time.time,
        uf: str = "DF",
        serie: int = 1,
        first_number: int = 1,
        cancel_window_s: float = 30 * 60,
        processing_queries: int = 1,
        rate_limit_per_minute: int = 100,
        crt: int = 1,
    ) -> None:
        super().__init__(token=token, clock=clock)
        self.crt = crt  # the company's regime as registered at Focus (SEFAZ checks CST/CSOSN by it)
        self.uf = uf
        self.serie = serie
        self.cancel_window_s = cancel_window_s
        self.processing_queries = processing_queries
        self.rate_limit_per_minute = rate_limit_per_minute
        self.notes: dict[str, FocusNote] = {}
        self._numbers = itertools.count(first_number)
        self._calls: deque[float] = deque()
        self._protocols = itertools.count(353_260_000_000_001)
        self.inutilizacoes = InutRegistry(first_protocol=353_260_000_500_001)

    def issued(self) -> list[FocusNote]:
        """Notes that consumed a number (authorized, contingency, denied, cancelled)."""
        with self.lock:
            return [n for n in self.notes.values() if n.note is not None]

    # -- HttpSimulator -----------------------------------------------------------------

    def authorized(self, request: SimRequest) -> bool:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, _password = (
                    base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
                )
            except (binascii.Error, UnicodeDecodeError):
                return False
            return self.matches_token(user)
        return self.matches_token(request.query.get("token"))

    def unauthorized(self, status: int = 401) -> SimResponse:
        # Focus documents 403 for token trouble; the simulator contract asks for 401, and the
        # client treats both alike.
        return SimResponse.json(
            status, {"codigo": "permissao_negada", "mensagem": "Acesso negado: token inválido"}
        )

    def is_query(self, request: SimRequest) -> bool:
        return request.method == "GET" and _NOTE_PATH.match(request.path) is not None

    def handle(self, request: SimRequest) -> SimResponse:
        with self.lock:
            remaining = self._count_call()
            response = self.rate_limited() if remaining < 0 else self._route(request)
        headers = {
            "Rate-Limit-Limit": str(self.rate_limit_per_minute),
            "Rate-Limit-Remaining": str(max(remaining, 0)),
            "Rate-Limit-Reset": "60",
            **response.headers,
        }
        return replace(response, headers=headers)

    # -- routes ------------------------------------------------------------------------

    def _route(self, request: SimRequest) -> SimResponse:
        path = request.path
        inutilizacao = self._inutilizacao_route(request)  # before /v2/nfce/REF: not a ref
        if inutilizacao is not None:
            return inutilizacao
        if path == "/v2/nfce" and request.method == "POST":
            return self._issue(request)
        match = _NOTE_PATH.match(path)
        if match and request.method == "GET":
            return self._query(match.group(1))
        if match and request.method == "DELETE":
            return self._cancel(match.group(1), request)
        match = _FILE_PATH.match(path)
        if match and request.method == "GET":
            return self._file(match.group(3), match.group(4))
        match = _DANFE_PATH.match(path)
        if match and request.method == "GET":
            html = f"<html><body><h1>DANFCe</h1><p>{match.group(1)}</p></body></html>".encode()
            return SimResponse(200, html, content_type="text/html; charset=utf-8")
        return _not_found()

    def _issue(self, request: SimRequest) -> SimResponse:
        ref = request.query.get("ref", "")
        if not ref:
            return SimResponse.json(400, {"codigo": "ref_ausente", "mensagem": "Parâmetro ref não informado"})
        if not _REF.match(ref):
            return SimResponse.json(400, {"codigo": "requisicao_invalida", "mensagem": "ref inválida"})
        try:
            payload = request.json()
        except ValueError:
            return SimResponse.json(415, {"codigo": "requisicao_invalida", "mensagem": "JSON inválido"})
        existing = self.notes.get(ref)
        if existing is None and self.faults.duplicidade == "foreign" and isinstance(payload, dict):
            existing = self._issue_foreign(ref, payload)
        if existing is not None and existing.status == "processando_autorizacao":
            return SimResponse.json(422, {"codigo": "em_processamento", "mensagem": "Nota em processamento"})
        if existing is not None and existing.status != "erro_autorizacao":
            return _already_authorized()
        problems = _validate(payload) or provider_problems(_taxed(payload))
        if problems:
            return SimResponse.json(
                400, {"codigo": "requisicao_invalida", "mensagem": "Requisição inválida", "erros": problems}
            )
        now = self.clock()
        emitted_at = datetime.fromisoformat(payload["data_emissao"])
        if abs(emitted_at.timestamp() - now) > 300:
            record = FocusNote(
                ref,
                payload["cnpj_emitente"],
                "erro_autorizacao",
                status_sefaz="704",
                mensagem_sefaz="Rejeição: NFC-e com Data-Hora de emissão atrasada",
            )
            self.notes[ref] = record
            return SimResponse.json(201, self._body(record), accepted=True)
        rejection = sefaz_rejection(self.crt, _taxed(payload)) or _payment_or_consumer_rejection(payload)
        if rejection is not None:  # SEFAZ's tax, payment and consumer rules: the ref stays reusable
            record = FocusNote(ref, payload["cnpj_emitente"], "erro_autorizacao", None, *rejection)
            self.notes[ref] = record
            return SimResponse.json(201, self._body(record), accepted=True)
        outcome = self.next_outcome()
        record = self._decide(ref, payload, outcome, now)
        self._keep(record)
        if self.faults.duplicidade == "own" and record.note is not None:
            return replace(_already_authorized(), accepted=True)  # issued, and said to exist already
        return SimResponse.json(201, self._body(record), accepted=True)

    def _keep(self, record: FocusNote) -> None:
        """Store ``record`` under its ref; a note that consumed a number goes in the truth,
        told as the ``lying_chave`` knob says."""
        self.notes[record.ref] = record
        if record.note is None:
            return
        if self.faults.lying_chave is not None:
            record.told, record.told_xml = told_note(record.note, self.faults.lying_chave)
        status = "contingencia" if record.note.contingency else record.status.removesuffix("_autorizacao")
        self.truth.note(
            truth_note(
                self.name,
                record.note,
                status=status,
                reference=record.ref,
                foreign=record.foreign,
                told=record.told,
            )
        )

    def _issue_foreign(self, ref: str, payload: dict[str, Any]) -> FocusNote | None:
        """Another till's sale, issued under ``ref`` before this request (``duplicidade``)."""
        items = _items(payload)
        if not items or _validate(payload):
            return None
        total = sum(Decimal(str(item["valor_bruto"])) for item in foreign_items(items))
        other = {
            **payload,
            "items": foreign_items(items),
            "formas_pagamento": [{"forma_pagamento": "01", "valor_pagamento": f"{total:f}"}],
        }
        other.pop("itens", None)
        other.pop("valor_troco", None)
        record = self._decide(ref, other, "autorizado", self.clock())
        record.foreign = True
        self._keep(record)
        return record

    def _decide(self, ref: str, payload: dict[str, Any], outcome: str, now: float) -> FocusNote:
        cnpj = payload["cnpj_emitente"]
        if outcome == "erro_autorizacao":
            return FocusNote(
                ref,
                cnpj,
                "erro_autorizacao",
                status_sefaz="591",
                mensagem_sefaz="Rejeição: CSOSN informado para emissor fora do Simples Nacional [nItem:1]",
            )
        contingency = outcome == "contingencia"
        note = self._note(payload, now, contingency=contingency, denied=outcome == "denegado")
        if outcome == "denegado":
            return FocusNote(
                ref,
                cnpj,
                "denegado",
                note,
                "302",
                "Uso Denegado: Irregularidade fiscal do destinatário",
                xml=note_xml(note),
            )
        status = "processando_autorizacao" if outcome == "processando_autorizacao" else "autorizado"
        return FocusNote(
            ref,
            cnpj,
            status,
            note,
            "100",
            "Autorizado o uso da NF-e",
            xml=note_xml(note),
            queries_until_done=self.processing_queries if status != "autorizado" else 0,
        )

    def _note(self, payload: dict[str, Any], now: float, *, contingency: bool, denied: bool) -> IssuedNote:
        numero = next(self._numbers)
        emitted_at = datetime.fromisoformat(payload["data_emissao"])
        cnpj = payload["cnpj_emitente"]
        chave = make_chave(
            uf=self.uf,
            emitted_at=emitted_at,
            cnpj=cnpj,
            serie=self.serie,
            numero=numero,
            contingency=contingency,
            code=numero * 7919 + 13,
        )
        items = tuple(issued_item(item) for item in _items(payload))
        payments = tuple(
            (str(p["forma_pagamento"]), Decimal(str(p["valor_pagamento"])))
            for p in payload["formas_pagamento"]
        )
        return IssuedNote(
            chave=chave,
            serie=self.serie,
            numero=numero,
            emitted_at=emitted_at,
            authorized_at=local_time(now),
            protocolo=None if contingency else str(next(self._protocols)),
            cnpj=cnpj,
            uf=self.uf,
            items=items,
            payments=payments,
            change=Decimal(str(payload["valor_troco"])) if "valor_troco" in payload else None,
            customer=payload.get("cpf_destinatario") or payload.get("cnpj_destinatario"),
            contingency=contingency,
        )

    def _query(self, ref: str) -> SimResponse:
        record = self.notes.get(ref)
        if record is None:
            return _not_found()
        if record.status == "processando_autorizacao":
            if record.queries_until_done <= 0:
                record.status = "autorizado"
            else:
                record.queries_until_done -= 1
        return SimResponse.json(200, self._body(record))

    def _cancel(self, ref: str, request: SimRequest) -> SimResponse:
        record = self.notes.get(ref)
        try:
            justificativa = str(request.json().get("justificativa", "")) if request.body else ""
        except (ValueError, AttributeError):
            justificativa = ""
        if not 15 <= len(justificativa.strip()) <= 255:
            return SimResponse.json(
                400,
                {
                    "codigo": "requisicao_invalida",
                    "mensagem": "Parâmetro justificativa deve ter entre 15 e 255 caracteres",
                },
            )
        if record is None:
            return _not_found()
        if record.status == "cancelado":
            if self.faults.cancel_race is not None:
                code = self.faults.cancel_race
                lost = SimResponse.json(
                    200,
                    {
                        "cnpj_emitente": record.cnpj,
                        "ref": record.ref,
                        "status": "erro_cancelamento",
                        "status_sefaz": code,
                        "mensagem_sefaz": _RACE_LOSER[code],
                    },
                )
                return self._race_loser(lost, ref)
            return SimResponse.json(400, {"codigo": "nfe_cancelada", "mensagem": "Nota fiscal já cancelada"})
        if record.status != "autorizado" or record.note is None:
            return SimResponse.json(
                422, {"codigo": "nfe_nao_autorizada", "mensagem": "Nota fiscal não autorizada"}
            )
        now = self.clock()
        if now - record.note.authorized_at.timestamp() > self.cancel_window_s:
            return SimResponse.json(
                200,
                {
                    "status": "erro_cancelamento",
                    "status_sefaz": "501",
                    "mensagem_sefaz": "Rejeição: Prazo de Cancelamento Superior ao Previsto na Legislação",
                },
            )
        record.status = "cancelado"
        record.status_sefaz = "135"
        record.mensagem_sefaz = "Evento registrado e vinculado a NF-e"
        record.cancel_protocolo = str(next(self._protocols))
        shown = record.shown
        assert shown is not None
        record.cancel_xml = cancel_xml(
            documented(shown, record.note),
            protocolo=record.cancel_protocolo,
            motivo=justificativa.strip(),
            at=local_time(now),
        )
        self.truth.event(
            TruthEvent(self.name, record.note.chave, "cancelamento", record.cancel_protocolo, local_time(now))
        )
        won = SimResponse.json(200, self._body(record), accepted=True)
        return self._race_winner(won, ref)

    # -- inutilização (POST /v2/nfce/inutilizacao, GET /v2/nfce/inutilizacoes) -------------

    def _inutilizacao_route(self, request: SimRequest) -> SimResponse | None:
        if request.path == "/v2/nfce/inutilizacao" and request.method == "POST":
            return self._inutilizar(request)
        if request.path == "/v2/nfce/inutilizacoes" and request.method == "GET":
            cnpj = request.query.get("cnpj", "")
            if not re.fullmatch(r"\d{14}", cnpj):
                return SimResponse.json(
                    400, {"codigo": "requisicao_invalida", "mensagem": "cnpj obrigatório"}
                )
            serie = request.query.get("serie")
            listed = [
                self._inut_body(r)
                for r in self.inutilizacoes.find(cnpj, int(serie) if serie and serie.isdigit() else None)
            ]
            return SimResponse.json(200, listed)
        match = _INUT_FILE_PATH.match(request.path)
        if match and request.method == "GET":
            for record in self.inutilizacoes.find(match.group(1)):
                if record.inut_id == match.group(2):
                    return SimResponse(200, record.xml, content_type="application/xml")
            return _not_found()
        return None

    def _inutilizar(self, request: SimRequest) -> SimResponse:
        try:
            data = request.json()
            cnpj, justificativa = str(data["cnpj"]), str(data.get("justificativa", ""))
            serie, first, last = int(data["serie"]), int(data["numero_inicial"]), int(data["numero_final"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return SimResponse.json(
                400,
                {
                    "codigo": "requisicao_invalida",
                    "mensagem": "cnpj, serie, numero_inicial, numero_final e justificativa são obrigatórios",
                },
            )
        problems = []
        if not re.fullmatch(r"\d{14}", cnpj):
            problems.append("cnpj inválido")
        if not 15 <= len(justificativa.strip()) <= 255:
            problems.append("justificativa deve ter entre 15 e 255 caracteres")
        if not (0 <= serie <= 999 and 1 <= first <= last <= 999_999_999):
            problems.append("faixa de numeração inválida")
        if problems:
            return SimResponse.json(
                400, {"codigo": "requisicao_invalida", "mensagem": "; ".join(problems), "erros": problems}
            )
        used = [r.note.numero for r in self.notes.values() if r.note is not None and r.note.serie == serie]
        answer = self.inutilizacoes.request(
            cnpj=cnpj,
            uf=self.uf,
            serie=serie,
            first=first,
            last=last,
            justificativa=justificativa.strip(),
            used=used,
            at=local_time(self.clock()),
        )
        body: dict[str, Any] = {
            "cnpj": cnpj,
            "modelo": "65",
            "serie": str(serie),
            "numero_inicial": str(first),
            "numero_final": str(last),
            "status_sefaz": answer.c_stat,
            "mensagem_sefaz": answer.message,
        }
        if answer.c_stat != "102" or answer.record is None:
            return SimResponse.json(200, {**body, "status": "erro_autorizacao"})
        return SimResponse.json(200, self._inut_body(answer.record), accepted=True)

    def _inut_body(self, record: InutRecord) -> dict[str, Any]:
        return {
            "cnpj": record.cnpj,
            "modelo": "65",
            "serie": str(record.serie),
            "numero_inicial": str(record.first),
            "numero_final": str(record.last),
            "status": "autorizado",
            "status_sefaz": "102",
            "mensagem_sefaz": "Inutilização de número homologado",
            "protocolo_sefaz": record.protocolo,
            "data_recebimento": record.at.isoformat(timespec="seconds"),
            "caminho_xml": f"/arquivos/{record.cnpj}/{record.at:%Y%m}/XMLs/{record.inut_id}-inu.xml",
        }

    def _file(self, chave: str, kind: str) -> SimResponse:
        if self.faults.missing_files:
            return _not_found()
        for record in self.notes.values():
            if record.shown is not None and record.shown.chave == chave:
                data = (record.told_xml or record.xml) if kind == "nfe" else record.cancel_xml
                if data is None:
                    break
                return SimResponse(200, data, content_type="application/xml")
        return _not_found()

    # -- answers -----------------------------------------------------------------------

    def _body(self, record: FocusNote) -> dict[str, Any]:
        body: dict[str, Any] = {
            "cnpj_emitente": record.cnpj,
            "ref": record.ref,
            "status": record.status,
            "status_sefaz": record.status_sefaz,
            "mensagem_sefaz": record.mensagem_sefaz,
        }
        note = record.shown
        if note is None or record.status == "processando_autorizacao":
            return body
        folder = f"/arquivos/{note.cnpj}/{note.emitted_at:%Y%m}/XMLs"
        body.update(
            {
                "cnpj_emitente": note.cnpj,
                "chave_nfe": f"NFe{note.chave}",
                "numero": str(note.numero),
                "serie": str(note.serie),
                "caminho_xml_nota_fiscal": f"{folder}/{note.chave}-nfe.xml",
                "caminho_danfe": f"/notas_fiscais_consumidor/NFe{note.chave}.html",
                "qrcode_url": f"https://www.fazenda.df.gov.br/nfce/qrcode?p={note.chave}|2|2|1|SIMULADO",
                "url_consulta_nf": "https://www.fazenda.df.gov.br/nfce/consulta",
            }
        )
        if note.contingency:
            body["contingencia_offline"] = True
            body["contingencia_offline_efetivada"] = False
        if record.status == "cancelado":
            body["caminho_xml_cancelamento"] = f"{folder}/{note.chave}-can.xml"
            body["numero_protocolo"] = record.cancel_protocolo
        return body

    def _count_call(self) -> int:
        """Count this call in the per-minute window; the calls left (negative: over)."""
        now = self.clock()
        while self._calls and self._calls[0] <= now - 60:
            self._calls.popleft()
        self._calls.append(now)
        return self.rate_limit_per_minute - len(self._calls)


_RACE_LOSER = {
    "573": "Rejeição: Duplicidade de evento",
    "218": "Rejeição: NF-e já está cancelada na base de dados da SEFAZ",
}


def _already_authorized() -> SimResponse:
    return SimResponse.json(422, {"codigo": "nfe_autorizada", "mensagem": "Nota fiscal já autorizada"})


def _not_found() -> SimResponse:
    return SimResponse.json(404, {"codigo": "nao_encontrado", "mensagem": "Nota fiscal não encontrada"})


def _items(payload: dict[str, Any]) -> list[dict[str, Any]]:
    items = payload.get("items", payload.get("itens"))
    return items if isinstance(items, list) else []


def _taxed(payload: dict[str, Any]) -> list[TaxedItem]:
    """The items' tax fields in Focus's flat names."""
    return [
        TaxedItem(
            icms_code=text_of(item.get("icms_situacao_tributaria")),
            cest=text_of(item.get("cest")),
            vbc=text_of(item.get("icms_base_calculo")),
            picms=text_of(item.get("icms_aliquota")),
            vicms=text_of(item.get("icms_valor")),
            vbcstret=text_of(item.get("icms_base_calculo_retido_st")),
            pst=text_of(item.get("icms_aliquota_final")),
            vicmsstret=text_of(item.get("icms_valor_retido_st")),
            pis_cst=text_of(item.get("pis_situacao_tributaria")),
            ppis=text_of(item.get("pis_aliquota_porcentual")),
            cofins_cst=text_of(item.get("cofins_situacao_tributaria")),
            pcofins=text_of(item.get("cofins_aliquota_porcentual")),
            ibs_cbs_cst=text_of(item.get("ibs_cbs_situacao_tributaria")),
            cclass_trib=text_of(item.get("ibs_cbs_classificacao_tributaria")),
        )
        for item in _items(payload)
        if isinstance(item, dict)
    ]


def _payment_or_consumer_rejection(payload: Mapping[str, Any]) -> tuple[str, str] | None:
    """SEFAZ on Focus's flat fields: xPag for 99, a zero 90, the consumer's check digits."""
    payments = [
        (p.get("forma_pagamento"), p.get("valor_pagamento"), p.get("descricao_pagamento"))
        for p in payload.get("formas_pagamento") or []
        if isinstance(p, Mapping)
    ]
    document = payload.get("cpf_destinatario") or payload.get("cnpj_destinatario")
    return provider_rejection(payments, str(document) if document else None)


def _validate(payload: object) -> list[str]:
    """The checks a real Focus does before SEFAZ sees the note (enough to catch our bugs)."""
    if not isinstance(payload, dict):
        return ["corpo deve ser um objeto JSON"]
    problems = []
    for key in ("cnpj_emitente", "data_emissao", "formas_pagamento"):
        if not payload.get(key):
            problems.append(f"{key}: não informado")
    try:
        datetime.fromisoformat(str(payload.get("data_emissao")))
    except ValueError:
        problems.append("data_emissao: formato inválido")
    items = _items(payload)
    if not items:
        problems.append("items: ao menos um item")
    for number, item in enumerate(items, start=1):
        for key in ITEM_REQUIRED_FIELDS:
            if key not in item:
                problems.append(f"item {number}: {key} não informado")
        for key in ITEM_DECIMAL_FIELDS:
            if isinstance(item.get(key), float):
                problems.append(f"item {number}: {key} com ponto flutuante")
            try:
                Decimal(str(item.get(key)))
            except InvalidOperation:
                problems.append(f"item {number}: {key} inválido")
    return problems


def main_sim_focusnfe(args: argparse.Namespace | Sequence[str] | None = None) -> int:
    """``posapp sim focusnfe [--host H] [--port N] [--port-file F] [--token T]``."""
    options = sim_arguments(args, "posapp sim focusnfe")
    return run_until_signal(FocusNfeSimulator(token=options.token, crt=options.crt), options)
