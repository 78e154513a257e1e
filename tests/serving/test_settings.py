import pytest

from serving.settings import ServiceSettings


def test_defaults_are_the_shipped_values():
    s = ServiceSettings.from_env({})
    assert (s.backend, s.timeout_s, s.batching, s.max_batch_size) == ("onnx", 5.0, True, 64)


def test_environment_overrides_each_field_with_its_type():
    env = {
        "STANCEFRAME_TIMEOUT_S": "0.5",
        "STANCEFRAME_BATCHING": "0",
        "STANCEFRAME_WORKERS": "2",
        "STANCEFRAME_BACKEND": "torch",
        "STANCEFRAME_THREADS": "3",
    }
    s = ServiceSettings.from_env(env)
    assert (s.timeout_s, s.batching, s.workers, s.backend, s.cpu_threads) == (
        0.5,
        False,
        2,
        "torch",
        3,
    )


def test_malformed_value_names_its_variable():
    with pytest.raises(ValueError, match="STANCEFRAME_MAX_BATCH_SIZE='many'"):
        ServiceSettings.from_env({"STANCEFRAME_MAX_BATCH_SIZE": "many"})
