"""The Emites-Client adapter: the :class:`~posapp.fiscal.port.FiscalBackend` over its TCP socket.

An asyncio shell around the sans-IO codec in :mod:`posapp.protocol`: it connects, writes
one frame, reads one frame back, and turns what happened into an
:class:`~posapp.domain.issuance.Outcome`. The hard part is telling *not sent* from *in doubt*,
because only the first may be sent again or elsewhere (docs/architecture.md §4):

``NOT_SENT``
    The connection could not be opened (refused, connect timeout, bad address), or it
    failed while we were still writing the frame *before its last byte*. A frame
    without its last byte is incomplete twice over: the size header promises a byte
    that never comes, and the JSON lacks its closing ``}``, so Emites-Client cannot act
    on it. We therefore write a request in two steps,
    everything but the last byte, then the last byte alone, and only a failure in the
    first step is ``NOT_SENT``.
``IN_DOUBT``
    Anything after the last byte was handed to the operating system: a failure while
    draining it (``drain()`` returning, or failing, says nothing about what the peer
    received), a response timeout, a disconnect, a truncated or garbled frame, JSON we
    cannot read, an answer for another sale. Also the statuses ``processando`` and
    ``erro``: the daemon *has* the request; it may still authorize it (``processando``),
    or its ``erro`` may have come after SEFAZ (or its own offline contingency) took the
    note. Sending the sale to another issuer then could issue it twice, and the
    Emites-Client protocol has no query command to ask, so a person decides (see
    :meth:`EmitesBackend.query_issue`).
``REJECTED`` / ``AUTHORIZED``
    ``rejeitada`` / ``sucesso``.

One request at a time per connection (the protocol requires it): an :class:`asyncio.Lock`
serializes callers. A connection that failed in any way, or whose request was
interrupted, is closed at once, so a late answer can never be read as the answer to the
next request; the next call reconnects. A kept connection that the daemon closed while
idle (a restart between two sales) is noticed before writing and replaced, so it costs
a reconnect, not an in-doubt sale. A connection idle for longer than ``MAX_IDLE_S`` is
replaced too, without asking: a half-open one (the daemon's host rebooted, a NAT entry
expired) cannot be detected without writing, and writing into it would turn a
certainly-unsent sale into an in-doubt one that a manager must resolve.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Set
from contextlib import suppress
from datetime import UTC, datetime

from posapp.config import Config, emitter_profile
from posapp.domain.documents import mask_cpf_cnpj, parse_chave
from posapp.domain.errors import InvalidDocument
from posapp.domain.issuance import (
    AuthorizedNote,
    CancelOutcome,
    CancelResult,
    CancelTarget,
    Capabilities,
    Health,
    IssueContext,
    IssueResult,
    Outcome,
    PreparedIssue,
)
from posapp.domain.sale_rules import check_sale_for_store
from posapp.fiscal.errors import FiscalError
from posapp.protocol.errors import RemoteProtocolError
from posapp.protocol.framing import DEFAULT_MAX_FRAME_SIZE, Frame, FrameDecoder
from posapp.protocol.messages import (
    CANCEL_ANSWER_IDENTIFIERS,
    CANCEL_NFCE,
    CREATE_NFCE,
    ISSUE_ANSWER_IDENTIFIERS,
    EmitesResponse,
    ResponseStatus,
    XmlFacts,
    build_cancel,
    build_create_nfce,
    decode_payload,
    encode_request,
    parse_response,
)

log = logging.getLogger("posapp.fiscal.emites")
MAX_IDLE_S = 10.0  # a kept connection idle longer than this is replaced before use

READ_CHUNK = 64 * 1024
_CLOSE_WAIT_S = 1.0


class _NotSent(Exception):
    """The request certainly did not reach the peer whole (internal; never escapes)."""


class _InDoubt(Exception):
    """The request may have reached the peer; no definitive answer came back (internal)."""

    def __init__(self, detail: str, *, raw: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.raw = raw


class EmitesBackend:
    """Issues and cancels NFC-e through the local Emites-Client daemon.

    ``config.emites`` gives host, port, ``connect_timeout_s``, ``response_timeout_s``
    (default 90 s: Emites waits on SEFAZ, whose own timeouts run to tens of seconds, so
    less than 60 s turns slow authorizations into in-doubt sales) and ``text_policy``; the
    request's emitter-level values come from :func:`posapp.config.emitter_profile`, built
    once here.
    Writing is bounded by the response timeout too; a request of a few KB never waits
    there unless the peer stopped reading.
    """

    name = "emites"

    def __init__(self, config: Config, *, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self._profile = emitter_profile(config)
        self._uf = config.store.uf
        self._settings = config.emites
        self._max_frame_size = max_frame_size
        self._lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._idle_since = 0.0  # monotonic time the kept connection last finished a request
        self._writer: asyncio.StreamWriter | None = None

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(can_query=False, returns_danfe_pdf=True)

    @property
    def address(self) -> tuple[str, int]:
        return self._settings.host, self._settings.port

    # ------------------------------------------------------------------ the port

    def prepare_issue(self, context: IssueContext) -> PreparedIssue:
        """The exact CREATE_NFCE frame. Pure; raises ``InvalidSale``/``LocalProtocolError``."""
        policy = self._profile.text_policy
        check_sale_for_store(context.sale, uf=self._uf)  # the state's rules, before sending
        payload = build_create_nfce(context, self._profile)
        frame = encode_request(CREATE_NFCE, payload, policy)
        sale = context.sale
        log.debug(
            "prepared CREATE_NFCE ref=%s items=%d total=%s customer=%s bytes=%d",
            context.reference,
            len(sale.items),
            sale.total,
            mask_cpf_cnpj(sale.customer.identifier) if sale.customer else "-",
            len(frame),
        )
        return PreparedIssue(
            backend=self.name,
            reference=context.reference,
            payload=frame,
            meta={"identifier": CREATE_NFCE, "text_policy": policy},
        )

    async def send_issue(self, prepared: PreparedIssue) -> IssueResult:
        """Send the prepared frame and map the answer (see the module docstring)."""
        if prepared.backend != self.name or not prepared.payload:
            raise FiscalError(f"request prepared for {prepared.backend!r} sent to {self.name!r}")
        started = asyncio.get_running_loop().time()
        try:
            frame = await self._exchange(prepared.payload, ISSUE_ANSWER_IDENTIFIERS)
        except _NotSent as exc:
            result = IssueResult(Outcome.NOT_SENT, self.name, detail=str(exc))
        except _InDoubt as exc:
            result = IssueResult(Outcome.IN_DOUBT, self.name, detail=exc.detail, raw_response=exc.raw)
        else:
            try:
                result = self._issue_result(prepared, frame)
            except Exception as exc:  # a bug here must not pass for "not sent": the issuer has it
                log.exception("mapping the answer for ref=%s failed", prepared.reference)
                raw = decode_payload(frame.payload)
                result = IssueResult(
                    Outcome.IN_DOUBT, self.name, raw_response=raw, detail=f"internal error: {exc!r}"
                )
        elapsed = asyncio.get_running_loop().time() - started
        level = logging.INFO if result.outcome in (Outcome.AUTHORIZED, Outcome.REJECTED) else logging.WARNING
        log.log(
            level,
            "CREATE_NFCE ref=%s -> %s in %.2fs%s",
            prepared.reference,
            result.outcome.value,
            elapsed,
            f" ({result.detail})" if result.detail else "",
        )
        return result

    async def query_issue(self, prepared: PreparedIssue) -> IssueResult:
        """Emites-Client's protocol has no query command: nothing can be asked.

        The answer stays ``IN_DOUBT``; a manager must look the sale up in Emites-Client
        (or on the SEFAZ portal) by its reference, which travels in ``infCpl`` as
        ``PDV-REF:<sale id>``, and record what they find.
        """
        return IssueResult(
            Outcome.IN_DOUBT,
            self.name,
            detail=(
                "Emites-Client cannot be queried; a manager must check in Emites-Client or on the "
                f"SEFAZ portal whether the note tagged PDV-REF:{prepared.reference} was authorized"
            ),
        )

    async def cancel(self, target: CancelTarget, motivo: str) -> CancelResult:
        """CANCEL_NFCE. Raises ``InvalidDocument``/``CancelRefused`` for a bad chave or
        *motivo* before anything is sent; network trouble is an outcome, not an error."""
        policy = self._profile.text_policy
        data = encode_request(CANCEL_NFCE, build_cancel(target.chave, motivo, policy), policy)
        try:
            frame = await self._exchange(data, CANCEL_ANSWER_IDENTIFIERS)
        except _NotSent as exc:
            result = CancelResult(CancelOutcome.NOT_SENT, self.name, detail=str(exc))
        except _InDoubt as exc:
            result = CancelResult(CancelOutcome.IN_DOUBT, self.name, detail=exc.detail, raw_response=exc.raw)
        else:
            try:
                result = self._cancel_result(target, frame)
            except Exception as exc:  # as in send_issue: the issuer has the request
                log.exception("mapping the cancel answer for sale=%s failed", target.sale_id)
                raw = decode_payload(frame.payload)
                result = CancelResult(
                    CancelOutcome.IN_DOUBT, self.name, raw_response=raw, detail=f"internal error: {exc!r}"
                )
        log.log(
            logging.INFO
            if result.outcome in (CancelOutcome.CANCELLED, CancelOutcome.REFUSED)
            else logging.WARNING,
            "CANCEL_NFCE sale=%s chave=%s -> %s%s",
            target.sale_id,
            target.chave,
            result.outcome.value,
            f" ({result.detail})" if result.detail else "",
        )
        return result

    async def probe(self) -> Health:
        """UP if a TCP connection opens within the connect timeout (a busy connection
        counts as UP), DOWN otherwise. Sends nothing."""
        if self._lock.locked():
            return Health.UP
        try:
            async with asyncio.timeout(self._settings.connect_timeout_s):
                _reader, writer = await asyncio.open_connection(*self.address)
        except (OSError, TimeoutError):
            return Health.DOWN
        await _close_writer(writer)
        return Health.UP

    async def aclose(self) -> None:
        writer = self._writer
        self._reader = self._writer = None
        if writer is not None:
            await _close_writer(writer)

    # ------------------------------------------------------------------ the wire

    async def _exchange(self, data: bytes, expected: Set[str]) -> Frame:
        """Write one frame and read one answer; raises :class:`_NotSent`/:class:`_InDoubt`."""
        async with self._lock:
            reader, writer = await self._connection()
            keep = False
            try:
                await self._write(writer, data)
                frame, leftover = await self._read_answer(reader)
                if frame.identifier not in expected:
                    raise _InDoubt(
                        f"answer identifier {frame.identifier!r}, expected one of {sorted(expected)}",
                        raw=decode_payload(frame.payload),
                    )
                keep = not leftover  # bytes after the answer: the stream can no longer be trusted
                self._idle_since = time.monotonic()
                return frame
            finally:
                if not keep:  # failure, cancellation, or a stream out of step
                    self._abort_connection()

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = self._reader, self._writer
        if reader is not None and writer is not None and time.monotonic() - self._idle_since > MAX_IDLE_S:
            log.debug("Emites-Client connection idle for more than %ss; reconnecting", MAX_IDLE_S)
            self._abort_connection()
            reader = writer = None
        if reader is not None and writer is not None:
            await asyncio.sleep(0)  # let a pending EOF or reset from the idle peer arrive
            if not (writer.is_closing() or reader.at_eof() or reader.exception() is not None):
                return reader, writer
            log.info("Emites-Client closed the idle connection; reconnecting")
            self._abort_connection()
        timeout = self._settings.connect_timeout_s
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(*self.address, limit=READ_CHUNK * 4)
        except TimeoutError:
            raise _NotSent(f"connect to {self._where()} timed out after {timeout}s") from None
        except OSError as exc:
            raise _NotSent(f"connect to {self._where()} failed: {exc}") from None
        self._reader, self._writer = reader, writer
        return reader, writer

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        timeout = self._settings.response_timeout_s
        view = memoryview(data)  # no copy of the request for the split
        try:
            writer.write(view[:-1])
            async with asyncio.timeout(timeout):
                await writer.drain()
        except (OSError, TimeoutError) as exc:
            raise _NotSent(f"write to {self._where()} failed before the last byte: {exc!r}") from None
        try:
            writer.write(view[-1:])
            async with asyncio.timeout(timeout):
                await writer.drain()
        except (OSError, TimeoutError) as exc:
            raise _InDoubt(f"write failed after the whole request was handed over: {exc!r}") from None

    async def _read_answer(self, reader: asyncio.StreamReader) -> tuple[Frame, bool]:
        """One complete frame, and whether bytes followed it."""
        decoder = FrameDecoder(max_frame_size=self._max_frame_size)
        timeout = self._settings.response_timeout_s
        received = 0
        try:
            async with asyncio.timeout(timeout):
                while (frame := decoder.next_frame()) is None:
                    chunk = await reader.read(READ_CHUNK)
                    received += len(chunk)
                    decoder.feed(chunk)
                    if not chunk:
                        decoder.close()
                        raise _InDoubt("connection closed before any answer")
        except TimeoutError:
            raise _InDoubt(f"no complete answer within {timeout}s ({received} bytes received)") from None
        except RemoteProtocolError as exc:
            raise _InDoubt(f"unreadable answer frame: {exc}") from None
        except OSError as exc:
            raise _InDoubt(f"connection failed while waiting for the answer: {exc!r}") from None
        return frame, decoder.buffered > 0

    def _abort_connection(self) -> None:
        writer = self._writer
        self._reader = self._writer = None
        if writer is not None:
            writer.close()

    def _where(self) -> str:
        host, port = self.address
        return f"Emites-Client at {host}:{port}"

    # ------------------------------------------------------------------ answers

    def _issue_result(self, prepared: PreparedIssue, frame: Frame) -> IssueResult:
        raw = decode_payload(frame.payload)
        try:
            response = parse_response(frame)
        except RemoteProtocolError as exc:
            return IssueResult(
                Outcome.IN_DOUBT, self.name, raw_response=raw, detail=f"unreadable answer: {exc}"
            )

        def in_doubt(detail: str) -> IssueResult:
            return IssueResult(
                Outcome.IN_DOUBT, self.name, errors=response.errors, raw_response=raw, detail=detail
            )

        if response.reference is not None and response.reference != prepared.reference:
            return in_doubt(f"answer is for sale {response.reference!r}, not {prepared.reference!r}")
        status = response.status
        if status is ResponseStatus.SUCESSO:
            note, problem = _authorized_note(response)
            if note is None:
                return in_doubt(f"'sucesso' without a usable note: {problem}")
            return IssueResult(Outcome.AUTHORIZED, self.name, note=note, raw_response=raw, detail=problem)
        if status is ResponseStatus.REJEITADA:
            errors = response.errors or ("Rejeitada pelo emissor sem motivo informado",)
            return IssueResult(Outcome.REJECTED, self.name, errors=errors, raw_response=raw)
        if status is ResponseStatus.PROCESSANDO:
            return in_doubt("Emites-Client is still processing the note ('processando')")
        if status is ResponseStatus.ERRO:
            return in_doubt("Emites-Client answered 'erro'; the note may still be issued")
        return in_doubt(f"status {status.value!r} is not an answer to an issue")

    def _cancel_result(self, target: CancelTarget, frame: Frame) -> CancelResult:
        raw = decode_payload(frame.payload)
        try:
            response = parse_response(frame)
        except RemoteProtocolError as exc:
            return CancelResult(
                CancelOutcome.IN_DOUBT, self.name, raw_response=raw, detail=f"unreadable answer: {exc}"
            )
        echoed = response.emissao.chave_acesso if response.emissao else None
        if echoed is not None and echoed != target.chave:
            return CancelResult(
                CancelOutcome.IN_DOUBT, self.name, raw_response=raw, detail=f"answer is for chave {echoed}"
            )
        status = response.status
        if status is ResponseStatus.CANCELADA:
            return CancelResult(
                CancelOutcome.CANCELLED,
                self.name,
                protocolo=response.cancelamento.numero_protocolo if response.cancelamento else None,
                cancelled_at=response.xml_facts.event_at,
                xml=response.xml,
                raw_response=raw,
            )
        if status in (ResponseStatus.CANCELAMENTO_REJEITADO, ResponseStatus.REJEITADA):
            errors = response.errors or ("Cancelamento rejeitado sem motivo informado",)
            return CancelResult(CancelOutcome.REFUSED, self.name, errors=errors, raw_response=raw)
        return CancelResult(
            CancelOutcome.IN_DOUBT,
            self.name,
            errors=response.errors,
            raw_response=raw,
            detail=f"status {status.value!r} does not settle the cancel",
        )


def _authorized_note(response: EmitesResponse) -> tuple[AuthorizedNote | None, str]:
    """The note of a ``sucesso`` answer and a remark for the log (or why there is none).

    The chave comes from ``resposta_emissao`` (else the XML); number and series from the
    answer, else the XML, else the chave itself, which encodes both. The authorization
    time is ``data_emissao``, else ``dhRecbto``, else ``dhEmi`` (earlier, so a cancel
    deadline from it errs on the safe side), else now.
    """
    try:
        chave = parse_chave(response.chave or "")
    except InvalidDocument as exc:
        return None, f"chave {response.chave!r}: {exc}"
    facts = response.xml_facts
    remarks: list[str] = []
    xml = response.xml
    if facts.chave is not None and facts.chave != chave.digits:
        remarks.append(f"XML is for chave {facts.chave}, not {chave.digits}; XML not kept")
        xml = None
        facts = XmlFacts()
    elif xml is not None and facts.problem is not None:
        # Unreadable as an NF-e (malformed, a DTD, a chave failing its check digit or
        # disagreeing with itself): no DANFE can be printed from it and nothing in it can be
        # trusted. The raw answer, kept with the sale, still holds it.
        remarks.append(f"XML unreadable ({facts.problem}); XML not kept")
        xml = None
    emissao = response.emissao
    contingency = facts.tp_emis == 9 or chave.emission_type == 9
    authorized_at = (emissao.data_emissao if emissao else None) or facts.received_at or facts.emitted_at
    if contingency and facts.received_at is not None:
        # An offline note's data_emissao is its emission; its cancel window counts from
        # SEFAZ's receipt of it (protNFe dhRecbto), once it has one.
        authorized_at = facts.received_at
    if authorized_at is None:
        authorized_at = datetime.now(UTC)
        remarks.append("no authorization time in the answer; using the local clock")
    numero = next(v for v in (response.numero, facts.numero, chave.number) if v is not None)
    serie = next(v for v in (response.serie, facts.serie, chave.series) if v is not None)
    protocolo = (emissao.numero_protocolo if emissao else None) or facts.protocolo
    note = AuthorizedNote(
        chave=chave.digits,
        numero=numero,
        serie=serie,
        authorized_at=authorized_at,
        protocolo=protocolo,
        xml=xml,
        danfe_pdf=response.danfe,
        contingency=contingency,
    )
    return note, "; ".join(remarks)


async def _close_writer(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with suppress(OSError, TimeoutError):
        async with asyncio.timeout(_CLOSE_WAIT_S):
            await writer.wait_closed()
