"""Applications and decisions: apply by three channels, decide within a working day, the refusal counter
(A-50..A-54, A-70, A-71)."""
