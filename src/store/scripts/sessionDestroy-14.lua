-- sessionDestroy: invalidates the session (releasing or deleting its locks). KEYS: see kv-common.lua.
-- ARGV[2] id
-- Returns the index.
-- @include kv-common
invalidate(ARGV[2])
return finish() or curIdx()
