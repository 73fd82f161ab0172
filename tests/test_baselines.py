"""The GAN baselines do what their papers say."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from lbt_tf import config as config_lib
from lbt_tf.data import mixtures
from lbt_tf import networks, train_lib
from lbt_tf.trainers.base import discriminator_loss, non_saturating_generator_loss
from lbt_tf import hypergradient, unroll
from lbt_tf.hypergradient import Hypergradient
from lbt_tf.trainers.gan import PacGAN, UnrolledGAN, pack_samples
from lbt_tf.trainers.veegan import VEEGAN, reconstruction_error
from lbt_tf.trainers.ali import ALI
from lbt_tf.trainers import vgan
from lbt_tf.trainers.vgan import VGAN


def small_unrolled_gan(unroll_steps, dtype="float32", method="unroll"):
  keras.utils.set_random_seed(0)
  generator = networks.mlp_generator(4, 2, [8], dtype=dtype)
  discriminator = networks.mlp_discriminator(2, [8], dtype=dtype)
  trainer = UnrolledGAN(generator, 4, discriminator,
                        hypergradient=Hypergradient(method, unroll_steps),
                        stop_second_moment=False)
  trainer.compile(keras.optimizers.Adam(1e-3),
                  keras.optimizers.Adam(0.05, beta_1=0.5))
  return trainer


def batch(dtype="float32", size=32):
  rng = np.random.default_rng(1)
  return (tf.constant(rng.normal(size=(size, 2)), dtype),
          tf.constant(rng.normal(size=(size, 4)), dtype))


def sigmoid(t):
  return 1 / (1 + np.exp(-t))


def unrolled_generator_loss(trainer, real, noise):
  return trainer.unrolled_generator_loss(real, trainer.generator(noise))


def test_unrolled_discriminator_is_where_real_adam_steps_take_it():
  trainer = small_unrolled_gan(unroll_steps=3)
  real, noise = batch()
  fake = trainer.generator(noise)
  variables = trainer.discriminator.trainable_variables
  twin, state = unroll.differentiable_twin(trainer.discriminator_optimizer, variables,
                                           stop_second_moment=False)
  psi_K = hypergradient.symbolic_unroll(
      trainer.discriminator_fit_loss(real), [tf.convert_to_tensor(v) for v in variables],
      twin, state, [tf.stack([fake] * 3)], 3)
  for _ in range(3):
    with tf.GradientTape() as tape:
      loss = discriminator_loss(trainer.discriminator(real),
                                trainer.discriminator(fake))
    trainer.discriminator_optimizer.apply_gradients(
        zip(tape.gradient(loss, variables), variables))
  for unrolled, stepped in zip(psi_K, variables):
    np.testing.assert_allclose(unrolled.numpy(), stepped.numpy(), atol=1e-6)
  assert not np.allclose(psi_K[0].numpy(), small_unrolled_gan(3).discriminator
                         .trainable_variables[0].numpy())  # D really moved


def generator_gradient(trainer, real, noise):
  variables = trainer.generator.trainable_variables
  with tf.GradientTape() as tape:
    loss = unrolled_generator_loss(trainer, real, noise)
  return [g.numpy() for g in tape.gradient(loss, variables)]


def test_k0_is_the_gan_and_unrolling_changes_the_generator_gradient():
  real, noise = batch()
  gan_trainer = small_unrolled_gan(unroll_steps=0)
  variables = gan_trainer.generator.trainable_variables
  with tf.GradientTape() as tape:
    gan_loss = non_saturating_generator_loss(
        gan_trainer.discriminate(gan_trainer.generator(noise)))
  gan_gradient = tape.gradient(gan_loss, variables)
  for k0, gan in zip(generator_gradient(gan_trainer, real, noise), gan_gradient):
    np.testing.assert_allclose(k0, gan.numpy(), rtol=1e-5, atol=1e-7)

  unrolled = generator_gradient(small_unrolled_gan(unroll_steps=5), real, noise)
  difference = sum(np.sum((a - b.numpy())**2) for a, b in zip(unrolled, gan_gradient))
  size = sum(np.sum(b.numpy()**2) for b in gan_gradient)
  assert difference > 1e-3 * size  # the unroll is not a no-op


def test_unrolled_gan_gradient_matches_finite_differences():
  trainer = small_unrolled_gan(unroll_steps=3, dtype="float64")
  real, noise = batch("float64")
  variables = trainer.generator.trainable_variables
  rng = np.random.default_rng(2)
  direction = [rng.normal(size=v.shape) for v in variables]
  analytic = sum(np.sum(g * d) for g, d in
                 zip(generator_gradient(trainer, real, noise), direction))
  origin = [v.numpy() for v in variables]
  epsilon = 1e-5

  def loss_at(t):
    for v, o, d in zip(variables, origin, direction):
      v.assign(o + t * d)
    return float(unrolled_generator_loss(trainer, real, noise))

  numeric = (loss_at(epsilon) - loss_at(-epsilon)) / (2 * epsilon)
  assert analytic == pytest.approx(numeric, rel=1e-5)


def test_pacgan_discriminator_sees_m_samples_per_row():
  samples = tf.reshape(tf.range(24, dtype=tf.float32), [12, 2])
  packed = pack_samples(samples, 3)
  assert packed.shape == (4, 6)
  np.testing.assert_array_equal(packed[1], np.arange(6, 12))  # samples 3, 4, 5

  config = config_lib.make_config("ring", {"method": "pacgan", "pack": 4,
                                            "noise_dim": 8, "batch_size": 64})
  trainer = train_lib.build_trainer(config)
  assert trainer.discriminator.input_shape == (None, 4 * 2)
  trainer.fit(mixtures.training_batches(mixtures.ring(), 64, 0),
              steps_per_epoch=10, epochs=1, verbose=0)
  assert int(trainer.discriminator_optimizer.iterations) == 10


def test_pacgan_batch_must_split_into_packs():
  with pytest.raises(ValueError, match="multiple of --pack"):
    train_lib.check(config_lib.make_config("ring", {"method": "pacgan", "pack": 3,
                                                    "batch_size": 64}))


def small_veegan(noise_dim=2):
  keras.utils.set_random_seed(0)
  generator = networks.mlp_generator(noise_dim, 2, [16])
  discriminator = networks.mlp_discriminator(noise_dim + 2, [16])
  reconstructor = networks.mlp(2, [16], noise_dim, "tanh", "reconstructor")
  trainer = VEEGAN(generator, noise_dim, discriminator, reconstructor)
  trainer.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3),
                  keras.optimizers.Adam(1e-2), steps_per_execution=10)
  return trainer


def test_veegan_generator_objective_is_the_papers():
  """-D(z, G(z)) + ||z - F(G(z))||^2 on the noise the trainer draws."""
  trainer = small_veegan()
  real = tf.zeros([16, 2])
  seed_state = trainer.seed_generator.state.numpy()
  objective = float(trainer.generator_objective(real))
  trainer.seed_generator.state.assign(seed_state)
  noise = trainer.sample_noise(16)
  fake = trainer.generator(noise)
  logits = trainer.discriminator(tf.concat([noise, fake], -1))
  by_hand = (-np.mean(logits)
             + np.mean(np.sum((noise - trainer.reconstructor(fake))**2, -1)))
  assert objective == pytest.approx(by_hand, rel=1e-5)


def test_veegan_reconstructor_learns_to_invert_the_generator():
  trainer = small_veegan()
  history = trainer.fit(mixtures.training_batches(mixtures.ring(), 128, 0),
                        steps_per_epoch=300, epochs=1, verbose=0)
  noise = trainer.sample_noise(1000)
  error = float(reconstruction_error(
      noise, trainer.reconstructor(trainer.generator(noise))))
  # Guessing F(x) = 0 scores E||z||^2 = noise_dim = 2.
  assert error < 0.5
  assert int(trainer.reconstructor_optimizer.iterations) == 300
  assert set(history.history) == {"g_loss", "d_loss", "reconstruction"}


# -- ALI -------------------------------------------------------------------------

def affine(input_dim, kernel, bias, name):
  """A linear layer with the given weights: x -> x kernel + bias."""
  model = networks.mlp(input_dim, [], len(bias), "tanh", name)
  model.layers[-1].kernel.assign(np.array(kernel, np.float32))
  model.layers[-1].bias.assign(np.array(bias, np.float32))
  return model


def test_ali_objectives_are_the_papers_computed_by_hand():
  """G(z) = 2z + 1, E(x) = N(0.5 x - 0.5, 0.1^2), D(x, z) = 1.5 z - 0.7 x + 0.2:
  L_D = -mean log rho(x, z^) - mean log(1 - rho(G(z), z)); E's part of L_GE
  -mean log(1 - rho(x, z^)), G's -mean log rho(G(z), z) (Algorithm 1)."""
  generator = affine(1, [[2.0]], [1.0], "generator")
  encoder = affine(1, [[0.5, 0.0]], [-0.5, np.log(0.1)], "encoder")
  discriminator = affine(2, [[1.5], [-0.7]], [0.2], "discriminator")  # input [z, x]
  trainer = ALI(generator, 1, discriminator, encoder)
  trainer.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1),
                  keras.optimizers.SGD(0.1))
  real = tf.constant([[0.3], [-1.2], [2.0], [0.5]])
  x = real.numpy()[:, 0]

  def draws(n):  # the noise the trainer draws next, without drawing it
    state = trainer.seed_generator.state.numpy()
    values = [trainer.sample_noise(4).numpy()[:, 0].astype(np.float64) for _ in range(n)]
    trainer.seed_generator.state.assign(state)
    return values

  def d(x_, z_):
    return 1.5 * z_ - 0.7 * x_ + 0.2

  (eps,) = draws(1)
  encoder_loss = -np.mean(np.log(1 - sigmoid(d(x, 0.5 * x - 0.5 + 0.1 * eps))))
  assert float(trainer.encoder_objective(real)) == pytest.approx(encoder_loss, rel=1e-5)
  (z,) = draws(1)
  generator_loss = -np.mean(np.log(sigmoid(d(2 * z + 1, z))))
  assert float(trainer.generator_objective(real)) == pytest.approx(generator_loss, rel=1e-5)

  eps, z = draws(2)  # update_helpers: E's noise, then G's
  discriminator_loss_ = (-np.mean(np.log(sigmoid(d(x, 0.5 * x - 0.5 + 0.1 * eps))))
                         - np.mean(np.log(1 - sigmoid(d(2 * z + 1, z)))))
  trainer.update_helpers([real])
  assert float(trainer.discriminator_loss_tracker.result()) == pytest.approx(
      discriminator_loss_, rel=1e-5)
  # ... and D moved down its gradient, by hand: dL/dc = mean(rho_p) - mean(1 - rho_q)
  rho_q = sigmoid(d(x, 0.5 * x - 0.5 + 0.1 * eps))
  rho_p = sigmoid(d(2 * z + 1, z))
  assert float(discriminator.layers[-1].bias[0]) == pytest.approx(
      0.2 - 0.1 * (np.mean(rho_p) - np.mean(1 - rho_q)), rel=1e-5)


def test_ali_encoder_inverts_the_generator_on_a_gaussian():
  """Data N(1, 0.5^2), z ~ N(0, 1), G affine: after 3,000 iterations G
  matches the data and E's mean inverts G (E(G(z)) ~ z; a constant guess
  scores E z^2 = 1) with E's noise shrunk (seeds 0-3 all pass; at 3,000 we
  measured squared errors 0.01-0.04, sigma 0.03-0.05)."""
  keras.utils.set_random_seed(0)
  inputs = keras.Input((1,))
  generator = keras.Model(inputs, keras.layers.Dense(1)(inputs), name="generator")
  encoder = networks.mlp(1, [16], 2, "tanh", "encoder")
  trainer = ALI(generator, 1, networks.mlp_discriminator(2, [32]), encoder)
  trainer.compile(*(keras.optimizers.Adam(3e-3, beta_1=0.5) for _ in range(3)),
                  steps_per_execution=50)
  data = np.random.default_rng(0).normal(1.0, 0.5, size=(64_000, 1)).astype("float32")
  batches = tf.data.Dataset.from_tensor_slices(data).shuffle(64_000, seed=0).repeat().batch(128)
  history = trainer.fit(batches, steps_per_epoch=3000, epochs=1, verbose=0)
  assert set(history.history) == {"g_loss", "d_loss", "e_loss"}
  z = tf.random.normal([4000, 1], seed=3)
  samples = generator(z)
  mu, log_sigma = tf.split(encoder(samples), 2, axis=-1)
  assert float(tf.reduce_mean(samples)) == pytest.approx(1.0, abs=0.1)
  assert float(tf.math.reduce_std(samples)) == pytest.approx(0.5, abs=0.15)
  assert float(tf.reduce_mean(tf.square(mu - z))) < 0.15
  assert float(tf.reduce_mean(tf.exp(log_sigma))) < 0.1


# -- VGAN ------------------------------------------------------------------------

def test_vgan_energy_and_entropy_are_binary_entropies_by_hand():
  """p = [[0.5, 0.9], [0.1, 0.2]]: energy = mean over rows of sum_j H(p_ij),
  entropy = sum_j H(column mean), H(p) = -p ln p - (1 - p) ln(1 - p)."""
  def h(p):
    return -p * math.log(p) - (1 - p) * math.log(1 - p)

  p = tf.constant([[0.5, 0.9], [0.1, 0.2]], tf.float64)
  assert float(vgan.energy(p)) == pytest.approx(
      ((math.log(2) + h(0.9)) + (h(0.1) + h(0.2))) / 2, rel=1e-12)
  assert float(vgan.batch_entropy(p)) == pytest.approx(h(0.3) + h(0.55), rel=1e-12)


def small_vgan(units=16, confidence=0.0):
  """A small VGAN; D's output bias `confidence` sets its units' starting p."""
  keras.utils.set_random_seed(0)
  discriminator = networks.mlp_discriminator(2, [16], outputs=units)
  discriminator.layers[-1].bias.assign(tf.fill([units], confidence))
  trainer = VGAN(networks.mlp_generator(4, 2, [16]), 4, discriminator)
  trainer.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
  return trainer


def test_vgan_objectives_are_the_authors_on_the_trainers_batches():
  """D: energy(x) - energy(G(z)) - entropy(x); G: energy(G(z)) - entropy(G(z)),
  with p = D's sigmoid units clipped to [1e-4, 1 - 1e-4]."""
  trainer = small_vgan()
  real = tf.random.normal([32, 2], seed=5) * 3

  def p(x):
    return np.clip(sigmoid(trainer.discriminator(x).numpy().astype(np.float64)), 1e-4, 1 - 1e-4)

  def energy(q):
    return np.mean(np.sum(-q * np.log(q) - (1 - q) * np.log(1 - q), 1))

  def entropy(q):
    m = q.mean(0)
    return np.sum(-m * np.log(m) - (1 - m) * np.log(1 - m))

  state = trainer.seed_generator.state.numpy()
  d_objective = float(trainer.discriminator_objective(real))
  g_objective = float(trainer.generator_objective(real))
  trainer.seed_generator.state.assign(state)
  fake_d, fake_g = trainer.generate(32), trainer.generate(32)
  assert d_objective == pytest.approx(
      energy(p(real)) - energy(p(fake_d)) - entropy(p(real)), rel=1e-5)
  assert g_objective == pytest.approx(energy(p(fake_g)) - entropy(p(fake_g)), rel=1e-5)
  assert trainer.discriminator.output_shape == (None, 16)
  # saturated units (logits +-50) are clipped: p = 1e-4 or 1 - 1e-4, H finite
  trainer.discriminator.layers[-1].bias.assign(np.tile([50.0, -50.0], 8))
  trainer.discriminator.layers[-1].kernel.assign(tf.zeros([16, 16]))
  saturated = trainer.probabilities(real).numpy()
  np.testing.assert_allclose(saturated, np.tile([1 - 1e-4, 1e-4], (32, 8)), rtol=1e-6)
  assert float(vgan.energy(trainer.probabilities(real))) == pytest.approx(
      16 * (-1e-4 * math.log(1e-4) - (1 - 1e-4) * math.log(1 - 1e-4)), rel=1e-3)


def test_vgan_discriminator_steps_lower_data_energy_and_raise_sample_energy():
  """D linear without bias on 8 features: data use the first 4 (as x and -x,
  so D's batch mean is exactly 1/2 and the entropy term is constant), G's
  samples the last 4, so D's objective is energy(x) - energy(G(z)) in two
  separate blocks of D's weights: its steps must lower the first and raise
  the second. Then G's steps lower energy(G(z)) - entropy(G(z))."""
  keras.utils.set_random_seed(0)
  inputs = keras.Input((8,))
  discriminator = keras.Model(inputs, keras.layers.Dense(16, use_bias=False)(inputs))
  inputs = keras.Input((4,))
  layer = keras.layers.Dense(8)
  generator = keras.Model(inputs, layer(inputs))
  layer.kernel.assign(np.concatenate([np.zeros((4, 4)), np.eye(4)], 1).astype(np.float32))
  layer.bias.assign([0, 0, 0, 0, 1, 1, 1, 1])
  trainer = VGAN(generator, 4, discriminator)
  trainer.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
  half = np.random.default_rng(0).normal(size=(256, 4)).astype(np.float32)
  real = tf.constant(np.concatenate([np.concatenate([half, -half]), np.zeros((512, 4))], 1),
                     tf.float32)
  state = trainer.seed_generator.state.numpy()
  fake = trainer.generate(512)  # a fixed sample of the (not yet trained) G

  def terms(x):
    p = trainer.probabilities(x)
    return float(vgan.energy(p)), float(vgan.energy(p) - vgan.batch_entropy(p))

  (data_before, _), (samples_before, _) = terms(real), terms(fake)
  for _ in range(20):
    trainer.update_helpers([real])
  (data_after, _), (samples_after, _) = terms(real), terms(fake)
  assert data_after < data_before - 0.1
  assert samples_after > samples_before + 0.1
  assert float(vgan.batch_entropy(trainer.probabilities(real))) == pytest.approx(16 * np.log(2))

  _, generator_before = terms(fake)
  for _ in range(20):
    trainer.seed_generator.state.assign(state)  # the same z each time: fake's
    trainer.descend("generator", lambda: trainer.generator_objective(real))
  trainer.seed_generator.state.assign(state)
  assert terms(trainer.generate(512))[1] < generator_before - 0.1


# -- BRC -------------------------------------------------------------------------

def test_brc_generator_gradient_is_the_implicit_formula_with_the_outer_product_hessian():
  """brc-gan's generator gradient, computed with dense matrices: with psi D's
  parameters, F = -mean log D_psi(G(z)), L_D = D's loss on (real, G(z)),
  g = grad_psi L_D, J = d grad_psi L_D / d phi:
      dF/dphi|_psi - J^T (g g^T + lambda I)^-1 grad_psi F."""
  config = config_lib.make_config("ring", {
      "method": "brc-gan", "noise_dim": 3, "generator_units": (5,),
      "discriminator_units": (4,), "outer_product_lambda": 0.3, "batch_size": 16})
  trainer = train_lib.build_trainer(config)
  assert (trainer.hypergradient.method, trainer.hypergradient.solver,
          trainer.hypergradient.damping) == ("implicit", "outer-product", 0.3)
  real, noise = batch(size=16)
  noise = noise[:, :3]
  phi = trainer.generator.trainable_variables
  psi = trainer.discriminator.trainable_variables

  with tf.GradientTape() as tape:
    loss = trainer.unrolled_generator_loss(real, trainer.generator(noise))
  brc = np.concatenate([g.numpy().ravel() for g in tape.gradient(loss, phi)])

  def flat(tensors):
    return tf.concat([tf.reshape(t, [-1]) for t in tensors], 0)

  with tf.GradientTape(persistent=True) as outer_tape:
    fake = trainer.generator(noise)
    with tf.GradientTape(persistent=True) as tape:
      d_loss = discriminator_loss(trainer.discriminator(real), trainer.discriminator(fake))
      f = non_saturating_generator_loss(trainer.discriminator(fake))
    g = flat(tape.gradient(d_loss, psi))
  mixed = np.concatenate([j.numpy().reshape(len(g), -1)
                          for j in outer_tape.jacobian(g, phi)], axis=1)  # [psi, phi]
  direct = np.concatenate([x.numpy().ravel() for x in outer_tape.gradient(f, phi)])
  b = flat(tape.gradient(f, psi)).numpy()
  g = g.numpy().astype(np.float64)
  v = np.linalg.solve(np.outer(g, g) + 0.3 * np.eye(len(g)), b)
  expected = direct - mixed.T @ v
  np.testing.assert_allclose(brc, expected, rtol=1e-4, atol=1e-6)
  assert np.linalg.norm(expected - direct) > 0.1 * np.linalg.norm(direct)  # not the GAN's


@pytest.mark.parametrize("overrides", [{"hypergradient": "truncated"},
                                       {"hypergradient": "implicit"},
                                       {"implicit_solver": "neumann"}])
def test_brc_gan_refuses_another_hypergradient(overrides):
  config = config_lib.make_config("ring", dict(method="brc-gan", **overrides))
  with pytest.raises(ValueError, match="brc-gan always takes the implicit hypergradient"):
    train_lib.check(config)
  train_lib.check(config_lib.make_config("ring", {
      "method": "brc-gan", "hypergradient": "implicit", "implicit_solver": "outer-product"}))


def test_brc_gan_at_its_default_lambda_stays_on_the_data():
  """At lambda = 1 the correction (a look-ahead step of 1 / lambda on D)
  dominated: on the VEEGAN ring every sample was pushed off the data within
  100 iterations (median radius 16 against the data's 1; RESULTS 1.5). The
  default must keep the generator's samples near the ring."""
  config = config_lib.make_config("veegan-ring", {"method": "brc-gan", "seed": 0})
  data = train_lib.load_data(config, report=lambda _: None)
  trainer = train_lib.build_trainer(config)  # seeds every generator from config.seed
  batches = mixtures.training_batches(
      data, config.batch_size * trainer.batches_per_iteration, config.seed)
  trainer.fit(batches, steps_per_epoch=100, epochs=1, verbose=0)
  samples = trainer.generator(tf.random.normal([2000, config.noise_dim]), training=False)
  radius = np.median(np.linalg.norm(samples.numpy(), axis=1))
  assert radius < 3.0, f"median sample radius {radius:.1f}: the ring's radius is 1"
