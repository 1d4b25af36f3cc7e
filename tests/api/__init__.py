"""Tests of the JSON API's own routes (the domains' API tests sit with their domains)."""
