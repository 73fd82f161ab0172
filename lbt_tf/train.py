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
from lbt_tf.data import datasets
from lbt_tf.metrics import image_metrics, mixture_metrics  # NumPy only
from lbt_tf.methods import METHODS


PROG = "lbt_tf.train"


def parse_config(argv):
  # --help shows the values of the chosen dataset's preset: read --dataset first.
  early = cli.argparse.ArgumentParser(add_help=False)
  early.add_argument("--dataset")
  known, _ = early.parse_known_args(argv)
  shown = {}
  try:
    dataset = known.dataset or "ring"
    shown = config_lib.preset("folder" if dataset.startswith("folder:") else dataset)
    shown_name = dataset
  except ValueError:
    shown_name = None  # reported below, in one line, by make_config

  parser = cli.OneLineErrorParser(prog=PROG, description=__doc__,
                                  formatter_class=cli.argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--dataset", metavar="NAME",
                      help=f"one of {', '.join(datasets.names())}, or "
                           "folder:PATH (a folder of images); default: ring")
  parser.add_argument("--workdir", help="run directory (default: runs/<dataset>-<method>-<time>)")
  parser.add_argument("--resume", action="store_true",
                      help="continue the run in --workdir with its saved settings")
  parser.add_argument("--init-from", metavar="PATH",
                      help="fine-tune: a run directory or checkpoint to take weights from")
  parser.add_argument("--strategy", default="auto", choices=config_lib.STRATEGIES,
                      help="tf.distribute strategy (auto: mirrored when more than "
                           "one GPU is visible); --batch-size is the global batch")
  fields = {f.name: f for f in dataclasses.fields(config_lib.Config)}
  for title, names in config_lib.GROUPS:
    group = parser.add_argument_group(
        f"{title} (defaults: the {shown_name} preset)" if shown_name else title)
    for name in names:
      field = fields[name]
      value = shown.get(name, field.default)
      if isinstance(value, (list, tuple)):
        value = ",".join(map(str, value))
      extra = {"choices": METHODS.names()} if name == "method" else {"metavar": "VALUE"}
      group.add_argument(f"--{config_lib.flag(name)}", dest=name, **extra,
                         help=f"{field.metadata['help']} [{value}]")
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


def training_line(metrics: dict) -> str:
  trained = metrics.get("trained_iterations", metrics["step"])
  if not trained:
    return f"step {metrics['step']}: already trained, nothing to do"
  done = f"{trained} iterations in {metrics['train_seconds']:.0f} s " \
         f"({metrics['iterations_per_second']:.1f} it/s)"
  return done + (f", now at step {metrics['step']}" if trained != metrics["step"] else "")


def format_metrics(metrics: dict) -> str:
  rows = []
  if "high_quality_percent" in metrics:  # a 2-D mixture
    rows += [("modes covered (20% rule)",
              f"{metrics['modes_covered']} / {metrics['num_modes']}"),
             ("modes with >= 1 sample",
              f"{metrics['modes_with_any_sample']} / {metrics['num_modes']}"),
             ("high-quality samples", f"{metrics['high_quality_percent']:.2f} %"),
             ("intra-mode KL, all modes",
              f"{metrics['intra_mode_kl']:.4f} (a mode without a fit counts "
              f"{mixture_metrics.KL_CAP:g}, the cap of every mode)"),
             ("intra-mode KL, fitted modes",
              f"{metrics['intra_mode_kl_fitted']:.4f} (over {metrics['kl_modes']} "
              f"of {metrics['num_modes']} modes)")]
  elif "modes_covered" in metrics:  # classes counted by a classifier
    rows += [("modes with >= 1 sample",
              f"{metrics['modes_covered']} / {metrics['num_modes']}"),
             ("KL(modes || uniform)", f"{metrics['kl_to_uniform']:.4f}"),
             ("real data (the floor)",
              f"{metrics['real_modes_covered']} modes, KL {metrics['real_kl_to_uniform']:.4f} "
              f"(as many held-out real images, same classifier)"),
             ("classifier accuracy", f"{metrics['classifier_accuracy']:.4f} (held out)")]
  if "fid" in metrics:
    n = metrics.get("fid_samples", "?")
    rows += [(image_metrics.column_label("FID", n), f"{metrics['fid']:.2f}"),
             (image_metrics.column_label("KID", n), f"{metrics['kid']:.4f}"),
             ("FID / KID", "this library's own, not comparable with published FIDs "
                           f"({image_metrics.PUBLISHED_PROTOCOL})")]
  rows += [("samples scored", f"{metrics['num_samples']:,}"),
           ("training", training_line(metrics)),
           ("weights fingerprint", f"{metrics['fingerprint']} "
                                   f"({metrics['replicas']} replica(s))")]
  width = max(len(name) for name, _ in rows)
  return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


def main(argv=None):
  config, workdir, args = parse_config(sys.argv[1:] if argv is None else argv)
  cli.interrupt_on_signals()
  with cli.errors_in_one_line(PROG):
    with cli.quiet_native_stderr():
      from lbt_tf import distributed, train_lib  # pylint: disable=g-import-not-at-top (slow: TensorFlow)
    strategy = distributed.make_strategy(args.strategy)
    worker, workers = distributed.worker(strategy)
    on = (f" on {strategy.num_replicas_in_sync} replicas"
          + (f" (worker {worker} of {workers})" if workers > 1 else "")
          if distributed.is_replicated(strategy) else "")
    print(f"{PROG}: {config.method} on {config.dataset} for {config.steps} "
          f"iterations{on} -> {workdir}", flush=True)
    metrics = train_lib.train_and_evaluate(
        config, workdir, args.init_from,
        report=lambda message: print(f"{PROG}: {message}", flush=True),
        strategy=strategy)
  if "generator" not in metrics:  # a worker other than the chief
    print(f"{PROG}: worker {worker} finished at step {metrics['step']} "
          f"(weights fingerprint {metrics['fingerprint']})")
    return
  print(f"\nFinal evaluation of the exported generator {metrics['generator']}:")
  print(format_metrics(metrics))
  pictures = "samples.png, samples/" if config.data.is_image else "density.png"
  print(f"\nRun directory: {workdir} (config.json, metrics.csv, metrics.json, "
        f"{pictures}, metrics.png, logs/, checkpoints/, generator/)")


if __name__ == "__main__":
  main()
