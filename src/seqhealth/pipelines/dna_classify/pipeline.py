"""dna_classify: FASTA + labels table -> labelled sequences -> BiRNN sequence classifier."""

from kedro.pipeline import Node, Pipeline

from seqhealth.genomics.validation import validate_dna_records
from seqhealth.pipelines.task_pipeline import task_pipeline
from seqhealth.tasks.dna import build_classify_model_input, evaluate_classify, label_sequences


def create_pipeline(**kwargs) -> Pipeline:
    return task_pipeline(
        "dna_classify",
        [
            Node(
                validate_dna_records,
                inputs="raw_records",
                outputs=["records", "quarantine", "ingest_report"],
                name="validate_sequences",
                tags=["ingestion"],
            ),
            Node(
                label_sequences,
                inputs=["records", "labels_table", "params:id_column", "params:label_column"],
                outputs=["labelled_records", "label_report"],
                name="join_labels_table",
                tags=["ingestion"],
            ),
            Node(
                build_classify_model_input,
                inputs=["labelled_records", "params:samples"],
                outputs="model_input",
                name="split_and_encode_sequences",
                tags=["features"],
            ),
        ],
        evaluate_classify,
    )
