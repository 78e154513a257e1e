"""Fine-tuning helpers of training.fit.transformer."""

import platform

import pytest

from training.fit.transformer import release_free_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_free_heap_memory_is_released_on_glibc():
    import psutil

    process = psutil.Process()
    chunks = [bytearray(100_000) for _ in range(2_000)]  # 200 MB in heap-sized pieces
    del chunks[::2], chunks[-1]  # half freed, in the middle of the heap: glibc keeps them
    before = process.memory_info().rss
    assert release_free_memory() is True
    assert process.memory_info().rss < before - 50_000_000
