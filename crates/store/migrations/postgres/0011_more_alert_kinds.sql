-- Two more alert kinds, off by default: "capacity" (an instance at or above 90% of its
-- licensed seats) and "maintenance_expiry" (the reminder series on the maintenance date).
-- The ledger's key gains the kind, so a license series and a maintenance series on the same
-- date claim their stages apart. A capacity alert resolves as "headroom" when seats free up.

ALTER TABLE tenants ADD COLUMN capacity_alerts BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tenants ADD COLUMN maintenance_reminders BOOLEAN NOT NULL DEFAULT FALSE;

ALTER TABLE reminder_stages ADD COLUMN kind TEXT NOT NULL DEFAULT 'license_expiry'
    CHECK (kind IN ('license_expiry', 'maintenance_expiry'));
ALTER TABLE reminder_stages ALTER COLUMN kind DROP DEFAULT;
ALTER TABLE reminder_stages DROP CONSTRAINT reminder_stages_pkey;
ALTER TABLE reminder_stages ADD PRIMARY KEY (tenant_id, instance_id, kind, expiry_date, stage);

ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check
    CHECK (kind IN ('license_expiry', 'maintenance_expiry', 'not_read', 'capacity'));
ALTER TABLE alerts DROP CONSTRAINT alerts_resolution_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_resolution_check
    CHECK (resolution IN ('renewed', 'superseded', 'read_again', 'headroom', 'turned_off'));

ALTER TABLE routes DROP CONSTRAINT routes_kind_check;
ALTER TABLE routes ADD CONSTRAINT routes_kind_check
    CHECK (kind IN ('license_expiry', 'maintenance_expiry', 'not_read', 'capacity'));
