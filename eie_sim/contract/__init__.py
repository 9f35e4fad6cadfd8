"""The layer contract: what a compressed layer is and what it computes.

The EIE storage format (:mod:`.format`), weight-sharing codebooks (:mod:`.codebook`), 16-bit
fixed-point numbers (:mod:`.fixedpoint`), layers and models (:mod:`.layer`), the layer kinds
(:mod:`.kinds`: one module per kind, fc, lstm and conv, registered here; :mod:`.conv`: the convolution's contract), the bit-exact golden model
(:mod:`.golden`: the FC contract and the one chain of every kind; :mod:`.lstm`: the LSTM cell's
contract), model files (:mod:`.model`) and the float master weights they may carry
(:mod:`.master`), the built-in example (:mod:`.examples`) and the model summary (:mod:`.info`).
Imports only :mod:`eie_sim.config` and :mod:`eie_sim.errors`; every other tier builds on it.
"""

# importing a kind registers it (kinds.KIND_MODULES), in this order: fc, lstm, conv
from .kinds import fc as _fc, lstm as _lstm  # noqa: F401
from .kinds import conv as _conv  # noqa: F401  isort: skip
