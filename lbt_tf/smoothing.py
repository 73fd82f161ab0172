"""The coarse-to-fine bandwidth schedule of the teaching signal.

A KDE teacher's kernel has a bandwidth h; with --smooth-estimator true a
trained estimator is given one too, as Gaussian noise of std h added to the
generator samples it fits and to the real data it scores (it then models
both densities smoothed by N(0, h^2)); without it a trained estimator is
never smoothed, whatever the bandwidth fields say (the paper's algorithm).
A wide h lets every region of the data pull on the generator; a narrow one
resolves the modes. h shrinks geometrically from `start` to
`final` over `steps` iterations, then stays.

For a mixture the defaults come from its description: start at half the
distance between neighbouring modes (at least their std), end at half their
std (fitting p_G * N(0, h^2) to the data leaves a mode of std s with std
sqrt(s^2 - h^2): 87% of s at h = s / 2).
"""

import dataclasses
from typing import Tuple

# TensorFlow is imported where a schedule is evaluated: the defaults below
# are plain Python, so validating a config stays light.


@dataclasses.dataclass(frozen=True)
class Schedule:
  """h(step): `start` (0: no smoothing) shrinking to `final` over `steps`."""

  start: float = 0.0
  final: float = 0.0
  steps: int = 0

  def __post_init__(self):
    if self.start < 0 or self.final < 0 or self.steps < 0:
      raise ValueError("bandwidths and anneal steps must be >= 0")
    if self.steps and not (self.start > 0 and self.final > 0):
      raise ValueError("annealing needs a positive first and final bandwidth")

  @property
  def active(self) -> bool:
    return self.start > 0

  @property
  def finest(self) -> float:
    return self.final if self.steps else self.start

  def at(self, step, dtype=None):
    """h after `step` iterations (a `dtype` tensor, float32 by default)."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    dtype = dtype or tf.float32
    if not self.steps or self.final == self.start:
      return tf.constant(self.start, dtype)
    progress = tf.minimum(tf.cast(step, dtype) / self.steps, 1.0)
    return self.start * tf.pow(tf.constant(self.final / self.start, dtype), progress)


def bandwidths(config, data, kernel: bool = False) -> Tuple[float, float]:
  """(first, final) bandwidth of the run, 0s replaced by the defaults derived
  from a mixture (`data`, a `datasets.DataInfo`) where they apply: always for
  a KDE (`kernel`), and for a smoothed estimator when --anneal-steps asks
  for a schedule; the final one only when annealing."""
  start, final, steps = config.bandwidth, config.final_bandwidth, config.anneal_steps
  if (kernel or steps) and data.mode_std is not None:  # a mixture
    start = start or max(data.mode_std, data.mode_spacing / 2)
    if steps:
      final = final or data.mode_std / 2
  return start, final


def from_config(config, data, kernel: bool = False) -> Schedule:
  """The run's schedule, from a validated config: `Config.validate` stores
  0s where no schedule is used (a trained estimator without --smooth-estimator
  true: an inactive schedule here), and the rule lives there only. `kernel`:
  for a KDE, which always needs a bandwidth."""
  start, final = bandwidths(config, data, kernel)
  if kernel and not start:
    raise ValueError("--estimator kde needs --bandwidth on this data")
  steps = config.anneal_steps
  return Schedule(start, final if steps else start, steps)


def image_scales(pixels, centres: int = 320, queries: int = 64, seed: int = 0) -> dict:
  """The bandwidths at which a kernel on flattened images changes regime.

  Images have no mode spacing to derive a bandwidth from, so it is read
  off the data's own distances: `queries` real images against `centres`
  others (as a KDE teacher's real batch against its K x batch generator
  samples, for a generator that matched the data), pixels in [0, 1].
  With d1 <= d2 <= ... a query's distances to the centres, the kernel
  weights exp(-d^2 / (2 h^2)) give

    coarse   sqrt(median std_j(d_j^2) / 2): most centres share each real
             image's pull (a start for the coarse-to-fine schedule);
    fine     sqrt(median(d2^2 - d1^2) / 2): the nearest centre weighs e
             times the next; well below it each real image pulls only its
             nearest sample (implicit maximum likelihood estimation);
    nearest  median d1, in pixel units (for scale).

  pixels: [n, ...] uint8 or float in [0, 1], n >= centres + queries.
  Returns those three floats.
  """
  import numpy as np  # pylint: disable=g-import-not-at-top
  pixels = np.asarray(pixels)
  if len(pixels) < centres + queries:
    raise ValueError(f"need at least {centres + queries} images, got {len(pixels)}")
  scale = 255.0 if pixels.dtype == np.uint8 else 1.0
  rows = np.random.default_rng(seed).choice(len(pixels), centres + queries, replace=False)
  x = pixels[rows].reshape(len(rows), -1).astype(np.float64) / scale
  q, c = x[:queries], x[queries:]
  d2 = np.maximum((q ** 2).sum(1)[:, None] - 2 * q @ c.T + (c ** 2).sum(1)[None], 0)
  return scales_from_distances(d2)


def scales_from_distances(d2):
  """`image_scales`' three bandwidths from d2 [queries, centres], each
  query's squared distances to the centres (any order)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  d2 = np.sort(np.asarray(d2, np.float64), axis=1)
  return {"coarse": float(np.sqrt(np.median(d2.std(axis=1)) / 2)),
          "fine": float(np.sqrt(np.median(d2[:, 1] - d2[:, 0]) / 2)),
          "nearest": float(np.median(np.sqrt(d2[:, 0])))}


def main(argv=None):
  """python -m lbt_tf.smoothing --dataset NAME: print `image_scales` of its
  training images, with the preset's K x batch centres."""
  import argparse  # pylint: disable=g-import-not-at-top
  from lbt_tf import config as config_lib  # pylint: disable=g-import-not-at-top
  from lbt_tf.data import image_data  # pylint: disable=g-import-not-at-top
  parser = argparse.ArgumentParser(description=main.__doc__)
  parser.add_argument("--dataset", required=True)
  parser.add_argument("--data-dir", default="")
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args(argv)
  config = config_lib.make_config(args.dataset, {"data_dir": args.data_dir})
  if not config.data.is_image:
    raise SystemExit(f"{args.dataset} is not an image dataset: its bandwidths come "
                     "from the mixture (see this module's docstring)")
  images = image_data.load(config.data, config.data_dir, config.image_size).images
  centres = config.batch_size * config.unroll_steps
  scales = image_scales(images, centres, config.batch_size, args.seed)
  print(f"{args.dataset}: {config.batch_size} real images against {centres} others "
        f"(batch x K), pixels in [0, 1]: nearest distance {scales['nearest']:.2f}; "
        f"--bandwidth {scales['coarse']:.2f} (coarse) to --final-bandwidth "
        f"{scales['fine']:.2f} (nearest weighs e x the next) or below")


if __name__ == "__main__":
  main()
