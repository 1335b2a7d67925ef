-- 005: a media mode per extension: 'direct' lets the RTP of its calls with other direct
-- extensions go straight between the phones (when a call needs nothing of the PBX's media),
-- 'anchor' keeps it through the PBX's relay. NULL: the system's mode ([media] mode).
-- The trigger extensions_notify (001, its function replaced by 004) fires after every insert,
-- update or delete of a row, whatever the column, so a change of media alone reloads the
-- extension in running PBXes; a batch (004) still notifies once.

alter table extensions
    add column media text check (media in ('direct', 'anchor'));
