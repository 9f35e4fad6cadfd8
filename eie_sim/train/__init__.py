"""Train: make compressed weights (Deep Compression, DSD).

NumPy networks and SGD (:mod:`.nn`), the data sets (:mod:`.data`), pruning, retraining, weight
sharing and dense-sparse-dense training (:mod:`.compress`), load-balance-aware pruning
(:mod:`.balance`), compression from a model file's master weights and retraining at another
width (:mod:`.refit`) and Huffman coding (:mod:`.huffman`). Imports the layer contract
(:mod:`eie_sim.contract`), config and errors only.
"""
