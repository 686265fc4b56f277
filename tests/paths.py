"""Locations of test data outside the package."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("INDICATOR_SHARED_DIR", REPO_ROOT.parent / "shared")).resolve()
FIXTURES_DIR = SHARED_DIR / "fixtures"
CATALOG_DIR = REPO_ROOT / "catalog"
