"""The generated protobuf and gRPC modules (``./generate.sh`` writes them), under short names.

``from refit_client.pb import deployer_pb2`` gives the raw messages for anything the typed layer
does not wrap.
"""
from refit_client._proto.refit.common.v1 import common_pb2
from refit_client._proto.refit.deployer.v1 import deployer_pb2, deployer_pb2_grpc
from refit_client._proto.refit.evaluator.v1 import evaluator_pb2, evaluator_pb2_grpc, report_pb2
from refit_client._proto.refit.events.v1 import events_pb2, monitoring_pb2
from refit_client._proto.refit.feature.v1 import feature_pb2, feature_pb2_grpc
from refit_client._proto.refit.ingestion.v1 import ingestion_pb2, ingestion_pb2_grpc
from refit_client._proto.refit.registry.v1 import registry_pb2, registry_pb2_grpc
from refit_client._proto.refit.trainer.v1 import trainer_pb2, trainer_pb2_grpc
from refit_client._proto.refit.trigger.v1 import trigger_pb2, trigger_pb2_grpc

__all__ = [
    "common_pb2",
    "deployer_pb2", "deployer_pb2_grpc",
    "evaluator_pb2", "evaluator_pb2_grpc", "report_pb2",
    "events_pb2", "monitoring_pb2",
    "feature_pb2", "feature_pb2_grpc",
    "ingestion_pb2", "ingestion_pb2_grpc",
    "registry_pb2", "registry_pb2_grpc",
    "trainer_pb2", "trainer_pb2_grpc",
    "trigger_pb2", "trigger_pb2_grpc",
]
