import os

from hypothesis import HealthCheck, settings

# Deterministic property tests: the same examples on every machine and every run.
settings.register_profile(
    "eie",
    derandomize=True,
    deadline=None,
    max_examples=int(os.environ.get("EIE_HYPOTHESIS_EXAMPLES", "150")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("eie")
