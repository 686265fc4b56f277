"""Composite indicators (OECD/JRC, COINr's method): normalise, aggregate, rank, grade.

A pipeline of pure functions over ``units × indicators`` float64 matrices, each stage kept in
the result so that every number can be traced. NaN means "missing": a missing value drops out
of its group and the remaining weights of the group are rescaled (``(F @ W) / (mask @ W)``).
No web or database imports: numpy and scipy only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import rankdata

from indicator_service.composite.tree import CompositeError, FloatArray, IntArray, Tree
from indicator_service.core.i18n import _

NORMALISATIONS = ("minmax", "zscore", "target", "goalposts", "rank", "prank")
AGGREGATIONS = ("arithmetic", "geometric", "harmonic", "generalised")


@dataclass(frozen=True)
class Normalisation:
    """How each indicator is put on a common scale across units.

    - ``minmax``: ``low + (high - low) (x - min) / (max - min)``; a constant indicator → midpoint.
    - ``zscore``: ``mean + sd (x - x̄) / s`` (sample standard deviation); constant → ``mean``.
    - ``target`` (distance to target, COINr's ``n_dist2targ``): ``(x - min) / (target - min)``,
      or ``(max - x) / (max - target)`` when direction is −1, capped at 1 when ``cap``, mapped
      to ``[low, high]``. Targets come from the meta table unless given in ``targets``.
    - ``goalposts``: ``x`` clipped to ``[lo, hi]`` per indicator, ``(x - lo) / (hi - lo)``
      (reversed for direction −1), mapped to ``[low, high]``.
    - ``rank``: rank among units, 1 = worst, ties averaged.
    - ``prank`` (percentile rank): ``low + (high - low) (rank - 1) / (n - 1)``.

    Direction −1 reverses the indicator (values are multiplied by the direction first, except
    for ``target`` and ``goalposts`` which handle it in their formula).
    """

    method: str = "minmax"
    low: float = 0.0
    high: float = 100.0
    mean: float = 0.0
    sd: float = 1.0
    cap: bool = True
    targets: Mapping[str, float] | None = None
    goalposts: Mapping[str, tuple[float, float]] | None = None

    def __post_init__(self) -> None:
        if self.method not in NORMALISATIONS:
            raise CompositeError(
                _(
                    "unknown normalisation {method!r}; one of {normalisations}",
                    method=self.method,
                    normalisations=", ".join(NORMALISATIONS),
                ),
                [(["normalisation", "method"], "unknown method")],
            )
        if not (np.isfinite(self.low) and np.isfinite(self.high) and self.low < self.high):
            raise CompositeError(
                _("normalisation range must be finite with low < high"),
                [(["normalisation", "low"], f"got [{self.low}, {self.high}]")],
            )
        if not (np.isfinite(self.mean) and np.isfinite(self.sd) and self.sd > 0):
            raise CompositeError(
                _("z-score mean must be finite and sd positive"),
                [(["normalisation", "sd"], f"got mean {self.mean}, sd {self.sd}")],
            )


@dataclass(frozen=True)
class Aggregation:
    """How children are combined into their parent (weights relative within the parent).

    ``arithmetic`` Σwx/Σw; ``geometric`` Π x^(w/Σw); ``harmonic`` Σw / Σ(w/x); ``generalised``
    (power mean) (Σw x^p / Σw)^(1/p), p = 0 being the geometric mean. The geometric, harmonic
    and p ≤ 0 means refuse non-positive values, the p > 0 mean refuses negative ones.
    """

    method: str = "arithmetic"
    p: float = 1.0

    def __post_init__(self) -> None:
        if self.method not in AGGREGATIONS:
            raise CompositeError(
                _(
                    "unknown aggregation {method!r}; one of {aggregations}",
                    method=self.method,
                    aggregations=", ".join(AGGREGATIONS),
                ),
                [(["aggregation", "method"], "unknown method")],
            )
        if not np.isfinite(self.p):
            raise CompositeError(
                _("generalised mean parameter must be finite"),
                [(["aggregation", "p"], "not finite")],
            )

    @property
    def kind(self) -> tuple[str, float]:
        """The canonical form: (``arithmetic`` | ``log`` | ``power``, p)."""
        if self.method == "arithmetic" or (self.method == "generalised" and self.p == 1.0):
            return ("arithmetic", 1.0)
        if self.method == "geometric" or (self.method == "generalised" and self.p == 0.0):
            return ("log", 0.0)
        if self.method == "harmonic":
            return ("power", -1.0)
        return ("power", self.p)

    @property
    def label(self) -> str:
        return f"generalised(p={self.p!r})" if self.method == "generalised" else self.method


@dataclass(frozen=True)
class Bands:
    """Grade bands: band ``i`` is ``[edges[i], edges[i + 1])``, the last one closed."""

    labels: tuple[str, ...]
    edges: tuple[float, ...]

    @classmethod
    def from_ranges(cls, ranges: Sequence[tuple[str, float, float]]) -> Bands:
        """From ``(label, min, max)`` triples, which must be gapless and non-overlapping."""
        ordered = sorted(ranges, key=lambda b: b[1])
        if not ordered:
            raise CompositeError(_("at least one band is required"), [(["bands"], "empty")])
        errors: list[tuple[list[str | int], str]] = []
        labels = [b[0] for b in ordered]
        if len(set(labels)) != len(labels):
            errors.append((["bands"], _("duplicate band labels")))
        for i, (label, lo, hi) in enumerate(ordered):
            if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
                errors.append((["bands", i], _("band {label}: need finite min < max", label=label)))
            if i and ordered[i - 1][2] != lo:
                errors.append((["bands", i], _("gap or overlap before band {label}", label=label)))
        if errors:
            raise CompositeError(_("invalid grade bands"), errors)
        return cls(tuple(labels), (*(b[1] for b in ordered), ordered[-1][2]))

    def index(self, scores: FloatArray) -> IntArray:
        """Band index of each score; -1 for a missing score or one outside every band.

        A score a rounding error outside the scale (100.00000000000001) belongs to its end.
        """
        edges = np.asarray(self.edges)
        tol = 1e-9 * (edges[-1] - edges[0])
        idx = np.searchsorted(edges[1:-1], scores, side="right")
        inside = (scores >= edges[0] - tol) & (scores <= edges[-1] + tol)  # False for NaN
        return np.where(inside, idx, -1).astype(np.intp)

    def grade(self, scores: FloatArray) -> list[str | None]:
        return [self.labels[i] if i >= 0 else None for i in self.index(scores).ravel()]


# --- stage 1: the data matrix ----------------------------------------------------------------


def data_matrix(
    tree: Tree, units: Sequence[str], columns: Mapping[str, Sequence[float] | FloatArray]
) -> FloatArray:
    """``units × indicators`` matrix in tree order; checks codes, lengths and values.

    Columns that are not indicators of the tree are ignored; NaN marks a missing value;
    infinite values, an indicator without a column and an indicator with no data are errors.
    """
    errors: list[tuple[list[str | int], str]] = []
    if not units:
        raise CompositeError(_("the data table has no units"), [(["data", "uCode"], "empty")])
    seen: set[str] = set()
    for i, u in enumerate(units):
        if not u:
            errors.append((["data", i, "uCode"], _("empty unit code")))
        elif u in seen:
            errors.append((["data", i, "uCode"], _("duplicate unit {u!r}", u=u)))
        seen.add(u)
    out = np.empty((len(units), len(tree.indicators)), dtype=np.float64)
    for j, code in enumerate(tree.indicators):
        if code not in columns:
            errors.append(
                (["data", code], _("indicator {code} has no column in the data", code=code))
            )
            continue
        col = np.asarray(columns[code], dtype=np.float64)
        if col.shape != (len(units),):
            errors.append(
                (
                    ["data", code],
                    _("{n_col} values for {n_units} units", n_col=len(col), n_units=len(units)),
                )
            )
            continue
        bad = np.flatnonzero(np.isinf(col))
        if bad.size:
            errors.append(([*["data", code], units[bad[0]]], _("infinite value")))
        if np.isnan(col).all():
            errors.append(
                (["data", code], _("indicator {code} has no data for any unit", code=code))
            )
        out[:, j] = col
    if errors:
        raise CompositeError(_("invalid data table"), errors)
    return out


# --- stage 2: normalisation ------------------------------------------------------------------


def normalise(x: FloatArray, tree: Tree, spec: Normalisation | None = None) -> FloatArray:
    """Normalise each indicator (column) of ``x`` across units; NaN stays NaN."""
    spec = spec or Normalisation()
    d = tree.directions
    span = spec.high - spec.low
    with np.errstate(invalid="ignore", divide="ignore"):
        if spec.method == "minmax":
            v = x * d
            lo, hi = np.nanmin(v, axis=0), np.nanmax(v, axis=0)
            width = hi - lo
            unit = np.where(width > 0, (v - lo) / np.where(width > 0, width, 1.0), 0.5)
            return np.where(np.isnan(v), np.nan, spec.low + span * unit)
        if spec.method == "zscore":
            v = x * d
            mean = np.nanmean(v, axis=0)
            n = np.sum(~np.isnan(v), axis=0)
            sd = np.sqrt(np.nansum((v - mean) ** 2, axis=0) / np.maximum(n - 1, 1))
            z = np.where(sd > 0, (v - mean) / np.where(sd > 0, sd, 1.0), 0.0)
            return np.where(np.isnan(v), np.nan, spec.mean + spec.sd * z)
        if spec.method in ("rank", "prank"):
            r = rankdata(x * d, method="average", axis=0, nan_policy="omit")
            if spec.method == "rank":
                return np.asarray(r, dtype=np.float64)
            n = np.sum(~np.isnan(x), axis=0)
            frac = np.where(n > 1, (r - 1) / np.maximum(n - 1, 1), 0.5)
            return np.where(np.isnan(x), np.nan, spec.low + span * frac)
        if spec.method == "target":
            return _distance_to_target(x, tree, spec)
        return _goalposts(x, tree, spec)


def _distance_to_target(x: FloatArray, tree: Tree, spec: Normalisation) -> FloatArray:
    targets = tree.targets.copy()
    errors: list[tuple[list[str | int], str]] = []
    for code, t in (spec.targets or {}).items():
        if code not in tree.indicators:
            errors.append((["normalisation", "targets", code], _("not an indicator of the tree")))
        elif not np.isfinite(t):
            errors.append((["normalisation", "targets", code], _("target must be finite")))
        else:
            targets[tree.indicators.index(code)] = t
    lo, hi = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
    up = tree.directions > 0
    denom = np.where(up, targets - lo, hi - targets)
    for j, code in enumerate(tree.indicators):
        if np.isnan(targets[j]):
            errors.append(
                (["normalisation", "targets", code], _("{code} has no target", code=code))
            )
        elif denom[j] <= 0:
            worst = "minimum" if up[j] else "maximum"
            errors.append(
                (
                    ["normalisation", "targets", code],
                    _(
                        "{code}: target {targets!r} does not improve on the {worst} value",
                        code=code,
                        targets=targets[j],
                        worst=worst,
                    ),
                )
            )
    if errors:
        raise CompositeError(_("distance to target needs a usable target per indicator"), errors)
    ratio = np.where(up, x - lo, hi - x) / denom
    if spec.cap:
        ratio = np.minimum(ratio, 1.0)
    return np.asarray(spec.low + (spec.high - spec.low) * ratio, dtype=np.float64)


def _goalposts(x: FloatArray, tree: Tree, spec: Normalisation) -> FloatArray:
    posts = spec.goalposts or {}
    errors: list[tuple[list[str | int], str]] = []
    lo = np.empty(len(tree.indicators))
    hi = np.empty(len(tree.indicators))
    for code in posts:
        if code not in tree.indicators:
            errors.append((["normalisation", "goalposts", code], _("not an indicator of the tree")))
    for j, code in enumerate(tree.indicators):
        if code not in posts:
            errors.append(
                (["normalisation", "goalposts", code], _("{code} has no goalposts", code=code))
            )
            continue
        lo[j], hi[j] = posts[code]
        if not (np.isfinite(lo[j]) and np.isfinite(hi[j]) and lo[j] < hi[j]):
            errors.append((["normalisation", "goalposts", code], _("need finite lower < upper")))
    if errors:
        raise CompositeError(_("goalposts need finite bounds lower < upper per indicator"), errors)
    c = np.clip(x, lo, hi)
    frac = np.where(tree.directions > 0, c - lo, hi - c) / (hi - lo)
    return np.asarray(spec.low + (spec.high - spec.low) * frac, dtype=np.float64)


# --- stage 3: aggregation --------------------------------------------------------------------


def check_domain(
    values: FloatArray, agg: Aggregation, units: Sequence[str], codes: Sequence[str]
) -> None:
    """Refuse values outside the mean's domain, naming the first unit and node."""
    kind, p = agg.kind
    if kind == "arithmetic":
        return
    strict = kind == "log" or p < 0
    bad = (values <= 0) if strict else (values < 0)
    if not bad.any():
        return
    where = np.argwhere(bad)
    u, c = int(where[0][0]), int(where[0][1])
    need = "positive" if strict else "non-negative"
    hint = " (normalise with min-max to [1, 100] to avoid zeros)" if strict else ""
    raise CompositeError(
        _(
            "the {label} mean needs {need} values: {n_where} value(s) are not{hint}",
            label=agg.label,
            need=need,
            n_where=len(where),
            hint=hint,
        ),
        [(["data", units[u], codes[c]], f"{units[u]}, {codes[c]} = {values[u, c]!r}")],
    )


def _forward(values: FloatArray, kind: str, p: float) -> FloatArray:
    if kind == "arithmetic":
        return values
    if kind == "log":
        with np.errstate(divide="ignore"):
            return np.log(values)
    with np.errstate(divide="ignore", over="ignore"):
        out = np.asarray(values**p, dtype=np.float64)
    if np.isinf(out).any():
        raise CompositeError(
            _(
                "numeric overflow: values to the power {p!r} exceed float64; use "
                "a smaller normalisation scale or mean parameter",
                p=p,
            ),
            [(["aggregation", "p"], "too large for the values' scale")],
        )
    return out


def _inverse(values: FloatArray, kind: str, p: float) -> FloatArray:
    if kind == "arithmetic":
        return values
    if kind == "log":
        return np.exp(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(values ** (1.0 / p), dtype=np.float64)


def aggregate(
    values: FloatArray,
    weights: FloatArray,
    structure: FloatArray,
    agg: Aggregation,
    threshold: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """One level up: ``values`` (units × children), ``weights`` the dense child → parent matrix.

    Missing children drop out and the remaining weights of the group are rescaled. Returns the
    parent scores and the fraction of children with data; a parent whose fraction is below its
    ``threshold`` is NaN. Call :func:`check_domain` first for non-arithmetic means.
    """
    kind, p = agg.kind
    present = ~np.isnan(values)
    mask = present.astype(np.float64)
    f = np.where(present, _forward(np.where(present, values, 1.0), kind, p), 0.0)
    num = f @ weights
    den = mask @ weights
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    out = _inverse(mean, kind, p)
    availability = (mask @ structure) / structure.sum(axis=0)
    if threshold is not None:
        out = np.where(availability < threshold, np.nan, out)
    return np.asarray(out, dtype=np.float64), np.asarray(availability, dtype=np.float64)


def check_finite(scores: FloatArray, units: Sequence[str], codes: Sequence[str]) -> None:
    """Refuse overflowed results (e.g. a power mean with a large p on a large scale)."""
    bad = np.isinf(scores)
    if bad.any():
        u, c = (int(i) for i in np.argwhere(bad)[0])
        raise CompositeError(
            _("numeric overflow: use a smaller normalisation scale or mean parameter"),
            [(["data", units[u], codes[c]], f"{units[u]}, {codes[c]} overflows float64")],
        )


def rank_desc(scores: FloatArray) -> FloatArray:
    """Rank 1 = highest score, ties share the best rank ("min"); NaN stays NaN. Per column.

    One sort per column on a transposed, contiguous copy (much faster than a strided sort on
    ``units × replications`` matrices).
    """
    a = np.asarray(scores, dtype=np.float64)
    if a.ndim == 1:
        return rank_desc(a[:, None])[:, 0]
    t = np.ascontiguousarray(-a.T)
    order = np.argsort(t, axis=1)  # NaN sorts last
    ordered = np.take_along_axis(t, order, axis=1)
    first = np.zeros(t.shape, dtype=np.intp)
    positions = np.arange(t.shape[1], dtype=np.intp)
    new_value = np.ones(t.shape, dtype=bool)
    new_value[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    np.copyto(first, positions, where=new_value)
    np.maximum.accumulate(first, axis=1, out=first)
    ranks = (first + 1).astype(np.float64)
    ranks[np.isnan(ordered)] = np.nan
    out = np.empty_like(t)
    np.put_along_axis(out, order, ranks, axis=1)
    return np.ascontiguousarray(out.T)


def per_level(
    tree: Tree, value: Aggregation | Sequence[Aggregation] | None
) -> tuple[Aggregation, ...]:
    """One aggregation per level above the indicators."""
    n = tree.n_levels - 1
    if value is None:
        return (Aggregation(),) * n
    if isinstance(value, Aggregation):
        return (value,) * n
    if len(value) != n:
        raise CompositeError(
            _("give one aggregation, or one per level above the indicators ({n})", n=n),
            [(["aggregation"], f"got {len(value)}")],
        )
    return tuple(value)


def thresholds(tree: Tree, value: float | Mapping[str, float] | None) -> list[FloatArray | None]:
    """Data-availability threshold per aggregate node, level by level (None = no threshold)."""
    if value is None:
        return [None] * (tree.n_levels - 1)
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(tree.aggregates))
        if unknown:
            raise CompositeError(
                _("availability thresholds name unknown aggregates"),
                [(["threshold", c], "not an aggregate of the tree") for c in unknown],
            )
        out: list[FloatArray | None] = []
        for level in tree.levels[1:]:
            out.append(np.array([value.get(c, 0.0) for c in level], dtype=np.float64))
        _check_fractions(np.concatenate([a for a in out if a is not None]))
        return out
    _check_fractions(np.array([value]))
    return [np.full(len(level), value, dtype=np.float64) for level in tree.levels[1:]]


def _check_fractions(values: FloatArray) -> None:
    if not (np.all(np.isfinite(values)) and np.all((values >= 0) & (values <= 1))):
        raise CompositeError(
            _("availability thresholds are fractions in [0, 1]"), [(["threshold"], "out of range")]
        )


# --- the pipeline ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CompositeResult:
    """Every stage of a run. Aggregate columns follow ``tree.aggregates``."""

    tree: Tree
    units: tuple[str, ...]
    raw: FloatArray
    normalised: FloatArray
    scores: FloatArray
    availability: FloatArray
    indicator_ranks: FloatArray
    ranks: FloatArray
    effective_weights: FloatArray
    grades: list[list[str | None]] | None
    parameters: dict[str, Any] = field(default_factory=dict)

    def column(self, code: str) -> FloatArray:
        return np.asarray(self.scores[:, self.tree.aggregates.index(code)])


def compute(
    tree: Tree,
    units: Sequence[str],
    x: FloatArray,
    *,
    normalisation: Normalisation | None = None,
    aggregation: Aggregation | Sequence[Aggregation] | None = None,
    threshold: float | Mapping[str, float] | None = None,
    bands: Bands | None = None,
) -> CompositeResult:
    """Normalise ``x`` (units × indicators, tree order) and aggregate it up the tree."""
    normalisation = normalisation or Normalisation()
    aggs = per_level(tree, aggregation)
    limits = thresholds(tree, threshold)
    normalised = normalise(x, tree, normalisation)
    values = normalised
    scores: list[FloatArray] = []
    availability: list[FloatArray] = []
    for level in range(1, tree.n_levels):
        check_domain(values, aggs[level - 1], units, tree.levels[level - 1])
        out, avail = aggregate(
            values, tree.matrix(level), tree.structure(level), aggs[level - 1], limits[level - 1]
        )
        scores.append(out)
        availability.append(avail)
        values = out
    all_scores = np.hstack(scores)
    check_finite(all_scores, units, tree.aggregates)
    grades = (
        [bands.grade(all_scores[:, j]) for j in range(all_scores.shape[1])]
        if bands is not None
        else None
    )
    return CompositeResult(
        tree=tree,
        units=tuple(units),
        raw=x,
        normalised=normalised,
        scores=all_scores,
        availability=np.hstack(availability),
        indicator_ranks=rank_desc(normalised),
        ranks=rank_desc(all_scores),
        effective_weights=tree.effective_weights(),
        grades=grades,
        parameters={
            "normalisation": normalisation,
            "aggregation": aggs,
            "threshold": threshold,
            "bands": bands,
        },
    )
