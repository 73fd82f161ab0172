"""Mode counting: the statistics on known histograms, and the classifier
trained on the bundled digits recovers the modes of real stacked digits."""

import math

import numpy as np
import pytest

from lbt_tf.data import image_data
from lbt_tf.metrics import mode_counting


def test_statistics_on_known_histograms():
  uniform = mode_counting.mode_statistics(np.repeat(np.arange(1000), 26))
  assert uniform["modes_covered"] == 1000
  assert uniform["kl_to_uniform"] == pytest.approx(0, abs=1e-12)
  collapsed = mode_counting.mode_statistics(np.full(26_000, 7))
  assert collapsed["modes_covered"] == 1
  assert collapsed["kl_to_uniform"] == pytest.approx(math.log(1000))
  half = mode_counting.mode_statistics(np.repeat(np.arange(500), 2))
  assert half["kl_to_uniform"] == pytest.approx(math.log(2))


def test_the_classifier_counts_the_modes_of_real_stacked_digits(tmp_path):
  images, labels = image_data.sklearn_digits()
  classifier, accuracy = mode_counting.cached_classifier(
      tmp_path, "digits", images, labels, report=lambda _: None)
  assert accuracy > 0.95
  stacked, true_modes = image_data.stack_digits(images, labels, 8000, seed=1)
  predicted = mode_counting.stacked_modes(classifier, stacked / 255.0)
  assert np.mean(predicted == true_modes) > 0.85  # ~accuracy^3
  stats = mode_counting.mode_statistics(predicted)
  assert stats["modes_covered"] > 990  # 8 draws per mode on average
  # Cached: the same classifier comes back, without training.
  again, cached_accuracy = mode_counting.cached_classifier(
      tmp_path, "digits", None, None, report=lambda _: pytest.fail("retrained"))
  assert cached_accuracy == accuracy
  np.testing.assert_array_equal(mode_counting.stacked_modes(again, stacked[:50] / 255.0),
                                predicted[:50])
