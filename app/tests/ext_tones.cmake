# `switchboard ext ... --tones` against a throwaway embedded database, for ctest (app/CMakeLists.txt).
# cmake -DSB=<switchboard> -DDATA=<data dir> -DCASE=<setup|cleanup|set|clear|refused> -P ext_tones.cmake
# Each case that changes an extension has one of its own, so the cases pass in any order.
cmake_minimum_required(VERSION 3.25)

# Runs `switchboard ARGS... --data-dir DATA`; EXPECT is "ok" or "fail" (exit code), MATCH a regex
# its output (stdout and stderr together) must match.
function(sb expect match)
  execute_process(COMMAND ${SB} ${ARGN} --data-dir ${DATA} --log-level warn
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(expect STREQUAL "ok" AND NOT rc EQUAL 0)
    message(FATAL_ERROR "switchboard ${ARGN}: exit ${rc}, expected success:\n${out}")
  elseif(expect STREQUAL "fail" AND rc EQUAL 0)
    message(FATAL_ERROR "switchboard ${ARGN}: succeeded, expected an error:\n${out}")
  endif()
  if(NOT out MATCHES "${match}")
    message(FATAL_ERROR "switchboard ${ARGN}: output does not match '${match}':\n${out}")
  endif()
endfunction()

set(pw a-long-secret)
if(CASE STREQUAL "setup")
  file(REMOVE_RECURSE ${DATA})
  sb(ok "added" ext add 1001 --password ${pw})                   # the system's plan
  sb(ok "added" ext add 1002 --password ${pw} --tones uk)        # stored as GB
  sb(ok "added" ext add 1003 --password ${pw} --tones FR)        # for the set case
  sb(ok "added" ext add 1004 --password ${pw} --tones gb)        # for the clear case
elseif(CASE STREQUAL "cleanup")
  file(REMOVE_RECURSE ${DATA})
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
else()
  message(FATAL_ERROR "ext_tones.cmake: unknown CASE '${CASE}'")
endif()
