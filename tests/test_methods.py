"""The method registry: every method builds from a config, refuses what it
cannot do, and checkpoints its whole state; WGAN-GP's penalty and the
estimator-alone method do what they promise."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from lbt_tf import checkpointing, config as config_lib, networks, train_lib
from lbt_tf.data import mixtures
from lbt_tf.methods import METHODS
from lbt_tf.trainers.wgan_gp import WGANGP
from tests import clitools

SMALL = {"noise_dim": 8, "batch_size": 32, "latent_dim": 4, "generator_units": (8,),
         "discriminator_units": (8,), "estimator_units": (8,), "unroll_steps": 1,
         "estimator_steps": 2, "flow_couplings": 2, "flow_bins": 4,
         "mixture_components": 4, "steps": 2, "steps_per_execution": 1}


def small_trainer(method, **overrides):
  config = config_lib.make_config("ring", dict(SMALL, method=method, **overrides))
  return config, train_lib.build_trainer(config)


def everything_the_trainer_holds(trainer):
  """Every network and optimizer reachable from the trainer's attributes,
  found without asking the trainer (which could forget one)."""
  found = {}
  for name, value in vars(trainer).items():
    # ("optimizer" is Keras's own from compile(): our trainers never use it)
    if (isinstance(value, (keras.Model, keras.optimizers.Optimizer))
        and value is not trainer and name != "optimizer"):
      found[name] = value
  return found


@pytest.mark.parametrize("method", METHODS.names() + ("estimator[kde]",))
def test_every_method_checkpoints_its_whole_state(method, tmp_path):
  method, _, estimator = method.partition("[")
  config, trainer = small_trainer(method, estimator=estimator.rstrip("]") or "vae")
  data = mixtures.training_batches(mixtures.of_config(config),
                                   config.batch_size * trainer.batches_per_iteration, 0)
  trainer.fit(data, steps_per_epoch=2, epochs=1, verbose=0)
  checkpointer = checkpointing.Checkpointer(trainer, tmp_path)
  prefix = checkpointer.save()
  assert checkpointing.step_of(trainer) == 2

  _, fresh = small_trainer(method, seed=1, estimator=config.estimator)  # other weights
  checkpointing.restore_exactly(fresh, prefix)
  held = everything_the_trainer_holds(trainer)
  assert {"generator", "generator_optimizer"} <= set(held) or method == "estimator"
  for name, thing in held.items():
    restored = everything_the_trainer_holds(fresh)[name]
    for a, b in zip(thing.variables, restored.variables, strict=True):
      np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"{method}: {name}")
  np.testing.assert_array_equal(trainer.seed_generator.state.numpy(),
                                fresh.seed_generator.state.numpy())
  assert checkpointing.step_of(fresh) == 2


@pytest.mark.parametrize("method, extra", [("veegan", "reconstructor"), ("ali", "encoder")])
def test_a_method_that_forgets_a_network_is_caught(method, extra):
  """What the test above guards against: a network missing from networks()."""
  _, trainer = small_trainer(method)
  listed = set(trainer.networks())
  assert extra in listed  # the method names it ...
  assert set(everything_the_trainer_holds(trainer)) - {
      f"{n}_optimizer" for n in listed} == listed  # ... and every network is named


@pytest.mark.parametrize("method, overrides, message", [
    ("pacgan", {"pack": 3}, "multiple of --pack"),
    ("veegan", {"discriminator_steps": 2}, "one discriminator update per iteration"),
    ("ali", {"discriminator_steps": 2}, "one discriminator update per iteration"),
    ("brc-gan", {"hypergradient": "truncated"}, "always takes the implicit hypergradient"),
])
def test_methods_refuse_what_they_cannot_do(method, overrides, message):
  config = config_lib.make_config("ring", dict(SMALL, method=method, **overrides))
  with pytest.raises(ValueError, match=message):
    train_lib.check(config)


# -- WGAN-GP ---------------------------------------------------------------------

def fixed_generator(shift):
  """z -> 0.1 z + shift: N(shift, 0.01 I), never trained here."""
  inputs = keras.Input((2,))
  layer = keras.layers.Dense(2, kernel_initializer=keras.initializers.Identity(0.1),
                             bias_initializer=keras.initializers.Constant(shift))
  return keras.Model(inputs, layer(inputs))


def wgan(critic, penalty):
  trainer = WGANGP(fixed_generator([-1.0, 0.0]), 2, critic, gradient_penalty=penalty,
                   discriminator_steps=5)
  trainer.compile(keras.optimizers.Adam(1e-3),
                  keras.optimizers.Adam(1e-3, beta_1=0.5, beta_2=0.9))
  return trainer


def test_the_penalty_is_the_squared_distance_of_the_gradient_norm_from_one():
  """A linear critic w.x + b has gradient w everywhere: penalty (|w| - 1)^2."""
  inputs = keras.Input((2,))
  critic = keras.Model(inputs, keras.layers.Dense(1)(inputs))
  critic.layers[-1].kernel.assign([[3.0], [4.0]])
  trainer = wgan(critic, 10.0)
  real = tf.random.normal([64, 2])
  fake = trainer.generate(64)
  assert float(trainer.penalty(real, fake)) == pytest.approx(16.0, rel=1e-5)
  loss = float(trainer.discriminator_objective(real))
  assert loss > 10 * 16.0 - 10  # the penalty dominates the critic loss


def critic_estimate(penalty, steps=400):
  """E[D(real)] - E[D(fake)] after training the critic alone between
  N((1, 0), 0.01 I) and the fixed N((-1, 0), 0.01 I): W1 = 2."""
  keras.utils.set_random_seed(0)
  trainer = wgan(networks.mlp_discriminator(2, [32, 32], "tanh"), penalty)
  rng = np.random.default_rng(0)

  @tf.function
  def critic_steps(reals):
    trainer.update_discriminator(tf.unstack(reals))

  for _ in range(steps):
    critic_steps(tf.constant(rng.normal([1, 0], 0.1, size=(5, 128, 2)), tf.float32))
  real = tf.constant(rng.normal([1, 0], 0.1, size=(4000, 2)), tf.float32)
  with tf.GradientTape() as tape:
    tape.watch(real)
    scores = trainer.discriminate(real)
  slope = float(tf.reduce_mean(tf.norm(tape.gradient(scores, real), axis=1)))
  estimate = float(tf.reduce_mean(scores) - tf.reduce_mean(trainer.discriminate(trainer.generate(4000))))
  return estimate, slope


def test_the_penalty_keeps_the_critic_one_lipschitz_so_it_estimates_w1():
  estimate, slope = critic_estimate(penalty=10.0)
  assert estimate == pytest.approx(2.0, rel=0.15)
  assert slope == pytest.approx(1.0, abs=0.15)
  unconstrained, _ = critic_estimate(penalty=0.0)
  assert unconstrained > 10 * estimate  # no penalty: nothing bounds the critic


# -- the estimator alone ---------------------------------------------------------

def test_the_estimator_alone_fits_real_data_and_its_export_rescores_in_a_fresh_process(tmp_path):
  workdir = tmp_path / "flow"
  result = clitools.run_here(
      "lbt_tf.train", "--dataset", "ring", "--method", "estimator", "--estimator", "flow",
      "--steps", "300", "--eval-every", "150", "--flow-couplings", "4",
      "--estimator-units", "32,32", "--estimator-steps", "1", "--estimator-lr", "3e-3",
      "--final-eval-samples", "20000", "--workdir", workdir)
  assert result.returncode == 0, result.stderr[-3000:]
  metrics = json.loads((workdir / "metrics.json").read_text())
  assert metrics["modes_covered"] == 8 and metrics["high_quality_percent"] > 60
  metadata = json.loads((workdir / "generator/1/assets/lbt_tf_metadata.json").read_text())
  assert metadata["noise_dim"] == 2 and metadata["method"] == "estimator"
  again = clitools.run("lbt_tf.evaluate", "--model", workdir / "generator",
                       "--num-samples", "20000")
  assert again.returncode == 0, again.stderr[-2000:]
  rescored = json.loads(again.stdout)
  for key in ("modes_covered", "high_quality_percent", "intra_mode_kl"):
    assert rescored[key] == pytest.approx(metrics[key])


def test_scoring_an_export_loads_no_training_code(tmp_path):
  """lbt_tf.evaluate and lbt_tf.sample import neither the trainers nor TFP."""
  workdir = tmp_path / "run"
  result = clitools.run_here("lbt_tf.train", "--dataset", "ring", "--method", "gan",
                             "--steps", "10", "--final-eval-samples", "2000",
                             "--eval-samples", "1000", "--workdir", workdir)
  assert result.returncode == 0, result.stderr[-2000:]
  code = ("import sys\n"
          "from lbt_tf import evaluate, sample\n"
          "evaluate.main(['--model', sys.argv[1], '--num-samples', '1000'])\n"
          "sample.main(['--model', sys.argv[1], '-n', '10', '--out', sys.argv[2]])\n"
          "loaded = [m for m in sys.modules if m.startswith(('lbt_tf.trainers', "
          "'tensorflow_probability', 'lbt_tf.train_lib', 'lbt_tf.estimators.'))]\n"
          "print('LOADED', loaded)\n")
  check = subprocess.run([sys.executable, "-c", code, str(workdir / "generator"),
                          str(tmp_path / "s.npy")], capture_output=True, text=True,
                         timeout=300)
  assert check.returncode == 0, check.stderr[-2000:]
  assert check.stdout.strip().splitlines()[-1] == "LOADED []"


def test_a_kde_fitted_alone_keeps_the_real_data_and_samples_it_sharply():
  """Maximum likelihood for a KDE is the data itself: the ceiling of the
  grid preset's teacher covers every mode with the final bandwidth."""
  from lbt_tf.metrics import mixture_metrics  # pylint: disable=g-import-not-at-top
  config = config_lib.make_config("grid", {"method": "estimator", "estimator": "kde",
                                           "anneal_steps": 100, "steps": 2,
                                           "estimator_steps": 2})
  trainer = train_lib.build_trainer(config)
  mixture = mixtures.of_config(config)
  trainer.fit(mixtures.training_batches(mixture, 2 * config.batch_size, 0),
              steps_per_epoch=2, epochs=1, verbose=0)
  assert checkpointing.step_of(trainer) == 2 and trainer.noise_dim == 3
  centers = trainer.estimator.centers.numpy()
  assert centers.shape == (1024, 2) and mixture_metrics.evaluate(centers, mixture)["modes_covered"] > 90
  samples = trainer.generator(tf.random.normal([200_000, 3])).numpy()
  metrics = mixture_metrics.evaluate(samples, mixture)
  # A sample is a real point plus kernel noise: std sqrt(s^2 + h^2) about its
  # mode, so the share within 3 s (high quality) is 1 - exp(-9 s^2 / 2(s^2 + h^2)).
  s, h = config.std, config.final_bandwidth
  expected = 100 * (1 - np.exp(-9 * s**2 / (2 * (s**2 + h**2))))
  assert metrics["modes_covered"] >= 95
  assert metrics["high_quality_percent"] == pytest.approx(expected, abs=1.5)
