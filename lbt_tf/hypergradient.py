"""The teaching gradient: how the inner fit moves when the generator moves.

The generator's objective is outer(theta(phi)), where theta(phi) fits a
helper network (LBT's estimator, Unrolled GAN's discriminator) to the
generator's samples by minimising an inner loss. Three ways to
differentiate it (`--hypergradient`):

  unroll     theta_K after K differentiable optimizer steps from the live
             parameters and optimizer state (Algorithm 1): the exact gradient
             of the K-step objective for SGD, and for Adam with
             `stop_second_moment=False`; with True (the default, the
             authors' choice) Adam's second moment is held constant, an
             approximation.
  truncated  the same K steps, differentiated through the last T only
             (the first K - T are taken but treated as constants).
  implicit   the implicit-function theorem at the live parameters (the
             paper's Eq. 4): with H the inner loss's Hessian,
                 d theta*/d phi = -H^-1 d^2 L / (d theta d phi),
             so d outer / d phi = -v . d/dphi [grad_theta L(theta, phi)],
             v = (H + damping I)^-1 grad_theta outer, solved by conjugate
             gradients (or a Neumann series) on Hessian-vector products.
             Valid near an inner optimum (the M real steps keep the helper
             near one); it costs 1 gradient of outer, `iterations` Hessian-
             vector products (2 gradients each) and 1 mixed second
             derivative, whatever K.
             `--implicit-solver outer-product` replaces H + damping I by
             g g^T + lambda I, g the inner loss's gradient at the live
             parameters and lambda = `damping` (`--outer-product-lambda`)
             (BRC, Liu et al. 2022, arXiv 2205.10146: "an implicit gradient
             scheme with outer-product Hessian approximation"; the paper
             beyond its abstract was not available here, so no equation is
             cited), whose inverse has a closed form (Sherman-Morrison): no
             Hessian-vector product, 1 more gradient instead. At an exact
             inner optimum g = 0, and the solve is v = grad outer / lambda.

The unroll runs as a symbolic loop (`tf.while_loop`, `--unroll-loop
symbolic`), so tracing does not grow with K, and its gradient is
backpropagation through the loop with each step recomputed from the
parameters and optimizer state saved before it, so memory holds K copies of
the parameters, not K steps' activations. `--unroll-loop python` traces the
K steps one by one and keeps their activations: no recomputation, but
tracing time and memory grow with K (benchmarks/iteration_cost.py measures
both). With several replicas (tf.distribute) the Python loop is used: an
all-reduce inside a `tf.while_loop` is not supported there.

Every step's random inputs (generator samples, estimator noise) are drawn
before the loop and passed in (`inputs`, each with a leading K axis): a
recomputed step must see the same ones, and the gradient reaches the
generator through them.
"""

import dataclasses
from typing import Callable, List, Sequence

import tensorflow as tf

from lbt_tf import replicas, unroll

METHODS = ("unroll", "truncated", "implicit")
SOLVERS = ("cg", "neumann", "outer-product")
LOOPS = ("symbolic", "python")
Tensors = List[tf.Tensor]


@dataclasses.dataclass(frozen=True)
class Hypergradient:
  """How to differentiate through the inner fit (see the module's docstring).

  steps: K, unrolled steps (unroll, truncated); backprop_steps: T (truncated);
  iterations, damping, solver, step_size: the implicit solve (step_size is
  the Neumann series' alpha, which must be below 2 / the Hessian's largest
  eigenvalue; the outer-product solver takes no iterations and needs
  damping > 0, its lambda).
  """

  method: str = "unroll"
  steps: int = 5
  loop: str = "symbolic"
  backprop_steps: int = 1
  iterations: int = 10
  damping: float = 1e-3
  solver: str = "cg"
  step_size: float = 1e-3

  def __post_init__(self):
    if self.method not in METHODS:
      raise ValueError(f"unknown hypergradient {self.method!r}; choose from {', '.join(METHODS)}")
    if self.loop not in LOOPS:
      raise ValueError(f"unknown unroll loop {self.loop!r}; choose from {', '.join(LOOPS)}")
    if self.solver not in SOLVERS:
      raise ValueError(f"unknown implicit solver {self.solver!r}; choose from {', '.join(SOLVERS)}")
    if self.solver == "outer-product" and not self.damping > 0:
      raise ValueError("the outer-product solver needs damping > 0 (the lambda of "
                       f"H ~ g g^T + lambda I), got {self.damping}")

  @property
  def differentiated_steps(self) -> int:
    if self.method == "truncated":
      return min(self.backprop_steps, self.steps)
    return self.steps

  def objective(self, outer: Callable, fit_loss: Callable, inputs: Sequence[tf.Tensor],
                variables, optimizer, stop_second_moment: bool = True,
                learning_rate=None) -> tf.Tensor:
    """outer(theta), whose gradient with respect to the generator is this
    hypergradient.

    fit_loss(theta, step_inputs): the inner loss for one step's inputs (this
    replica's share of the global mean); inputs: tensors with a leading axis
    of K (one slice per step); variables, optimizer: the live helper and its
    optimizer, read and never written.
    """
    theta = [tf.stop_gradient(tf.convert_to_tensor(v)) for v in variables]
    if self.method == "implicit":
      merged = [tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], 0)) for x in inputs]
      return implicit_objective(outer, fit_loss, merged, theta, self.iterations,
                                self.damping, self.solver, self.step_size)
    twin, state = unroll.differentiable_twin(optimizer, variables, stop_second_moment,
                                             learning_rate)
    # tf.distribute allows no all-reduce inside a tf.while_loop: with several
    # replicas the steps are traced one by one.
    if self.loop == "python" or replicas.position()[0] > 1:
      first_kept = self.steps - self.differentiated_steps
      return outer(unroll.unroll(
          lambda params, k: fit_loss(params, [x[k] if k >= first_kept else tf.stop_gradient(x[k])
                                              for x in inputs]),
          theta, twin, state, self.steps))
    return outer(symbolic_unroll(fit_loss, theta, twin, state, list(inputs), self.steps,
                                 self.differentiated_steps))


# -- the unroll as a symbolic loop, with per-step recomputation --------------------

def symbolic_unroll(fit_loss, theta_0: Tensors, optimizer, state, inputs: Sequence[tf.Tensor],
                    num_steps: int, backprop_steps: int = None) -> Tensors:
  """theta_K after `num_steps` optimizer steps, step k on `inputs[.][k]`.

  Equals `unroll.unroll` (the Python loop) in value and gradient; the
  gradient flows to `inputs` through the last `backprop_steps` steps.
  """
  if num_steps == 0:
    return theta_0
  backprop_steps = num_steps if backprop_steps is None else min(backprop_steps, num_steps)
  first_kept = num_steps - backprop_steps  # the steps before it are constants
  structure = (theta_0, state)
  is_float = [t.dtype.is_floating for t in tf.nest.flatten(structure)]

  def step(carry, step_inputs):
    params, opt_state = tf.nest.pack_sequence_as(structure, carry)
    return tf.nest.flatten(unroll.descend(fit_loss, params, optimizer, opt_state, step_inputs))

  @tf.custom_gradient
  def run(*xs):
    def at(k):
      return [x[k] for x in xs]

    def forward(k, carry):
      return k + 1, step(carry, at(k))

    # Steps that are not differentiated, then the kept ones, saving each
    # one's starting point for the recomputation.
    _, carry = tf.while_loop(lambda k, _: k < first_kept, forward,
                             (tf.constant(0), tf.nest.flatten(structure)))
    saved = [tf.TensorArray(t.dtype, size=backprop_steps, element_shape=t.shape)
             for t in carry]

    def forward_saving(k, carry, saved):
      saved = [a.write(k - first_kept, t) for a, t in zip(saved, carry)]
      return k + 1, step(carry, at(k)), saved

    _, carry, saved = tf.while_loop(lambda k, *_: k < num_steps, forward_saving,
                                    (tf.constant(first_kept), carry, saved))
    theta_K, _ = tf.nest.pack_sequence_as(structure, carry)

    def grad(*d_theta_K, variables=None):
      # Backpropagation through the kept steps, last to first; only theta_K
      # is used downstream, so the optimizer state starts with no adjoint.
      d_params = [tf.zeros_like(p) if d is None else d for d, p in zip(d_theta_K, theta_K)]
      d_carry = tf.nest.flatten((d_params, tf.nest.map_structure(tf.zeros_like, state)))
      d_kept = [tf.TensorArray(x.dtype, size=backprop_steps, element_shape=x.shape[1:])
                for x in xs]

      def backward(k, d_carry, d_kept):
        carry = [a.read(k - first_kept) for a in saved]
        step_inputs = at(k)
        floats = [c for c, f in zip(carry, is_float) if f]
        with tf.GradientTape(watch_accessed_variables=False) as tape:
          tape.watch(floats + step_inputs)
          out = step(carry, step_inputs)  # recomputed
        grads = tape.gradient(
            [o for o, f in zip(out, is_float) if f], floats + step_inputs,
            output_gradients=[d for d, f in zip(d_carry, is_float) if f],
            unconnected_gradients=tf.UnconnectedGradients.ZERO)
        d_floats = iter(grads[:len(floats)])
        d_carry = [next(d_floats) if f else d for d, f in zip(d_carry, is_float)]
        d_kept = [a.write(k - first_kept, g) for a, g in zip(d_kept, grads[len(floats):])]
        return k - 1, d_carry, d_kept

      _, _, d_kept = tf.while_loop(lambda k, *_: k >= first_kept, backward,
                                   (tf.constant(num_steps - 1), d_carry, d_kept))
      d_xs = [tf.concat([tf.zeros_like(x[:first_kept]), a.stack()], 0)
              for x, a in zip(xs, d_kept)]
      return d_xs, [None] * len(variables or [])

    return theta_K, grad

  return run(*inputs)


# -- the implicit-function hypergradient -------------------------------------------

def implicit_objective(outer, fit_loss, inputs, theta, iterations, damping, solver,
                       step_size) -> tf.Tensor:
  """outer(theta) with the gradient -v . d/dphi grad_theta L(theta, phi)."""
  with tf.GradientTape(watch_accessed_variables=False) as tape:
    tape.watch(theta)
    value = outer(theta)
  g = [tf.stop_gradient(x) for x in tape.gradient(
      value, theta, unconnected_gradients=tf.UnconnectedGradients.ZERO)]
  fixed = [tf.stop_gradient(x) for x in inputs]

  def inner_gradient(params, step_inputs):
    with tf.GradientTape(watch_accessed_variables=False) as tape:
      tape.watch(params)
      loss = fit_loss(params, step_inputs)
    return replicas.sum_over_replicas(tape.gradient(
        loss, params, unconnected_gradients=tf.UnconnectedGradients.ZERO))

  def hessian_vector_product(u):
    with tf.GradientTape(watch_accessed_variables=False) as tape:
      tape.watch(theta)
      dot = _dot(inner_gradient(theta, fixed), u)
    hu = tape.gradient(dot, theta, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return [h + damping * x for h, x in zip(hu, u)]

  if solver == "outer-product":
    v = outer_product_solve(inner_gradient(theta, fixed), g, damping)
  else:
    solve = conjugate_gradient if solver == "cg" else neumann_series
    v = solve(hessian_vector_product, g, iterations, step_size)
  v = [tf.stop_gradient(x) for x in v]
  # Differentiable in phi through the samples in `inputs`: the mixed term.
  surrogate = -_dot(v, inner_gradient(theta, inputs))
  return value + surrogate - tf.stop_gradient(surrogate)


def conjugate_gradient(matvec, b, iterations, step_size=None):
  """x with matvec(x) ~= b after `iterations` CG steps from x = 0."""
  del step_size
  x = [tf.zeros_like(t) for t in b]
  r = list(b)
  p = list(b)
  rr = _dot(r, r)
  for _ in range(iterations):
    ap = matvec(p)
    alpha = tf.math.divide_no_nan(rr, _dot(p, ap))
    x = [xi + alpha * pi for xi, pi in zip(x, p)]
    r = [ri - alpha * api for ri, api in zip(r, ap)]
    new_rr = _dot(r, r)
    beta = tf.math.divide_no_nan(new_rr, rr)
    p = [ri + beta * pi for ri, pi in zip(r, p)]
    rr = new_rr
  return x


def neumann_series(matvec, b, iterations, step_size):
  """x = alpha sum_j (I - alpha A)^j b, truncated after `iterations` terms."""
  term, total = list(b), list(b)
  for _ in range(iterations):
    term = [t - step_size * at for t, at in zip(term, matvec(term))]
    total = [s + t for s, t in zip(total, term)]
  return [step_size * s for s in total]


def outer_product_solve(u, b, damping):
  """x = (u u^T + damping I)^-1 b in closed form (Sherman-Morrison):
  x = (b - u (u . b) / (damping + u . u)) / damping.

  u, b: lists of tensors (one per parameter); damping > 0. BRC's
  outer-product approximation of the inner Hessian with u = the inner
  loss's gradient: at an exact inner optimum u = 0 and x = b / damping.
  """
  scale = _dot(u, b) / (damping + _dot(u, u))
  return [(bi - scale * ui) / damping for ui, bi in zip(u, b)]


def _dot(a, b):
  return tf.add_n([tf.reduce_sum(x * y) for x, y in zip(a, b)])
