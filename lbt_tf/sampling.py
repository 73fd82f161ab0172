"""Draw many samples from a generator in fixed-size chunks, reproducibly."""

import numpy as np

CHUNK = 50_000


def sample(generate_from_noise, noise_dim: int, num_samples: int, seed: int,
           chunk: int = CHUNK) -> np.ndarray:
  """`generate_from_noise(z)` on standard-normal z, `chunk` rows at a time.

  Works for an in-memory Keras generator and for an exported SavedModel's
  `serving_default` alike; the same seed gives the same noise.
  """
  rng = np.random.default_rng(seed)
  parts = []
  for start in range(0, num_samples, chunk):
    z = rng.standard_normal((min(chunk, num_samples - start), noise_dim),
                            dtype=np.float32)
    parts.append(np.asarray(generate_from_noise(z)))
  return np.concatenate(parts)
