"""The estimator alone, fitted to the real data by maximum likelihood: the
most it could teach (`--method estimator`).

Each iteration makes M (--estimator-steps) updates of the estimator, each on
a real batch of its own, as LBT's estimator makes M updates per iteration on
generator samples. The run's generator is the estimator's sampler, so it is
exported, scored, plotted and compared like any method's.
"""

import keras
import tensorflow as tf

from lbt_tf import estimators, replicas
from lbt_tf.estimators.base import Sampler
from lbt_tf.trainers.base import GenerativeTrainer


class EstimatorFit(GenerativeTrainer):
  """Maximum likelihood for `estimator` on the real batches."""

  def __init__(self, estimator, estimator_steps: int = 1, seed: int = 0, **kwargs):
    sampler = Sampler(estimator, name="generator")
    super().__init__(sampler, sampler.noise_dim, seed=seed, **kwargs)
    self.estimator = estimator
    self.estimator_steps = max(1, estimator_steps)
    self.f_E_tracker = keras.metrics.Mean(name="f_E")
    self.trackers = [self.f_E_tracker]
    # a closed-form estimator has no optimizer to count its fits
    self.fits = tf.Variable(0, dtype=tf.int64, trainable=False, name="fits",
                            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

  @classmethod
  def from_config(cls, config, parts):
    estimator = parts.estimator()
    trainer = cls(estimator, config.estimator_steps, seed=config.seed)
    trainer.compile(None if estimator.closed_form else parts.estimator_optimizer(),
                    **parts.compile_options())
    return trainer

  @classmethod
  def refuse(cls, config, data):
    estimators.refuse(config, data)

  def counters(self):
    return {"fits": self.fits}

  @property
  def iteration(self):
    if self.estimator.closed_form:
      return self.fits
    return self.estimator_optimizer.iterations // self.estimator_steps

  @property
  def batches_per_iteration(self) -> int:
    return self.estimator_steps

  def networks(self):
    return {"estimator": self.estimator}  # the sampler holds no weights of its own

  def compile(self, estimator_optimizer=None, **kwargs):  # pylint: disable=arguments-differ
    keras.Model.compile(self, **kwargs)  # pylint: disable=bad-super-call
    self.estimator_optimizer = estimator_optimizer
    if estimator_optimizer is not None:
      self._build_optimizer(estimator_optimizer, self.estimator)
    self.built = True

  def train_step(self, real):
    if self.estimator.closed_form:  # its maximum-likelihood fit: keep the data
      # f_E on one batch: scoring all M batches against all kept centres
      # would cost (M x batch)^2 kernel evaluations.
      first_batch = tf.split(real, self.estimator_steps)[0]
      self.f_E_tracker.update_state(self.estimator.mean_score(first_batch, self.seed_generator))
      self.estimator.keep(replicas.all_rows(real))
      self.fits.assign_add(1)
      return {m.name: m.result() for m in self.metrics}
    for batch in tf.split(real, self.estimator_steps):
      loss = self.descend(
          "estimator", lambda b=batch: -self.estimator.mean_score(b, self.seed_generator))
      self.f_E_tracker.update_state(-loss)
    return {m.name: m.result() for m in self.metrics}
