"""Counting the 1,000 modes of Stacked MNIST / stacked digits.

A digit classifier, trained by the package itself, labels each colour
channel of a generated image; the image's mode is 100 * red + 10 * green +
blue. The paper reports, on 26,000 samples, the number of modes with at
least one sample and KL(generated mode histogram || uniform).
"""

import json
import math
import pathlib

import keras
import numpy as np

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


def digit_classifier(image_shape) -> keras.Model:
  """A small convolutional classifier for single-channel digits in [0, 1]."""
  inputs = keras.Input(tuple(image_shape))
  h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
  if image_shape[0] >= 16:
    h = keras.layers.MaxPooling2D()(h)
  h = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(h)
  h = keras.layers.MaxPooling2D()(h)
  h = keras.layers.Flatten()(h)
  h = keras.layers.Dense(128, activation="relu")(h)
  outputs = keras.layers.Dense(10)(h)
  return keras.Model(inputs, outputs, name="digit_classifier")


def train_classifier(images: np.ndarray, labels: np.ndarray, seed: int = 0,
                     epochs: int = 10, test_fraction: float = 0.2):
  """Train on a random (1 - test_fraction) of [n, h, w] uint8 digits.

  Returns (classifier, held-out test accuracy).
  """
  keras.utils.set_random_seed(seed)
  x = (np.asarray(images, np.float32) / 255.0)[..., None]
  order = np.random.default_rng(seed).permutation(len(x))
  test = order[:int(len(x) * test_fraction)]
  train = order[int(len(x) * test_fraction):]
  model = digit_classifier(x.shape[1:])
  model.compile(keras.optimizers.Adam(1e-3),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
  model.fit(x[train], labels[train], batch_size=64, epochs=epochs, verbose=0)
  _, accuracy = model.evaluate(x[test], labels[test], verbose=0)
  return model, float(accuracy)


def cached_classifier(cache_dir, source: str, images, labels, report=print):
  """The classifier for `source` from `cache_dir`, trained there if absent.

  Returns (classifier, test accuracy); the accuracy is stored beside it.
  """
  cache = pathlib.Path(cache_dir)
  model_path = cache / f"{source}_classifier.keras"
  info_path = cache / f"{source}_classifier.json"
  if model_path.exists() and info_path.exists():
    return (keras.models.load_model(model_path),
            json.loads(info_path.read_text())["test_accuracy"])
  model, accuracy = train_classifier(images, labels)
  cache.mkdir(parents=True, exist_ok=True)
  model.save(model_path)
  info_path.write_text(json.dumps({"test_accuracy": accuracy}))
  report(f"trained the {source} digit classifier: test accuracy {accuracy:.4f}")
  return model, accuracy


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
