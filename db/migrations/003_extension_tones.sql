-- 003: a tone plan per extension (an office in Germany with a few UK phones). NULL: the system's
-- plan ([media] tones). The media engine names its plans by ISO 3166-1 alpha-2 code, so the column
-- holds only that shape, in upper case; whether a plan exists for a code is checked by the CLI,
-- which links the media engine (db knows no media).
-- A change fires extensions_notify like any other update, so running PBXes reload the row.

alter table extensions
    add column tones text check (tones ~ '^[A-Z]{2}$');
