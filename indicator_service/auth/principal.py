"""Who is calling: the verified key's identity, role and namespace scopes."""

from __future__ import annotations

from dataclasses import dataclass

from indicator_service.auth.models import ALL_NAMESPACES, Role


@dataclass(frozen=True)
class Principal:
    """A verified API key (or the operator running a CLI command, ``key_id`` None)."""

    key_id: int | None
    name: str
    role: Role
    namespaces: tuple[str, ...]

    @property
    def all_namespaces(self) -> bool:
        return self.role is Role.admin or ALL_NAMESPACES in self.namespaces

    def may_act_on(self, namespace: str) -> bool:
        return self.all_namespaces or namespace in self.namespaces

    def has_role(self, *roles: Role) -> bool:
        """Admin passes every role check; other keys need one of ``roles``."""
        return self.role is Role.admin or self.role in roles


CLI_OPERATOR = Principal(key_id=None, name="cli", role=Role.admin, namespaces=(ALL_NAMESPACES,))
"""The actor recorded for changes made with the ``indicator-service`` command line."""
