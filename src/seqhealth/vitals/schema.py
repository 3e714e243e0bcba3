"""Variables and physiological plausibility ranges of the two PhysioNet ICU datasets.

Each dataset keeps its own variable names (no common mapping): the feature set is chosen
per task. A value outside its range is quarantined by validation, never clipped, because an
implausible value is almost always a unit or transcription error (e.g. pH 735, Temp -17.8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ---------------------------------------------------------------- PhysioNet 2019 (sepsis)
PSV_VITALS = ["HR", "O2Sat", "Temp", "SBP", "MAP", "DBP", "Resp", "EtCO2"]
PSV_LABS = [
    "BaseExcess", "HCO3", "FiO2", "pH", "PaCO2", "SaO2", "AST", "BUN", "Alkalinephos",
    "Calcium", "Chloride", "Creatinine", "Bilirubin_direct", "Glucose", "Lactate",
    "Magnesium", "Phosphate", "Potassium", "Bilirubin_total", "TroponinI", "Hct", "Hgb",
    "PTT", "WBC", "Fibrinogen", "Platelets",
]  # fmt: skip
PSV_DEMOGRAPHICS = ["Age", "Gender", "Unit1", "Unit2", "HospAdmTime", "ICULOS"]
PSV_LABEL = "SepsisLabel"
PSV_TIME = "ICULOS"  # hour index of the stay (starts at 1): the time axis, not a feature
PSV_COLUMNS = PSV_VITALS + PSV_LABS + PSV_DEMOGRAPHICS + [PSV_LABEL]
# Everything except the hour index and the label; HospAdmTime is known at admission, so fine.
PSV_FEATURES = [c for c in PSV_COLUMNS if c not in (PSV_TIME, PSV_LABEL)]

# ---------------------------------------------------------- PhysioNet 2012 (mortality)
P2012_HEADER = ["Time", "Parameter", "Value"]
P2012_DESCRIPTORS = ["RecordID", "Age", "Gender", "Height", "ICUType", "Weight"]
P2012_TIME_SERIES = [
    "Albumin", "ALP", "ALT", "AST", "Bilirubin", "BUN", "Cholesterol", "Creatinine",
    "DiasABP", "FiO2", "GCS", "Glucose", "HCO3", "HCT", "HR", "K", "Lactate", "Mg", "MAP",
    "MechVent", "Na", "NIDiasABP", "NIMAP", "NISysABP", "PaCO2", "PaO2", "pH", "Platelets",
    "RespRate", "SaO2", "SysABP", "Temp", "TroponinI", "TroponinT", "Urine", "WBC", "Weight",
]  # fmt: skip
# Weight is both a 00:00 descriptor and a time series; RecordID is an identifier only.
P2012_STATIC = ["Age", "Gender", "Height", "ICUType"]
P2012_FEATURES = P2012_STATIC + P2012_TIME_SERIES
P2012_OUTCOME_COLUMNS = [
    "RecordID", "SAPS-I", "SOFA", "Length_of_stay", "Survival", "In-hospital_death",
]  # fmt: skip
P2012_LABEL = "In-hospital_death"
# -1 in a 00:00 descriptor row means "unknown": validation drops it (a counted repair).
P2012_UNKNOWN_DESCRIPTOR = -1.0

# ------------------------------------------------------------------ time bounds (hours)
# A 2012 record covers the first 48 h of the stay (set A: 00:00-48:00); later times are not
# part of the format and would be cut by the model's window anyway, so they are quarantined.
P2012_MAX_HOURS = 48.0
# Plain long CSV (hours or ISO date-times): a time beyond a year of stay is a date/unit error.
LONG_MAX_HOURS = 24.0 * 365
# ICULOS is the hour of the ICU stay, one row per hour: real exports start at 1 (a few at 2-13,
# when the first hours were not charted) and step by exactly 1. The first accepted row must lie in
# [1, PSV_MAX_FIRST_ICULOS]; each next row must exceed the last accepted one by at most
# PSV_MAX_ICULOS_STEP hours (a jump of hundreds of hours would pad the stay with empty hours).
PSV_MAX_FIRST_ICULOS = 24
PSV_MAX_ICULOS_STEP = 24


@dataclass(frozen=True)
class ValueRange:
    """Plausible interval; ``low_open``/``high_open`` exclude the bound (HR 0 is not a rate)."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def contains(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        above = values > self.low if self.low_open else values >= self.low
        below = values < self.high if self.high_open else values <= self.high
        return above & below

    def __str__(self) -> str:
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"{left}{self.low:g}, {self.high:g}{right}"


def _open(low: float, high: float) -> ValueRange:
    return ValueRange(low, high, low_open=True, high_open=True)


def _positive(high: float) -> ValueRange:
    """(0, high]: concentrations and pressures cannot be zero in a living patient."""
    return ValueRange(0.0, high, low_open=True)


def _closed(low: float, high: float) -> ValueRange:
    return ValueRange(low, high)


# Shared physiology, keyed by the name each dataset uses.
_COMMON = {
    "HR": _open(0, 300),
    "Temp": _closed(25, 45),  # degrees C
    "pH": _closed(6.5, 8.0),
    "Age": _closed(0, 120),
    "Gender": _closed(0, 1),
    "Weight": _open(0, 400),  # kg
    "FiO2": _positive(1.0),  # fraction; 2.0 or 40 are unit errors
    "PaCO2": _positive(200),
    "SaO2": _positive(100),
    "AST": _positive(20000),
    "BUN": _positive(300),
    "Creatinine": _positive(40),
    "Glucose": _positive(2000),
    "Lactate": _positive(40),
    "HCO3": _positive(80),
    "WBC": _positive(500),
    "Platelets": _positive(3000),
    "TroponinI": _positive(1000),
    "MAP": _positive(300),
}

RANGES_2019: dict[str, ValueRange] = {
    **{k: v for k, v in _COMMON.items() if k in PSV_COLUMNS},
    "O2Sat": _positive(100),
    "SBP": _positive(300),
    "DBP": _positive(300),
    "Resp": _closed(0, 150),
    "EtCO2": _closed(0, 150),
    "BaseExcess": _closed(-50, 50),
    "Alkalinephos": _positive(5000),
    "Calcium": _positive(25),  # the set mixes ionised and total calcium
    "Chloride": _open(50, 200),
    "Bilirubin_direct": _positive(100),
    "Magnesium": _positive(20),
    "Phosphate": _positive(30),
    "Potassium": _positive(15),
    "Bilirubin_total": _positive(100),
    "Hct": _positive(100),
    "Hgb": _positive(30),
    "PTT": _positive(300),
    "Fibrinogen": _positive(2000),
    "Unit1": _closed(0, 1),
    "Unit2": _closed(0, 1),
    "HospAdmTime": _closed(-100_000, 24),  # hours from hospital to ICU admission (<= 0 mostly)
}

RANGES_2012: dict[str, ValueRange] = {
    **{k: v for k, v in _COMMON.items() if k in P2012_FEATURES},
    "Height": _open(0, 300),  # cm
    "ICUType": _closed(1, 4),
    "Albumin": _positive(10),
    "ALP": _positive(5000),
    "ALT": _positive(20000),
    "Bilirubin": _positive(100),
    "Cholesterol": _positive(1000),
    "DiasABP": _positive(300),
    "SysABP": _positive(300),
    "NIDiasABP": _positive(300),
    "NISysABP": _positive(300),
    "NIMAP": _positive(300),
    "GCS": _closed(3, 15),
    "HCT": _positive(100),
    "K": _positive(15),
    "Mg": _positive(20),
    "MechVent": _closed(0, 1),
    "Na": _open(90, 200),
    "PaO2": _positive(800),
    "RespRate": _closed(0, 150),
    "TroponinT": _positive(100),
    "Urine": _closed(0, 10000),  # ml per charting interval; 0 = anuria, plausible
}

assert set(RANGES_2019) == set(PSV_FEATURES), set(PSV_FEATURES) ^ set(RANGES_2019)
assert set(RANGES_2012) == set(P2012_FEATURES), set(P2012_FEATURES) ^ set(RANGES_2012)
