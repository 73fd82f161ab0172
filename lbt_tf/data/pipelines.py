"""The tf.data options every pipeline of this package runs with.

tf.data's autotuner is off. With it on, deleting a pipeline's iterator
(which `Model.fit` does as it returns, and a Python loop over a dataset
does as it ends) can wait for the autotuner's thread to wake from a sleep
that starts at 10 ms and doubles up to 60 s. Measured on 64x64 images:
compiled training calls ending at 20.48, 40.96, 81.92 and 141.9 s, the
process idle, its main thread in tf.data's `RootDataset::Iterator`
destructor (docs/RESULTS.md, "The CelebA-size half"). That was the
training batches (`mixtures.training_batches`); loading a folder of 2,000
64x64 images (`image_data.to_arrays`) showed no such wait either way, and
runs without the autotuner too, so that no pipeline here depends on when
a thread wakes.

Without the autotuner a parallel `map` needs its thread count spelled out:
`THREADS` (the work per element is a random draw, a gather from memory or
an image decode, and two threads keep a training step fed on the machines
this was measured on).
"""

import tensorflow as tf

THREADS = 2


def without_autotuner(dataset: tf.data.Dataset) -> tf.data.Dataset:
  """`dataset` with tf.data's autotuning turned off (see the module doc)."""
  options = tf.data.Options()
  options.autotune.enabled = False
  return dataset.with_options(options)
