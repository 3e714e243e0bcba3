"""Multi-process training from inside ``kedro run`` without re-running the pipeline.

Why torchrun: Lightning's default ``ddp`` launcher re-executes the *command line* in every extra
rank, which under Kedro re-runs the whole ``kedro run`` per rank (measured: 6 node runs instead
of 3, two MLflow runs; kedro issue #2049). ``ddp_spawn`` avoids that but re-imports slowly and
cannot span nodes. Here the training node starts ``torchrun`` on this module: the ranks only
train, rank 0 hands the result back through a file, and the node returns it to the catalog.
Exactly one Kedro run exists, every node runs once, and only the parent process talks to the
catalog and MLflow. The same entry point, started by torchrun/srun on every machine, is the
multi-node path (README "Scaling out").

    python -m torch.distributed.run --nproc_per_node=2 -m seqhealth.engine.rank IN.pkl OUT.pkl
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)


def device_count(train_cfg: dict) -> int:
    """Processes per machine that ``train.devices`` / ``train.accelerator`` ask for."""
    devices = train_cfg.get("devices", 1)
    if devices in (None, "auto", -1, "-1"):
        import torch

        accelerator = train_cfg.get("accelerator", "auto")
        gpus = torch.cuda.device_count() if accelerator in ("auto", "gpu", "cuda") else 0
        return max(gpus, 1)
    if isinstance(devices, list | tuple):
        return len(devices)
    return int(devices)


def world_size(train_cfg: dict) -> int:
    return device_count(train_cfg) * int(train_cfg.get("num_nodes", 1))


def inside_torchrun() -> bool:
    """True in a process started by torchrun / torch.distributed (it sets LOCAL_RANK)."""
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ


def needs_launch(train_cfg: dict) -> bool:
    """More than one process is wanted and we are the Kedro process, not one of the ranks."""
    return world_size(train_cfg) > 1 and not inside_torchrun()


def torchrun_command(n_proc: int, num_nodes: int, in_path: Path, out_path: Path, node_rank: int = 0) -> list[str]:
    """The torchrun command line for one machine of the job (also printed for other machines)."""
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={n_proc}"]
    if num_nodes == 1:
        command.append("--standalone")  # one machine: a private rendezvous on a free port
    else:
        endpoint = f"{os.environ['MASTER_ADDR']}:{os.environ.get('MASTER_PORT', '29500')}"
        command += [
            f"--nnodes={num_nodes}", f"--node_rank={node_rank}",
            "--rdzv_backend=c10d", f"--rdzv_endpoint={endpoint}",
            f"--rdzv_id={os.environ.get('SEQHEALTH_RDZV_ID', 'seqhealth')}",
        ]  # fmt: skip
    return [*command, "-m", "seqhealth.engine.rank", str(in_path), str(out_path)]


@contextlib.contextmanager
def _handover_dir(num_nodes: int):
    """A private temp folder on one machine; the shared ``SEQHEALTH_LAUNCH_DIR`` across machines
    (a fixed place, so the other nodes' torchrun command can name the same files)."""
    if num_nodes == 1:
        with tempfile.TemporaryDirectory(prefix="seqhealth-ddp-") as tmp:
            yield tmp
        return
    shared = Path(os.environ["SEQHEALTH_LAUNCH_DIR"])
    shared.mkdir(parents=True, exist_ok=True)
    (shared / "result.pkl").unlink(missing_ok=True)
    yield str(shared)


def launch_training(model_input: dict, model_params: dict, train_cfg: dict, timeout_s: float | None = None):
    """Run ``fit_sequence_model`` in torchrun ranks; returns rank 0's ``(bundle, history)``.

    One machine: a private temporary folder holds the hand-over files (the one place a node
    does file I/O of its own: ranks are separate processes and need the inputs on disk).
    Several machines (``train.num_nodes > 1``): the hand-over folder must be on a shared
    filesystem (``SEQHEALTH_LAUNCH_DIR``) and ``MASTER_ADDR``/``MASTER_PORT`` name the
    rendezvous; this machine is node 0 and the command for the others is logged.
    """
    n_proc, num_nodes = device_count(train_cfg), int(train_cfg.get("num_nodes", 1))
    if num_nodes > 1 and not ("SEQHEALTH_LAUNCH_DIR" in os.environ and "MASTER_ADDR" in os.environ):
        raise RuntimeError(
            f"train.num_nodes={num_nodes} needs SEQHEALTH_LAUNCH_DIR (a folder on a filesystem all "
            "nodes share) and MASTER_ADDR (this machine's address) in the environment; see README"
        )
    with _handover_dir(num_nodes) as tmp:
        in_path, out_path = Path(tmp) / "inputs.pkl", Path(tmp) / "result.pkl"
        with open(in_path, "wb") as handle:
            pickle.dump((model_input, model_params, train_cfg), handle, protocol=pickle.HIGHEST_PROTOCOL)
        command = torchrun_command(n_proc, num_nodes, in_path, out_path)
        logger.info("Launching %d x %d training processes: %s", num_nodes, n_proc, " ".join(command))
        if num_nodes > 1:
            logger.info(
                "Start on every other node (NODE_RANK=1..%d): %s", num_nodes - 1,
                " ".join(torchrun_command(n_proc, num_nodes, in_path, out_path, node_rank=1)).replace(
                    "--node_rank=1", "--node_rank=$NODE_RANK"),
            )  # fmt: skip
        threads = max(1, (os.cpu_count() or 1) // n_proc)
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(threads))}
        completed = subprocess.run(command, env=env, timeout=timeout_s, cwd=os.getcwd())
        if completed.returncode != 0 or not out_path.exists():
            raise RuntimeError(
                f"distributed training failed (torchrun exit code {completed.returncode}); "
                "the ranks' errors are in the log above"
            )
        with open(out_path, "rb") as handle:
            return pickle.load(handle)
