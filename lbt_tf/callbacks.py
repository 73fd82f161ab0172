"""Keras callbacks of a training run: periodic evaluation, checkpoints, and a
guard against NaN or Inf losses, and a stop on signals."""

import math
import time

import keras
import numpy as np
import tensorflow as tf

from lbt_tf import checkpointing, cli, metrics_csv


def raise_if_signalled():
  """KeyboardInterrupt if a signal has asked the process to stop
  (`cli.SIGNALLED`): the signal handler's own KeyboardInterrupt is lost
  when it lands in a finalizer, where Python ignores exceptions, and
  training then ran on (a killed comparison's training outlived it by
  minutes on a busy CI run)."""
  if cli.SIGNALLED:
    raise KeyboardInterrupt


class InterruptOnSignal(keras.callbacks.Callback):
  """`raise_if_signalled` at every batch end, unless training is stopping
  anyway (the NaN guard, listed before it, stopped it: a checkpoint of NaN
  weights must not be saved as an interrupted run's)."""

  def on_train_batch_end(self, batch, logs=None):
    if not self.model.stop_training:
      raise_if_signalled()


class StopOnNonFinite(keras.callbacks.Callback):
  """Stops training when a loss becomes NaN or Inf and remembers which:
  `problem` says it in words, `losses` names them."""

  def __init__(self):
    super().__init__()
    self.problem = None
    self.losses = []

  def on_train_batch_end(self, batch, logs=None):
    bad = {name: float(np.asarray(value)) for name, value in (logs or {}).items()}
    bad = {name: value for name, value in bad.items() if not math.isfinite(value)}
    if bad:
      step = checkpointing.step_of(self.model)
      self.losses = list(bad)
      self.problem = (", ".join(f"{name} became {value}" for name, value in bad.items())
                      + f" by step {step}")
      self.model.stop_training = True


class PeriodicCheckpoint(keras.callbacks.Callback):
  """Saves a checkpoint every `every` iterations, unless `guard` saw a NaN."""

  def __init__(self, checkpointer: checkpointing.Checkpointer, every: int,
               guard: StopOnNonFinite):
    super().__init__()
    self.checkpointer = checkpointer
    self.every = every
    self.guard = guard

  def on_train_batch_end(self, batch, logs=None):
    if not self.guard.problem and checkpointing.step_of(self.model) % self.every == 0:
      self.checkpointer.save()


class PeriodicEvaluation(keras.callbacks.Callback):
  """At each epoch end (an evaluation period): `score(generate, step)` the
  generator, append losses and metrics to `csv_path`, and write both to
  TensorBoard under `log_dir` (`score` may write its own summaries, such as
  sample images, to the default writer). `history` holds the rows so far.

  `generate(z)` is the generator in inference mode; see `lbt_tf.eval_lib`.
  """

  def __init__(self, score, csv_path, log_dir, history=()):
    super().__init__()
    self.score = score
    self.csv_path = csv_path
    self.writer = tf.summary.create_file_writer(str(log_dir))
    self.history = list(history)
    self._generate = None
    self.seconds = 0.0  # spent scoring: not training time

  def generate(self, model):
    if self._generate is None:  # once: fit may be called once per period
      self._generate = tf.function(lambda z: model.generator(z, training=False))
    return self._generate

  def on_epoch_begin(self, epoch, logs=None):
    self._clock = time.perf_counter()
    self._first_step = checkpointing.step_of(self.model)

  def on_epoch_end(self, epoch, logs=None):
    if self.model.stop_training:  # diverged: nothing worth scoring
      return
    step = checkpointing.step_of(self.model)
    row = {"step": step}
    row.update({k: float(v) for k, v in (logs or {}).items()})
    row["iterations_per_second"] = (step - self._first_step) / (
        time.perf_counter() - self._clock)
    self.record(self.model, row)

  def evaluate_if_missing(self, model, step):
    """Score the generator at `step` if no row holds it (a run killed between
    a checkpoint and its evaluation resumes from there)."""
    if not any(row["step"] == step for row in self.history):
      self.record(model, {"step": step})

  def record(self, model, row):
    clock = time.perf_counter()
    self._record(model, row)
    self.seconds += time.perf_counter() - clock

  def _record(self, model, row):
    step = row["step"]
    with self.writer.as_default(step=step):
      row.update(self.score(self.generate(model), step))
      for key, value in row.items():
        if key != "step" and isinstance(value, (int, float)):
          tf.summary.scalar(key, value)
    self.history.append(row)
    metrics_csv.append_row(self.csv_path, row)
    self.writer.flush()
