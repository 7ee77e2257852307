"""Keras → TFLite → contract: :mod:`.graphs`, :mod:`.calibration`, :mod:`.convert`,
:mod:`.exporter` (validation and floors), :mod:`.contract`, :mod:`.flatbuffer`."""
