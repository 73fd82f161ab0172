"""Run the package's command lines in real processes."""

import os
import subprocess
import sys

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
