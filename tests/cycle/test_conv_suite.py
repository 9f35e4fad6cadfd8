"""The conv benchmark suite's generator (eie_sim.cycle.conv_suite): shapes that chain into the
networks' FC layers, the stated densities, groups, determinism, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from eie_sim.contract.conv import geometry
from eie_sim.cycle import conv_suite, suite
from eie_sim.errors import ConfigError


def test_each_network_chains_into_its_table_iii_fc_layers():
    for convs, fcs in conv_suite.NETWORKS.values():
        layers = [conv_suite.get_conv(n).layer for n in convs]
        for a, b in zip(layers, layers[1:]):
            assert a.n_out == b.n_in, (a.name, b.name)
        assert layers[-1].n_out == suite.TABLE_III[fcs[0]][0]


@pytest.mark.parametrize("name", conv_suite.CONV_NAMES)
def test_weight_density_and_groups_follow_deep_compression(name):
    b = conv_suite.get_conv(name, seed=3)
    c_in, c_out, side, k, stride, pad, groups, pool, wd, ad, _ = conv_suite.CONV_LAYERS[name]
    g = geometry(b.layer)
    assert (g.c_in, g.c_out, g.h, g.kh, g.stride[0], g.padding[0]) == (c_in, c_out, side, k, stride, pad)
    nz = b.layer.codes != 0
    # density within the groups (a grouped layer is block diagonal): binomial, 5 standard deviations
    cells = nz.size // groups
    p = wd / 100
    assert abs(nz.sum() / cells - p) <= 5 * np.sqrt(p * (1 - p) / cells) + 1e-3
    if groups > 1:
        per = c_out // groups, c_in * k * k // groups
        for o in range(c_out):
            outside = np.ones(nz.shape[1], bool)
            grp = o // per[0]
            outside[grp * per[1]:(grp + 1) * per[1]] = False
            assert not nz[o, outside].any()
    acts = b.activations
    if ad < 100:
        assert np.all(acts >= 0)
        assert abs(np.count_nonzero(acts) / acts.size - ad / 100) <= 5 * np.sqrt(0.25 / acts.size)
    assert conv_suite.ACT_SOURCES[name]


def test_same_seed_same_layer_and_scale_shrinks():
    a, b = conv_suite.get_conv("alex-conv2", seed=1), conv_suite.get_conv("alex-conv2", seed=1)
    assert np.array_equal(a.layer.codes, b.layer.codes) and np.array_equal(a.activations, b.activations)
    assert not np.array_equal(a.layer.codes, conv_suite.get_conv("alex-conv2", seed=2).layer.codes)
    s = conv_suite.get_conv("alex-conv2", seed=1, scale=0.25)
    g = geometry(s.layer)
    assert g.c_out < 256 and g.h < 27 and g.c_out % 2 == 0 and g.h >= g.kh


@pytest.mark.parametrize("kwargs, msg", [
    (dict(name="alex-conv9"), "benchmark='alex-conv9': expected one of alex-conv1"),
    (dict(name="alex-conv1", scale=0), r"scale=0: expected a number in \(0, 1\]"),
    (dict(name="alex-conv1", seed=-1), "seed=-1: expected an integer >= 0"),
    (dict(name="alex-conv1", row_cv=9), "row_cv=9: expected a coefficient of variation"),
])
def test_bad_arguments_are_refused(kwargs, msg):
    with pytest.raises(ConfigError, match=msg):
        conv_suite.get_conv(**kwargs)
