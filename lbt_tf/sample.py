"""Draw samples from an exported generator, with TensorFlow alone.

  python -m lbt_tf.sample --model BASE [--version V] -n 64 --out samples.png
  python -m lbt_tf.sample --model BASE -n 10000 --out samples.npy

Uses the SavedModel's `sample` signature: the same samples for the same
--seed. Large requests are drawn CHUNK samples at a time (chunk i > 0 with
its own seed) and a .npy is written as they come, so memory stays small;
a request that the disk cannot hold is refused before anything is written.
A .png shows 2-D samples as a scatter plot and images as a grid.
"""

import pathlib
import shutil
import sys

from lbt_tf import cli

PROG = "lbt_tf.sample"
CHUNK = 100_000
MAX_PICTURE = {2: 1_000_000, 4: 10_000}  # points in a scatter; images in a grid


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


def chunk_seed(seed: int, index: int) -> int:
  """Chunk 0 uses --seed itself; later chunks seeds far from any other --seed's."""
  return (seed + index * (1 << 40)) % (1 << 63)


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
  if not 0 <= args.seed < 1 << 63:
    parser.error("--seed must be in [0, 2^63)")

  with cli.errors_in_one_line(PROG):
    with cli.quiet_native_stderr():
      import numpy as np  # pylint: disable=g-import-not-at-top
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
      from lbt_tf.export import generators  # pylint: disable=g-import-not-at-top
    exported = generators.load(args.model, args.version)
    sample = exported.signatures.get("sample")
    if sample is None:
      raise ValueError(f"{exported.model_dir} has no `sample` signature (not an "
                       "lbt_tf export)")

    def draw(n, index):
      return sample(num_samples=tf.constant(n, tf.int32),
                    seed=tf.constant(chunk_seed(args.seed, index), tf.int64))["samples"].numpy()

    first = draw(min(CHUNK, args.num_samples), 0)
    shape, dtype = first.shape[1:], first.dtype
    if out.suffix == ".png" and args.num_samples > MAX_PICTURE.get(first.ndim, 0):
      raise ValueError(f"a picture of {args.num_samples:,} samples is too many "
                       f"(at most {MAX_PICTURE.get(first.ndim, 0):,}); write a .npy")
    needed = args.num_samples * int(np.prod(shape)) * dtype.itemsize
    out.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(out.parent).free
    if needed > free:
      raise ValueError(f"{args.num_samples:,} samples need {needed / 2**30:.1f} GiB "
                       f"and {out.parent} has {free / 2**30:.1f} GiB free; ask for "
                       "fewer (-n) or write elsewhere")
    if out.suffix == ".png":
      rest = [draw(min(CHUNK, args.num_samples - start), start // CHUNK)
              for start in range(CHUNK, args.num_samples, CHUNK)]
      save_picture(np.concatenate([first] + rest), out)
    else:
      staging = out.with_name(out.name + ".tmp.npy")
      try:
        array = np.lib.format.open_memmap(staging, mode="w+", dtype=dtype,
                                          shape=(args.num_samples,) + shape)
        array[:len(first)] = first
        for start in range(CHUNK, args.num_samples, CHUNK):
          chunk = draw(min(CHUNK, args.num_samples - start), start // CHUNK)
          array[start:start + len(chunk)] = chunk
        array.flush()
        del array
        staging.replace(out)
      finally:
        staging.unlink(missing_ok=True)
  print(f"{PROG}: {args.num_samples} samples of shape {shape} from "
        f"{exported.model_dir} -> {out}")


if __name__ == "__main__":
  main()
