"""A loopback Integra Notas (Cloud-DFe API v1, NFC-e routes), following the documented contract.

Routes under ``/v1``: ``POST /nfce``, ``GET /nfce/{chave}``, ``POST /nfce/busca``,
``POST /nfce/cancela``, ``GET /nfce/pdf/{chave}``, ``GET /nfce/status``, ``GET /nfce/offline``.
``Authorization: <token>`` (no "Bearer"). Documented behaviour reproduced: ``sucesso`` /
``codigo`` answers (2 offline, 5001/5002 validation, 5008 and >= 7000 SEFAZ trouble with the
chave, 5023 processing); a document answered ``sucesso=false`` is deleted and may be resent
with the same number; bodies over 2 MB get 413 unprocessed; 60 calls a minute per token,
2 a minute per token+chave on ``/{chave}`` routes, and a 5-minute block when exceeded.

The emitter (CNPJ, UF) is implied by the token, as on the real service. What the next issue
answers is scripted with :meth:`IntegraNotasSimulator.queue_outcome`.

A série/número that already holds a document is refused as SEFAZ refuses it: 204
"Duplicidade de NF-e" when the request would make the very same chave (the same sale sent
again: the random code of the chave is derived from the request's content), 539
"Duplicidade de NF-e, com diferença na Chave de Acesso [chNFe:...]" when it is another sale
(another till took the number). The answer names the existing note as the
``duplicate_detail`` knob says. The fault knobs of :mod:`posapp.sim.http_sim` mean here:

* ``refuse_query``: ``GET /nfce/{chave}``, ``POST /nfce/busca`` and ``GET /nfce/offline``
  answer 401/403 (Integra's JSON) while ``POST /nfce`` and the cancel work.
* ``error_after_accept`` / ``status_5xx``: Integra's own JSON error body,
  ``{"sucesso": false, "codigo": 500, ...}`` (errors are JSON even on 5xx).
* ``lying_chave``: issue, query and search answers (and the cancel) tell the lie; a query by
  the lying chave finds the note.
* ``duplicidade="foreign"``: another till's sale takes the série/número just before the
  request (539); ``"own"``: this request's note is issued and the answer is 204.
* ``cancel_race``: the losing cancel gets ``{"sucesso": false, "codigo": 573 | 218}`` before
  the winner's 135 goes out. Without it, a cancel of a cancelled note gets 218.

:attr:`HttpSimulator.truth` records every document issued (rejected ones are deleted and are
not notes) and every cancel registered.
"""

from __future__ import annotations

import argparse
import base64
import io
import itertools
import re
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from posapp.domain.documents import UF_CODES
from posapp.sim.emites_validation import provider_rejection
from posapp.sim.http_sim import (
    ITEM_DECIMAL_FIELDS,
    ITEM_REQUIRED_FIELDS,
    HttpSimulator,
    IssuedNote,
    SimRequest,
    SimResponse,
    cancel_xml,
    content_code,
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
from posapp.sim.inutilizacao import InutRegistry
from posapp.sim.optional import missing_package, report_missing
from posapp.sim.sefaz_taxes import TaxedItem, provider_problems, sefaz_rejection, text_of
from posapp.sim.truth import TruthEvent, pdv_reference

OUTCOMES = (
    "autorizado",
    "offline",
    "rejeitado",
    "validacao",
    "sefaz_erro",
    "erro_comunicacao",
    "processando",
)
GENERAL_PER_MINUTE = 60
PER_CHAVE_PER_MINUTE = 2
BLOCK_S = 300.0
_CHAVE = r"[0-9]{6}[0-9A-Z]{12}[0-9]{26}"  # 44 characters; the CNPJ part may be alphanumeric
_CHAVE_PATH = re.compile(rf"^/nfce/({_CHAVE})$")
_PDF_PATH = re.compile(rf"^/nfce/pdf/({_CHAVE})$")


@dataclass
class IntegraDocument:
    """A document the simulated Integra keeps (rejected ones are deleted, as documented)."""

    note: IssuedNote
    status: str  # autorizado | offline | processando | cancelado
    xml: bytes | None
    queries_until_done: int = 0
    cancel_protocolo: str | None = None
    cancel_xml: bytes | None = None
    told: IssuedNote | None = None  # what the answers say instead (lying_chave)
    told_xml: bytes | None = None
    foreign: bool = False  # issued for another till's sale (duplicidade="foreign")

    @property
    def shown(self) -> IssuedNote:
        """The note as the answers tell it."""
        return self.told or self.note

    @property
    def shown_xml(self) -> bytes | None:
        return self.told_xml or self.xml


class IntegraNotasSimulator(HttpSimulator):
    """Integra Notas over loopback. ``documents`` maps ``(serie, numero)`` to the note."""

    name = "integranotas"
    path_prefix = "/v1"
    max_body_bytes = 2 * 1024 * 1024
    outcomes = OUTCOMES

    def __init__(
        self,
        *,
        token: str | None = None,
        clock: Callable[[], float] = time.time,
        uf: str = "DF",
        cnpj: str = "22769530000131",
        cancel_window_s: float = 30 * 60,
        processing_queries: int = 1,
        enforce_rate_limits: bool = True,
        xml_in_issue_answer: bool = True,
        pdf_mode: str = "pdf",
        sefaz_online: bool = True,
        crt: int = 1,
    ) -> None:
        super().__init__(token=token, clock=clock)
        self.crt = crt  # the emitter's regime as registered (``/soft/emitente`` ``crt``)
        self.uf = uf
        self.cnpj = cnpj
        self.cancel_window_s = cancel_window_s
        self.processing_queries = processing_queries
        self.enforce_rate_limits = enforce_rate_limits
        self.xml_in_issue_answer = xml_in_issue_answer
        self.pdf_mode = pdf_mode  # "pdf", "html" (not a PDF) or "none"
        self.sefaz_online = sefaz_online
        self.documents: dict[tuple[int, int], IntegraDocument] = {}
        self._protocols = itertools.count(353_260_000_100_001)
        self.inutilizacoes = InutRegistry(first_protocol=353_260_000_600_001)
        self._general: dict[str, deque[float]] = {}
        self._per_chave: dict[tuple[str, str], deque[float]] = {}
        self._blocked_until: dict[str, float] = {}

    # -- HttpSimulator -----------------------------------------------------------------

    def authorized(self, request: SimRequest) -> bool:
        return self.matches_token(request.headers.get("authorization", "").strip())

    def unauthorized(self, status: int = 401) -> SimResponse:
        return SimResponse.json(
            status, {"sucesso": False, "codigo": status, "mensagem": "Token inválido ou expirado"}
        )

    def server_error(self, status: int) -> SimResponse:
        return SimResponse.json(
            status, {"sucesso": False, "codigo": status, "mensagem": "Erro interno do servidor"}
        )

    def is_query(self, request: SimRequest) -> bool:
        path = request.path.removeprefix(self.path_prefix)
        if request.method == "POST":
            return path == "/nfce/busca"
        return request.method == "GET" and (_CHAVE_PATH.match(path) is not None or path == "/nfce/offline")

    def rate_limited(self) -> SimResponse:
        return SimResponse.json(
            429,
            {
                "sucesso": False,
                "codigo": 429,
                "mensagem": "Limite de requisições excedido; aguarde 5 minutos",
            },
            headers={"Retry-After": str(self.faults.retry_after_s)},
        )

    def handle(self, request: SimRequest) -> SimResponse:
        path = request.path.removeprefix(self.path_prefix)
        with self.lock:
            blocked = self._over_limit(request, path)
            if blocked is not None:
                return blocked
            return self._route(request, path)

    # -- routes ------------------------------------------------------------------------

    def _route(self, request: SimRequest, path: str) -> SimResponse:
        method = request.method
        if method == "POST" and path == "/nfce":
            return self._issue(request)
        if method == "GET" and path == "/nfce/status":
            if self.sefaz_online:
                return _ok({"codigo": 107, "mensagem": "Serviço em Operação"})
            return SimResponse.json(200, {"sucesso": False, "codigo": 108, "mensagem": "Serviço Paralisado"})
        if method == "POST" and path == "/nfce/busca":
            return self._search(request)
        if method == "POST" and path == "/nfce/cancela":
            return self._cancel(request)
        if method == "POST" and path == "/nfce/inutiliza":
            return self._inutilizar(request)
        if method == "GET" and path == "/nfce/offline":
            offline = [self._summary(d) for d in self.documents.values() if d.status == "offline"]
            return _ok({"codigo": 100, "data": offline})
        match = _PDF_PATH.match(path)
        if method == "GET" and match:
            return self._pdf(match.group(1))
        match = _CHAVE_PATH.match(path)
        if method == "GET" and match:
            return self._query(match.group(1))
        return SimResponse.json(404, {"sucesso": False, "codigo": 404, "mensagem": "Rota não encontrada"})

    def _issue(self, request: SimRequest) -> SimResponse:
        try:
            payload = request.json()
        except ValueError:
            return _fail(400, 5002, "JSON inválido")
        if not isinstance(payload, dict):
            return _fail(400, 5002, "corpo deve ser um objeto JSON")
        missing = [k for k in ("serie", "numero", "data_emissao", "itens", "pagamento") if not payload.get(k)]
        if missing:
            return _fail(
                400, 5001, "Campos obrigatórios não informados", [f"{k}: obrigatório" for k in missing]
            )
        errors = _validate(payload) or provider_problems(_taxed(payload))
        if errors:
            return _fail(400, 5002, "Erro de validação", errors)
        serie, numero = int(payload["serie"]), int(payload["numero"])
        if (serie, numero) not in self.documents and self.faults.duplicidade == "foreign":
            self._issue_foreign(payload, serie, numero)
        existing = self.documents.get((serie, numero))
        if existing is not None:
            return self._duplicidade(existing, payload, serie, numero)
        if self.inutilizacoes.covered(serie, numero):  # SEFAZ: the número was inutilizado
            return _fail(
                200, 206, "Rejeição: NF-e já está inutilizada na Base de dados da SEFAZ", accepted=True
            )
        rejection = sefaz_rejection(self.crt, _taxed(payload)) or _payment_or_consumer_rejection(payload)
        if rejection is not None:  # deleted on their side, like any rejection: fix and resend
            return _fail(200, int(rejection[0]), rejection[1], accepted=True)
        outcome = self.next_outcome()
        if outcome == "validacao":
            return _fail(400, 5002, "Erro de validação", ["destinatario.cpf: CPF inválido"])
        if outcome == "rejeitado":
            # Deleted on their side; the same number may be sent again once fixed.
            return _fail(200, 778, "Rejeição: Informado NCM inexistente [nItem:1]", accepted=True)
        status = {"offline": "offline", "autorizado": "autorizado"}.get(outcome, "processando")
        document = self._keep(payload, serie, numero, status)
        chave = document.shown.chave
        if outcome == "sefaz_erro":
            return _fail(200, 5008, "Erro de comunicação com a SEFAZ", chave=chave, accepted=True)
        if outcome == "erro_comunicacao":
            return _fail(200, 7001, "Timeout na comunicação com a SEFAZ", chave=chave, accepted=True)
        if outcome == "processando":
            return _fail(200, 5023, "Lote em processamento", chave=chave, accepted=True)
        if self.faults.duplicidade == "own":  # issued, and said to exist already
            return replace(self._duplicidade(document, payload, serie, numero), accepted=True)
        return SimResponse.json(200, self._answer(document, with_xml=self.xml_in_issue_answer), accepted=True)

    def _keep(
        self, payload: dict[str, Any], serie: int, numero: int, status: str, *, foreign: bool = False
    ) -> IntegraDocument:
        """Issue the document (a number consumed at SEFAZ): stored, told as the
        ``lying_chave`` knob says, and recorded in the ground truth."""
        note = self._note(payload, serie, numero, self.clock(), contingency=status == "offline")
        document = IntegraDocument(
            note,
            status,
            note_xml(note),
            queries_until_done=self.processing_queries if status == "processando" else 0,
            foreign=foreign,
        )
        if self.faults.lying_chave is not None:
            document.told, document.told_xml = told_note(note, self.faults.lying_chave)
        self.documents[(serie, numero)] = document
        truth_status = {"offline": "contingencia"}.get(status, status)
        reference = pdv_reference(payload.get("informacoes_adicionais_contribuinte"))
        self.truth.note(
            truth_note(
                self.name, note, status=truth_status, reference=reference, foreign=foreign, told=document.told
            )
        )
        return document

    def _issue_foreign(self, payload: dict[str, Any], serie: int, numero: int) -> None:
        """Another till's sale, issued with this série/número just before the request."""
        items = foreign_items(payload["itens"])
        total = sum(Decimal(str(item["valor_bruto"])) for item in items)
        other = {
            **payload,
            "itens": items,
            "pagamento": {"formas_pagamento": [{"meio_pagamento": "01", "valor": f"{total:f}"}]},
            "informacoes_adicionais_contribuinte": "PDV-REF:outro-caixa",
        }
        other.pop("destinatario", None)
        self._keep(other, serie, numero, "autorizado", foreign=True)

    def _duplicidade(
        self, existing: IntegraDocument, payload: dict[str, Any], serie: int, numero: int
    ) -> SimResponse:
        """SEFAZ's answer to a série/número already used: 204 for the very same chave (this
        sale again), 539 with the existing chave for another one."""
        emitted_at = datetime.fromisoformat(payload["data_emissao"])
        would_be = make_chave(
            uf=self.uf,
            emitted_at=emitted_at,
            cnpj=self.cnpj,
            serie=serie,
            numero=numero,
            contingency=False,
            code=_content_code(payload),
        )
        shown = existing.shown
        receipt = f"[nRec:{self.uf_code}{numero:013d}]"
        detail = self.faults.duplicate_detail
        if would_be == existing.note.chave:
            codigo, mensagem = 204, f"Rejeição: Duplicidade de NF-e {receipt}"
        else:
            codigo = 539
            named = f"[chNFe:{shown.chave}]" if detail != "none" else ""
            mensagem = f"Rejeição: Duplicidade de NF-e, com diferença na Chave de Acesso {named}{receipt}"
        body: dict[str, Any] = {"sucesso": False, "codigo": codigo, "mensagem": mensagem}
        if detail in ("chave", "full"):
            body["chave"] = shown.chave
        if detail == "full":
            body.update(
                {
                    "numero": str(shown.numero),
                    "serie": str(shown.serie),
                    "protocolo": shown.protocolo,
                    "data_emissao": shown.emitted_at.isoformat(timespec="seconds"),
                }
            )
            if existing.shown_xml is not None:
                body["xml"] = base64.b64encode(existing.shown_xml).decode("ascii")
        return SimResponse.json(200, body)

    @property
    def uf_code(self) -> str:
        return UF_CODES[self.uf]

    def _note(
        self, payload: dict[str, Any], serie: int, numero: int, now: float, *, contingency: bool
    ) -> IssuedNote:
        emitted_at = datetime.fromisoformat(payload["data_emissao"])
        items = tuple(issued_item(item) for item in payload["itens"])
        pagamento = payload["pagamento"]
        payments = tuple(
            (str(p["meio_pagamento"]), Decimal(str(p["valor"]))) for p in pagamento["formas_pagamento"]
        )
        destinatario = payload.get("destinatario") or {}
        return IssuedNote(
            chave=make_chave(
                uf=self.uf,
                emitted_at=emitted_at,
                cnpj=self.cnpj,
                serie=serie,
                numero=numero,
                contingency=contingency,
                code=_content_code(payload),
            ),
            serie=serie,
            numero=numero,
            emitted_at=emitted_at,
            authorized_at=local_time(now),
            protocolo=None if contingency else str(next(self._protocols)),
            cnpj=self.cnpj,
            uf=self.uf,
            items=items,
            payments=payments,
            change=Decimal(str(pagamento["troco"])) if "troco" in pagamento else None,
            customer=destinatario.get("cpf") or destinatario.get("cnpj"),
            contingency=contingency,
        )

    def _find(self, chave: str) -> IntegraDocument | None:
        """The document with this chave, real or told (a liar finds its own lies)."""
        for document in self.documents.values():
            if chave in (document.note.chave, document.shown.chave):
                return document
        return None

    def _query(self, chave: str) -> SimResponse:
        document = self._find(chave)
        if document is None:
            return _fail(404, 5013, "Documento não encontrado")
        if document.status == "processando":
            if document.queries_until_done > 0:
                document.queries_until_done -= 1
                return _fail(200, 5023, "Lote em processamento", chave=chave)
            document.status = "autorizado"
        return SimResponse.json(200, self._answer(document, with_xml=True))

    def _search(self, request: SimRequest) -> SimResponse:
        try:
            criteria = request.json()
            first, last = int(criteria["numero_inicial"]), int(criteria["numero_final"])
            serie = int(criteria["serie"])
        except (ValueError, KeyError, TypeError):
            return _fail(400, 5002, "numero_inicial, numero_final e serie são obrigatórios")
        found = [
            self._summary(d)
            for (s, n), d in sorted(self.documents.items())
            if s == serie and first <= n <= last
        ]
        return _ok({"codigo": 100, "mensagem": f"{len(found)} documento(s)", "data": found})

    def _cancel(self, request: SimRequest) -> SimResponse:
        try:
            data = request.json()
            chave, justificativa = str(data["chave"]), str(data.get("justificativa", ""))
        except (ValueError, KeyError, TypeError):
            return _fail(400, 5002, "chave e justificativa são obrigatórias")
        if not 15 <= len(justificativa.strip()) <= 255:
            return _fail(400, 5002, "justificativa deve ter entre 15 e 255 caracteres")
        document = self._find(chave)
        if document is None:
            return _fail(404, 5013, "Documento não encontrado")
        key = document.note.chave
        if document.status == "cancelado":
            race = self.faults.cancel_race
            if race is not None:
                return self._race_loser(_fail(200, int(race), _RACE_LOSER[race]), key)
            return _fail(200, 218, _RACE_LOSER["218"])
        if document.status != "autorizado":
            return _fail(200, 5019, "Documento não autorizado não pode ser cancelado")
        now = self.clock()
        if now - document.note.authorized_at.timestamp() > self.cancel_window_s:
            return _fail(200, 501, "Rejeição: Prazo de Cancelamento Superior ao Previsto na Legislação")
        document.status = "cancelado"
        document.cancel_protocolo = str(next(self._protocols))
        document.cancel_xml = cancel_xml(
            documented(document.shown, document.note),
            protocolo=document.cancel_protocolo,
            motivo=justificativa.strip(),
            at=local_time(now),
        )
        self.truth.event(
            TruthEvent(self.name, key, "cancelamento", document.cancel_protocolo, local_time(now))
        )
        won = SimResponse.json(
            200,
            {
                "sucesso": True,
                "codigo": 135,
                "mensagem": "Evento registrado e vinculado a NF-e",
                "chave": document.shown.chave,
                "protocolo": document.cancel_protocolo,
                "data_evento": local_time(now).isoformat(timespec="seconds"),
                "xml": base64.b64encode(document.cancel_xml).decode("ascii"),
            },
            accepted=True,
        )
        return self._race_winner(won, key)

    def _inutilizar(self, request: SimRequest) -> SimResponse:
        """``POST /nfce/inutiliza`` {numero_inicial, numero_final, serie, justificativa}: the
        emitter is the token's; SEFAZ's verdict (:mod:`posapp.sim.inutilizacao`) as
        ``sucesso``/``codigo``, the protocol and the ``procInutNFe`` XML in base64."""
        try:
            data = request.json()
            justificativa = str(data.get("justificativa", ""))
            serie, first, last = int(data["serie"]), int(data["numero_inicial"]), int(data["numero_final"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return _fail(400, 5002, "numero_inicial, numero_final, serie e justificativa são obrigatórios")
        if not 15 <= len(justificativa.strip()) <= 255:
            return _fail(400, 5002, "justificativa deve ter entre 15 e 255 caracteres")
        if not (0 <= serie <= 999 and 1 <= first <= last <= 999_999_999):
            return _fail(400, 5002, "faixa de numeração inválida")
        answer = self.inutilizacoes.request(
            cnpj=self.cnpj,
            uf=self.uf,
            serie=serie,
            first=first,
            last=last,
            justificativa=justificativa.strip(),
            used=[n for (s, n) in self.documents if s == serie],
            at=local_time(self.clock()),
        )
        if answer.record is None or answer.c_stat != "102":
            return _fail(200, int(answer.c_stat), answer.message)
        record = answer.record
        return SimResponse.json(
            200,
            {
                "sucesso": True,
                "codigo": 102,
                "mensagem": answer.message,
                "protocolo": record.protocolo,
                "data_recebimento": record.at.isoformat(timespec="seconds"),
                "serie": str(serie),
                "numero_inicial": str(first),
                "numero_final": str(last),
                "xml": base64.b64encode(record.xml).decode("ascii"),
            },
            accepted=True,
        )

    def _pdf(self, chave: str) -> SimResponse:
        document = self._find(chave)
        if document is None or self.pdf_mode == "none":
            return _fail(404, 5013, "Documento não encontrado")
        if self.pdf_mode == "pdf":
            try:
                content = _danfe_pdf(chave)
            except ImportError as exc:  # reportlab is optional: answer as pdf_mode="none" does
                if not missing_package(exc, "reportlab"):
                    raise
                report_missing("reportlab", "the Integra Notas simulator answers 404 to PDF requests")
                return _fail(404, 5013, "Documento não encontrado")
        else:
            content = b"<html><body>DANFCe</body></html>"
        return _ok({"codigo": 100, "pdf": base64.b64encode(content).decode("ascii")})

    # -- answers and limits ------------------------------------------------------------

    def _answer(self, document: IntegraDocument, *, with_xml: bool) -> dict[str, Any]:
        note = document.shown
        answer: dict[str, Any] = {
            "sucesso": True,
            "codigo": 2 if document.status == "offline" else 100,
            "mensagem": "Documento offline. Aguarde a notificação."
            if document.status == "offline"
            else "Autorizado o uso da NF-e",
            "chave": note.chave,
            "numero": str(note.numero),
            "serie": str(note.serie),
            "protocolo": note.protocolo,
            "data_emissao": note.emitted_at.isoformat(timespec="seconds"),
            "status": "cancelado" if document.status == "cancelado" else "autorizado",
        }
        if with_xml and document.shown_xml is not None:
            answer["xml"] = base64.b64encode(document.shown_xml).decode("ascii")
        return answer

    def _summary(self, document: IntegraDocument) -> dict[str, Any]:
        note = document.shown
        return {
            "chave": note.chave,
            "numero": str(note.numero),
            "serie": str(note.serie),
            "status": document.status,
            "data_emissao": note.emitted_at.isoformat(timespec="seconds"),
        }

    def _over_limit(self, request: SimRequest, path: str) -> SimResponse | None:
        """The documented per-token limits; exceeding one blocks the token for 5 minutes."""
        if not self.enforce_rate_limits:
            return None
        token = request.headers.get("authorization", "")
        now = self.clock()
        if self._blocked_until.get(token, 0.0) > now:
            return self._blocked(token, now)
        match = _CHAVE_PATH.match(path) or _PDF_PATH.match(path)
        window = (
            self._per_chave.setdefault((token, match.group(1)), deque())
            if match
            else self._general.setdefault(token, deque())
        )
        limit = PER_CHAVE_PER_MINUTE if match else GENERAL_PER_MINUTE
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= limit:
            self._blocked_until[token] = now + BLOCK_S
            return self._blocked(token, now)
        window.append(now)
        return None

    def _blocked(self, token: str, now: float) -> SimResponse:
        seconds = max(int(self._blocked_until[token] - now), 1)
        return SimResponse.json(
            429,
            {
                "sucesso": False,
                "codigo": 429,
                "mensagem": "Limite de requisições excedido; bloqueado por 5 minutos",
            },
            headers={"Retry-After": str(seconds)},
        )


_RACE_LOSER = {
    "573": "Rejeição: Duplicidade de evento",
    "218": "Rejeição: NF-e já está cancelada na base de dados da SEFAZ",
}


def _content_code(payload: dict[str, Any]) -> int:
    """The chave's random code, from what the sale is (not when it was sent): its items,
    payments, consumer and free text (which carries the sale's PDV-REF)."""
    return content_code(
        payload.get("itens"),
        payload.get("pagamento"),
        payload.get("destinatario"),
        payload.get("informacoes_adicionais_contribuinte"),
    )


def _ok(document: dict[str, Any]) -> SimResponse:
    return SimResponse.json(200, {"sucesso": True, **document})


def _fail(
    status: int,
    codigo: int,
    mensagem: str,
    erros: list[str] | None = None,
    *,
    chave: str | None = None,
    accepted: bool = False,
) -> SimResponse:
    body: dict[str, Any] = {"sucesso": False, "codigo": codigo, "mensagem": mensagem}
    if erros:
        body["erros"] = erros
    if chave:
        body["chave"] = chave
    return SimResponse.json(status, body, accepted=accepted)


def _taxed(payload: dict[str, Any]) -> list[TaxedItem]:
    """The items' tax fields in Integra's nested ``imposto``."""
    taxed = []
    for item in payload.get("itens") or ():
        imposto = item.get("imposto") if isinstance(item, dict) else None
        imposto = imposto if isinstance(imposto, dict) else {}

        def group(name: str, imposto: dict[str, Any] = imposto) -> dict[str, Any]:
            found = imposto.get(name)
            return found if isinstance(found, dict) else {}

        icms, pis, cofins, ibs_cbs = group("icms"), group("pis"), group("cofins"), group("ibs_cbs")
        taxed.append(
            TaxedItem(
                icms_code=text_of(icms.get("situacao_tributaria")),
                cest=text_of(item.get("cest")) if isinstance(item, dict) else None,
                vbc=text_of(icms.get("base_calculo")),
                picms=text_of(icms.get("aliquota")),
                vicms=text_of(icms.get("valor")),
                vbcstret=text_of(icms.get("base_calculo_retido_st")),
                pst=text_of(icms.get("aliquota_suportada_consumidor")),
                vicmsstret=text_of(icms.get("valor_retido_st")),
                pis_cst=text_of(pis.get("situacao_tributaria")),
                ppis=text_of(pis.get("aliquota")),
                cofins_cst=text_of(cofins.get("situacao_tributaria")),
                pcofins=text_of(cofins.get("aliquota")),
                ibs_cbs_cst=text_of(ibs_cbs.get("situacao_tributaria")),
                cclass_trib=text_of(ibs_cbs.get("classificacao_tributaria")),
            )
        )
    return taxed


def _payment_or_consumer_rejection(payload: Mapping[str, Any]) -> tuple[str, str] | None:
    """SEFAZ on Integra's nested fields: xPag for 99, a zero 90, the consumer's check digits."""
    pagamento = payload.get("pagamento")
    formas = pagamento.get("formas_pagamento") if isinstance(pagamento, Mapping) else None
    payments = [
        (p.get("meio_pagamento"), p.get("valor"), p.get("descricao"))
        for p in formas or []
        if isinstance(p, Mapping)
    ]
    destinatario = payload.get("destinatario")
    document = None
    if isinstance(destinatario, Mapping):
        document = destinatario.get("cpf") or destinatario.get("cnpj")
    return provider_rejection(payments, str(document) if document else None)


def _validate(payload: dict[str, Any]) -> list[str]:
    problems = []
    itens = payload.get("itens")
    if not isinstance(itens, list) or not itens:
        return ["itens: ao menos um item"]
    for number, item in enumerate(itens, start=1):
        if not isinstance(item, dict):
            problems.append(f"itens[{number}]: objeto esperado")
            continue
        for key in ITEM_REQUIRED_FIELDS:
            if key not in item:
                problems.append(f"itens[{number}].{key}: obrigatório")
        for key in ITEM_DECIMAL_FIELDS:
            if isinstance(item.get(key), float):
                problems.append(f"itens[{number}].{key}: ponto flutuante")
    formas = (payload.get("pagamento") or {}).get("formas_pagamento")
    if not isinstance(formas, list) or not formas:
        problems.append("pagamento.formas_pagamento: obrigatório")
    return problems


def _danfe_pdf(chave: str) -> bytes:
    """A small real PDF standing in for the DANFCe."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(80 * mm, 60 * mm), invariant=True)
    pdf.setFont("Helvetica", 7)
    pdf.drawString(4 * mm, 50 * mm, "DANFE NFC-e (simulador Integra Notas)")
    pdf.drawString(4 * mm, 44 * mm, " ".join(chave[i : i + 4] for i in range(0, 44, 4))[:60])
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def main_sim_integranotas(args: argparse.Namespace | Sequence[str] | None = None) -> int:
    """``posapp sim integranotas [--host H] [--port N] [--port-file F] [--token T]``."""
    options = sim_arguments(args, "posapp sim integranotas")
    return run_until_signal(IntegraNotasSimulator(token=options.token, crt=options.crt), options)
