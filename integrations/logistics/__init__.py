"""Logistics tracking providers (快递100, 快递鸟): signed queries, subscriptions, verified pushes,
and the failover chain in front of them."""
