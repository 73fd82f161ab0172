"""The VAE estimator's ELBO against a hand-written formula."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

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


def test_unknown_likelihood_is_refused():
  with pytest.raises(ValueError, match="choose from gaussian, bernoulli"):
    VAE(2, 2, [4], likelihood="poisson")
