"""Run the package's command lines in real processes."""

import os
import subprocess
import sys
import time

import pytest

# Small networks and K = 2 (tracing K = 5 costs seconds per process): a run
# is seconds, not minutes.
SMALL_RUN = ["--unroll-steps", "2", "--eval-samples", "2000",
             "--final-eval-samples", "20000",
             "--generator-units", "32,32", "--estimator-units", "32,32",
             "--discriminator-units", "32,32", "--noise-dim", "16",
             "--batch-size", "128"]


def environment(extra=None):
  return dict(os.environ, **(extra or {}))


def run(module, *args, env=None, timeout=600):
  return subprocess.run([sys.executable, "-m", module, *map(str, args)],
                        capture_output=True, text=True, timeout=timeout,
                        env=environment(env))


def start(module, *args, env=None):
  return subprocess.Popen([sys.executable, "-m", module, *map(str, args)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=environment(env))


def checkpoint_steps(workdir):
  """The steps of a run's intact checkpoints, read from the files."""
  return sorted(int(p.name[5:-6]) for p in (workdir / "checkpoints").glob("ckpt-*.index")
                if ".corrupt" not in p.name)


def train_until_checkpoint(workdir, run_args, until_step, *extra):
  """A training of 100,000 steps, returned running once it has checkpointed
  `until_step`; fails the test if it dies or takes over 5 minutes."""
  process = start("lbt_tf.train", "--workdir", workdir, *run_args, "--steps", "100000", *extra)
  deadline = time.time() + 300
  while not (workdir / "checkpoints").exists() or max(checkpoint_steps(workdir),
                                                       default=0) < until_step:
    if time.time() > deadline or process.poll() is not None:
      process.kill()
      pytest.fail(f"no checkpoint at step {until_step}: {process.communicate()[1][-2000:]}")
    time.sleep(0.2)
  return process
