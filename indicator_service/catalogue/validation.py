"""Loading and validating the catalogue source (YAML) with file and line in every problem.

``load_catalogue(path)`` reads every ``*.yaml``/``*.yml`` file under ``path`` (or one file),
keeps the start line of every mapping, sequence item and key, validates each document against
the source models and then across documents, and returns the parsed documents together with
*every* problem found (it never stops at the first one).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from indicator_service.catalogue.matching import in_validity
from indicator_service.catalogue.source import FrameworkDoc, IndicatorDef, NamespaceDoc

Loc = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Issue:
    """One problem in the source: ``file:line: message``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class SourceDoc:
    """One YAML document: its data and the line of every path inside it."""

    file: str
    data: Any
    lines: dict[Loc, int]

    def line(self, loc: Sequence[str | int]) -> int:
        """The line of ``loc`` or of its nearest ancestor that has one."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)


@dataclass
class Catalogue:
    """Parsed documents (those that passed their own validation) and all problems found."""

    namespaces: list[tuple[SourceDoc, NamespaceDoc]] = field(default_factory=list)
    frameworks: list[tuple[SourceDoc, FrameworkDoc]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues


# --- YAML with line numbers -------------------------------------------------------------------


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int, first: int) -> None:
        super().__init__(key)
        self.key, self.line, self.first = key, line, first


def parse_yaml(text: str, file: str) -> tuple[SourceDoc | None, list[Issue]]:
    """Parse one YAML document keeping line numbers; duplicate keys are problems."""
    loader = yaml.SafeLoader(text)
    issues: list[Issue] = []
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        return None, [Issue(file, line, f"YAML syntax error: {exc.problem or exc}")]
    except yaml.YAMLError as exc:
        return None, [Issue(file, 1, f"YAML error: {exc}")]
    finally:
        loader.dispose()
    if node is None:
        return None, [Issue(file, 1, "empty document")]
    lines: dict[Loc, int] = {}

    def walk(n: yaml.Node, loc: Loc) -> Any:
        lines.setdefault(loc, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            out: dict[Any, Any] = {}
            seen: dict[Any, int] = {}
            for k_node, v_node in n.value:
                key = loader.construct_object(k_node, deep=True)
                kline = k_node.start_mark.line + 1
                if not isinstance(key, str | int):
                    issues.append(Issue(file, kline, f"mapping key {key!r} must be a string"))
                    continue
                if key in seen:
                    issues.append(
                        Issue(file, kline, f"duplicate key {key!r} (first at line {seen[key]})")
                    )
                    continue
                seen[key] = kline
                lines[(*loc, key)] = kline
                out[key] = walk(v_node, (*loc, key))
            return out
        if isinstance(n, yaml.SequenceNode):
            return [walk(item, (*loc, i)) for i, item in enumerate(n.value)]
        try:
            return loader.construct_object(n, deep=True)
        except yaml.constructor.ConstructorError as exc:
            hint = " (quote the operator: '=')" if getattr(n, "value", None) == "=" else ""
            issues.append(Issue(file, n.start_mark.line + 1, f"bad value: {exc.problem}{hint}"))
            return None

    data = walk(node, ())
    return SourceDoc(file, data, lines), issues


# --- per-document validation ------------------------------------------------------------------


def _pydantic_issues(doc: SourceDoc, exc: ValidationError) -> list[Issue]:
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc) or "document"
        msg = err["msg"].removeprefix("Value error, ")
        out.append(Issue(doc.file, doc.line(loc), f"{where}: {msg}"))
    return out


def validate_document(doc: SourceDoc) -> tuple[NamespaceDoc | FrameworkDoc | None, list[Issue]]:
    data = doc.data
    if not isinstance(data, dict):
        return None, [Issue(doc.file, 1, "a catalogue document must be a mapping")]
    try:
        if "namespace" in data:
            return NamespaceDoc.model_validate(data), []
        if "framework" in data:
            return FrameworkDoc.model_validate(data), []
    except ValidationError as exc:
        return None, _pydantic_issues(doc, exc)
    return None, [
        Issue(doc.file, 1, "unknown document: expected a top-level 'namespace' or 'framework' key")
    ]


# --- cross-document validation ----------------------------------------------------------------


def _find_cycle(parents: Mapping[str, str | None]) -> list[str] | None:
    """The first cycle in a parent map, as a list of codes, or None."""
    done: set[str] = set()
    for start in parents:
        path: list[str] = []
        on_path: set[str] = set()
        cur: str | None = start
        while cur is not None and cur in parents and cur not in done:
            if cur in on_path:
                return [*path[path.index(cur) :], cur]
            path.append(cur)
            on_path.add(cur)
            cur = parents[cur]
        done.update(path)
    return None


def consequence_problems(fw: FrameworkDoc) -> list[tuple[tuple[str | int, ...], str]]:
    """Grade consequences (the bands' recommendation_zh/en) are framework data with their
    source named: a framework that states consequences names the public document
    (consequences_source), and one that names a source states a consequence for every grade."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    stated = [i for i, b in enumerate(fw.bands) if b.recommendation_zh or b.recommendation_en]
    if fw.consequences_source is None:
        if stated:
            out.append(
                (
                    ("bands", stated[0]),
                    "grade consequences need consequences_source naming the public document "
                    "they come from (issuer, title, number, article)",
                )
            )
        return out
    for i, b in enumerate(fw.bands):
        if not (b.recommendation_zh and b.recommendation_en):
            out.append(
                (
                    ("bands", i),
                    f"band {b.grade}: give its consequence (recommendation_zh and "
                    "recommendation_en) from the consequences_source",
                )
            )
    return out


def check_bands(bands: Sequence[Any]) -> list[tuple[int, str]]:
    """Problems of a list of grading bands as (index, message): gapless, non-overlapping,
    covering 0–100, each non-empty."""
    out: list[tuple[int, str]] = []
    if not bands:
        return [(0, "bands: at least one band is required")]
    order = sorted(range(len(bands)), key=lambda i: (bands[i].min, bands[i].max))
    for i in order:
        if not bands[i].min < bands[i].max:
            out.append((i, f"band {bands[i].grade}: min must be below max"))
    grades = [b.grade for b in bands]
    for g in {g for g in grades if grades.count(g) > 1}:
        out.append((grades.index(g), f"bands: grade {g!r} appears twice"))
    first, last = bands[order[0]], bands[order[-1]]
    if first.min != 0:
        out.append(
            (order[0], f"bands must start at 0 (lowest band {first.grade} starts at {first.min:g})")
        )
    if last.max != 100:
        out.append(
            (order[-1], f"bands must end at 100 (highest band {last.grade} ends at {last.max:g})")
        )
    for a, b in itertools.pairwise(order):
        lo, hi = bands[a], bands[b]
        if lo.max < hi.min:
            out.append(
                (
                    b,
                    f"bands: gap between {lo.grade} (max {lo.max:g}) and {hi.grade} "
                    f"(min {hi.min:g})",
                )
            )
        elif lo.max > hi.min:
            out.append((b, f"bands: {lo.grade} and {hi.grade} overlap ({hi.min:g}–{lo.max:g})"))
    return out


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


#: Rule kinds that score a higher actual value higher (for a cost, overspending scores better).
_HIGHER_IS_BETTER = frozenset({"higher_better", "equal", "budget_execution", "rank_table"})


def is_cost_amount(ind: IndicatorDef) -> bool:
    """Whether the indicator is a cost (成本, in class_l1 or class_l2) measured in money (a unit
    with 元: an amount or a unit cost). A cost class rate such as 成本节约率 (%, higher is
    better) measures a saving, not a cost, and is not judged here."""
    return any("成本" in (c or "") for c in (ind.class_l1, ind.class_l2)) and "元" in (
        ind.unit or ""
    )


def overspending_problem(ind: IndicatorDef, rule: Mapping[str, Any] | None) -> str | None:
    """Why ``rule`` rewards overspending on the cost indicator ``ind``, or ``None``.

    A cost (成本) amount must not score a higher cost higher: ``higher_better`` (≥, >),
    ``equal`` (``=`` without a two-sided rule: scored as higher-is-better), deductions that
    only count a shortfall (``deduction``/``step_deduction`` with ``direction: below``) and an
    efficacy table whose 优秀 level is its highest value all do."""
    if not is_cost_amount(ind) or not rule:
        return None
    kind = rule.get("kind")
    head = f"{ind.code} is a cost (成本) indicator but its rule {kind}"
    if kind == "equal":
        return (
            f"{head} scores '=' as higher-is-better, so overspending gets full marks: use "
            "{kind: two_sided} or {kind: band}, or the operator ≤"
        )
    if kind in _HIGHER_IS_BETTER:
        return f"{head} scores a higher cost higher (overspending rewarded): use ≤"
    if (
        kind in ("deduction", "step_deduction")
        and rule.get("direction", "above" if kind == "deduction" else "below") == "below"
    ):
        return f"{head} deducts only below its reference (overspending never loses points)"
    levels = rule.get("levels")
    if (
        kind == "efficacy"
        and isinstance(levels, list)
        and len(levels) == 5
        and levels[0] > levels[-1]
    ):
        return f"{head} has 优秀 as its highest value (overspending rewarded)"
    return None


def _check_namespaces(cat: Catalogue) -> dict[str, tuple[NamespaceDoc, IndicatorDef]]:
    """Namespace-level checks; returns every indicator code → (namespace, definition) of the
    latest loaded version of each namespace (for framework references)."""
    issues = cat.issues
    seen_versions: dict[tuple[str, str], str] = {}
    owner_of_code: dict[str, str] = {}
    # indicator (code) → (namespace doc, def, source doc, index) across ALL loaded documents
    all_defs: dict[tuple[str, str], dict[str, tuple[IndicatorDef, SourceDoc, int]]] = {}
    for src, ns in cat.namespaces:
        key = (ns.namespace, ns.version)
        if key in seen_versions:
            issues.append(
                Issue(
                    src.file,
                    src.line(("version",)),
                    f"namespace {ns.namespace} {ns.version} is also defined in "
                    f"{seen_versions[key]}",
                )
            )
            continue
        seen_versions[key] = src.file
        defs: dict[str, tuple[IndicatorDef, SourceDoc, int]] = {}
        for i, ind in enumerate(ns.indicators):
            if not ind.code.startswith(ns.code_prefix + "-"):
                issues.append(
                    Issue(
                        src.file,
                        src.line(("indicators", i, "code")),
                        f"indicator {ind.code}: code must start with the namespace "
                        f"prefix {ns.code_prefix}-",
                    )
                )
            if ind.code in defs:
                first = defs[ind.code][1].line(("indicators", defs[ind.code][2]))
                issues.append(
                    Issue(
                        src.file,
                        src.line(("indicators", i, "code")),
                        f"duplicate indicator code {ind.code} (first at line {first})",
                    )
                )
                continue
            other = owner_of_code.get(ind.code)
            if other is not None and other != ns.namespace:
                issues.append(
                    Issue(
                        src.file,
                        src.line(("indicators", i, "code")),
                        f"indicator code {ind.code} is already used by namespace {other}",
                    )
                )
            owner_of_code.setdefault(ind.code, ns.namespace)
            defs[ind.code] = (ind, src, i)
            why = overspending_problem(ind, ind.effective_rule())
            if why is not None:
                where = "rule" if ind.rule is not None else "operator"
                issues.append(
                    Issue(src.file, src.line(("indicators", i, where)), f"indicator {why}")
                )
        all_defs[key] = defs
    # parents, levels and cycles (within one namespace version; parents may be in common)
    common = {c: d for (n, _v), ds in all_defs.items() if n == "common" for c, d in ds.items()}
    for (_n, _v), defs in all_defs.items():
        parents: dict[str, str | None] = {}
        for code, (ind, src, i) in defs.items():
            parents[code] = ind.parent
            if ind.parent is None:
                continue
            target = defs.get(ind.parent) or common.get(ind.parent)
            if target is None:
                issues.append(
                    Issue(
                        src.file,
                        src.line(("indicators", i, "parent")),
                        f"indicator {code}: parent {ind.parent} does not exist",
                    )
                )
            elif target[0].level != ind.level - 1 and ind.parent != code:
                issues.append(
                    Issue(
                        src.file,
                        src.line(("indicators", i, "level")),
                        f"indicator {code}: level {ind.level} but parent "
                        f"{ind.parent} has level {target[0].level}",
                    )
                )
        cycle = _find_cycle(parents)
        if cycle:
            ind, src, i = defs[cycle[0]]
            issues.append(
                Issue(
                    src.file,
                    src.line(("indicators", i, "parent")),
                    f"parent cycle: {' → '.join(cycle)}",
                )
            )
    # standards
    for src, ns in cat.namespaces:
        defs = all_defs.get((ns.namespace, ns.version), {})
        keys: dict[str, int] = {}
        for j, st in enumerate(ns.standards):
            line = src.line(("standards", j))
            target = defs.get(st.indicator) or common.get(st.indicator)
            if target is None:
                issues.append(
                    Issue(
                        src.file,
                        src.line(("standards", j, "indicator")),
                        f"standard for unknown indicator {st.indicator}",
                    )
                )
            else:
                ind = target[0]
                if st.unit is not None and ind.unit is not None and st.unit != ind.unit:
                    issues.append(
                        Issue(
                            src.file,
                            src.line(("standards", j, "unit")),
                            f"standard unit {st.unit} differs from indicator "
                            f"{ind.code}'s unit {ind.unit}",
                        )
                    )
            if st.type == "historical" and st.fiscal_year is None:
                issues.append(
                    Issue(
                        src.file,
                        line,
                        f"historical standard for {st.indicator}: needs fiscal_year (the year "
                        "whose actual value it is)",
                    )
                )
            if st.fiscal_year is not None and not in_validity(st, st.fiscal_year):
                issues.append(
                    Issue(
                        src.file,
                        src.line(("standards", j, "fiscal_year")),
                        f"standard for {st.indicator}: fiscal_year {st.fiscal_year} lies outside "
                        f"its validity {st.valid_from or '…'} to {st.valid_to or '…'}",
                    )
                )
            k = st.key()
            if k in keys:
                issues.append(
                    Issue(src.file, line, f"duplicate standard {k} (first at line {keys[k]})")
                )
            keys.setdefault(k, line)
    latest: dict[str, tuple[NamespaceDoc, IndicatorDef]] = {}
    for _src, ns in cat.namespaces:
        for ind in ns.indicators:
            latest[f"{ns.namespace}@{ns.version}:{ind.code}"] = (ns, ind)
    return latest


def _check_framework(
    cat: Catalogue,
    src: SourceDoc,
    fw: FrameworkDoc,
    indicators: Mapping[str, tuple[NamespaceDoc, IndicatorDef]],
) -> None:
    issues = cat.issues
    f = src.file
    for i, msg in check_bands(fw.bands):
        issues.append(Issue(f, src.line(("bands", i)), msg))
    for loc, msg in consequence_problems(fw):
        issues.append(Issue(f, src.line(loc), msg))
    loaded = {(ns.namespace, ns.version) for _s, ns in cat.namespaces}
    for req_ns, version in fw.requires.items():
        if (req_ns, version) not in loaded:
            issues.append(
                Issue(
                    f,
                    src.line(("requires", req_ns)),
                    f"requires {req_ns} {version}, which is not in the catalogue",
                )
            )
    by_code: dict[str, int] = {}
    for i, node in enumerate(fw.nodes):
        if node.code in by_code:
            issues.append(
                Issue(
                    f,
                    src.line(("nodes", i, "code")),
                    f"duplicate node code {node.code} (first at line "
                    f"{src.line(('nodes', by_code[node.code]))})",
                )
            )
            continue
        by_code[node.code] = i
    children: dict[str, list[int]] = {}
    parents: dict[str, str | None] = {}
    for i, node in enumerate(fw.nodes):
        parents.setdefault(node.code, node.parent)
        if node.parent is None:
            continue
        if node.parent not in by_code:
            issues.append(
                Issue(
                    f,
                    src.line(("nodes", i, "parent")),
                    f"node {node.code}: parent {node.parent} does not exist",
                )
            )
            continue
        parent = fw.nodes[by_code[node.parent]]
        children.setdefault(node.parent, []).append(i)
        if parent.level != node.level - 1:
            issues.append(
                Issue(
                    f,
                    src.line(("nodes", i, "level")),
                    f"node {node.code}: level {node.level} but parent {parent.code} "
                    f"has level {parent.level}",
                )
            )
        if parent.indicator is not None:
            issues.append(
                Issue(
                    f,
                    src.line(("nodes", i, "parent")),
                    f"node {node.code}: parent {parent.code} is an indicator leaf",
                )
            )
    cycle = _find_cycle(parents)
    if cycle:
        issues.append(
            Issue(
                f,
                src.line(("nodes", by_code[cycle[0]], "parent")),
                f"parent cycle: {' → '.join(cycle)}",
            )
        )
    top = [n for n in fw.nodes if n.level == 1]
    total = sum(n.points for n in top)
    if not _close(total, 100.0):
        issues.append(
            Issue(
                f,
                src.line(("nodes",)),
                f"level-1 points add up to {total:g}, not 100 "
                f"({', '.join(f'{n.code} {n.points:g}' for n in top)})",
            )
        )
    for code, kids in children.items():
        parent = fw.nodes[by_code[code]]
        s = sum(fw.nodes[k].points for k in kids)
        if parent.open:
            if s > parent.points + 1e-9:
                issues.append(
                    Issue(
                        f,
                        src.line(("nodes", by_code[code], "points")),
                        f"open node {code}: fixed children take {s:g} points, more "
                        f"than its {parent.points:g}",
                    )
                )
        elif not _close(s, parent.points):
            issues.append(
                Issue(
                    f,
                    src.line(("nodes", by_code[code], "points")),
                    f"node {code} has {parent.points:g} points but its children add up to {s:g}",
                )
            )
    for i, node in enumerate(fw.nodes):
        if node.indicator is not None:
            ns_code: str | None = next(
                (n for n, v in fw.requires.items() if f"{n}@{v}:{node.indicator}" in indicators),
                None,
            )
            if ns_code is None:
                issues.append(
                    Issue(
                        f,
                        src.line(("nodes", i, "indicator")),
                        f"node {node.code}: indicator {node.indicator} is not in any "
                        f"required namespace ({', '.join(fw.requires) or 'none'})",
                    )
                )
            else:
                ind = indicators[f"{ns_code}@{fw.requires[ns_code]}:{node.indicator}"][1]
                if ind.effective_rule() is None and node.rule is None:
                    issues.append(
                        Issue(
                            f,
                            src.line(("nodes", i)),
                            f"node {node.code}: indicator {ind.code} has no default "
                            "rule (quantitative_other); give the node a rule",
                        )
                    )
                rule = node.rule if node.rule is not None else ind.effective_rule()
                kind = rule.get("kind") if rule else None
                if node.target_is_minimum and kind != "higher_better":
                    issues.append(
                        Issue(
                            f,
                            src.line(("nodes", i, "target_is_minimum")),
                            f"node {node.code}: target_is_minimum needs a higher-is-better rule "
                            f"(a higher declared target is more demanding), not {kind}",
                        )
                    )
                why = overspending_problem(ind, rule) if node.rule is not None else None
                if why is not None:
                    issues.append(
                        Issue(f, src.line(("nodes", i, "rule")), f"node {node.code}: {why}")
                    )
                if node.standard_type is not None:
                    shown = [
                        (s_src, j)
                        for s_src, ns in cat.namespaces
                        for j, st in enumerate(ns.standards)
                        if st.indicator == node.indicator
                        and st.type == node.standard_type
                        and st.illustrative
                    ]
                    if shown:
                        s_src, j = shown[0]
                        issues.append(
                            Issue(
                                f,
                                src.line(("nodes", i, "standard_type")),
                                f"node {node.code} fixes the {node.standard_type} standard of "
                                f"{node.indicator}, which is illustrative "
                                f"({s_src.file}:{s_src.line(('standards', j))}): a framework "
                                "may only fix values a public document gives",
                            )
                        )
                if kind is not None and (ind.value_type == "qualitative") != (
                    kind == "qualitative"
                ):
                    issues.append(
                        Issue(
                            f,
                            src.line(("nodes", i, "rule") if node.rule else ("nodes", i)),
                            f"node {node.code}: rule {kind} does not fit indicator {ind.code}, "
                            f"which is {ind.value_type}",
                        )
                    )
                if kind == "efficacy" and "levels" not in (rule or {}) and not node.standard_type:
                    issues.append(
                        Issue(
                            f,
                            src.line(("nodes", i)),
                            f"node {node.code}: an efficacy rule without levels needs "
                            "standard_type (the five levels come from that standard)",
                        )
                    )
        elif node.code not in children and not node.open and node.rule is None:
            issues.append(
                Issue(
                    f,
                    src.line(("nodes", i)),
                    f"node {node.code} is a leaf without an indicator or a rule "
                    "(mark class nodes that projects fill with open: true)",
                )
            )
    for j, c in enumerate(fw.constraints):
        missing = [n for n in c.nodes if n not in by_code]
        if missing:
            issues.append(
                Issue(
                    f,
                    src.line(("constraints", j, "nodes")),
                    f"constraint names unknown nodes {', '.join(missing)}",
                )
            )
            continue
        s = sum(fw.nodes[by_code[n]].points for n in c.nodes)
        if s < c.min - 1e-9:
            issues.append(
                Issue(
                    f,
                    src.line(("constraints", j)),
                    f"{' + '.join(c.nodes)} = {s:g} points, below the required {c.min:g}",
                )
            )


def validate_documents(docs: Iterable[SourceDoc], issues: list[Issue] | None = None) -> Catalogue:
    cat = Catalogue(issues=list(issues or []))
    for doc in docs:
        model, problems = validate_document(doc)
        cat.issues.extend(problems)
        if isinstance(model, NamespaceDoc):
            cat.namespaces.append((doc, model))
        elif isinstance(model, FrameworkDoc):
            cat.frameworks.append((doc, model))
    indicators = _check_namespaces(cat)
    seen: dict[tuple[str, str], str] = {}
    for src, fw in cat.frameworks:
        key = (fw.framework, fw.version)
        if key in seen:
            cat.issues.append(
                Issue(
                    src.file,
                    src.line(("version",)),
                    f"framework {fw.framework} {fw.version} is also defined in {seen[key]}",
                )
            )
            continue
        seen[key] = src.file
        _check_framework(cat, src, fw, indicators)
    cat.issues.sort()
    return cat


def source_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def load_catalogue(path: Path) -> Catalogue:
    """Read, parse and validate every YAML file under ``path``."""
    path = Path(path)
    if not path.exists():
        return Catalogue(issues=[Issue(str(path), 0, "no such file or directory")])
    files = source_files(path)
    if not files:
        return Catalogue(issues=[Issue(str(path), 0, "no YAML files found")])
    base = path if path.is_dir() else path.parent
    docs: list[SourceDoc] = []
    issues: list[Issue] = []
    for file in files:
        try:
            name = str(file.relative_to(base.parent))
        except ValueError:
            name = str(file)
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            issues.append(Issue(name, 0, f"cannot read: {exc}"))
            continue
        doc, problems = parse_yaml(text, name)
        issues.extend(problems)
        if doc is not None:
            docs.append(doc)
    return validate_documents(docs, issues)
