"""The explicit density estimator p_E(x; theta): a VAE scored by its ELBO.

q(z|x), p(z) and p(x|z) are `tfp.distributions` objects. The reparameterisation
noise is an explicit input, so the ELBO is a deterministic function of
(theta, x, noise): the unroll can evaluate it on any parameter tensors with
`stateless_call`, and tests can difference it.
"""

import math
from typing import Sequence

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from lbt_tf import networks

tfd = tfp.distributions

LIKELIHOODS = ("gaussian", "bernoulli")


class VAE(keras.Model):
  """`vae([x, noise])` returns the one-sample ELBO of each x, a lower bound on log p_E(x).

  Args:
    data_dim: number of features of a (flattened) example.
    latent_dim: dimension of z.
    hidden_units: widths of the encoder's and decoder's hidden layers.
    likelihood: "gaussian" (decoder gives the mean; variance fixed or learned)
      or "bernoulli" (decoder gives logits; data in [0, 1]).
    decoder_variance: the Gaussian decoder's variance (initial value if learned).
    learn_variance: train one scalar log-variance with the rest of theta.
  """

  def __init__(self, data_dim: int, latent_dim: int,
               hidden_units: Sequence[int], activation: str = "tanh",
               likelihood: str = "gaussian", decoder_variance: float = 1e-3,
               learn_variance: bool = False, dtype=None, **kwargs):
    super().__init__(dtype=dtype, **kwargs)
    if likelihood not in LIKELIHOODS:
      raise ValueError(f"unknown decoder likelihood {likelihood!r}; "
                       f"choose from {', '.join(LIKELIHOODS)}")
    self.data_dim = data_dim
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

  def call(self, inputs):
    x, noise = inputs
    x = tf.reshape(x, [tf.shape(x)[0], self.data_dim])
    q = self.posterior(x)
    z = q.mean() + q.stddev() * noise  # reparameterised sample from q
    return self.decode(z).log_prob(x) - tfd.kl_divergence(q, self.prior())

  def noise(self, batch_size, seed):
    """Reparameterisation noise for `batch_size` examples.

    `seed` is anything `keras.random` takes (a `keras.random.SeedGenerator`).
    """
    return keras.random.normal([batch_size, self.latent_dim], seed=seed,
                               dtype=self.compute_dtype)

  def elbo(self, parameters, x, noise):
    """Mean ELBO of x under explicit trainable `parameters` (theta)."""
    per_example, _ = self.stateless_call(
        parameters, self.non_trainable_variables, [x, noise])
    return tf.reduce_mean(per_example)
