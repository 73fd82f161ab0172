"""Draw samples from an exported generator, with TensorFlow alone.

  python -m lbt_tf.sample --model BASE [--version V] -n 64 --out samples.png
  python -m lbt_tf.sample --model BASE -n 10000 --out samples.npy

Uses the SavedModel's `sample` signature (the same samples for the same
--seed). A .png shows 2-D samples as a scatter plot and images as a grid; a
.npy holds the raw array.
"""

import pathlib
import sys

from lbt_tf import cli

PROG = "lbt_tf.sample"


def save_picture(samples, path):
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  if samples.ndim == 2 and samples.shape[1] == 2:
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(samples[:, 0], samples[:, 1], s=4, alpha=min(1.0, 500 / len(samples)))
    ax.set_aspect("equal")
    fig.savefig(path, dpi=110)
    plt.close(fig)
  elif samples.ndim == 4:
    from lbt_tf import plots  # pylint: disable=g-import-not-at-top
    plots.save_image_grid(samples, path)
  else:
    raise ValueError(f"cannot draw samples of shape {samples.shape}; "
                     "write a .npy instead")


def main(argv=None):
  parser = cli.OneLineErrorParser(prog=PROG, description=__doc__,
                                  formatter_class=cli.argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--model", required=True,
                      help="SavedModel folder, or a base folder of versions")
  parser.add_argument("--version", type=int)
  parser.add_argument("-n", "--num-samples", type=int, default=64)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--out", required=True, help="a .png or .npy file")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  out = pathlib.Path(args.out)
  if out.suffix not in (".png", ".npy"):
    parser.error(f"--out must end in .png or .npy, got {out.name!r}")
  if args.num_samples < 1:
    parser.error("--num-samples must be at least 1")

  with cli.quiet_native_stderr():
    import numpy as np  # pylint: disable=g-import-not-at-top
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    from export import loading  # pylint: disable=g-import-not-at-top
    from lbt_tf.errors import first_line  # pylint: disable=g-import-not-at-top
  try:
    model_dir = loading.resolve_model_dir(args.model, args.version)
    try:
      sample = tf.saved_model.load(str(model_dir)).signatures["sample"]
    except (OSError, tf.errors.OpError, KeyError) as e:
      raise ValueError(f"{model_dir} is not an lbt_tf generator "
                       f"({first_line(e)})") from None
    samples = sample(num_samples=tf.constant(args.num_samples, tf.int32),
                     seed=tf.constant(args.seed, tf.int64))["samples"].numpy()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npy":
      np.save(out, samples)
    else:
      save_picture(samples, out)
  except (ValueError, OSError) as e:
    cli.fail(PROG, e)
  print(f"{PROG}: {len(samples)} samples of shape {samples.shape[1:]} from "
        f"{model_dir} -> {out}")


if __name__ == "__main__":
  main()
