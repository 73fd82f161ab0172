"""The training mechanism shared by every method.

One `train_step` is one iteration of the method: update the helper networks
(discriminator, density estimator, ...), then take one generator step on the
objective the method defines. Subclasses supply only those two pieces:

  update_helpers(real)        trains the helpers, updates their metrics
  generator_objective(real)   the generator's loss, computed under the
                              generator's GradientTape (it may differentiate
                              through unrolled helper updates)

The optional discriminator and its non-saturating GAN losses live here because
several methods (GAN, LBT-GAN, Unrolled GAN, PacGAN) share them.
"""

import keras
import tensorflow as tf

from lbt_tf import replicas


def discriminator_loss(real_logits, fake_logits):
  """Cross-entropy of D classifying real as 1 and generated as 0."""
  return (tf.reduce_mean(tf.nn.softplus(-real_logits))
          + tf.reduce_mean(tf.nn.softplus(fake_logits)))


def non_saturating_generator_loss(fake_logits):
  """-E_z[log D(G(z))], the generator's side of the GAN game."""
  return tf.reduce_mean(tf.nn.softplus(-fake_logits))


def zeros_where_unconnected(grads, variables):
  """Gradients with None (no path to the variable, e.g. LBT with K = 0) as 0."""
  return [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]


class GenerativeTrainer(keras.Model):
  """Trains `generator` (noise [batch, noise_dim] -> samples) with `fit`.

  `fit` consumes batches of real data; `discriminator`, if given, is trained as
  in a standard GAN once per iteration.
  """

  def __init__(self, generator: keras.Model, noise_dim: int,
               discriminator: keras.Model = None, seed: int = 0, **kwargs):
    super().__init__(**kwargs)
    self.generator = generator
    self.discriminator = discriminator
    self.noise_dim = noise_dim
    self.seed_generator = keras.random.SeedGenerator(seed)
    self.generator_loss_tracker = keras.metrics.Mean(name="g_loss")
    self.trackers = [self.generator_loss_tracker]
    if discriminator is not None:
      self.discriminator_loss_tracker = keras.metrics.Mean(name="d_loss")
      self.trackers.append(self.discriminator_loss_tracker)

  @property
  def metrics(self):
    # Only the method's own losses; Keras resets these at each epoch.
    return self.trackers

  def compile(self, generator_optimizer, discriminator_optimizer=None, **kwargs):
    super().compile(**kwargs)
    self.generator_optimizer = generator_optimizer
    self.discriminator_optimizer = discriminator_optimizer
    self._build_optimizer(generator_optimizer, self.generator)
    if self.discriminator is not None:
      if discriminator_optimizer is None:
        raise ValueError(f"{type(self).__name__} needs a discriminator_optimizer")
      self._build_optimizer(discriminator_optimizer, self.discriminator)
    self.built = True  # the sub-models are built: fit must not try to build us

  @staticmethod
  def _build_optimizer(optimizer, network):
    # Built eagerly (inside the strategy scope, if any): the unroll reads the
    # slots, and fit under tf.distribute cannot create them later.
    optimizer.build(network.trainable_variables)

  def sample_noise(self, batch_size, count: int = 1):
    """z for `count` batches of `batch_size` (this replica's rows of the
    global batches, see `lbt_tf.replicas`)."""
    return replicas.this_replicas_rows(
        lambda n: keras.random.normal((n, self.noise_dim), seed=self.seed_generator),
        batch_size, count)

  def generate(self, batch_size):
    return self.generator(self.sample_noise(batch_size), training=True)

  def generate_batches(self, batch_size, count: int):
    """`count` batches of fresh samples from one generator call.

    One large matrix product is much cheaper than `count` small ones; the
    samples are the same in distribution as `count` separate calls.
    """
    if count == 0:
      return []
    noise = self.sample_noise(batch_size, count)
    return tf.split(self.generator(noise, training=True), count)

  def call(self, noise):
    return self.generator(noise)

  # -- the iteration ---------------------------------------------------------

  def train_step(self, real):
    """One iteration on this replica's slice `real` of the global batch.

    Losses are means over the slice; `replicas.share_of_mean` makes the
    optimizers' sum over replicas the global batch's gradient.
    """
    self.update_helpers(real)
    generator_variables = self.generator.trainable_variables
    with tf.GradientTape() as tape:
      loss = self.generator_objective(real)
      share = replicas.share_of_mean(loss)
    grads = zeros_where_unconnected(tape.gradient(share, generator_variables),
                                    generator_variables)
    replicas.apply_gradients(self.generator_optimizer, grads, generator_variables)
    self.generator_loss_tracker.update_state(loss)
    return {m.name: m.result() for m in self.metrics}

  def update_helpers(self, real):
    raise NotImplementedError

  def generator_objective(self, real):
    raise NotImplementedError

  # -- the shared discriminator ---------------------------------------------

  def discriminator_input(self, samples):
    """What D sees of a batch of samples (PacGAN packs them)."""
    return samples

  def discriminate(self, samples, parameters=None):
    """D's logits for `samples`, under D's variables or, to unroll D, under
    explicit parameter tensors."""
    x = self.discriminator_input(samples)
    if parameters is None:
      return self.discriminator(x, training=True)
    logits, _ = self.discriminator.stateless_call(
        parameters, self.discriminator.non_trainable_variables, x, training=True)
    return logits

  def update_discriminator(self, real):
    fake = tf.stop_gradient(self.generate(tf.shape(real)[0]))
    variables = self.discriminator.trainable_variables
    with tf.GradientTape() as tape:
      loss = discriminator_loss(self.discriminate(real), self.discriminate(fake))
      share = replicas.share_of_mean(loss)
    grads = tape.gradient(share, variables)
    self.discriminator_optimizer.apply_gradients(zip(grads, variables))
    self.discriminator_loss_tracker.update_state(loss)

  def adversarial_loss(self, batch_size):
    """-E_z[log D(G(z))] on fresh samples, differentiable w.r.t. the generator."""
    return non_saturating_generator_loss(self.discriminate(self.generate(batch_size)))
