"""No lost work and no tracebacks, done for real: two processes on one run,
kills, torn and damaged files, full disks (a small tmpfs in a private mount
namespace), unreadable images, a real TFDS download over localhost. A run
that is only looked at through its files and output trains in the test's
process (`clitools.run_here`); kills, signals, full disks and a missing
network are real processes."""

import http.server
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from lbt_tf.data import image_data
from tests import clitools

RUN = ["--dataset", "ring", "--method", "gan", "--eval-every", "10",
       "--checkpoint-every", "10", *clitools.SMALL_RUN]


def train(workdir, *args, env=None):
  return clitools.run_here("lbt_tf.train", "--workdir", workdir, *RUN, *args, env=env)


def one_error_line(result, prog="lbt_tf.train"):
  lines = result.stderr.strip().splitlines()
  assert result.returncode != 0 and len(lines) == 1, result.stderr[-3000:]
  assert lines[0].startswith(f"{prog}: error: "), lines[0]
  return lines[0]


def metric_steps(workdir):
  rows = (workdir / "metrics.csv").read_text().splitlines()[1:]
  return [int(float(row.split(",")[0])) for row in rows]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  """`train --steps 30`, once for the module: checkpoints at 10, 20 and 30,
  an export. Tests that change a run change a copy of it."""
  workdir = tmp_path_factory.mktemp("reliability") / "run"
  result = train(workdir, "--steps", "30")
  assert result.returncode == 0, result.stderr[-3000:]
  return workdir


def copy_of(run, tmp_path):
  return shutil.copytree(run, tmp_path / "run")


def test_a_damaged_checkpoint_index_is_rebuilt_from_the_checkpoint_files(trained, tmp_path):
  workdir = copy_of(trained, tmp_path)
  before = {p.name: p.read_bytes() for p in (workdir / "checkpoints").glob("ckpt-*")}
  (workdir / "checkpoints" / "checkpoint").write_text("garbage {{{")
  result = train(workdir, "--steps", "40")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "checkpoints/checkpoint is damaged" in result.stdout
  assert "resuming from the checkpoint at step 30" in result.stdout
  kept = (workdir / "checkpoints" / "checkpoint.corrupt").read_text()
  assert kept == "garbage {{{"  # the evidence
  for name in ("ckpt-20.index", "ckpt-30.index"):  # valid ones never rewritten
    assert (workdir / "checkpoints" / name).read_bytes() == before[name]
  assert metric_steps(workdir) == [10, 20, 30, 40]
  # the rebuilt index lists them all, so the oldest is pruned as usual
  assert clitools.checkpoint_steps(workdir) == [20, 30, 40]
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  state = tf.train.get_checkpoint_state(str(workdir / "checkpoints"))
  assert [p.rsplit("-", 1)[1] for p in state.all_model_checkpoint_paths] == ["20", "30", "40"]


def test_a_start_that_failed_before_its_first_checkpoint_locks_nothing(tmp_path):
  """A discriminator learning rate of 1e38 overflows D at once: the message
  names --discriminator-lr, and the corrected command starts the run over
  (the failed start's files kept aside) instead of being refused."""
  workdir = tmp_path / "run"
  diverged = train(workdir, "--steps", "20", "--discriminator-lr", "1e38")
  line = one_error_line(diverged)
  assert "d_loss became" in line and "no checkpoint had been saved yet" in line
  assert line.endswith("try a lower --discriminator-lr") or \
      line.endswith("try a lower --discriminator-lr or --generator-lr"), line
  assert (workdir / "config.json").exists() and not clitools.checkpoint_steps(workdir)
  corrected = train(workdir, "--steps", "20")
  assert corrected.returncode == 0, corrected.stderr[-3000:]
  assert (f"{workdir} held a start with other settings that never saved a checkpoint; "
          f"starting over, its files moved to {workdir / 'earlier-start'}") in corrected.stdout
  assert json.loads((workdir / "config.json").read_text())["discriminator_lr"] == 1e-3
  earlier = json.loads((workdir / "earlier-start" / "config.json").read_text())
  assert earlier["discriminator_lr"] == 1e38  # the evidence, kept
  assert metric_steps(workdir) == [10, 20]


def test_two_trainings_on_one_run_directory(tmp_path):
  """The second fails in one line naming the first; after a kill -9 the
  next run says it takes over and resumes."""
  workdir = tmp_path / "run"
  first = clitools.train_until_checkpoint(workdir, RUN, 20)
  second = train(workdir, "--steps", "100000")
  line = one_error_line(second)
  assert f"{workdir} is being trained by pid {first.pid} on " in line
  assert "wait for it to finish or stop it" in line
  os.kill(first.pid, signal.SIGKILL)
  first.wait()
  saved = max(clitools.checkpoint_steps(workdir))
  third = train(workdir, "--steps", saved + 10)
  assert third.returncode == 0, third.stderr[-3000:]
  assert f"taking over {workdir} from pid {first.pid} on " in third.stdout
  steps = metric_steps(workdir)
  assert steps == sorted(set(steps)) and steps[-1] == saved + 10  # no row twice
  assert (workdir / ".lock").read_text() == ""  # released on a clean exit


def test_a_torn_metrics_row_is_dropped_and_the_resumed_steps_row_redone(trained, tmp_path):
  workdir = copy_of(trained, tmp_path)
  csv_path = workdir / "metrics.csv"
  rows = csv_path.read_text().splitlines(keepends=True)
  # killed between ckpt-30 and its row, and a row half-written by a later kill
  csv_path.write_text("".join(rows[:-1]) + "40,1.38,0.6")
  result = train(workdir, "--steps", "40")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "dropped a torn last row ('40,1.38,0.6')" in result.stdout
  assert metric_steps(workdir) == [10, 20, 30, 40]  # 30 scored again on resume
  assert json.loads((workdir / "metrics.json").read_text())["step"] == 40


def test_extending_a_run_needs_only_a_larger_steps(tmp_path):
  """Periods derived from --steps are not settings the user chose."""
  workdir = tmp_path / "run"
  short = clitools.run_here("lbt_tf.train", "--workdir", workdir, "--dataset", "ring",
                            "--method", "gan", "--steps", "20", *clitools.SMALL_RUN)
  assert short.returncode == 0, short.stderr[-2000:]
  longer = clitools.run_here("lbt_tf.train", "--workdir", workdir, "--dataset", "ring",
                             "--method", "gan", "--steps", "40", *clitools.SMALL_RUN)
  assert longer.returncode == 0, longer.stderr[-2000:]
  assert "resuming from the checkpoint at step 20" in longer.stdout
  assert "20 iterations in" in longer.stdout and "now at step 40" in longer.stdout
  assert metric_steps(workdir) == [20, 40]
  # piped output: one plain line per period, no progress-bar control codes
  assert "\r" not in longer.stdout and "\x1b[" not in longer.stdout
  again = clitools.run_here("lbt_tf.train", "--workdir", workdir, "--dataset", "ring",
                            "--method", "gan", "--steps", "40", *clitools.SMALL_RUN)
  assert "already trained, nothing to do" in again.stdout


def test_a_refused_init_from_writes_nothing(trained, tmp_path):
  source = trained
  target = tmp_path / "target"
  result = train(target, "--steps", "10", "--generator-units", "64,64",
                 "--init-from", source)
  assert "the generator does not match" in one_error_line(result)
  assert not target.exists()
  result = train(target, "--steps", "10", "--init-from", source)  # corrected
  assert result.returncode == 0, result.stderr[-2000:]


def test_a_checkpoint_corrupted_twice_keeps_both_pieces_of_evidence(trained, tmp_path):
  workdir = copy_of(trained, tmp_path)
  for steps in (40, 50):
    newest = max(clitools.checkpoint_steps(workdir))
    (data,) = (workdir / "checkpoints").glob(f"ckpt-{newest}.data-*")
    data.write_bytes(b"\x00garbage" * 64)
    result = train(workdir, "--steps", steps)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"ckpt-{newest} is unreadable" in result.stdout
  kept = sorted(p.name for p in (workdir / "checkpoints").glob("*.corrupt*.index"))
  assert kept == ["ckpt-30.corrupt.index", "ckpt-40.corrupt.index"] or len(kept) == 2
  assert json.loads((workdir / "metrics.json").read_text())["step"] == 50


def test_the_same_checkpoint_number_corrupted_twice_keeps_both(trained, tmp_path):
  workdir = copy_of(trained, tmp_path)
  for _ in range(2):
    (data,) = (workdir / "checkpoints").glob("ckpt-30.data-*")
    data.write_bytes(b"\x00garbage" * 64)
    result = train(workdir, "--steps", "30")
    assert result.returncode == 0, result.stderr[-3000:]
  kept = sorted(p.name for p in (workdir / "checkpoints").glob("ckpt-30.corrupt*.index"))
  assert kept == ["ckpt-30.corrupt-2.index", "ckpt-30.corrupt.index"]


# -- full disks ------------------------------------------------------------------

def in_small_filesystem(script: str, megabytes: int, timeout=600):
  """Run a shell `script` with $DISK a fresh tmpfs of `megabytes`, in a
  private mount namespace (unshare: as root or as a user)."""
  wrapped = (f"set -u; DISK=$(mktemp -d); mount -t tmpfs -o size={megabytes}m tmpfs $DISK; "
             f"PY={sys.executable}; {script}")
  return subprocess.run(["unshare", "-rm", "sh", "-c", wrapped], capture_output=True,
                        text=True, timeout=timeout, env=clitools.environment())


TRAIN = f"$PY -m lbt_tf.train {' '.join(RUN)}"


def test_a_full_disk_during_training_keeps_the_saved_checkpoints(tmp_path):
  result = in_small_filesystem(textwrap.dedent(f"""
      {TRAIN} --steps 100000 --workdir $DISK/run > $DISK/out 2> $DISK/err &
      until ls $DISK/run/checkpoints/ckpt-*.index > /dev/null 2>&1; do sleep 0.2; done
      dd if=/dev/zero of=$DISK/filler bs=64k 2> /dev/null
      wait $!; echo "EXIT $?"; cat $DISK/err
      ls $DISK/run/checkpoints
      rm $DISK/filler; {TRAIN} --steps 40 --workdir $DISK/run | grep resuming
      """), megabytes=12)
  out = result.stdout
  assert "EXIT 1" in out, out + result.stderr
  errors = [l for l in out.splitlines() if l.startswith("lbt_tf.train: error:")]
  assert len(errors) == 1 and "No space left on device" in errors[0]
  assert "could not write" in errors[0]
  assert ".index" in out and "_temp" not in out  # checkpoints kept, no partial one
  assert "resuming from the checkpoint at step" in out  # space back: it goes on


def test_a_full_disk_at_the_export_names_the_file_and_leaves_nothing(trained):
  run = trained
  result = in_small_filesystem(
      f"mkdir $DISK/serving; dd if=/dev/zero of=$DISK/filler bs=4k 2> /dev/null; "
      f"$PY -m lbt_tf.export --workdir {run} --export-dir $DISK/serving; echo EXIT $?; "
      f"ls -a $DISK/serving", megabytes=1)
  assert "EXIT 1" in result.stdout, result.stdout + result.stderr
  (line,) = result.stderr.strip().splitlines()
  assert line.startswith("lbt_tf.export: error: could not write the export ")
  assert "serving/1 (No space left on device)" in line
  assert result.stdout.split("EXIT 1")[1].split() == [".", ".."]  # no staging left


def test_a_full_disk_or_a_read_only_workdir_at_the_start_names_the_file(tmp_path):
  result = in_small_filesystem(textwrap.dedent(f"""
      dd if=/dev/zero of=$DISK/filler bs=4k 2> /dev/null
      {TRAIN} --steps 10 --workdir $DISK/full; echo "EXIT $?"
      rm $DISK/filler; mkdir $DISK/run; mount -o remount,ro $DISK
      {TRAIN} --steps 10 --workdir $DISK/run; echo "EXIT $?"
      {TRAIN} --steps 10 --workdir $DISK/new; echo "EXIT $?"
      """), megabytes=1)
  assert result.stdout.count("EXIT 1") == 3, result.stdout + result.stderr
  full, existing, new = result.stderr.strip().splitlines()
  assert re.fullmatch(r"lbt_tf.train: error: could not write /\S+/full/(\.lock|config\.json) "
                      r"\(No space left on device\); free some space and run the same "
                      r"command again", full), full
  assert re.fullmatch(r"lbt_tf.train: error: could not write /\S+/run/\.lock \(Read-only "
                      r"file system\); it is on a read-only file system: choose a writable "
                      r"--workdir", existing), existing
  assert "/new/.lock (Read-only file system)" in new


def test_sample_refuses_what_the_disk_cannot_hold_and_streams_the_rest(trained, tmp_path):
  run = trained
  result = in_small_filesystem(
      f"$PY -m lbt_tf.sample --model {run}/generator -n 3000000000 --out $DISK/s.npy;"
      f" echo EXIT $?; ls $DISK", megabytes=2)
  assert result.stdout.split() == ["EXIT", "1"]  # nothing written
  (line,) = result.stderr.strip().splitlines()
  assert "3,000,000,000 samples need 22.4 GiB" in line and "ask for fewer" in line
  big = clitools.run_here("lbt_tf.sample", "--model", run / "generator", "-n", "250000",
                          "--seed", "3", "--out", tmp_path / "big.npy")
  small = clitools.run_here("lbt_tf.sample", "--model", run / "generator", "-n", "1000",
                            "--seed", "3", "--out", tmp_path / "small.npy")
  assert big.returncode == small.returncode == 0, big.stderr + small.stderr
  many, few = np.load(tmp_path / "big.npy"), np.load(tmp_path / "small.npy")
  assert many.shape == (250000, 2)
  # the same noise: equal up to rounding (a matrix product of 100,000 rows
  # and one of 1,000 may round differently in the last bit)
  np.testing.assert_allclose(many[:1000], few, rtol=1e-5, atol=1e-6)
  assert not np.array_equal(many[:1000], many[100000:101000])  # chunks differ
  picture = clitools.run_here("lbt_tf.sample", "--model", run / "generator", "-n",
                              "2000000", "--out", tmp_path / "p.png")
  assert "write a .npy" in one_error_line(picture, "lbt_tf.sample")


# -- unreadable inputs -------------------------------------------------------------

def test_unreadable_images_in_a_folder_are_named_and_skipped(tmp_path):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  folder = tmp_path / "faces"
  folder.mkdir()
  for i in range(6):
    pixels = tf.cast(tf.random.uniform((12, 12, 3), maxval=255, seed=i), tf.uint8)
    (folder / f"{i}.png").write_bytes(tf.io.encode_png(pixels).numpy())
  (folder / "fake.jpg").write_text("not a JPEG at all")
  (folder / "cut.png").write_bytes((folder / "0.png").read_bytes()[:40])
  result = clitools.run_here("lbt_tf.train", "--dataset", f"folder:{folder}", "--method", "gan",
                        "--image-size", "8", "--steps", "2", "--batch-size", "4",
                        "--generator-width", "4", "--discriminator-width", "4",
                        "--eval-samples", "64", "--final-eval-samples", "64",
                        "--workdir", tmp_path / "run")
  assert result.returncode == 0, result.stderr[-3000:]
  assert "skipped 2 unreadable image file(s)" in result.stdout
  assert "cut.png" in result.stdout and "fake.jpg" in result.stdout


@pytest.mark.parametrize("dataset, advice", [
    ("mnist", "and copy {data_dir}/mnist here, or pass --data-dir"),
    ("celeb_a", "or train on the images themselves with --dataset folder:PATH/img_align_celeba"),
])
def test_an_offline_tfds_dataset_fails_fast_with_its_advice_whole(tmp_path, dataset, advice):
  """No network at all (a network namespace with none): TFDS would retry
  for minutes; the run fails in one line at once, and however long the
  path in it, the line ends with the whole advice."""
  data_dir = tmp_path / ("a-long-data-directory-name-" * 8) / "tfds"
  result = subprocess.run(
      ["unshare", "-rn", sys.executable, "-m", "lbt_tf.train", "--dataset", dataset,
       "--method", "gan", "--steps", "2", "--data-dir", str(data_dir),
       "--workdir", str(tmp_path / "run")],
      capture_output=True, text=True, timeout=120, env=clitools.environment())
  line = one_error_line(result)
  assert f"dataset {dataset} is not available (no network: cannot reach " in line
  assert len(line) > 400 and line.endswith(advice.format(data_dir=data_dir)), line
  assert not (tmp_path / "run").exists()


def test_after_an_offline_failure_no_download_thread_retries(tmp_path):
  """TFDS downloads each file in a thread of its own, and each reads the
  retry count as it starts its request. Had the count come back as the
  failure propagated, threads still starting would retry an unreachable
  host ten times with backoff, and the process, at exit, would wait minutes
  for them after its one-line error (a busy CI run saw more than 120 s):
  after `Offline` the count stays 0."""
  script = ("from lbt_tf.data import tfds_download\n"
            "from tensorflow_datasets.core.download import downloader\n"
            "try:\n"
            f"  tfds_download.load('celeb_a', 'train', {str(tmp_path)!r})\n"
            "except tfds_download.Offline as e:\n"
            "  print('OFFLINE', downloader.MAX_RETRIES)\n")
  result = subprocess.run(["unshare", "-rn", sys.executable, "-c", script],
                          capture_output=True, text=True, timeout=600,
                          env=clitools.environment())
  assert result.stdout.split()[-2:] == ["OFFLINE", "0"], result.stderr[-2000:]


@pytest.mark.parametrize("args, message", [
    (["--grpc", "localhost:1", "-n", "2"], "the gRPC call to localhost:1 failed"),
    (["--rest", "not-a-url"], "--rest needs an http:// or https:// URL, got 'not-a-url'"),
    (["--rest", "http://localhost:1", "-n", "-3"], "-n must be between 1 and 2^31 - 1"),
    (["--rest", "http://localhost:1"], "cannot reach the server at http://localhost:1"),
])
def test_the_serving_client_fails_in_one_line(args, message):
  result = clitools.run("lbt_tf.export.client", *args, "--timeout", "5")
  line = one_error_line(result, "lbt_tf.export.client")
  assert message in line


# -- a real TFDS download, over localhost --------------------------------------------

BUILDER = """
import sys
import numpy as np
import tensorflow_datasets as tfds
from lbt_tf.data import image_data

URL = sys.argv[1]

class LocalDigits(tfds.core.GeneratorBasedBuilder):
  VERSION = tfds.core.Version("1.0.0")

  def _info(self):
    return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
        "image": tfds.features.Image(shape=(8, 8, 1)),
        "label": tfds.features.ClassLabel(num_classes=10)}))

  def _split_generators(self, dl_manager):
    return {"train": self._generate_examples(dl_manager.download(URL))}

  def _generate_examples(self, path):
    data = np.load(path)
    for i, (image, label) in enumerate(zip(data["images"], data["labels"])):
      yield i, {"image": image[..., None], "label": int(label)}

images = image_data.tfds_images("local_digits", data_dir=sys.argv[2])
pixels, labels = image_data.to_arrays(images)
print("DOWNLOADED", pixels.shape, sorted(set(labels.tolist())))
"""


def test_a_fresh_install_downloads_a_tfds_dataset_through_the_real_path(tmp_path):
  """TFDS's own downloader and builder (which import importlib_resources,
  tensorflow/datasets#11212), from a file served on localhost."""
  images, labels = image_data.sklearn_digits()
  served = tmp_path / "served"
  served.mkdir()
  np.savez(served / "digits.npz", images=images[:30], labels=labels[:30])
  handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=served, **k)
  server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
  threading.Thread(target=server.serve_forever, daemon=True).start()
  try:
    url = f"http://127.0.0.1:{server.server_address[1]}/digits.npz"
    result = subprocess.run([sys.executable, "-c", BUILDER, url, str(tmp_path / "tfds")],
                            capture_output=True, text=True, timeout=300,
                            env=clitools.environment({"NO_PROXY": "127.0.0.1"}))
  finally:
    server.shutdown()
  assert result.returncode == 0, result.stderr[-3000:]
  assert "DOWNLOADED (30, 8, 8, 1) [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]" in result.stdout


def test_an_interrupt_during_the_final_evaluation_says_what_is_saved(tmp_path):
  workdir = tmp_path / "run"
  process = clitools.start("lbt_tf.train", "--workdir", workdir, *RUN, "--steps", "20",
                           "--final-eval-samples", "50000000")  # a long final scoring
  deadline = time.time() + 300
  while not (workdir / "generator" / "1").exists():
    assert time.time() < deadline and process.poll() is None, process.communicate()[1][-2000:]
    time.sleep(0.2)
  time.sleep(1)
  process.send_signal(signal.SIGINT)
  _, stderr = process.communicate(timeout=120)
  (line,) = stderr.strip().splitlines()
  assert line == (f"lbt_tf.train: error: interrupted during the final export and "
                  f"evaluation; the training (step 20) is saved in "
                  f"{workdir / 'checkpoints' / 'ckpt-20'}: run the same command to "
                  "export and score it")


LOST_SIGNAL = """
import gc, os, signal, sys, threading
from lbt_tf import train
def lose_a_signal(phase, info):
  if (phase == "start" and threading.current_thread() is threading.main_thread()
      and os.path.exists(WHEN) and not lose_a_signal.done):
    lose_a_signal.done = True
    signal.raise_signal(signal.SIGTERM)  # handled here, its exception ignored
lose_a_signal.done = False
gc.callbacks.append(lose_a_signal)
sys.exit(train.main(sys.argv[1:]))
"""


def run_losing_a_signal(workdir, when, *flags):
  """A real `train` process on RUN that raises SIGTERM inside a gc callback
  on its main thread as soon as the path `when` exists: the signal handler's
  KeyboardInterrupt is then ignored by Python (its "Exception ignored in"
  report is asserted, so the signal did land where it is lost)."""
  script = f"WHEN = {str(when)!r}\n" + LOST_SIGNAL
  result = subprocess.run(
      [sys.executable, "-c", script, "--workdir", str(workdir), *RUN, *flags],
      capture_output=True, text=True, timeout=600, env=clitools.environment())
  assert "KeyboardInterrupt" in result.stderr, result.stderr[-2000:]
  return result


def test_a_signal_whose_interrupt_python_ignores_still_stops_training(tmp_path):
  """Python ignores an exception raised while a finalizer or a garbage
  collection callback runs, and so the KeyboardInterrupt of a signal that
  lands there: the training ran on (a killed comparison's training
  outlived it by minutes). Here the signal lands once training has
  started: the run still stops at the next batch end with its checkpoint."""
  workdir = tmp_path / "run"
  result = run_losing_a_signal(workdir, workdir / "checkpoints", "--steps", "3000",
                               "--eval-every", "100", "--checkpoint-every", "100")
  line = result.stderr.strip().splitlines()[-1]
  match = re.fullmatch(r"lbt_tf\.train: error: interrupted at step (\d+); saved (\S+); "
                       r"run the same command to resume", line)
  assert result.returncode == 1 and match, result.stderr[-2000:]
  assert int(match[1]) < 3000 and clitools.checkpoint_steps(workdir)[-1] == int(match[1])


@pytest.mark.parametrize("phase, when", [
    ("export", "generator"),  # made as the export begins
    ("scoring", "generator/1"),  # the finished export, renamed into place
])
def test_a_signal_lost_during_the_final_export_still_stops_the_run(tmp_path, phase, when):
  """The same lost signal once the final export, or the final scoring of
  the exported generator, has begun: the run stops with the final phase's
  message and writes no metrics.json (it used to finish and exit 0 as if
  never signalled)."""
  del phase
  workdir = tmp_path / "run"
  result = run_losing_a_signal(workdir, workdir / when, "--steps", "20")
  line = result.stderr.strip().splitlines()[-1]
  assert result.returncode == 1, result.stderr[-2000:]
  assert line.startswith("lbt_tf.train: error: interrupted during the final export and "
                         "evaluation; the training (step 20) is saved in "), line
  assert not (workdir / "metrics.json").exists()


def test_files_written_whole_replace_their_target_with_the_usual_permissions(tmp_path):
  """`lbt_tf.files`: the target is the new content, with the mode a plain
  `open` gives (the staging file's 0600 would hide metrics.json and
  config.json from the other users of a shared run directory), and no
  staging file is left, also when the write fails."""
  from lbt_tf import files  # pylint: disable=g-import-not-at-top
  plain = tmp_path / "plain"
  plain.write_text("x")
  target = tmp_path / "metrics.json"
  target.write_text("old")
  files.write_text(target, "new")
  files.copy(target, tmp_path / "copy.json")
  for path in (target, tmp_path / "copy.json"):
    assert path.read_text() == "new"
    assert path.stat().st_mode == plain.stat().st_mode
  with pytest.raises(FileNotFoundError):
    files.copy(tmp_path / "absent", target)
  with pytest.raises(UnicodeEncodeError):  # fails once the staging file exists
    files.write_text(target, "\ud800")
  assert target.read_text() == "new"
  assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.json", "metrics.json", "plain"]
