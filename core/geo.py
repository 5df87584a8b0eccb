"""Lambert-93 (the SIRENE register's establishment coordinates, EPSG:2154) to WGS84 longitude and latitude.

The inverse of the Lambert conformal conic projection on the GRS80 ellipsoid, with the constants IGN
publishes for Lambert-93 (its note ALG0004): no library, no grid, metres of precision, which a map of
bodies needs. RGF93 and WGS84 agree to within centimetres.
"""

from __future__ import annotations

import math

_E = 0.0818191910428158  # GRS80 first eccentricity
_N = 0.7256077650532670
_C = 11754255.426096
_XS, _YS = 700000.0, 12655612.049876
_LON0 = math.radians(3.0)


def lambert93_to_wgs84(x: float, y: float) -> tuple[float, float]:
    """(longitude, latitude) in degrees of a Lambert-93 point (metres)."""
    dx, dy = x - _XS, _YS - y
    radius = math.hypot(dx, dy)
    gamma = math.atan2(dx, dy)
    longitude = _LON0 + gamma / _N
    isometric = -math.log(radius / _C) / _N
    latitude = 2 * math.atan(math.exp(isometric)) - math.pi / 2
    for _ in range(20):
        sin = _E * math.sin(latitude)
        following = 2 * math.atan(((1 + sin) / (1 - sin)) ** (_E / 2) * math.exp(isometric)) - math.pi / 2
        if abs(following - latitude) < 1e-12:
            latitude = following
            break
        latitude = following
    return math.degrees(longitude), math.degrees(latitude)


def in_france(longitude: float, latitude: float) -> bool:
    """Whether a point falls where Lambert-93 is meant for (metropolitan France and Corsica, with a margin)."""
    return -6.0 <= longitude <= 10.5 and 41.0 <= latitude <= 51.5
