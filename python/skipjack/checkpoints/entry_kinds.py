"""The session entry kinds checkpoints are recorded as (see `before_turn`). Apart from
`timeline`, which reads them back, so that writing them does not load the reader."""

CHECKPOINT = "checkpoint"
CHECKPOINT_TREE = "checkpoint_tree"
PENDING = "pending"
CHECKPOINT_END = "checkpoint_end"
RESTORE = "restore"
