"""Models: BiRNN encoder with per-length reversal, heads, LightningModule, metrics."""
