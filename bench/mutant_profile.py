"""A pytest plugin for ``bench/mutants.py``: Hypothesis reports a failure without shrinking it.

A mutant only needs to be caught, not explained; shrinking a failing state machine run can take
minutes. Loaded with ``-p bench.mutant_profile``.
"""

from hypothesis import Phase, settings

settings.register_profile("mutants", phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.load_profile("mutants")
