-- 001: extensions (credentials as HA1 digests only), registrations, settings.

create table extensions (
    number      text primary key check (number ~ '^[0-9A-Za-z_.+-]{1,32}$'),
    display_name text not null default '' check (length(display_name) <= 128),
    realm       text not null check (realm <> ''),
    -- HA1 = H(number ":" realm ":" password), lower-case hex; the password itself is never stored.
    ha1_md5     text not null check (ha1_md5 ~ '^[0-9a-f]{32}$'),
    ha1_sha256  text not null check (ha1_sha256 ~ '^[0-9a-f]{64}$'),
    enabled     boolean not null default true,
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);

create function sb_touch_updated_at() returns trigger language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end $$;

create trigger extensions_touch before update on extensions
    for each row execute function sb_touch_updated_at();

-- The running PBX caches credentials; every change to a row tells it which number to drop.
-- An empty payload (TRUNCATE) means "reload everything".
create function sb_notify_extensions() returns trigger language plpgsql as $$
begin
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

create trigger extensions_notify after insert or update or delete on extensions
    for each row execute function sb_notify_extensions();
create trigger extensions_notify_truncate after truncate on extensions
    for each statement execute function sb_notify_extensions();

-- Registrar bindings, persisted so a restart or a second node keeps them (RFC 3261 10.3).
create table registrations (
    aor         text not null,
    contact     text not null,
    expires_at  timestamptz not null,
    q           real,
    instance_id text,             -- +sip.instance (RFC 5626)
    reg_id      int,              -- reg-id (RFC 5626)
    path        text[],           -- Path header values (RFC 3327), in order
    call_id     text not null,
    cseq        bigint not null,
    user_agent  text,
    received    text,             -- source address the REGISTER came from
    transport   text,
    updated_at  timestamptz not null default now(),
    primary key (aor, contact)
);

create index registrations_expires_at on registrations (expires_at);

create table settings (
    key   text primary key,
    value text not null
);
