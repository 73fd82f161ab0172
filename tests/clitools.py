"""Run the package's command lines: in real processes, or in this one."""

import contextlib
import importlib
import io
import os
import signal
import subprocess
import sys
import time

import pytest

from lbt_tf import cli

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


def run_here(module, *args, env=None):
  """`python -m module ARGS` run in this process: the command's own `main`,
  on real files, with its output and exit status returned as `run` returns
  them, without a new interpreter's TensorFlow start-up (about 7 s of CPU of
  a 12-s ring run). For what a command writes, prints and refuses; what only
  a process shows (a signal, a kill, a fresh import, its memory, its
  native stderr) is tested with `run` or `start`."""
  entry = importlib.import_module(module)
  main = getattr(entry, "main", None) or importlib.import_module(f"{module}.__main__").main
  stdout, stderr = io.StringIO(), io.StringIO()
  handlers = {signum: signal.getsignal(signum)
              for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
  saved_environment = dict(os.environ)
  os.environ.update(env or {})
  returncode = 0
  try:
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
      main([str(arg) for arg in args])
  except SystemExit as e:
    returncode = e.code if isinstance(e.code, int) else int(e.code is not None)
  finally:
    os.environ.clear()
    os.environ.update(saved_environment)
    for signum, handler in handlers.items():  # the command installs its own
      signal.signal(signum, handler)
    cli.SIGNALLED.clear()  # what the command received stops no later training here
  return subprocess.CompletedProcess([module, *map(str, args)], returncode,
                                     stdout.getvalue(), stderr.getvalue())


def run_fresh_and_list_tensorflow(module, *args):
  """`module.main(ARGS)` in a new interpreter (its SystemExit caught); the
  CompletedProcess, whose stdout ends with whether TensorFlow was imported:
  "TF LOADED" or "no tensorflow". For what must be refused or shown before
  TensorFlow's start-up."""
  code = ("import importlib, sys\n"
          "try:\n"
          "  importlib.import_module(sys.argv[1]).main(sys.argv[2:])\n"
          "except SystemExit:\n"
          "  pass\n"
          "print('TF LOADED' if 'tensorflow' in sys.modules else 'no tensorflow')\n")
  return subprocess.run([sys.executable, "-c", code, module, *map(str, args)],
                        capture_output=True, text=True, timeout=120)


def hangup_as_in_a_terminal():
  """For a started process: SIGHUP's default action, as in a terminal's
  session. Under `nohup` (a CI script's) it would inherit SIGHUP ignored, and
  the commands rightly keep it so: the tests of a hangup would see none."""
  signal.signal(signal.SIGHUP, signal.SIG_DFL)


def start(module, *args, env=None):
  return subprocess.Popen([sys.executable, "-m", module, *map(str, args)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=environment(env),
                          preexec_fn=hangup_as_in_a_terminal)


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


def run_with_memory_limit(headroom_mb: int, module, *args, timeout=600, env=None):
  """`python -m module args` (or `python module.py args`) allowed
  `headroom_mb` MiB of address space beyond TensorFlow's own start-up."""
  return subprocess.run([sys.executable, "-c", MEMORY_LIMITED, str(headroom_mb), module,
                         *map(str, args)], capture_output=True, text=True,
                        timeout=timeout, env=environment(dict(FEW_THREADS, **(env or {}))))
