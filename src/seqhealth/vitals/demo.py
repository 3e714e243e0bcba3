"""Deterministic synthetic ICU data in the REAL PhysioNet formats (for demos, CI and tests).

``write_sepsis_demo(folder, seed)`` writes ``training/pNNNNNN.psv`` (2019 format, hourly rows,
SepsisLabel from 6 h before onset); ``write_mortality_demo(folder, seed)`` writes
``set-a/<RecordID>.txt`` + ``Outcomes-a.txt`` (2012 format). The signal is causal and learnable but noisy: septic stays deteriorate (HR, Temp,
Resp, Lactate up, MAP down) in the ~18 h before onset; deaths come from a latent severity that
shifts lactate, GCS, MAP, BUN/creatinine and age, and worsens over the 48 h. All values stay
inside ``vitals.schema`` ranges, so validation keeps every observation of the demo.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqhealth.vitals.schema import P2012_OUTCOME_COLUMNS, PSV_COLUMNS, PSV_LABS

N_SEPSIS_PATIENTS = 300
N_MORTALITY_PATIENTS = 300
SEPTIC_FRACTION = 0.08
DEATH_FRACTION = 0.14

# Normal mean, sd per lab (2019 names); a few also drift with sepsis below.
_PSV_LAB_NORMAL = {
    "BaseExcess": (0, 3), "HCO3": (24, 3), "FiO2": (0.45, 0.15), "pH": (7.39, 0.05),
    "PaCO2": (40, 7), "SaO2": (96, 2.5), "AST": (60, 40), "BUN": (20, 10),
    "Alkalinephos": (90, 30), "Calcium": (8.5, 0.6), "Chloride": (105, 4), "Creatinine": (1.1, 0.5),
    "Bilirubin_direct": (0.4, 0.3), "Glucose": (130, 35), "Lactate": (1.6, 0.6),
    "Magnesium": (2.0, 0.3), "Phosphate": (3.4, 0.8), "Potassium": (4.1, 0.5),
    "Bilirubin_total": (0.9, 0.6), "TroponinI": (0.5, 1.0), "Hct": (32, 5), "Hgb": (10.5, 1.8),
    "PTT": (35, 8), "WBC": (10, 4), "Fibrinogen": (300, 90), "Platelets": (200, 70),
}  # fmt: skip
_PSV_LAB_RATE = {"Glucose": 0.15, "Lactate": 0.03, "FiO2": 0.05}  # others: 0.03 per hour


# Bad values, so a first run shows the quarantine at work (file, record, field and reason in
# data/08_reporting/<task>/quarantine.csv). Added after the random draws: every other value is
# the same as without them.
BAD_2012_OBSERVATIONS = (("HR", "400"), ("Temp", "n/a"), ("HeartRate", "88"))  # stays 200001-200003
BAD_2019_VALUES = {(0, 3, "HR"): "400", (1, 5, "O2Sat"): "140"}  # (patient index, row, column)


def _fmt(values: np.ndarray, decimals: int = 2) -> list[str]:
    """Compact numbers like the real files ("83", "36.11"); NaN -> "NaN"."""
    out = []
    for v in np.round(values.astype(float), decimals):
        out.append("NaN" if np.isnan(v) else (f"{v:.0f}" if v == int(v) else f"{v:g}"))
    return out


def _sepsis_patient(rng: np.random.Generator, septic: bool) -> np.ndarray:
    """One stay as an array [T, 41] (NaN = not measured), columns = PSV_COLUMNS."""
    length = int(np.clip(np.round(rng.lognormal(np.log(40), 0.7)), 8, 300))
    hours = np.arange(1, length + 1, dtype=float)
    onset = length - rng.integers(0, 6) if septic else np.inf  # t_sepsis near the end of stay
    # Stays that become septic start a little sicker (0.08), then deteriorate from 18 h before
    # onset to ~1 at onset: causal, and visible early enough for an early-warning model.
    ramp = 0.08 + np.clip((hours - (onset - 18)) / 18, 0, 1.0) if septic else np.zeros(length)
    base = rng.normal(0, 1, size=5)
    table = np.full((length, len(PSV_COLUMNS)), np.nan)
    col = {name: i for i, name in enumerate(PSV_COLUMNS)}

    def vital(name, mean, sd, shift, noise, rate, low, high):
        series = mean + sd * base[len(name) % 5] + shift * ramp + rng.normal(0, noise, length)
        seen = rng.random(length) < rate
        table[seen, col[name]] = np.clip(series[seen], low, high)

    vital("HR", 84, 10, 30, 6, 0.92, 35, 200)
    vital("O2Sat", 97, 1.2, -3, 1.5, 0.9, 70, 100)
    vital("MAP", 84, 9, -20, 6, 0.88, 35, 180)
    vital("SBP", 125, 14, -25, 9, 0.88, 60, 250)
    vital("DBP", 65, 8, -12, 6, 0.88, 25, 140)
    vital("Resp", 18, 3, 9, 2.5, 0.85, 4, 60)
    vital("Temp", 36.9, 0.3, 1.6, 0.35, 0.3, 33, 41.5)
    vital("EtCO2", 32, 5, 0, 4, 0.05, 10, 80)
    for lab in PSV_LABS:
        mean, sd = _PSV_LAB_NORMAL[lab]
        shift = {"Lactate": 3.0, "WBC": 6.0, "Creatinine": 0.6, "Platelets": -60}.get(lab, 0.0)
        rate = _PSV_LAB_RATE.get(lab, 0.03)
        series = mean + shift * ramp + rng.normal(0, sd, length)
        seen = rng.random(length) < rate
        low = 0.05 if lab != "BaseExcess" else -30
        high = {"FiO2": 1.0, "pH": 7.8, "SaO2": 100}.get(lab, mean + 8 * sd)
        table[seen, col[lab]] = np.clip(series[seen], low, high)
    table[:, col["Age"]] = np.clip(np.round(rng.normal(63, 16), 0), 18, 100)
    table[:, col["Gender"]] = rng.integers(0, 2)
    if rng.random() < 0.7:  # unit unknown for ~30 % of stays, as in set B
        unit = rng.integers(0, 2)
        table[:, col["Unit1"]], table[:, col["Unit2"]] = unit, 1 - unit
    table[:, col["HospAdmTime"]] = -np.round(rng.exponential(40), 2)
    table[:, col["ICULOS"]] = hours
    table[:, col["SepsisLabel"]] = (hours >= onset - 6).astype(float)
    return table


def _write_sepsis(out_dir: Path, rng: np.random.Generator) -> list[Path]:
    folder = out_dir / "training"
    folder.mkdir(parents=True, exist_ok=True)
    septic = np.zeros(N_SEPSIS_PATIENTS, dtype=bool)
    septic[rng.choice(N_SEPSIS_PATIENTS, round(SEPTIC_FRACTION * N_SEPSIS_PATIENTS), False)] = True
    paths = []
    for index in range(N_SEPSIS_PATIENTS):
        table = _sepsis_patient(rng, bool(septic[index]))
        columns = [_fmt(table[:, j]) for j in range(table.shape[1])]
        for (bad_index, row, name), value in BAD_2019_VALUES.items():
            if bad_index == index and row < len(columns[0]):
                columns[PSV_COLUMNS.index(name)][row] = value
        lines = ["|".join(PSV_COLUMNS)] + ["|".join(row) for row in zip(*columns, strict=True)]
        path = folder / f"p{index + 1:06d}.psv"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


# ------------------------------------------------------------------------- 2012 mortality
# name: (mean, sd, effect of severity, effect of worsening over 48 h in deaths, decimals, low, high)
_P2012_SERIES = {
    "HR": (86, 12, 6, 10, 0, 30, 200), "MAP": (80, 10, -7, -10, 0, 30, 180),
    "SysABP": (120, 16, -9, -12, 0, 50, 250), "DiasABP": (60, 9, -5, -6, 0, 20, 140),
    "NIMAP": (78, 10, -7, -10, 2, 30, 180), "NISysABP": (120, 16, -9, -12, 0, 50, 250),
    "NIDiasABP": (58, 9, -5, -6, 0, 20, 140), "Temp": (37.0, 0.6, 0.2, 0.2, 1, 32, 41),
    "RespRate": (19, 4, 2, 3, 0, 4, 60), "GCS": (13, 2.5, -2.5, -2, 0, 3, 15),
    "Urine": (120, 80, -30, -30, 0, 0, 1500), "FiO2": (0.5, 0.15, 0.08, 0.08, 2, 0.21, 1.0),
    "SaO2": (96, 2, -1, -2, 0, 70, 100), "pH": (7.38, 0.05, -0.03, -0.04, 2, 6.9, 7.7),
    "PaCO2": (40, 6, 2, 3, 0, 20, 90), "PaO2": (140, 50, -20, -20, 0, 40, 500),
    "Lactate": (1.8, 0.8, 1.1, 1.5, 1, 0.4, 20), "BUN": (22, 9, 9, 6, 0, 3, 150),
    "Creatinine": (1.1, 0.4, 0.5, 0.4, 1, 0.2, 12), "Na": (139, 4, 0, 0, 0, 115, 170),
    "K": (4.1, 0.5, 0.15, 0.1, 1, 2.6, 7.5), "HCO3": (24, 3, -2, -2, 0, 8, 45),
    "Glucose": (135, 35, 10, 0, 0, 40, 600), "Mg": (2.0, 0.3, 0, 0, 1, 1.0, 4.0),
    "HCT": (31, 4.5, -1, -1, 1, 16, 52), "Platelets": (200, 70, -25, -20, 0, 10, 900),
    "WBC": (11, 4, 2, 2, 1, 0.5, 60), "ALP": (110, 50, 10, 0, 0, 20, 800),
    "ALT": (60, 50, 20, 0, 0, 4, 3000), "AST": (70, 60, 30, 0, 0, 8, 5000),
    "Bilirubin": (1.0, 0.8, 0.5, 0, 1, 0.1, 30), "Albumin": (3.0, 0.5, -0.2, 0, 1, 1.0, 5.0),
    "TroponinT": (0.3, 0.4, 0.2, 0, 2, 0.01, 9), "TroponinI": (2, 3, 1, 0, 1, 0.3, 30),
    "Cholesterol": (150, 40, 0, 0, 0, 30, 350), "Weight": (82, 18, 0, 0, 1, 35, 200),
}  # fmt: skip
_VITALS_2012 = ["HR", "Temp", "RespRate", "GCS", "Urine", "SaO2", "Weight"]
_INVASIVE = ["MAP", "SysABP", "DiasABP"]
_NON_INVASIVE = ["NIMAP", "NISysABP", "NIDiasABP"]
_VITAL_RATE = {"HR": 0.95, "Temp": 0.4, "RespRate": 0.9, "GCS": 0.25, "Urine": 0.6,
               "SaO2": 0.04, "Weight": 0.15}  # fmt: skip
_LAB_PANEL = ["BUN", "Creatinine", "Na", "K", "HCO3", "Glucose", "Mg", "HCT", "Platelets", "WBC"]
_LAB_RARE = {"Lactate": 0.45, "ALP": 0.15, "ALT": 0.15, "AST": 0.15, "Bilirubin": 0.15,
             "Albumin": 0.12, "TroponinT": 0.1, "TroponinI": 0.03, "Cholesterol": 0.02}  # fmt: skip
_BLOOD_GAS = ["pH", "PaCO2", "PaO2", "FiO2"]


def _mortality_lines(rng, record_id: int, severity: float, died: bool) -> list[str]:
    lines = ["Time,Parameter,Value", f"00:00,RecordID,{record_id}"]
    age = int(np.clip(round(64 + 9 * severity + rng.normal(0, 14)), 16, 90))
    gender = -1 if rng.random() < 0.01 else int(rng.integers(0, 2))
    height = -1 if rng.random() < 0.45 else round(float(rng.normal(170, 10)), 1)
    weight = -1 if rng.random() < 0.08 else round(float(np.clip(rng.normal(82, 18), 35, 200)), 1)
    for name, value in [("Age", age), ("Gender", gender), ("Height", height),
                        ("ICUType", int(rng.integers(1, 5))), ("Weight", weight)]:  # fmt: skip
        lines.append(f"00:00,{name},{value}")
    chart = np.cumsum(rng.gamma(2.0, 30.0, size=120)) + rng.integers(5, 120)
    chart = np.unique(np.round(chart[chart <= 48 * 60]).astype(int))
    labs = np.unique(np.sort(rng.integers(20, 48 * 60, size=rng.integers(2, 7))))
    ventilated, invasive = rng.random() < 0.5, rng.random() < 0.6
    patient_offset = {name: rng.normal(0, 0.5) for name in _P2012_SERIES}
    rows: list[tuple[int, str, float]] = []

    def observe(name: str, minutes: np.ndarray) -> None:
        mean, sd, sev, worse, _, _, _ = _P2012_SERIES[name]
        frac = minutes / (48 * 60)
        drift = worse * frac * (1.0 if died else 0.0)
        values = mean + sd * patient_offset[name] + sev * severity + drift
        values = values + rng.normal(0, 0.6 * sd, len(minutes))
        rows.extend(zip(minutes.tolist(), [name] * len(minutes), values.tolist(), strict=True))

    pressures = _INVASIVE if invasive else _NON_INVASIVE
    for name in _VITALS_2012 + pressures:
        observe(name, chart[rng.random(len(chart)) < _VITAL_RATE.get(name, 0.9)])
    for name in _LAB_PANEL:
        observe(name, labs[rng.random(len(labs)) < 0.9])
    for name, rate in _LAB_RARE.items():
        observe(name, labs[rng.random(len(labs)) < rate])
    if ventilated:
        for name in _BLOOD_GAS:
            observe(name, labs[rng.random(len(labs)) < 0.9])
        vent_times = chart[rng.random(len(chart)) < 0.3]
        rows.extend((int(m), "MechVent", 1.0) for m in vent_times)
    rows.sort(key=lambda r: r[0])
    for minutes, name, value in rows:
        decimals, low, high = _P2012_SERIES.get(name, (0, 0, 0, 0, 0, 0, 1))[4:]
        value = float(np.clip(value, low, high))
        text = f"{value:.{decimals}f}" if decimals else f"{round(value)}"
        lines.append(f"{minutes // 60:02d}:{minutes % 60:02d},{name},{text}")
    return lines


def _write_mortality(out_dir: Path, rng: np.random.Generator) -> tuple[list[Path], Path]:
    folder = out_dir / "set-a"
    folder.mkdir(parents=True, exist_ok=True)
    n = N_MORTALITY_PATIENTS
    severity = rng.normal(0, 1, n)
    # Deaths = the most severe by a noisy score: learnable, not a deterministic rule.
    score = severity + rng.normal(0, 0.9, n)
    died = np.zeros(n, dtype=bool)
    died[np.argsort(-score)[: round(DEATH_FRACTION * n)]] = True
    outcome_lines = [",".join(P2012_OUTCOME_COLUMNS)]
    paths = []
    for index in range(n):
        record_id = 200001 + index
        path = folder / f"{record_id}.txt"
        lines = _mortality_lines(rng, record_id, float(severity[index]), bool(died[index]))
        if index < len(BAD_2012_OBSERVATIONS):  # at the stay's last time: the file stays sorted
            name, value = BAD_2012_OBSERVATIONS[index]
            lines.append(f"{lines[-1].split(',')[0]},{name},{value}")
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
        saps = int(np.clip(round(14 + 3 * severity[index] + rng.normal(0, 3)), 3, 35))
        sofa = int(np.clip(round(6 + 2 * severity[index] + rng.normal(0, 2)), 0, 20))
        stay = int(rng.integers(2, 30))
        survival = int(rng.integers(2, stay + 3)) if died[index] else -1
        outcome_lines.append(f"{record_id},{saps},{sofa},{stay},{survival},{int(died[index])}")
    outcomes = out_dir / "Outcomes-a.txt"
    outcomes.write_text("\n".join(outcome_lines) + "\n")
    return paths, outcomes


def write_sepsis_demo(folder: Path, seed: int = 0) -> list[Path]:
    """PhysioNet 2019 ``.psv`` demo stays under ``folder/training``."""
    return _write_sepsis(Path(folder), np.random.default_rng(seed))


def write_mortality_demo(folder: Path, seed: int = 0) -> tuple[list[Path], Path]:
    """PhysioNet 2012 demo stays under ``folder/set-a`` and ``folder/Outcomes-a.txt``."""
    return _write_mortality(Path(folder), np.random.default_rng(seed + 1))
