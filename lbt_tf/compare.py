"""Command line: the side-by-side method comparison on mode-collapse benchmarks.

  python -m lbt_tf.compare --preset paper --workdir runs/paper

Trains every method x dataset x seed of the preset at an equal budget (each
run a `python -m lbt_tf.train` process in WORKDIR/<dataset>/<method>/seed-<s>),
then writes WORKDIR/results.md (mean ± std over seeds), results.json,
densities.png (Figure 1) and curves-<dataset>.png (Figure 2). Run the same
command again after an interruption: finished runs are kept, interrupted
ones resume from their checkpoints; with `--records DIR` (e.g. in a git
checkout) the finished runs' metrics and the plan are also kept in DIR, and
the same command goes on from them on another machine. Presets: `paper` (the LBT paper's ring
and grid, 20% coverage rule), `veegan` (VEEGAN/PacGAN's ring and 25-mode
grid, coverage by at least one sample), `stacked_digits`,
`stacked_fashion_mnist` (the paper's Table 1 on real pixels, every method at
equal training time, two architectures) and `stacked_fashion_mnist-iterations`
(LBT-GAN and the GAN at equal iterations).

Equal training time (`--seconds S`, or a preset's "seconds"): before any
training, each dataset and row's cost per iteration is measured in a process
of its own (`lbt_tf.costs`), in interleaved rounds (`--plan-rounds`, default
3 for a new plan: every row once, then every row again; each row's least
kept), and S
seconds are turned into its iterations, stored in WORKDIR/budget.json and
reused when the comparison resumes. One
comparison at a time per WORKDIR (a lock); its runs stop with it, even
after kill -9.
"""

import os
import sys

from lbt_tf import cli, comparison, records, runlock
from lbt_tf import config as config_lib
from lbt_tf.methods import METHODS

PROG = "lbt_tf.compare"


def csv_list(text, kind=str):
  return tuple(kind(item) for item in text.split(",") if item.strip())


def main(argv=None):
  parser = cli.OneLineErrorParser(prog=PROG, description=__doc__,
                                  formatter_class=cli.argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--preset", default="paper", choices=comparison.presets())
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--datasets", help="comma-separated (default: the preset's)")
  parser.add_argument("--methods", help=f"comma-separated, from {', '.join(METHODS.names())}; "
                                        "a method with settings of its own: "
                                        "lbt[estimator=flow,unroll_steps=3]")
  parser.add_argument("--seeds", help="comma-separated integers")
  parser.add_argument("--steps", type=int,
                      help="iterations of every run (default: the preset's, or each "
                           "dataset's own)")
  parser.add_argument("--seconds", type=float,
                      help="equal training time instead: seconds of training per run, "
                           "each row's iterations bought at its cost per iteration, "
                           "measured alone first (WORKDIR/budget.json)")
  parser.add_argument("--plan-rounds", type=int,
                      help="equal time: how many times each row's cost is measured, "
                           "in interleaved rounds, its least kept (default: a stored "
                           "plan's own; 3 for a new plan)")
  parser.add_argument("--jobs", type=int, default=1,
                      help="runs trained at once (each uses all cores; 1 gives "
                           "clean iterations/s)")
  parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                      help="a training setting for every run, e.g. --set batch_size=256")
  parser.add_argument("--records", metavar="DIR",
                      help="keep every finished run's metrics, config and log, "
                           "budget.json and the tables in DIR too (e.g. in a git "
                           "checkout: commit it), and take from DIR the finished "
                           "runs WORKDIR lacks (lbt_tf/records.py)")
  parser.add_argument("--report-only", action="store_true",
                      help="only write the table and figures from finished runs")
  parser.add_argument("--rescore-seed", type=int, metavar="SEED",
                      help="also re-score every exported generator with this "
                           "evaluation seed (rescored-SEED.md)")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  try:
    settings = {}
    for item in args.set:
      name, sep, text = item.partition("=")
      name = name.replace("-", "_")
      if not sep or name not in config_lib.field_types():
        raise ValueError(f"--set {item!r}: expected FIELD=VALUE with a training "
                         "setting, e.g. batch_size=256")
      settings[name] = config_lib.parse_value(name, text)
    for name in ("method", "seed", "steps", "dataset"):
      if name in settings:
        raise ValueError(f"--set {name}=...: use --{name}s / --steps instead")
    if not 1 <= args.jobs <= (os.cpu_count() or 1):
      raise ValueError(f"--jobs must be between 1 and the {os.cpu_count()} cores here "
                       "(each run uses every core; 1 keeps it/s meaningful)")
    rows = comparison.split_rows(args.methods or "")
    for row in rows:
      METHODS.check(comparison.parse_row(row)[0])
    with cli.quiet_native_stderr():  # the methods' checks load TensorFlow
      chosen = comparison.load_preset(
          args.preset, settings=settings,
          # one budget: --steps replaces a preset's --seconds, and the reverse
          steps=0 if args.seconds else args.steps,
          seconds=0.0 if args.steps else args.seconds,
          plan_rounds=args.plan_rounds,
          datasets=args.datasets and csv_list(args.datasets),
          methods=rows or None,
          seeds=args.seeds and csv_list(args.seeds, int))
  except (ValueError, TypeError) as e:
    parser.error(str(e))

  report = lambda message: print(f"{PROG}: {message}", flush=True)
  cli.interrupt_on_signals()
  failures = []
  try:
    if args.records or not args.report_only:
      # One comparison per workdir: two would train (or restore) the same runs.
      with runlock.RunLock(args.workdir, report):
        if args.records:
          restored = records.restore(chosen, args.workdir, args.records, report)
          report(f"{restored} finished runs taken from {args.records}")
        if not args.report_only:
          chosen, failures = train_all(chosen, args.workdir, args.jobs, report, args.records)
  except (ValueError, OSError) as e:  # RunLocked, a failed measurement, other records
    cli.fail(PROG, str(e))
  except KeyboardInterrupt:
    cli.fail(PROG, "interrupted; the runs saved checkpoints (and budget.json its "
             "measurements): run the same command to resume")
  with cli.errors_in_one_line(PROG):
    chosen = comparison.read_budget(chosen, args.workdir)
    with cli.quiet_native_stderr():
      from lbt_tf.data import mixtures  # pylint: disable=g-import-not-at-top,unused-import (slow: TensorFlow)
    path = comparison.write_report(chosen, args.workdir, report=report)
    print(path.read_text())
    if args.rescore_seed is not None:
      path = comparison.rescore(chosen, args.workdir, args.rescore_seed, report)
      print(path.read_text())
    if args.records:
      kept = records.keep(chosen, args.workdir, args.records)
      report(f"{args.records} holds {kept} finished runs"
             f"{', the plan' if chosen.seconds else ''} and the tables")
  if failures:  # after the report of the runs that finished: nothing is lost
    cli.fail(PROG, f"{len(failures)} run(s) failed, first {failures[0][0]}: "
             f"{failures[0][1]} (see its seed-*.log); the table has the others")


def train_all(chosen, workdir, jobs, report, records_dir=None):
  """Plan an equal-time budget if asked (the plan kept in `records_dir`
  after every measurement), then train every unfinished run (each kept as it
  finishes); returns the comparison (with its budget) and the runs that
  failed."""

  def keep():
    """What is finished, into --records; a failed copy is said, not fatal
    (the next one, and the last, copy it again)."""
    if records_dir:
      try:
        records.keep(chosen, workdir, records_dir)
      except OSError as e:
        report(f"{records_dir} not updated ({e}); the next finished run tries again")

  if chosen.seconds:
    chosen = comparison.plan_budget(chosen, workdir, report, on_measured=keep)
  budgets = ", ".join(f"{d} {m} {chosen.steps_of(d, m)}"
                      for d in chosen.datasets for m in chosen.methods)
  report(f"{len(chosen.runs())} runs (iterations: {budgets}) -> {workdir}")
  return chosen, comparison.run_all(chosen, workdir, jobs, report, on_finish=keep)


if __name__ == "__main__":
  main()
