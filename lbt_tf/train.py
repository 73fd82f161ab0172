"""Command line: python -m lbt_tf.train --dataset ring --method lbt-gan ...

Every field of `lbt_tf.config.Config` is a flag (`--unroll-steps 5`,
`--generator-units 128,128`, `--stop-second-moment false`); unset ones come
from the dataset's preset.
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
  parser.add_argument("--dataset", default="ring", choices=config_lib.datasets())
  parser.add_argument("--method", choices=config_lib.METHODS)
  parser.add_argument("--workdir", help="run directory (default: runs/<dataset>-<method>-<time>)")
  for field in dataclasses.fields(config_lib.Config):
    if field.name in ("dataset", "method"):
      continue
    parser.add_argument(f"--{config_lib.flag(field.name)}", dest=field.name,
                        metavar="VALUE", help=f"default: {field.default}")
  args = parser.parse_args(argv)
  overrides = {}
  try:
    for name, text in vars(args).items():
      if name in ("dataset", "workdir") or text is None:
        continue
      overrides[name] = text if name == "method" else config_lib.parse_value(name, text)
    config = config_lib.make_config(args.dataset, overrides)
  except (ValueError, TypeError) as e:
    parser.error(str(e))
  workdir = args.workdir or (
      f"runs/{config.dataset}-{config.method}-"
      f"{datetime.datetime.now():%Y%m%d-%H%M%S}")
  return config, workdir


def format_metrics(metrics: dict) -> str:
  rows = [("modes covered (20% rule)",
           f"{metrics['modes_covered']} / {metrics['num_modes']}"),
          ("modes with >= 1 sample",
           f"{metrics['modes_with_any_sample']} / {metrics['num_modes']}"),
          ("high-quality samples", f"{metrics['high_quality_percent']:.2f} %"),
          ("averaged intra-mode KL",
           f"{metrics['intra_mode_kl']:.4f} (over {metrics['kl_modes']} modes)"),
          ("samples scored", f"{metrics['num_samples']:,}"),
          ("training", f"{metrics['step']} iterations in "
                       f"{metrics['train_seconds']:.0f} s "
                       f"({metrics['iterations_per_second']:.1f} it/s)")]
  width = max(len(name) for name, _ in rows)
  return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


def main(argv=None):
  config, workdir = parse_config(sys.argv[1:] if argv is None else argv)
  with cli.quiet_native_stderr():
    from lbt_tf import train_lib  # pylint: disable=g-import-not-at-top (slow: TensorFlow)
  print(f"{PROG}: {config.method} on {config.dataset} for {config.steps} "
        f"iterations -> {workdir}")
  try:
    metrics = train_lib.train_and_evaluate(config, workdir)
  except (ValueError, OSError, train_lib.TrainingDiverged) as e:
    cli.fail(PROG, e)
  except KeyboardInterrupt:
    cli.fail(PROG, "interrupted")
  print(f"\nFinal evaluation of the exported generator {metrics['generator']}:")
  print(format_metrics(metrics))
  print(f"\nRun directory: {workdir} (config.json, metrics.csv, metrics.json, "
        "density.png, metrics.png, logs/, generator/)")


if __name__ == "__main__":
  main()
