"""seqhealth
"""

__version__ = "0.1"

from seqhealth.warning_filters import install as _install_warning_filters  # noqa: E402

_install_warning_filters()  # dependency warnings the project cannot fix (see warning_filters.py)

from seqhealth.no_telemetry import disable_dependency_telemetry  # noqa: E402

disable_dependency_telemetry()  # MLflow's usage analytics off unless the user opts in
