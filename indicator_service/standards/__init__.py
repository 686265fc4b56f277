"""Derived standards (issue 6): historical and industry standards from data, progress toward
targets, and standard resolution with precedence and regional fallback."""
