"""The folders of further predict outputs and of explanations: a save replaces what the previous
save wrote (stale files removed, files nobody listed kept), and load reads back what was saved."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from seqhealth.datasets.explain_outputs import ExplainOutputsDataset  # noqa: E402
from seqhealth.datasets.predict_outputs import PredictOutputsDataset  # noqa: E402


def test_predict_outputs_replace_the_previous_save(tmp_path):
    dataset = PredictOutputsDataset(folder=str(tmp_path / "out"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("the user's own file")
    dataset.save({"genes.gff3": "##gff-version 3\n", "genes.csv": pd.DataFrame({"start": [1, 4]})})
    loaded = dataset.load()
    assert loaded["genes.gff3"] == "##gff-version 3\n"
    assert loaded["genes.csv"]["start"].tolist() == [1, 4]
    dataset.save({"genes.csv": pd.DataFrame({"start": [7]})})
    assert not (tmp_path / "out" / "genes.gff3").exists()
    assert set(dataset.load()) == {"genes.csv"}
    dataset.save({})  # a task without further outputs: nothing listed, nothing stale left
    assert not dataset.exists() and not (tmp_path / "out" / "genes.csv").exists()
    assert (tmp_path / "out" / "notes.txt").read_text() == "the user's own file"


def test_explain_outputs_remove_a_previous_patients_plot(tmp_path):
    dataset = ExplainOutputsDataset(folder=str(tmp_path / "explain"))
    table = pd.DataFrame({"id": ["a", "b"], "score": [0.1, 0.9]})
    dataset.save({"tables": {"records": table}, "figures": {"a.png": plt.figure(), "b.png": plt.figure()}})
    dataset.save({"tables": {"records": table.iloc[:1]}, "figures": {"a.png": plt.figure()}})
    loaded = dataset.load()
    assert loaded["figures"] == ["plots/a.png"]
    assert not (tmp_path / "explain" / "plots" / "b.png").exists()
    assert loaded["tables"]["records"]["id"].tolist() == ["a"]
