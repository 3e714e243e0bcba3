"""seqhealth
"""

__version__ = "0.1"

from seqhealth.warning_filters import install as _install_warning_filters  # noqa: E402

_install_warning_filters()  # dependency warnings the project cannot fix (see warning_filters.py)
