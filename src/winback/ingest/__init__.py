"""Import: decode, map headers, parse, validate, deduplicate; every rejected row reported.

Pure (no Django, no clock, no hidden I/O beyond reading the file it is given): frames in,
frames out. The store (:mod:`winback.app.imports.service`) looks up keys and writes.

* :mod:`decode` / :mod:`xlsx`: bytes -> table of text cells with physical row numbers
* :mod:`headers`: header cells -> contract fields (synonyms, user mapping)
* :mod:`parse`: vectorised cell parsers (dates, amounts, numbers, yes/no, choices, lists)
* :mod:`validate`: a contract applied to a table: typed columns and reasons per failing row
* :mod:`keys`: natural and derived keys, duplicates, stable content hashes
* :mod:`pipeline`: prepare -> resolve references -> classify against what is stored
* :mod:`rejects`, :mod:`messages`: the rejects file and its zh/en wording
* :mod:`export`, :mod:`sheets`: data out in the import's own terms, safe for spreadsheets
"""
