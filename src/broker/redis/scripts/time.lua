-- The server's clock, read on the master of the namespace's slot (on a
-- cluster, TIME alone would go to any node). Each queue's scripts read
-- their own master's: a cluster's masters keep NTP time.
-- KEYS[1]  a key of the namespace ({ns}:workers), for routing only
-- returns  TIME's reply: seconds, microseconds
return redis.call('TIME')
