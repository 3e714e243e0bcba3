"""Serving: raw request tables checked and encoded as training did (``raw_inputs``), a bundle
turned into a predictor (``predictors``) and the MLflow pyfunc that wraps it (``pyfunc``)."""
