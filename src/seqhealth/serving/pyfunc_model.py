"""The model MLflow logs, as code (MLflow's "models from code"): the class is imported from the
installed ``seqhealth`` when the model is loaded, instead of unpickled from a CloudPickle blob
(which MLflow warns may execute arbitrary code). The request limits come from the logged
``model_config`` and the weights from the ``bundle`` artifact (``serving.pyfunc.log_pyfunc``)."""

import mlflow

from seqhealth.serving.pyfunc import SeqhealthPyfunc

mlflow.models.set_model(SeqhealthPyfunc())
