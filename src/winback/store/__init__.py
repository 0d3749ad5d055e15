"""Between the relational store and the analytics core: extract frames, write snapshots back."""
