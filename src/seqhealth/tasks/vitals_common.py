"""What the vitals tasks share: PhysioNet / long-CSV files in, long ``patient_id, time, variable,
value`` requests, per-patient GRU-D style sequences normalised on the training patients."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from seqhealth.batching.arrow_store import open_split
from seqhealth.engine.alerts import alert_table, threshold_at_specificity
from seqhealth.engine.calibration import (
    apply_calibration,
    calibration_summary,
    choose_calibrator,
    ece,
)
from seqhealth.engine.evaluation import prevalence_baseline
from seqhealth.engine.fingerprint import samples_fingerprint
from seqhealth.engine.fit import predict_samples
from seqhealth.engine.subgroups import age_band, subgroup_table
from seqhealth.reporting import reliability_figure
from seqhealth.serving.raw_inputs import vitals_long_table, vitals_samples
from seqhealth.splits import split_groups
from seqhealth.tasks.base import Task
from seqhealth.vitals.features import (
    CHANNELS,
    apply_features_many,
    encode_like,
    feature_names,
    fit_normalisation,
    summary_layout,
)
from seqhealth.vitals.partitions import StayFolder, prepare
from seqhealth.vitals.readers import (
    normalise_patient_ids,
    read_2012_directory,
    read_2012_for_prediction,
    read_2019_directory,
    read_2019_for_prediction,
    read_long_csv,
)
from seqhealth.vitals.validation import validate_2012, validate_long
from seqhealth.vitals.validation_2019 import validate_2019


class VitalsTask(Task):
    domain = "vitals"
    group_unit = "patient"
    request_key = "patient_id"
    raw_inputs = ("raw_stays",)
    builder_inputs = ("observations", "labels")
    request_columns = [("string", "patient_id", True), ("any", "time", True), ("string", "variable", True),
                       ("any", "value", True)]  # fmt: skip
    raw_format: ClassVar[str]  # physionet2012 | physionet2019: the task's training files
    ranges: ClassVar[dict]  # plausibility ranges of that dataset
    variables: ClassVar[list[str]]
    times: ClassVar[str]  # "observed" (each stay's own times) | "hourly" (the .psv rows)
    unscored_reason: ClassVar[str] = ("no observation the model can use (all outside the model's time window, "
                                      "max_hours, or of variables it does not read)")  # fmt: skip
    # Descriptors kept per patient (first value in the window) for the subgroup report.
    static_variables: ClassVar[tuple[str, ...]] = ("Age", "Gender")

    # -------------------------------------------------------------------------- raw input
    def read_raw(self, path: Path, options: dict | None = None) -> dict:
        path = Path(path)
        if self.raw_format == "physionet2019":
            return {"raw_stays": read_2019_directory(path)}
        outcomes = (options or {}).get("outcomes")
        return {
            "raw_stays": read_long_csv(path, outcomes)
            if path.is_file()
            else read_2012_directory(path)
        }

    def ingest(self, raw: dict, params: dict) -> dict:
        stays = raw["raw_stays"]
        if isinstance(
            stays, StayFolder
        ):  # partition by partition, unchanged partitions from the cache
            prepared = prepare(stays)
            observations, labels, quarantine, report = (prepared.observations, prepared.labels, prepared.quarantine,
                                                         prepared.report)  # fmt: skip
            return {
                "observations": observations,
                "labels": labels,
                "quarantine": quarantine,
                "ingest_report": report,
            }
        validate = validate_2019 if self.raw_format == "physionet2019" else validate_2012
        observations, labels, quarantine, report = validate(stays)
        return {
            "observations": observations,
            "labels": labels,
            "quarantine": quarantine,
            "ingest_report": report,
        }

    def vitals_model_input(self, sequences: dict, labels_of: Callable, strata: dict | None, params: dict, causal: bool,
                           task_kind: str, split: Callable = split_groups, assignment: dict | None = None,
                           train_target: Callable | None = None, **extra) -> dict:  # fmt: skip
        """Split patients (or take ``assignment``: patient -> split), fit normalisation on train
        patients only, then build the samples. ``train_target``: labels -> training target of the
        TRAIN patients only (val/test keep the labels: calibration, monitoring and evaluation)."""
        patients = sorted(sequences)
        if assignment is None:
            assignment = split(
                patients, params.get("split"), seed=int(params.get("seed", 0)), strata=strata
            )
        train_ids = [p for p in patients if assignment[p] == "train"]
        stats = fit_normalisation(sequences, train_ids, params.get("normalisation"))
        channels = list(params.get("channels") or CHANNELS)
        splits: dict[str, list[dict]] = {"train": [], "val": [], "test": []}
        patient_order: dict[str, list[str]] = {"train": [], "val": [], "test": []}
        features = apply_features_many([sequences[p] for p in patients], stats, channels=channels)
        for patient, x in zip(patients, features, strict=True):
            seq = sequences[patient]
            y = labels_of(patient, seq, stats)
            if train_target is not None and assignment[patient] == "train":
                y = train_target(y)
            splits[assignment[patient]].append({"x": x, "y": y, "length": len(x)})
            patient_order[assignment[patient]].append(patient)
        info = self._first_values(sequences, self.static_variables)
        return self.model_input_document(splits, patient_order, info, stats, channels, params, causal, task_kind,
                                         input_size=int(splits["train"][0]["x"].shape[1]),
                                         fingerprint=samples_fingerprint(splits), **extra)  # fmt: skip

    def model_input_in_memory(self, clean_long: pd.DataFrame, labels: pd.DataFrame, params: dict, causal: bool,
                              task_kind: str, split: Callable = split_groups, **extra) -> dict:  # fmt: skip
        """The task's ``partition_parts`` over the whole cohort in these tables, then
        ``vitals_model_input`` (split, training normalisation, samples)."""
        sequences, labels_of, strata = self.partition_parts(clean_long, labels, params)
        return self.vitals_model_input(sequences, labels_of, strata, params, causal=causal, task_kind=task_kind,
                                       split=split, **extra)  # fmt: skip

    def stored_model_input_if_asked(self, params: dict, split: Callable, labels: pd.DataFrame) -> dict | None:
        """``samples.model_input_store: arrow``: the model input built partition by partition from
        ``samples.prepared_cache`` into Arrow stores (the task's ``build_stored_model_input``);
        ``None`` when the samples are built in memory. ``labels``: the validated labels the
        pipeline passed; a cache holding other patients (left by another input, e.g. a 2012
        folder's before a long CSV, which is not partitioned) is refused rather than trained on."""
        if params.get("model_input_store", "memory") != "arrow":
            return None
        if not params.get("prepared_cache"):
            raise ValueError(f"{self.name}: samples.model_input_store=arrow builds from the prepared partitions; "
                             "set samples.prepared_cache (the raw_stays dataset's prepared_cache)")  # fmt: skip
        model_input = self.build_stored_model_input(params["prepared_cache"], params, params.get("store_dir"), split=split)
        known = set(labels["patient_id"].astype(str))
        foreign = [p for ids in model_input["patients"].values() for p in ids if p not in known]
        if foreign:
            raise ValueError(f"{self.name}: {len(foreign)} stays in {params['prepared_cache']} are not in this run's "
                             "validated input: the cache was written from another input (a plain long CSV is "
                             "not partitioned; use samples.model_input_store=memory for it)")  # fmt: skip
        return model_input

    def model_input_document(self, splits: dict, patient_order: dict, info: dict, stats: dict, channels: list,
                             params: dict, causal: bool, task_kind: str, input_size: int, fingerprint: dict,
                             **extra) -> dict:  # fmt: skip
        """The model input around its ``splits`` (lists of samples, or store paths built partition
        by partition by ``tasks.vitals_stored``): the same document either way."""
        return {
            "task": self.name,
            "task_kind": task_kind,
            "n_classes": 1,
            "input_kind": "features",
            "input_size": input_size,
            "causal": causal,
            "splits": splits,
            "patients": patient_order,  # local only: never logged to MLflow
            # Local only too: per-patient descriptors for the subgroup report.
            "patient_info": {
                part: [{v: info[v].get(p) for v in info} for p in ids]
                for part, ids in patient_order.items()
            },
            "alert": dict(
                params.get("alert") or {}
            ),  # the operating point: becomes bundle["alert"]
            "preprocessing": {
                "kind": "vitals",
                "variables": list(self.variables),
                "feature_names": feature_names(list(self.variables), channels),
                "channels": channels,
                "normalisation": {
                    k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in stats.items()
                },
                "times": self.times,
                "max_hours": params.get("max_hours"),
                "step_hours": params.get("step_hours"),
            },
            "class_names": ["negative", "positive"],
            # The feature layout a model's stay summary reads (models/stay_summary.py): the value
            # columns come first when selected; the observed mask follows them when selected.
            "data_hparams": summary_layout(len(self.variables), channels),
            "fingerprint": fingerprint,
            **extra,
        }

    @staticmethod
    def inverse_odds(splits: dict) -> float:
        """Deaths are ~14 % and septic hours ~2 %: positives are weighted by the inverse odds
        (raised to ``samples.pos_weight_power`` by the builders: 1 by default, 0 = unweighted)."""
        positives = np.concatenate([np.atleast_1d(s["y"]) for s in splits["train"]])
        return VitalsTask.odds_weight(float(positives.mean()))

    @staticmethod
    def odds_weight(prevalence: float) -> float:
        return (1 - prevalence) / max(prevalence, 1e-6)

    @staticmethod
    def _first_values(sequences: dict, variables) -> dict[str, dict]:
        """``{variable: {patient: first observed value}}`` for each of ``variables`` (patients that
        never have one left out of its dict); one pass over the patients for all of them."""
        out: dict[str, dict] = {v: {} for v in variables}
        for patient, seq in sequences.items():
            names = list(seq["variables"])
            wanted = [v for v in variables if v in names]
            if not wanted:
                continue
            columns = seq["values"][:, [names.index(v) for v in wanted]]
            seen = np.isfinite(columns)
            first = seen.argmax(axis=0)
            for j in np.flatnonzero(seen.any(axis=0)):
                out[wanted[j]][patient] = float(columns[first[j], j])
        return out

    # --------------------------------------------------- calibrated risks (binary vitals tasks)
    default_alert: ClassVar[dict] = {"specificity": 0.90}

    @staticmethod
    def risks(bundle: dict, outputs: list) -> list[np.ndarray]:
        """The bundle's calibrated risks of the model's raw outputs (unchanged without a calibrator)."""
        calibration = bundle.get("risk_calibration")
        return [apply_calibration(calibration, output) for output in outputs]

    def calibrate(self, bundle: dict, model_input: dict) -> dict:
        """Fit the risk calibrator (Platt or isotonic, chosen out-of-fold) on the VALIDATION
        patients' outputs, then the threshold of the configured operating point (``samples.alert``)
        on their calibrated risks; both kept in the bundle as plain numbers."""
        val = open_split(model_input["splits"]["val"])
        raw = [np.atleast_1d(o).astype(np.float64) for o in predict_samples(bundle, val)]
        labels = [np.atleast_1d(s["y"]).astype(int) for s in val]
        groups = np.repeat(
            np.arange(len(val)), [len(r) for r in raw]
        )  # a stay's hours stay together
        y = np.concatenate(labels)
        calibrator, selection = choose_calibrator(
            y, np.concatenate(raw), groups=groups, class_weight=bundle["hparams"].get("pos_weight")
        )
        bundle = {**bundle, "risk_calibration": {**calibrator, "fitted_on": "validation", "n": int(len(y)),
                                                 "positives": int(y.sum()), "selection": selection}}  # fmt: skip
        bundle["alert"] = self.alert_rule(model_input, labels, self.risks(bundle, raw))
        return bundle

    def alert_rule(self, model_input: dict, labels: list, risks: list) -> dict:
        """``{"threshold", "rule"}`` of the operating point: ``samples.alert.threshold`` (a risk)
        as given, or the threshold reaching ``samples.alert.specificity`` on validation."""
        chosen = model_input.get("alert") or self.default_alert
        if chosen.get("threshold") is not None:
            return {
                "threshold": float(chosen["threshold"]),
                "rule": "fixed risk threshold (samples.alert.threshold)",
            }
        spec = float(chosen["specificity"])
        t = threshold_at_specificity(np.concatenate(labels), np.concatenate(risks), spec)
        return {
            "threshold": t,
            "rule": f"{spec:.0%} specificity on the validation patients",
            "specificity": spec,
        }

    def threshold_chooser(self, model_input: dict) -> Callable:
        """``(labels, risks) -> threshold`` of this model input's alert rule (for baselines)."""
        return lambda labels, risks: self.alert_rule(model_input, labels, risks)["threshold"]

    @staticmethod
    def risk_baseline(train_y: np.ndarray, test_y: np.ndarray) -> dict:
        """The constant training prevalence (``prevalence_baseline``) with its Brier skill (0 by
        definition) and ECE, the figures a calibrated risk is quoted against."""
        baseline = prevalence_baseline(train_y, test_y)
        baseline.update(
            brier_skill=0.0, ece=ece(test_y, np.full(len(test_y), baseline["prevalence"]))
        )
        return baseline

    @staticmethod
    def alert_threshold(bundle: dict) -> float:
        return float((bundle.get("alert") or {}).get("threshold", 0.5))

    def icu_unit(self, info: pd.DataFrame) -> pd.Series:
        """Patient -> ICU unit name (the formats code it differently)."""
        return pd.Series("unknown", index=info.index)

    def subgroups(self, patients: list[str], info: list[dict]) -> dict[str, pd.Series]:
        """``{variable: patient -> group}``: age band, sex and ICU unit."""
        frame = pd.DataFrame(info, index=[str(p) for p in patients])
        frame = frame.reindex(columns=list(self.static_variables))
        return {
            "age_band": frame["Age"].map(age_band),
            "sex": frame["Gender"].map({0.0: "female", 1.0: "male"}).fillna("unknown"),
            "icu_unit": self.icu_unit(frame),
        }

    def risk_reports(self, bundle: dict, model_input: dict, test_raw: list, test_risks: list, baseline_brier: float,
                     patient_days: float, hourly: bool = False) -> tuple[dict, dict]:  # fmt: skip
        """Calibration before/after, the alert table and the subgroup report of the TEST split,
        and the reliability plots before and after calibration."""
        test, val = (
            open_split(model_input["splits"]["test"]),
            open_split(model_input["splits"]["val"]),
        )
        test_y = [np.atleast_1d(s["y"]).astype(int) for s in test]
        val_y = [np.atleast_1d(s["y"]).astype(int) for s in val]
        val_risks = [np.atleast_1d(r) for r in self.risks(bundle, predict_samples(bundle, val))]
        y = np.concatenate(test_y)
        raw = np.concatenate([np.atleast_1d(o) for o in test_raw]).astype(np.float64)
        risk = np.concatenate([np.atleast_1d(r) for r in test_risks]).astype(np.float64)
        calibrator = bundle.get("risk_calibration") or {}
        calibration = {
            "method": calibrator.get("method", "none"), "fitted_on": calibrator.get("fitted_on"),
            "selection": calibrator.get("selection"),
            "before": calibration_summary(y, raw, baseline_brier), "after": calibration_summary(y, risk, baseline_brier),
        }  # fmt: skip
        per_stay = {"val_labels": val_y, "val_risks": val_risks, "test_labels": test_y,
                    "test_risks": [np.atleast_1d(r) for r in test_risks]} if hourly else None  # fmt: skip
        alerts = alert_table(
            np.concatenate(val_y), np.concatenate(val_risks), y, risk, patient_days, hourly=per_stay
        )
        reports = {"alerts": alerts}
        info = model_input.get("patient_info")
        if info is not None:
            patients = model_input["patients"]["test"]
            scored = pd.DataFrame({"patient_id": np.repeat(np.asarray(patients, dtype=object), [len(v) for v in test_y]),
                                   "label": y, "risk": risk})  # fmt: skip
            reports["subgroups"] = subgroup_table(scored, self.subgroups(patients, info["test"]))
        method = calibration["method"]
        figures = {
            "reliability_uncalibrated.png": reliability_figure(
                y, raw, f"{self.name}, uncalibrated"
            )["reliability.png"],
            **reliability_figure(y, risk, f"{self.name}, calibrated ({method} on validation)"),
        }
        return {
            "calibration": calibration,
            "alert": bundle.get("alert"),
            "reports": reports,
        }, figures

    def eval_samples_for(
        self, model_input: dict, builder_inputs: tuple, preprocessing: dict
    ) -> dict:
        """Val/test samples re-encoded with ``preprocessing``'s normalisation (same patients, same
        labels), so a champion fitted on older patients is scored on exactly the inputs it would
        get in serving."""
        clean_long, labels = builder_inputs
        grid = (
            labels[["patient_id", "time_h"]] if preprocessing["times"] == "hourly" else "observed"
        )
        wanted = [p for part in ("val", "test") for p in model_input["patients"][part]]
        encoded = encode_like(clean_long, preprocessing, times=grid, patients=wanted)
        out = {}
        for part in ("val", "test"):
            patients = model_input["patients"][part]
            samples = open_split(model_input["splits"][part])  # a list, or an Arrow store's path
            out[part] = [{**sample, "x": encoded[patient][1]}
                         for patient, sample in zip(patients, samples, strict=True)]  # fmt: skip
        return out

    # --------------------------------------------------------------------------- prediction
    def read_predict_input(self, path: Path) -> dict:
        path = Path(path)
        if path.is_file() and path.suffix.lower() == ".csv":
            return {"format": "long_csv", "raw": read_long_csv(path)}
        if self.raw_format == "physionet2019":
            return {"format": "physionet2019", "raw": read_2019_for_prediction(path)}
        return {"format": "physionet2012", "raw": read_2012_for_prediction(path)}

    def prepare_request(self, raw_input: dict):
        fmt, raw = raw_input["format"], raw_input["raw"]
        if fmt == "physionet2019":
            clean, _labels, quarantine, report = validate_2019(raw)
        else:
            # Outcomes are not needed to score: without them no patient is dropped for lacking one.
            clean, _labels, quarantine, report = validate_long(
                raw["observations"], None, self.ranges, raw.get("patients")
            )
        request = pd.DataFrame(
            {"patient_id": clean["patient_id"].astype(str), "time": clean["time_h"].astype(float),
             "variable": clean["variable"].astype(str), "value": clean["value"].astype(float)}
        )  # fmt: skip
        return request, quarantine, report

    def request_ids(self, frame: pd.DataFrame) -> pd.Series:
        """Patient ids as validation spells them (0132545 and 132545.0 are patient 132545)."""
        return normalise_patient_ids(frame[self.request_key])

    def example_request(self, bundle: dict, seed: int = 0) -> pd.DataFrame:
        """Mid-range values of a few always-measured variables, hourly for 6 h."""
        rng = np.random.default_rng(seed)
        centre = {"HR": 85.0, "Temp": 37.0, "Age": 60.0, "MAP": 80.0, "RespRate": 18.0, "Resp": 18.0,
                  "O2Sat": 97.0, "SBP": 120.0}  # fmt: skip
        variables = [v for v in centre if v in bundle["preprocessing"]["variables"]]
        rows = [
            {"patient_id": "example-1", "time": float(hour), "variable": name,
             "value": round(centre[name] + float(rng.normal(0, 1)), 2)}
            for hour in range(1, 7) for name in variables
        ]  # fmt: skip
        return pd.DataFrame(rows)

    def explain(self, model, bundle: dict, request: pd.DataFrame, options: dict):
        """Integrated gradients per variable and hour (``tasks.vitals_explain``)."""
        from seqhealth.tasks.vitals_explain import explain_vitals

        return explain_vitals(self, model, bundle, request, options)

    def encoded_request(self, model, bundle: dict, frame: pd.DataFrame, limits: dict):
        """``(patients, per-patient model outputs, per-patient step times)`` of a raw request."""
        clean = vitals_long_table(frame, bundle["preprocessing"], self.ranges, limits)
        patients, samples, times = vitals_samples(
            clean, bundle["preprocessing"], bundle["hparams"]["task_kind"]
        )
        return patients, predict_samples(model, samples), times, clean
