"""A Gaussian kernel density estimate of the generator's samples.

    p_E(x; theta) = 1/n sum_j N(x; c_j, h^2 I),   theta = (c_1 .. c_n)

Fitted to samples, a KDE *is* the samples (c_j = G(z_j; phi)): the inner
problem of LBT has this closed-form solution, so theta*(phi) and the
teaching gradient d f_G(theta*(phi)) / d phi are exact, with no unroll. LBT
with a KDE teacher is maximum likelihood of the real data under the
generator's distribution smoothed by the kernel (Theorem 2 of the paper, in
the limit of many samples).

The bandwidth follows `lbt_tf.smoothing` (coarse to fine; by default from
half the distance between neighbouring modes to half their std).

Alone (`--method estimator`), maximum likelihood on real data is the same
formula: the KDE keeps the iteration's real batches as its centres and
samples a centre plus noise of the finest bandwidth it reaches, the most it
could teach.
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
    """theta*(samples) = the samples, with the bandwidth for `step`."""
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
