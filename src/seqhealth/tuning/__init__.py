"""Optuna tuning: search space, studies on any RDB storage, workers, nested MLflow trial runs."""
