"""Every CSV and XLSX/XLS file the service reads or writes, in one package.

- :mod:`~indicator_service.tables.limits`: the limits of every table reader (one place).
- :mod:`~indicator_service.tables.rows`: the rows of a flat upload (strict CSV text, the first
  sheet of an XLSX workbook), checked against the limits; :class:`ReadError` names the line.
- :mod:`~indicator_service.tables.workbook`: whole files (XLSX, old XLS via calamine, CSV in
  UTF-8 or GB18030) as :class:`~indicator_service.tables.workbook.Sheet` grids, with the
  zip-bomb, size and encoding checks; :class:`WorkbookError` says what is wrong in 中文 and
  English with its HTTP status.
- :mod:`~indicator_service.tables.writers`: cells that spreadsheet programs open safely (CSV
  injection neutralised, XLSX text as string cells) and whole CSV/XLSX tables.

Nothing here knows about HTTP, the database or the domain packages: callers (the API, the CLI
and the web upload) turn the errors into their own answer.
"""
