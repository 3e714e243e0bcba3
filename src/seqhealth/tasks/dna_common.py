"""What the DNA tasks share: sequence files in, ``id``/``sequence`` requests, validated records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seqhealth.genomics.readers import read_sequence_records
from seqhealth.genomics.validation import validate_dna_records
from seqhealth.tasks.base import Task


class DnaTask(Task):
    domain = "dna"
    group_unit = "sequence"
    request_key = "id"
    request_columns = [("string", "id", False), ("string", "sequence", False), ("string", "fasta", False)]

    def read_predict_input(self, path: Path) -> dict:
        return {"format": "sequences", "raw": read_sequence_records(Path(path))}

    def prepare_request(self, raw_input: dict):
        clean, quarantine, report = validate_dna_records(raw_input["raw"])
        request = pd.DataFrame({"id": clean["record_id"].astype(str), "sequence": clean["sequence"].astype(str)})
        return request, quarantine, report

    def example_request(self, bundle: dict, seed: int = 0) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        bases = np.frombuffer(b"ACGT", dtype=np.uint8)
        sequences = [rng.choice(bases, size=n).tobytes().decode() for n in (300, 180)]
        return pd.DataFrame({"id": ["example-1", "example-2"], "sequence": sequences})
