"""Who is calling: the verified key's identity, role, namespace scopes and region scopes."""

from __future__ import annotations

from dataclasses import dataclass

from indicator_service.auth.models import ALL_NAMESPACES, Role
from indicator_service.catalogue.matching import region_chain


@dataclass(frozen=True)
class Principal:
    """A verified API key (or the operator running a CLI command, ``key_id`` None)."""

    key_id: int | None
    name: str
    role: Role
    namespaces: tuple[str, ...]
    regions: tuple[str, ...] = ()
    """Region scopes (GB/T 2260) of an evaluator key; empty when it has none."""

    @property
    def owner_id(self) -> int:
        """The key's id, which owns what the key stores (idempotency records, evaluations).
        Every request's principal has one; only the CLI operator has none."""
        if self.key_id is None:
            raise RuntimeError("the CLI operator owns no stored records")
        return self.key_id

    @property
    def all_namespaces(self) -> bool:
        return self.role is Role.admin or ALL_NAMESPACES in self.namespaces

    def may_act_on(self, namespace: str) -> bool:
        return self.all_namespaces or namespace in self.namespaces

    def covers_region(self, region: str) -> bool:
        """Whether one of the key's region scopes is ``region`` or a broader region of it
        (a key scoped to 330000 covers 330100 and 330102; 000000 covers every region)."""
        if not self.regions:
            return False
        chain = region_chain(region)
        return any(scope in chain for scope in self.regions)

    def may_read_evaluation(self, owner_key_id: int | None, region: str) -> bool:
        """Who may read a stored evaluation: admins; the key that stored it; a key whose region
        scope covers its region. Evaluations without an owner (stored before ownership was
        recorded) are for admins only."""
        if self.role is Role.admin:
            return True
        if owner_key_id is None:
            return False
        return owner_key_id == self.key_id or self.covers_region(region)

    def has_role(self, *roles: Role) -> bool:
        """Admin passes every role check; other keys need one of ``roles``."""
        return self.role is Role.admin or self.role in roles


CLI_OPERATOR = Principal(key_id=None, name="cli", role=Role.admin, namespaces=(ALL_NAMESPACES,))
"""The actor recorded for changes made with the ``indicator-service`` command line."""
