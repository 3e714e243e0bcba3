"""Only the named dependency warnings are silenced; every other warning still shows."""

from __future__ import annotations

import warnings

import torch
from kedro.config import OmegaConfigLoader
from lightning.pytorch.utilities._pytree import _tree_flatten

from seqhealth import warning_filters


def test_dependency_deprecations_are_silenced_and_other_warnings_still_show(tmp_path, monkeypatch):
    for env in ("base", "local"):
        (tmp_path / env).mkdir()
    (tmp_path / "base" / "parameters.yml").write_text("a: ${double:2}\n")
    monkeypatch.setattr(warning_filters, "_INSTALLED", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warning_filters.install()  # in front of "always", as at import time in front of the defaults
        loader = OmegaConfigLoader(str(tmp_path), custom_resolvers={"double": lambda x: 2 * int(x)})
        assert loader["parameters"] == {"a": 4}  # the resolver Kedro registered works
        _tree_flatten({"x": torch.zeros(1)})  # Lightning's batch-transfer flattening
        warnings.warn("register_new_resolver() is deprecated", UserWarning, stacklevel=1)  # not from Kedro
        warnings.warn("a real problem in the project", UserWarning, stacklevel=1)
    messages = [str(w.message) for w in caught]
    assert messages == ["register_new_resolver() is deprecated", "a real problem in the project"], messages


def test_without_the_filters_kedro_and_lightning_do_warn(tmp_path):
    """The filters are not dead: the warnings they name are really raised by these dependencies."""
    for env in ("base", "local"):
        (tmp_path / env).mkdir()
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("always")
        OmegaConfigLoader(str(tmp_path), custom_resolvers={"double": lambda x: 2 * int(x)})
        _tree_flatten({"x": torch.zeros(1)})
    messages = " ".join(str(w.message) for w in caught)
    assert "register_new_resolver() is deprecated" in messages
    assert "isinstance(treespec, LeafSpec)" in messages
