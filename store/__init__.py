"""Every query and write of the read model, one module per aggregate; routes, activities and
jobs call these functions and hold no SQL of their own (docs/architecture.md)."""
