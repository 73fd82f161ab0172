"""Draw samples from an exported generator, with TensorFlow alone.

  python -m lbt_tf.sample --model BASE [--version V] -n 64 --out samples.png
  python -m lbt_tf.sample --model BASE -n 10000 --out samples.npy

Uses the SavedModel's `sample` signature: the same samples for the same
--seed. Large requests are drawn in chunks (chunk i > 0 with its own seed)
sized from one sample's bytes, so memory stays bounded whatever the image
size, and a .npy is written as they come, with progress lines on stderr.
What cannot be done (a picture of too many samples, more than the disk
holds) is refused before anything is drawn or written. A .png shows 2-D
samples as a scatter plot and images as a grid.
"""

import math
import pathlib
import shutil
import sys
import time

from lbt_tf import cli

PROG = "lbt_tf.sample"
# Samples per generator call: CHUNK_BYTES of float32 output (the generator's
# activations are tens of times that), at most MAX_CHUNK: 100,000 2-D points,
# 170 images of 64x64x3.
CHUNK_BYTES = 8 << 20
MAX_CHUNK = 100_000
MAX_PICTURE = {2: 1_000_000, 4: 10_000}  # points in a scatter; images in a grid
PROGRESS_SECONDS = 10


def chunk_size(sample_shape) -> int:
  """Samples per call for samples of `sample_shape` (one sample's)."""
  return max(1, min(MAX_CHUNK, CHUNK_BYTES // (4 * math.prod(sample_shape))))


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


def duration(seconds: float) -> str:
  if seconds < 90:
    return f"{seconds:.0f} s"
  if seconds < 5400:
    return f"{seconds / 60:.0f} min"
  return f"{seconds / 3600:.1f} h"


class Progress:
  """For a job that takes longer than PROGRESS_SECONDS: a line on stderr
  after the first chunk, with the time left at that rate, then one every
  PROGRESS_SECONDS."""

  def __init__(self, total: int):
    self.total = total
    self.start = self.last = time.perf_counter()

  def update(self, done: int):
    now = time.perf_counter()
    left = (now - self.start) / done * (self.total - done)
    first = self.last == self.start
    if done < self.total and (left >= PROGRESS_SECONDS if first
                              else now - self.last >= PROGRESS_SECONDS):
      print(f"{PROG}: {done:,} of {self.total:,} samples ({100 * done / self.total:.1f}%), "
            f"about {duration(left)} left", file=sys.stderr, flush=True)
      self.last = now


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

  cli.interrupt_on_signals()  # a kill stops cleanly: no staging file is left
  with cli.errors_in_one_line(PROG):
    from lbt_tf.export import generators  # pylint: disable=g-import-not-at-top
    generators.resolve_model_dir(args.model, args.version)  # before TensorFlow's start-up
    with cli.quiet_native_stderr():
      import numpy as np  # pylint: disable=g-import-not-at-top
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
    exported = generators.load(args.model, args.version)
    sample = exported.signatures.get("sample")
    if sample is None:
      raise ValueError(f"{exported.model_dir} has no `sample` signature (not an "
                       "lbt_tf export)")
    # What one sample is, from the signature: nothing is drawn before the checks.
    spec = sample.structured_outputs["samples"]
    shape, dtype = tuple(spec.shape[1:]), np.dtype(spec.dtype.as_numpy_dtype)
    n = args.num_samples
    if out.suffix == ".png" and n > MAX_PICTURE.get(1 + len(shape), 0):
      raise ValueError(f"a picture of {n:,} samples is too many "
                       f"(at most {MAX_PICTURE.get(1 + len(shape), 0):,}); write a .npy")
    needed = n * math.prod(shape) * dtype.itemsize
    out.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(out.parent).free
    if needed > free:
      raise ValueError(f"{n:,} samples need {needed / 2**30:.1f} GiB "
                       f"and {out.parent} has {free / 2**30:.1f} GiB free; ask for "
                       "fewer (-n) or write elsewhere")
    chunk = chunk_size(shape)
    progress = Progress(n)

    def chunks():
      """(start, samples) for each chunk, in order."""
      for index, start in enumerate(range(0, n, chunk)):
        drawn = sample(num_samples=tf.constant(min(chunk, n - start), tf.int32),
                       seed=tf.constant(chunk_seed(args.seed, index), tf.int64))
        yield start, drawn["samples"].numpy()
        progress.update(min(start + chunk, n))

    if out.suffix == ".png":
      save_picture(np.concatenate([samples for _, samples in chunks()]), out)
    else:
      staging = out.with_name(out.name + ".tmp.npy")
      try:  # the header, then the chunks as they come: nothing held or mapped
        with open(staging, "wb") as f:
          np.lib.format.write_array_header_2_0(f, {
              "descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
              "shape": (n,) + shape})
          for _, samples in chunks():
            f.write(np.ascontiguousarray(samples, dtype).tobytes())
        staging.replace(out)
      finally:
        staging.unlink(missing_ok=True)
  print(f"{PROG}: {n} samples of shape {shape} from {exported.model_dir} -> {out}")


if __name__ == "__main__":
  main()
