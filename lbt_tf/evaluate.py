"""Score an exported generator, independently of training.

  python -m lbt_tf.evaluate --model RUN/generator [--num-samples 500000]

The SavedModel's `serving_default` draws the samples. A 2-D generator is
scored on its mixture (from the model's metadata unless --dataset, a preset,
says otherwise); an image generator by its dataset's preset: modes and KL to
uniform (digit datasets), FID and KID (when the preset computes them).
--num-samples defaults to the preset's final evaluation size. --data-dir,
--cache-dir and --inception-weights say where the image scorer finds the real
images (FID), its cached digit classifier and InceptionV3's weights.
"""

import json
import sys

from lbt_tf import cli
from lbt_tf import config as config_lib

PROG = "lbt_tf.evaluate"


def _recorded(metadata: dict, key: str, model_dir):
  if key not in metadata:
    raise ValueError(f"{model_dir} does not say which {key} it was trained on; "
                     "pass --dataset")
  return metadata[key]


def scoring_config(metadata: dict, model_dir, dataset=None, locations=None):
  """The preset of `dataset` (default: the one the export was trained on)
  with the export's own noise and image sizes, whatever the preset says."""
  dataset = dataset or _recorded(metadata, "dataset", model_dir)
  if config_lib.is_image(dataset) != ("image_shape" in metadata):
    kind = "images" if "image_shape" in metadata else "2-D points"
    raise ValueError(f"{model_dir} generates {kind}; --dataset {dataset} "
                     "is not that kind of data")
  overrides = dict(locations or {}, noise_dim=metadata["noise_dim"])
  if "image_shape" in metadata:
    overrides["image_size"] = metadata["image_shape"][0]
  return config_lib.make_config(dataset, overrides)


def main(argv=None):
  parser = cli.OneLineErrorParser(prog=PROG, description=__doc__,
                                  formatter_class=cli.argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--model", required=True,
                      help="SavedModel folder, or a base folder of versions")
  parser.add_argument("--dataset", choices=config_lib.datasets(),
                      help="score against this preset instead of the metadata's")
  parser.add_argument("--num-samples", type=int)
  parser.add_argument("--seed", type=int, default=1234)
  for name in config_lib.LOCATIONS:  # where an image scorer finds its inputs
    parser.add_argument(f"--{config_lib.flag(name)}", dest=name, metavar="PATH",
                        help="as for lbt_tf.train")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  if args.num_samples is not None and args.num_samples < 1:
    parser.error("--num-samples must be at least 1")

  with cli.quiet_native_stderr():
    from lbt_tf import eval_lib, mixtures, train_lib  # pylint: disable=g-import-not-at-top
  try:
    generate, metadata, model_dir = train_lib.load_generator_signature(args.model)
    locations = {name: getattr(args, name) for name in config_lib.LOCATIONS
                 if getattr(args, name) is not None}
    config = scoring_config(metadata, model_dir, args.dataset, locations)
    mixture = None  # images, or the preset's mixture (--dataset)
    if not args.dataset and not config_lib.is_image(config.dataset):
      # The mixture the model was trained on, whatever flags shaped it.
      mixture = mixtures.make_mixture(**_recorded(metadata, "mixture", model_dir))
    metrics = eval_lib.score_export(
        config, generate, args.num_samples or config.final_eval_samples, args.seed,
        mixture=mixture, report=lambda message: print(f"{PROG}: {message}", file=sys.stderr))
  except (ValueError, OSError, KeyError) as e:
    cli.fail(PROG, e)
  metrics["model"] = str(model_dir)
  print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
  main()
