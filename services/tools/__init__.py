"""Precision tools service: exact tools over Kafka, REST and MCP, plus web research."""
