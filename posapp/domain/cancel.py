"""The cancel policy: the legal window and the *motivo*, checked before anything is sent.

Ajuste SINIEF 07/2018 allows cancelling an NFC-e within 30 minutes of its authorization
(a state may shorten it; SEFAZ answers 501 after it): :class:`CancelPolicy` refuses a
longer window. We refuse locally a little before the legal deadline (``safety_margin``)
so a request that is slow on the wire does not arrive late.

The window counts from the *authorization*. A note issued in offline contingency is
authorized when SEFAZ receives it, later than its emission: its window counts from its
protocol's ``dhRecbto``, and while it has none (:func:`window_start` answers ``None``) the
window has not started, so nothing is refused locally; the issuer answers for SEFAZ.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from posapp.domain.errors import CancelWindowClosed, InvalidMotivo

MOTIVO_MIN = 15
MOTIVO_MAX = 255
#: The legal window, in minutes: configuration may shorten it, never lengthen it.
MAX_CANCEL_WINDOW_MIN = 30


@dataclass(frozen=True, slots=True)
class CancelPolicy:
    window: timedelta = timedelta(minutes=MAX_CANCEL_WINDOW_MIN)
    safety_margin: timedelta = timedelta(seconds=60)

    def __post_init__(self) -> None:
        if self.window > timedelta(minutes=MAX_CANCEL_WINDOW_MIN):
            raise ValueError(
                f"cancel window {self.window} is longer than the legal {MAX_CANCEL_WINDOW_MIN} min"
            )

    def deadline(self, authorized_at: datetime) -> datetime:
        """The last instant at which we still send a cancel."""
        return as_utc(authorized_at) + self.window - self.safety_margin

    def remaining(self, authorized_at: datetime, now: datetime) -> timedelta:
        return max(self.deadline(authorized_at) - as_utc(now), timedelta(0))

    def check_window(self, authorized_at: datetime, now: datetime) -> None:
        if as_utc(now) >= self.deadline(authorized_at):
            minutes = int(self.window.total_seconds() // 60)
            raise CancelWindowClosed(
                f"cancel window closed at {self.deadline(authorized_at).isoformat()}",
                user_message=(
                    f"Prazo de cancelamento encerrado: a NFC-e só pode ser cancelada até {minutes} minutos "
                    "após a autorização. Para desfazer a venda, emita uma NF-e de entrada (devolução)."
                ),
            )

    def clock_behind(self, authorized_at: datetime, now: datetime) -> bool:
        """A local clock well behind the authorization time is a configuration problem."""
        return as_utc(now) + timedelta(minutes=5) < as_utc(authorized_at)


def window_start(authorized_at: datetime, *, contingency: bool, protocol: str | None) -> datetime | None:
    """When a note's cancel window starts: its authorization. An offline-contingency note
    without a protocol is not authorized yet (``None``: its window has not started); with
    one, ``authorized_at`` is the protocol's time (the adapters record ``dhRecbto``)."""
    if contingency and not protocol:
        return None
    return authorized_at


def check_motivo(motivo: str, *, original: str | None = None) -> str:
    """Strip and check the 15-255 character *motivo* (xJust); returns the cleaned text.

    ``motivo`` is the text as it will travel. When the caller cleaned it first (the text
    policy drops what ISO-8859-1 cannot carry: emoji, CJK, other alphabets), it passes what
    the person typed as ``original``, and a motivo left too short says that characters were
    removed instead of counting characters the person can see on the screen."""
    text = " ".join(motivo.split())
    if not MOTIVO_MIN <= len(text) <= MOTIVO_MAX:
        removed = _removed_characters(original, text) if len(text) < MOTIVO_MIN else 0
        if removed:
            dropped = (
                "removido 1 caractere que não pode ser enviado"
                if removed == 1
                else f"removidos {removed} caracteres que não podem ser enviados"
            )
            detail = (
                f"tem {len(text)} depois de {dropped} ao emissor, como emojis ou letras de outros alfabetos"
            )
        else:
            detail = f"tem {len(text)}"
        raise InvalidMotivo(
            f"motivo must have {MOTIVO_MIN}-{MOTIVO_MAX} characters, got {len(text)}"
            + (f" after {removed} unsendable characters were dropped" if removed else ""),
            user_message=(
                f"O motivo do cancelamento deve ter entre {MOTIVO_MIN} e {MOTIVO_MAX} caracteres ({detail})."
            ),
        )
    return text


def _removed_characters(original: str | None, sent: str) -> int:
    """How many visible characters of ``original`` did not survive into ``sent`` (0 when
    none did, or when folding made the text longer, as ``œ`` -> ``oe``)."""
    if original is None:
        return 0
    typed = "".join(unicodedata.normalize("NFC", original).split())
    return max(len(typed) - len("".join(sent.split())), 0)


def as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: fiscal times must carry a timezone")
    return moment.astimezone(UTC)
