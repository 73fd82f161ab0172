"""The paper's three metrics for a generator fitted to a 2-D Gaussian mixture.

- high quality: a sample within 3 std of its nearest mode (the true data
  scores 1 - exp(-4.5) = 98.89% in 2-D);
- modes covered: by the paper's rule, a mode whose high-quality samples exceed
  20% of the expected count n / num_modes; by VEEGAN's rule, a mode with at
  least one high-quality sample;
- intra-mode KL: every sample is assigned to its nearest mode, a Gaussian
  is fitted to each mode's samples, and KL(true mode || fitted) is computed
  in closed form. The paper averages it over all modes; a mode the
  generator misses has no fit (its KL is infinite), so:

    intra_mode_kl         the mean over ALL modes of min(KL, KL_CAP), a mode
                          with fewer than 3 assigned samples (no Gaussian can
                          be fitted in 2-D) or a degenerate fit (points on a
                          line) counting KL_CAP = 10 nats. A collapsed
                          generator cannot score well: one mode of 8 fitted
                          perfectly scores 8.75;
    intra_mode_kl_fitted  the mean over the modes with a fit only (inf if a
                          fit is degenerate; NaN if none), the value this
                          package reported as `intra_mode_kl` before;
    kl_modes              how many modes it averages.

  KL_CAP = 10 nats is the KL to a Gaussian of the mode's own width centred
  sqrt(20) = 4.5 mode stds away, farther than the 3-std high-quality radius:
  a fit that bad or worse counts as a missing mode.
"""

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # only the type: scoring stays free of TensorFlow
  from lbt_tf.data.mixtures import GaussianMixture2D

HIGH_QUALITY_STDS = 3.0
COVERAGE_FRACTION = 0.2
KL_CAP = 10.0  # nats: a mode without a usable fit (see the module docstring)
MIN_FIT_SAMPLES = 3  # a 2-D Gaussian needs 3 points
_CHUNK = 65536


def nearest_modes(samples: np.ndarray, means: np.ndarray):
  """Index of each sample's nearest mode and the distance to it."""
  index = np.empty(len(samples), np.int64)
  distance = np.empty(len(samples), np.float64)
  for start in range(0, len(samples), _CHUNK):
    chunk = samples[start:start + _CHUNK].astype(np.float64)
    d2 = ((chunk[:, None, :] - means[None, :, :]) ** 2).sum(-1)
    index[start:start + _CHUNK] = d2.argmin(1)
    distance[start:start + _CHUNK] = np.sqrt(d2.min(1))
  return index, distance


def gaussian_kl(mean_0, cov_0, mean_1, cov_1) -> float:
  """KL(N(mean_0, cov_0) || N(mean_1, cov_1))."""
  d = len(mean_0)
  inv_1 = np.linalg.inv(cov_1)
  diff = mean_1 - mean_0
  _, logdet_0 = np.linalg.slogdet(cov_0)
  _, logdet_1 = np.linalg.slogdet(cov_1)
  return 0.5 * (np.trace(inv_1 @ cov_0) + diff @ inv_1 @ diff - d
                + logdet_1 - logdet_0)


def evaluate(samples: np.ndarray, mixture: "GaussianMixture2D") -> dict:
  """All metrics of `samples` ([n, 2]) against the true `mixture`."""
  samples = np.asarray(samples)
  if samples.ndim != 2 or samples.shape[1] != 2:
    raise ValueError(f"expected samples of shape [n, 2], got {samples.shape}")
  n = len(samples)
  finite = np.isfinite(samples).all(1)
  index, distance = nearest_modes(np.where(finite[:, None], samples, 0.0),
                                  mixture.means)
  high_quality = finite & (distance <= HIGH_QUALITY_STDS * mixture.std)
  hq_per_mode = np.bincount(index[high_quality], minlength=mixture.num_modes)
  expected = n / mixture.num_modes

  true_cov = np.eye(2) * mixture.std**2
  per_mode = np.full(mixture.num_modes, KL_CAP)  # no usable fit: the cap
  fitted = []
  for mode in range(mixture.num_modes):
    assigned = samples[finite & (index == mode)].astype(np.float64)
    if len(assigned) < MIN_FIT_SAMPLES:
      continue
    cov = np.cov(assigned, rowvar=False)
    if np.linalg.matrix_rank(cov) < 2:  # all points on a line: KL infinite
      kl = np.inf
    else:
      kl = gaussian_kl(mixture.means[mode], true_cov, assigned.mean(0), cov)
    fitted.append(kl)
    per_mode[mode] = min(kl, KL_CAP)
  return {
      "num_samples": n,
      "num_modes": mixture.num_modes,
      "modes_covered": int((hq_per_mode > COVERAGE_FRACTION * expected).sum()),
      "modes_with_any_sample": int((hq_per_mode > 0).sum()),
      "high_quality_percent": float(100.0 * high_quality.mean()),
      "intra_mode_kl": float(per_mode.mean()),
      "intra_mode_kl_fitted": float(np.mean(fitted)) if fitted else float("nan"),
      "kl_modes": len(fitted),
  }
