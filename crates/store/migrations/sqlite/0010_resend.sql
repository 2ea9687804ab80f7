-- Alertmanager forgets a firing alert whose endsAt passes, so the worker re-sends each open
-- alert's last trigger to it now and then; this is when a sent trigger was last re-sent.
ALTER TABLE deliveries ADD COLUMN resent_at INTEGER;
