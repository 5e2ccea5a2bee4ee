"""Metrics (scikit-learn, ranking metrics) and self-contained HTML reports."""
