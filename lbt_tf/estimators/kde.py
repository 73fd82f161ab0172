"""A Gaussian kernel density estimate of the generator's samples.

    p_E(x; theta) = 1/n sum_j N(x; c_j, h^2 I),   theta = (c_1 .. c_n)

Fitted to samples, a KDE *is* the samples (c_j = G(z_j; phi)): the inner
problem of LBT has this closed-form solution, so theta*(phi) and the
teaching gradient d f_G(theta*(phi)) / d phi are exact, with no unroll. LBT
with a KDE teacher is maximum likelihood of the real data under the
generator's distribution smoothed by the kernel (Theorem 2 of the paper, in
the limit of many samples).

The bandwidth h may shrink during training, from `bandwidth` to
`final_bandwidth` geometrically over `anneal_steps` iterations (coarse to
fine: a wide kernel reaches every region of the data, so every mode pulls
mass towards it; a narrow one then sharpens the modes). The kernel also
blurs what the generator must produce: maximum likelihood fits p_G * N(0, h^2)
to the data, so a mode of std s comes out with std sqrt(s^2 - h^2) (a point
when h >= s). Hence the defaults for a mixture (`--kde-bandwidth 0` etc.):
start at half the distance between neighbouring modes (at least their std)
and end at half their std, where the fitted modes keep 87% of their std.
"""

import math

import tensorflow as tf

from lbt_tf.estimators.base import Estimator


class KernelDensity(Estimator):
  """Args: bandwidth h (data units); final_bandwidth and anneal_steps for a
  coarse-to-fine schedule (final_bandwidth 0: a constant h)."""

  closed_form = True

  def __init__(self, bandwidth: float, final_bandwidth: float = 0.0,
               anneal_steps: int = 0, dtype=None, **kwargs):
    super().__init__(dtype=dtype, **kwargs)
    if not bandwidth > 0 or final_bandwidth < 0 or anneal_steps < 0:
      raise ValueError("a KDE needs a positive bandwidth (and a final "
                       "bandwidth and anneal steps >= 0)")
    self.bandwidth = bandwidth
    self.final_bandwidth = final_bandwidth or bandwidth
    self.anneal_steps = anneal_steps
    self.built = True

  @classmethod
  def from_config(cls, config, data):
    start, final = config.kde_bandwidth, config.kde_final_bandwidth
    if data.mode_std is not None:  # a mixture: scales from its description
      start = start or max(data.mode_std, data.mode_spacing / 2)
      final = final or data.mode_std / 2
    if not start:
      raise ValueError("--estimator kde needs --kde-bandwidth on this data")
    return cls(start, final if config.kde_anneal_steps else 0.0, config.kde_anneal_steps)

  @classmethod
  def refuse(cls, config, data):
    super().refuse(config, data)
    if config.method == "estimator":
      raise ValueError("--estimator kde has nothing to fit alone: a KDE of "
                       "the real data is the data; choose vae, iwae, flow or mixture")

  def bandwidth_at(self, step):
    """h after `step` iterations of training."""
    if self.final_bandwidth == self.bandwidth or not self.anneal_steps:
      return tf.constant(self.bandwidth, self.compute_dtype)
    progress = tf.minimum(tf.cast(step, self.compute_dtype) / self.anneal_steps, 1.0)
    ratio = self.final_bandwidth / self.bandwidth
    return self.bandwidth * tf.pow(tf.constant(ratio, self.compute_dtype), progress)

  def fit(self, samples, step=0):
    """theta*(samples) = the samples, with the bandwidth for `step`."""
    return [samples, self.bandwidth_at(step)]

  def mean_log_likelihood(self, parameters, x, noise):
    del noise
    centers, h = parameters
    x = tf.cast(x, centers.dtype)
    d2 = (tf.reduce_sum(tf.square(x), -1)[:, None]
          - 2.0 * tf.matmul(x, centers, transpose_b=True)
          + tf.reduce_sum(tf.square(centers), -1)[None, :])
    dim = tf.cast(tf.shape(x)[-1], x.dtype)
    n = tf.cast(tf.shape(centers)[0], x.dtype)
    log_p = (tf.reduce_logsumexp(-0.5 * tf.maximum(d2, 0.0) / tf.square(h), axis=1)
             - tf.math.log(n) - dim * (tf.math.log(h) + 0.5 * math.log(2 * math.pi)))
    return tf.reduce_mean(log_p)

  def call(self, inputs):
    raise NotImplementedError("a KDE is scored with its fit: "
                              "mean_log_likelihood(fit(samples), x, noise)")
