"""Region scopes: the Python rule, its SQL form and the region chain agree (pure and SQLite)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from indicator_service.auth.models import ApiKey, Role
from indicator_service.auth.principal import Principal
from indicator_service.auth.schemas import RegionScope
from indicator_service.catalogue.matching import region_chain
from indicator_service.scoring.models import Evaluation
from indicator_service.scoring.ownership import readable_by, region_prefix

TWO = st.integers(1, 99).map(lambda n: f"{n:02d}")
SCOPES = st.one_of(
    st.just("000000"),
    TWO.map(lambda p: f"{p}0000"),
    st.tuples(TWO, TWO).map(lambda pc: f"{pc[0]}{pc[1]}00"),
    st.tuples(TWO, TWO, TWO).map(lambda pcd: "".join(pcd)),
)
# regions of stored evaluations: any 6 digits (the scoring API accepts any), biased towards
# codes near the scopes
REGIONS = st.one_of(
    st.from_regex(r"\A[0-9]{6}\Z"),
    SCOPES,
    st.sampled_from(["330102", "330100", "330000", "330200", "320100", "000000", "330001"]),
)
SCOPE_ADAPTER: TypeAdapter[str] = TypeAdapter(RegionScope)


def evaluator(key_id: int, *regions: str) -> Principal:
    return Principal(key_id=key_id, name="t", role=Role.evaluator, namespaces=("*",),
                     regions=regions)  # fmt: skip


@given(SCOPES)
def test_generated_scopes_are_valid_codes(scope: str) -> None:
    assert SCOPE_ADAPTER.validate_python(scope) == scope


@given(scope=SCOPES, region=REGIONS)
def test_prefix_rule_is_the_region_chain(scope: str, region: str) -> None:
    covered = scope in region_chain(region)
    assert region.startswith(region_prefix(scope)) == covered
    assert evaluator(1, scope).covers_region(region) == covered


@pytest.mark.parametrize(
    ("scope", "region", "covered"),
    [
        ("330000", "330000", True),
        ("330000", "330100", True),
        ("330000", "330102", True),
        ("330100", "330102", True),
        ("330100", "330100", True),
        ("330100", "330000", False),  # a city key does not see the province's own evaluations
        ("330100", "330200", False),
        ("330102", "330100", False),
        ("330102", "330103", False),
        ("330000", "320100", False),
        ("330000", "000000", False),  # nor national ones
        ("000000", "330102", True),
        ("000000", "000000", True),
    ],
)
def test_examples(scope: str, region: str, covered: bool) -> None:
    assert evaluator(1, scope).covers_region(region) is covered


def test_who_may_read() -> None:
    admin = Principal(key_id=9, name="a", role=Role.admin, namespaces=("*",))
    assert admin.may_read_evaluation(None, "330102")  # legacy rows: admins only
    assert admin.may_read_evaluation(5, "110105")
    plain = evaluator(5)
    assert plain.may_read_evaluation(5, "110105")
    assert not plain.may_read_evaluation(6, "110105")
    assert not plain.may_read_evaluation(None, "110105")
    county = evaluator(7, "330102")
    assert county.may_read_evaluation(6, "330102")
    assert not county.may_read_evaluation(None, "330102")
    assert not county.may_read_evaluation(6, "330100")


@pytest.mark.parametrize(
    "code", ["330012", "000100", "3301", "33010a", "٣٣٠١٠٢", "0000000", " 330102", 330102]
)
def test_invalid_scope_codes(code: object) -> None:
    with pytest.raises(ValidationError):
        SCOPE_ADAPTER.validate_python(code)


@pytest.fixture(scope="module")
def memory_engine() -> Iterator[Engine]:
    engine = create_engine("sqlite://")
    tables = [SQLModel.metadata.tables[t] for t in ("api_key", "scoring_evaluation")]
    SQLModel.metadata.create_all(engine, tables=tables)
    yield engine
    engine.dispose()


ROWS = st.lists(
    st.tuples(st.one_of(st.none(), st.integers(1, 4)), REGIONS), min_size=0, max_size=12
)
PRINCIPALS = st.one_of(
    st.builds(
        lambda k, regions: evaluator(k, *sorted(set(regions))),
        st.integers(1, 4),
        st.lists(SCOPES, max_size=3),
    ),
    st.just(Principal(key_id=1, name="a", role=Role.admin, namespaces=("*",))),
)


@settings(max_examples=60, deadline=None)
@given(rows=ROWS, principal=PRINCIPALS)
def test_sql_condition_is_the_rule(
    memory_engine: Engine, rows: list[tuple[int | None, str]], principal: Principal
) -> None:
    """``readable_by`` selects exactly the rows ``Principal.may_read_evaluation`` allows."""
    with Session(memory_engine) as s:
        s.add_all(ApiKey(id=i, prefix=f"{i:012d}", key_hash="h", name="k", role="evaluator",
                         namespaces=["*"]) for i in range(1, 5))  # fmt: skip
        evs = [
            Evaluation(framework_code="F", framework_version="1.0.0", region=region,
                       owner_key_id=owner, input_hash="h", request={}, result={})
            for owner, region in rows
        ]  # fmt: skip
        s.add_all(evs)
        s.flush()
        got = set(s.exec(select(Evaluation.id).where(*readable_by(principal))).all())
        want = {ev.id for ev in evs if principal.may_read_evaluation(ev.owner_key_id, ev.region)}
        assert got == want
        s.rollback()
