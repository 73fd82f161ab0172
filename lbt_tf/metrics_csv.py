"""metrics.csv, a run's losses and metrics per evaluation period: one row per
period, a `step` column first. Plain Python, so the benchmark harness reads
it without importing TensorFlow."""

import csv
import pathlib
from typing import List


def read_rows(csv_path: pathlib.Path) -> List[dict]:
  """Every row, values as floats (`step` as int); [] when there is no file."""
  if not csv_path.exists():
    return []
  with open(csv_path, newline="") as f:
    rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
  for row in rows:
    row["step"] = int(row["step"])
  return rows


def append_row(csv_path: pathlib.Path, row: dict):
  exists = csv_path.exists()
  with open(csv_path, "a", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=list(row))
    if not exists:
      writer.writeheader()
    writer.writerow(row)


def rows_up_to(csv_path: pathlib.Path, step: int) -> List[dict]:
  """The rows up to `step`, rewriting the file to hold only them (rows
  written after the checkpoint a run resumes from are redone)."""
  kept = [row for row in read_rows(csv_path) if row["step"] <= step]
  csv_path.unlink(missing_ok=True)
  for row in kept:
    append_row(csv_path, row)
  return kept
