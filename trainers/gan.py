"""The non-saturating GAN (Goodfellow et al. 2014), the baseline of every table."""

import tensorflow as tf

from trainers.base import GenerativeTrainer


class GAN(GenerativeTrainer):
  """One D update, then one generator step on -E_z[log D(G(z))]."""

  def __init__(self, generator, noise_dim, discriminator, **kwargs):
    if discriminator is None:
      raise ValueError("a GAN needs a discriminator")
    super().__init__(generator, noise_dim, discriminator, **kwargs)

  def update_helpers(self, real):
    self.update_discriminator(real)

  def generator_objective(self, real):
    return self.adversarial_loss(tf.shape(real)[0])
