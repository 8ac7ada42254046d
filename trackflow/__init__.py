"""trackflow: event ingestion for product analytics.

The shared pieces every stage uses live here: settings read from the
environment, topic names, and the session-id formula.
"""
