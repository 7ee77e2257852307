"""Train FOMM with TensorFlow: ``python train_tf.py --config vox-256 --data DIR --log-dir DIR``.

The same as ``fomm train``; see :mod:`fomm_tf.training` for the flags and what is written.
"""

import argparse
import logging
import sys

from fomm_tf.errors import InputError
from fomm_tf.training import add_train_arguments, exit_now, run_train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_train_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        code = run_train(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    exit_now(code)  # ends the process (see fomm_tf.training.run_train)
    return code


if __name__ == "__main__":
    sys.exit(main())
