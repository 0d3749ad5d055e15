"""Win-back programme rules (pure: frames in, frames out; explicit dates and seeds).

Modules: ``reasons`` and ``taxonomy`` (why customers leave), ``questionnaires`` (callback
questions, suggested reasons), ``reason_stats`` (monthly mix, department actions),
``playbooks`` (per reason and per stage), ``offers`` (menus, caps, fairness, budget),
``fatigue`` (frequency caps, allowed hours), ``holdout``, ``assignment``, ``rounds`` (the
monthly plan), ``contacts`` (cap, sequence, follow-ups, do-not-contact), ``attribution``
(monitoring maths, retirement), ``care`` (cadences, greetings, day lists), ``privacy`` (phone
masking). Column contracts are in ``frames``; shipped defaults in ``defaults``.
"""
