"""In-year monitoring (运行监控, 双监控): the pure core (:mod:`.core`), the stored monitoring
records and their API, and the 绩效监控表 workbook. See docs/monitoring.md."""
