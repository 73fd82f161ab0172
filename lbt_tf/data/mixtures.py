"""2-D Gaussian mixtures: the paper's ring and grid, or any user-defined one.

A mixture is a set of equally weighted isotropic Gaussians. It samples in
NumPy (for evaluation) and in TensorFlow (an endless, seeded `tf.data`
pipeline of batches for training).
"""

import dataclasses
import math

import numpy as np
import tensorflow as tf

LAYOUTS = ("ring", "grid")


@dataclasses.dataclass(frozen=True)
class GaussianMixture2D:
  """Equally weighted isotropic Gaussians with centres `means` ([modes, 2])."""

  means: np.ndarray
  std: float

  @property
  def num_modes(self) -> int:
    return len(self.means)

  def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
    modes = rng.integers(self.num_modes, size=n)
    noise = rng.standard_normal((n, 2)) * self.std
    return (self.means[modes] + noise).astype(np.float32)

  def tf_sample(self, n: int, seed) -> tf.Tensor:
    """Stateless sample: the same `seed` (a [2] int tensor) gives the same batch."""
    mode_seed, noise_seed = tf.unstack(
        tf.random.experimental.stateless_split(seed, 2))
    modes = tf.random.stateless_uniform(
        [n], mode_seed, maxval=self.num_modes, dtype=tf.int32)
    noise = tf.random.stateless_normal([n, 2], noise_seed) * self.std
    return tf.gather(tf.constant(self.means, tf.float32), modes) + noise


def ring(num_modes: int = 8, radius: float = 1.0, std: float = 0.1):
  """Modes evenly spaced on a circle (the paper's ring: 8 modes, r=1, std 0.1)."""
  angles = 2 * np.pi * np.arange(num_modes) / num_modes  # no repeated endpoint
  means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
  return GaussianMixture2D(means.astype(np.float64), float(std))


def grid(num_modes: int = 100, spacing: float = 0.2, std: float = 0.01):
  """A square grid centred on the origin (the paper's: 10x10, 0.2 apart, std 0.01)."""
  side = math.isqrt(num_modes)
  if side * side != num_modes:
    raise ValueError(
        f"a grid needs a square number of modes (4, 9, ..., 100), got {num_modes}")
  axis = (np.arange(side) - (side - 1) / 2) * spacing
  xs, ys = np.meshgrid(axis, axis, indexing="ij")
  means = np.stack([xs.ravel(), ys.ravel()], axis=1)
  return GaussianMixture2D(means.astype(np.float64), float(std))


def make_mixture(layout: str, num_modes: int, std: float, radius: float,
                 spacing: float) -> GaussianMixture2D:
  if num_modes < 1 or std <= 0:
    raise ValueError("a mixture needs at least one mode and a positive std")
  if layout == "ring":
    return ring(num_modes, radius, std)
  if layout == "grid":
    return grid(num_modes, spacing, std)
  raise ValueError(
      f"unknown mixture layout {layout!r}; choose from {', '.join(LAYOUTS)}")


def of_config(config) -> GaussianMixture2D:
  """The mixture a run's settings describe."""
  from lbt_tf.data import datasets  # pylint: disable=g-import-not-at-top
  return make_mixture(**datasets.mixture_spec(config))


def training_batches(source, batch_size: int, seed: int,
                     start: int = 0) -> tf.data.Dataset:
  """Endless batches of fresh samples from batch `start` on.

  `source` is a mixture, or anything else with its `tf_sample(n, seed)` (an
  `image_data.ImageSet`). Batch i depends only on (seed, i), so a run
  resumed at step i sees what an uninterrupted run would have seen.

  tf.data's autotuning is off, and two batches are drawn ahead on two
  threads (a batch is a few random draws, or a gather from memory): with
  it on, deleting the pipeline's iterator, which `Model.fit` does as it
  returns, can wait for the autotuner's thread to wake from a sleep that
  doubles from 10 ms up to 60 s (measured on 64x64 images: compiled
  calls ending at 20.48, 40.96, 81.92 and 141.9 s, the process idle, its
  main thread in tf.data's RootDataset::Iterator destructor).
  """
  def batch(i):
    return source.tf_sample(batch_size, tf.stack([tf.cast(seed, tf.int64), i]))
  options = tf.data.Options()
  options.autotune.enabled = False
  return (tf.data.Dataset.counter(start)
          .map(batch, num_parallel_calls=2)
          .prefetch(2)
          .with_options(options))
