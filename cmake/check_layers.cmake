# Run by the `layers` build step (cmake/StreamrecParts.cmake):
#   cmake -DROOT=<source root> -DTABLE=<layers_table.cmake> -P check_layers.cmake
# Fails when a file of a part includes a project header outside its part and
# the parts it may use (its PARTS, transitively). A header in a directory
# that is not a part (tests/, generated files) is not checked; a header in a
# part's directory tree that no part owns is an error, so a new directory
# must be declared before it is used.
cmake_minimum_required(VERSION 3.22)
include(${TABLE})

# Transitive closure of each part's dependencies.
foreach(part IN LISTS PARTS)
  set(closure ${PART_${part}_DEPS})
  set(frontier ${PART_${part}_DEPS})
  while(frontier)
    set(next "")
    foreach(dep IN LISTS frontier)
      if(NOT DEFINED PART_${dep}_DIR)
        message(FATAL_ERROR "part ${part} depends on ${dep}, which is not a declared part")
      endif()
      foreach(d IN LISTS PART_${dep}_DEPS)
        if(NOT d IN_LIST closure)
          list(APPEND closure ${d})
          list(APPEND next ${d})
        endif()
      endforeach()
    endforeach()
    set(frontier ${next})
  endwhile()
  set(CLOSURE_${part} ${closure})
  set(OWNER_${PART_${part}_DIR} ${part})
  string(REGEX REPLACE "/.*" "" top "${PART_${part}_DIR}")
  list(APPEND TOPS ${top})
endforeach()
list(REMOVE_DUPLICATES TOPS)

set(errors 0)
foreach(part IN LISTS PARTS)
  set(dir ${PART_${part}_DIR})
  file(GLOB files "${ROOT}/${dir}/*.h" "${ROOT}/${dir}/*.cc")
  foreach(file IN LISTS files)
    file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]+\"[^\"]+\"")
    file(RELATIVE_PATH rel "${ROOT}" "${file}")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]+\"([^\"]+)\".*" "\\1" header "${line}")
      get_filename_component(hdir "${header}" DIRECTORY)
      string(REGEX REPLACE "/.*" "" htop "${header}")
      if(DEFINED OWNER_${hdir})
        set(owner ${OWNER_${hdir}})
        if(NOT owner STREQUAL part AND NOT owner IN_LIST CLOSURE_${part})
          string(REPLACE ";" ", " allowed "${CLOSURE_${part}}")
          message(SEND_ERROR "${rel} includes ${header}: part ${part} (${dir}) may use only "
                             "[${allowed}], not ${owner}. Change the include, or "
                             "the part's PARTS in ${dir}'s CMakeLists.txt if the layering "
                             "should change.")
          math(EXPR errors "${errors} + 1")
        endif()
      elseif(htop IN_LIST TOPS AND NOT hdir STREQUAL "")
        message(SEND_ERROR "${rel} includes ${header}, which no part owns: declare its "
                           "directory with streamrec_part().")
        math(EXPR errors "${errors} + 1")
      endif()
    endforeach()
  endforeach()
endforeach()
if(errors GREATER 0)
  message(FATAL_ERROR "${errors} include(s) break the layering (cmake/StreamrecParts.cmake)")
endif()
