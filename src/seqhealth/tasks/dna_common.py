"""What the DNA tasks share: sequence files in, ``id``/``sequence`` requests, validated records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from seqhealth.engine.explain import (
    BASES,
    ExplanationError,
    check_explain_limits,
    chosen_units,
    class_probability,
    explain_device,
    gradient_x_input,
    ism_effects,
    region_mean,
    sequence_scores,
)
from seqhealth.genomics.alphabet import encode
from seqhealth.genomics.readers import read_sequence_records
from seqhealth.genomics.validation import validate_dna_records
from seqhealth.serving.raw_inputs import dna_records
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

    # ------------------------------------------------------------------------- explanations
    def explain_featurizer(self, bundle: dict):
        """``None`` for a model reading bases directly, else ``tokens -> features`` as the model
        was trained on them. Tasks whose models read derived features override this."""
        if bundle["hparams"].get("input_kind", "tokens") != "tokens":
            raise ExplanationError(f"task {self.name} offers no explanations for a model reading derived features")
        return None

    def explain_target(self, model, bundle: dict, tokens: np.ndarray):
        """``(score, what it is, predicted label)`` that ISM explains for one record: the predicted
        class probability of a sequence classifier, or the mean coding probability of the
        record (its surrounding region) for a per-base model."""
        hparams = bundle["hparams"]
        n_out = int(hparams.get("n_classes", 1))
        if hparams["task_kind"] == "sequence":
            names = list(bundle["class_names"])
            featurize = self.explain_featurizer(bundle)
            x = featurize(tokens) if featurize is not None else tokens.astype(np.int64)
            x = torch.as_tensor(x, device=model.device).unsqueeze(0)
            probs = [float(sequence_scores(model, x, class_probability(k, n_out))[0]) for k in range(len(names))]
            k = int(np.argmax(probs))
            return class_probability(k, n_out), f"P({names[k]})", names[k]
        if n_out == 1:
            return region_mean(0, len(tokens), lambda logits: torch.sigmoid(logits[..., 0])), "mean coding probability", ""
        return region_mean(0, len(tokens), lambda logits: 1 - logits.softmax(-1)[..., 0]), "mean coding probability", ""

    def explain(self, model, bundle: dict, request: pd.DataFrame, options: dict):
        """In-silico mutagenesis (4 x L effects on ``explain_target``) and gradient x input of each
        record, within the serving request limits. Tables: ``records`` (one row per record: the
        target, its value, the strongest positions) and ``effects`` (one row per record, position
        and base)."""
        ids, sequences = dna_records(request, options.get("limits"))
        keep = chosen_units(ids, options.get("ids"), "record")
        max_length = bundle["preprocessing"].get("max_length")
        lengths = {i: min(len(s), max_length or len(s)) for i, s in zip(ids, sequences) if i in keep}
        check_explain_limits(lengths, "record", options.get("limits"))
        model = model.to(explain_device(options.get("device"))).eval()
        batch = int(options.get("ism_batch_size") or 512)
        featurize = self.explain_featurizer(bundle)
        records, effects_rows, figures = [], [], {}
        for record_id, sequence in zip(ids, sequences):
            if record_id not in keep:
                continue
            tokens = encode(sequence)
            tokens = tokens[:max_length] if max_length else tokens
            score, target, predicted = self.explain_target(model, bundle, tokens)
            reference, effects = ism_effects(model, tokens, score, batch_size=batch, device=options.get("device"), featurize=featurize)
            saliency = gradient_x_input(model, tokens, score, device=options.get("device"), featurize=featurize)
            importance = -effects.sum(0) / 3.0
            order = np.argsort(-np.abs(effects).mean(0))[:5]
            records.append({"id": record_id, "predicted": predicted, "target": target, "score": reference,
                            "length": len(tokens), "top_positions": order.tolist(),
                            "max_abs_effect": float(np.abs(effects).max())})  # fmt: skip
            seq = sequence[: len(tokens)]
            effects_rows.append(pd.DataFrame({
                "id": record_id, "position": np.repeat(np.arange(len(tokens)), 4),
                "reference": np.repeat(list(seq), 4), "base": list(BASES) * len(tokens),
                "effect": effects.T.reshape(-1), "importance": np.repeat(importance, 4),
                "saliency": np.repeat(saliency, 4),
            }))  # fmt: skip
            if len(figures) < int(options.get("max_plots", 20)):
                from seqhealth.reporting_explain import ism_figure

                figures[f"{_file_safe(record_id)}.png"] = ism_figure(record_id, seq, effects, saliency, target)
        effects_table = pd.concat(effects_rows, ignore_index=True) if effects_rows else pd.DataFrame()
        return {"records": pd.DataFrame(records), "effects": effects_table}, figures


def _file_safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name))[:100] or "record"
