"""A comparison's records: the small files its tables are made of, kept
outside its WORKDIR (`python -m lbt_tf.compare ... --records DIR`).

A study of many hours outlives the machine it started on: on a preemptible
or wiped machine WORKDIR is gone, with the finished runs' metrics. With
`--records DIR` (say, a directory of a git checkout) the comparison copies
into DIR, as each run finishes and once more at the end, every finished
run's metrics.json, metrics.csv, config.json and log, the equal-time plan
(budget.json) and the report (results.md, results.json); when it starts, it
copies into WORKDIR the plan and every finished run that WORKDIR lacks, so
the same command goes on elsewhere and retrains nothing that finished.
DIR mirrors WORKDIR's layout. Not kept: checkpoints and exported generators
(megabytes each), so an unfinished run starts again, and a restored run
has no sample panel in the figures and cannot be re-scored
(`--rescore-seed`).
"""

import json
import pathlib
import shutil

from lbt_tf import comparison as comparison_lib

RUN_FILES = ("metrics.json", "metrics.csv", "config.json")
REPORT_FILES = ("results.md", "results.json")


def _finished_runs(chosen, workdir):
  """(run directory, its log) of every finished run of `chosen` in `workdir`."""
  for dataset, row, seed in chosen.runs():
    directory = comparison_lib.run_dir(workdir, dataset, row, seed)
    if comparison_lib.finished(directory, chosen.steps_of(dataset, row)):
      yield directory, directory.parent / f"{directory.name}.log"


def _copy(source: pathlib.Path, target: pathlib.Path):
  """Copy a file through a staging name: a copy cut short is never taken
  for a record."""
  target.parent.mkdir(parents=True, exist_ok=True)
  staging = target.with_name(target.name + ".tmp")
  shutil.copyfile(source, staging)
  staging.replace(target)


def keep(chosen, workdir, records) -> int:
  """Copy into `records` the plan, the report and every finished run's
  files that differ from their copies there; returns how many runs it holds."""
  workdir, records = pathlib.Path(workdir), pathlib.Path(records)
  files = [workdir / name for name in (comparison_lib.BUDGET_FILE,) + REPORT_FILES]
  runs = list(_finished_runs(chosen, workdir))
  for directory, log in runs:
    files += [directory / name for name in RUN_FILES] + [log]
  for source in files:
    target = records / source.relative_to(workdir)
    if source.exists() and not (target.exists()
                                and target.read_bytes() == source.read_bytes()):
      _copy(source, target)
  return len(runs)


def _merge_plans(kept: pathlib.Path, own: pathlib.Path):
  """Add to `own` (WORKDIR's budget.json) the rows only `kept` plans."""
  if not kept.exists():
    return
  if not own.exists():
    _copy(kept, own)
    return
  theirs, ours = json.loads(kept.read_text()), json.loads(own.read_text())
  clash = [key for key in set(theirs["runs"]) & set(ours["runs"])
           if theirs["runs"][key] != ours["runs"][key]]
  if theirs["seconds"] != ours["seconds"] or clash:
    raise ValueError(f"{own} and {kept} plan {clash[0] if clash else 'the budget'} "
                     "differently: use a new --workdir to go on with the records, "
                     "or other --records")
  comparison_lib.write_plan(own, dict(ours, runs={**theirs["runs"], **ours["runs"]}))


def restore(chosen, workdir, records) -> int:
  """Copy from `records` into `workdir` the rows of the plan that
  `workdir` lacks and every run finished there and not in `workdir`;
  returns how many runs it restored. Call it before planning or training.

  Raises:
    ValueError: `workdir` and `records` plan a row differently.
  """
  workdir, records = pathlib.Path(workdir), pathlib.Path(records)
  _merge_plans(records / comparison_lib.BUDGET_FILE, workdir / comparison_lib.BUDGET_FILE)
  chosen = comparison_lib.read_budget(chosen, workdir)
  done = {directory for directory, _ in _finished_runs(chosen, workdir)}
  restored = 0
  for directory, log in _finished_runs(chosen, records):
    target = workdir / directory.relative_to(records)
    if target in done:
      continue
    for name in RUN_FILES:
      _copy(directory / name, target / name)
    if log.exists():
      _copy(log, workdir / log.relative_to(records))
    restored += 1
  return restored
