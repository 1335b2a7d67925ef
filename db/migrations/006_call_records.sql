-- 006: call records, one row per call, written by the PBX in batches from its durable spool
-- (DATA/call-records.spool). The PBX gives each record a uuid when the call ends, so a spool
-- replayed after a crash or an outage inserts every record exactly once.
create table call_records (
    id           bigserial primary key,
    uuid         uuid not null unique,
    call_id      text not null,           -- the caller's (A-leg's) Call-ID
    caller       text not null,           -- the calling extension or From user
    callee       text not null,           -- the dialled number
    started_at   timestamptz not null,    -- the caller's INVITE
    answered_at  timestamptz,             -- null if never answered
    ended_at     timestamptz not null,
    status       integer not null,        -- the caller's final response (200: answered; 0: none)
    end_reason   text not null,           -- "caller hung up", "busy", "dialplan error: ..."
    recording    text,                    -- the WAV file of call:record(), null if none
    direct_media boolean not null default false,
    -- Each leg's destination, Request-URI, final status and media figures (codec, the address its
    -- SDP declared, where its RTP came from, loss, jitter, round-trip time), and the caller's.
    detail       jsonb not null default '{}'
);
create index call_records_started_at_idx on call_records (started_at desc);
create index call_records_caller_idx on call_records (caller, started_at desc);
create index call_records_callee_idx on call_records (callee, started_at desc);
