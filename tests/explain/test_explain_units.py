"""Fast checks of the attribution machinery (engine/explain.py) and the task contract: ISM equals
re-scoring each mutant, gradient x input equals autograd on the one-hot input, Captum's IG is
complete, ids and limits are checked, and a served model explains on request."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from seqhealth.engine.explain import (
    ExplanationError,
    check_explain_limits,
    chosen_units,
    class_probability,
    gradient_x_input,
    integrated_gradients,
    ism_effects,
    sequence_output,
)
from seqhealth.engine.fit import predict_samples
from seqhealth.genomics.alphabet import encode
from seqhealth.models.module import SequenceModel
from seqhealth.serving.predictors import RawPredictor
from seqhealth.tasks.registry import get_task, task_of_bundle

torch.set_num_threads(1)


def dna_bundle(seed: int = 0) -> dict:
    torch.manual_seed(seed)
    hp = {"task_kind": "sequence", "n_classes": 3, "input_kind": "tokens", "vocab_size": 6, "embedding_dim": 0,
          "cell": "gru", "hidden_size": 8, "num_layers": 1, "bidirectional": True}  # fmt: skip
    model = SequenceModel(**hp).eval()
    return {"task": "dna_classify", "hparams": hp, "state_dict": model.state_dict(), "class_names": ["x", "y", "z"],
            "preprocessing": {"kind": "dna_tokens", "max_length": None}}  # fmt: skip


def test_ism_equals_rescoring_every_mutant():
    bundle = dna_bundle()
    model = SequenceModel(**bundle["hparams"]).eval()
    model.load_state_dict(bundle["state_dict"])
    sequence = "ACGTTGCAAGTNCA"
    tokens = encode(sequence)
    reference, effects = ism_effects(model, tokens, class_probability(2, 3), batch_size=7, device="cpu")
    direct = predict_samples(model, [{"x": tokens, "y": 0, "length": len(tokens)}])[0][2]
    assert reference == pytest.approx(float(direct), abs=1e-6)
    for position in (0, 5, 11, 13):
        for b, base in enumerate("ACGT"):
            mutant = encode(sequence[:position] + base + sequence[position + 1 :])
            expected = float(predict_samples(model, [{"x": mutant, "y": 0, "length": len(mutant)}])[0][2]) - reference
            assert effects[b, position] == pytest.approx(0.0 if sequence[position] == base else expected, abs=1e-6)
    assert (effects[:, 11] != 0).all()  # N: all four bases are mutations


def test_gradient_x_input_is_the_gradient_at_the_base_present():
    bundle = dna_bundle(1)
    model = SequenceModel(**bundle["hparams"]).eval()
    model.load_state_dict(bundle["state_dict"])
    tokens = encode("GATTACAGGC")
    saliency = gradient_x_input(model, tokens, class_probability(0, 3), device="cpu")
    onehot = torch.nn.functional.one_hot(torch.as_tensor(tokens, dtype=torch.long), 6).float().unsqueeze(0).requires_grad_()
    lengths = torch.tensor([len(tokens)])
    mask = torch.ones(1, len(tokens), dtype=torch.bool)
    original = model.encoder.embed
    model.encoder.embed = lambda x: onehot
    try:
        prob = torch.softmax(model(torch.as_tensor(tokens).unsqueeze(0), lengths, mask), -1)[0, 0]
        (grad,) = torch.autograd.grad(prob, onehot)
    finally:
        del model.encoder.embed
    assert model.encoder.embed == original
    expected = grad[0, torch.arange(len(tokens)), torch.as_tensor(tokens, dtype=torch.long)].numpy()
    np.testing.assert_allclose(saliency, expected, atol=1e-6)


def test_integrated_gradients_completeness_on_a_feature_model():
    torch.manual_seed(0)
    model = SequenceModel(task_kind="sequence", n_classes=1, input_kind="features", input_size=5, cell="lstm",
                          hidden_size=8, num_layers=1).eval()  # fmt: skip
    x = np.random.default_rng(0).normal(size=(12, 5)).astype(np.float32)
    ig = integrated_gradients(model, x, sequence_output(), n_steps=64, device="cpu")
    assert ig["attributions"].shape == (12, 5)
    assert abs(ig["attributions"].sum() - (ig["output"] - ig["baseline_output"])) < 1e-3
    assert abs(ig["delta"]) < 1e-3


def test_ids_and_limits_are_checked_with_the_problem_named():
    assert chosen_units(["a", "b", "c"], "c;a", "record") == ["a", "c"]
    assert chosen_units(["a", "b"], None, "record") == ["a", "b"]
    with pytest.raises(ExplanationError, match=r"unknown patient id\(s\) \['zz'\]"):
        chosen_units(["a", "b"], ["zz"], "patient")
    with pytest.raises(ExplanationError, match="record 'long' has 11000 bases, more than the explanation limit of 10000"):
        check_explain_limits({"short": 10, "long": 11_000}, "record", None)
    with pytest.raises(ExplanationError, match="3 patients to explain, more than the limit of 2"):
        check_explain_limits({"a": 1, "b": 1, "c": 1}, "patient", {"max_units": 2})


def test_a_task_without_explanations_says_so():
    forecast = get_task("vitals_forecast")
    hp = {"task_kind": "forecast", "n_classes": 2}
    with pytest.raises(ExplanationError, match=f"task {forecast.name} offers no explanations"):
        forecast.explain(None, {"hparams": hp, "preprocessing": {}}, pd.DataFrame(), {})


def test_served_predictor_explains_on_request_within_the_limits():
    bundle = dna_bundle(2)
    predictor = RawPredictor(bundle, {"max_rows": 10, "max_bases": 1000})
    request = pd.DataFrame({"id": ["s1", "s2"], "sequence": ["ACGTACGTAC", "TTGACA"]})
    records = predictor.explain(request)
    assert list(records["id"]) == ["s1", "s2"] and {"predicted", "score", "top_positions"} <= set(records.columns)
    effects = predictor.explain(request, "effects")
    assert len(effects) == 4 * (10 + 6)
    with pytest.raises(ExplanationError, match="no explanation table 'nope'"):
        predictor.explain(request, "nope")
    too_many = pd.DataFrame({"id": [f"s{i}" for i in range(11)], "sequence": ["ACGT"] * 11})
    with pytest.raises(ValueError, match="more than the limit of 10"):
        predictor.explain(too_many)
    assert task_of_bundle(bundle).name == bundle["task"]



def test_ism_of_a_feature_model_recomputes_the_features_of_every_mutant():
    """dna_coding reads ORF lengths computed on the whole record: a mutant's effect includes the
    change of those features (a stop codon mutated away lengthens its ORF)."""
    from seqhealth.genomics.orf import N_CODING_FEATURES, coding_features

    torch.manual_seed(0)
    model = SequenceModel(task_kind="tagging", n_classes=1, input_kind="features", input_size=N_CODING_FEATURES,
                          cell="gru", hidden_size=8, num_layers=1, bidirectional=True).eval()  # fmt: skip

    def mean_probability(logits, lengths):
        return torch.sigmoid(logits[:, :, 0]).mean(1)

    def rescored(tokens: np.ndarray) -> float:
        x = torch.as_tensor(coding_features(tokens)).unsqueeze(0)
        with torch.no_grad():
            logits = model(x, torch.tensor([len(tokens)]), torch.ones(1, len(tokens), dtype=torch.bool))
        return float(mean_probability(logits, None)[0])

    sequence = "ATGAAACCCGGGTAAGCTTAGC"
    tokens = encode(sequence)
    reference, effects = ism_effects(model, tokens, mean_probability, batch_size=5, device="cpu", featurize=coding_features)
    assert reference == pytest.approx(rescored(tokens), abs=1e-6)
    for position in (0, 12, 13, 20):  # 12-14 is the TAA stop
        for b, base in enumerate("ACGT"):
            expected = rescored(encode(sequence[:position] + base + sequence[position + 1 :])) - reference
            assert effects[b, position] == pytest.approx(0.0 if sequence[position] == base else expected, abs=1e-6)
    saliency = gradient_x_input(model, tokens, mean_probability, device="cpu", featurize=coding_features)
    assert saliency.shape == (len(tokens),) and np.isfinite(saliency).all()


def test_dna_coding_explains_a_region_with_its_orf_features():
    """The task wiring: dna_coding's model reads ORF features, so its explanation featurizes each
    mutant (a tiny untrained 7-class frame model; the real-data check is test_coding_ism.py)."""
    from seqhealth.genomics.orf import N_CODING_FEATURES

    torch.manual_seed(0)
    hp = {"task_kind": "tagging", "n_classes": 7, "input_kind": "features", "input_size": N_CODING_FEATURES,
          "cell": "gru", "hidden_size": 8, "num_layers": 1, "bidirectional": True}  # fmt: skip
    model = SequenceModel(**hp).eval()
    bundle = {"task": "dna_coding", "hparams": hp, "preprocessing": {"kind": "dna_tokens", "orf_features": True}}
    request = pd.DataFrame({"id": ["gene_end"], "sequence": ["ATGAAACCCGGGTTTAAACCCGGGTAAGCTTAGCATTA"]})
    tables, figures = get_task("dna_coding").explain(model, bundle, request, {"max_plots": 1, "device": "cpu"})
    records, effects = tables["records"], tables["effects"]
    assert records["target"].tolist() == ["mean coding probability"] and len(figures) == 1
    assert len(effects) == 4 * 38 and np.isfinite(effects["saliency"]).all()
    assert (effects.loc[effects["base"] != effects["reference"], "effect"] != 0).any()
