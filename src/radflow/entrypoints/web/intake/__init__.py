"""Intake screens: the intake queue with the fax inbox, and the new-referral form."""
