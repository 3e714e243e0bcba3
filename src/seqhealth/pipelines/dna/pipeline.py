from kedro.pipeline import Pipeline

from seqhealth.pipelines import dna_classify, dna_coding


def create_pipeline(**kwargs) -> Pipeline:
    return dna_coding.create_pipeline() + dna_classify.create_pipeline()
