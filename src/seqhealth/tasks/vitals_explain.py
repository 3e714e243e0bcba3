"""Explanations of the binary vitals models (``VitalsTask.explain``): Captum integrated gradients
per input feature and step, summed over a variable's channels (value, observed, hours since seen)
to one attribution per variable and hour, then ranked per patient and over the cohort.

What is explained is the model's own (uncalibrated) risk output: the stay's risk for a
whole-stay model, the risk at the explained hour (default: the patient's highest-risk hour) for an
hourly causal model, whose attributions can only fall on that hour and before it. The calibrated
risk shown next to it is a monotone map of that output, so the ranking is the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from seqhealth.engine.explain import (
    ExplanationError,
    check_explain_limits,
    chosen_units,
    explain_device,
    integrated_gradients,
    sequence_output,
    sequence_scores,
    step_output,
)
from seqhealth.serving.raw_inputs import vitals_long_table, vitals_samples

STEP_GAP = "hours_since_previous_step"


def variable_of(feature: str) -> str:
    """``HR__observed`` -> ``HR``; the step-gap column stays itself."""
    return feature.split("__", 1)[0]


def explain_vitals(task, model, bundle: dict, request: pd.DataFrame, options: dict) -> tuple[dict, dict]:
    """``({"patients", "variables", "attributions", "cohort"}, figures)``; see the module doc."""
    preprocessing, kind = bundle["preprocessing"], bundle["hparams"]["task_kind"]
    if kind not in ("sequence", "tagging") or int(bundle["hparams"].get("n_classes", 1)) != 1:
        raise ExplanationError(f"task {task.name} offers no explanations (its model is not a binary risk model)")
    clean = vitals_long_table(request, preprocessing, task.ranges, options.get("limits"))
    patients, samples, times = vitals_samples(clean, preprocessing, kind)
    keep = chosen_units(patients, options.get("ids"), "patient")
    check_explain_limits({p: len(s["x"]) for p, s in zip(patients, samples) if p in keep}, "patient", options.get("limits"))
    model = model.to(explain_device(options.get("device"))).eval()
    features = list(preprocessing["feature_names"])
    variables = list(dict.fromkeys(variable_of(f) for f in features))
    column_variable = np.asarray([variables.index(variable_of(f)) for f in features])
    n_top, n_steps = int(options.get("top_variables", 10)), int(options.get("ig_steps", 64))
    summary, per_variable, long_rows, figures = [], [], [], {}
    for patient, sample, hours in zip(patients, samples, times):
        if patient not in keep:
            continue
        x = np.asarray(sample["x"], dtype=np.float32)
        raw = _raw_risks(model, x, kind)
        step = _explained_step(raw, options.get("hour"), hours) if kind == "tagging" else len(x) - 1
        score = step_output(step) if kind == "tagging" else sequence_output()
        ig = integrated_gradients(model, x, score, n_steps=n_steps, device=options.get("device"))
        by_variable = np.zeros((len(x), len(variables)), dtype=np.float64)
        np.add.at(by_variable.T, column_variable, ig["attributions"].T.astype(np.float64))
        totals = by_variable.sum(0)
        order = np.argsort(-np.abs(totals))
        risk = np.atleast_1d(task.risks(bundle, [raw])[0]).astype(np.float64)
        summary.append({
            "patient_id": patient, "explained_time": float(hours[step]), "risk": float(risk[step if kind == "tagging" else 0]),
            "model_output": ig["output"], "baseline_output": ig["baseline_output"],
            "attribution_sum": float(ig["attributions"].sum()), "completeness_gap": ig["delta"],
            "top_variables": [variables[i] for i in order[:n_top]],
        })  # fmt: skip
        per_variable.append(pd.DataFrame({"patient_id": patient, "variable": [variables[i] for i in order],
                                          "attribution": totals[order], "rank": np.arange(1, len(order) + 1)}))  # fmt: skip
        long = pd.DataFrame({"patient_id": patient, "time": np.repeat(np.asarray(hours, dtype=float), len(variables)),
                             "variable": variables * len(x), "attribution": by_variable.reshape(-1)})  # fmt: skip
        long_rows.append(long)
        if len(figures) < int(options.get("max_plots", 20)):
            from seqhealth.reporting_explain import attribution_figure

            curve = pd.DataFrame({"time": np.asarray(hours, dtype=float), "risk": risk}) if kind == "tagging" else None
            target = f"the risk at hour {hours[step]:g}" if kind == "tagging" else "the stay's risk"
            figures[f"patient_{_safe(patient)}.png"] = attribution_figure(
                patient, long, [variables[i] for i in order[:n_top]], target, curve)  # fmt: skip
    if not summary:
        raise ExplanationError(f"{task.name}: no patient of the input could be explained")
    variables_table = pd.concat(per_variable, ignore_index=True)
    cohort = cohort_ranking(variables_table)
    if int(options.get("max_plots", 20)) > 0:
        from seqhealth.reporting_explain import cohort_figure

        figures["cohort_top_variables.png"] = cohort_figure(cohort, f"{task.name}: top variables over {len(summary)} patients")
    return {"patients": pd.DataFrame(summary), "variables": variables_table,
            "attributions": pd.concat(long_rows, ignore_index=True), "cohort": cohort}, figures  # fmt: skip


def cohort_ranking(per_patient: pd.DataFrame) -> pd.DataFrame:
    """Variables by mean |attribution| per patient (0 for a patient it did not move), with the
    mean signed attribution and how often the variable is in a patient's top five."""
    n = per_patient["patient_id"].nunique()
    grouped = per_patient.assign(abs_attribution=per_patient["attribution"].abs()).groupby("variable")
    cohort = pd.DataFrame({
        "mean_abs_attribution": grouped["abs_attribution"].sum() / n,
        "mean_attribution": grouped["attribution"].sum() / n,
        "patients_top5": grouped["rank"].apply(lambda r: int((r <= 5).sum())),
    }).sort_values("mean_abs_attribution", ascending=False)  # fmt: skip
    return cohort.reset_index().assign(rank=lambda f: np.arange(1, len(f) + 1))


def _raw_risks(model, x: np.ndarray, kind: str) -> np.ndarray:
    """The model's uncalibrated risk: per step (tagging) or one per stay."""
    inputs = torch.as_tensor(x, device=model.device).unsqueeze(0)
    out = sequence_scores(model, inputs, lambda logits, lengths: torch.sigmoid(logits.reshape(1, -1)))
    return out[0].float().cpu().numpy() if kind == "tagging" else out[0, :1].float().cpu().numpy()


def _explained_step(raw: np.ndarray, hour, hours: np.ndarray) -> int:
    """The step of ``hour`` (the last step at or before it), default the highest-risk step."""
    if hour is None:
        return int(np.argmax(raw))
    before = np.flatnonzero(np.asarray(hours, dtype=float) <= float(hour))
    if not before.size:
        raise ExplanationError(f"explain.hour {hour} is before the patient's first observation (hour {hours[0]:g})")
    return int(before[-1])


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name))[:100] or "patient"
