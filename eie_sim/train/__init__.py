"""Train: make compressed weights (Deep Compression, DSD).

NumPy networks and SGD (:mod:`.nn`), the data sets (:mod:`.data`), pruning, retraining, weight
sharing and dense-sparse-dense training (:mod:`.compress`), load-balance-aware pruning
(:mod:`.balance`), the one compression pipeline -- prune, retrain, share, fine-tune, calibrate --
used by ``compress``, ``import`` and the co-design search, also from a model file's master
weights and at another width (:mod:`.pipeline`), the LSTM model export (:mod:`.lstm`) and
Huffman coding (:mod:`.huffman`). Imports the layer contract
(:mod:`eie_sim.contract`), config and errors only.
"""
