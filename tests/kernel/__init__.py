"""Tests of the kernel: the clock, settings and the rules that keep wall-clock reads in one place."""
