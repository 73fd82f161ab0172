"""The training mechanism shared by every method.

One `train_step` is one iteration of the method: update the helper networks
(discriminator, density estimator, ...), then take one generator step on the
objective the method defines. Subclasses supply only those two pieces:

  update_helpers(reals)       trains the helpers, updates their metrics
  generator_objective(real)   the generator's loss, computed under the
                              generator's GradientTape (it may differentiate
                              through unrolled helper updates)

and, for the registry (`lbt_tf.trainers.METHODS`), how a config builds
them (`from_config`), what they refuse (`refuse`) and, if they add networks,
`networks()`: the networks and their optimizers are the state a checkpoint
holds. Every network's update goes through `descend`, so replica sums and
gradient clipping are the same for all.

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

  `fit` consumes batches of real data, `batches_per_iteration` global
  batches stacked per step; `discriminator`, if given, takes
  `discriminator_steps` updates per iteration, each on a real batch of its own.
  """

  def __init__(self, generator: keras.Model, noise_dim: int,
               discriminator: keras.Model = None, seed: int = 0,
               discriminator_steps: int = 1, **kwargs):
    super().__init__(**kwargs)
    if discriminator_steps < 1:
      raise ValueError(f"discriminator_steps must be at least 1, got {discriminator_steps}")
    self.generator = generator
    self.discriminator = discriminator
    self.noise_dim = noise_dim
    self.discriminator_steps = discriminator_steps
    self.seed_generator = keras.random.SeedGenerator(seed)
    self.generator_loss_tracker = keras.metrics.Mean(name="g_loss")
    self.trackers = [self.generator_loss_tracker]
    if discriminator is not None:
      self.discriminator_loss_tracker = keras.metrics.Mean(name="d_loss")
      self.trackers.append(self.discriminator_loss_tracker)

  # -- the registry's hooks ------------------------------------------------------

  @classmethod
  def from_config(cls, config, parts):
    """The trainer for `config`, compiled, from `parts` (`lbt_tf.parts.Parts`)."""
    raise NotImplementedError

  @classmethod
  def refuse(cls, config, data):
    """Raise a one-line ValueError if this method cannot run `config` on
    `data` (a `lbt_tf.data.datasets.DataInfo`)."""
    del config, data

  def networks(self) -> dict:
    """name -> network, for every network of the method. Each network N with
    an optimizer has it as the attribute `N_optimizer`."""
    named = {"generator": self.generator, "discriminator": self.discriminator}
    return {name: network for name, network in named.items() if network is not None}

  def optimizers(self) -> dict:
    """`N_optimizer` -> optimizer, for every trained network N."""
    named = {f"{name}_optimizer": getattr(self, f"{name}_optimizer", None)
             for name in self.networks()}
    return {name: optimizer for name, optimizer in named.items() if optimizer is not None}

  def counters(self) -> dict:
    """Counters a checkpoint must hold besides the optimizers' (none here:
    the generator optimizer counts the iterations)."""
    return {}

  def phase_changes(self):
    """Iterations at which the method's traced step changes (none here;
    LBT-GAN's warm-up ends at one)."""
    return ()

  def enter_phase(self, step: int) -> bool:
    """Trace the step of iteration `step`'s phase; True if it changed."""
    del step
    return False

  @property
  def iteration(self):
    """Iterations completed (one generator update each)."""
    return self.generator_optimizer.iterations

  @property
  def batches_per_iteration(self) -> int:
    """Real batches one iteration consumes (one per discriminator update)."""
    return self.discriminator_steps if self.discriminator is not None else 1

  # -----------------------------------------------------------------------------

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

  def descend(self, name: str, loss_fn, tracker=None):
    """One optimizer step of network `name` on `loss_fn()`, a mean over this
    replica's rows; `replicas` makes the step the global batch's (summed
    gradient, clipped after the sum). Returns the loss."""
    variables = self.networks()[name].trainable_variables
    with tf.GradientTape() as tape:
      loss = loss_fn()
      share = replicas.share_of_mean(loss)
    grads = zeros_where_unconnected(tape.gradient(share, variables), variables)
    replicas.apply_gradients(getattr(self, f"{name}_optimizer"), grads, variables)
    if tracker is not None:
      tracker.update_state(loss)
    return loss

  def train_step(self, real):
    """One iteration on this replica's slice `real` of the global batches
    (`batches_per_iteration` of them, stacked)."""
    reals = tf.split(real, self.batches_per_iteration)
    self.update_helpers(reals)
    self.descend("generator", lambda: self.generator_objective(reals[0]),
                 self.generator_loss_tracker)
    return {m.name: m.result() for m in self.metrics}

  def update_helpers(self, reals):
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

  def discriminator_objective(self, real):
    """D's loss on a real batch and as many fresh generator samples."""
    fake = tf.stop_gradient(self.generate(tf.shape(real)[0]))
    return discriminator_loss(self.discriminate(real), self.discriminate(fake))

  def update_discriminator(self, reals):
    """`discriminator_steps` updates of D, one per real batch."""
    for real in reals[:self.discriminator_steps]:
      self.descend("discriminator", lambda r=real: self.discriminator_objective(r),
                   self.discriminator_loss_tracker)

  def adversarial_loss(self, batch_size):
    """-E_z[log D(G(z))] on fresh samples, differentiable w.r.t. the generator."""
    return non_saturating_generator_loss(self.discriminate(self.generate(batch_size)))
