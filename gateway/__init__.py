"""portal-gateway: the Customer Portal kill switch at the edge."""

__version__ = "0.1.0"
