"""What every density estimator provides.

An estimator is a Keras model p_E(x; theta). `estimator([x, noise])` returns
each example's log-likelihood, or a lower bound on it (the VAE's ELBO). Any
randomness the score needs is the explicit input `noise`, so the score is a
deterministic function of (theta, x, noise): the unroll evaluates it on
parameter tensors with `stateless_call` (`mean_log_likelihood`), and tests
can difference it.

Two kinds:
  trained       (vae, iwae, flow, mixture) theta is fitted by gradient
                steps; LBT differentiates K unrolled steps of that fit;
  closed form   (kde) theta(phi) is a formula of the generator's samples
                (`fit`: the samples themselves, not an optimum of f_E), so
                there is no inner optimisation and no unroll.

For `--method estimator` every estimator can also sample: `sample(z)` maps
standard-normal z of `sampler_noise_dim` features to examples.
"""

import keras
import tensorflow as tf

from lbt_tf import replicas


class Estimator(keras.Model):
  """Base class; subclasses define `call([x, noise])`, `from_config`, and
  where needed `noise`, `sample`, `refuse`."""

  closed_form = False
  images = False  # whether it models images as well as points

  @classmethod
  def from_config(cls, config, data) -> "Estimator":
    raise NotImplementedError

  @classmethod
  def refuse(cls, config, data):
    """Raise a one-line ValueError if this estimator cannot serve `config`."""
    if data.is_image and not cls.images:
      raise ValueError(f"--estimator {config.estimator} models 2-D points "
                       "only; on images choose vae, iwae or kde")

  def noise(self, batch_size, seed):
    """The score's random input for `batch_size` examples ([batch, 0]: none)."""
    del seed
    return tf.zeros([batch_size, 0], self.compute_dtype)

  def mean_log_likelihood(self, parameters, x, noise):
    """Mean score of x under explicit trainable `parameters` (theta)."""
    per_example, _ = self.stateless_call(
        parameters, self.non_trainable_variables, [x, noise])
    return tf.reduce_mean(per_example)

  def mean_score(self, x, seed, parameters=None):
    """Mean log-likelihood (or bound) of x with fresh noise from `seed`
    (this replica's rows of a global draw, see `lbt_tf.replicas`), under
    the estimator's variables or under explicit parameter tensors."""
    noise = replicas.this_replicas_rows(lambda n: self.noise(n, seed), tf.shape(x)[0])
    if parameters is None:
      return tf.reduce_mean(self([x, noise], training=True))
    return self.mean_log_likelihood(parameters, x, noise)

  # -- closed-form estimators -----------------------------------------------

  def fit(self, samples):
    """theta(samples), differentiable in the samples (closed form only)."""
    raise NotImplementedError(f"{type(self).__name__} is fitted by gradient steps")

  # -- sampling (--method estimator) ------------------------------------------

  @property
  def sampler_noise_dim(self) -> int:
    raise NotImplementedError

  def sample(self, z):
    """Examples from p_E, from standard-normal z [n, sampler_noise_dim]."""
    raise NotImplementedError


class Sampler(keras.Model):
  """An estimator's sampler as a generator: z -> examples (it shares the
  estimator's variables), so it exports and scores like any generator."""

  def __init__(self, estimator: Estimator, **kwargs):
    super().__init__(**kwargs)
    self.estimator = estimator
    self.noise_dim = estimator.sampler_noise_dim

  def call(self, z, training=False):
    del training
    return self.estimator.sample(z)


def standard_normal_cdf(z):
  return 0.5 * (1.0 + tf.math.erf(z / tf.cast(tf.sqrt(2.0), z.dtype)))


def choose(probabilities, z):
  """Index of the category that uniform Phi(z) falls in: a draw from
  `probabilities` ([k]) for each standard-normal z ([n])."""
  edges = tf.cumsum(probabilities)[:-1]
  return tf.searchsorted(edges, standard_normal_cdf(z), side="right")
