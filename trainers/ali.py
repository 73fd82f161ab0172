"""ALI (Dumoulin et al. 2017, "Adversarially Learned Inference", arXiv
1606.00704): an encoder E beside the generator G, and a discriminator on
(x, z) pairs.

E maps data to a Gaussian over the noise, q(z | x) = N(mu(x), sigma(x)^2),
sampled by reparametrisation (z^ = mu(x) + sigma(x) * eps, the paper's
Section 2.2). D(x, z) is a logit: data pairs (x, z^) from the encoder's
joint q(x, z) are labelled 1, generator pairs (G(z), z) from p(x, z) are
labelled 0. Per iteration (the paper's Algorithm 1, rho = sigmoid(D)):

  D     descends  L_D  = -E log rho(x, z^) - E log(1 - rho(G(z), z))
  G, E  descend   L_GE = -E log(1 - rho(x, z^)) - E log rho(G(z), z)

(L_GE is the paper's non-saturating generator loss: D's labels swapped).
E only reaches the first term of L_GE and G only the second, so E takes its
step on the first and G on the second, both against the D just updated:
the same update as the paper's joint step on L_GE. At the game's optimum the
two joints match, so E inverts G (the paper's Proposition 3).

Networks: E mirrors G (an MLP with its widths; for images the
discriminator's convolutions at G's width) and outputs 2 x noise_dim
numbers (mu, log sigma); D is the run's discriminator with the noise code
joined to its input (`lbt_tf.parts.Parts.discriminator(code_dim=...)`).
"""

import keras
import tensorflow as tf

from lbt_tf.parts import adam
from lbt_tf.trainers.base import GenerativeTrainer
from lbt_tf.trainers.base import discriminator_loss


class ALI(GenerativeTrainer):
  """Args: encoder, E: samples -> [batch, 2 * noise_dim] (mu, log sigma);
  discriminator: (x, z) pairs -> one logit, either one input [z, x]
  concatenated (points) or two inputs [x, z] (images)."""

  def __init__(self, generator, noise_dim, discriminator, encoder, **kwargs):
    if discriminator is None or encoder is None:
      raise ValueError("ALI needs a discriminator and an encoder")
    super().__init__(generator, noise_dim, discriminator, **kwargs)
    self.encoder = encoder
    self.encoder_loss_tracker = keras.metrics.Mean(name="e_loss")
    self.trackers.append(self.encoder_loss_tracker)

  @classmethod
  def from_config(cls, config, parts):
    trainer = cls(parts.generator(), config.noise_dim,
                  parts.discriminator(code_dim=config.noise_dim),
                  parts.encoder(2 * config.noise_dim), seed=config.seed)
    # E is trained with G (the paper: one optimizer for both): G's settings.
    trainer.compile(parts.generator_optimizer(), parts.discriminator_optimizer(),
                    adam(config.generator_lr, config.generator_beta1),
                    **parts.compile_options())
    return trainer

  @classmethod
  def refuse(cls, config, data):
    if config.discriminator_steps > 1:
      raise ValueError("--method ali makes one discriminator update per iteration; "
                       "leave --discriminator-steps unset")

  def networks(self):
    return dict(super().networks(), encoder=self.encoder)

  def compile(self, generator_optimizer, discriminator_optimizer, encoder_optimizer,
              **kwargs):
    self.encoder_optimizer = encoder_optimizer
    self._build_optimizer(encoder_optimizer, self.encoder)
    super().compile(generator_optimizer, discriminator_optimizer, **kwargs)

  def encode(self, x, noise=None):
    """z^ = mu(x) + sigma(x) * eps, eps ~ N(0, I) (drawn here unless given)."""
    mu, log_sigma = tf.split(self.encoder(x, training=True), 2, axis=-1)
    if noise is None:
      noise = self.sample_noise(tf.shape(x)[0])
    return mu + tf.exp(log_sigma) * noise

  def joint_logits(self, samples, code):
    """D's logits for pairs (samples, code)."""
    if len(self.discriminator.inputs) == 2:
      return self.discriminator([samples, code], training=True)
    return self.discriminator(tf.concat([code, samples], axis=-1), training=True)

  def update_helpers(self, reals):
    real = reals[0]
    code = tf.stop_gradient(self.encode(real))
    noise = self.sample_noise(tf.shape(real)[0])
    fake = tf.stop_gradient(self.generator(noise, training=True))
    self.descend("discriminator",
                 lambda: discriminator_loss(self.joint_logits(real, code),
                                            self.joint_logits(fake, noise)),
                 self.discriminator_loss_tracker)
    self.descend("encoder", lambda: self.encoder_objective(real), self.encoder_loss_tracker)

  def encoder_objective(self, real):
    """E's part of L_GE: -E log(1 - rho(x, z^)) = E softplus(D(x, z^))."""
    return tf.reduce_mean(tf.nn.softplus(self.joint_logits(real, self.encode(real))))

  def generator_objective(self, real):
    """G's part of L_GE: -E log rho(G(z), z) = E softplus(-D(G(z), z))."""
    noise = self.sample_noise(tf.shape(real)[0])
    return tf.reduce_mean(tf.nn.softplus(
        -self.joint_logits(self.generator(noise, training=True), noise)))
