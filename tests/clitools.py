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


# Runs a command line with its address space (`ulimit -v`) limited to what
# TensorFlow's start-up maps plus a headroom: the process itself measures
# its size once TensorFlow is loaded and its thread pools are up, so the
# limit means the same on any machine. Two threads per pool and two malloc
# arenas keep that size from growing with the number of cores.
MEMORY_LIMITED = """
import os, resource, runpy, sys
saved = os.dup(2)
os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # TensorFlow's native start-up logs
import tensorflow as tf
tf.reduce_sum(tf.random.normal([64, 64]) @ tf.random.normal([64, 64])).numpy()
os.dup2(saved, 2)
size = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
limit = size + int(sys.argv[1]) * 2**20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
module, sys.argv = sys.argv[2], [sys.argv[2]] + sys.argv[3:]
if module.endswith(".py"):
  runpy.run_path(module, run_name="__main__")
else:
  runpy.run_module(module, run_name="__main__", alter_sys=True)
"""
FEW_THREADS = {"MALLOC_ARENA_MAX": "2", "TF_NUM_INTEROP_THREADS": "2",
               "TF_NUM_INTRAOP_THREADS": "2"}


def run_with_memory_limit(headroom_mb: int, module, *args, timeout=600):
  """`python -m module args` (or `python module.py args`) allowed
  `headroom_mb` MiB of address space beyond TensorFlow's own start-up."""
  return subprocess.run([sys.executable, "-c", MEMORY_LIMITED, str(headroom_mb), module,
                         *map(str, args)], capture_output=True, text=True,
                        timeout=timeout, env=environment(FEW_THREADS))
