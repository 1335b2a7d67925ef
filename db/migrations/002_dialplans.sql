-- 002: dialplans. Every saved version is kept (rollback is activating an older one); exactly one
-- is active at a time, and changing which one notifies every running node.

create table dialplans (
    version     bigint generated always as identity primary key,
    -- the name shown in messages ("office.lua:12: ..."), usually the file's base name
    name        text not null check (name <> '' and length(name) <= 128),
    -- the Lua source; bounded so that a stored script cannot be large enough to hurt (256 KiB)
    source      text not null check (octet_length(source) <= 262144),
    sha256      text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    created_at  timestamptz not null default now(),
    created_by  text not null default '' check (length(created_by) <= 128),
    comment     text not null default '' check (length(comment) <= 1024)
);

-- The active pointer: at most one row (the key can only be true). Activation is one UPDATE (or
-- the first INSERT), so it is atomic; the foreign key makes an unknown version impossible and
-- keeps the active version from being deleted.
create table dialplan_active (
    singleton     boolean primary key default true check (singleton),
    version       bigint not null references dialplans (version),
    activated_at  timestamptz not null default now()
);

-- Running PBXes cache the compiled active dialplan; tell them which version is active now.
-- An empty payload (the pointer was removed) means "reload whatever is active".
create function sb_notify_dialplan() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' or tg_op = 'UPDATE' then
        perform pg_notify('sb_dialplan', new.version::text);
    else
        perform pg_notify('sb_dialplan', '');
    end if;
    return null;
end $$;

create trigger dialplan_active_notify after insert or update or delete on dialplan_active
    for each row execute function sb_notify_dialplan();
create trigger dialplan_active_notify_truncate after truncate on dialplan_active
    for each statement execute function sb_notify_dialplan();
