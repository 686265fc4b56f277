"""Rectification (整改) records: demands attached to an evaluation (optionally one of its
leaves) — later to a monitoring flag — with deadlines, a status and a responsible party;
the overdue list per region. See docs/reevaluation.md."""
