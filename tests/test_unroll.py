"""The unrolled hypergradient: finite differences, K = 0, no side effects."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from lbt_tf import networks, unroll
from lbt_tf.hypergradient import Hypergradient
from lbt_tf.estimators import ESTIMATORS as registered_estimators
from lbt_tf.estimators.flow import SplineFlow
from lbt_tf.estimators.iwae import IWAE
from lbt_tf.estimators.kde import KernelDensity
from lbt_tf.estimators.mixture import GaussianMixture
from lbt_tf.estimators.vae import VAE
from lbt_tf.trainers.base import zeros_where_unconnected
from lbt_tf.trainers.lbt import LBT

NOISE_DIM = 3


# Every registered estimator, float64 and small enough for finite differences.
ESTIMATORS = {
    "vae": lambda: VAE(2, 2, [4], "tanh", "gaussian", decoder_variance=0.5,
                       dtype="float64"),
    "iwae": lambda: IWAE(2, 2, [4], "tanh", "gaussian", decoder_variance=0.5,
                         importance_samples=3, dtype="float64"),
    "flow": lambda: SplineFlow(2, couplings=2, bins=4, hidden_units=[4],
                               spline_range=3.0, dtype="float64"),
    "mixture": lambda: GaussianMixture(2, components=3, extent=2.0, dtype="float64"),
    "kde": lambda: KernelDensity(0.7, dtype="float64"),  # a constant bandwidth
}


def test_every_registered_estimator_is_checked_here():
  assert set(ESTIMATORS) == set(registered_estimators.names())


def tiny_lbt(unroll_steps, estimator_optimizer, stop_second_moment=False,
             seed=0, estimator="vae", unroll_lr=None):
  """LBT on float64 networks small enough for finite differences."""
  keras.utils.set_random_seed(seed)
  generator = networks.mlp_generator(NOISE_DIM, 2, [5], "tanh", dtype="float64")
  trainer = LBT(generator, ESTIMATORS[estimator](), NOISE_DIM, estimator_steps=2,
                hypergradient=Hypergradient(steps=unroll_steps), unroll_lr=unroll_lr,
                stop_second_moment=stop_second_moment, seed=seed)
  trainer.compile(keras.optimizers.Adam(1e-2), estimator_optimizer)
  return trainer


def real_batch(n=16):
  return tf.constant(np.random.default_rng(0).normal(size=(n, 2)), tf.float64)


def objective(trainer, real):
  """f_G(theta_K(phi)), always with the same random draws."""
  state = trainer.seed_generator.state.numpy()
  value = trainer.teaching_objective(
      real, trainer.generate_batches(tf.shape(real)[0], trainer.unroll_steps))
  trainer.seed_generator.state.assign(state)
  return value


def objective_and_gradient(trainer, real):
  """f_G(theta_K(phi)) and its gradient, always with the same random draws."""
  variables = trainer.generator.trainable_variables
  with tf.GradientTape() as tape:
    value = objective(trainer, real)
  grads = zeros_where_unconnected(tape.gradient(value, variables), variables)
  return float(value), grads


def directional_derivative(trainer, real, direction, h=1e-5):
  """Central difference of f_G(theta_K(phi)) along `direction`: values
  only (no tape: the second-order backward pass through the unroll is what
  costs, and the finite differences do not need it)."""
  variables = trainer.generator.trainable_variables
  base = [v.numpy() for v in variables]
  values = []
  for sign in (1, -1):
    for v, b, d in zip(variables, base, direction):
      v.assign(b + sign * h * d)
    values.append(float(objective(trainer, real)))
  for v, b in zip(variables, base):
    v.assign(b)
  return (values[0] - values[1]) / (2 * h)


@pytest.mark.parametrize("estimator", [e for e in ESTIMATORS if e != "kde"])
@pytest.mark.parametrize("optimizer_name", ["sgd", "adam"])
@pytest.mark.parametrize("unroll_steps", [1, 3])
def test_hypergradient_matches_finite_differences(optimizer_name, unroll_steps, estimator):
  optimizer = (keras.optimizers.SGD(0.05) if optimizer_name == "sgd"
               else keras.optimizers.Adam(0.05))
  # the unroll at its own rate, as the authors' schedule does
  trainer = tiny_lbt(unroll_steps, optimizer, estimator=estimator, unroll_lr=0.03)
  check_against_finite_differences(trainer)


def test_the_closed_form_teacher_gradient_matches_finite_differences():
  """KDE: its centres are the samples, so d f_G / d phi is a plain gradient
  (no unroll) and must match finite differences."""
  check_against_finite_differences(tiny_lbt(2, None, estimator="kde"))


def check_against_finite_differences(trainer):
  real = real_batch()
  trainer.update_helpers([real])  # Adam now has non-zero moments to continue from
  _, grads = objective_and_gradient(trainer, real)
  rng = np.random.default_rng(1)
  for _ in range(3):
    direction = [rng.normal(size=v.shape) for v in trainer.generator.trainable_variables]
    analytic = sum(float(tf.reduce_sum(g * d)) for g, d in zip(grads, direction))
    numeric = directional_derivative(trainer, real, direction)
    assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-8)
    assert abs(analytic) > 1e-6  # the check is not vacuous


def test_stopping_the_second_moment_changes_but_keeps_the_direction():
  real = real_batch()
  grads = {}
  for stop in (False, True):
    trainer = tiny_lbt(3, keras.optimizers.Adam(0.05), stop_second_moment=stop)
    trainer.update_helpers([real])
    grads[stop] = np.concatenate(
        [g.numpy().ravel() for g in objective_and_gradient(trainer, real)[1]])
  exact, approximate = grads[False], grads[True]
  assert not np.allclose(exact, approximate)
  cosine = exact @ approximate / np.linalg.norm(exact) / np.linalg.norm(approximate)
  assert cosine > 0.5


def test_zero_unroll_steps_gives_exactly_zero_teaching_gradient():
  trainer = tiny_lbt(0, keras.optimizers.Adam(0.05))
  real = real_batch()
  trainer.update_helpers([real])
  _, grads = objective_and_gradient(trainer, real)
  for g in grads:
    assert np.all(g.numpy() == 0.0)


def test_unroll_leaves_estimator_and_its_optimizer_untouched():
  optimizer = keras.optimizers.Adam(0.05)
  trainer = tiny_lbt(3, optimizer)
  real = real_batch()
  trainer.update_helpers([real])
  before = [v.numpy().copy() for v in trainer.estimator.variables + optimizer.variables]
  objective_and_gradient(trainer, real)
  after = [v.numpy() for v in trainer.estimator.variables + optimizer.variables]
  for b, a in zip(before, after):
    np.testing.assert_array_equal(b, a)


@pytest.mark.parametrize("make_optimizer", [
    lambda: keras.optimizers.Adam(0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-4),
    lambda: keras.optimizers.SGD(0.1)])
def test_differentiable_twin_reproduces_keras_updates(make_optimizer):
  """Three twin steps equal three real optimizer steps from the same state."""
  rng = np.random.default_rng(0)
  variables = [keras.Variable(rng.normal(size=(3, 2)).astype("float32")),
               keras.Variable(rng.normal(size=(2,)).astype("float32"))]
  optimizer = make_optimizer()
  optimizer.build(variables)
  optimizer.apply_gradients(zip([tf.ones((3, 2)), tf.ones((2,))], variables))
  twin, state = unroll.differentiable_twin(optimizer, variables)
  params = [tf.convert_to_tensor(v) for v in variables]
  for step in range(3):
    grads = [tf.constant(rng.normal(size=v.shape).astype("float32"))
             for v in variables]
    params, state = twin.step(params, grads, state)
    optimizer.apply_gradients(zip(grads, variables))
  for p, v in zip(params, variables):
    np.testing.assert_allclose(p.numpy(), v.numpy(), rtol=1e-5, atol=1e-6)


def test_unsupported_optimizer_is_refused_clearly():
  variables = [keras.Variable(np.zeros(2, "float32"))]
  optimizer = keras.optimizers.RMSprop()
  optimizer.build(variables)
  with pytest.raises(ValueError, match="cannot unroll through RMSprop"):
    unroll.differentiable_twin(optimizer, variables)


def test_the_unroll_runs_at_its_own_learning_rate():
  """The authors' schedule: real steps at 3e-4, the unroll at 1e-4. The twin
  with learning_rate=1e-4 continues the live Adam state exactly as an Adam
  at 1e-4 holding that state would."""
  rng = np.random.default_rng(0)
  start = rng.normal(size=(3, 2)).astype("float32")
  real_steps, unrolled = keras.Variable(start), keras.Variable(start)
  fast = keras.optimizers.Adam(3e-4, beta_1=0.5)
  slow = keras.optimizers.Adam(1e-4, beta_1=0.5)
  for optimizer, variable in ((fast, real_steps), (slow, unrolled)):
    optimizer.build([variable])
  for _ in range(4):  # the same history of gradients for both
    g = tf.constant(rng.normal(size=(3, 2)).astype("float32"))
    fast.apply_gradients([(g, real_steps)])
    slow.apply_gradients([(g, unrolled)])
  # slow's moments equal fast's (Adam's moments do not depend on the rate)
  twin, state = unroll.differentiable_twin(fast, [real_steps], learning_rate=1e-4)
  params = [tf.convert_to_tensor(unrolled)]
  g = tf.constant(rng.normal(size=(3, 2)).astype("float32"))
  params, _ = twin.step(params, [g], state)
  slow.apply_gradients([(g, unrolled)])
  np.testing.assert_allclose(params[0].numpy(), unrolled.numpy(), rtol=1e-6, atol=1e-7)
