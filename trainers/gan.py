"""The GAN baselines that share a discriminator on samples.

  GAN           Goodfellow et al. 2014, non-saturating generator loss.
  PacGAN        Lin et al. 2018: D judges m samples packed together, so a
                generator that repeats itself is easy to spot.
  UnrolledGAN   Metz et al. 2017: the generator descends the loss it would
                have against D after K more (differentiable) D updates, so it
                sees how D would react to a collapse.
"""

import tensorflow as tf

from lbt_tf import replicas
from lbt_tf.hypergradient import Hypergradient
from lbt_tf.trainers.base import GenerativeTrainer
from lbt_tf.trainers.base import discriminator_loss
from lbt_tf.trainers.base import non_saturating_generator_loss


class GAN(GenerativeTrainer):
  """One D update, then one generator step on -E_z[log D(G(z))]."""

  def __init__(self, generator, noise_dim, discriminator, **kwargs):
    if discriminator is None:
      raise ValueError(f"{type(self).__name__} needs a discriminator")
    super().__init__(generator, noise_dim, discriminator, **kwargs)

  @classmethod
  def from_config(cls, config, parts):
    trainer = cls(parts.generator(), config.noise_dim,
                  cls.new_discriminator(config, parts), **cls.settings(config))
    trainer.compile(parts.generator_optimizer(), parts.discriminator_optimizer(),
                    **parts.compile_options())
    return trainer

  @classmethod
  def new_discriminator(cls, config, parts):
    del config
    return parts.discriminator()

  @classmethod
  def settings(cls, config) -> dict:
    """Constructor arguments from the config beyond the networks."""
    return dict(seed=config.seed, discriminator_steps=config.discriminator_steps or 1)

  def update_helpers(self, reals):
    self.update_discriminator(reals)

  def generator_objective(self, real):
    return self.adversarial_loss(tf.shape(real)[0])


class PacGAN(GAN):
  """A GAN whose discriminator sees `pack` samples at a time.

  A batch of B samples becomes B / pack inputs of `pack` consecutive samples
  (`pack_samples`); the discriminator must be built for that input. The
  batch size must be a multiple of `pack`.
  """

  def __init__(self, generator, noise_dim, discriminator, pack: int = 2, **kwargs):
    if pack < 1:
      raise ValueError(f"pack must be at least 1, got {pack}")
    super().__init__(generator, noise_dim, discriminator, **kwargs)
    self.pack = pack

  @classmethod
  def new_discriminator(cls, config, parts):
    return parts.discriminator(samples_per_input=config.pack)

  @classmethod
  def settings(cls, config) -> dict:
    return dict(super().settings(config), pack=config.pack)

  @classmethod
  def refuse(cls, config, data):
    if config.batch_size % config.pack:
      raise ValueError(f"--batch-size ({config.batch_size}) must be a multiple of "
                       f"--pack ({config.pack})")

  def discriminator_input(self, samples):
    return pack_samples(samples, self.pack)


def pack_samples(samples, pack: int):
  """Samples i*pack ... i*pack+pack-1 side by side in row i, along the last
  axis: [B, d] -> [B / pack, pack * d] for points, and for images
  [B, h, w, c] -> [B / pack, h, w, pack * c] (their channels stacked)."""
  rank = samples.shape.rank
  grouped = tf.reshape(samples, tf.concat([[-1, pack], tf.shape(samples)[1:]], 0))
  # [B/pack, pack, ..., c] -> [B/pack, ..., pack, c], then merge the last two
  grouped = tf.transpose(grouped, [0] + list(range(2, rank)) + [1, rank])
  return tf.reshape(grouped, tf.concat(
      [[-1], tf.shape(samples)[1:-1], [pack * samples.shape[-1]]], 0))


class UnrolledGAN(GAN):
  """The generator's loss is taken against D unrolled K Adam steps ahead.

  Per iteration: one ordinary D update, then the generator descends
  -E_z[log D_{psi_K}(G(z))] where psi_K(phi) comes from K differentiable
  updates of D on this iteration's real batch and generated batch (Metz et
  al. reuse one batch for all K steps), continuing from D's live Adam state.
  The unroll is the one LBT uses for its estimator (`lbt_tf.unroll`).

  Metz et al.'s code takes the minimax loss -f(psi_K); we keep the
  non-saturating loss of every other method here so that only the unroll
  differs from the GAN baseline. K = 0 is exactly the GAN.
  """

  def __init__(self, generator, noise_dim, discriminator,
               hypergradient: Hypergradient = Hypergradient(),
               stop_second_moment: bool = True, **kwargs):
    if hypergradient.steps < 0:
      raise ValueError(f"unroll steps (K) must be >= 0, got {hypergradient.steps}")
    super().__init__(generator, noise_dim, discriminator, **kwargs)
    self.hypergradient = hypergradient
    self.unroll_steps = hypergradient.steps
    self.stop_second_moment = stop_second_moment

  @classmethod
  def from_config(cls, config, parts):
    trainer = cls(parts.generator(), config.noise_dim, cls.new_discriminator(config, parts),
                  hypergradient=cls.new_hypergradient(config, parts), **cls.settings(config))
    trainer.compile(parts.generator_optimizer(), parts.discriminator_optimizer(),
                    **parts.compile_options())
    return trainer

  @classmethod
  def new_hypergradient(cls, config, parts) -> Hypergradient:
    del config
    return parts.hypergradient()

  @classmethod
  def settings(cls, config) -> dict:
    return dict(super().settings(config), stop_second_moment=config.stop_second_moment)

  @classmethod
  def refuse(cls, config, data):
    if config.unroll_steps < 1:
      raise ValueError("--method unrolled-gan with --unroll-steps 0 is the plain GAN; "
                       "use --method gan, or give K >= 1")

  def discriminator_fit_loss(self, real):
    """D's own loss under parameters psi, on `real` and one step's fake batch."""
    def fit_loss(psi, step_inputs):
      (fake,) = step_inputs
      return replicas.share_of_mean(discriminator_loss(
          self.discriminate(real, psi), self.discriminate(fake, psi)))
    return fit_loss

  def unrolled_generator_loss(self, real, fake):
    """-E[log D_{psi_K}(fake)], psi_K(phi) after K differentiable updates of
    D on (real, fake) (Metz et al. reuse one batch for all K steps),
    differentiated as `self.hypergradient` says."""
    def generator_loss(psi):
      return non_saturating_generator_loss(self.discriminate(fake, psi))

    return self.hypergradient.objective(
        generator_loss, self.discriminator_fit_loss(real),
        [tf.stack([fake] * max(self.unroll_steps, 1))],
        self.discriminator.trainable_variables, self.discriminator_optimizer,
        self.stop_second_moment)

  def generator_objective(self, real):
    return self.unrolled_generator_loss(real, self.generate(tf.shape(real)[0]))
