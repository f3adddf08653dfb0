"""Discord extensions, one per capability. Modules starting with `_` are not loaded."""
