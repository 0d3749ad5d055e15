"""Shipped default data of the programme: plain JSON-shaped Python data, validated on load.

Each module holds one dict in the same shape the matching ``from_dict`` accepts, so a business's
own JSON file and the defaults go through the same validation and merge rules.
"""
