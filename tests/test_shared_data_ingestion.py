"""Ingestion pipelines on the real public samples in ../shared/data, selected by runtime params only.

Skipped in a fresh clone (no ../shared). Only the nodes tagged ``ingestion`` run.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.conftest import make_project_copy, run_kedro

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


@pytest.fixture(scope="module")
def empty_project(tmp_path_factory):
    return make_project_copy(tmp_path_factory.mktemp("shared_ingest") / "seqhealth", demo_data=False)


def _report(project, task):
    folder = project / "data" / "08_reporting" / task
    return json.loads((folder / "ingest_report.json").read_text()), pd.read_csv(folder / "quarantine.csv")


def test_genbank_genomes(empty_project, shared_data):
    run_kedro(empty_project, "--pipeline", "dna_coding", "--tags", "ingestion",
              "--params", f"dna_coding.path={shared_data / 'genome_cds'}")
    report, quarantine = _report(empty_project, "dna_coding")
    assert report["records_in"] == 5  # five annotated GenBank records
    assert report["records_in"] == report["records_kept"] + report["records_quarantined"]
    records = pd.read_pickle(empty_project / "data" / "02_intermediate" / "dna_coding" / "records.pkl")
    assert int(records["length"].sum()) == 300_000 + 154_478 + 86_436 + 9_609 + 5_386


def test_orchid_fasta_with_labels_table(empty_project, shared_data):
    orchid = shared_data / "ls_orchid"
    run_kedro(
        empty_project, "--pipeline", "dna_classify", "--tags", "ingestion", "--params",
        f"dna_classify.path={orchid / 'ls_orchid.fasta'},dna_classify.labels={orchid / 'labels.tsv'},"
        "dna_classify.id_column=accession,dna_classify.label_column=genus",
    )
    report, _ = _report(empty_project, "dna_classify")
    assert report["records_in"] == 30 == report["records_kept"] + report["records_quarantined"]
    labels = json.loads((empty_project / "data" / "08_reporting" / "dna_classify" / "label_report.json").read_text())
    assert labels["n_labelled"] == 30
    assert labels["sequences_without_label"] == [] and labels["labels_without_sequence"] == []


def test_physionet_2012(empty_project, shared_data):
    run_kedro(empty_project, "--pipeline", "vitals_mortality", "--tags", "ingestion",
              "--params", f"vitals_mortality.path={shared_data / 'physionet2012_mortality'}")
    report, quarantine = _report(empty_project, "vitals_mortality")
    assert report["records_in"] == report["records_kept"] + report["records_quarantined"]
    labels = pd.read_parquet(empty_project / "data" / "03_primary" / "vitals_mortality" / "labels.parquet")
    assert len(labels) == 400 and int(labels["label"].sum()) == 55
    assert set(quarantine["field"]) <= {"value", "time", "label", "patient", "patient_id"}


def test_physionet_2019(empty_project, shared_data):
    run_kedro(empty_project, "--pipeline", "vitals_sepsis", "--tags", "ingestion",
              "--params", f"vitals_sepsis.path={shared_data / 'physionet2019_sepsis'}")
    report, _ = _report(empty_project, "vitals_sepsis")
    assert report["records_in"] == report["records_kept"] + report["records_quarantined"]
    labels = pd.read_parquet(empty_project / "data" / "03_primary" / "vitals_sepsis" / "labels.parquet")
    assert len(labels) == 18_503
    assert labels.groupby("patient_id")["label"].max().sum() == 28
