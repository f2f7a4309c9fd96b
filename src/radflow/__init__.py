"""radflow: an imaging patient-pipeline system (RIS), from referral to closed follow-up."""

__version__ = "0.1.0"
