"""A normalizing flow of rational-quadratic spline couplings (Durkan et al.
2019, "Neural Spline Flows"): an exact log-likelihood.

The data are scaled so that `spline_range` (data units; by default the
mixture's extent) maps to 3 standard deviations of the standard-normal base.
Each coupling transforms one half of the features with monotone
rational-quadratic splines (`tfp.bijectors.RationalQuadraticSpline`, `bins`
bins on [-3, 3], the identity outside) whose knots a Keras MLP computes from
the other half; the halves alternate. The conditioners' output layers start
at zero, so the flow starts as the identity: p_E is the base Gaussian.

    log p(x) = log N(T(x / s); 0, I) + log |det dT/du| - d log s
"""

import math
from typing import Sequence

import tensorflow as tf
import tensorflow_probability as tfp

from lbt_tf import networks
from lbt_tf.estimators.base import Estimator

tfb = tfp.bijectors

BASE_STDS = 3.0      # the spline's range, in base standard deviations
MIN_BIN = 1e-3       # smallest bin width and height (base units)
MIN_SLOPE = 1e-3     # smallest knot slope
# softplus(raw + SLOPE_SHIFT) + MIN_SLOPE = 1 at raw = 0: the identity spline
SLOPE_SHIFT = math.log(math.expm1(1.0 - MIN_SLOPE))


class SplineFlow(Estimator):
  """Args:
    data_dim: features per example (2 for the mixtures).
    couplings: number of coupling layers (alternating halves).
    bins: spline bins per transformed feature.
    hidden_units, activation: the conditioner MLPs.
    spline_range: data units where the splines act, [-range, range] per feature.
  """

  def __init__(self, data_dim: int, couplings: int = 8, bins: int = 32,
               hidden_units: Sequence[int] = (128, 128), activation: str = "tanh",
               spline_range: float = 1.0, dtype=None, **kwargs):
    super().__init__(dtype=dtype, **kwargs)
    if data_dim < 2:
      raise ValueError("a coupling flow needs at least 2 features")
    if couplings < 1 or bins < 2 or not spline_range > 0:
      raise ValueError("a spline flow needs couplings >= 1, bins >= 2 and a "
                       "positive range")
    self.data_dim = data_dim
    self.bins = bins
    self.data_scale = spline_range / BASE_STDS
    self.split = (data_dim + 1) // 2   # features [0, split) and [split, d)
    self.conditioners = []
    for i in range(couplings):
      changed, given = self.halves(i)
      self.conditioners.append(networks.mlp(
          given, hidden_units, changed * (3 * bins - 1), activation,
          f"coupling_{i}", dtype, output_initializer="zeros"))
    self.built = True

  @classmethod
  def from_config(cls, config, data):
    return cls(data.shape[-1], config.flow_couplings, config.flow_bins,
               config.estimator_units, config.activation,
               config.flow_range or data.extent)

  def halves(self, i):
    """(features transformed, features conditioned on) by coupling i."""
    first, second = self.split, self.data_dim - self.split
    return (first, second) if i % 2 == 0 else (second, first)

  def _partition(self, u, i):
    a, b = u[:, :self.split], u[:, self.split:]
    return (a, b) if i % 2 == 0 else (b, a)

  def _join(self, changed, given, i):
    return tf.concat([changed, given] if i % 2 == 0 else [given, changed], axis=1)

  def spline(self, i, given) -> tfb.Bijector:
    """Coupling i's elementwise spline, its knots computed from `given`."""
    raw = self.conditioners[i](given)
    raw = tf.reshape(raw, [tf.shape(given)[0], -1, 3 * self.bins - 1])
    widths, heights, slopes = tf.split(raw, [self.bins, self.bins, self.bins - 1], -1)
    span = 2 * BASE_STDS - self.bins * MIN_BIN
    return tfb.RationalQuadraticSpline(
        bin_widths=MIN_BIN + span * tf.nn.softmax(widths),
        bin_heights=MIN_BIN + span * tf.nn.softmax(heights),
        knot_slopes=MIN_SLOPE + tf.nn.softplus(slopes + SLOPE_SHIFT),
        range_min=-BASE_STDS)

  def transform(self, x):
    """(u, log |det du/dx|): x mapped to the base space."""
    u = x / self.data_scale
    log_det = -self.data_dim * math.log(self.data_scale)
    for i in range(len(self.conditioners)):
      changed, given = self._partition(u, i)
      spline = self.spline(i, given)
      log_det += tf.reduce_sum(spline.forward_log_det_jacobian(changed, event_ndims=0), -1)
      u = self._join(spline.forward(changed), given, i)
    return u, log_det

  def call(self, inputs):
    x, _ = inputs  # no noise: the likelihood is exact
    u, log_det = self.transform(x)
    base = -0.5 * tf.reduce_sum(tf.square(u), -1) - 0.5 * self.data_dim * math.log(2 * math.pi)
    return base + log_det

  @property
  def sampler_noise_dim(self) -> int:
    return self.data_dim

  def sample(self, z):
    u = z
    for i in reversed(range(len(self.conditioners))):
      changed, given = self._partition(u, i)
      u = self._join(self.spline(i, given).inverse(changed), given, i)
    return u * self.data_scale
