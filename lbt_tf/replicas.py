"""How per-replica computations add up to one computation on the global batch.

Under tf.distribute every replica runs the train step on its slice of the
global batch. These rules make N replicas compute what one device computes
on the whole batch (and the test in tests/test_distribute.py holds us to it):

  1. A mean loss over the replica's slice, divided by N (`share_of_mean`),
     summed over replicas is the global mean; Keras optimizers sum the
     gradients over replicas, so the update is the global batch's.
  2. Gradients used *inside* the step, e.g. the estimator's unrolled updates,
     are summed over replicas explicitly (`sum_over_replicas`); the sum is
     differentiable (the gradient of an all-reduce is an all-reduce), so the
     hypergradient sees every replica's samples.
  3. Random draws are made for the global batch from the shared seed state
     (every replica draws the same numbers) and each replica keeps its rows
     (`this_replicas_rows`): the noise is the single-device noise.

  4. Gradient clipping applies to the summed gradient (`apply_gradients`).

With one replica (no strategy) every function here is the identity.
"""

import tensorflow as tf


def position():
  """(number of replicas in sync, this replica's index); (1, 0) outside a
  replica context."""
  context = tf.distribute.get_replica_context()
  if context is None or context.num_replicas_in_sync == 1:
    return 1, 0
  return context.num_replicas_in_sync, context.replica_id_in_sync_group


def share_of_mean(local_mean):
  """This replica's share of the global mean: local mean / N."""
  replicas, _ = position()
  if replicas == 1:
    return local_mean
  return local_mean / tf.cast(replicas, local_mean.dtype)


def sum_over_replicas(tensors):
  """The sum over replicas of each tensor (a list), differentiably."""
  replicas, _ = position()
  if replicas == 1:
    return tensors
  return tf.distribute.get_replica_context().all_reduce(
      tf.distribute.ReduceOp.SUM, tensors)


def all_rows(tensor):
  """Every replica's rows of `tensor`, in replica order (the global batch),
  differentiably: the gradient of each row flows back to its replica."""
  replicas, _ = position()
  if replicas == 1:
    return tensor
  return tf.distribute.get_replica_context().all_gather(tensor, axis=0)


def apply_gradients(optimizer, grads, variables):
  """`optimizer.apply_gradients` with the global batch's gradient.

  Keras clips (`global_clipnorm`) each replica's gradient before summing
  them, which is not the single-device update; here the sum is clipped, and
  each replica passes 1/N of it for the optimizer to sum again.
  """
  replicas, _ = position()
  clipnorm = getattr(optimizer, "global_clipnorm", None)
  if replicas == 1 or not clipnorm:
    optimizer.apply_gradients(zip(grads, variables))
    return
  total, _ = tf.clip_by_global_norm(sum_over_replicas(grads), clipnorm)
  # Each share has norm <= clipnorm / N: Keras's own clipping leaves it alone.
  optimizer.apply_gradients(
      zip([g / tf.cast(replicas, g.dtype) for g in total], variables))


def this_replicas_rows(draw, local_batch, count: int = 1):
  """This replica's rows of `count` global batches drawn at once.

  `draw(n)` returns n rows (identical on every replica: shared seed state).
  One device draws count * local_batch rows; with N replicas the draw covers
  count global batches of N * local_batch rows, and replica r keeps rows
  [r * local_batch, (r + 1) * local_batch) of each, so that batch j of all
  replicas together is batch j of the single device.
  """
  replicas, index = position()
  if replicas == 1:
    return draw(count * local_batch)
  rows = draw(count * replicas * local_batch)
  shaped = tf.reshape(rows, tf.concat(
      [[count, replicas * local_batch], tf.shape(rows)[1:]], axis=0))
  start = index * local_batch
  mine = shaped[:, start:start + local_batch]
  return tf.reshape(mine, tf.concat([[count * local_batch], tf.shape(rows)[1:]], 0))
