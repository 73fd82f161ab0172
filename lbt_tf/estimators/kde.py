"""A Gaussian kernel density estimate of the generator's samples: the kernel teacher.

    p_E(x; theta) = 1/n sum_j N(x; c_j, h^2 I),   theta = (c_1 .. c_n)

Taught by the generator (`--method lbt|lbt-gan --estimator kde`) the
centres are the generator's samples, c_j = G(z_j; phi), and h follows the
bandwidth schedule, so the generator maximises

    E_x log (1/n sum_j N(x; G(z_j), h^2 I))          (x: real data)

Parzen-window maximum likelihood of the real data under the generator's
samples smoothed by the kernel. This is *not* LBT's inner problem solved in
closed form: the centres are not the maximiser of f_E (the samples' own
log-likelihood; ascending f_E in the centres raises it), nothing is
optimised inside an iteration, and there is no unroll. As h -> 0 each real
point pulls only its nearest sample: implicit maximum likelihood estimation
(IMLE, Li & Malik 2018, arXiv 1809.09087). It is not MMD: the samples do
not repel one another. Theorem 2's target becomes KL(p || p_G * N(0, h^2 I)),
the data against the generator's distribution convolved with the kernel.

The bandwidth follows `lbt_tf.smoothing` (coarse to fine; by default from
half the distance between neighbouring modes to half their std).

On images the kernel acts on the flattened pixels (in [0, 1]; d = H x W x
C), h is each pixel's kernel std, and there is no default: `python -m
lbt_tf.smoothing --dataset NAME` reads a coarse and a fine bandwidth off
the data's nearest-neighbour distances (`smoothing.image_scales`). The
cost of an iteration is G on K x batch samples plus one [batch, K x batch]
distance matrix: no estimator network, no second derivative.

Taught by LBT, the KDE is centred on the K batches of generator samples a
trained estimator's unroll would see (`--unroll-steps K`, K >= 1: K x batch
centres; it has no unroll of its own). Its kernel sums over all (point,
centre) pairs are taken in blocks (`kernel_log_sums`), so memory stays
bounded however large the batch.

Alone (`--method estimator`), maximum likelihood on real data is the same
formula: the KDE keeps the iteration's real batches as its centres and
samples a centre plus noise of the finest bandwidth it reaches.
"""

import math

import tensorflow as tf

from lbt_tf import smoothing
from lbt_tf.estimators.base import Estimator, standard_normal_cdf


class KernelDensity(Estimator):
  """Args: bandwidth, a `smoothing.Schedule` (a float: constant), in the
  data's units (pixels in [0, 1] for images: h is each coordinate's kernel
  std); kept_centers: the real samples kept when fitted alone; data_shape:
  one example's shape. Images are flattened: the kernel acts on all
  H x W x C pixels at once."""

  closed_form = True
  images = True

  def __init__(self, bandwidth, kept_centers: int = 0, data_shape=(2,),
               dtype=None, **kwargs):
    super().__init__(dtype=dtype, **kwargs)
    if not isinstance(bandwidth, smoothing.Schedule):
      bandwidth = smoothing.Schedule(bandwidth, bandwidth)
    if not bandwidth.active:
      raise ValueError("a KDE needs a positive bandwidth")
    self.schedule = bandwidth
    self.final_bandwidth = bandwidth.finest
    self.data_shape = tuple(data_shape)
    data_dim = math.prod(self.data_shape)
    if kept_centers:  # fitted alone: the real samples it keeps
      self.centers = self.add_weight(shape=(kept_centers, data_dim), name="centers",
                                     initializer="zeros", trainable=False,
                                     aggregation="only_first_replica")
    self.built = True

  @classmethod
  def from_config(cls, config, data):
    kept = config.batch_size * max(1, config.estimator_steps) if config.method == "estimator" else 0
    return cls(smoothing.from_config(config, data, kernel=True), kept_centers=kept,
               data_shape=data.shape)

  def bandwidth_at(self, step):
    """h after `step` iterations of training."""
    return self.schedule.at(step, self.compute_dtype)

  def fit(self, samples, step=0):
    """theta(samples) = the samples as centres, with the bandwidth for
    `step` (a formula, not an optimum of f_E; see the module docstring).
    samples: [n, *data_shape]; the centres: [n, prod(data_shape)]."""
    return [flat(samples), self.bandwidth_at(step)]

  def keep(self, real):
    """Fitted alone: keep `real` [kept_centers, *data_shape] as the centres."""
    self.centers.assign(flat(real))

  def mean_log_likelihood(self, parameters, x, noise):
    del noise
    centers, h = parameters
    return tf.reduce_mean(self.per_example_log_likelihood(centers, h, x))

  def per_example_log_likelihood(self, centers, h, x):
    """log p_E(x_i) for x [m, *data_shape], centres [n, d]: [m], in nats."""
    x = tf.cast(flat(x), centers.dtype)
    dim = tf.cast(tf.shape(x)[-1], x.dtype)
    n = tf.cast(tf.shape(centers)[0], x.dtype)
    h = tf.cast(h, x.dtype)
    return (kernel_log_sums(x, centers, h)
            - tf.math.log(n) - dim * (tf.math.log(h) + 0.5 * math.log(2 * math.pi)))

  def call(self, inputs):
    """Log-likelihood of each x under the kept centres (fitted alone)."""
    x, _ = inputs
    centers = tf.convert_to_tensor(self.centers)
    return self.per_example_log_likelihood(centers, self.final_bandwidth, x)

  @property
  def sampler_noise_dim(self) -> int:
    return 1 + math.prod(self.data_shape)  # which centre, then the kernel's noise

  def sample(self, z):
    centers = tf.convert_to_tensor(self.centers)
    count = tf.shape(centers)[0]
    index = tf.minimum(tf.cast(standard_normal_cdf(z[:, 0]) * tf.cast(count, z.dtype), tf.int32),
                       count - 1)
    examples = tf.gather(centers, index) + self.final_bandwidth * z[:, 1:]
    return tf.reshape(examples, (-1,) + self.data_shape)


def flat(x):
  """[n, ...] -> [n, features]: an image's pixels as one vector."""
  return tf.reshape(x, [tf.shape(x)[0], -1]) if len(x.shape) != 2 else x


# Kernel sums are taken over blocks of at most this many (point, centre)
# pairs, so memory stays bounded whatever --batch-size and K: the whole
# [batch, K x batch] matrix at batch 20,000 and K = 5 would be 8 GB, and
# several such matrices live at once in a gradient.
BLOCK_PAIRS = 1 << 23  # 32 MB of float32 per [rows, centres] block


def squared_distances(x, centers):
  """|x_i - c_j|^2: [rows of x, centres], clipped at 0 (rounding)."""
  return tf.maximum(tf.reduce_sum(tf.square(x), -1)[:, None]
                    - 2.0 * tf.matmul(x, centers, transpose_b=True)
                    + tf.reduce_sum(tf.square(centers), -1)[None, :], 0.0)


def kernel_log_sums(x, centers, h, block_pairs: int = BLOCK_PAIRS):
  """log sum_j exp(-|x_i - c_j|^2 / (2 h^2)) for each row x_i of x [m, d]
  and centres [n, d]: [m], differentiable in x, the centres and h.

  Up to `block_pairs` pairs in one matrix; beyond, rows are taken a block
  at a time, forward and backward (the gradient is written out, so no
  block's matrix is kept for it), and memory is O(block_pairs + (m + n) d).
  """
  m, n = x.shape[0], centers.shape[0]
  if m is not None and n is not None and m * n <= block_pairs:
    return tf.reduce_logsumexp(-0.5 * squared_distances(x, centers) / tf.square(h), axis=1)
  return _blockwise_log_sums(x, centers, h, block_pairs)


def _blockwise_log_sums(x, centers, h, block_pairs):
  dtype = x.dtype

  def blocks(x):
    """x padded with zero rows and cut into [blocks, rows, d]; the row count."""
    m = tf.shape(x)[0]
    rows = tf.maximum(1, block_pairs // tf.maximum(tf.shape(centers)[0], 1))
    count = (m + rows - 1) // rows
    padded = tf.pad(x, [[0, count * rows - m], [0, 0]])
    return tf.reshape(padded, [count, rows, tf.shape(x)[1]]), count, rows

  @tf.custom_gradient
  def log_sums(x, centers, h):
    x_blocks, count, _ = blocks(x)
    inverse_h2 = 1.0 / tf.square(h)

    def forward(x_block):
      return tf.reduce_logsumexp(-0.5 * squared_distances(x_block, centers) * inverse_h2,
                                 axis=1)

    sums = tf.reshape(tf.map_fn(forward, x_blocks, fn_output_signature=dtype,
                                  parallel_iterations=1), [-1])  # one block at a time
    sums = sums[:tf.shape(x)[0]]

    def grad(upstream):
      # d/dc_j = sum_i g_i w_ij (x_i - c_j) / h^2, d/dx_i = g_i sum_j w_ij (c_j - x_i) / h^2,
      # d/dh = sum_ij g_i w_ij |x_i - c_j|^2 / h^3, w_ij the softmax over j.
      g_blocks, _, rows = blocks(upstream[:, None])
      s_blocks, _, _ = blocks(sums[:, None])

      def step(k, d_centers, d_h, d_x):
        x_block, g, s = x_blocks[k], g_blocks[k], s_blocks[k]
        d2 = squared_distances(x_block, centers)
        weights = g * tf.exp(-0.5 * d2 * inverse_h2 - s)  # g_i w_ij, [rows, n]
        d_centers += (tf.matmul(weights, x_block, transpose_a=True)
                      - tf.reduce_sum(weights, 0)[:, None] * centers) * inverse_h2
        d_h += tf.reduce_sum(weights * d2) * inverse_h2 / h
        d_x = d_x.write(k, (tf.matmul(weights, centers) - g * x_block) * inverse_h2)
        return k + 1, d_centers, d_h, d_x

      _, d_centers, d_h, d_x = tf.while_loop(
          lambda k, *_: k < count, step,
          (tf.constant(0), tf.zeros_like(centers), tf.zeros_like(h),
           tf.TensorArray(dtype, size=count, element_shape=[None, None])),
          parallel_iterations=1)
      d_x = tf.reshape(d_x.stack(), [count * rows, -1])[:tf.shape(x)[0]]
      return d_x, d_centers, d_h

    return sums, grad

  return log_sums(x, centers, tf.convert_to_tensor(h, dtype))
