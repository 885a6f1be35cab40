"""Answers the journal could not record, kept durably beside it.

When an issuer has answered and the journal cannot record it (disk full, a corrupted page, a
constraint), the answer is written to ``pending-answers/<sale>.<attempt>.json`` in the data
folder — its own file, fsynced, renamed into place — so that once the fault is fixed,
catching up (:meth:`posapp.services.catching_up.CatchingUp.catch_up`) records exactly that
answer, and never a second note. Only written on such a failure: the normal path costs nothing.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from posapp.domain.issuance import AuthorizedNote, IssueResult, Outcome

FOLDER = "pending-answers"


@dataclass(frozen=True, slots=True)
class PendingAnswer:
    sale_id: str
    attempt_id: int
    result: IssueResult
    path: Path


def folder(data_dir: Path) -> Path:
    return data_dir / FOLDER


def keep(data_dir: Path, sale_id: str, attempt_id: int, result: IssueResult) -> Path:
    """Write the answer durably (blocking: call it off the event loop)."""
    target_dir = folder(data_dir)
    target_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = target_dir / f"{sale_id}.{attempt_id}.json"
    temporary = target.with_suffix(".tmp")
    data = json.dumps({"sale_id": sale_id, "attempt_id": attempt_id, "result": _result(result)}).encode()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, target)
    directory = os.open(target_dir, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)
    return target


def pending(data_dir: Path) -> list[PendingAnswer]:
    """Every kept answer, oldest attempt first; unreadable files are skipped (and left)."""
    found = []
    for path in sorted(folder(data_dir).glob("*.json")):
        try:
            data = json.loads(path.read_bytes())
            found.append(
                PendingAnswer(str(data["sale_id"]), int(data["attempt_id"]), _read(data["result"]), path)
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(found, key=lambda answer: answer.attempt_id)


def _result(result: IssueResult) -> dict[str, Any]:
    note = result.note
    return {
        "outcome": result.outcome.value,
        "backend": result.backend,
        "errors": list(result.errors),
        "raw_response": result.raw_response,
        "detail": result.detail,
        "duplicate": result.duplicate,
        "note": None
        if note is None
        else {
            "chave": note.chave,
            "numero": note.numero,
            "serie": note.serie,
            "authorized_at": note.authorized_at.isoformat(),
            "protocolo": note.protocolo,
            "xml": _b64(note.xml),
            "danfe_pdf": _b64(note.danfe_pdf),
            "contingency": note.contingency,
        },
    }


def _read(data: dict[str, Any]) -> IssueResult:
    raw = data["note"]
    note = None
    if raw is not None:
        note = AuthorizedNote(
            chave=str(raw["chave"]),
            numero=int(raw["numero"]),
            serie=int(raw["serie"]),
            authorized_at=datetime.fromisoformat(raw["authorized_at"]),
            protocolo=raw["protocolo"],
            xml=_bytes(raw["xml"]),
            danfe_pdf=_bytes(raw["danfe_pdf"]),
            contingency=bool(raw["contingency"]),
        )
    return IssueResult(
        outcome=Outcome(data["outcome"]),
        backend=str(data["backend"]),
        note=note,
        errors=tuple(data["errors"]),
        raw_response=data["raw_response"],
        detail=str(data["detail"]),
        duplicate=bool(data["duplicate"]),
    )


def _b64(content: bytes | None) -> str | None:
    return None if content is None else base64.b64encode(content).decode("ascii")


def _bytes(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)
