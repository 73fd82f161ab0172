"""The hypergradient engine: the symbolic, recomputing unroll equals the
Python loop; truncation; the implicit hypergradient against a closed-form
inner optimum and against finite differences of a converged inner fit."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from lbt_tf import hypergradient, unroll
from lbt_tf.hypergradient import Hypergradient
from lbt_tf.trainers.base import zeros_where_unconnected

RNG = np.random.default_rng(0)


def inner_problem(k_steps):
  """A small inner loss of a 2-layer map, its parameters and an outer objective."""
  theta_0 = [tf.constant(RNG.normal(size=(2, 3))), tf.constant(RNG.normal(size=(3,)))]
  samples = tf.Variable(RNG.normal(size=(k_steps, 16, 2)))  # stands for G(z; phi)

  def fit_loss(theta, step_inputs):
    h = tf.tanh(step_inputs[0] @ theta[0] + theta[1])
    return tf.reduce_mean(tf.reduce_sum(h ** 2, -1)) + 0.1 * tf.reduce_sum(theta[0] ** 2)

  def outer(theta):
    return tf.reduce_sum(tf.sin(theta[0])) + tf.reduce_sum(theta[1] ** 3)

  return theta_0, samples, fit_loss, outer


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("stop_second_moment", [False, True])
@pytest.mark.parametrize("k_steps, backprop_steps", [(1, 1), (4, 4), (5, 2)])
def test_the_symbolic_loop_equals_the_python_loop(optimizer, stop_second_moment,
                                                  k_steps, backprop_steps):
  """Value and gradient; truncated: the first K - T steps as constants."""
  theta_0, samples, fit_loss, outer = inner_problem(k_steps)
  variables = [keras.Variable(t) for t in theta_0]
  live = keras.optimizers.SGD(0.1) if optimizer == "sgd" else keras.optimizers.Adam(0.1)
  live.build(variables)
  live.apply_gradients(zip([tf.ones_like(v) for v in variables], variables))

  def python_loop():
    twin, state = unroll.differentiable_twin(live, variables, stop_second_moment)

    def step_loss(theta, k):
      x = samples[k] if k >= k_steps - backprop_steps else tf.stop_gradient(samples[k])
      return fit_loss(theta, [x])
    return outer(unroll.unroll(step_loss, theta_0, twin, state, k_steps))

  @tf.function
  def symbolic_loop():
    twin, state = unroll.differentiable_twin(live, variables, stop_second_moment)
    return outer(hypergradient.symbolic_unroll(fit_loss, theta_0, twin, state,
                                               [samples * 1.0], k_steps, backprop_steps))

  values, grads = [], []
  for run in (python_loop, symbolic_loop):
    with tf.GradientTape() as tape:
      values.append(run())
    grads.append(tape.gradient(values[-1], samples).numpy())
  assert float(values[0]) == pytest.approx(float(values[1]), rel=1e-12)
  np.testing.assert_allclose(grads[1], grads[0], rtol=1e-9, atol=1e-14)
  assert np.abs(grads[0][k_steps - backprop_steps:]).max() > 1e-4  # not vacuous
  assert not np.any(grads[1][:k_steps - backprop_steps])  # truncated: no gradient


def test_truncated_with_every_step_kept_is_the_unroll():
  theta_0, samples, fit_loss, outer = inner_problem(3)
  variables = [keras.Variable(t) for t in theta_0]
  live = keras.optimizers.Adam(0.05)
  live.build(variables)
  grads = []
  for chosen in (Hypergradient("unroll", 3), Hypergradient("truncated", 3, backprop_steps=3)):
    with tf.GradientTape() as tape:
      value = chosen.objective(outer, fit_loss, [samples * 1.0], variables, live)
    grads.append(tape.gradient(value, samples).numpy())
  np.testing.assert_array_equal(grads[0], grads[1])


def test_stop_second_moment_false_is_the_exact_k_step_gradient_true_an_approximation():
  """--stop-second-moment false differentiates everything the K Adam steps
  do: it matches central finite differences of the K-step objective. true
  (the default, the authors' choice) holds each step's second moment v_k
  constant: it matches finite differences of the K steps with every v_k
  frozen at its value, and not those of the K steps themselves. At a fresh
  Adam state (a first step is about lr * sign(g)) the two differ most."""
  k_steps, lr, beta_1, beta_2, epsilon = 3, 0.05, 0.9, 0.999, 1e-7
  theta_0, samples, fit_loss, outer = inner_problem(k_steps)
  variables = [keras.Variable(t) for t in theta_0]
  live = keras.optimizers.Adam(lr, beta_1, beta_2, epsilon)
  live.build(variables)  # zero moments, as at the start of training
  direction = RNG.normal(size=samples.shape)

  def engine(stop_second_moment):
    """f and its directional derivative by the hypergradient engine."""
    with tf.GradientTape() as tape:
      value = Hypergradient("unroll", k_steps).objective(
          outer, fit_loss, [samples * 1.0], variables, live, stop_second_moment)
    return float(value), float(tf.reduce_sum(tape.gradient(value, samples) * direction))

  # the twin's constants: the learning rate (a Keras variable) and the
  # betas pass through float32
  lr32, b1, b2 = (float(np.float32(c)) for c in (lr, beta_1, beta_2))

  def k_adam_steps(x, frozen=None):
    """outer(theta_K) after K steps of Keras's Adam rule, written out, and
    each step's second moments; `frozen`: use those second moments instead."""
    theta = list(theta_0)
    m, v = [tf.zeros_like(t) for t in theta_0], [tf.zeros_like(t) for t in theta_0]
    second_moments = []
    for k in range(k_steps):
      with tf.GradientTape() as tape:
        tape.watch(theta)
        loss = fit_loss(theta, [x[k]])
      g = tape.gradient(loss, theta)
      alpha = lr32 * np.sqrt(1 - b2 ** (k + 1)) / (1 - b1 ** (k + 1))
      m = [mi + (gi - mi) * (1 - b1) for mi, gi in zip(m, g)]
      v = frozen[k] if frozen else [vi + (gi ** 2 - vi) * (1 - b2) for vi, gi in zip(v, g)]
      second_moments.append(v)
      theta = [p - mi * alpha / (tf.sqrt(vi) + epsilon) for p, mi, vi in zip(theta, m, v)]
    return float(outer(theta)), second_moments

  def central_difference(f, h=1e-6):
    return (f(samples + h * direction) - f(samples - h * direction)) / (2 * h)

  value, exact = engine(stop_second_moment=False)
  _, approximate = engine(stop_second_moment=True)
  reference, second_moments = k_adam_steps(samples)
  assert value == pytest.approx(reference, rel=1e-12)  # the written-out steps are the engine's
  k_step_gradient = central_difference(lambda x: k_adam_steps(x)[0])
  frozen_gradient = central_difference(lambda x: k_adam_steps(x, second_moments)[0])
  assert exact == pytest.approx(k_step_gradient, rel=1e-5)
  assert approximate == pytest.approx(frozen_gradient, rel=1e-5)
  assert abs(approximate - k_step_gradient) > 0.1 * abs(k_step_gradient) > 1e-6


# -- the implicit hypergradient ---------------------------------------------------

def gaussian_fit_loss(theta, step_inputs):
  """-mean log N(x; mu, sigma^2 I) of the samples, theta = (mu, log sigma)."""
  mu, log_sigma = theta
  x = step_inputs[0]
  return (tf.reduce_mean(tf.reduce_sum(tf.square(x - mu), -1)) * 0.5 * tf.exp(-2 * log_sigma[0])
          + 2 * log_sigma[0])


def test_implicit_equals_the_analytic_hypergradient_of_a_closed_form_optimum():
  """A Gaussian fitted to the generator's samples: theta* = (mean, std) in
  closed form, so d f_G(theta*(phi)) / d phi is known exactly."""
  real = tf.constant(RNG.normal([1.0, -0.5], 0.7, size=(64, 2)))
  z = tf.constant(RNG.normal(size=(128, 3)))
  weights = tf.Variable(RNG.normal(size=(3, 2)) * 0.5)  # phi: G(z) = z W + b
  bias = tf.Variable([0.2, 0.1], dtype=tf.float64)

  def f_G(theta):
    return -gaussian_fit_loss(theta, [real])

  def closed_form():
    samples = z @ weights + bias
    mu = tf.reduce_mean(samples, 0)
    sigma2 = tf.reduce_mean(tf.reduce_sum(tf.square(samples - mu), -1)) / 2
    return [mu, 0.5 * tf.math.log(sigma2)[None]]

  with tf.GradientTape() as tape:
    analytic_value = f_G(closed_form())
  analytic = tape.gradient(analytic_value, [weights, bias])

  variables = [keras.Variable(t) for t in closed_form()]  # the inner optimum
  engine = Hypergradient("implicit", steps=1, iterations=6, damping=0.0)
  with tf.GradientTape() as tape:
    value = engine.objective(f_G, gaussian_fit_loss, [(z @ weights + bias)[None]],
                             variables, optimizer=None)
  implicit = tape.gradient(value, [weights, bias])
  assert float(value) == pytest.approx(float(analytic_value), rel=1e-12)
  for a, b in zip(implicit, analytic):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-8, atol=1e-12)
  assert np.abs(analytic[0].numpy()).max() > 1e-3


def test_implicit_matches_finite_differences_of_a_converged_inner_fit():
  """A two-component mixture fitted by Newton's method to convergence at
  phi and at phi +- h; the implicit hypergradient at theta*(phi) predicts
  the change of f_G(theta*(phi))."""
  real = tf.constant(np.concatenate([RNG.normal(-1, 0.3, (40, 1)), RNG.normal(1.2, 0.4, (40, 1))]))
  z = tf.constant(RNG.normal(size=(200, 2)))
  phi = tf.Variable([[1.4, 0.3], [0.1, 0.5]], dtype=tf.float64)
  ridge = 1e-2  # makes the optimum unique (the weights' shift symmetry)

  def mixture_log_likelihood(theta, x):
    logits, means, log_scales = theta
    log_components = (-0.5 * tf.square((x - means) / tf.exp(log_scales)) - log_scales
                      - 0.5 * np.log(2 * np.pi))
    return tf.reduce_mean(tf.reduce_logsumexp(log_components + tf.nn.log_softmax(logits), -1))

  def generate(phi_value):  # a bimodal generator: sign(z0) picks the side
    return tf.where(z[:, :1] > 0, phi_value[0, 0] + phi_value[0, 1] * z[:, 1:],
                    -phi_value[1, 0] - 0.5 + phi_value[1, 1] * z[:, 1:])

  def fit_loss(theta, step_inputs):
    return (-mixture_log_likelihood(theta, step_inputs[0])
            + ridge * tf.add_n([tf.reduce_sum(t ** 2) for t in theta]))

  def f_G(theta):
    return mixture_log_likelihood(theta, real)

  shapes = [(2,), (2,), (2,)]  # the two components' logits, means and log-scales

  def unflatten(v):
    parts = tf.split(v, [int(np.prod(s)) for s in shapes])
    return [tf.reshape(p, s) for p, s in zip(parts, shapes)]

  @tf.function  # traced once: an eager jacobian traces a new pfor function each call
  def newton_step(samples, flat):
    """`flat` after one Newton step on fit_loss, and the gradient it took."""
    with tf.GradientTape() as outer_tape:
      outer_tape.watch(flat)
      with tf.GradientTape() as tape:
        tape.watch(flat)
        loss = fit_loss(unflatten(flat), [samples])
      grad = tape.gradient(loss, flat)
    hessian = outer_tape.jacobian(grad, flat)
    return flat - tf.linalg.solve(hessian, grad[:, None])[:, 0], grad

  def converged_fit(samples, theta):
    flat = tf.concat([tf.reshape(t, [-1]) for t in theta], 0)
    for _ in range(50):
      flat, grad = newton_step(samples, flat)
      if float(tf.norm(grad)) < 1e-13:
        break
    assert float(tf.norm(grad)) < 1e-10
    return unflatten(flat)

  start = [tf.constant([0.0, 0.0], tf.float64), tf.constant([-1.0, 1.0], tf.float64),
           tf.constant([-1.0, -1.0], tf.float64)]
  theta_star = converged_fit(generate(phi), start)
  variables = [keras.Variable(t) for t in theta_star]
  engine = Hypergradient("implicit", steps=1, iterations=12, damping=0.0)
  with tf.GradientTape() as tape:
    value = engine.objective(f_G, fit_loss, [generate(phi)[None]], variables, optimizer=None)
  implicit = tape.gradient(value, phi).numpy()

  h = 1e-5
  numeric = np.zeros_like(implicit)
  for index in np.ndindex(*implicit.shape):
    shifted = []
    for sign in (1, -1):
      moved = phi.numpy().copy()
      moved[index] += sign * h
      shifted.append(float(f_G(converged_fit(generate(tf.constant(moved)), theta_star))))
    numeric[index] = (shifted[0] - shifted[1]) / (2 * h)
  np.testing.assert_allclose(implicit, numeric, rtol=1e-5, atol=1e-8)
  assert np.abs(numeric).max() > 1e-2


def test_the_neumann_series_and_cg_agree_on_a_well_conditioned_system():
  matrix = tf.constant([[2.0, 0.3], [0.3, 1.0]], tf.float64)
  b = [tf.constant([1.0, -2.0], tf.float64)]
  matvec = lambda u: [tf.linalg.matvec(matrix, u[0])]
  exact = np.linalg.solve(matrix.numpy(), b[0].numpy())
  np.testing.assert_allclose(hypergradient.conjugate_gradient(matvec, b, 2)[0], exact, rtol=1e-10)
  np.testing.assert_allclose(hypergradient.neumann_series(matvec, b, 200, 0.4)[0], exact,
                             rtol=1e-8)


def test_every_hypergradient_trains_lbt(tmp_path):
  """--hypergradient (the implicit one with both solver families) for LBT-GAN,
  and the truncated and implicit ones for Unrolled GAN, end to end in one
  process.

  LBT-GAN teaches the VAE (a trained estimator: M real steps, then the K
  unrolled ones), not the ring preset's KDE, and its teaching term alone
  must move the generator: its discriminator term would move it anyway."""
  from lbt_tf import config as config_lib, train_lib  # pylint: disable=g-import-not-at-top
  from lbt_tf.data import mixtures  # pylint: disable=g-import-not-at-top
  from lbt_tf.estimators.vae import VAE  # pylint: disable=g-import-not-at-top
  every = (("unroll", "cg"), ("truncated", "cg"), ("implicit", "cg"), ("implicit", "outer-product"))
  # (Unrolled GAN with the full unroll is every test's unrolled-gan, and with
  # the outer-product solver it is brc-gan, trained in test_baselines.)
  for method, hypergradients in (("lbt-gan", every), ("unrolled-gan", every[1:3])):
    for chosen, solver in hypergradients:
      config = config_lib.make_config("ring", {
          "method": method, "hypergradient": chosen, "implicit_solver": solver, "unroll_steps": 3,
          "truncate_steps": 2, "implicit_iterations": 3, "noise_dim": 8,
          "batch_size": 64, "generator_units": (16,), "discriminator_units": (16,),
          "estimator": "vae", "estimator_steps": 2,
          "estimator_units": (16,), "latent_dim": 4, "steps": 4,
          "steps_per_execution": 2})
      trainer = train_lib.build_trainer(config)
      before = trainer.generator.trainable_variables[0].numpy().copy()
      history = trainer.fit(mixtures.training_batches(mixtures.of_config(config), 64, 0),
                            steps_per_epoch=4, epochs=1, verbose=0)
      assert trainer.hypergradient.solver == solver
      assert np.all(np.isfinite(history.history["g_loss"])), (method, chosen)
      assert not np.array_equal(before, trainer.generator.trainable_variables[0].numpy())
      if method == "lbt-gan":
        assert isinstance(trainer.estimator, VAE)
        assert int(trainer.estimator_optimizer.iterations) == 4 * 2  # M per iteration
        assert teaching_gradient_norm(trainer, 64) > 1e-6, chosen


def teaching_gradient_norm(trainer, batch_size):
  """|d f_G(theta(phi)) / d phi|: the gradient the teaching term alone sends
  the generator, through the trainer's hypergradient (0 if none reaches it)."""
  real = tf.constant(RNG.normal(size=(batch_size, 2)), tf.float32)
  variables = trainer.generator.trainable_variables
  with tf.GradientTape() as tape:
    f_G = trainer.teaching_objective(
        real, trainer.generate_batches(batch_size, trainer.unroll_steps))
  grads = zeros_where_unconnected(tape.gradient(f_G, variables), variables)
  return float(tf.linalg.global_norm(grads))


# -- the outer-product solver (BRC) ------------------------------------------------

def test_the_outer_product_solve_is_the_inverse_of_g_g_transpose_plus_lambda():
  """Sherman-Morrison against a dense solve, over two parameter tensors."""
  rng = np.random.default_rng(3)
  u = [tf.constant(rng.normal(size=(2, 3))), tf.constant(rng.normal(size=(4,)))]
  b = [tf.constant(rng.normal(size=(2, 3))), tf.constant(rng.normal(size=(4,)))]
  flat_u = np.concatenate([t.numpy().ravel() for t in u])
  flat_b = np.concatenate([t.numpy().ravel() for t in b])
  for damping in (0.01, 2.0):
    x = hypergradient.outer_product_solve(u, b, damping)
    exact = np.linalg.solve(np.outer(flat_u, flat_u) + damping * np.eye(10), flat_b)
    np.testing.assert_allclose(np.concatenate([t.numpy().ravel() for t in x]), exact,
                               rtol=1e-10)
  with pytest.raises(ValueError, match="damping > 0"):
    Hypergradient("implicit", solver="outer-product", damping=0.0)


def quadratic_problem(matrix_a, matrix_b):
  """Inner L(theta, phi) = 1/2 theta' A theta - theta' B phi, so theta*(phi) =
  A^-1 B phi; outer F(theta) = sum(sin(theta)) + 1/2 |theta|^2."""
  def fit_loss(theta, step_inputs):
    (target,) = step_inputs  # [1, n]: B phi
    return (0.5 * tf.reduce_sum(theta[0] * tf.linalg.matvec(matrix_a, theta[0]))
            - tf.reduce_sum(theta[0] * target[0]))

  def outer(theta):
    return tf.reduce_sum(tf.sin(theta[0])) + 0.5 * tf.reduce_sum(theta[0] ** 2)

  def outer_gradient(theta):
    return np.cos(theta) + theta

  return fit_loss, outer, outer_gradient


def engine_gradient(engine, outer, fit_loss, matrix_b, phi, theta):
  with tf.GradientTape() as tape:
    target = tf.linalg.matvec(matrix_b, phi)[None, None]
    value = engine.objective(outer, fit_loss, [target], [keras.Variable(theta)], None)
  return tape.gradient(value, phi).numpy()


def test_outer_product_hypergradient_on_a_quadratic_differs_from_the_exact_one_as_predicted():
  """dF/dphi = B' H^-1 grad F: exact with H = A, BRC's with H ~ g g' + lambda I,
  g = A theta - B phi the inner gradient at the live theta. At theta* (g = 0)
  BRC's is B' grad F / lambda, off by B' (I / lambda - A^-1) grad F; away
  from it, B' (g g' + lambda I)^-1 grad F."""
  n, damping = 4, 0.5
  rng = np.random.default_rng(4)
  q = np.linalg.qr(rng.normal(size=(n, n)))[0]
  matrix_a = tf.constant(q @ np.diag([0.3, 1.0, 2.0, 5.0]) @ q.T)
  matrix_b = tf.constant(rng.normal(size=(n, 3)))
  phi = tf.Variable(rng.normal(size=(3,)))
  fit_loss, outer, outer_gradient = quadratic_problem(matrix_a, matrix_b)
  a, b = matrix_a.numpy(), matrix_b.numpy()
  theta_star = np.linalg.solve(a, b @ phi.numpy())
  brc = Hypergradient("implicit", steps=1, damping=damping, solver="outer-product")

  exact = b.T @ np.linalg.solve(a, outer_gradient(theta_star))
  at_optimum = engine_gradient(brc, outer, fit_loss, matrix_b, phi, theta_star)
  predicted_error = b.T @ (outer_gradient(theta_star) / damping
                           - np.linalg.solve(a, outer_gradient(theta_star)))
  np.testing.assert_allclose(at_optimum - exact, predicted_error, rtol=1e-9, atol=1e-12)
  assert np.linalg.norm(predicted_error) > 0.5 * np.linalg.norm(exact)  # really differs
  cg = Hypergradient("implicit", steps=1, iterations=n, damping=0.0)
  np.testing.assert_allclose(engine_gradient(cg, outer, fit_loss, matrix_b, phi, theta_star),
                             exact, rtol=1e-8)  # the engine's exact solve, for reference

  theta = theta_star + rng.normal(size=n)  # not converged: g != 0
  g = a @ theta - b @ phi.numpy()
  rank_one = b.T @ np.linalg.solve(np.outer(g, g) + damping * np.eye(n), outer_gradient(theta))
  np.testing.assert_allclose(engine_gradient(brc, outer, fit_loss, matrix_b, phi, theta),
                             rank_one, rtol=1e-9, atol=1e-12)
  assert np.linalg.norm(rank_one - b.T @ outer_gradient(theta) / damping) > 1e-2


def test_outer_product_hypergradient_matches_finite_differences_where_it_is_exact():
  """At a converged inner optimum g = 0, so BRC's Hessian is lambda I: exact
  for an inner loss whose Hessian there is lambda I, here
  L = lambda/2 |theta - m(phi)|^2 + sum (theta - m(phi))^4 with m a nonlinear
  function of generator samples (theta* = m(phi)). Central differences of
  F(theta*(phi)) then match; with damping 2 lambda the indirect part halves."""
  lam = 0.7
  rng = np.random.default_rng(5)
  z = tf.constant(rng.normal(size=(64, 2)))
  phi = tf.Variable([[0.8, -0.3], [0.2, 1.1]], dtype=tf.float64)
  real = tf.constant(rng.normal(size=(3, 2)))

  def m(samples):  # a nonlinear summary of the samples, 3 numbers
    return tf.stack([tf.reduce_mean(tf.tanh(samples[:, 0])), tf.reduce_mean(samples[:, 1] ** 2),
                     tf.reduce_mean(tf.sin(samples[:, 0] * samples[:, 1]))])

  def fit_loss(theta, step_inputs):
    residual = theta[0] - m(step_inputs[0])
    return 0.5 * lam * tf.reduce_sum(residual ** 2) + tf.reduce_sum(residual ** 4)

  def f_G(theta, samples=None):  # depends on phi directly too, like a GAN's loss
    direct = 0.0 if samples is None else tf.reduce_mean(samples ** 2)
    return tf.reduce_sum(tf.exp(theta[0]) * tf.reduce_sum(real, 1)) + direct

  def hypergradient_at(damping):
    with tf.GradientTape() as tape:
      samples = z @ phi
      engine = Hypergradient("implicit", steps=1, damping=damping, solver="outer-product")
      value = engine.objective(lambda t: f_G(t, samples), fit_loss, [samples[None]],
                               [keras.Variable(m(z @ phi))], None)
    return tape.gradient(value, phi).numpy()

  h = 1e-6
  numeric = np.zeros((2, 2))
  for index in np.ndindex(2, 2):
    shifted = []
    for sign in (1, -1):
      moved = phi.numpy().copy()
      moved[index] += sign * h
      samples = z @ tf.constant(moved)
      shifted.append(float(f_G([m(samples)], samples)))  # theta*(phi) = m(phi), exactly
    numeric[index] = (shifted[0] - shifted[1]) / (2 * h)
  exact = hypergradient_at(lam)
  np.testing.assert_allclose(exact, numeric, rtol=1e-6, atol=1e-9)
  with tf.GradientTape() as tape:
    direct = tf.reduce_mean((z @ phi) ** 2)
  direct = tape.gradient(direct, phi).numpy()
  np.testing.assert_allclose(hypergradient_at(2 * lam) - direct, (exact - direct) / 2, rtol=1e-9)
  assert np.abs(exact - direct).max() > 1e-2  # the best response's part is not small
