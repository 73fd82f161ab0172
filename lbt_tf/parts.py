"""What a method is built from: the run's networks and optimizers, made from
its config.

Every method gets the same generator, and every method with a discriminator
the same discriminator (an equal budget), so that only the method differs.
MLPs for 2-D points, `--image-networks` for images.
"""

import keras
import numpy as np

from lbt_tf import networks
from lbt_tf.data.datasets import DataInfo


def adam(lr, beta_1=0.9, **kwargs):
  return keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, **kwargs)


class Parts:
  """Factories for one run's networks and optimizers."""

  def __init__(self, config, data: DataInfo):
    self.config = config
    self.data = data

  @property
  def data_dim(self) -> int:
    return int(np.prod(self.data.shape))

  def generator(self) -> keras.Model:
    c = self.config
    if self.data.is_image:
      build, _ = networks.IMAGE_NETWORKS[c.image_networks]
      return build(c.noise_dim, self.data.shape, c.generator_width)
    return networks.mlp_generator(c.noise_dim, self.data_dim, c.generator_units,
                                  c.activation)

  def discriminator(self, samples_per_input: int = 1, code_dim: int = 0,
                    outputs: int = 1) -> keras.Model:
    """D for inputs of `samples_per_input` samples (PacGAN packs several:
    along the features of points, along the channels of images), joined by
    a `code_dim` noise code (VEEGAN's and ALI's (z, x): for points one input,
    [z, x] concatenated; for images two, [x, z]), with `outputs` logits
    (VGAN's energy units)."""
    c = self.config
    if self.data.is_image:
      if code_dim:
        return networks.dcgan_joint_discriminator(self.data.shape, code_dim,
                                                  c.discriminator_width)
      packed = self.data.shape[:-1] + (self.data.shape[-1] * samples_per_input,)
      _, build = networks.IMAGE_NETWORKS[c.image_networks]
      return build(packed, c.discriminator_width, outputs=outputs)
    return networks.mlp_discriminator(code_dim + self.data_dim * samples_per_input,
                                      c.discriminator_units, c.activation, outputs=outputs)

  def mlp(self, input_dim: int, output_dim: int, name: str) -> keras.Model:
    """An MLP with the generator's widths (VEEGAN's reconstructor)."""
    c = self.config
    return networks.mlp(input_dim, c.generator_units, output_dim, c.activation, name)

  def encoder(self, output_dim: int) -> keras.Model:
    """samples -> [batch, output_dim], mirroring the generator (ALI's
    encoder): an MLP with its widths, or for images the discriminator's
    convolutions at the generator's width."""
    if self.data.is_image:
      return networks.dcgan_encoder(self.data.shape, output_dim, self.config.generator_width)
    return self.mlp(self.data_dim, output_dim, "encoder")

  def estimator(self):
    from lbt_tf.estimators import ESTIMATORS  # pylint: disable=g-import-not-at-top
    return ESTIMATORS.get(self.config.estimator).from_config(self.config, self.data)

  # -- optimizers --------------------------------------------------------------

  def generator_optimizer(self):
    c = self.config
    return adam(c.generator_lr, c.generator_beta1,
                global_clipnorm=c.generator_clipnorm or None)

  def discriminator_optimizer(self, **overrides):
    c = self.config
    settings = dict(lr=c.discriminator_lr, beta_1=c.discriminator_beta1)
    settings.update(overrides)
    return adam(**settings)

  def estimator_optimizer(self):
    c = self.config
    if c.estimator_optimizer == "sgd":
      return keras.optimizers.SGD(c.estimator_lr)
    return adam(c.estimator_lr, c.estimator_beta1)

  def hypergradient(self):
    from lbt_tf.hypergradient import Hypergradient  # pylint: disable=g-import-not-at-top
    c = self.config
    damping = c.outer_product_lambda if c.implicit_solver == "outer-product" else c.implicit_damping
    return Hypergradient(c.hypergradient, c.unroll_steps, c.unroll_loop, c.truncate_steps,
                         c.implicit_iterations, damping, c.implicit_solver, c.implicit_step)

  def compile_options(self) -> dict:
    return dict(steps_per_execution=self.config.execution_steps,
                jit_compile=self.config.jit_compile)
