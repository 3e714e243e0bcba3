"""Kedro-Viz: the static site of `kedro viz build` opened in headless Chromium, catalog layers, registry.

The browser test saves ``data/08_reporting/kedro_viz_pipeline.png`` in the project copy; with
``SEQHEALTH_UPDATE_SCREENSHOT=1`` it also refreshes the README picture ``docs/images/pipeline.png``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from seqhealth.tasks.registry import TASK_NAMES
from tests.conftest import REPO_ROOT, kedro_env, make_project_copy
from tests.helpers.viz_check import check_site, find_chromium

KEDRO_VIZ_LAYERS = {"raw", "intermediate", "primary", "feature", "model_input", "models", "model_output", "reporting"}
README_SCREENSHOT = REPO_ROOT / "docs" / "images" / "pipeline.png"
# Node names a newcomer looks for first: one per stage of the task pipelines.
MAIN_NODES = {
    "validate_genomes",
    "validate_and_label_sequences",
    "validate_stays",
    "cut_windows_on_split_loci",
    "train_model",
    "calibrate_on_validation",
    "evaluate_on_test_split",
    "log_and_register_model",
}


def _kedro(project: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "kedro", *args], cwd=project, env=kedro_env(), capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"kedro {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def viz_project(tmp_path_factory) -> Path:
    # Kedro-Viz reads pipelines and catalog only: no demo data needed.
    return make_project_copy(tmp_path_factory.mktemp("viz") / "seqhealth", demo_data=False)


@pytest.fixture(scope="module")
def viz_build(viz_project) -> Path:
    _kedro(viz_project, "viz", "build")
    build = viz_project / "build"
    assert (build / "index.html").is_file() and (build / "api" / "main").is_file()
    return build


def test_browser_shows_the_pipeline_graph_with_node_names(viz_project, request):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("Chromium not found: install Debian's `chromium` (scripts/setup.sh) or set SEQHEALTH_CHROMIUM")
    viz_build = request.getfixturevalue("viz_build")  # built only where a browser can open it
    screenshot = viz_project / "data" / "08_reporting" / "kedro_viz_pipeline.png"

    result = check_site(viz_build, screenshot=screenshot, chromium=chromium)

    assert MAIN_NODES <= set(result["expected"]), "the build lost task nodes: " + str(MAIN_NODES - set(result["expected"]))
    assert not result["missing"], f"not drawn at {result['url']}: {result['missing']}"
    # Every task's datasets are drawn too (the namespaces were expanded, not shown as 4 boxes).
    for task in TASK_NAMES:
        assert f"{task}.model" in result["rendered"], task
    _assert_is_a_drawn_graph(screenshot)
    if os.environ.get("SEQHEALTH_UPDATE_SCREENSHOT") == "1":
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(screenshot, README_SCREENSHOT)


def _assert_is_a_drawn_graph(png: Path) -> None:
    """A full-window PNG with enough dark (text and edge) pixels on the light background."""
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    pixels = mpimg.imread(png)[..., :3]
    height, width = pixels.shape[:2]
    assert width >= 1600 and height >= 1000, (width, height)
    dark = (pixels.mean(axis=2) < 0.5).mean()
    assert 0.002 < dark < 0.3, f"{png}: {dark:.4f} of the pixels are dark (blank or error page?)"


def test_every_catalog_entry_the_pipelines_use_has_a_kedro_viz_layer(viz_project):
    # In a process of its own: bootstrapping sets Kedro's global project and MLflow's tracking URI.
    code = "import json; from tests.helpers.viz_check import catalog_layers; print(json.dumps(catalog_layers('.')))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=viz_project, env=kedro_env(PYTHONPATH=str(REPO_ROOT)), capture_output=True,
        text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    layers = json.loads(result.stdout.strip().splitlines()[-1])

    assert {"__default__", "dna", "vitals"} <= set(layers)
    assert len(layers["__default__"]["catalog"]) >= 10 * len(TASK_NAMES)  # every task's datasets were resolved
    wrong = {
        f"{pipeline}: {dataset} -> {layer}"
        for pipeline, used in layers.items()
        for dataset, layer in used["catalog"].items()
        if layer not in KEDRO_VIZ_LAYERS
    }
    assert not wrong, "catalog entries without a valid kedro-viz layer:\n" + "\n".join(sorted(wrong))


@pytest.fixture(scope="module")
def registered_pipelines(viz_project) -> set[str]:
    output = _kedro(viz_project, "registry", "list").stdout
    return {line[2:].strip() for line in output.splitlines() if line.startswith("- ")}


@pytest.mark.parametrize("pipeline", ["__default__", "dna", "vitals", "tune", "retrain", "predict"])
def test_kedro_registry_list_shows(registered_pipelines, pipeline):
    assert pipeline in registered_pipelines, sorted(registered_pipelines)


def test_registry_list_includes_every_task(registered_pipelines):
    assert set(TASK_NAMES) <= registered_pipelines
