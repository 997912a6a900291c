-- scrapeguard migration 000004 (exported from migrations/committed/000004-service-role-may-move-the-clock.sql by npm run export:supabase).
-- Down script: migrations/rollback/000004.sql

-- The service role may move the shared clock (tests and the accelerated demo run as
-- the service role). The clock functions run as their caller, so the caller needs
-- UPDATE on the control row; SELECT alone (000003) was not enough.
grant update on table scrapeguard.clock_control to service_role;
