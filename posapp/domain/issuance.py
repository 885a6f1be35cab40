"""What goes to an issuer and what comes back: the value types every issuer adapter, the
services and the journal share (the ``FiscalBackend`` protocol itself is in
:mod:`posapp.fiscal.port`).

The split between :meth:`FiscalBackend.prepare_issue` (pure) and
:meth:`FiscalBackend.send_issue` (I/O) is what keeps the first promise: the service
stores the exact prepared request in the journal, commits, and only then sends it.

Outcomes, and what the service does with them:

=================  ===========================================  ===========
outcome            meaning                                      sale state
=================  ===========================================  ===========
``AUTHORIZED``     SEFAZ (or the issuer's contingency) accepted  AUTHORIZED
``REJECTED``       a definitive *no*; fix and resend            REJECTED
``NOT_SENT``       the request never left (connect refused...)  QUEUED
``IN_DOUBT``       it left; no definitive answer came back      IN_DOUBT
=================  ===========================================  ===========
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only an annotation: importing pydantic here would slow every start
    from posapp.domain.sale import Sale


class Outcome(StrEnum):
    AUTHORIZED = "authorized"
    REJECTED = "rejected"
    NOT_SENT = "not_sent"
    IN_DOUBT = "in_doubt"


class CancelOutcome(StrEnum):
    CANCELLED = "cancelled"
    REFUSED = "refused"  # cancelamento_rejeitado: the note stays authorized
    NOT_SENT = "not_sent"
    IN_DOUBT = "in_doubt"


@dataclass(frozen=True, slots=True)
class AuthorizedNote:
    """What an issuer returns for an authorized NFC-e; stored whole in the journal."""

    chave: str
    numero: int
    serie: int
    authorized_at: datetime  # timezone-aware; UTC from Emites' data_emissao
    protocolo: str | None = None
    xml: bytes | None = None  # the nfeProc XML
    danfe_pdf: bytes | None = None  # Emites only; providers return no printable PDF
    contingency: bool = False  # issued in offline contingency (tpEmis 9), pending SEFAZ


@dataclass(frozen=True, slots=True)
class IssueResult:
    outcome: Outcome
    backend: str
    note: AuthorizedNote | None = None
    errors: tuple[str, ...] = ()
    raw_response: str | None = None  # the answer as received (tokens never in it)
    detail: str = ""  # for logs: why NOT_SENT / IN_DOUBT
    retry_after_s: float | None = None  # NOT_SENT by a rate limit: when the issuer takes requests again
    # The issuer answered that this série/número (or this reference) already exists: not a
    # verdict on *this* request. ``note`` then carries the existing note when the issuer gave
    # it; the services adopt it only if it is provably this sale's (see services.issuing).
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class CancelResult:
    outcome: CancelOutcome
    backend: str
    protocolo: str | None = None
    cancelled_at: datetime | None = None
    xml: bytes | None = None  # the cancel event XML, when returned
    errors: tuple[str, ...] = ()
    raw_response: str | None = None
    detail: str = ""
    retry_after_s: float | None = None  # NOT_SENT by a rate limit: when to try again


@dataclass(frozen=True, slots=True)
class IssueContext:
    """Identity of one issue attempt, derived from the sale so it is stable across retries.

    ``reference`` is the idempotency key (Focus ``ref``); ``serie``/``numero`` are set for
    issuers that need the client to number the note (Integra), reserved in the journal
    before sending and reused on every resend of the same sale.
    """

    sale: Sale
    reference: str
    serie: int | None = None
    numero: int | None = None
    emitted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PreparedIssue:
    """The exact request, as it will go on the wire; the journal stores it before sending."""

    backend: str
    reference: str
    payload: bytes  # the exact bytes (Emites: the whole frame; HTTP: the JSON body)
    meta: Mapping[str, Any] = field(default_factory=dict)  # e.g. serie/numero for Integra


@dataclass(frozen=True, slots=True)
class CancelTarget:
    sale_id: str
    reference: str
    chave: str
    numero: int | None = None
    serie: int | None = None
    protocolo: str | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    issues_nfce: bool = True
    needs_client_numbering: bool = False  # Integra: we pick serie/numero
    can_query: bool = True  # can reconcile an IN_DOUBT request by asking
    returns_danfe_pdf: bool = False
    reason: str = ""  # why it cannot issue, in Portuguese, when issues_nfce is False


class Health(StrEnum):
    UP = "up"
    CONTINGENCY = "contingency"  # reachable, issuing offline
    DOWN = "down"
    UNKNOWN = "unknown"


_TILL_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud on the phone
TILL_ID_LENGTH = 8
REFERENCE_MAX = 64  # Focus ref and the Emites PDV-REF tag: [0-9A-Za-z_-]{1,64}


def new_till_id() -> str:
    import secrets

    return "".join(secrets.choice(_TILL_ALPHABET) for _ in range(TILL_ID_LENGTH))


def idempotency_reference(till_id: str, sale_id: str) -> str:
    """The reference every issuer gets for a sale: the till's identity and the sale's, so two
    tills sending the same ``sale_id`` (or a till reinstalled on a fresh folder) never share
    one. Within the issuers' 64 characters; a long sale id is shortened by a hash."""
    reference = f"{till_id}-{sale_id}"
    if len(reference) <= REFERENCE_MAX:
        return reference
    import hashlib

    digest = hashlib.sha256(sale_id.encode()).hexdigest()
    return f"{till_id}-{digest[: REFERENCE_MAX - len(till_id) - 1]}"
