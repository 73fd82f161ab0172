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
  split = mode_counting.held_out_split(images, labels)
  classifier, info = mode_counting.cached_classifier(
      tmp_path, "digits", lambda: split, report=lambda _: None, epochs=10)
  accuracy = info["test_accuracy"]
  assert accuracy > 0.95 and info["test_images"] == len(split[2]) == 359
  stacked, true_modes = image_data.stack_digits(images, labels, 8000, seed=1)
  predicted = mode_counting.stacked_modes(classifier, stacked / 255.0)
  assert np.mean(predicted == true_modes) > 0.85  # ~accuracy^3
  stats = mode_counting.mode_statistics(predicted)
  assert stats["modes_covered"] > 990  # 8 draws per mode on average
  # Cached: the same classifier comes back, without training.
  again, cached = mode_counting.cached_classifier(
      tmp_path, "digits", None, report=lambda _: pytest.fail("retrained"))
  assert cached["test_accuracy"] == accuracy
  np.testing.assert_array_equal(mode_counting.stacked_modes(again, stacked[:50] / 255.0),
                                predicted[:50])


def test_the_floor_of_real_images_is_what_the_classifier_makes_of_them():
  """A classifier that is always right gives real data every mode and the
  KL of finite sampling; one that confuses two classes loses their triples."""
  import keras  # pylint: disable=g-import-not-at-top
  items = np.repeat(np.arange(10, dtype=np.uint8), 50)[:, None, None] * np.ones((1, 2, 2), np.uint8)
  labels = np.repeat(np.arange(10), 50)
  # The grey level is the class: a one-layer "classifier" reads it off.
  inputs = keras.Input((2, 2, 1))
  pixel = keras.layers.Flatten()(inputs)[:, :1] * 255.0
  exact = keras.Model(inputs, -keras.ops.square(pixel - keras.ops.arange(10, dtype="float32")))
  floor = mode_counting.real_data_floor(exact, items, labels, stacked=True, num_samples=26_000)
  assert floor["modes_covered"] == 1000
  assert floor["kl_to_uniform"] == pytest.approx(mode_counting.uniform_kl_floor(26_000), rel=0.25)
  confused = keras.Model(inputs, -keras.ops.square(
      keras.ops.minimum(pixel, 8.0) - keras.ops.arange(10, dtype="float32")))  # 9 reads as 8
  floor = mode_counting.real_data_floor(confused, items, labels, stacked=True,
                                        num_samples=26_000)
  assert floor["modes_covered"] == 9 ** 3
  single = mode_counting.real_data_floor(exact, items, labels, stacked=False, num_samples=5000)
  assert single["modes_covered"] == 10 and single["num_samples"] == 5000
