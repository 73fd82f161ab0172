"""WGAN-GP (Gulrajani et al. 2017): a Wasserstein GAN whose critic is kept
1-Lipschitz by a gradient penalty; a baseline of the VEEGAN and GDPP tables.

The critic D descends

    E[D(G(z))] - E[D(x)] + lambda * E[(||grad D(x_hat)||_2 - 1)^2],
    x_hat = e x + (1 - e) G(z),  e ~ U[0, 1] per example,

so that E[D(x)] - E[D(G(z))] estimates the Wasserstein-1 distance; it takes
n_critic updates (--discriminator-steps, the paper's 5) per generator update,
each on a real batch of its own. The generator descends -E[D(G(z))]. As in
the paper's toy experiments the critic's Adam uses beta2 = 0.9; learning
rate and beta1 are the preset's (an equal budget with the other baselines).
"""

import keras
import tensorflow as tf

from lbt_tf import replicas
from lbt_tf.trainers.gan import GAN

CRITIC_STEPS = 5  # n_critic of the paper


class WGANGP(GAN):
  """Args: gradient_penalty, lambda (the paper's 10)."""

  def __init__(self, generator, noise_dim, discriminator,
               gradient_penalty: float = 10.0, **kwargs):
    super().__init__(generator, noise_dim, discriminator, **kwargs)
    self.gradient_penalty = gradient_penalty

  @classmethod
  def from_config(cls, config, parts):
    trainer = cls(parts.generator(), config.noise_dim, parts.discriminator(),
                  gradient_penalty=config.gradient_penalty, seed=config.seed,
                  discriminator_steps=config.discriminator_steps or CRITIC_STEPS)
    trainer.compile(parts.generator_optimizer(),
                    parts.discriminator_optimizer(beta_2=0.9),
                    **parts.compile_options())
    return trainer

  def penalty(self, real, fake):
    """E[(||grad_x D(x_hat)||_2 - 1)^2] at random interpolates x_hat."""
    e = replicas.this_replicas_rows(
        lambda n: keras.random.uniform((n, 1), seed=self.seed_generator, dtype=real.dtype),
        tf.shape(real)[0])
    e = tf.reshape(e, [-1] + [1] * (real.shape.rank - 1))  # one e per example
    x_hat = e * real + (1.0 - e) * fake
    with tf.GradientTape() as tape:
      tape.watch(x_hat)
      scores = self.discriminate(x_hat)
    grads = tape.gradient(scores, x_hat)
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=list(range(1, grads.shape.rank))) + 1e-12)
    return tf.reduce_mean(tf.square(norms - 1.0))

  def discriminator_objective(self, real):
    fake = tf.stop_gradient(self.generate(tf.shape(real)[0]))
    return (tf.reduce_mean(self.discriminate(fake)) - tf.reduce_mean(self.discriminate(real))
            + self.gradient_penalty * self.penalty(real, fake))

  def generator_objective(self, real):
    return -tf.reduce_mean(self.discriminate(self.generate(tf.shape(real)[0])))
