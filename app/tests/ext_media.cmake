# `switchboard ext ... --media` against a throwaway embedded database, for ctest (app/CMakeLists.txt).
# cmake -DSB=<switchboard> -DDATA=<data dir> -DCASE=<case> -P ext_media.cmake, CASE one of setup,
# cleanup, show, set, clear, refused, import, import_refused.
# Each case that changes an extension has one of its own, so the cases pass in any order.
cmake_minimum_required(VERSION 3.25)

include(${CMAKE_CURRENT_LIST_DIR}/ext_cli.cmake)  # sb(), write_csv()

set(pw a-long-secret)
if(CASE STREQUAL "setup")
  file(REMOVE_RECURSE ${DATA} ${DATA}-csv)
  sb(ok "added" ext add 1001 --password ${pw})                          # the system's mode
  sb(ok "added" ext add 1002 --password ${pw} --media direct)
  sb(ok "added" ext add 1003 --password ${pw} --media anchor --tones uk)  # for the set case
  sb(ok "added" ext add 1004 --password ${pw} --media DIRECT)           # for the clear case
  sb(ok "added" ext add 1005 --password ${pw} --media system)           # NULL, as no --media
elseif(CASE STREQUAL "cleanup")
  file(REMOVE_RECURSE ${DATA} ${DATA}-csv)
elseif(CASE STREQUAL "show")
  sb(ok "media: +direct\n" ext show 1002)
  sb(ok "media: +direct\n" ext show 1004)  # stored lower case
  # The system's mode is shown as configured: anchor by default, else [media] mode.
  sb(ok "media: +system \\(anchor\\)\n" ext show 1001)
  sb(ok "media: +system \\(anchor\\)\n" ext show 1005)
  file(WRITE ${DATA}-csv/direct.toml "[media]\nmode = \"direct\"\n")
  sb(ok "media: +system \\(direct\\)\n" ext show 1001 --config ${DATA}-csv/direct.toml)
  sb(ok "media: +direct\n" ext show 1002 --config ${DATA}-csv/direct.toml)
  sb(ok "NUMBER +ENABLED +REALM +TONES +MEDIA +NAME\n1001 +yes +switchboard +system +system +\n1002 +yes +switchboard +system +direct +\n"
     ext list)
elseif(CASE STREQUAL "set")
  sb(ok "media: +anchor\n" ext show 1003)
  sb(ok "updated" ext set 1003 --media direct)
  sb(ok "tones: +GB\nmedia: +direct\n" ext show 1003)  # the tones are kept
  sb(ok "updated" ext set 1003 --media Anchor --tones de)
  sb(ok "tones: +DE\nmedia: +anchor\n" ext show 1003)
  sb(ok "updated" ext set 1003 --tones system)
  sb(ok "tones: +system \\(US\\)\nmedia: +anchor\n" ext show 1003)  # and the media kept
  sb(ok "1003 +yes +switchboard +system +anchor " ext list)
elseif(CASE STREQUAL "clear")
  sb(ok "media: +direct\n" ext show 1004)
  sb(ok "updated" ext set 1004 --media system)
  sb(ok "media: +system \\(anchor\\)\n" ext show 1004)
  sb(ok "1004 +yes +switchboard +system +system " ext list)
elseif(CASE STREQUAL "refused")
  # Refused before any database is opened: DATA is never created.
  file(REMOVE_RECURSE ${DATA})
  sb(fail "error: --media: 'relay' is not a media mode \\(known: direct, anchor; or 'system' for \\[media\\] mode\\)"
     ext set 1001 --media relay)
  sb(fail "error: --media: 'sytem' is not a media mode" ext add 1001 --password ${pw} --media sytem)
  sb(fail "error: nothing to change: give [^\n]*--tones or --media" ext set 1001)
  if(EXISTS ${DATA})
    message(FATAL_ERROR "a refused --media opened the database in ${DATA}")
  endif()
elseif(CASE STREQUAL "import")
  # An optional media column, in any place and case, taken as --media takes it; empty or
  # 'system' for the system's mode.
  write_csv(import "number,MEDIA,password,name,tones\n2001,direct,${pw},\"Smith, John\",uk\n2002,,${pw},Front desk\n2003,system,${pw}\n2004,Anchor,${pw},Annex,de\n")
  sb(ok "4 extensions imported" ext import ${csv})
  sb(ok "name: +Smith, John\n.*tones: +GB\nmedia: +direct\n" ext show 2001)
  sb(ok "media: +system \\(anchor\\)\n" ext show 2002)
  sb(ok "media: +system \\(anchor\\)\n" ext show 2003)
  sb(ok "tones: +DE\nmedia: +anchor\n" ext show 2004)
  sb(ok "2001 +yes +switchboard +GB +direct +Smith, John\n2002 +yes +switchboard +system +system +Front desk\n2003 +yes +switchboard +system +system +\n2004 +yes +switchboard +DE +anchor +Annex\n"
     ext list)
elseif(CASE STREQUAL "import_refused")
  # A media value that is no mode is a bad line like any other: named with its line and value,
  # and nothing of the file is imported, not even the good lines before it.
  write_csv(refused "number,password,media\n2101,${pw},direct\n2102,${pw},relay\n2103,${pw},anchor\n2104,${pw},direct anchor\n")
  sb(fail "refused.csv:3: media: 'relay' is not a media mode \\(known: direct, anchor; empty or 'system' for \\[media\\] mode\\)\n.*refused.csv:5: media: 'direct anchor' is not a media mode.*error: 2 bad line\\(s\\); nothing imported"
     ext import ${csv})
  foreach(n 2101 2102 2103 2104)
    sb(fail "extension ${n} does not exist" ext show ${n})
  endforeach()
  # A media column given twice is a bad header.
  write_csv(twice "number,password,media,Media\n2105,${pw},direct,anchor\n")
  sb(fail "twice.csv:1: header: column 'media' appears twice" ext import ${csv})
  sb(fail "extension 2105 does not exist" ext show 2105)
else()
  message(FATAL_ERROR "ext_media.cmake: unknown CASE '${CASE}'")
endif()
