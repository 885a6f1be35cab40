"""One till process of the soak (:mod:`tests.support.soak`): a real ``PosService`` driven by
commands, until it is told to stop or is killed.

``python -m tests.support.soak_worker DATA_DIR CONFIG`` does what ``posapp`` does at start
(``build_service`` from the configuration, ``start()``: start-up recovery when it is alone on
the data folder), prints ``{"ready": true, "recovered": [...]}`` and then reads one JSON
command per line on stdin. Every command runs in its own task, as the GUI runs its drainer
next to the checkout, so one process can drain and cancel at once; each answer is one flushed
JSON line carrying the command's ``id``:

``{"op": "issue", "sale": {...}}``
    the sale mapping (SALE.json) issued and its receipt printed, unless the journal already
    holds it (an earlier process took it: ``"exists"`` with its state);
``{"op": "cancel", "sale_id": ..., "motivo": ..., "by": ...}``
    a manager's cancel;
``{"op": "drain", "limit": N}``
    one round of catching up (reconcile, then at most N queued sales), as ``nfce drain``;
``{"op": "send_queue", "limit": N}``
    only the queue, oldest first (``PosService.drain``), no reconcile before it;
``{"op": "counts"}``
    the journal's sales per state;
``{"op": "exit"}``
    waits for the commands in flight, closes the service and ends the process.

``POSAPP_CRASH_AT`` works as everywhere (:mod:`posapp.services.crashpoints`). Only
``posapp`` and the standard library are imported, as in the app.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from posapp.app import build_service
from posapp.config import load_config
from posapp.domain.sale import Sale
from posapp.errors import user_text
from posapp.services.core import Authorization
from posapp.services.pos import PosService


def say(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, default=str) + "\n")
    sys.stdout.flush()


async def perform(service: PosService, command: dict[str, Any]) -> dict[str, Any]:
    op = command["op"]
    if op == "issue":
        sale = Sale.from_mapping(command["sale"])
        state = await service.state_of(sale.sale_id)
        if state is not None:
            return {"exists": True, "state": state.value}
        report = await service.issue(sale)
        return {
            "state": report.state.value,
            "backend": report.backend,
            "chave": report.note.chave if report.note is not None else None,
            "printed": report.printed,
        }
    if op == "cancel":
        by = Authorization(str(command.get("by") or "gerente"))
        cancel = await service.cancel(str(command["sale_id"]), str(command["motivo"]), by=by)
        return {
            "state": cancel.state.value,
            "outcome": cancel.outcome.value,
            "backend": cancel.backend,
            "message": cancel.message,
        }
    if op == "drain":
        caught_up = await service.catch_up(limit=int(command.get("limit", 1000)))
        drained = caught_up.drained
        return {
            "settled": caught_up.settled,
            "still_in_doubt": caught_up.still_in_doubt,
            "attempted": drained.attempted if drained is not None else 0,
            "authorized": drained.authorized if drained is not None else 0,
            "still_queued": drained.still_queued if drained is not None else None,
        }
    if op == "send_queue":
        queue = await service.drain(limit=int(command.get("limit", 1000)))
        return {
            "attempted": queue.attempted,
            "authorized": queue.authorized,
            "still_queued": queue.still_queued,
        }
    if op == "counts":
        counts = await service.core.db(service.journal.count_by_state)
        return {"counts": {state.value: n for state, n in counts.items()}}
    raise ValueError(f"unknown op {op!r}")


async def answer(service: PosService, command: dict[str, Any]) -> None:
    reply: dict[str, Any] = {"id": command.get("id")}
    started = time.monotonic()
    try:
        reply.update(ok=True, **await perform(service, command))
    except Exception as exc:  # every failure is an answer; the driver decides
        reply.update(ok=False, error=type(exc).__name__, message=user_text(exc), detail=repr(exc)[:300])
    reply["took_s"] = round(time.monotonic() - started, 3)
    say(reply)


async def run(data_dir: Path, config_path: Path) -> int:
    service = build_service(load_config(config_path), data_dir)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=16 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tasks: set[asyncio.Task[None]] = set()
    try:
        say({"ready": True, "recovered": await service.start()})
        while True:
            line = await reader.readline()
            if not line:
                break
            command = json.loads(line)
            if command.get("op") == "exit":
                break
            task = asyncio.create_task(answer(service, command))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(list(tasks))
        return 0
    finally:
        await service.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="soak_worker")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("config", type=Path)
    args = parser.parse_args(argv)
    return asyncio.run(run(args.data_dir, args.config))


if __name__ == "__main__":
    sys.exit(main())
