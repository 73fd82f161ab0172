import numpy as np
import pytest
import tensorflow as tf

from lbt_tf.data import mixtures


def test_ring_is_the_papers_ring_without_a_repeated_mode():
  ring = mixtures.ring()
  assert ring.num_modes == 8 and ring.std == 0.1
  np.testing.assert_allclose(np.linalg.norm(ring.means, axis=1), 1.0)
  gaps = np.linalg.norm(ring.means - np.roll(ring.means, 1, axis=0), axis=1)
  np.testing.assert_allclose(gaps, 2 * np.sin(np.pi / 8))  # evenly spaced, distinct


def test_grid_is_the_papers_grid_centred_on_the_origin():
  grid = mixtures.grid()
  assert grid.num_modes == 100 and grid.std == 0.01
  np.testing.assert_allclose(grid.means.mean(0), 0.0, atol=1e-12)
  np.testing.assert_allclose(np.unique(grid.means[:, 0]),
                             np.arange(-0.9, 0.91, 0.2), atol=1e-12)


def test_custom_mixtures_and_bad_ones():
  ring = mixtures.make_mixture("ring", 12, 0.05, 2.0, 0.0)
  assert ring.num_modes == 12
  np.testing.assert_allclose(np.linalg.norm(ring.means, axis=1), 2.0)
  assert mixtures.make_mixture("grid", 25, 0.05, 0.0, 2.0).num_modes == 25
  with pytest.raises(ValueError, match="square number"):
    mixtures.make_mixture("grid", 10, 0.01, 0.0, 0.2)
  with pytest.raises(ValueError, match="choose from ring, grid"):
    mixtures.make_mixture("spiral", 8, 0.1, 1.0, 0.2)
  with pytest.raises(ValueError, match="positive std"):
    mixtures.make_mixture("ring", 8, 0.0, 1.0, 0.2)


def test_tf_batches_are_seeded_and_have_the_mixture_statistics():
  ring = mixtures.ring()
  first = list(mixtures.training_batches(ring, 4096, seed=3).take(2))
  again = list(mixtures.training_batches(ring, 4096, seed=3).take(2))
  other = next(iter(mixtures.training_batches(ring, 4096, seed=4)))
  np.testing.assert_array_equal(first[0], again[0])
  assert not np.array_equal(first[0], first[1])
  assert not np.array_equal(first[0], other)
  samples = np.concatenate([b.numpy() for b in first])
  nearest = np.argmin(((samples[:, None] - ring.means[None]) ** 2).sum(-1), 1)
  residual = samples - ring.means[nearest]
  assert residual.std() == pytest.approx(0.1, rel=0.05)
  counts = np.bincount(nearest, minlength=8)
  assert counts.min() > 0.8 * len(samples) / 8  # all modes, evenly


def test_numpy_and_tf_samplers_agree_in_distribution():
  grid = mixtures.grid(9, 1.0, 0.1)
  a = grid.sample(20000, np.random.default_rng(0))
  b = grid.tf_sample(20000, tf.constant([0, 0], tf.int64)).numpy()
  np.testing.assert_allclose(a.mean(0), b.mean(0), atol=0.03)
  np.testing.assert_allclose(a.std(0), b.std(0), rtol=0.03)


def test_training_batches_run_without_tf_datas_autotuner():
  """With the autotuner on, deleting the iterator (as every `Model.fit`
  returns) can wait for the autotuner's thread to wake, up to 60 s, idle
  (lbt_tf.data.mixtures.training_batches); the batches stay those of (seed, i)."""
  mixture = mixtures.ring()
  batches = mixtures.training_batches(mixture, 8, seed=3, start=5)
  assert batches.options().autotune.enabled is False
  again = next(iter(mixtures.training_batches(mixture, 8, seed=3, start=5)))
  assert np.array_equal(next(iter(batches)).numpy(), again.numpy())
  assert np.array_equal(again.numpy(), mixture.tf_sample(8, tf.constant([3, 5], tf.int64)).numpy())
