import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Each pytest worker runs its own TensorFlow on one thread per pool: two
# workers (and the command lines they start) already fill the 2 cores, and
# more threads only contend (measured: tests/test_unroll.py took 126 s of CPU
# with the default pools, 115 s with these). Started processes keep theirs.
import tensorflow as tf  # pylint: disable=g-import-not-at-top,wrong-import-position

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
