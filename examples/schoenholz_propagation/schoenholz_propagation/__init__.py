"""Schoenholz, Gilmer, Ganguli & Sohl-Dickstein 2017 as a dnn-moments extension (paper "P").

A worked example of the public extension points (docs/extending.md): `derivations` declares the
paper and registers its derivations (sympy), `claims` registers its claims (simulations of the
existing engine); the package's entry point ``dnn_moments.claims`` names `claims`, so an
installed copy is found by ``dnn-moments verify``, ``report`` and ``pytest -p dnn_moments``.
"""
