"""trackflow's stream processor: raw events in, sessions, profiles and groups out.

`python -m streams worker --data-dir DIR` runs one worker; `docs/streams.md`
describes the rules, topics and guarantees.
"""
