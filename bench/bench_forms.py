"""Forms benchmark: a workbook of 200 self-evaluation forms in the national layout (one sheet
each, the farmland form with varied actuals), scored end to end in process — read (calamine),
parsed, converted, validated, scored as one batch — then written back as the scored workbook.

Prints the seconds of each stage (a figure, not a test; goal: under 3 s on one worker).

    .venv/bin/python bench/bench_forms.py [--forms 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indicator_service.forms import pipeline, writer
from indicator_service.forms.reader import national_sheets
from tests.forms import build


def workbook(n: int) -> bytes:
    rng = random.Random(7)
    sheets = []
    for i in range(n):
        rows = [(a, b, c, t, v, p, e) for a, b, c, t, v, p, e in build.FARMLAND_ROWS]
        rows[0] = (*rows[0][:4], f"{rng.uniform(0.8, 1.3):.2f}万亩", *rows[0][5:])
        rows[6] = (*rows[6][:4], f"{rng.randint(80, 100)}%", *rows[6][5:])
        name = f"项目{i + 1:03d}"
        form = build.farmland(rows, sheet=name, executed=rng.randint(400, 500))
        cells, merges = build.grid(form)
        sheets.append((name, cells, merges))
    return build.xlsx(sheets)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--forms", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    raw = workbook(args.forms)
    catalogue = build.document_catalogue()
    print(f"workbook: {args.forms} forms, {len(raw) / 1024:.0f} kB")
    for k in range(args.repeat):
        t0 = time.perf_counter()
        sheets = national_sheets(raw)
        assert sheets is not None
        t1 = time.perf_counter()
        outcomes = pipeline.score_sheets(sheets, None, catalogue)
        t2 = time.perf_counter()
        out = writer.render_xlsx(writer.layouts_of(outcomes))
        t3 = time.perf_counter()
        ok = sum(o.ok for o in outcomes)
        print(
            f"run {k + 1}: read {t1 - t0:.2f} s, parse+score {t2 - t1:.2f} s, "
            f"write {t3 - t2:.2f} s, end to end {t3 - t0:.2f} s "
            f"({ok}/{len(outcomes)} scored, {len(out) / 1024:.0f} kB out)"
        )


if __name__ == "__main__":
    main()
