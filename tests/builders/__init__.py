"""Builders of test data, constants and helpers, by domain: test modules import these, never a conftest or another
test module; `fixtures.py` declares the fixtures that tests in several directories share."""
