"""Tests of the server-rendered pages, one module per domain and audience."""
