"""Test-data generators for tests and benchmarks (not needed to track).

:mod:`deepsort_lib.testing.simulation`
    A seeded detector + re-ID simulation on real MOTChallenge ground truth (the accuracy
    benchmark's inputs).
:mod:`deepsort_lib.testing.synthetic`
    Seeded synthetic crowds of bouncing targets, with ground-truth identities.
"""
