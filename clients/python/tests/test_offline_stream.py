"""The stream status read without a stack: the intake and the learner from their wire messages."""
from google.protobuf import timestamp_pb2

from refit_client import StreamIntake, StreamLearner
from refit_client.pb import ingestion_pb2, trainer_pb2


def test_the_intake_and_the_learner_are_typed():
    at = timestamp_pb2.Timestamp(seconds=1_765_000_000)
    intake = StreamIntake.from_proto(ingestion_pb2.GetStreamStatsResponse(
        pipeline="weather", subject="weather.rows", labels_subject="weather.rows.labels", rows_accepted=1200, rows_quarantined=3,
        labels_joined=1100, labels_quarantined=1, rows_awaiting_label=100, rows_per_second=20.5, labels_per_second=18.0, lag=42, segments=12, last_segment_at=at))
    assert intake.subject == "weather.rows" and intake.lag == 42 and intake.segments == 12
    assert intake.last_segment_at is not None and intake.last_segment_at.year == 2025

    learner = StreamLearner.from_proto(trainer_pb2.GetLearnerResponse(
        pipeline="weather", champion_version="v3", segment=12, updates=30, rows_learned=1100, state="learning",
        evidence={"rows": 1100, "learner_log_loss": 0.5, "champion_log_loss": 0.61, "improvement": 0.11, "lower": 0.04, "upper": 0.18,
                  "p_value": 0.0012, "alpha": 0.05, "learner_accuracy": 0.75, "champion_accuracy": 0.6},
        last_decision="reset to champion v3: no skill", last_decision_at=at, labeled_rows_per_second=18.0, learning_rate=0.025,
        resets=1, replacements=2, transform_drift=0.8))
    assert learner.champion_version == "v3" and learner.replacements == 2 and learner.resets == 1
    assert learner.evidence is not None and learner.evidence.improvement == 0.11 and learner.evidence.p_value == 0.0012
    assert learner.last_decision_at == at.ToDatetime()


def test_a_learner_without_evidence_yet():
    learner = StreamLearner.from_proto(trainer_pb2.GetLearnerResponse(pipeline="weather", state="waiting"))
    assert learner.evidence is None and learner.last_decision_at is None
