"""FID and KID between two sets of image features.

Both compare feature vectors (InceptionV3's 2048-d pooled activations, see
`inception_features`) of real and generated images:

  FID = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))   (Heusel et al.)
  KID = unbiased MMD^2 with the kernel k(x, y) = (x.y / d + 1)^3,
        averaged over random subsets                          (Binkowski et al.)

The computations are NumPy (float64) so that they can be checked against
closed forms; only the feature extractor needs TensorFlow.

The features, and so the values, are this library's own: Keras's
InceptionV3 (`keras.applications`, ImageNet weights unless
--inception-weights gives others), images resized bilinearly to 299x299
from their float values, n generated images (--fid-samples) against n
training images. Published FIDs follow another protocol (TTUR, clean-fid:
the 2015-12-05 TensorFlow Inception graph, 50,000 samples; FID is biased
upward at smaller n), so these values are not comparable with them.
Outputs and tables say so (`protocol`, `column_label`).
"""

from typing import Tuple

import numpy as np


PUBLISHED_PROTOCOL = ("TTUR / clean-fid: the 2015-12-05 TensorFlow Inception graph, "
                      "50,000 samples")


def column_label(metric: str, num_samples) -> str:
  """A table column or output line for FID or KID, e.g. 'FID (Keras
  InceptionV3, n=10,000)'."""
  n = f"{num_samples:,}" if isinstance(num_samples, int) else str(num_samples)
  return f"{metric} (Keras InceptionV3, n={n})"


def protocol(weights: str, generated: int, real: int) -> str:
  """How this library's FID and KID were computed, in one line."""
  source = "ImageNet weights" if weights == "imagenet" else f"weights {weights}"
  return (f"this library's own: Keras InceptionV3 ({source}) pool features, images "
          f"resized bilinearly to 299x299, {generated:,} generated against {real:,} "
          f"training images; not comparable with published FIDs ({PUBLISHED_PROTOCOL})")


def _symmetric_sqrt(matrix: np.ndarray) -> np.ndarray:
  values, vectors = np.linalg.eigh(matrix)
  return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mu_a, sigma_a, mu_b, sigma_b) -> float:
  """The Frechet distance between N(mu_a, sigma_a) and N(mu_b, sigma_b).

  Tr((S_a S_b)^(1/2)) is computed as the sum of the square roots of the
  eigenvalues of S_a^(1/2) S_b S_a^(1/2), a symmetric PSD matrix with the
  same spectrum, which avoids complex square roots of a non-symmetric product.
  """
  mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
  sigma_a, sigma_b = np.asarray(sigma_a, np.float64), np.asarray(sigma_b, np.float64)
  root_a = _symmetric_sqrt(sigma_a)
  middle = root_a @ sigma_b @ root_a
  trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
  distance = (np.sum((mu_a - mu_b) ** 2) + np.trace(sigma_a) + np.trace(sigma_b)
              - 2 * trace_sqrt)
  return float(max(distance, 0.0))


def fid(features_a: np.ndarray, features_b: np.ndarray) -> float:
  """FID between two feature sets ([n, d] each, n > 1)."""
  features_a = np.asarray(features_a, np.float64)
  features_b = np.asarray(features_b, np.float64)
  for name, f in (("first", features_a), ("second", features_b)):
    if f.ndim != 2 or len(f) < 2:
      raise ValueError(f"FID needs [n, d] features with n >= 2; the {name} set "
                       f"has shape {f.shape}")
  if features_a.shape[1] != features_b.shape[1]:
    raise ValueError(f"feature sizes differ: {features_a.shape[1]} vs "
                     f"{features_b.shape[1]}")
  return frechet_distance(features_a.mean(0), np.cov(features_a, rowvar=False),
                          features_b.mean(0), np.cov(features_b, rowvar=False))


def _unbiased_mmd2(x, y) -> float:
  d = x.shape[1]
  k_xx = (x @ x.T / d + 1) ** 3
  k_yy = (y @ y.T / d + 1) ** 3
  k_xy = (x @ y.T / d + 1) ** 3
  m, n = len(x), len(y)
  return float((k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
               + (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
               - 2 * k_xy.mean())


def kid(features_a, features_b, subsets: int = 10, subset_size: int = 1000,
        seed: int = 0) -> Tuple[float, float]:
  """(mean, std) over `subsets` random subsets of the unbiased MMD^2."""
  features_a = np.asarray(features_a, np.float64)
  features_b = np.asarray(features_b, np.float64)
  size = min(subset_size, len(features_a), len(features_b))
  if size < 2:
    raise ValueError("KID needs at least 2 features in each set")
  rng = np.random.default_rng(seed)
  values = [_unbiased_mmd2(features_a[rng.choice(len(features_a), size, replace=False)],
                           features_b[rng.choice(len(features_b), size, replace=False)])
            for _ in range(subsets)]
  return float(np.mean(values)), float(np.std(values))


def inception_model(weights="imagenet"):
  """InceptionV3 without its top, average-pooled: images -> [n, 2048].

  `weights`: "imagenet" (downloaded by Keras once, into ~/.keras), a path to
  a local weights file, or None (random weights: for tests only).
  """
  import keras  # pylint: disable=g-import-not-at-top (TensorFlow only here)
  return keras.applications.InceptionV3(include_top=False, pooling="avg",
                                        weights=weights, input_shape=(299, 299, 3))


def inception_features(images, weights="imagenet", batch_size: int = 100,
                       model=None):
  """InceptionV3 pooled features ([n, 2048]) of uint8 ([0, 255]) or float
  ([0, 1]) images [n, height, width, 1 or 3]; `model` from
  `inception_model(weights)` (built here if not given)."""
  import keras  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  model = model or inception_model(weights)
  features = []
  for start in range(0, len(images), batch_size):
    raw = tf.convert_to_tensor(images[start:start + batch_size])
    batch = tf.cast(raw, tf.float32)
    if raw.dtype != tf.uint8:  # [0, 1] floats
      batch = batch * 255.0
    if batch.shape[-1] == 1:
      batch = tf.image.grayscale_to_rgb(batch)
    batch = tf.image.resize(batch, (299, 299))
    batch = keras.applications.inception_v3.preprocess_input(batch)
    features.append(model(batch, training=False).numpy())
  return np.concatenate(features)
