"""Export for TF Serving, sampling without the training code, and the client's
requests checked against real SavedModels."""

import hashlib
import http.server
import json
import subprocess
import sys
import threading

import numpy as np
import pytest
import tensorflow as tf

from lbt_tf.export import client, generators
from tests import clitools


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("export") / "run"
  result = clitools.run_here("lbt_tf.train", "--workdir", workdir, "--steps", "20",
                             "--eval-every", "10", *clitools.SMALL_RUN)
  assert result.returncode == 0, result.stderr[-3000:]
  return workdir


def digest(path):
  return hashlib.sha256((path / "saved_model.pb").read_bytes()).hexdigest()


def test_export_writes_new_versions_and_never_overwrites(run_dir, tmp_path):
  base = tmp_path / "served"
  for expected in (1, 2):
    result = clitools.run_here("lbt_tf.export", "--workdir", run_dir, "--export-dir", base)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (base / str(expected) / "saved_model.pb").exists()
  before = digest(base / "1")
  result = clitools.run_here("lbt_tf.export", "--workdir", run_dir, "--export-dir", base,
                             "--version", "1")
  assert result.returncode == 1
  assert result.stderr.strip().splitlines() == [
      f"lbt_tf.export: error: {base / '1'} already exists; pass another "
      "--version or remove it first"]
  assert digest(base / "1") == before
  assert not list(base.glob(".*"))  # no staging folder left behind
  meta = generators.metadata(base / "2")
  assert meta == {"dataset": "ring", "method": "lbt-gan", "estimator": "kde", "step": 20,
                  "mixture": meta["mixture"], "noise_dim": 16}


@pytest.mark.parametrize("bad", ["missing", "foreign"])
def test_export_from_a_bad_workdir_fails_in_one_line(tmp_path, bad):
  workdir = tmp_path / bad
  if bad == "foreign":
    workdir.mkdir()
    (workdir / "config.json").write_text('{"colour": "blue"}')
  result = clitools.run("lbt_tf.export", "--workdir", workdir, "--export-dir",
                        tmp_path / "out")
  lines = result.stderr.strip().splitlines()
  assert result.returncode == 1 and len(lines) == 1 and str(workdir) in lines[0]


def test_saved_model_cli_sees_and_runs_both_signatures(run_dir, tmp_path):
  model = run_dir / "generator" / "1"
  np.save(tmp_path / "n.npy", np.int32(5))
  np.save(tmp_path / "seed.npy", np.int64(3))
  cli = [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
  shown = subprocess.run([*cli, "show", "--dir", str(model), "--all"],
                         capture_output=True, text=True, check=True).stdout
  assert "signature_def['serving_default']" in shown
  assert "signature_def['sample']" in shown
  for fragment in ("inputs['z'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, 16)",
                   "inputs['num_samples'] tensor_info:\n        dtype: DT_INT32\n        shape: ()",
                   "inputs['seed'] tensor_info:\n        dtype: DT_INT64\n        shape: ()",
                   "outputs['samples'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, 2)"):
    assert fragment in shown
  ran = subprocess.run(
      [*cli, "run", "--dir", str(model), "--tag_set", "serve", "--signature_def",
       "sample", "--inputs", f"num_samples={tmp_path / 'n.npy'};seed={tmp_path / 'seed.npy'}"],
      capture_output=True, text=True, check=True).stdout
  assert "Result for output key samples:" in ran
  values = ran.split("Result for output key samples:")[1]
  assert values.count("[") == 6  # 5 rows of 2 in an outer list


def test_sample_cli_is_deterministic_per_seed_and_draws(run_dir, tmp_path):
  outs = []
  for name, seed in (("a", 7), ("b", 7), ("c", 8)):
    out = tmp_path / f"{name}.npy"
    result = clitools.run_here("lbt_tf.sample", "--model", run_dir / "generator",
                               "-n", "64", "--seed", seed, "--out", out)
    assert result.returncode == 0, result.stderr[-2000:]
    outs.append(np.load(out))
  assert outs[0].shape == (64, 2)
  np.testing.assert_array_equal(outs[0], outs[1])
  assert not np.array_equal(outs[0], outs[2])
  png = tmp_path / "s.png"
  assert clitools.run_here("lbt_tf.sample", "--model", run_dir / "generator",
                           "--out", png).returncode == 0
  assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sample_cli_on_a_missing_version_fails_in_one_line(run_dir, tmp_path):
  result = clitools.run("lbt_tf.sample", "--model", run_dir / "generator",
                        "--version", "9", "--out", tmp_path / "x.npy")
  assert result.returncode == 1
  assert result.stderr.strip().splitlines() == [
      f"lbt_tf.sample: error: {run_dir / 'generator'} has no version 9; "
      "versions there: 1"]


def signature_inputs(signature):
  return signature.structured_input_signature[1]


def test_rest_bodies_are_valid_for_the_signatures(run_dir):
  model = tf.saved_model.load(str(run_dir / "generator" / "1"))
  body = json.loads(json.dumps(client.rest_sample_body(6, 3)))  # as sent
  signature = model.signatures[body["signature_name"]]
  specs = signature_inputs(signature)
  assert set(body["inputs"]) == set(specs)
  inputs = {k: tf.constant(v, specs[k].dtype) for k, v in body["inputs"].items()}
  for k, v in inputs.items():
    assert specs[k].shape.is_compatible_with(v.shape)
  assert signature(**inputs)["samples"].shape == (6, 2)

  body = json.loads(json.dumps(client.rest_noise_body(np.zeros((3, 16)))))
  signature = model.signatures[body["signature_name"]]
  z = tf.constant([row["z"] for row in body["instances"]], tf.float32)
  assert signature_inputs(signature)["z"].shape.is_compatible_with(z.shape)
  assert signature(z=z)["samples"].shape == (3, 2)
  assert client.rest_url("http://h:8501/", "lbt_generator", 2) == (
      "http://h:8501/v1/models/lbt_generator/versions/2:predict")


def test_grpc_request_is_valid_for_the_sample_signature(run_dir):
  model = tf.saved_model.load(str(run_dir / "generator" / "1"))
  request = client.grpc_sample_request("lbt_generator", 4, 11, version=1)
  assert request.model_spec.name == "lbt_generator"
  assert request.model_spec.version.value == 1
  signature = model.signatures[request.model_spec.signature_name]
  specs = signature_inputs(signature)
  assert set(request.inputs) == set(specs)
  inputs = {}
  for name, proto in request.inputs.items():
    value = tf.make_ndarray(proto)
    assert tf.as_dtype(proto.dtype) == specs[name].dtype
    assert specs[name].shape.is_compatible_with(value.shape)
    inputs[name] = tf.constant(value)
  samples = signature(**inputs)["samples"].numpy()
  again = model.signatures["sample"](num_samples=tf.constant(4),
                                     seed=tf.constant(11, tf.int64))["samples"].numpy()
  np.testing.assert_array_equal(samples, again)


@pytest.mark.parametrize("bad", ["missing", "foreign", "unreadable"])
def test_sample_cli_on_a_bad_model_directory_fails_in_one_line(tmp_path, bad):
  model = tmp_path / bad
  if bad == "foreign":
    (model / "1").mkdir(parents=True)
    (model / "1" / "notes.txt").write_text("not a model")
  elif bad == "unreadable":
    (model / "1").mkdir(parents=True)
    (model / "1" / "saved_model.pb").write_bytes(b"\x00corrupted" * 10)
  result = clitools.run("lbt_tf.sample", "--model", model, "--out", tmp_path / "x.npy")
  lines = result.stderr.strip().splitlines()
  assert result.returncode == 1 and len(lines) == 1, result.stderr[-2000:]
  assert lines[0].startswith("lbt_tf.sample: error: ") and str(model) in lines[0]
  assert not (tmp_path / "x.npy").exists()


def test_export_refuses_a_base_that_tensorflow_would_read_as_a_pattern(run_dir, tmp_path):
  """sample and evaluate could not load BASE[x]/1 (TensorFlow globs it):
  refused like train refuses such a --workdir, before anything is written."""
  base = tmp_path / "base[x]"
  result = clitools.run("lbt_tf.export", "--workdir", run_dir, "--export-dir", base)
  lines = result.stderr.strip().splitlines()
  assert result.returncode != 0 and len(lines) == 1, result.stderr[-2000:]
  assert f"--export-dir {base}: TensorFlow reads checkpoint and model paths as glob " \
         "patterns, so they cannot contain *, ? or [" in lines[0]
  assert not base.exists()


class FakeServing(http.server.BaseHTTPRequestHandler):
  """Answers as TF Serving does: 404 with its error body for an unknown
  model, and for `lbt_generator` a 200 whose body is an error."""

  def do_POST(self):  # pylint: disable=invalid-name
    self.rfile.read(int(self.headers["Content-Length"]))
    if "/models/lbt_generator" in self.path:
      status, body = 200, {"error": "Expected exactly one of 'instances' or 'inputs'"}
    else:
      status, body = 404, {"error": "Servable not found for request: Latest(wrong_name)"}
    payload = json.dumps(body).encode()
    self.send_response(status)
    self.send_header("Content-Type", "application/json")
    self.send_header("Content-Length", str(len(payload)))
    self.end_headers()
    self.wfile.write(payload)

  def log_message(self, *args):  # quiet
    del args


@pytest.fixture
def serving():
  server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeServing)
  threading.Thread(target=server.serve_forever, daemon=True).start()
  yield f"http://127.0.0.1:{server.server_address[1]}"
  server.shutdown()


def test_the_serving_client_says_what_the_server_answered(serving):
  wrong = clitools.run("lbt_tf.export.client", "--rest", serving, "--model", "wrong_name",
                       env={"NO_PROXY": "127.0.0.1"})
  assert wrong.returncode == 1 and wrong.stderr.strip().splitlines() == [
      f"lbt_tf.export.client: error: the server answered 404 Not Found to "
      f"{serving}/v1/models/wrong_name:predict: Servable not found for request: "
      "Latest(wrong_name); check --model"]
  erred = clitools.run("lbt_tf.export.client", "--rest", serving,
                       env={"NO_PROXY": "127.0.0.1"})
  assert erred.returncode == 1 and erred.stderr.strip().splitlines() == [
      f"lbt_tf.export.client: error: the server at {serving}/v1/models/lbt_generator:predict "
      "answered without samples: Expected exactly one of 'instances' or 'inputs'"]
