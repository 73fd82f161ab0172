"""Keras callbacks of a training run: periodic evaluation, divergence guard."""

import csv
import math
import time

import keras
import numpy as np
import tensorflow as tf

from lbt_tf import mixture_metrics, sampling


class MixtureEvaluation(keras.callbacks.Callback):
  """Every epoch (= `steps_per_epoch` iterations): score the generator on
  `num_samples` samples, append losses and metrics to `csv_path`, and write
  both to TensorBoard under `log_dir`."""

  def __init__(self, mixture, noise_dim, steps_per_epoch, num_samples,
               csv_path, log_dir, seed=1234, initial_step=0):
    super().__init__()
    self.mixture = mixture
    self.noise_dim = noise_dim
    self.steps_per_epoch = steps_per_epoch
    self.num_samples = num_samples
    self.csv_path = csv_path
    self.seed = seed
    self.step = initial_step
    self.writer = tf.summary.create_file_writer(str(log_dir))
    self.history = []

  def on_train_begin(self, logs=None):
    self._generate = tf.function(lambda z: self.model.generator(z, training=False))
    self._clock = time.perf_counter()

  def on_epoch_end(self, epoch, logs=None):
    elapsed = time.perf_counter() - self._clock
    self.step += self.steps_per_epoch
    samples = sampling.sample(self._generate, self.noise_dim, self.num_samples,
                              self.seed)
    row = {"step": self.step}
    row.update({k: float(v) for k, v in (logs or {}).items()})
    row.update(mixture_metrics.evaluate(samples, self.mixture))
    row["iterations_per_second"] = self.steps_per_epoch / elapsed
    self.history.append(row)
    self._append_csv(row)
    with self.writer.as_default(step=self.step):
      for key, value in row.items():
        if key != "step" and isinstance(value, (int, float)):
          tf.summary.scalar(key, value)
    self.writer.flush()
    self._clock = time.perf_counter()

  def _append_csv(self, row):
    exists = self.csv_path.exists()
    with open(self.csv_path, "a", newline="") as f:
      writer = csv.DictWriter(f, fieldnames=list(row))
      if not exists:
        writer.writeheader()
      writer.writerow(row)


class StopOnNonFinite(keras.callbacks.Callback):
  """Stops training when a loss becomes NaN or Inf and remembers which."""

  def __init__(self):
    super().__init__()
    self.problem = None

  def on_train_batch_end(self, batch, logs=None):
    for name, value in (logs or {}).items():
      if not math.isfinite(float(np.asarray(value))):
        self.problem = f"{name} became {float(np.asarray(value))}"
        self.model.stop_training = True
        return
