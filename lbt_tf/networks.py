"""The networks: MLPs for the 2-D experiments, convolutional ones for images.

The paper uses two-hidden-layer MLPs with 128 units for every network on the
2-D data, and small convolutional G and D on Stacked MNIST. Images choose
their pair with `--image-networks` (`IMAGE_NETWORKS`): "dcgan" (Radford et
al.; the authors' CIFAR-10 / CelebA nets) or "lbt-smnist" (the authors'
Stacked MNIST nets). The estimators are in `lbt_tf/estimators/`.
"""

from typing import Sequence

import keras


def mlp(input_dim: int, hidden_units: Sequence[int], output_dim: int,
        activation: str, name: str, dtype=None,
        output_initializer="glorot_uniform") -> keras.Model:
  """A built MLP: hidden layers with `activation`, linear output
  (`output_initializer="zeros"`: the network starts as the constant 0)."""
  inputs = keras.Input((input_dim,), dtype=dtype)
  h = inputs
  for i, units in enumerate(hidden_units):
    h = keras.layers.Dense(units, activation=activation, name=f"hidden_{i}",
                           dtype=dtype)(h)
  outputs = keras.layers.Dense(output_dim, name="output", dtype=dtype,
                               kernel_initializer=output_initializer)(h)
  return keras.Model(inputs, outputs, name=name)


def mlp_generator(noise_dim: int, data_dim: int, hidden_units: Sequence[int],
                  activation: str = "tanh", dtype=None) -> keras.Model:
  """G(z; phi): noise [batch, noise_dim] -> samples [batch, data_dim]."""
  return mlp(noise_dim, hidden_units, data_dim, activation, "generator", dtype)


def mlp_discriminator(data_dim: int, hidden_units: Sequence[int],
                      activation: str = "tanh", dtype=None, outputs: int = 1) -> keras.Model:
  """D(x): samples -> one logit each (probability of 'real' is its sigmoid),
  or `outputs` logits (VGAN's energy units)."""
  return mlp(data_dim, hidden_units, outputs, activation, "discriminator", dtype)


# -- images (DCGAN-style) ------------------------------------------------------

def upsampling_plan(image_size: int):
  """(start size, number of 2x steps): halve while even and above 4
  (64 -> 4 and 4 steps, 32 -> 4 and 3, 28 -> 7 and 2, 8 -> 4 and 1)."""
  start, steps = image_size, 0
  while start % 2 == 0 and start > 4:
    start, steps = start // 2, steps + 1
  return start, steps


def dcgan_generator(noise_dim: int, image_shape, width: int = 64,
                    name: str = "generator") -> keras.Model:
  """z -> images in [0, 1]: dense to start x start x (width * 2^steps), then
  transposed convolutions with batch norm and ReLU, halving the channels as
  the size doubles, and a sigmoid output (Radford et al. 2016). Batch norm
  statistics are those of the global batch under tf.distribute
  (synchronized), so replicas train the model one device would."""
  size, channels = image_shape[0], image_shape[-1]
  start, steps = upsampling_plan(size)
  inputs = keras.Input((noise_dim,))
  h = _normalized(keras.layers.Dense(start * start * width * 2 ** steps,
                                     use_bias=False)(inputs))
  h = keras.layers.Reshape((start, start, width * 2 ** steps))(h)
  widths = [width * 2 ** i for i in range(steps - 1, 0, -1)]
  return keras.Model(inputs, _upsampled(h, widths, 4, channels, steps > 0), name=name)


def _normalized(h):
  """Batch norm (synchronized across replicas) and ReLU: G's hidden layers."""
  return keras.layers.ReLU()(keras.layers.BatchNormalization(synchronized=True)(h))


def _upsampled(h, widths, kernel: int, channels: int, last_strided: bool):
  """Transposed convolutions (stride 2) to each of `widths` channels with
  batch norm and ReLU, then to `channels` with a sigmoid (images in [0, 1])."""
  for width in widths:
    h = _normalized(keras.layers.Conv2DTranspose(width, kernel, strides=2, padding="same",
                                                 use_bias=False)(h))
  return keras.layers.Conv2DTranspose(channels, kernel, strides=2 if last_strided else 1,
                                      padding="same", activation="sigmoid")(h)


def dcgan_discriminator(image_shape, width: int = 64, name: str = "discriminator",
                        outputs: int = 1) -> keras.Model:
  """images -> one logit (or `outputs`): strided convolutions with leaky
  ReLU, doubling the channels as the size halves, then a linear unit."""
  inputs = keras.Input(tuple(image_shape))
  features = _convolutions(inputs, width)
  return keras.Model(inputs, keras.layers.Dense(outputs)(features), name=name)


def dcgan_encoder(image_shape, output_dim: int, width: int = 64,
                  name: str = "encoder") -> keras.Model:
  """images -> [batch, output_dim]: the discriminator's convolutions, then a
  linear layer (ALI's encoder)."""
  inputs = keras.Input(tuple(image_shape))
  features = _convolutions(inputs, width)
  return keras.Model(inputs, keras.layers.Dense(output_dim)(features), name=name)


def dcgan_joint_discriminator(image_shape, code_dim: int, width: int = 64,
                              name: str = "discriminator") -> keras.Model:
  """(images, codes [batch, code_dim]) -> one logit per pair (ALI's D(x, z)):
  the discriminator's convolutions on x, a dense layer on z with as many
  units as the last convolution has channels (times 2), and one hidden
  dense layer of that width on both, all with leaky ReLU."""
  _, steps = upsampling_plan(image_shape[0])
  units = width * 2 ** steps
  images, codes = keras.Input(tuple(image_shape)), keras.Input((code_dim,))
  x = _convolutions(images, width)
  z = keras.layers.LeakyReLU(0.2)(keras.layers.Dense(units)(codes))
  h = keras.layers.Concatenate()([x, z])
  h = keras.layers.LeakyReLU(0.2)(keras.layers.Dense(units)(h))
  return keras.Model([images, codes], keras.layers.Dense(1)(h), name=name)


def _convolutions(images, width: int):
  """The discriminator's strided convolutions (leaky ReLU), flattened."""
  _, steps = upsampling_plan(images.shape[1])
  h = images
  for i in range(steps):
    h = keras.layers.Conv2D(width * 2 ** i, 4, strides=2, padding="same")(h)
    h = keras.layers.LeakyReLU(0.2)(h)
  return keras.layers.Flatten()(h)


# -- images: the LBT authors' Stacked MNIST networks ----------------------------

SMNIST_DENSE = 1024  # the fully connected layer of both networks


def smnist_generator(noise_dim: int, image_shape, width: int = 16,
                     name: str = "generator") -> keras.Model:
  """The LBT authors' Stacked MNIST generator (`LBT-GAN_smnist.py`, default
  flags): z -> dense 1024 -> dense start x start x 2w -> transposed
  convolutions (5x5, stride 2) halving the channels to w, then to the image's
  channels; batch norm and ReLU after every layer but the last, a sigmoid
  output. At 28x28 with w = 16 (theirs): 1024 -> 7x7x32 -> 14x14x16 ->
  28x28x3."""
  size, channels = image_shape[0], image_shape[-1]
  start, steps = upsampling_plan(size)
  inputs = keras.Input((noise_dim,))
  h = inputs
  for units in (SMNIST_DENSE, start * start * width * 2 ** max(steps - 1, 0)):
    h = _normalized(keras.layers.Dense(units, use_bias=False)(h))
  h = keras.layers.Reshape((start, start, width * 2 ** max(steps - 1, 0)))(h)
  widths = [width * 2 ** (i - 1) for i in range(steps - 1, 0, -1)]
  return keras.Model(inputs, _upsampled(h, widths, 5, channels, steps > 0), name=name)


def smnist_discriminator(image_shape, width: int = 16, name: str = "discriminator",
                         outputs: int = 1) -> keras.Model:
  """The LBT authors' Stacked MNIST discriminator (default flags: no batch
  norm): convolutions (4x4, stride 2) of w, 2w, ... channels with leaky ReLU
  (0.2), dense 1024 with leaky ReLU, one logit (or `outputs`). At 28x28 with w = 16
  (theirs): 14x14x16 -> 7x7x32 -> 1024 -> 1. Their `-d_ratio` scales w
  only, as `--discriminator-width` does here."""
  _, steps = upsampling_plan(image_shape[0])
  inputs = keras.Input(tuple(image_shape))
  h = inputs
  for i in range(steps):
    h = keras.layers.Conv2D(width * 2 ** i, 4, strides=2, padding="same", use_bias=i == 0)(h)
    h = keras.layers.LeakyReLU(0.2)(h)
  h = keras.layers.Dense(SMNIST_DENSE, use_bias=False)(keras.layers.Flatten()(h))
  h = keras.layers.LeakyReLU(0.2)(h)
  return keras.Model(inputs, keras.layers.Dense(outputs)(h), name=name)


IMAGE_NETWORKS = {"dcgan": (dcgan_generator, dcgan_discriminator),
                  "lbt-smnist": (smnist_generator, smnist_discriminator)}
