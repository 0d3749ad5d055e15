"""Sample data with ground truth: what a real business would export, plus what really happened."""
