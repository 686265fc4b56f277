"""The indicator tree of a composite indicator, built from a COINr-style meta table.

Pure Python + numpy: no web or database imports. Levels are numbered from 1 (indicators) up
to the index; every node below the top level has exactly one parent on the next level up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from indicator_service.core.i18n import _

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

INDICATOR = "Indicator"
AGGREGATE = "Aggregate"
TREE_TYPES = (INDICATOR, AGGREGATE)


class CompositeError(ValueError):
    """Invalid input for a composite computation; ``errors`` lists ``(loc, msg)`` pairs."""

    def __init__(self, detail: str, errors: Sequence[tuple[list[str | int], str]] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)

    def __str__(self) -> str:
        parts = [self.detail] + [f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in self.errors]
        return "; ".join(parts)


@dataclass(frozen=True)
class MetaRow:
    """One row of the meta table (only Indicator and Aggregate rows belong to the tree)."""

    level: int
    code: str
    direction: float = 1.0
    weight: float = 1.0
    parent: str | None = None
    type: str = INDICATOR
    target: float | None = None
    name: str | None = None
    row: int | None = None  # position in the source (e.g. CSV line), used in error locations


@dataclass(frozen=True)
class Tree:
    """A validated tree. ``levels[l]`` holds the codes of level ``l + 1`` in meta order.

    ``parent_index[l][i]`` is the position, within level ``l + 2``, of the parent of node ``i``
    of level ``l + 1`` (-1 on the top level). ``matrices[l]`` is the dense child → parent weight
    matrix between level ``l + 1`` and level ``l + 2`` (raw weights, 0 where not a child).
    """

    levels: tuple[tuple[str, ...], ...]
    weights: tuple[FloatArray, ...]
    parent_index: tuple[IntArray, ...]
    directions: FloatArray
    targets: FloatArray
    names: dict[str, str] = field(default_factory=dict)

    @property
    def indicators(self) -> tuple[str, ...]:
        return self.levels[0]

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def aggregates(self) -> tuple[str, ...]:
        """Every node above level 1, level by level (the CLI's output columns)."""
        return tuple(code for level in self.levels[1:] for code in level)

    @property
    def roots(self) -> tuple[str, ...]:
        return self.levels[-1]

    def level_of(self, code: str) -> int:
        for i, level in enumerate(self.levels):
            if code in level:
                return i + 1
        raise KeyError(code)

    def matrix(self, level: int, weights: FloatArray | None = None) -> FloatArray:
        """Dense child → parent matrix from ``level`` to ``level + 1`` (1-based ``level``)."""
        children = self.parent_index[level - 1]
        w = self.weights[level - 1] if weights is None else weights
        out = np.zeros((len(children), len(self.levels[level])), dtype=np.float64)
        out[np.arange(len(children)), children] = w
        return out

    def structure(self, level: int) -> FloatArray:
        """0/1 child → parent matrix from ``level`` to ``level + 1``."""
        return self.matrix(level, np.ones(len(self.levels[level - 1]), dtype=np.float64))

    def children(self, level: int) -> list[IntArray]:
        """For each parent on ``level + 1``: the positions of its children on ``level``."""
        parents = self.parent_index[level - 1]
        return [np.flatnonzero(parents == p) for p in range(len(self.levels[level]))]

    def effective_weights(self) -> FloatArray:
        """Indicators × aggregates matrix: the share of each indicator in each aggregate.

        Weights are relative within their parent, so an indicator's effective weight in an
        ancestor is the product of its normalised weights along the path; every column sums to 1.
        """
        blocks: list[FloatArray] = []
        acc = np.eye(len(self.indicators))
        for level in range(1, self.n_levels):
            w = self.matrix(level)
            w = w / w.sum(axis=0, keepdims=True)
            acc = acc @ w
            blocks.append(acc)
        return np.hstack(blocks)


def build_tree(rows: Sequence[MetaRow]) -> Tree:
    """Validate the meta rows and build the tree; every problem is reported at once."""
    errors: list[tuple[list[str | int], str]] = []
    tree_rows = [(i, r) for i, r in enumerate(rows) if r.type in TREE_TYPES]
    by_code: dict[str, MetaRow] = {}
    index: dict[str, int | str] = {}
    for i, r in tree_rows:
        loc: list[str | int] = ["meta", i if r.row is None else r.row]
        if not r.code:
            errors.append(([*loc, "iCode"], _("empty code")))
            continue
        if r.code in by_code:
            errors.append(([*loc, "iCode"], _("duplicate code {code!r}", code=r.code)))
            continue
        by_code[r.code] = r
        index[r.code] = loc[1]
        if r.level < 1:
            errors.append(
                (
                    [*loc, "Level"],
                    _("{code}: level must be ≥ 1, got {level}", code=r.code, level=r.level),
                )
            )
        if (r.type == INDICATOR) != (r.level == 1):
            errors.append(
                ([*loc, "Type"], _("{code}: indicators are exactly the level-1 rows", code=r.code))
            )
        if not (math.isfinite(r.weight) and r.weight > 0):
            errors.append(
                (
                    [*loc, "Weight"],
                    _(
                        "{code}: weight must be positive, got {weight}",
                        code=r.code,
                        weight=r.weight,
                    ),
                )
            )
        if r.direction not in (1.0, -1.0):
            errors.append(
                ([*loc, "Direction"], _("{code}: direction must be 1 or -1", code=r.code))
            )
        if r.target is not None and not math.isfinite(r.target):
            errors.append(([*loc, "Target"], _("{code}: target must be finite", code=r.code)))
    if not by_code:
        raise CompositeError(_("the meta table has no Indicator or Aggregate rows"), errors)
    top = max(r.level for r in by_code.values())
    for code, r in by_code.items():
        loc = ["meta", index[code], "Parent"]
        if r.parent is None:
            if r.level != top:
                errors.append(
                    (
                        loc,
                        _(
                            "{code}: only top-level (level {top}) nodes have no parent",
                            code=code,
                            top=top,
                        ),
                    )
                )
            continue
        parent = by_code.get(r.parent)
        if parent is None:
            errors.append((loc, _("{code}: unknown parent {parent!r}", code=code, parent=r.parent)))
        elif parent.level != r.level + 1:
            errors.append(
                (
                    loc,
                    _(
                        "{code} (level {level}): parent {parent!r} is on "
                        "level {level2}, expected level {value}",
                        code=code,
                        level=r.level,
                        parent=r.parent,
                        level2=parent.level,
                        value=r.level + 1,
                    ),
                )
            )
    errors.extend(_cycles(by_code, index))
    with_children = {r.parent for r in by_code.values() if r.parent is not None}
    for code, r in by_code.items():
        if r.level > 1 and code not in with_children:
            errors.append(
                (["meta", index[code], "iCode"], _("aggregate {code} has no children", code=code))
            )
    if top < 2:
        errors.append((["meta"], _("the tree needs at least one aggregate above the indicators")))
    missing_levels = sorted(set(range(1, top + 1)) - {r.level for r in by_code.values()})
    if missing_levels:
        errors.append(
            (["meta"], _("no nodes on level(s) {missing_levels}", missing_levels=missing_levels))
        )
    if errors:
        raise CompositeError(_("invalid indicator tree"), errors)

    levels = tuple(
        tuple(c for c, r in by_code.items() if r.level == lvl) for lvl in range(1, top + 1)
    )
    position = [{c: i for i, c in enumerate(level)} for level in levels]
    parent_index = tuple(
        np.array(
            [
                position[lvl + 1][p] if (p := by_code[c].parent) is not None else -1
                for c in levels[lvl]
            ],
            dtype=np.intp,
        )
        for lvl in range(top)
    )
    weights = tuple(
        np.array([by_code[c].weight for c in level], dtype=np.float64) for level in levels
    )
    ind = [by_code[c] for c in levels[0]]
    return Tree(
        levels=levels,
        weights=weights,
        parent_index=parent_index,
        directions=np.array([r.direction for r in ind], dtype=np.float64),
        targets=np.array([np.nan if r.target is None else r.target for r in ind], np.float64),
        names={c: r.name for c, r in by_code.items() if r.name},
    )


def _cycles(
    by_code: dict[str, MetaRow], index: dict[str, int | str]
) -> list[tuple[list[str | int], str]]:
    errors: list[tuple[list[str | int], str]] = []
    reported: set[str] = set()
    for start in by_code:
        path: list[str] = []
        seen: set[str] = set()
        code: str | None = start
        while code is not None and code in by_code and code not in seen:
            seen.add(code)
            path.append(code)
            code = by_code[code].parent
        if code is not None and code in seen and code not in reported:
            cycle = path[path.index(code) :]
            reported.update(cycle)
            errors.append(
                (
                    ["meta", index[code], "Parent"],
                    _("cycle in the tree: {value}", value=" → ".join([*cycle, code])),
                )
            )
    return errors
