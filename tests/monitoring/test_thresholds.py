"""Monitoring thresholds are framework data: stated in the seed catalogue, validated by
catalogue validation (file:line), with defaults written once (catalogue.source.MonitoringRules)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from indicator_service.catalogue.source import FrameworkDoc, MonitoringRules
from indicator_service.catalogue.validation import load_catalogue
from indicator_service.catalogue.versioning import content_hash, diff_frameworks
from tests.paths import CATALOG_DIR


def test_seed_self_evaluation_states_its_thresholds() -> None:
    cat = load_catalogue(CATALOG_DIR)
    assert not cat.issues
    docs = {f.framework: f for _, f in cat.frameworks}
    assert docs["SELF-EVAL"].monitoring == MonitoringRules(execution_gap=0.10, miss_tolerance=0.05)
    # the other seed frameworks state none: the defaults apply
    assert docs["PRJ-2020"].monitoring is None
    assert MonitoringRules().model_dump() == {"execution_gap": 0.10, "miss_tolerance": 0.05}


def test_catalogue_validation_names_the_file_and_line_of_bad_thresholds(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, root)
    path = root / "frameworks" / "self_evaluation.yaml"
    text = path.read_text(encoding="utf-8")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith("monitoring:"))
    path.write_text(
        text.replace(
            "monitoring: {execution_gap: 0.10, miss_tolerance: 0.05}",
            "monitoring: {execution_gap: 1.5, miss_tolerance: -0.1, pause_funds: true}",
        ),
        encoding="utf-8",
    )
    issues = load_catalogue(root).issues
    mine = [str(i) for i in issues if "monitoring" in i.message]
    assert len(mine) == 3, issues
    assert all(m.startswith(f"catalog/frameworks/self_evaluation.yaml:{line}:") for m in mine), mine
    assert any("execution_gap" in m for m in mine)
    assert any("miss_tolerance" in m for m in mine)
    assert any("pause_funds" in m for m in mine)


def test_thresholds_change_is_a_minor_version_and_absence_keeps_old_hashes() -> None:
    data = yaml.safe_load((CATALOG_DIR / "frameworks" / "self_evaluation.yaml").read_text())
    with_block = FrameworkDoc.model_validate(data)
    without = FrameworkDoc.model_validate({k: v for k, v in data.items() if k != "monitoring"})
    # a document stored before the field existed keeps its hash
    old = without.model_dump(mode="json", exclude={"version", "monitoring", "reevaluation"})
    assert content_hash(without) == content_hash(old)
    assert content_hash(with_block) != content_hash(without)
    stricter = FrameworkDoc.model_validate(
        {**data, "monitoring": {"execution_gap": 0.05, "miss_tolerance": 0.05}}
    )
    assert diff_frameworks(with_block, stricter).required_bump == "minor"
