"""Report text -> follow-up recommendations and critical findings, with medspaCy (rules only, offline).

`MedspacyFollowupExtractor` implements the `FollowupExtractor` port
(`radflow.domain.rads.extraction`); `extract_json` is the entry for `POST /api/followup/extract`.
Nothing heavy is imported here: medspaCy loads on the first extraction.
"""

from radflow.adapters.nlp.medspacy_extractor import MedspacyFollowupExtractor, default_extractor, extract_json

__all__ = ["MedspacyFollowupExtractor", "default_extractor", "extract_json"]
