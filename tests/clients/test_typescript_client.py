"""TypeScript types generated from the committed openapi/openapi.json with openapi-typescript
(from the npm registry, versions pinned in tests/clients/typescript/package-lock.json) type-check
against a small client module (tests/clients/typescript/use.ts) that uses the operation ids, the
request and receipt models and the typed problem answers.

Skipped where npm is missing, except in CI (CI=1), where that is a failure. It touches no
database, so the PostgreSQL pass of the suite skips it (the SQLite pass runs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import IS_POSTGRES

HERE = Path(__file__).parent / "typescript"
DOCUMENT = Path(__file__).parents[2] / "openapi" / "openapi.json"


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if IS_POSTGRES:
        pytest.skip("database-independent: checked in the SQLite pass")
    if shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail("npm is missing (CI=1): install Node.js and npm")
        pytest.skip("npm is missing")
    work = tmp_path_factory.mktemp("typescript")
    for name in ("package.json", "package-lock.json", "use.ts"):
        shutil.copy(HERE / name, work / name)
    installed = _run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], work)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    generated = _run(
        [
            str(work / "node_modules" / ".bin" / "openapi-typescript"),
            str(DOCUMENT),
            # a field with a default is optional in a request (the default applies)
            "--default-non-nullable",
            "false",
            "-o",
            str(work / "generated" / "schema.d.ts"),
        ],
        work,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    return work


def _tsc(work: Path) -> subprocess.CompletedProcess[str]:
    return _run(
        [
            str(work / "node_modules" / ".bin" / "tsc"),
            "--noEmit",
            "--strict",
            "--target",
            "es2020",
            "--moduleResolution",
            "node",
            "use.ts",
        ],
        work,
    )


def test_generated_types_check(workdir: Path) -> None:
    checked = _tsc(workdir)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_renamed_operation_fails_the_check(workdir: Path) -> None:
    """The check can fail: the same module against a document whose ``score`` is renamed."""
    schema = workdir / "generated" / "schema.d.ts"
    original = schema.read_text("utf-8")
    try:
        schema.write_text(original.replace("    score: {", "    scoreRenamed: {", 1), "utf-8")
        assert _tsc(workdir).returncode != 0
    finally:
        schema.write_text(original, "utf-8")
