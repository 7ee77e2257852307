"""The paper's networks: :mod:`.keypoint_detector` (eq. 1–2), :mod:`.dense_motion` (eq. 3–7),
:mod:`.generator` (eq. 8), :mod:`.models` (build / load / save both), :mod:`.checkpoint` and
:mod:`.weights` (official checkpoints without torch), and their :mod:`.layers`."""
