-- Seen-message records are kept store.MaxMessageTTL + store.PruneMargin (32 days) after they were
-- saved, whatever expiry a node claimed (store.SeenUntil): a node that claimed an early expiry
-- could otherwise have a record pruned and then serve the message again. The time a record was
-- saved is not known, so every existing record is kept at least 32 days from now.
UPDATE messages SET keep_until = GREATEST(keep_until, (extract(epoch FROM now()) * 1000)::bigint + 2764800000);
