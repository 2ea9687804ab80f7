-- PSA ticket channels (ConnectWise PSA, Autotask, HaloPSA, Syncro), and channels that pause
-- themselves: a PSA that rejects Runway's credentials (401/403) pauses its channel, whose
-- outbox rows then wait (nothing is lost) until someone fixes the credentials, and the other
-- channels hear of it through an outbox row that belongs to no alert ('problem').

ALTER TABLE channels DROP CONSTRAINT channels_kind_check;
ALTER TABLE channels ADD CONSTRAINT channels_kind_check
    CHECK (kind IN ('webhook', 'slack', 'teams', 'pagerduty', 'email', 'alertmanager', 'log',
                    'connectwise', 'autotask', 'halopsa', 'syncro'));
ALTER TABLE channels ADD COLUMN paused_at BIGINT;
ALTER TABLE channels ADD COLUMN paused_reason TEXT;
ALTER TABLE channels ADD CONSTRAINT channels_paused_check
    CHECK ((paused_at IS NULL) = (paused_reason IS NULL));

ALTER TABLE deliveries ALTER COLUMN alert_id DROP NOT NULL;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_action_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_action_check
    CHECK (action IN ('trigger', 'resolve', 'problem'));
ALTER TABLE deliveries ADD CONSTRAINT deliveries_problem_check
    CHECK ((alert_id IS NULL) = (action = 'problem'));
