"""The limits of every table reader (uploads, forms, bulk imports, composite tables).

Flat tables (:mod:`indicator_service.tables.rows`: a flat form, a bulk import, a composite
table) are read line by line; whole workbooks (:mod:`indicator_service.tables.workbook`: forms
in the national layout) are checked before they are parsed (file size, zip expansion, sheets,
rows, columns, cells), so bad input is refused quickly.
"""

from __future__ import annotations

# --- flat tables (tables.rows) -------------------------------------------------------------

#: Rows of a flat table (the header included; blank rows count: they cost as much to read).
MAX_ROWS = 20_001
#: Data lines of a flat table (every row but the header).
MAX_LINES = MAX_ROWS - 1
#: Characters of one table cell (Excel's own limit of a cell).
MAX_CELL_CHARS = 32_767
#: Columns of a flat table.
MAX_COLUMNS = 500

# --- workbooks (tables.workbook) -----------------------------------------------------------

#: Bytes of an uploaded workbook or form file.
MAX_FILE_BYTES = 20 * 1024 * 1024
#: Bytes of all the parts of an XLSX together, uncompressed.
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
#: Bytes of one part of an XLSX (a sheet's XML), uncompressed.
MAX_PART_BYTES = 30 * 1024 * 1024
#: Uncompressed / compressed size of a large part (above 1 MB).
MAX_RATIO = 200
#: Parts of an XLSX archive.
MAX_ZIP_ENTRIES = 5000
#: Sheets of a workbook.
MAX_SHEETS = 1000
#: Rows of one sheet read as a grid (a form has a few dozen).
MAX_SHEET_GRID_ROWS = 5000
#: Columns of one sheet read as a grid.
MAX_SHEET_GRID_COLUMNS = 200
#: Cells (rows × columns) of a whole workbook read as grids.
MAX_CELLS = 2_000_000
#: Rows of any sheet of an XLSX, empty ones included (flat tables stop at :data:`MAX_ROWS`).
MAX_SHEET_ROWS = 100_000
