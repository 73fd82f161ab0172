"""How strongly each of LBT-GAN's two generator terms pulls, with the kernel teacher.

LBT-GAN's generator loss is -w(h) f_G + lambda_G * E[-log D(G(z))]; which
term dominates depends on the teacher, the bandwidth and lambda_G. This
script trains a GAN for `--gan-iterations` (a generator that has started to
learn), copies its G and D into an LBT-GAN with the kernel teacher of the
stacked_fashion_mnist comparison preset, and prints the global norm of each
term's gradient with respect to G's weights at several points of the
bandwidth schedule, on one real batch (lambda_G = 1: the adversarial norm
scales linearly with it).

  python benchmarks/teaching_balance.py [--gan-iterations 300]
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

KERNEL = {"method": "lbt-gan", "estimator": "kde", "bandwidth": 7.0, "final_bandwidth": 1.0,
          "anneal_steps": 1000, "scale_teaching": True, "teaching_warmup": 0}


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--dataset", default="stacked_fashion_mnist")
  parser.add_argument("--gan-iterations", type=int, default=300)
  parser.add_argument("--steps", default="0,300,1000", help="schedule points to read")
  args = parser.parse_args()
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from lbt_tf import config as config_lib, train_lib  # pylint: disable=g-import-not-at-top
  from lbt_tf.data import mixtures  # pylint: disable=g-import-not-at-top
  from lbt_tf.trainers.base import non_saturating_generator_loss  # pylint: disable=g-import-not-at-top

  config = config_lib.make_config(args.dataset, dict(KERNEL))
  data = train_lib.load_data(config, report=lambda _: None)
  gan = train_lib.build_trainer(config_lib.make_config(args.dataset, {"method": "gan"}))
  if args.gan_iterations:
    gan.fit(mixtures.training_batches(data, config.batch_size, config.seed),
            steps_per_epoch=args.gan_iterations, epochs=1, verbose=0)
  lbt = train_lib.build_trainer(config)
  lbt.generator.set_weights(gan.generator.get_weights())
  lbt.discriminator.set_weights(gan.discriminator.get_weights())
  real = data.tf_sample(config.batch_size, tf.constant([1, 2]))
  schedule = lbt.estimator.schedule
  for step in map(int, args.steps.split(",")):
    lbt.generator_optimizer.iterations.assign(step)
    h = float(schedule.at(step))
    with tf.GradientTape(persistent=True) as tape:
      fakes = lbt.generate_batches(config.batch_size, config.unroll_steps + 1)
      f_G = lbt.teaching_objective(real, fakes[:-1])
      teaching = -f_G * (h / schedule.start) ** 2  # --scale-teaching true
      adversarial = non_saturating_generator_loss(lbt.discriminate(fakes[-1]))
    weights = lbt.generator.trainable_variables
    norm = lambda loss: float(tf.linalg.global_norm(tape.gradient(loss, weights)))
    print(f"after {args.gan_iterations} GAN iterations, schedule step {step} (h {h:.2f}): "
          f"f_G {float(f_G):.0f} nats; |grad teaching| {norm(teaching):.3g}, "
          f"|grad adversarial| {norm(adversarial):.3g} (lambda_G = 1)")


if __name__ == "__main__":
  main()
