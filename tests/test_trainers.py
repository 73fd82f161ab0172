"""The trainers do one whole Algorithm 1 iteration per step, and learn."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from lbt_tf import config as config_lib
from lbt_tf.metrics import mixture_metrics
from lbt_tf.data import mixtures
from lbt_tf import networks, train_lib
from lbt_tf.export import generators
from lbt_tf.hypergradient import Hypergradient
from lbt_tf.estimators.vae import VAE
from lbt_tf.trainers.lbt import LBT, LBTGAN


def small_lbt_gan(estimator_steps=3, unroll_steps=2):
  generator = networks.mlp_generator(8, 2, [16])
  discriminator = networks.mlp_discriminator(2, [16])
  estimator = VAE(2, 4, [16])
  trainer = LBTGAN(generator, estimator, 8, discriminator,
                   estimator_steps=estimator_steps,
                   hypergradient=Hypergradient(steps=unroll_steps))
  trainer.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3),
                  keras.optimizers.Adam(1e-3), steps_per_execution=2)
  return trainer


def test_one_step_is_one_whole_iteration():
  trainer = small_lbt_gan(estimator_steps=3)
  data = mixtures.training_batches(mixtures.ring(), 64, seed=0)
  history = trainer.fit(data, steps_per_epoch=4, epochs=1, verbose=0)
  assert int(trainer.generator_optimizer.iterations) == 4
  assert int(trainer.discriminator_optimizer.iterations) == 4
  assert int(trainer.estimator_optimizer.iterations) == 4 * 3  # M per iteration
  assert set(history.history) == {"g_loss", "d_loss", "f_E", "f_G"}


def test_without_unrolling_lbt_gives_the_generator_no_signal():
  generator = networks.mlp_generator(8, 2, [16])
  trainer = LBT(generator, VAE(2, 4, [16]), 8, estimator_steps=1,
                hypergradient=Hypergradient(steps=0))
  trainer.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
  before = [v.numpy().copy() for v in generator.trainable_variables]
  trainer.fit(mixtures.training_batches(mixtures.ring(), 64, 0),
              steps_per_epoch=3, epochs=1, verbose=0)
  for b, v in zip(before, generator.trainable_variables):
    np.testing.assert_array_equal(b, v.numpy())
  assert int(trainer.estimator_optimizer.iterations) == 3


def test_the_warmup_is_gan_iterations_then_lbt_starts():
  """LBT-GAN with a 4-iteration warm-up (the authors': 3,000): until then no
  estimator update, and the generator follows exactly the GAN's path from
  the same weights and seed; then the estimator trains M steps per iteration."""
  from lbt_tf.trainers.gan import GAN  # pylint: disable=g-import-not-at-top
  keras.utils.set_random_seed(0)
  generator = networks.mlp_generator(8, 2, [16])
  discriminator = networks.mlp_discriminator(2, [16])
  twins = [keras.models.clone_model(net) for net in (generator, discriminator)]
  for twin, net in zip(twins, (generator, discriminator)):
    twin.set_weights(net.get_weights())
  lbt_gan = LBTGAN(generator, VAE(2, 4, [16]), 8, discriminator, adversarial_weight=1.0,
                   estimator_steps=2, hypergradient=Hypergradient(steps=1),
                   teaching_warmup=4, seed=3)
  lbt_gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2),
                  keras.optimizers.Adam(1e-2), steps_per_execution=2)
  gan = GAN(twins[0], 8, twins[1], seed=3)
  gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2),
              steps_per_execution=2)
  data = lambda: mixtures.training_batches(mixtures.ring(), 64, 0)
  lbt_gan.fit(data(), steps_per_epoch=4, epochs=1, verbose=0)
  gan.fit(data(), steps_per_epoch=4, epochs=1, verbose=0)
  assert int(lbt_gan.estimator_optimizer.iterations) == 0
  for ours, theirs in zip(generator.trainable_variables, twins[0].trainable_variables):
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)
  # One fit across the boundary: 2 warm-up iterations more would be wrong.
  lbt_gan.fit(data(), steps_per_epoch=4, epochs=1, verbose=0)
  assert int(lbt_gan.estimator_optimizer.iterations) == 4 * 2
  assert int(lbt_gan.generator_optimizer.iterations) == 8


def test_a_warmup_that_ends_inside_a_fit_switches_there():
  trainer = LBTGAN(networks.mlp_generator(8, 2, [16]), VAE(2, 4, [16]), 8,
                   networks.mlp_discriminator(2, [16]), adversarial_weight=1.0,
                   estimator_steps=3, hypergradient=Hypergradient(steps=1),
                   teaching_warmup=4)
  trainer.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3),
                  keras.optimizers.Adam(1e-3), steps_per_execution=2)
  trainer.fit(mixtures.training_batches(mixtures.ring(), 64, 0),
              steps_per_epoch=10, epochs=1, verbose=0)
  assert int(trainer.estimator_optimizer.iterations) == (10 - 4) * 3


def test_lbt_alone_refuses_a_warmup():
  with pytest.raises(ValueError, match="needs a discriminator term"):
    LBT(networks.mlp_generator(8, 2, [16]), VAE(2, 4, [16]), 8, teaching_warmup=3)
  with pytest.raises(ValueError, match="--teaching-warmup needs LBT-GAN"):
    train_lib.check(config_lib.make_config("ring", {"method": "lbt", "teaching_warmup": 10}))


def test_lbt_alone_teaches_the_generator_where_the_data_is():
  """No discriminator: only the unrolled estimator moves G to a far mode.

  A trained estimator (the VAE, M = 2 real steps, K = 5 unrolled), not the
  ring preset's KDE: without the teaching gradient through the unroll the
  generator gets no gradient at all and stays where it starts."""
  # Adam moves a bias by about lr per step, so 2 units need lr 1e-2 here; a
  # broad decoder (variance 0.05) keeps the far-off ELBO landscape smooth.
  config = config_lib.make_config("ring", {
      "method": "lbt", "num_modes": 1, "radius": 2.0, "noise_dim": 16,
      "generator_units": (32, 32), "estimator_units": (32, 32),
      "latent_dim": 4, "batch_size": 256, "steps": 400, "eval_every": 400,
      "generator_lr": 1e-2, "decoder_variance": 0.05,
      "estimator": "vae", "anneal_steps": 0, "estimator_steps": 2,
      "estimator_lr": 1e-3, "estimator_beta1": 0.9, "unroll_lr": 0.0})
  trainer = train_lib.build_trainer(config)
  mixture = mixtures.of_config(config)
  generate = tf.function(lambda z: trainer.generator(z, training=False))

  def distance_to_mode():
    samples = generators.draw(generate, config.noise_dim, 5000, seed=0)
    return float(np.linalg.norm(samples.mean(0) - mixture.means[0]))

  initial = distance_to_mode()
  assert isinstance(trainer.estimator, VAE) and trainer.unroll_steps == 5
  trainer.fit(mixtures.training_batches(mixture, config.batch_size, 0),
              steps_per_epoch=400, epochs=1, verbose=0)
  assert int(trainer.estimator_optimizer.iterations) == 400 * 2  # the M real steps ran
  assert initial > 1.5
  assert distance_to_mode() < 0.3


def test_a_smoothing_bandwidth_makes_the_estimator_fit_the_smoothed_samples():
  """A generator stuck at one point: a one-component mixture fitted to its
  samples smoothed with h = 0.3 learns a std of 0.3 (no schedule: -> 0)."""
  from lbt_tf.estimators.mixture import GaussianMixture  # pylint: disable=g-import-not-at-top
  from lbt_tf.smoothing import Schedule  # pylint: disable=g-import-not-at-top
  scales = {}
  for h in (0.0, 0.3):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    point = keras.Model(inputs, keras.layers.Dense(
        2, kernel_initializer="zeros", bias_initializer="ones")(inputs))
    trainer = LBT(point, GaussianMixture(2, components=1, extent=1.0), 4,
                  estimator_steps=1, hypergradient=Hypergradient(steps=0),
                  smoothing_schedule=Schedule(h, h))
    trainer.compile(keras.optimizers.SGD(0.0), keras.optimizers.Adam(0.05))
    step = tf.function(lambda: trainer.update_helpers([tf.zeros([256, 2])]))
    for _ in range(400):
      step()
    scales[h] = float(tf.reduce_mean(tf.exp(trainer.estimator.log_scales)))
  assert scales[0.3] == pytest.approx(0.3, rel=0.1)
  assert scales[0.0] < 0.05


def test_a_trained_estimator_is_smoothed_only_when_asked():
  """The ring preset anneals its kernel (--anneal-steps 3000); a VAE taught
  on it is the paper's algorithm, unsmoothed, unless --smooth-estimator
  true, which gives it that schedule as noise (0.38 -> 0.05)."""
  plain = train_lib.build_trainer(config_lib.make_config(
      "ring", {"method": "lbt", "estimator": "vae"}))
  smoothed = train_lib.build_trainer(config_lib.make_config(
      "ring", {"method": "lbt", "estimator": "vae", "smooth_estimator": True}))
  assert isinstance(plain.estimator, VAE) and not plain.smoothing.active
  x = tf.zeros([4, 2])
  assert np.array_equal(plain.smoothed(x), x)
  assert smoothed.smoothing.steps == 3000 and smoothed.smoothing.finest == 0.05
  assert smoothed.smoothing.start == pytest.approx(np.sin(np.pi / 8))  # half the spacing
  assert float(tf.math.reduce_std(smoothed.smoothed(tf.zeros([20000, 2])))) == \
      pytest.approx(np.sin(np.pi / 8), rel=0.05)


def test_a_scaled_teaching_term_keeps_data_units_as_the_bandwidth_shrinks():
  """A KDE teacher's log-likelihood gradient grows as 1 / h^2; scaled, LBT-GAN's
  teaching term is (h_t / h_0)^2 times the plain one (its discriminator term
  unchanged); LBT alone, with no other term to balance, is not scaled."""
  from lbt_tf.estimators.kde import KernelDensity  # pylint: disable=g-import-not-at-top
  from lbt_tf.smoothing import Schedule  # pylint: disable=g-import-not-at-top
  schedule = Schedule(1.0, 0.01, steps=10)  # h_5 = 0.1
  real = tf.constant([[0.3, -0.2], [0.5, 0.1], [-0.4, 0.2]])

  def constant_model(input_dim, outputs, value):
    inputs = keras.Input((input_dim,))
    return keras.Model(inputs, keras.layers.Dense(
        outputs, kernel_initializer="zeros", bias_initializer=value)(inputs))

  objectives = {}
  for method in (LBT, LBTGAN):
    for scaled in (False, True):
      point = constant_model(4, 2, "ones")  # every sample at (1, 1)
      extra = {}
      if method is LBTGAN:  # D(x) = sigmoid(0): the generator's term is log 2
        extra = dict(discriminator=constant_model(2, 1, "zeros"), adversarial_weight=0.5)
      trainer = method(point, KernelDensity(schedule), 4, hypergradient=Hypergradient(steps=1),
                       scale_teaching=scaled, **extra)
      trainer.compile(keras.optimizers.SGD(0.0), discriminator_optimizer=(
          keras.optimizers.SGD(0.0) if method is LBTGAN else None))
      trainer.generator_optimizer.iterations.assign(5)
      objectives[method, scaled] = float(trainer.generator_objective(real))
  h = 0.1
  log_likelihood = np.mean(-0.5 * np.sum((real.numpy() - 1.0) ** 2, -1) / h ** 2
                           - 2 * np.log(h) - np.log(2 * np.pi))
  assert objectives[LBT, False] == pytest.approx(-log_likelihood, rel=1e-4)
  assert objectives[LBT, True] == objectives[LBT, False]
  assert objectives[LBTGAN, False] == pytest.approx(-log_likelihood + 0.5 * np.log(2), rel=1e-4)
  assert objectives[LBTGAN, True] == pytest.approx(
      h ** 2 * -log_likelihood + 0.5 * np.log(2), rel=1e-4)
  with pytest.raises(ValueError, match="annealed bandwidth"):
    LBT(point, KernelDensity(0.1), 4, scale_teaching=True)
