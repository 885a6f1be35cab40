"""Logging for a shop terminal: one rotating file per user, with personal data and secrets masked.

Why a filter on every handler: a support technician will be sent the log folder, and a
log line may carry anything an exception message or an HTTP library put in it. Two things
must never land on disk or on screen (LGPD and the providers' terms): a consumer's full
CPF (or a CNPJ typed as a customer document), and a provider token or ``Authorization``
header. :class:`RedactingFilter` rewrites the formatted message, the traceback and the
stack of every record before a handler writes it. The 44-digit chave de acesso, which
support needs, is left alone: only runs of exactly 11 or 14 digits are masked.

Call :func:`setup_logging` once, as early as possible (before importing python-escpos,
whose 3.1 release calls ``logging.basicConfig`` at import time). Handlers added to the
root logger before the call get the filter too.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path
from typing import Final

import platformdirs

__all__ = [
    "LOG_FILENAME",
    "RedactingFilter",
    "default_log_dir",
    "redact",
    "setup_logging",
]

LOG_FILENAME: Final = "posapp.log"
MAX_BYTES: Final = 5 * 1024 * 1024
BACKUP_COUNT: Final = 5
FORMAT: Final = "%(asctime)s %(levelname)-8s %(name)s [%(threadName)s] %(message)s"

# Marks the handlers setup_logging installed, so a second call replaces them instead of
# writing every line twice.
_OWNED_ATTR: Final = "_posapp_owned"

_MASK: Final = "***"
_REDACTED_ATTR: Final = "_posapp_redacted"  # set on a record once; later handlers skip it

# --- what a secret looks like -----------------------------------------------------------

# "Authorization: Basic abc==", "authorization': 'Bearer x'", "Authorization=eyJ..."
_AUTH_HEADER = re.compile(
    r"(?i)(\b(?:proxy-)?authorization\b['\"]?\s*[:=]\s*['\"]?)"
    r"(?:(?:basic|bearer|token|digest)\s+)?[^\s'\",;}]+"
)
# token=..., "token": "...", api_key: ..., password=..., secret ..., csc=...
_SECRET_KV = re.compile(
    r"(?i)(\b(?:[a-z_]*token|api[_-]?key|apikey|password|passwd|senha|secret|client[_-]?secret|csc)"
    r"\b['\"]?\s*[:=]\s*['\"]?)[^\s'\",;&}]+"
)
# Three base64url parts starting with a JSON header: a JWT (Integra Notas' emitter token).
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
# HTTP Basic credentials in a URL: https://TOKEN:@host or https://user:pass@host
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+(?::[^/\s@]*)?@")
# A long opaque key: 32+ letters and digits mixed (Focus tokens are 32 alphanumerics).
# Pure-digit runs (the chave de acesso, protocol numbers) never match, and lowercase hex
# (sale ids as UUIDs, hashes) is kept by _mask_opaque: support needs those, and a
# secret of that shape still gets masked when it appears as a header or key=value.
_OPAQUE = re.compile(r"\b(?=[A-Za-z0-9_-]*[A-Za-z])(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{32,}\b")
_LOWER_HEX = re.compile(r"[0-9a-f-]+")

# --- what a person's document looks like -------------------------------------------------

# CPF: 11 digits, bare or grouped 3-3-3-2 with a space, dot or dash (or nothing) between any
# two groups (000.000.000-00, 000 000 000 00, 000-000-000.00); CNPJ: 14 digits, bare or
# as 00.000.000/0000-00. Digits glued to other digits are not matched, so a 44-digit chave
# stays whole; a percent-escape right before the number (``%22`` in URL-encoded JSON:
# ``%22cpf%22%3A%2252998224725%22``) ends in a hex digit but is not part of it.
_START = r"(?:(?<!\d)|(?<=%[0-9A-Fa-f]{2}))"
_SEP = r"([ .\-]?)"
_CPF = re.compile(_START + rf"(\d{{3}}){_SEP}(\d{{3}}){_SEP}(\d{{3}}){_SEP}(\d{{2}})(?!\d)")
_CNPJ = re.compile(_START + r"(\d{2})(\.?)(\d{3})(\.?)(\d{3})(/?)(\d{4})(-?)(\d{2})(?!\d)")


def _mask_opaque(match: re.Match[str]) -> str:
    word = match.group(0)
    return word if _LOWER_HEX.fullmatch(word) else _MASK


def _mask_cnpj(match: re.Match[str]) -> str:
    g = match.groups()
    return f"**{g[1]}***{g[3]}***{g[5]}****{g[7]}{g[8]}"


def _mask_cpf(match: re.Match[str]) -> str:
    g = match.groups()
    return f"***{g[1]}***{g[3]}***{g[5]}{g[6]}"


def redact(text: str) -> str:
    """Mask secrets and CPF/CNPJ-shaped numbers in ``text``; idempotent.

    Documents keep their last two digits (``***.***.***-25``) so a person can still match
    a log line to a receipt without the log holding the number.
    """
    if not text:
        return text
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + _MASK, text)
    text = _SECRET_KV.sub(lambda m: m.group(1) + _MASK, text)
    text = _URL_CREDENTIALS.sub(lambda m: m.group(1) + _MASK + "@", text)
    text = _JWT.sub(_MASK, text)
    text = _OPAQUE.sub(_mask_opaque, text)
    text = _CNPJ.sub(_mask_cnpj, text)
    return _CPF.sub(_mask_cpf, text)


class RedactingFilter(logging.Filter):
    """Rewrites each record in place so every later formatter sees only redacted text.

    The message is formatted once here (``msg % args``) and the args dropped, the
    traceback is rendered and redacted into ``exc_text`` (``logging.Formatter`` reuses a
    non-empty ``exc_text``), and ``stack_info`` is redacted too. It never drops a record.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _REDACTED_ATTR, False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format is still worth logging, as the raw template
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        setattr(record, _REDACTED_ATTR, True)
        return True


def default_log_dir() -> Path:
    """The user's log folder: ``~/.local/state/posapp/log`` on Linux, ``%LOCALAPPDATA%`` on Windows."""
    return Path(platformdirs.user_log_dir("posapp", appauthor=False))


def _ensure_filter(handler: logging.Handler) -> None:
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(RedactingFilter())


def setup_logging(
    log_dir: Path | None = None,
    level: int | str = logging.INFO,
    *,
    console: bool = False,
    max_bytes: int = MAX_BYTES,
    backup_count: int = BACKUP_COUNT,
) -> Path:
    """Send the root logger to ``<log_dir>/posapp.log`` (5 MB x 5 files by default); return that path.

    ``console`` adds a stderr handler (for ``posapp ... --verbose`` and development).
    Safe to call again (for example with a new level): the handlers it owns are replaced.
    Python warnings are routed into the log too. The returned path is absolute, so the
    crash message can tell the user exactly where to look.
    """
    directory = (log_dir if log_dir is not None else default_log_dir()).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / LOG_FILENAME

    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OWNED_ATTR, False):
            root.removeHandler(handler)
            handler.close()

    formatter = logging.Formatter(FORMAT)
    file_handler = logging.handlers.RotatingFileHandler(
        log_path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8", delay=False
    )
    file_handler.setFormatter(formatter)
    setattr(file_handler, _OWNED_ATTR, True)
    root.addHandler(file_handler)

    if console:
        stream_handler = logging.StreamHandler()
        stream_handler.setFormatter(formatter)
        setattr(stream_handler, _OWNED_ATTR, True)
        root.addHandler(stream_handler)

    for handler in root.handlers:
        _ensure_filter(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    return log_path
