"""The paper's evaluation (sec. 4.1): L1, AKD, MKR and AED with detectors independent of FOMM.

* :mod:`.metrics` — the four metrics from frames and detections, pooled over videos;
* :mod:`.detectors` — the ``synthetic`` landmark/identity network and the ``face`` detector
  (MediaPipe box + dlib 68 landmarks + dlib 128-D identity);
* :mod:`.landmark_net` — the synthetic detector's network; :mod:`.train_detector` trains it;
* :mod:`.baselines` — copy-the-source and best-global-affine reconstructions;
* :mod:`.report` — ``metrics.json``, ``metrics.md``, the contact sheet and the L1 plot.

The protocol itself (which frames are compared) is :mod:`fomm_tf.evaluate`.
"""
