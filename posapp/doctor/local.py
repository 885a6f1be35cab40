"""Checks of this computer: the configuration file, the data folder, the SQLite files."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import tempfile
from pathlib import Path

from posapp.config import Config, ConfigError, load_config
from posapp.doctor.result import CheckResult, fail, ok, warn

JOURNAL_FILENAME = "journal.sqlite3"  # posapp.journal.store.JOURNAL_FILENAME
STORE_FILENAME = "store.sqlite3"  # posapp.catalog.storedb.STORE_FILENAME
FREE_SPACE_WARN = 500 * 1024 * 1024
FREE_SPACE_FAIL = 50 * 1024 * 1024


# --- configuration -------------------------------------------------------------------------


def default_config_path() -> Path:
    """Where the app looks for its configuration when ``--config`` is not given (as ``posapp.cli``)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("posapp", appauthor=False)) / "posapp.toml"


def check_config(path: Path | None) -> tuple[CheckResult, Config | None]:
    """Parse the configuration; ``None`` means "the default location, if a file is there"."""
    title = "Configuração"
    if path is None:
        candidate = default_config_path()
        if not candidate.exists():
            return (
                ok(title, f"Nenhum arquivo em {candidate}; usando os valores padrão (homologação)."),
                Config(),
            )
        path = candidate
    try:
        config = load_config(path)
    except ConfigError as exc:
        return (
            fail(
                title, exc.user_message, f"Corrija o arquivo {path} (formato TOML) e rode o doctor de novo."
            ),
            None,
        )
    env = "PRODUÇÃO" if config.store.environment == "producao" else "homologação (testes)"
    return ok(title, f"{path} lido sem erros; ambiente {env}, UF {config.store.uf}."), config


# --- data folder ---------------------------------------------------------------------------


def _nearest_existing(path: Path) -> Path:
    current = path
    while not current.exists() and current.parent != current:
        current = current.parent
    return current


def _human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit in ("B", "KB") else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"  # pragma: no cover - loop always returns


def check_data_dir(data_dir: Path) -> list[CheckResult]:
    """The folder must take the journal's writes: exists, writable, with free space."""
    title = "Pasta de dados"
    if data_dir.exists() and not data_dir.is_dir():
        return [fail(title, f"{data_dir} existe mas não é uma pasta.", "Aponte --data-dir para uma pasta.")]
    if not data_dir.exists():
        anchor = _nearest_existing(data_dir)
        if anchor.is_dir() and os.access(anchor, os.W_OK | os.X_OK):
            return [
                warn(
                    title,
                    f"{data_dir} ainda não existe; será criada na primeira venda.",
                    "Nada a fazer se esta é a primeira execução neste computador.",
                )
            ]
        return [
            fail(
                title,
                f"{data_dir} não existe e não pode ser criada (sem permissão em {anchor}).",
                "Crie a pasta e dê permissão de escrita ao usuário do caixa.",
            )
        ]
    try:
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".doctor-", delete=True) as probe:
            probe.write(b"ok")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        return [
            fail(
                title,
                f"Não é possível gravar em {data_dir}: {exc.strerror or exc}.",
                "Dê permissão de escrita ao usuário do caixa nesta pasta (sem ela nenhuma venda é gravada).",
            )
        ]
    results = [ok(title, f"{data_dir} existe e aceita gravação."), *_privacy(data_dir)]
    free = shutil.disk_usage(data_dir).free
    space = "Espaço em disco"
    if free < FREE_SPACE_FAIL:
        results.append(
            fail(space, f"Só {_human_bytes(free)} livres no disco da pasta de dados.", "Libere espaço agora.")
        )
    elif free < FREE_SPACE_WARN:
        results.append(
            warn(space, f"{_human_bytes(free)} livres no disco da pasta de dados.", "Libere espaço em breve.")
        )
    else:
        results.append(ok(space, f"{_human_bytes(free)} livres."))
    return results


def _privacy(data_dir: Path) -> list[CheckResult]:
    """Warn when other users of this computer can read the data folder or its files (they
    hold consumers' documents); posapp tightens them itself the next time it opens them."""
    if os.name != "posix":
        return []
    loose = []
    for path in [data_dir, *sorted(data_dir.glob("*.sqlite3*"))]:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            loose.append(f"{path.name or path} ({mode:o})")
    if not loose:
        return [ok("Privacidade", "A pasta de dados e os bancos só são acessíveis ao usuário do caixa.")]
    return [
        warn(
            "Privacidade",
            "Outros usuários deste computador podem ler: " + ", ".join(loose[:5]) + ".",
            "Abra o posapp uma vez (ele restringe as permissões para 700/600) ou rode "
            f"'chmod -R go-rwx {data_dir}'.",
        )
    ]


# --- journal integrity ----------------------------------------------------------------------


def check_sqlite_file(path: Path, label: str) -> CheckResult:
    """``PRAGMA integrity_check`` on a read-only connection; an absent file is fine."""
    title = label
    if not path.exists():
        return ok(title, f"{path.name} ainda não existe; será criado na primeira venda.")
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=5)
    except sqlite3.Error as exc:
        return fail(
            title, f"Não foi possível abrir {path}: {exc}.", "Verifique as permissões do arquivo e da pasta."
        )
    try:
        rows = db.execute("PRAGMA integrity_check").fetchall()
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        return fail(
            title,
            f"{path} está corrompido ou não é um banco SQLite ({exc}).",
            "Não apague o arquivo: feche o posapp, faça uma cópia dele e chame o suporte.",
        )
    finally:
        db.close()
    # SQLite may pack many findings into one row, one per line, under a "*** in database" banner.
    problems = [
        line.strip()
        for row in rows
        for line in str(row[0]).splitlines()
        if line.strip() and line.strip() != "ok" and not line.startswith("*** in database")
    ]
    if problems:
        shown = "; ".join(problems[:3]) + (" ..." if len(problems) > 3 else "")
        return fail(
            title,
            f"{path} tem {len(problems)} problema(s) de integridade: {shown}",
            "Não apague o arquivo: feche o posapp, faça uma cópia dele e chame o suporte.",
        )
    return ok(title, f"{path} íntegro (esquema v{version}).")


def check_till_identity(journal_path: Path) -> CheckResult:
    """This till's identity (made on the data folder's first start): every reference sent to
    an issuer carries it, so two tills never share one. Read-only; absent until first start."""
    title = "Identidade do caixa"
    if not journal_path.exists():
        return ok(title, "Será criada no primeiro início do caixa.")
    try:
        db = sqlite3.connect(f"{journal_path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'till_id'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        row = None  # an older journal (no meta table yet) or one the integrity check reports
    if row is None:
        return ok(title, "Será criada no próximo início do caixa.")
    return ok(title, f"{row[0]} (vai em toda referência enviada aos emissores).")
