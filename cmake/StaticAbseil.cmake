# Links abseil statically where Debian ships the archive beside the shared
# library (libabsl-dev has both). Every program of ours uses a handful of
# absl's ~20 libraries (Status, StrCat, Mutex, Time); as shared libraries the
# dynamic loader maps and relocates each of them at every start, about 4 ms
# of `spatial --version`'s (bench/startup_bench.sh). No library we link
# depends on abseil itself, so there is one copy of it per program either
# way. -DSPATIAL_STATIC_ABSL=OFF keeps the shared libraries.
#
# The imported targets keep their names and their dependencies (CMake orders
# the archives by them); only the file each one names changes.
option(SPATIAL_STATIC_ABSL "Link abseil's static archives" ON)

function(spatial_use_static_absl)
  get_directory_property(imported IMPORTED_TARGETS)
  foreach(target IN LISTS imported)
    if(NOT target MATCHES "^absl::")
      continue()
    endif()
    get_target_property(type ${target} TYPE)
    if(NOT type STREQUAL "SHARED_LIBRARY")
      continue()
    endif()
    get_target_property(configs ${target} IMPORTED_CONFIGURATIONS)
    foreach(config IN LISTS configs)
      get_target_property(location ${target} IMPORTED_LOCATION_${config})
      string(REGEX REPLACE "\\.so(\\.[0-9.]+)?$" ".a" archive "${location}")
      if(archive STREQUAL location OR NOT EXISTS "${archive}")
        continue()
      endif()
      set_target_properties(${target} PROPERTIES
        IMPORTED_LOCATION_${config} "${archive}"
        IMPORTED_NO_SONAME_${config} ON)
      set_property(TARGET ${target} PROPERTY IMPORTED_SONAME_${config})
    endforeach()
  endforeach()
endfunction()

if(SPATIAL_STATIC_ABSL)
  spatial_use_static_absl()
endif()
