"""Both demo sets of a domain written the way the project lays them out (``<out>/<task>/``)."""

from __future__ import annotations

from pathlib import Path

from seqhealth.genomics.demo import write_classify_demo, write_coding_demo
from seqhealth.vitals.demo import write_mortality_demo, write_sepsis_demo


def write_demo_dna(out_dir: Path, seed: int = 0, n_classify: int = 300) -> dict[str, Path]:
    out_dir = Path(out_dir)
    genbank_path = write_coding_demo(out_dir / "dna_coding", seed)
    return {"genbank": genbank_path, **write_classify_demo(out_dir / "dna_classify", seed, n_classify)}


def write_demo_vitals(out_dir: Path, seed: int = 0) -> dict:
    out_dir = Path(out_dir)
    sepsis_files = write_sepsis_demo(out_dir / "vitals_sepsis", seed)
    mortality_files, outcomes = write_mortality_demo(out_dir / "vitals_mortality", seed)
    return {
        "sepsis_dir": out_dir / "vitals_sepsis",
        "sepsis_files": sepsis_files,
        "mortality_dir": out_dir / "vitals_mortality",
        "mortality_files": mortality_files,
        "mortality_outcomes": outcomes,
    }
