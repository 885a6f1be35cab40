"""The map, enforced: import contracts between the packages, no stale imports, and a
docs/architecture.md that cannot silently drift from the code.

Everything is read with :mod:`ast`, never by importing, so every import counts: those at
module level, those inside functions (the composition root imports lazily), those under
``if TYPE_CHECKING:``, relative ones, and by-name lookups such as
``importlib.import_module("posapp.x")`` or the doctor's ``_printing_api("posapp.printing.y")``.
The rules are those of docs/architecture.md §3; change both together.

The lifecycle diagram and the move table of docs/architecture.md §4 are generated from
:data:`posapp.domain.lifecycle._TABLE`; after changing the table, print them with::

    .venv/bin/python -m tests.test_architecture

and paste them into the document (the tests below say which moves are missing or extra).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from posapp.domain import lifecycle
from posapp.domain.lifecycle import ExitCode, SaleState

REPO = Path(__file__).resolve().parents[1]
PACKAGE_DIR = REPO / "posapp"
DOC = REPO / "docs" / "architecture.md"
DOC_NAME = "docs/architecture.md"

# Calls whose string argument names a logger, not a module ("posapp.journal.lock").
LOGGER_CALLS = frozenset({"getLogger"})
_DOTTED = re.compile(r"posapp(?:\.[A-Za-z_]\w*)+")


# -- the source tree as data -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Module:
    name: str  # posapp.journal.store
    path: Path
    is_package: bool  # an __init__.py

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        return self.name if self.is_package else self.name.rpartition(".")[0]

    @property
    def where(self) -> str:
        return self.path.relative_to(REPO).as_posix()


@dataclass(frozen=True, slots=True)
class Reference:
    """One thing a statement imports: ``base`` (a module) and, for ``from base import
    name``, the name taken from it (a submodule or an attribute)."""

    importer: Module
    base: str
    name: str | None
    line: int
    statement: str

    @property
    def target(self) -> str:
        """The most specific module this reference loads (what the rules judge)."""
        if self.name is not None and self.name != "*" and module_path(f"{self.base}.{self.name}"):
            return f"{self.base}.{self.name}"
        return self.base

    @property
    def location(self) -> str:
        return f"{self.importer.where}:{self.line}: {self.statement}"


def is_ours(name: str) -> bool:
    return name == "posapp" or name.startswith("posapp.")


def within(name: str, prefixes: Iterable[str]) -> bool:
    """``name`` is one of ``prefixes`` or inside one of them (``posapp.ui.qt`` is in ``posapp.ui``)."""
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


@cache
def modules() -> tuple[Module, ...]:
    found = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        found.append(Module(".".join(parts[:-1] if is_package else parts), path, is_package))
    return tuple(found)


@cache
def module_path(name: str) -> Path | None:
    """The file of module ``name`` in this checkout, or None if there is none."""
    base = REPO.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def tree_of(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def references_in(module: Module, tree: ast.Module) -> Iterator[Reference]:
    """Every module (ours or not) that ``tree`` imports, wherever the statement sits."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Reference(module, alias.name, None, node.lineno, ast.unparse(node))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield Reference(module, base, alias.name, node.lineno, ast.unparse(node))
        elif isinstance(node, ast.Call) and _call_name(node.func) not in LOGGER_CALLS:
            # By-name lookups: importlib.import_module("posapp.x"), _printing_api("posapp.x.attr").
            for arg in node.args:
                if (
                    isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str)
                    and _DOTTED.fullmatch(arg.value)
                ):
                    text = arg.value
                    if module_path(text) is None and module_path(text.rpartition(".")[0]) is not None:
                        base, _, name = text.rpartition(".")
                        yield Reference(module, base, name, node.lineno, ast.unparse(node))
                    else:
                        yield Reference(module, text, None, node.lineno, ast.unparse(node))


@cache
def all_references() -> tuple[Reference, ...]:
    return tuple(ref for module in modules() for ref in references_in(module, tree_of(module.path)))


def top_level_names(tree: ast.Module) -> tuple[frozenset[str], bool]:
    """The names a module binds at import time, and whether it takes *any* name (a module
    ``__getattr__`` or a star import)."""
    names: set[str] = set()
    open_ended = False

    def visit(body: Sequence[ast.stmt]) -> None:
        nonlocal open_ended
        for stmt in body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(stmt.name)
                open_ended = open_ended or stmt.name == "__getattr__"
            elif isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
            elif isinstance(stmt, ast.Import):
                names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
            elif isinstance(stmt, ast.ImportFrom):
                for alias in stmt.names:
                    if alias.name == "*":
                        open_ended = True
                    names.add(alias.asname or alias.name)
            elif isinstance(stmt, ast.If | ast.For | ast.While):
                visit(stmt.body)
                visit(stmt.orelse)
            elif isinstance(stmt, ast.With):
                visit(stmt.body)
            elif isinstance(stmt, ast.Try):
                visit(stmt.body)
                for handler in stmt.handlers:
                    visit(handler.body)
                visit(stmt.orelse)
                visit(stmt.finalbody)

    visit(tree.body)
    return frozenset(names), open_ended


def unresolved(ref: Reference) -> str | None:
    """Why ``ref`` (one of ours) does not resolve, or None when it does."""
    path = module_path(ref.base)
    if path is None:
        return f"no module {ref.base} (no {ref.base.replace('.', '/')}.py nor .../__init__.py)"
    if ref.name is None or ref.name == "*" or module_path(f"{ref.base}.{ref.name}"):
        return None
    names, open_ended = top_level_names(tree_of(path))
    if ref.name in names or open_ended:
        return None
    return f"{ref.base} has no submodule or top-level name {ref.name!r}"


# -- the rules (docs/architecture.md §3) -------------------------------------------------

ROOT_MODULES = ("posapp.app", "posapp.cli", "posapp.__main__")
QT_MODULES = ("PySide6", "shiboken6", "qasync")
IO_MODULES = (
    "asyncio",
    "concurrent",
    "socket",
    "ssl",
    "selectors",
    "select",
    "subprocess",
    "threading",
    "sqlite3",
    "httpx",
    "httpcore",
    "serial",
    "usb",
    "escpos",
    "pypdfium2",
    *QT_MODULES,
)


@dataclass(frozen=True, slots=True)
class Rule:
    key: str
    text: str
    applies_to: tuple[str, ...]  # the modules judged (a package covers its modules)
    only: tuple[str, ...] | None = None  # of ours, nothing but these may be imported
    never: tuple[str, ...] = ()  # ours or third-party: never imported
    exempt: tuple[str, ...] = ()  # modules the rule does not judge

    def judges(self, module: str) -> bool:
        return within(module, self.applies_to) and not within(module, self.exempt)

    def broken_by(self, target: str) -> bool:
        if within(target, self.never):
            return True
        return self.only is not None and is_ours(target) and not within(target, self.only)


RULES: tuple[Rule, ...] = (
    Rule(
        "domain-is-pure",
        "domain imports nothing of ours but posapp.domain and posapp.errors",
        ("posapp.domain",),
        only=("posapp.domain", "posapp.errors"),
    ),
    Rule(
        "protocol-over-domain",
        "protocol imports only posapp.domain, posapp.errors and itself",
        ("posapp.protocol",),
        only=("posapp.domain", "posapp.errors", "posapp.protocol"),
    ),
    Rule(
        "storage-below-use-cases",
        "journal, catalog and operators never import posapp.fiscal, posapp.services or posapp.ui",
        ("posapp.journal", "posapp.catalog", "posapp.operators"),
        never=("posapp.fiscal", "posapp.services", "posapp.ui"),
    ),
    Rule(
        "printing-knows-no-issuer",
        "printing never imports posapp.fiscal or posapp.ui",
        ("posapp.printing",),
        never=("posapp.fiscal", "posapp.ui"),
    ),
    Rule(
        "devices-over-domain",
        "devices imports only posapp.domain, posapp.errors and itself",
        ("posapp.devices",),
        only=("posapp.domain", "posapp.errors", "posapp.devices"),
    ),
    Rule(
        "ui-through-services",
        "ui never imports posapp.journal, posapp.protocol, posapp.fiscal or posapp.sim",
        ("posapp.ui",),
        never=("posapp.journal", "posapp.protocol", "posapp.fiscal", "posapp.sim"),
    ),
    Rule(
        "sim-keeps-its-own-wire",
        "sim imports only posapp.domain, posapp.errors and itself",
        ("posapp.sim",),
        only=("posapp.domain", "posapp.errors", "posapp.sim"),
    ),
    Rule(
        "root-imports-everything-nothing-imports-root",
        "nothing imports the root (posapp.app, posapp.cli, posapp.__main__) except the root itself",
        ("posapp",),
        never=ROOT_MODULES,
        exempt=ROOT_MODULES,
    ),
    Rule(
        "store-server-below-use-cases",
        "storeserver never imports posapp.services, posapp.ui, posapp.fiscal or posapp.sim",
        ("posapp.storeserver",),
        never=("posapp.services", "posapp.ui", "posapp.fiscal", "posapp.sim"),
    ),
    Rule(
        "psycopg-only-in-storeserver",
        "psycopg (the store server's driver) is imported only by posapp.storeserver",
        ("posapp",),
        never=("psycopg",),
        exempt=("posapp.storeserver",),
    ),
    Rule(
        "qt-only-through-ui-qt",
        "Qt (PySide6, shiboken6, qasync) is imported only by posapp.ui.qt",
        ("posapp",),
        never=QT_MODULES,
        exempt=("posapp.ui.qt",),
    ),
    Rule(
        "core-is-sans-io",
        "domain and protocol are sans-IO: no sockets, event loop, threads, SQLite, HTTP, devices or Qt",
        ("posapp.domain", "posapp.protocol"),
        never=IO_MODULES,
    ),
)


def violations(rule: Rule, references: Iterable[Reference]) -> list[str]:
    found = []
    for ref in references:
        if rule.judges(ref.importer.name) and rule.broken_by(ref.target):
            found.append(f"{ref.importer.name} -> {ref.target} ({rule.text})\n      at {ref.location}")
    return sorted(set(found))


@pytest.mark.parametrize("rule", RULES, ids=[rule.key for rule in RULES])
def test_import_contract(rule: Rule) -> None:
    broken = violations(rule, all_references())
    assert not broken, (
        f"{len(broken)} import(s) break the contract {rule.key!r} ({DOC_NAME} §3):\n  "
        + "\n  ".join(broken)
        + "\nMove the code to where the dependency points the right way (the composition root "
        "posapp/app.py wires concrete classes; the UI goes through posapp.services), or change "
        f"the rule here and in {DOC_NAME} §3 together."
    )


def test_rules_name_real_packages() -> None:
    """A rule whose package was renamed away would pass forever without judging anything."""
    named = {prefix for rule in RULES for prefix in (*rule.applies_to, *(rule.only or ()), *rule.never)}
    missing = sorted(name for name in named if is_ours(name) and module_path(name) is None)
    assert not missing, f"rules name modules that do not exist: {missing}; update RULES and {DOC_NAME} §3"


def test_every_import_of_ours_resolves() -> None:
    """A stale import (a moved or deleted module, a renamed name) fails here, even one
    inside a function or under TYPE_CHECKING that no other test happens to execute."""
    stale = [
        f"{ref.location}\n      -> {why}"
        for ref in all_references()
        if is_ours(ref.base) and (why := unresolved(ref)) is not None
    ]
    assert not stale, f"{len(stale)} import(s) of posapp point at nothing:\n  " + "\n  ".join(stale)


def test_the_checker_sees_every_kind_of_import() -> None:
    """The contracts are only as good as the scanner: a lazy import inside a function, one
    under TYPE_CHECKING, a relative one, ``from package import submodule`` and a by-name
    lookup must all be seen."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "import importlib\n"
        "if TYPE_CHECKING:\n"
        "    from posapp.journal.store import Journal\n"
        "def f() -> None:\n"
        "    from posapp import app\n"
        "    from ..fiscal import router\n"
        "    import posapp.sim.wire\n"
        "    importlib.import_module('posapp.protocol.framing')\n"
        "    lookup('posapp.printing.render.render_danfe')\n"
        "    logging.getLogger('posapp.not.a.module')\n"
    )
    fake = Module("posapp.ui.fake", PACKAGE_DIR / "ui" / "fake.py", is_package=False)
    targets = {ref.target for ref in references_in(fake, ast.parse(source))}
    expected = {
        "posapp.journal.store",
        "posapp.app",
        "posapp.fiscal.router",
        "posapp.sim.wire",
        "posapp.protocol.framing",
        "posapp.printing.render",
    }
    assert expected <= targets, f"the scanner missed {sorted(expected - targets)}"
    assert "posapp.not.a.module" not in targets, "logger names are not imports"
    ui_rule = next(rule for rule in RULES if rule.key == "ui-through-services")
    refs = list(references_in(fake, ast.parse(source)))
    assert len(violations(ui_rule, refs)) == 4  # journal, fiscal, sim, protocol


def test_the_tree_is_scanned() -> None:
    names = {module.name for module in modules()}
    scanned_packages = {module.name for module in modules() if module.is_package}
    assert {"posapp", "posapp.domain", "posapp.services", "posapp.ui"} <= scanned_packages
    assert "posapp.domain.lifecycle" in names and "posapp.journal.store" in names
    assert len(all_references()) > 500


# -- the document cannot drift -------------------------------------------------------------


def doc_text() -> str:
    assert DOC.is_file(), f"{DOC_NAME} is missing: it is the map a new maintainer reads first"
    return DOC.read_text(encoding="utf-8")


def packages() -> list[str]:
    return sorted(p.name for p in PACKAGE_DIR.iterdir() if (p / "__init__.py").is_file())


def root_modules() -> list[str]:
    return sorted(p.name for p in PACKAGE_DIR.glob("*.py") if p.name != "__init__.py")


def test_doc_names_every_package_and_root_module() -> None:
    text = doc_text()
    missing = [f"posapp/{name}" for name in packages() if f"posapp/{name}" not in text]
    missing += [f"posapp/{name}" for name in root_modules() if f"posapp/{name}" not in text]
    assert not missing, (
        f"{DOC_NAME} §2 does not describe {missing}: add a paragraph for each (what it holds, "
        "its key modules) and its place in the import rules of §3"
    )


def test_doc_names_every_state() -> None:
    text = doc_text()
    missing = [state.name for state in SaleState if not re.search(rf"\b{state.name}\b", text)]
    assert not missing, (
        f"{DOC_NAME} §4 does not name the states {missing} of posapp.domain.lifecycle.SaleState"
    )


def test_doc_names_every_exit_code() -> None:
    rows = {tuple(cells[:2]) for cells in table_rows(doc_text())}
    missing = [
        f"| {code.value} | {code.name} |" for code in ExitCode if (str(code.value), code.name) not in rows
    ]
    assert not missing, f"{DOC_NAME} §4 lacks the exit-code rows {missing}"


# The lifecycle, as the document must show it.

Triple = tuple[str, str, str]  # (source, happening, target), by member name
Row = tuple[str, str, str, str, str]  # + pin, notice


def table_moves() -> list[Row]:
    return [
        (m.source.name, m.happening.name, m.target.name, m.pin.name, m.notice.name) for m in lifecycle.moves()
    ]


def table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row, backticks stripped."""
    rows = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|") and not set(stripped) <= set("|-: "):
            rows.append([cell.strip().strip("`").strip() for cell in stripped.strip("|").split("|")])
    return rows


def mermaid_blocks(text: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", text, flags=re.DOTALL)


def diagram_moves(text: str) -> set[Triple]:
    """Edges of the ``stateDiagram-v2`` block: ``SOURCE --> TARGET : HAPPENING, HAPPENING``."""
    blocks = [block for block in mermaid_blocks(text) if block.lstrip().startswith("stateDiagram-v2")]
    assert len(blocks) == 1, f"{DOC_NAME} §4 must hold exactly one ```mermaid stateDiagram-v2 block"
    edges: set[Triple] = set()
    for line in blocks[0].splitlines():
        match = re.fullmatch(r"\s*(\w+)\s*-->\s*(\w+)\s*:\s*(.+?)\s*", line)
        if match:
            source, target, label = match.groups()
            edges.update((source, happening.strip(), target) for happening in label.split(","))
    return edges


def render_diagram() -> str:
    grouped: dict[tuple[str, str], list[str]] = {}
    for source, happening, target, _, _ in table_moves():
        grouped.setdefault((source, target), []).append(happening)
    lines = ["```mermaid", "stateDiagram-v2", f"    [*] --> {SaleState.OPEN.name}"]
    lines += [f"    {s} --> {t} : {', '.join(hs)}" for (s, t), hs in grouped.items()]
    lines += [f"    {state.name} --> [*]" for state in SaleState if lifecycle.is_final(state)]
    return "\n".join([*lines, "```"])


def render_move_table() -> str:
    lines = ["| from | happening | to | pin | notice |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(f"`{cell}`" for cell in row) + " |" for row in table_moves()]
    return "\n".join(lines)


def test_doc_diagram_shows_every_move() -> None:
    shown = diagram_moves(doc_text())
    table = {(s, h, t) for s, h, t, _, _ in table_moves()}
    missing, extra = sorted(table - shown), sorted(shown - table)
    assert not missing and not extra, (
        f"the lifecycle diagram in {DOC_NAME} §4 differs from posapp.domain.lifecycle._TABLE:\n"
        f"  missing (source, happening, target): {missing}\n  not in the table: {extra}\n"
        "Regenerate it with `.venv/bin/python -m tests.test_architecture`."
    )


def test_doc_move_table_is_the_lifecycle_table() -> None:
    names = {state.name for state in SaleState}
    documented = {
        (row[0], row[1], row[2], row[3], row[4])
        for row in table_rows(doc_text())
        if len(row) == 5 and row[0] in names and row[2] in names
    }
    table = set(table_moves())
    missing, extra = sorted(table - documented), sorted(documented - table)
    assert not missing and not extra, (
        f"the move table in {DOC_NAME} §4 differs from posapp.domain.lifecycle._TABLE:\n"
        f"  missing rows: {missing}\n  rows the table does not have: {extra}\n"
        "Regenerate it with `.venv/bin/python -m tests.test_architecture`."
    )


def main() -> None:
    print(render_diagram())
    print()
    print(render_move_table())


if __name__ == "__main__":
    main()
