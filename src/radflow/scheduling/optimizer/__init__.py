"""The batch scheduling optimizer: a minute-based snapshot in, a feasible plan out.

Policies: `first-available` (arrival order, as most RIS book), `greedy` (stat first, then earliest
due) and `optimize` (CP-SAT over windows of the schedule, never worse than greedy).
"""
