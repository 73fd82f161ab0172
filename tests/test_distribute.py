"""tf.distribute: N replicas compute the single-device iteration, and two
worker processes on localhost train one model."""

import json
import pathlib
import socket
import subprocess
import sys

from tests import clitools

SCRIPT = pathlib.Path(__file__).parent / "replica_equivalence.py"


def test_two_replicas_give_the_single_device_weights():
  """Same global batch and seeds: after 6 iterations every network,
  optimizer slot and random state matches the one-device run to float32
  rounding (we measure 3e-6 relative). The ring run (lbt-gan: LBT's
  teaching term and the discriminator's) teaches the ring preset's KDE: its
  centres are the K = 2 batches of the whole global batch's samples (no
  estimator updates, no unroll). The image run
  (stacked_digits:lbt-gan) teaches the VAE: M = 2 estimator updates and
  K = 2 unrolled ones per iteration, summed over replicas inside the
  unroll. With Keras's per-replica gradient clipping, which
  `replicas.apply_gradients` replaces, the difference is 0.95. On images
  (DCGAN-style G with batch norm) we measure 4e-7; with per-replica batch
  norm statistics instead of synchronized ones, 7e-3."""
  runs = ("lbt-gan", "stacked_digits:lbt-gan")
  result = subprocess.run([sys.executable, str(SCRIPT), *runs],
                          capture_output=True, text=True, timeout=900,
                          env=clitools.environment())
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads(result.stdout.strip().splitlines()[-1])
  for run in runs:
    assert report[run]["replicas"] == 2 and report[run]["steps"] == 6
    assert report[run]["generator_moved"] > 1e-3  # it really trained
    assert report[run]["max_difference"] < 1e-4, report


def free_port():
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


TINY = ["--dataset", "ring", "--method", "lbt-gan", "--strategy", "multi-worker",
        "--eval-every", "10", "--checkpoint-every", "10",
        *clitools.SMALL_RUN]


def run_two_workers(workdir, steps):
  ports = [free_port(), free_port()]
  cluster = {"worker": [f"localhost:{port}" for port in ports]}
  workers = [clitools.start(
      "lbt_tf.train", "--workdir", workdir, "--steps", steps, *TINY,
      env={"TF_CONFIG": json.dumps({"cluster": cluster,
                                    "task": {"type": "worker", "index": i}})})
             for i in range(2)]
  outputs = [w.communicate(timeout=600) for w in workers]
  for worker, (_, stderr) in zip(workers, outputs):
    assert worker.returncode == 0, stderr[-3000:]
  return [stdout for stdout, _ in outputs]


def fingerprint(stdout):
  line = [l for l in stdout.splitlines() if "weights fingerprint" in l][-1]
  return line.split("fingerprint")[1].split()[0].strip("()")


def test_two_workers_train_one_model_and_resume(tmp_path):
  workdir = tmp_path / "run"
  chief, other = run_two_workers(workdir, 20)
  assert "on 2 replicas (worker 1 of 2)" in other
  assert fingerprint(chief) == fingerprint(other)
  # Only the chief writes: its checkpoints, metrics and export.
  assert (workdir / "checkpoints/ckpt-20.index").exists()
  assert json.loads((workdir / "metrics.json").read_text())["replicas"] == 2
  assert (workdir / "generator/1/saved_model.pb").exists()

  chief, other = run_two_workers(workdir, 30)  # both resume the chief's step 20
  for stdout in (chief, other):
    assert "resuming from the checkpoint at step 20" in stdout
  assert fingerprint(chief) == fingerprint(other)
  assert json.loads((workdir / "metrics.json").read_text())["step"] == 30


def test_multi_worker_without_a_cluster_fails_in_one_line(tmp_path):
  env = {"TF_CONFIG": ""}
  result = clitools.run("lbt_tf.train", "--strategy", "multi-worker",
                        "--workdir", tmp_path / "run", env=env)
  assert result.returncode != 0
  assert "needs TF_CONFIG" in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1, result.stderr
