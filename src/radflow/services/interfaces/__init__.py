"""The HL7 v2 interface's services: messages in with exactly-once effects, status and reports out.

- `inbound`: `Hl7Inbound.handle(raw, peer)`, the application behind the MLLP listener (store, dedupe,
  apply, acknowledge in one transaction); `orders_in`, `patients_in`, `reports_in`: the effects.
- `outbound`: order status, report and application-ACK jobs (in-transaction hooks, job handlers);
  `status_messages`: radflow's records in the outbound builders' terms.
- `mappings`: the sender mapping stored in the database (load, show, the version in use).
- `monitor`: the message log, reprocess, dismiss, the outbound queue and dead letters, resend.
- `store`: the repository ports; `memory`: their in-memory fakes.
"""
