"""The paper's metrics on distributions whose answers are known."""

import numpy as np
import pytest

from lbt_tf.metrics import mixture_metrics
from lbt_tf.data import mixtures

TRUE_HIGH_QUALITY = 100 * (1 - np.exp(-4.5))  # 98.89%: P(|x - mu| < 3 std) in 2-D


@pytest.mark.parametrize("mixture", [mixtures.ring(), mixtures.grid()],
                         ids=["ring", "grid"])
def test_the_true_distribution_scores_perfectly(mixture):
  samples = mixture.sample(500_000, np.random.default_rng(0))
  m = mixture_metrics.evaluate(samples, mixture)
  assert m["modes_covered"] == m["modes_with_any_sample"] == mixture.num_modes
  assert m["high_quality_percent"] == pytest.approx(TRUE_HIGH_QUALITY, abs=0.1)
  assert m["intra_mode_kl"] < 0.01 and m["kl_modes"] == mixture.num_modes
  assert m["intra_mode_kl_fitted"] == m["intra_mode_kl"]  # every mode fitted, none capped


def test_a_collapsed_generator_covers_one_mode():
  ring = mixtures.ring()
  rng = np.random.default_rng(0)
  # Half the true std: every sample is high quality, all at one mode.
  samples = (ring.means[3] + 0.05 * rng.standard_normal((100_000, 2))).astype(np.float32)
  m = mixture_metrics.evaluate(samples, ring)
  assert m["modes_covered"] == 1 and m["modes_with_any_sample"] == 1
  assert m["high_quality_percent"] == pytest.approx(100.0, abs=0.01)


def test_a_generator_collapsed_on_one_mode_has_a_worse_intra_mode_kl_than_a_perfect_one():
  """The std-0.01 ring, 50,000 samples from one mode: its own KL is tiny
  (the fit is right), so averaged over the fitted modes alone it beats the
  perfect generator; over all modes the 7 missing ones count the cap."""
  ring = mixtures.ring(8, 1.0, 0.01)
  rng = np.random.default_rng(0)
  perfect = mixture_metrics.evaluate(ring.sample(50_000, rng), ring)
  collapsed = mixture_metrics.evaluate(
      ring.means[0] + 0.01 * rng.standard_normal((50_000, 2)), ring)
  cap = mixture_metrics.KL_CAP
  assert collapsed["kl_modes"] == 1 and perfect["kl_modes"] == 8
  assert collapsed["intra_mode_kl_fitted"] < 1e-3  # the old, flattering number
  assert collapsed["intra_mode_kl"] == pytest.approx(
      (7 * cap + collapsed["intra_mode_kl_fitted"]) / 8)
  assert collapsed["intra_mode_kl"] > 8 > 0.01 > perfect["intra_mode_kl"]


def test_a_mode_with_too_few_samples_or_a_degenerate_fit_counts_the_cap():
  ring = mixtures.ring(4, 1.0, 0.05)
  rng = np.random.default_rng(0)
  samples = ring.sample(40_000, rng)
  samples = samples[np.argmin(((samples[:, None] - ring.means) ** 2).sum(-1), 1) != 3]
  two_points = np.concatenate([samples, ring.means[3] + [[0.01, 0.0], [0.0, 0.01]]])
  on_a_line = np.concatenate([samples, ring.means[3] + np.outer(np.linspace(-0.05, 0.05, 50),
                                                                [1.0, 1.0])])
  three_modes = mixture_metrics.evaluate(samples, ring)["intra_mode_kl_fitted"]
  for bad_mode, fits in ((two_points, 3), (on_a_line, 4)):
    m = mixture_metrics.evaluate(bad_mode, ring)
    assert m["kl_modes"] == fits
    assert m["intra_mode_kl"] == pytest.approx((3 * three_modes + mixture_metrics.KL_CAP) / 4)
  assert m["intra_mode_kl_fitted"] == np.inf  # the line: no finite Gaussian fit


def test_coverage_rules_differ_on_a_thin_mode():
  """A mode holding 10% of its expected share: covered by VEEGAN's rule only."""
  ring = mixtures.ring(4, 1.0, 0.05)
  rng = np.random.default_rng(0)
  weights = np.array([1, 1, 1, 0.1]) / 3.1
  modes = rng.choice(4, size=100_000, p=weights)
  samples = ring.means[modes] + 0.05 * rng.standard_normal((100_000, 2))
  m = mixture_metrics.evaluate(samples, ring)
  assert m["modes_covered"] == 3
  assert m["modes_with_any_sample"] == 4


def test_intra_mode_kl_matches_the_closed_form_for_a_wider_generator():
  # std 0.01 on a unit ring: modes are far apart, so nearest-mode assignment
  # does not truncate a Gaussian of twice the std.
  ring = mixtures.ring(8, 1.0, 0.01)
  rng = np.random.default_rng(0)
  modes = rng.integers(8, size=400_000)
  samples = ring.means[modes] + 0.02 * rng.standard_normal((400_000, 2))
  m = mixture_metrics.evaluate(samples, ring)
  # KL(N(0, s^2 I) || N(0, (2s)^2 I)) in 2-D = 1/4 - 1 + ln 4
  assert m["intra_mode_kl"] == pytest.approx(0.25 - 1 + np.log(4), rel=0.02)
  # 3 std of the true mode = 1.5 std of the generator: 1 - exp(-1.125)
  assert m["high_quality_percent"] == pytest.approx(100 * (1 - np.exp(-1.125)), abs=0.3)


def test_gaussian_kl_against_a_hand_computed_value():
  kl = mixture_metrics.gaussian_kl(np.zeros(2), np.eye(2), np.array([1.0, 0.0]),
                                   2 * np.eye(2))
  # 0.5 * (tr = 1 + quad = 0.5 - 2 + ln 4)
  assert kl == pytest.approx(0.5 * (1 + 0.5 - 2 + np.log(4)))


def test_non_finite_samples_count_as_low_quality_and_wrong_shapes_fail():
  ring = mixtures.ring()
  samples = ring.sample(1000, np.random.default_rng(0))
  samples[:500] = np.nan
  m = mixture_metrics.evaluate(samples, ring)
  assert m["high_quality_percent"] < 50
  with pytest.raises(ValueError, match=r"shape \[n, 2\]"):
    mixture_metrics.evaluate(np.zeros((10, 3)), ring)
