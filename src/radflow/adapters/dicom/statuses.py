"""DICOM status codes radflow answers with, and the status data sets that carry them.

General statuses are PS3.7 Annex C; the C-FIND ones for the worklist are PS3.4 K.4.1.1.4
(Basic Worklist Management, C-FIND response status); the MPPS ones are PS3.4 F.7.2.1.2
(N-CREATE) and F.7.2.2.2 (N-SET). The text of each failure goes in Error Comment
(0000,0902), at most 64 characters (LO).
"""

from __future__ import annotations

from collections.abc import Iterable

from pydicom.dataset import Dataset

SUCCESS = 0x0000
CANCEL = 0xFE00

# C-FIND, Modality Worklist (PS3.4 K.4.1.1.4)
PENDING = 0xFF00  # matches are continuing, current match supplied
PENDING_OPTIONAL_KEYS_UNSUPPORTED = 0xFF01  # ... one or more optional keys were not supported
IDENTIFIER_DOES_NOT_MATCH_SOP_CLASS = 0xA900
# "Unable to process" is the range C000-CFFF; radflow uses two codes of it.
UNABLE_TO_PROCESS_WORKLIST_REFUSED = 0xC001  # the worklist source refused the query
UNABLE_TO_PROCESS_WORKLIST_FAILED = 0xC002  # the worklist source failed unexpectedly

# N-CREATE / N-SET, Modality Performed Procedure Step (PS3.4 F.7.2.1.2, F.7.2.2.2; PS3.7 C)
INVALID_ATTRIBUTE_VALUE = 0x0106
PROCESSING_FAILURE = 0x0110  # also "Performed Procedure Step object may no longer be updated"
DUPLICATE_SOP_INSTANCE = 0x0111
NO_SUCH_SOP_INSTANCE = 0x0112
ATTRIBUTE_VALUE_OUT_OF_RANGE = 0x0116  # a warning: the instance is kept, the value ignored
MISSING_ATTRIBUTE = 0x0120
MISSING_ATTRIBUTE_VALUE = 0x0121

NO_LONGER_UPDATABLE = "Performed Procedure Step object may no longer be updated"


def status_dataset(
    code: int,
    comment: str = "",
    *,
    offending: Iterable[int] = (),
    attribute_list: Iterable[int] = (),
) -> Dataset:
    """A status data set for pynetdicom: Status, Error Comment and the tags concerned.

    C-FIND names malformed keys in Offending Element (0000,0901); N-CREATE and N-SET name
    missing or out-of-range attributes in Attribute Identifier List (0000,1005).
    """
    status = Dataset()
    status.Status = code
    if comment:
        status.ErrorComment = comment[:64]
    offending_tags = [t for t in offending if t]
    if offending_tags:
        status.OffendingElement = offending_tags
    listed = [t for t in attribute_list if t]
    if listed:
        status.AttributeIdentifierList = listed
    return status
