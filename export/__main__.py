"""Export a run's generator for TensorFlow Serving.

  python -m lbt_tf.export --workdir RUN --export-dir BASE [--version V]
                          [--checkpoint RUN/checkpoints/ckpt-N]

Writes BASE/V/ (default: the next free version) from the run's latest
checkpoint; an existing version is never overwritten.
"""

import sys

from lbt_tf import cli
from lbt_tf import config as config_lib

PROG = "lbt_tf.export"


def main(argv=None):
  parser = cli.OneLineErrorParser(prog=PROG, description=__doc__,
                                  formatter_class=cli.argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--workdir", required=True, help="the training run")
  parser.add_argument("--export-dir", required=True, help="base folder of versions")
  parser.add_argument("--version", type=int, help="default: next free version")
  parser.add_argument("--checkpoint", help="default: the run's latest checkpoint")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  if args.version is not None and args.version < 1:
    parser.error("--version must be a positive integer")
  try:  # sample and evaluate could not load what they cannot name
    cli.refuse_glob_characters("--export-dir", args.export_dir)
  except ValueError as e:
    parser.error(str(e))
  try:
    config = config_lib.load(args.workdir)
  except ValueError as e:
    cli.fail(PROG, e)

  with cli.errors_in_one_line(PROG):
    with cli.quiet_native_stderr():
      from lbt_tf import checkpointing, train_lib  # pylint: disable=g-import-not-at-top
      from lbt_tf.export import saved_model  # pylint: disable=g-import-not-at-top
    trainer = train_lib.build_trainer(config)
    prefix = checkpointing.resolve(args.checkpoint or args.workdir)
    checkpointing.restore_exactly(trainer, prefix)
    step = checkpointing.step_of(trainer)
    path = saved_model.export_generator(
        trainer.generator, trainer.noise_dim, args.export_dir, args.version,
        metadata=train_lib.export_metadata(config, step))
  print(f"{PROG}: exported the generator at step {step} from {prefix} to {path}")


if __name__ == "__main__":
  main()
