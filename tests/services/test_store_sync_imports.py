"""A till with ``[store_server]`` starts without importing psycopg: building its service
reads only the série and the store's settings it last pulled (``store_sync.till_config``);
the sync, the back office and the remote cancels load when first used (after the checkout's
first paint, or when a ``posapp store`` command runs). psycopg's import costs a start about
as much CPU as pydantic's.

Each check runs in a fresh interpreter: what this test process already imported says nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CONFIG = """
[printer]
uri = "none"

[store_server]
url = "postgresql://posapp@127.0.0.1:1/posapp"
"""

PROBE = """
import json, sys
from pathlib import Path
from posapp.app import build_service
from posapp.config import load_config

service = build_service(load_config(Path(sys.argv[1])), Path(sys.argv[2]), with_printer=False)
loaded = sorted(m for m in sys.modules if m == "psycopg" or m.startswith("posapp.storeserver"))
print(json.dumps({"serie": service.config.nfce.serie, "loaded": loaded}))
from posapp.services.store_sync import StoreSync  # first use: now it loads
print(json.dumps({"loaded": "psycopg" in sys.modules, "name": StoreSync.__name__}))
"""


def _probe(tmp_path: Path) -> list[dict[str, object]]:
    config = tmp_path / "posapp.toml"
    config.write_text(CONFIG, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(config), str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_store_server_till_builds_its_service_without_psycopg(tmp_path: Path) -> None:
    built, first_use = _probe(tmp_path)
    assert built["loaded"] == []
    assert first_use == {"loaded": True, "name": "StoreSync"}
