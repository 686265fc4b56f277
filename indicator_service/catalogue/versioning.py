"""Versions, content hashes and diffs of namespace and framework documents (pure code).

* Versions are ``MAJOR.MINOR.PATCH`` with an optional ``-draft`` pre-release.
* The canonical JSON of a document is its JSON dump with sorted keys, no insignificant
  whitespace, UTF-8, *without* the ``version`` label; its SHA-256 is the content hash. Two
  versions with the same content therefore have the same hash (used to make re-imports no-ops).
* :func:`diff_namespaces` / :func:`diff_frameworks` list added, removed and changed fields per
  indicator, standard or node and classify each change: text-only → patch, additions → minor,
  removals, re-weighting, changed standards, rules, bands or policies → major.
  :func:`check_bump` refuses a new version number whose bump is smaller than required.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from indicator_service.catalogue.source import VERSION_RE, FrameworkDoc, NamespaceDoc
from indicator_service.core.i18n import ENGLISH, N_, _, gettext, localized
from indicator_service.rules.labels import label

Bump = Literal["none", "patch", "minor", "major"]
BUMP_ORDER: dict[str, int] = {"none": 0, "patch": 1, "minor": 2, "major": 3}
DRAFT_SUFFIX = "-draft"


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int
    draft: bool = False

    @classmethod
    def parse(cls, text: str) -> Version:
        m = VERSION_RE.match(text)
        if not m:
            raise ValueError(
                _("invalid version {text!r}: expected MAJOR.MINOR.PATCH[-draft]", text=text)
            )
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4) is not None)

    @property
    def release(self) -> Version:
        return Version(self.major, self.minor, self.patch, False)

    def sort_key(self) -> tuple[int, int, int, int]:
        """Drafts sort before their release (SemVer pre-release rule)."""
        return (self.major, self.minor, self.patch, 0 if self.draft else 1)

    def bump(self, level: Bump) -> Version:
        if level == "major":
            return Version(self.major + 1, 0, 0)
        if level == "minor":
            return Version(self.major, self.minor + 1, 0)
        if level == "patch":
            return Version(self.major, self.minor, self.patch + 1)
        return self.release

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}{DRAFT_SUFFIX if self.draft else ''}"


def is_draft(version: str) -> bool:
    return Version.parse(version).draft


def version_sort_key(version: str) -> tuple[int, int, int, int]:
    return Version.parse(version).sort_key()


def bump_between(old: str, new: str) -> Bump:
    """The bump that ``new`` (its release number) makes over the published ``old``."""
    a, b = Version.parse(old).release, Version.parse(new).release
    if b.major > a.major:
        return "major"
    if b.major == a.major and b.minor > a.minor:
        return "minor"
    if (b.major, b.minor) == (a.major, a.minor) and b.patch > a.patch:
        return "patch"
    return "none"


# --- canonical form and hash -------------------------------------------------------------------


def document_content(doc: NamespaceDoc | FrameworkDoc) -> dict[str, Any]:
    """The document as JSON-able data, without its version label (and without fields added
    later while they are unset, so that stored documents keep their content hash)."""
    data: dict[str, Any] = doc.model_dump(mode="json", exclude={"version"})
    if data.get("consequences_source", 0) is None:
        del data["consequences_source"]
    if data.get("level_synonyms", 0) is None:  # added later: absent keeps earlier hashes
        del data["level_synonyms"]
    if data.get("monitoring", 0) is None:  # added later: absent keeps earlier hashes
        del data["monitoring"]
    if data.get("target_review", 0) is None:  # added later: absent keeps earlier hashes
        del data["target_review"]
    if data.get("reevaluation", 0) is None:  # added later: absent keeps earlier hashes
        del data["reevaluation"]
    return data


def canonical_json(content: Mapping[str, Any]) -> bytes:
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def content_hash(doc: NamespaceDoc | FrameworkDoc | Mapping[str, Any]) -> str:
    content = doc if isinstance(doc, Mapping) else document_content(doc)
    return hashlib.sha256(canonical_json(content)).hexdigest()


# --- diffs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Change:
    entity: Literal["namespace", "framework", "indicator", "standard", "node"]
    key: str
    op: Literal["added", "removed", "changed"]
    bump: Bump
    reason: str
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class Diff:
    kind: Literal["namespace", "framework"]
    code: str
    from_version: str
    to_version: str
    changes: tuple[Change, ...] = field(default_factory=tuple)

    @property
    def required_bump(self) -> Bump:
        best: Bump = "none"
        for c in self.changes:
            if BUMP_ORDER[c.bump] > BUMP_ORDER[best]:
                best = c.bump
        return best

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "code": self.code,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "required_bump": self.required_bump,
            "changes": [
                {
                    "entity": c.entity,
                    "key": c.key,
                    "op": c.op,
                    "bump": c.bump,
                    "reason": c.reason,
                    "fields": [{"field": f.field, "old": f.old, "new": f.new} for f in c.fields],
                }
                for c in self.changes
            ],
        }


# Fields whose change is text only (patch). Everything not listed for an entity is "meaning"
# (major) unless listed in _MINOR_FIELDS.
_TEXT_FIELDS: dict[str, frozenset[str]] = {
    "namespace": frozenset({"name_zh", "name_en", "owner", "description", "source"}),
    "framework": frozenset({"name_zh", "name_en", "description", "source"}),
    "indicator": frozenset(
        {
            "name_zh",
            "name_en",
            "explanation",
            "formula",
            "data_source",
            "collection_method",
            "source",
            "class_l1",
            "class_l2",
        }
    ),
    "standard": frozenset({"derivation", "source"}),
    "node": frozenset({"name_zh", "name_en", "note"}),
}
# Classification metadata: changing it does not change any score (minor).
_MINOR_FIELDS: dict[str, frozenset[str]] = {
    "indicator": frozenset({"tags"}),
    # words a form may write for a level: they change how forms are read, not how a request
    # scores; monitoring thresholds change which in-year warnings are raised, the
    # target-review rules how target tables are reviewed and the distortion rule of
    # re-evaluations (自评失真) which differences are flagged: no score changes
    "framework": frozenset({"level_synonyms", "monitoring", "target_review", "reevaluation"}),
}
_MAJOR_REASON: dict[str, str] = {
    "points": N_("re-weighting"),
    "rule": N_("changed rule"),
    "bands": N_("changed grading bands"),
    "missing_policy": N_("changed missing-value policy"),
    "not_applicable_policy": N_("changed not-applicable policy"),
    "rule_variants": N_("changed rule variants"),
    "constraints": N_("changed points constraints"),
    "requires": N_("changed namespace requirements"),
}


def _field_changes(
    old: Mapping[str, Any], new: Mapping[str, Any], skip: Sequence[str]
) -> list[FieldChange]:
    keys = sorted((set(old) | set(new)) - set(skip))
    return [FieldChange(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k)]


def _classify(entity: str, changes: Sequence[FieldChange]) -> tuple[Bump, str]:
    """The bump a changed entity needs and why (the ``reason``: English, language-neutral; its
    words in the language asked are :func:`change_reason`)."""
    fields = [c.field for c in changes]
    text = _TEXT_FIELDS.get(entity, frozenset())
    minor = _MINOR_FIELDS.get(entity, frozenset())
    if any(f not in text and f not in minor for f in fields):
        bump: Bump = "major"
    elif any(f in minor for f in fields):
        bump = "minor"
    else:
        bump = "patch"
    return bump, change_reason(entity, "changed", fields, ENGLISH, field_words=False)


def change_reason(
    entity: str,
    op: str,
    fields: Sequence[str],
    lang: str | None = None,
    *,
    field_words: bool = True,
) -> str:
    """Why a change of ``entity`` needs its bump, in words in ``lang`` (default: the current
    request's language), the fields named in words (``field_words``; without, by their names:
    in English that is the change's language-neutral ``reason``)."""

    def named(f: str) -> str:
        return (label("field", f, lang) or f) if field_words else f

    entity_words = label("catalogue_entity", entity, lang) or entity
    if op == "added":
        return gettext("{entity} added", lang).format(entity=entity_words)
    if op == "removed":
        return gettext("{entity} removed", lang).format(entity=entity_words)
    text = _TEXT_FIELDS.get(entity, frozenset())
    minor = _MINOR_FIELDS.get(entity, frozenset())
    major = [f for f in fields if f not in text and f not in minor]
    comma = localized(", ", "、", lang)
    if major and entity == "standard":
        return gettext("changed standard ({fields})", lang).format(
            fields=comma.join(named(f) for f in major)
        )
    if major:
        reasons = sorted(
            {
                gettext(_MAJOR_REASON[f], lang)
                if f in _MAJOR_REASON
                else gettext("changed {field}", lang).format(field=named(f))
                for f in major
            }
        )
        return localized("; ", "；", lang).join(reasons)
    if any(f in minor for f in fields):
        tags = gettext("classification tags", lang)
        names = sorted({tags if f == "tags" else named(f) for f in fields})
        return gettext("changed {fields}", lang).format(fields=comma.join(names))
    return gettext("text-only change ({fields})", lang).format(
        fields=comma.join(named(f) for f in fields)
    )


def _diff_rows(
    entity: Literal["indicator", "standard", "node"],
    old: Mapping[str, Mapping[str, Any]],
    new: Mapping[str, Mapping[str, Any]],
) -> list[Change]:
    out: list[Change] = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            reason = change_reason(entity, "added", (), ENGLISH)
            out.append(Change(entity, key, "added", "minor", reason))
        elif key not in new:
            reason = change_reason(entity, "removed", (), ENGLISH)
            out.append(Change(entity, key, "removed", "major", reason))
        else:
            fc = _field_changes(old[key], new[key], ())
            if fc:
                bump, reason = _classify(entity, fc)
                out.append(Change(entity, key, "changed", bump, reason, tuple(fc)))
    return out


def _top_change(
    entity: Literal["namespace", "framework"],
    code: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    lists: Sequence[str],
) -> list[Change]:
    fc = _field_changes(old, new, ("version", *lists))
    if not fc:
        return []
    bump, reason = _classify(entity, fc)
    return [Change(entity, code, "changed", bump, reason, tuple(fc))]


def diff_namespaces(old: NamespaceDoc, new: NamespaceDoc) -> Diff:
    a, b = document_content(old), document_content(new)
    changes = _top_change("namespace", new.namespace, a, b, ("indicators", "standards"))
    changes += _diff_rows(
        "indicator",
        {i["code"]: i for i in a["indicators"]},
        {i["code"]: i for i in b["indicators"]},
    )
    changes += _diff_rows(
        "standard",
        {s.key(): d for s, d in zip(old.standards, a["standards"], strict=True)},
        {s.key(): d for s, d in zip(new.standards, b["standards"], strict=True)},
    )
    return Diff("namespace", new.namespace, old.version, new.version, tuple(changes))


def diff_frameworks(old: FrameworkDoc, new: FrameworkDoc) -> Diff:
    a, b = document_content(old), document_content(new)
    changes = _top_change("framework", new.framework, a, b, ("nodes",))
    changes += _diff_rows(
        "node", {n["code"]: n for n in a["nodes"]}, {n["code"]: n for n in b["nodes"]}
    )
    return Diff("framework", new.framework, old.version, new.version, tuple(changes))


class BumpTooSmall(ValueError):
    """Publishing ``new`` after ``old`` bumps less than the changes require."""

    def __init__(self, old: str, new: str, made: Bump, diff: Diff) -> None:
        required = diff.required_bump
        reasons = [
            _(
                "{entity} {key}: {reason}",
                entity=label("catalogue_entity", c.entity),
                key=c.key,
                reason=change_reason(c.entity, c.op, [f.field for f in c.fields]),
            )
            for c in diff.changes
            if c.bump == required
        ][:10]
        super().__init__(
            _(
                "version {new} is a {made} bump over {old}, but the changes require a "
                "{required} bump ({reasons}); publish as {version}",
                new=new,
                made=label("bump", made),
                old=old,
                required=label("bump", required),
                reasons=localized("; ", "；").join(reasons),
                version=Version.parse(old).bump(required),
            )
        )
        self.required = required
        self.made = made


def check_bump(old: str, new: str, diff: Diff) -> Bump:
    """Refuse ``new`` when its bump over ``old`` is smaller than the diff requires (or when it
    is not an increase at all); returns the bump made."""
    made = bump_between(old, new)
    required = diff.required_bump
    if made == "none" or BUMP_ORDER[made] < BUMP_ORDER[required]:
        raise BumpTooSmall(old, new, made, diff)
    return made


_DRAFT_RE = re.compile(r"-draft(\.\d+)?$")


def release_of(version: str) -> str:
    """``1.2.0-draft`` → ``1.2.0``."""
    return _DRAFT_RE.sub("", version)
