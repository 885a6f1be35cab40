"""Is there a recent backup of this till? (issue 15 item 4)

Every backup, manual or daily, writes when and where it went to ``backup-last.json`` in the
data folder (``posapp.services.backup``; the doctor reads the file itself, it does not import
the services). Older than two days is a warning: the journal is the store's fiscal history.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from posapp.config import Config
from posapp.doctor.result import CheckResult, ok, warn

LAST_BACKUP_FILE = "backup-last.json"  # posapp.services.backup.LAST_BACKUP_FILE
STALE_AFTER = timedelta(days=2)  # posapp.services.backup.STALE_AFTER
TITLE = "Cópia de segurança"


def check_backup(data_dir: Path, config: Config | None, now: datetime) -> CheckResult:
    folder = config.backup.folder if config is not None else None
    how = (
        f"A cópia diária vai para {folder} quando o caixa está aberto: confira se essa pasta está conectada."
        if folder is not None
        else "Rode 'posapp backup --out ARQUIVO.zip' (num pen drive ou pasta de rede) ou configure "
        "[backup] folder para a cópia diária automática."
    )
    try:
        data = json.loads((data_dir / LAST_BACKUP_FILE).read_text(encoding="utf-8"))
        at = datetime.fromisoformat(data["at"])
        where = str(data["path"])
    except FileNotFoundError:
        return warn(TITLE, "Nenhuma cópia de segurança do diário de vendas foi feita neste caixa.", how)
    except (OSError, ValueError, KeyError, TypeError):
        return warn(TITLE, f"Não foi possível ler {data_dir / LAST_BACKUP_FILE}.", how)
    age = now - at
    when = at.astimezone(now.tzinfo).strftime("%d/%m/%Y %H:%M")
    if age > STALE_AFTER:
        return warn(TITLE, f"A última cópia tem {age.days} dia(s) ({when}, em {where}).", how)
    return ok(TITLE, f"Última cópia em {when} ({where}).")


__all__ = ["check_backup"]
