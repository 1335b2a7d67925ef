-- 004: a batch of extensions (db::add_extensions, `ext import`) is announced once, as "reload
-- everything" (the empty payload), instead of once per row. PostgreSQL delivers a
-- transaction's notifications together at its commit: thousands of per-number reloads at once
-- would overrun the running PBX's bounded DB job queue, and the extensions whose reload was
-- shed would stay out of its credential cache until a restart. The batch sets
-- sb.extensions_batch for its own transaction only (set_config(..., true)); every other writer
-- notifies per row as before.
create or replace function sb_notify_extensions() returns trigger language plpgsql as $$
begin
    if current_setting('sb.extensions_batch', true) = 'on' then
        return null;  -- the batch notifies once itself
    end if;
    if tg_op = 'TRUNCATE' then
        perform pg_notify('sb_extensions', '');
    elsif tg_op = 'DELETE' then
        perform pg_notify('sb_extensions', old.number);
    else
        perform pg_notify('sb_extensions', new.number);
        if tg_op = 'UPDATE' and old.number <> new.number then
            perform pg_notify('sb_extensions', old.number);
        end if;
    end if;
    return null;
end $$;
