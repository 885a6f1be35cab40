"""The simulators share no code with the client they test (issue 11, item 5).

Read with ``ast``, not by importing: every module under posapp/sim, and every posapp module
those reach in turn (posapp.domain, ...), must not import posapp.protocol, posapp.fiscal or
posapp.config. Otherwise a bug in shared code would be agreed on by both ends of a loopback
test and pass.
"""

from __future__ import annotations

import ast
from pathlib import Path

import posapp

ROOT = Path(posapp.__file__).resolve().parent
FORBIDDEN = ("posapp.protocol", "posapp.fiscal", "posapp.config")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_file(name: str) -> Path | None:
    base = ROOT.parent.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imports_of(path: Path) -> set[str]:
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), package)


def imports_in(source: str, package: str) -> set[str]:
    """Every module an import statement names (``from a import b``: a and a.b), with
    relative imports resolved against ``package``."""
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):  # also catches lazy imports inside functions and TYPE_CHECKING
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_the_simulators_import_nothing_of_the_client_even_indirectly() -> None:
    start = sorted((ROOT / "sim").rglob("*.py"))
    assert len(start) > 5
    chains: dict[str, list[str]] = {module_name(p): [module_name(p)] for p in start}
    queue = list(chains)
    offending: list[str] = []
    while queue:
        current = queue.pop()
        path = module_file(current)
        if path is None:
            continue
        for imported in sorted(imports_of(path)):
            for name in with_parents(imported):  # importing a.b.c runs a and a.b too
                if not name.startswith("posapp") or name in chains:
                    continue
                chain = [*chains[current], name]
                if forbidden(name):
                    offending.append(" -> ".join(chain))
                    continue
                if module_file(name) is not None:
                    chains[name] = chain
                    queue.append(name)
    assert offending == []
    assert "posapp.domain" in chains  # the walk does follow imports out of posapp.sim


def test_the_walk_would_notice_a_forbidden_import() -> None:
    source = (
        "from ..protocol import framing\n"
        "import posapp.fiscal.emites\n"
        "def f():\n"
        "    from posapp.config import Config\n"
    )
    names = imports_in(source, "posapp.sim")
    assert {"posapp.protocol.framing", "posapp.fiscal.emites", "posapp.config.Config"} <= names
    assert forbidden("posapp.protocol.framing") and not forbidden("posapp.protocols")
