-- The PBX's clock minus Runway's host's, in seconds, from the Date header of its answer:
-- `runway doctor` compares the recent ones to tell a host clock that is off.
ALTER TABLE poll_attempts ADD COLUMN clock_offset_secs INTEGER;
