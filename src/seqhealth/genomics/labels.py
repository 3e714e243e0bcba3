"""Labels for DNA: a per-base coding track from CDS features, and a join with a labels table."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


def coding_track(length: int, cds_parts: Iterable) -> np.ndarray:
    """uint8[length]: 1 where any CDS part covers the base (either strand), else 0.

    Introns are the gaps between the parts of a join, so they stay 0. One slice assignment per
    part (a memset) beats a difference array + cumsum: genomes have thousands of parts but
    millions of bases.
    """
    track = np.zeros(length, dtype=np.uint8)
    for parts in cds_parts or []:
        for start, end, _strand in parts:
            track[max(start, 0) : max(end, 0)] = 1
    return track


def candidate_ids(record_id: str, description: str = "") -> list[str]:
    """Ids a sequence may be known by: its id, each ``|`` field of an NCBI-style id, header token."""
    candidates = [record_id]
    candidates += [field for field in record_id.split("|") if field]
    header_token = description.split(None, 1)[0] if description.strip() else ""
    if header_token and header_token != record_id:
        candidates.append(header_token)
        candidates += [field for field in header_token.split("|") if field]
    return list(dict.fromkeys(candidates))  # de-duplicated, order kept


def _cell_text(values) -> list[str]:
    """Cells as stripped text; a missing cell (NaN/None from a pandas reader) is ``""``."""
    return ["" if pd.isna(value) else str(value).strip() for value in values]


def clean_label_rows(table: pd.DataFrame, id_column: str, label_column: str):
    """``(ids, labels, rejected, case_variants)`` of a labels table.

    Ids and labels lose surrounding whitespace (``"Paphiopedilum "`` is ``Paphiopedilum``). A row
    whose id or label is blank is rejected and listed with its 1-based data row (the file line is
    row + 1). Labels that differ only in letter case are one class spelled the most frequent way
    (ties: the spelling met first), and ``case_variants`` maps that spelling to the others, so a
    typo never becomes a class of its own and never passes unreported.
    """
    ids = _cell_text(table[id_column])
    labels = _cell_text(table[label_column])
    source = table.attrs.get("source_file", "labels table")
    rejected = []
    for row, (table_id, label) in enumerate(zip(ids, labels), start=1):
        if not table_id:
            field, why = id_column, f"blank id in column {id_column!r} (label {label!r})"
        elif not label:
            field, why = label_column, f"blank label in column {label_column!r} for id {table_id!r}"
        else:
            continue
        rejected.append({"source_file": source, "row": row, "field": field,
                         "reason": f"row {row} (line {row + 1}): {why}"})  # fmt: skip
    spellings: dict[str, list[tuple[int, str]]] = {}
    counts = pd.Series(labels, dtype=object).loc[lambda s: s != ""].value_counts(sort=False)
    for spelling, count in counts.items():
        spellings.setdefault(spelling.casefold(), []).append((-count, spelling))
    canonical, case_variants = {}, {}
    for group in spellings.values():
        group.sort(key=lambda item: item[0])  # stable: first met wins a tie
        chosen = group[0][1]
        canonical.update({spelling: chosen for _, spelling in group})
        if len(group) > 1:
            case_variants[chosen] = [spelling for _, spelling in group[1:]]
    labels = [canonical.get(label, label) for label in labels]
    return ids, labels, rejected, case_variants


def _require_column(table: pd.DataFrame, column: str, role: str) -> None:
    if column not in table.columns:
        raise ValueError(
            f"labels table has no {role} column {column!r}; columns present: {list(table.columns)}"
        )


def match_labels(
    clean_df: pd.DataFrame,
    labels_table: pd.DataFrame,
    id_column: str = "id",
    label_column: str = "label",
):
    """``(labelled_df, unmatched)``: the sequences that have a label, with ``label`` and ``label_id``.

    A sequence matches a table id exactly, as one ``|``-separated field of its id (``gi|..|emb|
    Z78523.1|..`` matches ``Z78523.1``) or by the first token of its header. A sequence matching
    two different table rows is ambiguous and raises. ``unmatched`` lists
    ``sequences_without_label`` and ``labels_without_sequence`` so nothing disappears silently,
    plus ``rejected_label_rows`` (blank id or label, by row) and ``label_case_variants`` (see
    ``clean_label_rows``).
    """
    labels_table = labels_table.rename(columns=lambda column: str(column).strip())
    _require_column(labels_table, id_column, "id")
    _require_column(labels_table, label_column, "label")
    table_ids, table_labels, rejected, case_variants = clean_label_rows(
        labels_table, id_column, label_column
    )
    rejected_rows = {entry["row"] - 1 for entry in rejected}
    row_of_id: dict[str, int] = {}
    for row, table_id in enumerate(table_ids):
        if row in rejected_rows:
            continue
        if table_id in row_of_id and table_labels[row_of_id[table_id]] != table_labels[row]:
            raise ValueError(
                f"labels table column {id_column!r}: id {table_id!r} appears twice with different "
                f"labels ({table_labels[row_of_id[table_id]]!r}, {table_labels[row]!r})"
            )
        row_of_id.setdefault(table_id, row)

    descriptions = (
        clean_df["description"].astype(str).tolist()
        if "description" in clean_df.columns
        else [""] * len(clean_df)
    )
    matched_positions, matched_ids, labels = [], [], []
    sequences_without_label: list[str] = []
    used_rows: set[int] = set()
    for position, (record_id, description) in enumerate(
        zip(clean_df["record_id"].astype(str), descriptions)
    ):
        hits = {row_of_id[c]: c for c in candidate_ids(record_id, description) if c in row_of_id}
        if not hits:
            sequences_without_label.append(record_id)
            continue
        if len(hits) > 1:
            raise ValueError(
                f"sequence {record_id!r} matches several rows of the labels table: "
                f"{sorted(hits.values())}"
            )
        row, table_id = next(iter(hits.items()))
        used_rows.add(row)
        matched_positions.append(position)
        matched_ids.append(table_id)
        labels.append(table_labels[row])

    labelled = clean_df.iloc[matched_positions].reset_index(drop=True)
    labelled["label_id"] = matched_ids
    labelled["label"] = labels
    labels_without_sequence = [
        table_id for table_id, row in row_of_id.items() if row not in used_rows
    ]
    unmatched = {
        "sequences_without_label": sequences_without_label,
        "labels_without_sequence": labels_without_sequence,
        "rejected_label_rows": rejected,
        "label_case_variants": case_variants,
    }
    return labelled, unmatched


N_FRAME_CLASSES = 7  # 0 non-coding, 1-3 coding on + in frame 0-2, 4-6 coding on - in frame 0-2


def frame_track(length: int, cds_parts: Iterable) -> np.ndarray:
    """uint8[length]: per base, non-coding (0) or the strand and reading frame of the CDS covering it.

    The frame is absolute (a codon starts at positions = frame mod 3 on +; on - a codon ends at
    positions = frame - 1 mod 3, i.e. the CDS end mod 3 is the frame), so a gene's class matches
    the ORF columns of ``genomics.orf`` and the ORFs of ``genomics.gene_calls``: class 1 + b % 3
    for a forward ORF starting at b, 4 + e % 3 for a reverse one ending at e. Introns stay 0.
    """
    track = np.zeros(length, dtype=np.uint8)
    for parts in cds_parts or []:
        done = 0  # coding bases already read (in transcription order) before this part
        ordered = sorted(parts, key=lambda p: p[0], reverse=parts[0][2] < 0)
        for start, end, strand in ordered:
            start, end = max(start, 0), max(end, 0)
            if strand > 0:
                track[start:end] = 1 + (start - done) % 3
            else:
                track[start:end] = 4 + (end + done) % 3
            done += end - start
    return track
