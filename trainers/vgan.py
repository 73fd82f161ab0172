"""VGAN (Zhai, Cheng, Feris and Zhang 2016, "Generative Adversarial Networks
as Variational Training of Energy Based Models", arXiv 1611.01799; the
authors' Theano code `Shuangfei/vgan`, `train_trans_vgan.py`, `build_model`).

The discriminator defines an energy-based model p(x) = exp(-E(x)) / Z and
the generator q is its variational sampler. Since
log Z >= -E_q[E(x)] + H(q), the model's negative log-likelihood is bounded
below by

    E_data[E(x)] - E_q[E(x)] + H(q),

which G maximises (G descends E_q[E] - H(q)) and D then lowers (D descends
E_data[E] - E_q[E]). As in the authors' code, per iteration:

  D  descends  energy(x) - energy(G(z)) - entropy(x)
  G  descends  energy(G(z)) - entropy(G(z))

with D's d sigmoid outputs p(x) in (0, 1)^d (`--energy-units`, the authors'
128) and

  energy(x)  = mean over the batch of  sum_j H(p_j(x))
  entropy(x) = sum_j H(mean over the batch of p_j(x)),
  H(p) = -p log p - (1 - p) log(1 - p), the binary entropy (nats).

The approximations the authors made, kept here:
  1. The energy is bounded, E(x) = sum_j H(p_j(x)) in [0, d log 2]: low
     where D's units are confident (p near 0 or 1), high where they sit near
     1/2. D lowers it on data and raises it on samples.
  2. H(q), the generator's entropy, is intractable: it is replaced by the
     entropy of D's units on a generated batch, each unit a Bernoulli with
     the batch's mean probability. This is a batch statistic of D's
     features, not the entropy of q; here the batch is the global batch.
  3. D's loss subtracts the same term on the data, entropy(x), which is not
     part of the bound: it rewards D for keeping each unit's mean over the
     data away from 0 and 1, so the data's low energy cannot come from
     units that are constant on everything.
  4. The inner maximisation over q is not solved: G takes k steps per D
     step (the authors' `-k`: 2 by default, 1 in their README's command);
     here one, after D's.
  5. p is clipped to [1e-4, 1 - 1e-4] before the entropies (which also
     stops the gradient of a saturated unit).
Not kept: the authors train with Adadelta (learning rate 0.1); here, as for
every method of the library, with Adam at the preset's rates. Their script
trains the "transition" variant (VCD: G maps a data batch to samples, with a
reconstruction term weighted 1 - gamma); this is the paper's plain VGAN,
G from noise (gamma = 1).
"""

import tensorflow as tf

from lbt_tf import replicas
from lbt_tf.trainers.gan import GAN

CLIP = 1e-4  # the authors' clipping of p


def binary_entropy(p):
  """H(p) = -p log p - (1 - p) log(1 - p), elementwise, in nats."""
  return -(p * tf.math.log(p) + (1.0 - p) * tf.math.log(1.0 - p))


def energy(p):
  """E over a batch: the mean over rows of sum_j H(p_ij). p: [batch, d]."""
  return tf.reduce_mean(tf.reduce_sum(binary_entropy(p), axis=-1))


def batch_entropy(p):
  """sum_j H(mean_i p_ij), the mean over the global batch (every replica's
  rows; differentiable through each). p: [batch, d]."""
  total, count = replicas.sum_over_replicas(
      [tf.reduce_sum(p, axis=0), tf.cast(tf.shape(p)[0], p.dtype)])
  return tf.reduce_sum(binary_entropy(total / count))


class VGAN(GAN):
  """A GAN whose discriminator has `--energy-units` sigmoid outputs."""

  @classmethod
  def new_discriminator(cls, config, parts):
    return parts.discriminator(outputs=config.energy_units)

  def probabilities(self, samples):
    """D's units p(x) in [CLIP, 1 - CLIP]^d for a batch."""
    return tf.clip_by_value(tf.sigmoid(self.discriminate(samples)), CLIP, 1.0 - CLIP)

  def discriminator_objective(self, real):
    fake = tf.stop_gradient(self.generate(tf.shape(real)[0]))
    p_real = self.probabilities(real)
    return energy(p_real) - energy(self.probabilities(fake)) - batch_entropy(p_real)

  def generator_objective(self, real):
    p_fake = self.probabilities(self.generate(tf.shape(real)[0]))
    return energy(p_fake) - batch_entropy(p_fake)
