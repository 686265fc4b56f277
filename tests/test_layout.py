"""The structure rules of docs/architecture.md that a test can hold (the import layering is
checked by ``lint-imports`` in ``make lint``)."""

from __future__ import annotations

from pathlib import Path

import indicator_service

PACKAGE = Path(indicator_service.__file__).parent
MAX_LINES = 800


def test_no_module_is_over_800_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, f"modules over {MAX_LINES} lines: split them by job ({long})"
