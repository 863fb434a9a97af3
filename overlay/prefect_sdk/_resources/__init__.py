"""The resource methods of both clients, a module per resource group.

Each module defines an `...Operations` mixin of `@operation` / `@listing` methods (see
`_operations.py`); `client.BaseClient` inherits them all. Generated endpoint modules are
imported inside the methods, so importing prefect_sdk stays cheap.
"""
