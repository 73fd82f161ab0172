"""Learning By Teaching (LBT) and LBT-GAN as Keras trainers.

Per iteration (Algorithm 1 of the paper):
  1. M ordinary updates of the estimator on fresh generator samples;
  2. K differentiable updates from the estimator's current state (`unroll`);
  3. one generator step that ascends f_G(theta_K(phi)), the likelihood the
     unrolled estimator gives real data, plus for LBT-GAN
     adversarial_weight * E_z[log D(G(z))] (Eq. 8) after one D update.
"""

import keras
import tensorflow as tf

from lbt_tf import replicas, unroll
from lbt_tf.estimator import VAE
from trainers.base import GenerativeTrainer
from trainers.base import non_saturating_generator_loss


class LBT(GenerativeTrainer):
  """LBT: the generator teaches `estimator` (a VAE) to fit the real data.

  Args:
    estimator_steps: M, ordinary estimator updates per iteration.
    unroll_steps: K, differentiable estimator updates in the teaching objective.
    stop_second_moment: when unrolling Adam, treat the second moment as a
      constant (as the authors do).
    discriminator, adversarial_weight: LBT-GAN's extra term (lambda_G).
    teaching_warmup: iterations before the teaching term counts (the
      authors' image runs start it at 3,000); the estimator trains throughout.
  """

  def __init__(self, generator: keras.Model, estimator: VAE, noise_dim: int,
               estimator_steps: int = 2, unroll_steps: int = 5,
               stop_second_moment: bool = True, discriminator=None,
               adversarial_weight: float = 0.0, teaching_warmup: int = 0,
               seed: int = 0, **kwargs):
    super().__init__(generator, noise_dim, discriminator, seed, **kwargs)
    if estimator_steps < 0 or unroll_steps < 0:
      raise ValueError("estimator_steps (M) and unroll_steps (K) must be >= 0")
    self.estimator = estimator
    self.estimator_steps = estimator_steps
    self.unroll_steps = unroll_steps
    self.stop_second_moment = stop_second_moment
    self.adversarial_weight = adversarial_weight
    self.teaching_warmup = teaching_warmup
    self.f_E_tracker = keras.metrics.Mean(name="f_E")
    self.f_G_tracker = keras.metrics.Mean(name="f_G")
    self.trackers += [self.f_E_tracker, self.f_G_tracker]

  def compile(self, generator_optimizer, estimator_optimizer,
              discriminator_optimizer=None, **kwargs):
    self.estimator_optimizer = estimator_optimizer
    self._build_optimizer(estimator_optimizer, self.estimator)
    super().compile(generator_optimizer, discriminator_optimizer, **kwargs)

  def estimator_log_likelihood(self, x, parameters=None):
    """Mean ELBO of x, with fresh VAE noise, under the estimator's variables
    or under explicit parameter tensors theta."""
    noise = replicas.this_replicas_rows(
        lambda n: self.estimator.noise(n, self.seed_generator), tf.shape(x)[0])
    if parameters is None:
      return tf.reduce_mean(self.estimator([x, noise], training=True))
    return self.estimator.elbo(parameters, x, noise)

  # Algorithm 1, step 1: M ordinary estimator updates on generator samples.
  def update_helpers(self, real):
    if self.discriminator is not None:
      self.update_discriminator(real)
    variables = self.estimator.trainable_variables
    # G does not change during these updates: draw all M batches in one call.
    for fake in self.generate_batches(tf.shape(real)[0], self.estimator_steps):
      fake = tf.stop_gradient(fake)
      with tf.GradientTape() as tape:
        f_E = self.estimator_log_likelihood(fake)
        share = replicas.share_of_mean(-f_E)
      grads = tape.gradient(share, variables)
      self.estimator_optimizer.apply_gradients(zip(grads, variables))
      self.f_E_tracker.update_state(f_E)

  # Algorithm 1, steps 2-3: f_G(theta_K(phi)).
  def teaching_objective(self, real, fakes):
    """The real data's ELBO under the estimator after K unrolled updates.

    `fakes` holds the K batches of generator samples, one per unrolled step,
    differentiable with respect to the generator's parameters phi.
    """
    variables = self.estimator.trainable_variables
    theta_0 = [tf.stop_gradient(tf.convert_to_tensor(v)) for v in variables]
    optimizer, state = unroll.differentiable_twin(
        self.estimator_optimizer, variables, self.stop_second_moment)

    def fit_loss(theta, step):  # -f_E(theta, phi) on the step's fresh samples
      return replicas.share_of_mean(
          -self.estimator_log_likelihood(fakes[step], theta))

    theta_K = unroll.unroll(fit_loss, theta_0, optimizer, state,
                            self.unroll_steps)
    return self.estimator_log_likelihood(real, theta_K)

  def generator_objective(self, real):
    adversarial = self.discriminator is not None and self.adversarial_weight
    fakes = self.generate_batches(tf.shape(real)[0],
                                  self.unroll_steps + int(bool(adversarial)))
    f_G = self.teaching_objective(real, fakes[:self.unroll_steps])
    self.f_G_tracker.update_state(f_G)
    loss = -f_G
    if self.teaching_warmup:
      # A weight, not a tf.cond: a branch around the unroll's all-reduce
      # breaks under tf.distribute (keras-team/keras#19246).
      teaching = self.generator_optimizer.iterations >= self.teaching_warmup
      loss *= tf.cast(teaching, loss.dtype)
    if adversarial:
      loss += self.adversarial_weight * non_saturating_generator_loss(
          self.discriminate(fakes[-1]))
    return loss


class LBTGAN(LBT):
  """LBT-GAN (Eq. 8): LBT plus adversarial_weight * E_z[log D(G(z))]."""

  def __init__(self, generator, estimator, noise_dim, discriminator,
               adversarial_weight: float = 0.1, **kwargs):
    if discriminator is None:
      raise ValueError("LBT-GAN needs a discriminator")
    super().__init__(generator, estimator, noise_dim, discriminator=discriminator,
                     adversarial_weight=adversarial_weight, **kwargs)
