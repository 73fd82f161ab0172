"""Resuming, fine-tuning and never losing work: real kills, real corruption,
real divergence. Runs that are only looked at through their files train in
the test's process (`clitools.run_here`); a resume that must find all its
state on disk, and every signal and kill, is a real process."""

import fcntl
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import termios
import time

import numpy as np
import pytest
import tensorflow as tf

from lbt_tf import checkpointing, train_lib
from lbt_tf import config as config_lib
from tests import clitools

# LBT-GAN with the ring preset's KDE teacher, a checkpoint every 10 iterations.
RUN = ["--eval-every", "10", "--checkpoint-every", "10", *clitools.SMALL_RUN]
# The VAE teacher: its Adam moments and decoder variance are the state the
# tests that compare, poison and copy checkpoints look at. Its unrolled step
# traces for twice as long as the KDE's, so the tests that only stop, kill or
# corrupt a run train RUN.
VAE_RUN = [*RUN, "--estimator", "vae", "--estimator-steps", "2"]
# Deterministic ops for a real process; in the test's process TensorFlow has
# started already, on one thread per pool (conftest), which is deterministic.
DETERMINISTIC = {"TF_DETERMINISTIC_OPS": "1"}


def train(workdir, *args, env=None, run=VAE_RUN, process=False):
  command = clitools.run if process else clitools.run_here
  return command("lbt_tf.train", "--workdir", workdir, *run, *args, env=env)


def checkpoint_values(prefix) -> dict:
  reader = tf.train.load_checkpoint(str(prefix))
  return {key: reader.get_tensor(key)
          for key in reader.get_variable_to_shape_map()
          if not key.startswith("_CHECKPOINTABLE") and "save_counter" not in key}


def one_error_line(result, prog="lbt_tf.train"):
  lines = result.stderr.strip().splitlines()
  assert result.returncode == 1 and len(lines) == 1, result.stderr[-2000:]
  assert lines[0].startswith(f"{prog}: error: ")
  return lines[0]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
  """40 iterations in one go, deterministic ops."""
  workdir = tmp_path_factory.mktemp("ckpt") / "straight"
  result = train(workdir, "--steps", "40", env=DETERMINISTIC)
  assert result.returncode == 0, result.stderr[-3000:]
  return workdir


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(finished_run, tmp_path):
  workdir = tmp_path / "resumed"
  first = train(workdir, "--steps", "20", env=DETERMINISTIC)
  assert first.returncode == 0, first.stderr[-3000:]
  # A new process: what it resumes from is on disk, nothing in memory.
  second = train(workdir, "--steps", "40", env=DETERMINISTIC, process=True)
  assert second.returncode == 0, second.stderr[-3000:]
  assert "resuming from the checkpoint at step 20" in second.stdout

  straight = checkpoint_values(finished_run / "checkpoints" / "ckpt-40")
  resumed = checkpoint_values(workdir / "checkpoints" / "ckpt-40")
  assert straight.keys() == resumed.keys()
  assert any(k.startswith("estimator_optimizer") for k in straight)  # Adam state too
  for key in straight:
    np.testing.assert_allclose(resumed[key], straight[key], rtol=1e-5, atol=1e-6,
                               err_msg=key)
  rows = (workdir / "metrics.csv").read_text().strip().splitlines()[1:]
  assert [int(float(r.split(",")[0])) for r in rows] == [10, 20, 30, 40]


def latest_step(workdir):
  latest = tf.train.latest_checkpoint(str(workdir / "checkpoints"))
  return int(latest.rsplit("-", 1)[1]) if latest else 0


def test_sigkill_loses_at_most_the_steps_since_the_last_checkpoint(tmp_path):
  workdir = tmp_path / "killed"
  process = clitools.train_until_checkpoint(workdir, RUN, 30)
  os.kill(process.pid, signal.SIGKILL)
  process.wait()
  # The newest complete checkpoint, found from its files as the run finds it:
  # a kill between writing ckpt-N and updating the index (a loaded machine
  # makes that window wide) leaves ckpt-N whole, and the run resumes from it.
  saved = max(clitools.checkpoint_steps(workdir))
  assert saved >= 30

  result = clitools.run_here("lbt_tf.train", "--workdir", workdir, "--resume",
                             "--steps", saved + 10)
  assert result.returncode == 0, result.stderr[-3000:]
  assert f"resuming from the checkpoint at step {saved}" in result.stdout
  metrics = json.loads((workdir / "metrics.json").read_text())
  assert metrics["step"] == saved + 10
  steps = [int(float(r.split(",")[0]))
           for r in (workdir / "metrics.csv").read_text().strip().splitlines()[1:]]
  assert steps == sorted(set(steps)) and steps[-1] == saved + 10


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_ctrl_c_or_sigterm_saves_a_checkpoint_and_says_how_to_resume(tmp_path, signum):
  """Ctrl-C, a scheduler's SIGTERM or a hangup, also when started in the
  background (where SIGINT would be ignored)."""
  workdir = tmp_path / "interrupted"
  process = clitools.train_until_checkpoint(workdir, RUN, 20)
  process.send_signal(signum)
  _, stderr = process.communicate(timeout=120)
  lines = stderr.strip().splitlines()
  assert process.returncode == 1 and len(lines) == 1, stderr[-2000:]
  step = latest_step(workdir)
  assert step >= 20
  assert lines[0] == (f"lbt_tf.train: error: interrupted at step {step}; saved "
                      f"{workdir / 'checkpoints' / f'ckpt-{step}'}; run the same "
                      "command to resume")


def test_a_closed_terminal_saves_a_checkpoint(tmp_path):
  """Training in a terminal that closes (a dropped SSH session): the kernel
  sends SIGHUP, and the run saves its state at that step before it ends
  (periodic checkpoints are too far apart to have saved anything), though
  the terminal it would report to is gone."""
  workdir = tmp_path / "hangup"
  main, terminal = pty.openpty()
  process = subprocess.Popen(
      [sys.executable, "-m", "lbt_tf.train", "--workdir", str(workdir), *RUN,
       "--method", "gan", "--steps", "100000", "--checkpoint-every", "100000"],
      stdin=terminal, stdout=terminal, stderr=terminal, env=clitools.environment(),
      start_new_session=True,  # its own session, with the pty as its terminal:
      preexec_fn=lambda: (clitools.hangup_as_in_a_terminal(),
                          fcntl.ioctl(0, termios.TIOCSCTTY, 0)))
  os.close(terminal)
  output, deadline = b"", time.time() + 300
  while len((workdir / "metrics.csv").read_text().splitlines()
            if (workdir / "metrics.csv").exists() else []) < 2:  # it trains
    assert time.time() < deadline and process.poll() is None, output[-2000:]
    if select.select([main], [], [], 0.2)[0]:  # what it shows on its terminal
      output += os.read(main, 65536)
  os.close(main)  # the terminal goes away
  assert process.wait(timeout=120) == 1  # stopped by the hangup, through the save
  (step,) = checkpointing.checkpoint_files(workdir / "checkpoints")  # whole: index and data
  assert checkpointing.prefix_step(step) >= 10


def test_steps_below_the_latest_checkpoint_are_refused_and_nothing_changes(finished_run):
  """--resume --steps 20 on a run at step 40 would record steps 20 for a
  run trained to 40: refused, config.json untouched."""
  before = {p: p.read_bytes() for p in finished_run.rglob("*") if p.is_file()}
  result = clitools.run_here("lbt_tf.train", "--workdir", finished_run, "--resume",
                             "--steps", "20")
  assert one_error_line(result) == (
      f"lbt_tf.train: error: --steps 20 is below step 40 of this run's latest checkpoint "
      f"({finished_run / 'checkpoints' / 'ckpt-40'}); a run is never cut back: give "
      "--steps 40 or more, or choose a new --workdir")
  after = {p: p.read_bytes() for p in finished_run.rglob("*") if p.is_file()}
  assert after == before


def test_a_corrupted_latest_checkpoint_is_reported_and_the_previous_used(finished_run, tmp_path):
  workdir = tmp_path / "corrupt"
  result = train(workdir, "--steps", "30", run=RUN)
  assert result.returncode == 0, result.stderr[-3000:]
  (data_file,) = (workdir / "checkpoints").glob("ckpt-30.data-*")
  data_file.write_bytes(b"\x00garbage" * 100)

  result = train(workdir, "--steps", "40", run=RUN)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "checkpoints/ckpt-30 is unreadable" in result.stdout
  assert "resuming from the checkpoint at step 20" in result.stdout
  assert list((workdir / "checkpoints").glob("ckpt-30.corrupt.data-*"))  # kept
  assert json.loads((workdir / "metrics.json").read_text())["step"] == 40


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(finished_run, tmp_path):
  workdir = tmp_path / "poisoned"
  shutil.copytree(finished_run, workdir)  # a finished VAE run, at step 40
  # Poison the state: a decoder variance of exp(-200) underflows to 0 in
  # float32, so the very next ELBO is infinite. Saved as the step-40 state.
  config = config_lib.load(workdir)
  trainer = train_lib.build_trainer(config)
  checkpointer = checkpointing.Checkpointer(trainer, workdir)
  assert checkpointer.restore_latest() == 40
  trainer.estimator.log_variance.assign(-200.0)
  checkpointer.save()
  kept = sorted(p.name for p in (workdir / "checkpoints").iterdir())

  result = train(workdir, "--steps", "60")
  line = one_error_line(result)
  assert "training stopped: " in line and "by step 50" in line
  assert ("nan" in line or "inf" in line)
  assert f"the last good checkpoint {workdir / 'checkpoints' / 'ckpt-40'} is kept" in line
  assert sorted(p.name for p in (workdir / "checkpoints").iterdir()) == kept
  assert sorted(p.name for p in (workdir / "generator").iterdir()) == ["1"]  # from the first run only


def test_init_from_copies_network_weights_only(finished_run):
  source = train_lib.build_trainer(config_lib.load(finished_run))
  checkpointing.restore_exactly(source, finished_run / "checkpoints" / "ckpt-40")
  config = config_lib.make_config("ring", {
      "estimator": "vae", "noise_dim": 16, "generator_units": (32, 32), "estimator_units": (32, 32),
      "discriminator_units": (32, 32), "num_modes": 4, "radius": 2.0})
  trainer = train_lib.build_trainer(config)
  reports = []
  prefix = checkpointing.load_network_weights(trainer, finished_run, reports.append)
  assert prefix.endswith("ckpt-40") and reports == []
  for name in ("generator", "discriminator", "estimator"):
    for copied, original in zip(getattr(trainer, name).weights,
                                getattr(source, name).weights):
      np.testing.assert_array_equal(copied.numpy(), original.numpy())
  assert checkpointing.step_of(trainer) == 0  # fresh optimizers
  assert not np.any(trainer.estimator_optimizer.variables[2].numpy())  # no Adam moments


def test_fine_tuning_on_another_mixture_runs_end_to_end(finished_run, tmp_path):
  result = train(tmp_path / "tuned", "--steps", "10", "--num-modes", "4",
                 "--init-from", finished_run)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "networks initialised from" in result.stdout


def test_init_from_an_incompatible_architecture_names_network_and_shapes(finished_run, tmp_path):
  result = train(tmp_path / "wide", "--steps", "10", "--generator-units", "64,64",
                 "--init-from", finished_run)
  line = one_error_line(result)
  assert "the generator does not match" in line
  assert "(16, 32)" in line or "(16, 64)" in line


@pytest.mark.parametrize("kind", ["missing", "foreign", "empty"])
def test_init_from_a_bad_path_fails_in_one_line(tmp_path, kind):
  target = tmp_path / kind
  if kind == "foreign":
    target.mkdir()
    (target / "notes.txt").write_text("not a run")
  elif kind == "empty":
    target.mkdir()
  result = train(tmp_path / "run", "--steps", "10", "--init-from", target)
  line = one_error_line(result)
  assert str(target) in line
