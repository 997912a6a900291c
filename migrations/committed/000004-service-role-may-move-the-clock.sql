--! Previous: sha1:94ffa368acd5706550741879f161110f2e470698
--! Hash: sha1:ca3b26082baaada33053e3130791ecb1a95323dd
--! Message: service role may move the clock

-- The service role may move the shared clock (tests and the accelerated demo run as
-- the service role). The clock functions run as their caller, so the caller needs
-- UPDATE on the control row; SELECT alone (000003) was not enough.
grant update on table scrapeguard.clock_control to service_role;
