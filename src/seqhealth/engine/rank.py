"""One torchrun rank of ``engine.launch``: train, and rank 0 hands ``(bundle, history)`` back.

A module of its own so that ``engine.fit`` (which starts the launch) and the rank entry point
(which calls ``fit``) do not import each other.

    python -m torch.distributed.run --nproc_per_node=2 -m seqhealth.engine.rank IN.pkl OUT.pkl
"""

from __future__ import annotations

import logging
import os
import pickle
import sys

from seqhealth.engine.fit import fit_sequence_model


def rank_main(in_path: str, out_path: str) -> None:
    logging.basicConfig(level=logging.INFO, format=f"[rank {os.environ.get('RANK', '?')}] %(message)s")
    with open(in_path, "rb") as handle:
        model_input, model_params, train_cfg = pickle.load(handle)
    result = fit_sequence_model(model_input, model_params, train_cfg)
    if int(os.environ.get("RANK", "0")) == 0:
        tmp_path = out_path + ".partial"
        with open(tmp_path, "wb") as handle:
            pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp_path, out_path)  # the node never sees a half-written result


if __name__ == "__main__":
    rank_main(*sys.argv[1:3])
