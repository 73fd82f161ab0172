"""Run a package command line with TFDS's mock data (nothing downloaded).

  python -m tests.mock_tfds_main lbt_tf.train --dataset celeb_a --steps 2

`tfds.testing.mock_data` makes `tfds.load` yield correctly shaped random
examples (MOCK_EXAMPLES of them, default 32) for mnist, cifar10 and celeb_a;
everything else in the process is real.
"""

import os
import runpy
import sys

import tensorflow_datasets as tfds


def main():
  module, sys.argv = sys.argv[1], [sys.argv[1]] + sys.argv[2:]
  with tfds.testing.mock_data(num_examples=int(os.environ.get("MOCK_EXAMPLES", "32"))):
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
  main()
