"""Cross-check cases of Modules 10 onwards, one file per module (m11_embeddings.py, ...).

Each file registers its cases with the decorators of tests/test_torch_crosscheck.py
(`from test_torch_crosscheck import case, Difference, DIFFERENCES`), which imports every file
here at its end, so its tests (every PyTorch name has a case, every difference is still real)
see them all. Run them with `pytest tests/test_torch_crosscheck.py`.
"""
