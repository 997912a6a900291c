-- Down script of 000004.
revoke update on table scrapeguard.clock_control from service_role;
