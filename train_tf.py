"""Train FOMM with TensorFlow: ``python train_tf.py --config vox-256 --data DIR --log-dir DIR``.

The same as ``fomm train``; see :mod:`fomm_tf.training` for the flags and what is written.
"""

import argparse
import logging
import sys

from fomm_tf.commands.train import add_train_arguments, exit_now, run_train
from fomm_tf.errors import InputError


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
    exit_now(code)  # run_train ends the process itself; an InputError ends here
    return code


if __name__ == "__main__":
    sys.exit(main())
