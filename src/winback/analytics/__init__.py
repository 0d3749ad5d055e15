"""The pure analytics core: features, BTYD models, churn score, lifecycle, segments, value."""
