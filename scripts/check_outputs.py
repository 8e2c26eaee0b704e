#!/usr/bin/env python3
"""Reads every report the way a researcher would (json, csv, NumPy) and checks it against the Markdown.

For every preset (trained for 2 steps of 16 prompts and evaluated on 40: the schema is about the report's
shape, not how well the model trained), and for `icl eval` and `icl baselines` of each family:
  - report.json is valid against Docs/report.schema.json (the `jsonschema` package);
  - every table's per-table CSV and the tidy report.csv / `--format csv` hold the JSON's numbers bit for bit
    (NaN and ±inf spelled out), read with `csv` and with NumPy;
  - every Markdown cell is the JSON value printed the Markdown way (4 decimals, or 3 in scientific notation);
  - history.csv (NumPy) holds every training step, equal to history.json.
Usage: scripts/check_outputs.py .build/release/icl  (exit status 0 when every check passes).
"""
import csv
import io
import json
import math
import os
import subprocess
import sys
import tempfile

import jsonschema
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = json.load(open(os.path.join(ROOT, "Docs", "report.schema.json")))
failures = []


def fail(where, message):
    failures.append(f"{where}: {message}")


def icl(binary, *args):
    r = subprocess.run([binary, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"icl {' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r.stdout


def markdown_number(x):
    """Cell.format in Sources/Analysis/Table.swift."""
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return "%.4f" % x if 1e-3 <= abs(x) < 1e5 else "%.3e" % x


def markdown_tables(text):
    """Title → (header, rows) of every `### title` table in a Markdown report."""
    tables, lines, i = {}, text.split("\n"), 0
    while i < len(lines):
        if lines[i].startswith("### "):
            title, i = lines[i][4:], i + 2
            header = [c.strip() for c in lines[i].strip().strip("|").split(" | ")]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("| "):
                rows.append([c.strip() for c in lines[i][2:-2].split(" | ")])
                i += 1
            tables[title] = (header, rows)
        i += 1
    return tables


def same(a, b):
    """Bit-for-bit equality of two floats, NaN equal to NaN."""
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))


def json_value(table, r, key):
    """The row's value as a float where the JSON has a number or a flagged non-finite null."""
    v = table["rows"][r][key]
    for f in table["nonfinite"]:
        if f["row"] == r and f["key"] == key:
            return float(f["value"])
    return v


def check_document(where, doc, markdown, tidy_csv, table_csvs):
    try:
        jsonschema.validate(doc, SCHEMA)
    except jsonschema.ValidationError as e:
        fail(where, f"schema: {e.message} at {list(e.absolute_path)}")
        return
    md = markdown_tables(markdown)
    tidy = list(csv.DictReader(io.StringIO(tidy_csv)))
    offset = 0
    for tid, t in doc["tables"].items():
        keys = [c["key"] for c in t["columns"]]
        types = {c["key"]: c["type"] for c in t["columns"]}
        # One type per column.
        for r, row in enumerate(t["rows"]):
            for k, v in row.items():
                if v is not None and (types[k] == "string") != isinstance(v, str):
                    fail(where, f"{tid}.{k} row {r}: {v!r} in a {types[k]} column")
        # The per-table CSV (csv module and NumPy) and the tidy CSV: the JSON's numbers, bit for bit.
        if table_csvs is not None:
            text = table_csvs[tid]
            rows = list(csv.DictReader(io.StringIO(text)))
            if list(rows[0].keys()) != keys if rows else False:
                fail(where, f"{tid}: CSV header {list(rows[0].keys())} vs JSON {keys}")
            numeric = [k for k in keys if types[k] == "number"]
            for k in numeric:
                # NumPy parses the CSV's strings ("0.30000000000000004", "1e-300", "nan", "-inf"; empty is null).
                column = np.array([row[k] or "nan" for row in rows]).astype(np.float64)
                want = np.array([np.nan if json_value(t, r, k) is None else json_value(t, r, k) for r in range(len(rows))],
                                dtype=np.float64)
                if not np.array_equal(column, want, equal_nan=True):
                    fail(where, f"{tid}.{k}: NumPy reads {column} from the CSV, JSON has {want}")
        else:
            rows = None
        for r in range(len(t["rows"])):
            trow = tidy[offset + r]
            if trow["table"] != tid:
                fail(where, f"tidy CSV row {offset + r} is table {trow['table']}, expected {tid}")
            for k in keys:
                v = json_value(t, r, k)
                for source, field in [("tidy CSV", trow[k])] + ([("table CSV", rows[r][k])] if rows else []):
                    if v is None:
                        ok = field == ""
                    elif isinstance(v, str):
                        ok = field == v
                    else:
                        ok = field != "" and same(float(field), float(v))
                    if not ok:
                        fail(where, f"{tid}.{k} row {r}: {source} {field!r} vs JSON {v!r}")
        offset += len(t["rows"])
        # Markdown: each displayed cell is the JSON's label or value printed the Markdown way.
        if t["title"] not in md:
            fail(where, f"{tid}: no Markdown table titled {t['title']!r}")
            continue
        header, mrows = md[t["title"]]
        by_label = {c["label"]: c["key"] for c in t["columns"]}
        if len(mrows) != len(t["rows"]):
            fail(where, f"{tid}: {len(mrows)} Markdown rows vs {len(t['rows'])} JSON rows")
            continue
        for j, label in enumerate(header):
            key = by_label.get(label)
            if key is None:
                fail(where, f"{tid}: Markdown column {label!r} has no JSON column")
                continue
            for r, mrow in enumerate(mrows):
                cell = mrow[j] if j < len(mrow) else ""
                shown = t["rows"][r].get(key + "_label")
                v = json_value(t, r, key)
                if shown is None:
                    shown = "" if v is None else v if isinstance(v, str) else markdown_number(float(v))
                if cell != shown:
                    fail(where, f"{tid}.{key} row {r}: Markdown {cell!r}, JSON gives {shown!r}")


def check_history(where, run):
    h = json.load(open(os.path.join(run, "history.json")))
    a = np.loadtxt(os.path.join(run, "history.csv"), delimiter=",", skiprows=1, ndmin=2)
    steps = json.load(open(os.path.join(run, "config.json")))["training"]["steps"]
    if not (a.shape[0] == steps and np.array_equal(a[:, 0], np.arange(1, steps + 1))):
        fail(where, f"history.csv has {a.shape[0]} rows for {steps} steps")
    for col, name in [(1, "losses"), (2, "gradientNorms"), (3, "learningRates"), (4, "seconds")]:
        if not np.array_equal(a[:, col], np.array(h[name])):
            fail(where, f"history.csv column {col} differs from history.json {name}")


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "icl"))
    presets = [line.split()[0] for line in icl(binary, "presets").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        for p in presets:
            run = os.path.join(tmp, p)
            markdown = icl(binary, "compare", "--preset", p, "--steps", "2", "--batch-size", "16", "--eval-prompts", "40",
                           "--quiet", "--out", run)
            doc = json.load(open(os.path.join(run, "report.json")))
            tables = {tid: open(os.path.join(run, f"table_{tid}.csv")).read() for tid in doc["tables"]}
            check_document(p, doc, markdown, open(os.path.join(run, "report.csv")).read(), tables)
            if open(os.path.join(run, "report.md")).read() != markdown:
                fail(p, "report.md differs from the printed Markdown")
            check_history(p, run)
        # eval and baselines: --format json / csv / markdown of the same invocation.
        prompts = os.path.join(tmp, "p.npz")
        icl(binary, "tasks", "sample", "--dimension", "4", "--points", "9", "--batch", "60", "--noise", "0.1", "--out", prompts)
        invocations = [("eval", ["eval", "--prompts", prompts]),
                       ("baselines boolean", ["baselines", "--prompts", "60", "--variables", "8", "--points", "20"]),
                       ("baselines fourier", ["baselines", "--family", "fourier", "--prompts", "40", "--points", "21"]),
                       ("baselines graph", ["baselines", "--family", "graph", "--prompts", "30", "--vertices", "8"])]
        for where, args in invocations:
            doc = json.loads(icl(binary, *args, "--format", "json"))
            check_document(where, doc, icl(binary, *args), icl(binary, *args, "--format", "csv"), None)
    for f in failures[:50]:
        print("FAIL", f)
    print(f"check_outputs: {len(presets)} presets, 4 eval/baselines reports: "
          + ("every JSON valid, CSV and Markdown equal to it" if not failures else f"{len(failures)} failures"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
