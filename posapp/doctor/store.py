"""``posapp doctor`` with ``[store_server]``: the server answers, its schema, and the séries the
tills claim (two tills numbering the same série collide at SEFAZ). Loaded only when the
configuration has a store server, so a till alone never imports psycopg."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from posapp.config import Config
from posapp.doctor.result import CheckResult, fail, ok, warn
from posapp.errors import PosappError, user_text
from posapp.storeserver.connection import DriverError, connect, where
from posapp.storeserver.numbering import duplicate_claims
from posapp.storeserver.schema import SCHEMA_VERSION, server_version

TITLE = "Servidor da loja"
SERIES = "Séries dos caixas"


def _till_id(journal_path: Path) -> str | None:
    if not journal_path.exists():
        return None
    db = sqlite3.connect(f"{journal_path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'till_id'").fetchone()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    return str(row[0]) if row else None


def check_store_server(config: Config, journal_path: Path) -> list[CheckResult]:
    server = config.store_server
    assert server is not None
    place = where(server.url)
    try:
        conn = connect(server)
    except PosappError as exc:
        return [
            fail(
                TITLE,
                user_text(exc),
                "Confira a URL, a senha e a rede até o servidor. O caixa continua vendendo sozinho; "
                "as vendas sobem quando o servidor voltar.",
            )
        ]
    results: list[CheckResult] = []
    try:
        version = server_version(conn)
        if version < SCHEMA_VERSION:
            results.append(
                warn(
                    TITLE,
                    f"{place} responde, mas o esquema está na versão {version} "
                    f"(este posapp usa {SCHEMA_VERSION}).",
                    "Rode 'posapp store sync' neste caixa: ele atualiza o esquema do servidor.",
                )
            )
            return results
        results.append(ok(TITLE, f"{place} responde (esquema v{version})."))
        till_id = _till_id(journal_path)
        mine = None
        if till_id is not None:
            row = conn.execute("SELECT serie FROM till_series WHERE till_id = %s", (till_id,)).fetchone()
            mine = int(row[0]) if row else None
        duplicates = duplicate_claims(conn)
    except DriverError as exc:
        results.append(
            fail(TITLE, f"{place} falhou durante a verificação: {exc}", "Tente de novo; veja o log.")
        )
        return results
    finally:
        conn.close()
    for serie, tills in duplicates:
        ours = " (inclusive este caixa)" if till_id in tills else ""
        results.append(
            warn(
                SERIES,
                f"A série {serie} é usada por {len(tills)} caixas{ours}: {', '.join(tills)}. Dois caixas "
                "numerando a mesma série geram notas com o mesmo número.",
                "Rode 'posapp store sync' em cada caixa: o servidor dá a cada um a sua série. Um caixa "
                "que ficou sem servidor usa a série do arquivo de configuração ([nfce] serie): dê-lhe outra.",
            )
        )
    if not duplicates:
        detail = f" Este caixa usa a série {mine}." if mine is not None else ""
        results.append(ok(SERIES, f"Nenhuma série usada por dois caixas.{detail}"))
    return results


SETTINGS = "Configurações da loja"


def check_store_settings(data_dir: Path) -> list[CheckResult]:
    """The store's settings this till uses (posapp/store_settings.py), from its own copy: said
    even when the server is away, since that copy is what the till sells with."""
    from posapp.catalog.storedb import STORE_FILENAME, StoreDB
    from posapp.store_settings import local_state

    if not (data_dir / STORE_FILENAME).exists():
        return [ok(SETTINGS, "Nenhuma recebida ainda: vale o arquivo de configuração deste caixa.")]
    store = StoreDB.in_data_dir(data_dir)
    try:
        state = local_state(store)
    except (PosappError, sqlite3.Error) as exc:
        return [
            warn(SETTINGS, f"Não foi possível ler a cópia local: {exc}", "Veja o log; rode 'posapp doctor'.")
        ]
    finally:
        store.close()
    results: list[CheckResult] = []
    if state.settings is not None:
        results.append(ok(SETTINGS, f"Versão {state.version} em vigor: {state.settings.summary()}."))
    else:
        results.append(ok(SETTINGS, "Nenhuma recebida ainda: vale o arquivo de configuração deste caixa."))
    if state.problem:
        keeps = f"a versão {state.version}" if state.settings is not None else "o seu arquivo de configuração"
        results.append(
            warn(
                SETTINGS,
                f"A versão {state.problem_version} publicada foi recusada neste caixa, que segue com "
                f"{keeps}: {state.problem}",
                "Corrija as configurações da loja e publique de novo ('posapp store publish settings'); "
                "se foram publicadas por um posapp mais novo, atualize este caixa.",
            )
        )
    return results
