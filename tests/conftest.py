import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Each pytest worker runs its own TensorFlow on one thread per pool: two
# workers (and the command lines they start) already fill the 2 cores, and
# more threads only contend (measured: tests/test_unroll.py took 126 s of CPU
# with the default pools, 115 s with these). Started processes keep theirs.
import tensorflow as tf  # pylint: disable=g-import-not-at-top,wrong-import-position

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)


# The longest files first (pytest-xdist's --dist loadfile hands out whole
# files in collection order): a long file started last keeps one worker busy
# while the other has nothing left. Measured with --durations on 2 cores
# (a5659c8, beside a training: test_reliability 395 s ... test_estimators
# 29 s; the files not named take under 10 s); simulated, this order ends
# the suite 80 s sooner than the order before it, which left test_trainers
# (171 s) for last.
LONGEST_FIRST = ("test_reliability.py", "test_checkpoints.py", "test_comparison.py",
                 "test_fashion_mnist.py", "test_methods.py", "test_image_training.py",
                 "test_unroll.py", "test_distribute.py", "test_trainers.py",
                 "test_hypergradient.py", "test_bounded_memory.py", "test_export.py",
                 "test_image_metrics.py", "test_baselines.py", "test_cli.py",
                 "test_mode_counting.py", "test_estimators.py")


def pytest_collection_modifyitems(items):
  rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
  items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable within a file
