"""The example's tests. Its claims are collected by the dnn-moments plugin when asked for:
``pytest -p dnn_moments --claims P`` (every registered claim without ``--claims``)."""
