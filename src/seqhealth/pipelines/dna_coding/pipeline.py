"""dna_coding: GenBank -> validated records -> windows on held-out loci -> BiRNN tagger."""

from kedro.pipeline import Node, Pipeline

from seqhealth.genomics.validation import validate_dna_records
from seqhealth.pipelines.task_pipeline import task_pipeline
from seqhealth.tasks.dna import build_coding_model_input, evaluate_coding


def create_pipeline(**kwargs) -> Pipeline:
    return task_pipeline(
        "dna_coding",
        [
            Node(
                validate_dna_records,
                inputs="raw_records",
                outputs=["records", "quarantine", "ingest_report"],
                name="validate_genomes",
                tags=["ingestion"],
            ),
            Node(
                build_coding_model_input,
                inputs=["records", "params:windows"],
                outputs="model_input",
                name="cut_windows_on_split_loci",
                tags=["features"],
            ),
        ],
        evaluate_coding,
    )
