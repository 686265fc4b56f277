"""core.console: the CLI's one-line failures (every sub-command raises core.console's
CommandError; no package imports the top-level indicator_service.cli)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

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


def test_report_a_database_without_its_tables() -> None:
    """A database not migrated yet is named so, with the command that creates its tables (it
    was "database unreachable" on SQLite and a traceback on PostgreSQL)."""
    sqlite = OperationalError("SELECT 1", {}, Exception("no such table: api_key"))

    class UndefinedTable(Exception):  # psycopg's errors carry their SQLSTATE
        sqlstate = "42P01"

    postgres = ProgrammingError("SELECT 1", {}, UndefinedTable('relation "api_key" does not exist'))
    for exc in (sqlite, postgres):
        err = io.StringIO()
        assert report(exc, err) == 2
        assert err.getvalue().startswith("error: the database has no tables yet")
        assert "run `indicator-service db upgrade` first" in err.getvalue()
    other = ProgrammingError("SELECT 1", {}, Exception("syntax error"))
    assert report(other, io.StringIO()) is None  # a bug: re-raised


@pytest.mark.parametrize(
    "command",
    [["db", "upgrade"], ["keys", "list"], ["openapi", "--check"]],
)
def test_every_command_reports_invalid_settings_in_one_line(
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """An invalid ``INDICATOR_*`` variable: the variable named, exit 2, in the terminal's
    language (was a pydantic traceback, exit 1, for every command but ``serve``)."""
    from indicator_service.core.settings import get_settings

    monkeypatch.setenv("INDICATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("INDICATOR_DB_POOL_SIZE", "many")
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    get_settings.cache_clear()
    try:
        code = cli.main(command)
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: 配置无效：INDICATOR_DB_POOL_SIZE: "), err
    assert "Traceback" not in err


def test_report_leaves_other_validation_errors_to_the_caller() -> None:
    from pydantic import BaseModel, ValidationError

    class Row(BaseModel):
        value: int

    with pytest.raises(ValidationError) as info:
        Row.model_validate({"value": "x"})
    assert report(info.value, io.StringIO()) is None  # not a setting: a bug, re-raised


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
