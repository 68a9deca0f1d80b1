-- Predictions whose label was joined (a label naming a prediction id): a second label for the same
-- prediction, in a later segment, must not make a second training row.
create table stream_predicted_joins (
  pipeline text not null,
  -- The prediction id, lower case.
  id text not null,
  segment bigint not null,
  primary key (pipeline, id)
);
