"""The training methods, by name; each is a Keras trainer in `trainers/`
(installed as `lbt_tf.trainers`).

  lbt, lbt-gan    Learning By Teaching, and with a discriminator (lbt.py)
  gan, pacgan,    the GAN baselines that share a sample discriminator (gan.py)
  unrolled-gan
  brc-gan         the GAN through D's best response, outer-product Hessian (brc_gan.py)
  veegan          reconstructor and joint discriminator (veegan.py)
  ali             encoder and joint discriminator (ali.py)
  vgan            discriminator outputs as bounded energies (vgan.py)
  wgan-gp         Wasserstein GAN with gradient penalty (wgan_gp.py)
  estimator       the estimator alone, fitted to the real data (estimator_fit.py)

Adding a method is a file in trainers/ plus a line below: a `lbt_tf.trainers.base.
GenerativeTrainer` subclass with `from_config` (how a config builds it),
`refuse` (what it cannot do) and, if it adds networks, `networks()`.
"""

from lbt_tf.registry import Registry

METHODS = Registry("method", {
    "lbt": "lbt_tf.trainers.lbt:LBT",
    "lbt-gan": "lbt_tf.trainers.lbt:LBTGAN",
    "gan": "lbt_tf.trainers.gan:GAN",
    "unrolled-gan": "lbt_tf.trainers.gan:UnrolledGAN",
    "brc-gan": "lbt_tf.trainers.brc_gan:BRCGAN",
    "veegan": "lbt_tf.trainers.veegan:VEEGAN",
    "ali": "lbt_tf.trainers.ali:ALI",
    "vgan": "lbt_tf.trainers.vgan:VGAN",
    "pacgan": "lbt_tf.trainers.gan:PacGAN",
    "wgan-gp": "lbt_tf.trainers.wgan_gp:WGANGP",
    "estimator": "lbt_tf.trainers.estimator_fit:EstimatorFit",
})
