"""Feature definitions of the sample ``customer_features`` set, one module per released version.

In a real project one module evolves across commits and each release is a git tag;
the sample keeps each version's definitions side by side so the demo and the tests
can register all of them from one checkout. Unchanged features are imported from the
previous version's module, so their code (and code hash) is literally the same.
"""
