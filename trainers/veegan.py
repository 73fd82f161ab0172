"""VEEGAN (Srivastava et al. 2017): a reconstructor F maps samples back to noise.

The discriminator D(z, x) tells data pairs (F(x), x) from generator pairs
(z, G(z)). Per iteration (the paper's Algorithm 1):

  D  ascends   log sigmoid D(F(x), x) + log(1 - sigmoid D(z, G(z)))
  F  descends  ||z - F(G(z))||^2                       (reconstruct the noise)
  G  descends  -D(z, G(z)) + ||z - F(G(z))||^2

D's logit estimates the log density ratio of the two joint distributions, so
-D(z, G(z)) is the KL term of VEEGAN's objective (D here scores *data* pairs
high, the opposite sign of the paper's D). A generator that maps many z to
one mode cannot be inverted, which the reconstruction term penalises.
"""

import keras
import tensorflow as tf

from lbt_tf.parts import adam
from lbt_tf.trainers.base import GenerativeTrainer
from lbt_tf.trainers.base import discriminator_loss


def reconstruction_error(noise, reconstruction):
  """Mean over the batch of the squared l2 distance ||z - F(x)||^2."""
  return tf.reduce_mean(tf.reduce_sum(tf.square(noise - reconstruction), axis=-1))


class VEEGAN(GenerativeTrainer):
  """Args: reconstructor, F: samples [batch, data_dim] -> [batch, noise_dim];
  discriminator: [noise, samples] concatenated -> one logit."""

  def __init__(self, generator, noise_dim, discriminator, reconstructor,
               **kwargs):
    if discriminator is None or reconstructor is None:
      raise ValueError("VEEGAN needs a discriminator and a reconstructor")
    super().__init__(generator, noise_dim, discriminator, **kwargs)
    self.reconstructor = reconstructor
    self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
    self.trackers.append(self.reconstruction_tracker)

  @classmethod
  def from_config(cls, config, parts):
    generator = parts.generator()
    # F mirrors G: samples -> noise through the generator's hidden widths.
    reconstructor = parts.mlp(parts.data_dim, config.noise_dim, "reconstructor")
    trainer = cls(generator, config.noise_dim,
                  parts.discriminator(code_dim=config.noise_dim), reconstructor,
                  seed=config.seed)
    trainer.compile(parts.generator_optimizer(), parts.discriminator_optimizer(),
                    adam(config.generator_lr, config.generator_beta1),
                    **parts.compile_options())
    return trainer

  @classmethod
  def refuse(cls, config, data):
    if data.is_image:
      raise ValueError("--method veegan is implemented for the 2-D mixtures "
                       "only (its joint (z, x) networks are MLPs)")
    if config.discriminator_steps > 1:
      raise ValueError("--method veegan makes one discriminator update per "
                       "iteration; leave --discriminator-steps unset")

  def networks(self):
    return dict(super().networks(), reconstructor=self.reconstructor)

  def compile(self, generator_optimizer, discriminator_optimizer,
              reconstructor_optimizer, **kwargs):
    self.reconstructor_optimizer = reconstructor_optimizer
    self._build_optimizer(reconstructor_optimizer, self.reconstructor)
    super().compile(generator_optimizer, discriminator_optimizer, **kwargs)

  def joint_logits(self, noise, samples):
    return self.discriminator(tf.concat([noise, samples], axis=-1), training=True)

  def update_helpers(self, reals):
    real = reals[0]
    noise = self.sample_noise(tf.shape(real)[0])
    fake = tf.stop_gradient(self.generator(noise, training=True))

    def joint_discriminator_loss():
      data_pairs = self.joint_logits(
          tf.stop_gradient(self.reconstructor(real, training=True)), real)
      return discriminator_loss(data_pairs, self.joint_logits(noise, fake))

    self.descend("discriminator", joint_discriminator_loss,
                 self.discriminator_loss_tracker)
    self.descend("reconstructor",
                 lambda: reconstruction_error(noise, self.reconstructor(fake, training=True)),
                 self.reconstruction_tracker)

  def generator_objective(self, real):
    noise = self.sample_noise(tf.shape(real)[0])
    fake = self.generator(noise, training=True)
    return (-tf.reduce_mean(self.joint_logits(noise, fake))
            + reconstruction_error(noise, self.reconstructor(fake, training=True)))
