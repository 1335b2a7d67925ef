# `switchboard ext ... --tones` against a throwaway embedded database, for ctest (app/CMakeLists.txt).
# cmake -DSB=<switchboard> -DDATA=<data dir> -DCASE=<case> -P ext_tones.cmake, CASE one of setup,
# cleanup, set, clear, refused, import, import_headerless, import_refused, import_bad_header,
# import_exists, import_repeated.
# Each case that changes an extension has one of its own, so the cases pass in any order.
cmake_minimum_required(VERSION 3.25)

include(${CMAKE_CURRENT_LIST_DIR}/ext_cli.cmake)  # sb(), write_csv()

set(pw a-long-secret)
if(CASE STREQUAL "setup")
  file(REMOVE_RECURSE ${DATA})
  sb(ok "added" ext add 1001 --password ${pw})                   # the system's plan
  sb(ok "added" ext add 1002 --password ${pw} --tones uk)        # stored as GB
  sb(ok "added" ext add 1003 --password ${pw} --tones FR)        # for the set case
  sb(ok "added" ext add 1004 --password ${pw} --tones gb)        # for the clear case
elseif(CASE STREQUAL "cleanup")
  file(REMOVE_RECURSE ${DATA} ${DATA}-csv)
elseif(CASE STREQUAL "set")
  sb(ok "tones: +FR\n" ext show 1003)
  sb(ok "updated" ext set 1003 --tones de)
  sb(ok "tones: +DE\n" ext show 1003)
  sb(ok "1003 +yes +switchboard +DE " ext list)
elseif(CASE STREQUAL "clear")
  sb(ok "tones: +GB\n" ext show 1004)
  sb(ok "updated" ext set 1004 --tones system)
  sb(ok "tones: +system \\(US\\)\n" ext show 1004)
  sb(ok "1004 +yes +switchboard +system " ext list)
elseif(CASE STREQUAL "refused")
  # Refused before any database is opened: DATA is never created.
  file(REMOVE_RECURSE ${DATA})
  set(known "\\(known: CN, DE, FR, GB \\(or UK\\), JP, US\\)")
  sb(fail "error: --tones: no tone plan for country 'XX' ${known}; or 'system'"
     ext set 1001 --tones XX)
  sb(fail "no tone plan for country 'GBR'" ext add 1001 --password ${pw} --tones GBR)  # alpha-3
  if(EXISTS ${DATA})
    message(FATAL_ERROR "a refused --tones opened the database in ${DATA}")
  endif()
elseif(CASE STREQUAL "import")
  # A header names the columns, in any order and case; tones as --tones takes them, empty or
  # 'system' for the system's plan; a quoted name keeps its comma. A spreadsheet's byte order
  # mark and CRLF line ends are fine.
  string(ASCII 239 187 191 bom)
  write_csv(import "${bom}# exported from the office sheet\r\nNumber, tones ,password,name\r\n2001,uk,${pw},\"Smith, John\"\r\n2002,,${pw},Front desk\r\n2003,system,${pw},\"The \"\"Annex\"\"\"\r\n2004,de,${pw}\r\n")
  sb(ok "4 extensions imported" ext import ${csv})
  sb(ok "name: +Smith, John\n.*tones: +GB\n" ext show 2001)
  sb(ok "name: +Front desk\n.*tones: +system \\(US\\)\n" ext show 2002)
  sb(ok "name: +The \"Annex\"\n.*tones: +system \\(US\\)\n" ext show 2003)
  sb(ok "name: +\n.*tones: +DE\n" ext show 2004)
  sb(ok "2001 +yes +switchboard +GB +system +Smith, John\n2002 +yes +switchboard +system +system +Front desk\n" ext list)
elseif(CASE STREQUAL "import_headerless")
  # Without a header, as before there were headers: number,password[,name], the name being the
  # rest of the line; every extension has the system's plan.
  write_csv(headerless "2101,${pw},Smith, John\n2102,${pw}\n")
  sb(ok "2 extensions imported" ext import ${csv})
  sb(ok "name: +Smith, John\n.*tones: +system \\(US\\)\n" ext show 2101)
  sb(ok "tones: +system \\(US\\)\n" ext show 2102)
elseif(CASE STREQUAL "import_refused")
  # A tone plan the media engine lacks is a bad line like any other: named with its line and
  # value, and nothing of the file is imported, not even the good lines before it.
  write_csv(refused "number,password,name,tones\n2201,${pw},Good,GB\n2202,${pw},Bad,XX\n2203,${pw},Alpha-3,GBR\n2204,${pw},Good too,\n")
  sb(fail "refused.csv:3: tones: no tone plan for country 'XX' \\(known: [^\n]*\\); empty or 'system' for \\[media\\] tones\n.*refused.csv:4: tones: no tone plan for country 'GBR'.*error: 2 bad line\\(s\\); nothing imported"
     ext import ${csv})
  foreach(n 2201 2202 2203 2204)
    sb(fail "extension ${n} does not exist" ext show ${n})
  endforeach()
  # Too many fields (an unquoted comma) is refused too, with its line.
  write_csv(fields "number,password,tones\n2205,${pw},GB,extra\n")
  sb(fail "fields.csv:2: 4 fields, but the header names 3 columns" ext import ${csv})
  sb(fail "extension 2205 does not exist" ext show 2205)
elseif(CASE STREQUAL "import_bad_header")
  write_csv(header "number,password,tone\n2301,${pw},GB\n")
  sb(fail "header.csv:1: header: unknown column 'tone' \\(known: number, password, name, tones, media\\)"
     ext import ${csv})
  write_csv(header "number,name,tones\n2301,Desk,GB\n")
  sb(fail "header.csv:1: header: no 'password' column" ext import ${csv})
  sb(fail "extension 2301 does not exist" ext show 2301)
elseif(CASE STREQUAL "import_exists")
  # The third line's number exists already (1001, from the setup): the file goes in as one
  # transaction, so the two lines before it are not imported either, and the corrected file
  # simply runs again. Every existing number is named, not just the first.
  write_csv(exists "number,password,name\n2401,${pw},First\n2402,${pw},Second\n1001,${pw},Taken\n2403,${pw}\n1002,${pw}\n")
  sb(fail "exists.csv:4: extension 1001 already exists\n[^\n]*/exists.csv:6: extension 1002 already exists\nerror: 2 line\\(s\\) refused by the database; nothing imported"
     ext import ${csv})
  sb(ok "NUMBER" ext list)
  if(sb_out MATCHES "\n24")
    message(FATAL_ERROR "a refused import left extensions behind:\n${sb_out}")
  endif()
  foreach(n 2401 2402 2403)
    sb(fail "extension ${n} does not exist" ext show ${n})
  endforeach()
  sb(ok "name: +\n" ext show 1001)  # untouched
  write_csv(exists "number,password,name\n2401,${pw},First\n2402,${pw},Second\n2403,${pw}\n")
  sb(ok "3 extensions imported" ext import ${csv})
  sb(ok "2401 +yes +switchboard +system +system +First\n2402 +yes +switchboard +system +system +Second\n2403 " ext list)
elseif(CASE STREQUAL "import_repeated")
  # A number twice in the file is a bad line naming both lines (which one was meant is for the
  # administrator to say), in either form; nothing is imported.
  write_csv(repeated "number,password\n2501,${pw}\n2502,${pw}\n2501,${pw}\n")
  sb(fail "repeated.csv:4: extension 2501 is on line 2 too\nerror: 1 bad line\\(s\\); nothing imported"
     ext import ${csv})
  write_csv(repeated "2503,${pw},Desk\n# a comment\n2503,${pw},Desk\n")
  sb(fail "repeated.csv:3: extension 2503 is on line 1 too" ext import ${csv})
  foreach(n 2501 2502 2503)
    sb(fail "extension ${n} does not exist" ext show ${n})
  endforeach()
else()
  message(FATAL_ERROR "ext_tones.cmake: unknown CASE '${CASE}'")
endif()
