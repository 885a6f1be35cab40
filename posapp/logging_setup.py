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

import io
import logging
import logging.handlers
import re
from pathlib import Path
from typing import Final, cast

import platformdirs

from posapp.files import private_dir, private_file, private_opener

__all__ = [
    "LOG_FILENAME",
    "PrivateRotatingFileHandler",
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

# CPF: 11 digits, bare or grouped 3-3-3-2; CNPJ: 14 digits, bare or grouped 2-3-3-4-2. Between
# any two groups: nothing, or up to three separators of any kind a person, a form or a URL
# encoder puts there: space, tab, no-break space, dot, hyphen, a Unicode dash or minus,
# slash, underscore, plus (form-encoded space), or their percent-escapes (%20 %2B %2D %2E
# %2F %C2%A0), so 000.000.000-00, 000 000 000 00, 529%2E982%2E247%2D25, 529+982+247+25,
# 00.000.000/0000-00, 00 000 000 0000 00 and 00.000.000%2F0000-00 are all masked. Digits glued
# to other digits are not matched, so a 44-digit chave (bare or printed in groups of four)
# stays whole; a percent-escape right before the number (``%22`` in URL-encoded JSON:
# ``%22cpf%22%3A%2252998224725%22``) ends in a hex digit but is not part of it.
_START = r"(?:(?<!\d)|(?<=%[0-9A-Fa-f]{2}))"
_SEP_CHAR = r"(?:[ \t.+/_\u00a0\u2010-\u2015\u2212-]|%(?:2[0BbDdEeFf]|[Cc]2%[Aa]0))"
_SEP = rf"({_SEP_CHAR}{{0,3}})"
_CPF = re.compile(_START + rf"(\d{{3}}){_SEP}(\d{{3}}){_SEP}(\d{{3}}){_SEP}(\d{{2}})(?!\d)")
_CNPJ = re.compile(_START + rf"(\d{{2}}){_SEP}(\d{{3}}){_SEP}(\d{{3}}){_SEP}(\d{{4}}){_SEP}(\d{{2}})(?!\d)")


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


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A :class:`~logging.handlers.RotatingFileHandler` whose files are ``0600``: the first
    one and every one a rollover opens (``logging`` would use the umask, often 0644)."""

    def _open(self) -> io.TextIOWrapper:
        stream = open(  # noqa: SIM115 - the handler owns the stream
            self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors, opener=private_opener
        )
        return cast(io.TextIOWrapper, stream)  # text mode ("a"): logging's own _open is the same


def _make_private(directory: Path, backup_count: int) -> list[logging.LogRecord]:
    """The log folder ``0700`` and the log files already there ``0600``. Returns what
    :mod:`posapp.files` said meanwhile (a folder it had to tighten): nothing writes the log
    yet, so the caller replays it once the handlers are in place."""
    files_log = logging.getLogger("posapp.files")
    buffer = logging.handlers.BufferingHandler(capacity=1000)
    files_log.addHandler(buffer)
    propagate, files_log.propagate = files_log.propagate, False
    try:
        private_dir(directory)
        for suffix in ("", ".fault", *(f".{n}" for n in range(1, backup_count + 1))):
            candidate = directory / f"{LOG_FILENAME}{suffix}"
            if suffix == "" or candidate.exists():
                private_file(candidate)
    finally:
        files_log.removeHandler(buffer)
        files_log.propagate = propagate
    return list(buffer.buffer)


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
    The folder is ``0700`` and every log file ``0600``, rotated ones included, whatever
    the umask (:mod:`posapp.files`); a looser folder or file left by an older posapp is
    tightened here, and the log says so.
    Python warnings are routed into the log too. The returned path is absolute, so the
    crash message can tell the user exactly where to look.
    """
    directory = (log_dir if log_dir is not None else default_log_dir()).resolve()
    said = _make_private(directory, backup_count)
    log_path = directory / LOG_FILENAME

    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OWNED_ATTR, False):
            root.removeHandler(handler)
            handler.close()

    formatter = logging.Formatter(FORMAT)
    file_handler = PrivateRotatingFileHandler(
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
    for record in said:
        logging.getLogger(record.name).handle(record)
    return log_path
