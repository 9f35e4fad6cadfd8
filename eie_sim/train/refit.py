"""Former home of the master-weight compression, now :mod:`eie_sim.train.pipeline` (the one
compression pipeline). Kept so that ``eie_sim.train.refit.<name>`` imports keep working."""

from .pipeline import CALIBRATION_IMAGES, Recipe, compress_from_master, master_of, network_from_master, refit_at_width, train_dense

__all__ = ["Recipe", "network_from_master", "master_of", "compress_from_master", "refit_at_width", "train_dense",
           "CALIBRATION_IMAGES"]
