"""The paper's three metrics for a generator fitted to a 2-D Gaussian mixture.

- high quality: a sample within 3 std of its nearest mode (the true data
  scores 1 - exp(-4.5) = 98.89% in 2-D);
- modes covered: by the paper's rule, a mode whose high-quality samples exceed
  20% of the expected count n / num_modes; by VEEGAN's rule, a mode with at
  least one high-quality sample;
- averaged intra-mode KL: every sample is assigned to its nearest mode, a
  Gaussian is fitted to each mode's samples, and KL(true mode || fitted) is
  computed in closed form and averaged. A Gaussian cannot be fitted to fewer
  than 3 points in 2-D, so such modes are left out of the average and
  `kl_modes` says how many entered it.
"""

import numpy as np

from lbt_tf.data.mixtures import GaussianMixture2D

HIGH_QUALITY_STDS = 3.0
COVERAGE_FRACTION = 0.2
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


def evaluate(samples: np.ndarray, mixture: GaussianMixture2D) -> dict:
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
  kls = []
  for mode in range(mixture.num_modes):
    assigned = samples[finite & (index == mode)].astype(np.float64)
    if len(assigned) < 3:
      continue
    cov = np.cov(assigned, rowvar=False)
    if np.linalg.matrix_rank(cov) < 2:  # all points on a line: KL infinite
      kls.append(np.inf)
      continue
    kls.append(gaussian_kl(mixture.means[mode], true_cov,
                           assigned.mean(0), cov))
  return {
      "num_samples": n,
      "num_modes": mixture.num_modes,
      "modes_covered": int((hq_per_mode > COVERAGE_FRACTION * expected).sum()),
      "modes_with_any_sample": int((hq_per_mode > 0).sum()),
      "high_quality_percent": float(100.0 * high_quality.mean()),
      "intra_mode_kl": float(np.mean(kls)) if kls else float("nan"),
      "kl_modes": len(kls),
  }
