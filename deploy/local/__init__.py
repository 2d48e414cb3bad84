"""The local stack on embedded defaults: Kafka, FalkorDB, llama.cpp and the services,
each a `Component` started in dependency order by `LocalStack`.

Pieces for test fixtures: `start_broker`, `create_topics`, `wait_for_broker`,
`start_graphdb`, `start_llm`, `free_port`, and `LocalStack(StackConfig(...))` as an
async context manager."""

from deploy.local.broker import broker_component, create_topics, start_broker, wait_for_broker
from deploy.local.component import Component, HealthCheck, stop_all
from deploy.local.config import StackConfig
from deploy.local.errors import (
    ComponentError,
    MissingBinaryError,
    PortInUseError,
    StackError,
    TopicSetupError,
)
from deploy.local.graphdb import GRAPH_NAME, bolt_uri, graphdb_component, start_graphdb
from deploy.local.llm import MODEL_ALIAS, llm_base_url, llm_component, start_llm
from deploy.local.ports import ensure_ports_free, free_port, port_is_free
from deploy.local.services import SERVICES, ServiceSpec, service_components
from deploy.local.stack import LocalStack, LogObserver, StackObserver, StackPlan

__all__ = [
    "GRAPH_NAME",
    "MODEL_ALIAS",
    "SERVICES",
    "Component",
    "ComponentError",
    "HealthCheck",
    "LocalStack",
    "LogObserver",
    "MissingBinaryError",
    "PortInUseError",
    "ServiceSpec",
    "StackConfig",
    "StackError",
    "StackObserver",
    "StackPlan",
    "TopicSetupError",
    "bolt_uri",
    "broker_component",
    "create_topics",
    "ensure_ports_free",
    "free_port",
    "graphdb_component",
    "llm_base_url",
    "llm_component",
    "port_is_free",
    "service_components",
    "start_broker",
    "start_graphdb",
    "start_llm",
    "stop_all",
    "wait_for_broker",
]
