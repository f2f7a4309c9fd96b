"""radflow's DICOM edge: the Modality Worklist and MPPS SCP, C-ECHO, and a PACS C-FIND client.

- `worklist`: the worklist item, the `WorklistSource` port and an in-memory worklist;
- `query`, `matching`, `attributes`, `responses`, `wire`: C-FIND identifiers in, answers out
  (PS3.4 C.2.2.2 matching, Specific Character Set);
- `performed_step`, `mpps`: MPPS N-CREATE/N-SET into `PerformedStep`s through the
  `PerformedStepSink` and `MppsStore` ports (fakes beside them);
- `server` (`DicomServer`, `DicomServerConfig`), `transport`: the SCP and its connection rules;
- `pacs`: Study Root C-FIND SCU (`PacsClient`);
- `worklist_json`, `__main__`: a worklist from the benchmark kit's JSON, served without a database.

docs/dicom-conformance.md is the conformance statement.
"""
