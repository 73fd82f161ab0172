"""Unrolled optimisation, the core of Learning By Teaching (Algorithm 1).

    theta_0     = the estimator's current parameters, with its optimizer state
    theta_{k+1} = optimizer step on  grad_theta fit_loss(theta_k, k)      k < K
    teacher's objective = f_G(theta_K(phi))

`fit_loss(theta, k)` scores parameters on fresh generator samples G(z_k; phi)
(under tf.distribute: this replica's share of the global batch's loss; the
step's gradient is summed over replicas, see `lbt_tf.replicas`).
Every step runs on parameter *tensors* (the networks are evaluated with
`stateless_call`), so the estimator's variables are never touched, and every
step stays differentiable with respect to phi: a GradientTape that is
recording outside `unroll` sees through the K inner tapes. With K = 0,
theta_K = theta_0 does not depend on phi and the teaching gradient is zero.

The differentiable optimizers reproduce Keras's update rules exactly and start
from the live optimizer's slots, as the authors' code does for Adam.
"""

import dataclasses
from typing import Callable, List, Tuple

import keras
import tensorflow as tf

from lbt_tf import replicas

Tensors = List[tf.Tensor]


@dataclasses.dataclass
class SGD:
  """theta <- theta - lr * g (Keras SGD without momentum)."""

  learning_rate: tf.Tensor

  def step(self, params: Tensors, grads: Tensors, state) -> Tuple[Tensors, tuple]:
    lr = self.learning_rate
    return [p - tf.cast(lr, p.dtype) * g for p, g in zip(params, grads)], state


@dataclasses.dataclass
class Adam:
  """Keras's Adam update, differentiable.

  With `stop_second_moment` (the authors' choice) gradients flow through the
  parameters and the first moment only; the second moment is a constant, so
  the unroll's gradient approximates that of the K steps. Without it the
  gradient is exact (tests/test_hypergradient.py pins both).
  """

  learning_rate: tf.Tensor
  beta_1: float = 0.9
  beta_2: float = 0.999
  epsilon: float = 1e-7
  stop_second_moment: bool = True

  def step(self, params: Tensors, grads: Tensors, state):
    first_moments, second_moments, iterations = state
    t = iterations + 1
    new_params, new_first, new_second = [], [], []
    for p, g, m, v in zip(params, grads, first_moments, second_moments):
      dtype = p.dtype
      b1, b2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
      step = tf.cast(t, dtype)
      alpha = (tf.cast(self.learning_rate, dtype) * tf.sqrt(1 - b2**step)
               / (1 - b1**step))
      m = m + (g - m) * (1 - b1)
      v = v + (tf.square(g) - v) * (1 - b2)
      if self.stop_second_moment:
        v = tf.stop_gradient(v)
      new_params.append(p - m * alpha / (tf.sqrt(v) + self.epsilon))
      new_first.append(m)
      new_second.append(v)
    return new_params, (new_first, new_second, t)


def differentiable_twin(optimizer: keras.optimizers.Optimizer, variables,
                        stop_second_moment: bool = True, learning_rate=None):
  """The differentiable copy of a built Keras optimizer and its current state.

  Returns (twin, state) so that `twin.step(params, grads, state)` continues
  from where `optimizer` stands for `variables`; `learning_rate` replaces
  the optimizer's (the authors unroll at a third of the real steps' rate).
  """
  lr = tf.stop_gradient(tf.convert_to_tensor(
      optimizer.learning_rate if learning_rate is None else learning_rate))
  if isinstance(optimizer, keras.optimizers.Adam) and not optimizer.amsgrad:
    slot = optimizer._get_variable_index  # pylint: disable=protected-access
    first = [tf.stop_gradient(optimizer._momentums[slot(v)]) for v in variables]  # pylint: disable=protected-access
    second = [tf.stop_gradient(optimizer._velocities[slot(v)]) for v in variables]  # pylint: disable=protected-access
    twin = Adam(lr, float(optimizer.beta_1), float(optimizer.beta_2),
                float(optimizer.epsilon), stop_second_moment)
    return twin, (first, second, tf.cast(optimizer.iterations, tf.int64))
  if type(optimizer) is keras.optimizers.SGD and not optimizer.momentum:  # pylint: disable=unidiomatic-typecheck
    return SGD(lr), ()
  raise ValueError(
      f"cannot unroll through {type(optimizer).__name__}"
      f"{' with amsgrad' if getattr(optimizer, 'amsgrad', False) else ''}"
      "; the unroll supports Adam and plain SGD")


def descend(fit_loss: Callable, params: Tensors, optimizer, state, step_inputs):
  """One differentiable optimizer step on `fit_loss(params, step_inputs)`:
  (params, state) after it."""
  with tf.GradientTape(watch_accessed_variables=False) as tape:
    tape.watch(params)
    loss = fit_loss(params, step_inputs)
  grads = replicas.sum_over_replicas(tape.gradient(loss, params))
  return optimizer.step(params, grads, state)


def unroll(fit_loss: Callable[[Tensors, int], tf.Tensor], params: Tensors,
           optimizer, state, num_steps: int) -> Tensors:
  """theta_K: `num_steps` differentiable optimizer steps that minimise `fit_loss`."""
  for k in range(num_steps):
    params, state = descend(fit_loss, params, optimizer, state, k)
  return params
