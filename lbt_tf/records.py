"""A comparison's records: the small files its tables are made of, kept
outside its WORKDIR (`python -m lbt_tf.compare ... --records DIR`).

A study of many hours outlives the machine it started on: on a preemptible
or wiped machine WORKDIR is gone, with the finished runs' metrics. With
`--records DIR` (say, a directory of a git checkout, committed and pushed
as the study goes) the comparison copies into DIR the equal-time plan
(budget.json, unfinished rows' rounds included) after every measurement, every finished run's config.json,
metrics.csv, log, picture (samples.png, its last sample grid, for images;
density.png for the 2-D mixtures; about 150 KB) and metrics.json as it
finishes, and the report
(results.md, results.json, rescored-*.md); when it starts, it copies into
WORKDIR the plan's rows and every finished run that WORKDIR lacks, so the
same command goes on elsewhere and retrains nothing that finished. DIR
mirrors WORKDIR's layout (`comparison.run_dir`). Not kept: checkpoints and
exported generators (megabytes each), so an unfinished run starts again,
and a restored run has no panel in the comparison's figures (its own
picture is there) and is not re-scored.

A run counts as finished by its metrics.json (`comparison.finished`), so
that file is always copied last, and a restored run appears in WORKDIR
whole (a staging directory renamed into place): an interrupted copy is
never taken for a finished run.
"""

import datetime
import filecmp
import functools
import json
import pathlib
import shutil

from lbt_tf import comparison as comparison_lib, files

# metrics.json last: it is what makes a run finished.
RUN_FILES = ("config.json", "metrics.csv", "metrics.json")
# Kept and restored where the run has one (runs of earlier versions may not).
PICTURES = ("samples.png", "density.png")
REPORT_PATTERNS = ("results.md", "results.json", "rescored-*.md")


def keep(chosen, workdir, records) -> int:
  """Copy from the run directory tree `workdir` into `records` (the same
  layout) the plan, the report and every finished run of `chosen` (a
  `comparison.Comparison`), each file only if it differs from its copy;
  returns how many finished runs `records` now has from `workdir`.

  Raises:
    OSError: a file could not be copied (those copied before it stay).
  """
  workdir, records = pathlib.Path(workdir), pathlib.Path(records)
  sources = [workdir / comparison_lib.BUDGET_FILE]
  sources += [path for pattern in REPORT_PATTERNS for path in sorted(workdir.glob(pattern))]
  runs = [directory for *_, directory in comparison_lib.finished_runs(chosen, workdir)]
  for directory in runs:
    # the log, then metrics.json last: a cut-short keep leaves no record
    # that looks finished without its other files
    sources += [comparison_lib.log_path(directory)] + [directory / name for name in PICTURES]
    sources += [directory / name for name in RUN_FILES]
  for source in sources:
    target = records / source.relative_to(workdir)
    if source.exists() and not (target.exists() and filecmp.cmp(source, target, shallow=False)):
      files.copy(source, target)
  return len(runs)


def restore(chosen, workdir, records, report=print) -> int:
  """Copy from `records` into `workdir` the rows of the plan that `workdir`
  lacks and every run of `chosen` finished in `records` (all its files
  there) and not in `workdir`; an unfinished attempt in `workdir` is set
  aside as `<seed dir>.unfinished-<time>` (with its log), never mixed with
  the record. Returns how many runs it restored. Call it before planning
  or training, holding WORKDIR's lock.

  Raises:
    ValueError: `records` plans another budget than `chosen`, or a row
      differently from `workdir`, or was measured on another machine.
  """
  workdir, records = pathlib.Path(workdir), pathlib.Path(records)
  _take_plan(chosen, records / comparison_lib.BUDGET_FILE, workdir / comparison_lib.BUDGET_FILE)
  chosen = comparison_lib.read_budget(chosen, workdir)
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
  restored = 0
  for dataset, row, seed in chosen.runs():
    steps = chosen.steps_of(dataset, row)
    kept = comparison_lib.run_dir(records, dataset, row, seed)
    target = comparison_lib.run_dir(workdir, dataset, row, seed)
    if (comparison_lib.finished(target, steps) or not comparison_lib.finished(kept, steps)
        or not all((kept / name).exists() for name in RUN_FILES)):
      continue
    log = comparison_lib.log_path(target)
    if target.exists():
      aside = target.with_name(f"{target.name}.unfinished-{stamp}")
      target.rename(aside)
      if log.exists():
        log.rename(comparison_lib.log_path(aside))
      report(f"set {target} aside as {aside.name}: its finished record replaces it")
    files.directory(target, functools.partial(_copy_run, kept))  # whole, or not at all
    if comparison_lib.log_path(kept).exists():
      files.copy(comparison_lib.log_path(kept), log)
    restored += 1
  return restored


def _copy_run(kept: pathlib.Path, staging: pathlib.Path):
  for name in PICTURES + RUN_FILES:
    if name in RUN_FILES or (kept / name).exists():
      shutil.copyfile(kept / name, staging / name)


def _take_plan(chosen, kept: pathlib.Path, own: pathlib.Path):
  """Add to `own` (WORKDIR's budget.json) the rows only `kept` plans, and the
  rounds of a row it has begun measuring that `own` has neither planned nor
  begun (only if measured on this machine: an unfinished row takes no other
  machine's rounds).

  Raises:
    ValueError: `kept` plans other seconds per run or rounds per row than
      `chosen` or `own`, a row differently from `own`, or rows measured on
      another machine.
  """
  if not kept.exists():
    return
  theirs = json.loads(kept.read_text())
  if theirs["seconds"] != chosen.seconds:
    raise ValueError(f"--records {kept.parent} plans {theirs['seconds']} s per run, not "
                     f"{chosen.seconds}: give the records of this budget, or new ones")
  ours = (json.loads(own.read_text()) if own.exists()
          else {"seconds": chosen.seconds, "runs": {}})
  rounds = comparison_lib.plan_rounds_of(theirs, chosen.plan_rounds, kept)
  if own.exists() and comparison_lib.plan_rounds_of(ours, 0, own) != rounds:
    raise ValueError(f"{own} and {kept} measure each row in different numbers of rounds: "
                     "use a new --workdir to go on with the records, or other --records")
  clash = sorted(key for key in set(theirs["runs"]) & set(ours["runs"])
                 if theirs["runs"][key] != ours["runs"][key])
  if clash:
    raise ValueError(f"{own} and {kept} plan {clash[0]} differently: use a new "
                     "--workdir to go on with the records, or other --records")
  merged = {**theirs["runs"], **ours["runs"]}
  measuring = dict(ours.get("measuring", {}))
  here = comparison_lib.machine()
  for key, taken in theirs.get("measuring", {}).items():
    if (key not in merged and key not in measuring
        and all(m.get("machine") == here for m in taken)):
      measuring[key] = taken
  if merged != ours["runs"] or measuring != ours.get("measuring", {}):
    comparison_lib.check_one_machine(merged, own)
    comparison_lib.write_plan(own, dict(ours, runs=merged, measuring=measuring,
                                        plan_rounds=rounds))
