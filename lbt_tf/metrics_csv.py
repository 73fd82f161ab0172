"""metrics.csv, a run's losses and metrics per evaluation period: one row per
period, a `step` column first. Plain Python, so the comparison harness reads
it without importing TensorFlow.

Crash-safe: a row is appended and synced to disk in one write; a torn last
row (a kill mid-write) is dropped with a message when the file is next
read; rewriting the file (cutting it back to a resumed checkpoint, or adding
a column) goes through a temporary file and a rename, so a kill leaves the
old file or the new one.
"""

import csv
import io
import math
import os
import pathlib
from typing import List

from lbt_tf.errors import cannot_write


def _parse(value: str) -> float:
  return float(value) if value not in ("", None) else math.nan


def read_rows(csv_path: pathlib.Path, report=None) -> List[dict]:
  """Every complete row, values as floats (`step` as int; a value a row
  lacks is NaN); [] when there is no file. A torn last row is left out (and
  `report`ed)."""
  csv_path = pathlib.Path(csv_path)
  if not csv_path.exists():
    return []
  text = csv_path.read_text()
  lines = text.splitlines(keepends=True)
  if lines and not lines[-1].endswith("\n"):
    if report:
      report(f"{csv_path}: dropped a torn last row ({lines[-1].strip()[:60]!r}), "
             "written when the run was killed")
    lines = lines[:-1]
  rows = []
  for row in csv.DictReader(io.StringIO("".join(lines))):
    try:
      values = {k: _parse(v) for k, v in row.items() if k is not None}
      values["step"] = int(values["step"])
    except (ValueError, TypeError, KeyError):
      if report:
        report(f"{csv_path}: dropped an unreadable row {row}")
      continue
    rows.append(values)
  return rows


def write_rows(csv_path: pathlib.Path, rows: List[dict]):
  """Replace the file with `rows` (columns: the union, in first-seen order)."""
  csv_path = pathlib.Path(csv_path)
  columns = []
  for row in rows:
    columns += [k for k in row if k not in columns]
  staging = csv_path.with_name(csv_path.name + ".tmp")
  with open(staging, "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(rows)
    f.flush()
    os.fsync(f.fileno())
  staging.replace(csv_path)


def append_row(csv_path: pathlib.Path, row: dict):
  """Append `row` (rewriting the file if it brings a new column)."""
  try:
    _append_row(pathlib.Path(csv_path), row)
  except OSError as e:  # a full disk: say which file, and what to do
    raise cannot_write(csv_path, e) from None


def _append_row(csv_path: pathlib.Path, row: dict):
  header = None
  if csv_path.exists() and csv_path.stat().st_size:
    with open(csv_path, newline="") as f:
      header = next(csv.reader(f), None)
  if header is None or set(row) - set(header):
    write_rows(csv_path, read_rows(csv_path) + [row])
    return
  line = io.StringIO()
  csv.DictWriter(line, fieldnames=header, restval="").writerow(row)
  with open(csv_path, "a", newline="") as f:
    f.write(line.getvalue())  # one write: a kill leaves it whole or torn
    f.flush()
    os.fsync(f.fileno())


def rows_up_to(csv_path: pathlib.Path, step: int, report=None) -> List[dict]:
  """The rows up to `step`, the file cut back to them (rows written after
  the checkpoint a run resumes from are redone)."""
  csv_path = pathlib.Path(csv_path)
  rows = read_rows(csv_path, report)
  kept = [row for row in rows if row["step"] <= step]
  if csv_path.exists() and (kept != rows or not csv_path.read_text().endswith("\n")):
    write_rows(csv_path, kept)
  return kept
