"""Target setting and review (绩效目标审核): a project's target table reviewed for 完整性,
相关性, 适当性 and 可行性 against the library and its standards (docs/targets.md)."""
