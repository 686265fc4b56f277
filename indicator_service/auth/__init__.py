"""API keys, roles and namespace scopes (see ``docs/security.md``)."""
