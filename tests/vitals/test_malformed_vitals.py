"""Table-driven malformed vitals inputs: each gives a clear error naming the file, a quarantine
row with the documented field and reason, or a counted repair. Reports must always reconcile."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from seqhealth.quality import DataFormatError
from seqhealth.vitals.readers import (
    long_csv_to_raw,
    long_outcomes,
    read_2012_directory,
    read_2019_directory,
)
from seqhealth.vitals.schema import PSV_COLUMNS
from seqhealth.vitals.validation import validate_2012, validate_2019, validate_long

DESCRIPTORS = ["00:00,RecordID,{pid}", "00:00,Age,70", "00:00,Gender,1", "00:00,Height,-1",
               "00:00,ICUType,2", "00:00,Weight,80"]  # fmt: skip
WITHOUT_HR_O2SAT = [c for c in PSV_COLUMNS if c not in ("HR", "O2Sat")]
GOOD_SERIES = ["00:30,HR,88", "01:10,Temp,37.1", "02:00,HR,90"]


def write_2012(root: Path, patients: dict[str, list[str]], outcomes: dict[str, str] | None = None,
               folder: str = "set-a") -> Path:  # fmt: skip
    """Patients as ``{file stem: data lines}``; every patient gets outcome 0 unless given."""
    (root / folder).mkdir(parents=True, exist_ok=True)
    for stem, lines in patients.items():
        rows = ["Time,Parameter,Value"] + [line.format(pid=stem) for line in lines]
        (root / folder / f"{stem}.txt").write_text("\n".join(rows) + "\n")
    if outcomes is None:
        outcomes = {stem: "0" for stem in patients}
    text = ["RecordID,SAPS-I,SOFA,Length_of_stay,Survival,In-hospital_death"]
    text += [f"{pid},10,3,5,-1,{label}" for pid, label in outcomes.items()]
    (root / "Outcomes-a.txt").write_text("\n".join(text) + "\n")
    return root


def patient(*series: str) -> list[str]:
    return DESCRIPTORS + list(series or GOOD_SERIES)


def psv_text(rows: list[dict], columns: list[str] = PSV_COLUMNS, sep: str = "|") -> str:
    """Rows override a normal hourly row (HR 80, demographics set, the rest NaN)."""
    lines = [sep.join(columns)]
    for hour, overrides in enumerate(rows, start=1):
        base = {c: "NaN" for c in columns}
        base.update(HR="80", Age="60", Gender="1", HospAdmTime="-2", ICULOS=str(hour),
                    SepsisLabel="0")  # fmt: skip
        base.update(overrides)
        base = {c: v for c, v in base.items() if c in columns}
        lines.append(sep.join(base[c] for c in columns))
    return "\n".join(lines) + "\n"


def write_psv(root: Path, stem: str, text: str, folder: str = "training") -> Path:
    (root / folder).mkdir(parents=True, exist_ok=True)
    (root / folder / f"{stem}.psv").write_text(text)
    return root


def run_2012(root):
    return validate_2012(read_2012_directory(root))


def run_2019(root):
    return validate_2019(read_2019_directory(root))


def run_long(frame, outcomes):
    return validate_long(long_csv_to_raw(frame, "obs.csv"), long_outcomes(outcomes, "out.csv"))


def rewrite(root: Path, pattern: str, new_name=lambda p: p.name, newline="\n", gz=False) -> Path:
    """Rewrite the matching files: another name, other line ends, gzip (real exports do each)."""
    import gzip

    for path in sorted(root.rglob(pattern)):
        data = path.read_text().replace("\n", newline).encode()
        path.unlink()
        target = path.with_name(new_name(path))
        target.write_bytes(gzip.compress(data) if gz else data)
    return root


def long_frame(rows):
    return pd.DataFrame(rows, columns=["patient_id", "time", "variable", "value"])


# Each case: builder(tmp_path) -> result of a loader+validator call; expectation:
# ("quarantine", field, reason substring, file name or None) | ("error", type, substring)
# | ("repair", report key, count).
CASES = {
    "non-numeric value": (
        lambda t: run_2012(write_2012(t, {"1001": patient("01:00,HR,abc", "02:00,HR,80")})),
        ("quarantine", "value", "non-numeric value 'abc' for HR", "1001.txt"),
    ),
    "HR 400": (
        lambda t: run_2012(write_2012(t, {"1001": patient("01:00,HR,400", "02:00,HR,80")})),
        ("quarantine", "value", "HR=400 outside plausible range (0, 300)", "1001.txt"),
    ),
    "temperature in Fahrenheit": (
        lambda t: run_2012(write_2012(t, {"1001": patient("01:00,Temp,98.6", "02:00,HR,80")})),
        ("quarantine", "value", "Temp=98.6 outside plausible range [25, 45]", "1001.txt"),
    ),
    "negative time (long csv)": (
        lambda t: run_long(
            long_frame([("a", "-1", "HR", "80"), ("a", "2", "HR", "82")]),
            pd.DataFrame({"patient_id": ["a"], "label": ["1"]}),
        ),  # fmt: skip
        ("quarantine", "time", "negative time '-1'", "obs.csv"),
    ),
    "unparsable time": (
        lambda t: run_2012(write_2012(t, {"1001": patient("1h30,HR,80", "02:00,HR,80")})),
        ("quarantine", "time", "unparsable time '1h30'", "1001.txt"),
    ),
    "duplicate conflicting timestamp": (
        lambda t: run_2012(write_2012(t, {"1001": patient("01:00,HR,80", "01:00,HR,95")})),
        ("quarantine", "value", "conflicting duplicate of (01:00, HR): kept 80, got 95", "1001"),
    ),
    "unknown variable": (
        lambda t: run_2012(write_2012(t, {"1001": patient("01:00,Heartrate,80", "02:00,HR,8")})),
        ("quarantine", "variable", "unknown variable 'Heartrate'", "1001.txt"),
    ),
    "patient with only descriptors": (
        lambda t: run_2012(write_2012(t, {"1001": DESCRIPTORS, "1002": patient()})),
        ("quarantine", "patient", "no valid time-series observation", "1001.txt"),
    ),
    "header-only 2012 file": (
        lambda t: run_2012(write_2012(t, {"1001": [], "1002": patient()})),
        ("quarantine", "patient", "no valid time-series observation", "1001.txt"),
    ),
    "outcome missing for a patient": (
        lambda t: run_2012(write_2012(t, {"1001": patient(), "1002": patient()}, {"1002": "0"})),
        ("quarantine", "label", "no outcome for patient 1001", "1001.txt"),
    ),
    "outcome without a patient": (
        lambda t: run_2012(write_2012(t, {"1001": patient()}, {"1001": "0", "9999": "1"})),
        ("quarantine", "label", "outcome for patient 9999 without any patient file", "Outcomes"),
    ),
    "outcome label not 0/1": (
        lambda t: run_2012(
            write_2012(t, {"1001": patient(), "1002": patient()}, {"1001": "0", "1002": "yes"})
        ),  # fmt: skip
        ("quarantine", "label", "label 'yes' is not 0/1", "Outcomes"),
    ),
    "duplicate patient across folders": (
        lambda t: run_2012(
            write_2012(
                write_2012(t, {"1001": patient()}, folder="set-a"),
                {"1001": patient()},
                folder="set-b",
            )  # fmt: skip
        ),
        ("quarantine", "patient_id", "duplicate patient id 1001: already read from", "set-b"),
    ),
    "empty 2012 file": (
        lambda t: (
            write_2012(t, {"1001": patient()}),
            (t / "set-a" / "1002.txt").write_text(""),
            run_2012(t),
        ),  # fmt: skip
        ("error", DataFormatError, "1002.txt: empty file"),
    ),
    "wrong header in a 2012 file": (
        lambda t: (
            write_2012(t, {"1001": patient()}),
            (t / "set-a" / "1002.txt").write_text("time;param;value\n00:00;HR;80\n"),
            run_2012(t),
        ),  # fmt: skip
        ("error", DataFormatError, "1002.txt: header"),
    ),
    "no outcomes file": (
        lambda t: (
            write_2012(t, {"1001": patient()}),
            (t / "Outcomes-a.txt").unlink(),
            run_2012(t),
        ),  # fmt: skip
        ("error", DataFormatError, "no Outcomes*.txt file found"),
    ),
    "psv with missing columns": (
        lambda t: run_2019(
            write_psv(
                write_psv(t, "p000002", psv_text([{}])),
                "p000001",
                psv_text([{}, {}], WITHOUT_HR_O2SAT),
            )
        ),  # fmt: skip
        ("quarantine", "columns", "missing columns: HR, O2Sat", "p000001.psv"),
    ),
    "psv with non-numeric ICULOS": (
        lambda t: run_2019(write_psv(t, "p000001", psv_text([{}, {"ICULOS": "two"}, {}]))),
        ("quarantine", "ICULOS", "row 1: ICULOS 'two' is not an integer", "p000001.psv"),
    ),
    "psv with non-increasing ICULOS": (
        lambda t: run_2019(write_psv(t, "p000001", psv_text([{}, {}, {"ICULOS": "2"}]))),
        ("quarantine", "ICULOS", "row 2: ICULOS 2 is not increasing", "p000001.psv"),
    ),
    "SepsisLabel 2": (
        lambda t: run_2019(write_psv(t, "p000001", psv_text([{}, {"SepsisLabel": "2"}]))),
        ("quarantine", "SepsisLabel", "row 1: SepsisLabel '2' is not 0/1", "p000001.psv"),
    ),
    "psv HR 400": (
        lambda t: run_2019(write_psv(t, "p000001", psv_text([{}, {"HR": "400"}]))),
        ("quarantine", "value", "HR=400 outside plausible range", "p000001.psv"),
    ),
    "psv non-numeric lab": (
        lambda t: run_2019(write_psv(t, "p000001", psv_text([{"Lactate": "high"}]))),
        ("quarantine", "value", "non-numeric value 'high' for Lactate", "p000001.psv"),
    ),
    "header-only psv": (
        lambda t: run_2019(
            write_psv(write_psv(t, "p000002", psv_text([{}])), "p000001", psv_text([]))
        ),  # fmt: skip
        ("quarantine", "patient", "no valid observation", "p000001.psv"),
    ),
    "duplicate psv patient across folders": (
        lambda t: run_2019(
            write_psv(
                write_psv(t, "p000001", psv_text([{}]), "setA"), "p000001", psv_text([{}]), "setB"
            )
        ),  # fmt: skip
        ("quarantine", "patient_id", "duplicate patient id p000001", "setB"),
    ),
    "psv that is comma-separated": (
        lambda t: run_2019(write_psv(t, "p000001", psv_text([{}], sep=","))),
        ("error", DataFormatError, "p000001.psv: not a pipe-separated"),
    ),
    "empty psv": (
        lambda t: run_2019(write_psv(t, "p000001", "")),
        ("error", DataFormatError, "p000001.psv: empty file"),
    ),
    "long csv missing a column": (
        lambda t: long_csv_to_raw(
            pd.DataFrame({"patient_id": ["a"], "time": ["1"], "variable": ["HR"]}), "obs.csv"
        ),  # fmt: skip
        ("error", ValueError, "long CSV obs.csv lacks columns ['value']"),
    ),
    "unsorted rows (repaired)": (
        lambda t: run_2012(write_2012(t, {"1001": patient("03:00,HR,80", "01:00,HR,85")})),
        ("repair", "unsorted_patients", 1),
    ),
    "exact duplicate row (repaired)": (
        lambda t: run_2012(write_2012(t, {"1001": patient("01:00,HR,80", "01:00,HR,80")})),
        ("repair", "exact_duplicate_rows", 1),
    ),
    "-1 unknown descriptor (repaired)": (
        lambda t: run_2012(write_2012(t, {"1001": patient()})),
        ("repair", "unknown_descriptor_minus_1", 1),
    ),
    # --- issue 15: structural time checks
    "psv negative ICULOS": (
        lambda t: run_2019(write_psv(t, "p000001", psv_text([{"ICULOS": "-3"}, {}, {}]))),
        ("quarantine", "ICULOS", "row 0: ICULOS -3 is negative", "p000001.psv"),
    ),
    "psv ICULOS 0": (
        lambda t: run_2019(write_psv(t, "p000001", psv_text([{"ICULOS": "0"}, {}]))),
        ("quarantine", "ICULOS", "row 0: ICULOS 0 is below 1", "p000001.psv"),
    ),
    "psv ICULOS jumping by hundreds of hours": (
        lambda t: run_2019(write_psv(t, "p000001", psv_text([{}, {}, {"ICULOS": "503"}, {}]))),
        ("quarantine", "ICULOS", "row 2: ICULOS 503 jumps from 2 by more than 24 h", "p000001"),
    ),
    "psv stay starting at hour 300": (
        lambda t: run_2019(write_psv(write_psv(t, "p000002", psv_text([{}])), "p000001",
                                     psv_text([{"ICULOS": "300"}, {"ICULOS": "301"}]))),  # fmt: skip
        ("quarantine", "ICULOS", "row 1: ICULOS 301 starts the stay beyond hour 24", "p000001"),
    ),
    "2012 time after the 48 h window": (
        lambda t: run_2012(write_2012(t, {"1001": patient("01:00,HR,80", "49:30,HR,90")})),
        ("quarantine", "time", "time '49:30' beyond the 48 h bound", "1001.txt"),
    ),
    "long csv time beyond a year": (
        lambda t: run_long(long_frame([("a", "1", "HR", "80"), ("a", "9000", "HR", "82")]),
                           pd.DataFrame({"patient_id": ["a"], "label": ["1"]})),  # fmt: skip
        ("quarantine", "time", "time '9000' beyond the 8760 h bound", "obs.csv"),
    ),
    "long csv bare date is not a time": (
        lambda t: run_long(long_frame([("a", "2020-01-01T08:00", "HR", "80"),
                                       ("a", "2020-01-02", "HR", "82")]),
                           pd.DataFrame({"patient_id": ["a"], "label": ["1"]})),  # fmt: skip
        ("quarantine", "time", "unparsable time '2020-01-02'", "obs.csv"),
    ),
    "long csv blank patient id": (
        lambda t: run_long(long_frame([("a", "1", "HR", "80"), ("  ", "2", "HR", "82")]),
                           pd.DataFrame({"patient_id": ["a"], "label": ["1"]})),  # fmt: skip
        ("quarantine", "patient_id", "blank patient id", "obs.csv"),
    ),
    "long csv for training without outcomes": (
        lambda t: validate_2012({"observations": long_csv_to_raw(long_frame([("a", "1", "HR", "80")]),
                                 "obs.csv"), "outcomes": None}),  # fmt: skip
        ("error", DataFormatError, "obs.csv: no outcomes"),
    ),
    # --- issue 15: file names and line ends that must work (nothing skipped or merged)
    "upper-case .TXT patient files and OUTCOMES-A.TXT": (
        lambda t: run_2012(rewrite(write_2012(t, {"1001": patient(), "1002": patient()}), "*.txt",
                                   lambda p: p.stem.upper() + ".TXT")),  # fmt: skip
        ("ok", "patients_kept", 2),
    ),
    "gzip-compressed .txt.gz patient files": (
        lambda t: run_2012(rewrite(write_2012(t, {"1001": patient(), "1002": patient()}), "1*.txt",
                                   lambda p: p.name + ".gz", gz=True)),  # fmt: skip
        ("ok", "patients_kept", 2),
    ),
    "old-Mac \\r line ends in 2012 files": (
        lambda t: run_2012(rewrite(write_2012(t, {"1001": patient(), "1002": patient()}), "*.txt",
                                   newline="\r")),  # fmt: skip
        ("ok", "patients_kept", 2),
    ),
    "zero-padded file name, float and padded outcome ids": (
        lambda t: run_2012(write_2012(t, {"0001001": patient(), "1002": patient()},
                                      {" 1001.0": "1", "001002": "0"})),  # fmt: skip
        ("ok", "positives", 1),
    ),
    "upper-case .PSV with \\r\\n line ends": (
        lambda t: run_2019(rewrite(write_psv(write_psv(t, "p000001", psv_text([{}, {}])), "p000002",
                                             psv_text([{}])), "*.psv", lambda p: p.stem + ".PSV",
                                   newline="\r\n")),  # fmt: skip
        ("ok", "patients_kept", 2),
    ),
    "psv stay starting at hour 13 (as real exports do)": (
        lambda t: run_2019(write_psv(t, "p000001", psv_text([{"ICULOS": str(h)} for h in (13, 14)]))),
        ("ok", "rows_kept", 2),
    ),
}


def assert_reconciles(result) -> None:
    clean, _, quarantine, report = result
    assert report["observations_in"] == (
        len(clean) + report["observations_quarantined"] + sum(report["repairs"].values())
    )
    assert len(quarantine) == report["records_quarantined"] + report["context_rows"]
    assert list(quarantine.columns) == ["domain", "source_file", "record_id", "field", "reason"]


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_malformed_vitals_input(case, tmp_path):
    build, expected = CASES[case]
    kind = expected[0]
    if kind == "error":
        _, error_type, message = expected
        with pytest.raises(error_type) as info:
            build(tmp_path)
        assert message in str(info.value)
        return
    result = build(tmp_path)
    assert_reconciles(result)
    clean, _, quarantine, report = result
    if kind in ("repair", "ok"):  # "ok": an input variant that must simply work
        _, key, count = expected
        value = report[key] if key in report else report["repairs"][key]
        assert value == count
        assert len(quarantine) == 0
        assert (clean.groupby("patient_id")["time_h"].diff().dropna() >= 0).all()
        return
    _, field, reason, file_part = expected
    rows = quarantine[quarantine["field"] == field]
    assert len(rows), f"no quarantine row with field {field!r}:\n{quarantine.to_string()}"
    matching = rows[rows["reason"].str.contains(reason, regex=False)]
    assert len(matching), f"no reason containing {reason!r}: {rows['reason'].tolist()}"
    assert matching["source_file"].str.contains(file_part, regex=False).any()
