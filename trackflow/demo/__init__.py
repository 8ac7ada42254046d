"""The demo: real devices' backlogs replayed through the running pipeline."""
