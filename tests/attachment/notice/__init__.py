"""Tests of the attachment notices: what each decision tells whom, and the notice itself (A-54, A-100)."""
