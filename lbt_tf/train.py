"""Command line: python -m lbt_tf.train --dataset ring --method lbt-gan ...

Every field of `lbt_tf.config.Config` is a flag (`--unroll-steps 5`,
`--generator-units 128,128`, `--stop-second-moment false`); unset ones come
from the dataset's preset. Re-running a command with the same --workdir
resumes it from its latest checkpoint (--resume does so with the saved
settings, and --steps N extends it); --init-from RUN_OR_CHECKPOINT starts a
new run from another run's network weights.
"""

import dataclasses
import datetime
import sys

from lbt_tf import cli
from lbt_tf import config as config_lib


PROG = "lbt_tf.train"


def parse_config(argv):
  parser = cli.OneLineErrorParser(prog=PROG, description=__doc__,
                                  formatter_class=cli.argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--dataset", metavar="NAME",
                      help=f"one of {', '.join(config_lib.datasets())}, or "
                           "folder:PATH (a folder of images); default: ring")
  parser.add_argument("--method", choices=config_lib.METHODS)
  parser.add_argument("--workdir", help="run directory (default: runs/<dataset>-<method>-<time>)")
  parser.add_argument("--resume", action="store_true",
                      help="continue the run in --workdir with its saved settings")
  parser.add_argument("--init-from", metavar="PATH",
                      help="fine-tune: a run directory or checkpoint to take weights from")
  parser.add_argument("--strategy", default="auto", choices=config_lib.STRATEGIES,
                      help="tf.distribute strategy (auto: mirrored when more than "
                           "one GPU is visible); --batch-size is the global batch")
  for field in dataclasses.fields(config_lib.Config):
    if field.name in ("dataset", "method"):
      continue
    parser.add_argument(f"--{config_lib.flag(field.name)}", dest=field.name,
                        metavar="VALUE", help=f"default: {field.default}")
  args = parser.parse_args(argv)
  options = ("dataset", "workdir", "resume", "init_from", "strategy")
  try:
    overrides = {name: text if name == "method" else config_lib.parse_value(name, text)
                 for name, text in vars(args).items()
                 if text is not None and name not in options}
    if args.resume:
      if args.dataset:
        overrides["dataset"] = args.dataset
      config = resumed_config(args.workdir, overrides)
    else:
      config = config_lib.make_config(args.dataset or "ring", overrides)
  except (ValueError, TypeError, OSError) as e:
    parser.error(str(e))
  workdir = args.workdir or (
      f"runs/{config.dataset}-{config.method}-"
      f"{datetime.datetime.now():%Y%m%d-%H%M%S}")
  return config, workdir, args


def resumed_config(workdir, overrides):
  """The saved settings of the run in `workdir`; only --steps may change."""
  if not workdir:
    raise ValueError("--resume needs the --workdir of the run to continue")
  config = config_lib.load(workdir)
  changed = sorted(set(overrides) - {"steps"})
  if changed:
    raise ValueError(f"--resume keeps the run's settings; only --steps may change "
                     f"(got --{config_lib.flag(changed[0])})")
  if "steps" in overrides:
    config.steps = overrides["steps"]
  return config.validate()


def format_metrics(metrics: dict) -> str:
  rows = []
  if "high_quality_percent" in metrics:  # a 2-D mixture
    rows += [("modes covered (20% rule)",
              f"{metrics['modes_covered']} / {metrics['num_modes']}"),
             ("modes with >= 1 sample",
              f"{metrics['modes_with_any_sample']} / {metrics['num_modes']}"),
             ("high-quality samples", f"{metrics['high_quality_percent']:.2f} %"),
             ("averaged intra-mode KL",
              f"{metrics['intra_mode_kl']:.4f} (over {metrics['kl_modes']} modes)")]
  elif "modes_covered" in metrics:  # digits counted by a classifier
    rows += [("modes with >= 1 sample",
              f"{metrics['modes_covered']} / {metrics['num_modes']}"),
             ("KL(modes || uniform)", f"{metrics['kl_to_uniform']:.4f}"),
             ("classifier accuracy", f"{metrics['classifier_accuracy']:.4f} (held out)")]
  if "fid" in metrics:
    rows += [("FID", f"{metrics['fid']:.2f}"), ("KID", f"{metrics['kid']:.4f}")]
  rows += [("samples scored", f"{metrics['num_samples']:,}"),
           ("training", f"{metrics['step']} iterations in "
                        f"{metrics['train_seconds']:.0f} s "
                        f"({metrics['iterations_per_second']:.1f} it/s)"),
           ("weights fingerprint", f"{metrics['fingerprint']} "
                                   f"({metrics['replicas']} replica(s))")]
  width = max(len(name) for name, _ in rows)
  return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


def main(argv=None):
  config, workdir, args = parse_config(sys.argv[1:] if argv is None else argv)
  cli.interrupt_on_signals()
  with cli.quiet_native_stderr():
    from lbt_tf import distributed, train_lib  # pylint: disable=g-import-not-at-top (slow: TensorFlow)
  try:
    strategy = distributed.make_strategy(args.strategy)
  except ValueError as e:
    cli.fail(PROG, e)
  worker, workers = distributed.worker(strategy)
  on = (f" on {strategy.num_replicas_in_sync} replicas"
        + (f" (worker {worker} of {workers})" if workers > 1 else "")
        if distributed.is_replicated(strategy) else "")
  print(f"{PROG}: {config.method} on {config.dataset} for {config.steps} "
        f"iterations{on} -> {workdir}", flush=True)
  try:
    metrics = train_lib.train_and_evaluate(
        config, workdir, args.init_from,
        report=lambda message: print(f"{PROG}: {message}", flush=True),
        strategy=strategy)
  except (ValueError, OSError, train_lib.TrainingDiverged,
          train_lib.Interrupted) as e:
    cli.fail(PROG, e)
  except KeyboardInterrupt:  # before training started: nothing to save
    cli.fail(PROG, "interrupted")
  if "generator" not in metrics:  # a worker other than the chief
    print(f"{PROG}: worker {worker} finished at step {metrics['step']} "
          f"(weights fingerprint {metrics['fingerprint']})")
    return
  print(f"\nFinal evaluation of the exported generator {metrics['generator']}:")
  print(format_metrics(metrics))
  pictures = ("samples.png, samples/" if config_lib.is_image(config.dataset)
              else "density.png")
  print(f"\nRun directory: {workdir} (config.json, metrics.csv, metrics.json, "
        f"{pictures}, metrics.png, logs/, checkpoints/, generator/)")


if __name__ == "__main__":
  main()
