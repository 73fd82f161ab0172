"""Learning By Teaching (LBT) and LBT-GAN as Keras trainers.

Per iteration (Algorithm 1 of the paper):
  1. M ordinary updates of the estimator on fresh generator samples;
  2. K differentiable updates from the estimator's current state, at the
     unroll's own learning rate (the authors: a third of step 1's);
  3. one generator step that ascends f_G(theta_K(phi)), the likelihood the
     unrolled estimator gives real data, plus for LBT-GAN
     adversarial_weight * E_z[log D(G(z))] (Eq. 8) after one D update.

How steps 2-3 are differentiated is `lbt_tf.hypergradient` (the unroll, a
truncated unroll, or the implicit-function hypergradient at the live
estimator). Given a smoothing schedule (`lbt_tf.smoothing`; from the
command line, --smooth-estimator true) a trained estimator fits and scores
samples and data smoothed by Gaussian noise of the current bandwidth (a
KDE's kernel is that bandwidth already).

A closed-form estimator (the KDE) has no steps 1-2: its parameters are
the generator's samples themselves (not an optimum of f_E), so the
generator maximises the real data's Parzen-window likelihood under its own
samples smoothed by the kernel, with no unroll (`lbt_tf/estimators/kde.py`).
"""

import keras
import tensorflow as tf

from lbt_tf import estimators, replicas, smoothing
from lbt_tf.hypergradient import Hypergradient
from lbt_tf.trainers.base import GenerativeTrainer
from lbt_tf.trainers.base import non_saturating_generator_loss


class LBT(GenerativeTrainer):
  """LBT: the generator teaches `estimator` (see `lbt_tf.estimators`) to fit
  the real data.

  Args:
    estimator_steps: M, ordinary estimator updates per iteration.
    hypergradient: how the teaching objective is differentiated, with K
      (`hypergradient.steps`, differentiable estimator updates);
    unroll_lr: the learning rate of the K unrolled updates (None: the
      estimator optimizer's).
    stop_second_moment: when unrolling Adam, treat the second moment as a
      constant (as the authors do): an approximation of the K-step gradient;
      False gives the exact gradient of the K steps.
    discriminator, adversarial_weight: LBT-GAN's extra term (lambda_G).
    teaching_warmup: iterations before LBT starts (the authors' image runs:
      3,000). Until then an iteration is a GAN iteration (one D update, the
      generator on lambda_G's term alone) with no estimator update and no
      unroll, as in the authors' `LBT-GAN_smnist.py`, so it costs what a GAN
      iteration costs. The step is traced once per phase: `fit` switches
      at the boundary (`TeachingPhase`), which must fall on a multiple of
      the iterations per compiled call. Needs a discriminator term.
    scale_teaching: LBT-GAN: weight the teaching term by (h / h_0)^2 under a
      bandwidth schedule. A kernel's log-density gradient grows as 1 / h^2
      (h^2 times it is the mean-shift step, a distance in data units), so
      without this a shrinking bandwidth silences the discriminator term.
      LBT alone has no other term to balance: there a shrinking weight only
      slows Adam, so it is left out.
  """

  adversarial = False  # LBT-GAN: with a discriminator term

  def __init__(self, generator: keras.Model, estimator, noise_dim: int,
               estimator_steps: int = 2, hypergradient: Hypergradient = Hypergradient(),
               unroll_lr: float = None, stop_second_moment: bool = True,
               discriminator=None, adversarial_weight: float = 0.0,
               teaching_warmup: int = 0, smoothing_schedule=None,
               scale_teaching: bool = False, seed: int = 0, **kwargs):
    super().__init__(generator, noise_dim, discriminator, seed, **kwargs)
    if estimator_steps < 0 or hypergradient.steps < 0:
      raise ValueError("estimator_steps (M) and unroll steps (K) must be >= 0")
    self.estimator = estimator
    self.estimator_steps = estimator_steps
    self.hypergradient = hypergradient
    self.unroll_steps = hypergradient.steps
    self.unroll_lr = unroll_lr
    self.stop_second_moment = stop_second_moment
    self.adversarial_weight = adversarial_weight
    if teaching_warmup and not (discriminator is not None and adversarial_weight):
      raise ValueError("a teaching warm-up needs a discriminator term (LBT-GAN): "
                       "LBT alone would train nothing before it")
    self.teaching_warmup = teaching_warmup
    self.teaching = not teaching_warmup  # the phase the step is traced for
    self.smoothing = None if estimator.closed_form else smoothing_schedule
    schedule = estimator.schedule if estimator.closed_form else smoothing_schedule
    if scale_teaching and not (schedule and schedule.steps):
      raise ValueError("--scale-teaching needs an annealed bandwidth (--anneal-steps > 0)")
    self.has_adversarial_term = discriminator is not None and bool(adversarial_weight)
    # Only a second term needs balancing: LBT alone is never scaled.
    self.teaching_schedule = schedule if scale_teaching and self.has_adversarial_term else None
    self.f_E_tracker = keras.metrics.Mean(name="f_E")
    self.f_G_tracker = keras.metrics.Mean(name="f_G")
    self.trackers += [self.f_E_tracker, self.f_G_tracker]

  @classmethod
  def from_config(cls, config, parts):
    generator, estimator = parts.generator(), parts.estimator()
    settings = dict(estimator_steps=config.estimator_steps,
                    hypergradient=parts.hypergradient(), unroll_lr=config.unroll_lr or None,
                    stop_second_moment=config.stop_second_moment,
                    teaching_warmup=config.teaching_warmup, seed=config.seed,
                    scale_teaching=config.scale_teaching,
                    smoothing_schedule=smoothing.from_config(config, parts.data),
                    discriminator_steps=config.discriminator_steps or 1)
    optimizers = dict(generator_optimizer=parts.generator_optimizer())
    if not estimator.closed_form:
      optimizers["estimator_optimizer"] = parts.estimator_optimizer()
    if cls.adversarial:
      settings.update(discriminator=parts.discriminator(),
                      adversarial_weight=config.adversarial_weight)
      optimizers["discriminator_optimizer"] = parts.discriminator_optimizer()
    trainer = cls(generator, estimator, config.noise_dim, **settings)
    trainer.compile(**optimizers, **parts.compile_options())
    return trainer

  @classmethod
  def refuse(cls, config, data):
    estimators.refuse(config, data)
    if config.teaching_warmup and not cls.adversarial:
      raise ValueError("--teaching-warmup needs LBT-GAN's discriminator term: LBT "
                       "alone would train nothing before it; use --method lbt-gan "
                       "or --teaching-warmup 0")
    if config.unroll_steps >= 1:
      return
    if estimators.ESTIMATORS.get(config.estimator).closed_form:
      raise ValueError(f"--estimator {config.estimator} is fitted to K batches of "
                       "generator samples (--unroll-steps K: K x --batch-size centres); "
                       "K must be at least 1")
    raise ValueError(
        "--unroll-steps 0 teaches nothing: the generator's teaching gradient flows "
        "through the K estimator steps, so with K = 0 it is exactly zero"
        + (f" and {config.method} is a plain GAN" if cls.adversarial else "")
        + "; give K >= 1 (the paper: 5)")

  # -- the warm-up's phase: the step is traced for one phase at a time ---------

  def phase_changes(self):
    """Iterations at which the traced step changes (the warm-up's end)."""
    return (self.teaching_warmup,) if self.teaching_warmup else ()

  def enter_phase(self, step: int) -> bool:
    """Trace the step of iteration `step`'s phase from now on; True if that
    changed the phase (the caller must then rebuild its compiled loop)."""
    teaching = step >= self.teaching_warmup
    if teaching == self.teaching:
      return False
    self.teaching = teaching
    return True

  def fit(self, *args, callbacks=None, **kwargs):
    """Keras `fit`, with the phase switched at the warm-up's end."""
    return super().fit(*args, callbacks=list(callbacks or []) + [TeachingPhase()],
                       **kwargs)

  def networks(self):
    return dict(super().networks(), estimator=self.estimator)

  def compile(self, generator_optimizer, estimator_optimizer=None,
              discriminator_optimizer=None, **kwargs):
    self.estimator_optimizer = estimator_optimizer
    if estimator_optimizer is not None:
      self._build_optimizer(estimator_optimizer, self.estimator)
    elif not self.estimator.closed_form:
      raise ValueError(f"{type(self).__name__} needs an estimator_optimizer")
    super().compile(generator_optimizer, discriminator_optimizer, **kwargs)

  def estimator_log_likelihood(self, x, parameters=None):
    """Mean log-likelihood (or bound) of x, with fresh estimator noise, under
    the estimator's variables or under explicit parameter tensors theta."""
    return self.estimator.mean_score(x, self.seed_generator, parameters)

  # Algorithm 1, step 1: M ordinary estimator updates on generator samples.
  def update_helpers(self, reals):
    if self.discriminator is not None:
      self.update_discriminator(reals)
    if self.estimator.closed_form or not self.teaching:
      return  # nothing to train: the fit is a formula of the samples
    # G does not change during these updates: draw all M batches in one call.
    for fake in self.generate_batches(tf.shape(reals[0])[0], self.estimator_steps):
      fake = self.smoothed(tf.stop_gradient(fake))
      loss = self.descend("estimator", lambda f=fake: -self.estimator_log_likelihood(f))
      self.f_E_tracker.update_state(-loss)

  # Algorithm 1, steps 2-3: f_G(theta_K(phi)).
  def teaching_objective(self, real, fakes):
    """The real data's log-likelihood under the estimator fitted to `fakes`.

    `fakes` holds the K batches of generator samples, one per unrolled step,
    differentiable with respect to the generator's parameters phi. A
    closed-form estimator is fitted to all of them at once (to every
    replica's: the fit is of the global batch).
    """
    if self.estimator.closed_form:
      theta = self.estimator.fit(replicas.all_rows(tf.concat(fakes, axis=0)),
                                 self.generator_optimizer.iterations)
      return self.estimator_log_likelihood(real, theta)
    batch = tf.shape(real)[0]
    real = self.smoothed(real)
    fakes = [self.smoothed(fake) for fake in fakes]
    real_noise = self.estimator_noise(batch)  # the same for every use of f_G
    noises = tf.reshape(self.estimator_noise(batch, len(fakes)),
                        tf.concat([[len(fakes), batch], tf.shape(real_noise)[1:]], 0))

    def f_G(theta):  # the real data's log-likelihood under theta
      return self.estimator.mean_log_likelihood(theta, real, real_noise)

    def fit_loss(theta, step_inputs):  # -f_E(theta, phi) on one step's samples
      samples, noise = step_inputs
      return replicas.share_of_mean(
          -self.estimator.mean_log_likelihood(theta, samples, noise))

    return self.hypergradient.objective(
        f_G, fit_loss, [tf.stack(fakes), noises], self.estimator.trainable_variables,
        self.estimator_optimizer, self.stop_second_moment, self.unroll_lr)

  def smoothed(self, x):
    """x plus Gaussian noise of the schedule's current bandwidth (x itself
    without a schedule)."""
    if self.smoothing is None or not self.smoothing.active:
      return x
    noise = replicas.this_replicas_rows(
        lambda n: keras.random.normal((n,) + tuple(x.shape[1:]), seed=self.seed_generator,
                                      dtype=x.dtype),
        tf.shape(x)[0])
    return x + self.smoothing.at(self.generator_optimizer.iterations, x.dtype) * noise

  def estimator_noise(self, batch_size, count: int = 1):
    """The estimator's noise for `count` batches (this replica's rows)."""
    return replicas.this_replicas_rows(
        lambda n: self.estimator.noise(n, self.seed_generator), batch_size, count)

  def generator_objective(self, real):
    if not self.teaching:  # the warm-up: a GAN iteration
      return self.adversarial_weight * self.adversarial_loss(tf.shape(real)[0])
    fakes = self.generate_batches(tf.shape(real)[0],
                                  self.unroll_steps + int(self.has_adversarial_term))
    f_G = self.teaching_objective(real, fakes[:self.unroll_steps])
    self.f_G_tracker.update_state(f_G)
    loss = -f_G
    if self.teaching_schedule is not None:  # teaching in data units
      step = self.generator_optimizer.iterations
      loss *= tf.square(self.teaching_schedule.at(step, loss.dtype) / self.teaching_schedule.start)
    if self.has_adversarial_term:
      loss += self.adversarial_weight * non_saturating_generator_loss(
          self.discriminate(fakes[-1]))
    return loss


class TeachingPhase(keras.callbacks.Callback):
  """Retraces the trainer's step when an iteration enters another phase
  (`LBT.enter_phase`): Keras fit reads `model.train_function` before every
  compiled call, so the call after the boundary runs the new phase. A
  Python switch, not a tf.cond: a branch around the unroll's all-reduce
  breaks under tf.distribute (keras-team/keras#19246)."""

  def on_train_begin(self, logs=None):
    self._switch()

  def on_train_batch_end(self, batch, logs=None):
    self._switch()

  def _switch(self):
    if self.model.enter_phase(int(self.model.generator_optimizer.iterations)):
      self.model.make_train_function(force=True)


class LBTGAN(LBT):
  """LBT-GAN (Eq. 8): LBT plus adversarial_weight * E_z[log D(G(z))]."""

  adversarial = True

  def __init__(self, generator, estimator, noise_dim, discriminator,
               adversarial_weight: float = 0.1, **kwargs):
    if discriminator is None:
      raise ValueError("LBT-GAN needs a discriminator")
    super().__init__(generator, estimator, noise_dim, discriminator=discriminator,
                     adversarial_weight=adversarial_weight, **kwargs)
