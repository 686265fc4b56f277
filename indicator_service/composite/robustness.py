"""Robustness of composite scores: Monte Carlo over the uncertain assumptions, and
variance-based sensitivity (first-order and total effects, Saltelli 2010 / Jansen 1999).

Uncertain assumptions ("factors"):

- ``weights``: every weight below the top level multiplied by ``U(1 − noise, 1 + noise)``;
- ``normalisation``: one of the given normalisation alternatives, uniformly;
- ``aggregation``: one of the given aggregation alternatives (one per level or one for all);
- ``exclusion``: leave one node of a level out (level 1 = an indicator, level 2 = a group),
  or none, uniformly over those choices.

Replications are evaluated in batches: each level is aggregated for many weight draws at
once (``units × replications`` per parent), NaN-aware by dividing by ``mask @ w``. All draws
come from ``numpy.random.default_rng(seed)`` in a fixed order: the same seed and inputs give
bit-identical results. numpy and scipy only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from indicator_service.composite.engine import (
    Aggregation,
    Bands,
    Normalisation,
    _forward,
    _inverse,
    check_domain,
    check_finite,
    normalise,
    per_level,
    rank_desc,
    thresholds,
)
from indicator_service.composite.tree import CompositeError, FloatArray, IntArray, Tree
from indicator_service.core.i18n import _

FACTORS = ("weights", "normalisation", "aggregation", "exclusion")
QUANTILES = (0.05, 0.5, 0.95)
# Elements of one batch array (units × nodes × replications): bounds memory, keeps cache use.
BATCH_ELEMENTS = 2_000_000


@dataclass(frozen=True)
class Uncertainty:
    """What varies between replications. ``exclusion_level``: 1 indicators, 2 groups, …"""

    weight_noise: float = 0.25
    normalisations: tuple[Normalisation, ...] = (Normalisation(),)
    aggregations: tuple[Aggregation | tuple[Aggregation, ...], ...] = (Aggregation(),)
    exclusion_level: int | None = None

    def factors(self) -> tuple[str, ...]:
        active = (
            self.weight_noise > 0,
            len(self.normalisations) > 1,
            len(self.aggregations) > 1,
            self.exclusion_level is not None,
        )
        return tuple(f for f, on in zip(FACTORS, active, strict=True) if on)


@dataclass(frozen=True)
class Samples:
    """The draws of ``n`` replications: weight multipliers per level, choices per factor."""

    multipliers: tuple[FloatArray, ...]  # level l + 1: (nodes of the level, n)
    normalisation: IntArray
    aggregation: IntArray
    excluded: IntArray  # position in the exclusion level, -1 for none

    @property
    def n(self) -> int:
        return len(self.normalisation)

    def take(self, other: Samples, factor: str) -> Samples:
        """These samples with ``factor`` taken from ``other`` (Saltelli's A_B matrices)."""
        return Samples(
            multipliers=other.multipliers if factor == "weights" else self.multipliers,
            normalisation=other.normalisation if factor == "normalisation" else self.normalisation,
            aggregation=other.aggregation if factor == "aggregation" else self.aggregation,
            excluded=other.excluded if factor == "exclusion" else self.excluded,
        )

    @staticmethod
    def concat(parts: Sequence[Samples]) -> Samples:
        return Samples(
            multipliers=tuple(
                np.hstack([p.multipliers[i] for p in parts])
                for i in range(len(parts[0].multipliers))
            ),
            normalisation=np.concatenate([p.normalisation for p in parts]),
            aggregation=np.concatenate([p.aggregation for p in parts]),
            excluded=np.concatenate([p.excluded for p in parts]),
        )


def validate_uncertainty(tree: Tree, unc: Uncertainty) -> None:
    errors: list[tuple[list[str | int], str]] = []
    if not (np.isfinite(unc.weight_noise) and 0 <= unc.weight_noise < 1):
        errors.append((["weight_noise"], _("must be in [0, 1)")))
    if not unc.normalisations:
        errors.append((["normalisations"], _("at least one alternative")))
    if not unc.aggregations:
        errors.append((["aggregations"], _("at least one alternative")))
    lvl = unc.exclusion_level
    if lvl is not None and not 1 <= lvl < tree.n_levels:
        errors.append(
            (["exclusion_level"], _("must be between 1 and {value}", value=tree.n_levels - 1))
        )
    if errors:
        raise CompositeError(_("invalid uncertainty settings"), errors)


def draw(rng: np.random.Generator, tree: Tree, unc: Uncertainty, n: int) -> Samples:
    """``n`` replications; the order of the draws is fixed (reproducible from the seed)."""
    noise = unc.weight_noise
    multipliers = tuple(
        1.0 + noise * (2.0 * rng.random((len(level), n)) - 1.0) for level in tree.levels[:-1]
    )
    norm = rng.integers(len(unc.normalisations), size=n)
    agg = rng.integers(len(unc.aggregations), size=n)
    if unc.exclusion_level is None:
        excluded = np.full(n, -1, dtype=np.intp)
    else:
        choices = len(tree.levels[unc.exclusion_level - 1]) + 1
        excluded = rng.integers(choices, size=n) - 1
    return Samples(multipliers, norm.astype(np.intp), agg.astype(np.intp), excluded)


def _weights(tree: Tree, unc: Uncertainty, s: Samples, reps: IntArray) -> list[FloatArray]:
    out = []
    for lvl in range(tree.n_levels - 1):
        w = tree.weights[lvl][:, None] * s.multipliers[lvl][:, reps]
        if unc.exclusion_level == lvl + 1:
            ex = s.excluded[reps]
            cols = np.flatnonzero(ex >= 0)
            w[ex[cols], cols] = 0.0
        out.append(w)
    return out


class _Prepared:
    """Per-alternative inputs shared by every replication: normalised data, transforms."""

    def __init__(
        self,
        tree: Tree,
        units: Sequence[str],
        x: FloatArray,
        unc: Uncertainty,
        threshold: float | Mapping[str, float] | None,
    ) -> None:
        validate_uncertainty(tree, unc)
        self.tree, self.units, self.unc = tree, list(units), unc
        self.normalised = [normalise(x, tree, spec) for spec in unc.normalisations]
        self.aggs = [
            per_level(tree, a if isinstance(a, Aggregation) else list(a)) for a in unc.aggregations
        ]
        self.thresholds = thresholds(tree, threshold)
        self.children = [tree.children(lvl) for lvl in range(1, tree.n_levels)]
        self._blocks: dict[tuple[int, str, float], list[tuple[FloatArray, FloatArray | None]]] = {}
        for k, values in enumerate(self.normalised):
            for a, aggs in enumerate(self.aggs):
                try:
                    check_domain(values, aggs[0], self.units, tree.indicators)
                except CompositeError as exc:
                    raise CompositeError(
                        _(
                            "normalisation alternative {k} with "
                            "aggregation alternative {a}: {detail}",
                            k=k,
                            a=a,
                            detail=exc.detail,
                        ),
                        exc.errors,
                    ) from None

    def blocks(self, k: int, agg: Aggregation) -> list[tuple[FloatArray, FloatArray | None]]:
        """Per level-2 parent: transformed children (zeros where missing) and their mask
        (None when no child value is missing)."""
        kind, p = agg.kind
        key = (k, kind, p)
        if key not in self._blocks:
            v = self.normalised[k]
            present = ~np.isnan(v)
            f = np.where(present, _forward(np.where(present, v, 1.0), kind, p), 0.0)
            out: list[tuple[FloatArray, FloatArray | None]] = []
            for idx in self.children[0]:
                m = present[:, idx]
                out.append(
                    (
                        np.ascontiguousarray(f[:, idx]),
                        None if m.all() else np.ascontiguousarray(m, dtype=np.float64),
                    )
                )
            self._blocks[key] = out
        return self._blocks[key]

    def evaluate(self, s: Samples, level: int, position: int) -> FloatArray:
        """Scores of node ``position`` on ``level`` for every replication: (units, n)."""
        return self.evaluate_ranked(s, level, position, ranks=False)[0]

    def evaluate_ranked(
        self, s: Samples, level: int, position: int, *, ranks: bool = True
    ) -> tuple[FloatArray, FloatArray | None]:
        """Scores, and with ``ranks`` the ranks among units, of every replication.

        Ranks are computed batch by batch while the scores are still in cache."""
        out = np.empty((len(self.units), s.n), dtype=np.float64)
        rank_out = np.empty((len(self.units), s.n), dtype=np.float64) if ranks else None
        combos = s.normalisation * len(self.aggs) + s.aggregation
        width = max(len(lv) for lv in self.tree.levels[1:])
        chunk = max(1, BATCH_ELEMENTS // (len(self.units) * width))
        for combo in np.unique(combos):
            reps = np.flatnonzero(combos == combo)
            k, a = divmod(int(combo), len(self.aggs))
            for start in range(0, len(reps), chunk):
                part = reps[start : start + chunk]
                res = self._batch(k, a, s, part, level, position)
                out[:, part] = res
                if rank_out is not None:
                    rank_out[:, part] = rank_desc(res)
        return out, rank_out

    def _batch(
        self, k: int, a: int, s: Samples, reps: IntArray, level: int, position: int
    ) -> FloatArray:
        """Scores of one (normalisation, aggregation) alternative for replications ``reps``.

        Between two levels with the same kind of mean the scores stay in that mean's space
        (logs for the geometric mean, powers for the power means): the inverse transform of
        one level and the forward transform of the next cancel, so neither is computed.
        """
        tree, aggs = self.tree, self.aggs[a]
        w = _weights(tree, self.unc, s, reps)
        kind, p = aggs[0].kind
        keep = level > 2 and aggs[1].kind == (kind, p)
        limit = self.thresholds[0]
        values: list[FloatArray] = []
        for j, ((f, m), idx) in enumerate(
            zip(self.blocks(k, aggs[0]), self.children[0], strict=True)
        ):
            wj = w[0][idx]
            num = f @ wj
            den = (m @ wj) if m is not None else wj.sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                # den = 0 only where every child is missing or weighted 0: num is 0 there too
                mean = num / den
            res = mean if keep else _inverse(mean, kind, p)
            if limit is not None and m is not None:
                avail = m.sum(axis=1) / len(idx)
                res = np.where((avail < limit[j])[:, None], np.nan, res)
            values.append(res)
        space = (kind, p) if keep else ("arithmetic", 1.0)
        for lvl in range(2, level):
            following = aggs[lvl].kind if lvl + 1 < level else None
            values, space = self._up(values, space, lvl, aggs[lvl - 1], w[lvl - 1], reps, following)
        return _inverse(values[position], *space)

    def _up(
        self,
        values: list[FloatArray],
        space: tuple[str, float],
        lvl: int,
        agg: Aggregation,
        w: FloatArray,
        reps: IntArray,
        following: tuple[str, float] | None,
    ) -> tuple[list[FloatArray], tuple[str, float]]:
        """Aggregate the nodes of ``lvl`` (one units × reps array each, in ``space``) one level
        up; the result stays in this mean's space when the ``following`` level uses it too."""
        tree = self.tree
        kind, p = agg.kind
        if space != (kind, p):
            values = [_inverse(v, *space) for v in values]
        strict = kind == "log" or p < 0
        transformed: list[tuple[FloatArray, FloatArray | None]] = []
        for c, v in enumerate(values):
            if kind != "arithmetic" and space != (kind, p):
                bad = (v <= 0) if strict else (v < 0)
                if bad.any():
                    u, r = (int(i) for i in np.argwhere(bad)[0])
                    code = tree.levels[lvl - 1][c]
                    need = "positive" if strict else "non-negative"
                    raise CompositeError(
                        _(
                            "the {label} mean needs {need} values on level {lvl}",
                            label=agg.label,
                            need=need,
                            lvl=lvl,
                        ),
                        [
                            (
                                ["data", self.units[u], code],
                                f"{self.units[u]}, {code} = {v[u, r]!r} in replication "
                                f"{int(reps[r])}",
                            )
                        ],
                    )
            missing = np.isnan(v)
            forward = space != (kind, p)
            if missing.any():
                present = ~missing
                f = np.where(present, _forward(v, kind, p) if forward else v, 0.0)
                transformed.append((f, present.astype(np.float64)))
            else:
                transformed.append((_forward(v, kind, p) if forward else v, None))
        keep = following == (kind, p)
        limit = self.thresholds[lvl - 1]
        out: list[FloatArray] = []
        for j, idx in enumerate(self.children[lvl - 1]):
            num = np.zeros_like(values[0])
            tmp = np.empty_like(values[0])
            # the denominator: a per-replication vector for children without missing values,
            # plus a full matrix only for children with some
            den_vec = np.zeros(values[0].shape[1], dtype=np.float64)
            den_mat: FloatArray | None = None
            count = np.zeros_like(values[0]) if limit is not None else None
            for c in idx:
                f, m = transformed[c]
                np.multiply(f, w[c], out=tmp)
                num += tmp
                if m is None:
                    den_vec += w[c]
                    if count is not None:
                        count += 1.0
                else:
                    den_mat = m * w[c] if den_mat is None else den_mat + m * w[c]
                    if count is not None:
                        count += m
            den = den_vec if den_mat is None else den_mat + den_vec
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = num / den
            res = mean if keep else _inverse(mean, kind, p)
            if limit is not None and count is not None:
                res = np.where(count / len(idx) < limit[j], np.nan, res)
            out.append(res)
        return out, ((kind, p) if keep else ("arithmetic", 1.0))


def _target(tree: Tree, target: str | None) -> tuple[int, int]:
    if target is None:
        if len(tree.roots) != 1:
            raise CompositeError(
                _("the tree has several top nodes: name the target aggregate"),
                [(["target"], f"one of {', '.join(tree.roots)}")],
            )
        target = tree.roots[0]
    if target not in tree.aggregates:
        raise CompositeError(
            _("unknown target aggregate {target!r}", target=target),
            [(["target"], "not an aggregate of the tree")],
        )
    level = tree.level_of(target)
    return level, tree.levels[level - 1].index(target)


def nominal_samples(tree: Tree) -> Samples:
    """One replication with the nominal weights, the first alternatives and nothing left out."""
    return Samples(
        multipliers=tuple(np.ones((len(level), 1)) for level in tree.levels[:-1]),
        normalisation=np.zeros(1, dtype=np.intp),
        aggregation=np.zeros(1, dtype=np.intp),
        excluded=np.full(1, -1, dtype=np.intp),
    )


@dataclass(frozen=True)
class RobustnessResult:
    """Per unit: nominal score and rank, 5th/50th/95th percentiles of score and rank over the
    replications, probability of each grade (last column: no grade), and the draws."""

    units: tuple[str, ...]
    target: str
    seed: int
    nominal_score: FloatArray
    nominal_rank: FloatArray
    score_quantiles: FloatArray  # units × (p5, median, p95)
    rank_quantiles: FloatArray
    grade_labels: tuple[str, ...]
    grade_probability: FloatArray | None  # units × (bands + 1)
    mean_abs_rank_shift: float
    scores: FloatArray  # units × replications
    ranks: FloatArray
    samples: Samples


def _quantiles(a: FloatArray) -> FloatArray:
    q = np.quantile(a, QUANTILES, axis=1) if not np.isnan(a).any() else _nanq(a)
    return np.ascontiguousarray(q.T)


def _nanq(a: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.asarray(np.nanquantile(a, QUANTILES, axis=1), dtype=np.float64)


def monte_carlo(
    tree: Tree,
    units: Sequence[str],
    x: FloatArray,
    *,
    uncertainty: Uncertainty | None = None,
    n: int = 1000,
    seed: int = 0,
    threshold: float | Mapping[str, float] | None = None,
    bands: Bands | None = None,
    target: str | None = None,
) -> RobustnessResult:
    """Run ``n`` replications and summarise each unit's score, rank and grade."""
    unc = uncertainty or Uncertainty()
    if n < 1:
        raise CompositeError(_("at least one replication"), [(["n"], "must be ≥ 1")])
    level, position = _target(tree, target)
    code = tree.levels[level - 1][position]
    prep = _Prepared(tree, units, x, unc, threshold)
    samples = draw(np.random.default_rng(seed), tree, unc, n)
    scores, ranked = prep.evaluate_ranked(samples, level, position)
    assert ranked is not None
    ranks = ranked
    check_finite(scores, units, [code] * scores.shape[1])
    nominal = prep.evaluate(nominal_samples(tree), level, position)[:, 0]
    nominal_rank = rank_desc(nominal)
    probability = None
    labels: tuple[str, ...] = ()
    if bands is not None:
        labels = bands.labels
        idx = bands.index(scores)
        probability = np.stack(
            [np.mean(idx == b, axis=1) for b in [*range(len(labels)), -1]], axis=1
        )
    with np.errstate(invalid="ignore"):
        shift = np.abs(ranks - nominal_rank[:, None])
    return RobustnessResult(
        units=tuple(units),
        target=code,
        seed=seed,
        nominal_score=nominal,
        nominal_rank=nominal_rank,
        score_quantiles=_quantiles(scores),
        rank_quantiles=_quantiles(ranks),
        grade_labels=labels,
        grade_probability=probability,
        mean_abs_rank_shift=float(np.nanmean(shift)) if np.isfinite(shift).any() else np.nan,
        scores=scores,
        ranks=ranks,
        samples=samples,
    )


# --- variance-based sensitivity --------------------------------------------------------------


def sobol_indices(
    f_a: FloatArray, f_b: FloatArray, f_ab: Sequence[FloatArray]
) -> tuple[FloatArray, FloatArray]:
    """First-order (Saltelli 2010) and total (Jansen 1999) indices from the model outputs on
    the sample matrices A, B and A_B^(i), replications on the last axis.

    ``S_i = mean(f(B) (f(A_B^i) − f(A))) / V``, ``ST_i = mean((f(A) − f(A_B^i))²) / (2V)``,
    ``V`` the variance of f over A and B together; f is centred on its mean over A and B
    first. Outputs with zero variance give NaN.
    """
    both = np.concatenate([f_a, f_b], axis=-1)
    var = np.var(both, axis=-1)
    # centring on the mean leaves the estimators unbiased and lowers their variance a lot
    mu = np.mean(both, axis=-1, keepdims=True)
    f_a, f_b = f_a - mu, f_b - mu
    f_ab = [fi - mu for fi in f_ab]
    first = [np.mean(f_b * (fi - f_a), axis=-1) for fi in f_ab]
    total = [0.5 * np.mean((f_a - fi) ** 2, axis=-1) for fi in f_ab]
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.stack([v / np.where(var > 0, var, np.nan) for v in first], axis=-1)
        st = np.stack([v / np.where(var > 0, var, np.nan) for v in total], axis=-1)
    return np.asarray(s, dtype=np.float64), np.asarray(st, dtype=np.float64)


@dataclass(frozen=True)
class SensitivityResult:
    """First-order and total indices per factor: per unit for its score (units × factors), and
    for the mean absolute rank shift against the nominal ranking (one value per factor)."""

    units: tuple[str, ...]
    target: str
    seed: int
    n: int
    factors: tuple[str, ...]
    first_order: FloatArray
    total: FloatArray
    rank_shift_first_order: FloatArray
    rank_shift_total: FloatArray


def sensitivity(
    tree: Tree,
    units: Sequence[str],
    x: FloatArray,
    *,
    uncertainty: Uncertainty | None = None,
    n: int = 500,
    seed: int = 0,
    threshold: float | Mapping[str, float] | None = None,
    target: str | None = None,
) -> SensitivityResult:
    """Variance-based sensitivity with ``n × (k + 2)`` model runs for ``k`` active factors."""
    unc = uncertainty or Uncertainty()
    factors = unc.factors()
    if not factors:
        raise CompositeError(
            _("no uncertain assumption to analyse"),
            [(["uncertainty"], "set weight noise, alternatives or an exclusion level")],
        )
    if n < 2:
        raise CompositeError(_("at least two base samples"), [(["n"], "must be ≥ 2")])
    level, position = _target(tree, target)
    code = tree.levels[level - 1][position]
    prep = _Prepared(tree, units, x, unc, threshold)
    rng = np.random.default_rng(seed)
    a, b = draw(rng, tree, unc, n), draw(rng, tree, unc, n)
    parts = [a, b, *(a.take(b, f) for f in factors)]
    y = prep.evaluate(Samples.concat(parts), level, position)
    check_finite(y, units, [code] * y.shape[1])
    blocks = [y[:, i * n : (i + 1) * n] for i in range(len(parts))]
    s, st = sobol_indices(blocks[0], blocks[1], blocks[2:])
    nominal_rank = rank_desc(prep.evaluate(nominal_samples(tree), level, position)[:, 0])
    with np.errstate(invalid="ignore"):
        shift = np.nanmean(np.abs(rank_desc(y) - nominal_rank[:, None]), axis=0)
    sb = [shift[i * n : (i + 1) * n] for i in range(len(parts))]
    rs, rst = sobol_indices(sb[0], sb[1], sb[2:])
    return SensitivityResult(
        units=tuple(units),
        target=code,
        seed=seed,
        n=n,
        factors=factors,
        first_order=s,
        total=st,
        rank_shift_first_order=rs,
        rank_shift_total=rst,
    )
