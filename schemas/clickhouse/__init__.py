"""ClickHouse tables of trackflow: one logical definition per table, rendered
for the server the sink talks to, and the numbered migrations that create them.
"""
