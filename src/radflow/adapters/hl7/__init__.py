"""HL7 v2 wire layer: bytes in, typed messages out; typed results in, bytes out. No business rules.

- `framing`, `mllp`: MLLP framing, the asyncio listener (`MllpListener`) and the client (`MllpClient`).
- `encoding`, `segments`, `datatypes`: delimiters, escapes, character sets, positioned field access.
- `parsing` (with `orders`, `patients`, `results`): `parse_message(raw) -> InboundMessage` (`messages`).
- `errors`: `Hl7ContentError`, the ValidationError that carries ERR content (table 0357).
- `acks`: ACK building (original and enhanced mode, ERR per version), `best_effort_ack`, `read_ack`.
- `receiving`: `receive(raw, apply, clock)`, the edge's error-to-ACK mapping in one place.
- `mapping`, `mapping_file`: per-sender mapping (docs/hl7-mapping.md) and `map_order`.
- `outbound`, `writing`: ORM^O01 / OMI^O23 order status and ORU^R01 reports.
"""
