"""A mixture of C diagonal Gaussians (`tfd.MixtureSameFamily`): an exact
log-likelihood with free weights, means and scales.

The means start uniformly over the data's extent (drawn from the Keras
seed), the scales at extent / C^(1/d) so the components tile the extent, the
weights equal.
"""

import math

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from lbt_tf.estimators.base import Estimator, choose

tfd = tfp.distributions


class GaussianMixture(Estimator):
  """Args: data_dim; components (C); extent, the bound on |x| the means
  start inside."""

  def __init__(self, data_dim: int, components: int = 128, extent: float = 1.0,
               dtype=None, **kwargs):
    super().__init__(dtype=dtype, **kwargs)
    if components < 1 or not extent > 0:
      raise ValueError("a mixture needs at least one component and a positive extent")
    self.data_dim = data_dim
    self.logits = self.add_weight(shape=(components,), name="logits",
                                  initializer="zeros")
    self.means = self.add_weight(
        shape=(components, data_dim), name="means",
        initializer=keras.initializers.RandomUniform(-extent, extent))
    self.log_scales = self.add_weight(
        shape=(components, data_dim), name="log_scales",
        initializer=keras.initializers.Constant(
            math.log(extent / components ** (1 / data_dim))))
    self.built = True

  @classmethod
  def from_config(cls, config, data):
    return cls(data.shape[-1], config.mixture_components, data.extent)

  def distribution(self) -> tfd.Distribution:
    return tfd.MixtureSameFamily(
        tfd.Categorical(logits=self.logits),
        tfd.Independent(tfd.Normal(self.means, tf.exp(self.log_scales)), 1))

  def call(self, inputs):
    x, _ = inputs  # no noise: the likelihood is exact
    return self.distribution().log_prob(x)

  @property
  def sampler_noise_dim(self) -> int:
    return 1 + self.data_dim  # which component, then where in it

  def sample(self, z):
    component = choose(tf.nn.softmax(self.logits), z[:, 0])
    return (tf.gather(self.means, component)
            + tf.exp(tf.gather(self.log_scales, component)) * z[:, 1:])
