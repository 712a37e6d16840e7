"""campaignsync: Ontora interview campaigns as code."""

__version__ = "0.2.0"
