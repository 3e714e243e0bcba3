"""Open a ``kedro viz build`` site in headless Chromium: which node names it renders, and a screenshot.

    kedro viz build
    python -m tests.helpers.viz_check build --screenshot docs/images/pipeline.png

The site is served on 127.0.0.1 (a free port, a server thread stopped afterwards) and rendered
by Chromium's ``--dump-dom``/``--screenshot`` with a virtual-time budget: no driver, no
websocket, nothing beyond the ``chromium`` binary (Debian package ``chromium``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

logger = logging.getLogger(__name__)

CHROMIUM_ENV = "SEQHEALTH_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Kedro-Viz keeps display preferences in localStorage["KedroViz"]. A first visit opens a
# feature-hint tour over the graph; a returning user has dismissed it. Hiding the sidebar and
# the mini-map leaves the whole window to the graph, so node names are legible in the picture.
VIEW_PREFERENCES = {
    "showFeatureHints": False,
    "featureHintStep": 0,
    "visible": {"sidebar": False, "miniMap": False, "graph": True, "code": False, "slicing": True, "traceback": False},
    "theme": "light",
    "isPrettyName": False,  # the names used in code and in `kedro run --nodes`
}

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # CI containers run as root, where the sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",  # small /dev/shm in containers
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    # The page asks Google Fonts for a web font: fail that at once instead of waiting on DNS.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)


def find_chromium() -> str | None:
    """``$SEQHEALTH_CHROMIUM`` if set, else the first Chromium/Chrome on PATH (None when absent)."""
    explicit = os.environ.get(CHROMIUM_ENV)
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class _VizSiteHandler(SimpleHTTPRequestHandler):
    """Static files, with the view preferences stored before the app's (deferred) module script runs."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.split("?", 1)[0] not in ("/", "/index.html"):
            return super().do_GET()
        page = (Path(self.directory) / "index.html").read_text(encoding="utf-8")
        seed = f"<script>localStorage.setItem('KedroViz', {json.dumps(json.dumps(VIEW_PREFERENCES))});</script>"
        body = page.replace("<head>", "<head>" + seed, 1).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass  # one line per asset would drown the test output


@contextmanager
def serve_site(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 at a free port; yields the base URL, stops the server on exit."""
    if not (Path(directory) / "index.html").is_file():
        raise FileNotFoundError(f"{directory}: no index.html (run `kedro viz build` first)")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_VizSiteHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, name="viz-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def graph_url(base_url: str, pipeline: str = "__default__", expand_all: bool = True) -> str:
    """URL of a pipeline's graph; ``expandAllPipelines`` opens the namespaced (modular) pipelines."""
    return base_url + "?" + urlencode({"pid": pipeline, "expandAllPipelines": str(expand_all).lower()})


def render_page(
    url: str,
    chromium: str,
    screenshot: Path | None = None,
    window: tuple[int, int] = (1600, 1000),
    scale: float = 2.0,
    budget_ms: int = 15000,
    timeout_s: float = 90,
) -> str:
    """The DOM after ``budget_ms`` of virtual time; also writes a PNG of the window when asked.

    Chromium runs in its own session (process group) with a throw-away profile; on a timeout
    the whole group is killed, so no renderer or GPU helper outlives the call.
    """
    with tempfile.TemporaryDirectory(prefix="seqhealth-chromium-") as profile:
        command = [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={window[0]},{window[1]}",
            f"--force-device-scale-factor={scale}",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
        ]
        if screenshot is not None:
            Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            command.append(f"--screenshot={Path(screenshot).resolve()}")
        process = subprocess.Popen(
            [*command, url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            cwd=profile,
        )
        try:
            dom, errors = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise TimeoutError(f"{chromium} did not render {url} within {timeout_s} s") from None
        if process.returncode != 0:
            raise RuntimeError(f"{chromium} failed ({process.returncode}) on {url}:\n{errors[-3000:]}")
        return dom


class _NodeLabelParser(HTMLParser):
    """Text of every ``<text class="pipeline-node__text">`` (the labels drawn on graph nodes)."""

    def __init__(self) -> None:
        super().__init__()
        self.labels: list[str] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        self._inside = tag == "text" and "pipeline-node__text" in classes
        if self._inside:
            self.labels.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "text":
            self._inside = False

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.labels[-1] += data


def rendered_node_labels(dom: str) -> list[str]:
    """Node labels of the rendered flowchart, in document order (a name repeats per namespace)."""
    parser = _NodeLabelParser()
    parser.feed(dom)
    return [label.strip() for label in parser.labels]


def built_node_names(build_dir: Path, pipeline: str = "__default__", node_type: str = "task") -> set[str]:
    """Names of ``node_type`` nodes ("task", "data", "parameters") in the build's API file of ``pipeline``."""
    api = Path(build_dir) / "api" / "pipelines" / pipeline
    if not api.is_file():
        raise FileNotFoundError(f"{api}: pipeline {pipeline!r} is not in this Kedro-Viz build")
    return {node["name"] for node in json.loads(api.read_text())["nodes"] if node["type"] == node_type}


def check_site(
    build_dir: Path,
    screenshot: Path | None = None,
    pipeline: str = "__default__",
    chromium: str | None = None,
    attempts: int = 3,
) -> dict:
    """Render ``pipeline`` with every namespace expanded until all its task names are drawn.

    Returns ``{"url", "expected", "rendered", "missing"}``; ``missing`` is empty on success.
    Each retry doubles the virtual-time budget (a slow machine may need longer to lay out).
    """
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError(f"no Chromium found (install Debian's `chromium` or set {CHROMIUM_ENV})")
    expected = built_node_names(build_dir, pipeline)
    budget_ms = 15000
    with serve_site(build_dir) as base_url:
        url = graph_url(base_url, pipeline)
        for _ in range(attempts):
            rendered = rendered_node_labels(render_page(url, chromium, screenshot, budget_ms=budget_ms))
            missing = sorted(expected - set(rendered))
            if not missing:
                break
            budget_ms *= 2
    return {"url": url, "expected": sorted(expected), "rendered": rendered, "missing": missing}


def catalog_layers(project_path: Path) -> dict:
    """Kedro-Viz layer of every dataset each registered pipeline uses, from the resolved catalog.

    Returns ``{pipeline: {"catalog": {dataset: layer or None}, "memory": [datasets not in the
    catalog]}}``; parameters are left out. Bootstraps the project: it sets Kedro's global
    project state and runs the project's hooks, so call it in a process of its own.
    """
    from kedro.framework.project import pipelines
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    project_path = Path(project_path).resolve()
    bootstrap_project(project_path)
    with KedroSession.create(project_path=project_path) as session:
        catalog = session.load_context().catalog
        layers: dict = {}
        for name in sorted(pipelines):
            used = sorted(d for d in pipelines[name].datasets() if d != "parameters" and not d.startswith("params:"))
            in_catalog = {d: ((catalog.get(d).metadata or {}).get("kedro-viz") or {}).get("layer") for d in used if d in catalog}
            layers[name] = {"catalog": in_catalog, "memory": [d for d in used if d not in in_catalog]}
    return layers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_dir", type=Path, nargs="?", default=Path("build"))
    parser.add_argument("--pipeline", default="__default__")
    parser.add_argument("--screenshot", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = check_site(args.build_dir, args.screenshot, args.pipeline)
    logger.info("%d task nodes expected, %d labels drawn", len(result["expected"]), len(set(result["rendered"])))
    if result["missing"]:
        logger.error("missing from the rendered graph: %s", ", ".join(result["missing"]))
        return 1
    if args.screenshot:
        logger.info("screenshot: %s", args.screenshot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
