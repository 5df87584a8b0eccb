"""The stages of a budget's exercice as SCDL budget names them (``BGT_NATDEC``), in the order they happen.

Shared by the conversion (which document of an exercice is the latest) and the widget files
(in which order a body's documents are listed).
"""

STAGE_ORDER = {"budget primitif": 0, "budget supplémentaire": 1, "décision modificative": 2, "compte administratif": 3}
