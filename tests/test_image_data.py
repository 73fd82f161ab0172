"""Image datasets through their real loaders: TFDS under mock data, files."""

import hashlib
import json
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from lbt_tf import config as config_lib
from lbt_tf.data import datasets, image_data


def test_stacking_puts_one_digit_per_channel_and_labels_the_mode():
  images = np.arange(10, dtype=np.uint8)[:, None, None] * np.ones((1, 2, 2), np.uint8)
  labels = np.arange(10)
  stacked, modes = image_data.stack_digits(images, labels, 500, seed=3)
  assert stacked.shape == (500, 2, 2, 3) and stacked.dtype == np.uint8
  # each digit image here is filled with its own label
  digits = stacked[:, 0, 0].astype(np.int64)
  np.testing.assert_array_equal(modes, 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2])
  again, _ = image_data.stack_digits(images, labels, 500, seed=3)
  np.testing.assert_array_equal(stacked, again)  # deterministic per seed


def test_the_8x8_digits_are_scikit_learns_without_scikit_learn(monkeypatch):
  """The shipped copy of `sklearn.datasets.load_digits()`, read with
  scikit-learn unimportable: its 1,797 images, its per-class counts, and
  its pixel total (0..16 units), known answers from scikit-learn 1.x."""
  monkeypatch.setitem(sys.modules, "sklearn", None)  # `import sklearn` fails
  images, labels = image_data.sklearn_digits()
  assert images.shape == (1797, 8, 8) and images.dtype == np.uint8
  np.testing.assert_array_equal(np.bincount(labels),
                                [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
  assert images.max() == 255 and images.min() == 0
  # back to scikit-learn's 0..16 levels, whose sum over all images is known
  assert np.round(images.astype(np.float64) * 16 / 255).sum() == 561_718
  digest = hashlib.sha256(image_data.DIGITS_FILE.read_bytes()).hexdigest()
  assert digest == "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"


def test_stacked_digits_has_all_1000_modes_offline():
  dataset = image_data.stacked_images("sklearn_digits", num_images=20_000, seed=0)
  images, modes = next(iter(dataset.batch(20_000)))
  assert images.shape == (20_000, 8, 8, 3) and images.dtype == tf.float32
  assert 0.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
  assert len(np.unique(modes)) == 1000  # 20 draws a mode on average


@pytest.mark.parametrize("name, shape", [("mnist", (28, 28, 1)),
                                         ("cifar10", (32, 32, 3)),
                                         ("celeb_a", (64, 64, 3))])
def test_tfds_datasets_under_mock_data(name, shape):
  with tfds.testing.mock_data(num_examples=4):
    images = image_data.load(datasets.get(name))
  assert images.shape == shape and images.images.dtype == np.uint8
  assert len(images.images) == 4 and images.labels.dtype == np.int64
  batch = images.tf_sample(3, tf.constant([0, 1], tf.int64))
  assert batch.dtype == tf.float32 and 0.0 <= float(tf.reduce_min(batch)) <= 1.0


def test_a_new_tfds_dataset_is_one_preset_file(tmp_path, monkeypatch):
  """kmnist, which the package does not know, from one preset file."""
  for preset in datasets.PRESETS_DIR.glob("*.json"):
    (tmp_path / preset.name).write_text(preset.read_text())
  (tmp_path / "kmnist.json").write_text(json.dumps({
      "_about": "Kuzushiji-MNIST", "steps": 100,
      "data": {"kind": "image", "source": "tfds:kmnist", "channels": 1,
               "size": 28, "scorer": "fid"}}))
  monkeypatch.setattr(datasets, "PRESETS_DIR", tmp_path)
  config = config_lib.make_config("kmnist", {"method": "gan"})
  assert "kmnist" in datasets.names() and config.steps == 100
  with tfds.testing.mock_data(num_examples=5):
    images = image_data.load(config.data)
  assert images.shape == (28, 28, 1) and len(images.images) == 5


def test_stacked_mnist_under_mock_data():
  with tfds.testing.mock_data(num_examples=50):
    images, modes = next(iter(image_data.stacked_images(
        "mnist", num_images=64, seed=1).batch(64)))
  assert images.shape == (64, 28, 28, 3)
  assert int(tf.reduce_min(modes)) >= 0 and int(tf.reduce_max(modes)) < 1000


def test_a_folder_of_images_of_any_size(tmp_path):
  for i, (h, w) in enumerate([(40, 30), (20, 50), (64, 64)]):
    pixels = tf.cast(tf.random.uniform((h, w, 3), maxval=255, seed=i), tf.uint8)
    (tmp_path / f"{i}.png").write_bytes(tf.io.encode_png(pixels).numpy())
  (tmp_path / "notes.txt").write_text("not an image")
  images = [x for x, _ in image_data.folder_images(tmp_path, image_size=16)]
  assert len(images) == 3 and all(x.shape == (16, 16, 3) for x in images)


def test_missing_or_empty_folders_fail_clearly(tmp_path):
  with pytest.raises(image_data.DatasetUnavailable, match="does not exist"):
    image_data.folder_images(tmp_path / "nope")
  with pytest.raises(image_data.DatasetUnavailable, match="holds no images"):
    image_data.folder_images(tmp_path)


def test_celeb_a_that_is_not_here_says_how_to_provide_it(tmp_path):
  with pytest.raises(image_data.DatasetUnavailable) as error:
    image_data.tfds_images("celeb_a", data_dir=str(tmp_path), download=False)
  message = str(error.value)
  assert "downloads/manual" in message and "folder:" in message
  assert len(message.splitlines()) == 1
