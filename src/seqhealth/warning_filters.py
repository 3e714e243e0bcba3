"""Filters for dependency warnings the project cannot fix; installed when ``seqhealth`` is imported.

Each filter names the exact message and the module that triggers it, so the same warning from
anywhere else, and every other warning (the project's own above all), still shows. Measured in a
default ``kedro run`` (issue 16): 8 warnings, of which these are the dependency ones:

* 5x ``register_new_resolver() is deprecated``: Kedro 1.7's ``OmegaConfigLoader`` registers its
  resolvers (and the project's ``custom_resolvers`` setting) with OmegaConf's old API; the
  project only hands the resolvers over, Kedro makes the call; kedro-mlflow 2.0's hook does the
  same for its ``km.random_name`` resolver.
* 1x per process ``isinstance(treespec, LeafSpec) is deprecated``: Lightning 2.6.6's own
  ``utilities/_pytree.py`` builds a ``LeafSpec`` for every batch transfer under torch 2.13.
* 1x ``Add type hints to the `predict` method``: MLflow on kedro-mlflow's ``KedroPipelineModel``.
"""

from __future__ import annotations

import warnings

_INSTALLED = False


def install() -> None:
    global _INSTALLED
    if _INSTALLED:
        return
    for module in (r"kedro\.config\.omegaconf_config", r"kedro_mlflow\.framework\.hooks\.mlflow_hook"):
        warnings.filterwarnings("ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning,
                                module=module)
    # MLflow 3.17 checks every PythonModel subclass as it is defined; kedro-mlflow 2.0's own
    # KedroPipelineModel (imported by its hook, never used here) has no type hints. The project's
    # model (serving.pyfunc) has them, so this message cannot come from it.
    warnings.filterwarnings("ignore", message=r".*Add type hints to the `predict` method", category=UserWarning,
                            module=r"mlflow\.pyfunc\.utils\.data_validation")
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
                            category=FutureWarning, module=r"lightning\.pytorch\.utilities\._pytree")
    _INSTALLED = True
