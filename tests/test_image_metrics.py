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


def test_fid_and_kid_are_labelled_as_this_librarys_own(tmp_path):
  """A scorer's FID/KID (random InceptionV3 weights: nothing downloaded)
  record how many images went in; the final metrics, the run's summary and
  the comparison table say that they are this library's protocol, not the
  published one."""
  import dataclasses  # pylint: disable=g-import-not-at-top
  from lbt_tf import comparison, config as config_lib, train  # pylint: disable=g-import-not-at-top
  from lbt_tf.metrics import scoring  # pylint: disable=g-import-not-at-top
  config = config_lib.make_config("cifar10", {"fid_samples": 0})  # nothing loaded here
  scorer = scoring.ImageScorer(config, None, tmp_path, noise_dim=4)
  scorer.config = dataclasses.replace(config, fid_samples=6)
  scorer.inception = scorer._load_inception(None)  # pylint: disable=protected-access
  rng = np.random.default_rng(0)
  scorer.real_features = scorer.inception(rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8))
  metrics = scorer.described(scorer.score(rng.uniform(size=(8, 32, 32, 3)).astype(np.float32)))
  assert metrics["fid_samples"] == 6 and metrics["fid_real_samples"] == 5
  assert np.isfinite(metrics["fid"]) and np.isfinite(metrics["kid"])
  assert metrics["fid_protocol"].startswith("this library's own: Keras InceptionV3 (ImageNet weights)")
  assert "6 generated against 5 training images" in metrics["fid_protocol"]
  assert "not comparable with published FIDs" in metrics["fid_protocol"]

  summary = train.format_metrics(dict(metrics, step=10, train_seconds=1.0,
                                      iterations_per_second=10.0, fingerprint="f", replicas=1))
  assert "FID (Keras InceptionV3, n=6)" in summary and "KID (Keras InceptionV3, n=6)" in summary
  assert "not comparable with published FIDs" in summary

  chosen = comparison.load_preset("stacked_digits", datasets=("cifar10",), methods=("gan",),
                                  seeds=(0,))
  table = comparison.markdown_table(chosen, {"cifar10": {"gan": [
      dict(metrics, iterations_per_second=1.0)]}})
  assert "| FID (Keras InceptionV3, n=6) | KID (Keras InceptionV3, n=6) |" in table
  assert "not comparable with published FIDs" in table
