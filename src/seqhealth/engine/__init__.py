"""The training engine, below the tasks: fit a ``SequenceModel`` on any task's model input (one
process or torchrun ranks), fingerprint data and configuration, load and apply trained bundles,
and the evaluation pieces every task shares. Knows nothing about any particular task."""
