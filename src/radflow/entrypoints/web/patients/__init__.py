"""Patient screens: search with probable duplicates, registration, the patient page, merge."""
