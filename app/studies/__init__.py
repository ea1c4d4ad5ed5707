"""Studies: the comparison article's questions about cost, answered by measurement.

Each study builds the models it needs (catalog entries, or an entry with one component
swapped), runs them side by side, and returns rows of measured figures beside their
predicted twins, figures and a one-line answer computed from those rows (`study.py`).
`registry.py` lists them; `report.py` writes a report folder; `archscope study` runs one.

The studies themselves run torch; `study.py` and `report.py` are plain data and text, so
the window can draw a result without importing torch (this package loads nothing eagerly).
"""
