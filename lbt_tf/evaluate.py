"""Score an exported generator, independently of training.

  python -m lbt_tf.evaluate --model RUN/generator [--num-samples 500000]

The SavedModel's `serving_default` draws the samples. A 2-D generator is
scored on its mixture (from the model's metadata unless --dataset, a preset,
says otherwise): modes covered, % high quality, the intra-mode KL over all
modes (`intra_mode_kl`: a mode without a fit counts the cap, 10) and over
the `kl_modes` fitted ones (`intra_mode_kl_fitted`; see
lbt_tf/metrics/mixture_metrics.py). An image generator is scored by its
dataset's preset: modes and KL to uniform (digit datasets), FID and KID
(when the preset computes them).
--num-samples defaults to the preset's final evaluation size. --data-dir,
--cache-dir and --inception-weights say where the image scorer finds the real
images (FID), its cached digit classifier and InceptionV3's weights. Only
TensorFlow and the metrics are loaded: no training code.
"""

import json
import sys

from lbt_tf import cli
from lbt_tf import config as config_lib
from lbt_tf.data import datasets

PROG = "lbt_tf.evaluate"


def _recorded(metadata: dict, key: str, model_dir):
  if key not in metadata:
    raise ValueError(f"{model_dir} does not say which {key} it was trained on; "
                     "pass --dataset")
  return metadata[key]


def scoring_config(metadata: dict, model_dir, dataset=None, locations=None):
  """The preset of `dataset` (default: the one the export was trained on)
  with the export's own image size, whatever the preset says."""
  dataset = dataset or _recorded(metadata, "dataset", model_dir)
  if datasets.get(dataset).is_image != ("image_shape" in metadata):
    kind = "images" if "image_shape" in metadata else "2-D points"
    raise ValueError(f"{model_dir} generates {kind}; --dataset {dataset} "
                     "is not that kind of data")
  overrides = dict(locations or {})
  if "image_shape" in metadata:
    overrides["image_size"] = metadata["image_shape"][0]
  return config_lib.make_config(dataset, overrides)


def main(argv=None):
  parser = cli.OneLineErrorParser(prog=PROG, description=__doc__,
                                  formatter_class=cli.argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--model", required=True,
                      help="SavedModel folder, or a base folder of versions")
  parser.add_argument("--dataset", choices=datasets.names(),
                      help="score against this preset instead of the metadata's")
  parser.add_argument("--num-samples", type=int)
  parser.add_argument("--seed", type=int, default=config_lib.EVAL_SEED,
                      help="seed of the evaluation noise")
  for name in config_lib.LOCATIONS:  # where an image scorer finds its inputs
    parser.add_argument(f"--{config_lib.flag(name)}", dest=name, metavar="PATH",
                        help="as for lbt_tf.train")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  if args.num_samples is not None and args.num_samples < 1:
    parser.error("--num-samples must be at least 1")
  note = lambda message: print(f"{PROG}: {message}", file=sys.stderr)

  with cli.errors_in_one_line(PROG):
    # The export's folder, metadata and preset are checked before TensorFlow's
    # start-up (seconds): a wrong path or --dataset is refused at once.
    from lbt_tf.export import generators  # pylint: disable=g-import-not-at-top
    model_dir = generators.resolve_model_dir(args.model)
    locations = {name: getattr(args, name) for name in config_lib.LOCATIONS
                 if getattr(args, name) is not None}
    config = scoring_config(generators.metadata(model_dir), model_dir, args.dataset,
                            locations)
    with cli.quiet_native_stderr():
      from lbt_tf.data import mixtures  # pylint: disable=g-import-not-at-top
      from lbt_tf.metrics import scoring  # pylint: disable=g-import-not-at-top
    exported = generators.load(args.model)  # a version folder with no SavedModel: "not loadable"
    metadata = exported.metadata
    mixture = None  # images, or the preset's mixture (--dataset)
    if not config.data.is_image:
      recorded = metadata.get("mixture")
      if not args.dataset:
        # The mixture the model was trained on, whatever flags shaped it.
        mixture = mixtures.make_mixture(**_recorded(metadata, "mixture", exported.model_dir))
      elif recorded and recorded != datasets.mixture_spec(config):
        note(f"note: {exported.model_dir} was trained on another mixture "
             f"({metadata.get('dataset')}: {recorded}); scoring it against "
             f"--dataset {args.dataset} as asked")
    metrics = scoring.score_export(
        config, exported, args.num_samples or config.final_eval_samples, args.seed,
        mixture=mixture, report=note)
  metrics["model"] = str(exported.model_dir)
  print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
  main()
