"""Task glue: turns validated records into model inputs and evaluates trained models.

Plain Python over the core packages (genomics, vitals, batching, models); the Kedro pipelines
call these functions as nodes.
"""
