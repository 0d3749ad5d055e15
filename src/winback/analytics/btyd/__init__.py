"""Buy-till-you-die models (BG/NBD, Gamma-Gamma); the public entry is winback.analytics.clv."""
