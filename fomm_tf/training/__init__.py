"""Training FOMM with a custom loop under ``tf.distribute`` (``fomm train`` / ``train_tf.py``).

One module per job:

* :mod:`.options` — :class:`TrainOptions` and the ``fomm train`` flags;
* :mod:`.distribute` — the strategy (``MultiWorkerMirroredStrategy`` from ``TF_CONFIG``, else
  ``MirroredStrategy``), chief and per-worker folders, mirrored variables;
* :mod:`.loss_scale` — dynamic loss scaling for ``--mixed-precision``;
* :mod:`.step` — :class:`Trainer`: networks, optimizers, losses and the distributed step;
* :mod:`.loop` — :func:`train`: data, steps, checkpoints, exports, evaluations;
* :mod:`.summaries` — TensorBoard scalars and image grids;
* :mod:`.parity` — :func:`official_step`, one official training step through the same code.
"""

from .distribute import make_strategy
from .loop import NonFiniteLossError, models_from_checkpoint, train, write_export
from .options import TrainOptions, add_train_arguments, options_from_args
from .parity import official_step
from .step import Trainer

__all__ = [
    "NonFiniteLossError",
    "TrainOptions",
    "Trainer",
    "add_train_arguments",
    "make_strategy",
    "models_from_checkpoint",
    "official_step",
    "options_from_args",
    "train",
    "write_export",
]
