"""Peyvand core library: normalize -> embed -> retrieve -> features -> rank -> allocate -> explain.

No web and no command line here; `api/` and `training/` build on this package.
"""

__version__ = "0.1.0"
