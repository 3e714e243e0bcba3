from kedro.pipeline import Pipeline

from seqhealth.pipelines import vitals_mortality, vitals_sepsis


def create_pipeline(**kwargs) -> Pipeline:
    return vitals_mortality.create_pipeline() + vitals_sepsis.create_pipeline()
