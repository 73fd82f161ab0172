"""The paper's estimator: a VAE scored by its one-sample ELBO.

q(z|x), p(z) and p(x|z) are `tfp.distributions` objects; the KL term is
analytic, as in the authors' code. The reparameterisation noise is the
explicit input, so the ELBO is a deterministic function of (theta, x, noise).
"""

import math
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from lbt_tf import networks
from lbt_tf.estimators.base import Estimator

tfd = tfp.distributions

LIKELIHOODS = ("gaussian", "bernoulli")


class VAE(Estimator):
  """`vae([x, noise])` returns the one-sample ELBO of each x, a lower bound on log p_E(x).

  Args:
    data_dim: number of features of a (flattened) example.
    latent_dim: dimension of z.
    hidden_units: widths of the encoder's and decoder's hidden layers.
    likelihood: "gaussian" (decoder gives the mean; variance fixed or learned)
      or "bernoulli" (decoder gives logits; data in [0, 1]).
    decoder_variance: the Gaussian decoder's variance (initial value if learned).
    learn_variance: train one scalar log-variance with the rest of theta.
    data_shape: one example's shape, for samples (default: [data_dim]).
  """

  images = True

  def __init__(self, data_dim: int, latent_dim: int,
               hidden_units: Sequence[int], activation: str = "tanh",
               likelihood: str = "gaussian", decoder_variance: float = 1e-3,
               learn_variance: bool = False, data_shape=None, dtype=None,
               **kwargs):
    super().__init__(dtype=dtype, **kwargs)
    if likelihood not in LIKELIHOODS:
      raise ValueError(f"unknown decoder likelihood {likelihood!r}; "
                       f"choose from {', '.join(LIKELIHOODS)}")
    self.data_dim = data_dim
    self.data_shape = tuple(data_shape or (data_dim,))
    self.latent_dim = latent_dim
    self.likelihood = likelihood
    self.encoder = networks.mlp(data_dim, hidden_units, 2 * latent_dim,
                                activation, "encoder", dtype)
    self.decoder = networks.mlp(latent_dim, list(reversed(hidden_units)),
                                data_dim, activation, "decoder", dtype)
    self.log_variance = self.add_weight(
        shape=(), name="decoder_log_variance", trainable=learn_variance,
        initializer=keras.initializers.Constant(math.log(decoder_variance)))
    self.built = True

  @classmethod
  def from_config(cls, config, data, **extra):
    return cls(int(np.prod(data.shape)), config.latent_dim, config.estimator_units,
               config.activation, config.decoder_likelihood, config.decoder_variance,
               config.learn_decoder_variance, data_shape=data.shape, **extra)

  def posterior(self, x) -> tfd.Distribution:
    """q(z | x), a diagonal Gaussian."""
    loc, raw_scale = tf.split(self.encoder(x), 2, axis=-1)
    return tfd.MultivariateNormalDiag(loc, tf.nn.softplus(raw_scale) + 1e-5)

  def prior(self) -> tfd.Distribution:
    zeros = tf.zeros([self.latent_dim], self.compute_dtype)
    return tfd.MultivariateNormalDiag(zeros, tf.ones_like(zeros))

  def decode(self, z) -> tfd.Distribution:
    """p(x | z) over flattened x."""
    out = self.decoder(z)
    if self.likelihood == "bernoulli":
      return tfd.Independent(tfd.Bernoulli(logits=out, dtype=out.dtype), 1)
    scale = tf.exp(0.5 * tf.cast(self.log_variance, out.dtype))
    return tfd.Independent(tfd.Normal(out, scale), 1)

  def flatten(self, x):
    return tf.reshape(x, [tf.shape(x)[0], self.data_dim])

  def call(self, inputs):
    x, noise = inputs
    x = self.flatten(x)
    q = self.posterior(x)
    z = q.mean() + q.stddev() * noise  # reparameterised sample from q
    return self.decode(z).log_prob(x) - tfd.kl_divergence(q, self.prior())

  def noise(self, batch_size, seed):
    """Reparameterisation noise for `batch_size` examples.

    `seed` is anything `keras.random` takes (a `keras.random.SeedGenerator`).
    """
    return keras.random.normal([batch_size, self.latent_dim], seed=seed,
                               dtype=self.compute_dtype)

  @property
  def sampler_noise_dim(self) -> int:
    # z from the prior, then (Gaussian decoder) the observation noise
    return self.latent_dim + (self.data_dim if self.likelihood == "gaussian" else 0)

  def sample(self, z):
    """Gaussian decoder: mean + scale * noise; Bernoulli: the pixel
    probabilities (the usual picture of a binary VAE's samples)."""
    latent = z[:, :self.latent_dim]
    p = self.decode(latent)
    if self.likelihood == "gaussian":
      scale = tf.exp(0.5 * tf.cast(self.log_variance, z.dtype))
      x = p.mean() + scale * z[:, self.latent_dim:]
    else:
      x = p.mean()
    return tf.reshape(x, (-1,) + self.data_shape)
