"""SIREN and SIRET: the one check every chain uses (registry, TOTEM, DECP, SCDL custom checks)."""

from __future__ import annotations

# La Poste's establishments share one SIREN and are numbered outside Luhn: their digit sum
# is a multiple of 5 instead (the head office alone passes Luhn).
_LA_POSTE_SIREN = "356000000"
_LA_POSTE_HEAD_OFFICE = "35600000000048"


_DOUBLED = {str(digit): digit * 2 - 9 if digit > 4 else digit * 2 for digit in range(10)}


def luhn_valid(digits: str) -> bool:
    """Luhn's check: from the right, every second digit doubled (its digits summed)."""
    if not digits.isascii() or not digits.isdigit():
        return False
    return (sum(map(int, digits[::-1][::2])) + sum(map(_DOUBLED.__getitem__, digits[::-1][1::2]))) % 10 == 0


def siren_is_valid(value: str) -> bool:
    return len(value) == 9 and luhn_valid(value)


def siret_is_valid(value: str) -> bool:
    """14 digits passing Luhn, SIREN too (spaces and dots of a typed SIRET ignored); La Poste's rule for its offices."""
    siret = value.replace(" ", "").replace(".", "")
    if len(siret) != 14 or not siret.isascii() or not siret.isdigit():
        return False
    if siret.startswith(_LA_POSTE_SIREN) and siret != _LA_POSTE_HEAD_OFFICE:
        return sum(int(char) for char in siret) % 5 == 0
    return luhn_valid(siret) and luhn_valid(siret[:9])
