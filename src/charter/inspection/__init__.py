"""Format introspection and security scanning of a version's files, and version diffs.

Nothing here ever executes model code: every format is read by parsing its bytes (pickles with
``pickletools.genops`` and picklescan, which only disassemble), under size, count and time
limits, in a child process (``sandbox``) so that a hostile file can at worst fail its own scan.
"""
