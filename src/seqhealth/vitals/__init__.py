"""ICU vitals ingestion core (importable without Kedro).

``schema`` (variables, plausibility ranges) -> ``readers`` (PhysioNet 2012 / 2019 / long CSV, all
cells as str) -> ``validation`` (canonical long table, labels, quarantine, reconciled report) ->
``features`` (per-patient irregular sequences, train-only normalisation, GRU-D inputs);
``demo`` writes deterministic synthetic data in the real formats.
"""
