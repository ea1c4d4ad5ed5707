"""Beyond one device: tensor- and expert-parallel runs over torch.distributed ([9/9]).

`plan` (pure Python, like app/spec) says how a spec splits over ranks -- heads, MLP
columns and rows, experts -- what does not divide, and what each rank should hold and send.
`shard` cuts a built model into one rank's share and puts the collectives in; `build` makes
only that share, its values those of the whole model of the same seed; `comm` times each
collective; `run` and `launch` drive ranks on gloo (CPU) or NCCL (GPU), started by
torchrun's launcher; `snapshot` writes a run as one profile snapshot with a section per rank.

Nothing is imported here, so the torch-free `plan` stays importable without torch.
"""
