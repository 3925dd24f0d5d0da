"""The ``fgclep`` command line (installed as ``fgclep.cli``; the library never imports it)."""
