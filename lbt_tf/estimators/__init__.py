"""The explicit density estimators a generator can teach, by name.

  vae      a VAE scored by its one-sample ELBO (the paper's estimator)
  iwae     the same VAE scored by the importance-weighted bound (k samples)
  flow     rational-quadratic spline coupling flow: exact log-likelihood
  mixture  a diagonal Gaussian mixture: exact log-likelihood
  kde      a Gaussian kernel density estimate whose centres are the
           generator's samples: not trained, no unroll; the generator
           maximises the data's Parzen-window likelihood (see kde.py)

Adding one is a file in this package plus a line here; `base.Estimator`
says what it must provide.
"""

from lbt_tf.registry import Registry

ESTIMATORS = Registry("estimator", {
    "vae": "lbt_tf.estimators.vae:VAE",
    "iwae": "lbt_tf.estimators.iwae:IWAE",
    "flow": "lbt_tf.estimators.flow:SplineFlow",
    "mixture": "lbt_tf.estimators.mixture:GaussianMixture",
    "kde": "lbt_tf.estimators.kde:KernelDensity",
})


def refuse(config, data):
  """The configured estimator's one-line refusal of `config` on `data`, if any."""
  ESTIMATORS.get(config.estimator).refuse(config, data)
