"""Task glue: turns validated records into model inputs and evaluates trained models.

Plain Python over the core packages (genomics, vitals, batching, models); the Kedro pipelines
call these functions as nodes.
"""

# The four tasks, each a Kedro pipeline of its own name (and a registered model seqhealth-<task>).
TASK_NAMES = ("dna_coding", "dna_classify", "vitals_mortality", "vitals_sepsis")
