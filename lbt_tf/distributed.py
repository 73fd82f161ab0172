"""Training over several devices and machines with tf.distribute.

  --strategy default       one device; Keras `fit` drives the trainer
  --strategy mirrored      all local GPUs (or the given devices)
  --strategy multi-worker  MultiWorkerMirroredStrategy, one process per
                           machine, cluster from TF_CONFIG
  --strategy auto          mirrored when more than one GPU is visible

Under mirrored and multi-worker strategies the same `trainer.train_step`
runs in `replicated_fit`, a small loop with Keras fit's callback protocol:
Keras 3.15's fit fails there (steps_per_execution > 1 under
MirroredStrategy, keras-team/keras#19246; any MultiWorkerMirroredStrategy,
tensorflow/tensorflow#72388). Each replica takes its rows of the global
batch, which depends only on (seed, step), so no input pipeline has to be
split and a resumed run sees the same data. `lbt_tf.replicas` makes the
replicas' work add up to the single-device computation.
"""

import json
import os

import keras
import tensorflow as tf

from lbt_tf import checkpointing
from lbt_tf.replicas import this_replicas_rows as replica_rows
from lbt_tf import config as config_lib

STRATEGIES = config_lib.STRATEGIES


def make_strategy(name: str, devices=None) -> tf.distribute.Strategy:
  """The tf.distribute strategy for `--strategy name` (call before any TF work)."""
  if name not in STRATEGIES:
    raise ValueError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
  if name == "auto":
    name = "mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "default"
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "mirrored":
    return tf.distribute.MirroredStrategy(devices)
  if not os.environ.get("TF_CONFIG"):
    raise ValueError("--strategy multi-worker needs TF_CONFIG describing the "
                     "cluster and this worker (see README, 'Several machines')")
  try:
    json.loads(os.environ["TF_CONFIG"])
  except ValueError:
    raise ValueError("TF_CONFIG is not valid JSON") from None
  return tf.distribute.MultiWorkerMirroredStrategy()


def is_replicated(strategy) -> bool:
  """Whether `strategy` needs `replicated_fit` rather than Keras fit."""
  return isinstance(strategy, (tf.distribute.MirroredStrategy,
                               tf.distribute.MultiWorkerMirroredStrategy))


def worker(strategy):
  """(this worker's index, number of workers); (0, 1) off a cluster."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.cluster_spec().as_dict():
    return 0, 1
  spec = resolver.cluster_spec().as_dict()
  workers = sum(len(spec.get(kind, [])) for kind in ("chief", "worker"))
  index = resolver.task_id + (1 if resolver.task_type == "worker" and "chief" in spec else 0)
  return index, workers


def is_chief(strategy) -> bool:
  """The worker that writes checkpoints, metrics and the export."""
  return worker(strategy)[0] == 0


def replicated_fit(trainer, strategy, config, data, callbacks,
                   verbose: bool = True):
  """Train from the trainer's step to config.steps with `strategy`.

  One call of `run_steps` is config.execution_steps iterations; callbacks
  see fit's events (epoch = evaluation period) with logs reduced over replicas.
  """
  replicas = strategy.num_replicas_in_sync
  if config.batch_size % replicas:
    raise ValueError(f"--batch-size ({config.batch_size}) must be a multiple of "
                     f"the number of replicas ({replicas})")
  local_batch = config.batch_size // replicas
  count = trainer.batches_per_iteration
  seed = tf.constant(config.seed, tf.int64)
  period_length = config.eval_period

  def replica_step(step):
    # This replica's rows of each of the iteration's global batches, drawn
    # as one global draw, exactly as one device draws them.
    real = replica_rows(
        lambda n: data.tf_sample(n, tf.stack([seed, step])), local_batch, count)
    trainer.train_step(real)

  def compiled_loop():  # traced for the trainer's current phase
    @tf.function
    def run_steps(first_step, steps):
      for i in tf.range(steps):
        strategy.run(replica_step, args=(first_step + tf.cast(i, tf.int64),))
      return {m.name: m.result() for m in trainer.metrics}
    return run_steps

  callback_list = keras.callbacks.CallbackList(
      callbacks, model=trainer, add_history=False, add_progbar=verbose,
      verbose=1 if verbose else 0, epochs=config.steps // period_length,
      steps=period_length)
  trainer.stop_training = False
  callback_list.on_train_begin()
  step = checkpointing.step_of(trainer)
  trainer.enter_phase(step)
  run_steps = compiled_loop()
  while step < config.steps and not trainer.stop_training:
    period = step // period_length
    period_end = (period + 1) * period_length
    for metric in trainer.metrics:
      metric.reset_state()
    callback_list.on_epoch_begin(period)
    logs = {}
    while step < period_end and not trainer.stop_training:
      if trainer.enter_phase(step):
        run_steps = compiled_loop()
      change = min([c for c in trainer.phase_changes() if c > step], default=period_end)
      steps = min(config.execution_steps, period_end - step, change - step)
      logs = run_steps(tf.constant(step, tf.int64), tf.constant(steps))
      logs = {name: float(value) for name, value in logs.items()}
      step = checkpointing.step_of(trainer)
      callback_list.on_train_batch_end(step - period * period_length - 1, logs)
    if not trainer.stop_training:
      callback_list.on_epoch_end(period, logs)
  callback_list.on_train_end()


def weights_fingerprint(trainer) -> str:
  """A short hash of every variable of the trainer: equal on all workers."""
  import hashlib  # pylint: disable=g-import-not-at-top
  digest = hashlib.sha256()
  for variable in trainer.variables:
    digest.update(variable.numpy().tobytes())
  return digest.hexdigest()[:16]
