"""The ingress: OpenPanel-compatible `POST /track` and `POST /track/batch`.

Events are validated at the edge, written to the raw events topic, and
answered only once Kafka has acknowledged them. `ingress.app:create_app`
builds the ASGI app; `python -m ingress` serves it under uvicorn.
"""
