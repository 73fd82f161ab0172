"""The networks of the 2-D experiments: MLP generator and discriminator.

The paper uses two-hidden-layer MLPs with 128 units for every network on the
2-D data; the VAE estimator is in `estimator.py`.
"""

from typing import Sequence

import keras


def mlp(input_dim: int, hidden_units: Sequence[int], output_dim: int,
        activation: str, name: str, dtype=None) -> keras.Model:
  """A built MLP: hidden layers with `activation`, linear output."""
  inputs = keras.Input((input_dim,), dtype=dtype)
  h = inputs
  for i, units in enumerate(hidden_units):
    h = keras.layers.Dense(units, activation=activation, name=f"hidden_{i}",
                           dtype=dtype)(h)
  outputs = keras.layers.Dense(output_dim, name="output", dtype=dtype)(h)
  return keras.Model(inputs, outputs, name=name)


def mlp_generator(noise_dim: int, data_dim: int, hidden_units: Sequence[int],
                  activation: str = "tanh", dtype=None) -> keras.Model:
  """G(z; phi): noise [batch, noise_dim] -> samples [batch, data_dim]."""
  return mlp(noise_dim, hidden_units, data_dim, activation, "generator", dtype)


def mlp_discriminator(data_dim: int, hidden_units: Sequence[int],
                      activation: str = "tanh", dtype=None) -> keras.Model:
  """D(x): samples -> one logit each (probability of 'real' is its sigmoid)."""
  return mlp(data_dim, hidden_units, 1, activation, "discriminator", dtype)
