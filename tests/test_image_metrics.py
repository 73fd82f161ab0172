"""FID and KID against closed forms; the InceptionV3 feature extractor runs."""

import numpy as np
import pytest

from lbt_tf.metrics import image_metrics


def test_a_set_against_itself_has_fid_zero():
  features = np.random.default_rng(0).normal(size=(500, 16))
  assert image_metrics.fid(features, features) == pytest.approx(0, abs=1e-8)


def test_frechet_distance_matches_the_closed_form_for_commuting_covariances():
  """Same eigenvectors: Tr((S_a S_b)^(1/2)) = sum sqrt(a_i b_i). A rotation
  makes the matrices non-diagonal, so an elementwise square root fails."""
  rng = np.random.default_rng(1)
  a, b = rng.uniform(0.5, 3, 6), rng.uniform(0.5, 3, 6)
  mu_b = rng.normal(size=6)
  rotation, _ = np.linalg.qr(rng.normal(size=(6, 6)))
  sigma_a = rotation @ np.diag(a) @ rotation.T
  sigma_b = rotation @ np.diag(b) @ rotation.T
  expected = np.sum(mu_b ** 2) + np.sum(a + b - 2 * np.sqrt(a * b))
  assert image_metrics.frechet_distance(np.zeros(6), sigma_a, mu_b, sigma_b) == (
      pytest.approx(expected, rel=1e-9))


def test_fid_of_samples_approaches_the_gaussians_distance():
  rng = np.random.default_rng(2)
  shift = np.array([1.0, -2.0, 0.5, 0.0])
  a = rng.normal(size=(200_000, 4))
  b = shift + 2 * rng.normal(size=(200_000, 4))
  # |shift|^2 + 4 * (1 + 4 - 2 * 2) = 5.25 + 4
  assert image_metrics.fid(a, b) == pytest.approx(9.25, rel=0.01)


def test_kid_is_unbiased_near_zero_for_one_distribution_and_positive_apart():
  rng = np.random.default_rng(3)
  same_mean, same_std = image_metrics.kid(rng.normal(size=(2000, 8)),
                                          rng.normal(size=(2000, 8)), subsets=20,
                                          subset_size=500)
  assert abs(same_mean) < 3 * same_std / np.sqrt(20) + 1e-3
  apart, _ = image_metrics.kid(rng.normal(size=(2000, 8)),
                               rng.normal(size=(2000, 8)) + 1.0, subset_size=500)
  assert apart > 0.1


def test_mismatched_feature_sets_fail_clearly():
  with pytest.raises(ValueError, match="feature sizes differ: 4 vs 5"):
    image_metrics.fid(np.zeros((3, 4)), np.zeros((3, 5)))
  with pytest.raises(ValueError, match="n >= 2"):
    image_metrics.fid(np.zeros((1, 4)), np.zeros((3, 4)))


def test_inception_features_of_small_grayscale_images():
  """Random weights (nothing downloaded): the preprocessing and shapes."""
  images = np.random.default_rng(4).integers(0, 256, (3, 28, 28, 1), dtype=np.uint8)
  features = image_metrics.inception_features(images, weights=None, batch_size=2)
  assert features.shape == (3, 2048) and np.isfinite(features).all()
