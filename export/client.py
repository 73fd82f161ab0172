"""Ask a generator served by TensorFlow Serving for samples, over REST or gRPC.

  python -m lbt_tf.export.client --rest http://localhost:8501 --model lbt_generator -n 8
  python -m lbt_tf.export.client --grpc localhost:8500 --model lbt_generator -n 8 --out s.npy

REST needs nothing beyond the standard library and NumPy; gRPC needs the
`serving` extra (`pip install -e ".[serving]"`, i.e. tensorflow-serving-api).
Both call the `sample` signature: num_samples int32 [] and seed int64 [].
"""

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

import numpy as np

SIGNATURE = "sample"


def rest_url(base_url: str, model: str, version: int = None) -> str:
  versioned = f"/versions/{version}" if version is not None else ""
  return f"{base_url.rstrip('/')}/v1/models/{model}{versioned}:predict"


def rest_sample_body(num_samples: int, seed: int) -> dict:
  """The JSON body of a REST predict call (columnar form: scalar inputs)."""
  return {"signature_name": SIGNATURE,
          "inputs": {"num_samples": int(num_samples), "seed": int(seed)}}


def rest_noise_body(z) -> dict:
  """A `serving_default` call on explicit noise z [batch, noise_dim] (row form)."""
  return {"signature_name": "serving_default",
          "instances": [{"z": row} for row in np.asarray(z, np.float32).tolist()]}


class ServerError(ValueError):
  """The server answered, with an error: its own words, and what to check."""


def server_error_text(body: bytes) -> str:
  """TF Serving's error message from a reply body ({"error": "..."}), or
  the body itself (its first 300 characters)."""
  text = body.decode(errors="replace").strip()
  try:
    text = str(json.loads(text)["error"])
  except (ValueError, KeyError, TypeError):
    pass
  return " ".join(text.split())[:300] or "an empty reply"


def rest_predict(base_url, model, body, version=None, timeout=30) -> np.ndarray:
  """The samples a REST predict call returns; ServerError when the server
  answers with an error (a 4xx/5xx status, or a 200 whose body is
  {"error": ...}), OSError when it cannot be reached."""
  url = rest_url(base_url, model, version)
  request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                   headers={"Content-Type": "application/json"})
  try:
    with urllib.request.urlopen(request, timeout=timeout) as response:
      raw = response.read()
  except urllib.error.HTTPError as e:  # it answered: say what it said
    raise ServerError(f"the server answered {e.code} {e.reason} to {url}: "
                      f"{server_error_text(e.read())}; check --model"
                      f"{' and --version' if version is not None else ''}") from None
  try:
    reply = json.loads(raw)
  except ValueError:
    reply = None
  if not isinstance(reply, dict) or "error" in reply or not (
      "outputs" in reply or "predictions" in reply):
    raise ServerError(f"the server at {url} answered without samples: "
                      f"{server_error_text(raw)}")
  return np.asarray(reply.get("outputs", reply.get("predictions")))


def grpc_sample_request(model, num_samples, seed, version=None):
  """A tensorflow_serving PredictRequest for the `sample` signature."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from tensorflow_serving.apis import predict_pb2  # pylint: disable=g-import-not-at-top
  request = predict_pb2.PredictRequest()
  request.model_spec.name = model
  request.model_spec.signature_name = SIGNATURE
  if version is not None:
    request.model_spec.version.value = version
  request.inputs["num_samples"].CopyFrom(tf.make_tensor_proto(num_samples, tf.int32))
  request.inputs["seed"].CopyFrom(tf.make_tensor_proto(seed, tf.int64))
  return request


def grpc_predict(target, request, timeout=30) -> np.ndarray:
  import grpc  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from tensorflow_serving.apis import prediction_service_pb2_grpc  # pylint: disable=g-import-not-at-top
  with grpc.insecure_channel(target) as channel:
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    reply = stub.Predict(request, timeout=timeout)
  return tf.make_ndarray(reply.outputs["samples"])


def main(argv=None):
  from lbt_tf import cli  # pylint: disable=g-import-not-at-top
  prog = "lbt_tf.export.client"
  parser = cli.OneLineErrorParser(prog=prog, description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
  where = parser.add_mutually_exclusive_group(required=True)
  where.add_argument("--rest", metavar="URL", help="e.g. http://localhost:8501")
  where.add_argument("--grpc", metavar="HOST:PORT", help="e.g. localhost:8500")
  parser.add_argument("--model", default="lbt_generator")
  parser.add_argument("--version", type=int)
  parser.add_argument("-n", "--num-samples", type=int, default=8)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--timeout", type=float, default=30, help="seconds")
  parser.add_argument("--out", help="save the samples as .npy")
  args = parser.parse_args(argv)
  if not 1 <= args.num_samples < 2**31:
    parser.error(f"-n must be between 1 and 2^31 - 1, got {args.num_samples}")
  if args.rest and urllib.parse.urlparse(args.rest).scheme not in ("http", "https"):
    parser.error(f"--rest needs an http:// or https:// URL, got {args.rest!r}")
  if args.grpc and ":" not in args.grpc:
    parser.error(f"--grpc needs HOST:PORT, got {args.grpc!r}")
  with cli.errors_in_one_line(prog):
    if args.grpc:  # its protos need TensorFlow: load it quietly first
      with cli.quiet_native_stderr():
        import tensorflow  # pylint: disable=g-import-not-at-top,unused-import
    try:
      if args.rest:
        samples = rest_predict(args.rest, args.model,
                               rest_sample_body(args.num_samples, args.seed),
                               args.version, args.timeout)
      else:
        samples = grpc_predict(args.grpc, grpc_sample_request(
            args.model, args.num_samples, args.seed, args.version), args.timeout)
    except ImportError:
      raise ValueError('gRPC needs tensorflow-serving-api: pip install -e ".[serving]"') from None
    except OSError as e:  # URLError, connection refused, ...
      raise ValueError(f"cannot reach the server at {args.rest}: "
                       f"{getattr(e, 'reason', e)}") from None
    except Exception as e:  # pylint: disable=broad-except
      if type(e).__module__.startswith("grpc"):  # grpc.RpcError
        detail = e.details() if hasattr(e, "details") else str(e)
        raise ValueError(f"the gRPC call to {args.grpc} failed: {detail}") from None
      raise
    if args.out:
      np.save(args.out, samples)
  print(f"{len(samples)} samples of shape {samples.shape[1:]}"
        + (f" -> {args.out}" if args.out else f":\n{samples}"))


if __name__ == "__main__":
  main()
