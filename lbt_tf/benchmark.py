"""`python -m lbt_tf.benchmark`: the former name of `python -m lbt_tf.compare`
(the method comparison), kept so that existing commands keep working.
The timing scripts are in benchmarks/."""

from lbt_tf.compare import main

if __name__ == "__main__":
  main()
