"""Score an exported generator, independently of training.

  python -m lbt_tf.evaluate --model RUN/generator [--num-samples 500000]

The SavedModel's `serving_default` draws the samples. A 2-D generator is
scored on its mixture (from the model's metadata unless --dataset, a preset,
says otherwise); an image generator by its dataset's preset: modes and KL to
uniform (digit datasets), FID and KID (when the preset computes them).
--num-samples defaults to the preset's final evaluation size.
"""

import json
import sys

from lbt_tf import cli
from lbt_tf import config as config_lib

PROG = "lbt_tf.evaluate"


def main(argv=None):
  parser = cli.OneLineErrorParser(prog=PROG, description=__doc__,
                                  formatter_class=cli.argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--model", required=True,
                      help="SavedModel folder, or a base folder of versions")
  parser.add_argument("--dataset", choices=config_lib.datasets(),
                      help="score against this preset instead of the metadata's")
  parser.add_argument("--num-samples", type=int)
  parser.add_argument("--seed", type=int, default=1234)
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  if args.num_samples is not None and args.num_samples < 1:
    parser.error("--num-samples must be at least 1")

  with cli.quiet_native_stderr():
    from lbt_tf import eval_lib, mixtures, train_lib  # pylint: disable=g-import-not-at-top
  try:
    generate, metadata, model_dir = train_lib.load_generator_signature(args.model)
    if "image_shape" in metadata:
      config = config_lib.make_config(args.dataset or metadata["dataset"], {})
      metrics = eval_lib.score_images(
          config, generate, args.num_samples or config.final_eval_samples,
          args.seed, report=lambda message: print(f"{PROG}: {message}", file=sys.stderr))
      metrics["model"] = str(model_dir)
      print(json.dumps(metrics, indent=2))
      return
    if args.dataset:
      spec = train_lib.mixture_spec(config_lib.make_config(args.dataset, {}))
    elif "mixture" in metadata:
      spec = metadata["mixture"]
    else:
      raise ValueError(f"{model_dir} does not say which mixture it was trained "
                       "on; pass --dataset")
    mixture = mixtures.make_mixture(**spec)
    metrics, _ = train_lib.evaluate_saved_model(
        model_dir, mixture, args.num_samples or 500_000, args.seed)
  except (ValueError, OSError, KeyError) as e:
    cli.fail(PROG, e)
  metrics["model"] = str(model_dir)
  print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
  main()
