"""A ``train.*`` parameter passed at run time wins over every task's own ``<task>.train`` block."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT, kedro_env

CODE = """
import json
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
bootstrap_project('.')
with KedroSession.create(project_path='.', runtime_params={'train': {'max_epochs': 1, 'batch_size': 4}}) as session:
    params = session.load_context().params
trains = {name: block.get('train') for name, block in params.items() if isinstance(block, dict)}
print(json.dumps({**trains, 'train': params['train']}))
"""


def test_runtime_train_parameters_win_over_each_task_block():
    result = subprocess.run([sys.executable, "-c", CODE], cwd=REPO_ROOT, env=kedro_env(), capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    trains = json.loads(result.stdout.strip().splitlines()[-1])
    from seqhealth.tasks.registry import TASK_NAMES

    for task in TASK_NAMES:
        assert trains[task]["max_epochs"] == 1 and trains[task]["batch_size"] == 4, (task, trains[task])
    # Keys the user did not pass stay the task's own (vitals_mortality monitors val_loss).
    assert trains["vitals_mortality"]["monitor"] == "val_loss"
    assert trains["train"]["max_epochs"] == 1
