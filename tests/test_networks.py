"""The networks have the shapes the data needs."""

import keras
import numpy as np
import pytest

from lbt_tf import networks


@pytest.mark.parametrize("shape, plan", [((64, 64, 3), (4, 4)), ((32, 32, 3), (4, 3)),
                                         ((28, 28, 3), (7, 2)), ((8, 8, 3), (4, 1))])
def test_dcgan_networks_fit_every_image_size(shape, plan):
  assert networks.upsampling_plan(shape[0]) == plan
  generator = networks.dcgan_generator(16, shape, width=8)
  discriminator = networks.dcgan_discriminator(shape, width=8)
  images = generator(keras.random.normal((5, 16)), training=True)
  assert images.shape == (5, *shape)
  assert 0 <= float(np.min(images)) and float(np.max(images)) <= 1  # sigmoid
  assert discriminator(images).shape == (5, 1)


def test_width_sets_the_network_size():
  small = networks.dcgan_generator(16, (28, 28, 3), width=8).count_params()
  large = networks.dcgan_generator(16, (28, 28, 3), width=32).count_params()
  # the first dense layer grows with width, the convolutions with width^2
  assert 4 * small < large < 16 * small


def test_the_authors_stacked_mnist_networks():
  """LBT-GAN_smnist.py's G and D at their default flags (width 16)."""
  g = networks.smnist_generator(256, (28, 28, 3), 16)
  shapes = [tuple(layer.output.shape[1:]) for layer in g.layers
            if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2DTranspose))]
  assert shapes == [(1024,), (1568,), (14, 14, 16), (28, 28, 3)]
  assert {layer.kernel_size for layer in g.layers
          if isinstance(layer, keras.layers.Conv2DTranspose)} == {(5, 5)}
  d = networks.smnist_discriminator((28, 28, 3), 16)
  shapes = [tuple(layer.output.shape[1:]) for layer in d.layers
            if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))]
  assert shapes == [(14, 14, 16), (7, 7, 32), (1024,), (1,)]
  assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in d.layers)
  quarter = networks.smnist_discriminator((28, 28, 3), 4)  # -d_ratio 0.25
  assert [tuple(layer.output.shape[1:]) for layer in quarter.layers
          if isinstance(layer, keras.layers.Conv2D)] == [(14, 14, 4), (7, 7, 8)]
