"""The command line builds only the command group a process runs (start-up time), and that
shortcut never hides a command: every group the full parser has is reachable by its name."""

from __future__ import annotations

import sys

import pytest

from posapp import cli


def _commands(parser: object) -> set[str]:
    for action in getattr(parser, "_actions", []):
        if action.dest == "command":
            return set(action.choices or {})
    raise AssertionError("the parser has no commands")


def test_every_top_level_command_is_in_the_group_table() -> None:
    everything = _commands(cli.build_parser(["--help"]))
    assert everything == set(cli._GROUPS)
    assert {"nfce", "fiscal", "backup", "restore", "archive", "store", "catalog", "ibpt"} <= everything


@pytest.mark.parametrize("name", sorted(cli._GROUPS))
def test_a_command_builds_its_own_group_and_parses_as_with_every_group(name: str) -> None:
    only = _commands(cli.build_parser([name]))
    assert name in only
    assert len(only) < len(cli._GROUPS)  # the others were not built


@pytest.mark.parametrize(
    ("argv", "word"),
    [
        (["nfce", "emit", "x.json"], "nfce"),
        (["--data-dir", "store", "nfce", "list"], "nfce"),  # an option's value is not a command
        (["--config", "catalog", "ibpt", "import", "x.csv"], "ibpt"),
        (["--data-dir=/d", "fiscal", "lacunas"], "fiscal"),
        ([], ""),  # the GUI
        (["--version"], ""),
        (["--data-dir", "/d"], ""),
        (["--help"], None),
        (["-h", "nfce"], None),
        (["nfce-typo"], None),  # argparse then lists every command
    ],
)
def test_the_command_word(argv: list[str], word: str | None) -> None:
    assert cli._command_word(argv) == word


def test_an_option_before_the_command_parses_as_before() -> None:
    args = cli.build_parser(["--data-dir", "store", "nfce", "list", "--limit", "3"]).parse_args(
        ["--data-dir", "store", "nfce", "list", "--limit", "3"]
    )
    assert (args.data_dir, args.limit, args.nfce_command, args.store) == ("store", 3, "list", False)
    assert callable(args.func)


def test_an_unknown_command_still_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["nfce-typo"])
    err = capsys.readouterr().err
    assert "invalid choice: 'nfce-typo'" in err
    for name in cli._GROUPS:
        assert f"'{name}'" in err


def test_the_gui_builds_no_command_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["posapp"])
    parser = cli.build_parser()
    assert _commands(parser) == set()
    assert parser.parse_args([]).func is cli.cmd_gui
