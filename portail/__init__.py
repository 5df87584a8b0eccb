"""The agents' space (``digor portail``): agents of public bodies decide their acts' publication.

A layer of its own, between the CLI and the orchestration: it reads acts through ``chains``,
writes only the ledger and starts the decisions run (in process, or through Airflow).
"""
