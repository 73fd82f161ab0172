"""Counting the modes of MNIST-like data: 10 classes, or the 1,000 of
Stacked MNIST (and stacked Fashion-MNIST, stacked 8x8 digits).

A classifier of single-channel items, trained by the package itself, labels
each image (or each colour channel of a stacked one: the mode is 100 * red
+ 10 * green + blue). The paper (Table 1, after VEEGAN and PacGAN) reports,
on 26,000 samples, the modes with at least one sample and KL(generated mode
histogram || uniform) in nats. Its held-out accuracy and its score on real
images (`real_data_floor`) say what the instrument can resolve.
"""

import json
import math
import pathlib

import keras
import numpy as np

from lbt_tf import files
from lbt_tf.data import image_data

NUM_MODES = 1000
EVAL_SAMPLES = 26_000  # the paper's


def mode_statistics(modes, num_modes: int = NUM_MODES) -> dict:
  """Modes hit at least once, and KL(histogram || uniform) in nats."""
  counts = np.bincount(np.asarray(modes, np.int64), minlength=num_modes)
  p = counts / counts.sum()
  nonzero = p > 0
  kl = float(np.sum(p[nonzero] * np.log(p[nonzero] * num_modes)))
  return {"modes_covered": int(nonzero.sum()), "kl_to_uniform": kl,
          "num_samples": int(counts.sum())}


def classifier(image_shape) -> keras.Model:
  """A small convolutional classifier of single-channel items in [0, 1]
  (digits, Fashion-MNIST): 10 logits. On 28x28 items its two convolutions
  are strided (a quarter of the cost of pooling after full-size ones;
  89.0% held-out on Fashion-MNIST after 3 epochs, measured here)."""
  large = image_shape[0] >= 16
  inputs = keras.Input(tuple(image_shape))
  h = keras.layers.Conv2D(32, 3, strides=2 if large else 1, padding="same",
                          activation="relu")(inputs)
  h = keras.layers.Conv2D(64, 3, strides=2 if large else 1, padding="same",
                          activation="relu")(h)
  if not large:
    h = keras.layers.MaxPooling2D()(h)
  h = keras.layers.Flatten()(h)
  h = keras.layers.Dense(128, activation="relu")(h)
  outputs = keras.layers.Dense(10)(h)
  return keras.Model(inputs, outputs, name="item_classifier")


def train_classifier(images: np.ndarray, labels: np.ndarray, test_images: np.ndarray,
                     test_labels: np.ndarray, seed: int = 0, epochs: int = 5):
  """Train on [n, h, w] uint8 single-channel items; score on the held-out ones.

  Returns (classifier, held-out test accuracy).
  """
  keras.utils.set_random_seed(seed)
  as_input = lambda x: (np.asarray(x, np.float32) / 255.0)[..., None]
  model = classifier(images.shape[1:] + (1,))
  model.compile(keras.optimizers.Adam(1e-3),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
  model.fit(as_input(images), labels, batch_size=64 if len(images) < 10_000 else 128,
            epochs=epochs, verbose=0)
  _, accuracy = model.evaluate(as_input(test_images), test_labels, verbose=0)
  return model, float(accuracy)


def held_out_split(images, labels, test_fraction: float = 0.2, seed: int = 0):
  """(train images, train labels, test images, test labels): a random
  `test_fraction` held out, for item sets with no test split of their own."""
  order = np.random.default_rng(seed).permutation(len(images))
  test, train = order[:int(len(images) * test_fraction)], order[int(len(images) * test_fraction):]
  return images[train], labels[train], images[test], labels[test]


def cached_classifier(cache_dir, source: str, train_and_test, report=print,
                      epochs: int = 5):
  """The classifier of the items `source` from `cache_dir`, trained there if
  absent on `train_and_test()` = (train images, labels, test images, labels).

  Returns (classifier, info): info holds "test_accuracy" and "test_images",
  stored beside the classifier, and the real-data floors `real_data_floor`
  adds.
  """
  cache = pathlib.Path(cache_dir)
  model_path = cache / f"{source}_classifier.keras"
  info_path = cache / f"{source}_classifier.json"
  if model_path.exists() and info_path.exists():
    return keras.models.load_model(model_path), json.loads(info_path.read_text())
  train_images, train_labels, test_images, test_labels = train_and_test()
  model, accuracy = train_classifier(train_images, train_labels, test_images,
                                     test_labels, epochs=epochs)
  cache.mkdir(parents=True, exist_ok=True)
  model.save(model_path)
  info = {"test_accuracy": accuracy, "test_images": int(len(test_images)),
          "train_images": int(len(train_images)), "epochs": epochs, "floors": {}}
  save_info(info_path, info)
  report(f"trained the {source} classifier on {len(train_images):,} images: "
         f"held-out accuracy {accuracy:.4f} on {len(test_images):,}")
  return model, info


def save_info(path, info: dict):
  files.write_text(path, json.dumps(info, indent=2))


def real_data_floor(classifier: keras.Model, images, labels, stacked: bool,
                    num_samples: int = EVAL_SAMPLES, seed: int = 0) -> dict:
  """What the instrument gives the real data: modes and KL(histogram ||
  uniform) of `num_samples` real images built from held-out items (three
  stacked per image when `stacked`, else the items themselves, drawn with
  replacement), counted by `classifier`. A perfect generator scores about
  this; the gap to 0 is the classifier's errors plus finite sampling
  (`uniform_kl_floor`)."""
  if stacked:  # the training set's own recipe, on held-out items
    real, _ = image_data.stack_digits(images, labels, num_samples, seed)
    modes = stacked_modes(classifier, real.astype(np.float32) / 255.0)
    num_modes = NUM_MODES
  else:
    picks = np.random.default_rng(seed).integers(len(images), size=num_samples)
    real = images[picks].astype(np.float32)[..., None] / 255.0
    modes = np.argmax(classifier.predict(real, batch_size=1000, verbose=0), -1)
    num_modes = 10
  floor = mode_statistics(modes, num_modes)
  return {"modes_covered": floor["modes_covered"], "kl_to_uniform": floor["kl_to_uniform"],
          "num_samples": num_samples}


def stacked_modes(classifier: keras.Model, images, batch_size: int = 1000):
  """The mode (0..999) of each [n, h, w, 3] image in [0, 1]."""
  images = np.asarray(images, np.float32)
  digits = []
  for channel in range(3):
    logits = classifier.predict(images[..., channel:channel + 1],
                                batch_size=batch_size, verbose=0)
    digits.append(np.argmax(logits, axis=-1))
  return 100 * digits[0] + 10 * digits[1] + digits[2]


def uniform_kl_floor(num_samples: int, num_modes: int = NUM_MODES) -> float:
  """Roughly the KL a perfect generator still scores with `num_samples`
  (finite-sample noise of the histogram): (modes - 1) / (2 n)."""
  return (num_modes - 1) / (2 * num_samples) if num_samples else math.inf
