"""Label Studio shapes shared by the service's ML backend and the data tools: the labelling config
(generated from the schema) and a prediction in Label Studio's result format.

One source for both: ``stanceframe data export-labelstudio`` writes this config, and the ML
backend (:mod:`serving.labelstudio_backend`) answers in it.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from serving.schema import LabelSchema

TEXT_TAG = "text"
FRAMES_TAG = "frames"
SENTIMENT_TAG = "sentiment"
FIGURE_TAG = "figure"
EVIDENCE_TAG = "evidence"


_PALETTE = ("#d62728", "#7f7f7f", "#2ca02c", "#1f77b4", "#ff7f0e", "#9467bd", "#8c564b")


def labelstudio_config(schema: LabelSchema) -> str:
    """Label Studio labelling config (XML) for ``schema``: frames, sentiment spans, figure names."""
    view = ET.Element("View")
    ET.SubElement(view, "Header", value="Frames (none, one or several)")
    ET.SubElement(view, "Text", name=TEXT_TAG, value="$text")
    frames = ET.SubElement(
        view, "Choices", name=FRAMES_TAG, toName=TEXT_TAG, choice="multiple", showInline="true"
    )
    for frame in schema.frames:
        ET.SubElement(frames, "Choice", value=frame.name, hint=frame.description)
    ET.SubElement(view, "Header", value="Sentiment toward each named person (select the mention)")
    labels = ET.SubElement(view, "Labels", name=SENTIMENT_TAG, toName=TEXT_TAG)
    for i, sentiment in enumerate(schema.sentiments):
        ET.SubElement(labels, "Label", value=sentiment, background=_PALETTE[i % len(_PALETTE)])
    region = ET.SubElement(view, "View", visibleWhen="region-selected")
    ET.SubElement(region, "Header", value="Canonical name of the selected person")
    ET.SubElement(
        region,
        "TextArea",
        name=FIGURE_TAG,
        toName=TEXT_TAG,
        perRegion="true",
        editable="true",
        maxSubmissions="1",
        placeholder="Canonical name, as in labels/figures.yaml",
    )
    ET.SubElement(view, "Header", value="Evidence: the sentence(s) carrying each frame (optional)")
    evidence = ET.SubElement(view, "Labels", name=EVIDENCE_TAG, toName=TEXT_TAG)
    for i, frame in enumerate(schema.frames):
        colour = _PALETTE[(i + 3) % len(_PALETTE)]
        ET.SubElement(evidence, "Label", value=frame.name, background=colour)
    ET.indent(view)
    return ET.tostring(view, encoding="unicode") + "\n"


# ---------------------------------------------------------------------------------------- export
def ls_prediction(pred: dict[str, Any], schema: LabelSchema, threshold: float) -> dict[str, Any]:
    """One Label Studio prediction entry (model_version, score, result) from a predictor dict."""
    frames, confidences = _present_frames(pred["frames"], schema, threshold)
    result: list[dict[str, Any]] = [
        {
            "id": "frames",
            "from_name": FRAMES_TAG,
            "to_name": TEXT_TAG,
            "type": "choices",
            "value": {"choices": frames},
        }
    ]
    for i, fig in enumerate(pred["figures"]):
        if fig["sentiment"] not in schema.sentiment2id:
            raise ValueError(f"unknown sentiment '{fig['sentiment']}'")
        score = float((fig.get("scores") or {}).get(fig["sentiment"], 1.0))
        confidences.append(score)
        result.extend(_figure_results(f"fig{i}", fig, score))
    result.extend(_evidence_results(pred["frames"]))
    return {
        "model_version": str(pred["model_version"]),
        "score": round(min(confidences, default=1.0), 4),
        "result": result,
    }


def _present_frames(
    frames: dict[str, float] | list[Any], schema: LabelSchema, threshold: float
) -> tuple[list[str], list[float]]:
    """The present frames and the confidence of each yes/no frame decision."""
    decisions = _frame_decisions(frames, threshold)
    unknown = sorted(str(label) for label, _, _ in decisions if label not in schema.frame2id)
    if unknown:
        raise ValueError(f"unknown frame(s) {unknown} (schema has {schema.frame_names})")
    present = [label for label, _, yes in decisions if yes]
    confidences = [max(score, 1.0 - score) for _, score, _ in decisions]
    return present, confidences


def _frame_decisions(
    frames: dict[str, float] | list[Any], threshold: float
) -> list[tuple[str, float, bool]]:
    """``(label, score, present)`` for each frame of any accepted prediction shape."""
    if isinstance(frames, dict):
        return [(label, float(s), float(s) >= threshold) for label, s in frames.items()]
    out = []
    for item in frames:
        if isinstance(item, str):
            out.append((item, 1.0, True))
        else:
            score = float(item["score"])
            out.append((item["label"], score, bool(item.get("present", score >= threshold))))
    return out


def _evidence_results(frames: dict[str, float] | list[Any]) -> list[dict[str, Any]]:
    """Highlighted sentences for frames that carry ``evidence`` (``stanceframe label
    --evidence`` output); none for other prediction shapes."""
    if isinstance(frames, dict):
        return []
    out = []
    for item in frames:
        for j, ev in enumerate((item.get("evidence") or []) if isinstance(item, dict) else []):
            out.append(
                {
                    "id": f"ev-{item['label']}-{j}",
                    "from_name": EVIDENCE_TAG,
                    "to_name": TEXT_TAG,
                    "type": "labels",
                    "score": round(float(ev["score"]), 4),
                    "value": {
                        "start": int(ev["start"]),
                        "end": int(ev["end"]),
                        "text": ev["text"],
                        "labels": [item["label"]],
                    },
                }
            )
    return out


def _figure_results(region_id: str, fig: dict[str, Any], score: float) -> list[dict[str, Any]]:
    """A sentiment span and its per-region canonical-name text area, linked by ``region_id``."""
    span = {"start": int(fig["start"]), "end": int(fig["end"])}
    common = {"id": region_id, "to_name": TEXT_TAG, "score": round(score, 4)}
    return [
        {
            **common,
            "from_name": SENTIMENT_TAG,
            "type": "labels",
            "value": {**span, "text": fig["mention"], "labels": [fig["sentiment"]]},
        },
        {
            **common,
            "from_name": FIGURE_TAG,
            "type": "textarea",
            "value": {**span, "text": [fig["name"]]},
        },
    ]
