"""Memory stays bounded where a user can scale a number, done for real: the
commands run under an address-space limit (`ulimit -v`, see
`clitools.run_with_memory_limit`), and what cannot fit fails in one line."""

import pathlib
import re
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from lbt_tf import networks
from lbt_tf.errors import describe
from lbt_tf.estimators import kde
from lbt_tf.export import saved_model
from tests import clitools
from tests.test_reliability import in_small_filesystem, one_error_line


def test_the_kernel_teacher_trains_a_large_batch_in_bounded_memory(tmp_path):
  """Batch 8,000 with K = 2: the whole [8,000 x 16,000] distance matrix is
  512 MB, and a gradient holds several; taken block by block, the run fits
  in 750 MB beyond TensorFlow's own start-up (measured: the whole matrices
  fail there with an OOM or a segfault, blocks pass with 400)."""
  workdir = tmp_path / "run"
  result = clitools.run_with_memory_limit(
      750, "lbt_tf.train", "--workdir", workdir, "--dataset", "ring", "--method", "lbt",
      "--estimator", "kde", "--batch-size", "8000", "--unroll-steps", "2",
      "--steps", "2", "--eval-every", "2", "--checkpoint-every", "2",
      "--eval-samples", "2000", "--final-eval-samples", "2000",
      "--generator-units", "32,32", "--noise-dim", "16")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "2 iterations in" in result.stdout


def test_kernel_sums_in_blocks_equal_the_whole_matrix_with_their_gradients():
  rng = np.random.default_rng(0)
  x, centers = tf.constant(rng.normal(size=(37, 2))), tf.constant(rng.normal(size=(23, 2)))
  h = tf.constant(0.3, tf.float64)
  weights = tf.range(1, 38, dtype=tf.float64)  # a different upstream gradient per row

  def value_and_gradients(block_pairs):
    with tf.GradientTape() as tape:
      tape.watch([x, centers, h])
      sums = kde.kernel_log_sums(x, centers, h, block_pairs)
      loss = tf.reduce_sum(sums * weights)
    return [sums] + tape.gradient(loss, [x, centers, h])

  whole = value_and_gradients(37 * 23)
  for block_pairs in (1, 50, 37 * 23 - 1):  # 37, 17 and 2 blocks (the last one short)
    for a, b in zip(value_and_gradients(block_pairs), whole):
      np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
  traced = tf.function(lambda: value_and_gradients(50))()
  for a, b in zip(traced, whole):
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_tensorflows_out_of_memory_is_one_line_that_says_what_to_lower():
  """A real ResourceExhaustedError, eager and from a graph, whose first line
  is "Graph execution error:" and nothing else (see also the SavedModel's
  below)."""
  @tf.function
  def huge(n):  # n, not a constant: nothing to fold at trace time
    return tf.reduce_sum(tf.ones(tf.stack([n, n])))

  side = 1 << 18  # 256 GB of float32
  for attempt in (lambda: tf.ones([side, side]), lambda: huge(tf.constant(side))):
    with pytest.raises(tf.errors.ResourceExhaustedError) as caught:
      attempt()
    assert describe(caught.value) == (
        "out of memory (OOM when allocating tensor with shape[262144,262144] and type "
        "float); ask for fewer samples or a smaller --batch-size")


# -- lbt_tf.sample --------------------------------------------------------------------

@pytest.fixture(scope="module")
def exports(tmp_path_factory):
  """A 64x64x3 image generator and a 2-D one, exported as training does
  (weights untrained: only sizes matter here)."""
  base = tmp_path_factory.mktemp("exports")
  images = saved_model.export_generator(
      networks.dcgan_generator(8, (64, 64, 3), width=2), 8, base / "images",
      metadata={"image_shape": [64, 64, 3]})
  points = saved_model.export_generator(
      networks.mlp_generator(8, 2, (16,), "tanh"), 8, base / "points")
  return {"images": images, "points": points}


def test_an_exported_generator_out_of_memory_is_one_line(exports):
  """A loaded SavedModel's error has "<stack traces unavailable>" where the
  Python stack would be: the cause is the line after it. In a process
  limited to 1 GB beyond TensorFlow's start-up, 65,536 64x64 images at once.

  With oneDNN off: where TensorFlow turns it on (x86 CPUs with AVX-512 VNNI
  or AMX, e.g. this machine since 2026-11-30), its transposed convolution
  does not raise but kills the process with SIGSEGV (measured: exit -11,
  no output), TensorFlow's open bug tensorflow/tensorflow#108621; README
  says so. `lbt_tf.sample` never asks for so much at once."""
  code = ("import sys, tensorflow as tf\n"
          "from lbt_tf.errors import describe\n"
          "sample = tf.saved_model.load(sys.argv[1]).signatures['sample']\n"
          "try:\n"
          "  sample(num_samples=tf.constant(1 << 16), seed=tf.constant(1, tf.int64))\n"
          "except tf.errors.ResourceExhaustedError as e:\n"
          "  print(describe(e))\n")
  script = pathlib.Path(exports["images"]).parent.parent / "oom.py"
  script.write_text(code)
  result = clitools.run_with_memory_limit(1000, str(script), exports["images"],
                                          env={"TF_ENABLE_ONEDNN_OPTS": "0"})
  assert re.fullmatch(r"out of memory \(OOM when allocating tensor with shape\[65536(,\d+)+\] "
                      r"and type float\); ask for fewer samples or a smaller --batch-size",
                      result.stdout.strip()), result.stdout + result.stderr[-2000:]


def test_sample_draws_images_in_chunks_sized_from_their_bytes(exports, tmp_path):
  """12,000 64x64x3 images: drawn at once (as 100,000-sample chunks did),
  their float32 output alone is 590 MB and the run fails within 600 MB
  beyond TensorFlow's start-up (measured); in chunks sized from one
  sample's bytes it needs under 150."""
  out = tmp_path / "images.npy"
  result = clitools.run_with_memory_limit(400, "lbt_tf.sample", "--model", exports["images"],
                                          "-n", "12000", "--seed", "2", "--out", out)
  assert result.returncode == 0, result.stderr[-3000:]
  images = np.load(out, mmap_mode="r")
  assert images.shape == (12000, 64, 64, 3) and images.dtype == np.uint8
  assert not np.array_equal(images[:100], images[-100:])  # every chunk its own seed
  assert [p.name for p in tmp_path.iterdir()] == ["images.npy"]  # no staging left


def test_sample_refuses_a_picture_of_too_many_images_before_drawing_any(exports, tmp_path):
  """Refused from the signature's output shape: under a limit that drawing
  20,000 images at once would exceed, the refusal still comes, alone."""
  result = clitools.run_with_memory_limit(400, "lbt_tf.sample", "--model", exports["images"],
                                          "-n", "20000", "--out", tmp_path / "grid.png")
  assert one_error_line(result, "lbt_tf.sample").endswith(
      "a picture of 20,000 samples is too many (at most 10,000); write a .npy")
  assert not list(tmp_path.iterdir())


def test_a_long_sample_job_says_how_long_and_a_kill_leaves_nothing(exports):
  """-n 3,000,000,000 (22.4 GiB) on a file system that holds it: a progress
  line with the time left comes after the first chunk; SIGTERM then stops it
  in one line and removes the partial file."""
  result = in_small_filesystem(textwrap.dedent(f"""
      $PY -m lbt_tf.sample --model {exports['points']} -n 3000000000 --out $DISK/s.npy \\
          2> $DISK/err &
      for i in $(seq 600); do grep -q "left" $DISK/err && break; sleep 0.2; done
      kill -TERM $!; wait $!; echo "EXIT $?"; echo ---; cat $DISK/err; echo ---; ls $DISK
      """), megabytes=30_000)
  status, errors, files = result.stdout.split("---")
  assert status.strip() == "EXIT 1", result.stdout + result.stderr
  lines = errors.strip().splitlines()
  assert re.fullmatch(r"lbt_tf.sample: 100,000 of 3,000,000,000 samples \(0\.0%\), "
                      r"about [0-9.]+ (s|min|h) left", lines[0]), lines
  assert lines[-1] == "lbt_tf.sample: error: interrupted", lines
  assert files.split() == ["err"]  # no partial .npy left
