"""The coarse-to-fine bandwidth schedule of the teaching signal.

A KDE teacher's kernel has a bandwidth h; any other estimator can be given
one too, as Gaussian noise of std h added to the generator samples it fits
and to the real data it scores (it then models both densities smoothed by
N(0, h^2)). A wide h lets every region of the data pull on the generator; a
narrow one resolves the modes. h shrinks geometrically from `start` to
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
  a KDE (`kernel`), and for other estimators when --anneal-steps asks for a
  schedule; the final one only when annealing."""
  start, final, steps = config.bandwidth, config.final_bandwidth, config.anneal_steps
  if (kernel or steps) and data.mode_std is not None:  # a mixture
    start = start or max(data.mode_std, data.mode_spacing / 2)
    if steps:
      final = final or data.mode_std / 2
  return start, final


def from_config(config, data, kernel: bool = False) -> Schedule:
  """The run's schedule. `kernel`: for a KDE, which always needs a bandwidth;
  other estimators are smoothed only when --bandwidth or --anneal-steps asks."""
  start, final = bandwidths(config, data, kernel)
  if kernel and not start:
    raise ValueError("--estimator kde needs --bandwidth on this data")
  steps = config.anneal_steps
  return Schedule(start, final if steps else start, steps)
