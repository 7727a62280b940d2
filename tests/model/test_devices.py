"""`load(options=...)` for every framework: checked, and the device decided, in one place."""

from __future__ import annotations

import pytest

from jupyter_mreg.errors import EnvironmentMismatchError, InvalidArgumentError
from jupyter_mreg.model.packaging.devices import resolve_load_options
from jupyter_mreg.model.handlers.base import ModelHandler


class CpuOnly(ModelHandler):
    name = "cpuonly"
    load_options = frozenset({"truncate_dim"})


class WithGpu(CpuOnly):
    name = "withgpu"

    @classmethod
    def gpu_available(cls) -> bool:
        return True


def resolve(options, handler=CpuOnly, recorded=None, force=False):
    return resolve_load_options(options, handler, recorded or {}, force=force, what="model M version V1")


def test_the_cpu_is_the_default_and_handler_options_pass_through():
    assert resolve(None) == {"device": "cpu"}
    assert resolve({"truncate_dim": 8}) == {"truncate_dim": 8, "device": "cpu"}
    assert resolve({"use_gpu": False}) == {"device": "cpu"}


def test_a_version_logged_for_the_gpu_uses_one_when_there_is_one():
    assert resolve(None, WithGpu, {"use_gpu": True}) == {"device": "cuda"}
    assert resolve(None, CpuOnly, {"use_gpu": True}) == {"device": "cpu"}


def test_gpu_devices_are_named_as_the_framework_names_them():
    assert resolve({"device": "GPU:1"}, WithGpu) == {"device": "cuda:1"}
    assert resolve({"use_gpu": True}, WithGpu) == {"device": "cuda"}


def test_a_gpu_where_none_is_visible_is_refused_with_the_two_ways_out():
    with pytest.raises(EnvironmentMismatchError) as info:
        resolve({"device": "cuda"})
    assert str(info.value) == (
        "Cannot load model M version V1 on device 'cuda': cpuonly sees no GPU in this process (no CUDA device, or "
        "a CPU-only build of the framework). Load it on the CPU with load(options={'device': 'cpu'}), or pass "
        "force=True to fall back to the CPU.")
    with pytest.warns(RuntimeWarning, match="Loading it on the CPU because force=True"):
        assert resolve({"device": "cuda:0"}, force=True) == {"device": "cpu"}


def test_mistakes_name_the_option_and_what_is_accepted():
    with pytest.raises(InvalidArgumentError, match=r"Unknown load option\(s\) 'devise' for model M version V1 "
                                                   r"\(a cpuonly model\)\. Known load options: device, truncate_dim, "
                                                   r"use_gpu\."):
        resolve({"devise": "cpu"})
    with pytest.raises(InvalidArgumentError, match=r"device='tpu' .* expected 'cpu', 'cuda', 'cuda:<n>' or 'mps'"):
        resolve({"device": "tpu"})
    with pytest.raises(InvalidArgumentError, match="must be True or False, got 'yes'"):
        resolve({"use_gpu": "yes"})
    with pytest.raises(InvalidArgumentError, match="contradict each other"):
        resolve({"device": "cuda", "use_gpu": False}, WithGpu)


def test_load_checks_the_options_of_a_logged_version(reg, pipe, churn):
    mv = reg.log_model(pipe, model_name="churn", sample_input_data=churn[0].head())
    with pytest.raises(InvalidArgumentError, match="Unknown load option"):
        mv.load(options={"batch": 3})
    with pytest.raises(EnvironmentMismatchError, match="sklearn sees no GPU"):
        mv.load(options={"device": "cuda"})
    assert type(mv.load(options={"device": "cpu"})) is type(pipe)
