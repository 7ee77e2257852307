"""The animate path: :func:`.pipeline.animate_file` does what ``fomm animate`` does, top-down
(crop → backend → driver → animator → paste-back → writer); :mod:`.animator` streams,
:mod:`.keras_backend` and :mod:`.tflite_backend` run the networks, :mod:`.motion` is eq. 14–15,
:mod:`.photo`, :mod:`.driver`, :mod:`.faces`, :mod:`.audio` and :mod:`.panels` wrap real
photos and videos around it."""
