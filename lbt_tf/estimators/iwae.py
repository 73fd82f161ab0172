"""The VAE scored by the importance-weighted bound (Burda et al. 2016):

    log p(x) >= E[ log 1/k sum_j p(x, z_j) / q(z_j | x) ],  z_j ~ q(z | x),

which equals the ELBO in expectation for k = 1 and tightens as k grows
(`--importance-samples k`). Same networks as `vae`; only the score differs.
"""

import math

import keras
import tensorflow as tf

from lbt_tf.estimators.vae import VAE


class IWAE(VAE):
  """`iwae([x, noise])`: the k-sample bound of each x; noise is [n, k, latent]."""

  def __init__(self, *args, importance_samples: int = 8, **kwargs):
    super().__init__(*args, **kwargs)
    if importance_samples < 1:
      raise ValueError(f"--importance-samples must be at least 1, got {importance_samples}")
    self.importance_samples = importance_samples

  @classmethod
  def from_config(cls, config, data, **extra):
    return super().from_config(config, data, importance_samples=config.importance_samples,
                               **extra)

  def noise(self, batch_size, seed):
    return keras.random.normal([batch_size, self.importance_samples, self.latent_dim],
                               seed=seed, dtype=self.compute_dtype)

  def call(self, inputs):
    x, noise = inputs
    x = self.flatten(x)
    q = self.posterior(x)                                    # batch [n]
    z = q.mean()[:, None] + q.stddev()[:, None] * noise      # [n, k, latent]
    z = tf.transpose(z, [1, 0, 2])                           # [k, n, latent]
    k = self.importance_samples
    decoded = self.decode(tf.reshape(z, [-1, self.latent_dim]))  # k * n rows
    log_weights = (tf.reshape(decoded.log_prob(tf.tile(x, [k, 1])), [k, -1])
                   + self.prior().log_prob(z)                # log p(x, z_j)
                   - q.log_prob(z))                          # - log q(z_j | x)
    return (tf.reduce_logsumexp(log_weights, axis=0)
            - math.log(self.importance_samples))
