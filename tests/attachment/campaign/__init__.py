"""Tests of the attachment campaign's policy and calendar."""
