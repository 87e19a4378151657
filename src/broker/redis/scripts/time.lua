-- The server's clock, read on the master of the namespace's slot: the one
-- whose clock the namespace's scripts use (on a cluster, TIME alone would go
-- to any node).
-- KEYS[1]  a key of the namespace ({ns}:workers), for routing only
-- returns  TIME's reply: seconds, microseconds
return redis.call('TIME')
