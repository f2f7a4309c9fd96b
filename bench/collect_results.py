"""Assemble bench/RESULTS.md from each area's bench/results/*.md (each keeps its own commands and figures).

    python bench/collect_results.py          # rewrite bench/RESULTS.md

Figures are never made up here: this only gathers what the benchmark scripts wrote, in a fixed order,
under one table of contents.
"""

from __future__ import annotations

from pathlib import Path

BENCH = Path(__file__).resolve().parent
ORDER = ("fhir", "slot_search", "schedule", "mwl", "hl7", "noshow", "followup")
TITLES = {
    "fhir": "FHIR ServiceRequest create and read throughput (issue 3)",
    "slot_search": "Slot search latency (issue 4)",
    "schedule": "Scheduling optimizer vs greedy, first-available and an upper bound (issue 4)",
    "mwl": "Modality worklist C-FIND vs wlmscpfs and Orthanc (issue 5)",
    "hl7": "HL7 ingest throughput and ACK latency (issue 6)",
    "noshow": "No-show risk model: discrimination and calibration (issue 4)",
    "followup": "Follow-up and critical-finding extraction (issue 7)",
}


def collect() -> str:
    """The combined document."""
    files = {p.stem: p for p in sorted((BENCH / "results").glob("*.md"))}
    names = [n for n in ORDER if n in files] + sorted(set(files) - set(ORDER))
    parts = [
        "# Benchmark results\n",
        "Every figure below was produced by the command printed beside it, on the machine it names. "
        "The sections are kept by the benchmark scripts in `bench/results/`; `python bench/collect_results.py` "
        "gathers them here.\n",
        "\n".join(f"- [{TITLES.get(n, n)}](#{n.replace('_', '-')})" for n in names) + "\n",
    ]
    for name in names:
        body = files[name].read_text().strip()
        body = "\n".join(("#" + line) if line.startswith("#") else line for line in body.splitlines())
        parts.append(f'<a id="{name.replace("_", "-")}"></a>\n\n## {TITLES.get(name, name)}\n\n{body}\n')
    return "\n".join(parts)


if __name__ == "__main__":
    (BENCH / "RESULTS.md").write_text(collect())
    print(f"wrote {BENCH / 'RESULTS.md'}")
