"""A Gaussian kernel density estimate of the generator's samples: the kernel teacher.

    p_E(x; theta) = 1/n sum_j N(x; c_j, h^2 I),   theta = (c_1 .. c_n)

Taught by the generator (`--method lbt|lbt-gan --estimator kde`) the
centres are the generator's samples, c_j = G(z_j; phi), and h follows the
bandwidth schedule, so the generator maximises

    E_x log (1/n sum_j N(x; G(z_j), h^2 I))          (x: real data)

Parzen-window maximum likelihood of the real data under the generator's
samples smoothed by the kernel. This is *not* LBT's inner problem solved in
closed form: the centres are not the maximiser of f_E (the samples' own
log-likelihood; ascending f_E in the centres raises it), nothing is
optimised inside an iteration, and there is no unroll. As h -> 0 each real
point pulls only its nearest sample: implicit maximum likelihood estimation
(IMLE, Li & Malik 2018, arXiv 1809.09087). It is not MMD: the samples do
not repel one another. Theorem 2's target becomes KL(p || p_G * N(0, h^2 I)),
the data against the generator's distribution convolved with the kernel.

The bandwidth follows `lbt_tf.smoothing` (coarse to fine; by default from
half the distance between neighbouring modes to half their std).

Alone (`--method estimator`), maximum likelihood on real data is the same
formula: the KDE keeps the iteration's real batches as its centres and
samples a centre plus noise of the finest bandwidth it reaches.
"""

import math

import tensorflow as tf

from lbt_tf import smoothing
from lbt_tf.estimators.base import Estimator, standard_normal_cdf


class KernelDensity(Estimator):
  """Args: bandwidth, a `smoothing.Schedule` (a float: constant); kept_centers,
  data_dim: the real samples kept when fitted alone."""

  closed_form = True

  def __init__(self, bandwidth, kept_centers: int = 0, data_dim: int = 2,
               dtype=None, **kwargs):
    super().__init__(dtype=dtype, **kwargs)
    if not isinstance(bandwidth, smoothing.Schedule):
      bandwidth = smoothing.Schedule(bandwidth, bandwidth)
    if not bandwidth.active:
      raise ValueError("a KDE needs a positive bandwidth")
    self.schedule = bandwidth
    self.final_bandwidth = bandwidth.finest
    self.data_dim = data_dim
    if kept_centers:  # fitted alone: the real samples it keeps
      self.centers = self.add_weight(shape=(kept_centers, data_dim), name="centers",
                                     initializer="zeros", trainable=False,
                                     aggregation="only_first_replica")
    self.built = True

  @classmethod
  def from_config(cls, config, data):
    kept = config.batch_size * max(1, config.estimator_steps) if config.method == "estimator" else 0
    return cls(smoothing.from_config(config, data, kernel=True), kept_centers=kept,
               data_dim=data.shape[-1])

  def bandwidth_at(self, step):
    """h after `step` iterations of training."""
    return self.schedule.at(step, self.compute_dtype)

  def fit(self, samples, step=0):
    """theta(samples) = the samples as centres, with the bandwidth for
    `step` (a formula, not an optimum of f_E; see the module docstring)."""
    return [samples, self.bandwidth_at(step)]

  def mean_log_likelihood(self, parameters, x, noise):
    del noise
    centers, h = parameters
    return tf.reduce_mean(self.per_example_log_likelihood(centers, h, x))

  def per_example_log_likelihood(self, centers, h, x):
    x = tf.cast(x, centers.dtype)
    d2 = (tf.reduce_sum(tf.square(x), -1)[:, None]
          - 2.0 * tf.matmul(x, centers, transpose_b=True)
          + tf.reduce_sum(tf.square(centers), -1)[None, :])
    dim = tf.cast(tf.shape(x)[-1], x.dtype)
    n = tf.cast(tf.shape(centers)[0], x.dtype)
    h = tf.cast(h, x.dtype)
    return (tf.reduce_logsumexp(-0.5 * tf.maximum(d2, 0.0) / tf.square(h), axis=1)
            - tf.math.log(n) - dim * (tf.math.log(h) + 0.5 * math.log(2 * math.pi)))

  def call(self, inputs):
    """Log-likelihood of each x under the kept centres (fitted alone)."""
    x, _ = inputs
    centers = tf.convert_to_tensor(self.centers)
    return self.per_example_log_likelihood(centers, self.final_bandwidth, x)

  @property
  def sampler_noise_dim(self) -> int:
    return 1 + self.data_dim  # which centre, then the kernel's noise

  def sample(self, z):
    centers = tf.convert_to_tensor(self.centers)
    count = tf.shape(centers)[0]
    index = tf.minimum(tf.cast(standard_normal_cdf(z[:, 0]) * tf.cast(count, z.dtype), tf.int32),
                       count - 1)
    return tf.gather(centers, index) + self.final_bandwidth * z[:, 1:]
