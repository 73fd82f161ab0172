"""The estimators' log-likelihoods against analytic densities and formulas."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from lbt_tf.estimators.flow import SplineFlow
from lbt_tf import smoothing
from lbt_tf.smoothing import Schedule
from lbt_tf.estimators.iwae import IWAE
from lbt_tf.estimators.kde import KernelDensity
from lbt_tf.estimators.mixture import GaussianMixture
from lbt_tf.estimators.vae import VAE


def numpy_mlp(model, x):
  """Forward pass of a networks.mlp model (tanh hidden layers) in NumPy."""
  dense = [l for l in model.layers if isinstance(l, keras.layers.Dense)]
  for layer in dense[:-1]:
    x = np.tanh(x @ layer.kernel.numpy() + layer.bias.numpy())
  return x @ dense[-1].kernel.numpy() + dense[-1].bias.numpy()


def softplus(x):
  return np.log1p(np.exp(x))


def test_gaussian_elbo_matches_hand_computation():
  keras.utils.set_random_seed(0)
  vae = VAE(2, 3, [6], "tanh", "gaussian", decoder_variance=0.2, dtype="float64")
  rng = np.random.default_rng(0)
  x, noise = rng.normal(size=(5, 2)), rng.normal(size=(5, 3))
  elbo = vae([tf.constant(x), tf.constant(noise)]).numpy()

  loc, raw = np.split(numpy_mlp(vae.encoder, x), 2, axis=1)
  scale = softplus(raw) + 1e-5
  z = loc + scale * noise
  mean = numpy_mlp(vae.decoder, z)
  log_likelihood = (-0.5 * ((x - mean) ** 2 / 0.2 + math.log(2 * math.pi * 0.2))).sum(1)
  kl = 0.5 * (scale**2 + loc**2 - 1 - 2 * np.log(scale)).sum(1)
  np.testing.assert_allclose(elbo, log_likelihood - kl, rtol=1e-6)


def test_elbo_is_deterministic_given_noise_and_stateless_call_matches():
  vae = VAE(2, 4, [8], likelihood="gaussian")
  x = tf.random.normal([7, 2])
  noise = tf.random.normal([7, 4])
  direct = tf.reduce_mean(vae([x, noise]))
  params = [tf.convert_to_tensor(v) for v in vae.trainable_variables]
  np.testing.assert_allclose(direct, vae.mean_log_likelihood(params, x, noise), rtol=1e-6)
  shifted = [p + 0.1 for p in params]
  assert abs(float(vae.mean_log_likelihood(shifted, x, noise) - direct)) > 1e-4


def test_learned_variance_is_a_parameter_only_when_asked():
  fixed = VAE(2, 2, [4], decoder_variance=1e-3)
  learned = VAE(2, 2, [4], decoder_variance=1e-3, learn_variance=True)
  assert len(learned.trainable_variables) == len(fixed.trainable_variables) + 1
  np.testing.assert_allclose(float(fixed.log_variance), math.log(1e-3), rtol=1e-6)
  x, noise = tf.random.normal([4, 2]), tf.random.normal([4, 2])
  with tf.GradientTape() as tape:
    elbo = tf.reduce_mean(learned([x, noise]))
  assert tape.gradient(elbo, learned.log_variance) is not None


def test_bernoulli_decoder_scores_binary_data():
  vae = VAE(6, 2, [8], likelihood="bernoulli")
  x = tf.cast(tf.random.uniform([4, 6]) > 0.5, tf.float32)
  elbo = vae([x, tf.zeros([4, 2])]).numpy()
  assert np.all(np.isfinite(elbo)) and np.all(elbo < 0)


def test_bernoulli_elbo_on_grey_levels_matches_hand_computation():
  """Grey-level pixels in (0, 1), not only 0 and 1 (image data is scaled, not
  binarised): log p(x | z) = sum_i x_i l_i - softplus(l_i) for logits l,
  the negative binary cross-entropy, minus the analytic KL of q(z | x)."""
  keras.utils.set_random_seed(0)
  vae = VAE(6, 3, [8], "tanh", "bernoulli", dtype="float64")
  rng = np.random.default_rng(0)
  x, noise = rng.uniform(0.05, 0.95, size=(5, 6)), rng.normal(size=(5, 3))
  elbo = vae([tf.constant(x), tf.constant(noise)]).numpy()

  loc, raw = np.split(numpy_mlp(vae.encoder, x), 2, axis=1)
  scale = softplus(raw) + 1e-5
  logits = numpy_mlp(vae.decoder, loc + scale * noise)
  log_likelihood = (x * logits - softplus(logits)).sum(1)
  kl = 0.5 * (scale**2 + loc**2 - 1 - 2 * np.log(scale)).sum(1)
  np.testing.assert_allclose(elbo, log_likelihood - kl, rtol=1e-10)
  # not the ELBO of the rounded image: grey levels count as such
  rounded = vae([tf.constant(np.round(x)), tf.constant(noise)]).numpy()
  assert np.all(np.abs(rounded - elbo) > 1e-3)


def test_unknown_likelihood_is_refused():
  with pytest.raises(ValueError, match="choose from gaussian, bernoulli"):
    VAE(2, 2, [4], likelihood="poisson")


# -- IWAE: a tighter bound, checked against an analytic log-likelihood --------

def linear_gaussian_vae(cls, **kwargs):
  """No hidden layers: p(x) = N(b, K^T K + s^2 I) is known in closed form."""
  keras.utils.set_random_seed(1)
  return cls(2, 2, [], "tanh", "gaussian", decoder_variance=0.3, dtype="float64",
             **kwargs)


def analytic_log_likelihood(vae, x):
  dense = [l for l in vae.decoder.layers if isinstance(l, keras.layers.Dense)][0]
  kernel, bias = dense.kernel.numpy(), dense.bias.numpy()
  cov = kernel.T @ kernel + 0.3 * np.eye(2)
  diff = x - bias
  return (-0.5 * np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
          - 0.5 * np.log(np.linalg.det(2 * np.pi * cov)))


def mean_bound(estimator, x, draws=4000):
  repeated = tf.constant(np.repeat(x, draws, axis=0))
  noise = estimator.noise(len(repeated), keras.random.SeedGenerator(7))
  return estimator([repeated, noise]).numpy().reshape(len(x), draws).mean(1)


def test_iwae_bound_is_above_the_elbo_below_log_p_and_tightens_with_k():
  x = np.random.default_rng(0).normal(size=(3, 2)) * 2
  vae = linear_gaussian_vae(VAE)
  exact = analytic_log_likelihood(vae, x)
  elbo = mean_bound(vae, x)
  bounds = {}
  for k in (1, 5, 50):
    iwae = linear_gaussian_vae(IWAE, importance_samples=k)
    iwae.set_weights(vae.get_weights())
    bounds[k] = mean_bound(iwae, x, draws=4000 // k + 1)
  # k = 1 is the ELBO (a Monte Carlo KL instead of the analytic one)
  np.testing.assert_allclose(bounds[1], elbo, atol=0.05)
  assert np.all(elbo < bounds[5]) and np.all(bounds[5] < bounds[50])
  assert np.all(bounds[50] <= exact + 0.01)  # a lower bound on log p(x)
  assert np.all(exact - bounds[50] < 0.5 * (exact - elbo))  # and much tighter


# -- the spline flow: an exact density ------------------------------------------

def test_a_new_flow_is_the_identity_over_its_base_gaussian():
  flow = SplineFlow(2, couplings=4, bins=8, hidden_units=[16], spline_range=1.5,
                    dtype="float64")
  x = np.random.default_rng(0).normal(size=(6, 2))
  scale = 1.5 / 3  # the range is 3 base standard deviations
  expected = (-0.5 * (x / scale) ** 2 - np.log(scale * np.sqrt(2 * np.pi))).sum(1)
  np.testing.assert_allclose(flow([tf.constant(x), tf.zeros([6, 0], tf.float64)]),
                             expected, rtol=1e-10)
  np.testing.assert_allclose(flow.sample(tf.constant(x)), x * scale, rtol=1e-10)


def randomized_flow(seed=0):
  keras.utils.set_random_seed(seed)
  flow = SplineFlow(2, couplings=3, bins=6, hidden_units=[8], spline_range=1.0,
                    dtype="float64")
  rng = np.random.default_rng(seed)
  for variable in flow.trainable_variables:  # away from the identity
    variable.assign(rng.normal(size=variable.shape) * 0.4)
  return flow


def test_a_flow_density_integrates_to_one_and_sampling_inverts_it():
  flow = randomized_flow()
  # numerically integrate over +-5 base standard deviations
  edge = 5 / 3.0
  axis = np.linspace(-edge, edge, 1001)
  xs, ys = np.meshgrid(axis, axis)
  points = np.stack([xs.ravel(), ys.ravel()], 1)
  log_p = flow([tf.constant(points), tf.zeros([len(points), 0], tf.float64)]).numpy()
  cell = (axis[1] - axis[0]) ** 2
  assert np.exp(log_p).sum() * cell == pytest.approx(1.0, abs=5e-3)
  assert np.ptp(log_p) > 3  # the density is far from the initial Gaussian's
  x = tf.constant(np.random.default_rng(1).uniform(-1, 1, size=(50, 2)))
  u, _ = flow.transform(x)
  np.testing.assert_allclose(flow.sample(u).numpy(), x.numpy(), atol=1e-8)


# -- the mixture and the KDE: formulas ------------------------------------------

def test_mixture_log_likelihood_is_the_mixture_formula():
  mixture = GaussianMixture(2, components=3, extent=2.0, dtype="float64")
  rng = np.random.default_rng(0)
  logits, means, log_scales = (rng.normal(size=(3,)), rng.normal(size=(3, 2)),
                               rng.normal(size=(3, 2)) * 0.3)
  mixture.set_weights([logits, means, log_scales])
  x = rng.normal(size=(7, 2))
  weights = np.exp(logits) / np.exp(logits).sum()
  scales = np.exp(log_scales)
  densities = np.prod(np.exp(-0.5 * ((x[:, None] - means) / scales) ** 2)
                      / (scales * np.sqrt(2 * np.pi)), axis=-1)  # [7, 3]
  expected = np.log(densities @ weights)
  got = mixture([tf.constant(x), tf.zeros([7, 0], tf.float64)]).numpy()
  np.testing.assert_allclose(got, expected, rtol=1e-10)
  # its sampler draws components by weight: the empirical weights match
  # its sampler draws each component by its weight (components far apart
  # here, so a sample's nearest mean is its component)
  apart = np.array([[-50.0, 0.0], [0.0, 0.0], [50.0, 0.0]])
  mixture.set_weights([logits, apart, log_scales])
  samples = mixture.sample(tf.constant(rng.normal(size=(100_000, 3)))).numpy()
  component = np.argmin(((samples[:, None] - apart) ** 2).sum(-1), 1)
  np.testing.assert_allclose(np.bincount(component, minlength=3) / 100_000, weights,
                             atol=0.01)
  inside = samples[component == 2]  # and draws within it from its Gaussian
  np.testing.assert_allclose(inside.std(0), scales[2], rtol=0.05)


def test_kde_is_the_mean_of_gaussian_kernels_and_its_bandwidth_anneals():
  kde = KernelDensity(Schedule(0.2, 0.02, 100), dtype="float64")
  rng = np.random.default_rng(0)
  centers, x = rng.normal(size=(5, 2)), rng.normal(size=(4, 2))
  theta = kde.fit(tf.constant(centers), step=0)
  got = float(kde.mean_log_likelihood(theta, tf.constant(x), None))
  d2 = ((x[:, None] - centers) ** 2).sum(-1)
  expected = np.mean(np.log(np.mean(np.exp(-d2 / (2 * 0.04)), 1) / (2 * np.pi * 0.04)))
  assert got == pytest.approx(expected, rel=1e-10)
  assert [float(kde.bandwidth_at(s)) for s in (0, 50, 100, 1000)] == pytest.approx(
      [0.2, 0.2 * 0.1 ** 0.5, 0.02, 0.02])
  assert float(KernelDensity(0.3).bandwidth_at(10_000)) == pytest.approx(0.3)


def test_image_bandwidths_by_hand():
  """One query whose squared distances to three centres are 5, 1 and 3:
  fine sqrt((3 - 1) / 2) = 1 (the nearest weighs e x the next), nearest
  sqrt(1) = 1, coarse sqrt(std(1, 3, 5) / 2) with std = sqrt(8 / 3)."""
  scales = smoothing.scales_from_distances([[5.0, 1.0, 3.0]])
  assert scales == pytest.approx({"fine": 1.0, "nearest": 1.0,
                                  "coarse": math.sqrt(math.sqrt(8 / 3) / 2)})


def test_a_kde_of_images_is_the_kde_of_their_flattened_pixels():
  """One kernel over all H x W x C pixels (not per row or channel), and
  kept centres sample back to image shape."""
  rng = np.random.default_rng(1)
  centers, x = rng.uniform(size=(6, 4, 3, 2)), rng.uniform(size=(5, 4, 3, 2))
  kde = KernelDensity(0.5, dtype="float64", kept_centers=6, data_shape=(4, 3, 2))
  got = float(kde.mean_log_likelihood(kde.fit(tf.constant(centers)), tf.constant(x), None))
  d2 = ((x.reshape(5, 1, -1) - centers.reshape(1, 6, -1)) ** 2).sum(-1)
  expected = np.mean(np.log(np.mean(np.exp(-d2 / (2 * 0.25)), 1))
                     - 24 * np.log(0.5 * np.sqrt(2 * np.pi)))
  assert got == pytest.approx(expected, rel=1e-10)
  kde.keep(tf.constant(centers))
  samples = kde.sample(tf.constant(rng.normal(size=(3, kde.sampler_noise_dim)))).numpy()
  assert samples.shape == (3, 4, 3, 2)
  nearest = ((samples.reshape(3, 1, -1) - centers.reshape(1, 6, -1)) ** 2).sum(-1).min(1)
  assert np.all(nearest < 24 * 9 * 0.25)  # within 3 kernel stds of a kept centre
