"""Bring your own network: fully connected networks and chain CNNs in and out of eie-sim through ONNX.

* :mod:`.onnx_import` -- read an ONNX file (Gemm, MatMul + Add, Relu, Flatten / Reshape,
  Identity, Dropout, a final Sigmoid / Tanh / Softmax, an LSTM first, Conv / BatchNormalization
  / pooling chains: :mod:`.onnx_lstm`, :mod:`.onnx_conv`) into a dense float network, refusing
  everything else with an :class:`~eie_sim.errors.EIEError` that names the node;
* :mod:`.pipeline` -- compress it with the trainer's prune -> retrain -> share -> fine-tune
  pipeline into an eie-sim :class:`~eie_sim.contract.model.Model` with calibrated formats;
* :mod:`.onnx_export` -- write any eie-sim model (or dense trainer network) as a float ONNX model
  of its shared weights, runnable by onnxruntime.

Needs the ``onnx`` extra (``pip install 'eie-sim[onnx]'``: onnx, onnxruntime). This tier may
import :mod:`eie_sim.contract` and :mod:`eie_sim.train`; :mod:`eie_sim.explore` and
:mod:`eie_sim.cli` may import it.
"""

from .._lazy import lazy_names

#: the module of every public name, imported on first use (the CLI's parser needs pipeline's defaults, not onnx)
_PROVIDERS = {
    ".onnx_export": ("OnnxExportError", "export_onnx", "model_to_onnx", "network_to_onnx", "save_onnx"),
    ".onnx_import": ("ImportedLayer", "ImportedNetwork", "OnnxImportError", "import_onnx", "read_onnx"),
    ".pipeline": ("DataFileError", "ImportResult", "ImportSettings", "compress_imported", "load_data_file"),
}

__all__ = [
    "OnnxImportError",
    "OnnxExportError",
    "DataFileError",
    "ImportedLayer",
    "ImportedNetwork",
    "ImportSettings",
    "ImportResult",
    "read_onnx",
    "import_onnx",
    "compress_imported",
    "load_data_file",
    "model_to_onnx",
    "network_to_onnx",
    "save_onnx",
    "export_onnx",
]


__getattr__, __dir__ = lazy_names(__name__, globals(), _PROVIDERS, __all__)
