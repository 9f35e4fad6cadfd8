"""The layer contract: what a compressed layer is and what it computes.

The EIE storage format (:mod:`.format`), weight-sharing codebooks (:mod:`.codebook`), 16-bit
fixed-point numbers (:mod:`.fixedpoint`), the bit-exact golden model (:mod:`.golden`), model
files (:mod:`.model`) and the float master weights they may carry (:mod:`.master`), the built-in example (:mod:`.examples`) and the model summary
(:mod:`.info`). Imports only :mod:`eie_sim.config` and :mod:`eie_sim.errors`; every other tier
builds on it.
"""

from .kinds import fc as _fc, lstm as _lstm  # noqa: F401,E402  (importing a kind registers it: KIND_MODULES)
