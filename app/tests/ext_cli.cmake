# Helpers of the `switchboard ext ...` ctest scripts (ext_tones.cmake, ext_media.cmake), which
# set SB (the binary) and DATA (its data dir) before including this.

# Runs `switchboard ARGS... --data-dir DATA`; EXPECT is "ok" or "fail" (exit code), MATCH a regex
# its output (stdout and stderr together) must match, which is left in `sb_out`.
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
  set(sb_out "${out}" PARENT_SCOPE)
endfunction()

# Writes CONTENT to the CSV file NAME (next to DATA, which the embedded database owns) and sets
# `csv` to its path.
function(write_csv name content)
  set(csv ${DATA}-csv/${name}.csv PARENT_SCOPE)
  file(WRITE ${DATA}-csv/${name}.csv "${content}")
endfunction()
