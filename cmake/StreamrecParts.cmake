# The project's parts and the rule that keeps them layered.
#
# streamrec_part(<name> DIR <dir> [SOURCES <file>...] [PARTS <part>...]
#                [LIBS <target>...] [PRIVATE_LIBS <target>...])
# declares one part: a library built from SOURCES in <dir> (relative to the
# source root; an INTERFACE library when it has none), linking the parts it
# may use (PARTS, PUBLIC) and external libraries (LIBS PUBLIC, PRIVATE_LIBS
# PRIVATE). Sources are included as "<dir>/<file>.h" from the source root.
#
# A part's files may include headers of its own directory and of the parts
# it names in PARTS, and of theirs in turn, nothing else of the project:
# streamrec_check_layers() adds a step to the build (target `layers`, built
# before every part) that reads every #include "..." of every part's files
# and fails the build, naming the file, the header and the rule, when one
# reaches past its part's dependencies. Linking alone cannot catch that: a
# header-only use of another part never needs its library.
include_guard(GLOBAL)

function(streamrec_part name)
  cmake_parse_arguments(PART "" "DIR" "SOURCES;PARTS;LIBS;PRIVATE_LIBS" ${ARGN})
  if(NOT PART_DIR)
    message(FATAL_ERROR "streamrec_part(${name}): DIR is required")
  endif()
  if(PART_SOURCES)
    list(TRANSFORM PART_SOURCES PREPEND "${PROJECT_SOURCE_DIR}/${PART_DIR}/")
    add_library(${name} ${PART_SOURCES})
    target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} PUBLIC ${PART_PARTS} ${PART_LIBS})
    if(PART_PRIVATE_LIBS)
      target_link_libraries(${name} PRIVATE ${PART_PRIVATE_LIBS})
    endif()
  else()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} INTERFACE ${PART_PARTS} ${PART_LIBS})
  endif()
  set_property(GLOBAL APPEND PROPERTY STREAMREC_PARTS ${name})
  set_property(GLOBAL PROPERTY STREAMREC_PART_${name}_DIR ${PART_DIR})
  set_property(GLOBAL PROPERTY STREAMREC_PART_${name}_DEPS ${PART_PARTS})
endfunction()

# Call once, after every part is declared.
function(streamrec_check_layers)
  get_property(parts GLOBAL PROPERTY STREAMREC_PARTS)
  set(table "")
  set(files "")
  foreach(part IN LISTS parts)
    get_property(dir GLOBAL PROPERTY STREAMREC_PART_${part}_DIR)
    get_property(deps GLOBAL PROPERTY STREAMREC_PART_${part}_DEPS)
    string(APPEND table "set(PART_${part}_DIR \"${dir}\")\nset(PART_${part}_DEPS \"${deps}\")\n")
    file(GLOB part_files CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/${dir}/*.h"
         "${PROJECT_SOURCE_DIR}/${dir}/*.cc")
    list(APPEND files ${part_files})
  endforeach()
  string(APPEND table "set(PARTS \"${parts}\")\n")
  file(WRITE "${PROJECT_BINARY_DIR}/layers_table.cmake" "${table}")
  set(stamp "${PROJECT_BINARY_DIR}/layers.stamp")
  add_custom_command(
    OUTPUT "${stamp}"
    COMMAND ${CMAKE_COMMAND} -DROOT=${PROJECT_SOURCE_DIR}
            -DTABLE=${PROJECT_BINARY_DIR}/layers_table.cmake
            -P ${PROJECT_SOURCE_DIR}/cmake/check_layers.cmake
    COMMAND ${CMAKE_COMMAND} -E touch "${stamp}"
    DEPENDS ${files} "${PROJECT_BINARY_DIR}/layers_table.cmake"
            "${PROJECT_SOURCE_DIR}/cmake/check_layers.cmake"
    COMMENT "Checking that every part includes only the parts it depends on"
    VERBATIM)
  add_custom_target(layers ALL DEPENDS "${stamp}")
  foreach(part IN LISTS parts)
    add_dependencies(${part} layers)
  endforeach()
endfunction()
