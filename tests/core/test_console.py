"""core.console: the CLI's one-line failures (every sub-command raises core.console's
CommandError; no package imports the top-level indicator_service.cli)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from indicator_service import cli
from indicator_service.core.console import CommandError, progress, report
from indicator_service.core.errors import ErrorItem, Unprocessable


def test_report_command_error_service_error_and_database() -> None:
    err = io.StringIO()
    assert report(CommandError("no such file", code=3), err) == 3
    assert err.getvalue() == "error: no such file\n"
    err = io.StringIO()
    item = ErrorItem(loc=["rows", 2], msg="not a number", type="float_parsing")
    exc = Unprocessable("bad rows", errors=[item])
    assert report(exc, err) == 2
    assert err.getvalue() == "error: bad rows\n  rows.2: not a number\n"
    err = io.StringIO()
    down = OperationalError("SELECT 1", {}, Exception("connection refused"))
    assert report(down, err) == 2
    assert "database unreachable: connection refused" in err.getvalue()
    err = io.StringIO()
    assert report(RuntimeError("a bug"), err) is None
    assert err.getvalue() == ""


def test_progress_bar() -> None:
    err = io.StringIO()
    progress(1, 4, err=err)
    assert err.getvalue() == "\rscoring [#######.......................] 1/4"
    progress(4, 4, what="reading", err=err)
    assert err.getvalue().endswith("\rreading [##############################] 4/4\n")


def test_cli_reports_command_errors_of_every_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.CommandError is CommandError
    # scoring.cli (formerly ScoreCommandError) and auth.cli raise the same class
    assert cli.main(["score", str(tmp_path / "missing.csv")]) == 1
    assert capsys.readouterr().err == f"error: {tmp_path / 'missing.csv'}: no such file\n"
    assert cli.main(["keys", "create", "--role", "curator", "--name", "x"]) == 2
    assert "--namespace" in capsys.readouterr().err


def test_cli_unexpected_error_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(_args: object) -> int:
        raise RuntimeError("a bug")

    parser = cli.build_parser()
    args = parser.parse_args(["db", "current"])
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    args.func = boom
    monkeypatch.setattr(parser, "parse_args", lambda _argv=None: args)
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["db", "current"])
