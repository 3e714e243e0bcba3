"""The raw-input pyfunc logged to a real (SQLite) MLflow store predicts what the in-process
model predicts on the samples the task code built, and refuses malformed tables clearly."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from seqhealth.engine.fit import predict_samples
from seqhealth.genomics.alphabet import decode
from seqhealth.genomics.orf import coding_features
from seqhealth.genomics.windows import cut_windows, stitch
from seqhealth.serving.pyfunc import log_pyfunc
from seqhealth.tasks.dna_classify import class_probabilities
from seqhealth.tasks.dna_coding import coding_probability
from seqhealth.tasks.registry import TASKS
from tests.tracking.conftest import long_request


def _logged(bundle, limits=None):
    with mlflow.start_run():
        info = log_pyfunc(bundle, limits=limits)
    return mlflow.pyfunc.load_model(info.model_uri)


def test_dna_classify_round_trip(bundles, model_inputs, sqlite_tracking):
    test = model_inputs["dna_classify"]["splits"]["test"]
    model = _logged(bundles["dna_classify"])
    frame = pd.DataFrame({"id": [f"s{i}" for i in range(len(test))], "sequence": [decode(s["x"]) for s in test]})
    out = model.predict(frame)
    expected = class_probabilities(bundles["dna_classify"], test)
    names = bundles["dna_classify"]["class_names"]
    assert list(out.columns) == ["id", "predicted", *[f"p_{n}" for n in names]]
    assert out["id"].tolist() == frame["id"].tolist()
    np.testing.assert_allclose(out[[f"p_{n}" for n in names]].to_numpy(), expected, atol=1e-5)
    # The same records as FASTA text in one cell give the same answer.
    fasta = "".join(f">{i} description\n{s[:60]}\n{s[60:]}\n" for i, s in zip(frame["id"], frame["sequence"]))
    np.testing.assert_allclose(model.predict(pd.DataFrame({"fasta": [fasta]}))[f"p_{names[0]}"], out[f"p_{names[0]}"], atol=1e-6)


def test_dna_coding_round_trip_stitches_windows(bundles, model_inputs, sqlite_tracking):
    bundle = bundles["dna_coding"]
    window, overlap = bundle["preprocessing"]["window"], bundle["preprocessing"]["overlap"]
    (records,) = model_inputs["dna_coding"]["builder_inputs"]
    tokens = records["tokens"].iloc[0][:1234]
    # The model's input: the bases, or per-base ORF features of the whole request record.
    x = coding_features(tokens) if bundle["preprocessing"].get("orf_features") else tokens
    starts = [a for a, _ in cut_windows(len(tokens), window, overlap)]
    assert len(starts) > 3  # several overlapping windows are really stitched
    samples = [{"x": x[a : a + window], "y": np.zeros(min(window, len(x) - a)), "length": min(window, len(x) - a)} for a in starts]
    # P(coding) per base: the binary track, or 1 - P(non-coding) of the strand/frame classes.
    expected = coding_probability(stitch(starts, predict_samples(bundle, samples), len(tokens)))
    out = _logged(bundle).predict(pd.DataFrame({"sequence": [decode(tokens).lower()]}))
    assert out["position"].tolist() == list(range(len(tokens)))
    assert set(out["id"]) == {"0"}
    np.testing.assert_allclose(out["coding_probability"], expected, atol=1e-5)
    # The calls as rows: real ORFs, and the per-base track is their union.
    calls = _logged(bundle).predict(pd.DataFrame({"sequence": [decode(tokens)], "output": ["genes"]}))
    assert list(calls.columns) == ["id", "gene_id", "start", "end", "strand", "score", "start_codon"]
    covered = np.zeros(len(tokens), dtype=bool)
    for start, end in zip(calls["start"], calls["end"]):
        assert (end - start + 1) % 3 == 0 and end - start + 1 >= 90
        covered[start - 1 : end] = True
    np.testing.assert_array_equal(out["in_gene_call"].to_numpy().astype(bool), covered)


@pytest.mark.parametrize("task", ["vitals_mortality", "vitals_sepsis"])
def test_vitals_round_trip_applies_training_normalisation(task, bundles, model_inputs, sqlite_tracking):
    """The served model returns the CALIBRATED risks and alert flags that evaluation wrote to
    ``test_predictions`` (the rows behind ``metrics.json``) for the same test patients."""
    model_input = model_inputs[task]
    patients = model_input["patients"]["test"]
    request = long_request(model_input["clean_long"], patients).sample(frac=1.0, random_state=0)  # any row order
    out = _logged(bundles[task]).predict(request)
    metrics, evaluated, _figures = TASKS[task].evaluate(bundles[task], model_input, [])
    raw = predict_samples(bundles[task], model_input["splits"]["test"])
    assert bundles[task]["risk_calibration"]["method"] in ("platt", "isotonic")
    assert out["patient_id"].tolist() == evaluated["patient_id"].tolist()
    np.testing.assert_allclose(out["risk"], evaluated["risk"], atol=1e-5)
    assert out["alert"].tolist() == evaluated["alert"].tolist()
    assert not np.allclose(out["risk"], np.concatenate([np.atleast_1d(r) for r in raw]), atol=1e-3)  # not the raw output
    label = evaluated["label" if "label" in evaluated else "sepsis_label"].to_numpy(np.float64)
    assert metrics["test"]["brier"] == pytest.approx(np.mean((evaluated["risk"].to_numpy(np.float64) - label) ** 2), abs=1e-5)
    if task == "vitals_sepsis":
        first = model_input["clean_long"].query("patient_id == @patients[0]")["time_h"].unique()
        np.testing.assert_allclose(out.loc[out["patient_id"] == patients[0], "time"], np.sort(first))


@pytest.fixture(scope="module")
def strict_models(bundles, tmp_path_factory):
    """Logged once for all malformed cases, with a small row limit."""
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path_factory.mktemp('strict') / 'mlflow.db'}")
    mlflow.set_experiment("strict")
    try:
        return {task: _logged(bundles[task], limits={"max_rows": 10}) for task in ("dna_classify", "vitals_mortality")}
    finally:
        mlflow.set_tracking_uri(None)


def _vitals_frame():
    return pd.DataFrame({"patient_id": ["a", "a", "b"], "time": ["00:00", "01:30", 2.0],
                         "variable": ["HR", "HR", "Temp"], "value": [80, 82.5, 37.1]})  # fmt: skip


@pytest.mark.parametrize(
    ("task", "frame", "message"),
    [
        ("dna_classify", pd.DataFrame({"seq": ["ACGT"]}), "exactly one of the columns 'sequence'"),
        ("dna_classify", pd.DataFrame({"sequence": ["ACGTUU"]}), "invalid base 'U' at position 4"),
        ("dna_classify", pd.DataFrame({"id": ["x"], "sequence": ["AC-GT"]}), "record 'x': invalid base '-' at position 2"),
        ("dna_classify", pd.DataFrame({"sequence": ["ACGT"] * 11}), "more than the limit of 10"),
        ("dna_classify", pd.DataFrame({"fasta": ["no header here"]}), "no FASTA record"),
        ("vitals_mortality", _vitals_frame().drop(columns=["value"]), "missing inputs ['value']"),  # MLflow's schema check
        ("vitals_mortality", _vitals_frame().assign(value=["80", "high", "37"]), "row 1: value 'high' of 'HR' is not a number"),
        ("vitals_mortality", _vitals_frame().assign(time=["00:00", "yesterday", "1"]), "row 1: time 'yesterday'"),
        ("vitals_mortality", _vitals_frame().assign(variable=["HR", "Pulse", "Temp"]), "unknown variables ['Pulse']"),
        ("vitals_mortality", _vitals_frame().assign(value=[80, 900, 37]), "outside plausible range"),
    ],
)
def test_malformed_input_is_refused_with_a_message(task, frame, message, strict_models):
    with pytest.raises(MlflowException) as caught:
        strict_models[task].predict(frame)
    assert message in str(caught.value.message)
    assert caught.value.get_http_status_code() == 400
