"""Benchmarks of the receiver, the rollup and the exporters; run them with `bash bench/run`.

Every figure is a ratio against a baseline measured in the same run on the same
machine. The results go to `bench/RESULTS.md`. Nothing here is collected by pytest.
"""
